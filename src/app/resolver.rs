//! The action resolver: what a requested action on a target becomes — the
//! concrete planned action, the step it needs first, or a refusal with its
//! reason — decided once, for the dashboard and every headless command.
//! The preconditions themselves live in `actions::plan*`, called from here.

use crate::app::actions::{self, PlanContext, Refusal};
use crate::app::state::SourceState;
use crate::model::{Action, ActionKind, Target, TargetKind, Timestamp};

/// What the resolver knows besides the sources.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// `read_only` in the config or `--read-only`.
    pub read_only: bool,
    pub now: Timestamp,
}

/// One requested action: its kind as asked (a key, a command), the target
/// as selected or named, and where to, when the engineer said.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub kind: ActionKind,
    pub target: Target,
    /// A rollback's history entry or commit, a model's version, a new
    /// run's ref.
    pub to: Option<&'a str>,
}

/// What a request resolves to.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// The concrete action, planned. A rollback or alias move asked
    /// without `to` holds the default choice (where a picker starts).
    Action(Action),
    /// A new run of a pipeline: what its form asks for must be read first,
    /// then `new_run` plans it.
    NewRun {
        pipeline: Target,
        git_ref: Option<String>,
    },
    /// A refresh of what no controller holds (a run, a model): read the
    /// sources again, nothing to send.
    Reread,
    /// A retrain of a model: a new run of its `train` pipeline, its form
    /// pre-filled with the conf the model entry names (placeholders
    /// filled in); `retrain_run` plans it once the form is filled.
    Retrain {
        model: Target,
        pipeline: Target,
        inputs: Vec<(String, String)>,
    },
}

/// Decide what `request` becomes on these sources (their snapshots linked
/// by `links::link`).
pub fn resolve(
    request: &Request<'_>,
    sources: &[SourceState],
    ctx: Context,
) -> Result<Resolved, Refusal> {
    let target = &request.target;
    let source = source_named(sources, &target.source)?;
    if !exists(source, target) {
        return Err(format!("{target} is not in {}'s last read", target.source));
    }
    let kind = match (request.kind, target.kind) {
        (ActionKind::Refresh, TargetKind::Run | TargetKind::Model) => return Ok(Resolved::Reread),
        // A new run asked of a model is a run of the pipeline that retrains it.
        (ActionKind::Dispatch | ActionKind::Retrain, TargetKind::Model) => {
            return super::retrain::resolve_retrain(sources, source, target, ctx);
        }
        (ActionKind::Promote, TargetKind::Model) => {
            return super::retrain::resolve_promote(source, target, request.to, ctx)
                .map(Resolved::Action);
        }
        (kind @ (ActionKind::Retrain | ActionKind::Promote), other) => {
            return Err(actions::wrong_target(kind, other));
        }
        // A model's rollback moves its serving alias back.
        (ActionKind::Rollback, TargetKind::Model) => ActionKind::SetModelAlias,
        (kind, _) => actions::as_offered(kind, Some(&source.actions)),
    };
    // A Terraform plan's approval is committed by the repository holding
    // its manifest (or, asked for by name, patched live).
    if matches!(kind, ActionKind::Approve | ActionKind::ApproveLive) {
        let ctx = plan_context(source, ctx);
        return crate::app::approve::plan(kind, sources, source, target, ctx).map(Resolved::Action);
    }
    let (target, git_ref) = match kind {
        ActionKind::Rollback => (rollback_target(source, target)?, None),
        ActionKind::Dispatch => pipeline_of(source, target, request.to)?,
        // A run's pipeline is what pauses (an Airflow DAG).
        ActionKind::Suspend | ActionKind::Resume if target.kind == TargetKind::Run => {
            (pipeline_of(source, target, None)?.0, None)
        }
        ActionKind::Apply | ActionKind::Discard => (waiting_run(source, target)?, None),
        _ => (target.clone(), None),
    };
    // A cancel of a run that waits for confirmation is its discard, where
    // the source has one (Terraform cannot cancel a run that is not busy).
    let kind = match kind {
        ActionKind::Cancel if source.actions.contains(&ActionKind::Discard) => {
            let waiting = source
                .snapshot
                .pipelines
                .iter()
                .any(|r| r.id == target.id && r.awaits_approval());
            if waiting { ActionKind::Discard } else { kind }
        }
        k => k,
    };
    let source = source_named(sources, &target.source)?;
    actions::check_allowed(kind, &target, ctx.read_only)?;
    if !source.actions.contains(&kind) {
        return Err(format!(
            "{} sources cannot {} {target}",
            source.kind,
            kind.verb()
        ));
    }
    if kind == ActionKind::Dispatch {
        return Ok(Resolved::NewRun {
            pipeline: target,
            git_ref,
        });
    }
    if pauses_pipeline(kind, &target) {
        return actions::plan_pipeline(kind, &source.snapshot, &target, plan_context(source, ctx))
            .map(Resolved::Action);
    }
    if kind.target_kind() != target.kind {
        return Err(actions::wrong_target(kind, target.kind));
    }
    actions::plan(
        kind,
        &source.snapshot,
        &target,
        request.to,
        plan_context(source, ctx),
    )
    .map(Resolved::Action)
}

