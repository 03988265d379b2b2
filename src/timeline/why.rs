//! "Why?" for one item: its problem (what is wrong, since when), its chain
//! (commit → the runs of it → the deploys of it → health after → the
//! models those apps serve and their drift), and the suspects — the changes
//! in the window before the problem began, ranked: the item's own changes,
//! then changes linked to it by revision or configuration, then changes in
//! the same cluster and namespace, then the rest; nearer in time first.

use std::collections::HashSet;

use chrono::Duration;
use serde::Serialize;

use super::event::{Event, EventKind, format_time};
use super::revision::normalize;
use super::{Settings, SourceView, Timeline};
use crate::model::{
    DriftStatus, GitOpsApp, ModelDrift, PipelineRun, RunStatus, SyncStatus, Timestamp,
};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    pub status: String,
    #[serde(serialize_with = "super::event::opt_rfc3339")]
    pub since: Option<Timestamp>,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suspect {
    pub rank: usize,
    pub reason: String,
    pub event: Event,
}

/// The answer, as the `why` JSON contract spells it (the chain is for the
/// dashboard's view only).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Why {
    pub target: String,
    pub problem: Option<Problem>,
    pub suspects: Vec<Suspect>,
    #[serde(skip)]
    pub chain: Vec<String>,
}

enum Item<'a> {
    Run(&'a PipelineRun),
    App(&'a GitOpsApp),
    Model(&'a ModelDrift),
}

/// Why `target` (`SOURCE/NAME`) is in trouble, or `Err` naming what could
/// not be found.
pub fn why(
    timeline: &Timeline,
    sources: &[SourceView],
    target: &str,
    settings: &Settings,
    now: Timestamp,
) -> Result<Why, String> {
    let (source, name) = target
        .split_once('/')
        .ok_or_else(|| format!("`{target}` is not SOURCE/NAME"))?;
    let src = sources.iter().find(|s| s.name == source).ok_or_else(|| {
        let known: Vec<&str> = sources.iter().map(|s| s.name).collect();
        format!("no source named `{source}` (known: {})", known.join(", "))
    })?;
    let snap = src.snapshot;
    let item = if let Some(r) = snap.pipelines.iter().find(|r| r.id == name) {
        Item::Run(r)
    } else if let Some(a) = snap.apps.iter().find(|a| a.name == name) {
        Item::App(a)
    } else if let Some(m) = snap.models.iter().find(|m| m.model == name) {
        Item::Model(m)
    } else {
        return Err(format!("{source} has no run, app or model named `{name}`"));
    };
    let own = |kind: EventKind, status: Option<&str>| {
        timeline
            .events
            .iter()
            .find(|e| e.target == target && e.kind == kind && status.is_none_or(|s| e.status == s))
            .map(|e| e.time)
    };
    let conf = &timeline.configured;
    let mut related: HashSet<String> = HashSet::new();
    let mut revisions: HashSet<String> = HashSet::new();
    let mut place = None;
    // The revision whose chain is shown: what the item runs or built.
    let mut chain_rev: Option<String> = None;
    // The revisions an app's running images were built from.
    let mut image_revs: Vec<String> = Vec::new();
    let add_app = |app_target: &str, related: &mut HashSet<String>| {
        related.insert(app_target.to_string());
        if let Some(r) = conf.repo_peer(app_target) {
            related.insert(r.to_string());
        }
        for m in conf.models_of(app_target) {
            related.insert(m.to_string());
        }
    };
    let problem = match item {
        Item::Run(run) => {
            if let Some(c) = (!run.commit.is_empty()).then(|| normalize(&run.commit)) {
                chain_rev = Some(c.clone());
                revisions.insert(c);
            }
            (run.status == RunStatus::Failure).then(|| Problem {
                status: run.status.to_string(),
                since: super::extract::run_end(run),
                summary: format!("{} #{} failed", run.pipeline, run.id),
            })
        }
        Item::App(app) => {
            add_app(target, &mut related);
            related.remove(target);
            if app.repo.is_none() {
                place = Some(app.place());
            }
            if let Some(r) = &app.revision {
                let r = resolved(timeline, r);
                chain_rev = Some(r.clone());
                revisions.insert(r);
            }
            // The commits its images were built from link too; with no
            // revision of its own, the chain is its image's.
            for link in app.images.iter().filter_map(super::extract::image_link) {
                if let Some(r) = link.revision.as_deref().map(str::to_string) {
                    chain_rev.get_or_insert_with(|| r.clone());
                    image_revs.push(r.clone());
                    revisions.insert(r);
                }
            }
            app_problem(app, &own)
        }
        Item::Model(model) => {
            if let Some(app) = conf.app_of(target) {
                add_app(app, &mut related);
                related.remove(target);
                for e in timeline.events.iter().filter(|e| e.target == app) {
                    if e.kind == EventKind::Deploy {
                        // Newest first: the first deploy is what it serves from.
                        place = place.or_else(|| e.place.clone());
                        if let Some(r) = &e.revision {
                            chain_rev.get_or_insert_with(|| r.clone());
                            revisions.insert(r.clone());
                        }
                    }
                }
            }
            let status = model.status();
            matches!(status, DriftStatus::Drifting | DriftStatus::Warning).then(|| Problem {
                status: status.to_string(),
                since: own(EventKind::DriftOnset, None).or(model.drifting_since),
                summary: match model.worst_metric() {
                    Some(m) => format!(
                        "{} {status}: {} = {} (critical {})",
                        model.model,
                        m.label(),
                        m.value.map_or("?".into(), |v| format!("{v:.3}")),
                        m.critical
                    ),
                    None => format!("{} {status}", model.model),
                },
            })
        }
    };
    let until = problem.as_ref().and_then(|p| p.since).unwrap_or(now);
    let from = until - settings.window;
    let mut ranked: Vec<(u8, Duration, &Event)> = timeline
        .events
        .iter()
        // A deploy still running when the problem began is a suspect too,
        // counted from its start.
        .filter(|e| e.kind.is_change() && e.began() <= until && e.time >= from)
        .map(|e| {
            let class = if e.target == target {
                0
            } else if related.contains(&e.target)
                || e.revision.as_ref().is_some_and(|r| revisions.contains(r))
            {
                1
            } else if place.is_some() && e.place == place {
                2
            } else {
                3
            };
            let at = if e.time <= until { e.time } else { e.began() };
            (class, until - at, e)
        })
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let suspects = ranked
        .into_iter()
        .enumerate()
        .map(|(i, (class, gap, e))| Suspect {
            rank: i + 1,
            reason: reason(e, class, gap, name, problem.as_ref()),
            event: e.clone(),
        })
        .collect();
    Ok(Why {
        target: target.to_string(),
        chain: chain_rev
            .iter()
            .chain(image_revs.iter().filter(|r| Some(*r) != chain_rev.as_ref()))
            .flat_map(|r| chain(timeline, r))
            .collect(),
        problem,
        suspects,
    })
}

fn resolved(timeline: &Timeline, rev: &str) -> String {
    let n = normalize(rev);
    timeline
        .shas()
        .resolve(&n)
        .map_or(n.clone(), str::to_string)
}

fn app_problem(
    app: &GitOpsApp,
    own: &dyn Fn(EventKind, Option<&str>) -> Option<Timestamp>,
) -> Option<Problem> {
    if app.health.is_unhealthy() {
        let status = app.health.to_string();
        return Some(Problem {
            since: app
                .health_since
                .or_else(|| own(EventKind::Health, Some(&status))),
            summary: app
                .health_message
                .clone()
                .unwrap_or_else(|| format!("{} is {status}", app.name)),
            status,
        });
    }
    if let Some(op) = app.last_operation.as_ref().filter(|o| {
        matches!(
            o.phase,
            crate::model::OperationPhase::Failed | crate::model::OperationPhase::Error
        )
    }) {
        return Some(Problem {
            status: "failed".into(),
            since: op.finished_at.or(op.started_at),
            summary: format!("{} failed: {}", op.kind, op.message),
        });
    }
    if app.sync == SyncStatus::OutOfSync {
        let since = match (&app.repo, app.pending) {
            (Some(repo), Some(n)) => repo
                .commits
                .iter()
                .filter(|c| c.touches_app)
                .take(n as usize)
                .filter_map(|c| c.time)
                .min(),
            _ => own(EventKind::Sync, Some("out_of_sync")),
        };
        return Some(Problem {
            status: app.sync.to_string(),
            since,
            summary: match app.pending {
                Some(n) => format!("{} is {n} commit(s) ahead of what runs", app.name),
                None => format!("{} is out of sync", app.name),
            },
        });
    }
    None
}

/// "40 s", "6 min", "2 h", "3 d".
pub fn gap_words(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

fn reason(e: &Event, class: u8, gap: Duration, name: &str, problem: Option<&Problem>) -> String {
    let what = match e.kind {
        EventKind::Run | EventKind::RunStarted => format!("run {}", e.summary),
        _ => e.summary.clone(),
    };
    let when = match problem {
        Some(p) if p.since.is_some() => {
            format!("{} before {name} went {}", gap_words(gap), p.status)
        }
        _ => format!("{} ago", gap_words(gap)),
    };
    // A deploy that finished after the problem began: its start is what
    // the gap counts from, and it says so.
    let after = match problem.and_then(|p| p.since) {
        Some(since) if e.time > since => {
            format!(" (started; finished {} after)", gap_words(e.time - since))
        }
        _ => String::new(),
    };
    let how = match class {
        1 => " (linked by revision or configuration)",
        2 => " (same cluster and namespace)",
        _ => "",
    };
    format!("{what} {when}{after}{how}")
}

/// The chain of one revision: its commit, the runs of it, its deploys with
/// their verdicts, the health after each, and the drift of the models the
/// deployed apps serve.
pub fn chain(timeline: &Timeline, rev: &str) -> Vec<String> {
    let mut out = Vec::new();
    let of = |kind: EventKind| {
        timeline
            .events
            .iter()
            .rev()
            .filter(move |e| e.kind == kind && e.revision.as_deref() == Some(rev))
    };
    for c in of(EventKind::Commit).take(1) {
        out.push(format!("{} ({})", c.summary, c.target));
    }
    for r in of(EventKind::Run) {
        out.push(format!("→ built by {}: {}", r.target, r.status));
    }
    // Its deploys: of the revision itself, or of an image built from it.
    let image_of = |e: &Event| {
        e.images
            .iter()
            .find(|l| l.revision.as_deref() == Some(rev))
            .map(|l| l.target.clone())
    };
    let deploys = timeline.events.iter().rev().filter(|e| {
        e.kind == EventKind::Deploy && (e.revision.as_deref() == Some(rev) || image_of(e).is_some())
    });
    for d in deploys {
        if let Some(image) = image_of(d) {
            out.push(format!("→ image {image}"));
        }
        out.push(format!(
            "→ {} at {} [{}]",
            d.summary,
            format_time(&d.time),
            d.verdict.map_or("-".into(), |v| v.to_string())
        ));
        for image in d
            .images
            .iter()
            .filter(|l| l.revision.as_deref() != Some(rev))
        {
            out.push(format!(
                "  → runs image {}{}",
                image.target,
                image
                    .revision
                    .as_deref()
                    .map(|r| format!(", built from {}", crate::model::short_rev(r)))
                    .unwrap_or_default()
            ));
        }
        let after = |e: &&Event| e.time >= d.time;
        for h in timeline
            .events
            .iter()
            .rev()
            .filter(|e| e.target == d.target && e.kind == EventKind::Health)
            .filter(after)
            .take(1)
        {
            out.push(format!(
                "  → {} {} after",
                h.summary,
                gap_words(h.time - d.time)
            ));
        }
        for m in timeline.configured.models_of(&d.target) {
            for o in timeline
                .events
                .iter()
                .rev()
                .filter(|e| e.target == m && e.kind == EventKind::DriftOnset)
                .filter(after)
                .take(1)
            {
                out.push(format!(
                    "  → serves {m}: began drifting {} after",
                    gap_words(o.time - d.time)
                ));
            }
        }
    }
    out
}
