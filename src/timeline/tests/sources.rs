//! What each source contributes beyond runs and Argo CD's history: a
//! deploy's start, Flux's history, a model version's commit and an app's
//! running image — from real-shaped payloads through the sources' own
//! mappers, into events and links.

use super::*;

/// Payments still syncing when it went degraded: the deploy is a suspect,
/// counted from its start.
#[test]
fn a_deploy_still_running_when_the_problem_began_is_a_suspect_from_its_start() {
    let mut fleet = Fleet::new(100);
    let app = &mut fleet.snaps[1].1.apps[0];
    app.health_since = Some(t(5) - Duration::seconds(5));
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
    let first = &why.suspects[0];
    assert_eq!(first.event.kind, EventKind::Deploy);
    assert_eq!(
        first.event.started_at.map(|s| format_time(&s)).as_deref(),
        Some("2026-03-01T03:04:50Z")
    );
    assert_eq!(
        first.reason,
        "deploy of 7b972aa to prod-eu/payments 5 s before payments went degraded \
         (started; finished 5 s after)"
    );
    // Health lost during the sync is this deploy's.
    assert_eq!(first.event.verdict, Some(Verdict::Degraded));
}

fn flux_snapshot(history: serde_json::Value, ready: &str) -> Snapshot {
    let object: crate::sources::kube::KubeObject = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "payments", "namespace": "flux-system"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "fleet"}, "path": "./apps/payments",
                 "targetNamespace": "payments"},
        "status": {
            "lastAppliedRevision": format!("main@sha1:{SHA}"),
            "conditions": [{"type": "Ready", "status": ready, "reason": "HealthCheckFailed",
                            "message": "timeout waiting for Deployment/payments/api",
                            "lastTransitionTime": "2026-03-01T03:05:40Z"}],
            "history": history
        }
    }))
    .expect("a kustomization");
    let entries = [crate::sources::flux::map::Entry {
        kind: crate::sources::flux::map::FluxKind::Kustomization,
        object: &object,
    }];
    Snapshot {
        apps: crate::sources::flux::map::to_apps("flux", "prod-eu", &entries)
            .into_iter()
            .map(|(_, app)| app)
            .collect(),
        ..Snapshot::default()
    }
}

#[test]
fn flux_history_gives_deploys_with_verdicts_linked_to_the_run_that_built_them() {
    let history = serde_json::json!([
        {"digest": "sha256:0123456789abcdef", "firstReconciled": "2026-03-01T03:05:00Z",
         "lastReconciled": "2026-03-01T03:15:00Z", "lastReconciledDuration": "2.1s",
         "lastReconciledStatus": "ReconciliationSucceeded", "totalReconciliations": 3,
         "metadata": {"revision": format!("main@sha1:{SHA}")}},
        {"digest": "sha256:aaaa", "firstReconciled": "2026-03-01T02:00:00Z",
         "lastReconciled": "2026-03-01T02:00:00Z", "lastReconciledStatus": "HealthCheckFailed",
         "totalReconciliations": 1, "metadata": {"revision": format!("main@sha1:{OLD}")}},
        {"digest": "sha256:bbbb", "firstReconciled": "2026-03-01T01:00:00Z",
         "lastReconciled": "2026-03-01T01:00:00Z", "lastReconciledStatus": "ReconciliationSucceeded",
         "totalReconciliations": 1, "metadata": {"revision": format!("main@sha1:{OLD}")}}
    ]);
    let mut fleet = Fleet::new(100);
    fleet.snaps[1] = ("flux".into(), flux_snapshot(history, "False"));
    let now = t(60);
    let tl = fleet.build(now);
    let deploys: Vec<&Event> = tl
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Deploy && e.target == "flux/flux-system/payments")
        .collect();
    assert_eq!(deploys.len(), 3, "{deploys:#?}");
    // Newest first: degraded 40 s after it, failed health check, healthy.
    assert_eq!(format_time(&deploys[0].time), "2026-03-01T03:05:00Z");
    assert_eq!(deploys[0].revision.as_deref(), Some(SHA));
    assert_eq!(deploys[0].status, "succeeded");
    assert_eq!(deploys[0].verdict, Some(Verdict::Degraded));
    assert_eq!(deploys[0].started_at, None, "Flux records no start");
    assert_eq!(deploys[1].status, "failed");
    assert_eq!(deploys[1].verdict, Some(Verdict::Failed));
    assert_eq!(deploys[2].verdict, Some(Verdict::Healthy));
    assert!(
        deploys[0]
            .links
            .iter()
            .any(|l| l.rel == Rel::BuiltBy && &*l.target == "ci/30433642"),
        "{:?}",
        deploys[0].links
    );
    let why = why::why(
        &tl,
        &fleet.views(),
        "flux/flux-system/payments",
        &Settings::default(),
        now,
    )
    .expect("why");
    assert_eq!(why.suspects[0].event.time, deploys[0].time);
    assert_eq!(
        why.suspects[0].reason,
        "deploy of 7b972aa to prod-eu/flux-system/payments 40 s before flux-system/payments \
         went degraded"
    );
}

