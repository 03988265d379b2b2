//! The frame around the panes: the tab bar, each pane's titled border, and
//! the footer (status line or key hints).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::Command;
use crate::app::state::{Level, Phase, State, Tab};
use crate::theme::Theme;
use crate::ui::{format, status};

const READ_ONLY_BADGE: &str = " READ-ONLY ";
/// The longest part of a source error shown in a pane title.
const TITLE_ERROR_CHARS: usize = 40;

/// The first key bound to `command`, as hints show it.
pub fn first_key(state: &State, command: Command) -> String {
    state
        .keymap
        .keys_for(command)
        .first()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// `1 Overview ✓  2 Pipelines ✗ …` on the left; in-flight count and the
/// READ-ONLY badge on the right.
pub fn tab_bar(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut right: Vec<Span> = Vec::new();
    if !state.in_flight.is_empty() {
        let text = format!(
            "{} {} in flight ",
            theme.spinner(state.spinner),
            state.in_flight.len()
        );
        right.push(Span::styled(text, theme.info()));
    }
    if state.read_only {
        right.push(Span::styled(READ_ONLY_BADGE, theme.badge()));
    }
    let right = Line::from(right);
    let right_width = (right.width() as u16).min(area.width);
    let left_area = Rect {
        width: area.width - right_width,
        ..area
    };
    let right_area = Rect {
        x: area.x + left_area.width,
        width: right_width,
        ..area
    };

    let tab_keys = [
        Command::TabOverview,
        Command::TabPipelines,
        Command::TabGitops,
        Command::TabDrift,
        Command::TabTimeline,
    ];
    let mut spans = Vec::new();
    for (tab, command) in Tab::ALL.into_iter().zip(tab_keys) {
        let style = if tab == state.tab {
            theme.tab_active()
        } else {
            theme.tab_inactive()
        };
        spans.push(Span::styled(
            format!(" {} {}", first_key(state, command), tab.title()),
            style,
        ));
        if let Some(phase) = status::worst_phase(state.tab_sources(tab)) {
            let (glyph, glyph_style) = status::phase(theme, state, phase);
            let glyph_style = Style {
                bg: None,
                add_modifier: ratatui::style::Modifier::empty(),
                ..glyph_style
            };
            spans.push(Span::styled(format!(" {glyph}"), style.patch(glyph_style)));
        }
        spans.push(Span::styled(" ", style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), left_area);
    frame.render_widget(Paragraph::new(right), right_area);
}

/// The bordered block of a pane: the tab name, each source's state, the
/// filter, and the row count on the right.
pub fn pane_block<'a>(
    state: &State,
    theme: &Theme,
    tab: Tab,
    heading: Option<String>,
) -> Block<'a> {
    let g = theme.glyphs();
    let mut spans = vec![Span::styled(format!(" {} ", tab.title()), theme.title())];
    if let Some(heading) = heading {
        spans.push(Span::styled(
            format!("{} {heading} ", g.arrow),
            theme.title(),
        ));
        spans.push(Span::styled(format!("{} ", g.separator), theme.border()));
    }
    for (i, source) in state.tab_sources(tab).enumerate() {
        if i > 0 {
            spans.push(Span::styled(format!("{} ", g.separator), theme.border()));
        }
        let (glyph, style) = status::phase(theme, state, source.phase());
        spans.push(Span::styled(format!("{} ", source.name), theme.muted()));
        if let Some(warning) = &source.warning {
            spans.push(Span::styled(format!("{} {warning} ", g.warn), theme.warn()));
        }
        spans.push(Span::styled(glyph, style));
        let detail = match (source.phase(), source.error_message(), source.updated_at) {
            (Phase::Error, Some(error), _) => {
                let message =
                    format::truncate(format::first_line(&error), TITLE_ERROR_CHARS, g.ellipsis);
                Span::styled(format!(" {message} "), theme.error())
            }
            (Phase::Loading, _, _) => Span::styled(" loading ", theme.muted()),
            (_, _, Some(at)) => {
                Span::styled(format!(" {} ", format::age(state.now, at)), theme.muted())
            }
            _ => Span::raw(" "),
        };
        spans.push(detail);
    }
    let pane = state.pane(tab);
    if !pane.filter.is_empty() || (state.editing_filter && state.tab == tab) {
        let cursor = if state.editing_filter { g.cursor } else { "" };
        spans.push(Span::styled(
            format!("/{}{cursor} ", pane.filter),
            theme.accent(),
        ));
    }
    let mut block = Block::bordered()
        .border_set(g.border)
        .border_style(theme.border())
        .title(Line::from(spans));
    if pane.detail.is_none() && !pane.rows.is_empty() {
        let position = format!(
            " {}/{} ",
            pane.selected.min(pane.rows.len() - 1) + 1,
            pane.rows.len()
        );
        block = block.title_top(Line::styled(position, theme.muted()).right_aligned());
    }
    block
}

/// Hints for the current tab (from its pane), or the filter prompt's keys,
/// or the last status message when there is one.
pub fn footer(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    hints: &[(Command, &str)],
) {
    let line = if state.editing_filter {
        hint_line(
            theme,
            area.width,
            [("type", "to filter"), ("enter", "keep"), ("esc", "clear")]
                .into_iter()
                .map(|(k, w)| (k.to_string(), w)),
        )
    } else if let Some(status) = &state.status {
        let g = theme.glyphs();
        let (glyph, style) = match status.level {
            Level::Info => ("i", theme.info()),
            Level::Success => (g.ok, theme.ok()),
            Level::Warning => (g.warn, theme.warn()),
            Level::Error => (g.error, theme.error()),
        };
        let age = format!(" {} {} ago", g.separator, format::age(state.now, status.at));
        let room = usize::from(area.width).saturating_sub(format::width(&age) + 3);
        let text = format::truncate(
            without_glyph(format::first_line(&status.text)),
            room,
            g.ellipsis,
        );
        Line::from(vec![
            Span::styled(format!(" {glyph} "), style),
            Span::styled(text, style),
            Span::styled(age, theme.muted()),
        ])
    } else {
        let hints = hints
            .iter()
            .map(|(command, word)| (first_key(state, *command), *word));
        hint_line(theme, area.width, hints)
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The message without a leading status glyph of its own: the footer draws
/// one (in ASCII when it must).
fn without_glyph(text: &str) -> &str {
    ["✓ ", "✗ ", "? ", "▲ ", "! "]
        .iter()
        .find_map(|g| text.strip_prefix(g))
        .unwrap_or(text)
}

/// `s sync  r refresh  ? help`, keeping only the hints that fit whole.
pub fn hint_line<'a>(
    theme: &Theme,
    width: u16,
    hints: impl Iterator<Item = (String, &'a str)>,
) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, word) in hints {
        if key.is_empty() {
            continue;
        }
        let w = format::width(&key) + 1 + format::width(word) + 2;
        if used + w > usize::from(width) {
            break;
        }
        used += w;
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::styled(format!(" {word}  "), theme.muted()));
    }
    Line::from(spans)
}

/// Shown instead of the layout when the terminal is smaller than it needs.
pub fn too_small(frame: &mut Frame, area: Rect, theme: &Theme, need: (u16, u16)) {
    let text = format!(
        "terminal too small: {}x{}, need {}x{}",
        area.width, area.height, need.0, need.1
    );
    let text = format::truncate(&text, usize::from(area.width), theme.glyphs().ellipsis);
    frame.render_widget(
        Paragraph::new(Line::styled(text, theme.warn())),
        Rect {
            height: area.height.min(1),
            ..area
        },
    );
}
