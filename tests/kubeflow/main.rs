//! `kind = "kubeflow"` against a Kubeflow Pipelines v2beta1 test server
//! (`support_kubeflow`): every runtime state's mapping, names resolved once,
//! paging, namespace and experiment filters, a 401 renewed once, bad runs
//! kept to themselves, and each action's request and the state after it,
//! through the real binary's headless commands.

#[path = "../support_kubeflow/mod.rs"]
mod support_kubeflow;

mod actions;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use opsdeck::config::{KubeflowConfig, Secret};
use opsdeck::model::{PipelineRun, RunStatus};
use opsdeck::sources::Source;
use opsdeck::sources::kubeflow::KubeflowSource;
use serde_json::{Value, json};
use support_kubeflow::{KfpServer, RunSpec, spec};

const T0: i64 = 1_796_000_000;

/// Experiments in two namespaces, one pipeline with two versions.
async fn server() -> KfpServer {
    let s = KfpServer::start().await;
    s.experiment("e-fraud", "fraud", "team-ml");
    s.experiment("e-churn", "churn", "team-ml");
    s.experiment("e-other", "other", "team-b");
    s.pipeline("p-fraud", "fraud-training");
    let params = [
        ("lr", "NUMBER_DOUBLE", Some(json!(0.1))),
        ("epochs", "NUMBER_INTEGER", Some(json!(5))),
        ("dataset", "STRING", None),
    ];
    s.version(
        "p-fraud",
        "v3",
        "v3",
        T0 - 9000,
        spec("fraud-training", &params),
    );
    s.version(
        "p-fraud",
        "v4",
        "v4",
        T0 - 5000,
        spec("fraud-training", &params),
    );
    s
}

fn add(s: &KfpServer, id: &str, experiment: &str, state: &str, created: i64) {
    s.run(RunSpec {
        id,
        experiment,
        pipeline: "p-fraud",
        version: "v4",
        state,
        created,
        parameters: json!({"lr": 0.3, "epochs": 5, "dataset": "gs://fraud/2026-12"}),
    });
}

fn source(s: &KfpServer, edit: impl FnOnce(&mut KubeflowConfig)) -> KubeflowSource {
    let mut config = KubeflowConfig::new(s.url());
    edit(&mut config);
    KubeflowSource::new("kfp", config, Duration::from_secs(30))
}

fn by_id(runs: &[PipelineRun]) -> HashMap<&str, &PipelineRun> {
    runs.iter().map(|r| (r.id.as_str(), r)).collect()
}

fn detail<'a>(run: &'a PipelineRun, name: &str) -> Option<&'a str> {
    run.details
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn every_runtime_state_is_mapped_and_anything_else_is_unknown() {
    let s = server().await;
    let states = [
        ("PENDING", RunStatus::Queued, None),
        ("PAUSED", RunStatus::Queued, None),
        ("RUNNING", RunStatus::Running, None),
        ("CANCELING", RunStatus::Running, None),
        ("SUCCEEDED", RunStatus::Success, None),
        ("FAILED", RunStatus::Failure, None),
        ("CANCELED", RunStatus::Cancelled, None),
        ("SKIPPED", RunStatus::Skipped, None),
        (
            "RUNTIME_STATE_UNSPECIFIED",
            RunStatus::Unknown,
            Some("runtime_state_unspecified"),
        ),
        ("DRAINING", RunStatus::Unknown, Some("draining")),
    ];
    for (i, (state, _, _)) in states.iter().enumerate() {
        add(
            &s,
            &format!("r-{}", state.to_lowercase()),
            "e-fraud",
            state,
            T0 + i as i64,
        );
    }
    let snapshot = source(&s, |_| {}).fetch().await.expect("read");
    assert!(snapshot.problems.is_empty(), "{:?}", snapshot.problems);
    let runs = by_id(&snapshot.pipelines);
    for (state, want, raw) in states {
        let run = runs[format!("r-{}", state.to_lowercase()).as_str()];
        assert_eq!(run.status, want, "{state}");
        assert_eq!(run.raw_status.as_deref(), raw, "{state}");
        assert_eq!(run.error, None, "{state}");
        assert_eq!(run.pipeline, "fraud-training v4");
    }
    // Newest first.
    assert_eq!(snapshot.pipelines[0].id, "r-draining");
    let done = runs["r-succeeded"];
    assert_eq!(done.duration, Some(Duration::from_secs(295)));
    assert_eq!(done.pipeline_id, "p-fraud/v4/r-succeeded");
    assert_eq!(done.project, "fraud");
    assert_eq!(
        done.url.as_deref(),
        Some(format!("{}/#/runs/details/r-succeeded", s.url()).as_str())
    );
    assert_eq!(
        detail(done, "parameters"),
        Some("dataset=gs://fraud/2026-12, epochs=5, lr=0.3")
    );
    assert_eq!(detail(done, "experiment"), Some("fraud (e-fraud)"));
    // finished_at 1970-01-01 is no time: a running run has no duration yet.
    let running = runs["r-running"];
    assert_eq!(running.duration, None);
    assert!(running.started_at.is_some());
    // A failure without a recorded reason says so.
    assert_eq!(
        detail(runs["r-failed"], "reason"),
        Some("no reason recorded")
    );
    assert_eq!(detail(done, "reason"), None);
}

