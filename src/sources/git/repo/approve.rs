//! Approving a tofu-controller plan the GitOps way (what `tfctl approve`
//! asks of its user): find the `Terraform` object's manifest under the app
//! folder, set `spec.approvePlan: "<plan id>"` in it as text, commit that
//! on the remote's tip and push it with the revert's safety (clean clone,
//! never forced, redone once on a newer tip).

use git2::{Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::GitError;
use super::manifest::{self, Edit, Match, ObjectRef};
use super::revert::{Reverted, check_safe, commit_and_push, signature};
use crate::config::{GitApp, GitConfig};

/// What one approval asks for.
pub struct ApproveRequest<'a> {
    pub app: &'a GitApp,
    pub namespace: &'a str,
    pub name: &'a str,
    pub plan: &'a str,
    pub user: &'a str,
    pub host: &'a str,
}

/// Approve the plan in the manifest and push it; returns the push and the
/// file changed.
pub fn approve_and_push(
    repo: &Repository,
    config: &GitConfig,
    branch: &str,
    token: Option<&str>,
    request: &ApproveRequest<'_>,
    before_push: &mut dyn FnMut(),
) -> Result<(Reverted, String), GitError> {
    check_safe(repo, config, branch)?;
    let mut file = String::new();
    let review_branch = format!("opsdeck/approve-{}-{}", request.name, request.plan);
    let pushed = commit_and_push(
        repo,
        config,
        branch,
        token,
        &review_branch,
        &mut |tip| {
            let (new, path) = approve_on(repo, tip, request)?;
            file = path;
            Ok(new)
        },
        before_push,
    )?;
    Ok((pushed, file))
}

/// One document that declares the object: its file's path and text, the
/// document's byte range, and how it matched.
struct Found {
    path: String,
    text: String,
    range: (usize, usize),
    how: Match,
}

/// The YAML files under `folder` of `tree` that hold the object, with
/// their text and the matching document.
fn manifests(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    folder: &str,
    wanted: &ObjectRef<'_>,
) -> Result<Vec<Found>, GitError> {
    let folder = folder.trim_matches('/');
    let sub = if folder.is_empty() || folder == "." {
        tree.clone()
    } else {
        let entry = tree.get_path(std::path::Path::new(folder)).map_err(|_| {
            GitError::Commit(format!("the folder {folder} is not in the repository"))
        })?;
        repo.find_tree(entry.id())
            .map_err(|_| GitError::Commit(format!("{folder} is not a folder")))?
    };
    let mut found = Vec::new();
    sub.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let name = entry.name().unwrap_or("");
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            return TreeWalkResult::Ok;
        }
        let Ok(blob) = repo.find_blob(entry.id()) else {
            return TreeWalkResult::Ok;
        };
        let Ok(text) = std::str::from_utf8(blob.content()) else {
            return TreeWalkResult::Ok;
        };
        for (range, how) in manifest::find(text, wanted) {
            let path = if folder.is_empty() || folder == "." {
                format!("{dir}{name}")
            } else {
                format!("{folder}/{dir}{name}")
            };
            found.push(Found {
                path,
                text: text.to_string(),
                range,
                how,
            });
        }
        TreeWalkResult::Ok
    })?;
    // A document naming the namespace beats one that names none.
    if let Some(best) = found.iter().map(|f| f.how).max() {
        found.retain(|f| f.how == best);
    }
    Ok(found)
}

/// Make the approval commit on `tip`: returns it and the file it changed.
fn approve_on(
    repo: &Repository,
    tip: Oid,
    request: &ApproveRequest<'_>,
) -> Result<(Oid, String), GitError> {
    let base = repo.find_commit(tip)?;
    let tree = base.tree()?;
    let wanted = ObjectRef {
        kind: "Terraform",
        namespace: request.namespace,
        name: request.name,
    };
    let what = format!("Terraform {}/{}", request.namespace, request.name);
    let folder = &request.app.path;
    let mut found = manifests(repo, &tree, folder, &wanted)?;
    let Found {
        path, text, range, ..
    } = match found.len() {
        0 => {
            return Err(GitError::Commit(format!(
                "no manifest of {what} (a YAML document with `kind: Terraform` and that name) \
                 under {folder}; nothing was changed"
            )));
        }
        1 => found.remove(0),
        _ => {
            let files: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
            return Err(GitError::Commit(format!(
                "{what} is declared more than once under {folder} ({}): approve it by hand",
                files.join(", ")
            )));
        }
    };
    let new_text = match manifest::set_spec_key(&text, range, "approvePlan", request.plan) {
        Ok(Edit::Changed(t)) => t,
        Ok(Edit::Already) => {
            return Err(GitError::Commit(format!(
                "{path} already says `approvePlan: \"{}\"` for {what}: nothing to commit (is \
                 Flux behind? reconcile it)",
                request.plan
            )));
        }
        Err(why) => return Err(GitError::Commit(format!("{path}: {what}: {why}"))),
    };
    let blob = repo.blob(new_text.as_bytes())?;
    let executable = tree
        .get_path(std::path::Path::new(&path))
        .is_ok_and(|e| e.filemode() == i32::from(git2::FileMode::BlobExecutable));
    let mode = if executable {
        git2::FileMode::BlobExecutable
    } else {
        git2::FileMode::Blob
    };
    let mut update = git2::build::TreeUpdateBuilder::new();
    update.upsert(path.as_str(), blob, mode);
    let new_tree = repo.find_tree(update.create_updated(repo, &tree)?)?;
    let message = format!(
        "Approve Terraform plan {plan} for {ns}/{name}\n\n\
         Set spec.approvePlan: \"{plan}\" in {path}.\n\n\
         App: {app} ({folder})\nApproved by {user}@{host} through opsdeck.\n",
        plan = request.plan,
        ns = request.namespace,
        name = request.name,
        app = request.app.name,
        user = request.user,
        host = request.host,
    );
    let sig = signature(repo, request.user, request.host)?;
    let new = repo.commit(None, &sig, &sig, &message, &new_tree, &[&base])?;
    Ok((new, path))
}
