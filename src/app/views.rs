//! Derived rows: each tab's sorted, filtered rows and the Overview's
//! attention list, rebuilt when data or a filter changes — never while
//! drawing, so a frame costs the same with 100 or 100,000 runs. Each source's
//! share is sorted on its own (`refresh_source`) and the tab merges the shares
//! (`merged`), so a change to one source re-sorts only that source.

use std::cmp::Ordering;

use rustc_hash::FxHashSet;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config as MatcherConfig, Matcher, Utf32Str};

use crate::app::attention;
use crate::app::state::{AppMoves, Kept, Kinds, Pane, RowRef, Scored, SourceRows, State, Tab};
use crate::model::{GitOpsApp, ModelDrift, PipelineRun, short_rev};

/// Apply the tab's filter to its already sorted rows (a filter keystroke
/// does not sort again), keeping the selection on the same item.
pub fn refilter(state: &mut State, tab: Tab) {
    let kept = kept_selection(state, tab);
    refilter_keeping(state, tab, kept);
}

/// The item under `tab`'s cursor, to find again once its rows change.
pub fn kept_selection(state: &State, tab: Tab) -> Kept {
    let row = state.selected_row(tab)?;
    let id = row_id(state, row)?;
    Some((row.tab, row.source, id.to_string()))
}

/// Apply the tab's filter to its sorted rows and put the cursor back on
/// `kept` (or leave it at its place when that item is gone).
pub fn refilter_keeping(state: &mut State, tab: Tab, kept: Kept) {
    let mut rows = std::mem::take(&mut state.pane_mut(tab).rows);
    let pane = state.pane(tab);
    if pane.filter.is_empty() {
        // Reuses the old rows' allocation.
        rows.clone_from(&pane.sorted);
    } else {
        rows = filter_rows(state, &pane.sorted, &pane.filter);
    }
    let selected = kept
        .and_then(|(item_tab, source, id)| {
            rows.iter().position(|r| {
                r.tab == item_tab && r.source == source && row_id(state, *r) == Some(id.as_str())
            })
        })
        .unwrap_or(state.pane(tab).selected);
    let pane = state.pane_mut(tab);
    pane.rows = rows;
    pane.selected = selected.min(pane.rows.len().saturating_sub(1));
}

/// The id of the item a row points at (run id, app name, model name).
fn row_id(state: &State, row: RowRef) -> Option<&str> {
    match row.tab {
        Tab::Pipelines => state.run(row).map(|r| r.id.as_str()),
        Tab::GitOps => state.app(row).map(|a| a.name.as_str()),
        Tab::Drift => state.model(row).map(|m| m.model.as_str()),
        Tab::Timeline => state.event(row).map(|e| e.summary.as_str()),
        Tab::Overview => None,
    }
}

