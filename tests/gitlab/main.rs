//! The GitLab source against an in-process HTTP server (wiremock) serving
//! payloads shaped like GitLab's v4 API: paging by `Link`, ETags, the
//! incremental `updated_after` read and its detail cache, rate limits,
//! every error a read can meet, the status mapping, jobs with retried
//! attempts, log tails, each action's exact request and audit lines, and
//! the dispatch form.

#[path = "../support_gitlab/mod.rs"]
mod support_gitlab;
#[path = "../support_logs/mod.rs"]
mod support_logs;

mod actions;
mod credentials;
mod limits;
mod logs;

use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::actions::{PlanContext, plan_dispatch, plan_run};
use opsdeck::model::{
    ActionKind, LOG_TAIL_LINES, Outcome, PipelineRun, RunStatus, Snapshot, Target, TargetKind,
};
use opsdeck::sources::gitlab::GitlabSource;
use opsdeck::sources::{Source, SourceError, fetch_with_timeout};
use serde_json::{Value, json};
use support_gitlab::*;
use wiremock::matchers::{header, method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

fn ctx() -> PlanContext {
    PlanContext {
        read_only: false,
        source_production: false,
        now: chrono::Utc::now(),
        rerun_starts_new: true,
        cancel_marks_failed: false,
    }
}

fn run<'a>(snapshot: &'a Snapshot, id: &str) -> &'a PipelineRun {
    snapshot
        .pipelines
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("pipeline {id} is listed"))
}

fn ids(snapshot: &Snapshot) -> Vec<&str> {
    snapshot.pipelines.iter().map(|r| r.id.as_str()).collect()
}

/// Serve every pipeline's detail.
async fn serve_details(f: &Fixture, list: &[Value]) {
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/v4/projects/[^/]+/pipelines/\d+$"))
        .respond_with(details_of(list.to_vec()))
        .mount(&f.server)
        .await;
}

