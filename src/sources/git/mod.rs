//! `kind = "git"`: the desired-state repository. Each `[[source.app]]` shows
//! as a GitOps app whose history is the commits touching its folder; its
//! rollback is a revert pushed to the repository (the GitOps way).

pub mod repo;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{ActionError, Source, SourceError};
use crate::config::{GitApp, GitConfig, RepoLocation};
use crate::model::{
    Action, ActionKind, Deployment, GitOpsApp, Health, Job, RepoInfo, Snapshot, SyncStatus,
};

pub struct GitSource {
    name: String,
    config: GitConfig,
    poll: Duration,
    cache_dir: PathBuf,
    /// One git operation at a time on the clone (a read must not see a
    /// half-done revert).
    lock: Arc<Mutex<()>>,
}

impl GitSource {
    pub fn new(name: &str, config: GitConfig, poll: Duration) -> Self {
        let cache_dir = dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("opsdeck")
            .join("git")
            .join(name);
        GitSource {
            name: name.to_string(),
            config,
            poll,
            cache_dir,
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn config(&self) -> &GitConfig {
        &self.config
    }

    async fn token(&self) -> Result<Option<String>, String> {
        match &self.config.token {
            Some(secret) => secret
                .resolve()
                .await
                .map(|v| Some(v.expose().to_string()))
                .map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    fn location_text(&self) -> String {
        match &self.config.location {
            RepoLocation::Path(p) => p.display().to_string(),
            RepoLocation::Url(u) => u.clone(),
        }
    }
}

/// Map one app folder's history into the domain.
fn to_app(
    source: &str,
    config: &GitConfig,
    app: &GitApp,
    branch: &str,
    url: Option<String>,
    h: repo::AppHistory,
) -> GitOpsApp {
    let history: Vec<Deployment> = h
        .commits
        .iter()
        .filter(|c| c.touches_app)
        .map(|c| Deployment {
            id: c.sha.clone(),
            revision: c.sha.clone(),
            deployed_at: c.time,
            started_at: None,
            failed: false,
            author: Some(c.author.clone()),
            message: Some(c.subject.clone()),
        })
        .collect();
    let last_change = history.first().and_then(|d| d.deployed_at);
    GitOpsApp {
        health_since: None,
        error: None,
        source: source.to_string(),
        name: app.name.clone(),
        namespace: app.path.clone(),
        cluster: branch.to_string(),
        // Without a linked app, the repository alone cannot say.
        sync: SyncStatus::Unknown,
        health: Health::Unknown,
        health_message: None,
        revision: Some(h.head.clone()),
        target_revision: None,
        out_of_sync: Vec::new(),
        auto_sync: false,
        suspended: false,
        last_operation: None,
        history,
        last_change,
        repo_url: url,
        path: Some(app.path.clone()),
        production: false,
        repo: Some(RepoInfo {
            branch: branch.to_string(),
            head: h.head,
            commits: h.commits,
            push: config.push.word().to_string(),
            link: app.link.clone(),
            diffs: h.diffs,
            follow: config.follow,
        }),
        linked: None,
        pending: None,
        revision_commit: None,
        images: Vec::new(),
        plan: None,
    }
}

#[async_trait]
impl Source for GitSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::GIT
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    /// The remote a read fetches from (a silent remote is what times out).
    fn location(&self) -> Option<String> {
        let remote = match &self.config.location {
            RepoLocation::Path(path) => git2::Repository::open(path)
                .ok()
                .and_then(|r| repo::remote_url(&r, &self.config.remote)),
            RepoLocation::Url(url) => Some(url.clone()),
        };
        Some(remote.unwrap_or_else(|| self.location_text()))
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let token = self.token().await.map_err(SourceError::Auth)?;
        let _guard = self.lock.lock().await;
        let config = self.config.clone();
        let cache_dir = self.cache_dir.clone();
        let source = self.name.clone();
        let where_ = self.location_text();
        let read = tokio::task::spawn_blocking(move || -> Result<Snapshot, repo::GitError> {
            let repository = repo::open(&config, &cache_dir, token.as_deref())?;
            let branch = repo::branch_name(&repository, &config);
            repo::fetch(&repository, &config.remote, &branch, token.as_deref())?;
            let url = repo::remote_url(&repository, &config.remote);
            let mut apps = Vec::new();
            for app in &config.apps {
                let history = repo::read_app(&repository, &config.remote, &branch, app)?;
                apps.push(to_app(&source, &config, app, &branch, url.clone(), history));
            }
            Ok(Snapshot {
                apps,
                ..Snapshot::default()
            })
        });
        match read.await {
            Ok(Ok(snapshot)) => Ok(snapshot),
            Ok(Err(repo::GitError::Transport(why))) => {
                Err(SourceError::Unreachable(format!("{where_}: {why}")))
            }
            Ok(Err(e)) => Err(SourceError::Backend(format!("{where_}: {e}"))),
            Err(e) => Err(SourceError::Backend(format!("the git reader stopped: {e}"))),
        }
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        if !matches!(action.kind, ActionKind::Rollback | ActionKind::Approve) {
            return Err(ActionError::Unsupported(
                "do anything but a rollback (a revert) or a plan approval (a commit)",
            ));
        }
        let Some(app) = self
            .config
            .apps
            .iter()
            .find(|a| a.name == action.target.id)
            .cloned()
        else {
            return Err(ActionError::Rejected(format!(
                "no app {} in {}",
                action.target.id, self.name
            )));
        };
        let Some(to) = action.to.clone() else {
            return Err(ActionError::Rejected(match action.kind {
                ActionKind::Approve => "an approval needs the plan id to approve".into(),
                _ => "a revert needs the commit to revert (--to SHA)".into(),
            }));
        };
        let input = |key: &str| {
            action
                .inputs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let object = match action.kind {
            ActionKind::Approve => match (input("namespace"), input("name")) {
                (Some(ns), Some(name)) => Some((ns, name)),
                _ => {
                    return Err(ActionError::Rejected(
                        "an approval needs the Terraform object's namespace and name".into(),
                    ));
                }
            },
            _ => None,
        };
        let token = self.token().await.map_err(ActionError::Rejected)?;
        let _guard = self.lock.lock().await;
        let config = self.config.clone();
        let cache_dir = self.cache_dir.clone();
        let operator = crate::model::Operator::current();
        let done = tokio::task::spawn_blocking(
            move || -> Result<(repo::Reverted, String), repo::GitError> {
                let repository = repo::open(&config, &cache_dir, token.as_deref())?;
                let branch = repo::branch_name(&repository, &config);
                let token = token.as_deref();
                match &object {
                    Some((namespace, name)) => {
                        let request = repo::ApproveRequest {
                            app: &app,
                            namespace,
                            name,
                            plan: &to,
                            user: &operator.user,
                            host: &operator.host,
                        };
                        let (pushed, file) = repo::approve_and_push(
                            &repository,
                            &config,
                            &branch,
                            token,
                            &request,
                            &mut || {},
                        )?;
                        Ok((pushed, format!("approval of {to} in {file}")))
                    }
                    None => {
                        let request = repo::RevertRequest {
                            app: &app,
                            commit: &to,
                            user: &operator.user,
                            host: &operator.host,
                        };
                        let pushed = repo::revert_and_push(
                            &repository,
                            &config,
                            &branch,
                            token,
                            &request,
                            &mut || {},
                        )?;
                        Ok((pushed, "revert".to_string()))
                    }
                }
            },
        )
        .await
        .map_err(|e| ActionError::Lost(format!("the git worker stopped: {e}")))?;
        match done {
            Ok((r, what)) => {
                let short = &r.new_sha[..7.min(r.new_sha.len())];
                let mut message = match action.kind {
                    ActionKind::Approve => {
                        format!("{what} committed as {short}, pushed to {}", r.pushed_to)
                    }
                    _ => format!("{what} {short} pushed to {}", r.pushed_to),
                };
                if r.retried {
                    message.push_str(" (redone once on a newer head after a concurrent push)");
                }
                if let Some(url) = r.compare_url {
                    message.push_str(&format!("; open a merge request: {url}"));
                } else if r.pushed_to.starts_with("opsdeck/") {
                    message.push_str("; open a merge request from it");
                }
                Ok(message)
            }
            // The push may or may not have reached the remote.
            Err(repo::GitError::Transport(why)) => Err(ActionError::Lost(why)),
            Err(e) => Err(ActionError::Rejected(e.to_string())),
        }
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "a git source has no pipeline runs".into(),
        ))
    }
}
