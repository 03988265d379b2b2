//! Jobs with retried attempts by stage, and job logs keeping only their tail.

use super::*;

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