/// Serve `list` as the (full) pipeline list, one page.
async fn serve_list(f: &Fixture, list: &[Value]) {
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .and(query_param_is_missing("updated_after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .mount(&f.server)
        .await;
    serve_details(f, list).await;
}

/// A failed, a running and a successful pipeline (newest first).
fn three() -> Vec<Value> {
    vec![
        pipeline(63, "success", "release/2.0", "2026-11-20T10:03:00.000Z"),
        pipeline(62, "running", "main", "2026-11-20T10:02:00.000Z"),
        pipeline(61, "failed", "main", "2026-11-20T10:01:00.000Z"),
    ]
}

#[tokio::test]
async fn pages_are_followed_by_link_up_to_the_limit_and_each_run_is_mapped() {
    let f = fixture().await;
    let all: Vec<Value> = (0..7)
        .map(|i| {
            let id = 70 - i;
            let status = if id == 70 { "failed" } else { "success" };
            pipeline(
                id,
                status,
                "main",
                &format!("2026-11-20T10:{:02}:00.000Z", 30 - i),
            )
        })
        .collect();
    let uri = f.server.uri();
    let link = |page: u32| {
        format!(
            "<{uri}{}?order_by=updated_at&page={page}&per_page=5&sort=desc>; rel=\"next\", \
             <{uri}{}?order_by=updated_at&page=1&per_page=5&sort=desc>; rel=\"first\"",
            api("/pipelines"),
            api("/pipelines")
        )
    };
    // A server whose pages are smaller than asked for: three pages of two.
    for (page, items, next) in [
        (None, &all[0..2], Some(2)),
        (Some("2"), &all[2..4], Some(3)),
        (Some("3"), &all[4..6], Some(4)),
    ] {
        let mut response = ResponseTemplate::new(200)
            .set_body_json(items)
            .insert_header("x-page", page.unwrap_or("1"))
            .insert_header("x-per-page", "5");
        if let Some(n) = next {
            response = response
                .insert_header("link", link(n).as_str())
                .insert_header("x-next-page", n.to_string().as_str());
        }
        let mock = Mock::given(method("GET")).and(path(api("/pipelines")));
        let mock = match page {
            None => mock.and(query_param_is_missing("page")),
            Some(p) => mock.and(query_param("page", p)),
        };
        mock.respond_with(response).expect(1).mount(&f.server).await;
    }
    // The limit is reached on page 3: page 4 is never asked for.
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .and(query_param("page", "4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&all[6..]))
        .expect(0)
        .mount(&f.server)
        .await;
    serve_details(&f, &all).await;

    let mut config = f.config();
    config.limit = 5;
    let source = GitlabSource::new(NAME, config, Duration::from_secs(30));
    let snapshot = source.fetch().await.expect("the list reads");
    assert_eq!(ids(&snapshot), ["70", "69", "68", "67", "66"]);

    let requests = f.requests().await;
    let first = &requests[0];
    assert_eq!(first.url.path(), api("/pipelines"));
    assert_eq!(query(first, "order_by").as_deref(), Some("updated_at"));
    assert_eq!(query(first, "sort").as_deref(), Some("desc"));
    assert_eq!(query(first, "per_page").as_deref(), Some("5"));
    assert_eq!(query(first, "updated_after"), None);
    assert!(
        requests
            .iter()
            .all(|r| private_token(r).as_deref() == Some(TOKEN))
    );
    // Details for the five kept, none for the one cut off by the limit.
    for id in 66..=70 {
        assert_eq!(
            f.count(&api(&format!("/pipelines/{id}"))).await,
            1,
            "detail of {id}"
        );
    }
    assert_eq!(f.count(&api("/pipelines/65")).await, 0);

    let r = run(&snapshot, "70");
    let expected = PipelineRun {
        error: None,
        source: NAME.into(),
        id: "70".into(),
        pipeline: "pipeline".into(),
        pipeline_id: PROJECT.into(),
        project: PROJECT.into(),
        branch: "main".into(),
        commit: sha(70),
        actor: "bob".into(),
        event: "push".into(),
        status: RunStatus::Failure,
        raw_status: None,
        awaiting_approval: None,
        attempt: 1,
        created_at: Some("2026-11-20T09:00:00Z".parse().expect("time")),
        started_at: Some("2026-11-20T09:00:05Z".parse().expect("time")),
        updated_at: Some("2026-11-20T10:30:00Z".parse().expect("time")),
        duration: Some(Duration::from_secs(312)),
        url: Some(web_url(70)),
        jobs: None,
        paused: false,
        details: Vec::new(),
    };
    assert_eq!(r, &expected);
    assert_eq!(run(&snapshot, "69").actor, "alice");
}

#[tokio::test]
async fn a_named_pipeline_and_a_project_given_by_id() {
    let f = fixture().await;
    let list = vec![pipeline(61, "success", "main", "2026-11-20T10:01:00.000Z")];
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/278964/pipelines"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&list))
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/278964/pipelines/61"))
        .respond_with(ResponseTemplate::new(200).set_body_json(detail(&list[0])))
        .expect(1)
        .mount(&f.server)
        .await;
    let mut config = f.config();
    config.project = "278964".into();
    config.git_ref = Some("main".into());
    let source = GitlabSource::new(NAME, config, Duration::from_secs(30));
    let snapshot = source.fetch().await.expect("reads");
    let r = run(&snapshot, "61");
    assert_eq!(r.pipeline, "Nightly build");
    assert_eq!(
        r.pipeline_id, "278964",
        "new runs start from the project as configured"
    );
    assert_eq!(
        r.project, PROJECT,
        "the path comes from the pipeline's web URL"
    );
    let request = &f.requests().await[0];
    assert_eq!(query(request, "ref").as_deref(), Some("main"));
}

#[tokio::test]
async fn every_gitlab_status_maps_as_documented() {
    let table: &[(&str, RunStatus)] = &[
        ("created", RunStatus::Queued),
        ("waiting_for_resource", RunStatus::Queued),
        ("preparing", RunStatus::Queued),
        ("pending", RunStatus::Queued),
        ("scheduled", RunStatus::Queued),
        ("manual", RunStatus::Queued),
        ("running", RunStatus::Running),
        ("waiting_for_callback", RunStatus::Running),
        ("success", RunStatus::Success),
        ("failed", RunStatus::Failure),
        ("canceled", RunStatus::Cancelled),
        ("canceling", RunStatus::Running),
        ("skipped", RunStatus::Skipped),
        ("blocked_by_policy", RunStatus::Unknown),
    ];
    let f = fixture().await;
    let list: Vec<Value> = table
        .iter()
        .enumerate()
        .map(|(i, (status, _))| {
            pipeline(
                100 + i as u64,
                status,
                "main",
                &format!("2026-11-20T10:{:02}:00.000Z", 59 - i),
            )
        })
        .collect();
    serve_list(&f, &list).await;
    let snapshot = f.source().fetch().await.expect("reads");
    assert_eq!(snapshot.pipelines.len(), table.len());
    for (i, (raw, want)) in table.iter().enumerate() {
        let r = run(&snapshot, &(100 + i).to_string());
        assert_eq!(r.status, *want, "{raw}");
        let raw_status = (*want == RunStatus::Unknown).then(|| raw.to_string());
        assert_eq!(r.raw_status, raw_status, "{raw}");
        // Only a finished run has a duration; a live one is timed from its start.
        assert_eq!(
            r.duration.is_some(),
            matches!(*raw, "success" | "failed" | "canceled" | "skipped"),
            "{raw}"
        );
    }
}

#[tokio::test]
async fn a_running_pipeline_is_timed_from_its_start() {
    let f = fixture().await;
    let list = vec![pipeline(62, "running", "main", "2026-11-20T10:02:00.000Z")];
    serve_list(&f, &list).await;
    let snapshot = f.source().fetch().await.expect("reads");
    let r = run(&snapshot, "62");
    assert_eq!(r.status, RunStatus::Running);
    assert_eq!(r.duration, None);
    let started: opsdeck::model::Timestamp = "2026-11-20T09:00:05Z".parse().expect("time");
    assert_eq!(r.started_at, Some(started));
    let now = started + chrono::TimeDelta::seconds(95);
    assert_eq!(r.elapsed(now), Some(Duration::from_secs(95)));
}
