//! The tofu source against the test Kubernetes API server in
//! tests/support_kube (Terraform objects, infra.contrib.fluxcd.io/v1alpha2,
//! listed and watched through the real kube-rs client): the rows by every
//! state, a live change, the detail, and reconcile (with its source first,
//! or not) / suspend / resume.
//! Approving a plan: tests/tofu_approve.rs.

mod support_kube;

#[path = "common/feed.rs"]
mod feed;

use opsdeck::model::{ActionKind, Health, Snapshot, SyncStatus};
use opsdeck::sources::Source;
use serde_json::{Value, json};
use support_kube::objects::{SHA_A, SHA_B, plan_id};
use support_kube::tofu::{WAIT_TIMEOUT, action, app, cluster, kubeconfig, source, stored};
use tokio::sync::{Notify, mpsc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_objects_are_rows_listed_and_followed_live() {
    let server = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tofu = std::sync::Arc::new(source(&kubeconfig(dir.path(), &server)));
    let snapshot = tofu.fetch().await.expect("fetch");
    let names: Vec<&str> = snapshot.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["infra/db", "infra/dns", "infra/queue", "infra/vpc"]);

    let vpc = app(&snapshot, "infra/vpc");
    assert_eq!(
        (vpc.sync, vpc.health),
        (SyncStatus::OutOfSync, Health::Healthy)
    );
    assert_eq!(vpc.cluster, "prod");
    assert_eq!(vpc.revision.as_deref(), Some(SHA_A));
    assert_eq!(vpc.target_revision.as_deref(), Some(SHA_B));
    let plan = vpc.plan.as_ref().expect("a pending plan");
    assert_eq!(plan.id, plan_id(SHA_B));
    assert_eq!(plan.owner.as_deref(), Some("flux-system/infra"));
    let message = vpc.health_message.clone().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "awaiting approval: plan {} of bbbbbbb (approvePlan is manual)",
            plan_id(SHA_B)
        )),
        "{message}"
    );

    let dns = app(&snapshot, "infra/dns");
    assert_eq!(
        (dns.sync, dns.health),
        (SyncStatus::OutOfSync, Health::Healthy)
    );
    assert!(
        dns.health_message
            .as_deref()
            .is_some_and(|m| m.contains("drift detected at 2026-11-22T09:25:00Z")),
        "{:?}",
        dns.health_message
    );
    let db = app(&snapshot, "infra/db");
    assert_eq!((db.sync, db.health), (SyncStatus::Synced, Health::Healthy));
    let queue = app(&snapshot, "infra/queue");
    assert_eq!(queue.health, Health::Degraded);

    // The detail: approval mode, the plan, drift, every condition.
    let detail = tofu.app_detail("infra/vpc").await.expect("detail");
    let rows: Vec<(String, String)> = detail
        .results
        .iter()
        .map(|r| (r.status.clone(), format!("{}/{}", r.kind, r.name)))
        .collect();
    assert_eq!(rows[0], ("manual".into(), "spec/approvePlan".into()));
    assert!(rows.contains(&("pending".into(), format!("plan/{}", plan_id(SHA_B)))));
    assert!(rows.contains(&(
        "Ready=Unknown".into(),
        "condition/TerraformPlannedWithChanges".into()
    )));

    // Live: the watch sends the rows, then the one that changed.
    let (tx, mut rx) = mpsc::channel(64);
    let watching = tofu.clone();
    let task = tokio::spawn(async move {
        watching.watch(0, &tx, &Notify::new()).await;
    });
    let mut current = Snapshot::default();
    let mut wait = async |cond: &dyn Fn(&Snapshot) -> bool| {
        tokio::time::timeout(WAIT_TIMEOUT, async {
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
    wait(&|s| s.apps.len() == 4).await;
    let mut applied = stored(&server, "vpc");
    applied["spec"]["approvePlan"] = json!(plan_id(SHA_B));
    support_kube::objects::tofu_controller_reconciles(&mut applied);
    server.apply(applied);
    let now = wait(&|s| {
        s.apps
            .iter()
            .any(|a| a.name == "infra/vpc" && a.sync == SyncStatus::Synced)
    })
    .await;
    let vpc = app(&now, "infra/vpc");
    assert_eq!(vpc.revision.as_deref(), Some(SHA_B));
    assert_eq!(vpc.plan, None);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_with_source_fetches_the_git_repository_first() {
    let server = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tofu = source(&kubeconfig(dir.path(), &server));
    tofu.fetch().await.expect("fetch");

    let outcome = tofu
        .execute(&action(ActionKind::ReconcileWithSource, "infra/db", None))
        .await
        .expect("reconcile with source");
    assert!(
        outcome.starts_with("GitRepository flux-system/fleet reconciled: Ready")
            && outcome.contains("; then Terraform infra/db reconciled: Ready"),
        "{outcome}"
    );
    let patches: Vec<String> = server.patches();
    assert_eq!(patches.len(), 2, "{patches:?}");
    assert!(
        patches[0].contains("/namespaces/flux-system/gitrepositories/fleet"),
        "the sourceRef's own namespace: {patches:?}"
    );
    assert!(
        patches[1].contains("/namespaces/infra/terraforms/db"),
        "{patches:?}"
    );

    tofu.execute(&action(ActionKind::Suspend, "infra/db", None))
        .await
        .expect("suspend");
    let refused = tofu
        .execute(&action(ActionKind::ReconcileWithSource, "infra/db", None))
        .await
        .expect_err("a suspended object is not reconciled")
        .to_string();
    assert!(refused.contains("is suspended"), "{refused}");
    let sent = server.patches().len();
    assert_eq!(sent, 3, "only the suspend was sent after the first two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_suspend_and_resume_are_the_flux_annotation_and_spec_suspend() {
    let server = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tofu = source(&kubeconfig(dir.path(), &server));
    tofu.fetch().await.expect("fetch");

    let outcome = tofu
        .execute(&action(ActionKind::Reconcile, "infra/db", None))
        .await
        .expect("reconcile");
    let object = stored(&server, "db");
    let requested = object
        .pointer("/metadata/annotations/reconcile.fluxcd.io~1requestedAt")
        .and_then(Value::as_str)
        .expect("the annotation was patched");
    assert_eq!(
        object
            .pointer("/status/lastHandledReconcileAt")
            .and_then(Value::as_str),
        Some(requested)
    );
    assert!(
        outcome.starts_with("Terraform infra/db reconciled: Ready (TerraformPlannedNoChanges"),
        "{outcome}"
    );

    let said = tofu
        .execute(&action(ActionKind::Suspend, "infra/db", None))
        .await
        .expect("suspend");
    assert_eq!(said, "Terraform infra/db suspended (spec.suspend = true)");
    assert_eq!(stored(&server, "db")["spec"]["suspend"], json!(true));
    let refused = tofu
        .execute(&action(ActionKind::Reconcile, "infra/db", None))
        .await
        .expect_err("a suspended object ignores reconcile requests")
        .to_string();
    assert!(refused.contains("is suspended"), "{refused}");
    tofu.execute(&action(ActionKind::Resume, "infra/db", None))
        .await
        .expect("resume");
    assert_eq!(stored(&server, "db")["spec"]["suspend"], json!(false));
    let patches = server.patches();
    assert_eq!(patches.len(), 3, "{patches:?}");
    assert!(
        patches
            .iter()
            .all(|p| p
                .contains("/apis/infra.contrib.fluxcd.io/v1alpha2/namespaces/infra/terraforms/db")),
        "{patches:?}"
    );
}
