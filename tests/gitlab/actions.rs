//! Every action's exact request and audit line, refusals and lost answers in
//! GitLab's words, and the dispatch form.

use super::*;

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
