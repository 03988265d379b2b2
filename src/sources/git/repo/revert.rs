//! A rollback the GitOps way: revert one commit on top of the remote's tip
//! and push it (never forced), after checking the clone is safe to touch.
//! The commit-and-push part serves every commit opsdeck pushes.

use git2::{BranchType, Oid, Repository, Signature, Status, StatusOptions};

use super::GitError;
use super::merge_request::compare_url;
use super::remote::{fetch, push, remote_tip, remote_url};
use crate::config::{GitApp, GitConfig, PushMode, RepoLocation};

/// What a pushed commit (a revert, an approval) did.
#[derive(Debug, Clone, PartialEq)]
pub struct Reverted {
    pub new_sha: String,
    /// The branch it was pushed to.
    pub pushed_to: String,
    /// Where to open a merge request, for `push = "branch"`.
    pub compare_url: Option<String>,
    /// The first push was refused (someone pushed first) and the revert was redone.
    pub retried: bool,
}

fn check_clean(repo: &Repository) -> Result<(), GitError> {
    let path = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    if repo.state() != git2::RepositoryState::Clean {
        return Err(GitError::Dirty {
            path,
            files: format!("a {:?} is in progress", repo.state()),
        });
    }
    let mut options = StatusOptions::new();
    options.include_untracked(false).include_ignored(false);
    let statuses = repo.statuses(Some(&mut options))?;
    let dirty: Vec<String> = statuses
        .iter()
        .filter(|s| s.status() != Status::CURRENT && !s.status().is_ignored())
        .filter_map(|s| s.path().ok().map(str::to_string))
        .collect();
    if dirty.is_empty() {
        return Ok(());
    }
    let mut files = dirty.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if dirty.len() > 5 {
        files.push_str(&format!(" and {} more", dirty.len() - 5));
    }
    Err(GitError::Dirty { path, files })
}

fn check_on_branch(repo: &Repository, branch: &str) -> Result<(), GitError> {
    let path = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    let head = repo.head().ok();
    let actual = head
        .as_ref()
        .and_then(|h| h.shorthand().ok())
        .unwrap_or("(no branch)")
        .to_string();
    let on_branch = head.as_ref().is_some_and(|h| h.is_branch()) && actual == branch;
    if on_branch {
        Ok(())
    } else {
        Err(GitError::NotOnBranch {
            path,
            expected: branch.to_string(),
            actual,
        })
    }
}

/// Bring the local branch to the remote's tip when it is simply behind.
fn fast_forward(repo: &Repository, branch: &str, tip: Oid) -> Result<(), GitError> {
    let mut local = repo.find_branch(branch, BranchType::Local)?;
    let Some(local_oid) = local.get().target() else {
        return Err(GitError::Commit(format!(
            "`{branch}` does not point at a commit"
        )));
    };
    if local_oid == tip {
        return Ok(());
    }
    if !repo.graph_descendant_of(tip, local_oid)? {
        return Err(GitError::Diverged {
            branch: branch.to_string(),
        });
    }
    local
        .get_mut()
        .set_target(tip, "opsdeck: fast-forward before revert")?;
    if repo.head()?.shorthand().ok() == Some(branch) {
        // The tree was clean, so forcing only applies the remote's changes.
        repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))?;
    }
    Ok(())
}

/// Who to name in a commit: the repository's configured identity, else
/// the user opsdeck runs as.
pub(super) fn signature(
    repo: &Repository,
    user: &str,
    host: &str,
) -> Result<Signature<'static>, GitError> {
    match repo.signature() {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Ok(Signature::now(user, &format!("{user}@{host}"))?),
    }
}

/// What one revert asks for.
pub struct RevertRequest<'a> {
    pub app: &'a GitApp,
    pub commit: &'a str,
    pub user: &'a str,
    pub host: &'a str,
}

/// Revert `request.commit` on top of the remote's tip and push it (never
/// forced). On a refused push: fetch, redo once on the new tip, push again.
/// A conflict changes nothing. `before_push` runs just before each push (a
/// seam for tests that push concurrently).
pub fn revert_and_push(
    repo: &Repository,
    config: &GitConfig,
    branch: &str,
    token: Option<&str>,
    request: &RevertRequest<'_>,
    before_push: &mut dyn FnMut(),
) -> Result<Reverted, GitError> {
    check_safe(repo, config, branch)?;
    let target = Oid::from_str(request.commit)
        .ok()
        .and_then(|o| repo.find_commit(o).ok())
        .or_else(|| {
            repo.revparse_single(request.commit)
                .ok()
                .and_then(|o| o.peel_to_commit().ok())
        })
        .ok_or_else(|| {
            GitError::Commit(format!("commit {} is not in the clone", request.commit))
        })?;
    let short = &target.id().to_string()[..7];
    let review_branch = format!("opsdeck/rollback-{}-{short}", request.app.name);
    commit_and_push(
        repo,
        config,
        branch,
        token,
        &review_branch,
        &mut |tip| revert_on(repo, &target, tip, request),
        before_push,
    )
}

