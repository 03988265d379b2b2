//! Crumbs, and every error a read or an action can meet, in Jenkins' words;
//! an inline token is refused without being repeated.

use super::*;
use crate::actions::{act, dispatch};

#[tokio::test]
async fn a_crumb_is_fetched_when_jenkins_asks_and_kept_for_the_next_post() {
    let f = fixture().await;
    let snapshot = f.snapshot().await;
    let no_crumb = "<html><head><title>Error 403 No valid crumb was included in the request</title></head>\
        <body><h2>HTTP ERROR 403 No valid crumb was included in the request</h2></body></html>";
    // With the crumb and its session: accepted.
    for (at, status) in [("/job/deploy/26/stop", 302), ("/queue/cancelItem", 204)] {
        Mock::given(method("POST"))
            .and(path(at))
            .and(header("Jenkins-Crumb", "5e1f0c9d2b7a"))
            .and(header("Cookie", "JSESSIONID.7d2c1e0f=node0abc123.node0"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{ROOT}/job/deploy/26/").as_str()),
            )
            .with_priority(1)
            .mount(&f.server)
            .await;
        Mock::given(method("POST"))
            .and(path(at))
            .respond_with(ResponseTemplate::new(403).set_body_string(no_crumb))
            .mount(&f.server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/crumbIssuer/api/json"))
        .and(query_param("tree", "crumb,crumbRequestField"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Set-Cookie", "JSESSIONID.7d2c1e0f=node0abc123.node0; Path=/; HttpOnly")
                .set_body_json(json!({"_class": "hudson.security.csrf.DefaultCrumbIssuer",
                                      "crumb": "5e1f0c9d2b7a", "crumbRequestField": "Jenkins-Crumb"})),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let executor = f.executor(f.source(&["deploy"]));
    let (_, outcome) = act(&executor, ActionKind::Cancel, run(&snapshot, "deploy#26")).await;
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
    let requests = f.requests().await;
    let rows: Vec<(String, String, Option<&str>, Option<&str>)> = requests
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.url.path().to_string(),
                header_of(r, "jenkins-crumb"),
                header_of(r, "cookie"),
            )
        })
        .collect();
    let session = Some("JSESSIONID.7d2c1e0f=node0abc123.node0");
    assert_eq!(
        rows,
        vec![
            (
                "POST".to_string(),
                "/job/deploy/26/stop".to_string(),
                None,
                None
            ),
            ("GET".into(), "/crumbIssuer/api/json".into(), None, None),
            (
                "POST".into(),
                "/job/deploy/26/stop".into(),
                Some("5e1f0c9d2b7a"),
                session
            ),
            (
                "POST".into(),
                "/queue/cancelItem".into(),
                Some("5e1f0c9d2b7a"),
                session
            ),
        ]
    );
    let audit = f.audit_text();
    assert!(
        !audit.contains("5e1f0c9d2b7a") && !audit.contains("node0abc123") && !audit.contains(TOKEN)
    );
}

#[tokio::test]
async fn a_401_names_the_source_the_user_and_where_the_token_came_from() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", "Basic realm=\"Jenkins\"")
                .set_body_string(
                    "<html><head><title>Error 401 Invalid password/token for user: alice</title></head>\
                     <body><h2>HTTP ERROR 401 Invalid password/token for user: alice</h2></body></html>",
                ),
        )
        .mount(&f.server)
        .await;
    let e = f.source(&["deploy"]).fetch().await.expect_err("refused");
    let text = e.to_string();
    assert!(matches!(e, SourceError::Auth(_)), "{e:?}");
    assert!(
        text.starts_with("not allowed: ci: Jenkins rejected the API token of user alice (401 on /"),
        "{text}"
    );
    assert!(
        text.contains("HTTP ERROR 401 Invalid password/token for user: alice"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "the token came from file {}",
            f.token_file.display()
        )),
        "{text}"
    );
    assert!(!text.contains(TOKEN));

    // Through an action too, audited, without the token anywhere.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).set_body_string("Invalid password/token for user: alice"),
        )
        .mount(&f.server)
        .await;
    let run = PipelineRun {
        error: None,
        source: "ci".into(),
        id: "deploy#26".into(),
        pipeline: "deploy".into(),
        pipeline_id: "deploy".into(),
        project: "deploy".into(),
        branch: String::new(),
        commit: String::new(),
        actor: String::new(),
        event: String::new(),
        status: RunStatus::Running,
        raw_status: None,
        awaiting_approval: None,
        attempt: 1,
        created_at: None,
        started_at: None,
        updated_at: None,
        duration: None,
        url: None,
        jobs: None,
        paused: false,
        details: Vec::new(),
    };
    let (_, outcome) = act(&f.executor(f.source(&["deploy"])), ActionKind::Cancel, &run).await;
    let Outcome::Failed(why) = outcome else {
        panic!("refused: {outcome:?}")
    };
    assert!(
        why.starts_with(
            "ci: Jenkins rejected the API token of user alice (401 on /job/deploy/26/stop)"
        ),
        "{why}"
    );
    assert!(!why.contains(TOKEN) && !f.audit_text().contains(TOKEN));

    // An environment variable as the origin.
    let mut config = f.config(&["deploy"]);
    config.token = Some(Secret::Env("OPSDECK_TEST_JENKINS_TOKEN_UNSET".into()));
    let e = JenkinsSource::new("ci", config, Duration::from_secs(30))
        .fetch()
        .await
        .expect_err("no token");
    assert_eq!(
        e.to_string(),
        "not allowed: ci: cannot read the API token of alice (env OPSDECK_TEST_JENKINS_TOKEN_UNSET): \
         environment variable OPSDECK_TEST_JENKINS_TOKEN_UNSET is not set"
    );
}

