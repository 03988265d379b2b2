//! The action registry: for each action kind, what it applies to, what must
//! hold before it is offered, and the one line stating its exact effect.
//! The resolver (`app::resolver`) decides which plan a request gets; the
//! preconditions are checked here, once.

pub use crate::app::choices::{
    default_revert, default_rollback, rollback_choices, version_choices,
};
use crate::model::{
    Action, ActionKind, Follow, GitOpsApp, ModelDrift, OperationPhase, PipelineRun, RepoInfo,
    Snapshot, Target, TargetKind, Timestamp, short_rev,
};

/// Context a plan needs beyond the target itself.
#[derive(Clone, Copy, Debug)]
pub struct PlanContext {
    pub read_only: bool,
    /// The source is marked `production = true`.
    pub source_production: bool,
    pub now: Timestamp,
    /// The source re-runs by starting a new run (`Capabilities::rerun_starts_new`).
    pub rerun_starts_new: bool,
    /// The source cancels by marking the run failed (`Capabilities::cancel_marks_failed`).
    pub cancel_marks_failed: bool,
}

/// Why an action is not offered, in words for the engineer.
pub type Refusal = String;

/// A refresh on a source that only reconciles (Flux) is a reconcile: it
/// applies changes, so it is confirmed and refused when read-only. A re-run
/// on a source that only retries failed runs (Kubeflow) is that retry. On a
/// source that runs Terraform, a refresh checks for drift (a refresh-only
/// run), a sync applies the waiting run, suspend and resume lock and
/// unlock the workspace; on a Terraform object (tofu) a sync approves its
/// pending plan.
pub fn as_offered(kind: ActionKind, offered: Option<&[ActionKind]>) -> ActionKind {
    let Some(o) = offered else {
        return kind;
    };
    let instead = |asked: ActionKind, offered_instead: ActionKind| {
        !o.contains(&asked) && o.contains(&offered_instead)
    };
    match kind {
        ActionKind::Refresh if instead(kind, ActionKind::Reconcile) => ActionKind::Reconcile,
        ActionKind::Refresh if instead(kind, ActionKind::CheckDrift) => ActionKind::CheckDrift,
        // A Kubeflow run's `:retry` re-runs what failed.
        ActionKind::Rerun if instead(kind, ActionKind::RerunFailed) => ActionKind::RerunFailed,
        ActionKind::Sync if instead(kind, ActionKind::Apply) => ActionKind::Apply,
        // A tofu object's `s` approves its pending plan (a commit in Git).
        ActionKind::Sync if instead(kind, ActionKind::Approve) => ActionKind::Approve,
        ActionKind::Suspend if instead(kind, ActionKind::Lock) => ActionKind::Lock,
        ActionKind::Resume if instead(kind, ActionKind::Unlock) => ActionKind::Unlock,
        k => k,
    }
}

/// The read-only gate, shared by the TUI, the headless commands and the executor.
pub fn check_allowed(kind: ActionKind, target: &Target, read_only: bool) -> Result<(), Refusal> {
    if read_only && kind.is_mutating() {
        return Err(format!(
            "read-only: {} {target} refused (read_only = true in the config, or --read-only)",
            kind.verb()
        ));
    }
    Ok(())
}

/// Plan an action on a target found in a source's snapshot.
pub fn plan(
    kind: ActionKind,
    snapshot: &Snapshot,
    target: &Target,
    to: Option<&str>,
    ctx: PlanContext,
) -> Result<Action, Refusal> {
    let gone = || format!("{target} is not in {}'s last read", target.source);
    match kind.target_kind() {
        TargetKind::Run => {
            let run = snapshot
                .pipelines
                .iter()
                .find(|r| r.id == target.id)
                .ok_or_else(gone)?;
            plan_run(kind, run, ctx)
        }
        TargetKind::App => {
            let app = snapshot
                .apps
                .iter()
                .find(|a| a.name == target.id)
                .ok_or_else(gone)?;
            plan_app(kind, app, to, ctx)
        }
        TargetKind::Model => {
            let model = snapshot
                .models
                .iter()
                .find(|m| m.model == target.id)
                .ok_or_else(gone)?;
            plan_model(kind, model, to, ctx)
        }
        TargetKind::Pipeline => plan_dispatch(kind, snapshot, target, to, Vec::new(), ctx),
    }
}

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

