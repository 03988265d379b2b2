//! The GitOps tab: apps' sync and health, and an app's out-of-sync
//! resources, last operation and deploy history.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::app::Command;
use crate::app::state::{RowRef, State, Tab};
use crate::model::{GitOpsApp, OperationPhase, short_rev};
use crate::theme::Theme;
use crate::ui::pane::{self, Nouns, TabView};
use crate::ui::table::Column;
use crate::ui::{app_detail, busy_marker, detail, format, images, repo, status};

pub(super) const HINTS: &[(Command, &str)] = &[
    (Command::Open, "details"),
    (Command::Sync, "sync"),
    (Command::Refresh, "refresh"),
    (Command::Rollback, "rollback"),
    (Command::Suspend, "suspend"),
    (Command::Resume, "resume"),
    (Command::Filter, "filter"),
    (Command::Help, "help"),
    (Command::Quit, "quit"),
];

pub(super) const DETAIL_HINTS: &[(Command, &str)] = &[
    (Command::Back, "back"),
    (Command::Down, "scroll"),
    (Command::Sync, "sync"),
    (Command::Refresh, "refresh"),
    (Command::Rollback, "rollback"),
    (Command::Suspend, "suspend"),
    (Command::Resume, "resume"),
    (Command::Terminate, "terminate"),
    (Command::DisableAutoSync, "auto-sync off"),
    (Command::Help, "help"),
];

const COLUMNS: [Column; 10] = [
    Column::new("", 1, 0, 0),
    Column::new("app", 14, 2, 0),
    Column::new("source", 10, 1, 4),
    Column::new("cluster/namespace", 17, 2, 2),
    Column::new("sync", 13, 0, 0),
    Column::new("health", 13, 0, 0),
    Column::new("rev", 7, 1, 3),
    Column::new("auto-sync", 9, 0, 5),
    Column::new("changed", 7, 0, 0),
    Column::new("commit", 24, 3, 6),
];

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let view = TabView {
        columns: &COLUMNS,
        nouns: Nouns {
            plural: "apps",
            none: "no GitOps apps",
        },
        find: State::app,
        cells: Box::new(|_, row, app| app_cells(state, theme, row, app)),
        detail: Box::new(|frame, inner, app, scroll| {
            detail::scrolled(
                frame,
                inner,
                theme,
                app_detail(state, theme, app, inner.width),
                scroll,
            )
        }),
    };
    pane::draw(frame, area, state, theme, Tab::GitOps, view);
}

fn auto_sync(theme: &Theme, app: &GitOpsApp) -> Span<'static> {
    if app.auto_sync {
        Span::raw("on")
    } else {
        Span::styled("off", theme.muted())
    }
}

/// The app's name, with the suspended marker when reconciliation is stopped.
fn app_name(theme: &Theme, app: &GitOpsApp) -> Line<'static> {
    let mut spans = Vec::new();
    if app.error.is_some() {
        // Not read fully (its error is in the detail view): the mark goes
        // first, so a narrow column cannot cut it off.
        spans.push(Span::styled(
            format!("{} ", theme.glyphs().warn),
            theme.error(),
        ));
    }
    spans.push(Span::raw(app.name.clone()));
    if app.suspended {
        spans.push(Span::styled(
            format!(" {} suspended", theme.glyphs().suspended),
            theme.warn(),
        ));
    }
    Line::from(spans)
}

fn app_cells(state: &State, theme: &Theme, row: RowRef, app: &GitOpsApp) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    let (sync_glyph, sync_style) = status::sync(theme, app.sync);
    let (health_glyph, health_style) = status::health(theme, app.health);
    let revision = repo::revision_cell(app, g.none);
    vec![
        busy_marker(state, theme, row),
        app_name(theme, app),
        Line::from(Span::styled(app.source.clone(), theme.muted())),
        Line::from(app.place()),
        Line::from(status::glyph_and_word(
            sync_glyph,
            &app.sync.to_string(),
            sync_style,
        )),
        Line::from(status::glyph_and_word(
            health_glyph,
            &app.health.to_string(),
            health_style,
        )),
        Line::from(Span::styled(revision, theme.muted())),
        Line::from(auto_sync(theme, app)),
        Line::from(Span::styled(
            format::age_or(state.now, app.last_change, g.none),
            theme.muted(),
        )),
        Line::from(Span::styled(commit_and_image(app), theme.muted())),
    ]
}

