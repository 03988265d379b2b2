//! The GitHub Actions source against an in-process HTTP server (wiremock)
//! serving payloads shaped like api.github.com's: listing and mapping,
//! pagination through `Link`, conditional reads (304) and their cost, rate
//! limits (403 and 429), every error a read can meet, jobs and steps, log
//! tails through the storage redirect, dispatch forms from workflow files,
//! every action's exact request and audit lines, and where the token comes from.

#![recursion_limit = "256"]

#[path = "../support_github/mod.rs"]
mod support_github;
#[path = "../support_logs/mod.rs"]
mod support_logs;

mod actions;
mod credentials;
mod dispatch;
mod limits;
mod logs;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use opsdeck::app::actions::{PlanContext, plan_dispatch, plan_run};
use opsdeck::config::{GithubConfig, Secret};
use opsdeck::model::{
    Action, ActionKind, LOG_TAIL_LINES, Outcome, PipelineRun, RunStatus, Snapshot, Target,
    TargetKind,
};
use opsdeck::sources::github::GithubSource;
use opsdeck::sources::github::token;
use opsdeck::sources::{Source, SourceError, fetch_with_timeout};
use serde_json::{Value, json};
use support_github::*;
use support_logs as lazy_log;
use wiremock::matchers::{header as header_is, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ctx() -> PlanContext {
    PlanContext {
        read_only: false,
        source_production: false,
        now: Utc::now(),
        rerun_starts_new: false,
        cancel_marks_failed: false,
    }
}

async fn serve_runs(f: &Fixture, runs: Vec<Value>) {
    let total = runs.len();
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs_page(runs, total)))
        .mount(&f.server)
        .await;
}

fn find<'a>(snapshot: &'a Snapshot, id: &str) -> &'a PipelineRun {
    snapshot
        .pipelines
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("run {id} is listed"))
}

fn local_hhmm(t: chrono::DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%H:%M").to_string()
}