pub fn plan_app(
    kind: ActionKind,
    app: &GitOpsApp,
    to: Option<&str>,
    ctx: PlanContext,
) -> Result<Action, Refusal> {
    let target = Target::new(&app.source, TargetKind::App, &app.name);
    check_allowed(kind, &target, ctx.read_only)?;
    if let (ActionKind::Rollback, Some(repo)) = (kind, &app.repo) {
        return plan_revert(app, repo, to, ctx, target);
    }
    let live = app.revision.as_deref().map_or("unknown", short_rev);
    let wanted = app.target_revision.as_deref().map_or("unknown", short_rev);
    let place = app.place();
    let mut to_id = None;
    let effect = match kind {
        ActionKind::Sync => {
            if app.suspended {
                return Err(format!("{target} is suspended: resume it before syncing"));
            }
            let drift = match app.out_of_sync.len() {
                0 => String::new(),
                n => format!(
                    ", {n} resource{} out of sync",
                    if n == 1 { "" } else { "s" }
                ),
            };
            format!("sync {target} ({place}) to {wanted} (live {live}{drift})")
        }
        ActionKind::Reconcile => {
            if app.suspended {
                return Err(format!(
                    "{target} is suspended: resume it before reconciling"
                ));
            }
            format!("reconcile {target} ({place}): apply {wanted} to the cluster now")
        }
        ActionKind::HardRefresh => format!(
            "hard-refresh {target}: drop the cached manifests and compare the live state with {wanted} again (changes nothing)"
        ),
        ActionKind::Terminate => {
            let running = app.last_operation.as_ref().filter(|o| {
                matches!(
                    o.phase,
                    OperationPhase::Running | OperationPhase::Terminating
                )
            });
            let Some(op) = running else {
                return Err(format!("{target} has no running operation to terminate"));
            };
            format!(
                "terminate the running {} of {target}{}: resources already applied stay as they are",
                op.kind,
                op.revision
                    .as_deref()
                    .map(|r| format!(" (to {})", short_rev(r)))
                    .unwrap_or_default()
            )
        }
        ActionKind::DisableAutoSync => {
            if !app.auto_sync {
                return Err(format!("{target} already has auto-sync off"));
            }
            format!(
                "turn auto-sync off for {target} (set spec.syncPolicy.automated to null): it stops deploying new commits by itself until turned on again"
            )
        }
        ActionKind::Refresh => format!(
            "refresh {target}: compare the live state with {wanted} again (changes nothing)"
        ),
        ActionKind::Rollback => {
            if app.auto_sync {
                let git = match &app.linked {
                    Some(repo) => format!(" (rollback on {repo} reverts it and pushes)"),
                    None => String::new(),
                };
                return Err(format!(
                    "{target} has auto-sync on: Argo CD refuses a history rollback then. Turn auto-sync off \
                     first, or roll back by reverting the commit in Git{git}. To turn it off: \
                     disable_auto_sync (a confirmed, audited change of the app's sync policy)"
                ));
            }
            let entry = match to {
                Some(id) => app
                    .history
                    .iter()
                    .find(|d| d.id == id)
                    .ok_or_else(|| format!("{target} has no history entry #{id}"))?,
                None => default_rollback(app)
                    .ok_or_else(|| format!("{target} has no earlier deployment to roll back to"))?,
            };
            if app.revision.as_deref() == Some(entry.revision.as_str()) {
                return Err(format!(
                    "{target} already runs {} (history #{})",
                    short_rev(&entry.revision),
                    entry.id
                ));
            }
            to_id = Some(entry.id.clone());
            format!(
                "roll back {target} from {live} to {} (history #{})",
                short_rev(&entry.revision),
                entry.id
            )
        }
        ActionKind::Suspend => {
            if app.suspended {
                return Err(format!("{target} is already suspended"));
            }
            format!("suspend {target}: stop reconciling it until resumed")
        }
        ActionKind::Resume => {
            if !app.suspended {
                return Err(format!("{target} is not suspended"));
            }
            let then = if app.auto_sync {
                format!(" (auto-sync will deploy {wanted})")
            } else {
                String::new()
            };
            format!("resume {target}: reconcile it again{then}")
        }
        ActionKind::CheckDrift => format!(
            "start a refresh-only run of workspace {target} ({place}): compare the real \
             infrastructure with the state and report drift (never applied by itself)"
        ),
        ActionKind::Lock => {
            if app.suspended {
                return Err(format!("{target} is already locked"));
            }
            format!("lock workspace {target} ({place}): no run applies until it is unlocked")
        }
        ActionKind::Unlock => {
            if !app.suspended {
                return Err(format!("{target} is not locked"));
            }
            format!("unlock workspace {target} ({place}): queued runs may start again")
        }
        other => return Err(wrong_target(other, TargetKind::App)),
    };
    Ok(Action {
        kind,
        target,
        to: to_id,
        effect,
        production: ctx.source_production || app.production,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    })
}

