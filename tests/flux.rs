//! The Flux source against the test Kubernetes API server in
//! tests/support_kube (list, watch, 410, merge patch, 403, exec
//! credentials), through the real kube-rs client and a kubeconfig written
//! here: mapping, a malformed object among good ones, live changes, a
//! relist after 410 Gone, a cut watch resuming, reconcile / reconcile with
//! source / suspend / resume and their refusals, RBAC and credential
//! failures, two clusters at once, and a rollback that is the linked
//! repository's revert, alike in the dashboard and the real binary.

mod support_kube;

#[path = "common/dashboard.rs"]
mod dashboard;
#[path = "common/feed.rs"]
mod feed;
#[path = "common/git.rs"]
mod git_cmd;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dashboard::dashboard_of;
use git_cmd::git;
use opsdeck::config::{FluxConfig, KubeTarget};
use opsdeck::model::{
    Action, ActionKind, GitOpsApp, Health, Snapshot, SyncStatus, Target, TargetKind,
};
use opsdeck::sources::flux::FluxSource;
use opsdeck::sources::{ActionError, Source, SourceEvent};
use serde_json::json;
use support_kube::objects::{
    REPO_URL, SHA_A, SHA_B, git_repository, helm_release, kustomization, oci_repository, ready,
};
use support_kube::{KubeServer, User, credential_plugin, write_kubeconfig};
use tokio::sync::{Notify, mpsc};

/// How long a test waits for a condition before failing.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
const TOKEN: &str = "cluster-token";
/// How often a test looks at the server's state while waiting on it.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// A server with the `fleet` GitRepository at SHA_B and three
/// Kustomizations: `web` (applied SHA_B, Ready), `api` (applied SHA_A:
/// behind its source) and `jobs` (Ready=False).
async fn cluster() -> KubeServer {
    let server = KubeServer::start().await;
    server.apply(git_repository("flux-system", "fleet", SHA_B));
    server.apply(kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready(
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:bbbb",
        ),
    ));
    server.apply(kustomization(
        "flux-system",
        "api",
        SHA_A,
        ready(
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:aaaa",
        ),
    ));
    server.apply(kustomization(
        "flux-system",
        "jobs",
        SHA_B,
        ready(
            "False",
            "HealthCheckFailed",
            "Deployment/jobs/worker: timeout waiting for rollout",
        ),
    ));
    server
}

struct Fixture {
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

/// A kubeconfig with one token-authenticated context per (name, server).
fn kubeconfig(servers: &[(&str, &KubeServer)]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let contexts: Vec<(&str, String, User)> = servers
        .iter()
        .map(|(name, s)| (*name, s.url(), User::Token(TOKEN.into())))
        .collect();
    let kubeconfig = write_kubeconfig(dir.path(), &contexts);
    Fixture {
        _dir: dir,
        kubeconfig,
    }
}

fn source(name: &str, fixture: &Fixture, context: &str) -> FluxSource {
    FluxSource::new(
        name,
        FluxConfig {
            cluster: KubeTarget {
                context: Some(context.into()),
                kubeconfig: Some(fixture.kubeconfig.clone()),
                namespaces: Vec::new(),
            },
        },
        Duration::from_secs(60),
    )
}

fn app<'a>(snapshot: &'a Snapshot, name: &str) -> &'a GitOpsApp {
    snapshot
        .apps
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = snapshot.apps.iter().map(|a| a.name.as_str()).collect();
            panic!("no app {name} in {names:?}")
        })
}

/// A running watch of one source.
struct Watching {
    rx: mpsc::Receiver<SourceEvent>,
    task: tokio::task::JoinHandle<()>,
    /// The state the events so far leave (what the app side shows).
    current: Snapshot,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn watch(source: Arc<FluxSource>, index: usize) -> Watching {
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        let wake = Notify::new();
        source.watch(index, &tx, &wake).await;
    });
    Watching {
        rx,
        task,
        current: Snapshot::default(),
    }
}

