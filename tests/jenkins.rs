//! The Jenkins source against an in-process HTTP server (wiremock) serving
//! payloads shaped like Jenkins' JSON API (`_class` on every object, only
//! the `tree=` fields): reads of jobs in folders and of the queue, every
//! result's mapping, Pipeline stages, the console tail (never the whole
//! log), the CSRF crumb only when asked for, every action's exact requests
//! and audit lines, and 401/403/404/500/timeout/malformed answers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::actions::{PlanContext, plan_dispatch, plan_run};
use opsdeck::app::audit::AuditLog;
use opsdeck::app::executor::Executor;
use opsdeck::config::{JenkinsConfig, Secret};
use opsdeck::model::{
    Action, ActionKind, Outcome, PipelineRun, RunStatus, Snapshot, Target, TargetKind,
};
use opsdeck::sources::jenkins::JenkinsSource;
use opsdeck::sources::{Source, SourceError};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "11a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7";
const ROOT: &str = "http://jenkins.example.com";

/// 2026-11-20T12:00:00Z and earlier hours, in epoch milliseconds.
const NOON: i64 = 1_795_176_000_000;
const HOUR: i64 = 3_600_000;

const JOB_TREE: &str = "name,fullName,url,buildable,property[parameterDefinitions[name,type,description,choices,defaultParameterValue[value]]],builds[number,result,building,duration,timestamp,url,actions[parameters[name,value],causes[shortDescription,userId,userName],lastBuiltRevision[SHA1,branch[name]]]]{0,20}";
const PARAMS_TREE: &str = "name,fullName,buildable,property[parameterDefinitions[name,type,description,choices,defaultParameterValue[value]]]";
const QUEUE_TREE: &str = "items[id,inQueueSince,why,task[name,url],actions[parameters[name,value],causes[shortDescription,userId,userName]]]";
const ITEM_TREE: &str = "executable[number,url],cancelled,why";

fn user_cause(id: &str, name: &str) -> Value {
    json!({"_class": "hudson.model.CauseAction", "causes": [{
        "_class": "hudson.model.Cause$UserIdCause",
        "shortDescription": format!("Started by user {name}"),
        "userId": id, "userName": name
    }]})
}

fn cause(class: &str, text: &str) -> Value {
    json!({"_class": "hudson.model.CauseAction", "causes": [{"_class": class, "shortDescription": text}]})
}

fn params(values: Value) -> Value {
    json!({"_class": "hudson.model.ParametersAction", "parameters": values})
}

fn string_param(name: &str, value: &str) -> Value {
    json!({"_class": "hudson.model.StringParameterValue", "name": name, "value": value})
}

fn build_data(sha: &str, branch: &str) -> Value {
    json!({"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {
        "SHA1": sha, "branch": [{"SHA1": sha, "name": branch}]
    }})
}

fn build(
    class: &str,
    job_url: &str,
    number: u64,
    result: Value,
    building: bool,
    actions: Value,
) -> Value {
    json!({
        "_class": class,
        "actions": actions,
        "building": building,
        "duration": if building { 0 } else { 312_000 },
        "number": number,
        "result": result,
        "timestamp": NOON - (30 - number as i64) * HOUR,
        "url": format!("{job_url}{number}/")
    })
}

fn parameter_definitions() -> Value {
    json!([
        {"_class": "jenkins.model.BuildDiscarderProperty"},
        {"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": [
            {"_class": "hudson.model.StringParameterDefinition",
             "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "value": "main"},
             "description": "Branch to deploy", "name": "BRANCH", "type": "StringParameterDefinition"},
            {"_class": "hudson.model.ChoiceParameterDefinition",
             "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "value": "staging"},
             "description": "Where to", "name": "TARGET", "type": "ChoiceParameterDefinition",
             "choices": ["staging", "prod"]},
            {"_class": "hudson.model.BooleanParameterDefinition",
             "defaultParameterValue": {"_class": "hudson.model.BooleanParameterValue", "value": false},
             "description": "", "name": "DRY_RUN", "type": "BooleanParameterDefinition"}
        ]}
    ])
}

