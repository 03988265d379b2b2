//! Trends: an in-cell text sparkline, and a metric's series charted against
//! its warn and critical thresholds.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType};

use crate::model::{Metric, Timestamp};
use crate::theme::Theme;
use crate::ui::{format, status};

/// The last `width` values as one character each, scaled between their
/// minimum and maximum over `levels` (lowest first).
pub fn sparkline(
    values: impl DoubleEndedIterator<Item = f64>,
    width: usize,
    levels: &[char],
) -> String {
    let mut tail: Vec<f64> = values.rev().filter(|v| v.is_finite()).take(width).collect();
    tail.reverse();
    let Some(top) = levels.len().checked_sub(1) else {
        return String::new();
    };
    let (lo, hi) = tail
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    tail.iter()
        .map(|v| {
            let level = if hi > lo {
                ((v - lo) / (hi - lo) * top as f64).round() as usize
            } else {
                top / 2
            };
            levels[level.min(top)]
        })
        .collect()
}

/// What a vertical mark on a drift chart stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// A deploy of the app serving the model.
    Deploy,
    /// A model version registered, or the serving alias moved.
    Version,
}

/// A metric's series (x: seconds relative to `now`) with its two
/// thresholds drawn as horizontal lines across the same span, and `marks`
/// (deploys of the serving app, version changes) as vertical lines.
pub fn metric_chart(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    metric: &Metric,
    now: Timestamp,
    marks: &[(Timestamp, MarkKind)],
) {
    if area.width < 10 || area.height < 4 {
        return;
    }
    let g = theme.glyphs();
    let points: Vec<(f64, f64)> = metric
        .series
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| ((*t - now).num_seconds() as f64, *v))
        .collect();
    if points.is_empty() {
        let line = Line::styled(
            format!(" {}: no data to chart", metric.label()),
            theme.muted(),
        );
        frame.render_widget(line, area);
        return;
    }
    let x_min = points
        .iter()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min)
        .min(-60.0);
    let x_max = points
        .iter()
        .map(|p| p.0)
        .fold(f64::NEG_INFINITY, f64::max)
        .max(0.0);
    let values = points
        .iter()
        .map(|p| p.1)
        .chain([metric.warn, metric.critical]);
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = ((hi - lo) * 0.1).max(f64::EPSILON.max(hi.abs() * 0.05));
    let (y_min, y_max) = (lo - pad, hi + pad);
    let warn = [(x_min, metric.warn), (x_max, metric.warn)];
    let critical = [(x_min, metric.critical), (x_max, metric.critical)];
    let (status_glyph, status_style) = status::drift(theme, metric.status());
    let x_of = |t: &Timestamp| (*t - now).num_seconds() as f64;
    let lines: Vec<([(f64, f64); 2], MarkKind)> = marks
        .iter()
        .filter(|(t, _)| (x_min..=x_max).contains(&x_of(t)))
        .map(|(t, k)| ([(x_of(t), y_min), (x_of(t), y_max)], *k))
        .collect();
    let has = |k: MarkKind| lines.iter().any(|(_, m)| *m == k);
    let mut legend = Vec::new();
    if has(MarkKind::Deploy) {
        legend.push(Span::styled("   | deploy", theme.info()));
    }
    if has(MarkKind::Version) {
        legend.push(Span::styled("   : version", theme.accent()));
    }
    let caption = Line::from(
        vec![
            Span::styled(format!(" {} ", metric.label()), theme.title()),
            Span::styled(format!("{status_glyph} {}", metric.status()), status_style),
            Span::styled(
                format!(
                    "   {} critical {}",
                    g.chart_critical,
                    format::metric_value(metric.critical)
                ),
                theme.error(),
            ),
            Span::styled(
                format!(
                    "   {} warn {}",
                    g.chart_warn,
                    format::metric_value(metric.warn)
                ),
                theme.warn(),
            ),
        ]
        .into_iter()
        .chain(legend)
        .collect::<Vec<_>>(),
    );
    frame.render_widget(caption, Rect { height: 1, ..area });
    let area = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    // Thresholds and marks first, so the series is drawn over them.
    let mut datasets: Vec<Dataset> = lines
        .iter()
        .map(|(line, kind)| {
            let (marker, style) = match kind {
                MarkKind::Deploy => ('|', theme.info()),
                MarkKind::Version => (':', theme.accent()),
            };
            Dataset::default()
                .marker(Marker::Custom(marker))
                .graph_type(GraphType::Line)
                .style(style)
                .data(line)
        })
        .collect();
    datasets.extend([
        Dataset::default()
            .marker(Marker::Custom(g.chart_warn))
            .graph_type(GraphType::Line)
            .style(theme.warn())
            .data(&warn),
        Dataset::default()
            .marker(Marker::Custom(g.chart_critical))
            .graph_type(GraphType::Line)
            .style(theme.error())
            .data(&critical),
        Dataset::default()
            .marker(g.chart_marker)
            .graph_type(GraphType::Line)
            .style(theme.chart())
            .data(&points),
    ]);
    let span_label = format!("-{}", format::age_of_secs(-x_min as i64));
    let chart = Chart::new(datasets)
        .style(theme.base())
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([x_min, x_max])
                .style(theme.muted())
                .labels([Span::raw(span_label), Span::raw("now")]),
        )
        .y_axis(
            Axis::default()
                .bounds([y_min, y_max])
                .style(theme.muted())
                .labels([
                    Span::raw(format::metric_value(y_min)),
                    Span::raw(format::metric_value(y_max)),
                ]),
        );
    frame.render_widget(chart, area);
    if theme.ascii {
        asciify_axes(frame, area);
    }
}

/// The chart widget draws its axes with box-drawing lines; an ASCII
/// terminal gets plain characters instead.
fn asciify_axes(frame: &mut Frame, area: Rect) {
    let buf = frame.buffer_mut();
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            let plain = match cell.symbol() {
                "│" => "|",
                "─" => "-",
                "└" => "+",
                "┌" | "┐" | "┘" => "+",
                _ => continue,
            };
            cell.set_symbol(plain);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_the_tail() {
        let levels = ['_', '.', '-', '=', '#'];
        assert_eq!(
            sparkline([0.0, 1.0, 2.0, 3.0, 4.0].into_iter(), 5, &levels),
            "_.-=#"
        );
        assert_eq!(sparkline([9.0, 0.0, 4.0].into_iter(), 2, &levels), "_#");
        assert_eq!(sparkline([1.0, 1.0].into_iter(), 4, &levels), "--");
        assert_eq!(sparkline(std::iter::empty(), 4, &levels), "");
    }
}
