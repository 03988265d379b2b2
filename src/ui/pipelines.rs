//! The Pipelines tab: CI/CD runs newest first, and a run's jobs and steps.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::Command;
use crate::app::state::{LogState, LogView, RowRef, State, Tab};
use crate::model::{PipelineRun, RunStatus, Target, TargetKind, short_rev};
use crate::theme::Theme;
use crate::ui::pane::{self, Nouns, TabView};
use crate::ui::table::Column;
use crate::ui::{busy_marker, detail, format, status};

pub(super) const HINTS: &[(Command, &str)] = &[
    (Command::Open, "jobs"),
    (Command::Logs, "logs"),
    (Command::Rerun, "re-run"),
    (Command::RerunFailed, "re-run failed"),
    (Command::Cancel, "cancel"),
    (Command::NewRun, "new run"),
    (Command::CopyUrl, "copy link"),
    (Command::Filter, "filter"),
    (Command::Help, "help"),
    (Command::Quit, "quit"),
];

pub(super) const DETAIL_HINTS: &[(Command, &str)] = &[
    (Command::Back, "back"),
    (Command::Down, "scroll"),
    (Command::Logs, "failed job's log"),
    (Command::Rerun, "re-run"),
    (Command::RerunFailed, "re-run failed"),
    (Command::Cancel, "cancel"),
    (Command::NewRun, "new run"),
    (Command::CopyUrl, "copy link"),
    (Command::Help, "help"),
];

pub(super) const LOG_HINTS: &[(Command, &str)] = &[
    (Command::Back, "back to the run"),
    (Command::Up, "scroll"),
    (Command::Logs, "next job"),
    (Command::Top, "top"),
    (Command::Bottom, "end"),
    (Command::RerunFailed, "re-run failed"),
    (Command::Help, "help"),
];

const COLUMNS: [Column; 9] = [
    Column::new("", 1, 0, 0),
    Column::new("status", 12, 0, 0),
    Column::new("pipeline", 10, 1, 0),
    Column::new("project", 12, 2, 3),
    Column::new("branch", 12, 2, 1),
    Column::new("commit", 7, 0, 4),
    Column::new("actor", 10, 1, 5),
    Column::new("started", 7, 0, 2),
    Column::new("duration", 8, 0, 0),
];

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let view = TabView {
        columns: &COLUMNS,
        nouns: Nouns {
            plural: "runs",
            none: "no pipeline runs",
        },
        find: State::run,
        cells: Box::new(|_, row, run| run_cells(state, theme, row, run)),
        detail: Box::new(|frame, inner, run, scroll| {
            let log = state
                .pane(Tab::Pipelines)
                .detail
                .as_ref()
                .and_then(|d| d.log.as_ref());
            match log {
                Some(view) => log_view(frame, inner, state, theme, run, view, scroll),
                None => detail::scrolled(
                    frame,
                    inner,
                    theme,
                    run_detail(state, theme, run, inner.width),
                    scroll,
                ),
            }
        }),
    };
    pane::draw(frame, area, state, theme, Tab::Pipelines, view);
}

/// "✗ failure", or "? unknown (waiting)" with the backend's own word.
fn status_text(run: &PipelineRun) -> String {
    match (&run.raw_status, run.status) {
        _ if run.awaits_approval() => crate::model::AWAITING_APPROVAL.to_string(),
        (Some(raw), RunStatus::Unknown) => format!("unknown ({raw})"),
        (_, status) => status.to_string(),
    }
}

