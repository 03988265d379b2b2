//! Payloads shaped like GitLab's REST API (the v4 OpenAPI entities
//! `PipelineBasic`, `PipelineWithMetadata`, `Ci::Job`, `Project`) and a
//! fixture: a wiremock server, a token file and an audit log.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::audit::AuditLog;
use opsdeck::app::executor::Executor;
use opsdeck::config::{GitlabConfig, Secret};
use opsdeck::sources::Source;
use opsdeck::sources::gitlab::GitlabSource;
use serde_json::{Value, json};
use wiremock::{MockServer, Request, ResponseTemplate};

pub const PROJECT: &str = "acme/platform/web";
pub const TOKEN: &str = "glpat-Test-7f3aQ9-secret";
/// The source's name in every test.
pub const NAME: &str = "ci";

/// `/api/v4/projects/acme%2Fplatform%2Fweb` and what follows.
pub fn api(rest: &str) -> String {
    format!("/api/v4/projects/acme%2Fplatform%2Fweb{rest}")
}

pub fn sha(id: u64) -> String {
    format!("{:040x}", u128::from(id) * 0x9e37_79b9_7f4a_7c15)
}

pub fn web_url(id: u64) -> String {
    format!("https://gitlab.example.com/{PROJECT}/-/pipelines/{id}")
}

/// One entry of `GET /projects/:id/pipelines`.
pub fn pipeline(id: u64, status: &str, git_ref: &str, updated_at: &str) -> Value {
    json!({
        "id": id,
        "iid": id - 50,
        "project_id": 278_964,
        "sha": sha(id),
        "ref": git_ref,
        "status": status,
        "source": "push",
        "created_at": "2026-11-20T09:00:00.000Z",
        "updated_at": updated_at,
        "web_url": web_url(id)
    })
}

/// `GET /projects/:id/pipelines/:pipeline_id` for a list entry: who
/// started it, when, for how long, and its name if it has one.
pub fn detail(basic: &Value) -> Value {
    let id = basic["id"].as_u64().unwrap_or_default();
    let status = basic["status"].as_str().unwrap_or_default();
    let finished = matches!(status, "success" | "failed" | "canceled" | "skipped");
    let mut d = basic.clone();
    let extra = json!({
        "before_sha": "0000000000000000000000000000000000000000",
        "tag": false,
        "yaml_errors": null,
        "user": {
            "id": 42, "username": if id % 2 == 0 { "bob" } else { "alice" },
            "name": "Alice Doe", "state": "active", "locked": false,
            "avatar_url": "https://secure.gravatar.com/avatar/1",
            "web_url": "https://gitlab.example.com/alice"
        },
        "started_at": "2026-11-20T09:00:05.000Z",
        "finished_at": if finished { json!("2026-11-20T09:05:17.000Z") } else { Value::Null },
        "committed_at": null,
        "duration": if finished { json!(312) } else { Value::Null },
        "queued_duration": 5,
        "coverage": null,
        "detailed_status": {
            "icon": format!("status_{status}"), "text": status, "label": status,
            "group": status, "tooltip": status, "has_details": true,
            "details_path": format!("/{PROJECT}/-/pipelines/{id}"),
            "illustration": null, "favicon": "/assets/ci_favicons/favicon_status_success.png"
        },
        "archived": false,
        "name": if id == 61 { json!("Nightly build") } else { Value::Null }
    });
    if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
        d.extend(extra.clone());
    }
    d
}

/// Answers `GET …/pipelines/:id` with the detail of that entry of `list`
/// (404 for an id not in it).
pub fn details_of(list: Vec<Value>) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync {
    move |request: &Request| {
        let id: Option<u64> = request
            .url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .and_then(|s| s.parse().ok());
        match list.iter().find(|p| p["id"].as_u64() == id) {
            Some(p) => ResponseTemplate::new(200).set_body_json(detail(p)),
            None => ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not found"})),
        }
    }
}

