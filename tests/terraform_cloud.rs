//! `kind = "terraform-cloud"` against a server shaped like the HCP Terraform
//! API: workspaces as GitOps apps (drift from assessments, health from the
//! current run, locks), current runs as pipeline runs (every status mapped,
//! awaiting approval), one paged call with `include`, 404/401 wording, 429,
//! and every action through the resolver and the executor, with the
//! server's state after.

mod support_terraform;

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
        waiting.raw_status.as_deref(),
        Some("awaiting approval (planned: +1 ~2 -0)")
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

/// The resolver's answer to `kind` on `target`, on this source's read.
fn resolve(
    source: &TerraformCloudSource,
    snapshot: &Snapshot,
    kind: ActionKind,
    target: Target,
    production: bool,
) -> Result<Resolved, String> {
    let mut state = SourceState::of(source, production);
    state.snapshot = snapshot.clone();
    resolver::resolve(
        &Request {
            kind,
            target,
            to: None,
        },
        &[state],
        Context {
            read_only: false,
            now: chrono::Utc::now(),
        },
    )
}

fn action(resolved: Result<Resolved, String>) -> Action {
    match resolved {
        Ok(Resolved::Action(a)) => a,
        other => panic!("not an action: {other:?}"),
    }
}

fn ws(name: &str) -> Target {
    Target::new(NAME, TargetKind::App, name)
}

fn run_target(id: &str) -> Target {
    Target::new(NAME, TargetKind::Run, id)
}

#[tokio::test]
async fn each_key_becomes_its_terraform_action_and_the_server_moves() {
    let f = Fixture::new().await;
    f.estate();
    let source = f.source();
    let executor = f.executor(source.clone());
    let snapshot = source.fetch().await.expect("read");

    // r on a workspace: a refresh-only run that never applies by itself.
    let check = action(resolve(
        &source,
        &snapshot,
        ActionKind::Refresh,
        ws("network"),
        false,
    ));
    assert_eq!(check.kind, ActionKind::CheckDrift);
    assert!(
        check
            .effect
            .contains("refresh-only run of workspace infra/network"),
        "{}",
        check.effect
    );
    let outcome = executor.execute(1, &check).await;
    assert!(
        matches!(&outcome, Outcome::Done(m) if m.contains("queued on network")),
        "{outcome:?}"
    );
    let sent = f.server.seen().pop().expect("sent");
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/api/v2/runs")
    );
    assert_eq!(
        sent.content_type.as_deref(),
        Some("application/vnd.api+json")
    );
    let body = sent.body.expect("a body");
    assert_eq!(body["data"]["attributes"]["refresh-only"], true);
    assert_eq!(body["data"]["attributes"]["auto-apply"], false);
    assert_eq!(
        body["data"]["relationships"]["workspace"]["data"]["id"],
        "ws-network"
    );
    assert!(
        f.server
            .runs_of("ws-network")
            .iter()
            .any(|r| r.refresh_only && r.status == "planned")
    );

    // n on a workspace: a plan, with the message from the form.
    let form = source.dispatch_form("network").await.expect("form");
    assert_eq!(form.inputs[0].name, "message");
    let planned = match resolve(
        &source,
        &snapshot,
        ActionKind::Dispatch,
        ws("network"),
        false,
    ) {
        Ok(Resolved::NewRun { pipeline, .. }) => {
            let mut state = SourceState::of(source.as_ref(), false);
            state.snapshot = snapshot.clone();
            resolver::new_run(
                &[state],
                &pipeline,
                None,
                vec![("message".into(), "bump the instance size".into())],
                Context {
                    read_only: false,
                    now: chrono::Utc::now(),
                },
            )
            .expect("planned")
        }
        other => panic!("{other:?}"),
    };
    let outcome = executor.execute(2, &planned).await;
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    let body = f.server.seen().pop().and_then(|s| s.body).expect("a body");
    assert_eq!(
        body["data"]["attributes"]["message"],
        "bump the instance size"
    );
    assert_eq!(body["data"]["attributes"]["refresh-only"], false);

    // s on the workspace applies its run waiting for confirmation.
    let apply = action(resolve(
        &source,
        &snapshot,
        ActionKind::Sync,
        ws("app"),
        false,
    ));
    assert_eq!(apply.kind, ActionKind::Apply);
    assert_eq!(apply.target, run_target("run-bbb2"));
    assert!(
        apply
            .effect
            .starts_with("apply run run-bbb2 (planned: +1 ~2 -0) to workspace app"),
        "{}",
        apply.effect
    );
    assert!(executor.execute(3, &apply).await.is_done());
    let sent = f.server.seen().pop().expect("sent");
    assert_eq!(sent.path, "/api/v2/runs/run-bbb2/actions/apply");
    assert_eq!(
        f.server.run("run-bbb2").map(|r| r.status).as_deref(),
        Some("applied")
    );

    // Production: the confirmation asks for the name to be typed.
    let production = action(resolve(
        &source,
        &snapshot,
        ActionKind::Sync,
        ws("app"),
        true,
    ));
    assert!(production.production);

    // x on a running run cancels it; on a planned one discards it.
    let cancel = action(resolve(
        &source,
        &snapshot,
        ActionKind::Cancel,
        run_target("run-ddd4"),
        false,
    ));
    assert_eq!(cancel.kind, ActionKind::Cancel);
    assert!(executor.execute(4, &cancel).await.is_done());
    assert_eq!(
        f.server.run("run-ddd4").map(|r| r.status).as_deref(),
        Some("canceled")
    );
    let fresh = source.fetch().await.expect("read");
    let waiting = fresh
        .pipelines
        .iter()
        .find(|r| r.pipeline == "network" && r.awaits_approval())
        .expect("the plan started above waits")
        .id
        .clone();
    let discard = action(resolve(
        &source,
        &fresh,
        ActionKind::Cancel,
        run_target(&waiting),
        false,
    ));
    assert_eq!(discard.kind, ActionKind::Discard);
    assert!(
        discard.effect.contains("of workspace network"),
        "{}",
        discard.effect
    );
    assert!(executor.execute(5, &discard).await.is_done());
    assert_eq!(
        f.server.run(&waiting).map(|r| r.status).as_deref(),
        Some("discarded")
    );

    // p / P lock and unlock.
    let lock = action(resolve(
        &source,
        &fresh,
        ActionKind::Suspend,
        ws("network"),
        false,
    ));
    assert_eq!(lock.kind, ActionKind::Lock);
    assert!(executor.execute(6, &lock).await.is_done());
    let sent = f.server.seen().pop().expect("sent");
    assert_eq!(sent.path, "/api/v2/workspaces/ws-network/actions/lock");
    assert!(
        sent.body.expect("reason")["reason"]
            .as_str()
            .unwrap_or("")
            .contains("opsdeck")
    );
    assert!(f.server.workspace("network").expect("ws").locked);
    let refused = resolve(&source, &fresh, ActionKind::Resume, ws("network"), false);
    assert!(
        matches!(&refused, Err(why) if why.contains("is not locked")),
        "{refused:?}"
    );
    let locked = source.fetch().await.expect("read");
    let unlock = action(resolve(
        &source,
        &locked,
        ActionKind::Resume,
        ws("network"),
        false,
    ));
    assert_eq!(unlock.kind, ActionKind::Unlock);
    assert!(executor.execute(7, &unlock).await.is_done());
    assert!(!f.server.workspace("network").expect("ws").locked);
}

