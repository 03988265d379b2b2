//! Events from what the sources read: each item's own recorded times (never
//! the time opsdeck read it). What a backend does not record is left out.

use chrono::Duration;

use super::event::{Event, EventKind, Link, Rel, TargetKind, target};
use super::onset;
use super::revision::normalize;
use crate::model::{
    AppImage, GitOpsApp, ImageRef, ModelDrift, OperationPhase, PipelineRun, Snapshot,
    TargetKind as ItemKind, Timestamp,
};

/// Every event one source's snapshot records.
pub fn snapshot_events(source: &str, snapshot: &Snapshot, now: Timestamp, out: &mut Vec<Event>) {
    for run in &snapshot.pipelines {
        run_events(source, run, out);
    }
    for app in &snapshot.apps {
        app_item_events(source, app, out);
    }
    for model in &snapshot.models {
        model_events(source, model, now, out);
    }
}

/// Every event one app records (a repository app's commits, a deployed
/// app's deploys and health): what is extracted again when a live feed
/// changes the app in place.
pub fn app_item_events(source: &str, app: &GitOpsApp, out: &mut Vec<Event>) {
    if app.repo.is_some() {
        repo_events(source, app, out);
    } else {
        app_events(source, app, out);
    }
}

pub(super) fn base(source: &str, kind: EventKind, name: &str, target_kind: TargetKind) -> Event {
    Event {
        time: Timestamp::default(),
        source: source.to_string(),
        kind,
        target: target(source, name),
        target_kind,
        revision: None,
        status: String::new(),
        verdict: None,
        summary: String::new(),
        observed: false,
        links: Vec::new(),
        item_kind: None,
        place: None,
        deploy_id: None,
        started_at: None,
        images: Vec::new(),
    }
}

/// When a run finished: start + duration, else its last update once done.
pub fn run_end(run: &PipelineRun) -> Option<Timestamp> {
    if run.status.is_active() {
        return None;
    }
    let by_duration = run
        .started_at
        .zip(run.duration)
        .and_then(|(s, d)| Duration::from_std(d).ok().map(|d| s + d));
    by_duration.or(run.updated_at)
}

/// A run's start and end.
pub fn run_events(source: &str, run: &PipelineRun, out: &mut Vec<Event>) {
    let revision = (!run.commit.is_empty()).then(|| normalize(&run.commit));
    let item = ItemKind::Run;
    let on = if run.branch.is_empty() {
        String::new()
    } else {
        format!(" on {}", run.branch)
    };
    if let Some(started) = run.started_at.or(run.created_at) {
        let mut e = base(source, EventKind::RunStarted, &run.id, TargetKind::Run);
        e.time = started;
        e.revision = revision.clone();
        e.status = "running".into();
        e.summary = format!("{} #{} started{on}", run.pipeline, run.id);
        e.item_kind = Some(item);
        out.push(e);
    }
    if let Some(end) = run_end(run) {
        let mut e = base(source, EventKind::Run, &run.id, TargetKind::Run);
        e.time = end;
        e.revision = revision;
        e.status = run.status.to_string();
        e.summary = format!("{} #{} {}{on}", run.pipeline, run.id, run.status);
        e.item_kind = Some(item);
        out.push(e);
    }
}

/// An app's deploys (history and the last operation) and health change.
pub fn app_events(source: &str, app: &GitOpsApp, out: &mut Vec<Event>) {
    let first = out.len();
    let item = ItemKind::App;
    let place = app.place();
    let to = if app.cluster.is_empty() {
        app.name.clone()
    } else {
        format!("{}/{}", app.cluster, app.name)
    };
    let deploy = |time: Timestamp,
                  started: Option<Timestamp>,
                  revision: &str,
                  status: &str,
                  who: Option<&str>| {
        let mut e = base(source, EventKind::Deploy, &app.name, TargetKind::App);
        e.time = time;
        e.started_at = started.filter(|s| *s <= time);
        let rev = normalize(revision);
        e.summary = format!(
            "deploy of {} to {to}{}{}",
            crate::model::short_rev(&rev),
            who.map(|w| format!(" by {w}")).unwrap_or_default(),
            if status == "succeeded" {
                String::new()
            } else {
                format!(" {status}")
            }
        );
        e.revision = (!rev.is_empty()).then_some(rev);
        e.status = status.to_string();
        e.item_kind = Some(item);
        e.place = Some(place.clone());
        e
    };
    for d in &app.history {
        if let Some(t) = d.deployed_at {
            let status = if d.failed { "failed" } else { "succeeded" };
            let mut e = deploy(t, d.started_at, &d.revision, status, d.author.as_deref());
            e.deploy_id = Some(d.id.clone());
            out.push(e);
        }
    }
    if let Some(op) = &app.last_operation {
        let (status, time) = match op.phase {
            OperationPhase::Running | OperationPhase::Terminating => ("running", op.started_at),
            OperationPhase::Failed | OperationPhase::Error => {
                ("failed", op.finished_at.or(op.started_at))
            }
            // A finished sync is in the history already, unless there is none.
            OperationPhase::Succeeded if app.history.is_empty() => {
                ("succeeded", op.finished_at.or(op.started_at))
            }
            OperationPhase::Succeeded => ("", None),
        };
        if let Some(t) = time {
            let rev = op.revision.as_deref().or(app.target_revision.as_deref());
            out.push(deploy(t, op.started_at, rev.unwrap_or(""), status, None));
        }
    }
    running_images(app, &mut out[first..]);
    if let Some(t) = app.health_since {
        let mut e = base(source, EventKind::Health, &app.name, TargetKind::App);
        e.time = t;
        e.status = app.health.to_string();
        e.summary = match &app.health_message {
            Some(m) if app.health.is_unhealthy() => {
                format!("{} went {}: {m}", app.name, app.health)
            }
            _ => format!("{} went {}", app.name, app.health),
        };
        e.revision = app.revision.as_deref().map(normalize);
        e.item_kind = Some(item);
        e.place = Some(place);
        out.push(e);
    }
}

