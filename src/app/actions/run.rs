//! Plans on pipeline runs and pipelines: re-run, cancel, a new run, pause
//! and resume, and the apply or discard of a run that waits for a person.

use super::{PlanContext, Refusal, check_allowed, wrong_target};
use crate::model::{Action, ActionKind, PipelineRun, Snapshot, Target, TargetKind, short_rev};

/// Pause or unpause a pipeline that can be paused (an Airflow DAG): what
/// its runs in the last read say about it decides what is offered.
pub fn plan_pipeline(
    kind: ActionKind,
    snapshot: &Snapshot,
    target: &Target,
    ctx: PlanContext,
) -> Result<Action, Refusal> {
    check_allowed(kind, target, ctx.read_only)?;
    let paused = snapshot
        .pipelines
        .iter()
        .find(|r| r.pipeline_id == target.id)
        .map(|r| r.paused);
    let effect = match (kind, paused) {
        (ActionKind::Suspend, Some(true)) => {
            return Err(format!("{target} is already paused"));
        }
        (ActionKind::Resume, Some(false)) => return Err(format!("{target} is not paused")),
        (ActionKind::Suspend, _) => format!(
            "pause {target}: the scheduler starts no new runs of it (running tasks finish, \
             queued runs wait) until resumed"
        ),
        (ActionKind::Resume, _) => {
            format!("unpause {target}: the scheduler starts its queued and scheduled runs again")
        }
        (other, _) => return Err(wrong_target(other, TargetKind::Pipeline)),
    };
    Ok(Action {
        kind,
        target: target.clone(),
        to: None,
        effect,
        production: ctx.source_production,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    })
}

/// A new run of a pipeline (GitHub workflow, GitLab project pipeline,
/// Jenkins job) on `git_ref` with `inputs`. The pipeline need not have run
/// before: its name then is its id.
pub fn plan_dispatch(
    kind: ActionKind,
    snapshot: &Snapshot,
    target: &Target,
    git_ref: Option<&str>,
    inputs: Vec<(String, String)>,
    ctx: PlanContext,
) -> Result<Action, Refusal> {
    if kind != ActionKind::Dispatch {
        return Err(wrong_target(kind, TargetKind::Pipeline));
    }
    check_allowed(kind, target, ctx.read_only)?;
    if target.id.is_empty() {
        return Err(format!(
            "{}: this run names no pipeline to start again",
            target.source
        ));
    }
    // Its runs' name, when they agree on one (a GitLab project's pipelines
    // carry their own names: then the project it is).
    let mut names = snapshot
        .pipelines
        .iter()
        .filter(|r| r.pipeline_id == target.id)
        .map(|r| r.pipeline.as_str());
    let name = match names.next() {
        Some(first) if names.all(|n| n == first) => first,
        _ => target.id.as_str(),
    };
    let git_ref = git_ref.map(str::trim).filter(|r| !r.is_empty());
    let on = git_ref.map(|r| format!(" on {r}")).unwrap_or_default();
    let with = if inputs.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(" with {}", list.join(", "))
    };
    Ok(Action {
        kind,
        target: target.clone(),
        to: git_ref.map(str::to_string),
        effect: format!("start a new run of {name} ({target}){on}{with}"),
        production: ctx.source_production,
        follow: None,
        sync: Default::default(),
        inputs,
    })
}

/// "build on main @ abc1234" — without the parts a run has none of (an
/// Airflow run has neither branch nor commit).
fn describe_run(run: &PipelineRun) -> String {
    run.described()
}

pub fn plan_run(kind: ActionKind, run: &PipelineRun, ctx: PlanContext) -> Result<Action, Refusal> {
    let target = Target::new(&run.source, TargetKind::Run, &run.id);
    check_allowed(kind, &target, ctx.read_only)?;
    let what = describe_run(run);
    let effect = match kind {
        ActionKind::Rerun => {
            if run.status.is_active() {
                return Err(format!(
                    "{target} is still {}: cancel it or wait before re-running",
                    run.status
                ));
            }
            if ctx.rerun_starts_new {
                format!(
                    "re-run {target} ({what}) as a new run with the same ref and parameters: \
                     it builds what {} points to now",
                    if run.branch.is_empty() {
                        "the job's configuration"
                    } else {
                        run.branch.as_str()
                    }
                )
            } else {
                format!(
                    "re-run every job of {target} ({what}) as attempt {}",
                    run.attempt + 1
                )
            }
        }
        ActionKind::RerunFailed => {
            if !matches!(
                run.status,
                crate::model::RunStatus::Failure | crate::model::RunStatus::Cancelled
            ) {
                return Err(format!(
                    "{target} did not fail and was not cancelled (it is {}): nothing to re-run",
                    run.status
                ));
            }
            let failed = run.failed_jobs();
            let jobs = if failed.is_empty() {
                "failed jobs".to_string()
            } else {
                failed.join(", ")
            };
            format!(
                "re-run the failed jobs ({jobs}) of {target} ({what}) as attempt {}",
                run.attempt + 1
            )
        }
        ActionKind::Cancel => {
            if !run.status.is_active() {
                return Err(format!(
                    "{target} is not queued or running (it is {})",
                    run.status
                ));
            }
            let elapsed = run
                .elapsed(ctx.now)
                .map(|d| format!(" for {}", crate::model::duration::duration(d)))
                .unwrap_or_default();
            if ctx.cancel_marks_failed {
                format!(
                    "mark {target} ({what}) failed, {}{elapsed}: there is no cancel — its \
                     running tasks are failed and killed, tasks not started are skipped",
                    run.status
                )
            } else {
                format!("cancel {target} ({what}), {}{elapsed}", run.status)
            }
        }
        ActionKind::ForceCancel => {
            if !run.status.is_active() {
                return Err(format!(
                    "{target} is not queued or running (it is {})",
                    run.status
                ));
            }
            format!(
                "force-cancel {target} ({what}), still {} after a cancel: stop it now, \
                 skipping always() steps and post-job cleanup",
                run.status
            )
        }
        ActionKind::Apply | ActionKind::Discard => plan_confirmation(kind, run, &target)?,
        other => return Err(wrong_target(other, TargetKind::Run)),
    };
    Ok(Action {
        kind,
        target,
        to: None,
        effect,
        production: ctx.source_production,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    })
}

/// Apply or discard a run that waits for a person: the effect names the
/// run, its plan summary (what `awaiting_approval` says) and
/// its workspace.
fn plan_confirmation(
    kind: ActionKind,
    run: &PipelineRun,
    target: &Target,
) -> Result<String, Refusal> {
    let Some(plan) = run.awaiting_approval.as_deref() else {
        return Err(format!(
            "{target} is not waiting for confirmation (it is {}): nothing to {}",
            run.state_words(),
            kind.verb()
        ));
    };
    let at = if run.commit.is_empty() {
        String::new()
    } else {
        format!(" @ {}", short_rev(&run.commit))
    };
    Ok(match kind {
        ActionKind::Apply => format!(
            "apply run {} ({plan}) to workspace {}{at}: this changes the real infrastructure",
            run.id, run.pipeline
        ),
        _ => format!(
            "discard run {} ({plan}) of workspace {}{at}: its plan is dropped, nothing is applied",
            run.id, run.pipeline
        ),
    })
}
