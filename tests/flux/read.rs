//! Reading: the mapping, images, a malformed object among good ones, live
//! changes, and watches that end, are cut or go silent resuming.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomizations_and_helm_releases_map_to_apps_with_their_sources() {
    let server = cluster().await;
    server.apply(oci_repository("podinfo", "podinfo", "6.5.4@sha256:beef"));
    server.apply(helm_release("podinfo", "podinfo"));
    let mut suspended = kustomization(
        "flux-system",
        "batch",
        SHA_B,
        ready("True", "ReconciliationSucceeded", "Applied"),
    );
    suspended["spec"]["suspend"] = json!(true);
    server.apply(suspended);
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");

    let snapshot = flux.fetch().await.expect("fetch");
    let names: Vec<&str> = snapshot.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "flux-system/api",
            "flux-system/batch",
            "flux-system/jobs",
            "flux-system/web",
            "podinfo/podinfo"
        ],
        "Kustomizations and HelmReleases, not their sources"
    );

    let web = app(&snapshot, "flux-system/web");
    assert_eq!(web.sync, SyncStatus::Synced, "applied = source artifact");
    assert_eq!(web.health, Health::Healthy);
    assert_eq!(
        web.revision.as_deref(),
        Some(SHA_B),
        "the commit, as git knows it"
    );
    assert_eq!(web.cluster, "prod", "the context names the cluster");
    assert_eq!(web.namespace, "web", "spec.targetNamespace");
    assert_eq!(
        web.repo_url.as_deref(),
        Some(REPO_URL),
        "from the GitRepository"
    );
    assert_eq!(
        web.path.as_deref(),
        Some("apps/web"),
        "spec.path without ./"
    );
    assert!(web.auto_sync && !web.suspended);

    let api = app(&snapshot, "flux-system/api");
    assert_eq!(api.sync, SyncStatus::OutOfSync, "the source is ahead");
    assert_eq!(api.revision.as_deref(), Some(SHA_A));
    assert_eq!(api.target_revision.as_deref(), Some(SHA_B));

    let jobs = app(&snapshot, "flux-system/jobs");
    assert_eq!(jobs.health, Health::Degraded);
    assert_eq!(
        jobs.health_message.as_deref(),
        Some("HealthCheckFailed: Deployment/jobs/worker: timeout waiting for rollout")
    );

    let batch = app(&snapshot, "flux-system/batch");
    assert!(batch.suspended && !batch.auto_sync);
    assert_eq!(batch.health, Health::Suspended);

    let hr = app(&snapshot, "podinfo/podinfo");
    assert_eq!(hr.revision.as_deref(), Some("6.5.4"));
    assert_eq!(
        hr.sync,
        SyncStatus::OutOfSync,
        "the Drifted condition wins over matching versions"
    );
    assert!(
        hr.health_message
            .as_deref()
            .is_some_and(|m| m.contains("Drifted: Deployment/podinfo/podinfo changed")),
        "{:?}",
        hr.health_message
    );
    let history: Vec<(&str, &str)> = hr
        .history
        .iter()
        .map(|d| (d.id.as_str(), d.revision.as_str()))
        .collect();
    assert_eq!(history, [("2", "6.5.4"), ("1", "6.5.3")], "newest first");
    assert_eq!(
        hr.history[0].message.as_deref(),
        Some("podinfo 6.5.4, app 6.5.4 (deployed)")
    );

    // The inventory is the Kustomization's resource list.
    let detail = flux.app_detail("flux-system/web").await.expect("detail");
    let rows: Vec<(&str, &str, &str)> = detail
        .tree
        .iter()
        .map(|n| (n.kind.as_str(), n.namespace.as_str(), n.name.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("Deployment", "web", "web"),
            ("Namespace", "", "web"),
            ("Service", "web", "web")
        ]
    );
    assert!(
        server
            .auth_seen()
            .iter()
            .all(|a| a == &format!("Bearer {TOKEN}")),
        "every request carries the kubeconfig's token"
    );
}

