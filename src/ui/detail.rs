//! The shared frame of detail views: labelled fields, section headings,
//! a scrollable body, and the note shown when the item has gone away.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::Command;
use crate::app::state::{Detail, State};
use crate::theme::Theme;
use crate::ui::chrome::first_key;
use crate::ui::format;

/// Width of the label column of `field` lines.
const LABEL_WIDTH: usize = 12;

/// `label      value`, the label muted and padded.
pub fn field<'a>(theme: &Theme, label: &str, value: impl Into<Vec<Span<'a>>>) -> Line<'a> {
    let mut spans = vec![Span::styled(
        format!(" {label:<LABEL_WIDTH$}"),
        theme.muted(),
    )];
    spans.extend(value.into());
    Line::from(spans)
}

/// A field whose value is plain text in `style`.
pub fn text_field<'a>(
    theme: &Theme,
    label: &str,
    value: impl Into<String>,
    style: Style,
) -> Line<'a> {
    field(theme, label, vec![Span::styled(value.into(), style)])
}

/// A field whose long text value wraps under itself to `width` columns.
pub fn wrapped_field<'a>(
    theme: &Theme,
    label: &str,
    value: &str,
    style: Style,
    width: u16,
) -> Vec<Line<'a>> {
    let room = usize::from(width).saturating_sub(LABEL_WIDTH + 1).max(10);
    format::wrap(value, room)
        .into_iter()
        .enumerate()
        .map(|(i, part)| text_field(theme, if i == 0 { label } else { "" }, part, style))
        .collect()
}

/// A heading between sections, preceded by a blank line.
pub fn heading<'a>(theme: &Theme, text: impl Into<String>) -> [Line<'a>; 2] {
    [
        Line::default(),
        Line::styled(format!(" {}", text.into()), theme.header()),
    ]
}

/// Renders `lines` from line `scroll` on, and a "more" marker when some are
/// below the fold. `scroll` past the end shows the last line.
pub fn scrolled(frame: &mut Frame, area: Rect, theme: &Theme, lines: Vec<Line<'_>>, scroll: usize) {
    if area.is_empty() {
        return;
    }
    let total = lines.len();
    let first = scroll.min(total.saturating_sub(1));
    let height = usize::from(area.height);
    let visible: Vec<Line> = lines.into_iter().skip(first).take(height).collect();
    frame.render_widget(Paragraph::new(visible), area);
    if first + height < total || first > 0 {
        let last = (first + height).min(total);
        let marker = format!(" {}-{} of {} ", first + 1, last, total);
        let w = (format::width(&marker) as u16).min(area.width);
        let at = Rect {
            x: area.right() - w,
            y: area.bottom() - 1,
            width: w,
            height: 1,
        };
        frame.render_widget(Paragraph::new(Line::styled(marker, theme.muted())), at);
    }
}

/// "payments is gone from prod (last refresh 12s ago)": the detail view's
/// item is no longer in its source's latest snapshot.
pub fn gone(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, detail: &Detail) {
    let source = state
        .sources
        .iter()
        .find(|s| s.name == detail.target.source);
    let refreshed = match source.and_then(|s| s.updated_at) {
        Some(at) => format!("last refresh {} ago", format::age(state.now, at)),
        None => "not refreshed yet".to_string(),
    };
    let text = format!(
        "{} is gone from {} ({refreshed})",
        detail.target.id, detail.target.source
    );
    let lines: Vec<Line> = format::wrap(&text, usize::from(area.width.saturating_sub(2)))
        .into_iter()
        .map(|l| Line::styled(format!(" {l}"), theme.warn()))
        .chain([
            Line::default(),
            Line::styled(
                format!(" {} goes back to the list", first_key(state, Command::Back)),
                theme.muted(),
            ),
        ])
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}