const APP_SHA: &str = "abcdef0123456789abcdef0123456789abcdef01";

/// Payments runs an image a registry built from APP_SHA, which CI run 999
/// built: the deploy links the image, the run and (by the run) back.
#[test]
fn a_running_image_links_its_deploy_to_the_run_and_commit_it_was_built_from() {
    let mut fleet = Fleet::new(100);
    let mut run = super::github_run();
    run.id = "999".into();
    run.commit = APP_SHA.into();
    fleet.snaps[0].1.pipelines.push(run);
    let app = &mut fleet.snaps[1].1.apps[0];
    let mut image = crate::model::AppImage::new("127.0.0.1:5000/team/payments:1.4.2");
    image.registry = Some(crate::model::ImageBuild {
        source: "reg".into(),
        digest: Some("sha256:12".into()),
        revision: Some(APP_SHA.into()),
        created_at: Some(t(-30)),
        newer_tags: Some(Vec::new()),
    });
    app.images = vec![
        image,
        crate::model::AppImage::new("docker.io/library/redis:7"),
    ];
    let now = t(20);
    let tl = fleet.build(now);
    let has = |e: &Event, rel: Rel, target: &str, rev: &str| {
        e.links
            .iter()
            .any(|l| l.rel == rel && &*l.target == target && l.revision.as_deref() == Some(rev))
    };
    let running = tl
        .events
        .iter()
        .find(|e| e.kind == EventKind::Deploy && e.revision.as_deref() == Some(SHA))
        .expect("the running deploy");
    assert!(
        has(running, Rel::Image, "reg/team/payments:1.4.2", APP_SHA),
        "{:?}",
        running.links
    );
    assert_eq!(
        running.links.iter().filter(|l| l.rel == Rel::Image).count(),
        1,
        "only images a registry knows"
    );
    assert!(has(running, Rel::BuiltBy, "ci/999", APP_SHA));
    assert!(has(running, Rel::BuiltBy, "ci/30433642", SHA));
    let old = tl
        .events
        .iter()
        .find(|e| e.kind == EventKind::Deploy && e.revision.as_deref() == Some(OLD))
        .expect("the old deploy");
    assert!(
        old.links.iter().all(|l| l.rel != Rel::Image),
        "not running now"
    );
    let built = find(&tl, EventKind::Run, "ci/999");
    assert!(has(&built, Rel::Deploys, "argo/payments", APP_SHA));
    // The why chain: commit → run → image → deploy.
    let why = why::why(
        &tl,
        &fleet.views(),
        "argo/payments",
        &Settings::default(),
        now,
    )
    .expect("why");
    let at = |prefix: &str| {
        why.chain
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in {:#?}", why.chain))
    };
    let run_line = at("→ built by ci/999");
    let image_line = at("→ image reg/team/payments:1.4.2");
    assert_eq!(image_line, run_line + 1);
    assert!(why.chain[image_line + 1].starts_with("→ deploy of 7b972aa"));
    assert!(
        why.chain
            .iter()
            .any(|l| l == "  → runs image reg/team/payments:1.4.2, built from abcdef0"),
        "{:#?}",
        why.chain
    );
}

#[test]
fn a_model_version_links_the_commit_it_was_trained_from() {
    let tl = Fleet::new(100).build(t(20));
    let version = find(&tl, EventKind::ModelVersion, "ml/fraud");
    assert_eq!(
        version.revision.as_deref(),
        Some(SHA),
        "a unique prefix resolves"
    );
    assert!(
        version
            .links
            .iter()
            .any(|l| l.rel == Rel::Commit && &*l.target == "deploy/payments"),
        "{:?}",
        version.links
    );
}
