//! git2 work for the git source: open or clone, fetch, read an app folder's
//! history, and revert + push safely. Blocking calls: run them on a blocking
//! thread.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use git2::{
    BranchType, Cred, CredentialType, Diff, DiffFormat, DiffOptions, FetchOptions, Oid,
    PushOptions, RemoteCallbacks, Repository, Signature, Status, StatusOptions,
};

use crate::config::{GitApp, GitConfig, PushMode, RepoLocation};
use crate::model::{Commit, CommitDiff, Timestamp};

/// First-parent commits read per app (how far back "pending" can count).
pub const HISTORY_DEPTH: usize = 300;
/// Diff lines kept per commit.
const DIFF_MAX_LINES: usize = 400;
/// Commits of an app whose diffs are kept (what the revert picker can show).
const DIFF_COMMITS: usize = 20;
/// The temporary ref a revert is pushed from.
const REVERT_REF: &str = "refs/opsdeck/revert";
/// Credential attempts before giving up (libgit2 asks again after a refusal).
const MAX_CREDENTIAL_ATTEMPTS: usize = 3;

/// Why a git operation failed, in words for the engineer.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot open {path} as a git repository: {why}")]
    Open { path: PathBuf, why: String },
    #[error("the clone at {path} has uncommitted changes ({files}): commit or stash them first")]
    Dirty { path: PathBuf, files: String },
    #[error(
        "the clone at {path} is on `{actual}`, not on `{expected}`: check out `{expected}` first"
    )]
    NotOnBranch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error(
        "the local `{branch}` has commits that are not on the remote: push or reset them first"
    )]
    Diverged { branch: String },
    #[error("{0}")]
    Commit(String),
    #[error("reverting {commit} conflicts in {files}; nothing was changed (revert it by hand)")]
    Conflict { commit: String, files: String },
    #[error("the remote refused the push: {0}")]
    Rejected(String),
    /// Fetching or pushing failed on the way (network, auth).
    #[error("{0}")]
    Transport(String),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// What a revert did.
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

/// One app folder as the repository has it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppHistory {
    pub head: String,
    pub commits: Vec<Commit>,
    pub diffs: Vec<CommitDiff>,
}

fn callbacks<'a>(token: Option<&'a str>, attempts: &'a RefCell<usize>) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    cb.credentials(move |url, username, allowed| {
        *attempts.borrow_mut() += 1;
        if *attempts.borrow() > MAX_CREDENTIAL_ATTEMPTS {
            return Err(git2::Error::from_str(
                "authentication failed (credentials were refused)",
            ));
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            return Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let Some(token) = token {
                return Cred::userpass_plaintext(username.unwrap_or("x-access-token"), token);
            }
            let config = git2::Config::open_default()?;
            return Cred::credential_helper(&config, url, username);
        }
        Cred::default()
    });
    cb
}

fn fetch_options<'a>(token: Option<&'a str>, attempts: &'a RefCell<usize>) -> FetchOptions<'a> {
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks(token, attempts));
    options
}

/// Open the configured clone, or clone the url into `cache_dir`.
pub fn open(
    config: &GitConfig,
    cache_dir: &Path,
    token: Option<&str>,
) -> Result<Repository, GitError> {
    match &config.location {
        RepoLocation::Path(path) => Repository::open(path).map_err(|e| GitError::Open {
            path: path.clone(),
            why: e.message().to_string(),
        }),
        RepoLocation::Url(url) => {
            if let Ok(repo) = Repository::open(cache_dir) {
                return Ok(repo);
            }
            std::fs::create_dir_all(cache_dir).map_err(|e| GitError::Open {
                path: cache_dir.to_path_buf(),
                why: e.to_string(),
            })?;
            let attempts = RefCell::new(0);
            let mut builder = git2::build::RepoBuilder::new();
            builder.fetch_options(fetch_options(token, &attempts));
            if let Some(branch) = &config.branch {
                builder.branch(branch);
            }
            builder
                .clone(url, cache_dir)
                .map_err(|e| GitError::Transport(format!("cannot clone {url}: {}", e.message())))
        }
    }
}

/// The branch to read: configured, else the remote's default, else the checked-out one.
pub fn branch_name(repo: &Repository, config: &GitConfig) -> String {
    if let Some(b) = &config.branch {
        return b.clone();
    }
    let remote_head = format!("refs/remotes/{}/HEAD", config.remote);
    if let Ok(r) = repo.find_reference(&remote_head) {
        if let Ok(Some(target)) = r.symbolic_target() {
            let prefix = format!("refs/remotes/{}/", config.remote);
            if let Some(name) = target.strip_prefix(&prefix) {
                return name.to_string();
            }
        }
    }
    repo.head()
        .ok()
        .and_then(|h| h.shorthand().ok().map(str::to_string))
        .unwrap_or_else(|| "main".into())
}

