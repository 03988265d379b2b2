//! The timeline built from real-shaped payloads mapped by the sources'
//! own mappers (GitHub, Argo CD) and from domain items, with times.

use chrono::{Duration, TimeZone};

use super::*;
use crate::model::{
    Commit, DriftStatus, GitOpsApp, Health, Metric, ModelDrift, ModelVersion, RepoInfo, Snapshot,
    SyncStatus, Target, TargetKind as ItemKind, Timestamp, Worse,
};

const SHA: &str = "7b972aa41c7e0f3b2d1e4f5a6b7c8d9e0f1a2b3c";
const OLD: &str = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn t(min: i64) -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2026, 3, 1, 3, 0, 0)
        .single()
        .expect("valid")
        + Duration::minutes(min)
}

fn github_run() -> crate::model::PipelineRun {
    let raw = serde_json::json!({
        "id": 30433642, "name": "build", "head_branch": "main", "head_sha": SHA,
        "event": "push", "status": "completed", "conclusion": "success",
        "workflow_id": 159038, "run_attempt": 1, "run_number": 562,
        "created_at": "2026-03-01T02:50:00Z", "run_started_at": "2026-03-01T02:50:05Z",
        "updated_at": "2026-03-01T02:58:00Z", "html_url": "https://github.com/o/r/actions/runs/30433642",
        "actor": {"login": "alice"}
    });
    let run = serde_json::from_value(raw).expect("a workflow run");
    crate::sources::github::api::to_run("ci", "o/r", run)
}

fn argo_app() -> GitOpsApp {
    let raw = serde_json::json!({
        "metadata": {"name": "payments", "namespace": "argocd"},
        "spec": {"destination": {"name": "prod-eu", "namespace": "payments"},
                 "source": {"repoURL": "https://git.example.com/deploy.git", "path": "apps/payments", "targetRevision": "main"}},
        "status": {
            "sync": {"status": "Synced", "revision": SHA},
            "health": {"status": "Degraded", "message": "0/3 replicas available", "lastTransitionTime": "2026-03-01T03:05:40Z"},
            "operationState": {"phase": "Succeeded", "startedAt": "2026-03-01T03:04:50Z", "finishedAt": "2026-03-01T03:05:00Z", "syncResult": {"revision": SHA}},
            "history": [
                {"id": 40, "revision": OLD, "deployStartedAt": "2026-03-01T01:00:00Z", "deployedAt": "2026-03-01T01:00:30Z"},
                {"id": "41", "revision": SHA, "deployStartedAt": "2026-03-01T03:04:50Z", "deployedAt": "2026-03-01T03:05:00Z"}
            ]
        }
    });
    let app = serde_json::from_value(raw).expect("an application");
    crate::sources::argocd::api::to_app("argo", app)
}

fn repo_app() -> GitOpsApp {
    let mut app = argo_app();
    app.source = "deploy".into();
    app.name = "payments".into();
    app.history.clear();
    app.last_operation = None;
    app.health_since = None;
    app.repo = Some(RepoInfo {
        branch: "main".into(),
        head: SHA.into(),
        commits: vec![
            Commit {
                sha: SHA.into(),
                author: "bob".into(),
                time: Some(t(-15)),
                subject: "raise pool size".into(),
                touches_app: true,
            },
            Commit {
                sha: OLD.into(),
                author: "carol".into(),
                time: Some(t(-130)),
                subject: "initial".into(),
                touches_app: true,
            },
        ],
        push: "direct".into(),
        link: Some("argo/payments".into()),
        diffs: Vec::new(),
        follow: std::time::Duration::from_secs(60),
    });
    app
}

fn model(onset_min: i64) -> ModelDrift {
    ModelDrift {
        source: "ml".into(),
        model: "fraud".into(),
        alias: "champion".into(),
        version: Some("12".into()),
        versions: vec![ModelVersion {
            version: "12".into(),
            created_at: Some(t(-40)),
            status: "READY".into(),
            description: None,
            run_id: Some("r1".into()),
            revision: Some(SHA[..7].into()),
        }],
        metrics: vec![Metric {
            name: "psi".into(),
            feature: None,
            value: Some(0.4),
            warn: 0.1,
            critical: 0.25,
            worse: Worse::Above,
            series: (-60..=20)
                .map(|m| (t(m), if m >= onset_min { 0.4 } else { 0.05 }))
                .collect(),
        }],
        drifting_since: None,
        episodes: None,
        sample_count: None,
        production: true,
        serving: Some("argo/payments".into()),
        train: None,
        error: None,
    }
}

