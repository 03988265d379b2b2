//! The Argo CD source against an in-process HTTP server (wiremock) serving
//! payloads shaped like argocd-server's swagger: listing and mapping, the
//! watch stream (two events, a drop, the fallback read and the reconnect),
//! the drill-down, every action's exact request and audit line, the
//! rollback precondition, 401/403/404, and the headless `sync` command.

#[allow(dead_code)] // this binary uses only the skip rule
#[path = "support/server.rs"]
mod server;

#[path = "common/feed.rs"]
mod feed;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::actions::{PlanContext, plan_app};
use opsdeck::app::audit::AuditLog;
use opsdeck::app::executor::Executor;
use opsdeck::config::{ArgoCdConfig, ArgoToken, Secret};
use opsdeck::model::{
    Action, ActionKind, GitOpsApp, Health, OperationPhase, Outcome, Snapshot, SyncOptions,
    SyncStatus,
};
use opsdeck::sources::Source;
use opsdeck::sources::argocd::ArgoCdSource;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "argo-test-token";

/// A healthy, synced app deployed twice.
fn web() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": "apps/web", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}
        },
        "status": {
            "sync": {"status": "Synced", "revision": "bbbbbbb2222222"},
            "health": {"status": "Healthy"},
            "resources": [
                {"kind": "Deployment", "namespace": "web", "name": "web", "status": "Synced"}
            ],
            "reconciledAt": "2026-11-20T10:05:00Z",
            "operationState": {
                "phase": "Succeeded", "message": "successfully synced (all tasks run)",
                "startedAt": "2026-11-20T10:00:00Z", "finishedAt": "2026-11-20T10:01:00Z",
                "syncResult": {"revision": "bbbbbbb2222222"}
            },
            "history": [
                {"id": 1, "revision": "aaaaaaa1111111", "deployedAt": "2026-11-19T09:00:00Z"},
                {"id": 2, "revision": "bbbbbbb2222222", "deployedAt": "2026-11-20T10:01:00Z"}
            ]
        }
    })
}

/// Out of sync and degraded, its last sync failed.
fn payments() -> Value {
    json!({
        "metadata": {"name": "payments", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": "apps/payments", "targetRevision": "main"},
            "destination": {"name": "prod-eu", "namespace": "payments"}
        },
        "status": {
            "sync": {"status": "OutOfSync", "revision": "ddddddd4444444"},
            "health": {"status": "Degraded", "message": "Deployment payments exceeded its progress deadline"},
            "resources": [
                {"kind": "Deployment", "namespace": "payments", "name": "payments", "status": "OutOfSync", "health": {"status": "Degraded"}},
                {"kind": "ConfigMap", "namespace": "payments", "name": "payments-config", "status": "OutOfSync"},
                {"kind": "Service", "namespace": "payments", "name": "payments", "status": "Synced"}
            ],
            "operationState": {
                "phase": "Failed",
                "message": "one or more objects failed to apply, reason: admission webhook denied the request",
                "startedAt": "2026-11-20T11:00:00Z", "finishedAt": "2026-11-20T11:00:30Z",
                "syncResult": {
                    "revision": "ddddddd4444444",
                    "resources": [
                        {"kind": "ConfigMap", "namespace": "payments", "name": "payments-config", "status": "Synced", "message": "configmap/payments-config configured"},
                        {"kind": "Deployment", "namespace": "payments", "name": "payments", "status": "SyncFailed", "message": "admission webhook denied the request"}
                    ]
                }
            },
            "history": [
                {"id": 6, "revision": "ccccccc3333333", "deployedAt": "2026-11-18T08:00:00Z"}
            ]
        }
    })
}

/// Auto-sync on: Argo CD refuses a history rollback.
fn auto() -> Value {
    json!({
        "metadata": {"name": "auto", "namespace": "argocd"},
        "spec": {
            "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": "apps/auto"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "auto"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}
        },
        "status": {
            "sync": {"status": "Synced", "revision": "eeeeeee5555555"},
            "health": {"status": "Healthy"},
            "operationState": {"phase": "Running", "message": "waiting for healthy state", "startedAt": "2026-11-20T12:00:00Z",
                               "syncResult": {"revision": "eeeeeee5555555"}},
            "history": [
                {"id": "3", "revision": "fffffff6666666", "deployedAt": "2026-11-19T12:00:00Z"},
                {"id": "4", "revision": "eeeeeee5555555", "deployedAt": "2026-11-20T12:00:00Z"}
            ]
        }
    })
}