impl Watching {
    /// The first event satisfying `cond`, within WAIT_TIMEOUT.
    async fn until(
        &mut self,
        what: &str,
        cond: impl Fn(&Result<Snapshot, String>) -> bool,
    ) -> Result<Snapshot, String> {
        let mut last = None;
        let found = tokio::time::timeout(WAIT_TIMEOUT, async {
            while let Some(event) = self.rx.recv().await {
                let result = feed::fold(&mut self.current, event.result);
                if cond(&result) {
                    return Some(result);
                }
                last = Some(format!("{:?}", result.as_ref().map(|s| s.apps.len())));
            }
            None
        })
        .await;
        match found {
            Ok(Some(result)) => result,
            _ => panic!("waited {WAIT_TIMEOUT:?} for {what}; last event: {last:?}"),
        }
    }

    /// The first snapshot in which `name` satisfies `cond`.
    async fn until_app(&mut self, name: &str, cond: impl Fn(&GitOpsApp) -> bool) -> Snapshot {
        let result = self
            .until(name, |r| {
                r.as_ref()
                    .is_ok_and(|s| s.apps.iter().any(|a| a.name == name && cond(a)))
            })
            .await;
        result.expect("a snapshot")
    }
}

fn action(kind: ActionKind, source: &str, app: &str) -> Action {
    Action {
        kind,
        target: Target::new(source, TargetKind::App, app),
        to: None,
        effect: format!("{kind} {app}"),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    }
}

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
async fn reconcile_patches_the_annotation_and_reports_ready_once_handled() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    flux.fetch().await.expect("fetch");

    let outcome = flux
        .execute(&action(
            ActionKind::Reconcile,
            "flux-prod",
            "flux-system/jobs",
        ))
        .await
        .expect("reconcile");
    let object = server
        .get("Kustomization", "flux-system", "jobs")
        .expect("object");
    let requested = object
        .pointer("/metadata/annotations/reconcile.fluxcd.io~1requestedAt")
        .and_then(|v| v.as_str())
        .expect("the annotation was patched");
    assert!(
        chrono::DateTime::parse_from_rfc3339(requested).is_ok(),
        "RFC 3339: {requested}"
    );
    assert_eq!(
        object
            .pointer("/status/lastHandledReconcileAt")
            .and_then(|v| v.as_str()),
        Some(requested),
        "the controller handled that request"
    );
    assert!(
        outcome.starts_with(
            "Kustomization flux-system/jobs reconciled: Ready (ReconciliationSucceeded"
        ),
        "{outcome}"
    );
    let patches: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH"))
        .collect();
    assert_eq!(
        patches.len(),
        1,
        "one merge patch, nothing else changed: {patches:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_the_controller_fails_is_reported_not_ready() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    flux.fetch().await.expect("fetch");
    server.set_controller(false);
    let run = tokio::spawn({
        let flux = Arc::new(flux);
        async move {
            flux.execute(&action(
                ActionKind::Reconcile,
                "flux-prod",
                "flux-system/web",
            ))
            .await
        }
    });
    // Play the controller by hand: handle the request, but fail.
    let requested = tokio::time::timeout(WAIT_TIMEOUT, async {
        loop {
            if let Some(r) = server
                .get("Kustomization", "flux-system", "web")
                .and_then(|o| {
                    o.pointer("/metadata/annotations/reconcile.fluxcd.io~1requestedAt")
                        .and_then(|v| v.as_str().map(str::to_string))
                })
            {
                return r;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    })
    .await
    .expect("the reconcile request");
    let mut failed = kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready(
            "False",
            "ReconciliationFailed",
            "apply failed: webhook denied",
        ),
    );
    failed["metadata"]["annotations"] = json!({"reconcile.fluxcd.io/requestedAt": requested});
    failed["status"]["lastHandledReconcileAt"] = json!(requested);
    server.apply(failed);
    let outcome = run.await.expect("task").expect("handled");
    assert_eq!(
        outcome,
        "Kustomization flux-system/web reconciled, but it is NOT Ready (Ready=False): \
         ReconciliationFailed: apply failed: webhook denied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_with_source_reconciles_the_git_repository_first() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    flux.fetch().await.expect("fetch");
    // `s` (sync) and `opsdeck reconcile --with-source` (what a follow after
    // a push sends) are the same two requests.
    for (done, kind) in [ActionKind::Sync, ActionKind::ReconcileWithSource]
        .into_iter()
        .enumerate()
    {
        let outcome = flux
            .execute(&action(kind, "flux-prod", "flux-system/api"))
            .await
            .expect("reconcile with source");
        assert!(
            outcome.starts_with("GitRepository flux-system/fleet reconciled: Ready")
                && outcome.contains("; then Kustomization flux-system/api reconciled: Ready"),
            "{kind}: {outcome}"
        );
        let patches: Vec<String> = server
            .requests()
            .into_iter()
            .filter(|r| r.starts_with("PATCH"))
            .skip(2 * done)
            .collect();
        assert_eq!(patches.len(), 2, "{kind}: {patches:?}");
        assert!(patches[0].contains("/gitrepositories/fleet"), "{patches:?}");
        assert!(patches[1].contains("/kustomizations/api"), "{patches:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume_patch_spec_suspend_and_a_suspended_object_refuses_reconcile() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    flux.fetch().await.expect("fetch");
    let id = "flux-system/web";

    let said = flux
        .execute(&action(ActionKind::Suspend, "flux-prod", id))
        .await
        .expect("suspend");
    assert_eq!(
        said,
        "Kustomization flux-system/web suspended (spec.suspend = true)"
    );
    let object = server
        .get("Kustomization", "flux-system", "web")
        .expect("web");
    assert_eq!(object.pointer("/spec/suspend"), Some(&json!(true)));
    assert_eq!(
        object.pointer("/spec/path"),
        Some(&json!("./apps/web")),
        "a merge patch keeps the rest"
    );
    let snapshot = flux.fetch().await.expect("fetch");
    assert!(app(&snapshot, id).suspended);

    for kind in [
        ActionKind::Reconcile,
        ActionKind::Sync,
        ActionKind::ReconcileWithSource,
    ] {
        let refused = flux
            .execute(&action(kind, "flux-prod", id))
            .await
            .expect_err("refused");
        let ActionError::Rejected(why) = refused else {
            panic!("{kind}: not a refusal: {refused:?}");
        };
        assert!(why.contains("is suspended"), "{kind}: {why}");
    }
    let annotated = server
        .get("Kustomization", "flux-system", "web")
        .expect("web")
        .pointer("/metadata/annotations")
        .cloned();
    assert_eq!(annotated, None, "no reconcile was requested");

    let said = flux
        .execute(&action(ActionKind::Resume, "flux-prod", id))
        .await
        .expect("resume");
    assert_eq!(
        said,
        "Kustomization flux-system/web resumed (spec.suspend = false)"
    );
    assert_eq!(
        server
            .get("Kustomization", "flux-system", "web")
            .expect("web")
            .pointer("/spec/suspend"),
        Some(&json!(false))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_has_no_rollback_of_its_own() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    flux.fetch().await.expect("fetch");
    let refused = flux
        .execute(&action(
            ActionKind::Rollback,
            "flux-prod",
            "flux-system/web",
        ))
        .await
        .expect_err("refused");
    assert!(
        matches!(&refused, ActionError::Rejected(w) if w.starts_with("Flux has no rollback of its own")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_requests_name_the_verb_resource_and_namespace() {
    let server = cluster().await;
    server.forbid("patch", "kustomizations");
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    flux.fetch().await.expect("fetch");
    let refused = flux
        .execute(&action(ActionKind::Suspend, "flux-prod", "flux-system/web"))
        .await
        .expect_err("refused");
    let ActionError::Rejected(why) = refused else {
        panic!("not a refusal: {refused:?}");
    };
    assert!(
        why.starts_with(
            "flux-prod: the cluster refused `patch` on kustomizations.kustomize.toolkit.fluxcd.io \
             in namespace flux-system (403 Forbidden): "
        ),
        "{why}"
    );
    assert!(
        why.contains("User \"tester\" cannot patch"),
        "the server's words: {why}"
    );

    server.forbid("list", "helmreleases");
    let err = flux.fetch().await.expect_err("refused");
    assert_eq!(
        err.to_string().split(" (403").next(),
        Some(
            "not allowed: flux-prod: the cluster refused `list` on helmreleases.helm.toolkit.fluxcd.io \
             in all namespaces"
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_credential_plugin_supplies_the_token_and_a_missing_one_is_reported() {
    let server = cluster().await;
    server.require_token("from-plugin");
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = credential_plugin(dir.path(), "from-plugin");
    let missing = dir.path().join("no-such-credential-plugin");
    let kubeconfig = write_kubeconfig(
        dir.path(),
        &[
            (
                "sso",
                server.url(),
                User::Exec(plugin.display().to_string(), vec!["get-token".into()]),
            ),
            (
                "broken",
                server.url(),
                User::Exec(missing.display().to_string(), Vec::new()),
            ),
        ],
    );
    let with = |context: &str| {
        FluxSource::new(
            &format!("flux-{context}"),
            FluxConfig {
                cluster: KubeTarget {
                    context: Some(context.into()),
                    kubeconfig: Some(kubeconfig.clone()),
                    namespaces: vec!["flux-system".into()],
                },
            },
            Duration::from_secs(60),
        )
    };
    let snapshot = with("sso").fetch().await.expect("the plugin's token works");
    assert_eq!(snapshot.apps.len(), 3);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.contains("/namespaces/flux-system/")),
        "only the configured namespace is read"
    );

    let err = with("broken").fetch().await.expect_err("no plugin");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "not allowed: flux-broken: the kubeconfig's credential plugin could not be started"
        ),
        "{text}"
    );
    assert!(!text.contains("from-plugin"), "no token in messages");

    // Live: the watch reports it too, and keeps going.
    let flux = Arc::new(with("broken"));
    let mut live = watch(flux, 0);
    let down = live
        .until("the plugin failure", |r| r.is_err())
        .await
        .expect_err("error");
    assert!(
        down.contains("credential plugin could not be started"),
        "{down}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_context_is_reported_and_no_context_means_the_current_one() {
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let err = source("flux-x", &fixture, "staging")
        .fetch()
        .await
        .expect_err("no such context");
    assert!(
        err.to_string()
            .ends_with("has no context `staging` (it has: prod)"),
        "{err}"
    );

    // Without `context`, the kubeconfig's current one, named as the cluster.
    let current = FluxSource::new(
        "flux-current",
        FluxConfig {
            cluster: KubeTarget {
                context: None,
                kubeconfig: Some(fixture.kubeconfig.clone()),
                namespaces: Vec::new(),
            },
        },
        Duration::from_secs(60),
    );
    let snapshot = current.fetch().await.expect("the current context");
    assert!(
        !snapshot.apps.is_empty() && snapshot.apps.iter().all(|a| a.cluster == "prod"),
        "{:?}",
        snapshot.apps.iter().map(|a| &a.cluster).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clusters_are_watched_side_by_side() {
    let prod = cluster().await;
    let staging = KubeServer::start().await;
    staging.apply(git_repository("flux-system", "fleet", SHA_A));
    staging.apply(kustomization(
        "flux-system",
        "web",
        SHA_A,
        ready("True", "ReconciliationSucceeded", "Applied"),
    ));
    let fixture = kubeconfig(&[("prod", &prod), ("staging", &staging)]);
    let mut a = watch(Arc::new(source("flux-prod", &fixture, "prod")), 0);
    let mut b = watch(Arc::new(source("flux-staging", &fixture, "staging")), 1);
    let from_a = a
        .until_app("flux-system/web", |w| w.revision.as_deref() == Some(SHA_B))
        .await;
    let from_b = b
        .until_app("flux-system/web", |w| w.revision.as_deref() == Some(SHA_A))
        .await;
    assert_eq!(from_a.apps.len(), 3);
    assert_eq!(from_b.apps.len(), 1);
    assert!(
        from_a
            .apps
            .iter()
            .all(|x| x.source == "flux-prod" && x.cluster == "prod")
    );
    assert!(
        from_b
            .apps
            .iter()
            .all(|x| x.source == "flux-staging" && x.cluster == "staging")
    );

    // A change on one cluster reaches only its source.
    staging.apply(kustomization(
        "flux-system",
        "web",
        SHA_A,
        ready("False", "HealthCheckFailed", "staging is down"),
    ));
    b.until_app("flux-system/web", |w| w.health == Health::Degraded)
        .await;
    assert_eq!(
        prod.get("Kustomization", "flux-system", "web")
            .map(|o| o["status"]["conditions"][0]["status"].clone()),
        Some(json!("True"))
    );
}

/// The dashboard with this Flux source's apps and a desired-state
/// repository app for `apps/web` of the same repository (linked by URL and
/// path, as the link pass does for a `git` source).
async fn dashboard_with_repository(flux: &FluxSource) -> opsdeck::app::State {
    use opsdeck::app::state::SourceState;
    use opsdeck::app::{Keymap, Msg, State, update};
    use opsdeck::model::{Commit, Deployment, Provides, RepoInfo};
    let snapshot = flux.fetch().await.expect("fetch");
    let mut repo_app = app(&snapshot, "flux-system/web").clone();
    repo_app.source = "fleet".into();
    repo_app.name = "web".into();
    // A repository app's history: the commits touching its folder.
    repo_app.history = [(SHA_B, "web: 3 replicas"), (SHA_A, "web: first version")]
        .into_iter()
        .map(|(sha, subject)| Deployment {
            id: sha.into(),
            revision: sha.into(),
            deployed_at: None,
            started_at: None,
            failed: false,
            author: Some("Ada".into()),
            message: Some(subject.into()),
        })
        .collect();
    repo_app.repo = Some(RepoInfo {
        branch: "main".into(),
        head: SHA_B.into(),
        commits: [(SHA_B, "web: 3 replicas"), (SHA_A, "web: first version")]
            .into_iter()
            .map(|(sha, subject)| Commit {
                sha: sha.into(),
                author: "Ada".into(),
                time: None,
                subject: subject.into(),
                touches_app: true,
            })
            .collect(),
        push: "direct".into(),
        link: None,
        diffs: Vec::new(),
        follow: Duration::from_secs(60),
    });
    let gitops = Provides {
        gitops: true,
        ..Provides::default()
    };
    let flux_state = SourceState::new("flux-prod", "flux", gitops, false).with_actions(
        [
            ActionKind::Reconcile,
            ActionKind::Sync,
            ActionKind::Suspend,
            ActionKind::Resume,
        ]
        .into_iter()
        .filter(|k| flux.supports(*k)),
    );
    let repo_state =
        SourceState::new("fleet", "git", gitops, false).with_actions([ActionKind::Rollback]);
    let now = chrono::Utc::now();
    let mut state = State::new(vec![flux_state, repo_state], Keymap::default(), false, now);
    for (source, apps) in [(0, snapshot.apps), (1, vec![repo_app])] {
        update(
            &mut state,
            Msg::Source(SourceEvent {
                source,
                at: now,
                result: Ok(Snapshot {
                    apps,
                    ..Snapshot::default()
                }
                .into()),
            }),
        );
    }
    state
}

fn select(state: &mut opsdeck::app::State, source: &str, name: &str) {
    use opsdeck::app::{Command, Msg, update};
    update(state, Msg::Command(Command::TabGitops));
    update(state, Msg::Command(Command::Top));
    let tab = opsdeck::app::state::Tab::GitOps;
    let index = state
        .pane(tab)
        .rows
        .iter()
        .position(|r| {
            state
                .app(*r)
                .is_some_and(|a| a.source == source && a.name == name)
        })
        .unwrap_or_else(|| panic!("{source}/{name} is not in the GitOps tab"));
    for _ in 0..index {
        update(state, Msg::Command(Command::Down));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_of_a_flux_app_is_the_linked_repository_revert_or_is_explained() {
    use opsdeck::app::state::Overlay;
    use opsdeck::app::{Command, Msg, update};
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    assert!(
        !flux.supports(ActionKind::Rollback),
        "not Flux's own action"
    );
    let mut state = dashboard_with_repository(&flux).await;

    select(&mut state, "flux-prod", "flux-system/web");
    let effects = update(&mut state, Msg::Command(Command::Rollback));
    assert!(effects.is_empty(), "nothing runs before a choice");
    let Some(Overlay::Picker(picker)) = &state.overlay else {
        panic!(
            "the revert picker, not {:?} ({:?})",
            state.overlay, state.status
        );
    };
    assert_eq!(picker.kind, ActionKind::Rollback);
    assert_eq!(
        picker.target,
        Target::new("fleet", TargetKind::App, "web"),
        "the repository app's revert"
    );

    state.overlay = None;
    select(&mut state, "flux-prod", "flux-system/api");
    update(&mut state, Msg::Command(Command::Rollback));
    assert_eq!(state.overlay, None, "nothing offered");
    let said = state
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(
        said.starts_with("flux-prod/flux-system/api: Flux has no rollback of its own"),
        "{said}"
    );
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

/// A Flux source on the "prod" context that refreshes every `refresh`.
fn flux_with_refresh(fixture: &Fixture, refresh: Duration) -> FluxSource {
    FluxSource::new(
        "flux-prod",
        FluxConfig {
            cluster: KubeTarget {
                context: Some("prod".into()),
                kubeconfig: Some(fixture.kubeconfig.clone()),
                namespaces: Vec::new(),
            },
        },
        refresh,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_reads_two_clusters_and_suspends_headless() {
    let prod = cluster().await;
    let staging = KubeServer::start().await;
    staging.apply(git_repository("flux-system", "fleet", SHA_A));
    staging.apply(kustomization(
        "flux-system",
        "web",
        SHA_A,
        ready("True", "ReconciliationSucceeded", "Applied"),
    ));
    let fixture = kubeconfig(&[("prod", &prod), ("staging", &staging)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let kubeconfig = fixture.kubeconfig.display().to_string();
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"flux-prod\"\nkind = \"flux\"\ncontext = \"prod\"\nkubeconfig = \"{kubeconfig}\"\n\n\
             [[source]]\nname = \"flux-staging\"\nkind = \"flux\"\ncontext = \"staging\"\nkubeconfig = \"{kubeconfig}\"\n"
        ),
    )
    .expect("config");
    let opsdeck = |args: &[&str]| binary(&config, dir.path(), args);

    let out = opsdeck(&["status", "--format", "json"])
        .output()
        .await
        .expect("runs");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let apps: Vec<(String, String, String, String)> = status["gitops"]
        .as_array()
        .expect("gitops")
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
            (s("source"), s("app"), s("cluster"), s("health"))
        })
        .collect();
    for want in [
        ("flux-prod", "flux-system/jobs", "prod", "degraded"),
        ("flux-prod", "flux-system/web", "prod", "healthy"),
        ("flux-staging", "flux-system/web", "staging", "healthy"),
    ] {
        let want = (
            want.0.to_string(),
            want.1.to_string(),
            want.2.to_string(),
            want.3.to_string(),
        );
        assert!(apps.contains(&want), "{want:?} in {apps:?}");
    }
    assert_eq!(out.status.code(), Some(1), "jobs is degraded");

    let out = opsdeck(&["suspend", "flux-staging/flux-system/web", "--yes"])
        .output()
        .await
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Kustomization flux-system/web suspended (spec.suspend = true)"),
        "{stdout}"
    );
    assert_eq!(
        staging
            .get("Kustomization", "flux-system", "web")
            .and_then(|o| o.pointer("/spec/suspend").cloned()),
        Some(json!(true))
    );
    assert_eq!(
        prod.get("Kustomization", "flux-system", "web")
            .and_then(|o| o.pointer("/spec/suspend").cloned()),
        None,
        "the other cluster is untouched"
    );

    // `reconcile --with-source`: the GitRepository, then the object.
    let out = opsdeck(&[
        "reconcile",
        "flux-prod/flux-system/api",
        "--with-source",
        "--yes",
    ])
    .output()
    .await
    .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(
            "will reconcile the source of flux-prod/flux-system/api (prod/api), then \
             flux-prod/flux-system/api"
        ) && stdout.contains("GitRepository flux-system/fleet reconciled: Ready")
            && stdout.contains("then Kustomization flux-system/api reconciled"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_with_source_of_a_chart_template_reconciles_its_helm_chart_first() {
    let server = cluster().await;
    let mut release = helm_release("podinfo", "podinfo");
    release["spec"] = json!({
        "interval": "5m",
        "chart": {"spec": {"chart": "podinfo", "version": "6.x",
                           "sourceRef": {"kind": "HelmRepository", "name": "podinfo", "namespace": "flux-system"}}}
    });
    server.apply(release);
    server.apply(json!({
        "kind": "HelmChart",
        "metadata": {"name": "podinfo-podinfo", "namespace": "flux-system"},
        "spec": {"chart": "podinfo", "version": "6.x", "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}},
        "status": {"conditions": [ready("True", "ChartPullSucceeded", "pulled podinfo@6.5.4")]}
    }));
    let fixture = kubeconfig(&[("prod", &server)]);
    let flux = source("flux-prod", &fixture, "prod");
    flux.fetch().await.expect("fetch");
    let outcome = flux
        .execute(&action(ActionKind::Sync, "flux-prod", "podinfo/podinfo"))
        .await
        .expect("reconcile with source");
    assert!(
        outcome.starts_with("HelmChart flux-system/podinfo-podinfo reconciled: Ready")
            && outcome.contains("then HelmRelease podinfo/podinfo reconciled: Ready"),
        "{outcome}"
    );
    let patches: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH"))
        .collect();
    assert_eq!(
        patches,
        [
            "PATCH /apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/helmcharts/podinfo-podinfo?",
            "PATCH /apis/helm.toolkit.fluxcd.io/v2/namespaces/podinfo/helmreleases/podinfo?"
        ]
    );
}

/// The real binary on `config`, its state under `state_dir`, no terminal.
fn binary(
    config: &std::path::Path,
    state_dir: &std::path::Path,
    args: &[&str],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env("XDG_STATE_HOME", state_dir)
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::null());
    cmd
}

/// A bare remote whose `apps/web` went from 2 to 3 replicas, and the clone
/// a `git` source works in. Returns the clone.
fn fleet_repository(root: &std::path::Path) -> PathBuf {
    git(root, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
    git(root, &["clone", "-q", "remote.git", "seed"]);
    let seed = root.join("seed");
    git(&seed, &["checkout", "-q", "-b", "main"]);
    for (replicas, subject) in [(2, "web: first version"), (3, "web: 3 replicas")] {
        std::fs::create_dir_all(seed.join("apps/web")).expect("mkdir");
        std::fs::write(
            seed.join("apps/web/values.yaml"),
            format!("replicas: {replicas}\n"),
        )
        .expect("write");
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "-q", "-m", subject]);
    }
    git(&seed, &["push", "-q", "origin", "main"]);
    git(root, &["clone", "-q", "remote.git", "clone"]);
    let clone = root.join("clone");
    git(&clone, &["config", "user.name", "On Call"]);
    git(&clone, &["config", "user.email", "oncall@example.com"]);
    clone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flux_rollback_is_the_same_revert_in_the_dashboard_and_headless() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use opsdeck::app::state::Overlay;
    use opsdeck::app::{Command, Msg, update};
    let server = cluster().await;
    let fixture = kubeconfig(&[("prod", &server)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let clone = fleet_repository(dir.path());
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"flux-prod\"\nkind = \"flux\"\ncontext = \"prod\"\nkubeconfig = \"{}\"\n\n\
             [[source]]\nname = \"fleet\"\nkind = \"git\"\npath = \"{}\"\nbranch = \"main\"\nfollow = \"1s\"\n\n\
             [[source.app]]\nname = \"web\"\npath = \"apps/web\"\nlink = \"flux-prod/flux-system/web\"\n",
            fixture.kubeconfig.display(),
            clone.display()
        ),
    )
    .expect("config");
    let opsdeck = |args: &[&str]| binary(&config, dir.path(), args);

    // The dashboard: `b` on the Flux app, the picker's default, the confirmation.
    let mut state = dashboard_of(&config).await;
    select(&mut state, "flux-prod", "flux-system/web");
    update(&mut state, Msg::Command(Command::Rollback));
    assert!(
        matches!(state.overlay, Some(Overlay::Picker(_))),
        "the revert picker, not {:?} ({:?})",
        state.overlay,
        state.status
    );
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    update(&mut state, Msg::Key(enter));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!(
            "a confirmation, not {:?} ({:?})",
            state.overlay, state.status
        );
    };
    let on_screen = confirm.action;
    assert_eq!(on_screen.kind, ActionKind::Rollback);
    assert_eq!(
        on_screen.target,
        Target::new("fleet", TargetKind::App, "web")
    );
    assert!(
        on_screen.effect.starts_with("revert ")
            && on_screen.effect.contains("\"web: 3 replicas\"")
            && on_screen
                .effect
                .ends_with("then refresh flux-prod/flux-system/web and follow it"),
        "{}",
        on_screen.effect
    );

    // Headless: the same action, sent: the revert is pushed, the Flux app reconciled.
    let out = opsdeck(&["rollback", "flux-prod/flux-system/web", "--yes"])
        .output()
        .await
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().next(),
        Some(format!("will {}", on_screen.effect).as_str()),
        "{stdout}"
    );
    assert!(stdout.contains("pushed to main"), "{stdout}");
    let remote = dir.path().join("remote.git");
    assert_eq!(
        git(&remote, &["show", "main:apps/web/values.yaml"]),
        "replicas: 2"
    );
    assert!(
        git(&remote, &["log", "-1", "--format=%s", "main"]).starts_with("Revert"),
        "a revert commit on top"
    );
    assert!(
        server
            .get("Kustomization", "flux-system", "web")
            .and_then(|o| o
                .pointer("/metadata/annotations/reconcile.fluxcd.io~1requestedAt")
                .cloned())
            .is_some(),
        "the Flux app was asked to reconcile after the push"
    );

    // A Flux app without a repository: the same refusal in both.
    let mut state = dashboard_of(&config).await;
    select(&mut state, "flux-prod", "flux-system/api");
    update(&mut state, Msg::Command(Command::Rollback));
    assert_eq!(state.overlay, None, "nothing offered");
    let said = state.status.as_ref().map(|s| s.text.clone());
    assert_eq!(
        said,
        Some(format!(
            "flux-prod/flux-system/api: {}",
            opsdeck::sources::flux::NO_ROLLBACK
        ))
    );
    let out = opsdeck(&["rollback", "flux-prod/flux-system/api", "--yes"])
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!("opsdeck: {}", said.unwrap_or_default())
    );
}
