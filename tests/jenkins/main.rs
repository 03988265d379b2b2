//! The Jenkins source against an in-process HTTP server (wiremock) serving
//! payloads shaped like Jenkins' JSON API (`_class` on every object, only
//! the `tree=` fields): reads of jobs in folders and of the queue, every
//! result's mapping, Pipeline stages, the console tail (never the whole
//! log), the CSRF crumb only when asked for, every action's exact requests
//! and audit lines, and 401/403/404/500/timeout/malformed answers.

mod builders;
use builders::*;
mod actions;
mod errors;
mod stages;

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
        cancel_marks_failed: false,
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
