//! The GitLab source against an in-process HTTP server (wiremock) serving
//! payloads shaped like GitLab's v4 API: paging by `Link`, ETags, the
//! incremental `updated_after` read and its detail cache, rate limits,
//! every error a read can meet, the status mapping, jobs with retried
//! attempts, log tails, each action's exact request and audit lines, and
//! the dispatch form.

mod support_gitlab;
mod support_logs;

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
        attempt: 1,
        created_at: Some("2026-11-20T09:00:00Z".parse().expect("time")),
        started_at: Some("2026-11-20T09:00:05Z".parse().expect("time")),
        updated_at: Some("2026-11-20T10:30:00Z".parse().expect("time")),
        duration: Some(Duration::from_secs(312)),
        url: Some(web_url(70)),
        jobs: None,
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

#[tokio::test]
async fn a_304_keeps_the_data_and_is_not_charged() {
    let f = fixture().await;
    let list = three();
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .and(header("if-none-match", "W/\"4f1c0f0e8d\""))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", "W/\"4f1c0f0e8d\""))
        .with_priority(1)
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(&list)
                .insert_header("etag", "W/\"4f1c0f0e8d\"")
                .insert_header("ratelimit-remaining", "1990")
                .insert_header("ratelimit-limit", "2000"),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    serve_details(&f, &list).await;
    // A full read every time: the same URL, so the ETag applies.
    let source = f.source().with_full_read_interval(Duration::ZERO);
    let first = source.fetch().await.expect("first read");
    let stats = source.stats();
    assert_eq!((stats.sent, stats.not_modified, stats.charged()), (4, 0, 4));

    let second = source.fetch().await.expect("second read");
    assert_eq!(first, second, "the data is kept");
    let stats = source.stats();
    assert_eq!(stats.sent, 5, "one request: no detail is read again");
    assert_eq!(stats.not_modified, 1);
    assert_eq!(stats.charged(), 4, "the 304 costs nothing");
    let last = f.requests().await.pop().expect("recorded");
    assert_eq!(
        last.headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok()),
        Some("W/\"4f1c0f0e8d\"")
    );
}