#[tokio::test]
async fn lists_runs_with_githubs_headers_and_maps_every_field() {
    let f = fixture().await;
    serve_runs(
        &f,
        vec![
            run(30433642, "completed", Some("success")),
            run_with(
                30433643,
                "in_progress",
                None,
                json!({"updated_at": "2020-01-22T19:40:00Z"}),
            ),
            run_with(
                30433644,
                "completed",
                Some("failure"),
                json!({
                    "run_attempt": 2,
                    "name": "Deploy",
                    "workflow_id": 161335,
                    "head_branch": "release/1.2",
                    "event": "workflow_dispatch",
                    "actor": user("mona", 2),
                    "triggering_actor": user("hubot", 3),
                    "run_started_at": "2020-01-22T20:00:00Z",
                    "updated_at": "2020-01-22T20:07:30Z"
                }),
            ),
        ],
    )
    .await;
    let snapshot = f.source().fetch().await.expect("the runs read");
    assert_eq!(snapshot.pipelines.len(), 3);

    let requests = f.requests().await;
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.url.path(), RUNS_PATH);
    assert_eq!(
        r.url.query(),
        Some("per_page=50&exclude_pull_requests=true")
    );
    assert_eq!(header(r, "accept"), Some("application/vnd.github+json"));
    assert_eq!(header(r, "x-github-api-version"), Some("2022-11-28"));
    assert_eq!(
        header(r, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    let done = find(&snapshot, "30433642");
    assert_eq!(done.source, "gh");
    assert_eq!(done.pipeline, "Build");
    assert_eq!(done.pipeline_id, "159038");
    assert_eq!(done.project, "octo-org/octo-repo");
    assert_eq!(done.branch, "main");
    assert_eq!(done.commit, "acb5820ced9479c074f688cc328bf03f341a511d");
    assert_eq!(done.actor, "octocat");
    assert_eq!(done.event, "push");
    assert_eq!(
        (done.status, done.raw_status.as_deref()),
        (RunStatus::Success, None)
    );
    assert_eq!(done.attempt, 1);
    assert_eq!(done.duration, Some(Duration::from_secs(5 * 60 + 12)));
    assert_eq!(
        done.url.as_deref(),
        Some("https://github.com/octo-org/octo-repo/actions/runs/30433642")
    );
    assert_eq!(
        done.started_at.map(|t| t.to_rfc3339()),
        Some("2020-01-22T19:33:08+00:00".into())
    );
    assert!(done.jobs.is_none(), "jobs load on drill-down");

    // In progress: conclusion null, no duration (the app counts from started_at).
    let running = find(&snapshot, "30433643");
    assert_eq!(running.status, RunStatus::Running);
    assert_eq!(running.duration, None);
    assert!(running.started_at.is_some());

    // A re-run: attempt 2, started by someone else than the original actor.
    let rerun = find(&snapshot, "30433644");
    assert_eq!(rerun.attempt, 2);
    assert_eq!(rerun.status, RunStatus::Failure);
    assert_eq!(rerun.pipeline, "Deploy");
    assert_eq!(rerun.pipeline_id, "161335");
    assert_eq!(rerun.branch, "release/1.2");
    assert_eq!(rerun.event, "workflow_dispatch");
    assert_eq!(rerun.actor, "mona");
    assert_eq!(rerun.duration, Some(Duration::from_secs(7 * 60 + 30)));
}

#[tokio::test]
async fn every_status_and_conclusion_maps_as_the_table_says() {
    let f = fixture().await;
    let rows: Vec<(&str, Option<&str>, RunStatus, Option<&str>)> = vec![
        ("queued", None, RunStatus::Queued, None),
        ("requested", None, RunStatus::Queued, None),
        ("waiting", None, RunStatus::Queued, None),
        ("pending", None, RunStatus::Queued, None),
        ("in_progress", None, RunStatus::Running, None),
        ("completed", Some("success"), RunStatus::Success, None),
        ("completed", Some("failure"), RunStatus::Failure, None),
        ("completed", Some("timed_out"), RunStatus::Failure, None),
        (
            "completed",
            Some("startup_failure"),
            RunStatus::Failure,
            None,
        ),
        ("completed", Some("cancelled"), RunStatus::Cancelled, None),
        ("completed", Some("skipped"), RunStatus::Skipped, None),
        ("completed", Some("neutral"), RunStatus::Skipped, None),
        (
            "completed",
            Some("stale"),
            RunStatus::Unknown,
            Some("stale"),
        ),
        (
            "completed",
            Some("action_required"),
            RunStatus::Unknown,
            Some("action_required"),
        ),
    ];
    let runs = rows
        .iter()
        .enumerate()
        .map(|(i, (s, c, _, _))| run(100 + i as u64, s, *c))
        .collect();
    serve_runs(&f, runs).await;
    let snapshot = f.source().fetch().await.expect("read");
    for (i, (s, c, status, raw)) in rows.iter().enumerate() {
        let r = find(&snapshot, &(100 + i).to_string());
        assert_eq!(
            (r.status, r.raw_status.as_deref()),
            (*status, *raw),
            "{s} {c:?}"
        );
        let finished = *s == "completed";
        assert_eq!(
            r.duration.is_some(),
            finished,
            "{s} {c:?}: duration only when completed"
        );
        assert_eq!(
            r.awaiting_approval.as_deref(),
            (*s == "waiting").then_some("a deployment review"),
            "{s} {c:?}: only a run held by a deployment protection rule waits for a person"
        );
    }
}

#[tokio::test]
async fn pages_are_followed_through_link_until_the_limit() {
    let f = fixture().await;
    let base = format!(
        "{}{RUNS_PATH}?per_page=100&exclude_pull_requests=true",
        f.server.uri()
    );
    let link =
        |next: u32| format!("<{base}&page={next}>; rel=\"next\", <{base}&page=9>; rel=\"last\"");
    let page = |n: u64| -> Vec<Value> {
        (0..100)
            .map(|i| run(n * 1000 - i, "completed", Some("success")))
            .collect()
    };
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", link(2).as_str())
                .set_body_json(runs_page(page(9), 900)),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    for n in [2u32, 3, 4] {
        Mock::given(method("GET"))
            .and(path(RUNS_PATH))
            .and(query_param("page", n.to_string()))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("link", link(n + 1).as_str())
                    .set_body_json(runs_page(page(10 - n as u64), 900)),
            )
            .expect(if n == 4 { 0 } else { 1 })
            .mount(&f.server)
            .await;
    }
    let config = GithubConfig {
        limit: 250,
        ..f.config()
    };
    let snapshot = f.source_with(config).fetch().await.expect("three pages");
    assert_eq!(snapshot.pipelines.len(), 250, "the limit is respected");
    assert_eq!(snapshot.pipelines[0].id, "9000");
    assert_eq!(snapshot.pipelines[249].id, "6951");
    let requests = f.requests().await;
    assert_eq!(requests.len(), 3, "page 4 is never asked for");
    for r in &requests {
        assert_eq!(
            header(r, "authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    f.server.verify().await;
}

#[tokio::test]
async fn named_workflows_are_read_each_filtered_and_merged_newest_first() {
    let f = fixture().await;
    for (workflow, runs) in [
        (
            "ci.yml",
            vec![
                run_with(
                    3,
                    "completed",
                    Some("success"),
                    json!({"created_at": "2020-01-22T12:00:00Z"}),
                ),
                run_with(
                    1,
                    "completed",
                    Some("success"),
                    json!({"created_at": "2020-01-22T10:00:00Z"}),
                ),
            ],
        ),
        (
            "161335",
            vec![run_with(
                2,
                "in_progress",
                None,
                json!({"created_at": "2020-01-22T11:00:00Z", "workflow_id": 161335, "name": "Deploy"}),
            )],
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/octo-org/octo-repo/actions/workflows/{workflow}/runs"
            )))
            .and(query_param("branch", "main"))
            .and(query_param("event", "push"))
            .and(query_param("exclude_pull_requests", "true"))
            .and(query_param("per_page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(runs_page(runs, 2)))
            .expect(1)
            .mount(&f.server)
            .await;
    }
    let config = GithubConfig {
        workflows: vec!["ci.yml".into(), "161335".into()],
        branch: Some("main".into()),
        event: Some("push".into()),
        limit: 2,
        ..f.config()
    };
    let snapshot = f.source_with(config).fetch().await.expect("both workflows");
    let ids: Vec<&str> = snapshot.pipelines.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["3", "2"], "merged newest first, cut at the limit");
    assert_eq!(snapshot.pipelines[1].pipeline, "Deploy");
    f.server.verify().await;
}

#[tokio::test]
async fn a_deleted_workflow_is_named_while_the_others_runs_show() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/octo-org/octo-repo/actions/workflows/ci.yml/runs",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(runs_page(
            vec![run_with(7, "completed", Some("success"), json!({}))],
            1,
        )))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/octo-org/octo-repo/actions/workflows/gone.yml/runs",
        ))
        .respond_with(ResponseTemplate::new(404).set_body_json(error("Not Found", "actions")))
        .mount(&f.server)
        .await;
    let config = GithubConfig {
        workflows: vec!["gone.yml".into(), "ci.yml".into()],
        ..f.config()
    };
    let source = f.source_with(config);
    let snapshot = source.fetch().await.expect("one workflow reads");
    let ids: Vec<&str> = snapshot.pipelines.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["7"], "the other workflow's runs show");
    assert_eq!(snapshot.problems.len(), 1, "{:?}", snapshot.problems);
    let problem = &snapshot.problems[0];
    assert!(
        problem.contains("workflow gone.yml in octo-org/octo-repo not found")
            && problem.contains("404 on /repos/octo-org/octo-repo/actions/workflows/gone.yml/runs"),
        "{problem}"
    );
    assert!(!problem.contains(TOKEN), "{problem}");

    // With no workflow left to read, the source itself is in error.
    let config = GithubConfig {
        workflows: vec!["gone.yml".into()],
        ..f.config()
    };
    let e = f
        .source_with(config)
        .fetch()
        .await
        .expect_err("nothing read")
        .to_string();
    assert!(
        e.contains("workflow gone.yml in octo-org/octo-repo not found"),
        "{e}"
    );
}
