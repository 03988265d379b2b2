//! The dispatch form, builds followed through the queue to their number,
//! reruns with the build's own parameters, and cancel in and out of the queue.

use super::*;

#[tokio::test]
async fn the_dispatch_form_lists_the_jobs_parameters() {
    let f = fixture().await;
    let mut job = deploy();
    job.as_object_mut().expect("object").remove("builds");
    job.as_object_mut().expect("object").remove("url");
    f.get("/job/deploy/api/json", PARAMS_TREE, job).await;
    let form = f
        .source(&["deploy"])
        .dispatch_form("deploy")
        .await
        .expect("form");
    assert_eq!(form.pipeline, "deploy");
    assert_eq!(form.git_ref, None);
    assert!(!form.free_inputs);
    let inputs: Vec<(&str, &str, Vec<&str>, &str)> = form
        .inputs
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.default.as_str(),
                i.choices.iter().map(String::as_str).collect(),
                i.description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        inputs,
        [
            ("BRANCH", "main", vec![], "Branch to deploy"),
            ("TARGET", "staging", vec!["staging", "prod"], "Where to"),
            ("DRY_RUN", "false", vec!["true", "false"], ""),
        ]
    );
    assert!(form.inputs.iter().all(|i| !i.required));
}

/// Plan a dispatch like the app does and run it through the executor.
pub(super) async fn dispatch(
    executor: &Executor,
    job: &str,
    inputs: &[(&str, &str)],
) -> (Action, Outcome) {
    let action = plan_dispatch(
        ActionKind::Dispatch,
        &Snapshot::default(),
        &Target::new("ci", TargetKind::Pipeline, job),
        None,
        inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ctx(),
    )
    .expect("planned");
    let outcome = executor.execute(3, &action).await;
    (action, outcome)
}

pub(super) async fn act(
    executor: &Executor,
    kind: ActionKind,
    run: &PipelineRun,
) -> (Action, Outcome) {
    let action = plan_run(kind, run, ctx()).expect("planned");
    let outcome = executor.execute(5, &action).await;
    (action, outcome)
}

pub(super) fn waiting(id: u64, why: &str) -> Value {
    json!({"_class": "hudson.model.Queue$WaitingItem", "id": id, "why": why})
}

pub(super) fn left(number: u64, job_url: &str) -> Value {
    json!({"_class": "hudson.model.Queue$LeftItem", "cancelled": false, "why": null,
           "executable": {"_class": "hudson.model.FreeStyleBuild", "number": number,
                          "url": format!("{job_url}{number}/")}})
}

/// `POST at` → 201 with the queue item's Location.
pub(super) async fn created(f: &Fixture, at: &str, item: u64) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("Location", format!("{ROOT}/queue/item/{item}/").as_str()),
        )
        .expect(1)
        .mount(&f.server)
        .await;
}

/// The queue item answers `waiting` `times` times, then has a build.
pub(super) async fn queue_item(f: &Fixture, item: u64, times: u64, then: Option<Value>) {
    let at = format!("/queue/item/{item}/api/json");
    let wait = Mock::given(method("GET"))
        .and(path(at.as_str()))
        .and(query_param("tree", ITEM_TREE))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(waiting(item, "In the quiet period. Expires in 4.9 sec")),
        );
    match then {
        Some(body) => {
            wait.up_to_n_times(times)
                .with_priority(1)
                .mount(&f.server)
                .await;
            Mock::given(method("GET"))
                .and(path(at.as_str()))
                .and(query_param("tree", ITEM_TREE))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&f.server)
                .await;
        }
        None => wait.mount(&f.server).await,
    }
}