/// A freestyle job with one build of every result, and one running.
fn deploy() -> Value {
    let url = format!("{ROOT}/job/deploy/");
    let fs = "hudson.model.FreeStyleBuild";
    json!({
        "_class": "hudson.model.FreeStyleProject",
        "name": "deploy",
        "fullName": "deploy",
        "url": url,
        "buildable": true,
        "property": parameter_definitions(),
        "builds": [
            build(fs, &url, 26, Value::Null, true, json!([
                params(json!([string_param("BRANCH", "release/1.4"), string_param("TARGET", "prod"),
                              {"_class": "hudson.model.BooleanParameterValue", "name": "DRY_RUN", "value": false}])),
                user_cause("alice", "Alice Example"),
                {}
            ])),
            build(fs, &url, 25, json!("SUCCESS"), false, json!([
                params(json!([string_param("BRANCH", "main"), string_param("TARGET", "prod"),
                              {"_class": "hudson.model.BooleanParameterValue", "name": "DRY_RUN", "value": false},
                              {"_class": "hudson.model.PasswordParameterValue", "name": "DEPLOY_KEY"}])),
                cause("hudson.triggers.TimerTrigger$TimerTriggerCause", "Started by timer"),
                build_data("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "refs/remotes/origin/main"),
                {"_class": "hudson.plugins.git.GitTagAction"}
            ])),
            build(fs, &url, 24, json!("FAILURE"), false, json!([
                cause("hudson.triggers.SCMTrigger$SCMTriggerCause", "Started by an SCM change"),
                build_data("1111111111111111111111111111111111111111", "origin/feature/login")
            ])),
            build(fs, &url, 23, json!("UNSTABLE"), false, json!([
                cause("hudson.model.Cause$UpstreamCause", "Started by upstream project \"build\" build number 88")
            ])),
            build(fs, &url, 22, json!("ABORTED"), false, json!([user_cause("bob", "Bob")])),
            build(fs, &url, 21, json!("NOT_BUILT"), false, json!([null, {}]))
        ]
    })
}

/// A Pipeline job two folders down, one build.
fn api_job() -> Value {
    let url = format!("{ROOT}/job/team/job/backend/job/api/");
    json!({
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
        "name": "api",
        "fullName": "team/backend/api",
        "url": url,
        "buildable": true,
        "property": [{"_class": "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"}],
        "builds": [build("org.jenkinsci.plugins.workflow.job.WorkflowRun", &url, 7, json!("SUCCESS"), false, json!([
            cause("jenkins.branch.BranchIndexingCause", "Branch indexing"),
            build_data("abcdefabcdefabcdefabcdefabcdefabcdefabcd", "refs/remotes/origin/develop"),
            {"_class": "org.jenkinsci.plugins.workflow.libs.LibrariesAction"}
        ]))]
    })
}

fn queue() -> Value {
    json!({"_class": "hudson.model.Queue", "items": [
        {"_class": "hudson.model.Queue$WaitingItem",
         "actions": [params(json!([string_param("BRANCH", "hotfix/42")])), user_cause("carol", "Carol")],
         "id": 101, "inQueueSince": NOON + 60_000, "why": "In the quiet period. Expires in 4.2 sec",
         "task": {"_class": "hudson.model.FreeStyleProject", "name": "deploy", "url": format!("{ROOT}/job/deploy/")}},
        // A running Pipeline's `node` block waiting for an executor: not a new run.
        {"_class": "hudson.model.Queue$BuildableItem", "actions": [], "id": 102, "inQueueSince": NOON,
         "why": "Waiting for next available executor on ‘linux’",
         "task": {"_class": "org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask",
                  "name": "part of api #8", "url": format!("{ROOT}/job/team/job/backend/job/api/8/")}},
        // A job nobody configured.
        {"_class": "hudson.model.Queue$BlockedItem", "actions": [], "id": 103, "inQueueSince": NOON,
         "why": "Build #4 is already in progress", "task": {"_class": "hudson.model.FreeStyleProject",
         "name": "other", "url": format!("{ROOT}/job/other/")}}
    ]})
}

fn base64(input: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

struct Fixture {
    server: MockServer,
    _dir: tempfile::TempDir,
    token_file: PathBuf,
    audit: PathBuf,
}

async fn fixture() -> Fixture {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("jenkins-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let audit = dir.path().join("audit.jsonl");
    Fixture {
        server,
        _dir: dir,
        token_file,
        audit,
    }
}

impl Fixture {
    fn config(&self, jobs: &[&str]) -> JenkinsConfig {
        JenkinsConfig {
            url: self.server.uri(),
            jobs: jobs.iter().map(|j| j.to_string()).collect(),
            user: Some("alice".into()),
            token: Some(Secret::File(self.token_file.clone())),
            limit: 20,
            timeout: Duration::from_secs(5),
            ca_file: None,
            insecure: false,
        }
    }

    fn source(&self, jobs: &[&str]) -> JenkinsSource {
        JenkinsSource::new("ci", self.config(jobs), Duration::from_secs(30))
            .with_queue_follow(Duration::from_secs(5), Duration::from_millis(20))
    }

    fn executor(&self, source: JenkinsSource) -> Executor {
        Executor::new(
            vec![Arc::new(source) as Arc<dyn Source>],
            AuditLog::new(self.audit.clone(), "cli"),
            false,
        )
    }

    async fn get(&self, at: &str, tree: &str, body: Value) {
        Mock::given(method("GET"))
            .and(path(at))
            .and(query_param("tree", tree))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    /// The reads of a snapshot of `deploy` and `team/backend/api`.
    async fn serve_reads(&self) {
        self.get("/job/deploy/api/json", JOB_TREE, deploy()).await;
        self.get(
            "/job/team/job/backend/job/api/api/json",
            JOB_TREE,
            api_job(),
        )
        .await;
        self.get("/queue/api/json", QUEUE_TREE, queue()).await;
    }

    /// Read a snapshot, then forget the reads (mocks and requests).
    async fn snapshot(&self) -> Snapshot {
        self.serve_reads().await;
        let snapshot = self
            .source(&["deploy", "team/backend/api"])
            .fetch()
            .await
            .expect("reads");
        self.server.reset().await;
        snapshot
    }

    async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// Every request as (method, path, query, body).
    async fn summary(&self) -> Vec<(String, String, String, String)> {
        self.requests()
            .await
            .iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.url.path().to_string(),
                    r.url.query().unwrap_or("").to_string(),
                    String::from_utf8_lossy(&r.body).into_owned(),
                )
            })
            .collect()
    }

    fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    fn audit_text(&self) -> String {
        std::fs::read_to_string(&self.audit).unwrap_or_default()
    }
}

fn tree_of(request: &Request) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == "tree")
        .map(|(_, v)| v.into_owned())
}

