//! Talking to the remote: credentials, open or clone, fetch and push.
//! Failures on the way are `GitError::Transport` (the push may or may not
//! have landed); a refusal by the remote is `GitError::Rejected`.

use std::cell::RefCell;
use std::path::Path;

use git2::{Cred, CredentialType, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository};

use super::GitError;
use crate::config::{GitConfig, RepoLocation};

/// The temporary ref a revert is pushed from.
const REVERT_REF: &str = "refs/opsdeck/revert";
/// Credential attempts before giving up (libgit2 asks again after a refusal).
const MAX_CREDENTIAL_ATTEMPTS: usize = 3;

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

/// The branch's tip as last fetched.
pub(super) fn remote_tip(repo: &Repository, remote: &str, branch: &str) -> Result<Oid, GitError> {
    let name = format!("refs/remotes/{remote}/{branch}");
    repo.refname_to_id(&name).map_err(|_| {
        GitError::Commit(format!(
            "the remote has no branch `{branch}` (looked for {name})"
        ))
    })
}

/// The remote URL, as configured in the clone.
pub fn remote_url(repo: &Repository, remote: &str) -> Option<String> {
    repo.find_remote(remote)
        .ok()
        .and_then(|r| r.url().ok().map(str::to_string))
}

/// Push `new` to `refs/heads/{to}` (no `+`: never forced).
pub(super) fn push(
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