fn run_cells(state: &State, theme: &Theme, row: RowRef, run: &PipelineRun) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    let (glyph, style) = status::run(theme, run.status);
    let pipeline = if run.attempt > 1 {
        format!("{} #{}", run.pipeline, run.attempt)
    } else {
        run.pipeline.clone()
    };
    let mut pipeline = vec![Span::raw(pipeline)];
    if run.paused {
        pipeline.push(Span::styled(" (paused)", theme.warn()));
    }
    if run.error.is_some() {
        // Not read fully (its error is in the detail view): the mark goes
        // first, so a narrow column cannot cut it off.
        pipeline.insert(0, Span::styled(format!("{} ", g.warn), theme.error()));
    }
    vec![
        busy_marker(state, theme, row),
        Line::from(status::glyph_and_word(glyph, &status_text(run), style)),
        Line::from(pipeline),
        Line::from(run.project.clone()),
        Line::from(run.branch.clone()),
        Line::from(Span::styled(
            short_rev(&run.commit).to_string(),
            theme.muted(),
        )),
        Line::from(run.actor.clone()),
        Line::from(Span::styled(
            format::age_or(state.now, run.sort_time(), g.none),
            theme.muted(),
        )),
        Line::from(format::duration_or(run.elapsed(state.now), g.none)),
    ]
}

/// The run's every field, then its jobs and their steps.
fn run_detail<'a>(state: &State, theme: &Theme, run: &PipelineRun, width: u16) -> Vec<Line<'a>> {
    let g = theme.glyphs();
    let (glyph, style) = status::run(theme, run.status);
    let time = |t: Option<crate::model::Timestamp>| match t {
        Some(t) => format::absolute_and_age(state.now, t),
        None => g.none.to_string(),
    };
    let mut title = vec![
        Span::raw(" "),
        status::glyph_and_word(glyph, &status_text(run), style),
        Span::styled(format!("  {}", run.pipeline), theme.title()),
        Span::styled(format!("  run {}", run.id), theme.muted()),
    ];
    if run.attempt > 1 {
        title.push(Span::styled(
            format!("  attempt {}", run.attempt),
            theme.warn(),
        ));
    }
    if run.paused {
        title.push(Span::styled("  pipeline paused", theme.warn()));
    }
    let mut lines = vec![Line::from(title), Line::default()];
    if let Some(error) = &run.error {
        lines.extend(detail::wrapped_field(
            theme,
            "error",
            error,
            theme.error(),
            width,
        ));
    }
    lines.extend([
        detail::text_field(theme, "source", &run.source, theme.base()),
        detail::text_field(theme, "project", &run.project, theme.base()),
        detail::text_field(theme, "branch", &run.branch, theme.base()),
        detail::text_field(theme, "commit", &run.commit, theme.base()),
        detail::text_field(theme, "actor", &run.actor, theme.base()),
        detail::text_field(theme, "event", &run.event, theme.base()),
        detail::text_field(theme, "created", time(run.created_at), theme.base()),
        detail::text_field(theme, "started", time(run.started_at), theme.base()),
        detail::text_field(theme, "updated", time(run.updated_at), theme.base()),
        detail::text_field(
            theme,
            "duration",
            format::duration_or(run.elapsed(state.now), g.none),
            theme.base(),
        ),
        detail::text_field(
            theme,
            "url",
            run.url.clone().unwrap_or_else(|| g.none.to_string()),
            theme.accent(),
        ),
    ]);
    for (name, value) in &run.details {
        lines.extend(detail::wrapped_field(
            theme,
            name,
            value,
            theme.base(),
            width,
        ));
    }
    let Some(jobs) = &run.jobs else {
        lines.extend(detail::heading(theme, "Jobs"));
        lines.push(Line::styled(
            format!("   {} loading jobs…", theme.spinner(state.spinner)),
            theme.muted(),
        ));
        return lines;
    };
    lines.extend(detail::heading(theme, format!("Jobs ({})", jobs.len())));
    if jobs.is_empty() {
        lines.push(Line::styled("   this run has no jobs", theme.muted()));
    }
    let longest = jobs
        .iter()
        .flat_map(|j| {
            std::iter::once(format::width(&j.name))
                .chain(j.steps.iter().map(|s| format::width(&s.name) + 4))
        })
        .max()
        .unwrap_or(0);
    let name_width = longest.clamp(12, usize::from(width).saturating_sub(26).max(12));
    for job in jobs {
        let (glyph, style) = status::run(theme, job.status);
        let name = format::truncate(&job.name, name_width, g.ellipsis);
        lines.push(Line::from(vec![
            Span::styled(format!("   {glyph} "), style),
            Span::styled(format!("{name:<name_width$}"), theme.base()),
            Span::styled(
                format!(" {:>8}", format::duration_or(job.duration, "")),
                theme.muted(),
            ),
            Span::styled(format!("  {}", job.status), style),
        ]));
        let step_width = name_width.saturating_sub(4);
        for step in &job.steps {
            let (glyph, style) = status::run(theme, step.status);
            let name = format::truncate(&step.name, step_width, g.ellipsis);
            lines.push(Line::from(vec![
                Span::styled(format!("       {glyph} "), style),
                Span::styled(format!("{name:<step_width$}"), theme.muted()),
                Span::styled(
                    format!(" {:>8}", format::duration_or(step.duration, "")),
                    theme.muted(),
                ),
            ]));
        }
    }
    lines
}

