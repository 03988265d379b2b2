//! The GitHub Actions source against an in-process HTTP server (wiremock)
//! serving payloads shaped like api.github.com's: listing and mapping,
//! pagination through `Link`, conditional reads (304) and their cost, rate
//! limits (403 and 429), every error a read can meet, jobs and steps, log
//! tails through the storage redirect, dispatch forms from workflow files,
//! every action's exact request and audit lines, and where the token comes from.

#![recursion_limit = "256"]

mod support_github;
mod support_logs;

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

/// Answers 304 when `If-None-Match` carries the ETag, else the list.
async fn serve_with_etag(server: &MockServer, etag: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .and(header_is("if-none-match", etag))
        .respond_with(
            ResponseTemplate::new(304)
                .insert_header("etag", etag)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "4999"),
        )
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", etag)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "4999")
                .set_body_json(body),
        )
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_304_keeps_the_data_and_costs_nothing() {
    let f = fixture().await;
    let etag = "W/\"3f2a1c9b77e0\"";
    serve_with_etag(
        &f.server,
        etag,
        runs_page(vec![run(7, "completed", Some("failure"))], 1),
    )
    .await;
    let source = f.source();
    let first = source.fetch().await.expect("first read");
    assert_eq!(source.stats().charged(), 1);
    let second = source.fetch().await.expect("second read");
    assert_eq!(first, second, "the cached data is served again");
    let stats = source.stats();
    assert_eq!((stats.sent, stats.not_modified, stats.charged()), (2, 1, 1));
    let requests = f.requests().await;
    assert_eq!(header(&requests[0], "if-none-match"), None);
    assert_eq!(header(&requests[1], "if-none-match"), Some(etag));
}

/// THE FIGURE: an idle repository polled at the default interval for one
/// hour costs one request against the rate limit.
#[tokio::test]
async fn an_idle_repo_polled_for_an_hour_is_charged_one_request() {
    let f = fixture().await;
    let etag = "W/\"idle-repo\"";
    serve_with_etag(
        &f.server,
        etag,
        runs_page(vec![run(1, "completed", Some("success"))], 1),
    )
    .await;
    let source = f.source();
    assert_eq!(source.poll_interval(), Duration::from_secs(30));
    let polls = 3600 / source.poll_interval().as_secs();
    assert_eq!(polls, 120);
    // One simulated hour: each poll is what the poller would send every 30 s.
    for _ in 0..polls {
        let snapshot = source.fetch().await.expect("read");
        assert_eq!(snapshot.pipelines.len(), 1);
    }
    let stats = source.stats();
    let on_the_wire = f.requests().await.len();
    println!(
        "github idle hour at {}s: polls={polls} sent={} not_modified={} charged={} on_the_wire={on_the_wire}",
        source.poll_interval().as_secs(),
        stats.sent,
        stats.not_modified,
        stats.charged()
    );
    assert_eq!(stats.sent, 120);
    assert_eq!(stats.not_modified, 119);
    assert_eq!(stats.charged(), 1);
    assert_eq!(on_the_wire, 120);
}

#[tokio::test]
async fn a_used_up_limit_403_holds_every_read_until_the_reset() {
    let f = fixture().await;
    let reset = Utc::now() + TimeDelta::minutes(17);
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-used", "5000")
                .insert_header("x-ratelimit-reset", reset.timestamp().to_string().as_str())
                .insert_header("x-ratelimit-resource", "core")
                .set_body_json(error(
                    "API rate limit exceeded for user ID 1.",
                    "overview/rate-limits-for-the-rest-api",
                )),
        )
        .mount(&f.server)
        .await;
    let source = f.source();
    let e = source.fetch().await.expect_err("rate limited");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("rate limited until {} (", local_hhmm(reset))),
        "{text}"
    );
    assert!(
        text.contains("403 on /repos/octo-org/octo-repo/actions/runs, 0 requests left"),
        "{text}"
    );
    assert_eq!(e.retry_at().map(|t| t.timestamp()), Some(reset.timestamp()));

    // Not one request before the reset: reads, drill-downs and actions alike.
    let again = source.fetch().await.expect_err("held back");
    assert!(
        again
            .to_string()
            .starts_with(&format!("rate limited until {}", local_hhmm(reset)))
    );
    assert_eq!(again.retry_at(), e.retry_at());
    assert!(matches!(
        source.run_jobs("1").await,
        Err(SourceError::RateLimited { .. })
    ));
    assert!(matches!(
        source.job_log("1", "2").await,
        Err(SourceError::RateLimited { .. })
    ));
    assert_eq!(f.requests().await.len(), 1, "nothing more was sent");
    assert_eq!(source.stats().held_back, 3);
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn a_429_with_retry_after_waits_that_long() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "600")
                .set_body_json(error(
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                    "overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                )),
        )
        .mount(&f.server)
        .await;
    let source = f.source();
    let before = Utc::now();
    let e = source.fetch().await.expect_err("rate limited");
    let until = e.retry_at().expect("a time to wait for");
    assert!(
        until >= before + TimeDelta::seconds(600) && until <= Utc::now() + TimeDelta::seconds(600)
    );
    assert!(
        e.to_string().starts_with(&format!(
            "rate limited until {} (429 on {RUNS_PATH}",
            local_hhmm(until)
        )),
        "{e}"
    );
    let again = source.fetch().await.expect_err("held back");
    assert_eq!(again.retry_at(), Some(until));
    assert_eq!(f.requests().await.len(), 1, "the second read sent nothing");
}

