//! git2 work for the git source: open or clone, fetch, read an app folder's
//! history, revert + push safely, and approve a Terraform plan in its
//! manifest the same way. Blocking calls: run them on a blocking
//! thread. This file holds what the pieces share: the error and the limits.

mod approve;
mod history;
mod manifest;
mod merge_request;
mod remote;
mod revert;

use std::path::PathBuf;

pub use approve::{ApproveRequest, approve_and_push};
pub use history::{AppHistory, diff_lines, read_app, time_of};
pub use merge_request::compare_url;
pub use remote::{branch_name, fetch, open, remote_url};
pub use revert::{RevertRequest, Reverted, revert_and_push};

/// First-parent commits read per app (how far back "pending" can count).
pub const HISTORY_DEPTH: usize = 300;

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
