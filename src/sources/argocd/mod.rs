//! `kind = "argocd"`: applications from an Argo CD API server — listed,
//! then followed live on its watch stream — their drill-down (operation
//! results, revision authors, resource tree, diff) and the actions Argo CD
//! offers: sync, refresh, terminate, history rollback, auto-sync off.

pub mod api;
mod cli_config;
pub mod detail;
pub mod kube;
mod watch;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};

use super::http::{self, HttpOptions};
use super::polite::Polite;
use super::{ActionError, Source, SourceError};
use crate::config::{ArgoCdConfig, ArgoToken, SecretValue};
use crate::model::{Action, ActionKind, AppDetail, GitOpsApp, Job, Snapshot};

/// The first wait before reconnecting a broken stream; doubles up to the
/// poll interval.
pub const STREAM_RETRY_INTERVAL: Duration = Duration::from_secs(2);

pub struct ArgoCdSource {
    name: String,
    config: ArgoCdConfig,
    poll: Duration,
    stream_retry: Duration,
    client: Result<reqwest::Client, SourceError>,
    stream_client: Result<reqwest::Client, SourceError>,
    /// Argo CD's (or its proxy's) rate limit: nothing is read before a
    /// 429's reset.
    polite: Polite,
}

impl ArgoCdSource {
    pub fn new(name: &str, config: ArgoCdConfig, poll: Duration) -> Self {
        let options = HttpOptions {
            ca_file: config.ca_file.clone(),
            insecure: config.insecure,
            timeout: None,
            redirects: http::Redirects::Any,
        };
        ArgoCdSource {
            name: name.to_string(),
            client: http::client(&options),
            stream_client: http::stream_client(&options),
            config,
            poll,
            stream_retry: STREAM_RETRY_INTERVAL,
            polite: Polite::new(),
        }
    }

    /// Wait this long before the first reconnect of a broken stream.
    pub fn with_stream_retry(mut self, first: Duration) -> Self {
        self.stream_retry = first;
        self
    }

    pub fn config(&self) -> &ArgoCdConfig {
        &self.config
    }

    async fn token(&self) -> Result<SecretValue, String> {
        match &self.config.token {
            ArgoToken::Secret(secret) => secret
                .resolve()
                .await
                .map_err(|e| format!("cannot read the token: {e}")),
            ArgoToken::CliConfig(path) => cli_config::token(path, &self.config.url),
        }
    }

    /// A request to `path` (under the server URL) with the bearer token.
    async fn request(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, SourceError> {
        let token = self
            .token()
            .await
            .map_err(|e| SourceError::Auth(format!("{}: {e}", self.name)))?;
        let request = client.request(method, format!("{}{path}", self.config.url));
        Ok(http::bearer(request, &token))
    }

    /// After a 401: the token read again (a command runs again), if it changed.
    async fn renewed(&self, rejected: SecretValue) -> Option<SecretValue> {
        match &self.config.token {
            ArgoToken::Secret(secret) => secret.renew(&rejected).await.ok().flatten(),
            ArgoToken::CliConfig(_) => None,
        }
    }

    fn client(&self) -> Result<&reqwest::Client, SourceError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    /// GET a JSON document; `verb` is the RBAC action a 403 refused.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<T, SourceError> {
        self.polite.check(chrono::Utc::now())?;
        let (client, url) = (self.client()?, format!("{}{path}", self.config.url));
        let token =
            (self.token().await).map_err(|e| SourceError::Auth(format!("{}: {e}", self.name)))?;
        let (reply, _) = http::renewing(
            token,
            |token| http::reply(http::bearer(client.get(&url).query(query), &token)),
            |reply| reply.status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        self.polite
            .observe(reply.status, &reply.headers, &reply.path)?;
        if !reply.is_success() {
            return Err(self.read_error(&reply, what));
        }
        http::decode(&reply.body, what)
    }

    /// GET a JSON document that may be large (the application list),
    /// decoded as it arrives rather than read whole first.
    async fn get_large<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<T, SourceError> {
        self.polite.check(chrono::Utc::now())?;
        let (client, url) = (self.client()?, format!("{}{path}", self.config.url));
        let token =
            (self.token().await).map_err(|e| SourceError::Auth(format!("{}: {e}", self.name)))?;
        let (response, _) = http::renewing(
            token,
            |token| {
                let request = http::bearer(client.get(&url).query(query), &token);
                async move { request.send().await.map_err(http::transport_error) }
            },
            |response| response.status(),
            |rejected| self.renewed(rejected),
        )
        .await?;
        let path = response.url().path().to_string();
        self.polite
            .observe(response.status(), response.headers(), &path)?;
        if !response.status().is_success() {
            let reply = http::Reply::read(response).await?;
            return Err(self.read_error(&reply, what));
        }
        http::decode_streamed(response, what).await
    }

    /// A failed read in words naming the source and what Argo CD refused.
    fn read_error(&self, reply: &http::Reply, what: &str) -> SourceError {
        let message = argo_message(&reply.body);
        let words = match reply.status {
            StatusCode::UNAUTHORIZED => format!(
                "{}: Argo CD did not accept the token (401 reading {what}): {message} — \
                 log in again or set `token`",
                self.name
            ),
            StatusCode::FORBIDDEN => format!(
                "{}: Argo CD refused RBAC `get` on applications (403 reading {what}): {message}",
                self.name
            ),
            _ => return reply.status_error(),
        };
        http::read_error(reply.status, words)
    }

    /// The query selecting this source's apps.
    fn scope(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(project) = &self.config.project {
            query.push(("projects", project.clone()));
        }
        if let Some(selector) = &self.config.selector {
            query.push(("selector", selector.clone()));
        }
        query
    }

    /// List every app, mapped; with the list's resourceVersion (to start
    /// the watch from).
    pub async fn list(&self) -> Result<(Vec<GitOpsApp>, Option<String>), SourceError> {
        let mut query = self.scope();
        query.push(("fields", api::LIST_FIELDS.join(",")));
        let list: api::ApplicationList = self
            .get_large("/api/v1/applications", &query, "the application list")
            .await?;
        let mut apps: Vec<GitOpsApp> = list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|a| api::to_app(&self.name, a))
            .collect();
        apps.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((apps, list.metadata.resource_version))
    }