#[tokio::test]
async fn later_reads_ask_only_for_what_changed_and_read_only_its_detail() {
    let f = fixture().await;
    let first = vec![
        pipeline(103, "failed", "main", "2026-11-20T10:03:30.250Z"),
        pipeline(102, "running", "main", "2026-11-20T10:02:00.000Z"),
        pipeline(101, "success", "main", "2026-11-20T10:01:00.000Z"),
    ];
    // 102 finished, 104 is new, 103 comes again (the overlap), unchanged.
    let changed = vec![
        pipeline(104, "running", "feature/x", "2026-11-20T10:06:00.000Z"),
        pipeline(102, "success", "main", "2026-11-20T10:05:00.000Z"),
        first[0].clone(),
    ];
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .and(query_param_is_missing("updated_after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&first))
        .expect(1)
        .mount(&f.server)
        .await;
    // The newest seen, 10:03:30.250, less a minute of overlap.
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .and(query_param("updated_after", "2026-11-20T10:02:30.250Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&changed))
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .and(query_param("updated_after", "2026-11-20T10:05:00.000Z"))
        .respond_with(ResponseTemplate::new(200).set_body_json([&changed[0]]))
        .expect(1)
        .mount(&f.server)
        .await;
    let mut all = changed.clone();
    all.push(first[2].clone());
    serve_details(&f, &all).await;

    let mut config = f.config();
    config.limit = 3;
    let source = GitlabSource::new(NAME, config, Duration::from_secs(30));
    let one = source.fetch().await.expect("first read");
    assert_eq!(ids(&one), ["103", "102", "101"]);
    assert_eq!(run(&one, "102").status, RunStatus::Running);

    let two = source.fetch().await.expect("second read");
    // Merged, most recently updated first; 101 left the window of three.
    assert_eq!(ids(&two), ["104", "102", "103"]);
    assert_eq!(run(&two, "102").status, RunStatus::Success);
    assert_eq!(run(&two, "102").duration, Some(Duration::from_secs(312)));
    assert_eq!(run(&two, "104").branch, "feature/x");
    assert_eq!(
        f.count(&api("/pipelines/102")).await,
        2,
        "changed: read again"
    );
    assert_eq!(f.count(&api("/pipelines/104")).await, 1, "new: read");
    assert_eq!(
        f.count(&api("/pipelines/103")).await,
        1,
        "unchanged: not read again"
    );
    assert_eq!(f.count(&api("/pipelines/101")).await, 1);

    let three = source.fetch().await.expect("third read");
    assert_eq!(three, two, "nothing changed");
    assert_eq!(
        f.count(&api("/pipelines")).await,
        3,
        "one list read per poll"
    );
    assert_eq!(
        f.requests().await.len(),
        3 + 3 + 2,
        "no detail on an idle poll"
    );
}

#[tokio::test]
async fn a_full_read_again_forgets_deleted_pipelines() {
    let f = fixture().await;
    let list = three();
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(ResponseTemplate::new(200).set_body_json(&list))
        .up_to_n_times(1)
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(ResponseTemplate::new(200).set_body_json(&list[1..]))
        .mount(&f.server)
        .await;
    // 61 was deleted between the list and its detail: it is not shown.
    serve_details(&f, &list[..2]).await;
    let source = f.source().with_full_read_interval(Duration::ZERO);
    assert_eq!(ids(&source.fetch().await.expect("first")), ["63", "62"]);
    assert_eq!(ids(&source.fetch().await.expect("second")), ["62"]);
}

#[tokio::test]
async fn a_429_holds_every_request_back_until_retry_after() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_string("Retry later")
                .insert_header("retry-after", "600")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-limit", "2000"),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let source = Arc::new(f.source());
    let hhmm = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono::Local).format("%H:%M").to_string()
    };
    let before = hhmm(chrono::Utc::now() + chrono::TimeDelta::seconds(600));
    let err = source.fetch().await.expect_err("rate limited");
    let after = hhmm(chrono::Utc::now() + chrono::TimeDelta::seconds(600));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("rate limited until {before}"))
            || text.starts_with(&format!("rate limited until {after}")),
        "{text}"
    );
    assert!(
        text.contains("429 on /api/v4/projects/acme%2Fplatform%2Fweb/pipelines"),
        "{text}"
    );
    assert!(err.retry_at().is_some());

    // Nothing more is sent: not a read, not a drill-down, not an action.
    let again = source.fetch().await.expect_err("held back");
    assert!(matches!(again, SourceError::RateLimited { .. }), "{again}");
    assert!(source.run_jobs("61").await.is_err());
    assert!(source.job_log("61", "705").await.is_err());
    let cancel = opsdeck::model::Action {
        kind: ActionKind::Cancel,
        target: Target::new(NAME, TargetKind::Run, "62"),
        to: None,
        effect: "cancel ci/62".into(),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    };
    let outcome = f.executor(source.clone()).execute(1, &cancel).await;
    assert!(
        matches!(&outcome, Outcome::Failed(why) if why.contains("rate limited until")),
        "{outcome:?}"
    );
    assert_eq!(f.requests().await.len(), 1);
    assert_eq!(source.stats().held_back, 4);
    assert_eq!(source.stats().sent, 1);
}