/// The clone may be worked in: clean, and (a configured clone) on the
/// branch being deployed.
pub(super) fn check_safe(
    repo: &Repository,
    config: &GitConfig,
    branch: &str,
) -> Result<(), GitError> {
    check_clean(repo)?;
    if matches!(config.location, RepoLocation::Path(_)) {
        check_on_branch(repo, branch)?;
    }
    Ok(())
}

/// Make a commit on top of the remote's tip (`make`, which touches no
/// branch and no work tree) and push it (never forced): to `branch`, or to
/// `<review_branch>-<time>` for `push = "branch"`. On a refused push: fetch,
/// redo once on the new tip, push again. The clone must be `check_safe`.
pub(super) fn commit_and_push(
    repo: &Repository,
    config: &GitConfig,
    branch: &str,
    token: Option<&str>,
    review_branch: &str,
    make: &mut dyn FnMut(Oid) -> Result<Oid, GitError>,
    before_push: &mut dyn FnMut(),
) -> Result<Reverted, GitError> {
    fetch(repo, &config.remote, branch, token)?;
    let mut retried = false;
    loop {
        let tip = remote_tip(repo, &config.remote, branch)?;
        if config.push == PushMode::Direct && repo.find_branch(branch, BranchType::Local).is_ok() {
            fast_forward(repo, branch, tip)?;
        }
        let new = make(tip)?;
        let pushed_to = match config.push {
            PushMode::Direct => branch.to_string(),
            PushMode::Branch => format!(
                "{review_branch}-{}",
                chrono::Utc::now().format("%Y%m%d%H%M%S")
            ),
        };
        before_push();
        match push(repo, &config.remote, new, &pushed_to, token) {
            Ok(()) => {
                if config.push == PushMode::Direct {
                    finish_direct(repo, branch, new, &config.remote)?;
                }
                let compare_url = match config.push {
                    PushMode::Branch => remote_url(repo, &config.remote)
                        .and_then(|u| compare_url(&u, branch, &pushed_to)),
                    PushMode::Direct => None,
                };
                return Ok(Reverted {
                    new_sha: new.to_string(),
                    pushed_to,
                    compare_url,
                    retried,
                });
            }
            Err(GitError::Rejected(why)) if !retried => {
                tracing::info!(
                    why,
                    "push refused; fetching and making the commit again once"
                );
                retried = true;
                fetch(repo, &config.remote, branch, token)?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Create the revert commit on `tip` without touching any branch or the work tree.
fn revert_on(
    repo: &Repository,
    target: &git2::Commit<'_>,
    tip: Oid,
    request: &RevertRequest<'_>,
) -> Result<Oid, GitError> {
    let short = target.id().to_string()[..7].to_string();
    if tip != target.id() && !repo.graph_descendant_of(tip, target.id())? {
        return Err(GitError::Commit(format!(
            "commit {short} is not on the branch being deployed"
        )));
    }
    let base = repo.find_commit(tip)?;
    let mainline = if target.parent_count() > 1 { 1 } else { 0 };
    let mut index = repo.revert_commit(target, &base, mainline, None)?;
    if index.has_conflicts() {
        let mut files: Vec<String> = index
            .conflicts()?
            .filter_map(|c| c.ok())
            .filter_map(|c| c.our.or(c.their).or(c.ancestor))
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect();
        files.sort();
        files.dedup();
        return Err(GitError::Conflict {
            commit: short,
            files: files.join(", "),
        });
    }
    let tree = repo.find_tree(index.write_tree_to(repo)?)?;
    let subject = target.summary().ok().flatten().unwrap_or("");
    let message = format!(
        "Revert \"{subject}\"\n\nThis reverts commit {}.\n\nApp: {} ({})\nRolled back by {}@{} through opsdeck.\n",
        target.id(),
        request.app.name,
        request.app.path,
        request.user,
        request.host
    );
    let sig = signature(repo, request.user, request.host)?;
    Ok(repo.commit(None, &sig, &sig, &message, &tree, &[&base])?)
}

/// After a direct push: the remote-tracking ref and the local branch follow.
fn finish_direct(repo: &Repository, branch: &str, new: Oid, remote: &str) -> Result<(), GitError> {
    repo.reference(
        &format!("refs/remotes/{remote}/{branch}"),
        new,
        true,
        "opsdeck: pushed revert",
    )?;
    if repo.find_branch(branch, BranchType::Local).is_ok() {
        fast_forward(repo, branch, new)?;
    }
    Ok(())
}
