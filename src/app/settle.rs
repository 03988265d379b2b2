//! The settle step: after a batch of messages, rebuild once what they made
//! stale — the links between sources, then the rows of the tabs the changed
//! sources feed — so a burst of source events costs one rebuild, not one
//! per event. `update` settles after each message; the event loop applies a
//! whole batch first (`update_batch`).
//!
//! The timeline is rebuilt only while something on screen shows it (its
//! tab, the "why?" view, a Drift detail's chart marks): otherwise it stays
//! stale until one opens, and `fresh_timeline` builds it on demand for what
//! reads it once (the rollback picker's verdicts). Nothing else — the
//! Overview, notifications — reads it.

use crate::app::links;
use crate::app::state::{Kinds, State, Tab};
use crate::app::views::{self, keep_visible, table_rows_for_height};
use crate::sources::AppChanges;
use crate::timeline::SourceView;

/// Source `source` is about to change in `kinds`: mark it stale. Call
/// before its snapshot is replaced: the first change of a batch notes each
/// pane's selected item while the rows still point at the data it was
/// chosen from.
pub fn will_change(state: &mut State, source: usize, kinds: Kinds) {
    if !kinds.any() {
        return;
    }
    if !state.derived.is_stale() {
        state.derived.kept = Tab::ALL.map(|tab| views::kept_selection(state, tab));
    }
    state.derived.mark(source, kinds);
    state.timeline.stale = true;
    // Links join apps across sources (and with registries' images): only
    // apps and registry repositories change them.
    state.derived.links_stale |= kinds.apps || kinds.registries;
}

/// Source `source`'s snapshot is being replaced whole (after `will_change`).
pub fn replaced(state: &mut State, source: usize) {
    let name = &state.sources[source].name;
    state.timeline.changed.whole(name);
    state.derived.changed.whole(name);
    state.derived.apps_reordered(source);
}

/// Only the apps `changes` names change in source `source` (after
/// `will_change`).
pub fn changed_in_place(state: &mut State, source: usize, changes: &AppChanges) {
    let name = &state.sources[source].name;
    state.timeline.changed.apps(name, changes.names());
    state.derived.changed.apps(name, changes.names());
}

/// Rebuild what is stale, once; nothing when nothing is.
pub fn settle(state: &mut State) {
    let timeline_due = state.timeline.stale && timeline_on_screen(state);
    if !state.derived.is_stale() && !timeline_due {
        return;
    }
    if !state.derived.is_stale() {
        // Only the timeline is due: its own events changed (an outcome, a
        // transition), or it was stale while hidden and now shows.
        let kept = views::kept_selection(state, Tab::Timeline);
        rebuild_timeline(state, kept);
        state.derived.rebuilds += 1;
        state.dirty = true;
        return;
    }
    if state.derived.links_stale {
        links::link(&mut state.sources);
        state.derived.links_stale = false;
        // A link sets a repository app's sync, which its row is filtered on.
        for s in 0..state.sources.len() {
            if state.sources[s]
                .snapshot
                .apps
                .iter()
                .any(|a| a.repo.is_some())
            {
                let apps = Kinds {
                    apps: true,
                    ..Kinds::default()
                };
                state.derived.mark(s, apps);
                state.derived.changed.whole(&state.sources[s].name);
                state.derived.apps_reordered(s);
            }
        }
    }
    let stale = std::mem::take(&mut state.derived.stale);
    let in_place = std::mem::take(&mut state.derived.changed);
    let mut moves = std::mem::take(&mut state.derived.app_moves);
    let sources = state.sources.len();
    state
        .derived
        .per_source
        .resize_with(sources, Default::default);
    let mut tabs = [false; crate::app::state::TABS];
    let mut changed = vec![false; sources];
    for (s, kinds) in stale.into_iter().enumerate().take(sources) {
        if !kinds.any() {
            continue;
        }
        changed[s] = true;
        let moves = moves.get_mut(s).map(std::mem::take).unwrap_or_default();
        views::refresh_source(state, s, kinds, &moves);
        tabs[Tab::Overview.index()] = true;
        tabs[Tab::Pipelines.index()] |= kinds.pipelines;
        tabs[Tab::GitOps.index()] |= kinds.apps;
        tabs[Tab::Drift.index()] |= kinds.models;
    }
    let kept = std::mem::take(&mut state.derived.kept);
    for (tab, kept) in Tab::ALL.into_iter().zip(kept) {
        if tab == Tab::Timeline {
            if timeline_due {
                rebuild_timeline(state, kept);
            }
            continue;
        }
        if !tabs[tab.index()] {
            continue;
        }
        let sorted = views::merged(state, tab);
        state.pane_mut(tab).sorted = sorted;
        views::refilter_keeping(state, tab, kept);
        state.derived.tab_rebuilds[tab.index()] += 1;
    }
    if tabs[Tab::Overview.index()] {
        let mut problems = std::mem::take(&mut state.problems);
        problems.observe(state, &changed, &in_place);
        state.problems = problems;
    }
    let visible = table_rows_for_height(state.size.1);
    state
        .panes
        .iter_mut()
        .for_each(|p| keep_visible(p, visible));
    state.derived.rebuilds += 1;
    state.dirty = true;
}

/// Something on screen shows the timeline: its tab, the "why?" view, or
/// the Drift detail (its chart marks deploys and version changes).
pub fn timeline_on_screen(state: &State) -> bool {
    state.tab == Tab::Timeline
        || state.timeline.why.is_some()
        || (state.tab == Tab::Drift && state.pane(Tab::Drift).detail.is_some())
}

/// Bring the timeline up to date now, for what reads it once while it is
/// not on screen (the rollback picker's verdicts, opening "why?").
pub fn fresh_timeline(state: &mut State) {
    if state.timeline.stale {
        let kept = views::kept_selection(state, Tab::Timeline);
        rebuild_timeline(state, kept);
        state.dirty = true;
    }
}

/// Build the timeline and its link index from every snapshot and the
/// dashboard's own events, then its tab's rows: once per batch.
fn rebuild_timeline(state: &mut State, kept: crate::app::state::Kept) {
    let views: Vec<SourceView> = state
        .sources
        .iter()
        .map(|s| SourceView {
            name: &s.name,
            snapshot: &s.snapshot,
        })
        .collect();
    let tl = &mut state.timeline;
    let changed = std::mem::take(&mut tl.changed);
    let extra = tl.extra.make_contiguous();
    tl.timeline
        .update(&views, &changed, extra, &tl.settings, state.now);
    tl.stale = false;
    state.timeline.builds += 1;
    let sorted = views::merged(state, Tab::Timeline);
    state.pane_mut(Tab::Timeline).sorted = sorted;
    views::refilter_keeping(state, Tab::Timeline, kept);
    state.derived.tab_rebuilds[Tab::Timeline.index()] += 1;
    let visible = table_rows_for_height(state.size.1);
    keep_visible(state.pane_mut(Tab::Timeline), visible);
    crate::app::update::refresh_why(state);
}
