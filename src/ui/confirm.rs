//! The confirmation dialog: the action's exact effect, its target, and the
//! keys — or, for production, the name to type. The prompt and the box
//! are shared with custom commands' confirmation (`ui::command`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::state::{Confirm, State};
use crate::theme::Theme;
use crate::ui::{format, popup};

/// The dialog's widest width.
const MAX_WIDTH: u16 = 72;

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, confirm: &Confirm) {
    let g = theme.glyphs();
    let width = width(area);
    let text_width = usize::from(width.saturating_sub(4));
    let action = &confirm.action;
    let verb = action.kind.verb();

    // (priority, line): on a short terminal spacing (2) goes first, then
    // details the effect already states (1); the effect and prompt (0) stay.
    let mut lines: Vec<(u8, Line)> = Vec::new();
    if confirm.required_text().is_some() {
        lines.push((
            0,
            Line::from(Span::styled(
                format!(
                    "PRODUCTION {} {} is a production target",
                    g.separator, action.target
                ),
                theme.production(),
            )),
        ));
        lines.push((2, Line::default()));
    }
    lines.extend(
        format::wrap(&action.effect, text_width)
            .into_iter()
            .map(|l| (0, Line::styled(l, theme.title()))),
    );
    lines.push((2, Line::default()));
    lines.push((
        1,
        Line::from(vec![
            Span::styled("target  ", theme.muted()),
            Span::raw(format!("{} ({})", action.target, action.target.kind)),
        ]),
    ));
    if let Some(to) = &action.to {
        lines.push((
            1,
            Line::from(vec![
                Span::styled("to      ", theme.muted()),
                Span::raw(to.clone()),
            ]),
        ));
    }
    if crate::app::update::takes_sync_options(state, action) {
        let (p, d) = if confirm.required_text().is_some() {
            ("[ctrl-p]", "[ctrl-d]")
        } else {
            ("[p]", "[d]")
        };
        let on_off = |on: bool| if on { "on " } else { "off" };
        lines.push((
            0,
            Line::from(vec![
                Span::styled(p, theme.key()),
                Span::raw(format!(" prune {}   ", on_off(action.sync.prune))),
                Span::styled(d, theme.key()),
                Span::raw(format!(" dry run {}", on_off(action.sync.dry_run))),
            ]),
        ));
    }
    if state.is_busy(&action.target) {
        lines.push((
            0,
            Line::styled(
                format!("{} an action on this target is still in flight", g.warn),
                theme.warn(),
            ),
        ));
    }
    lines.push((2, Line::default()));
    lines.extend(prompt(theme, confirm.required_text(), &confirm.typed));
    let title = format!(" Confirm: {verb} ");
    show(frame, area, theme, width, &title, action.production, lines);
}

/// How wide a confirmation is in `area`.
pub(super) fn width(area: Rect) -> u16 {
    MAX_WIDTH
        .min(area.width.saturating_sub(4))
        .max(20.min(area.width))
}

/// The keys at the bottom of a confirmation — or, for production, the
/// name to type and how far it matches.
pub(super) fn prompt(
    theme: &Theme,
    required: Option<&str>,
    typed: &str,
) -> Vec<(u8, Line<'static>)> {
    let g = theme.glyphs();
    let satisfied = required.is_none_or(|t| typed == t);
    let mut lines: Vec<(u8, Line<'static>)> = Vec::new();
    match required {
        None => lines.push((
            0,
            Line::from(vec![
                Span::styled("[y/Enter]", theme.key()),
                Span::raw(" confirm   "),
                Span::styled("[n/Esc]", theme.key()),
                Span::raw(" cancel"),
            ]),
        )),
        Some(name) => {
            lines.push((
                0,
                Line::from(vec![
                    Span::raw("Type "),
                    Span::styled(format!("\"{name}\""), theme.production()),
                    Span::raw(" to confirm:"),
                ]),
            ));
            let (verdict, style) = if satisfied {
                (format!("{} matches", g.ok), theme.ok())
            } else if name.starts_with(typed) {
                (
                    format!("{}/{} typed", typed.chars().count(), name.chars().count()),
                    theme.muted(),
                )
            } else {
                (format!("{} does not match", g.error), theme.error())
            };
            lines.push((
                0,
                Line::from(vec![
                    Span::styled(format!("{} ", g.pointer), theme.accent()),
                    Span::styled(typed.to_string(), theme.title()),
                    Span::styled(g.cursor, theme.accent()),
                    Span::raw("   "),
                    Span::styled(verdict, style),
                ]),
            ));
            lines.push((2, Line::default()));
            let enter = if satisfied {
                theme.key()
            } else {
                theme.muted()
            };
            lines.push((
                1,
                Line::from(vec![
                    Span::styled("[Enter]", enter),
                    Span::raw(" confirm   "),
                    Span::styled("[Esc]", theme.key()),
                    Span::raw(" cancel"),
                ]),
            ));
        }
    }

    lines
}

/// Draw a confirmation box `width` wide with `lines`, dropping the least
/// important ones when the terminal is short.
pub(super) fn show(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    width: u16,
    title: &str,
    production: bool,
    lines: Vec<(u8, Line<'_>)>,
) {
    let g = theme.glyphs();
    let room = usize::from(area.height.saturating_sub(2));
    let lines = fit_lines(lines, room);
    let height = lines.len() as u16 + 2;
    let rect = popup(frame, area, theme, width, height);
    let title_style = if production {
        theme.production()
    } else {
        theme.title()
    };
    let block = Block::bordered()
        .border_set(g.border)
        .border_style(if production {
            theme.production()
        } else {
            theme.border()
        })
        .title(Span::styled(title.to_string(), title_style));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let inner = Rect {
        x: inner.x.saturating_add(1),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).style(theme.popup()), inner);
}

/// Drop the least important lines (highest priority number first, from the
/// bottom) until the rest fit in `room`.
fn fit_lines(mut lines: Vec<(u8, Line<'_>)>, room: usize) -> Vec<Line<'_>> {
    for drop in [2, 1] {
        while lines.len() > room {
            match lines.iter().rposition(|(p, _)| *p == drop) {
                Some(i) => {
                    lines.remove(i);
                }
                None => break,
            }
        }
    }
    lines.into_iter().map(|(_, l)| l).collect()
}
