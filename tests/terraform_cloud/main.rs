//! `kind = "terraform-cloud"` against a server shaped like the HCP Terraform
//! API: workspaces as GitOps apps (drift from assessments, health from the
//! current run, locks), current runs as pipeline runs (every status mapped,
//! awaiting approval), one paged call with `include`, 404/401 wording, 429,
//! and every action through the resolver and the executor, with the
//! server's state after.

#[path = "../support_terraform/mod.rs"]
mod support_terraform;

mod actions;

use std::sync::Arc;
use std::time::{Duration, Instant};

use opsdeck::app::audit::AuditLog;
use opsdeck::app::executor::Executor;
use opsdeck::app::resolver::{self, Context, Request, Resolved};
use opsdeck::app::state::SourceState;
use opsdeck::config::{Secret, TerraformCloudConfig};
use opsdeck::model::{
    Action, ActionKind, GitOpsApp, Health, Outcome, PipelineRun, RunStatus, Snapshot, SyncStatus,
    Target, TargetKind,
};
use opsdeck::sources::terraform_cloud::TerraformCloudSource;
use opsdeck::sources::{Source, SourceError};
use support_terraform::{ORG, STRANGER, TOKEN, TfcServer, run, workspace};

const NAME: &str = "infra";

struct Fixture {
    server: TfcServer,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).expect("token");
        std::fs::write(dir.path().join("stranger"), STRANGER).expect("token");
        Fixture {
            server: TfcServer::start().await,
            dir,
        }
    }

    fn config(&self) -> TerraformCloudConfig {
        let mut config = TerraformCloudConfig::new(self.server.url(), ORG);
        config.token = Some(Secret::File(self.dir.path().join("token")));
        config
    }

    fn source_with(&self, config: TerraformCloudConfig) -> Arc<TerraformCloudSource> {
        Arc::new(TerraformCloudSource::new(
            NAME,
            config,
            Duration::from_secs(30),
        ))
    }

    fn source(&self) -> Arc<TerraformCloudSource> {
        self.source_with(self.config())
    }

    fn executor(&self, source: Arc<TerraformCloudSource>) -> Executor {
        Executor::new(
            vec![source as Arc<dyn Source>],
            AuditLog::new(self.dir.path().join("audit.jsonl"), "cli"),
            false,
        )
    }

    /// The usual estate: a drifted workspace in a project, one awaiting
    /// approval, one errored and locked with assessments off, one applying,
    /// one whose run has a status nobody documented, one broken.
    fn estate(&self) {
        let s = &self.server;
        let mut network = workspace("network");
        network.project = Some(("prj-1".into(), "platform".into()));
        network.assessment = Some((true, true, 3, vec!["aws_security_group.web".into()]));
        s.add_workspace(network);
        s.add_run(run("run-aaa1", "network", "applied"));
        let mut app = workspace("app");
        app.assessment = Some((false, true, 0, Vec::new()));
        s.add_workspace(app);
        s.add_run(run("run-bbb2", "app", "planned"));
        let mut legacy = workspace("legacy");
        legacy.assessments = false;
        legacy.locked = true;
        s.add_workspace(legacy);
        s.add_run(run("run-ccc3", "legacy", "errored"));
        s.add_workspace(workspace("busy"));
        s.add_run(run("run-ddd4", "busy", "applying"));
        s.add_workspace(workspace("odd"));
        s.add_run(run("run-eee5", "odd", "quantum_leap"));
        let mut broken = workspace("broken");
        broken.broken = true;
        s.add_workspace(broken);
    }
}

fn app<'a>(snapshot: &'a Snapshot, name: &str) -> &'a GitOpsApp {
    snapshot
        .apps
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no app {name} in {:?}", snapshot.apps))
}

fn run_of<'a>(snapshot: &'a Snapshot, id: &str) -> &'a PipelineRun {
    snapshot
        .pipelines
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no run {id}"))
}