/// Ten deployments: ids 11..=20, the newest live.
fn hist() -> Value {
    let history: Vec<Value> = (11..=20)
        .map(|i| json!({"id": i, "revision": format!("{i:02}{}", "0".repeat(38)), "deployedAt": format!("2026-11-{i:02}T00:00:00Z")}))
        .collect();
    json!({
        "metadata": {"name": "hist", "namespace": "argocd"},
        "spec": {"destination": {"server": "https://kubernetes.default.svc", "namespace": "hist"}},
        "status": {"sync": {"status": "Synced", "revision": format!("20{}", "0".repeat(38))},
                   "health": {"status": "Healthy"}, "history": history}
    })
}

fn list(items: Vec<Value>) -> Value {
    json!({"metadata": {"resourceVersion": "1234"}, "items": items})
}

struct Fixture {
    server: MockServer,
    _dir: tempfile::TempDir,
    token_file: PathBuf,
    audit: PathBuf,
}

async fn fixture() -> Fixture {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let audit = dir.path().join("audit.jsonl");
    Fixture {
        server,
        _dir: dir,
        token_file,
        audit,
    }
}

impl Fixture {
    fn config(&self) -> ArgoCdConfig {
        ArgoCdConfig {
            url: self.server.uri(),
            token: ArgoToken::Secret(Secret::File(self.token_file.clone())),
            project: None,
            selector: None,
            ca_file: None,
            insecure: false,
        }
    }

    fn source(&self) -> ArgoCdSource {
        ArgoCdSource::new("argo", self.config(), Duration::from_secs(30))
    }

    async fn serve_list(&self, items: Vec<Value>) {
        Mock::given(method("GET"))
            .and(path("/api/v1/applications"))
            .respond_with(ResponseTemplate::new(200).set_body_json(list(items)))
            .mount(&self.server)
            .await;
    }

    fn executor(&self) -> Executor {
        Executor::new(
            vec![Arc::new(self.source()) as Arc<dyn Source>],
            AuditLog::new(self.audit.clone(), "cli"),
            false,
        )
    }

    fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    /// Requests other than the app list, as (method, path, query, body).
    async fn action_requests(&self) -> Vec<(String, String, String, Value)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() != "/api/v1/applications")
            .map(|r: &Request| {
                (
                    r.method.to_string(),
                    r.url.path().to_string(),
                    r.url.query().unwrap_or("").to_string(),
                    serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }
}

fn app<'a>(snapshot: &'a Snapshot, name: &str) -> &'a GitOpsApp {
    snapshot
        .apps
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("{name} is listed"))
}

fn ctx() -> PlanContext {
    PlanContext {
        read_only: false,
        source_production: false,
        now: chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc),
        rerun_starts_new: false,
        cancel_marks_failed: false,
    }
}

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

/// Plan, execute, and return the outcome and the two audit lines.
async fn act(
    f: &Fixture,
    kind: ActionKind,
    app_json: Value,
    to: Option<&str>,
    sync: SyncOptions,
) -> (Action, Outcome) {
    let app = opsdeck::sources::argocd::api::to_app(
        "argo",
        serde_json::from_value(app_json).expect("app"),
    );
    let mut action = plan_app(kind, &app, to, ctx()).expect("planned");
    action.set_sync_options(sync);
    let outcome = f.executor().execute(7, &action).await;
    (action, outcome)
}

