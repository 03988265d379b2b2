//! Jobs and steps, and log tails: through the storage redirect, a huge log
//! read keeping only its tail, a 100 MB log asked for its end only.

use super::*;

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
