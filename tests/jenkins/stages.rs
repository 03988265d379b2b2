//! Pipeline stages from the wfapi, a freestyle build as one job, and console
//! tails read from their size, never whole.

use super::*;

#[tokio::test]
async fn pipeline_stages_come_from_the_wfapi_and_a_freestyle_build_is_one_job() {
    let f = fixture().await;
    let url = format!("{ROOT}/job/team/job/backend/job/api/");
    let mut pipeline = build(
        "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        &url,
        8,
        Value::Null,
        true,
        json!([]),
    );
    pipeline.as_object_mut().expect("object").remove("actions");
    f.get(
        "/job/team/job/backend/job/api/8/api/json",
        "number,result,building,duration,timestamp,url",
        pipeline,
    )
    .await;
    let stage = |id: &str, name: &str, status: &str, start: i64, duration: u64| {
        json!({"_links": {"self": {"href": format!("/job/team/job/backend/job/api/8/execution/node/{id}/wfapi/describe")}},
               "id": id, "name": name, "execNode": "", "status": status,
               "startTimeMillis": start, "durationMillis": duration, "pauseDurationMillis": 0})
    };
    Mock::given(method("GET"))
        .and(path("/job/team/job/backend/job/api/8/wfapi/describe"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "_links": {"self": {"href": "/job/team/job/backend/job/api/8/wfapi/describe"}},
            "id": "8", "name": "#8", "status": "IN_PROGRESS",
            "startTimeMillis": NOON, "endTimeMillis": 0, "durationMillis": 600_000,
            "queueDurationMillis": 12, "pauseDurationMillis": 0,
            "stages": [
                stage("6", "Checkout", "SUCCESS", NOON, 4_000),
                stage("14", "Unit tests", "UNSTABLE", NOON + 4_000, 90_000),
                stage("27", "Lint", "FAILED", NOON + 94_000, 20_000),
                stage("33", "Approve", "PAUSED_PENDING_INPUT", NOON + 114_000, 300_000),
                stage("40", "Deploy", "IN_PROGRESS", NOON + 414_000, 10_000),
                stage("52", "Smoke", "NOT_EXECUTED", 0, 0),
                stage("60", "Cleanup", "ABORTED", NOON + 424_000, 1_000),
                stage("61", "Odd", "SOMETHING_NEW", NOON + 425_000, 1_000)
            ]
        })))
        .mount(&f.server)
        .await;
    let source = f.source(&["team/backend/api"]);
    let jobs = source.run_jobs("team/backend/api#8").await.expect("stages");
    let rows: Vec<(&str, &str, RunStatus, Option<Duration>)> = jobs
        .iter()
        .map(|j| (j.id.as_str(), j.name.as_str(), j.status, j.duration))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "6",
                "Checkout",
                RunStatus::Success,
                Some(Duration::from_secs(4))
            ),
            (
                "14",
                "Unit tests",
                RunStatus::Failure,
                Some(Duration::from_secs(90))
            ),
            (
                "27",
                "Lint",
                RunStatus::Failure,
                Some(Duration::from_secs(20))
            ),
            ("33", "Approve", RunStatus::Running, None),
            ("40", "Deploy", RunStatus::Running, None),
            ("52", "Smoke", RunStatus::Skipped, None),
            (
                "60",
                "Cleanup",
                RunStatus::Cancelled,
                Some(Duration::from_secs(1))
            ),
            (
                "61",
                "Odd",
                RunStatus::Unknown,
                Some(Duration::from_secs(1))
            ),
        ]
    );
    assert_eq!(
        jobs[0].started_at,
        chrono::DateTime::from_timestamp_millis(NOON)
    );
    assert_eq!(jobs[5].started_at, None, "never started");

    // A freestyle build: one job, and no wfapi request.
    f.server.reset().await;
    let fs = build(
        "hudson.model.FreeStyleBuild",
        &format!("{ROOT}/job/deploy/"),
        24,
        json!("FAILURE"),
        false,
        json!([]),
    );
    f.get(
        "/job/deploy/24/api/json",
        "number,result,building,duration,timestamp,url",
        fs,
    )
    .await;
    let jobs = source.run_jobs("deploy#24").await.expect("one job");
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].id.as_str(), jobs[0].name.as_str(), jobs[0].status),
        ("build", "deploy #24", RunStatus::Failure)
    );
    assert_eq!(jobs[0].duration, Some(Duration::from_secs(312)));
    assert_eq!(
        jobs[0].url.as_deref(),
        Some(format!("{ROOT}/job/deploy/24/console").as_str())
    );
    let paths: Vec<String> = f
        .requests()
        .await
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(paths, ["/job/deploy/24/api/json"]);

    // A queued run has nothing to load.
    let queued = source.run_jobs("deploy#queue-101").await.expect("queued");
    assert_eq!(queued[0].status, RunStatus::Queued);
}