#[tokio::test]
async fn an_action_reply_that_uses_up_the_limit_holds_the_next_read() {
    let f = fixture().await;
    let reset = Utc::now() + TimeDelta::minutes(5);
    Mock::given(method("POST"))
        .and(path(format!("{RUNS_PATH}/55/cancel")))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.timestamp().to_string().as_str())
                .set_body_json(json!({})),
        )
        .mount(&f.server)
        .await;
    let source = f.source();
    let running = opsdeck::sources::github::api::to_run(
        "gh",
        OWNER_REPO,
        serde_json::from_value(run(55, "in_progress", None)).expect("run"),
    );
    let action = plan_run(ActionKind::Cancel, &running, ctx()).expect("planned");
    assert_eq!(
        source.execute(&action).await,
        Ok("cancel requested (202)".into())
    );
    let e = source.fetch().await.expect_err("held back");
    assert_eq!(e.retry_at().map(|t| t.timestamp()), Some(reset.timestamp()));
    assert_eq!(f.requests().await.len(), 1, "the read was not sent");
}

#[tokio::test]
async fn a_401_says_token_rejected_and_where_it_came_from() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(error(
            "Bad credentials",
            "overview/troubleshooting-the-rest-api",
        )))
        .mount(&f.server)
        .await;
    let e = f.source().fetch().await.expect_err("refused").to_string();
    assert_eq!(
        e,
        "not allowed: gh: token rejected by GitHub (401 on /repos/octo-org/octo-repo/actions/runs: \
         Bad credentials); the token came from env GITHUB_TOKEN — renew it or point `token` at a valid one"
    );

    let file = f.dir.path().join("gh-token");
    std::fs::write(&file, format!("{TOKEN}\n")).expect("token file");
    let config = GithubConfig {
        token: Some(Secret::File(file.clone())),
        ..f.config()
    };
    let e = f
        .source_with(config)
        .fetch()
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains(&format!("the token came from file {}", file.display())),
        "{e}"
    );
    assert!(!e.contains(TOKEN));
}

#[tokio::test]
async fn a_403_without_rate_limit_headers_is_no_permission() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(403).set_body_json(error(
            "Resource not accessible by personal access token",
            "actions/workflow-runs#list-workflow-runs-for-a-repository",
        )))
        .mount(&f.server)
        .await;
    let source = f.source();
    let e = source.fetch().await.expect_err("refused");
    assert!(matches!(e, SourceError::Auth(_)), "{e:?}");
    let text = e.to_string();
    assert!(
        text.starts_with(
            "not allowed: gh: no permission to read the workflow runs of octo-org/octo-repo \
             (403 on /repos/octo-org/octo-repo/actions/runs: Resource not accessible by personal access token)"
        ),
        "{text}"
    );
    assert!(text.contains("Actions: read"), "{text}");
    assert!(!text.contains(TOKEN));
    // No rate limit: the next read is sent.
    let _ = source.fetch().await;
    assert_eq!(f.requests().await.len(), 2);
}

#[tokio::test]
async fn a_404_names_the_repository() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(error("Not Found", "actions/workflow-runs")),
        )
        .mount(&f.server)
        .await;
    let e = f.source().fetch().await.expect_err("missing").to_string();
    assert!(
        e.contains(&format!(
            "gh: repository octo-org/octo-repo not found at {} (404 on /repos/octo-org/octo-repo/actions/runs) — check `repo`",
            f.server.uri()
        )),
        "{e}"
    );
    assert!(e.contains("private repository the token cannot see"), "{e}");
    assert!(!e.contains(TOKEN));
}

#[tokio::test]
async fn a_500_is_a_backend_error_and_the_next_read_is_sent() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_json(error("Server Error", "")))
        .mount(&f.server)
        .await;
    let source = f.source();
    let e = source.fetch().await.expect_err("failed");
    assert_eq!(
        e,
        SourceError::Backend(
            "gh: GitHub answered 500 on /repos/octo-org/octo-repo/actions/runs: Server Error"
                .into()
        )
    );
    assert_eq!(e.retry_at(), None, "an ordinary retry, not a rate limit");
    let _ = source.fetch().await;
    assert_eq!(f.requests().await.len(), 2);
}

#[tokio::test]
async fn a_slow_answer_times_out_at_the_configured_timeout() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(runs_page(vec![], 0))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&f.server)
        .await;
    let config = GithubConfig {
        timeout: Duration::from_secs(1),
        ..f.config()
    };
    let source = f.source_with(config);
    // One request may take 1 s; a whole read of several pages, three times that.
    assert_eq!(source.fetch_timeout(), Duration::from_secs(3));
    let started = std::time::Instant::now();
    let e = fetch_with_timeout(&source).await.expect_err("too slow");
    // The request left unanswered is named (its path, never the query).
    assert_eq!(
        e,
        SourceError::NoAnswer {
            within: Duration::from_secs(1),
            from: RUNS_PATH.into()
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "no answer within 1s from {RUNS_PATH} — is the server overloaded or the address wrong?"
        )
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "did not wait for the answer"
    );
}