#[tokio::test]
async fn a_rejected_token_is_named_by_where_it_came_from_never_by_itself() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&f.server)
        .await;
    let err = f.source().fetch().await.expect_err("refused");
    let text = err.to_string();
    assert!(matches!(err, SourceError::Auth(_)), "{text}");
    assert!(text.contains("ci: token rejected by GitLab (401"), "{text}");
    assert!(
        text.contains(&format!("file {}", f.token_file.display())),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn the_default_token_comes_from_env_gitlab_token() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&f.server)
        .await;
    let home = f.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let config = f.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"ci\"\nkind = \"gitlab\"\nurl = \"{}\"\nproject = \"{PROJECT}\"\n",
            f.server.uri()
        ),
    )
    .expect("config");
    // The real binary, so the token is looked up as configured (and the
    // test process's environment is left alone).
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&config)
        .args(["status", "--format", "json"])
        .env_remove("OPSDECK_CONFIG")
        .env("GITLAB_TOKEN", TOKEN)
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run opsdeck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let error = report["sources"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("token rejected by GitLab"), "{error}");
    assert!(
        error.contains("check the token from env GITLAB_TOKEN"),
        "{error}"
    );
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    let request = &f.requests().await[0];
    assert_eq!(private_token(request).as_deref(), Some(TOKEN));
    // Nor does it reach the log file.
    for entry in walk(&home) {
        let text = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains(TOKEN),
            "{} holds the token",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[tokio::test]
async fn a_403_404_and_500_are_each_said_plainly() {
    let f = fixture().await;
    let cases: [(u16, Value, &str); 3] = [
        (
            403,
            json!({"message": "403 Forbidden"}),
            "ci: no permission to read the pipelines of acme/platform/web (403: 403 Forbidden) — the token needs the read_api scope",
        ),
        (
            404,
            json!({"message": "404 Project Not Found"}),
            "ci: project acme/platform/web not found on ",
        ),
        (
            500,
            json!({"message": "500 Internal Server Error"}),
            "ci: 500 on /api/v4/projects/acme%2Fplatform%2Fweb/pipelines: 500 Internal Server Error",
        ),
    ];
    for (status, body, want) in cases {
        f.server.reset().await;
        Mock::given(method("GET"))
            .and(path(api("/pipelines")))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&f.server)
            .await;
        let err = f.source().fetch().await.expect_err("fails");
        let text = err.to_string();
        assert!(text.contains(want), "{status}: {text}");
        assert!(
            !matches!(err, SourceError::RateLimited { .. }),
            "{status}: {text}"
        );
        assert!(!text.contains(TOKEN));
    }
}

#[tokio::test]
async fn a_slow_gitlab_times_out_on_the_configured_timeout() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(three())
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&f.server)
        .await;
    let mut config = f.config();
    config.timeout = Duration::from_secs(1);
    let source = GitlabSource::new(NAME, config, Duration::from_secs(30));
    // One request may take 1 s; a whole read (list + details), three times that.
    assert_eq!(source.fetch_timeout(), Duration::from_secs(3));
    let started = std::time::Instant::now();
    let err = fetch_with_timeout(&source).await.expect_err("too slow");
    // The request left unanswered is named (its path, never the query).
    assert_eq!(
        err.to_string(),
        "no answer within 1s from /api/v4/projects/acme%2Fplatform%2Fweb/pipelines — is the \
         server overloaded or the address wrong?"
    );
    assert!(
        matches!(err, SourceError::NoAnswer { within, .. } if within == Duration::from_secs(1))
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn malformed_json_names_the_source_and_the_path() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("[{\"id\": 61, \"status\":", "application/json"),
        )
        .mount(&f.server)
        .await;
    let err = f.source().fetch().await.expect_err("malformed");
    assert!(matches!(err, SourceError::Decode(_)), "{err}");
    assert!(
        err.to_string()
            .contains("ci: /api/v4/projects/acme%2Fplatform%2Fweb/pipelines: EOF while parsing"),
        "{err}"
    );
}

/// The kit's one policy on next-page links (GitHub's and GitLab's alike):
/// one to another origin is not followed, so the token never goes there,
/// and the pages read so far are kept rather than failing the read.
#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(&three()[..1])
                .insert_header("link", "<https://elsewhere.example.net/api/v4/projects/1/pipelines?page=2>; rel=\"next\""),
        )
        .mount(&f.server)
        .await;
    serve_details(&f, &three()[..1]).await;
    let snapshot = f.source().fetch().await.expect("the first page is kept");
    assert_eq!(ids(&snapshot), ["63"]);
}

