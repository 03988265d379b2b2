//! The Drift tab: production models against their drift thresholds, and a
//! model's every metric with charts of the worst ones.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::Command;
use crate::app::state::{RowRef, State, Tab};
use crate::model::{Metric, ModelDrift, Worse};
use crate::theme::{Glyphs, Theme};
use crate::ui::pane::{self, Nouns, TabView};
use crate::ui::table::{Column, fit_columns};
use crate::ui::{busy_marker, chart, detail, format, status};

pub(super) const HINTS: &[(Command, &str)] = &[
    (Command::Open, "metrics"),
    (Command::Rollback, "roll back version"),
    (Command::NewRun, "retrain"),
    (Command::Filter, "filter"),
    (Command::Help, "help"),
    (Command::Quit, "quit"),
];

pub(super) const DETAIL_HINTS: &[(Command, &str)] = &[
    (Command::Back, "back"),
    (Command::Down, "scroll"),
    (Command::Rollback, "roll back version"),
    (Command::NewRun, "retrain"),
    (Command::Promote, "promote"),
    (Command::Help, "help"),
];

/// Rows a chart needs to be worth drawing.
const CHART_MIN_HEIGHT: u16 = 8;

const TREND_COLUMN: usize = 5;
const COLUMNS: [Column; 7] = [
    Column::new("", 1, 0, 0),
    Column::new("model", 11, 1, 0),
    Column::new("serving", 14, 0, 2),
    Column::new("status", 10, 0, 0),
    Column::new("worst metric", 28, 3, 0),
    Column::new("trend", 8, 2, 1),
    Column::new("source", 10, 1, 3),
];

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let view = TabView {
        columns: &COLUMNS,
        nouns: Nouns {
            plural: "models",
            none: "no models watched for drift",
        },
        find: State::model,
        cells: Box::new(|inner, row, model| {
            let trend_width = fit_columns(&COLUMNS, inner.width)
                .iter()
                .find(|(i, _)| *i == TREND_COLUMN)
                .map_or(0, |(_, w)| usize::from(*w));
            model_cells(state, theme, row, model, trend_width)
        }),
        detail: Box::new(|frame, inner, model, scroll| {
            model_detail(frame, inner, state, theme, model, scroll)
        }),
    };
    pane::draw(frame, area, state, theme, Tab::Drift, view);
}

/// "champion → v12".
fn serving(g: &Glyphs, model: &ModelDrift) -> String {
    format!(
        "{} {} {}",
        model.alias,
        g.arrow,
        model.version.as_deref().unwrap_or(g.none)
    )
}

/// "psi[age] 0.31 ≥ 0.25": the value against the threshold it has passed
/// (or the warn threshold it stays under).
pub(super) fn metric_vs_threshold(g: &Glyphs, metric: &Metric) -> String {
    metric.against_threshold(g.at_least, g.at_most)
}

fn model_cells(
    state: &State,
    theme: &Theme,
    row: RowRef,
    model: &ModelDrift,
    trend_width: usize,
) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    let (glyph, style) = status::drift(theme, model.status());
    let worst = model.worst_metric();
    let (worst_text, worst_style, trend) = match (worst, &model.error) {
        (_, Some(error)) => (error.clone(), theme.error(), String::new()),
        (Some(m), None) => {
            let (_, style) = status::drift(theme, m.status());
            let trend = chart::sparkline(m.series.iter().map(|(_, v)| *v), trend_width, g.spark);
            (metric_vs_threshold(g, m), style, trend)
        }
        (None, None) => ("no data".to_string(), theme.muted(), String::new()),
    };
    // A retrain started from here stands in for the worst metric (the
    // status column still says how it drifts; the detail shows both).
    let worst_cell = match retrain_progress(state, model) {
        Some(p) => Span::styled(crate::app::retrain::row_words(&p), theme.title()),
        None => Span::styled(worst_text, worst_style),
    };
    vec![
        busy_marker(state, theme, row),
        Line::from(model.model.clone()),
        Line::from(serving(g, model)),
        Line::from(status::glyph_and_word(
            glyph,
            &model.status().to_string(),
            style,
        )),
        Line::from(worst_cell),
        Line::from(Span::styled(trend, theme.chart())),
        Line::from(Span::styled(model.source.clone(), theme.muted())),
    ]
}

/// Header and metrics as scrollable text; below them, charts of the worst
/// metrics (as many as fit, at least the worst one when there is room).
fn model_detail(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    model: &ModelDrift,
    scroll: usize,
) {
    let lines = model_lines(state, theme, model);
    let metrics = model.metrics_by_severity();
    let text_height = lines.len() as u16;
    let (text_area, chart_area) = if metrics.is_empty() || area.height < CHART_MIN_HEIGHT + 6 {
        (area, Rect::default())
    } else {
        let text = text_height.min(area.height - CHART_MIN_HEIGHT);
        let [text_area, chart_area] = ratatui::layout::Layout::vertical([
            ratatui::layout::Constraint::Length(text),
            ratatui::layout::Constraint::Fill(1),
        ])
        .areas(area);
        (text_area, chart_area)
    };
    detail::scrolled(frame, text_area, theme, lines, scroll);
    if chart_area.is_empty() {
        return;
    }
    let marks = chart_marks(state, model);
    let charts = usize::from(chart_area.height / CHART_MIN_HEIGHT).clamp(1, metrics.len());
    let each = chart_area.height / charts as u16;
    for (i, metric) in metrics.iter().take(charts).enumerate() {
        let y = chart_area.y + each * i as u16;
        let height = if i + 1 == charts {
            chart_area.bottom() - y
        } else {
            each
        };
        chart::metric_chart(
            frame,
            Rect {
                y,
                height,
                ..chart_area
            },
            theme,
            metric,
            state.now,
            &marks,
        );
    }
}

