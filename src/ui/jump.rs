//! The `:` jump prompt: what is typed, and the matches best first with the
//! one Enter takes highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::jump::{Jump, JumpKind};
use crate::app::state::State;
use crate::theme::Theme;
use crate::ui::{format, popup};

const MAX_WIDTH: u16 = 72;
/// Matches listed at most (Tab cycles through all of them).
const MAX_SHOWN: usize = 10;

/// Shown on the prompt line, for pty tests and people alike.
pub const PROMPT_TITLE: &str = " Jump to ";

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, jump: &Jump) {
    let g = theme.glyphs();
    let width = MAX_WIDTH.min(area.width.saturating_sub(4));
    let shown = jump.matches.len().clamp(1, MAX_SHOWN);
    let height = (shown as u16 + 3).min(area.height);
    let rect = popup(frame, area, theme, width, height);
    let block = Block::bordered()
        .border_set(g.border)
        .border_style(theme.border())
        .title(Span::styled(PROMPT_TITLE, theme.title()))
        .title_bottom(Line::styled(
            " tab next · enter go · esc cancel ",
            theme.muted(),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines = vec![Line::from(vec![
        Span::styled(":", theme.key()),
        Span::raw(jump.input.clone()),
        Span::styled("▏", theme.key()),
    ])];
    if jump.matches.is_empty() {
        lines.push(Line::styled("no match", theme.muted()));
    }
    // Keep the chosen match in view.
    let first = jump.selected.saturating_sub(MAX_SHOWN - 1);
    let text_width = usize::from(inner.width).saturating_sub(12);
    for (i, target) in jump.matches.iter().enumerate().skip(first).take(MAX_SHOWN) {
        let source = state
            .sources
            .get(target.source)
            .map_or("", |s| s.name.as_str());
        let what = match target.kind {
            JumpKind::Source => source.to_string(),
            _ => format!("{source}/{}", target.name),
        };
        let text = format!(
            " {:<9} {}",
            target.kind.word(),
            format::truncate(&what, text_width, g.ellipsis)
        );
        lines.push(if i == jump.selected {
            Line::styled(text, theme.selected())
        } else {
            Line::raw(text)
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
