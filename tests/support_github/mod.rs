//! GitHub REST payloads shaped like api.github.com's (from the OpenAPI
//! examples in ../shared/api-specs/github), and a fixture around one
//! wiremock server standing in for the API.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::audit::AuditLog;
use opsdeck::app::executor::Executor;
use opsdeck::config::GithubConfig;
use opsdeck::sources::Source;
use opsdeck::sources::github::GithubSource;
use opsdeck::sources::github::token::EnvLookup;
use serde_json::{Value, json};
use wiremock::{MockServer, Request};

pub const TOKEN: &str = "ghp_testTokenThatMustNeverShow0123456789";
pub const OWNER_REPO: &str = "octo-org/octo-repo";
pub const RUNS_PATH: &str = "/repos/octo-org/octo-repo/actions/runs";
/// The app's default poll interval.
pub const POLL: Duration = opsdeck::config::DEFAULT_REFRESH_INTERVAL;

/// An environment of exactly these variables.
pub fn env(pairs: &[(&str, &str)]) -> EnvLookup {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name| map.get(name).cloned())
}

pub fn user(login: &str, id: u64) -> Value {
    json!({
        "login": login, "id": id, "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif", "gravatar_id": "",
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": "User", "site_admin": false
    })
}

/// A workflow run as `GET /repos/{o}/{r}/actions/runs` lists it.
pub fn run(id: u64, status: &str, conclusion: Option<&str>) -> Value {
    json!({
        "id": id,
        "name": "Build",
        "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
        "check_suite_id": 42,
        "check_suite_node_id": "MDEwOkNoZWNrU3VpdGU0Mg==",
        "head_branch": "main",
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "path": ".github/workflows/build.yml@main",
        "run_number": 562,
        "event": "push",
        "display_title": "Update README.md",
        "status": status,
        "conclusion": conclusion,
        "workflow_id": 159038,
        "url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}"),
        "html_url": format!("https://github.com/octo-org/octo-repo/actions/runs/{id}"),
        "pull_requests": [],
        "created_at": "2020-01-22T19:33:08Z",
        "updated_at": "2020-01-22T19:38:20Z",
        "actor": user("octocat", 1),
        "run_attempt": 1,
        "referenced_workflows": [
            {"path": "octocat/Hello-World/.github/workflows/deploy.yml@main",
             "sha": "86e8bc9ecf7d38b1ed2d2cfb8eb87ba9b35b01db", "ref": "refs/heads/main"}
        ],
        "run_started_at": "2020-01-22T19:33:08Z",
        "triggering_actor": user("octocat", 1),
        "jobs_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/jobs"),
        "logs_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/logs"),
        "check_suite_url": "https://api.github.com/repos/octo-org/octo-repo/check-suites/414944374",
        "artifacts_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/artifacts"),
        "cancel_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/cancel"),
        "rerun_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{id}/rerun"),
        "previous_attempt_url": null,
        "workflow_url": "https://api.github.com/repos/octo-org/octo-repo/actions/workflows/159038",
        "head_commit": {
            "id": "acb5820ced9479c074f688cc328bf03f341a511d",
            "tree_id": "d23f6eedb1e1b9610bbc754ddb5197bfe7271223",
            "message": "Create linter.yaml",
            "timestamp": "2020-01-22T19:33:05Z",
            "author": {"name": "Octo Cat", "email": "octocat@github.com"},
            "committer": {"name": "GitHub", "email": "noreply@github.com"}
        },
        "repository": {
            "id": 217723378, "node_id": "MDEwOlJlcG9zaXRvcnkyMTc3MjMzNzg=",
            "name": "octo-repo", "full_name": "octo-org/octo-repo", "private": true,
            "owner": user("octo-org", 6811672),
            "html_url": "https://github.com/octo-org/octo-repo",
            "description": null, "fork": false,
            "url": "https://api.github.com/repos/octo-org/octo-repo"
        },
        "head_repository": {
            "id": 217723378, "node_id": "MDEwOlJlcG9zaXRvcnkyMTc3MjMzNzg=",
            "name": "octo-repo", "full_name": "octo-org/octo-repo", "private": true,
            "owner": user("octo-org", 6811672),
            "html_url": "https://github.com/octo-org/octo-repo",
            "description": null, "fork": false,
            "url": "https://api.github.com/repos/octo-org/octo-repo"
        }
    })
}