#[tokio::test]
async fn every_action_sends_its_exact_request_and_is_audited() {
    let f = fixture().await;
    for (m, p) in [
        ("POST", "/api/v1/applications/payments/sync"),
        ("GET", "/api/v1/applications/web"),
        ("DELETE", "/api/v1/applications/auto/operation"),
        ("POST", "/api/v1/applications/hist/rollback"),
        ("PATCH", "/api/v1/applications/auto"),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "metadata": {"name": "x"},
                "status": {"operationState": {"phase": "Running"}}
            })))
            .mount(&f.server)
            .await;
    }
    let prune = SyncOptions {
        prune: true,
        dry_run: false,
    };
    let (sync, outcome) = act(&f, ActionKind::Sync, payments(), None, prune).await;
    assert_eq!(
        outcome,
        Outcome::Done("sync started (operation Running)".into())
    );
    let (_, outcome) = act(&f, ActionKind::Refresh, web(), None, SyncOptions::default()).await;
    assert_eq!(outcome, Outcome::Done("refresh requested".into()));
    let (_, outcome) = act(
        &f,
        ActionKind::HardRefresh,
        web(),
        None,
        SyncOptions::default(),
    )
    .await;
    assert_eq!(outcome, Outcome::Done("hard refresh requested".into()));
    let (_, outcome) = act(
        &f,
        ActionKind::Terminate,
        auto(),
        None,
        SyncOptions::default(),
    )
    .await;
    assert_eq!(outcome, Outcome::Done("termination requested".into()));
    let dry = SyncOptions {
        prune: false,
        dry_run: true,
    };
    let (rollback, outcome) = act(&f, ActionKind::Rollback, hist(), Some("13"), dry).await;
    assert_eq!(
        outcome,
        Outcome::Done("rollback to history #13 started (operation Running)".into())
    );
    let (_, outcome) = act(
        &f,
        ActionKind::DisableAutoSync,
        auto(),
        None,
        SyncOptions::default(),
    )
    .await;
    assert_eq!(outcome, Outcome::Done("auto-sync is off".into()));

    let requests = f.action_requests().await;
    let expected = vec![
        (
            "POST",
            "/api/v1/applications/payments/sync",
            "",
            json!({"prune": true, "dryRun": false}),
        ),
        (
            "GET",
            "/api/v1/applications/web",
            "refresh=normal",
            Value::Null,
        ),
        (
            "GET",
            "/api/v1/applications/web",
            "refresh=hard",
            Value::Null,
        ),
        (
            "DELETE",
            "/api/v1/applications/auto/operation",
            "",
            Value::Null,
        ),
        (
            "POST",
            "/api/v1/applications/hist/rollback",
            "",
            json!({"id": 13, "prune": false, "dryRun": true}),
        ),
        (
            "PATCH",
            "/api/v1/applications/auto",
            "",
            json!({"name": "auto", "patch": "{\"spec\":{\"syncPolicy\":{\"automated\":null}}}", "patchType": "merge"}),
        ),
    ];
    let got: Vec<(&str, &str, &str, Value)> = requests
        .iter()
        .map(|(m, p, q, b)| (m.as_str(), p.as_str(), q.as_str(), b.clone()))
        .collect();
    assert_eq!(got, expected);

    let audit = f.audit_lines();
    let summary: Vec<(String, String, String)> = audit
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap_or("").to_string(),
                l["target"].as_str().unwrap_or("").to_string(),
                l["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("sync", "payments"),
        ("refresh", "web"),
        ("hard_refresh", "web"),
        ("terminate", "auto"),
        ("rollback", "hist"),
        ("disable_auto_sync", "auto"),
    ]
    .iter()
    .flat_map(|(a, t)| {
        [
            (a.to_string(), t.to_string(), "requested".to_string()),
            (a.to_string(), t.to_string(), "done".to_string()),
        ]
    })
    .collect();
    assert_eq!(summary, want);
    assert_eq!(audit[0]["effect"], sync.effect.as_str());
    assert!(
        sync.effect
            .ends_with("[prune: delete resources no longer in Git]"),
        "{}",
        sync.effect
    );
    assert_eq!(audit[8]["to"], "13");
    assert!(rollback.effect.contains("(history #13)") && rollback.effect.contains("dry run"));
    let text = std::fs::read_to_string(&f.audit).expect("audit");
    assert!(
        !text.contains(TOKEN),
        "the token never reaches the audit log"
    );
}

