//! What a desired-state repository adds to the GitOps tab: the link between
//! a repository folder and the app it deploys to, pending commits, who wrote
//! the running commit, and the newest change as a coloured diff.

use ratatui::text::{Line, Span};

use crate::app::state::State;
use crate::model::{GitOpsApp, short_rev};
use crate::theme::Theme;
use crate::ui::{detail, format};

/// "3f2a1c7 +2": the revision, and how many commits wait to be deployed.
pub(super) fn revision_cell(app: &GitOpsApp, none: &str) -> String {
    let rev = app.revision.as_deref().map_or(none, short_rev);
    match app.pending {
        Some(n) if n > 0 => format!("{rev} +{n}"),
        _ => rev.to_string(),
    }
}

/// The commit an app runs (or, for a repository folder, its newest change).
pub(super) fn commit_cell(app: &GitOpsApp) -> String {
    if app.repo.is_some() {
        return app
            .history
            .first()
            .and_then(|d| d.message.clone())
            .unwrap_or_default();
    }
    app.revision_commit
        .as_ref()
        .map_or_else(String::new, |c| format!("{} ({})", c.subject, c.author))
}

/// Header lines: the link, pending commits, the running commit, the branch.
pub(super) fn link_lines<'a>(
    state: &State,
    theme: &Theme,
    app: &GitOpsApp,
    width: u16,
) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    if let Some(info) = &app.repo {
        lines.push(detail::text_field(
            theme,
            "branch",
            info.branch.clone(),
            theme.base(),
        ));
        lines.push(detail::text_field(
            theme,
            "head",
            info.head.clone(),
            theme.base(),
        ));
        let push = if info.push == "branch" {
            "to a new opsdeck/rollback-… branch"
        } else {
            "directly to the branch"
        };
        lines.push(detail::text_field(
            theme,
            "reverts",
            format!("pushed {push}"),
            theme.base(),
        ));
    }
    if let Some(linked) = &app.linked {
        let what = if app.repo.is_some() {
            "deploys to"
        } else {
            "deployed from"
        };
        lines.push(detail::text_field(
            theme,
            what,
            linked.to_string(),
            theme.accent(),
        ));
    }
    match app.pending {
        Some(0) => lines.push(detail::text_field(
            theme,
            "pending",
            "nothing: runs the newest change",
            theme.ok(),
        )),
        Some(n) => lines.push(detail::text_field(
            theme,
            "pending",
            format!(
                "{n} commit{} not deployed yet",
                if n == 1 { "" } else { "s" }
            ),
            theme.warn(),
        )),
        None if app.linked.is_some() => lines.push(detail::text_field(
            theme,
            "pending",
            "unknown: the live revision is not in the branch's recent history",
            theme.muted(),
        )),
        None => {}
    }
    if let Some(commit) = &app.revision_commit {
        let when = commit
            .time
            .map(|t| format!(", {}", format::age(state.now, t)))
            .unwrap_or_default();
        let text = format!("{} — {}{when}", commit.subject, commit.author);
        lines.extend(detail::wrapped_field(
            theme,
            "commit",
            &text,
            theme.base(),
            width,
        ));
    }
    lines
}

/// The newest change to the app's folder, coloured like `git diff`.
pub(super) fn diff_lines<'a>(theme: &Theme, app: &GitOpsApp) -> Vec<Line<'a>> {
    let Some(diff) = app.repo.as_ref().and_then(|r| r.diffs.first()) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    lines.extend(detail::heading(
        theme,
        format!(
            "Newest change to {} ({})",
            app.path.as_deref().unwrap_or(""),
            short_rev(&diff.sha)
        ),
    ));
    lines.extend(coloured(theme, &diff.lines, "   "));
    lines
}

/// The change one commit made to the app's folder (for the revert picker).
pub(super) fn commit_diff<'a>(theme: &Theme, app: &GitOpsApp, sha: &str) -> Option<Vec<Line<'a>>> {
    let diff = app.repo.as_ref()?.diffs.iter().find(|d| d.sha == sha)?;
    Some(coloured(theme, &diff.lines, " "))
}

/// Diff lines coloured like `git diff`: headers, additions, removals, hunks.
pub(super) fn coloured<'a>(theme: &Theme, diff: &[String], indent: &str) -> Vec<Line<'a>> {
    diff.iter()
        .map(|line| {
            let style = if line.starts_with("+++")
                || line.starts_with("---")
                || line.starts_with("diff ")
            {
                theme.header()
            } else if line.starts_with('+') {
                theme.ok()
            } else if line.starts_with('-') {
                theme.error()
            } else if line.starts_with("@@") {
                theme.accent()
            } else {
                theme.muted()
            };
            Line::from(Span::styled(format!("{indent}{line}"), style))
        })
        .collect()
}
