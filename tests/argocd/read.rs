//! Reading: the list and its mapping, 401 and 403 in words, the
//! drill-down, and the project/selector scope with the CLI's token.

use super::*;

#[tokio::test]
async fn lists_with_a_field_selection_and_maps_every_app() {
    let f = fixture().await;
    f.serve_list(vec![web(), payments(), auto(), hist()]).await;
    let snapshot = f.source().fetch().await.expect("the list reads");
    assert_eq!(snapshot.apps.len(), 4);

    let request = &f.server.received_requests().await.expect("recorded")[0];
    assert_eq!(
        request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let fields = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "fields")
        .map(|(_, v)| v.to_string())
        .expect("a fields selection");
    for f in [
        "items.metadata.name",
        "items.spec",
        "items.status.sync.status",
        "items.status.health",
        "items.status.operationState.phase",
        "items.status.resources",
        "items.status.reconciledAt",
        "items.status.conditions",
        "items.status.history",
    ] {
        assert!(fields.split(',').any(|x| x == f), "{f} in {fields}");
    }

    let w = app(&snapshot, "web");
    assert_eq!((w.sync, w.health), (SyncStatus::Synced, Health::Healthy));
    assert_eq!(w.revision.as_deref(), Some("bbbbbbb2222222"));
    assert_eq!(w.target_revision.as_deref(), Some("bbbbbbb2222222"));
    assert_eq!(w.cluster, "https://kubernetes.default.svc");
    assert_eq!(w.namespace, "web");
    assert_eq!(
        w.repo_url.as_deref(),
        Some("https://git.example.com/acme/deploy.git")
    );
    assert_eq!(w.path.as_deref(), Some("apps/web"));
    assert!(!w.auto_sync && w.out_of_sync.is_empty());
    let ids: Vec<&str> = w.history.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["2", "1"], "newest first");

    let p = app(&snapshot, "payments");
    assert_eq!(
        (p.sync, p.health),
        (SyncStatus::OutOfSync, Health::Degraded)
    );
    assert_eq!(p.cluster, "prod-eu");
    assert_eq!(
        p.health_message.as_deref(),
        Some("Deployment payments exceeded its progress deadline")
    );
    let drift: Vec<String> = p
        .out_of_sync
        .iter()
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    assert_eq!(drift, ["Deployment/payments", "ConfigMap/payments-config"]);
    let op = p.last_operation.as_ref().expect("an operation");
    assert_eq!(op.phase, OperationPhase::Failed);
    assert!(op.message.contains("admission webhook denied"));
    assert_eq!(op.revision.as_deref(), Some("ddddddd4444444"));

    let a = app(&snapshot, "auto");
    assert!(a.auto_sync);
    assert_eq!(
        a.last_operation.as_ref().map(|o| o.phase),
        Some(OperationPhase::Running)
    );
    assert_eq!(a.history[0].id, "4", "string ids are read too");

    let h = app(&snapshot, "hist");
    assert_eq!(h.history.len(), 10);
    assert_eq!(h.history[0].id, "20");
    assert_eq!(h.history[9].id, "11");
    assert_eq!(h.revision.as_deref(), Some(h.history[0].revision.as_str()));
}

#[tokio::test]
async fn a_403_names_the_source_the_rbac_verb_and_argo_cds_words() {
    let f = fixture().await;
    let denied = json!({"error": "permission denied", "code": 7, "message": "permission denied"});
    Mock::given(method("GET"))
        .and(path("/api/v1/applications"))
        .respond_with(ResponseTemplate::new(403).set_body_json(&denied))
        .mount(&f.server)
        .await;
    let e = f.source().fetch().await.expect_err("refused");
    assert_eq!(
        e.to_string(),
        "not allowed: argo: Argo CD refused RBAC `get` on applications (403 reading the application list): permission denied"
    );

    Mock::given(method("POST"))
        .and(path("/api/v1/applications/web/sync"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": "permission denied: applications, sync, default/web, sub: ci, iat: 2026-11-20T00:00:00Z",
            "code": 7,
            "message": "permission denied: applications, sync, default/web, sub: ci, iat: 2026-11-20T00:00:00Z"
        })))
        .mount(&f.server)
        .await;
    let snapshot = Snapshot {
        apps: vec![opsdeck::sources::argocd::api::to_app(
            "argo",
            serde_json::from_value(web()).expect("app"),
        )],
        ..Snapshot::default()
    };
    let action = plan_app(ActionKind::Sync, &snapshot.apps[0], None, ctx()).expect("planned");
    let outcome = f.executor().execute(1, &action).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "argo: Argo CD refused RBAC `sync` on applications/web (403): permission denied: \
             applications, sync, default/web, sub: ci, iat: 2026-11-20T00:00:00Z"
                .into()
        )
    );
    let audit = f.audit_lines();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1]["outcome"], "failed");
}

