//! The new-run form: the ref and inputs of a pipeline run to start, one
//! field per line, the focused one with a cursor and its hint under it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::state::{Form, State};
use crate::theme::Theme;
use crate::ui::{format, popup};

const MAX_WIDTH: u16 = 80;
/// Longest field name shown in full.
const MAX_LABEL: usize = 20;

pub(super) fn draw(frame: &mut Frame, area: Rect, _state: &State, theme: &Theme, form: &Form) {
    let g = theme.glyphs();
    let width = MAX_WIDTH
        .min(area.width.saturating_sub(4))
        .max(20.min(area.width));
    let text_width = usize::from(width.saturating_sub(4));
    let label = form
        .fields
        .iter()
        .map(|f| format::width(&f.name) + usize::from(f.required))
        .max()
        .unwrap_or(0)
        .min(MAX_LABEL);
    let value_width = text_width.saturating_sub(label + 4).max(4);
    let mut lines = Vec::new();
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focused;
        let name = format!("{}{}", field.name, if field.required { "*" } else { "" });
        let name = format::truncate(&name, label, g.ellipsis);
        let pointer = if focused { g.pointer } else { " " };
        // The end of a long value stays visible while typing.
        let value = tail(&field.value, value_width.saturating_sub(1));
        let mut spans = vec![
            Span::styled(format!("{pointer} "), theme.accent()),
            Span::styled(
                format!("{name:<label$}  "),
                if focused {
                    theme.title()
                } else {
                    theme.muted()
                },
            ),
            Span::styled(value, theme.base()),
        ];
        if focused {
            spans.push(Span::styled(g.cursor, theme.accent()));
        }
        lines.push(Line::from(spans));
        if focused && !field.hint.is_empty() {
            let indent = " ".repeat(label + 4);
            for part in format::wrap(&field.hint, value_width) {
                lines.push(Line::styled(format!("{indent}{part}"), theme.muted()));
            }
        }
    }
    lines.push(Line::default());
    let choices = form
        .fields
        .get(form.focused)
        .is_some_and(|f| !f.choices.is_empty());
    let mut keys = vec![Span::styled("[Tab]", theme.key()), Span::raw(" next  ")];
    if choices {
        keys.push(Span::styled("[Left/Right]", theme.key()));
        keys.push(Span::raw(" choose  "));
    }
    keys.extend([
        Span::styled("[Enter]", theme.key()),
        Span::raw(" review  "),
        Span::styled("[Esc]", theme.key()),
        Span::raw(" cancel"),
    ]);
    lines.push(Line::from(keys));

    let room = usize::from(area.height.saturating_sub(2));
    if lines.len() > room {
        // Keep the focused field (and what follows it) on screen.
        let focus_line = form.focused.min(lines.len());
        let skip = (focus_line + 2).saturating_sub(room.saturating_sub(1));
        lines = lines.into_iter().skip(skip).collect();
        lines.truncate(room);
    }
    let height = lines.len() as u16 + 2;
    let rect = popup(frame, area, theme, width, height);
    let block = Block::bordered()
        .border_set(g.border)
        .border_style(theme.border())
        .title(Span::styled(
            format!(
                " {} ",
                format::truncate(&form.title, text_width, g.ellipsis)
            ),
            theme.title(),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let inner = Rect {
        x: inner.x.saturating_add(1),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines).style(theme.popup()), inner);
}

/// The last `width` columns of `text`.
fn tail(text: &str, width: usize) -> String {
    if format::width(text) <= width {
        return text.to_string();
    }
    let mut out: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = format::width(c.encode_utf8(&mut [0; 4]));
        if used + w > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.iter().rev().collect()
}