/// Sort source `s`'s rows of the kinds that changed and find which of its
/// items need attention, into `state.derived.per_source[s]`.
pub fn refresh_source(state: &mut State, s: usize, kinds: Kinds, moves: &AppMoves) {
    let Some(source) = state.sources.get(s) else {
        return;
    };
    let snap = &source.snapshot;
    let mut rows = std::mem::take(&mut state.derived.per_source[s]);
    let at = |tab, i: usize| RowRef {
        tab,
        source: s as u32,
        index: i as u32,
    };
    if kinds.pipelines {
        rows.pipelines = sorted(&snap.pipelines, run_order, |i| at(Tab::Pipelines, i));
        rows.failing_runs = attention::failing_runs_at(snap.pipelines.iter().enumerate())
            .into_iter()
            .map(|(i, run)| {
                (
                    attention::run_score(run),
                    run.sort_time(),
                    at(Tab::Pipelines, i),
                )
            })
            .collect();
    }
    let app_attention = |(i, app): (usize, &GitOpsApp)| {
        attention::app_needs_attention(app).then(|| {
            (
                attention::app_score(app),
                app.last_change,
                at(Tab::GitOps, i),
            )
        })
    };
    match moves {
        // Replaced where they stand: the order by name holds; only those
        // apps are looked at again, and the list stays in index order.
        AppMoves::Replaced(indices) if kinds.apps && rows.apps.len() == snap.apps.len() => {
            let again: FxHashSet<u32> = indices.iter().map(|&i| i as u32).collect();
            rows.attention_apps
                .retain(|(_, _, row)| !again.contains(&row.index));
            rows.attention_apps.extend(
                again
                    .iter()
                    .filter_map(|&i| Some((i as usize, snap.apps.get(i as usize)?)))
                    .filter_map(app_attention),
            );
            rows.attention_apps.sort_by_key(|(_, _, row)| row.index);
        }
        _ if kinds.apps => {
            rows.apps = sorted(&snap.apps, app_order, |i| at(Tab::GitOps, i));
            rows.attention_apps = snap
                .apps
                .iter()
                .enumerate()
                .filter_map(app_attention)
                .collect();
        }
        _ => {}
    }
    if kinds.models {
        rows.models = sorted(&snap.models, model_order, |i| at(Tab::Drift, i));
        rows.attention_models = snap
            .models
            .iter()
            .enumerate()
            .filter(|(_, model)| attention::model_needs_attention(model))
            .map(|(i, model)| {
                let score = attention::model_score(model);
                (score, model.drifting_since, at(Tab::Drift, i))
            })
            .collect();
    }
    state.derived.per_source[s] = rows;
}

/// The rows of `items` in `order` (stable: ties keep the source's order).
fn sorted<T>(
    items: &[T],
    order: fn(&T, &T) -> Ordering,
    row: impl Fn(usize) -> RowRef,
) -> Vec<RowRef> {
    let mut indices: Vec<usize> = (0..items.len()).collect();
    indices.sort_by(|a, b| order(&items[*a], &items[*b]));
    indices.into_iter().map(row).collect()
}

/// One tab's rows, merged from every source's sorted share. Ties between
/// sources keep the source order, as one sort of every row would.
pub fn merged(state: &State, tab: Tab) -> Vec<RowRef> {
    let shares = &state.derived.per_source;
    match tab {
        Tab::Overview => {
            let mut scored: Vec<Scored> = shares
                .iter()
                .flat_map(|s| {
                    s.failing_runs
                        .iter()
                        .chain(&s.attention_apps)
                        .chain(&s.attention_models)
                })
                .cloned()
                .collect();
            // Worst first, then newest, then by kind.
            scored.sort_by(|a, b| {
                b.0.cmp(&a.0)
                    .then(b.1.cmp(&a.1))
                    .then(a.2.tab.cmp(&b.2.tab))
            });
            scored.into_iter().map(|(_, _, row)| row).collect()
        }
        Tab::Pipelines => merge(
            shares,
            |s| &s.pipelines,
            |a, b| by(state.run(*a), state.run(*b), run_order),
        ),
        Tab::GitOps => merge(
            shares,
            |s| &s.apps,
            |a, b| by(state.app(*a), state.app(*b), app_order),
        ),
        Tab::Drift => merge(
            shares,
            |s| &s.models,
            |a, b| by(state.model(*a), state.model(*b), model_order),
        ),
        // Already newest first.
        Tab::Timeline => (0..state.timeline.timeline.events.len())
            .map(|i| RowRef {
                tab: Tab::Timeline,
                source: 0,
                index: i as u32,
            })
            .collect(),
    }
}

/// Every source's share, in order. One sorted share is the answer; more are
/// merged by a stable sort, which finds the sorted runs and merges them.
fn merge(
    shares: &[SourceRows],
    share: impl Fn(&SourceRows) -> &Vec<RowRef>,
    order: impl FnMut(&RowRef, &RowRef) -> Ordering,
) -> Vec<RowRef> {
    let filled = shares.iter().filter(|s| !share(s).is_empty()).count();
    let mut rows: Vec<RowRef> = shares
        .iter()
        .flat_map(|s| share(s).iter().copied())
        .collect();
    if filled > 1 {
        rows.sort_by(order);
    }
    rows
}

