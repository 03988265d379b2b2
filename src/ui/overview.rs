//! The Overview tab: what needs attention across every tab, worst first,
//! and one line per source with its health, counts and last error.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::Command;
use crate::app::problems;
use crate::app::state::{Phase, RowRef, SourceState, State, Tab};
use crate::model::{GitOpsApp, Health, ModelDrift, PipelineRun, SyncStatus};
use crate::theme::Theme;
use crate::ui::table::{Column, WindowedTable};
use crate::ui::{chrome, drift, format, status};

pub(super) const HINTS: &[(Command, &str)] = &[
    (Command::Open, "go to item"),
    (Command::Down, "down"),
    (Command::Up, "up"),
    (Command::NextTab, "next tab"),
    (Command::Filter, "filter"),
    (Command::Help, "help"),
    (Command::Quit, "quit"),
];

/// Before a problem that came since the engineer last left the Overview.
pub(super) const NEW_MARK: &str = "new ";

const ATTENTION_COLUMNS: [Column; 3] = [
    Column::new("", 7, 0, 0),
    Column::new("item", 20, 1, 0),
    Column::new("problem", 30, 5, 0),
];

const SOURCE_COLUMNS: [Column; 8] = [
    Column::new("source", 12, 1, 0),
    Column::new("kind", 8, 0, 3),
    Column::new("state", 10, 0, 0),
    Column::new("runs", 8, 0, 0),
    Column::new("apps", 7, 0, 0),
    Column::new("models", 7, 0, 0),
    Column::new("updated", 7, 0, 2),
    Column::new("last error", 12, 2, 1),
];

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let block = chrome::pane_block(state, theme, Tab::Overview, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    // The source list keeps at most half the pane; the attention list the rest.
    let sources_height = (state.sources.len() as u16 + 2).min(inner.height / 2);
    let [attention_area, sources_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(sources_height)]).areas(inner);

    let pane = state.pane(Tab::Overview);
    let empty = attention_empty_message(state);
    let table = WindowedTable {
        columns: &ATTENTION_COLUMNS,
        selected: Some(pane.selected),
        offset: pane.offset,
        empty: &empty,
    };
    table.render(frame, attention_area, theme, &pane.rows, |row, _| {
        attention_cells(state, theme, *row)
    });

    if sources_area.height >= 2 {
        let [rule_area, table_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(sources_area);
        let g = theme.glyphs();
        let filter = &state.pane(Tab::Overview).filter;
        let matching = if filter.is_empty() {
            String::new()
        } else {
            format!(", matching /{filter}")
        };
        let label = format!(
            "{} Sources ({}) {} counts: total (needing attention{matching}) ",
            g.rule,
            state.sources.len(),
            g.separator
        );
        let rule = g
            .rule
            .repeat(usize::from(rule_area.width).saturating_sub(format::width(&label)));
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(label, theme.header()),
                Span::styled(rule, theme.border()),
            ])),
            rule_area,
        );
        let table = WindowedTable {
            columns: &SOURCE_COLUMNS,
            selected: None,
            offset: 0,
            empty: "no sources configured",
        };
        let sources: Vec<(usize, &SourceState)> = state.sources.iter().enumerate().collect();
        table.render(frame, table_area, theme, &sources, |(i, source), _| {
            source_cells(state, theme, *i, source)
        });
    }
}

fn attention_empty_message(state: &State) -> String {
    let filter = &state.pane(Tab::Overview).filter;
    if !filter.is_empty() {
        format!("nothing needing attention matches /{filter}")
    } else if state.sources.iter().any(|s| s.phase() == Phase::Loading) {
        "reading sources…".to_string()
    } else {
        "all clear: no failed runs, no out-of-sync or unhealthy apps, no drifting models"
            .to_string()
    }
}

fn attention_cells(state: &State, theme: &Theme, row: RowRef) -> Vec<Line<'static>> {
    let source = state
        .sources
        .get(row.source as usize)
        .map_or("", |s| s.name.as_str());
    let (glyph, style, kind, name, problem) = match row.tab {
        Tab::Pipelines => match state.run(row) {
            Some(run) => {
                let (glyph, style) = status::run(theme, run.status);
                (
                    glyph,
                    style,
                    "run",
                    run.id.as_str(),
                    run_problem(state, run),
                )
            }
            None => return Vec::new(),
        },
        Tab::GitOps => match state.app(row) {
            Some(app) => {
                let (glyph, style) = app_glyph(theme, app);
                (
                    glyph,
                    style,
                    "app",
                    app.name.as_str(),
                    app_problem(theme, app),
                )
            }
            None => return Vec::new(),
        },
        Tab::Drift => match state.model(row) {
            Some(model) => {
                let (glyph, style) = status::drift(theme, model.status());
                (
                    glyph,
                    style,
                    "model",
                    model.model.as_str(),
                    model_problem(state, theme, model),
                )
            }
            None => return Vec::new(),
        },
        Tab::Overview | Tab::Timeline => return Vec::new(),
    };
    let item = if state.is_new_problem(row) {
        Line::from(vec![
            Span::styled(NEW_MARK, theme.warn().add_modifier(Modifier::BOLD)),
            Span::raw(format!("{source}/{name}")),
        ])
    } else {
        Line::from(format!("{source}/{name}"))
    };
    vec![
        Line::from(Span::styled(format!("{glyph} {kind}"), style)),
        item,
        Line::from(Span::styled(problem, style)),
    ]
}

