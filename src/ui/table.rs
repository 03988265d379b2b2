//! The windowed table every pane uses: only the rows on screen are built,
//! columns are dropped by priority when the terminal is narrow.

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::theme::Theme;
use crate::ui::format;

/// Blank columns between two table columns.
const COLUMN_SPACING: u16 = 1;

/// One table column.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub title: &'static str,
    /// Columns it needs.
    pub width: u16,
    /// Share of the spare width it takes (0: fixed).
    pub grow: u16,
    /// Dropped when the table is too narrow: higher goes first, 0 never.
    pub drop: u8,
}

impl Column {
    pub const fn new(title: &'static str, width: u16, grow: u16, drop: u8) -> Self {
        Column {
            title,
            width,
            grow,
            drop,
        }
    }
}

/// The first visible row so that `selected` stays on screen: the same rule
/// `update` applies when it moves the selection.
pub fn window_offset(selected: usize, offset: usize, height: usize) -> usize {
    let height = height.max(1);
    if selected < offset {
        selected
    } else if selected >= offset.saturating_add(height) {
        (selected + 1).saturating_sub(height)
    } else {
        offset
    }
}

/// The rows of a `len`-row table that fit in `height` lines.
pub fn visible_range(len: usize, selected: usize, offset: usize, height: usize) -> Range<usize> {
    if len == 0 || height == 0 {
        return 0..0;
    }
    let selected = selected.min(len - 1);
    // Never scrolled past the last full page (as `update` keeps it).
    let start = window_offset(selected, offset, height).min(len.saturating_sub(height));
    start..start.saturating_add(height).min(len)
}

/// Which columns fit in `available` columns, and how wide each is drawn.
pub fn fit_columns(columns: &[Column], available: u16) -> Vec<(usize, u16)> {
    let mut kept: Vec<usize> = (0..columns.len()).collect();
    let needed = |kept: &[usize]| -> u32 {
        let widths: u32 = kept.iter().map(|&i| u32::from(columns[i].width)).sum();
        widths + u32::from(COLUMN_SPACING) * (kept.len().saturating_sub(1) as u32)
    };
    while needed(&kept) > u32::from(available) {
        let Some(pos) = kept
            .iter()
            .enumerate()
            .filter(|(_, i)| columns[**i].drop > 0)
            .max_by_key(|(pos, i)| (columns[**i].drop, *pos))
            .map(|(pos, _)| pos)
        else {
            break;
        };
        kept.remove(pos);
    }
    let spare = u32::from(available).saturating_sub(needed(&kept));
    let total_grow: u32 = kept.iter().map(|&i| u32::from(columns[i].grow)).sum();
    let mut given = 0;
    let mut widths: Vec<(usize, u16)> = kept
        .iter()
        .map(|&i| {
            let extra = (spare * u32::from(columns[i].grow))
                .checked_div(total_grow)
                .unwrap_or(0);
            given += extra;
            (i, columns[i].width.saturating_add(extra as u16))
        })
        .collect();
    // The rounding remainder goes to the first growing column.
    if let Some(first) = widths.iter_mut().find(|(i, _)| columns[*i].grow > 0) {
        first.1 = first.1.saturating_add(spare.saturating_sub(given) as u16);
    }
    // Still too wide (only columns that are never dropped are left): narrow
    // the widest, so every cell is cut with an ellipsis rather than clipped.
    let spacing = u32::from(COLUMN_SPACING) * (widths.len().saturating_sub(1) as u32);
    let mut total: u32 = widths.iter().map(|(_, w)| u32::from(*w)).sum::<u32>() + spacing;
    while total > u32::from(available) {
        let Some(widest) = widths
            .iter_mut()
            .filter(|(_, w)| *w > 1)
            .max_by_key(|(_, w)| *w)
        else {
            break;
        };
        widest.1 -= 1;
        total -= 1;
    }
    widths
}

/// A table over `items`, of which only the visible window is built by
/// `cells` (called once per visible item, with whether it is selected).
pub struct WindowedTable<'c> {
    pub columns: &'c [Column],
    pub selected: Option<usize>,
    pub offset: usize,
    /// Shown instead of the rows when there are none.
    pub empty: &'c str,
}