const DENIED: &str = "<!DOCTYPE html><html><head><title>Access Denied [Jenkins]</title>\
    <script src=\"/static/x/jsbundles/app.js\"></script></head><body>\
    <div id=\"page-header\"><a href=\"/\">Jenkins</a></div><div id=\"main-panel\">\
    <h1>Access Denied</h1><p>alice is missing the PERMISSION permission</p></div></body></html>";

#[tokio::test]
async fn a_403_says_what_there_is_no_permission_for() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path("/job/deploy/api/json"))
        .respond_with(
            ResponseTemplate::new(403).set_body_string(DENIED.replace("PERMISSION", "Job/Read")),
        )
        .mount(&f.server)
        .await;
    f.get(
        "/queue/api/json",
        QUEUE_TREE,
        json!({"_class": "hudson.model.Queue", "items": []}),
    )
    .await;
    let e = f.source(&["deploy"]).fetch().await.expect_err("refused");
    assert_eq!(
        e.to_string(),
        "not allowed: ci: no permission to read job deploy (403 on /job/deploy/api/json): \
         alice is missing the Job/Read permission"
    );

    f.server.reset().await;
    let mut job = deploy();
    job.as_object_mut().expect("object").remove("builds");
    f.get("/job/deploy/api/json", PARAMS_TREE, job).await;
    Mock::given(method("POST"))
        .and(path("/job/deploy/buildWithParameters"))
        .respond_with(
            ResponseTemplate::new(403).set_body_string(DENIED.replace("PERMISSION", "Job/Build")),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let (_, outcome) = dispatch(&f.executor(f.source(&["deploy"])), "deploy", &[]).await;
    assert_eq!(
        outcome,
        Outcome::Failed(
            "ci: no permission to build job deploy (403 on /job/deploy/buildWithParameters): \
             alice is missing the Job/Build permission"
                .into()
        )
    );
    assert!(
        !f.requests()
            .await
            .iter()
            .any(|r| r.url.path().starts_with("/crumbIssuer")),
        "a 403 that is no crumb problem asks for no crumb"
    );
}

