//! The Timeline tab (every change and state change, newest first) and the
//! "why?" view over any tab: the item's problem, its chain, and the ranked
//! suspects with the cursor on one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::Command;
use crate::app::state::{RowRef, State, Tab, WhyView};
use crate::model::short_rev;
use crate::theme::Theme;
use crate::timeline::{Event, EventKind, Verdict};
use crate::ui::chrome::{first_key, hint_line};
use crate::ui::pane::{self, Nouns, TabView};
use crate::ui::table::{Column, WindowedTable};
use crate::ui::{format, popup};

pub(super) const HINTS: &[(Command, &str)] = &[
    (Command::Open, "go to item"),
    (Command::Why, "why?"),
    (Command::Filter, "filter"),
    (Command::Help, "help"),
    (Command::Quit, "quit"),
];

const COLUMNS: [Column; 6] = [
    Column::new("time (UTC)", 14, 0, 2),
    Column::new("loop", 4, 0, 3),
    Column::new("target", 18, 1, 0),
    Column::new("what happened", 30, 4, 0),
    Column::new("rev", 7, 0, 1),
    Column::new("verdict", 10, 0, 0),
];

/// The loop an event belongs to, in plain letters (ASCII-safe).
pub fn loop_word(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Run | EventKind::RunStarted => "ci",
        EventKind::Commit | EventKind::Deploy | EventKind::Health | EventKind::Sync => "cd",
        EventKind::ModelVersion
        | EventKind::Alias
        | EventKind::DriftOnset
        | EventKind::DriftRecovery => "ml",
        EventKind::Action => "op",
    }
}

/// The style of an event's verdict or status word.
fn outcome_style(theme: &Theme, e: &Event) -> Style {
    match e.verdict {
        Some(Verdict::Healthy) => theme.ok(),
        Some(Verdict::Pending) => theme.info(),
        Some(Verdict::Drift) => theme.warn(),
        Some(Verdict::Degraded | Verdict::Failed) => theme.error(),
        None => match e.status.as_str() {
            "failure" | "failed" | "degraded" | "missing" | "drifting" | "out_of_sync" => {
                theme.error()
            }
            "success" | "succeeded" | "healthy" | "synced" | "ok" | "done" => theme.ok(),
            _ => theme.muted(),
        },
    }
}

/// One event as table cells.
pub fn event_cells(theme: &Theme, e: &Event) -> Vec<Line<'static>> {
    let outcome = e.verdict.map_or(e.status.clone(), |v| v.to_string());
    let outcome = if e.observed {
        format!("{outcome} (seen)")
    } else {
        outcome
    };
    vec![
        Line::styled(e.time.format("%m-%d %H:%M:%S").to_string(), theme.muted()),
        Line::from(loop_word(e.kind)),
        Line::from(e.target.clone()),
        Line::from(e.summary.clone()),
        Line::styled(
            e.revision.as_deref().map_or("", short_rev).to_string(),
            theme.muted(),
        ),
        Line::styled(outcome, outcome_style(theme, e)),
    ]
}

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let view = TabView {
        columns: &COLUMNS,
        nouns: Nouns {
            plural: "events",
            none: "nothing happened in the timeline window",
        },
        find: State::event,
        cells: Box::new(|_, _: RowRef, e: &Event| event_cells(theme, e)),
        detail: Box::new(|frame, inner, e: &Event, _| {
            frame.render_widget(Paragraph::new(e.summary.clone()), inner);
        }),
    };
    pane::draw(frame, area, state, theme, Tab::Timeline, view);
}

/// The "why?" view, over the body.
pub(super) fn draw_why(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, why: &WhyView) {
    let g = theme.glyphs();
    let width = area.width.saturating_sub(4);
    let height = area.height.saturating_sub(2);
    let rect = popup(frame, area, theme, width, height);
    let hints = [
        (first_key(state, Command::Down), "suspect"),
        (first_key(state, Command::Rollback), "roll back"),
        (first_key(state, Command::Open), "go to"),
        (first_key(state, Command::Back), "close"),
    ];
    let block = Block::bordered()
        .border_set(g.border)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" Why? {} ", why.target),
            theme.title(),
        ))
        .title_bottom(hint_line(
            theme,
            rect.width.saturating_sub(2),
            hints.into_iter(),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines = vec![match &why.why.problem {
        Some(p) => Line::from(vec![
            Span::styled(format!("{} ", p.status), theme.error()),
            Span::raw(format!(
                "since {} — {}",
                p.since
                    .map_or("an unknown time".into(), |t| format::absolute_and_age(
                        state.now, t
                    )),
                p.summary
            )),
        ]),
        None => Line::styled("no problem now", theme.ok()),
    }];
    // The chain gets at most a third of the room; the suspects the rest.
    let chain_room = usize::from(inner.height / 3);
    if !why.why.chain.is_empty() && chain_room > 1 {
        lines.push(Line::styled("chain", theme.header()));
        for l in why.why.chain.iter().take(chain_room - 1) {
            lines.push(Line::from(format!("  {l}")));
        }
    }
    lines.push(Line::styled(
        format!("suspects ({})", why.why.suspects.len()),
        theme.header(),
    ));
    let top = lines.len() as u16;
    frame.render_widget(
        Paragraph::new(lines).style(theme.popup()),
        Rect {
            height: top.min(inner.height),
            ..inner
        },
    );
    let list = Rect {
        y: inner.y.saturating_add(top),
        height: inner.height.saturating_sub(top),
        ..inner
    };
    if list.height == 0 {
        return;
    }
    const SUSPECT_COLUMNS: [Column; 4] = [
        Column::new("", 1, 0, 0),
        Column::new("#", 3, 0, 2),
        Column::new("reason", 40, 4, 0),
        Column::new("verdict", 10, 0, 1),
    ];
    let table = WindowedTable {
        columns: &SUSPECT_COLUMNS,
        selected: Some(why.selected),
        offset: 0,
        empty: "no change in the window before it",
    };
    table.render(frame, list, theme, &why.why.suspects, |s, selected| {
        vec![
            Line::from(Span::styled(
                if selected { g.pointer } else { " " },
                theme.accent(),
            )),
            Line::styled(s.rank.to_string(), theme.muted()),
            Line::from(s.reason.clone()),
            Line::styled(
                s.event
                    .verdict
                    .map_or(s.event.status.clone(), |v| v.to_string()),
                outcome_style(theme, &s.event),
            ),
        ]
    });
}