#[tokio::test]
async fn malformed_json_names_the_source_and_the_path() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json; charset=utf-8")
                .set_body_string("{\"total_count\": 1, \"workflow_runs\": [{\"id\": 1,"),
        )
        .mount(&f.server)
        .await;
    let e = f.source().fetch().await.expect_err("garbled");
    assert!(matches!(e, SourceError::Decode(_)), "{e:?}");
    assert!(
        e.to_string().starts_with(
            "cannot understand the backend's answer: gh: the workflow runs at /repos/octo-org/octo-repo/actions/runs: "
        ),
        "{e}"
    );
}

#[tokio::test]
async fn jobs_and_steps_load_with_their_durations() {
    let f = fixture().await;
    let jobs = json!({
        "total_count": 3,
        "jobs": [
            job(399444496, 29679449, "build", "completed", Some("success"), vec![
                step(1, "Set up job", Some("success"), "2020-01-20T09:42:40.000-08:00", Some("2020-01-20T09:42:41.000-08:00")),
                step(2, "Run actions/checkout@v2", Some("success"), "2020-01-20T09:42:41.000-08:00", Some("2020-01-20T09:42:45.000-08:00")),
                step(8, "Deploy to Heroku", Some("success"), "2020-01-20T09:42:59.000-08:00", Some("2020-01-20T09:44:39.000-08:00")),
            ]),
            job(399444497, 29679449, "test", "completed", Some("failure"), vec![
                step(1, "Set up job", Some("success"), "2020-01-20T09:42:40.000-08:00", Some("2020-01-20T09:42:41.000-08:00")),
                step(2, "Run Tests", Some("failure"), "2020-01-20T09:42:41.000-08:00", Some("2020-01-20T09:43:11.000-08:00")),
                step(3, "Upload coverage", Some("skipped"), "2020-01-20T09:43:11.000-08:00", Some("2020-01-20T09:43:11.000-08:00")),
            ]),
            job(399444498, 29679449, "lint", "in_progress", None, vec![
                step(1, "Set up job", None, "2020-01-20T09:42:40.000-08:00", None),
            ]),
        ]
    });
    Mock::given(method("GET"))
        .and(path(format!("{RUNS_PATH}/29679449/jobs")))
        .and(query_param("filter", "latest"))
        .and(query_param("per_page", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jobs))
        .expect(1)
        .mount(&f.server)
        .await;
    let jobs = f.source().run_jobs("29679449").await.expect("jobs");
    assert_eq!(jobs.len(), 3);
    let build = &jobs[0];
    assert_eq!(
        (build.id.as_str(), build.name.as_str(), build.status),
        ("399444496", "build", RunStatus::Success)
    );
    assert_eq!(build.duration, Some(Duration::from_secs(119)));
    assert_eq!(
        build.url.as_deref(),
        Some("https://github.com/octo-org/octo-repo/runs/29679449/jobs/399444496")
    );
    let steps: Vec<(&str, RunStatus, Option<u64>)> = build
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.status, s.duration.map(|d| d.as_secs())))
        .collect();
    assert_eq!(
        steps,
        [
            ("Set up job", RunStatus::Success, Some(1)),
            ("Run actions/checkout@v2", RunStatus::Success, Some(4)),
            ("Deploy to Heroku", RunStatus::Success, Some(100)),
        ]
    );
    assert_eq!(jobs[1].status, RunStatus::Failure);
    assert_eq!(jobs[1].steps[1].status, RunStatus::Failure);
    assert_eq!(jobs[1].steps[2].status, RunStatus::Skipped);
    assert_eq!(
        (jobs[2].status, jobs[2].duration),
        (RunStatus::Running, None)
    );
    assert_eq!(jobs[2].steps[0].status, RunStatus::Running);
    f.server.verify().await;
}

/// The API answers 302 to a signed URL on another host (the log storage).
async fn serve_log(f: &Fixture, storage: &MockServer, job_id: u64, log: String) {
    let signed = format!(
        "{}/_apis/pipelines/1/jobs/19/signedlogcontent?urlExpires=2020-01-22T22%3A44%3A54.1389777Z&urlSigningMethod=HMACV1&urlSignature=2TUDfIg4fm36OJmfPy6km5QD5DLCOkBVzvhWZM8B%2BUY%3D",
        storage.uri()
    );
    Mock::given(method("GET"))
        .and(path(format!(
            "/repos/octo-org/octo-repo/actions/jobs/{job_id}/logs"
        )))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", signed.as_str())
                .insert_header("x-ratelimit-remaining", "4998"),
        )
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/_apis/pipelines/1/jobs/19/signedlogcontent"))
        .and(query_param("urlSigningMethod", "HMACV1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/plain")
                .set_body_string(log),
        )
        .mount(storage)
        .await;
}