#[tokio::test]
async fn jobs_include_retried_attempts_grouped_by_stage() {
    let f = fixture().await;
    let uri = f.server.uri();
    let jobs_path = api("/pipelines/61/jobs");
    Mock::given(method("GET"))
        .and(path(jobs_path.as_str()))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json([
                    job(705, "test", "rspec", "failed", Some(88.2)),
                    job(704, "deploy", "production", "manual", None),
                    job(703, "test", "lint", "success", Some(12.0)),
                ])
                .insert_header(
                    "link",
                    format!(
                        "<{uri}{jobs_path}?include_retried=true&page=2&per_page=100>; rel=\"next\""
                    )
                    .as_str(),
                ),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(jobs_path.as_str()))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json([
            job(702, "test", "rspec", "failed", Some(90.0)),
            job(701, "build", "compile", "success", Some(61.5)),
        ]))
        .expect(1)
        .mount(&f.server)
        .await;
    let jobs = f.source().run_jobs("61").await.expect("jobs");
    let rows: Vec<(&str, &str, RunStatus)> = jobs
        .iter()
        .map(|j| (j.id.as_str(), j.name.as_str(), j.status))
        .collect();
    assert_eq!(
        rows,
        [
            ("701", "build / compile", RunStatus::Success),
            ("703", "test / lint", RunStatus::Success),
            ("702", "test / rspec (retried)", RunStatus::Failure),
            ("705", "test / rspec", RunStatus::Failure),
            ("704", "deploy / production", RunStatus::Queued),
        ]
    );
    let compile = &jobs[0];
    assert_eq!(compile.duration, Some(Duration::from_millis(61_500)));
    assert_eq!(
        compile.started_at,
        Some("2026-11-20T09:01:00Z".parse().expect("time"))
    );
    assert_eq!(
        compile.url.as_deref(),
        Some("https://gitlab.example.com/acme/platform/web/-/jobs/701")
    );
    assert!(jobs.iter().all(|j| j.steps.is_empty()));
    assert_eq!(jobs[4].duration, None);
    let first = &f.requests().await[0];
    assert_eq!(query(first, "include_retried").as_deref(), Some("true"));
    assert_eq!(query(first, "per_page").as_deref(), Some("100"));
}

#[tokio::test]
async fn a_job_log_keeps_only_its_tail() {
    let f = fixture().await;
    let text: String = (1..=300)
        .map(|i| format!("\u{1b}[0;32mline {i}\u{1b}[0;m\n"))
        .collect();
    Mock::given(method("GET"))
        .and(path(api("/jobs/705/trace")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(text, "text/plain")
                .insert_header("content-disposition", "infile; filename=\"705.log\""),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    // Far past the 256 KiB kept while streaming.
    let huge: String = (1..=40_000)
        .map(|i| format!("step output {i:06} {}\n", "-".repeat(40)))
        .collect();
    Mock::given(method("GET"))
        .and(path(api("/jobs/703/trace")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "text/plain"))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/jobs/999/trace")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not found"})))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines/61/jobs")))
        .respond_with(ResponseTemplate::new(200).set_body_json([job(
            705,
            "test",
            "rspec",
            "failed",
            Some(88.2),
        )]))
        .mount(&f.server)
        .await;

    let source = f.source();
    source.run_jobs("61").await.expect("jobs");
    let tail = source.job_log("61", "705").await.expect("log");
    assert_eq!(tail.job, "test / rspec");
    assert_eq!(tail.lines.len(), LOG_TAIL_LINES);
    assert_eq!(tail.lines[0], "line 101");
    assert_eq!(tail.lines[LOG_TAIL_LINES - 1], "line 300");
    assert!(tail.truncated);

    let tail = source.job_log("61", "703").await.expect("log");
    assert_eq!(tail.job, "job #703");
    assert!(tail.truncated);
    assert_eq!(
        tail.lines.last().map(String::as_str),
        Some(format!("step output 040000 {}", "-".repeat(40)).as_str())
    );
    assert!(
        tail.lines
            .iter()
            .all(|l| l.starts_with("step output ") && l.len() == 59),
        "whole lines only"
    );

    let err = source.job_log("61", "999").await.expect_err("missing");
    assert!(
        err.to_string()
            .contains("ci: the log of job #999 of acme/platform/web not found"),
        "{err}"
    );

    let requests = f.requests().await;
    let trace = requests
        .iter()
        .find(|r| r.url.path() == api("/jobs/705/trace"))
        .expect("sent");
    assert_eq!(private_token(trace).as_deref(), Some(TOKEN));
    assert_eq!(source.stats().sent, 4, "the drill-down and three log reads");
}

/// Read the three pipelines, then plan and run each action through the
/// executor; answers for every action path are mounted by the caller.
async fn read_three(f: &Fixture) -> (Arc<GitlabSource>, Snapshot) {
    Mock::given(method("GET"))
        .and(path(api("/pipelines")))
        .respond_with(ResponseTemplate::new(200).set_body_json(three()))
        .mount(&f.server)
        .await;
    serve_details(f, &three()).await;
    let source = Arc::new(f.source());
    let snapshot = source.fetch().await.expect("reads");
    (source, snapshot)
}

