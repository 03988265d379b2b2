//! Every action's exact request and audit line, and refusals in GitHub's words.

use super::*;

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
