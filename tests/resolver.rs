//! One resolver for the dashboard and the headless commands: every action
//! kind on every target of a fleet with one source of each kind (the demo
//! fleet's runs, apps and models spread over them, each source offering the
//! actions its `supports` gives) is asked through `update` — the key, the
//! picker's default, the confirmation — and through the resolver entry the
//! action commands use (`locate` a SOURCE/NAME, then `resolve`); both must
//! come to the same action, step or refusal, read-only or not.

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::resolver::{self, Context, Request, Resolved};
use opsdeck::app::state::{Overlay, SourceState, Tab};
use opsdeck::app::{Command, Effect, Keymap, Msg, State, links, update};
use opsdeck::model::{
    Action, ActionKind, Commit, Deployment, Operation, OperationPhase, RepoInfo, Snapshot, Target,
    TargetKind, Timestamp,
};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;

/// One source of each kind; none is reached (nothing is sent), they only
/// say what they support.
const FLEET: &str = r#"
[[source]]
name = "demo"
kind = "demo"

[[source]]
name = "gh"
kind = "github"
repo = "acme/web"

[[source]]
name = "gl"
kind = "gitlab"
project = "acme/web"

[[source]]
name = "jk"
kind = "jenkins"
url = "http://127.0.0.1:9/"
jobs = ["deploy"]

[[source]]
name = "kfp"
kind = "kubeflow"
url = "http://127.0.0.1:9/"

[[source]]
name = "argo"
kind = "argocd"
url = "http://127.0.0.1:9/"
production = true

[[source]]
name = "tfc"
kind = "terraform-cloud"
url = "http://127.0.0.1:9/"
organization = "acme"

[[source]]
name = "flux"
kind = "flux"
context = "nowhere"

[[source]]
name = "tofu"
kind = "tofu"
context = "nowhere"

[[source]]
name = "repo"
kind = "git"
path = "/nonexistent/deploy"
branch = "main"

[[source.app]]
name = "web"
path = "apps/web"
link = "flux/LINKED"

[[source]]
name = "ml"
kind = "mlflow"
url = "http://127.0.0.1:9/"

[[source.model]]
name = "churn"
experiment = "churn"
metrics = ["psi"]
warn = 0.1
critical = 0.2
train = { pipeline = "af/retrain_churn", conf = { model = "{model}", from = "{version}", reason = "{reason}" } }

[[source]]
name = "prom"
kind = "prometheus"
url = "http://127.0.0.1:9/"

[[source.model]]
name = "churn"
query = "psi"
warn = 0.1
critical = 0.2
train = { pipeline = "gh/retrain.yml", conf = { why = "{reason}" } }

[[source]]
name = "ev"
kind = "evidently"
url = "http://127.0.0.1:9/"
project = "churn"

[[source]]
name = "af"
kind = "airflow"
url = "http://127.0.0.1:9/"
token = { env = "AIRFLOW_JWT" }
"#;

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// What a request came to, in terms both paths share.
#[derive(Clone, Debug, PartialEq)]
enum Decision {
    Act {
        kind: ActionKind,
        target: Target,
        to: Option<String>,
        effect: String,
        production: bool,
    },
    NewRun {
        pipeline: Target,
        git_ref: Option<String>,
    },
    /// A new run of a model's `train` pipeline, its conf filled in.
    Retrain {
        model: Target,
        pipeline: Target,
        inputs: Vec<(String, String)>,
    },
    Reread,
    Refused(String),
}

fn acted(action: &Action) -> Decision {
    Decision::Act {
        kind: action.kind,
        target: action.target.clone(),
        to: action.to.clone(),
        effect: action.effect.clone(),
        production: action.production,
    }
}

