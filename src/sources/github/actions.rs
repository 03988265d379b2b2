//! The actions GitHub offers on runs and workflows: re-run (all or failed
//! jobs), cancel, force-cancel, and a new run by hand (workflow dispatch).
//! Every answer's rate-limit headers are read; while rate limited nothing
//! is sent.

use reqwest::{Method, StatusCode};

use super::GithubSource;
use super::token::Token;
use crate::model::{Action, ActionKind};
use crate::sources::ActionError;
use crate::sources::http::{self, transport_error};

/// What an action reply said (status and GitHub's words).
struct Reply {
    status: StatusCode,
    path: String,
    body: Vec<u8>,
}

impl GithubSource {
    pub(super) async fn act(&self, action: &Action) -> Result<String, ActionError> {
        let rejected = |e: crate::sources::SourceError| ActionError::Rejected(e.to_string());
        self.polite
            .check(chrono::Utc::now())
            .map_err(|e| ActionError::Rejected(format!("{}: {e}; nothing was sent", self.name)))?;
        let token = self.token().await.map_err(rejected)?;
        let id = super::http::path_segment(&action.target.id);
        let run = |tail: &str| self.repo_url(&format!("/actions/runs/{id}/{tail}"));
        let (url, body, git_ref) = match action.kind {
            ActionKind::Rerun => (run("rerun"), None, None),
            ActionKind::RerunFailed => (run("rerun-failed-jobs"), None, None),
            ActionKind::Cancel => (run("cancel"), None, None),
            ActionKind::ForceCancel => (run("force-cancel"), None, None),
            ActionKind::Dispatch => {
                let git_ref = match &action.to {
                    Some(r) => r.clone(),
                    None => match &self.config.branch {
                        Some(b) => b.clone(),
                        None => self.default_branch(&token).await.map_err(rejected)?,
                    },
                };
                let mut body = serde_json::json!({ "ref": &git_ref });
                if !action.inputs.is_empty() {
                    let inputs: serde_json::Map<String, serde_json::Value> = action
                        .inputs
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect();
                    body["inputs"] = serde_json::Value::Object(inputs);
                }
                let url = self.repo_url(&format!("/actions/workflows/{id}/dispatches"));
                (url, Some(body), Some(git_ref))
            }
            _ => return Err(ActionError::Unsupported(action.kind.verb())),
        };
        let reply = self.send(&url, body.as_ref(), &token).await?;
        if reply.status.is_success() {
            return Ok(done(action, &reply, git_ref.as_deref()));
        }
        Err(self.action_error(action, &reply, &token))
    }

    async fn send(
        &self,
        url: &str,
        body: Option<&serde_json::Value>,
        token: &Token,
    ) -> Result<Reply, ActionError> {
        let mut request = self
            .request(Method::POST, url, token)
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = http::send_action(request, |e| {
            format!("{}: {}", self.name, self.own_timeout(e))
        })
        .await?;
        let status = response.status();
        let path = response.url().path().to_string();
        // A rate-limited answer means GitHub did nothing; later ones wait.
        self.polite
            .observe(status, response.headers(), &path)
            .map_err(|e| ActionError::Rejected(format!("{}: {e}; nothing was done", self.name)))?;
        let body = response
            .bytes()
            .await
            .map_err(|e| ActionError::Lost(format!("{}: {}", self.name, transport_error(e))))?
            .to_vec();
        Ok(Reply { status, path, body })
    }

    fn action_error(&self, action: &Action, reply: &Reply, token: &Token) -> ActionError {
        let message = super::api::message(&reply.body);
        let (name, path, code) = (&self.name, &reply.path, reply.status.as_u16());
        let target = match action.kind {
            ActionKind::Dispatch => format!("workflow {}", action.target.id),
            _ => format!("run {}", action.target.id),
        };
        let verb = action.kind.verb();
        let words = match reply.status {
            StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                format!("{name}: GitHub refused to {verb} {target} ({code}): {message}")
            }
            StatusCode::UNAUTHORIZED => format!(
                "{name}: token rejected by GitHub (401 on {path}: {message}); the token came \
                 from {} — renew it or point `token` at a valid one",
                token.origin
            ),
            StatusCode::FORBIDDEN => format!(
                "{name}: no permission to {verb} {target} in {} (403 on {path}: {message}) — \
                 the token needs Actions: write (fine-grained) or the `repo` scope (classic)",
                self.config.repo
            ),
            StatusCode::NOT_FOUND => format!(
                "{name}: {target} not found in {} (404 on {path}): {message}",
                self.config.repo
            ),
            _ => format!("{name}: GitHub answered {code} on {path}: {message}"),
        };
        http::action_error(reply.status, words)
    }
}

/// What GitHub accepted, in words.
fn done(action: &Action, reply: &Reply, git_ref: Option<&str>) -> String {
    let code = reply.status.as_u16();
    match action.kind {
        ActionKind::Rerun => format!("re-run requested ({code})"),
        ActionKind::RerunFailed => format!("re-run of the failed jobs requested ({code})"),
        ActionKind::Cancel => format!("cancel requested ({code})"),
        ActionKind::ForceCancel => format!("force-cancel requested ({code})"),
        ActionKind::Dispatch => {
            let on = git_ref.map(|r| format!(" on {r}")).unwrap_or_default();
            // With `return_run_details`, GitHub names the new run.
            let details: Option<serde_json::Value> = serde_json::from_slice(&reply.body).ok();
            match details
                .as_ref()
                .and_then(|d| Some((d.get("workflow_run_id")?, d.get("html_url")?.as_str()?)))
            {
                Some((id, url)) => format!("run {id} started{on}: {url}"),
                None => format!(
                    "new run of workflow {} requested{on} ({code})",
                    action.target.id
                ),
            }
        }
        _ => format!("done ({code})"),
    }
}
