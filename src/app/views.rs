//! Derived rows: each tab's sorted, filtered rows and the Overview's
//! attention list, rebuilt when data or a filter changes — never while
//! drawing, so a frame costs the same with 100 or 100,000 runs.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config as MatcherConfig, Matcher, Utf32Str};

use crate::app::attention;
use crate::app::state::{Pane, RowRef, State, Tab};
use crate::model::short_rev;

/// Rebuild every tab's rows, keeping each selection on the same item.
pub fn rebuild_all(state: &mut State) {
    for tab in Tab::ALL {
        rebuild(state, tab);
    }
}

/// Rebuild one tab's rows from the data (sorting them), then apply its filter.
pub fn rebuild(state: &mut State, tab: Tab) {
    let sorted = match tab {
        Tab::Overview => attention_rows(state),
        Tab::Pipelines => pipeline_rows(state),
        Tab::GitOps => app_rows(state),
        Tab::Drift => model_rows(state),
    };
    state.pane_mut(tab).sorted = sorted;
    refilter(state, tab);
}

/// Apply the tab's filter to its already sorted rows (a filter keystroke
/// does not sort again), keeping the selection on the same item.
pub fn refilter(state: &mut State, tab: Tab) {
    let keep = state
        .selected_row(tab)
        .and_then(|r| row_id(state, r).map(|id| (r, id.to_string())));
    let pane = state.pane(tab);
    let rows = if pane.filter.is_empty() {
        pane.sorted.clone()
    } else {
        filter_rows(state, &pane.sorted, &pane.filter)
    };
    let selected = keep
        .and_then(|(old, id)| {
            rows.iter().position(|r| {
                r.tab == old.tab && r.source == old.source && row_id(state, *r) == Some(id.as_str())
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
        Tab::Overview => None,
    }
}

fn pipeline_rows(state: &State) -> Vec<RowRef> {
    let mut rows: Vec<RowRef> = Vec::new();
    for (s, source) in state.sources.iter().enumerate() {
        rows.extend((0..source.snapshot.pipelines.len()).map(|i| RowRef {
            tab: Tab::Pipelines,
            source: s as u32,
            index: i as u32,
        }));
    }
    // Newest first; runs without a time last; ties by id, numerically when possible.
    rows.sort_by(|a, b| {
        let (ra, rb) = (state.run(*a), state.run(*b));
        let ta = ra.and_then(|r| r.sort_time());
        let tb = rb.and_then(|r| r.sort_time());
        tb.cmp(&ta).then_with(|| {
            let ia = ra.map(|r| (r.id.len(), r.id.as_str()));
            let ib = rb.map(|r| (r.id.len(), r.id.as_str()));
            ib.cmp(&ia)
        })
    });
    rows
}

fn app_rows(state: &State) -> Vec<RowRef> {
    let mut rows: Vec<RowRef> = Vec::new();
    for (s, source) in state.sources.iter().enumerate() {
        rows.extend((0..source.snapshot.apps.len()).map(|i| RowRef {
            tab: Tab::GitOps,
            source: s as u32,
            index: i as u32,
        }));
    }
    // A stable order people can learn: by name, then source.
    rows.sort_by(|a, b| {
        let key = |r: &RowRef| state.app(*r).map(|a| (a.name.as_str(), a.source.as_str()));
        key(a).cmp(&key(b))
    });
    rows
}

fn model_rows(state: &State) -> Vec<RowRef> {
    let mut rows: Vec<RowRef> = Vec::new();
    for (s, source) in state.sources.iter().enumerate() {
        rows.extend((0..source.snapshot.models.len()).map(|i| RowRef {
            tab: Tab::Drift,
            source: s as u32,
            index: i as u32,
        }));
    }
    // Worst first: status, then how far past its threshold, then name.
    rows.sort_by(|a, b| {
        let (ma, mb) = (state.model(*a), state.model(*b));
        let status = |m: Option<&crate::model::ModelDrift>| m.map(|m| m.status());
        let severity = |m: Option<&crate::model::ModelDrift>| {
            m.and_then(|m| m.worst_metric().map(|w| w.severity()))
                .unwrap_or(f64::NEG_INFINITY)
        };
        status(mb)
            .cmp(&status(ma))
            .then(severity(mb).total_cmp(&severity(ma)))
            .then_with(|| ma.map(|m| &m.model).cmp(&mb.map(|m| &m.model)))
    });
    rows
}

/// Failed runs, out-of-sync or unhealthy apps, drifting models: worst first.
fn attention_rows(state: &State) -> Vec<RowRef> {
    let mut scored: Vec<(u8, Option<crate::model::Timestamp>, RowRef)> = Vec::new();
    for (s, source) in state.sources.iter().enumerate() {
        let snap = &source.snapshot;
        for run in attention::failing_runs(&snap.pipelines) {
            if let Some(i) = snap.pipelines.iter().position(|r| std::ptr::eq(r, run)) {
                let row = RowRef {
                    tab: Tab::Pipelines,
                    source: s as u32,
                    index: i as u32,
                };
                scored.push((attention::run_score(run), run.sort_time(), row));
            }
        }
        for (i, app) in snap.apps.iter().enumerate() {
            if attention::app_needs_attention(app) {
                let row = RowRef {
                    tab: Tab::GitOps,
                    source: s as u32,
                    index: i as u32,
                };
                scored.push((attention::app_score(app), app.last_change, row));
            }
        }
        for (i, model) in snap.models.iter().enumerate() {
            if attention::model_needs_attention(model) {
                let row = RowRef {
                    tab: Tab::Drift,
                    source: s as u32,
                    index: i as u32,
                };
                scored.push((attention::model_score(model), model.drifting_since, row));
            }
        }
    }
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(a.2.tab.cmp(&b.2.tab))
    });
    scored.into_iter().map(|(_, _, row)| row).collect()
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