#[tokio::test]
async fn a_failed_runs_reason_comes_from_its_state_history_and_tasks() {
    let s = server().await;
    add(&s, "r1", "e-fraud", "FAILED", T0);
    s.edit_run("r1", |run| {
        run["state_history"][2]["error"] =
            json!({"code": 2, "message": "workflow failed: 1 of 2 tasks failed"});
        run["run_details"]["task_details"][1]["error"] =
            json!({"code": 2, "message": "OOMKilled (exit code 137)"});
    });
    let snapshot = source(&s, |_| {}).fetch().await.expect("read");
    assert_eq!(
        detail(&snapshot.pipelines[0], "reason"),
        Some("workflow failed: 1 of 2 tasks failed; task train: OOMKilled (exit code 137)")
    );
    // The drill-down: task details as jobs, with states and times.
    let kfp = source(&s, |_| {});
    let jobs = kfp.run_jobs("r1").await.expect("jobs");
    let names: Vec<(&str, RunStatus)> = jobs.iter().map(|j| (j.name.as_str(), j.status)).collect();
    assert_eq!(
        names,
        [
            ("prepare-data", RunStatus::Success),
            ("train", RunStatus::Failure)
        ]
    );
    assert_eq!(jobs[0].duration, Some(Duration::from_secs(54)));
    assert!(jobs[1].started_at.is_some());
    // Logs: not served by this API; the run's page instead.
    let e = kfp.job_log("r1", "r1-train").await.expect_err("no logs");
    assert!(e.to_string().contains("serves no logs"), "{e}");
    assert!(e.to_string().contains("/#/runs/details/r1"), "{e}");
}

#[tokio::test]
async fn runs_are_read_page_by_page_newest_first_and_names_asked_for_once() {
    let s = server().await;
    s.page_cap(10);
    for i in 0..25 {
        add(&s, &format!("r{i:02}"), "e-fraud", "SUCCEEDED", T0 + i);
    }
    let kfp = source(&s, |_| {});
    let snapshot = kfp.fetch().await.expect("read");
    let ids: Vec<&str> = snapshot.pipelines.iter().map(|r| r.id.as_str()).collect();
    let want: Vec<String> = (0..25).rev().map(|i| format!("r{i:02}")).collect();
    assert_eq!(ids, want);
    let lists: Vec<_> = s
        .seen()
        .into_iter()
        .filter(|r| r.path == "/apis/v2beta1/runs")
        .collect();
    assert_eq!(lists.len(), 3);
    assert_eq!(lists[0].query("sort_by"), Some("created_at desc"));
    assert_eq!(lists[0].query("page_token"), None);
    for later in &lists[1..] {
        assert!(later.query("page_token").is_some());
        assert_eq!(later.query("sort_by"), None, "the token holds the sort");
    }
    assert_eq!(s.count("/pipelines/p-fraud"), 1);
    assert_eq!(s.count("/pipelines/p-fraud/versions/v4"), 1);
    assert_eq!(s.count("/experiments"), 1);
    s.forget_seen();
    kfp.fetch().await.expect("read again");
    assert_eq!(s.count("/pipelines/p-fraud"), 0, "names are kept");
    assert_eq!(s.count("/pipelines/p-fraud/versions/v4"), 0);
    assert_eq!(s.count("/experiments"), 0);
    // `limit` stops the paging.
    s.forget_seen();
    let few = source(&s, |c| c.limit = 12).fetch().await.expect("read");
    assert_eq!(few.pipelines.len(), 12);
    assert_eq!(few.pipelines[0].id, "r24");
    assert_eq!(s.count("/runs"), 2);
}