fn model_lines<'a>(state: &State, theme: &Theme, model: &ModelDrift) -> Vec<Line<'a>> {
    let g = theme.glyphs();
    let (glyph, style) = status::drift(theme, model.status());
    let mut title = vec![
        Span::styled(format!(" {}  ", model.model), theme.title()),
        status::glyph_and_word(glyph, &model.status().to_string(), style),
    ];
    if model.production {
        title.push(Span::styled("  PRODUCTION", theme.production()));
    }
    let since = model.drifting_since.map_or_else(
        || g.none.to_string(),
        |t| format::absolute_and_age(state.now, t),
    );
    let samples = model
        .sample_count
        .map_or_else(|| g.none.to_string(), |n| n.to_string());
    let mut lines = vec![
        Line::from(title),
        detail::text_field(theme, "source", model.source.clone(), theme.base()),
        detail::text_field(theme, "serving", serving(g, model), theme.base()),
        detail::text_field(
            theme,
            "drifting",
            since,
            if model.drifting_since.is_some() {
                style
            } else {
                theme.base()
            },
        ),
        detail::text_field(theme, "samples", samples, theme.base()),
    ];
    if let Some(train) = &model.train {
        lines.push(detail::text_field(
            theme,
            "train",
            train.name(),
            theme.base(),
        ));
    }
    if let Some(progress) = retrain_progress(state, model) {
        let words = crate::app::retrain::words(&progress);
        lines.push(detail::text_field(theme, "retrain", words, theme.title()));
    }
    if let Some(error) = &model.error {
        lines.push(detail::text_field(
            theme,
            "error",
            error.clone(),
            theme.error(),
        ));
    }

    lines.extend(detail::heading(
        theme,
        format!("Metrics ({}), worst first", model.metrics.len()),
    ));
    lines.push(Line::styled(
        format!(
            "   {:<22} {:>8} {:>8} {:>8}  {:<7} {}",
            "metric", "value", "warn", "critical", "worse", "status"
        ),
        theme.header(),
    ));
    for metric in model.metrics_by_severity() {
        let (glyph, style) = status::drift(theme, metric.status());
        let value = metric
            .value
            .map_or_else(|| g.none.to_string(), format::metric_value);
        let worse = match metric.worse {
            Worse::Above => format!("{} above", g.higher_worse),
            Worse::Below => format!("{} below", g.lower_worse),
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "   {:<22} ",
                format::truncate(&metric.label(), 22, g.ellipsis)
            )),
            Span::styled(format!("{value:>8} "), style),
            Span::styled(
                format!(
                    "{:>8} {:>8}  {worse:<7} ",
                    format::metric_value(metric.warn),
                    format::metric_value(metric.critical)
                ),
                theme.muted(),
            ),
            status::glyph_and_word(glyph, &metric.status().to_string(), style),
        ]));
    }

    lines.extend(detail::heading(
        theme,
        format!("Versions ({})", model.versions.len()),
    ));
    for v in &model.versions {
        let is_serving = model.version.as_deref() == Some(v.version.as_str());
        let created = v.created_at.map_or_else(
            || g.none.to_string(),
            |t| format::absolute_and_age(state.now, t),
        );
        let mut spans = vec![
            Span::styled(
                format!(" {} ", if is_serving { g.pointer } else { " " }),
                theme.ok(),
            ),
            Span::styled(
                format!("{:<8} ", v.version),
                if is_serving { theme.ok() } else { theme.base() },
            ),
            Span::styled(format!("{:<10} ", v.status.to_lowercase()), theme.muted()),
            Span::styled(created, theme.muted()),
        ];
        if is_serving {
            spans.push(Span::styled(
                format!("  (serving as {})", model.alias),
                theme.ok(),
            ));
        }
        if let Some(d) = v.description.as_deref().filter(|d| !d.is_empty()) {
            spans.push(Span::styled(
                format!("  {}", format::first_line(d)),
                theme.base(),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The deploys of the app serving `model` and its version changes, from
/// the timeline (already built: nothing is computed while drawing but this
/// filter over the events).
fn chart_marks(
    state: &State,
    model: &ModelDrift,
) -> Vec<(crate::model::Timestamp, chart::MarkKind)> {
    use crate::timeline::EventKind;
    let me = format!("{}/{}", model.source, model.model);
    state
        .timeline
        .timeline
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Deploy if model.serving.as_deref() == Some(e.target.as_str()) => {
                Some((e.time, chart::MarkKind::Deploy))
            }
            EventKind::ModelVersion | EventKind::Alias if e.target == me => {
                Some((e.time, chart::MarkKind::Version))
            }
            _ => None,
        })
        .collect()
}

/// Where the retrain started from here stands, if one was.
fn retrain_progress<'a>(
    state: &'a State,
    model: &ModelDrift,
) -> Option<crate::app::retrain::Progress<'a>> {
    let target =
        crate::model::Target::new(&model.source, crate::model::TargetKind::Model, &model.model);
    crate::app::retrain::progress(state, &target)
}