#[tokio::test]
async fn a_401_says_to_log_in_again() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/applications"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid session: token is expired", "code": 16, "message": "invalid session: token is expired"}),
        ))
        .mount(&f.server)
        .await;
    let e = f.source().fetch().await.expect_err("refused").to_string();
    assert!(
        e.contains("argo: Argo CD did not accept the token")
            && e.contains("invalid session: token is expired")
            && e.contains("set `token`"),
        "{e}"
    );
    assert!(!e.contains(TOKEN));
}

#[tokio::test]
async fn the_drill_down_loads_results_authors_tree_and_diff() {
    let f = fixture().await;
    let full = payments();
    Mock::given(method("GET"))
        .and(path("/api/v1/applications/payments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&full))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/applications/payments/resource-tree"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"nodes": [
            {"group": "apps", "kind": "ReplicaSet", "namespace": "payments", "name": "payments-7d9", "uid": "rs1",
             "parentRefs": [{"kind": "Deployment", "name": "payments", "uid": "d1"}], "health": {"status": "Degraded"}},
            {"kind": "Pod", "namespace": "payments", "name": "payments-7d9-x1", "uid": "p1",
             "parentRefs": [{"kind": "ReplicaSet", "uid": "rs1"}], "health": {"status": "Degraded", "message": "CrashLoopBackOff"}},
            {"group": "apps", "kind": "Deployment", "namespace": "payments", "name": "payments", "uid": "d1", "health": {"status": "Degraded"}},
            {"kind": "ConfigMap", "namespace": "payments", "name": "payments-config", "uid": "c1"}
        ]})))
        .mount(&f.server)
        .await;
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "payments-config"}, "data": {"LOG_LEVEL": "info", "TIMEOUT": "5s"}});
    let target = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "payments-config"}, "data": {"LOG_LEVEL": "debug", "TIMEOUT": "5s"}});
    Mock::given(method("GET"))
        .and(path("/api/v1/applications/payments/managed-resources"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [
            {"kind": "ConfigMap", "namespace": "payments", "name": "payments-config", "modified": true,
             "normalizedLiveState": live.to_string(), "targetState": target.to_string()},
            {"kind": "Service", "namespace": "payments", "name": "payments", "modified": false,
             "normalizedLiveState": "{}", "targetState": "{}"}
        ]})))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/api/v1/applications/payments/revisions/ccccccc3333333/metadata",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "author": "Alice Deployer <alice@example.com>", "date": "2026-11-18T07:55:00Z",
            "message": "payments: raise memory limit\n\nbody", "tags": []
        })))
        .mount(&f.server)
        .await;
    let detail = f.source().app_detail("payments").await.expect("loads");
    assert!(detail.problems.is_empty(), "{:?}", detail.problems);
    let results: Vec<(&str, &str)> = detail
        .results
        .iter()
        .map(|r| (r.name.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(
        results,
        [("payments-config", "Synced"), ("payments", "SyncFailed")]
    );
    let tree: Vec<(usize, &str)> = detail
        .tree
        .iter()
        .map(|n| (n.depth, n.kind.as_str()))
        .collect();
    assert_eq!(
        tree,
        [
            (0, "ConfigMap"),
            (0, "Deployment"),
            (1, "ReplicaSet"),
            (2, "Pod")
        ]
    );
    assert_eq!(detail.tree[3].message.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(detail.diffs.len(), 1, "only modified resources");
    let diff = &detail.diffs[0].lines;
    assert!(diff.iter().any(|l| l == "-  LOG_LEVEL: info"), "{diff:#?}");
    assert!(diff.iter().any(|l| l == "+  LOG_LEVEL: debug"), "{diff:#?}");
    assert_eq!(detail.revisions.len(), 1);
    assert_eq!(
        detail.revisions[0].author.as_deref(),
        Some("Alice Deployer <alice@example.com>")
    );
}

#[tokio::test]
async fn project_and_selector_scope_the_list_and_the_cli_context_supplies_the_token() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/applications"))
        .and(query_param("projects", "payments"))
        .and(query_param("selector", "team=payments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(vec![payments()])))
        .expect(1)
        .mount(&f.server)
        .await;
    // No `token`: the argocd CLI's current context, which is for this server.
    let cli = f._dir.path().join("argocd-config");
    let host = f.server.uri().trim_start_matches("http://").to_string();
    std::fs::write(
        &cli,
        format!(
            "contexts:\n- name: test\n  server: {host}\n  user: test\ncurrent-context: test\n\
             servers:\n- server: {host}\n  plain-text: true\nusers:\n- name: test\n  auth-token: cli-token\n"
        ),
    )
    .expect("cli config");
    let config = ArgoCdConfig {
        token: ArgoToken::CliConfig(cli),
        project: Some("payments".into()),
        selector: Some("team=payments".into()),
        ..f.config()
    };
    let snapshot = ArgoCdSource::new("argo", config, Duration::from_secs(30))
        .fetch()
        .await
        .expect("scoped list");
    assert_eq!(snapshot.apps.len(), 1);
    let request = &f.server.received_requests().await.expect("recorded")[0];
    assert_eq!(
        request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer cli-token")
    );
}