pub fn plan_model(
    kind: ActionKind,
    model: &ModelDrift,
    to: Option<&str>,
    ctx: PlanContext,
) -> Result<Action, Refusal> {
    let target = Target::new(&model.source, TargetKind::Model, &model.model);
    check_allowed(kind, &target, ctx.read_only)?;
    if kind != ActionKind::SetModelAlias {
        return Err(wrong_target(kind, TargetKind::Model));
    }
    let from = model.version.as_deref().unwrap_or("none");
    let version = match to {
        Some(v) => model
            .versions
            .iter()
            .find(|m| m.version == v)
            .ok_or_else(|| format!("{target} has no version {v}"))?,
        None => model
            .previous_version()
            .ok_or_else(|| format!("{target} has no earlier READY version to go back to"))?,
    };
    if model.version.as_deref() == Some(version.version.as_str()) {
        return Err(format!(
            "{target} already serves version {}",
            version.version
        ));
    }
    let effect = format!(
        "point {target} alias \"{}\" from version {from} to {}",
        model.alias, version.version
    );
    Ok(Action {
        kind,
        target,
        to: Some(version.version.clone()),
        effect,
        production: ctx.source_production || model.production,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    })
}

/// Apply or discard a run that waits for a person: the effect names the
/// run, its plan summary (the part of `raw_status` after the marker) and
/// its workspace.
fn plan_confirmation(
    kind: ActionKind,
    run: &PipelineRun,
    target: &Target,
) -> Result<String, Refusal> {
    if !run.awaits_approval() {
        let now = run.raw_status.as_deref().unwrap_or(run.status.into());
        return Err(format!(
            "{target} is not waiting for confirmation (it is {now}): nothing to {}",
            kind.verb()
        ));
    }
    let plan = run
        .raw_status
        .as_deref()
        .and_then(|s| s.strip_prefix(crate::model::AWAITING_APPROVAL))
        .map(|s| s.trim().trim_start_matches('(').trim_end_matches(')'))
        .filter(|s| !s.is_empty())
        .unwrap_or("plan summary unknown");
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

/// Said when an action is asked of the wrong kind of target.
pub fn wrong_target(kind: ActionKind, got: TargetKind) -> Refusal {
    let wants = match kind.target_kind() {
        // A model's rollback moves its serving alias.
        TargetKind::App if kind == ActionKind::Rollback => "GitOps apps (tab 3) and models (tab 4)",
        TargetKind::Run => "pipeline runs (tab 2)",
        TargetKind::App => "GitOps apps (tab 3)",
        TargetKind::Model => "models (tab 4)",
        TargetKind::Pipeline => "pipelines (start a new run from tab 2)",
    };
    let article = if got == TargetKind::App { "an" } else { "a" };
    format!("{kind} applies to {wants}, not to {article} {got}")
}

/// A repository app's rollback: revert one commit touching its folder and
/// push it, then refresh the app it deploys to.
fn plan_revert(
    app: &GitOpsApp,
    repo: &RepoInfo,
    to: Option<&str>,
    ctx: PlanContext,
    target: Target,
) -> Result<Action, Refusal> {
    let path = app.path.as_deref().unwrap_or("");
    let commit = match to {
        Some(sha) => app
            .history
            .iter()
            .find(|d| d.id == sha || (sha.len() >= 7 && d.id.starts_with(sha)))
            .ok_or_else(|| {
                format!(
                    "{target}: no commit {sha} touching {path} on {}",
                    repo.branch
                )
            })?,
        None => default_revert(app)
            .ok_or_else(|| format!("{target}: no commit touches {path} to revert"))?,
    };
    let subject = commit.message.as_deref().unwrap_or("");
    let author = commit.author.as_deref().unwrap_or("unknown");
    let push = if repo.push == "branch" {
        format!(
            "push it to a new branch opsdeck/rollback-{}-… for review",
            app.name
        )
    } else {
        format!("push it to {}", repo.branch)
    };
    let then = app
        .linked
        .as_ref()
        .map(|t| format!(", then refresh {t} and follow it"))
        .unwrap_or_default();
    let effect = format!(
        "revert {} \"{subject}\" by {author} in {target} ({path}) and {push}{then}",
        short_rev(&commit.revision)
    );
    Ok(Action {
        kind: ActionKind::Rollback,
        target,
        to: Some(commit.id.clone()),
        effect,
        production: ctx.source_production || app.production,
        follow: app.linked.clone().map(|t| Follow {
            target: t,
            from_revision: None,
            timeout: repo.follow,
        }),
        sync: Default::default(),
        inputs: Vec::new(),
    })
}