#[tokio::test]
async fn a_build_with_parameters_is_followed_through_the_queue_to_its_number() {
    let f = fixture().await;
    let mut job = deploy();
    job.as_object_mut().expect("object").remove("builds");
    f.get("/job/deploy/api/json", PARAMS_TREE, job).await;
    created(&f, "/job/deploy/buildWithParameters", 57).await;
    queue_item(&f, 57, 2, Some(left(27, &format!("{ROOT}/job/deploy/")))).await;

    let executor = f.executor(f.source(&["deploy"]));
    let (action, outcome) = dispatch(
        &executor,
        "deploy",
        &[("BRANCH", "release/1.4"), ("TARGET", "prod")],
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Done("queued as item 57, started build #27".into())
    );
    assert_eq!(
        action.effect,
        "start a new run of deploy (ci/deploy) with BRANCH=release/1.4, TARGET=prod"
    );

    let requests = f.requests().await;
    let summary = f.summary().await;
    let params_query = format!(
        "tree={}",
        url::form_urlencoded::byte_serialize(PARAMS_TREE.as_bytes()).collect::<String>()
    );
    let item_query = format!(
        "tree={}",
        url::form_urlencoded::byte_serialize(ITEM_TREE.as_bytes()).collect::<String>()
    );
    let want: Vec<(String, String, String, String)> = vec![
        (
            "GET".into(),
            "/job/deploy/api/json".into(),
            params_query,
            String::new(),
        ),
        (
            "POST".into(),
            "/job/deploy/buildWithParameters".into(),
            String::new(),
            "BRANCH=release%2F1.4&TARGET=prod".into(),
        ),
        (
            "GET".into(),
            "/queue/item/57/api/json".into(),
            item_query.clone(),
            String::new(),
        ),
        (
            "GET".into(),
            "/queue/item/57/api/json".into(),
            item_query.clone(),
            String::new(),
        ),
        (
            "GET".into(),
            "/queue/item/57/api/json".into(),
            item_query,
            String::new(),
        ),
    ];
    assert_eq!(summary, want);
    let post = &requests[1];
    assert_eq!(
        header_of(post, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        header_of(post, "jenkins-crumb").is_none(),
        "no crumb unasked"
    );

    let audit = f.audit_lines();
    let rows: Vec<(&str, &str, &str, &str)> = audit
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap_or(""),
                l["target_kind"].as_str().unwrap_or(""),
                l["target"].as_str().unwrap_or(""),
                l["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("dispatch", "pipeline", "deploy", "requested"),
            ("dispatch", "pipeline", "deploy", "done")
        ]
    );
    assert_eq!(audit[0]["effect"], action.effect.as_str());
    assert_eq!(audit[1]["detail"], "queued as item 57, started build #27");
    assert!(!f.audit_text().contains(TOKEN));
}

#[tokio::test]
async fn a_build_still_queued_at_the_deadline_says_why_it_waits() {
    let f = fixture().await;
    let mut job = api_job();
    job.as_object_mut().expect("object").remove("builds");
    f.get("/job/team/job/backend/job/api/api/json", PARAMS_TREE, job)
        .await;
    created(&f, "/job/team/job/backend/job/api/build", 58).await;
    Mock::given(method("GET"))
        .and(path("/queue/item/58/api/json"))
        .and(query_param("tree", ITEM_TREE))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"_class": "hudson.model.Queue$BuildableItem", "id": 58,
                   "why": "Waiting for next available executor on ‘linux’"}),
        ))
        .mount(&f.server)
        .await;
    let source = JenkinsSource::new(
        "ci",
        f.config(&["team/backend/api"]),
        Duration::from_secs(30),
    )
    .with_queue_follow(Duration::from_millis(300), Duration::from_millis(50));
    let executor = f.executor(source);
    let (_, outcome) = dispatch(&executor, "team/backend/api", &[]).await;
    assert_eq!(
        outcome,
        Outcome::Done(
            "queued as item 58 (waiting: Waiting for next available executor on ‘linux’)".into()
        )
    );
    let requests = f.requests().await;
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a POST");
    assert_eq!(post.url.path(), "/job/team/job/backend/job/api/build");
    assert!(
        post.body.is_empty(),
        "a job without parameters gets no form"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.url.path() == "/queue/item/58/api/json")
            .count()
            >= 1
    );
}

#[tokio::test]
async fn parameters_the_job_does_not_declare_are_refused_before_sending() {
    let f = fixture().await;
    let mut job = deploy();
    job.as_object_mut().expect("object").remove("builds");
    f.get("/job/deploy/api/json", PARAMS_TREE, job).await;
    let executor = f.executor(f.source(&["deploy"]));
    let (_, outcome) = dispatch(&executor, "deploy", &[("BRANH", "main")]).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "ci: deploy has no parameter `BRANH` (it has BRANCH, TARGET, DRY_RUN)".into()
        )
    );
    assert!(
        f.requests()
            .await
            .iter()
            .all(|r| r.method.as_str() == "GET")
    );
    let audit = f.audit_lines();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[1]["outcome"], "failed");
}

