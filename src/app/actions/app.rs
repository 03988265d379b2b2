//! Plans on GitOps apps: sync, refresh, rollback (a history entry, or a
//! repository's revert), suspend and resume, and what each sends.

use super::{PlanContext, Refusal, check_allowed, default_revert, default_rollback, wrong_target};
use crate::model::{
    Action, ActionKind, Follow, GitOpsApp, OperationPhase, RepoInfo, Target, TargetKind, short_rev,
};

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
        ActionKind::ReconcileWithSource => {
            if app.suspended {
                return Err(format!(
                    "{target} is suspended: resume it before reconciling"
                ));
            }
            format!(
                "reconcile the source of {target} ({place}), then {target}: fetch the newest \
                 commit and apply it to the cluster now"
            )
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
