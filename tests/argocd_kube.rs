//! The kube mode of the Argo CD source (`context` instead of `url`) against
//! the test Kubernetes API server in tests/support_kube: Application
//! objects watched live and mapped as the REST source maps them, a
//! malformed one among good ones, project and label filters, and the
//! actions as the argocd CLI's core mode does them (refresh annotation,
//! the `operation` field for sync and rollback, auto-sync off), with their
//! refusals (an operation already running, 403, 409).

mod support_kube;

#[path = "common/feed.rs"]
mod feed;

use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::actions::{PlanContext, plan_app};
use opsdeck::config::{ArgoCdKubeConfig, KubeTarget};
use opsdeck::model::{Action, ActionKind, GitOpsApp, Health, Snapshot, SyncOptions, SyncStatus};
use opsdeck::sources::argocd::kube::ArgoCdKubeSource;
use opsdeck::sources::{ActionError, Source};
use serde_json::{Value, json};
use support_kube::objects::{REPO_URL, SHA_A, SHA_B, application};
use support_kube::{KubeServer, User, write_kubeconfig};
use tokio::sync::{Notify, mpsc};

const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

struct Argo {
    server: KubeServer,
    source: Arc<ArgoCdKubeSource>,
    _dir: tempfile::TempDir,
}

async fn argo(project: Option<&str>, selector: Option<&str>) -> Argo {
    let server = KubeServer::start().await;
    server.apply(application("argocd", "web"));
    let mut payments = application("argocd", "payments");
    payments["spec"]["project"] = json!("payments");
    payments["metadata"]["labels"] = json!({"team": "payments"});
    payments["spec"]["syncPolicy"] = json!({"automated": {"prune": true}});
    payments["status"]["sync"] = json!({"status": "OutOfSync", "revision": SHA_B});
    payments["status"]["health"] = json!({"status": "Degraded", "message": "Deployment payments exceeded its progress deadline"});
    server.apply(payments);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = write_kubeconfig(
        dir.path(),
        &[("mgmt", server.url(), User::Token("argo-kube-token".into()))],
    );
    let source = ArgoCdKubeSource::new(
        "argo-mgmt",
        ArgoCdKubeConfig {
            cluster: KubeTarget {
                context: Some("mgmt".into()),
                kubeconfig: Some(kubeconfig),
                namespaces: vec!["argocd".into()],
            },
            project: project.map(str::to_string),
            selector: selector.map(str::to_string),
        },
        Duration::from_secs(60),
    );
    Argo {
        server,
        source: Arc::new(source),
        _dir: dir,
    }
}

fn app<'a>(snapshot: &'a Snapshot, name: &str) -> &'a GitOpsApp {
    snapshot
        .apps
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no app {name}"))
}

fn ctx() -> PlanContext {
    PlanContext {
        read_only: false,
        source_production: false,
        now: chrono::Utc::now(),
        rerun_starts_new: false,
        cancel_marks_failed: false,
    }
}

/// Plan `kind` on `name` from a fresh read, as the TUI would.
async fn plan(argo: &Argo, kind: ActionKind, name: &str, to: Option<&str>) -> Action {
    let snapshot = argo.source.fetch().await.expect("fetch");
    plan_app(kind, app(&snapshot, name), to, ctx()).expect("planned")
}

