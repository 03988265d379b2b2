//! The drill-down inside an app's detail view, for every source that loads
//! one (Argo CD, Flux): per-resource results of the last operation, the
//! resource tree with health per node, and the diff of each modified
//! resource (live → desired, as YAML).

use ratatui::text::{Line, Span};

use crate::app::state::{AppDetailState, State};
use crate::model::{AppDetail, GitOpsApp, Target, TargetKind};
use crate::theme::Theme;
use crate::ui::{detail, format, repo, status};

/// Indent per tree level.
const TREE_INDENT: usize = 2;

fn loaded<'s>(state: &'s State, app: &GitOpsApp) -> Option<&'s AppDetailState> {
    let target = Target::new(&app.source, TargetKind::App, &app.name);
    state.app_details.get(&target)
}

/// The last operation's per-resource results, when loaded.
pub(super) fn operation_results<'a>(
    state: &State,
    theme: &Theme,
    app: &GitOpsApp,
    width: u16,
) -> Vec<Line<'a>> {
    let Some(AppDetailState::Loaded(d)) = loaded(state, app) else {
        return Vec::new();
    };
    if d.results.is_empty() {
        return Vec::new();
    }
    let g = theme.glyphs();
    let mut lines = vec![Line::styled(
        format!("   {} resource results", d.results.len()),
        theme.header(),
    )];
    let room = usize::from(width).saturating_sub(50).max(10);
    for r in &d.results {
        let ok = matches!(r.status.as_str(), "Synced" | "Pruned" | "PruneSkipped");
        let style = if ok { theme.ok() } else { theme.error() };
        lines.push(Line::from(vec![
            Span::styled(format!("   {:<11} ", r.status), style),
            Span::styled(
                format!(
                    "{:<36} ",
                    format::truncate(&format!("{}/{}", r.kind, r.name), 36, g.ellipsis)
                ),
                theme.base(),
            ),
            Span::styled(
                format::truncate(format::first_line(&r.message), room, g.ellipsis),
                theme.muted(),
            ),
        ]));
    }
    lines
}

/// The resource tree and the diff, or where loading them stands.
pub(super) fn drill_down<'a>(state: &State, theme: &Theme, app: &GitOpsApp) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    match loaded(state, app) {
        None => {}
        Some(AppDetailState::Loading) => {
            lines.extend(detail::heading(theme, "Resource tree"));
            lines.push(Line::styled(
                "   loading the tree, the diff and the revisions' authors…",
                theme.muted(),
            ));
        }
        Some(AppDetailState::Failed(why)) => {
            lines.extend(detail::heading(theme, "Resource tree"));
            lines.push(Line::styled(
                format!("   cannot load the drill-down: {why}"),
                theme.error(),
            ));
        }
        Some(AppDetailState::Loaded(d)) => {
            lines.extend(tree(theme, d));
            lines.extend(diffs(theme, d));
            for problem in &d.problems {
                lines.push(Line::styled(
                    format!("   {} {problem}", theme.glyphs().warn),
                    theme.warn(),
                ));
            }
        }
    }
    lines
}

fn tree<'a>(theme: &Theme, d: &AppDetail) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    lines.extend(detail::heading(
        theme,
        format!("Resource tree ({})", d.tree.len()),
    ));
    if d.tree.is_empty() {
        lines.push(Line::styled("   no resources", theme.muted()));
    }
    for node in &d.tree {
        let indent = " ".repeat(3 + node.depth * TREE_INDENT);
        let branch = if node.depth > 0 { "└ " } else { "" };
        let mut spans = vec![Span::styled(format!("{indent}{branch}"), theme.muted())];
        match node.health {
            Some(h) => {
                let (glyph, style) = status::health(theme, h);
                spans.push(status::glyph_and_word(glyph, &h.to_string(), style));
                spans.push(Span::raw(" "));
            }
            None => spans.push(Span::styled("- ", theme.muted())),
        }
        spans.push(Span::styled(format!("{} ", node.kind), theme.base()));
        spans.push(Span::styled(node.name.clone(), theme.accent()));
        if let Some(message) = &node.message {
            spans.push(Span::styled(
                format!("  {}", format::first_line(message)),
                theme.muted(),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines
}

fn diffs<'a>(theme: &Theme, d: &AppDetail) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    lines.extend(detail::heading(
        theme,
        format!("Diff: live → desired ({} modified)", d.diffs.len()),
    ));
    if d.diffs.is_empty() {
        lines.push(Line::styled(
            "   the live state matches the desired state",
            theme.muted(),
        ));
    }
    for diff in &d.diffs {
        let place = if diff.namespace.is_empty() {
            diff.name.clone()
        } else {
            format!("{}/{}", diff.namespace, diff.name)
        };
        lines.push(Line::styled(
            format!("   {} {place}", diff.kind),
            theme.title(),
        ));
        lines.extend(repo::coloured(theme, &diff.lines, "   "));
    }
    lines
}