struct Fleet {
    snaps: Vec<(String, Snapshot)>,
}

impl Fleet {
    fn new(onset_min: i64) -> Fleet {
        let mut argo = argo_app();
        let mut repo = repo_app();
        argo.linked = Some(Target::new("deploy", ItemKind::App, "payments"));
        repo.linked = Some(Target::new("argo", ItemKind::App, "payments"));
        let snap = |s: Snapshot| s;
        Fleet {
            snaps: vec![
                (
                    "ci".into(),
                    snap(Snapshot {
                        pipelines: vec![github_run()],
                        ..Snapshot::default()
                    }),
                ),
                (
                    "argo".into(),
                    Snapshot {
                        apps: vec![argo],
                        ..Snapshot::default()
                    },
                ),
                (
                    "deploy".into(),
                    Snapshot {
                        apps: vec![repo],
                        ..Snapshot::default()
                    },
                ),
                (
                    "ml".into(),
                    Snapshot {
                        models: vec![model(onset_min)],
                        ..Snapshot::default()
                    },
                ),
            ],
        }
    }

    fn views(&self) -> Vec<SourceView<'_>> {
        self.snaps
            .iter()
            .map(|(n, s)| SourceView {
                name: n,
                snapshot: s,
            })
            .collect()
    }

    fn build(&self, now: Timestamp) -> Timeline {
        Timeline::build(&self.views(), &[], &Settings::default(), now)
    }
}

fn find(tl: &Timeline, kind: EventKind, target: &str) -> Event {
    tl.events
        .iter()
        .find(|e| e.kind == kind && e.target == target)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} event of {target} in {:#?}", tl.events))
}

#[test]
fn a_github_run_gives_its_start_and_end_at_the_backend_times() {
    let tl = Fleet::new(10).build(t(20));
    let end = find(&tl, EventKind::Run, "ci/30433642");
    assert_eq!(format_time(&end.time), "2026-03-01T02:58:00Z");
    assert_eq!(end.status, "success");
    assert_eq!(end.revision.as_deref(), Some(SHA));
    assert_eq!(end.target_kind, TargetKind::Run);
    let start = find(&tl, EventKind::RunStarted, "ci/30433642");
    assert_eq!(format_time(&start.time), "2026-03-01T02:50:05Z");
}

#[test]
fn argo_cd_history_and_health_transition_give_deploys_and_health() {
    let tl = Fleet::new(10).build(t(20));
    let deploys: Vec<&Event> = tl
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Deploy && e.target == "argo/payments")
        .collect();
    assert_eq!(
        deploys.len(),
        2,
        "the finished operation is the newest history entry"
    );
    assert_eq!(format_time(&deploys[0].time), "2026-03-01T03:05:00Z");
    assert_eq!(deploys[0].deploy_id.as_deref(), Some("41"));
    assert_eq!(deploys[0].summary, "deploy of 7b972aa to prod-eu/payments");
    assert_eq!(deploys[0].place.as_deref(), Some("prod-eu/payments"));
    let health = find(&tl, EventKind::Health, "argo/payments");
    assert_eq!(format_time(&health.time), "2026-03-01T03:05:40Z");
    assert_eq!(health.status, "degraded");
    assert!(!health.observed);
}

#[test]
fn commits_model_versions_and_drift_onsets_are_events() {
    let tl = Fleet::new(10).build(t(20));
    let commit = find(&tl, EventKind::Commit, "deploy/payments");
    assert_eq!(commit.target_kind, TargetKind::Repo);
    assert_eq!(commit.time, t(-15));
    let version = find(&tl, EventKind::ModelVersion, "ml/fraud");
    assert_eq!(version.time, t(-40));
    assert_eq!(
        version.revision.as_deref(),
        Some(SHA),
        "a short source commit resolves as a unique prefix"
    );
    let onset = find(&tl, EventKind::DriftOnset, "ml/fraud");
    assert_eq!(onset.time, t(10));
    assert_eq!(onset.status, "drifting");
}