/// One entry of `GET /projects/:id/pipelines/:pipeline_id/jobs`.
pub fn job(id: u64, stage: &str, name: &str, status: &str, duration: Option<f64>) -> Value {
    json!({
        "id": id,
        "status": status,
        "stage": stage,
        "name": name,
        "ref": "main",
        "tag": false,
        "coverage": null,
        "allow_failure": false,
        "created_at": "2026-11-20T09:00:01.000Z",
        "started_at": duration.map(|_| "2026-11-20T09:01:00.000Z"),
        "finished_at": duration.map(|_| "2026-11-20T09:02:00.000Z"),
        "erased_at": null,
        "duration": duration,
        "queued_duration": 0.8,
        "user": {"id": 42, "username": "alice", "name": "Alice Doe", "state": "active"},
        "commit": {"id": sha(61), "short_id": &sha(61)[..8], "title": "Fix the build", "message": "Fix the build\n"},
        "pipeline": {"id": 61, "iid": 11, "project_id": 278_964, "sha": sha(61), "ref": "main",
                     "status": "failed", "source": "push", "web_url": web_url(61)},
        "failure_reason": if status == "failed" { json!("script_failure") } else { Value::Null },
        "web_url": format!("https://gitlab.example.com/{PROJECT}/-/jobs/{id}"),
        "project": {"ci_job_token_scope_enabled": false},
        "artifacts": [],
        "runner": null,
        "artifacts_expire_at": null,
        "archived": false,
        "tag_list": ["docker"]
    })
}

/// `GET /projects/:id`.
pub fn project(default_branch: &str) -> Value {
    json!({
        "id": 278_964,
        "description": "The web front end",
        "name": "web",
        "path": "web",
        "path_with_namespace": PROJECT,
        "default_branch": default_branch,
        "web_url": format!("https://gitlab.example.com/{PROJECT}"),
        "visibility": "private"
    })
}

/// A `201 Created` answer carrying a pipeline (retry, cancel, create).
pub fn created(id: u64, git_ref: &str, status: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "id": id, "iid": id - 50, "project_id": 278_964, "sha": sha(id), "ref": git_ref,
        "status": status, "source": "api", "created_at": "2026-11-20T11:00:00.000Z",
        "updated_at": "2026-11-20T11:00:00.000Z", "web_url": web_url(id),
        "before_sha": sha(1), "tag": false, "yaml_errors": null,
        "user": {"id": 42, "username": "alice"}, "started_at": null, "finished_at": null,
        "committed_at": null, "duration": null, "queued_duration": null, "coverage": null,
        "detailed_status": {"icon": format!("status_{status}"), "text": status, "group": status}
    }))
}

pub struct Fixture {
    pub server: MockServer,
    pub dir: tempfile::TempDir,
    pub token_file: PathBuf,
    pub audit: PathBuf,
}

pub async fn fixture() -> Fixture {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("gitlab-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let audit = dir.path().join("audit.jsonl");
    Fixture {
        server,
        dir,
        token_file,
        audit,
    }
}

impl Fixture {
    pub fn config(&self) -> GitlabConfig {
        let mut config = GitlabConfig::new(self.server.uri(), PROJECT);
        config.token = Secret::File(self.token_file.clone());
        config
    }

    pub fn source(&self) -> GitlabSource {
        GitlabSource::new(NAME, self.config(), Duration::from_secs(30))
    }

    pub fn executor(&self, source: Arc<GitlabSource>) -> Executor {
        Executor::new(
            vec![source as Arc<dyn Source>],
            AuditLog::new(self.audit.clone(), "cli"),
            false,
        )
    }

    pub fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// How many requests went to `path`.
    pub async fn count(&self, path: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r.url.path() == path)
            .count()
    }
}

/// The value of a query parameter of a recorded request.
pub fn query(request: &Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The `PRIVATE-TOKEN` a recorded request carried.
pub fn private_token(request: &Request) -> Option<String> {
    request
        .headers
        .get("private-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
