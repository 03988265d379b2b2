//! Transitions opsdeck saw happen while running (health, sync, drift
//! status, the version a serving alias points at), for what the backend
//! gave no time for: events marked `observed`, at the time they were seen.

use super::event::{Event, EventKind, TargetKind, target};
use crate::model::{DriftStatus, Snapshot, Target, TargetKind as ItemKind, Timestamp};

/// What changed between two snapshots of one source, seen at `now`.
pub fn transitions(source: &str, old: &Snapshot, new: &Snapshot, now: Timestamp) -> Vec<Event> {
    apps_and_models(source, old, &new.apps, &new.models, now)
}

/// What changed in `apps` (a live feed's changed apps, or every app) and
/// `models` against `old`. Looked up by name: an estate of 10,000 apps
/// costs one pass, not one search per app.
pub fn apps_and_models(
    source: &str,
    old: &Snapshot,
    apps: &[crate::model::GitOpsApp],
    models: &[crate::model::ModelDrift],
    now: Timestamp,
) -> Vec<Event> {
    let mut out = Vec::new();
    // The apps looked at, by name, then one pass over the old ones: a live
    // feed's few changes cost no index of the whole estate.
    let wanted: std::collections::HashMap<&str, usize> = apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.as_str(), i))
        .collect();
    let mut before_of: Vec<Option<&crate::model::GitOpsApp>> = vec![None; apps.len()];
    for a in &old.apps {
        if let Some(&i) = wanted.get(a.name.as_str()) {
            before_of[i] = Some(a);
        }
    }
    let seen = |kind, name: &str, target_kind, status: String, summary: String, item| Event {
        time: now,
        source: source.to_string(),
        kind,
        target: target(source, name),
        target_kind,
        revision: None,
        status,
        verdict: None,
        summary,
        observed: true,
        links: Vec::new(),
        item: Some(item),
        place: None,
        deploy_id: None,
        started_at: None,
        images: Vec::new(),
    };
    for (app, before) in apps.iter().zip(before_of) {
        let Some(before) = before else {
            continue;
        };
        let item = Target::new(source, ItemKind::App, &app.name);
        let kind = if app.repo.is_some() {
            TargetKind::Repo
        } else {
            TargetKind::App
        };
        // A backend time for the health change makes it a recorded event.
        if before.health != app.health && app.health_since.is_none() {
            let mut e = seen(
                EventKind::Health,
                &app.name,
                kind,
                app.health.to_string(),
                format!("{} went {} (seen)", app.name, app.health),
                item.clone(),
            );
            e.place = Some(app.place());
            out.push(e);
        }
        if before.sync != app.sync && app.repo.is_none() {
            let mut e = seen(
                EventKind::Sync,
                &app.name,
                kind,
                app.sync.to_string(),
                format!("{} went {} (seen)", app.name, app.sync),
                item,
            );
            e.place = Some(app.place());
            out.push(e);
        }
    }
    for model in models {
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
            out.push(seen(
                kind,
                &model.model,
                TargetKind::Model,
                is.to_string(),
                format!("{} went {is} (seen)", model.model),
                item.clone(),
            ));
        }
        if before.version != model.version
            && let Some(v) = &model.version
        {
            out.push(seen(
                EventKind::Alias,
                &model.model,
                TargetKind::Model,
                v.clone(),
                format!(
                    "{} @{} moved to version {v} (seen)",
                    model.model, model.alias
                ),
                item,
            ));
        }
    }
    out
}