#[test]
fn links_are_exact_commit_runs_deploys_serving_and_repo() {
    let tl = Fleet::new(10).build(t(20));
    let deploy = tl
        .events
        .iter()
        .find(|e| e.kind == EventKind::Deploy && e.revision.as_deref() == Some(SHA))
        .expect("deploy of SHA");
    let has = |e: &Event, rel: Rel, target: &str| {
        e.links.iter().any(|l| l.rel == rel && &*l.target == target)
    };
    assert!(
        has(deploy, Rel::Commit, "deploy/payments"),
        "{:?}",
        deploy.links
    );
    assert!(has(deploy, Rel::BuiltBy, "ci/30433642"));
    assert!(has(deploy, Rel::Serves, "ml/fraud"));
    assert!(has(deploy, Rel::Repo, "deploy/payments"));
    let run = find(&tl, EventKind::Run, "ci/30433642");
    assert!(has(&run, Rel::Deploys, "argo/payments"));
    assert!(has(&run, Rel::Commit, "deploy/payments"));
    let old = tl
        .events
        .iter()
        .find(|e| e.kind == EventKind::Deploy && e.revision.as_deref() == Some(OLD))
        .expect("old deploy");
    assert!(!has(old, Rel::BuiltBy, "ci/30433642"), "no run built OLD");
    let onset = find(&tl, EventKind::DriftOnset, "ml/fraud");
    assert!(has(&onset, Rel::ServedBy, "argo/payments"));
    // Serialized: every field present, enumerations snake case.
    let json = serde_json::to_value(deploy).expect("json");
    for key in [
        "time",
        "source",
        "kind",
        "target",
        "target_kind",
        "revision",
        "status",
        "verdict",
        "summary",
        "observed",
        "links",
        "started_at",
    ] {
        assert!(json.get(key).is_some(), "{key} missing in {json}");
    }
    assert_eq!(json.as_object().map(|o| o.len()), Some(12));
    // The deploy's start (deployStartedAt) beside its finish (deployedAt).
    assert_eq!(json["started_at"], "2026-03-01T03:04:50Z");
    assert_eq!(json["time"], "2026-03-01T03:05:00Z");
    let rels: Vec<&str> = json["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    assert!(
        rels.contains(&"commit") && rels.contains(&"built_by"),
        "{rels:?}"
    );
}

#[test]
fn verdicts_follow_health_drift_failure_and_the_window() {
    // Degraded 40 s after the deploy.
    let tl = Fleet::new(10).build(t(60));
    let v = |tl: &Timeline, rev: &str| {
        tl.events
            .iter()
            .find(|e| e.kind == EventKind::Deploy && e.revision.as_deref() == Some(rev))
            .and_then(|e| e.verdict)
    };
    assert_eq!(v(&tl, SHA), Some(Verdict::Degraded));
    assert_eq!(v(&tl, OLD), Some(Verdict::Healthy));
    // Healthy app, model drifting 8 min after: drift.
    let mut fleet = Fleet::new(13);
    fleet.snaps[1].1.apps[0].health = Health::Healthy;
    fleet.snaps[1].1.apps[0].health_since = None;
    assert_eq!(v(&fleet.build(t(60)), SHA), Some(Verdict::Drift));
    // Drift after the window is not this deploy's.
    let mut late = Fleet::new(25);
    late.snaps[1].1.apps[0].health = Health::Healthy;
    late.snaps[1].1.apps[0].health_since = None;
    assert_eq!(v(&late.build(t(60)), SHA), Some(Verdict::Healthy));
    // Within the window and nothing bad yet: pending.
    assert_eq!(v(&late.build(t(12)), SHA), Some(Verdict::Pending));
    // A failed operation.
    let mut failed = Fleet::new(100);
    let app = &mut failed.snaps[1].1.apps[0];
    let op = app.last_operation.as_mut().expect("operation");
    op.phase = crate::model::OperationPhase::Failed;
    op.finished_at = Some(t(30));
    let tl = failed.build(t(60));
    let f = tl
        .events
        .iter()
        .find(|e| e.kind == EventKind::Deploy && e.status == "failed")
        .expect("failed deploy");
    assert_eq!(f.verdict, Some(Verdict::Failed));
    assert!(
        tl.events
            .iter()
            .all(|e| e.kind == EventKind::Deploy || e.verdict.is_none())
    );
}