/// Requests other than reads: (method, path, query, PRIVATE-TOKEN, body).
async fn posts(f: &Fixture) -> Vec<(String, String, String, Option<String>, Value)> {
    f.requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| {
            (
                r.method.to_string(),
                r.url.path().to_string(),
                r.url.query().unwrap_or("").to_string(),
                private_token(r),
                serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_action_sends_its_exact_request_and_is_audited() {
    let f = fixture().await;
    let (source, snapshot) = read_three(&f).await;
    for (p, answer) in [
        (api("/pipelines/61/retry"), created(61, "main", "running")),
        (
            api("/pipelines/62/cancel"),
            created(62, "main", "canceling"),
        ),
        (api("/pipeline"), created(64, "release/2.0", "created")),
    ] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(answer)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&f.server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(api("/pipeline")))
        .respond_with(created(65, "main", "created"))
        .mount(&f.server)
        .await;
    assert!(!source.supports(ActionKind::ForceCancel));
    let executor = f.executor(source.clone());

    let retry = plan_run(ActionKind::RerunFailed, run(&snapshot, "61"), ctx()).expect("planned");
    let cancel = plan_run(ActionKind::Cancel, run(&snapshot, "62"), ctx()).expect("planned");
    let rerun = plan_run(ActionKind::Rerun, run(&snapshot, "63"), ctx()).expect("planned");
    let target = Target::new(NAME, TargetKind::Pipeline, PROJECT);
    let inputs = vec![
        ("DEPLOY_ENV".to_string(), "staging".to_string()),
        ("DRY_RUN".to_string(), "true".to_string()),
    ];
    let dispatch = plan_dispatch(
        ActionKind::Dispatch,
        &snapshot,
        &target,
        Some("main"),
        inputs,
        ctx(),
    )
    .expect("planned");
    let outcomes = [
        executor.execute(1, &retry).await,
        executor.execute(2, &cancel).await,
        executor.execute(3, &rerun).await,
        executor.execute(4, &dispatch).await,
    ];
    assert_eq!(
        outcomes,
        [
            Outcome::Done(
                "pipeline #61 retried: its failed and canceled jobs run again (now running)".into()
            ),
            Outcome::Done("pipeline #62 cancel requested (now canceling)".into()),
            Outcome::Done("new pipeline #64 on release/2.0, a re-run of #63 (now created)".into()),
            Outcome::Done("pipeline #65 started on main (now created)".into()),
        ]
    );

    let token = Some(TOKEN.to_string());
    let expected = vec![
        (
            "POST".to_string(),
            api("/pipelines/61/retry"),
            String::new(),
            token.clone(),
            Value::Null,
        ),
        (
            "POST".to_string(),
            api("/pipelines/62/cancel"),
            String::new(),
            token.clone(),
            Value::Null,
        ),
        (
            "POST".to_string(),
            api("/pipeline"),
            "ref=release%2F2.0".to_string(),
            token.clone(),
            Value::Null,
        ),
        (
            "POST".to_string(),
            api("/pipeline"),
            String::new(),
            token.clone(),
            json!({"ref": "main", "variables": [
                {"key": "DEPLOY_ENV", "value": "staging"},
                {"key": "DRY_RUN", "value": "true"}
            ]}),
        ),
    ];
    assert_eq!(posts(&f).await, expected);

    let audit = f.audit_lines();
    let summary: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap_or(""),
                l["target"].as_str().unwrap_or(""),
                l["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("rerun_failed", "61", "requested"),
            ("rerun_failed", "61", "done"),
            ("cancel", "62", "requested"),
            ("cancel", "62", "done"),
            ("rerun", "63", "requested"),
            ("rerun", "63", "done"),
            ("dispatch", PROJECT, "requested"),
            ("dispatch", PROJECT, "done"),
        ]
    );
    assert_eq!(audit[6]["to"], "main");
    assert_eq!(audit[6]["effect"], dispatch.effect.as_str());
    assert!(
        dispatch.effect.contains("DEPLOY_ENV=staging"),
        "{}",
        dispatch.effect
    );
    let text = std::fs::read_to_string(&f.audit).expect("audit");
    assert!(
        !text.contains(TOKEN),
        "the token never reaches the audit log"
    );
}

#[tokio::test]
async fn refused_and_lost_actions_say_so_in_gitlabs_words() {
    let f = fixture().await;
    let (source, snapshot) = read_three(&f).await;
    Mock::given(method("POST"))
        .and(path(api("/pipelines/61/retry")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "403 Forbidden"})))
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/pipelines/62/cancel")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not found"})))
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/pipeline")))
        .and(query_param("ref", "release/2.0"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>"))
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/pipeline")))
        .and(query_param_is_missing("ref"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"message": {"base": ["Reference not found"]}})),
        )
        .mount(&f.server)
        .await;
    let executor = f.executor(source.clone());
    let retry = plan_run(ActionKind::RerunFailed, run(&snapshot, "61"), ctx()).expect("planned");
    let cancel = plan_run(ActionKind::Cancel, run(&snapshot, "62"), ctx()).expect("planned");
    let rerun = plan_run(ActionKind::Rerun, run(&snapshot, "63"), ctx()).expect("planned");
    let target = Target::new(NAME, TargetKind::Pipeline, PROJECT);
    let dispatch = plan_dispatch(
        ActionKind::Dispatch,
        &snapshot,
        &target,
        Some("nope"),
        Vec::new(),
        ctx(),
    )
    .expect("planned");

    let outcome = executor.execute(1, &retry).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "ci: GitLab refused to retry pipeline #61 (403: 403 Forbidden) — the token needs the api \
             scope and Developer access, or the pipeline's state does not allow it"
                .into()
        )
    );
    let outcome = executor.execute(2, &cancel).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "ci: cannot cancel pipeline #62: GitLab found no pipeline #62 of acme/platform/web (404: 404 Not found)"
                .into()
        )
    );
    let outcome = executor.execute(3, &rerun).await;
    assert!(
        matches!(&outcome, Outcome::Unknown(why) if why.contains("(502: an HTML page); it may or may not have happened")),
        "{outcome:?}"
    );
    let outcome = executor.execute(4, &dispatch).await;
    assert_eq!(
        outcome,
        Outcome::Failed("ci: GitLab refused to start a pipeline of acme/platform/web on nope (400: Reference not found)".into())
    );
    let audit = f.audit_lines();
    let words: Vec<&str> = audit
        .iter()
        .map(|l| l["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        words,
        [
            "requested",
            "failed",
            "requested",
            "failed",
            "requested",
            "unknown",
            "requested",
            "failed"
        ]
    );

    // The answer never comes: it may have happened.
    f.server.reset().await;
    Mock::given(method("POST"))
        .and(path(api("/pipelines/62/cancel")))
        .respond_with(created(62, "main", "canceling").set_delay(Duration::from_secs(3)))
        .mount(&f.server)
        .await;
    let mut config = f.config();
    config.timeout = Duration::from_secs(1);
    let slow = Arc::new(GitlabSource::new(NAME, config, Duration::from_secs(30)));
    let outcome = f.executor(slow).execute(5, &cancel).await;
    assert!(
        matches!(&outcome, Outcome::Unknown(why) if why.contains("cancel pipeline #62")),
        "{outcome:?}"
    );

    // Nobody there: nothing was sent. The port is bound but not listening
    // (refused), and held so no other process can take it meanwhile.
    let closed = tokio::net::TcpSocket::new_v4().expect("socket");
    closed
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("port");
    let port = closed.local_addr().expect("addr").port();
    let mut config = f.config();
    config.url = format!("http://127.0.0.1:{port}");
    let gone = Arc::new(GitlabSource::new(NAME, config, Duration::from_secs(30)));
    let outcome = f.executor(gone).execute(6, &cancel).await;
    assert!(
        matches!(&outcome, Outcome::Failed(why) if why.starts_with("cancel pipeline #62: cannot reach the backend")),
        "{outcome:?}"
    );
    let text = std::fs::read_to_string(&f.audit).expect("audit");
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn the_dispatch_form_defaults_to_the_projects_default_branch() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path(api("")))
        .respond_with(ResponseTemplate::new(200).set_body_json(project("trunk")))
        .expect(2)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/pipeline")))
        .respond_with(created(66, "trunk", "pending"))
        .expect(1)
        .mount(&f.server)
        .await;
    let source = Arc::new(f.source());
    let form = source.dispatch_form(PROJECT).await.expect("form");
    assert_eq!(form.pipeline, PROJECT);
    assert_eq!(form.name, PROJECT);
    assert_eq!(form.git_ref.as_deref(), Some("trunk"));
    assert!(form.inputs.is_empty());
    assert!(form.free_inputs, "GitLab variables are free-form");
    assert!(source.dispatch_form("other/project").await.is_err());

    // No ref given: the default branch is asked for again and used.
    let target = Target::new(NAME, TargetKind::Pipeline, PROJECT);
    let action = plan_dispatch(
        ActionKind::Dispatch,
        &Snapshot::default(),
        &target,
        None,
        vec![("K".into(), "v".into())],
        ctx(),
    )
    .expect("planned");
    let outcome = f.executor(source).execute(1, &action).await;
    assert_eq!(
        outcome,
        Outcome::Done("pipeline #66 started on trunk (now pending)".into())
    );
    let body = posts(&f).await.pop().expect("sent").4;
    assert_eq!(
        body,
        json!({"ref": "trunk", "variables": [{"key": "K", "value": "v"}]})
    );

    // A configured ref is the default, with no request at all.
    let quiet = fixture().await;
    let mut config = quiet.config();
    config.git_ref = Some("release".into());
    let form = GitlabSource::new(NAME, config, Duration::from_secs(30))
        .dispatch_form(PROJECT)
        .await
        .expect("form");
    assert_eq!(form.git_ref.as_deref(), Some("release"));
    assert!(quiet.requests().await.is_empty());
}