fn run<'a>(snapshot: &'a Snapshot, id: &str) -> &'a PipelineRun {
    snapshot
        .pipelines
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("{id} is listed"))
}

fn ctx() -> PlanContext {
    PlanContext {
        read_only: false,
        source_production: false,
        now: chrono::DateTime::from_timestamp_millis(NOON + 2 * HOUR).expect("time"),
        rerun_starts_new: true,
    }
}

fn header_of<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn reads_jobs_in_folders_and_the_queue_with_tree_selections_only() {
    let f = fixture().await;
    f.serve_reads().await;
    let snapshot = f
        .source(&["deploy", "team/backend/api"])
        .fetch()
        .await
        .expect("reads");

    let requests = f.requests().await;
    let mut seen: Vec<(String, String, Option<String>)> = requests
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_string(), tree_of(r)))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (
                "GET".into(),
                "/job/deploy/api/json".into(),
                Some(JOB_TREE.into())
            ),
            (
                "GET".into(),
                "/job/team/job/backend/job/api/api/json".into(),
                Some(JOB_TREE.into())
            ),
            (
                "GET".into(),
                "/queue/api/json".into(),
                Some(QUEUE_TREE.into())
            ),
        ]
    );
    let basic = format!("Basic {}", base64(&format!("alice:{TOKEN}")));
    for r in &requests {
        assert_eq!(r.url.query_pairs().count(), 1, "only tree=: {}", r.url);
        assert_eq!(header_of(r, "authorization"), Some(basic.as_str()));
        assert!(header_of(r, "jenkins-crumb").is_none());
    }

    // Six builds of deploy, one of api, one queued for deploy; the
    // Pipeline's node block and the unconfigured job's item are left out.
    let ids: Vec<&str> = snapshot.pipelines.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "deploy#queue-101",
            "deploy#26",
            "deploy#25",
            "deploy#24",
            "deploy#23",
            "deploy#22",
            "deploy#21",
            "team/backend/api#7"
        ]
    );

    let api = run(&snapshot, "team/backend/api#7");
    assert_eq!(api.pipeline, "api");
    assert_eq!(api.pipeline_id, "team/backend/api");
    assert_eq!(api.project, "team/backend");
    assert_eq!(api.branch, "develop");
    assert_eq!(api.commit, "abcdefabcdefabcdefabcdefabcdefabcdefabcd");
    assert_eq!(api.event, "branch_indexing");
    assert_eq!(api.actor, "Branch indexing");
    assert_eq!(
        api.url.as_deref(),
        Some(format!("{ROOT}/job/team/job/backend/job/api/7/").as_str())
    );

    let queued = run(&snapshot, "deploy#queue-101");
    assert_eq!(queued.status, RunStatus::Queued);
    assert_eq!(
        (
            queued.pipeline.as_str(),
            queued.pipeline_id.as_str(),
            queued.project.as_str()
        ),
        ("deploy", "deploy", "deploy")
    );
    assert_eq!(queued.actor, "Carol");
    assert_eq!(queued.event, "user");
    assert_eq!(queued.branch, "hotfix/42", "from its BRANCH parameter");
    assert_eq!(queued.started_at, None);
    assert_eq!(
        queued.created_at,
        chrono::DateTime::from_timestamp_millis(NOON + 60_000)
    );
}