/// The commit it runs, after the image when a registry knows it
/// ("payments:1.4.2, 2 newer · fix rounding (ana)").
fn commit_and_image(app: &GitOpsApp) -> String {
    let commit = repo::commit_cell(app);
    match images::row_words(app) {
        image if image.is_empty() => commit,
        image if commit.is_empty() => image,
        image => format!("{image} · {commit}"),
    }
}

fn operation_style(theme: &Theme, phase: OperationPhase) -> ratatui::style::Style {
    match phase {
        OperationPhase::Succeeded => theme.ok(),
        OperationPhase::Running | OperationPhase::Terminating => theme.info(),
        OperationPhase::Failed | OperationPhase::Error => theme.error(),
    }
}

/// Header, out-of-sync resources, last operation, deploy history.
fn app_detail<'a>(state: &State, theme: &Theme, app: &GitOpsApp, width: u16) -> Vec<Line<'a>> {
    let g = theme.glyphs();
    let none = || g.none.to_string();
    let time = |t: Option<crate::model::Timestamp>| {
        t.map_or_else(none, |t| format::absolute_and_age(state.now, t))
    };
    let (sync_glyph, sync_style) = status::sync(theme, app.sync);
    let (health_glyph, health_style) = status::health(theme, app.health);
    let mut title = vec![Span::styled(format!(" {}", app.name), theme.title())];
    if app.production {
        title.push(Span::styled("  PRODUCTION", theme.production()));
    }
    let mut lines = vec![
        Line::from(title),
        Line::default(),
        detail::text_field(theme, "source", &app.source, theme.base()),
        detail::text_field(theme, "place", app.place(), theme.base()),
        detail::field(
            theme,
            "sync",
            vec![status::glyph_and_word(
                sync_glyph,
                &app.sync.to_string(),
                sync_style,
            )],
        ),
        detail::field(
            theme,
            "health",
            vec![status::glyph_and_word(
                health_glyph,
                &app.health.to_string(),
                health_style,
            )],
        ),
    ];
    if let Some(message) = &app.health_message {
        lines.extend(detail::wrapped_field(
            theme,
            "",
            message,
            health_style,
            width,
        ));
    }
    if let Some(error) = &app.error {
        lines.extend(detail::wrapped_field(
            theme,
            "error",
            error,
            theme.error(),
            width,
        ));
    }
    let live = app.revision.clone().unwrap_or_else(none);
    let target = app.target_revision.clone().unwrap_or_else(none);
    let differs = app.revision.is_some() && app.revision != app.target_revision;
    lines.extend([
        detail::text_field(theme, "live rev", live, theme.base()),
        detail::text_field(
            theme,
            "target rev",
            target,
            if differs { theme.warn() } else { theme.base() },
        ),
        detail::text_field(
            theme,
            "auto-sync",
            if app.auto_sync { "on" } else { "off" },
            theme.base(),
        ),
        detail::text_field(
            theme,
            "suspended",
            if app.suspended {
                format!("{} yes: reconciliation stopped", g.suspended)
            } else {
                "no".into()
            },
            if app.suspended {
                theme.warn()
            } else {
                theme.base()
            },
        ),
        detail::text_field(
            theme,
            "repo",
            app.repo_url.clone().unwrap_or_else(none),
            theme.accent(),
        ),
        detail::text_field(
            theme,
            "path",
            app.path.clone().unwrap_or_else(none),
            theme.base(),
        ),
        detail::text_field(theme, "changed", time(app.last_change), theme.base()),
    ]);
    lines.extend(repo::link_lines(state, theme, app, width));
    lines.extend(images::detail_lines(state, theme, app, width));

    lines.extend(detail::heading(
        theme,
        format!("Out of sync ({})", app.out_of_sync.len()),
    ));
    if app.out_of_sync.is_empty() {
        lines.push(Line::styled(
            "   every resource matches the desired state",
            theme.muted(),
        ));
    }
    for r in &app.out_of_sync {
        lines.push(Line::from(vec![
            Span::styled(format!("   {} ", g.out_of_sync), theme.warn()),
            Span::styled(format!("{:<22}", r.kind), theme.base()),
            Span::styled(format!("{}/{}", r.namespace, r.name), theme.muted()),
        ]));
    }

    lines.extend(detail::heading(theme, "Last operation"));
    match &app.last_operation {
        None => lines.push(Line::styled("   none recorded", theme.muted())),
        Some(op) => {
            let style = operation_style(theme, op.phase);
            lines.push(detail::field(
                theme,
                "operation",
                vec![
                    Span::raw(op.kind.clone()),
                    Span::styled(format!("  {}", op.phase), style),
                ],
            ));
            if let Some(rev) = &op.revision {
                lines.push(detail::text_field(
                    theme,
                    "revision",
                    rev.clone(),
                    theme.base(),
                ));
            }
            lines.push(detail::text_field(
                theme,
                "started",
                time(op.started_at),
                theme.base(),
            ));
            lines.push(detail::text_field(
                theme,
                "finished",
                time(op.finished_at),
                theme.base(),
            ));
            if !op.message.is_empty() {
                lines.extend(detail::wrapped_field(
                    theme,
                    "message",
                    &op.message,
                    style,
                    width,
                ));
            }
            lines.extend(app_detail::operation_results(state, theme, app, width));
        }
    }

    let history_title = match &app.repo {
        Some(_) => format!(
            "Commits touching {} ({})",
            app.path.as_deref().unwrap_or(""),
            app.history.len()
        ),
        None => format!("Deploy history ({})", app.history.len()),
    };
    lines.extend(detail::heading(theme, history_title));
    if app.history.is_empty() {
        lines.push(Line::styled("   no deploy history", theme.muted()));
        lines.extend(repo::diff_lines(theme, app));
        lines.extend(app_detail::drill_down(state, theme, app));
        return lines;
    }
    lines.push(Line::styled(
        format!(
            "   {:<6} {:<8} {:<6} {:<20} {:<14} {}",
            "id", "revision", "age", "deployed", "author", "message"
        ),
        theme.header(),
    ));
    // The entry running now: the newest whose revision is the live one (for
    // a repository folder, the newest its linked app has deployed).
    let current = match &app.repo {
        Some(_) => app.pending.map(|p| p as usize),
        None => app
            .history
            .iter()
            .position(|d| app.revision.as_deref() == Some(d.revision.as_str())),
    };
    let message_width = usize::from(width).saturating_sub(64).max(10);
    for (i, d) in app.history.iter().enumerate() {
        let is_current = current == Some(i);
        let marker = if is_current { g.pointer } else { " " };
        let deployed = d.deployed_at.map_or_else(none, format::absolute);
        let age = format::age_or(state.now, d.deployed_at, g.none);
        let author = format::truncate(d.author.as_deref().unwrap_or(g.none), 14, g.ellipsis);
        let message = format::first_line(d.message.as_deref().unwrap_or(""));
        let mut message = format::truncate(message, message_width, g.ellipsis);
        if is_current {
            message = format!("(running) {message}");
        }
        let style = if is_current { theme.ok() } else { theme.base() };
        lines.push(Line::from(vec![
            Span::styled(format!(" {marker} "), theme.ok()),
            Span::styled(
                format!(
                    "{:<6} {:<8} ",
                    format::truncate(&d.id, 6, g.ellipsis),
                    short_rev(&d.revision)
                ),
                style,
            ),
            Span::styled(
                format!("{age:<6} {deployed:<20} {author:<14} "),
                theme.muted(),
            ),
            Span::styled(message, style),
        ]));
    }
    lines.extend(repo::diff_lines(theme, app));
    lines.extend(app_detail::drill_down(state, theme, app));
    lines
}