    fn app_path(app: &str) -> String {
        format!("/api/v1/applications/{}", http::path_segment(app))
    }

    /// Send one action request and map Argo CD's answer.
    async fn act(
        &self,
        action: &Action,
        method: Method,
        path: String,
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> Result<http::Reply, ActionError> {
        let client = self
            .client()
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        let token = self
            .token()
            .await
            .map_err(|e| ActionError::Rejected(format!("{}: {e}", self.name)))?;
        let url = format!("{}{path}", self.config.url);
        // A 401 changed nothing: the token is read again (a command runs
        // again) and the action sent once more, as for reads.
        let (reply, _) = http::renewing(
            token,
            |token| {
                let mut request =
                    http::bearer(client.request(method.clone(), &url).query(query), &token);
                if let Some(body) = &body {
                    request = request.json(body);
                }
                async move {
                    let response = http::send_action(request, |e| e.to_string()).await?;
                    http::Reply::read(response)
                        .await
                        .map_err(|e| ActionError::Lost(e.to_string()))
                }
            },
            |reply| reply.status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        if reply.is_success() {
            return Ok(reply);
        }
        Err(http::action_error(
            reply.status,
            self.action_error(action, &reply),
        ))
    }

    fn action_error(&self, action: &Action, reply: &http::Reply) -> String {
        let message = argo_message(&reply.body);
        let app = &action.target.id;
        match reply.status {
            StatusCode::UNAUTHORIZED => format!(
                "{}: Argo CD did not accept the token (401): {message} — log in again or set `token`",
                self.name
            ),
            StatusCode::FORBIDDEN => format!(
                "{}: Argo CD refused RBAC `{}` on applications/{app} (403): {message}",
                self.name,
                rbac_verb(action.kind)
            ),
            StatusCode::NOT_FOUND => format!(
                "{app} is gone from {} (404): {message} — it was deleted or renamed meanwhile",
                self.name
            ),
            _ if message.contains("auto-sync is enabled") => format!(
                "{message} — turn auto-sync off first (disable_auto_sync, confirmed and audited), \
                 or roll back by reverting the commit in Git"
            ),
            s => format!("{} on {}: {message}", s.as_u16(), reply.path),
        }
    }

    /// Drill-down of one app: its full object, tree, diff, revision authors.
    async fn load_detail(&self, app: &str) -> Result<AppDetail, SourceError> {
        let base = Self::app_path(app);
        let full: api::Application = self.get(&base, &[], "the application").await?;
        let mut detail = AppDetail {
            results: detail::results(&full),
            ..AppDetail::default()
        };
        let tree_path = format!("{base}/resource-tree");
        let managed_path = format!("{base}/managed-resources");
        let (tree, managed) = futures::join!(
            self.get::<api::ResourceTree>(&tree_path, &[], "the resource tree"),
            self.get::<api::ManagedResources>(&managed_path, &[], "the managed resources"),
        );
        match tree {
            Ok(t) => detail.tree = detail::tree(t),
            Err(e) => detail.problems.push(format!("resource tree: {e}")),
        }
        match managed {
            Ok(m) => detail.diffs = detail::diffs(m),
            Err(e) => detail.problems.push(format!("diff: {e}")),
        }
        let mut revisions: Vec<String> = full
            .status
            .history
            .iter()
            .filter_map(|h| h.revision.clone())
            .filter(|r| !r.is_empty())
            .collect();
        revisions.sort();
        revisions.dedup();
        let base = &base;
        let reads = revisions.iter().map(|rev| async move {
            let path = format!("{base}/revisions/{}/metadata", http::path_segment(rev));
            let read = self
                .get::<api::RevisionMetadata>(&path, &[], "the revision metadata")
                .await;
            (rev, read)
        });
        for (rev, read) in futures::future::join_all(reads).await {
            match read {
                Ok(m) => detail.revisions.push(detail::revision_info(rev, m)),
                Err(e) => detail.problems.push(format!("revision {rev}: {e}")),
            }
        }
        Ok(detail)
    }
}

/// Argo CD's own error words (`message`, else `error`, else the body).
fn argo_message(body: &[u8]) -> String {
    http::backend_words(body, &["message", "error"])
}

/// The RBAC action Argo CD checks for each action kind.
fn rbac_verb(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Refresh | ActionKind::HardRefresh => "get",
        ActionKind::DisableAutoSync => "update",
        _ => "sync",
    }
}

/// What a successful action reply says, in words.
fn accepted(action: &Action, reply: &http::Reply) -> String {
    let app: api::Application = serde_json::from_slice(&reply.body).unwrap_or_default();
    let phase = app
        .status
        .operation_state
        .and_then(|o| o.phase)
        .map(|p| format!(" (operation {p})"))
        .unwrap_or_default();
    match action.kind {
        ActionKind::Sync if action.sync.dry_run => format!("dry-run sync started{phase}"),
        ActionKind::Sync => format!("sync started{phase}"),
        ActionKind::Rollback => format!(
            "rollback to history #{} started{phase}",
            action.to.as_deref().unwrap_or("?")
        ),
        ActionKind::Refresh => "refresh requested".into(),
        ActionKind::HardRefresh => "hard refresh requested".into(),
        ActionKind::Terminate => "termination requested".into(),
        ActionKind::DisableAutoSync => "auto-sync is off".into(),
        _ => "done".into(),
    }
}

#[async_trait]
impl Source for ArgoCdSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::ARGOCD
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let (apps, _) = self.list().await?;
        Ok(Snapshot {
            apps,
            ..Snapshot::default()
        })
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        let path = Self::app_path(&action.target.id);
        let options = action.sync;
        let reply = match action.kind {
            ActionKind::Sync => {
                let body = serde_json::json!({
                    "prune": options.prune,
                    "dryRun": options.dry_run,
                });
                self.act(
                    action,
                    Method::POST,
                    format!("{path}/sync"),
                    &[],
                    Some(body),
                )
                .await?
            }
            ActionKind::Refresh | ActionKind::HardRefresh => {
                let how = if action.kind == ActionKind::HardRefresh {
                    "hard"
                } else {
                    "normal"
                };
                self.act(action, Method::GET, path, &[("refresh", how)], None)
                    .await?
            }
            ActionKind::Terminate => {
                self.act(
                    action,
                    Method::DELETE,
                    format!("{path}/operation"),
                    &[],
                    None,
                )
                .await?
            }
            ActionKind::Rollback => {
                let to = action.to.as_deref().unwrap_or("");
                let id: i64 = to.parse().map_err(|_| {
                    ActionError::Rejected(format!("history id `{to}` is not a number"))
                })?;
                let body = serde_json::json!({
                    "id": id,
                    "prune": options.prune,
                    "dryRun": options.dry_run,
                });
                self.act(
                    action,
                    Method::POST,
                    format!("{path}/rollback"),
                    &[],
                    Some(body),
                )
                .await?
            }
            ActionKind::DisableAutoSync => {
                let body = serde_json::json!({
                    "name": action.target.id,
                    "patch": r#"{"spec":{"syncPolicy":{"automated":null}}}"#,
                    "patchType": "merge",
                });
                self.act(action, Method::PATCH, path, &[], Some(body))
                    .await?
            }
            _ => return Err(ActionError::Unsupported(action.kind.verb())),
        };
        Ok(accepted(action, &reply))
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "Argo CD sources have no pipeline runs".into(),
        ))
    }

    async fn app_detail(&self, app: &str) -> Result<AppDetail, SourceError> {
        self.load_detail(app).await
    }

    fn warning(&self) -> Option<String> {
        self.config
            .insecure
            .then(|| "TLS NOT VERIFIED (insecure = true)".to_string())
    }

    async fn watch(
        &self,
        index: usize,
        tx: &tokio::sync::mpsc::Sender<super::SourceEvent>,
        wake: &tokio::sync::Notify,
    ) -> bool {
        watch::run(self, index, tx, wake).await;
        true
    }
}