#[tokio::test]
async fn an_inline_token_is_refused_without_being_repeated() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/invalid/gitlab_inline_token.toml");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .env_remove("OPSDECK_CONFIG")
        .output()
        .await
        .expect("run opsdeck");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(":6:9: token must not be written inline"),
        "{stderr}"
    );
    assert!(!stderr.contains("glpat-inline-secret-value"), "{stderr}");
}

#[tokio::test]
async fn a_100_mb_trace_is_streamed_keeping_only_its_true_tail() {
    // GitLab documents no Range on the trace: nothing is asked by range,
    // and the whole answer streams through in bounded memory.
    let server = support_logs::start(true).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let mut config = opsdeck::config::GitlabConfig::new(server.url.clone(), PROJECT);
    config.token = opsdeck::config::Secret::File(token_file);
    let source = GitlabSource::new(NAME, config, Duration::from_secs(30));
    let tail = source.job_log("61", "705").await.expect("tail");
    assert!(tail.truncated);
    let last = support_logs::LINES;
    let want: Vec<String> = (last - LOG_TAIL_LINES as u64..last)
        .map(|i| support_logs::line(i).trim_end().to_string())
        .collect();
    assert_eq!(tail.lines, want);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].range, None, "no range asked of GitLab");
}

#[tokio::test]
async fn a_command_token_runs_once_and_once_more_after_a_401_for_reads_and_logs() {
    let f = fixture().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = dir.path().join("runs");
    let script = dir.path().join("token.sh");
    std::fs::write(
        &script,
        format!(
            "n=$(( $(cat {runs} 2>/dev/null || echo 0) + 1 ))\necho $n > {runs}\nprintf 'glpat-%s' $n\n",
            runs = runs.display()
        ),
    )
    .expect("script");
    let counted = || {
        std::fs::read_to_string(&runs)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    Mock::given(header("private-token", "glpat-1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "401 Unauthorized"})),
        )
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/pipelines/61/jobs")))
        .and(header("private-token", "glpat-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json([job(
            705,
            "test",
            "rspec",
            "failed",
            Some(88.2),
        )]))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/jobs/705/trace")))
        .and(header("private-token", "glpat-2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("done\n", "text/plain"))
        .mount(&f.server)
        .await;
    let mut config = f.config();
    config.token = opsdeck::config::Secret::Command(format!("sh {}", script.display()));
    let source = GitlabSource::new(NAME, config, Duration::from_secs(30));
    for _ in 0..3 {
        let jobs = source
            .run_jobs("61")
            .await
            .expect("jobs with the renewed token");
        assert_eq!(jobs.len(), 1);
    }
    let tail = source.job_log("61", "705").await.expect("log");
    assert_eq!(tail.lines, ["done"]);
    assert_eq!(counted(), 2, "one run, and one more after the 401");
    let tokens: Vec<String> = f
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            r.headers
                .get("private-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        tokens,
        ["glpat-1", "glpat-2", "glpat-2", "glpat-2", "glpat-2"]
    );
}
