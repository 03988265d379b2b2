//! The action commands (`sync`, `rollback`, `cancel`, …): the target named
//! on the command line is resolved exactly as the dashboard resolves a key,
//! then stated, confirmed, sent through the executor and audited.

use crate::app::audit::AuditLog;
use crate::app::executor::Executor;
use crate::app::resolver::{self, Context, Request, Resolved};
use crate::app::state::SourceState;
use crate::config::{SourceConfig, SourceKind};
use crate::model::{Action, ActionKind, Outcome, SyncOptions};
use crate::sources;

use super::{EXIT_ATTENTION, EXIT_ERROR, EXIT_OK, Globals, fail, named_source};

/// One action from the command line.
#[derive(Clone, Debug)]
pub struct ActionRequest {
    pub kind: ActionKind,
    /// SOURCE/NAME
    pub target: String,
    /// `--to` (a history entry, a commit, a model version) or `--ref`.
    pub to: Option<String>,
    /// Prune and server-side dry run, for sources that take them.
    pub sync: SyncOptions,
    /// A new run's inputs (`--input NAME=VALUE`), in the order given.
    pub inputs: Vec<(String, String)>,
    pub yes: bool,
    pub dry_run: bool,
}

/// `opsdeck sync|refresh|rollback|suspend|resume|rerun|rerun-failed|cancel SOURCE/NAME`.
pub async fn act(globals: Globals, request: ActionRequest) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let (source_config, id) = match named_source(
        &config,
        &request.target,
        "SOURCE/NAME (for example demo/payments)",
    ) {
        Ok(found) => found,
        Err(e) => return fail(e),
    };
    let read_only = globals.read_only || config.read_only;
    let configs = sources_to_read(&config.sources, source_config, request.kind);
    let all: Vec<_> = configs
        .iter()
        .map(|c| sources::build(c, config.refresh))
        .collect();
    let mut states = Vec::new();
    for read in super::read_all(&all, configs).await {
        if let (true, Some(e)) = (read.state.name == source_config.name, &read.error) {
            return fail(format!("cannot read {}: {e}", source_config.name));
        }
        states.push(read.state);
    }
    let ctx = Context {
        read_only,
        now: chrono::Utc::now(),
    };
    let mut action = match resolve(&all, &states, &request, &source_config.name, id, ctx).await {
        Ok(Some(action)) => action,
        Ok(None) => return EXIT_OK,
        Err((why, code)) => {
            eprintln!("opsdeck: {why}");
            return code;
        }
    };
    if request.sync != SyncOptions::default() {
        if !resolver::takes_sync_options(&states, &action) {
            eprintln!(
                "opsdeck: --prune and --server-dry-run apply to an Argo CD sync or rollback, not to {} {}",
                action.kind.verb(),
                action.target
            );
            return EXIT_ERROR;
        }
        action.set_sync_options(request.sync);
    }
    let production = if action.production {
        " [PRODUCTION]"
    } else {
        ""
    };
    println!("will {}{production}", action.effect);
    if request.dry_run {
        println!("dry run: nothing sent");
        return EXIT_OK;
    }
    if action.kind.is_mutating() && !request.yes {
        match super::confirm::confirm(&action) {
            Ok(true) => {}
            Ok(false) => {
                println!("cancelled: nothing sent");
                return EXIT_ATTENTION;
            }
            Err(why) => {
                eprintln!("opsdeck: {why}");
                return EXIT_ATTENTION;
            }
        }
    }
    let all_sources = all.clone();
    let executor = Executor::new(
        all,
        AuditLog::new(globals.audit_path(&config), "cli"),
        read_only,
    );
    let asked_at = chrono::Utc::now();
    let (outcome, run) = executor.execute_started(1, &action).await;
    match outcome {
        Outcome::Done(m) => {
            println!("done: {m}");
            if request.kind == ActionKind::Retrain {
                super::retrain::print_run(&all_sources, &action, run, asked_at).await;
            }
            EXIT_OK
        }
        Outcome::Failed(m) => {
            eprintln!("failed: {m}");
            EXIT_ATTENTION
        }
        Outcome::Unknown(m) => {
            eprintln!("outcome unknown: {m}");
            EXIT_ATTENTION
        }
    }
}

/// The sources a command reads: every one when the action may reach
/// beyond its target's source — a rollback may be a linked repository's
/// revert (a Flux app's), a repository's revert follows the app it
/// deploys to, and a Terraform plan's approval is a commit by the
/// repository holding its manifest — else the target's alone.
fn sources_to_read<'a>(
    all: &'a [SourceConfig],
    target: &'a SourceConfig,
    kind: ActionKind,
) -> &'a [SourceConfig] {
    let approves = sources::kinds::find(target.kind.name())
        .is_some_and(|d| d.actions.contains(&ActionKind::Approve));
    // A retrain starts a run in another source (the model's `train` link).
    let elsewhere = matches!(kind, ActionKind::Rollback | ActionKind::Retrain);
    if elsewhere || matches!(target.kind, SourceKind::Git(_)) || approves {
        all
    } else {
        std::slice::from_ref(target)
    }
}

/// The request, resolved and (for a new run) its form filled: the action to
/// send, `None` when there is nothing to send, or why not with the exit
/// status (a target that is not there is an error, a refusal needs
/// attention).
async fn resolve(
    all: &[std::sync::Arc<dyn sources::Source>],
    states: &[SourceState],
    request: &ActionRequest,
    source: &str,
    id: &str,
    ctx: Context,
) -> Result<Option<Action>, (String, u8)> {
    let target = resolver::locate(states, source, id, request.kind);
    let asked = Request {
        kind: request.kind,
        target: target.clone(),
        to: request.to.as_deref(),
    };
    let refused = |why: String| {
        let code = if resolver::is_known(states, &target) {
            EXIT_ATTENTION
        } else {
            EXIT_ERROR
        };
        (why, code)
    };
    match resolver::resolve(&asked, states, ctx).map_err(refused)? {
        Resolved::Action(action) => Ok(Some(action)),
        Resolved::Reread => {
            println!(
                "{target} is a {}: refreshing it is reading it again, done just now; nothing to send",
                target.kind
            );
            Ok(None)
        }
        Resolved::Retrain {
            model,
            pipeline,
            inputs,
        } => super::retrain::plan(all, states, request, &model, &pipeline, inputs, ctx).await,
        Resolved::NewRun { pipeline, git_ref } => {
            let source = all
                .iter()
                .find(|s| s.name() == pipeline.source)
                .ok_or_else(|| (format!("no source named {}", pipeline.source), EXIT_ERROR))?;
            let (git_ref, inputs) = super::dispatch::values(
                source.as_ref(),
                &pipeline,
                git_ref.as_deref(),
                &request.inputs,
            )
            .await
            .map_err(|why| (why, EXIT_ATTENTION))?;
            resolver::new_run(states, &pipeline, git_ref.as_deref(), inputs, ctx)
                .map(Some)
                .map_err(|why| (why, EXIT_ATTENTION))
        }
    }
}