impl WindowedTable<'_> {
    pub fn render<'a, T>(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        items: &[T],
        mut cells: impl FnMut(&T, bool) -> Vec<Line<'a>>,
    ) {
        if area.is_empty() {
            return;
        }
        let fitted = fit_columns(self.columns, area.width);
        let header = Row::new(
            fitted
                .iter()
                .map(|&(i, _)| Cell::from(self.columns[i].title)),
        )
        .style(theme.header());
        let body_height = usize::from(area.height.saturating_sub(1));
        let selected = self.selected.unwrap_or(0);
        let ellipsis = theme.glyphs().ellipsis;
        let range = visible_range(items.len(), selected, self.offset, body_height);
        let rows = items[range.clone()].iter().enumerate().map(|(k, item)| {
            let is_selected = self.selected == Some(range.start + k);
            let mut all = cells(item, is_selected);
            // Not `Cell::default()`: its column span is 0, so it would take no column.
            let picked: Vec<Cell<'a>> = fitted
                .iter()
                .map(|&(i, width)| match all.get_mut(i) {
                    Some(line) => {
                        Cell::from(fit_line(std::mem::take(line), usize::from(width), ellipsis))
                    }
                    None => Cell::from(""),
                })
                .collect();
            let row = Row::new(picked);
            if is_selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
        let widths = fitted.iter().map(|&(_, w)| Constraint::Length(w));
        let table = Table::new(rows, widths)
            .header(header)
            .column_spacing(COLUMN_SPACING);
        frame.render_widget(table, area);
        if items.is_empty() && area.height > 1 {
            let message = Paragraph::new(Line::styled(self.empty, theme.muted()))
                .alignment(Alignment::Center);
            let y = area.y + 1 + area.height.saturating_sub(1) / 3;
            frame.render_widget(
                message,
                Rect {
                    y: y.min(area.bottom() - 1),
                    height: 1,
                    ..area
                },
            );
        }
    }
}

/// `line` cut to `width` columns, ending in `ellipsis` (in the style of
/// the text it replaces) when cut.
pub fn fit_line<'a>(line: Line<'a>, width: usize, ellipsis: &'static str) -> Line<'a> {
    if line.width() <= width {
        return line;
    }
    let room = width.saturating_sub(format::width(ellipsis));
    let mut used = 0;
    let mut spans: Vec<Span<'a>> = Vec::new();
    let mut last_style = line.style;
    for span in line.spans {
        last_style = span.style;
        let w = span.width();
        if used + w <= room {
            used += w;
            spans.push(span);
            continue;
        }
        let cut = format::truncate(&span.content, room - used, "");
        if !cut.is_empty() {
            spans.push(Span::styled(cut, span.style));
        }
        break;
    }
    if width >= format::width(ellipsis) {
        spans.push(Span::styled(ellipsis, last_style));
    }
    Line {
        spans,
        style: line.style,
        alignment: line.alignment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_keeps_the_selection_visible() {
        assert_eq!(window_offset(5, 0, 10), 0);
        assert_eq!(window_offset(10, 0, 10), 1);
        assert_eq!(window_offset(3, 5, 10), 3);
        assert_eq!(window_offset(99_999, 0, 40), 99_960);
        assert_eq!(window_offset(0, 0, 0), 0);
        assert_eq!(visible_range(100_000, 99_999, 0, 40), 99_960..100_000);
        assert_eq!(visible_range(3, 7, 0, 10), 0..3);
        assert_eq!(visible_range(0, 0, 0, 10), 0..0);
        assert_eq!(visible_range(10, 2, 50, 4), 2..6);
        assert_eq!(visible_range(10, 9, 9, 4), 6..10);
    }

    #[test]
    fn long_cells_end_in_an_ellipsis() {
        let line = Line::from(vec![Span::raw("acme/"), Span::raw("payments")]);
        assert_eq!(fit_line(line.clone(), 13, "…").to_string(), "acme/payments");
        assert_eq!(fit_line(line.clone(), 8, "…").to_string(), "acme/pa…");
        assert_eq!(fit_line(line.clone(), 4, "~").to_string(), "acm~");
        assert_eq!(fit_line(line, 0, "…").to_string(), "");
    }

    #[test]
    fn narrow_tables_drop_columns_by_priority() {
        let cols = [
            Column::new("a", 10, 1, 0),
            Column::new("b", 10, 0, 2),
            Column::new("c", 10, 0, 1),
        ];
        assert_eq!(fit_columns(&cols, 40), vec![(0, 18), (1, 10), (2, 10)]);
        assert_eq!(fit_columns(&cols, 25), vec![(0, 14), (2, 10)]);
        assert_eq!(fit_columns(&cols, 5), vec![(0, 5)]);
        let fixed = [Column::new("a", 10, 0, 0), Column::new("b", 4, 0, 0)];
        assert_eq!(fit_columns(&fixed, 12), vec![(0, 7), (1, 4)]);
    }
}
