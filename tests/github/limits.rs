//! Conditional reads (304) and their cost, rate limits (403 and 429), and
//! every error a read can meet, in GitHub's words.

use super::*;

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
