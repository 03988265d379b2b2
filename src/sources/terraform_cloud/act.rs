//! Actions: a refresh-only run ("check for drift"), a plan with a message,
//! apply, discard or cancel a run, lock and unlock a workspace — each one
//! POST, answered 201/200/202; 404 means not found or not allowed, 409 that
//! the run or workspace is not in a state for it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{JSON_API, TerraformCloudSource, api};
use crate::model::{Action, ActionKind, DispatchForm, FormInput, Operator};
use crate::sources::ActionError;
use crate::sources::http;

/// The form a plan is started from: its message.
pub fn plan_form(workspace: &str) -> DispatchForm {
    DispatchForm {
        pipeline: workspace.to_string(),
        name: workspace.to_string(),
        git_ref: None,
        inputs: vec![FormInput {
            name: "message".into(),
            default: "Queued by opsdeck".into(),
            description: "the run's message, shown in HCP Terraform".into(),
            choices: Vec::new(),
            required: false,
        }],
        free_inputs: false,
    }
}

impl TerraformCloudSource {
    pub(super) async fn act(&self, action: &Action) -> Result<String, ActionError> {
        let who = Operator::current().user;
        let id = action.target.id.as_str();
        match action.kind {
            ActionKind::CheckDrift | ActionKind::Dispatch => {
                let ws = self
                    .workspace_id(id)
                    .await
                    .map_err(|e| ActionError::Rejected(e.to_string()))?;
                let refresh_only = action.kind == ActionKind::CheckDrift;
                let message = match action.inputs.iter().find(|(k, _)| k == "message") {
                    Some((_, m)) if !m.trim().is_empty() => m.trim().to_string(),
                    _ if refresh_only => format!("Drift check queued by {who} with opsdeck"),
                    _ => format!("Plan queued by {who} with opsdeck"),
                };
                let body = json!({"data": {
                    "type": "runs",
                    "attributes": {
                        "message": message,
                        "refresh-only": refresh_only,
                        "auto-apply": false,
                    },
                    "relationships": {"workspace": {"data": {"type": "workspaces", "id": ws}}},
                }});
                let what = if refresh_only {
                    format!("start a refresh-only run of workspace {id}")
                } else {
                    format!("start a plan of workspace {id}")
                };
                let reply = self.post(&self.api("/runs"), Some(body), &what).await?;
                let run = serde_json::from_slice::<api::Document<api::Resource>>(&reply)
                    .map(|d| d.data.id)
                    .unwrap_or_else(|_| "?".into());
                Ok(format!("run {run} queued on {id}: \"{message}\""))
            }
            ActionKind::Apply | ActionKind::Discard | ActionKind::Cancel => {
                let verb = match action.kind {
                    ActionKind::Apply => "apply",
                    ActionKind::Discard => "discard",
                    _ => "cancel",
                };
                let url = self.api(&format!("/runs/{}/actions/{verb}", http::path_segment(id)));
                let body = json!({"comment": format!("{verb} by {who} with opsdeck")});
                self.post(&url, Some(body), &format!("{verb} run {id}"))
                    .await?;
                Ok(format!(
                    "{verb} of {id} accepted (the service carries it out shortly)"
                ))
            }
            ActionKind::Lock | ActionKind::Unlock => {
                let ws = self
                    .workspace_id(id)
                    .await
                    .map_err(|e| ActionError::Rejected(e.to_string()))?;
                let (verb, body) = if action.kind == ActionKind::Lock {
                    (
                        "lock",
                        Some(json!({"reason": format!("Locked by {who} with opsdeck")})),
                    )
                } else {
                    ("unlock", None)
                };
                let url = self.api(&format!("/workspaces/{ws}/actions/{verb}"));
                self.post(&url, body, &format!("{verb} workspace {id}"))
                    .await?;
                Ok(format!("workspace {id} {verb}ed"))
            }
            _ => Err(ActionError::Unsupported(
                "do that to a Terraform workspace or run (check for drift, plan, apply, discard, \
                 cancel, lock and unlock only)",
            )),
        }
    }

    /// One POST; a refusal in words (404: not found or not allowed; 409:
    /// not in a state for it). The rate-limit headers are read here too.
    async fn post(
        &self,
        url: &str,
        body: Option<serde_json::Value>,
        what: &str,
    ) -> Result<Vec<u8>, ActionError> {
        let token = self
            .token()
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        let mut request = self
            .request(Method::POST, url, &token)
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, JSON_API)
                .body(body.to_string());
        }
        let name = &self.name;
        let response = http::send_action(request, |e| format!("{name}: {what}: {e}")).await?;
        let status = response.status();
        let path = response.url().path().to_string();
        let limited = self.polite.observe(status, response.headers(), &path);
        let bytes = response.bytes().await.map_err(|e| {
            ActionError::Lost(format!("{name}: {what}: the answer was cut off: {e}"))
        })?;
        if let Err(e) = limited {
            return Err(ActionError::Rejected(format!("{name}: {what}: {e}")));
        }
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let message = api::message(&bytes);
        let code = status.as_u16();
        let words = match status {
            StatusCode::NOT_FOUND => format!(
                "{name}: {what}: not found or not allowed ({code}: {message}) — organization \
                 tokens cannot queue, apply, discard or cancel runs: use a user or team token"
            ),
            StatusCode::CONFLICT => {
                format!("{name}: {what}: refused, not in a state for it ({code}: {message})")
            }
            StatusCode::UNAUTHORIZED => format!(
                "{name}: {what}: token rejected ({code}: {message}) — check the token from {}",
                self.token_origin()
            ),
            _ => format!("{name}: {what}: {code}: {message}"),
        };
        Err(http::action_error(status, words))
    }
}