/// The images a Kustomization's `spec.images` overrides set and a
/// HelmRelease's values name (the common `image:` shape) are the app's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_images_flux_objects_declare_are_the_apps_images() {
    let server = cluster().await;
    let mut web = kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready("True", "ReconciliationSucceeded", "Applied"),
    );
    web["spec"]["images"] = json!([
        {"name": "payments", "newName": "ghcr.io/acme/payments", "newTag": "1.4.2"},
        {"name": "ghcr.io/acme/worker", "digest": "sha256:0123"}
    ]);
    server.apply(web);
    server.apply(oci_repository("podinfo", "podinfo", "6.5.4@sha256:beef"));
    let mut hr = helm_release("podinfo", "podinfo");
    hr["spec"]["values"] = json!({
        "image": {"repository": "ghcr.io/stefanprodan/podinfo", "tag": "6.5.4"},
        "replicaCount": 2
    });
    server.apply(hr);
    let fixture = kubeconfig(&[("prod", &server)]);
    let snapshot = source("flux-prod", &fixture, "prod")
        .fetch()
        .await
        .expect("fetch");
    let images = |name: &str| -> Vec<String> {
        app(&snapshot, name)
            .images
            .iter()
            .map(|i| i.image.clone())
            .collect()
    };
    assert_eq!(
        images("flux-system/web"),
        [
            "ghcr.io/acme/payments:1.4.2",
            "ghcr.io/acme/worker@sha256:0123"
        ]
    );
    assert_eq!(
        app(&snapshot, "flux-system/web").images[1]
            .digest
            .as_deref(),
        Some("sha256:0123")
    );
    assert_eq!(
        images("podinfo/podinfo"),
        ["ghcr.io/stefanprodan/podinfo:6.5.4"]
    );
    assert!(
        images("flux-system/api").is_empty(),
        "no overrides: the workloads' own images are not read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_object_is_reported_next_to_the_good_ones() {
    let server = cluster().await;
    server.apply(json!({
        "kind": "Kustomization",
        "metadata": {"name": "broken-meta", "namespace": "flux-system", "labels": "not-a-map"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "fleet"}}
    }));
    server.apply(json!({
        "kind": "Kustomization",
        "metadata": {"name": "broken-status", "namespace": "flux-system"},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "fleet"}},
        "status": {"conditions": "Ready"}
    }));
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = Arc::new(source("flux-prod", &fixture, "prod"));
    let mut live = watch(flux.clone(), 0);
    let snapshot = live.until_app("flux-system/broken-status", |_| true).await;
    assert_eq!(snapshot.apps.len(), 5, "the good ones are all there");
    assert_eq!(app(&snapshot, "flux-system/web").health, Health::Healthy);
    for name in ["flux-system/broken-meta", "flux-system/broken-status"] {
        let bad = app(&snapshot, name);
        assert_eq!(bad.health, Health::Unknown);
        assert!(
            bad.health_message
                .as_deref()
                .is_some_and(|m| m.starts_with("cannot read this Kustomization: ")),
            "{name}: {:?}",
            bad.health_message
        );
    }
    // The watch goes on: a later change still arrives.
    server.apply(kustomization(
        "flux-system",
        "api",
        SHA_B,
        ready("True", "ReconciliationSucceeded", "Applied"),
    ));
    live.until_app("flux-system/api", |a| a.sync == SyncStatus::Synced)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_going_not_ready_and_back_is_followed_live() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = Arc::new(source("flux-prod", &fixture, "prod"));
    let mut live = watch(flux, 0);
    live.until_app("flux-system/web", |a| a.health == Health::Healthy)
        .await;

    server.apply(kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready(
            "False",
            "BuildFailed",
            "kustomize build failed: missing resource",
        ),
    ));
    let snapshot = live
        .until_app("flux-system/web", |a| a.health == Health::Degraded)
        .await;
    assert_eq!(
        app(&snapshot, "flux-system/web").health_message.as_deref(),
        Some("BuildFailed: kustomize build failed: missing resource")
    );

    server.apply(kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready("Unknown", "Progressing", "Reconciliation in progress"),
    ));
    live.until_app("flux-system/web", |a| a.health == Health::Progressing)
        .await;

    server.apply(kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready("True", "ReconciliationSucceeded", "Applied"),
    ));
    live.until_app("flux-system/web", |a| a.health == Health::Healthy)
        .await;

    server.delete("Kustomization", "flux-system", "jobs");
    live.until("jobs to be deleted", |r| {
        r.as_ref()
            .is_ok_and(|s| s.apps.len() == 2 && s.apps.iter().all(|a| a.name != "flux-system/jobs"))
    })
    .await
    .expect("snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_resource_version_makes_the_watcher_list_again() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = Arc::new(source("flux-prod", &fixture, "prod"));
    let mut live = watch(flux, 0);
    live.until_app("flux-system/api", |a| a.sync == SyncStatus::OutOfSync)
        .await;
    let lists_before = server
        .requests()
        .iter()
        .filter(|r| r.contains("/kustomizations?") && !r.contains("watch=true"))
        .count();

    // The change happens while the history before it is forgotten: the
    // resumed watch gets 410 Gone, and only a new list can show it.
    server.compact_with(kustomization(
        "flux-system",
        "api",
        SHA_B,
        ready("True", "ReconciliationSucceeded", "Applied"),
    ));
    live.until_app("flux-system/api", |a| a.sync == SyncStatus::Synced)
        .await;
    assert!(server.gone_served() >= 1, "the server answered 410 Gone");
    let lists_after = server
        .requests()
        .iter()
        .filter(|r| r.contains("/kustomizations?") && !r.contains("watch=true"))
        .count();
    assert!(lists_after > lists_before, "the watcher listed again");
}

