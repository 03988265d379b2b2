//! `{ command = … }` secrets run once per process and once more after a
//! 401, for GitHub (its token lookup), Jenkins (its log tail too), Argo CD
//! actions and a kind using the kit's `Credentials` (Prometheus): the refused request is sent once more with
//! the new value, and a second 401 is the error, naming no secret.

#![recursion_limit = "256"]

mod support;
mod support_github;

use std::path::{Path, PathBuf};

use opsdeck::config::Secret;
use opsdeck::model::DriftStatus;
use opsdeck::sources::SourceError;
use support_github::{RUNS_PATH, fixture, run, runs_page};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A secret command that counts its runs in `dir/runs` and prints
/// `token-<run>`: each run gives a new value.
struct CountingCommand {
    dir: tempfile::TempDir,
}

impl CountingCommand {
    fn new() -> CountingCommand {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("token.sh");
        std::fs::write(
            &script,
            "n=$(( $(cat \"$(dirname \"$0\")/runs\" 2>/dev/null || echo 0) + 1 ))\n\
             echo $n > \"$(dirname \"$0\")/runs\"\n\
             printf 'token-%s\\n' $n\n",
        )
        .expect("write script");
        CountingCommand { dir }
    }

    fn script(&self) -> PathBuf {
        self.dir.path().join("token.sh")
    }

    fn command(&self) -> String {
        format!("sh {}", self.script().display())
    }

    fn secret(&self) -> Secret {
        Secret::Command(self.command())
    }

    fn runs(&self) -> u32 {
        runs_in(self.dir.path())
    }
}

fn runs_in(dir: &Path) -> u32 {
    std::fs::read_to_string(dir.join("runs"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_command_secret_runs_once_however_often_and_concurrently_it_is_read() {
    let command = CountingCommand::new();
    let secret = command.secret();
    let reads = (0..8).map(|_| secret.resolve());
    for value in futures::future::join_all(reads).await {
        assert_eq!(value.expect("resolves").expose(), "token-1");
    }
    for _ in 0..5 {
        assert_eq!(
            secret.resolve().await.expect("resolves").expose(),
            "token-1"
        );
    }
    assert_eq!(command.runs(), 1);

    // Refused: it runs again, once, however many callers saw the refusal.
    let rejected = secret.resolve().await.expect("resolves");
    let renewals = (0..4).map(|_| secret.renew(&rejected));
    for fresh in futures::future::join_all(renewals).await {
        let fresh = fresh.expect("renews").expect("a new value");
        assert_eq!(fresh.expose(), "token-2");
    }
    assert_eq!(command.runs(), 2);
    assert_eq!(secret.resolve().await.expect("kept").expose(), "token-2");
    assert_eq!(command.runs(), 2);
}

#[tokio::test]
async fn env_and_file_secrets_are_read_fresh_each_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("token");
    let secret = Secret::File(file.clone());
    std::fs::write(&file, "first\n").expect("write");
    assert_eq!(secret.resolve().await.expect("reads").expose(), "first");
    std::fs::write(&file, "rotated\n").expect("write");
    assert_eq!(secret.resolve().await.expect("reads").expose(), "rotated");
}

fn bad_credentials() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(support_github::error(
        "Bad credentials",
        "https://docs.github.com/rest",
    ))
}

#[tokio::test]
async fn github_runs_the_token_command_again_once_after_a_401_and_retries_once() {
    let f = fixture().await;
    let command = CountingCommand::new();
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(bad_credentials())
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(runs_page(vec![run(1, "completed", Some("success"))], 1)),
        )
        .mount(&f.server)
        .await;
    let source = f.source_with(opsdeck::config::GithubConfig {
        token: Some(command.secret()),
        ..f.config()
    });
    for _ in 0..3 {
        let (runs, problems) = source
            .list_runs()
            .await
            .expect("read with the renewed token");
        assert_eq!(runs.len(), 1);
        assert!(problems.is_empty(), "{problems:?}");
    }
    assert_eq!(command.runs(), 2, "one run, and one more after the 401");
    let auth: Vec<String> = f
        .requests()
        .await
        .iter()
        .map(|r| {
            support_github::header(r, "authorization")
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        auth,
        [
            "Bearer token-1",
            "Bearer token-2",
            "Bearer token-2",
            "Bearer token-2"
        ],
        "the refused read was sent once more, and the new token kept"
    );
}

#[tokio::test]
async fn github_reports_a_second_401_without_the_token() {
    let f = fixture().await;
    let command = CountingCommand::new();
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(bad_credentials())
        .mount(&f.server)
        .await;
    let source = f.source_with(opsdeck::config::GithubConfig {
        token: Some(command.secret()),
        ..f.config()
    });
    let err = source.list_runs().await.expect_err("refused twice");
    assert!(matches!(err, SourceError::Auth(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("token rejected by GitHub (401"), "{text}");
    assert!(text.contains(&command.command()), "names where: {text}");
    assert!(
        !text.contains("token-1") && !text.contains("token-2"),
        "{text}"
    );
    assert_eq!(command.runs(), 2);
    assert_eq!(f.requests().await.len(), 2, "sent once, retried once");
}

fn prometheus_config(url: &str, command: &str) -> String {
    format!(
        r#"[[source]]
name = "prom"
kind = "prometheus"
url = "{url}"
token = {{ command = "{command}" }}
  [[source.model]]
  name = "churn"
  query = 'model_feature_psi{{model="churn"}}'
  warn = 0.1
  critical = 0.25
"#
    )
}

fn ok(data: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({"status": "success", "data": data}))
}

#[tokio::test]
async fn prometheus_credentials_renew_a_command_token_once_after_a_401() {
    let server = MockServer::start().await;
    let command = CountingCommand::new();
    Mock::given(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_string("Unauthorized"))
        .mount(&server)
        .await;
    let vector = serde_json::json!({"resultType": "vector", "result": [
        {"metric": {"__name__": "model_feature_psi", "model": "churn", "feature": "age"},
         "value": [1_763_800_000.123, "0.02"]}
    ]});
    for (at, data) in [
        ("/api/v1/query", vector),
        ("/api/v1/alerts", serde_json::json!({"alerts": []})),
        (
            "/api/v1/query_range",
            serde_json::json!({"resultType": "matrix", "result": []}),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .and(header("authorization", "Bearer token-2"))
            .respond_with(ok(data))
            .mount(&server)
            .await;
    }
    let source = support::source_of(&prometheus_config(&server.uri(), &command.command()));
    let snapshot = source.fetch().await.expect("read with the renewed token");
    let churn = snapshot
        .models
        .iter()
        .find(|m| m.model == "churn")
        .expect("churn is read");
    assert_eq!(churn.status(), DriftStatus::Ok);
    assert_eq!(command.runs(), 2, "one run, and one more after the 401s");

    let requests = server.received_requests().await.unwrap_or_default();
    let with = |token: &str| {
        requests
            .iter()
            .filter(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(token))
            .count()
    };
    let refused = with("Bearer token-1");
    assert!(refused > 0);
    assert_eq!(
        with("Bearer token-2"),
        refused,
        "each refused request was sent exactly once more"
    );

    // The next read keeps the renewed token: no run, no 401.
    source.fetch().await.expect("read again");
    assert_eq!(command.runs(), 2);
    let after = server.received_requests().await.unwrap_or_default();
    assert!(after[requests.len()..].iter().all(|r| {
        r.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer token-2")
    }));
}

#[tokio::test]
async fn argocd_actions_run_the_token_command_again_once_after_a_401_and_send_once_more() {
    use opsdeck::app::actions::{PlanContext, plan_app};
    use opsdeck::config::{ArgoCdConfig, ArgoToken};
    use opsdeck::model::ActionKind;
    use opsdeck::sources::Source;
    use opsdeck::sources::argocd::{ArgoCdSource, api};
    use serde_json::json;

    let server = MockServer::start().await;
    let command = CountingCommand::new();
    let refresh = || {
        Mock::given(method("GET"))
            .and(path("/api/v1/applications/web"))
            .and(wiremock::matchers::query_param("refresh", "normal"))
    };
    refresh()
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid session: token has invalid claims: token is expired",
            "code": 16,
            "message": "invalid session: token has invalid claims: token is expired"
        })))
        .mount(&server)
        .await;
    refresh()
        .and(header("authorization", "Bearer token-2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"metadata": {"name": "web"}})),
        )
        .mount(&server)
        .await;
    let source = ArgoCdSource::new(
        "argo",
        ArgoCdConfig {
            url: server.uri(),
            token: ArgoToken::Secret(command.secret()),
            project: None,
            selector: None,
            ca_file: None,
            insecure: false,
        },
        std::time::Duration::from_secs(30),
    );
    let app = api::to_app(
        "argo",
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "argocd"}}))
            .expect("an application"),
    );
    let ctx = PlanContext {
        read_only: false,
        source_production: false,
        now: chrono::Utc::now(),
        rerun_starts_new: false,
        cancel_marks_failed: false,
    };
    let action = plan_app(ActionKind::Refresh, &app, None, ctx).expect("planned");
    let done = source
        .execute(&action)
        .await
        .expect("sent with the renewed token");
    assert_eq!(done, "refresh requested");
    assert_eq!(command.runs(), 2, "one run, and one more after the 401");
    let auth: Vec<String> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(auth, ["Bearer token-1", "Bearer token-2"]);
}