/// Plan the new run `Resolved::NewRun` asked for, once its form is filled.
pub fn new_run(
    sources: &[SourceState],
    pipeline: &Target,
    git_ref: Option<&str>,
    inputs: Vec<(String, String)>,
    ctx: Context,
) -> Result<Action, Refusal> {
    let source = source_named(sources, &pipeline.source)?;
    actions::plan_dispatch(
        ActionKind::Dispatch,
        &source.snapshot,
        pipeline,
        git_ref,
        inputs,
        plan_context(source, ctx),
    )
}

/// What `SOURCE/NAME` names, for an action of `kind`: an item of the kind
/// the action applies to, else an app, model or run by that name (the
/// resolver then says what applies), else what the action applies to.
pub fn locate(sources: &[SourceState], source: &str, id: &str, kind: ActionKind) -> Target {
    let wanted = kind.target_kind();
    let Some(state) = sources.iter().find(|s| s.name == source) else {
        return Target::new(source, wanted, id);
    };
    if wanted == TargetKind::Pipeline {
        return Target::new(source, wanted, id);
    }
    let found = [wanted, TargetKind::App, TargetKind::Model, TargetKind::Run]
        .into_iter()
        .map(|k| Target::new(source, k, id))
        .find(|t| exists(state, t));
    // A pipeline to pause (an Airflow DAG, with or without runs yet) on
    // a source that has pipelines and no apps.
    let pipeline = || {
        let pipeline = Target::new(source, TargetKind::Pipeline, id);
        let pipelines_only = state.provides.pipelines && !state.provides.gitops;
        (pipelines_only && pauses_pipeline(kind, &pipeline)).then_some(pipeline)
    };
    found
        .or_else(pipeline)
        .unwrap_or_else(|| Target::new(source, wanted, id))
}

/// Suspend and resume of a pipeline (an Airflow DAG) rather than an app.
fn pauses_pipeline(kind: ActionKind, target: &Target) -> bool {
    matches!(kind, ActionKind::Suspend | ActionKind::Resume) && target.kind == TargetKind::Pipeline
}

/// A sync or history rollback on a source that honours prune and dry run.
pub fn takes_sync_options(sources: &[SourceState], action: &Action) -> bool {
    matches!(action.kind, ActionKind::Sync | ActionKind::Rollback)
        && sources
            .iter()
            .any(|s| s.name == action.target.source && s.capabilities.sync_options)
}

/// The target is in its source's last read.
pub fn is_known(sources: &[SourceState], target: &Target) -> bool {
    sources
        .iter()
        .any(|s| s.name == target.source && exists(s, target))
}