#[tokio::test]
async fn refusals_say_why_before_and_after_sending() {
    let f = Fixture::new().await;
    f.estate();
    let source = f.source();
    let snapshot = source.fetch().await.expect("read");
    // Nothing waits on network: no apply to plan.
    let none = resolve(&source, &snapshot, ActionKind::Sync, ws("network"), false);
    assert!(
        matches!(&none, Err(why) if why.contains("no run waiting for confirmation")),
        "{none:?}"
    );
    let applied = resolve(
        &source,
        &snapshot,
        ActionKind::Sync,
        run_target("run-aaa1"),
        false,
    );
    assert!(
        matches!(&applied, Err(why) if why.contains("not waiting for confirmation")),
        "{applied:?}"
    );
    let lock_locked = resolve(&source, &snapshot, ActionKind::Suspend, ws("legacy"), false);
    assert!(
        matches!(&lock_locked, Err(why) if why.contains("already locked")),
        "{lock_locked:?}"
    );

    // The server says 409 when the state moved meanwhile, 404 when not allowed.
    let executor = f.executor(source.clone());
    let stale = Action {
        kind: ActionKind::Apply,
        target: run_target("run-aaa1"),
        to: None,
        effect: "apply".into(),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    };
    let outcome = executor.execute(1, &stale).await;
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("not in a state for it (409") && m.contains("not paused for confirmation")),
        "{outcome:?}"
    );
    let mut config = f.config();
    config.token = Some(Secret::File(f.dir.path().join("stranger")));
    let stranger = f.source_with(config);
    let outcome = f
        .executor(stranger)
        .execute(
            2,
            &Action {
                target: run_target("run-bbb2"),
                ..stale
            },
        )
        .await;
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("not found or not allowed")),
        "{outcome:?}"
    );
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

trait Done {
    fn is_done(&self) -> bool;
}

impl Done for Outcome {
    fn is_done(&self) -> bool {
        matches!(self, Outcome::Done(_))
    }
}
