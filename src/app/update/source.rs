//! What sources send: a new snapshot (moved in, never copied) or why there
//! is none, and an app's drill-down. Derived data is only marked stale
//! here; `settle` rebuilds it once per batch.

use std::collections::HashMap;

use crate::app::settle;
use crate::app::state::{AppDetailState, Kinds, SourceError, State};
use crate::model::{AppDetail, GitOpsApp, Snapshot, Target, TargetKind};
use crate::sources::{SourceEvent, Update};

pub(super) fn on_source(state: &mut State, event: SourceEvent) {
    let Some(old) = state.sources.get(event.source).map(|s| &s.snapshot) else {
        return;
    };
    match event.result {
        Ok(Update::Whole(mut snapshot)) => {
            let kinds = Kinds::held_by(old).union(Kinds::held_by(&snapshot));
            settle::will_change(state, event.source, kinds);
            settle::replaced(state, event.source);
            let source = &mut state.sources[event.source];
            carry_over(&mut source.snapshot, &mut snapshot);
            apply_loaded_revisions(state, event.source, &mut snapshot.apps);
            let seen = if state.sources[event.source].updated_at.is_some() {
                crate::timeline::observed::transitions(
                    &state.sources[event.source].name,
                    &state.sources[event.source].snapshot,
                    &snapshot,
                    event.at,
                )
            } else {
                Vec::new()
            };
            state.timeline.add(seen);
            let source = &mut state.sources[event.source];
            source.snapshot = snapshot;
            source.updated_at = Some(event.at);
            source.error = None;
        }
        Ok(Update::Apps(mut changes)) => {
            // Only these apps changed: they are replaced in place, the rest
            // of the snapshot stays (and nothing is copied).
            if !changes.is_empty() {
                let apps = Kinds {
                    apps: true,
                    ..Kinds::default()
                };
                settle::will_change(state, event.source, apps);
                apply_loaded_revisions(state, event.source, &mut changes.changed);
                settle::changed_in_place(state, event.source, &changes);
            }
            let source = &mut state.sources[event.source];
            let (changed, removed) = (changes.changed.len(), changes.removed.len());
            let replaced = changes.apply_to(&mut source.snapshot);
            if changed + removed > 0 {
                if removed == 0 && replaced.len() == changed {
                    state
                        .derived
                        .apps_replaced(event.source, replaced.iter().map(|(_, i)| *i));
                } else {
                    state.derived.apps_reordered(event.source);
                }
            }
            let source = &state.sources[event.source];
            let apps = &source.snapshot.apps;
            let pairs = replaced.iter().map(|(was, i)| (was, &apps[*i]));
            let seen = crate::timeline::observed::app_transitions(&source.name, pairs, event.at);
            state.timeline.add(seen);
            let source = &mut state.sources[event.source];
            source.updated_at = Some(event.at);
            source.error = None;
        }
        Err(message) => {
            // The last good data stays on screen under the error; no row
            // changes.
            state.sources[event.source].error = Some(SourceError {
                message,
                at: event.at,
            });
        }
    }
    state.dirty = true;
}

/// Jobs loaded on drill-down survive a refresh that does not carry them
/// (while the run is unchanged). They move out of the old snapshot, which
/// is dropped next.
fn carry_over(old: &mut Snapshot, new: &mut Snapshot) {
    let loaded: HashMap<&str, usize> = old
        .pipelines
        .iter()
        .enumerate()
        .filter(|(_, r)| r.jobs.is_some())
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    if loaded.is_empty() {
        return;
    }
    let mut moves = Vec::new();
    for (n, run) in new.pipelines.iter().enumerate() {
        if run.jobs.is_some() {
            continue;
        }
        if let Some(&o) = loaded.get(run.id.as_str()) {
            let was = &old.pipelines[o];
            if was.updated_at == run.updated_at && was.status == run.status {
                moves.push((o, n));
            }
        }
    }
    for (o, n) in moves {
        new.pipelines[n].jobs = old.pipelines[o].jobs.take();
    }
}

/// Revision authors loaded with an app's drill-down survive a refresh too.
fn apply_loaded_revisions(state: &State, source: usize, apps: &mut [GitOpsApp]) {
    let name = &state.sources[source].name;
    let loaded: HashMap<&str, &AppDetail> = state
        .app_details
        .iter()
        .filter(|(t, _)| t.kind == TargetKind::App && t.source == *name)
        .filter_map(|(t, d)| match d {
            AppDetailState::Loaded(detail) => Some((t.id.as_str(), &**detail)),
            _ => None,
        })
        .collect();
    if loaded.is_empty() {
        return;
    }
    for app in apps {
        if let Some(detail) = loaded.get(app.name.as_str()) {
            app.apply_revisions(&detail.revisions);
        }
    }
}

pub(super) fn on_app_detail(state: &mut State, target: Target, result: Result<AppDetail, String>) {
    let detail = match result {
        Ok(detail) => {
            let app = state
                .sources
                .iter_mut()
                .find(|s| s.name == target.source)
                .and_then(|s| s.snapshot.apps.iter_mut().find(|a| a.name == target.id));
            if let Some(app) = app {
                app.apply_revisions(&detail.revisions);
            }
            AppDetailState::Loaded(Box::new(detail))
        }
        Err(e) => AppDetailState::Failed(e),
    };
    state.app_details.insert(target, detail);
    state.dirty = true;
}