/// "CI on acme/payments main failed 12m ago": what it is about, in the
/// words `watch` and notifications use, and when.
fn run_problem(state: &State, run: &PipelineRun) -> String {
    let ended = match (run.started_at, run.duration) {
        (Some(start), Some(d)) => chrono::Duration::from_std(d).ok().map(|d| start + d),
        _ => None,
    };
    let when = ended.or(run.updated_at).or(run.sort_time());
    let ago = when.map_or_else(String::new, |t| {
        format!(" {} ago", format::age(state.now, t))
    });
    format!("{}{ago}", problems::run_summary(run))
}

/// The health glyph when health is the problem, else the sync glyph.
fn app_glyph(theme: &Theme, app: &GitOpsApp) -> (&'static str, Style) {
    if app.health.is_unhealthy() || app.sync != SyncStatus::OutOfSync {
        status::health(theme, app.health)
    } else {
        status::sync(theme, app.sync)
    }
}

/// "out_of_sync · degraded: back-off restarting failed container".
fn app_problem(theme: &Theme, app: &GitOpsApp) -> String {
    let mut text = format!("{} {} {}", app.sync, theme.glyphs().separator, app.health);
    if let Some(message) = app
        .health_message
        .as_deref()
        .filter(|_| app.health != Health::Healthy)
    {
        text.push_str(": ");
        text.push_str(format::first_line(message));
    }
    if !app.out_of_sync.is_empty() {
        text.push_str(&format!(" ({} resources differ)", app.out_of_sync.len()));
    }
    text
}

/// "psi[age] 0.31 ≥ 0.25 · drifting for 2h".
fn model_problem(state: &State, theme: &Theme, model: &ModelDrift) -> String {
    let g = theme.glyphs();
    let mut text = match model.worst_metric() {
        Some(metric) => drift::metric_vs_threshold(g, metric),
        None => "no drift metrics".to_string(),
    };
    if let Some(since) = model.drifting_since {
        text.push_str(&format!(
            " {} past threshold for {}",
            g.separator,
            format::age(state.now, since)
        ));
    }
    text
}

/// "12" or "12 (3)" with the count needing attention.
fn count_cell(theme: &Theme, total: usize, attention: usize) -> Line<'static> {
    if attention == 0 {
        Line::from(Span::styled(total.to_string(), theme.muted()))
    } else {
        Line::from(Span::styled(format!("{total} ({attention})"), theme.warn()))
    }
}

/// How many of a source's runs, apps and models the attention list holds.
/// Counted from that list (built by `update`), not from the snapshot, so a
/// frame costs the same with 100 or 100,000 runs.
fn attention_counts(state: &State, source_index: usize) -> [usize; 3] {
    let mut counts = [0; 3];
    for row in state
        .pane(Tab::Overview)
        .rows
        .iter()
        .filter(|r| r.source as usize == source_index)
    {
        match row.tab {
            Tab::Pipelines => counts[0] += 1,
            Tab::GitOps => counts[1] += 1,
            Tab::Drift => counts[2] += 1,
            Tab::Overview | Tab::Timeline => {}
        }
    }
    counts
}

fn source_cells(
    state: &State,
    theme: &Theme,
    source_index: usize,
    source: &SourceState,
) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    let (glyph, style) = status::phase(theme, state, source.phase());
    let word = match source.phase() {
        Phase::Loading => "loading",
        Phase::Ok => "ok",
        Phase::Error => "error",
    };
    let snap = &source.snapshot;
    let [failed_runs, bad_apps, drifting] = attention_counts(state, source_index);
    let error = match (&source.error, source.snapshot.problems_text()) {
        (Some(e), _) => Span::styled(
            format!(
                "{} ago: {}",
                format::age(state.now, e.at),
                format::first_line(&e.message)
            ),
            theme.error(),
        ),
        // Read, but not fully: the items it could not read, its data shown.
        (None, Some(problems)) => {
            Span::styled(format::first_line(&problems).to_string(), theme.error())
        }
        (None, None) => Span::styled(g.none, theme.muted()),
    };
    let provides = source.provides;
    let count = |shown: bool, total: usize, attention: usize| {
        if shown {
            count_cell(theme, total, attention)
        } else {
            Line::from(Span::styled(g.none, theme.muted()))
        }
    };
    vec![
        Line::from(source.name.clone()),
        Line::from(Span::styled(source.kind.clone(), theme.muted())),
        Line::from(status::glyph_and_word(glyph, word, style)),
        count(provides.pipelines, snap.pipelines.len(), failed_runs),
        count(provides.gitops, snap.apps.len(), bad_apps),
        count(provides.drift, snap.models.len(), drifting),
        Line::from(Span::styled(
            format::age_or(state.now, source.updated_at, g.none),
            theme.muted(),
        )),
        Line::from(error),
    ]
}