#[tokio::test]
async fn a_log_tail_follows_the_redirect_and_the_token_stays_with_github() {
    let f = fixture().await;
    let storage = MockServer::start().await;
    let log: String = (1..=500)
        .map(|i| {
            format!(
                "2020-01-20T17:42:{:02}.0000000Z \u{1b}[32mline {i}\u{1b}[0m\r\n",
                i % 60
            )
        })
        .collect();
    serve_log(&f, &storage, 399444496, log).await;
    let tail = f
        .source()
        .job_log("29679449", "399444496")
        .await
        .expect("the log tail");
    assert_eq!(tail.lines.len(), LOG_TAIL_LINES);
    assert!(tail.truncated);
    assert!(tail.lines[0].ends_with("line 301"), "{}", tail.lines[0]);
    assert!(tail.lines[199].ends_with("line 500"), "{}", tail.lines[199]);
    assert!(!tail.lines[199].contains('\u{1b}'), "colour codes removed");

    let api = f.requests().await;
    assert_eq!(api.len(), 1);
    assert_eq!(
        header(&api[0], "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let blob = storage.received_requests().await.unwrap_or_default();
    assert_eq!(blob.len(), 1, "the redirect was followed");
    assert_eq!(
        header(&blob[0], "authorization"),
        None,
        "the token never reaches the log storage"
    );
    for (name, value) in blob[0].headers.iter() {
        assert!(
            !value.to_str().unwrap_or("").contains(TOKEN),
            "{name} carries the token"
        );
    }
}

#[tokio::test]
async fn a_huge_log_is_read_to_its_end_keeping_only_the_tail() {
    let f = fixture().await;
    let storage = MockServer::start().await;
    // ~8 MiB of output: only the last few hundred KiB are kept while streaming.
    let mut log = String::with_capacity(8 << 20);
    for i in 1..=100_000 {
        log.push_str(&format!("step output line {i:06} {}\n", "x".repeat(60)));
    }
    serve_log(&f, &storage, 7, log).await;
    let tail = f.source().job_log("1", "7").await.expect("tail");
    assert_eq!(tail.lines.len(), LOG_TAIL_LINES);
    assert!(tail.truncated);
    assert!(tail.lines[199].starts_with("step output line 100000 "));
    assert!(tail.lines[0].starts_with("step output line 099801 "));
}

#[tokio::test]
async fn an_expired_log_is_named() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/octo-repo/actions/jobs/9/logs"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(error("Not Found", "actions/workflow-jobs")),
        )
        .mount(&f.server)
        .await;
    let e = f
        .source()
        .job_log("1", "9")
        .await
        .expect_err("gone")
        .to_string();
    assert!(
        e.contains("the log of job 9 (run 1) in octo-org/octo-repo not found"),
        "{e}"
    );
    assert!(e.contains("retention period"), "{e}");
}

const DEPLOY_YAML: &str = r#"name: Deploy
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      environment:
        description: 'Where to deploy'
        required: true
        type: choice
        options:
          - staging
          - production
      dry_run:
        description: Only print what would change
        type: boolean
        default: true
      version:
        description: Version to deploy (empty = the commit's)
        required: false
        type: string
      canary:
        type: boolean
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ inputs.environment }}"
"#;

async fn serve_workflow(f: &Fixture, id: u64, name: &str, file: &str, yaml: &str) {
    let path_ = format!(".github/workflows/{file}");
    Mock::given(method("GET"))
        .and(path(format!(
            "/repos/octo-org/octo-repo/actions/workflows/{id}"
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(workflow(id, name, &path_, "active")),
        )
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/octo-org/octo-repo/contents/{path_}")))
        .and(header_is("accept", "application/vnd.github.raw+json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "content-type",
                    "application/vnd.github.raw+json; charset=utf-8",
                )
                .set_body_string(yaml),
        )
        .mount(&f.server)
        .await;
}

#[tokio::test]
async fn the_dispatch_form_comes_from_the_workflow_file() {
    let f = fixture().await;
    serve_workflow(&f, 161335, "Deploy", "deploy.yml", DEPLOY_YAML).await;
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/octo-repo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 217723378, "name": "octo-repo", "full_name": "octo-org/octo-repo",
            "private": true, "default_branch": "trunk"
        })))
        .expect(1)
        .mount(&f.server)
        .await;
    let form = f.source().dispatch_form("161335").await.expect("a form");
    assert_eq!(form.pipeline, "161335");
    assert_eq!(form.name, "Deploy");
    assert_eq!(form.git_ref.as_deref(), Some("trunk"), "the default branch");
    assert!(!form.free_inputs);
    let inputs: Vec<(&str, &str, bool, Vec<&str>, &str)> = form
        .inputs
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.default.as_str(),
                i.required,
                i.choices.iter().map(String::as_str).collect(),
                i.description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        inputs,
        [
            (
                "environment",
                "staging",
                true,
                vec!["staging", "production"],
                "Where to deploy"
            ),
            (
                "dry_run",
                "true",
                false,
                vec!["true", "false"],
                "Only print what would change"
            ),
            (
                "version",
                "",
                false,
                vec![],
                "Version to deploy (empty = the commit's)"
            ),
            ("canary", "false", false, vec!["true", "false"], ""),
        ]
    );
    f.server.verify().await;

    // With `branch` configured: the file at that branch, and no repository read.
    let g = fixture().await;
    serve_workflow(&g, 161335, "Deploy", "deploy.yml", DEPLOY_YAML).await;
    let config = GithubConfig {
        branch: Some("release".into()),
        ..g.config()
    };
    let form = g
        .source_with(config)
        .dispatch_form("161335")
        .await
        .expect("form");
    assert_eq!(form.git_ref.as_deref(), Some("release"));
    let requests = g.requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].url.query(), Some("ref=release"));
    assert!(
        requests
            .iter()
            .all(|r| r.url.path() != "/repos/octo-org/octo-repo")
    );
}