#[tokio::test]
async fn every_result_maps_to_its_status() {
    let f = fixture().await;
    f.serve_reads().await;
    let snapshot = f
        .source(&["deploy", "team/backend/api"])
        .fetch()
        .await
        .expect("reads");
    let rows: Vec<(&str, RunStatus, Option<&str>)> = snapshot
        .pipelines
        .iter()
        .filter(|r| r.pipeline == "deploy")
        .map(|r| (r.id.as_str(), r.status, r.raw_status.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [
            ("deploy#queue-101", RunStatus::Queued, None),
            ("deploy#26", RunStatus::Running, None),
            ("deploy#25", RunStatus::Success, None),
            ("deploy#24", RunStatus::Failure, None),
            ("deploy#23", RunStatus::Failure, Some("UNSTABLE")),
            ("deploy#22", RunStatus::Cancelled, None),
            ("deploy#21", RunStatus::Skipped, None),
        ]
    );

    let running = run(&snapshot, "deploy#26");
    assert_eq!(running.duration, None, "still building");
    assert_eq!(
        running.started_at,
        chrono::DateTime::from_timestamp_millis(NOON - 4 * HOUR)
    );
    assert_eq!(running.branch, "release/1.4");
    assert_eq!(running.commit, "");
    assert_eq!(
        (running.actor.as_str(), running.event.as_str()),
        ("Alice Example", "user")
    );

    let ok = run(&snapshot, "deploy#25");
    assert_eq!(ok.duration, Some(Duration::from_secs(312)));
    assert_eq!(
        ok.branch, "main",
        "lastBuiltRevision wins over the parameter"
    );
    assert_eq!(ok.commit, "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432");
    assert_eq!(
        (ok.actor.as_str(), ok.event.as_str()),
        ("Started by timer", "timer")
    );

    let failed = run(&snapshot, "deploy#24");
    assert_eq!(
        (failed.branch.as_str(), failed.event.as_str()),
        ("feature/login", "scm")
    );
    assert_eq!(run(&snapshot, "deploy#23").event, "upstream");
    assert_eq!(run(&snapshot, "deploy#22").actor, "Bob");
    let skipped = run(&snapshot, "deploy#21");
    assert_eq!((skipped.actor.as_str(), skipped.event.as_str()), ("", ""));
}

#[tokio::test]
async fn a_folder_listed_as_a_job_is_named() {
    let f = fixture().await;
    f.get(
        "/job/team/api/json",
        JOB_TREE,
        json!({"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "team",
               "fullName": "team", "url": format!("{ROOT}/job/team/"),
               "property": [{"_class": "org.jenkinsci.plugins.pipeline.modeldefinition.config.FolderConfig"}]}),
    )
    .await;
    f.get(
        "/queue/api/json",
        QUEUE_TREE,
        json!({"_class": "hudson.model.Queue", "items": []}),
    )
    .await;
    let e = f.source(&["team"]).fetch().await.expect_err("a folder");
    assert_eq!(
        e.to_string(),
        "the backend answered with an error: ci: team is a Folder, not a job with builds: \
         list its jobs in `jobs`, like \"team/<job>\""
    );
}

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
async fn dispatch(executor: &Executor, job: &str, inputs: &[(&str, &str)]) -> (Action, Outcome) {
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

async fn act(executor: &Executor, kind: ActionKind, run: &PipelineRun) -> (Action, Outcome) {
    let action = plan_run(kind, run, ctx()).expect("planned");
    let outcome = executor.execute(5, &action).await;
    (action, outcome)
}

fn waiting(id: u64, why: &str) -> Value {
    json!({"_class": "hudson.model.Queue$WaitingItem", "id": id, "why": why})
}

fn left(number: u64, job_url: &str) -> Value {
    json!({"_class": "hudson.model.Queue$LeftItem", "cancelled": false, "why": null,
           "executable": {"_class": "hudson.model.FreeStyleBuild", "number": number,
                          "url": format!("{job_url}{number}/")}})
}

/// `POST at` → 201 with the queue item's Location.
async fn created(f: &Fixture, at: &str, item: u64) {
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
async fn queue_item(f: &Fixture, item: u64, times: u64, then: Option<Value>) {
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
        attempt: 1,
        created_at: None,
        started_at: None,
        updated_at: None,
        duration: None,
        url: None,
        jobs: None,
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