#[tokio::test]
async fn rollback_with_auto_sync_is_explained_before_and_after_sending() {
    let f = fixture().await;
    let a =
        opsdeck::sources::argocd::api::to_app("argo", serde_json::from_value(auto()).expect("app"));
    // Before sending: the planner says why and what to do instead.
    let why = plan_app(ActionKind::Rollback, &a, Some("3"), ctx()).expect_err("refused");
    assert!(
        why.contains("auto-sync on: Argo CD refuses a history rollback")
            && why.contains("disable_auto_sync"),
        "{why}"
    );
    // If auto-sync was turned on meanwhile, Argo CD's own refusal is shown as is.
    Mock::given(method("POST"))
        .and(path("/api/v1/applications/hist/rollback"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "rollback cannot be initiated when auto-sync is enabled",
            "code": 9,
            "message": "rollback cannot be initiated when auto-sync is enabled"
        })))
        .mount(&f.server)
        .await;
    let (_, outcome) = act(
        &f,
        ActionKind::Rollback,
        hist(),
        Some("12"),
        SyncOptions::default(),
    )
    .await;
    let Outcome::Failed(message) = outcome else {
        panic!("refused: {outcome:?}")
    };
    assert!(
        message.starts_with(
            "rollback cannot be initiated when auto-sync is enabled — turn auto-sync off first"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn an_app_deleted_mid_action_is_reported() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/applications/web/sync"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": "applications.argoproj.io \"web\" not found", "code": 5,
            "message": "applications.argoproj.io \"web\" not found"
        })))
        .mount(&f.server)
        .await;
    let (_, outcome) = act(&f, ActionKind::Sync, web(), None, SyncOptions::default()).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "web is gone from argo (404): applications.argoproj.io \"web\" not found — it was deleted or renamed meanwhile".into()
        )
    );
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

/// A watch's events as the state they leave (what the app side shows).
struct Feed {
    rx: tokio::sync::mpsc::Receiver<opsdeck::sources::SourceEvent>,
    current: Snapshot,
}

impl Feed {
    fn new(rx: tokio::sync::mpsc::Receiver<opsdeck::sources::SourceEvent>) -> Feed {
        Feed {
            rx,
            current: Snapshot::default(),
        }
    }

    /// Wait for the next source event (or fail after a generous deadline).
    async fn next(&mut self) -> Result<Snapshot, String> {
        let event = tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("the watch is running");
        feed::fold(&mut self.current, event.result)
    }
}