#[tokio::test]
async fn jenkins_log_tail_runs_the_token_command_again_once_after_a_401() {
    use opsdeck::config::JenkinsConfig;
    use opsdeck::sources::Source;
    use opsdeck::sources::jenkins::JenkinsSource;
    use wiremock::matchers::basic_auth;

    let server = MockServer::start().await;
    let command = CountingCommand::new();
    let log = "/job/deploy/25/logText/progressiveText";
    for m in ["HEAD", "GET"] {
        Mock::given(method(m))
            .and(path(log))
            .and(basic_auth("alice", "token-1"))
            .respond_with(ResponseTemplate::new(401).set_body_string("Invalid password/token"))
            .mount(&server)
            .await;
    }
    Mock::given(method("HEAD"))
        .and(path(log))
        .and(basic_auth("alice", "token-2"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Text-Size", "12"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(log))
        .and(basic_auth("alice", "token-2"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Text-Size", "12")
                .set_body_string("step 1\ndone\n"),
        )
        .mount(&server)
        .await;
    let source = JenkinsSource::new(
        "ci",
        JenkinsConfig {
            url: server.uri(),
            jobs: vec!["deploy".into()],
            user: Some("alice".into()),
            token: Some(command.secret()),
            limit: 20,
            timeout: std::time::Duration::from_secs(5),
            ca_file: None,
            insecure: false,
        },
        std::time::Duration::from_secs(30),
    );
    let tail = source
        .job_log("deploy#25", "build")
        .await
        .expect("read with the renewed token");
    assert_eq!(tail.lines, ["step 1", "done"]);
    assert_eq!(command.runs(), 2, "one run, and one more after the 401");
    let methods: Vec<String> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(
        methods,
        ["HEAD", "HEAD", "GET"],
        "the refused read went once more"
    );
}