#[tokio::test]
async fn multi_user_mode_reads_one_namespace_and_says_when_none_is_set() {
    let s = server().await;
    s.multi_user();
    add(&s, "mine", "e-fraud", "RUNNING", T0);
    add(&s, "theirs", "e-other", "RUNNING", T0 + 1);
    let e = source(&s, |_| {}).fetch().await.expect_err("no namespace");
    let words = e.to_string();
    assert!(
        words.contains("empty namespace in multi-user mode"),
        "{words}"
    );
    assert!(words.contains("set `namespace`"), "{words}");
    let snapshot = source(&s, |c| c.namespace = Some("team-ml".into()))
        .fetch()
        .await
        .expect("read");
    let ids: Vec<&str> = snapshot.pipelines.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["mine"]);
    for seen in s
        .seen()
        .iter()
        .filter(|r| r.path.ends_with("/runs"))
        .skip(1)
    {
        assert_eq!(seen.query("namespace"), Some("team-ml"));
    }
}

#[tokio::test]
async fn experiments_are_chosen_by_display_name_and_a_missing_one_is_a_problem() {
    let s = server().await;
    add(&s, "f1", "e-fraud", "SUCCEEDED", T0);
    add(&s, "c1", "e-churn", "SUCCEEDED", T0 + 1);
    let kfp = source(&s, |c| c.experiments = vec!["fraud".into(), "nope".into()]);
    let snapshot = kfp.fetch().await.expect("read");
    let ids: Vec<&str> = snapshot.pipelines.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["f1"]);
    assert_eq!(
        snapshot.problems,
        ["kfp: no experiment named nope on the server"]
    );
    let lists: Vec<_> = s
        .seen()
        .into_iter()
        .filter(|r| r.path.ends_with("/runs"))
        .collect();
    assert!(
        lists
            .iter()
            .all(|r| r.query("experiment_id") == Some("e-fraud"))
    );
    let none = source(&s, |c| c.experiments = vec!["nope".into()]);
    let e = none.fetch().await.expect_err("nothing to read");
    assert!(e.to_string().contains("no experiment named nope"), "{e}");
}

#[tokio::test]
async fn a_rejected_token_is_renewed_once_and_the_request_sent_once_more() {
    let s = server().await;
    add(&s, "r1", "e-fraud", "RUNNING", T0);
    s.accept_tokens(&["fresh-token"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("token");
    std::fs::write(&file, "stale-token").expect("token");
    // A command secret: kept for the process, run again after a 401.
    let command = format!("cat {}", file.display());
    let kfp = source(&s, |c| c.token = Some(Secret::Command(command)));
    // Unchanged after renewal: the 401 stands, nothing sent a third time.
    let e = kfp.fetch().await.expect_err("stale");
    assert!(e.to_string().contains("refused the credentials"), "{e}");
    assert!(!e.to_string().contains("stale-token"), "{e}");
    let sent: Vec<_> = s.seen().iter().map(|r| r.bearer.clone()).collect();
    assert_eq!(sent, [Some("stale-token".to_string())]);
    s.forget_seen();
    std::fs::write(&file, "fresh-token").expect("token");
    let snapshot = kfp.fetch().await.expect("renewed");
    assert_eq!(snapshot.pipelines.len(), 1);
    let runs: Vec<_> = s
        .seen()
        .into_iter()
        .filter(|r| r.path.ends_with("/runs"))
        .collect();
    let sent: Vec<_> = runs
        .iter()
        .map(|r| r.bearer.clone().unwrap_or_default())
        .collect();
    assert_eq!(sent, ["stale-token", "fresh-token"]);
    // Later requests go with the renewed token.
    assert!(
        s.seen()
            .iter()
            .skip(2)
            .all(|r| r.bearer.as_deref() == Some("fresh-token"))
    );
}

#[tokio::test]
async fn one_unreadable_run_is_an_item_error_and_its_siblings_are_fine() {
    let s = server().await;
    add(&s, "good", "e-fraud", "SUCCEEDED", T0);
    s.raw_run(
        json!({"run_id": "broken", "created_at": "2026-12-01T00:00:00Z", "state_history": "nope"}),
    );
    s.raw_run(json!({"run_id": "unread", "experiment_id": "e-fraud",
        "error": {"code": 13, "message": "Failed to fetch run details: mysql timeout"}}));
    s.raw_run(json!({"display_name": "no id", "created_at": "2026-12-01T00:00:00Z"}));
    let snapshot = source(&s, |_| {}).fetch().await.expect("read");
    let runs = by_id(&snapshot.pipelines);
    assert_eq!(runs["good"].status, RunStatus::Success);
    assert_eq!(runs["good"].error, None);
    let broken = runs["broken"].error.as_deref().unwrap_or_default();
    assert!(
        broken.starts_with("cannot understand this run: "),
        "{broken}"
    );
    let unread = runs["unread"].error.as_deref().unwrap_or_default();
    assert!(unread.contains("mysql timeout"), "{unread}");
    assert_eq!(snapshot.problems.len(), 1, "{:?}", snapshot.problems);
    assert!(snapshot.problems[0].contains("a run without a run_id"));
}