/// `run` with fields replaced.
pub fn run_with(id: u64, status: &str, conclusion: Option<&str>, changes: Value) -> Value {
    let mut r = run(id, status, conclusion);
    if let (Some(r), Some(c)) = (r.as_object_mut(), changes.as_object()) {
        for (k, v) in c {
            r.insert(k.clone(), v.clone());
        }
    }
    r
}

/// The list answer.
pub fn runs_page(runs: Vec<Value>, total: usize) -> Value {
    json!({"total_count": total, "workflow_runs": runs})
}

/// A step of a job, as the jobs API gives it (local-offset times, as GitHub sends).
pub fn step(
    number: u32,
    name: &str,
    conclusion: Option<&str>,
    start: &str,
    end: Option<&str>,
) -> Value {
    json!({
        "name": name,
        "status": if end.is_some() { "completed" } else { "in_progress" },
        "conclusion": conclusion,
        "number": number,
        "started_at": start,
        "completed_at": end
    })
}

/// A job (`GET /repos/{o}/{r}/actions/runs/{id}/jobs`).
pub fn job(
    id: u64,
    run_id: u64,
    name: &str,
    status: &str,
    conclusion: Option<&str>,
    steps: Vec<Value>,
) -> Value {
    json!({
        "id": id,
        "run_id": run_id,
        "run_url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/runs/{run_id}"),
        "node_id": "MDEyOldvcmtmbG93IEpvYjM5OTQ0NDQ5Ng==",
        "head_sha": "f83a356604ae3c5d03e1b46ef4d1ca77d64a90b0",
        "url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/jobs/{id}"),
        "html_url": format!("https://github.com/octo-org/octo-repo/runs/{run_id}/jobs/{id}"),
        "status": status,
        "conclusion": conclusion,
        "started_at": "2020-01-20T17:42:40Z",
        "completed_at": if status == "completed" { json!("2020-01-20T17:44:39Z") } else { Value::Null },
        "name": name,
        "steps": steps,
        "check_run_url": format!("https://api.github.com/repos/octo-org/octo-repo/check-runs/{id}"),
        "labels": ["self-hosted", "foo", "bar"],
        "runner_id": 1,
        "runner_name": "my runner",
        "runner_group_id": 2,
        "runner_group_name": "my runner group",
        "workflow_name": "CI",
        "head_branch": "main"
    })
}

/// A workflow (`GET /repos/{o}/{r}/actions/workflows/{id}`).
pub fn workflow(id: u64, name: &str, path: &str, state: &str) -> Value {
    json!({
        "id": id,
        "node_id": "MDg6V29ya2Zsb3cxNjEzMzU=",
        "name": name,
        "path": path,
        "state": state,
        "created_at": "2020-01-08T23:48:37.000-08:00",
        "updated_at": "2020-01-08T23:50:21.000-08:00",
        "url": format!("https://api.github.com/repos/octo-org/octo-repo/actions/workflows/{id}"),
        "html_url": format!("https://github.com/octo-org/octo-repo/blob/master/{path}"),
        "badge_url": format!("https://github.com/octo-org/octo-repo/workflows/{name}/badge.svg")
    })
}

/// GitHub's error body.
pub fn error(message: &str, docs: &str) -> Value {
    json!({"message": message, "documentation_url": format!("https://docs.github.com/rest/{docs}"), "status": ""})
}

pub struct Fixture {
    pub server: MockServer,
    pub dir: tempfile::TempDir,
    pub audit: PathBuf,
}

pub async fn fixture() -> Fixture {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    Fixture { server, dir, audit }
}

impl Fixture {
    pub fn config(&self) -> GithubConfig {
        GithubConfig {
            api_url: self.server.uri(),
            ..GithubConfig::for_repo(OWNER_REPO)
        }
    }

    /// A source whose environment holds `GITHUB_TOKEN` only.
    pub fn source_with(&self, config: GithubConfig) -> GithubSource {
        GithubSource::new("gh", config, POLL).with_env(env(&[("GITHUB_TOKEN", TOKEN)]))
    }

    pub fn source(&self) -> GithubSource {
        self.source_with(self.config())
    }

    pub fn executor(&self, source: GithubSource) -> Executor {
        Executor::new(
            vec![Arc::new(source) as Arc<dyn Source>],
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
}

pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}
