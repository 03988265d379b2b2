//! `kind = "airflow"` against a real Apache Airflow 3 (tests/support/
//! airflow.rs, started once for this binary): runs, states and task
//! instances as read, the failed task's log, every action's effect and the
//! state after, errors in Airflow's words; and the JWT renewal rule against
//! a small local server (one expired token: one login again, one retry).

mod support;

use std::path::Path;
use std::time::Duration;

use opsdeck::model::{PipelineRun, RunStatus, Snapshot};
use serde_json::json;
use support::airflow::{Airflow, FAILURE_LINE, airflow};
use support::{audit_lines, opsdeck, run, source_of, write_config};

/// A run goes trigger → finished in 2–8 s here; give slow boxes room.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn find<'a>(snapshot: &'a Snapshot, id: &str) -> &'a PipelineRun {
    snapshot
        .pipelines
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no run {id} in {:?}", ids(snapshot)))
}

fn ids(snapshot: &Snapshot) -> Vec<&str> {
    snapshot.pipelines.iter().map(|r| r.id.as_str()).collect()
}

fn detail<'a>(run: &'a PipelineRun, name: &str) -> Option<&'a str> {
    run.details
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `opsdeck ARGS…` with a config reading `af` as `user`: exit, stdout, stderr.
fn cli(af: &Airflow, dir: &Path, user: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let config = write_config(dir, &af.config("airflow", user, dir, ""));
    run(opsdeck(dir)
        .arg("--config")
        .arg(&config)
        .arg("--audit-log")
        .arg(dir.join("audit.jsonl"))
        .args(args))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_states_and_task_instances_are_read_as_airflow_has_them() {
    let Some(af) = airflow() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    af.trigger("opsdeck_ok", "read_ok", json!({"who": "test"}))
        .await;
    af.trigger("opsdeck_fail", "read_fail", json!({})).await;
    af.wait_run("opsdeck_ok", "read_ok", &["success"], RUN_TIMEOUT)
        .await;
    af.wait_run("opsdeck_fail", "read_fail", &["failed"], RUN_TIMEOUT)
        .await;

    let text = af.config(
        "airflow",
        "admin",
        dir.path(),
        "dags = [\"opsdeck_ok\", \"opsdeck_f*\"]",
    );
    let source = source_of(&text);
    let snapshot = source.fetch().await.expect("read");
    assert!(snapshot.problems.is_empty(), "{:?}", snapshot.problems);
    assert!(
        snapshot
            .pipelines
            .iter()
            .all(|r| r.pipeline == "opsdeck_ok" || r.pipeline == "opsdeck_fail"),
        "only the DAGs asked for: {:?}",
        ids(&snapshot)
    );
    let ok = find(&snapshot, "opsdeck_ok/read_ok");
    assert_eq!(ok.status, RunStatus::Success);
    assert_eq!(ok.pipeline_id, "opsdeck_ok");
    assert_eq!(ok.event, "manual");
    assert_eq!(ok.actor, "admin");
    assert_eq!(detail(ok, "conf"), Some(r#"{"who":"test"}"#));
    assert!(ok.duration.is_some() && ok.started_at.is_some(), "{ok:?}");
    assert!(!ok.paused);
    assert_eq!(
        ok.url.as_deref(),
        Some(format!("{}/dags/opsdeck_ok/runs/read_ok", af.url()).as_str())
    );

    // The failed run comes with its tasks: upstream_failed is a failure
    // a re-run of the failed tasks clears, and says so in its step.
    let failed = find(&snapshot, "opsdeck_fail/read_fail");
    assert_eq!(failed.status, RunStatus::Failure);
    let jobs = failed
        .jobs
        .as_ref()
        .expect("tasks of a failed run come with the read");
    let job = |id: &str| jobs.iter().find(|j| j.id == id).expect("task");
    assert_eq!(job("prepare").status, RunStatus::Success);
    assert_eq!(job("train").status, RunStatus::Failure);
    assert_eq!(job("train").steps[0].name, "try 1");
    assert!(job("train").duration.is_some());
    assert_eq!(job("register").status, RunStatus::Failure);
    assert_eq!(job("register").steps[0].name, "not tried, upstream failed");
    assert_eq!(failed.failed_jobs(), ["train", "register"]);
    // The drill-down reads the same.
    let drilled = source
        .run_jobs("opsdeck_fail/read_fail")
        .await
        .expect("tasks");
    assert_eq!(&drilled, jobs);

    // By tag: only DAGs tagged etl.
    let tagged = source_of(&af.config("airflow", "admin", dir.path(), "tags = [\"etl\"]"));
    let snapshot = tagged.fetch().await.expect("read by tag");
    assert!(
        snapshot
            .pipelines
            .iter()
            .any(|r| r.id == "opsdeck_ok/read_ok")
    );
    assert!(
        snapshot
            .pipelines
            .iter()
            .all(|r| r.pipeline != "opsdeck_fail"),
        "{:?}",
        ids(&snapshot)
    );
    // A DAG named but absent is a problem of the source, not a failed read.
    let missing = source_of(&af.config(
        "airflow",
        "admin",
        dir.path(),
        "dags = [\"opsdeck_ok\", \"no_such_dag\"]",
    ));
    let snapshot = missing.fetch().await.expect("read");
    assert!(
        snapshot
            .pipelines
            .iter()
            .any(|r| r.id == "opsdeck_ok/read_ok")
    );
    assert_eq!(snapshot.problems.len(), 1, "{:?}", snapshot.problems);
    assert!(
        snapshot.problems[0].contains("no DAG `no_such_dag`"),
        "{:?}",
        snapshot.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_of_the_failed_task_is_its_latest_try_tail() {
    let Some(af) = airflow() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    af.trigger("opsdeck_fail", "log_fail", json!({})).await;
    af.wait_run("opsdeck_fail", "log_fail", &["failed"], RUN_TIMEOUT)
        .await;
    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["logs", "airflow/opsdeck_fail/log_fail"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("== airflow/opsdeck_fail/log_fail job train (failure) =="),
        "{stdout}"
    );
    assert!(stdout.contains(FAILURE_LINE), "{stdout}");
    assert!(
        stdout.contains("ERROR Task failed with exception"),
        "{stdout}"
    );
    // The task that never ran says why it has no log.
    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["logs", "airflow/opsdeck_fail/log_fail", "--job", "register"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("register has not run (upstream failed): there is no log"),
        "{stdout}"
    );
    // A run that is not there is named, in Airflow's words.
    let (code, _, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["logs", "airflow/opsdeck_ok/no_such_run"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("run no_such_run of DAG opsdeck_ok not found (404")
            && stderr.contains("dag_id: `opsdeck_ok` and run_id: `no_such_run` was not found"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_failed_clears_what_a_dry_run_lists_and_the_tasks_run_again() {
    let Some(af) = airflow() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    af.trigger("opsdeck_fail", "rf_1", json!({})).await;
    af.wait_run("opsdeck_fail", "rf_1", &["failed"], RUN_TIMEOUT)
        .await;
    // What Airflow would clear, asked as a dry run.
    let dry = af
        .post(
            "/api/v2/dags/opsdeck_fail/clearTaskInstances",
            json!({"dry_run": true, "only_failed": true, "dag_run_id": "rf_1"}),
        )
        .await;
    let would: Vec<&str> = dry["task_instances"]
        .as_array()
        .expect("task instances")
        .iter()
        .filter_map(|t| t["task_id"].as_str())
        .collect();
    assert_eq!(would.len(), 2, "{dry}");
    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["rerun-failed", "airflow/opsdeck_fail/rf_1", "--yes"],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let effect = stdout.lines().next().expect("the effect line");
    assert!(
        effect.starts_with(
            "will re-run the failed jobs (train, register) of airflow/opsdeck_fail/rf_1"
        ),
        "{effect}"
    );
    for task in &would {
        assert!(effect.contains(task), "{task} missing from: {effect}");
    }
    assert!(
        stdout.contains("done: cleared train, register of opsdeck_fail/rf_1"),
        "{stdout}"
    );
    // The state after: train ran again (try 2) and failed again; prepare,
    // which succeeded, did not run again.
    let path = "/api/v2/dags/opsdeck_fail/dagRuns/rf_1/taskInstances";
    af.wait(path, RUN_TIMEOUT, |v| {
        v["task_instances"].as_array().is_some_and(|tasks| {
            tasks
                .iter()
                .any(|t| t["task_id"] == "train" && t["try_number"] == 2 && t["state"] == "failed")
        })
    })
    .await;
    let tasks = af.tasks("opsdeck_fail", "rf_1").await;
    assert!(
        tasks.contains(&("prepare".into(), "success".into(), 1)),
        "{tasks:?}"
    );
    af.wait_run("opsdeck_fail", "rf_1", &["failed"], RUN_TIMEOUT)
        .await;
    let lines = audit_lines(&dir.path().join("audit.jsonl"));
    let outcomes: Vec<&str> = lines.iter().filter_map(|l| l["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["requested", "done"], "{lines:?}");
    assert_eq!(lines[0]["action"], "rerun_failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_clears_every_task_of_the_run() {
    let Some(af) = airflow() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    af.trigger("opsdeck_ok", "rr_1", json!({})).await;
    af.wait_run("opsdeck_ok", "rr_1", &["success"], RUN_TIMEOUT)
        .await;
    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["rerun", "airflow/opsdeck_ok/rr_1", "--yes"],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("done: cleared extract, load of opsdeck_ok/rr_1"),
        "{stdout}"
    );
    af.wait(
        "/api/v2/dags/opsdeck_ok/dagRuns/rr_1/taskInstances",
        RUN_TIMEOUT,
        |v| {
            v["task_instances"].as_array().is_some_and(|tasks| {
                tasks.len() == 2
                    && tasks
                        .iter()
                        .all(|t| t["try_number"] == 2 && t["state"] == "success")
            })
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_marks_the_run_failed_and_says_so() {
    let Some(af) = airflow() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    af.trigger("opsdeck_slow", "cx_1", json!({})).await;
    af.wait(
        "/api/v2/dags/opsdeck_slow/dagRuns/cx_1/taskInstances",
        RUN_TIMEOUT,
        |v| {
            v["task_instances"].as_array().is_some_and(|t| {
                t.iter()
                    .any(|t| t["task_id"] == "wait" && t["state"] == "running")
            })
        },
    )
    .await;
    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["cancel", "airflow/opsdeck_slow/cx_1", "--yes"],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout
            .starts_with("will mark airflow/opsdeck_slow/cx_1 (opsdeck_slow) failed, running for")
            && stdout.contains("there is no cancel"),
        "{stdout}"
    );
    assert!(
        stdout.contains("done: marked opsdeck_slow/cx_1 failed (Airflow has no cancel)"),
        "{stdout}"
    );
    let run = af.get("/api/v2/dags/opsdeck_slow/dagRuns/cx_1").await;
    assert_eq!(run["state"], "failed", "{run}");
    af.wait(
        "/api/v2/dags/opsdeck_slow/dagRuns/cx_1/taskInstances",
        RUN_TIMEOUT,
        |v| {
            v["task_instances"].as_array().is_some_and(|t| {
                t.iter()
                    .any(|t| t["task_id"] == "wait" && t["state"] == "failed")
                    && t.iter()
                        .any(|t| t["task_id"] == "after" && t["state"] == "skipped")
            })
        },
    )
    .await;
    // Not running any more: nothing to cancel.
    let (code, _, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["cancel", "airflow/opsdeck_slow/cx_1", "--yes"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("is not queued or running (it is failure)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_run_sends_the_params_as_conf_with_a_logical_date() {
    let Some(af) = airflow() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let source = source_of(&af.config("airflow", "admin", dir.path(), ""));
    let form = source.dispatch_form("opsdeck_params").await.expect("form");
    let input = |n: &str| form.inputs.iter().find(|i| i.name == n).expect("input");
    assert_eq!(input("model").default, "fraud");
    assert_eq!(input("model").description, "which model");
    assert_eq!(input("epochs").default, "3");
    assert_eq!(input("mode").choices, ["fast", "full"]);
    assert_eq!(input("logical_date").default, "");
    assert!(form.git_ref.is_none());

    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &[
            "dispatch",
            "airflow/opsdeck_params",
            "--input",
            "epochs=7",
            "--input",
            "logical_date=2025-03-01T00:00:00Z",
            "--yes",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let started = stdout
        .lines()
        .find_map(|l| l.strip_prefix("done: started run opsdeck_params/"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let run_id = started.split_once(' ').map_or(started, |(id, _)| id);
    let run = af
        .get(&format!(
            "/api/v2/dags/opsdeck_params/dagRuns/{}",
            opsdeck::sources::http::path_segment(run_id)
        ))
        .await;
    assert_eq!(
        run["conf"],
        json!({"model": "fraud", "epochs": 7, "mode": "fast"}),
        "{run}"
    );
    assert_eq!(run["logical_date"], "2025-03-01T00:00:00Z", "{run}");
    // The same logical date again: Airflow's 409, said as such.
    let (code, _, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &[
            "dispatch",
            "airflow/opsdeck_params",
            "--input",
            "logical_date=2025-03-01T00:00:00Z",
            "--yes",
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("409 on /api/v2/dags/opsdeck_params/dagRuns")
            && stderr.contains("a run with this run id or logical date exists already"),
        "{stderr}"
    );
    // A value the param's schema refuses: Airflow's own words. Airflow on
    // SQLite may answer a write with `500 Database error` while other tests
    // write (the database is locked; opsdeck rightly calls the outcome
    // unknown): this request creates nothing, so it is asked again.
    let mut attempts = 0;
    let (code, stderr) = loop {
        attempts += 1;
        let (code, _, stderr) = cli(
            af,
            dir.path(),
            "admin",
            &[
                "dispatch",
                "airflow/opsdeck_params",
                "--input",
                "epochs=abc",
                "--yes",
            ],
        );
        if attempts < 3
            && stderr.contains("500 on /api/v2/dags/opsdeck_params/dagRuns: Database error")
        {
            continue;
        }
        break (code, stderr);
    };
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("Invalid input for param epochs: 'abc' is not of type 'integer'"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_and_resume_pause_and_unpause_the_dag() {
    let Some(af) = airflow() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    af.trigger("opsdeck_pause", "pz_1", json!({})).await;
    af.wait_run("opsdeck_pause", "pz_1", &["success"], RUN_TIMEOUT)
        .await;
    // A viewer may read but not pause: the permission is named.
    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "viewer",
        &["suspend", "airflow/opsdeck_pause", "--yes"],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("not allowed to pause or unpause DAG opsdeck_pause (403")
            && stderr.contains("permission PUT on DAG"),
        "{stderr}"
    );
    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["suspend", "airflow/opsdeck_pause", "--yes"],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("will pause airflow/opsdeck_pause"),
        "{stdout}"
    );
    assert!(
        stdout.contains("done: DAG opsdeck_pause paused"),
        "{stdout}"
    );
    assert_eq!(
        af.get("/api/v2/dags/opsdeck_pause").await["is_paused"],
        true
    );
    // Its runs are marked, and pausing again is refused before sending.
    let source =
        source_of(&af.config("airflow", "admin", dir.path(), "dags = [\"opsdeck_pause\"]"));
    let snapshot = source.fetch().await.expect("read");
    let run = find(&snapshot, "opsdeck_pause/pz_1");
    assert!(run.paused);
    assert!(
        detail(run, "DAG").is_some_and(|d| d.starts_with("paused")),
        "{run:?}"
    );
    let (code, _, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["suspend", "airflow/opsdeck_pause", "--yes"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("airflow/opsdeck_pause is already paused"),
        "{stderr}"
    );

    let (code, stdout, stderr) = cli(
        af,
        dir.path(),
        "admin",
        &["resume", "airflow/opsdeck_pause", "--yes"],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("done: DAG opsdeck_pause unpaused"),
        "{stdout}"
    );
    assert_eq!(
        af.get("/api/v2/dags/opsdeck_pause").await["is_paused"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_refused_login() {
    let Some(af) = airflow() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = cli(af, dir.path(), "not-the-password", &["status"]);
    assert_ne!(code, Some(0), "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("Airflow refused the login of `not-the-password`")
            && all.contains("401 on /auth/token: Invalid credentials"),
        "{all}"
    );
}

/// A local server in Airflow's shape for the one case a real one cannot
/// stage on demand: the JWT expires between two requests.
mod renewal {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    fn token_reply(token: &str) -> ResponseTemplate {
        ResponseTemplate::new(201).set_body_json(json!({"access_token": token}))
    }

    fn expired() -> ResponseTemplate {
        ResponseTemplate::new(401).set_body_json(json!({"detail": "Token Expired"}))
    }

    async fn server(second_login_works: bool) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/auth/token"))
            .respond_with(token_reply("jwt-1"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/auth/token"))
            .respond_with(token_reply(if second_login_works {
                "jwt-2"
            } else {
                "jwt-1"
            }))
            .with_priority(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/dags"))
            .and(header("authorization", "Bearer jwt-2"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"dags": [], "total_entries": 0})),
            )
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/dags"))
            .respond_with(expired())
            .with_priority(2)
            .mount(&server)
            .await;
        server
    }

    fn config(url: &str, dir: &Path) -> String {
        let file = dir.join("password");
        std::fs::write(&file, "pw").expect("password file");
        format!(
            "[[source]]\nname = \"airflow\"\nkind = \"airflow\"\nurl = \"{url}\"\n\
             username = \"oncall\"\npassword = {{ file = \"{}\" }}\n",
            file.display()
        )
    }

    fn sent(requests: &[Request]) -> Vec<String> {
        requests
            .iter()
            .map(|r| {
                let auth = r
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                format!("{} {} {auth}", r.method, r.url.path())
            })
            .collect()
    }

    #[tokio::test]
    async fn an_expired_jwt_logs_in_again_once_and_retries_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = server(true).await;
        let source = source_of(&config(&server.uri(), dir.path()));
        source.fetch().await.expect("read after renewing");
        let requests = server.received_requests().await.expect("recorded");
        assert_eq!(
            sent(&requests),
            [
                "POST /auth/token -",
                "GET /api/v2/dags Bearer jwt-1",
                "POST /auth/token -",
                "GET /api/v2/dags Bearer jwt-2",
            ]
        );
        // The renewed token is kept: the next read logs in no more.
        source.fetch().await.expect("read again");
        let requests = server.received_requests().await.expect("recorded");
        assert_eq!(sent(&requests[4..]), ["GET /api/v2/dags Bearer jwt-2"]);
    }

    #[tokio::test]
    async fn a_token_refused_after_renewing_is_the_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = server(false).await;
        let source = source_of(&config(&server.uri(), dir.path()));
        let e = source.fetch().await.expect_err("refused twice");
        let text = e.to_string();
        assert!(
            text.contains("Airflow refused the token (401 on /api/v2/dags: Token Expired)")
                && text.contains("renewed once and still refused"),
            "{text}"
        );
        let requests = server.received_requests().await.expect("recorded");
        assert_eq!(
            sent(&requests),
            [
                "POST /auth/token -",
                "GET /api/v2/dags Bearer jwt-1",
                "POST /auth/token -",
            ],
            "a second login giving the same token is not sent again"
        );
    }
}

/// Each action's exact request (method, path, body), recorded by a local
/// server in Airflow's shape.
mod requests {
    use super::*;
    use opsdeck::model::{Action, ActionKind, Target, TargetKind};
    use serde_json::Value;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// A run id as Airflow makes them: `:` and `+` must be encoded.
    const RUN: &str = "manual__2026-12-04T14:21:55.959138+00:00";
    const RUN_PATH: &str = "manual__2026-12-04T14%3A21%3A55.959138%2B00%3A00";

    async fn server() -> MockServer {
        let server = MockServer::start().await;
        let run = json!({"dag_run_id": RUN, "dag_id": "etl", "state": "failed",
            "run_type": "manual", "conf": {}});
        let tasks = json!({"task_instances": [
            {"task_id": "train", "dag_id": "etl", "dag_run_id": RUN, "state": null, "try_number": 1}],
            "total_entries": 1});
        let dag = json!({"dag_id": "etl", "is_paused": true, "tags": []});
        let details = json!({"dag_id": "etl", "is_paused": false, "params": {
            "epochs": {"value": 3, "schema": {"type": "integer"}, "description": null},
            "model": {"value": "fraud", "schema": {"type": "string"}, "description": null}}});
        let answers = [
            (
                "POST",
                "/auth/token".to_string(),
                201,
                json!({"access_token": "jwt"}),
            ),
            (
                "POST",
                "/api/v2/dags/etl/clearTaskInstances".into(),
                200,
                tasks,
            ),
            (
                "PATCH",
                format!("/api/v2/dags/etl/dagRuns/{RUN_PATH}"),
                200,
                run.clone(),
            ),
            ("GET", "/api/v2/dags/etl/details".into(), 200, details),
            ("POST", "/api/v2/dags/etl/dagRuns".into(), 200, run),
            ("PATCH", "/api/v2/dags/etl".into(), 200, dag),
        ];
        for (verb, at, status, body) in answers {
            Mock::given(method(verb))
                .and(path(at))
                .respond_with(ResponseTemplate::new(status).set_body_json(body))
                .mount(&server)
                .await;
        }
        server
    }

    fn action(kind: ActionKind, target: TargetKind, id: &str, inputs: &[(&str, &str)]) -> Action {
        Action {
            kind,
            target: Target::new("airflow", target, id),
            to: None,
            effect: String::new(),
            production: false,
            follow: None,
            sync: Default::default(),
            inputs: inputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[tokio::test]
    async fn each_action_sends_what_airflow_needs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = server().await;
        let file = dir.path().join("password");
        std::fs::write(&file, "pw").expect("password file");
        let source = source_of(&format!(
            "[[source]]\nname = \"airflow\"\nkind = \"airflow\"\nurl = \"{}\"\n\
             username = \"oncall\"\npassword = {{ file = \"{}\" }}\n",
            server.uri(),
            file.display()
        ));
        let run_id = format!("etl/{RUN}");
        let cases: Vec<(Action, &str, String, Value, &str)> = vec![
            (
                action(ActionKind::RerunFailed, TargetKind::Run, &run_id, &[]),
                "POST",
                "/api/v2/dags/etl/clearTaskInstances".into(),
                json!({"dry_run": false, "dag_run_id": RUN, "only_failed": true, "reset_dag_runs": true}),
                "cleared train of etl/manual__",
            ),
            (
                action(ActionKind::Rerun, TargetKind::Run, &run_id, &[]),
                "POST",
                "/api/v2/dags/etl/clearTaskInstances".into(),
                json!({"dry_run": false, "dag_run_id": RUN, "only_failed": false, "reset_dag_runs": true}),
                "cleared train of etl/manual__",
            ),
            (
                action(ActionKind::Cancel, TargetKind::Run, &run_id, &[]),
                "PATCH",
                format!("/api/v2/dags/etl/dagRuns/{RUN_PATH}"),
                json!({"state": "failed"}),
                "(Airflow has no cancel)",
            ),
            (
                action(
                    ActionKind::Dispatch,
                    TargetKind::Pipeline,
                    "etl",
                    &[
                        ("epochs", "5"),
                        ("model", "churn"),
                        ("extra", "x"),
                        ("logical_date", ""),
                    ],
                ),
                "POST",
                "/api/v2/dags/etl/dagRuns".into(),
                json!({"logical_date": null, "conf": {"epochs": 5, "model": "churn", "extra": "x"}}),
                "started run etl/manual__",
            ),
            (
                action(ActionKind::Suspend, TargetKind::Pipeline, "etl", &[]),
                "PATCH",
                "/api/v2/dags/etl".into(),
                json!({"is_paused": true}),
                "DAG etl paused",
            ),
            (
                action(ActionKind::Resume, TargetKind::Pipeline, "etl", &[]),
                "PATCH",
                "/api/v2/dags/etl".into(),
                json!({"is_paused": false}),
                // The server here answers paused whatever it is sent.
                "DAG etl paused",
            ),
        ];
        for (action, verb, at, body, said) in cases {
            let before = server.received_requests().await.expect("recorded").len();
            let done = source
                .execute(&action)
                .await
                .unwrap_or_else(|e| panic!("{action:?}: {e}"));
            assert!(done.contains(said), "{}: {done}", action.kind);
            let requests = server.received_requests().await.expect("recorded");
            let sent = requests[before..]
                .iter()
                .filter(|r| r.method.as_str() != "GET" && r.url.path() != "/auth/token")
                .collect::<Vec<_>>();
            assert_eq!(sent.len(), 1, "{}: {sent:?}", action.kind);
            assert_eq!(sent[0].method.as_str(), verb, "{}", action.kind);
            assert_eq!(sent[0].url.path(), at, "{}", action.kind);
            let got: Value = serde_json::from_slice(&sent[0].body).expect("a JSON body");
            assert_eq!(got, body, "{}", action.kind);
            assert_eq!(
                sent[0]
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok()),
                Some("Bearer jwt")
            );
        }
        // One login served every action.
        let logins = server
            .received_requests()
            .await
            .expect("recorded")
            .iter()
            .filter(|r| r.url.path() == "/auth/token")
            .count();
        assert_eq!(logins, 1);
        // A logical date that is not one is refused before sending.
        let bad = action(
            ActionKind::Dispatch,
            TargetKind::Pipeline,
            "etl",
            &[("logical_date", "tomorrow")],
        );
        let e = source.execute(&bad).await.expect_err("refused");
        assert!(
            e.to_string().contains("`tomorrow` is not a date and time"),
            "{e}"
        );
    }
}