#[tokio::test]
async fn a_workflow_without_workflow_dispatch_is_refused_clearly() {
    let f = fixture().await;
    serve_workflow(
        &f,
        159038,
        "Build",
        "build.yml",
        "name: Build\non: [push, pull_request]\njobs: {}\n",
    )
    .await;
    let e = f
        .source()
        .dispatch_form("159038")
        .await
        .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "gh: workflow Build has no workflow_dispatch trigger: GitHub will not start it by hand \
         (add `on: workflow_dispatch` to .github/workflows/build.yml)"
    );
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/octo-repo/actions/workflows/5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(workflow(
            5,
            "Nightly",
            ".github/workflows/nightly.yml",
            "disabled_manually",
        )))
        .mount(&f.server)
        .await;
    let e = f.source().dispatch_form("5").await.expect_err("disabled");
    assert!(
        e.to_string()
            .contains("workflow Nightly is disabled_manually"),
        "{e}"
    );
}

/// Plan like the app does and carry it out through the Executor.
async fn act(f: &Fixture, source: GithubSource, action: &Action) -> Outcome {
    f.executor(source).execute(1, action).await
}

fn mapped(run_json: Value) -> PipelineRun {
    opsdeck::sources::github::api::to_run(
        "gh",
        OWNER_REPO,
        serde_json::from_value(run_json).expect("run"),
    )
}

#[tokio::test]
async fn every_action_sends_its_exact_request_and_is_audited() {
    let f = fixture().await;
    for (p, status) in [
        (format!("{RUNS_PATH}/11/rerun"), 201),
        (format!("{RUNS_PATH}/11/rerun-failed-jobs"), 201),
        (format!("{RUNS_PATH}/12/cancel"), 202),
        (format!("{RUNS_PATH}/12/force-cancel"), 202),
        (
            "/repos/octo-org/octo-repo/actions/workflows/161335/dispatches".to_string(),
            204,
        ),
    ] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(
                ResponseTemplate::new(status).insert_header("x-ratelimit-remaining", "4990"),
            )
            .mount(&f.server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/octo-repo"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"full_name": OWNER_REPO, "default_branch": "main"})),
        )
        .mount(&f.server)
        .await;
    let failed = mapped(run(11, "completed", Some("failure")));
    let running = mapped(run(12, "in_progress", None));
    let snapshot = Snapshot {
        pipelines: vec![failed.clone(), running.clone()],
        ..Snapshot::default()
    };
    let pipeline = Target::new("gh", TargetKind::Pipeline, "161335");
    let with_inputs = plan_dispatch(
        ActionKind::Dispatch,
        &snapshot,
        &pipeline,
        Some("release/1.2"),
        vec![
            ("environment".into(), "staging".into()),
            ("dry_run".into(), "false".into()),
        ],
        ctx(),
    )
    .expect("planned");
    let bare = plan_dispatch(
        ActionKind::Dispatch,
        &snapshot,
        &pipeline,
        None,
        Vec::new(),
        ctx(),
    )
    .expect("planned");
    let actions = [
        plan_run(ActionKind::Rerun, &failed, ctx()).expect("rerun"),
        plan_run(ActionKind::RerunFailed, &failed, ctx()).expect("rerun failed"),
        plan_run(ActionKind::Cancel, &running, ctx()).expect("cancel"),
        plan_run(ActionKind::ForceCancel, &running, ctx()).expect("force-cancel"),
        with_inputs,
        bare,
    ];
    let mut outcomes = Vec::new();
    for action in &actions {
        outcomes.push(act(&f, f.source(), action).await);
    }
    assert_eq!(
        outcomes,
        [
            Outcome::Done("re-run requested (201)".into()),
            Outcome::Done("re-run of the failed jobs requested (201)".into()),
            Outcome::Done("cancel requested (202)".into()),
            Outcome::Done("force-cancel requested (202)".into()),
            Outcome::Done("new run of workflow 161335 requested on release/1.2 (204)".into()),
            Outcome::Done("new run of workflow 161335 requested on main (204)".into()),
        ]
    );

    let bearer = format!("Bearer {TOKEN}");
    let sent: Vec<(String, String, Option<String>, Value)> = f
        .requests()
        .await
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.url.path().to_string(),
                header(r, "authorization").map(str::to_string),
                serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            )
        })
        .collect();
    let dispatches = "/repos/octo-org/octo-repo/actions/workflows/161335/dispatches";
    let want: Vec<(String, String, Option<String>, Value)> = [
        ("POST", format!("{RUNS_PATH}/11/rerun"), Value::Null),
        (
            "POST",
            format!("{RUNS_PATH}/11/rerun-failed-jobs"),
            Value::Null,
        ),
        ("POST", format!("{RUNS_PATH}/12/cancel"), Value::Null),
        ("POST", format!("{RUNS_PATH}/12/force-cancel"), Value::Null),
        (
            "POST",
            dispatches.to_string(),
            json!({"ref": "release/1.2", "inputs": {"environment": "staging", "dry_run": "false"}}),
        ),
        ("GET", "/repos/octo-org/octo-repo".to_string(), Value::Null),
        ("POST", dispatches.to_string(), json!({"ref": "main"})),
    ]
    .into_iter()
    .map(|(m, p, b)| (m.to_string(), p, Some(bearer.clone()), b))
    .collect();
    assert_eq!(sent, want);
    for r in f.requests().await {
        assert_eq!(header(&r, "x-github-api-version"), Some("2022-11-28"));
        assert_eq!(header(&r, "accept"), Some("application/vnd.github+json"));
        if r.method.as_str() == "POST" && r.url.path() == dispatches {
            assert_eq!(header(&r, "content-type"), Some("application/json"));
        }
    }

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
        ("rerun", "11"),
        ("rerun_failed", "11"),
        ("cancel", "12"),
        ("force_cancel", "12"),
        ("dispatch", "161335"),
        ("dispatch", "161335"),
    ]
    .iter()
    .flat_map(|(a, t)| ["requested", "done"].map(|o| (a.to_string(), t.to_string(), o.to_string())))
    .collect();
    assert_eq!(summary, want);
    assert_eq!(audit[8]["to"], "release/1.2");
    assert_eq!(audit[8]["effect"], actions[4].effect.as_str());
    let text = std::fs::read_to_string(&f.audit).expect("audit");
    assert!(
        !text.contains(TOKEN),
        "the token never reaches the audit log"
    );
}