/// The sources as the dashboard and the headless commands hold them, each
/// with what it provides of the demo fleet (the git source: a repository
/// app deploying to the Flux app named `linked`).
fn fleet() -> (Vec<SourceState>, Vec<Snapshot>, String) {
    let demo = DemoFleet::new(7, start(), true);
    let flux_apps = demo.snapshot("flux").apps;
    let deployed = flux_apps
        .iter()
        .find(|a| a.revision.is_some())
        .expect("a deployed app")
        .clone();
    let config_text = FLEET.replace("flux/LINKED", &format!("flux/{}", deployed.name));
    let config = opsdeck::config::parse(&config_text, Path::new("resolver.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let built = opsdeck::sources::build_all(&config);
    let mut states = Vec::new();
    let mut snapshots = Vec::new();
    for (source, c) in built.iter().zip(&config.sources) {
        states.push(opsdeck::cli::source_state(source.as_ref(), c.production));
        let mut whole = demo.snapshot(source.name());
        // Each drift source's models are retrained by what its config names.
        if let Some(train) = c.kind.trains().first() {
            for model in &mut whole.models {
                model.train = Some(train.link());
            }
        }
        let provides = source.provides();
        let snapshot = match source.kind() {
            "demo" => whole,
            "argocd" | "flux" => {
                whole.pipelines.clear();
                whole.models.clear();
                busy_and_suspended(&mut whole.apps);
                whole
            }
            // Workspaces: one locked, one with a run awaiting approval.
            "terraform-cloud" => {
                whole.models.clear();
                whole.apps[1].suspended = true;
                let workspace = whole.apps[0].name.clone();
                let run = &mut whole.pipelines[0];
                run.status = opsdeck::model::RunStatus::Queued;
                run.raw_status = Some("planned".into());
                run.awaiting_approval = Some("planned: +1 ~0 -0".into());
                run.pipeline_id = workspace.clone();
                run.pipeline = workspace;
                whole
            }
            "git" => Snapshot {
                apps: vec![repository_app(&deployed)],
                ..Snapshot::default()
            },
            // Terraform objects: one with a plan waiting, applied by the
            // Flux app the repository deploys (its approval is a commit
            // there); one waiting without a repository; one suspended.
            "tofu" => {
                whole.pipelines.clear();
                whole.models.clear();
                let [first, second, third, ..] = &mut whole.apps[..] else {
                    panic!("three apps at least")
                };
                for (app, owner) in [
                    (&mut *first, Some(deployed.name.clone())),
                    (&mut *second, None),
                ] {
                    let (namespace, name) =
                        app.name.split_once('/').unwrap_or(("infra", &app.name));
                    app.plan = Some(opsdeck::model::PendingPlan {
                        id: "plan-main-c0ffee0000".into(),
                        namespace: namespace.into(),
                        name: name.into(),
                        owner,
                    });
                    app.cluster = deployed.cluster.clone();
                }
                third.suspended = true;
                whole
            }
            _ => {
                if !provides.pipelines {
                    whole.pipelines.clear();
                }
                if !provides.gitops {
                    whole.apps.clear();
                }
                if !provides.drift {
                    whole.models.clear();
                }
                whole
            }
        };
        snapshots.push(snapshot);
    }
    (states, snapshots, deployed.name)
}

/// One app in the middle of a sync (something to terminate) and one
/// suspended (something to resume).
fn busy_and_suspended(apps: &mut [opsdeck::model::GitOpsApp]) {
    let [first, second, ..] = apps else {
        panic!("two apps at least")
    };
    first.last_operation = Some(Operation {
        kind: "sync".into(),
        phase: OperationPhase::Running,
        message: "waiting for healthy state".into(),
        revision: first.target_revision.clone(),
        started_at: Some(start()),
        finished_at: None,
    });
    second.suspended = true;
}

/// The `repo/web` app: two commits touching its folder, the older one what
/// the Flux app runs.
fn repository_app(deployed: &opsdeck::model::GitOpsApp) -> opsdeck::model::GitOpsApp {
    let live = deployed.revision.clone().expect("a revision");
    let newer = "c0ffee0000000000000000000000000000000001".to_string();
    let commits = [(newer, "web: 3 replicas"), (live, "web: first version")];
    let mut app = deployed.clone();
    app.source = "repo".into();
    app.name = "web".into();
    app.history = commits
        .iter()
        .map(|(sha, subject)| Deployment {
            id: sha.clone(),
            revision: sha.clone(),
            deployed_at: None,
            started_at: None,
            failed: false,
            author: Some("Ada".into()),
            message: Some(subject.to_string()),
        })
        .collect();
    app.repo = Some(RepoInfo {
        branch: "main".into(),
        head: commits[0].0.clone(),
        commits: commits
            .iter()
            .map(|(sha, subject)| Commit {
                sha: sha.clone(),
                author: "Ada".into(),
                time: None,
                subject: subject.to_string(),
                touches_app: true,
            })
            .collect(),
        push: "direct".into(),
        link: Some(format!("flux/{}", deployed.name)),
        diffs: Vec::new(),
        follow: Duration::from_secs(60),
    });
    app
}

fn dashboard_state(states: &[SourceState], snapshots: &[Snapshot], read_only: bool) -> State {
    let now = DemoFleet::new(7, start(), true).now();
    let mut state = State::new(states.to_vec(), Keymap::default(), read_only, now);
    for (source, snapshot) in snapshots.iter().enumerate() {
        update(
            &mut state,
            Msg::Source(SourceEvent {
                source,
                at: now,
                result: Ok(snapshot.clone().into()),
            }),
        );
    }
    state
}

/// The headless path: the sources linked as `cli::read_all` links them,
/// the target located by its SOURCE/NAME, resolved.
fn headless(
    sources: &[SourceState],
    name: (&str, &str),
    kind: ActionKind,
    to: Option<&str>,
    ctx: Context,
) -> Decision {
    let target = resolver::locate(sources, name.0, name.1, kind);
    match resolver::resolve(&Request { kind, target, to }, sources, ctx) {
        Ok(Resolved::Action(action)) => acted(&action),
        Ok(Resolved::NewRun { pipeline, git_ref }) => Decision::NewRun { pipeline, git_ref },
        Ok(Resolved::Retrain {
            model,
            pipeline,
            inputs,
        }) => Decision::Retrain {
            model,
            pipeline,
            inputs,
        },
        Ok(Resolved::Reread) => Decision::Reread,
        Err(why) => Decision::Refused(why),
    }
}

/// The key a dashboard user presses for `kind` (kinds without a key of
/// their own are reached through another: see `route`).
fn command_for(kind: ActionKind) -> Option<Command> {
    <Command as strum::IntoEnumIterator>::iter().find(|c| c.action_kind() == Some(kind))
}

/// The dashboard path: select the row, press the key, take the picker's
/// default, read what it came to.
fn dashboard(state: &mut State, tab: Tab, index: usize, command: Command) -> Decision {
    state.overlay = None;
    state.status = None;
    state.in_flight.clear();
    let tab_command = match tab {
        Tab::Pipelines => Command::TabPipelines,
        Tab::GitOps => Command::TabGitops,
        _ => Command::TabDrift,
    };
    update(state, Msg::Command(tab_command));
    state.pane_mut(tab).selected = index;
    let mut effects = update(state, Msg::Command(command));
    if let Some(Overlay::Picker(_)) = &state.overlay {
        assert!(effects.is_empty(), "nothing runs before a choice");
        effects = update(
            state,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
    }
    for effect in &effects {
        match effect {
            Effect::Run { action, .. } => return acted(action),
            // A retrain's form: what it pre-fills is kept for when it comes.
            Effect::LoadDispatchForm { .. } if state.retrain_ask.is_some() => {
                let ask = state.retrain_ask.clone().expect("asked");
                return Decision::Retrain {
                    model: ask.model,
                    pipeline: ask.pipeline,
                    inputs: ask.inputs,
                };
            }
            Effect::LoadDispatchForm {
                source,
                pipeline,
                git_ref,
            } => {
                return Decision::NewRun {
                    pipeline: Target::new(
                        &state.sources[*source].name,
                        TargetKind::Pipeline,
                        pipeline,
                    ),
                    git_ref: git_ref.clone(),
                };
            }
            _ => {}
        }
    }
    if let Some(Overlay::Confirm(confirm)) = &state.overlay {
        return acted(&confirm.action);
    }
    if !effects.is_empty() && effects.iter().all(|e| matches!(e, Effect::Refetch(_))) {
        return Decision::Reread;
    }
    let text = state
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    // The dashboard leads a key's refusal with the key pressed ("s: …").
    let key = state
        .keymap
        .keys_for(command)
        .first()
        .map(|k| format!("{k}: "))
        .unwrap_or_default();
    let text = text.strip_prefix(&key).map_or(text.clone(), str::to_string);
    // And a tofu approval refused for want of a repository names the key
    // of the live patch (tests/tofu_approve.rs).
    let live = state
        .keymap
        .keys_for(Command::ApproveLive)
        .first()
        .map(|k| format!("; in the dashboard, key {k}"))
        .unwrap_or_default();
    Decision::Refused(
        text.strip_suffix(&live)
            .map_or(text.clone(), str::to_string),
    )
}

#[test]
fn every_action_kind_on_every_source_kind_resolves_alike_in_the_dashboard_and_headless() {
    let (states, snapshots, linked) = fleet();
    let mut headless_sources = states.clone();
    for (state, snapshot) in headless_sources.iter_mut().zip(&snapshots) {
        state.snapshot = snapshot.clone();
    }
    links::link(&mut headless_sources);
    let mut cases = 0;
    // What each kind came to somewhere, to show the table reaches it.
    let mut planned = std::collections::BTreeSet::new();
    for read_only in [false, true] {
        let mut state = dashboard_state(&states, &snapshots, read_only);
        let ctx = Context {
            read_only,
            now: state.now,
        };
        for tab in [Tab::Pipelines, Tab::GitOps, Tab::Drift] {
            let rows = state.pane(tab).rows.clone();
            assert!(!rows.is_empty(), "{tab:?} has rows");
            for (index, row) in rows.iter().enumerate() {
                let target = state.target_of(*row).expect("a target");
                for kind in <ActionKind as strum::IntoEnumIterator>::iter() {
                    let Some((command, name, to)) = route(&mut state, &target, kind) else {
                        // No key leads there from this row: headless alone,
                        // and it does what was asked or says why not.
                        let alone = headless(
                            &headless_sources,
                            (&target.source, &target.id),
                            kind,
                            None,
                            ctx,
                        );
                        assert!(
                            match &alone {
                                Decision::Refused(_) | Decision::Reread => true,
                                Decision::NewRun { .. } => kind == ActionKind::Dispatch,
                                Decision::Retrain { .. } => kind == ActionKind::Retrain,
                                // A promote is the alias move a rollback uses.
                                Decision::Act {
                                    kind: ActionKind::SetModelAlias,
                                    ..
                                } if kind == ActionKind::Promote => true,
                                Decision::Act { kind: k, .. } => *k == kind,
                            },
                            "{kind} {target}: {alone:?}"
                        );
                        continue;
                    };
                    let on_screen = dashboard(&mut state, tab, index, command);
                    let named = headless(
                        &headless_sources,
                        (&target.source, &name),
                        kind,
                        to.as_deref(),
                        ctx,
                    );
                    assert_eq!(
                        on_screen, named,
                        "{kind} on {target} (read-only: {read_only}): the dashboard and headless disagree"
                    );
                    match on_screen {
                        Decision::Act { kind, .. } => {
                            planned.insert(kind.to_string());
                        }
                        Decision::Retrain { .. } => {
                            planned.insert(ActionKind::Retrain.to_string());
                        }
                        _ => {}
                    }
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 500, "{cases} cases");
    // A new run is planned once its form is filled, and a promote is
    // planned as an alias move (with a retrain run to promote from: see
    // `a_retrained_version_is_promoted_alike_from_the_dashboard_and_headless`).
    // A reconcile with its source has no key of its own (a Flux `s` does
    // it as a sync): it is `reconcile --with-source`, and what a follow
    // sends after a push (`app::actions::after_push`).
    let all: std::collections::BTreeSet<String> = <ActionKind as strum::IntoEnumIterator>::iter()
        .filter(|k| {
            !matches!(
                k,
                ActionKind::Dispatch | ActionKind::Promote | ActionKind::ReconcileWithSource
            )
        })
        .map(|k| k.to_string())
        .collect();
    assert_eq!(planned, all, "every kind is planned somewhere");

    // The Flux app with a repository: its rollback is the revert there.
    let mut state = dashboard_state(&states, &snapshots, false);
    let flux_web = Target::new("flux", TargetKind::App, &linked);
    let revert = headless(
        &headless_sources,
        ("flux", &linked),
        ActionKind::Rollback,
        None,
        Context {
            read_only: false,
            now: state.now,
        },
    );
    assert!(
        matches!(&revert, Decision::Act { kind: ActionKind::Rollback, target, effect, .. }
            if *target == Target::new("repo", TargetKind::App, "web")
                && effect.contains(&format!("then refresh {flux_web} and follow it"))),
        "{revert:?}"
    );
    let index = gitops_row(&state, &flux_web);
    assert_eq!(
        dashboard(&mut state, Tab::GitOps, index, Command::Rollback),
        revert
    );

    // Without one, both refuse, saying how to get one.
    let flux = states.iter().position(|s| s.name == "flux").expect("flux");
    let unlinked = snapshots[flux]
        .apps
        .iter()
        .find(|a| a.name != linked)
        .expect("another Flux app");
    let refused = headless(
        &headless_sources,
        ("flux", &unlinked.name),
        ActionKind::Rollback,
        None,
        Context {
            read_only: false,
            now: state.now,
        },
    );
    assert_eq!(
        refused,
        Decision::Refused(format!(
            "flux/{}: {}",
            unlinked.name,
            opsdeck::sources::flux::NO_ROLLBACK
        ))
    );
    let index = gitops_row(
        &state,
        &Target::new("flux", TargetKind::App, &unlinked.name),
    );
    assert_eq!(
        dashboard(&mut state, Tab::GitOps, index, Command::Rollback),
        refused
    );
}

#[test]
fn an_airflow_run_pauses_its_dag_from_the_dashboard_and_headless() {
    let (states, snapshots, _) = fleet();
    let mut sources = states.clone();
    for (state, snapshot) in sources.iter_mut().zip(&snapshots) {
        state.snapshot = snapshot.clone();
    }
    let mut state = dashboard_state(&states, &snapshots, false);
    let ctx = Context {
        read_only: false,
        now: state.now,
    };
    let af = states.iter().position(|s| s.name == "af").expect("af");
    let run = snapshots[af].pipelines.first().expect("an airflow run");
    let dag = run.pipeline_id.clone();
    let row = state
        .find(&Target::new("af", TargetKind::Run, &run.id))
        .expect("its row");
    update(&mut state, Msg::Command(Command::TabPipelines));
    let index = state
        .pane(Tab::Pipelines)
        .rows
        .iter()
        .position(|r| *r == row)
        .expect("shown");
    let on_screen = dashboard(&mut state, Tab::Pipelines, index, Command::Suspend);
    let named = headless(&sources, ("af", &dag), ActionKind::Suspend, None, ctx);
    assert_eq!(on_screen, named);
    assert!(
        matches!(&named, Decision::Act { kind: ActionKind::Suspend, target, effect, .. }
            if *target == Target::new("af", TargetKind::Pipeline, &dag)
                && effect.starts_with(&format!("pause af/{dag}: the scheduler starts no new runs"))),
        "{named:?}"
    );
    // Not paused: nothing to resume, said before anything is sent.
    assert_eq!(
        headless(&sources, ("af", &dag), ActionKind::Resume, None, ctx),
        Decision::Refused(format!("af/{dag} is not paused"))
    );
    // A source without pauses says so.
    let refused = headless(&sources, ("gh", &dag), ActionKind::Suspend, None, ctx);
    assert!(matches!(refused, Decision::Refused(_)), "{refused:?}");
}

/// Where an app is in the GitOps tab.
fn gitops_row(state: &State, app: &Target) -> usize {
    let row = state.find(app).expect("its row");
    state
        .pane(Tab::GitOps)
        .rows
        .iter()
        .position(|r| *r == row)
        .expect("shown")
}

/// How the dashboard asks for `kind` on `target`, and what the headless
/// command names for it (SOURCE/NAME's name and `--to`/`--ref`); `None`
/// when no key leads there from this row.
fn route(
    state: &mut State,
    target: &Target,
    kind: ActionKind,
) -> Option<(Command, String, Option<String>)> {
    let source = state.sources.iter().find(|s| s.name == target.source)?;
    let same = |command| Some((command, target.id.clone(), None));
    match kind {
        // A refresh where the source only reconciles.
        ActionKind::Reconcile => (target.kind == TargetKind::App
            && !source.actions.contains(&ActionKind::Refresh)
            && source.actions.contains(&ActionKind::Reconcile))
        .then(|| (Command::Refresh, target.id.clone(), None)),
        // A sync where the source approves plans instead (tofu; git too,
        // where it is refused).
        ActionKind::Approve => (target.kind == TargetKind::App
            && !source.actions.contains(&ActionKind::Sync)
            && source.actions.contains(&ActionKind::Approve))
        .then(|| (Command::Sync, target.id.clone(), None)),
        // A model's retrain is the new-run key on its row.
        ActionKind::Retrain => {
            (target.kind == TargetKind::Model).then(|| (Command::NewRun, target.id.clone(), None))
        }
        // The dashboard promotes what a retrain started there registered;
        // without one it says so, and headless asks for `--to`.
        ActionKind::Promote => None,
        // A model's rollback.
        ActionKind::SetModelAlias => {
            (target.kind == TargetKind::Model).then(|| (Command::Rollback, target.id.clone(), None))
        }
        // A second cancel of a run still going, a while after the first.
        ActionKind::ForceCancel => {
            let active = source
                .snapshot
                .pipelines
                .iter()
                .any(|r| r.id == target.id && r.status.is_active());
            if target.kind != TargetKind::Run
                || !active
                || !source.actions.contains(&ActionKind::ForceCancel)
            {
                return None;
            }
            let long_ago = state.now - chrono::TimeDelta::minutes(1);
            state.cancel_sent.insert(target.clone(), long_ago);
            same(Command::Cancel)
        }
        // A new run of a run's pipeline, on its branch: headless names the
        // pipeline and the ref.
        ActionKind::Dispatch => {
            let run = source
                .snapshot
                .pipelines
                .iter()
                .find(|r| r.id == target.id && !r.pipeline_id.is_empty())?;
            let git_ref = (!run.branch.is_empty()).then(|| run.branch.clone());
            Some((Command::NewRun, run.pipeline_id.clone(), git_ref))
        }
        // The cancel key force-cancels a run it was pressed on before.
        ActionKind::Cancel => {
            state.cancel_sent.remove(target);
            same(Command::Cancel)
        }
        kind => same(command_for(kind)?),
    }
}