fn stored(argo: &Argo, name: &str) -> Value {
    argo.server
        .get("Application", "argocd", name)
        .expect("stored")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_map_as_the_rest_source_maps_them_and_follow_live() {
    let argo = argo(None, None).await;
    argo.server.apply(json!({
        "kind": "Application",
        "metadata": {"name": "broken", "namespace": "argocd"},
        "spec": {"source": "not-an-object"}
    }));
    let (tx, mut rx) = mpsc::channel(64);
    let source = argo.source.clone();
    let task = tokio::spawn(async move {
        source.watch(0, &tx, &Notify::new()).await;
    });
    let next = |want: &'static str| {
        move |s: &Snapshot| match want {
            "first" => s.apps.len() == 3,
            _ => s
                .apps
                .iter()
                .any(|a| a.name == "web" && a.health == Health::Progressing),
        }
    };
    let mut wait = async |cond: &dyn Fn(&Snapshot) -> bool| {
        tokio::time::timeout(WAIT_TIMEOUT, async {
            let mut current = Snapshot::default();
            while let Some(event) = rx.recv().await {
                if let Ok(s) = feed::fold(&mut current, event.result)
                    && cond(&s)
                {
                    return s;
                }
            }
            panic!("the watch ended");
        })
        .await
        .expect("in time")
    };
    let snapshot = wait(&next("first")).await;
    let web = app(&snapshot, "web");
    assert_eq!(web.sync, SyncStatus::Synced);
    assert_eq!(web.health, Health::Healthy);
    assert_eq!(web.revision.as_deref(), Some(SHA_B));
    assert_eq!(web.repo_url.as_deref(), Some(REPO_URL));
    assert_eq!(web.path.as_deref(), Some("apps/web"));
    assert_eq!(web.namespace, "web");
    let history: Vec<(&str, &str)> = web
        .history
        .iter()
        .map(|d| (d.id.as_str(), d.revision.as_str()))
        .collect();
    assert_eq!(history, [("2", SHA_B), ("1", SHA_A)], "newest first");
    let payments = app(&snapshot, "payments");
    assert_eq!(payments.sync, SyncStatus::OutOfSync);
    assert_eq!(payments.health, Health::Degraded);
    assert!(payments.auto_sync);
    let broken = app(&snapshot, "broken");
    assert!(
        broken
            .health_message
            .as_deref()
            .is_some_and(|m| m.starts_with("cannot read this Application: ")),
        "{:?}",
        broken.health_message
    );

    let mut progressing = application("argocd", "web");
    progressing["status"]["health"] = json!({"status": "Progressing"});
    argo.server.apply(progressing);
    wait(&next("progressing")).await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_and_label_selector_choose_the_apps() {
    let by_project = argo(Some("payments"), None).await;
    let names: Vec<String> = by_project
        .source
        .fetch()
        .await
        .expect("fetch")
        .apps
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["payments"]);
    let by_label = argo(None, Some("team=web")).await;
    let names: Vec<String> = by_label
        .source
        .fetch()
        .await
        .expect("fetch")
        .apps
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["web"]);
    assert!(
        by_label
            .server
            .requests()
            .iter()
            .any(|r| r.contains("labelSelector=team%3Dweb")),
        "the selector is the server's: {:?}",
        by_label.server.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_is_the_refresh_annotation() {
    let argo = argo(None, None).await;
    let action = plan(&argo, ActionKind::Refresh, "web", None).await;
    let said = argo.source.execute(&action).await.expect("refresh");
    assert_eq!(
        said,
        "normal refresh requested (argocd.argoproj.io/refresh=normal)"
    );
    assert_eq!(
        stored(&argo, "web").pointer("/metadata/annotations/argocd.argoproj.io~1refresh"),
        Some(&json!("normal"))
    );
    let action = plan(&argo, ActionKind::HardRefresh, "web", None).await;
    argo.source.execute(&action).await.expect("hard refresh");
    assert_eq!(
        stored(&argo, "web").pointer("/metadata/annotations/argocd.argoproj.io~1refresh"),
        Some(&json!("hard"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_sets_the_operation_field_and_a_running_one_refuses_another() {
    let argo = argo(None, None).await;
    let mut action = plan(&argo, ActionKind::Sync, "web", None).await;
    action.set_sync_options(SyncOptions {
        prune: true,
        dry_run: false,
    });
    let said = argo.source.execute(&action).await.expect("sync");
    assert_eq!(said, "sync started (operation set on the Application)");
    let operation = stored(&argo, "web")["operation"].clone();
    assert_eq!(
        operation["sync"],
        json!({"revision": "main", "prune": true, "dryRun": false, "syncStrategy": {"hook": {}}})
    );
    assert_eq!(operation["initiatedBy"]["automated"], json!(false));
    assert!(
        operation["initiatedBy"]["username"]
            .as_str()
            .is_some_and(|u| u.starts_with("opsdeck (")),
        "{operation}"
    );

    let refused = argo
        .source
        .execute(&action)
        .await
        .expect_err("an operation is running");
    assert!(
        matches!(&refused, ActionError::Rejected(w) if w.starts_with("another operation is already in progress on web")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_syncs_to_the_history_entry_and_auto_sync_can_be_turned_off() {
    let argo = argo(None, None).await;
    let action = plan(&argo, ActionKind::Rollback, "web", Some("1")).await;
    let said = argo.source.execute(&action).await.expect("rollback");
    assert_eq!(
        said,
        "rollback to history #1 started (operation set on the Application)"
    );
    let sync = stored(&argo, "web")["operation"]["sync"].clone();
    assert_eq!(sync["revision"], json!(SHA_A));
    assert_eq!(sync["source"]["path"], json!("apps/web"));

    let action = plan(&argo, ActionKind::DisableAutoSync, "payments", None).await;
    assert_eq!(
        argo.source.execute(&action).await.expect("auto-sync off"),
        "auto-sync is off"
    );
    let payments = stored(&argo, "payments");
    assert_eq!(
        payments["spec"]["syncPolicy"],
        json!({}),
        "automated removed"
    );
    let snapshot = argo.source.fetch().await.expect("fetch");
    assert!(!app(&snapshot, "payments").auto_sync);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_patch_names_the_verb_resource_and_namespace() {
    let argo = argo(None, None).await;
    argo.server.forbid("patch", "applications");
    let action = plan(&argo, ActionKind::Sync, "web", None).await;
    let refused = argo.source.execute(&action).await.expect_err("403");
    let ActionError::Rejected(why) = refused else {
        panic!("not a refusal: {refused:?}");
    };
    assert!(
        why.starts_with(
            "argo-mgmt: the cluster refused `patch` on applications.argoproj.io in namespace argocd (403 Forbidden): "
        ),
        "{why}"
    );
    assert_eq!(
        stored(&argo, "web").get("operation"),
        None,
        "nothing changed"
    );
}