#[tokio::test]
async fn github_refusals_are_rejected_in_its_words_and_a_lost_answer_is_unknown() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path(format!("{RUNS_PATH}/12/cancel")))
        .respond_with(ResponseTemplate::new(409).set_body_json(error(
            "Cannot cancel a workflow run that is completed.",
            "actions/workflow-runs#cancel-a-workflow-run",
        )))
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/repos/octo-org/octo-repo/actions/workflows/161335/dispatches",
        ))
        .respond_with(ResponseTemplate::new(422).set_body_json(error(
            "Unexpected inputs provided: [\"colour\"]",
            "actions/workflows#create-a-workflow-dispatch-event",
        )))
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{RUNS_PATH}/12/force-cancel")))
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(5)))
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{RUNS_PATH}/13/rerun")))
        .respond_with(ResponseTemplate::new(403).set_body_json(error(
            "Resource not accessible by integration",
            "actions/workflow-runs#re-run-a-workflow",
        )))
        .mount(&f.server)
        .await;
    // Running when last read, finished by the time the cancel lands.
    let running = mapped(run(12, "in_progress", None));
    let cancel = plan_run(ActionKind::Cancel, &running, ctx()).expect("planned");
    let outcome = act(&f, f.source(), &cancel).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "gh: GitHub refused to cancel run 12 (409): Cannot cancel a workflow run that is completed.".into()
        )
    );

    let snapshot = Snapshot::default();
    let target = Target::new("gh", TargetKind::Pipeline, "161335");
    let dispatch = plan_dispatch(
        ActionKind::Dispatch,
        &snapshot,
        &target,
        Some("main"),
        vec![("colour".into(), "blue".into())],
        ctx(),
    )
    .expect("planned");
    let outcome = act(&f, f.source(), &dispatch).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "gh: GitHub refused to start a new run of workflow 161335 (422): Unexpected inputs provided: [\"colour\"]".into()
        )
    );

    let failed = mapped(run(13, "completed", Some("failure")));
    let rerun = plan_run(ActionKind::Rerun, &failed, ctx()).expect("planned");
    match act(&f, f.source(), &rerun).await {
        Outcome::Failed(why) => {
            assert!(
                why.starts_with("gh: no permission to re-run run 13 in octo-org/octo-repo (403"),
                "{why}"
            );
            assert!(why.contains("Actions: write"), "{why}");
        }
        other => panic!("{other:?}"),
    }

    // The answer never comes: it may or may not have happened.
    let slow = GithubConfig {
        timeout: Duration::from_secs(1),
        ..f.config()
    };
    let force = plan_run(ActionKind::ForceCancel, &running, ctx()).expect("planned");
    match act(&f, f.source_with(slow), &force).await {
        Outcome::Unknown(why) => assert!(
            why.starts_with("gh: no answer within 1s")
                && why.ends_with("check the backend before retrying"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }

    // Nobody listening: never sent, so nothing happened.
    let gone = GithubConfig {
        api_url: "http://127.0.0.1:9".into(),
        ..f.config()
    };
    match act(&f, f.source_with(gone), &cancel).await {
        Outcome::Failed(why) => assert!(why.starts_with("gh: cannot reach the backend"), "{why}"),
        other => panic!("{other:?}"),
    }
    let audit = f.audit_lines();
    assert_eq!(audit.len(), 10, "each action: requested + outcome");
    let outcomes: Vec<&str> = audit
        .iter()
        .skip(1)
        .step_by(2)
        .map(|l| l["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        outcomes,
        ["failed", "failed", "failed", "unknown", "failed"]
    );
    assert!(
        !std::fs::read_to_string(&f.audit)
            .expect("audit")
            .contains(TOKEN)
    );
}

/// A fake `gh` in its own directory, written by another process (so this
/// one never holds it open for writing when it is run).
fn fake_gh(dir: &std::path::Path, script: &str) {
    let gh = dir.join("gh");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf '%s' \"$1\" > \"$2\" && chmod 755 \"$2\"")
        .arg("sh")
        .arg(format!("#!/bin/sh\n{script}\n"))
        .arg(&gh)
        .status()
        .expect("sh");
    assert!(status.success());
}

#[tokio::test]
async fn the_token_comes_from_config_then_github_token_then_gh_token_then_gh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let args = dir.path().join("gh-args");
    fake_gh(
        &bin,
        &format!("echo \"$@\" > {}\necho gho_fromTheGhCli", args.display()),
    );
    let path = bin.display().to_string();
    let all = token::lookup(
        Some(&Secret::Env("CI_BOT_TOKEN".into())),
        &env(&[
            ("CI_BOT_TOKEN", "from-config"),
            ("GITHUB_TOKEN", "from-github-token"),
            ("GH_TOKEN", "from-gh-token"),
            ("PATH", &path),
        ]),
        None,
    )
    .await
    .expect("config");
    assert_eq!(
        (all.value.expose(), all.origin.as_str()),
        ("from-config", "env CI_BOT_TOKEN")
    );
    let t = token::lookup(
        None,
        &env(&[
            ("GITHUB_TOKEN", "from-github-token"),
            ("GH_TOKEN", "from-gh-token"),
            ("PATH", &path),
        ]),
        None,
    )
    .await
    .expect("GITHUB_TOKEN");
    assert_eq!(
        (t.value.expose(), t.origin.as_str()),
        ("from-github-token", "env GITHUB_TOKEN")
    );
    let t = token::lookup(
        None,
        &env(&[
            ("GITHUB_TOKEN", ""),
            ("GH_TOKEN", "from-gh-token"),
            ("PATH", &path),
        ]),
        None,
    )
    .await
    .expect("GH_TOKEN");
    assert_eq!(
        (t.value.expose(), t.origin.as_str()),
        ("from-gh-token", "env GH_TOKEN")
    );
    let t = token::lookup(None, &env(&[("PATH", &path)]), Some("github.example.com"))
        .await
        .expect("gh");
    assert_eq!(
        (t.value.expose(), t.origin.as_str()),
        (
            "gho_fromTheGhCli",
            "`gh auth token --hostname github.example.com`"
        )
    );
    assert_eq!(
        std::fs::read_to_string(&args).expect("gh ran").trim(),
        "auth token --hostname github.example.com"
    );

    // A configured secret that is missing is an error, not a fallback.
    let e = token::lookup(
        Some(&Secret::Env("CI_BOT_TOKEN".into())),
        &env(&[("GITHUB_TOKEN", "x")]),
        None,
    )
    .await
    .expect_err("unset");
    assert_eq!(e, "cannot read the token (env CI_BOT_TOKEN): it is not set");

    // No gh at all: a clear error.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("empty");
    let e = token::lookup(None, &env(&[("PATH", &empty.display().to_string())]), None)
        .await
        .expect_err("no gh");
    assert!(e.starts_with("no GitHub token: set `token = { env = \"…\" }` in the config, or GITHUB_TOKEN or GH_TOKEN, or log in with the GitHub CLI (`gh auth login`)"), "{e}");
    assert!(
        e.ends_with("the GitHub CLI `gh` is not installed (not on PATH)"),
        "{e}"
    );

    // gh present but logged out: its own words.
    let logged_out = dir.path().join("logged-out");
    std::fs::create_dir(&logged_out).expect("dir");
    fake_gh(
        &logged_out,
        "echo 'no oauth token found for github.com' >&2\nexit 1",
    );
    let e = token::lookup(
        None,
        &env(&[("PATH", &logged_out.display().to_string())]),
        None,
    )
    .await
    .expect_err("logged out");
    assert!(
        e.contains("`gh auth token` failed (exit status: 1): no oauth token found for github.com"),
        "{e}"
    );
}