#[tokio::test]
async fn a_404_names_the_job_and_a_500_the_path() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path("/job/team/job/gone/api/json"))
        .respond_with(ResponseTemplate::new(404).set_body_string(
            "<html><body><h2>HTTP ERROR 404 Not Found</h2><table><tr><th>URI:</th><td>/job/team/job/gone/api/json</td></tr></table></body></html>",
        ))
        .mount(&f.server)
        .await;
    f.get(
        "/queue/api/json",
        QUEUE_TREE,
        json!({"_class": "hudson.model.Queue", "items": []}),
    )
    .await;
    let e = f.source(&["team/gone"]).fetch().await.expect_err("gone");
    assert_eq!(
        e.to_string(),
        "the backend answered with an error: ci: job team/gone not found (404 on \
         /job/team/job/gone/api/json): check `jobs` (a job in a folder is written folder/job) \
         and that alice may see it"
    );

    f.server.reset().await;
    f.get("/job/deploy/api/json", JOB_TREE, deploy()).await;
    Mock::given(method("GET"))
        .and(path("/queue/api/json"))
        .respond_with(ResponseTemplate::new(500).set_body_string(
            "<html><head><title>Error 500 Server Error</title></head><body><h2>HTTP ERROR 500 java.lang.NullPointerException</h2></body></html>",
        ))
        .mount(&f.server)
        .await;
    // The builds stand without the queue: the queue is the source's error.
    let snapshot = f.source(&["deploy"]).fetch().await.expect("builds read");
    assert!(!snapshot.pipelines.is_empty());
    assert_eq!(
        snapshot.problems,
        [
            "the backend answered with an error: ci: 500 on /queue/api/json: HTTP ERROR 500 java.lang.NullPointerException"
        ]
    );
    assert!(!snapshot.problems[0].contains(TOKEN));
}

#[tokio::test]
async fn a_vanished_job_is_named_while_its_siblings_builds_show() {
    let f = fixture().await;
    f.get("/job/deploy/api/json", JOB_TREE, deploy()).await;
    Mock::given(method("GET"))
        .and(path("/job/team/job/gone/api/json"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_string("<html><body><h2>HTTP ERROR 404 Not Found</h2></body></html>"),
        )
        .mount(&f.server)
        .await;
    f.get(
        "/queue/api/json",
        QUEUE_TREE,
        json!({"_class": "hudson.model.Queue", "items": []}),
    )
    .await;
    let snapshot = f
        .source(&["team/gone", "deploy"])
        .fetch()
        .await
        .expect("the other job reads");
    assert!(
        !snapshot.pipelines.is_empty()
            && snapshot.pipelines.iter().all(|r| r.pipeline_id == "deploy"),
        "{:?}",
        snapshot.pipelines
    );
    assert_eq!(
        snapshot.problems,
        [
            "the backend answered with an error: ci: job team/gone not found (404 on \
          /job/team/job/gone/api/json): check `jobs` (a job in a folder is written folder/job) \
          and that alice may see it"
        ]
    );
}

#[tokio::test]
async fn malformed_json_names_the_source_and_the_path() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .and(path("/job/deploy/api/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Type", "application/json;charset=utf-8")
                .set_body_string(r#"{"_class":"hudson.model.FreeStyleProject","name":"deploy","builds":[{"number":"#),
        )
        .mount(&f.server)
        .await;
    f.get(
        "/queue/api/json",
        QUEUE_TREE,
        json!({"_class": "hudson.model.Queue", "items": []}),
    )
    .await;
    let e = f.source(&["deploy"]).fetch().await.expect_err("malformed");
    assert!(matches!(e, SourceError::Decode(_)), "{e:?}");
    assert!(
        e.to_string().starts_with(
            "cannot understand the backend's answer: ci: job deploy from /job/deploy/api/json: "
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_dead_jenkins_times_out_on_its_own_timeout() {
    let f = fixture().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(deploy())
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&f.server)
        .await;
    let mut config = f.config(&["deploy"]);
    config.timeout = Duration::from_secs(1);
    let source = JenkinsSource::new("ci", config, Duration::from_secs(30));
    assert_eq!(source.fetch_timeout(), Duration::from_secs(3));
    let started = std::time::Instant::now();
    let e = opsdeck::sources::fetch_with_timeout(&source)
        .await
        .expect_err("too slow");
    assert_eq!(
        e,
        SourceError::NoAnswer {
            within: Duration::from_secs(1),
            from: "/job/deploy/api/json".into()
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "it did not wait for the answer"
    );
}

#[test]
fn an_inline_token_is_refused_without_being_repeated() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config/invalid/jenkins_inline_token.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .env_remove("OPSDECK_CONFIG")
        .env("NO_COLOR", "1")
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .output()
        .expect("run opsdeck");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains(":8:9: token must not be written inline"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "the token was echoed: {stderr}");
}
