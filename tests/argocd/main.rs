//! The Argo CD source against an in-process HTTP server (wiremock) serving
//! payloads shaped like argocd-server's swagger: listing and mapping, the
//! watch stream (two events, a drop, the fallback read and the reconnect),
//! the drill-down, every action's exact request and audit line, the
//! rollback precondition, 401/403/404, and the headless `sync` command.

#[allow(dead_code)] // this binary uses only the skip rule
#[path = "../support/server.rs"]
mod server;

#[path = "../common/feed.rs"]
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

mod act;
mod headless;
mod read;
mod stream;

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
