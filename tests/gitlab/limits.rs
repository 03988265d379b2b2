//! Conditional reads (304), reads of only what changed, 429, and every error
//! a read can meet, in GitLab's words.

use super::*;

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