/// Items first, then rows that point at nothing (none do once settled).
fn by<T>(a: Option<&T>, b: Option<&T>, order: fn(&T, &T) -> Ordering) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => order(a, b),
        (a, b) => b.is_none().cmp(&a.is_none()),
    }
}

/// Newest first; runs without a time last; ties by id, numerically when possible.
fn run_order(a: &PipelineRun, b: &PipelineRun) -> Ordering {
    b.sort_time()
        .cmp(&a.sort_time())
        .then_with(|| (b.id.len(), b.id.as_str()).cmp(&(a.id.len(), a.id.as_str())))
}

/// A stable order people can learn: by name, then source.
fn app_order(a: &GitOpsApp, b: &GitOpsApp) -> Ordering {
    (a.name.as_str(), a.source.as_str()).cmp(&(b.name.as_str(), b.source.as_str()))
}

/// Worst first: status, then how far past its threshold, then name.
fn model_order(a: &ModelDrift, b: &ModelDrift) -> Ordering {
    let severity = |m: &ModelDrift| {
        m.worst_metric()
            .map(|w| w.severity())
            .unwrap_or(f64::NEG_INFINITY)
    };
    b.status()
        .cmp(&a.status())
        .then(severity(b).total_cmp(&severity(a)))
        .then_with(|| a.model.cmp(&b.model))
}

/// The words a row is matched against (Overview rows carry their item's tab).
fn haystack(state: &State, row: RowRef) -> String {
    let source = state
        .sources
        .get(row.source as usize)
        .map_or("", |s| s.name.as_str());
    match row.tab {
        Tab::Pipelines => run_haystack(state, row, source),
        Tab::GitOps => state.app(row).map_or(String::new(), |a| {
            let rev = a.revision.as_deref().map_or("", short_rev);
            format!(
                "{} {source} {} {} {} {rev}",
                a.name,
                a.place(),
                a.sync,
                a.health
            )
        }),
        Tab::Drift => state.model(row).map_or(String::new(), |m| {
            format!(
                "{} {source} {} {}",
                m.model,
                m.status(),
                m.version.as_deref().unwrap_or("")
            )
        }),
        Tab::Timeline => state.event(row).map_or(String::new(), |e| {
            format!(
                "{} {} {} {} {} {}",
                e.target,
                e.kind,
                e.summary,
                e.revision.as_deref().map_or("", short_rev),
                e.status,
                e.verdict.map_or("", |v| v.into())
            )
        }),
        Tab::Overview => String::new(),
    }
}

fn run_haystack(state: &State, row: RowRef, source: &str) -> String {
    state.run(row).map_or(String::new(), |r| {
        format!(
            "{} {} {} {} {} {} #{} {source}",
            r.pipeline,
            r.project,
            r.branch,
            r.actor,
            r.status,
            short_rev(&r.commit),
            r.id
        )
    })
}

/// Keep the rows that fuzzy-match `filter`, in their order.
fn filter_rows(state: &State, rows: &[RowRef], filter: &str) -> Vec<RowRef> {
    let mut matcher = Matcher::new(MatcherConfig::DEFAULT);
    let pattern = Pattern::parse(filter, CaseMatching::Smart, Normalization::Smart);
    let mut buf = Vec::new();
    rows.iter()
        .copied()
        .filter(|row| {
            let text = haystack(state, *row);
            pattern
                .score(Utf32Str::new(&text, &mut buf), &mut matcher)
                .is_some()
        })
        .collect()
}

/// Rows of the table body at a terminal height: the tab bar, the pane's two
/// borders, the header row and the footer take five.
pub fn table_rows_for_height(height: u16) -> usize {
    usize::from(height.saturating_sub(5)).max(1)
}

/// The offset that keeps `selected` on screen, moving as little as possible.
pub fn keep_visible(pane: &mut Pane, visible: usize) {
    let visible = visible.max(1);
    if pane.selected < pane.offset {
        pane.offset = pane.selected;
    } else if pane.selected >= pane.offset + visible {
        pane.offset = pane.selected + 1 - visible;
    }
    let max_offset = pane.rows.len().saturating_sub(visible);
    pane.offset = pane.offset.min(max_offset);
}
