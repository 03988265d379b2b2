//! `opsdeck timeline` and `opsdeck why` against the test servers of several
//! backends at once (GitHub Actions and Argo CD shaped like their APIs, an
//! audit log with a rollback, and one source that cannot be reached),
//! checking the JSON contracts field by field.
#![recursion_limit = "256"]

mod support;
mod support_github;

use serde_json::{Value, json};
use support::{opsdeck, run, write_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SHA: &str = "7b972aa41c7e0f3b2d1e4f5a6b7c8d9e0f1a2b3c";
const OLD: &str = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ago_s(seconds: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(seconds))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn github() -> MockServer {
    let server = MockServer::start().await;
    let built = support_github::run_with(
        101,
        "completed",
        Some("success"),
        json!({"head_sha": SHA, "created_at": ago(30), "run_started_at": ago(29),
               "updated_at": ago(20)}),
    );
    let other = support_github::run_with(
        102,
        "completed",
        Some("failure"),
        json!({"head_sha": OLD, "created_at": ago(200), "run_started_at": ago(200),
               "updated_at": ago(190)}),
    );
    Mock::given(method("GET"))
        .and(path(support_github::RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(support_github::runs_page(vec![built, other], 2)),
        )
        .mount(&server)
        .await;
    server
}

async fn argocd() -> MockServer {
    let server = MockServer::start().await;
    let app = json!({
        "metadata": {"name": "payments", "namespace": "argocd", "resourceVersion": "7"},
        "spec": {"destination": {"name": "prod-eu", "namespace": "payments"},
                 "source": {"repoURL": "https://git.example.com/deploy.git", "path": "apps/payments", "targetRevision": "main"},
                 "project": "default"},
        "status": {
            "sync": {"status": "Synced", "revision": SHA},
            "health": {"status": "Degraded", "message": "0/3 replicas available", "lastTransitionTime": ago_s(10 * 60 - 40)},
            "operationState": {"phase": "Succeeded", "startedAt": ago_s(10 * 60 + 20), "finishedAt": ago(10),
                               "message": "successfully synced", "syncResult": {"revision": SHA}},
            "history": [
                {"id": 40, "revision": OLD, "deployStartedAt": ago(300), "deployedAt": ago(299)},
                {"id": 41, "revision": SHA, "deployStartedAt": ago_s(10 * 60 + 20), "deployedAt": ago(10)}
            ]
        }
    });
    Mock::given(method("GET"))
        .and(path("/api/v1/applications"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"metadata": {"resourceVersion": "7"}, "items": [app]})),
        )
        .mount(&server)
        .await;
    server
}

struct Setup {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    _servers: (MockServer, MockServer),
}