#[tokio::test]
async fn a_dropped_stream_falls_back_to_a_read_and_reconnects() {
    let f = fixture().await;
    f.serve_list(vec![web()]).await;
    let mut degraded = web();
    degraded["status"]["health"] = json!({"status": "Degraded", "message": "pod crash"});
    let events = format!(
        "{}\n{}\n",
        json!({"result": {"type": "ADDED", "application": payments()}}),
        json!({"result": {"type": "MODIFIED", "application": degraded}}),
    );
    // Each connection sends the two events and ends: a dropped stream.
    Mock::given(method("GET"))
        .and(path("/api/v1/stream/applications"))
        .and(query_param("resourceVersion", "1234"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(events, "application/json"))
        .mount(&f.server)
        .await;
    let source =
        Arc::new(f.source().with_stream_retry(Duration::from_millis(50))) as Arc<dyn Source>;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rx = Feed::new(rx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = {
        let source = source.clone();
        let wake = wake.clone();
        tokio::spawn(async move { source.watch(0, &tx, &wake).await })
    };
    // 1. The list.
    let first = rx.next().await.expect("listed");
    assert_eq!(first.apps.len(), 1);
    // 2. The two events, applied.
    let mut live = rx.next().await.expect("streamed");
    while live.apps.len() < 2 || app(&live, "web").health != Health::Degraded {
        live = rx.next().await.expect("streamed");
    }
    assert_eq!(app(&live, "payments").sync, SyncStatus::OutOfSync);
    // 3. The stream dropped: the fallback read shows the list again.
    let fallback = rx.next().await.expect("read again");
    assert_eq!(fallback.apps.len(), 1);
    assert_eq!(app(&fallback, "web").health, Health::Healthy);
    // 4. And the stream is opened again.
    let streams = |requests: Vec<Request>| {
        requests
            .iter()
            .filter(|r| r.url.path() == "/api/v1/stream/applications")
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while streams(f.server.received_requests().await.unwrap_or_default()) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream was not reopened"
        );
        let _ = rx.next().await;
    }
    let requests = f.server.received_requests().await.unwrap_or_default();
    let lists = requests
        .iter()
        .filter(|r| r.url.path() == "/api/v1/applications")
        .count();
    assert!(lists >= 2, "a fallback list between the streams");
    task.abort();
}

#[tokio::test]
async fn events_larger_than_any_fixed_buffer_are_read_whole() {
    let f = fixture().await;
    f.serve_list(vec![]).await;
    let mut big = payments();
    // ~4 MB of resources in one event.
    big["status"]["resources"] = Value::Array(
        (0..40_000)
            .map(|i| json!({"kind": "ConfigMap", "namespace": "payments", "name": format!("cm-{i:05}-{}", "x".repeat(60)), "status": "OutOfSync"}))
            .collect(),
    );
    let line = format!(
        "{}\n",
        json!({"result": {"type": "ADDED", "application": big}})
    );
    assert!(line.len() > 3_000_000);
    Mock::given(method("GET"))
        .and(path("/api/v1/stream/applications"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(line, "application/json"))
        .mount(&f.server)
        .await;
    let source = Arc::new(f.source().with_stream_retry(Duration::from_secs(60))) as Arc<dyn Source>;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rx = Feed::new(rx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = {
        let source = source.clone();
        tokio::spawn(async move { source.watch(0, &tx, &wake).await })
    };
    assert!(rx.next().await.expect("listed").apps.is_empty());
    let streamed = rx.next().await.expect("streamed");
    assert_eq!(app(&streamed, "payments").out_of_sync.len(), 40_000);
    task.abort();
}

fn write_config(f: &Fixture, dir: &Path) -> PathBuf {
    let config = dir.join("opsdeck.toml");
    std::fs::write(
        &config,
        format!(
            "audit_log = \"{}\"\n\n[[source]]\nname = \"argo\"\nkind = \"argocd\"\nurl = \"{}\"\ntoken = {{ file = \"{}\" }}\n",
            f.audit.display(),
            f.server.uri(),
            f.token_file.display()
        ),
    )
    .expect("config");
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn the_headless_sync_goes_through_the_real_binary() {
    let f = fixture().await;
    f.serve_list(vec![web(), payments()]).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/applications/payments/sync"))
        .respond_with(ResponseTemplate::new(200).set_body_json(payments()))
        .expect(1)
        .mount(&f.server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&f, dir.path());
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["--config"])
        .arg(&config)
        .args(["sync", "argo/payments", "--yes"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .await
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "will sync argo/payments (prod-eu/payments) to ddddddd (live ccccccc, 2 resources out of sync)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("done: sync started (operation Failed)"),
        "{stdout}"
    );
    let requests = f.action_requests().await;
    assert_eq!(
        requests,
        vec![(
            "POST".to_string(),
            "/api/v1/applications/payments/sync".to_string(),
            String::new(),
            json!({"prune": false, "dryRun": false})
        )]
    );
    let audit = f.audit_lines();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["via"], "cli");
    assert_eq!(audit[1]["outcome"], "done");

    // The status JSON reads the same source.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&config)
        .args(["status", "--format", "json"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .await
        .expect("runs");
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let payments = status["gitops"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["app"] == "payments"))
        .expect("payments in the status");
    assert_eq!(payments["sync"], "out_of_sync");
    assert_eq!(payments["health"], "degraded");
    assert_eq!(out.status.code(), Some(1), "something needs attention");
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_sync_options_and_argo_only_commands_reach_the_api() {
    let f = fixture().await;
    f.serve_list(vec![web(), payments(), auto()]).await;
    for (m, p) in [
        ("POST", "/api/v1/applications/payments/sync"),
        ("PATCH", "/api/v1/applications/auto"),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(payments()))
            .mount(&f.server)
            .await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&f, dir.path());
    let run = |args: Vec<&'static str>| {
        let config = config.clone();
        let state = dir.path().to_path_buf();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
                .arg("--config")
                .arg(&config)
                .args(args)
                .env("XDG_STATE_HOME", state)
                .output()
                .await
                .expect("runs")
        }
    };
    let out = run(vec![
        "sync",
        "argo/payments",
        "--prune",
        "--server-dry-run",
        "--yes",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("[prune: delete resources no longer in Git; dry run: change nothing]"),
        "the effect states the options: {stdout}"
    );
    let out = run(vec!["disable-auto-sync", "argo/auto", "--yes"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = f.action_requests().await;
    let bodies: Vec<(String, String, Value)> =
        requests.into_iter().map(|(m, p, _, b)| (m, p, b)).collect();
    assert_eq!(
        bodies,
        vec![
            (
                "POST".into(),
                "/api/v1/applications/payments/sync".into(),
                json!({"prune": true, "dryRun": true})
            ),
            (
                "PATCH".into(),
                "/api/v1/applications/auto".into(),
                json!({"name": "auto", "patch": "{\"spec\":{\"syncPolicy\":{\"automated\":null}}}", "patchType": "merge"})
            ),
        ]
    );
    // Options a source does not take are refused before anything is sent.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["--demo", "sync", "demo/web", "--prune", "--yes"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--prune and --server-dry-run apply to an Argo CD sync or rollback")
    );
}

/// Run openssl with `args` in `dir`; false when it is not installed.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    match std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        Ok(status) => {
            assert!(status.success(), "openssl {args:?} failed");
            true
        }
        Err(_) => false,
    }
}

/// Kills the TLS server when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_untrusted_certificate_names_the_ca_file_fix_and_ca_file_fixes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ca = [
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=opsdeck test CA",
        ],
    ]
    .concat();
    if !openssl(d, &ca) {
        server::Missing::new("openssl", "not on PATH")
            .skip("Install it with `apt-get install -y openssl`.");
        return;
    }
    let csr = [
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat();
    assert!(openssl(d, &csr));
    std::fs::write(
        d.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    assert!(openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext"
        ]
    ));
    // Port 0: s_server binds a free port itself and says which on stdout
    // ("ACCEPT 127.0.0.1:N"), so no other process can take it in between.
    let accepted = d.join("s_server.out");
    let server = std::process::Command::new("openssl")
        .args(["s_server", "-www", "-cert", "leaf.pem", "-key", "leaf.key"])
        .args(["-accept", "127.0.0.1:0"])
        .current_dir(d)
        .stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(&accepted).expect("s_server output file"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let _server = Killed(server);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let port = loop {
        let said = std::fs::read_to_string(&accepted).unwrap_or_default();
        let port = said
            .lines()
            .find_map(|l| l.strip_prefix("ACCEPT 127.0.0.1:"))
            .and_then(|p| p.trim().parse::<u16>().ok());
        if let Some(port) = port {
            break port;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the TLS server did not say where it listens: {said}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    std::fs::write(d.join("token"), "t").expect("token");
    let config = |ca_file: Option<PathBuf>| ArgoCdConfig {
        url: format!("https://127.0.0.1:{port}"),
        token: ArgoToken::Secret(Secret::File(d.join("token"))),
        project: None,
        selector: None,
        ca_file,
        insecure: false,
    };
    let untrusted = ArgoCdSource::new("argo", config(None), Duration::from_secs(30));
    let e = untrusted.fetch().await.expect_err("untrusted").to_string();
    assert!(
        e.contains("the server's certificate is not trusted: set `ca_file` to its CA (PEM)"),
        "{e}"
    );
    // Trusting the CA, TLS succeeds: what fails now is the page, which is not Argo CD's JSON.
    let trusted = ArgoCdSource::new(
        "argo",
        config(Some(d.join("ca.pem"))),
        Duration::from_secs(30),
    );
    let e = trusted.fetch().await.expect_err("not Argo CD").to_string();
    assert!(
        e.starts_with(
            "cannot understand the backend's answer: the server answered an HTML page where JSON \
             was expected (the application list)"
        ),
        "{e}"
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

/// An argocd-server whose event stream opens, sends `events[n]` on its
/// n-th connection, then stays open and silent (a half-open connection:
/// no event, no keep-alive, never closed). The app list answers `list`.
/// Returns its URL and how many streams were opened.
async fn silent_stream_server(
    list: Value,
    events: Vec<String>,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let streams = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let opened = streams.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match socket.read(&mut byte).await {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head).to_string();
            if head.starts_with("GET /api/v1/stream/applications") {
                let n = opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let event = events.get(n).or(events.last()).cloned().unwrap_or_default();
                let chunk = format!("{event}\n");
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n",
                    chunk.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                held.push(socket);
            } else {
                let body = list.to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        }
    });
    (url, streams)
}

#[tokio::test]
async fn a_stream_that_goes_silent_is_left_listed_again_and_reopened() {
    let f = fixture().await;
    let mut degraded = web();
    degraded["status"]["health"] = json!({"status": "Degraded", "message": "pod crash"});
    let (url, streams) = silent_stream_server(
        list(vec![web()]),
        vec![
            json!({"result": {"type": "ADDED", "application": payments()}}).to_string(),
            json!({"result": {"type": "MODIFIED", "application": degraded}}).to_string(),
        ],
    )
    .await;
    let mut config = f.config();
    config.url = url;
    // Refreshing every second: two silent seconds and the stream is dead.
    let source = Arc::new(
        ArgoCdSource::new("argo", config, Duration::from_secs(1))
            .with_stream_retry(Duration::from_millis(50)),
    ) as Arc<dyn Source>;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rx = Feed::new(rx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = {
        let source = source.clone();
        let wake = wake.clone();
        tokio::spawn(async move { source.watch(0, &tx, &wake).await })
    };
    // The first stream's event arrives, then it goes quiet.
    let mut live = rx.next().await.expect("listed");
    while live.apps.len() < 2 {
        live = rx.next().await.expect("streamed");
    }
    // Left after the silence, listed again, reopened: the second stream's
    // change shows.
    while app(&live, "web").health != Health::Degraded {
        live = rx.next().await.expect("read again");
    }
    assert!(
        streams.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "the silent stream was reopened"
    );
    task.abort();
}

#[tokio::test]
async fn server_sent_events_are_read_and_an_unreadable_one_does_not_stop_the_rest() {
    let f = fixture().await;
    f.serve_list(vec![web()]).await;
    let mut degraded = web();
    degraded["status"]["health"] = json!({"status": "Degraded", "message": "pod crash"});
    let events = format!(
        ": keep-alive\n\nevent: message\ndata: {}\n\ndata: {{\"result\": {{\"type\": \n\ndata: {}\n\n",
        json!({"result": {"type": "ADDED", "application": payments()}}),
        json!({"result": {"type": "MODIFIED", "application": degraded}}),
    );
    Mock::given(method("GET"))
        .and(path("/api/v1/stream/applications"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(events, "text/event-stream"))
        .mount(&f.server)
        .await;
    let source = Arc::new(f.source()) as Arc<dyn Source>;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rx = Feed::new(rx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = {
        let source = source.clone();
        let wake = wake.clone();
        tokio::spawn(async move { source.watch(0, &tx, &wake).await })
    };
    let mut live = rx.next().await.expect("listed");
    while live.apps.len() < 2 || app(&live, "web").health != Health::Degraded {
        live = rx.next().await.expect("streamed");
    }
    assert_eq!(app(&live, "payments").sync, SyncStatus::OutOfSync);
    // The unreadable event is the source's problem, in words, beside the
    // apps that were read.
    assert_eq!(live.problems.len(), 1, "{:?}", live.problems);
    assert!(
        live.problems[0]
            .starts_with("1 stream event could not be read and was skipped (the last: "),
        "{:?}",
        live.problems
    );
    task.abort();
}
