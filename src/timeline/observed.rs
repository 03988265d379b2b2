//! Transitions opsdeck saw happen while running (health, sync, drift
//! status, the version a serving alias points at), for what the backend
//! gave no time for: events marked `observed`, at the time they were seen.

use super::event::{Event, EventKind, TargetKind, target};
use rustc_hash::FxHashMap;

use crate::model::{DriftStatus, GitOpsApp, Snapshot, Target, TargetKind as ItemKind, Timestamp};

/// What changed between two snapshots of one source, seen at `now`.
pub fn transitions(source: &str, old: &Snapshot, new: &Snapshot, now: Timestamp) -> Vec<Event> {
    // Each new app with the old one of its name: one pass over each.
    let olds: FxHashMap<&str, &GitOpsApp> = old.apps.iter().map(|a| (a.name.as_str(), a)).collect();
    let pairs = new
        .apps
        .iter()
        .filter_map(|a| Some((*olds.get(a.name.as_str())?, a)));
    let mut out = app_transitions(source, pairs, now);
    for model in &new.models {
        let Some(before) = old.models.iter().find(|m| m.model == model.model) else {
            continue;
        };
        let item = Target::new(source, ItemKind::Model, &model.model);
        let (was, is) = (before.status(), model.status());
        if was != is && (was == DriftStatus::Drifting || is == DriftStatus::Drifting) {
            let kind = if is == DriftStatus::Drifting {
                EventKind::DriftOnset
            } else {
                EventKind::DriftRecovery
            };
            let summary = format!("{} went {is} (seen)", model.model);
            out.push(seen(
                now,
                item.clone(),
                kind,
                TargetKind::Model,
                is.to_string(),
                summary,
            ));
        }
        if before.version != model.version
            && let Some(v) = &model.version
        {
            let summary = format!(
                "{} @{} moved to version {v} (seen)",
                model.model, model.alias
            );
            out.push(seen(
                now,
                item,
                EventKind::Alias,
                TargetKind::Model,
                v.clone(),
                summary,
            ));
        }
    }
    out
}

/// The health and sync changes of apps, each `(before, now)`, seen at
/// `now` (a live feed's news gives the pairs it replaced: no search).
pub fn app_transitions<'a>(
    source: &str,
    pairs: impl IntoIterator<Item = (&'a GitOpsApp, &'a GitOpsApp)>,
    now: Timestamp,
) -> Vec<Event> {
    let mut out = Vec::new();
    for (before, app) in pairs {
        let item = Target::new(source, ItemKind::App, &app.name);
        let kind = if app.repo.is_some() {
            TargetKind::Repo
        } else {
            TargetKind::App
        };
        // A backend time for the health change makes it a recorded event.
        if before.health != app.health && app.health_since.is_none() {
            let summary = format!("{} went {} (seen)", app.name, app.health);
            let mut e = seen(
                now,
                item.clone(),
                EventKind::Health,
                kind,
                app.health.to_string(),
                summary,
            );
            e.place = Some(app.place());
            out.push(e);
        }
        if before.sync != app.sync && app.repo.is_none() {
            let summary = format!("{} went {} (seen)", app.name, app.sync);
            let mut e = seen(
                now,
                item,
                EventKind::Sync,
                kind,
                app.sync.to_string(),
                summary,
            );
            e.place = Some(app.place());
            out.push(e);
        }
    }
    out
}

/// One transition of `item`, seen at `now`.
fn seen(
    now: Timestamp,
    item: Target,
    kind: EventKind,
    target_kind: TargetKind,
    status: String,
    summary: String,
) -> Event {
    Event {
        time: now,
        source: item.source.clone(),
        kind,
        target: target(&item.source, &item.id),
        target_kind,
        revision: None,
        status,
        verdict: None,
        summary,
        observed: true,
        links: Vec::new(),
        item_kind: Some(item.kind),
        place: None,
        deploy_id: None,
        started_at: None,
        images: Vec::new(),
    }
}
