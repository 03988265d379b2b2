//! The confirmation dialog: the action's exact effect, its target, and the
//! keys — or, for production, the name to type.

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
    let width = MAX_WIDTH
        .min(area.width.saturating_sub(4))
        .max(20.min(area.width));
    let text_width = usize::from(width.saturating_sub(4));
    let action = &confirm.action;
    let verb = action.kind.verb();

    let mut lines: Vec<Line> = Vec::new();
    if confirm.required_text().is_some() {
        lines.push(Line::from(Span::styled(
            format!(
                "PRODUCTION {} {} is a production target",
                g.separator, action.target
            ),
            theme.production(),
        )));
        lines.push(Line::default());
    }
    lines.extend(
        format::wrap(&action.effect, text_width)
            .into_iter()
            .map(|l| Line::styled(l, theme.title())),
    );
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("target  ", theme.muted()),
        Span::raw(format!("{} ({})", action.target, action.target.kind)),
    ]));
    if let Some(to) = &action.to {
        lines.push(Line::from(vec![
            Span::styled("to      ", theme.muted()),
            Span::raw(to.clone()),
        ]));
    }
    if state.is_busy(&action.target) {
        lines.push(Line::styled(
            format!("{} an action on this target is still in flight", g.warn),
            theme.warn(),
        ));
    }
    lines.push(Line::default());
    match confirm.required_text() {
        None => lines.push(Line::from(vec![
            Span::styled("[y/Enter]", theme.key()),
            Span::raw(" confirm   "),
            Span::styled("[n/Esc]", theme.key()),
            Span::raw(" cancel"),
        ])),
        Some(name) => {
            lines.push(Line::from(vec![
                Span::raw("Type "),
                Span::styled(format!("\"{name}\""), theme.production()),
                Span::raw(" to confirm:"),
            ]));
            let (verdict, style) = if confirm.is_satisfied() {
                (format!("{} matches", g.ok), theme.ok())
            } else if name.starts_with(confirm.typed.as_str()) {
                (
                    format!(
                        "{}/{} typed",
                        confirm.typed.chars().count(),
                        name.chars().count()
                    ),
                    theme.muted(),
                )
            } else {
                (format!("{} does not match", g.error), theme.error())
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", g.pointer), theme.accent()),
                Span::styled(confirm.typed.clone(), theme.title()),
                Span::styled(g.cursor, theme.accent()),
                Span::raw("   "),
                Span::styled(verdict, style),
            ]));
            lines.push(Line::default());
            let enter = if confirm.is_satisfied() {
                theme.key()
            } else {
                theme.muted()
            };
            lines.push(Line::from(vec![
                Span::styled("[Enter]", enter),
                Span::raw(" confirm   "),
                Span::styled("[Esc]", theme.key()),
                Span::raw(" cancel"),
            ]));
        }
    }

    let height = lines.len() as u16 + 2;
    let rect = popup(frame, area, theme, width, height);
    let title_style = if action.production {
        theme.production()
    } else {
        theme.title()
    };
    let block = Block::bordered()
        .border_set(g.border)
        .border_style(if action.production {
            theme.production()
        } else {
            theme.border()
        })
        .title(Span::styled(format!(" Confirm: {verb} "), title_style));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let inner = Rect {
        x: inner.x.saturating_add(1),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).style(theme.popup()), inner);
}
