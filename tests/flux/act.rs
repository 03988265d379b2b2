//! Acting: reconcile (with its source first, or not), suspend and resume
//! and their refusals, no rollback of Flux's own.

use super::*;

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
    let patches: Vec<String> = server.patches();
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
        let patches: Vec<String> = server.patches().into_iter().skip(2 * done).collect();
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
    let patches: Vec<String> = server.patches();
    assert_eq!(
        patches,
        [
            "PATCH /apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/helmcharts/podinfo-podinfo?",
            "PATCH /apis/helm.toolkit.fluxcd.io/v2/namespaces/podinfo/helmreleases/podinfo?"
        ]
    );
}