async fn setup() -> Setup {
    let (gh, argo) = (github().await, argocd().await);
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").expect("token");
    let (_refused, port) = support::server::refused_port();
    let config = write_config(
        dir.path(),
        &format!(
            "[[source]]\nname = \"ci\"\nkind = \"github\"\nrepo = \"octo-org/octo-repo\"\n\
             api_url = \"{}\"\ntoken = {{ file = \"{t}\" }}\n\n\
             [[source]]\nname = \"argo\"\nkind = \"argocd\"\nurl = \"{}\"\n\
             token = {{ file = \"{t}\" }}\n\n\
             [[source]]\nname = \"gone\"\nkind = \"argocd\"\nurl = \"http://127.0.0.1:{port}\"\n\
             token = {{ file = \"{t}\" }}\n",
            gh.uri(),
            argo.uri(),
            t = token.display()
        ),
    );
    // The audit log holds a rollback done through opsdeck.
    let audit = dir.path().join("opsdeck").join("audit.jsonl");
    std::fs::create_dir_all(audit.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &audit,
        format!(
            "{}\n",
            json!({"time": ago(5), "id": "a1", "user": "alice", "host": "h", "via": "cli",
                   "source": "argo", "target_kind": "app", "target": "payments", "action": "rollback",
                   "to": "40", "effect": "roll back", "production": true, "outcome": "done",
                   "detail": "ok"})
        ),
    )
    .expect("audit");
    Setup {
        dir,
        config,
        _servers: (gh, argo),
    }
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

const EVENT_KEYS: [&str; 12] = [
    "time",
    "started_at",
    "source",
    "kind",
    "target",
    "target_kind",
    "revision",
    "status",
    "verdict",
    "summary",
    "observed",
    "links",
];

fn check_event(e: &Value) {
    let o = e.as_object().expect("an event is an object");
    let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = EVENT_KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "{e}");
    let time = e["time"].as_str().expect("time");
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'),
        "{time}"
    );
    assert!(e["links"].is_array());
    assert!(e["observed"].is_boolean());
    assert!(e["revision"].is_null() || e["revision"].is_string());
    if e["kind"] != "deploy" {
        assert!(e["verdict"].is_null(), "{e}");
        assert!(e["started_at"].is_null(), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_json_joins_ci_gitops_and_the_audit_log() {
    let s = setup().await;
    let mut cmd = opsdeck(s.dir.path());
    cmd.args(["--config"])
        .arg(&s.config)
        .args(["timeline", "--since", "6h", "--format", "json"]);
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .expect("join");
    assert_eq!(code, Some(2), "a source could not be read: {stderr}");
    assert!(stderr.contains("gone"), "{stderr}");
    let doc = json_of(&stdout);
    assert!(doc["since"].as_str().is_some_and(|s| s.ends_with('Z')));
    let events = doc["events"].as_array().expect("events");
    events.iter().for_each(check_event);
    let times: Vec<&str> = events.iter().filter_map(|e| e["time"].as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let find = |kind: &str, target: &str| {
        events
            .iter()
            .find(|e| e["kind"] == kind && e["target"] == target)
            .unwrap_or_else(|| panic!("no {kind} of {target} in {doc}"))
    };
    let built = find("run", "ci/101");
    assert_eq!(built["target_kind"], "run");
    assert_eq!(built["source"], "ci");
    assert_eq!(built["status"], "success");
    assert_eq!(built["revision"], SHA);
    assert!(
        built["links"]
            .as_array()
            .expect("links")
            .contains(&json!({"rel": "deploys", "target": "argo/payments", "revision": SHA}))
    );
    let deploy = events
        .iter()
        .find(|e| e["kind"] == "deploy" && e["revision"] == SHA)
        .expect("deploy of SHA");
    assert_eq!(deploy["target"], "argo/payments");
    assert_eq!(deploy["target_kind"], "app");
    assert_eq!(deploy["status"], "succeeded");
    assert_eq!(deploy["verdict"], "degraded");
    assert_eq!(deploy["observed"], false);
    // Its start (deployStartedAt) beside its finish (deployedAt).
    let started = deploy["started_at"].as_str().expect("started_at");
    let finished = deploy["time"].as_str().expect("time");
    assert!(started < finished, "{deploy}");
    assert!(
        deploy["links"]
            .as_array()
            .expect("links")
            .contains(&json!({"rel": "built_by", "target": "ci/101", "revision": SHA}))
    );
    let old = events
        .iter()
        .find(|e| e["kind"] == "deploy" && e["revision"] == OLD)
        .expect("deploy of OLD");
    assert_eq!(old["verdict"], "healthy");
    let health = find("health", "argo/payments");
    assert_eq!(health["status"], "degraded");
    let action = find("action", "argo/payments");
    assert_eq!(action["status"], "done");
    assert_eq!(
        action["summary"],
        "alice rollback argo/payments to 40: done"
    );
    // The run of OLD (200 minutes ago) is inside 6 h; `--target` narrows.
    let mut cmd = opsdeck(s.dir.path());
    cmd.args(["--config"]).arg(&s.config).args([
        "timeline", "--since", "1h", "--target", "ci/102", "--format", "json",
    ]);
    let (_, stdout, _) = tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .expect("join");
    assert_eq!(
        json_of(&stdout)["events"],
        json!([]),
        "ci/102 ended 190 min ago"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn why_json_names_the_deploy_first_and_exits_1() {
    let s = setup().await;
    let mut cmd = opsdeck(s.dir.path());
    cmd.args(["--config"])
        .arg(&s.config)
        .args(["why", "argo/payments", "--format", "json"]);
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .expect("join");
    assert_eq!(code, Some(1), "it has a problem: {stderr}");
    let doc = json_of(&stdout);
    let keys: Vec<&str> = doc
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 3, "{doc}");
    assert_eq!(doc["target"], "argo/payments");
    assert_eq!(doc["problem"]["status"], "degraded");
    assert_eq!(doc["problem"]["summary"], "0/3 replicas available");
    assert!(
        doc["problem"]["since"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    let suspects = doc["suspects"].as_array().expect("suspects");
    assert_eq!(suspects[0]["rank"], 1);
    assert_eq!(
        suspects[0]["reason"],
        "deploy of 7b972aa to prod-eu/payments 40 s before payments went degraded"
    );
    check_event(&suspects[0]["event"]);
    assert_eq!(suspects[0]["event"]["kind"], "deploy");
    for s in suspects {
        let kind = s["event"]["kind"].as_str().expect("kind");
        assert!(
            [
                "run",
                "run_started",
                "commit",
                "deploy",
                "model_version",
                "alias",
                "action"
            ]
            .contains(&kind),
            "only changes are suspects: {s}"
        );
    }
    // The rollback came after the problem began: not a suspect.
    assert!(suspects.iter().all(|s| s["event"]["kind"] != "action"));
    // The run that built SHA is linked by revision: before unrelated ones.
    let run_rank = suspects
        .iter()
        .find(|s| s["event"]["target"] == "ci/101" && s["event"]["kind"] == "run")
        .map(|s| s["rank"].as_u64());
    assert!(run_rank.is_some(), "{doc}");

    // An unreadable source: exit 2 naming it; an unknown item: exit 2.
    let mut cmd = opsdeck(s.dir.path());
    cmd.args(["--config"])
        .arg(&s.config)
        .args(["why", "gone/x"]);
    let (code, _, stderr) = tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .expect("join");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("gone could not be read"), "{stderr}");
    let mut cmd = opsdeck(s.dir.path());
    cmd.args(["--config"])
        .arg(&s.config)
        .args(["why", "argo/nope"]);
    let (code, _, stderr) = tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .expect("join");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no run, app or model named `nope`"),
        "{stderr}"
    );
}

#[test]
fn the_demo_names_the_deploy_of_the_bad_commit_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) =
        run(opsdeck(dir.path()).args(["--demo", "why", "demo/payments", "--format", "json"]));
    assert_eq!(code, Some(1), "{stderr}");
    let doc = json_of(&stdout);
    assert_eq!(doc["problem"]["status"], "degraded");
    let first = &doc["suspects"][0];
    assert_eq!(first["event"]["kind"], "deploy");
    assert_eq!(first["event"]["target"], "demo/payments");
    assert_eq!(first["event"]["verdict"], "degraded");
    // X: the commit the red payments CI run built.
    let x = first["event"]["revision"].as_str().expect("revision");
    assert!(
        first["event"]["links"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["rel"] == "built_by" && l["revision"] == x),
        "{first}"
    );
    // The model payments serves began drifting after the deploy.
    let (code, stdout, _) =
        run(opsdeck(dir.path()).args(["--demo", "why", "demo/churn", "--format", "json"]));
    assert_eq!(code, Some(1));
    let churn = json_of(&stdout);
    assert_eq!(churn["problem"]["status"], "drifting");
    assert!(
        churn["suspects"]
            .as_array()
            .expect("suspects")
            .iter()
            .any(|s| s["event"]["revision"] == x && s["event"]["target"] == "demo/payments"),
        "{churn}"
    );
}
