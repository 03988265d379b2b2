//! Access: RBAC refusals, exec credential plugins, contexts, and two
//! clusters watched side by side.

use super::*;

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
