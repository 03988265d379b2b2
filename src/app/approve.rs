//! Approving a Terraform object's pending plan (`kind = "tofu"`), planned
//! for the resolver. The GitOps way is a commit of `spec.approvePlan` to the
//! object's manifest by the `git` source that holds it: the one linked to
//! the object (`link`), else the one linked to the Flux Kustomization that
//! applies it (its labels name it; its path is the repository folder). The
//! live patch is only ever the action asked for by name.

use crate::app::actions::{PlanContext, Refusal, check_allowed};
use crate::app::state::SourceState;
use crate::model::{Action, ActionKind, Follow, GitOpsApp, PendingPlan, Target, TargetKind};
use crate::sources::tofu::NO_GIT;

/// Plan `kind` (Approve or ApproveLive) asked of `target` on `source`.
pub fn plan(
    kind: ActionKind,
    sources: &[SourceState],
    source: &SourceState,
    target: &Target,
    ctx: PlanContext,
) -> Result<Action, Refusal> {
    let app = source
        .snapshot
        .apps
        .iter()
        .find(|a| a.name == target.id && target.kind == TargetKind::App);
    let (app, plan) = match app {
        // A repository app's `s` is a sync it does not have (its
        // approvals are planned from the Terraform object's row).
        Some(a) if a.repo.is_some() || !source.actions.contains(&kind) => {
            let asked = if a.repo.is_some() {
                ActionKind::Sync
            } else {
                kind
            };
            return Err(format!(
                "{} sources cannot {} {target}",
                source.kind,
                asked.verb()
            ));
        }
        None if !source.actions.contains(&kind) => {
            return Err(format!(
                "{} sources cannot {} {target}",
                source.kind,
                kind.verb()
            ));
        }
        None => return Err(crate::app::actions::wrong_target(kind, target.kind)),
        Some(a) => match &a.plan {
            Some(plan) => (a, plan),
            None => {
                let why = if a.auto_sync {
                    " (approvePlan is auto: its plans apply by themselves)"
                } else {
                    ""
                };
                return Err(format!("{target} has no plan waiting for approval{why}"));
            }
        },
    };
    check_allowed(kind, target, ctx.read_only)?;
    let production = ctx.source_production || app.production;
    if kind == ActionKind::ApproveLive {
        let owner = plan
            .owner
            .as_deref()
            .map(|o| format!("Kustomization {o}"))
            .unwrap_or_else(|| "Flux".into());
        return Ok(Action {
            kind,
            target: target.clone(),
            to: Some(plan.id.clone()),
            effect: format!(
                "patch Terraform {}/{} in the cluster ({}): spec.approvePlan = \"{}\" — NOT in Git: \
                 {owner} resets it when it applies the manifest again, and the repository does \
                 not record the approval",
                plan.namespace, plan.name, app.cluster, plan.id
            ),
            production,
            follow: None,
            sync: Default::default(),
            inputs: Vec::new(),
        });
    }
    let Some((repo_target, follow_target)) = holder(sources, app, plan, target) else {
        return Err(format!("{target}: {NO_GIT}"));
    };
    let repo_source = sources.iter().find(|s| s.name == repo_target.source);
    let repo_app = repo_source.and_then(|s| {
        s.snapshot
            .apps
            .iter()
            .find(|a| a.name == repo_target.id && a.repo.is_some())
    });
    let Some((repo_app, repo)) = repo_app.and_then(|a| a.repo.as_ref().map(|r| (a, r))) else {
        return Err(format!("{target}: {NO_GIT}"));
    };
    let folder = repo_app.path.as_deref().unwrap_or("");
    let push = if repo.push == "branch" {
        format!(
            "push it to a new branch opsdeck/approve-{}-{}-… for review",
            plan.name, plan.id
        )
    } else {
        format!("push it to {}", repo.branch)
    };
    Ok(Action {
        kind,
        target: repo_target.clone(),
        to: Some(plan.id.clone()),
        effect: format!(
            "approve plan {id} of {target}: commit `spec.approvePlan: \"{id}\"` to the manifest \
             of Terraform {ns}/{name} in {repo_target} ({folder}) and {push}, then refresh \
             {follow_target} and follow it",
            id = plan.id,
            ns = plan.namespace,
            name = plan.name,
        ),
        production: production || repo_app.production || repo_source.is_some_and(|s| s.production),
        follow: Some(Follow {
            target: follow_target,
            from_revision: None,
            timeout: repo.follow,
        }),
        sync: Default::default(),
        inputs: vec![
            ("namespace".into(), plan.namespace.clone()),
            ("name".into(), plan.name.clone()),
        ],
    })
}

/// The repository app that holds the object's manifest, and the app to
/// follow once the approval is pushed: the object itself when a repository
/// is linked to it, else the Kustomization that applies it.
fn holder(
    sources: &[SourceState],
    app: &GitOpsApp,
    plan: &PendingPlan,
    target: &Target,
) -> Option<(Target, Target)> {
    if let Some(repo) = &app.linked {
        return Some((repo.clone(), target.clone()));
    }
    let owner = plan.owner.as_deref()?;
    sources.iter().find_map(|s| {
        s.snapshot
            .apps
            .iter()
            .find(|a| {
                a.name == owner && a.repo.is_none() && a.cluster == app.cluster && a.plan.is_none()
            })
            .and_then(|a| {
                let repo = a.linked.clone()?;
                Some((repo, Target::new(&s.name, TargetKind::App, &a.name)))
            })
    })
}