/// The images an app runs now belong to the deploy that runs now: the
/// newest succeeded deploy of its live revision (else the newest succeeded
/// one). Only images a registry source knows are linked (`rel = image`).
fn running_images(app: &GitOpsApp, deploys: &mut [Event]) {
    let images: Vec<Link> = app.images.iter().filter_map(image_link).collect();
    if images.is_empty() {
        return;
    }
    let live = app.revision.as_deref().map(normalize);
    let succeeded = |e: &Event| e.kind == EventKind::Deploy && e.status == "succeeded";
    let at = deploys
        .iter()
        .position(|e| succeeded(e) && live.is_some() && e.revision == live)
        .or_else(|| deploys.iter().position(succeeded));
    if let Some(at) = at {
        deploys[at].images = images;
    }
}

/// `REGISTRY_SOURCE/REPOSITORY:TAG` (or `@DIGEST`) and the revision it was
/// built from, for an image a registry source covers.
pub fn image_link(image: &AppImage) -> Option<Link> {
    let build = image.registry.as_ref()?;
    let r = ImageRef::parse(&image.image)?;
    let name = match (&r.tag, &r.digest) {
        (Some(tag), _) => format!("{}:{tag}", r.repository),
        (None, Some(digest)) => format!("{}@{digest}", r.repository),
        (None, None) => r.repository.clone(),
    };
    Some(Link {
        rel: Rel::Image,
        target: target(&build.source, &name).into(),
        revision: build.revision.as_deref().map(|r| normalize(r).into()),
    })
}

/// The commits touching a repository app's folder.
pub fn repo_events(source: &str, app: &GitOpsApp, out: &mut Vec<Event>) {
    let Some(repo) = &app.repo else { return };
    let item = ItemKind::App;
    for c in repo.commits.iter().filter(|c| c.touches_app) {
        let Some(t) = c.time else { continue };
        let mut e = base(source, EventKind::Commit, &app.name, TargetKind::Repo);
        e.time = t;
        e.revision = Some(normalize(&c.sha));
        e.status = "committed".into();
        e.summary = format!(
            "commit {} \"{}\" by {}",
            crate::model::short_rev(&c.sha),
            c.subject,
            c.author
        );
        e.item_kind = Some(item);
        out.push(e);
    }
}

/// A model's registered versions and its drift onsets and recoveries.
pub fn model_events(source: &str, model: &ModelDrift, now: Timestamp, out: &mut Vec<Event>) {
    let item = ItemKind::Model;
    for v in &model.versions {
        let Some(t) = v.created_at else { continue };
        let mut e = base(
            source,
            EventKind::ModelVersion,
            &model.model,
            TargetKind::Model,
        );
        e.time = t;
        e.revision = v.revision.as_deref().map(normalize);
        e.status = v.status.to_ascii_lowercase();
        e.summary = format!("version {} of {} registered", v.version, model.model);
        e.item_kind = Some(item);
        out.push(e);
    }
    for ep in onset::of_model(model, now) {
        let mut e = base(
            source,
            EventKind::DriftOnset,
            &model.model,
            TargetKind::Model,
        );
        e.time = ep.onset;
        e.status = "drifting".into();
        e.summary = format!("{} began drifting", model.model);
        e.item_kind = Some(item);
        out.push(e.clone());
        if let Some(r) = ep.recovery {
            e.kind = EventKind::DriftRecovery;
            e.time = r;
            e.status = "ok".into();
            e.summary = format!("{} recovered", model.model);
            out.push(e);
        }
    }
}
