//! Reading an app folder's history: the branch's first-parent commits,
//! which of them change the folder, and the diffs of the newest of those.

use std::path::Path;

use git2::{Diff, DiffFormat, DiffOptions, Oid, Repository};

use super::remote::remote_tip;
use super::{GitError, HISTORY_DEPTH};
use crate::config::GitApp;
use crate::model::{Commit, CommitDiff, Timestamp};

/// Diff lines kept per commit.
const DIFF_MAX_LINES: usize = 400;
/// Commits of an app whose diffs are kept (what the revert picker can show).
const DIFF_COMMITS: usize = 20;

/// One app folder as the repository has it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppHistory {
    pub head: String,
    pub commits: Vec<Commit>,
    pub diffs: Vec<CommitDiff>,
}

pub fn time_of(commit: &git2::Commit<'_>) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp(commit.time().seconds(), 0)
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