/// Fetch the branch into its remote-tracking ref.
pub fn fetch(
    repo: &Repository,
    remote: &str,
    branch: &str,
    token: Option<&str>,
) -> Result<(), GitError> {
    let mut remote_handle = repo
        .find_remote(remote)
        .map_err(|e| GitError::Transport(e.message().to_string()))?;
    let refspec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
    let attempts = RefCell::new(0);
    remote_handle
        .fetch(
            &[refspec.as_str()],
            Some(&mut fetch_options(token, &attempts)),
            None,
        )
        .map_err(|e| {
            GitError::Transport(format!(
                "cannot fetch {branch} from {remote}: {}",
                e.message()
            ))
        })
}

fn remote_tip(repo: &Repository, remote: &str, branch: &str) -> Result<Oid, GitError> {
    let name = format!("refs/remotes/{remote}/{branch}");
    repo.refname_to_id(&name).map_err(|_| {
        GitError::Commit(format!(
            "the remote has no branch `{branch}` (looked for {name})"
        ))
    })
}

pub fn time_of(commit: &git2::Commit<'_>) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp(commit.time().seconds(), 0)
}

/// The remote URL, as configured in the clone.
pub fn remote_url(repo: &Repository, remote: &str) -> Option<String> {
    repo.find_remote(remote)
        .ok()
        .and_then(|r| r.url().ok().map(str::to_string))
}

fn entry_at(tree: &git2::Tree<'_>, path: &str) -> Option<Oid> {
    tree.get_path(Path::new(path)).ok().map(|e| e.id())
}