#[tokio::test]
async fn workspaces_are_apps_and_their_current_runs_are_pipeline_runs_in_one_call() {
    let f = Fixture::new().await;
    f.estate();
    let snapshot = f.source().fetch().await.expect("read");

    let network = app(&snapshot, "network");
    assert_eq!(network.sync, SyncStatus::OutOfSync);
    assert_eq!(network.health, Health::Healthy);
    assert_eq!(network.namespace, "platform");
    assert_eq!(network.cluster, ORG);
    let words = network.health_message.as_deref().unwrap_or("");
    assert!(
        words.contains("3 resources drifted (assessed 2026-12-01 08:00 UTC)"),
        "{words}"
    );
    assert_eq!(
        network.revision.as_deref(),
        Some(run_of(&snapshot, "run-aaa1").commit.as_str())
    );

    let a = app(&snapshot, "app");
    assert_eq!(
        (a.sync, a.health),
        (SyncStatus::Synced, Health::Progressing)
    );
    assert_eq!(a.namespace, "");
    let waiting = run_of(&snapshot, "run-bbb2");
    assert_eq!(waiting.status, RunStatus::Queued);
    assert!(waiting.awaits_approval());
    assert_eq!(
        waiting.awaiting_approval.as_deref(),
        Some("planned: +1 ~2 -0")
    );
    assert_eq!(waiting.raw_status.as_deref(), Some("planned"));
    assert_eq!(
        waiting.state_words(),
        "awaiting approval (planned: +1 ~2 -0)"
    );
    assert_eq!(waiting.branch, "main");
    assert_eq!(waiting.commit.len(), 40);
    assert_eq!(waiting.actor, "alice");
    assert_eq!(waiting.event, "manual: Merge pull request #7 for run-bbb2");
    assert_eq!(waiting.pipeline, "app");

    let legacy = app(&snapshot, "legacy");
    assert_eq!(
        (legacy.sync, legacy.health),
        (SyncStatus::Unknown, Health::Degraded)
    );
    assert!(legacy.suspended, "locked is shown");
    let words = legacy.health_message.as_deref().unwrap_or("");
    assert!(words.contains("health assessments are off"), "{words}");
    assert!(
        words.contains("locked by user-hjy7ndEkmCtn31ps: maintenance"),
        "{words}"
    );
    assert_eq!(run_of(&snapshot, "run-ccc3").status, RunStatus::Failure);

    let busy = app(&snapshot, "busy");
    assert_eq!(
        (busy.sync, busy.health),
        (SyncStatus::Unknown, Health::Progressing)
    );
    assert!(
        busy.health_message
            .as_deref()
            .unwrap_or("")
            .contains("no health assessment yet")
    );
    assert_eq!(run_of(&snapshot, "run-ddd4").status, RunStatus::Running);

    let odd = run_of(&snapshot, "run-eee5");
    assert_eq!(odd.status, RunStatus::Unknown);
    assert_eq!(odd.raw_status.as_deref(), Some("quantum_leap"));
    assert_eq!(app(&snapshot, "odd").health, Health::Unknown);

    // One bad workspace is a row with its error; the rest are read.
    let broken = app(&snapshot, "ws-broken");
    assert!(
        broken.error.as_deref().unwrap_or("").contains("ws-broken"),
        "{broken:?}"
    );
    assert_eq!(snapshot.apps.len(), 6);
    assert_eq!(snapshot.pipelines.len(), 5);

    // One request, everything included; the 30/min run lists untouched.
    let seen = f.server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].path,
        format!("/api/v2/organizations/{ORG}/workspaces")
    );
    assert_eq!(
        seen[0].query.get("page[size]").map(String::as_str),
        Some("100")
    );
    let include = seen[0].query.get("include").cloned().unwrap_or_default();
    for part in [
        "current_run",
        "current_run.plan",
        "current_run.configuration_version.ingress_attributes",
        "current_assessment_result",
        "project",
    ] {
        assert!(include.split(',').any(|i| i == part), "{include}");
    }
}

