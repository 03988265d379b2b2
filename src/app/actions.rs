//! The action registry: for each action kind, what it applies to, what must
//! hold before it is offered, and the one line stating its exact effect.
//! The resolver (`app::resolver`) decides which plan a request gets; the
//! preconditions are checked here, once.

pub use crate::app::choices::{
    default_revert, default_rollback, rollback_choices, version_choices,
};
mod app;
mod run;

pub use app::plan_app;
pub use run::{plan_dispatch, plan_pipeline, plan_run};

use crate::model::{Action, ActionKind, ModelDrift, Snapshot, Target, TargetKind, Timestamp};

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

/// What a follow sends first to the app it follows after a push: what
/// makes its controller fetch the pushed commit now. A Flux or tofu object
/// reconciles its source first (else the commit waits for the source's own
/// interval); elsewhere it is what "refresh" means there (`as_offered`).
pub fn after_push(offered: &[ActionKind]) -> ActionKind {
    if offered.contains(&ActionKind::ReconcileWithSource) {
        ActionKind::ReconcileWithSource
    } else {
        as_offered(ActionKind::Refresh, Some(offered))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::kinds;

    #[test]
    fn after_a_push_each_controller_is_asked_to_fetch_the_commit_its_own_way() {
        let cases = [
            (&kinds::FLUX, ActionKind::ReconcileWithSource),
            (&kinds::TOFU, ActionKind::ReconcileWithSource),
            (&kinds::ARGOCD, ActionKind::Refresh),
            (&kinds::DEMO, ActionKind::Refresh),
            (&kinds::TERRAFORM_CLOUD, ActionKind::CheckDrift),
        ];
        for (descriptor, wanted) in cases {
            assert_eq!(
                after_push(descriptor.actions),
                wanted,
                "{}",
                descriptor.kind
            );
        }
        assert_eq!(
            after_push(&[ActionKind::Reconcile, ActionKind::Suspend]),
            ActionKind::Reconcile,
            "a controller without sources to fetch reconciles the object alone"
        );
    }
}