/// The branch's first-parent history, marking the commits that change
/// `app.path`, and the diffs of the newest ones that do.
pub fn read_app(
    repo: &Repository,
    remote: &str,
    branch: &str,
    app: &GitApp,
) -> Result<AppHistory, GitError> {
    let tip = remote_tip(repo, remote, branch)?;
    let mut commits = Vec::new();
    let mut touching: Vec<Oid> = Vec::new();
    let mut current = Some(repo.find_commit(tip)?);
    while let Some(commit) = current.take() {
        if commits.len() >= HISTORY_DEPTH {
            break;
        }
        let here = entry_at(&commit.tree()?, &app.path);
        let parent = commit.parent(0).ok();
        let before = match &parent {
            Some(p) => entry_at(&p.tree()?, &app.path),
            None => None,
        };
        let touches_app = here != before;
        if touches_app && touching.len() < DIFF_COMMITS {
            touching.push(commit.id());
        }
        commits.push(Commit {
            sha: commit.id().to_string(),
            author: commit.author().name().unwrap_or("unknown").to_string(),
            time: time_of(&commit),
            subject: commit.summary().ok().flatten().unwrap_or("").to_string(),
            touches_app,
        });
        current = parent;
    }
    let diffs = touching
        .into_iter()
        .map(|oid| {
            diff_lines(repo, oid, &app.path).map(|lines| CommitDiff {
                sha: oid.to_string(),
                lines,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppHistory {
        head: tip.to_string(),
        commits,
        diffs,
    })
}

/// The unified diff of one commit against its first parent, limited to `path`.
pub fn diff_lines(repo: &Repository, oid: Oid, path: &str) -> Result<Vec<String>, GitError> {
    let commit = repo.find_commit(oid)?;
    let new_tree = commit.tree()?;
    let old_tree = commit.parent(0).ok().map(|p| p.tree()).transpose()?;
    let mut options = DiffOptions::new();
    options.pathspec(path).context_lines(3);
    let diff: Diff<'_> =
        repo.diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), Some(&mut options))?;
    let mut lines = Vec::new();
    diff.print(DiffFormat::Patch, |_, _, line| {
        if lines.len() >= DIFF_MAX_LINES {
            return false;
        }
        let text = String::from_utf8_lossy(line.content());
        let prefix = match line.origin() {
            '+' | '-' | ' ' => line.origin().to_string(),
            _ => String::new(),
        };
        // File headers come as one chunk of several lines.
        for part in text.trim_end_matches('\n').split('\n') {
            lines.push(format!("{prefix}{part}"));
        }
        true
    })
    .or_else(|e| {
        if lines.len() >= DIFF_MAX_LINES {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    Ok(lines)
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

/// Who to name in the revert: the repository's configured identity, else
/// the user opsdeck runs as.
fn signature(repo: &Repository, user: &str, host: &str) -> Result<Signature<'static>, GitError> {
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
    check_clean(repo)?;
    if matches!(config.location, RepoLocation::Path(_)) {
        check_on_branch(repo, branch)?;
    }
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
    fetch(repo, &config.remote, branch, token)?;
    let mut retried = false;
    loop {
        let tip = remote_tip(repo, &config.remote, branch)?;
        if config.push == PushMode::Direct && repo.find_branch(branch, BranchType::Local).is_ok() {
            fast_forward(repo, branch, tip)?;
        }
        let new = revert_on(repo, &target, tip, request)?;
        let pushed_to = match config.push {
            PushMode::Direct => branch.to_string(),
            PushMode::Branch => {
                let short = &target.id().to_string()[..7];
                format!(
                    "opsdeck/rollback-{}-{short}-{}",
                    request.app.name,
                    chrono::Utc::now().format("%Y%m%d%H%M%S")
                )
            }
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
                tracing::info!(why, "push refused; fetching and redoing the revert once");
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

/// Push `new` to `refs/heads/{to}` (no `+`: never forced).
fn push(
    repo: &Repository,
    remote: &str,
    new: Oid,
    to: &str,
    token: Option<&str>,
) -> Result<(), GitError> {
    repo.reference(REVERT_REF, new, true, "opsdeck: revert to push")?;
    let result = (|| {
        let mut remote = repo
            .find_remote(remote)
            .map_err(|e| GitError::Transport(e.message().to_string()))?;
        let attempts = RefCell::new(0);
        let refused: RefCell<Option<String>> = RefCell::new(None);
        let mut cb = callbacks(token, &attempts);
        cb.push_update_reference(|refname, status| {
            if let Some(why) = status {
                *refused.borrow_mut() = Some(format!("{refname}: {why}"));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(cb);
        let spec = format!("{REVERT_REF}:refs/heads/{to}");
        let pushed = remote.push(&[spec.as_str()], Some(&mut options));
        drop(options);
        match pushed {
            Ok(()) => {}
            // libgit2 refuses a non-fast-forward before sending anything.
            Err(e)
                if e.code() == git2::ErrorCode::NotFastForward
                    || e.message().contains("fastforward") =>
            {
                return Err(GitError::Rejected(e.message().to_string()));
            }
            Err(e) => {
                return Err(GitError::Transport(format!(
                    "push to {to} failed: {}",
                    e.message()
                )));
            }
        }
        let refused = refused.borrow().clone();
        match refused {
            Some(why) => Err(GitError::Rejected(why)),
            None => Ok(()),
        }
    })();
    if let Ok(mut r) = repo.find_reference(REVERT_REF) {
        let _ = r.delete();
    }
    result
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

/// Where to open a merge request for a pushed branch, for hosts that have one.
pub fn compare_url(remote: &str, base: &str, branch: &str) -> Option<String> {
    let (host, path) = host_and_path(remote)?;
    if host == "localhost" || host.starts_with("127.") || remote.starts_with("git://") {
        return None;
    }
    Some(if host.contains("gitlab") {
        format!(
            "https://{host}/{path}/-/merge_requests/new?merge_request%5Bsource_branch%5D={branch}&merge_request%5Btarget_branch%5D={base}"
        )
    } else {
        format!("https://{host}/{path}/compare/{base}...{branch}?expand=1")
    })
}

/// "github.com", "acme/deploy" from https, ssh and scp-like URLs.
pub fn host_and_path(url: &str) -> Option<(String, String)> {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    if url.starts_with("file://") || url.starts_with('/') {
        return None;
    }
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like: git@host:owner/repo
        None => url.replacen(':', "/", 1),
    };
    let rest = rest.rsplit_once('@').map_or(rest.as_str(), |(_, r)| r);
    let (host, path) = rest.split_once('/')?;
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    Some((host, path.trim_matches('/').to_string()))
}

/// A URL reduced to "host/path" so that https, ssh and scp forms compare equal.
pub fn normalize_url(url: &str) -> String {
    match host_and_path(url) {
        Some((host, path)) => format!("{host}/{path}"),
        None => url
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_every_form_compare_equal() {
        let forms = [
            "https://github.com/acme/deploy.git",
            "https://github.com/acme/deploy",
            "git@github.com:acme/deploy.git",
            "ssh://git@github.com/acme/deploy.git",
            "https://GitHub.com/acme/deploy/",
        ];
        for f in forms {
            assert_eq!(normalize_url(f), "github.com/acme/deploy", "{f}");
        }
    }

    #[test]
    fn compare_urls_for_github_and_gitlab() {
        assert_eq!(
            compare_url(
                "git@github.com:acme/deploy.git",
                "main",
                "opsdeck/rollback-x"
            )
            .as_deref(),
            Some("https://github.com/acme/deploy/compare/main...opsdeck/rollback-x?expand=1")
        );
        let gitlab = compare_url("https://gitlab.example.com/ops/deploy.git", "main", "b")
            .unwrap_or_default();
        assert!(
            gitlab.starts_with("https://gitlab.example.com/ops/deploy/-/merge_requests/new?"),
            "{gitlab}"
        );
        assert_eq!(compare_url("file:///tmp/remote.git", "main", "b"), None);
        assert_eq!(
            compare_url("git://127.0.0.1:9418/remote.git", "main", "b"),
            None
        );
    }
}