pub(crate) fn source_named<'a>(
    sources: &'a [SourceState],
    name: &str,
) -> Result<&'a SourceState, Refusal> {
    sources.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        format!(
            "no source named `{name}` (configured: {})",
            names.join(", ")
        )
    })
}

/// The target is in its source's last read (a pipeline can be started
/// without ever having run).
fn exists(source: &SourceState, target: &Target) -> bool {
    let snapshot = &source.snapshot;
    match target.kind {
        TargetKind::Run => snapshot.pipelines.iter().any(|r| r.id == target.id),
        TargetKind::App => snapshot.apps.iter().any(|a| a.name == target.id),
        TargetKind::Model => snapshot.models.iter().any(|m| m.model == target.id),
        TargetKind::Pipeline => true,
    }
}

/// A source without a rollback of its own (Flux) rolls an app back by
/// reverting its commit in the linked repository (a `git` source): the
/// rollback goes to the repository's app. A Flux app without one is refused
/// with how to get one.
fn rollback_target(source: &SourceState, target: &Target) -> Result<Target, Refusal> {
    if source.actions.contains(&ActionKind::Rollback) {
        return Ok(target.clone());
    }
    let linked = source
        .snapshot
        .apps
        .iter()
        .find(|a| a.name == target.id && a.repo.is_none())
        .and_then(|a| a.linked.clone());
    match linked {
        Some(repository_app) => Ok(repository_app),
        None if source.kind == "flux" => {
            Err(format!("{target}: {}", crate::sources::flux::NO_ROLLBACK))
        }
        // The kind check says this source cannot roll back.
        None => Ok(target.clone()),
    }
}

/// The run an apply (or discard) asked of a workspace means: its newest
/// run waiting for confirmation. A run is itself.
fn waiting_run(source: &SourceState, target: &Target) -> Result<Target, Refusal> {
    if target.kind != TargetKind::App {
        return Ok(target.clone());
    }
    source
        .snapshot
        .pipelines
        .iter()
        .filter(|r| r.pipeline_id == target.id && r.awaits_approval())
        .max_by_key(|r| r.sort_time())
        .map(|r| Target::new(&target.source, TargetKind::Run, &r.id))
        .ok_or_else(|| format!("{target} has no run waiting for confirmation"))
}

/// The pipeline a new run is of, and its ref: a run's pipeline on the
/// run's branch unless a ref is given, or a pipeline named directly.
fn pipeline_of(
    source: &SourceState,
    target: &Target,
    git_ref: Option<&str>,
) -> Result<(Target, Option<String>), Refusal> {
    let given = git_ref.map(str::to_string);
    match target.kind {
        TargetKind::Pipeline => Ok((target.clone(), given)),
        TargetKind::Run => {
            let run = source
                .snapshot
                .pipelines
                .iter()
                .find(|r| r.id == target.id)
                .ok_or_else(|| format!("{target} is not in {}'s last read", target.source))?;
            if run.pipeline_id.is_empty() {
                return Err(format!(
                    "{target}: this run names no pipeline to start again"
                ));
            }
            let branch = (!run.branch.is_empty()).then(|| run.branch.clone());
            Ok((
                Target::new(&target.source, TargetKind::Pipeline, &run.pipeline_id),
                given.or(branch),
            ))
        }
        // A workspace that is also a pipeline (Terraform): plans start from it.
        TargetKind::App if source.actions.contains(&ActionKind::Dispatch) => Ok((
            Target::new(&target.source, TargetKind::Pipeline, &target.id),
            given,
        )),
        _ => Err("select a pipeline run (tab 2) to start a new run of its pipeline".to_string()),
    }
}

pub(crate) fn plan_context(source: &SourceState, ctx: Context) -> PlanContext {
    PlanContext {
        read_only: ctx.read_only,
        source_production: source.production,
        now: ctx.now,
        rerun_starts_new: source.capabilities.rerun_starts_new,
        cancel_marks_failed: source.capabilities.cancel_marks_failed,
    }
}