#[tokio::test]
async fn the_gh_token_is_sent_and_named_when_github_rejects_it() {
    let f = fixture().await;
    let bin = f.dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    fake_gh(&bin, "echo gho_cliTokenRejected");
    Mock::given(method("GET"))
        .and(path(RUNS_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(error("Bad credentials", "")))
        .mount(&f.server)
        .await;
    let source = GithubSource::new("gh", f.config(), POLL)
        .with_env(env(&[("PATH", &bin.display().to_string())]));
    let e = source.fetch().await.expect_err("rejected").to_string();
    assert!(e.contains("token rejected by GitHub"), "{e}");
    assert!(
        e.contains("the token came from `gh auth token --hostname 127.0.0.1`"),
        "{e}"
    );
    assert!(!e.contains("gho_cliTokenRejected"));
    let requests = f.requests().await;
    assert_eq!(
        header(&requests[0], "authorization"),
        Some("Bearer gho_cliTokenRejected")
    );
}

#[test]
fn the_config_reads_every_key_and_never_echoes_an_inline_token() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let valid = dir.join("valid/github.toml");
    let config = opsdeck::config::load(&valid).expect("valid");
    let kinds: Vec<&opsdeck::config::SourceKind> = config.sources.iter().map(|s| &s.kind).collect();
    let opsdeck::config::SourceKind::Github(plain) = kinds[0] else {
        panic!("github")
    };
    assert_eq!(plain, &GithubConfig::for_repo("acme/web"));
    assert_eq!(plain.api_url, "https://api.github.com");
    assert_eq!((plain.limit, plain.timeout), (50, Duration::from_secs(10)));
    let opsdeck::config::SourceKind::Github(ghe) = kinds[1] else {
        panic!("github")
    };
    assert_eq!(ghe.repo, "payments/api.service");
    assert_eq!(ghe.api_url, "https://github.example.com/api/v3");
    assert_eq!(
        ghe.token,
        Some(Secret::Command(
            "gh auth token --hostname github.example.com".into()
        ))
    );
    assert_eq!(ghe.workflows, ["ci.yml", "161335"]);
    assert_eq!(
        (ghe.branch.as_deref(), ghe.event.as_deref()),
        (Some("main"), Some("push"))
    );
    assert_eq!((ghe.limit, ghe.timeout), (200, Duration::from_secs(20)));
    assert!(
        ghe.ca_file
            .as_ref()
            .is_some_and(|p| p.ends_with("certs/ghe-ca.pem"))
    );
    assert!(config.sources[1].production);
    assert_eq!(config.sources[1].refresh, Some(Duration::from_secs(60)));

    let plain_source = GithubSource::new("web-ci", plain.clone(), POLL);
    assert_eq!(plain_source.warning(), None);
    assert_eq!(plain_source.fetch_timeout(), Duration::from_secs(30));
    let unverified = GithubConfig {
        insecure: true,
        ..plain.clone()
    };
    assert_eq!(
        GithubSource::new("web-ci", unverified, POLL)
            .warning()
            .as_deref(),
        Some("TLS NOT VERIFIED (insecure = true)")
    );

    let inline = dir.join("invalid/github_inline_token.toml");
    let e = opsdeck::config::load(&inline)
        .expect_err("inline")
        .to_string();
    assert!(e.contains(":6:9: token must not be written inline"), "{e}");
    assert!(!e.contains("ghp_inlineSecretDoNotEcho"), "{e}");
}