#[tokio::test]
async fn every_page_is_read_and_globs_and_tags_choose_workspaces() {
    let f = Fixture::new().await;
    for i in 0..230 {
        let mut ws = workspace(&format!("ws-{i:03}"));
        if i % 2 == 0 {
            ws.tags = vec!["team:platform".into()];
        }
        f.server.add_workspace(ws);
    }
    let snapshot = f.source().fetch().await.expect("read");
    assert_eq!(snapshot.apps.len(), 230);
    let pages: Vec<String> = f
        .server
        .seen()
        .iter()
        .filter_map(|s| s.query.get("page[number]").cloned())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);

    let mut config = f.config();
    config.workspaces = vec!["ws-00*".into(), "ws-150".into()];
    config.tags = vec!["team:platform".into()];
    let snapshot = f.source_with(config).fetch().await.expect("read");
    let names: Vec<&str> = snapshot.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["ws-000", "ws-002", "ws-004", "ws-006", "ws-008", "ws-150"]
    );
    let last = f.server.seen().pop().expect("a request");
    assert_eq!(
        last.query.get("search[tags]").map(String::as_str),
        Some("team:platform")
    );
}

#[tokio::test]
async fn a_token_without_access_reads_not_found_or_not_allowed_and_a_bad_one_names_its_origin() {
    let f = Fixture::new().await;
    f.estate();
    let mut config = f.config();
    config.token = Some(Secret::File(f.dir.path().join("stranger")));
    let e = f.source_with(config).fetch().await.expect_err("404");
    let words = e.to_string();
    assert!(
        words.contains("the workspaces of organization acme not found or not allowed"),
        "{words}"
    );
    assert!(!words.contains(STRANGER), "{words}");

    let bad = f.dir.path().join("bad");
    std::fs::write(&bad, "nope").expect("token");
    let mut config = f.config();
    config.token = Some(Secret::File(bad.clone()));
    let e = f.source_with(config).fetch().await.expect_err("401");
    assert!(matches!(e, SourceError::Auth(_)), "{e:?}");
    assert!(
        e.to_string().contains(&format!("file {}", bad.display())),
        "{e}"
    );
}

#[tokio::test]
async fn a_429_holds_the_source_until_the_reset_it_names_then_reads_again() {
    let f = Fixture::new().await;
    f.estate();
    let source = f.source();
    f.server.throttle(1);
    let e = source.fetch().await.expect_err("rate limited");
    assert!(matches!(e, SourceError::RateLimited { .. }), "{e:?}");
    assert!(e.to_string().contains("429"), "{e}");
    // The reset is 0.05 s away: the source reads again once it passed.
    let deadline = Instant::now() + Duration::from_secs(5);
    let snapshot = loop {
        match source.fetch().await {
            Ok(s) => break s,
            Err(SourceError::RateLimited { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(snapshot.apps.len(), 6);
    assert_eq!(f.server.seen().len(), 2, "nothing sent while held");
}

#[tokio::test]
async fn the_detail_lists_drifted_resources_and_recent_runs_and_a_run_its_phases() {
    let f = Fixture::new().await;
    f.estate();
    f.server.add_run(run("run-aaa0", "network", "errored"));
    f.server.add_run(run("run-aaa1", "network", "applied"));
    let source = f.source();
    source.fetch().await.expect("read");
    let detail = source.app_detail("network").await.expect("detail");
    assert!(detail.problems.is_empty(), "{:?}", detail.problems);
    assert_eq!(detail.results.len(), 1);
    assert_eq!(detail.results[0].name, "aws_security_group.web");
    assert_eq!(detail.results[0].status, "drifted");
    assert_eq!(detail.revisions.len(), 2);
    assert!(detail.revisions.iter().any(|r| {
        r.message
            .as_deref()
            .unwrap_or("")
            .starts_with("run-aaa0 failure")
    }));
    let jobs = source.run_jobs("run-bbb2").await.expect("phases");
    let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["plan +1 ~2 -0", "apply"]);
    assert_eq!(jobs[0].status, RunStatus::Success);
}