/// A cluster (or a wrong URL) that serves no Flux kind at all: every list
/// and watch answers 404. That is an error, not an empty, healthy source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_serving_no_flux_kind_is_an_error_read_and_watched() {
    let server = wiremock::MockServer::start().await; // 404 to everything
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = write_kubeconfig(
        dir.path(),
        &[("bare", server.uri(), User::Token(TOKEN.into()))],
    );
    let fixture = Fixture {
        _dir: dir,
        kubeconfig,
    };
    let flux = Arc::new(source("flux-bare", &fixture, "bare"));
    let e = flux.fetch().await.expect_err("nothing served").to_string();
    assert!(
        e.contains("none of the Flux kinds")
            && e.contains(&format!("served at {} (404)", server.uri()))
            && e.contains("is Flux installed in this cluster"),
        "{e}"
    );
    let mut live = watch(flux, 0);
    let down = live
        .until("the watch to say nothing is served", |r| r.is_err())
        .await
        .expect_err("an error");
    assert!(down.contains("none of the Flux kinds"), "{down}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_watch_shows_reconnecting_then_resumes() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = Arc::new(source("flux-prod", &fixture, "prod"));
    let mut live = watch(flux, 0);
    live.until_app("flux-system/web", |a| a.health == Health::Healthy)
        .await;

    server.cut_watches(true);
    let down = live
        .until("the source to say it is reconnecting", |r| r.is_err())
        .await
        .expect_err("an error");
    assert!(down.starts_with("reconnecting: "), "{down}");
    assert!(down.contains("`watch` on"), "says what failed: {down}");

    server.apply(kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready("False", "HealthCheckFailed", "timeout"),
    ));
    server.watches_up();
    live.until_app("flux-system/web", |a| a.health == Health::Degraded)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_ending_at_their_timeout_resume_without_a_relist_or_an_error() {
    let server = cluster().await;
    server.set_watch_timeout(Duration::from_millis(300));
    let fixture = kubeconfig(&[("prod", &server)]);
    let mut live = watch(Arc::new(source("flux-prod", &fixture, "prod")), 0);
    live.until_app("flux-system/web", |a| a.health == Health::Healthy)
        .await;
    let count = |watches: bool| {
        server
            .requests()
            .iter()
            .filter(|r| r.contains("/kustomizations?") && r.contains("watch=true") == watches)
            .count()
    };
    let lists = count(false);
    // Wait until the Kustomization watch has been ended and resumed thrice.
    tokio::time::timeout(WAIT_TIMEOUT, async {
        while count(true) < 4 {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    })
    .await
    .expect("the watch resumed after each timeout");
    server.apply(kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready("False", "HealthCheckFailed", "timeout"),
    ));
    let result = live
        .until("the change or an error", |r| {
            r.as_ref().map_or(true, |s| {
                app(s, "flux-system/web").health == Health::Degraded
            })
        })
        .await;
    assert!(
        result.is_ok(),
        "a watch timeout is not an error: {result:?}"
    );
    assert_eq!(lists, 1, "{:?}", server.requests());
    assert_eq!(count(false), lists, "no relist, only re-watches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_that_goes_silent_without_closing_is_left_and_nothing_is_missed() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    // Refreshing every second: a watch silent for twice that (and past its
    // own one-second end) is dead.
    let mut live = watch(
        Arc::new(flux_with_refresh(&fixture, Duration::from_secs(1))),
        0,
    );
    live.until_app("flux-system/web", |a| a.health == Health::Healthy)
        .await;
    // Each watch asks the API server to end it after one refresh, so a
    // healthy quiet watch is never silent for long.
    tokio::time::timeout(WAIT_TIMEOUT, async {
        while !server
            .requests()
            .iter()
            .any(|r| r.contains("watch=true") && r.contains("timeoutSeconds=1"))
        {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    })
    .await
    .expect("watches with timeoutSeconds=1");

    // The connection stays open and says nothing more; the change happens
    // meanwhile.
    server.silence_watches(true);
    server.apply(kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready("False", "HealthCheckFailed", "timeout"),
    ));
    let down = live
        .until("the silent watch to be noticed", |r| r.is_err())
        .await
        .expect_err("an error");
    assert!(down.starts_with("reconnecting: "), "{down}");
    // The connection comes back: the change made while it was silent shows.
    server.silence_watches(false);
    live.until_app("flux-system/web", |a| a.health == Health::Degraded)
        .await;
}
