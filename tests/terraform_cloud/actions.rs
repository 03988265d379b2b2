//! Every action key on a workspace or a run, through the resolver and the
//! executor, with the server's state after; and the refusals, before and
//! after sending.

use super::*;

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

trait Done {
    fn is_done(&self) -> bool;
}

impl Done for Outcome {
    fn is_done(&self) -> bool {
        matches!(self, Outcome::Done(_))
    }
}