/// A console of `lines` numbered lines, as the tail of a longer text.
fn console_tail(from: usize, to: usize) -> String {
    let mut text = String::from("…the end of a line that started before\n");
    for i in from..=to {
        text.push_str(&format!("\u{1b}[32m[INFO]\u{1b}[0m step {i}\n"));
    }
    text
}

#[tokio::test]
async fn the_console_tail_is_read_from_its_size_never_whole() {
    let f = fixture().await;
    let log = "/job/deploy/25/logText/progressiveText";
    // Jenkins' HEAD: the headers only, with the size.
    Mock::given(method("HEAD"))
        .and(path(log))
        .and(query_param("start", "0"))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Text-Size", "300000"))
        .expect(1)
        .mount(&f.server)
        .await;
    let start = (300_000 - 64 * 1024).to_string();
    Mock::given(method("GET"))
        .and(path(log))
        .and(query_param("start", start.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Text-Size", "300000")
                .insert_header("Content-Type", "text/plain;charset=UTF-8")
                .set_body_string(console_tail(1, 300)),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let source = f.source(&["deploy"]);
    let tail = source.job_log("deploy#25", "build").await.expect("tail");
    assert_eq!(tail.job, "build");
    assert!(tail.truncated);
    assert_eq!(tail.lines.len(), 200);
    assert_eq!(tail.lines[0], "[INFO] step 101");
    assert_eq!(tail.lines[199], "[INFO] step 300");

    let summary = f.summary().await;
    assert_eq!(
        summary
            .iter()
            .map(|(m, p, q, _)| (m.as_str(), p.as_str(), q.as_str()))
            .collect::<Vec<_>>(),
        [
            ("HEAD", log, "start=0"),
            ("GET", log, format!("start={start}").as_str())
        ]
    );
    assert!(
        !summary
            .iter()
            .any(|(m, _, q, _)| m == "GET" && q == "start=0"),
        "the whole log is never fetched"
    );
}

#[tokio::test]
async fn a_short_console_is_read_whole_and_a_running_one_to_its_current_end() {
    let f = fixture().await;
    let short = "/job/deploy/24/logText/progressiveText";
    Mock::given(method("HEAD"))
        .and(path(short))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Text-Size", "42"))
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(short))
        .and(query_param("start", "0"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Text-Size", "42")
                .set_body_string("Started by an SCM change\nFinished: FAILURE\n"),
        )
        .mount(&f.server)
        .await;
    let source = f.source(&["deploy"]);
    let tail = source.job_log("deploy#24", "build").await.expect("tail");
    assert_eq!(
        tail.lines,
        ["Started by an SCM change", "Finished: FAILURE"]
    );
    assert!(!tail.truncated);

    // Running: Jenkins reads at most 10 000 lines per request, so the end is
    // found slice by slice (a short slice is the last), then only the tail read.
    f.server.reset().await;
    let running = "/job/deploy/26/logText/progressiveText";
    for (from, to) in [("0", "200000"), ("200000", "200300")] {
        Mock::given(method("HEAD"))
            .and(path(running))
            .and(query_param("start", from))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("X-Text-Size", to)
                    .insert_header("X-More-Data", "true"),
            )
            .expect(1)
            .mount(&f.server)
            .await;
    }
    let start = (200_300 - 64 * 1024).to_string();
    Mock::given(method("GET"))
        .and(path(running))
        .and(query_param("start", start.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Text-Size", "200300")
                .insert_header("X-More-Data", "true")
                .set_body_string(console_tail(1, 20)),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let tail = source.job_log("deploy#26", "build").await.expect("tail");
    assert_eq!(tail.lines.len(), 20);
    assert_eq!(tail.lines[19], "[INFO] step 20");
    assert!(tail.truncated);
    let gets: Vec<String> = f
        .summary()
        .await
        .into_iter()
        .filter(|(m, ..)| m == "GET")
        .map(|(_, _, q, _)| q)
        .collect();
    assert_eq!(gets, [format!("start={start}")]);

    let e = source
        .job_log("deploy#queue-101", "queue-101")
        .await
        .expect_err("no console yet");
    assert!(e.to_string().contains("still queued"), "{e}");
}