#[test]
fn why_names_the_deploy_first_with_its_reason() {
    let fleet = Fleet::new(10);
    let now = t(20);
    let tl = fleet.build(now);
    let why = why::why(
        &tl,
        &fleet.views(),
        "argo/payments",
        &Settings::default(),
        now,
    )
    .expect("why");
    let problem = why.problem.as_ref().expect("a problem");
    assert_eq!(problem.status, "degraded");
    assert_eq!(
        problem.since.map(|s| format_time(&s)).as_deref(),
        Some("2026-03-01T03:05:40Z")
    );
    let first = &why.suspects[0];
    assert_eq!(first.rank, 1);
    assert_eq!(first.event.kind, EventKind::Deploy);
    assert_eq!(
        first.reason,
        "deploy of 7b972aa to prod-eu/payments 40 s before payments went degraded"
    );
    // Never the target's own state transitions; nothing after the onset.
    assert!(why.suspects.iter().all(|s| s.event.kind.is_change()));
    assert!(
        why.suspects
            .iter()
            .all(|s| s.event.time <= t(5) + Duration::seconds(40))
    );
    // Linked changes (the commit, the run) before unrelated ones.
    let kinds: Vec<EventKind> = why.suspects.iter().map(|s| s.event.kind).collect();
    assert_eq!(kinds[..2], [EventKind::Deploy, EventKind::Deploy]);
    assert!(kinds[2..].contains(&EventKind::Commit));
    assert!(!why.chain.is_empty());
    let json = serde_json::to_value(&why).expect("json");
    assert_eq!(json["problem"]["status"], "degraded");
    assert_eq!(json["suspects"][0]["event"]["kind"], "deploy");
}

#[test]
fn why_on_a_drifting_model_ranks_the_serving_apps_deploy() {
    let mut fleet = Fleet::new(10);
    fleet.snaps[1].1.apps[0].health = Health::Healthy;
    let now = t(20);
    let tl = fleet.build(now);
    let why = why::why(&tl, &fleet.views(), "ml/fraud", &Settings::default(), now).expect("why");
    assert_eq!(
        why.problem.as_ref().map(|p| p.status.as_str()),
        Some("drifting")
    );
    assert_eq!(why.problem.as_ref().and_then(|p| p.since), Some(t(10)));
    // Its own version first, then the serving app's deploy.
    assert_eq!(why.suspects[0].event.kind, EventKind::ModelVersion);
    assert_eq!(why.suspects[1].event.target, "argo/payments");
    assert!(
        why.suspects[1]
            .reason
            .contains("before fraud went drifting")
    );
    assert!(
        why::why(&tl, &fleet.views(), "argo/nope", &Settings::default(), now)
            .expect_err("unknown")
            .contains("no run, app or model named `nope`")
    );
}

#[test]
fn observed_transitions_are_marked_and_timed_when_seen() {
    let old = Fleet::new(100);
    let mut new = Fleet::new(100);
    let app = &mut new.snaps[1].1.apps[0];
    app.health_since = None;
    app.sync = SyncStatus::OutOfSync;
    let m = &mut new.snaps[3].1.models[0];
    m.version = Some("13".into());
    let seen = observed::transitions("argo", &old.snaps[1].1, &new.snaps[1].1, t(3));
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].kind, EventKind::Sync);
    assert!(seen[0].observed);
    assert_eq!(seen[0].time, t(3));
    let seen = observed::transitions("ml", &old.snaps[3].1, &new.snaps[3].1, t(4));
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].kind, EventKind::Alias);
    assert_eq!(seen[0].status, "13");
    assert_eq!(new.snaps[3].1.models[0].status(), DriftStatus::Drifting);
}

/// Each source's deploy and version data as the timeline reads it.
mod sources;