#[tokio::test]
async fn a_rerun_sends_the_builds_own_parameters() {
    let f = fixture().await;
    let snapshot = f.snapshot().await;
    let deploy_build = deploy()["builds"][1].clone();
    f.get(
        "/job/deploy/25/api/json",
        "actions[parameters[name,value]]",
        json!({"_class": "hudson.model.FreeStyleBuild", "actions": deploy_build["actions"]}),
    )
    .await;
    created(&f, "/job/deploy/buildWithParameters", 60).await;
    queue_item(&f, 60, 1, Some(left(28, &format!("{ROOT}/job/deploy/")))).await;
    let executor = f.executor(f.source(&["deploy"]));
    let (action, outcome) = act(&executor, ActionKind::Rerun, run(&snapshot, "deploy#25")).await;
    assert_eq!(
        outcome,
        Outcome::Done(
            "re-ran #25 with its parameters: queued as item 60, started build #28 \
             (DEPLOY_KEY not sent again: Jenkins does not show their values, so the defaults apply)"
                .into()
        )
    );
    let summary = f.summary().await;
    let posts: Vec<(&str, &str)> = summary
        .iter()
        .filter(|(m, ..)| m == "POST")
        .map(|(_, p, _, b)| (p.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        posts,
        [(
            "/job/deploy/buildWithParameters",
            "BRANCH=main&TARGET=prod&DRY_RUN=false"
        )]
    );
    assert_eq!(summary[0].1, "/job/deploy/25/api/json");
    let audit = f.audit_lines();
    assert_eq!(
        (audit[0]["action"].as_str(), audit[0]["target"].as_str()),
        (Some("rerun"), Some("deploy#25"))
    );
    assert_eq!(audit[0]["effect"], action.effect.as_str());
    assert_eq!(audit[1]["outcome"], "done");
    assert!(!f.audit_text().contains(TOKEN));
}

#[tokio::test]
async fn cancel_stops_a_running_build_and_takes_a_queued_one_out_of_the_queue() {
    let f = fixture().await;
    let snapshot = f.snapshot().await;
    Mock::given(method("POST"))
        .and(path("/job/deploy/26/stop"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{ROOT}/job/deploy/26/").as_str()),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/queue/cancelItem"))
        .and(query_param("id", "101"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&f.server)
        .await;
    let executor = f.executor(f.source(&["deploy"]));
    let (stop, outcome) = act(&executor, ActionKind::Cancel, run(&snapshot, "deploy#26")).await;
    assert_eq!(
        outcome,
        Outcome::Done("stop requested for deploy #26: Jenkins aborts it".into())
    );
    let (_, outcome) = act(
        &executor,
        ActionKind::Cancel,
        run(&snapshot, "deploy#queue-101"),
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Done("queue item 101 of deploy cancelled".into())
    );
    let summary = f.summary().await;
    assert_eq!(
        summary,
        vec![
            (
                "POST".to_string(),
                "/job/deploy/26/stop".to_string(),
                String::new(),
                String::new()
            ),
            (
                "POST".into(),
                "/queue/cancelItem".into(),
                "id=101".into(),
                String::new()
            ),
        ],
        "the stop's redirect is not followed, and no crumb is asked for"
    );
    for r in f.requests().await {
        assert!(header_of(&r, "jenkins-crumb").is_none());
        assert!(header_of(&r, "authorization").is_some_and(|a| a.starts_with("Basic ")));
    }
    let audit = f.audit_lines();
    let rows: Vec<(&str, &str, &str)> = audit
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
        rows,
        [
            ("cancel", "deploy#26", "requested"),
            ("cancel", "deploy#26", "done"),
            ("cancel", "deploy#queue-101", "requested"),
            ("cancel", "deploy#queue-101", "done"),
        ]
    );
    assert_eq!(audit[0]["effect"], stop.effect.as_str());
    assert!(!f.audit_text().contains(TOKEN));
}

#[tokio::test]
async fn only_new_builds_reruns_and_cancels_are_offered() {
    let f = fixture().await;
    let source = f.source(&["deploy"]);
    let offered: Vec<ActionKind> = [
        ActionKind::Dispatch,
        ActionKind::Rerun,
        ActionKind::RerunFailed,
        ActionKind::Cancel,
        ActionKind::ForceCancel,
        ActionKind::Sync,
    ]
    .into_iter()
    .filter(|k| source.supports(*k))
    .collect();
    assert_eq!(
        offered,
        [ActionKind::Dispatch, ActionKind::Rerun, ActionKind::Cancel]
    );
    assert_eq!(source.kind(), "jenkins");
    assert!(source.provides().pipelines);
    assert_eq!(source.warning(), None);
    let mut config = f.config(&["deploy"]);
    config.insecure = true;
    let insecure = JenkinsSource::new("ci", config, Duration::from_secs(30));
    assert_eq!(
        insecure.warning().as_deref(),
        Some("TLS NOT VERIFIED (insecure = true)")
    );
}