/// The API's 302 to the lazy storage.
async fn redirect_to(f: &Fixture, job_id: u64, storage: &lazy_log::Storage) {
    Mock::given(method("GET"))
        .and(path(format!(
            "/repos/octo-org/octo-repo/actions/jobs/{job_id}/logs"
        )))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/signedlogcontent?urlSignature=s1gn3d", storage.url).as_str(),
        ))
        .mount(&f.server)
        .await;
}

/// The last `LOG_TAIL_LINES` lines of the 100 MB log, as the screen shows them.
fn true_tail() -> Vec<String> {
    let last = lazy_log::LINES;
    (last - LOG_TAIL_LINES as u64..last)
        .map(|i| lazy_log::line(i).trim_end().to_string())
        .collect()
}

#[tokio::test]
async fn a_100_mb_log_is_asked_for_its_end_only() {
    let f = fixture().await;
    let storage = lazy_log::start(true).await;
    redirect_to(&f, 11, &storage).await;
    let tail = f.source().job_log("1", "11").await.expect("tail");
    assert!(tail.truncated);
    assert_eq!(tail.lines, true_tail());
    let seen = storage.seen();
    assert_eq!(seen.len(), 1);
    let asked = seen[0].range.as_deref().expect("a Range header");
    let n: usize = asked
        .strip_prefix("bytes=-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a suffix range: {asked}"));
    assert!(n < 1 << 20, "only the end is asked for: {asked}");
    assert_eq!(seen[0].authorization, None, "the token stays with GitHub");
}

#[tokio::test]
async fn a_100_mb_log_from_storage_ignoring_ranges_still_shows_its_true_tail() {
    let f = fixture().await;
    let storage = lazy_log::start(false).await;
    redirect_to(&f, 12, &storage).await;
    let tail = f.source().job_log("1", "12").await.expect("tail");
    assert!(tail.truncated);
    assert_eq!(tail.lines, true_tail());
    assert!(storage.seen()[0].range.is_some(), "the range was asked for");

    // The kit's buffer, on the same 100 MB answer, never held more than
    // twice its limit plus a chunk.
    let limit = opsdeck::sources::github::log::LOG_TAIL_BYTES;
    let mut response = reqwest::get(format!("{}/signedlogcontent", storage.url))
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let mut buffer = opsdeck::sources::http::TailBuffer::new(limit);
    buffer.read_tail(&mut response).await.expect("streamed");
    assert!(
        buffer.peak() <= 2 * limit + 1024 * 1024,
        "held {} bytes at most",
        buffer.peak()
    );
    let (text, truncated) = buffer.finish();
    assert!(truncated && text.len() <= limit);
    assert!(text.ends_with(&lazy_log::line(lazy_log::LINES - 1)));
}

#[tokio::test]
async fn a_short_log_answered_206_from_byte_0_is_whole_and_an_empty_one_is_empty() {
    let f = fixture().await;
    let storage = MockServer::start().await;
    for (job, answer) in [
        (
            21,
            ResponseTemplate::new(206)
                .insert_header("content-range", "bytes 0-11/12")
                .set_body_string("first\nlast\r\n"),
        ),
        (
            22,
            ResponseTemplate::new(416).insert_header("content-range", "bytes */0"),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/octo-org/octo-repo/actions/jobs/{job}/logs"
            )))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", format!("{}/blob/{job}", storage.uri()).as_str()),
            )
            .mount(&f.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/blob/{job}")))
            .and(header_is("range", "bytes=-262144"))
            .respond_with(answer)
            .mount(&storage)
            .await;
    }
    let tail = f.source().job_log("1", "21").await.expect("tail");
    assert_eq!(
        (tail.lines, tail.truncated),
        (vec!["first".to_string(), "last".to_string()], false)
    );
    let tail = f.source().job_log("1", "22").await.expect("empty");
    assert_eq!((tail.lines.len(), tail.truncated), (0, false));
}