/// A job's log tail: a heading naming the run and job, then the lines from
/// `scroll` on (the view opens on the last page).
fn log_view(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    run: &PipelineRun,
    view: &LogView,
    scroll: usize,
) {
    let g = theme.glyphs();
    let target = Target::new(&run.source, TargetKind::Run, &run.id);
    let job_status = run
        .jobs
        .iter()
        .flatten()
        .find(|j| j.id == view.job_id)
        .map(|j| j.status);
    let mut title = vec![Span::raw(" ")];
    if let Some(status) = job_status {
        let (glyph, style) = status::run(theme, status);
        title.push(status::glyph_and_word(glyph, &status.to_string(), style));
        title.push(Span::raw("  "));
    }
    title.push(Span::styled(
        format!("{} log", view.job_name),
        theme.title(),
    ));
    title.push(Span::styled(
        format!("  {} {} run {}", run.pipeline, g.separator, run.id),
        theme.muted(),
    ));
    let [head, body] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(2),
        ratatui::layout::Constraint::Fill(1),
    ])
    .areas(area);
    let log = state.logs.get(&(target, view.job_id.clone()));
    let note = match log {
        Some(LogState::Loaded(tail)) if tail.truncated => format!(
            "   last {} lines; earlier ones are left out (the whole log is at the run's link)",
            tail.lines.len()
        ),
        Some(LogState::Loaded(tail)) => format!("   {} lines", tail.lines.len()),
        _ => String::new(),
    };
    frame.render_widget(
        ratatui::widgets::Paragraph::new(vec![
            Line::from(title),
            Line::styled(note, theme.muted()),
        ]),
        head,
    );
    let lines: Vec<Line> = match log {
        None | Some(LogState::Loading) => vec![Line::styled(
            format!("   {} loading the log…", theme.spinner(state.spinner)),
            theme.muted(),
        )],
        Some(LogState::Failed(e)) => vec![Line::styled(
            format!("   cannot load the log: {e}"),
            theme.error(),
        )],
        Some(LogState::Loaded(tail)) if tail.lines.is_empty() => {
            vec![Line::styled("   the log is empty", theme.muted())]
        }
        Some(LogState::Loaded(tail)) => tail
            .lines
            .iter()
            .map(|l| log_line(theme, l, body.width))
            .collect(),
    };
    detail::scrolled(frame, body, theme, lines, scroll);
}

/// One log line, cut to the width, errors in the error colour.
fn log_line(theme: &Theme, line: &str, width: u16) -> Line<'static> {
    let text = format::truncate(
        line,
        usize::from(width.saturating_sub(1)),
        theme.glyphs().ellipsis,
    );
    let lower = line.to_ascii_lowercase();
    let style =
        if lower.contains("error") || lower.contains("fail") || lower.starts_with("##[error]") {
            theme.error()
        } else if lower.contains("warn") {
            theme.warn()
        } else {
            theme.base()
        };
    Line::from(Span::styled(format!(" {text}"), style))
}
