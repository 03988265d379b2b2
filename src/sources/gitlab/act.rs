//! Actions on pipelines: retry (GitLab re-runs the failed and canceled
//! jobs), cancel, a new pipeline on the same ref (GitLab cannot re-run a
//! whole pipeline in place), and a new pipeline with variables; and the
//! form a new pipeline is started from.

use reqwest::{Method, StatusCode};

use super::api::{self, PipelineReply, Project};
use super::{GitlabSource, Reading};
use crate::model::{Action, ActionKind, DispatchForm};
use crate::sources::http::{self, transport_error};
use crate::sources::{ActionError, SourceError};

/// What an action asks GitLab for, in words for its errors.
struct Ask {
    /// "retry pipeline #12"
    what: String,
    /// What a 404 means.
    missing: String,
}

impl GitlabSource {
    pub(super) async fn act(&self, action: &Action) -> Result<String, ActionError> {
        let base = self.project_url();
        match action.kind {
            ActionKind::RerunFailed | ActionKind::Cancel => {
                let id = Self::pipeline_id(&action.target.id).map_err(ActionError::Rejected)?;
                let (verb, done) = if action.kind == ActionKind::Cancel {
                    ("cancel", "cancel requested")
                } else {
                    ("retry", "retried: its failed and canceled jobs run again")
                };
                let ask = Ask {
                    what: format!("{verb} pipeline #{id}"),
                    missing: format!("pipeline #{id} of {}", self.config.project),
                };
                let reply = self
                    .post(&format!("{base}/pipelines/{id}/{verb}"), &[], None, &ask)
                    .await?;
                Ok(format!("pipeline #{id} {done}{}", status_words(&reply)))
            }
            ActionKind::Rerun => {
                let id = Self::pipeline_id(&action.target.id).map_err(ActionError::Rejected)?;
                let git_ref = self.ref_of(id).await.map_err(|e| {
                    ActionError::Rejected(format!(
                        "cannot tell which ref pipeline #{id} ran on: {e}"
                    ))
                })?;
                let ask = Ask {
                    what: format!("start a new pipeline on {git_ref} (a re-run of #{id})"),
                    missing: format!("project {} or ref {git_ref}", self.config.project),
                };
                let reply = self
                    .post(
                        &format!("{base}/pipeline"),
                        &[("ref", git_ref.as_str())],
                        None,
                        &ask,
                    )
                    .await?;
                Ok(format!(
                    "new pipeline {} on {git_ref}, a re-run of #{id}{}",
                    reply.id.map_or("?".into(), |n| format!("#{n}")),
                    status_words(&reply)
                ))
            }
            ActionKind::Dispatch => {
                if action.target.id != self.config.project {
                    return Err(ActionError::Rejected(format!(
                        "{} starts pipelines of {} only, not of {}",
                        self.name, self.config.project, action.target.id
                    )));
                }
                let git_ref = match action
                    .to
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                {
                    Some(r) => r.to_string(),
                    None => {
                        self.default_ref()
                            .await
                            .map_err(|e| ActionError::Rejected(e.to_string()))?
                            .0
                    }
                };
                let variables: Vec<serde_json::Value> = action
                    .inputs
                    .iter()
                    .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
                    .collect();
                let body = serde_json::json!({"ref": git_ref, "variables": variables});
                let ask = Ask {
                    what: format!("start a pipeline of {} on {git_ref}", self.config.project),
                    missing: format!("project {} or ref {git_ref}", self.config.project),
                };
                let reply = self
                    .post(&format!("{base}/pipeline"), &[], Some(body), &ask)
                    .await?;
                Ok(format!(
                    "pipeline {} started on {git_ref}{}",
                    reply.id.map_or("?".into(), |n| format!("#{n}")),
                    status_words(&reply)
                ))
            }
            _ => Err(ActionError::Unsupported(
                "do that to a GitLab pipeline (retry, cancel, re-run and new pipelines only)",
            )),
        }
    }

    /// The ref a pipeline ran on: from the last read, else asked.
    async fn ref_of(&self, id: u64) -> Result<String, SourceError> {
        if let Some(git_ref) = self.state().git_ref(id) {
            return Ok(git_ref);
        }
        let token = self.token().await?;
        let url = format!("{}/pipelines/{id}", self.project_url());
        let pipeline: PipelineReply = self
            .get_json(&url, &[], &token, Reading::Pipeline(id))
            .await?;
        pipeline
            .git_ref
            .filter(|r| !r.is_empty())
            .ok_or_else(|| SourceError::Decode(format!("pipeline #{id} names no ref")))
    }

    /// The ref new pipelines run on: the configured `ref`, else the
    /// project's default branch (then with the project's path).
    async fn default_ref(&self) -> Result<(String, Option<String>), SourceError> {
        if let Some(git_ref) = &self.config.git_ref {
            return Ok((git_ref.clone(), None));
        }
        let token = self.token().await?;
        let project: Project = self
            .get_json(&self.project_url(), &[], &token, Reading::Project)
            .await?;
        match project.default_branch.filter(|b| !b.is_empty()) {
            Some(branch) => Ok((branch, project.path_with_namespace)),
            None => Err(SourceError::Backend(format!(
                "{}: project {} has no default branch (is its repository empty?): set `ref`",
                self.name, self.config.project
            ))),
        }
    }

    /// The form a new pipeline starts from: the ref pre-filled, variables
    /// free-form (GitLab declares none up front).
    pub(super) async fn form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        if pipeline != self.config.project {
            return Err(SourceError::Unsupported(format!(
                "{} starts pipelines of {} only, not of {pipeline}",
                self.name, self.config.project
            )));
        }
        let (git_ref, path) = self.default_ref().await?;
        Ok(DispatchForm {
            pipeline: self.config.project.clone(),
            name: self
                .project_path()
                .map(str::to_string)
                .or(path)
                .unwrap_or_else(|| format!("project {}", self.config.project)),
            git_ref: Some(git_ref),
            inputs: Vec::new(),
            free_inputs: true,
        })
    }

    /// POST and read GitLab's answer; a refusal in GitLab's own words.
    async fn post(
        &self,
        url: &str,
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
        ask: &Ask,
    ) -> Result<PipelineReply, ActionError> {
        let rejected = |e: SourceError| ActionError::Rejected(e.to_string());
        let token = self.token().await.map_err(rejected)?;
        self.polite.check(chrono::Utc::now()).map_err(rejected)?;
        let mut request = self
            .request(Method::POST, url, &token)
            .map_err(rejected)?
            .query(query);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response =
            http::send_action(request, |e| format!("{}: {}", ask.what, self.named(e))).await?;
        let status = response.status();
        let path = response.url().path().to_string();
        self.polite
            .observe(status, response.headers(), &path)
            .map_err(|e| ActionError::Rejected(format!("{}: {e}", ask.what)))?;
        let bytes = response.bytes().await.map_err(|e| {
            ActionError::Lost(format!(
                "{}: the answer broke off: {}",
                ask.what,
                transport_error(e)
            ))
        })?;
        if status.is_success() {
            return Ok(serde_json::from_slice(&bytes).unwrap_or_default());
        }
        let message = api::message(&bytes);
        let (name, code, what) = (&self.name, status.as_u16(), &ask.what);
        let words = match status {
            StatusCode::UNAUTHORIZED => format!(
                "{name}: token rejected by GitLab ({code}: {message}) — check the token from {}",
                &self.config.token.origin()
            ),
            StatusCode::FORBIDDEN => format!(
                "{name}: GitLab refused to {what} ({code}: {message}) — the token needs the api \
                 scope and Developer access, or the pipeline's state does not allow it"
            ),
            StatusCode::NOT_FOUND => format!(
                "{name}: cannot {what}: GitLab found no {} ({code}: {message})",
                ask.missing
            ),
            s if s.is_server_error() => format!(
                "{name}: GitLab failed while asked to {what} ({code}: {message}); it may or may \
                 not have happened"
            ),
            _ => format!("{name}: GitLab refused to {what} ({code}: {message})"),
        };
        Err(http::action_error(status, words))
    }
}

/// " (now running)", from the pipeline GitLab sent back.
fn status_words(reply: &PipelineReply) -> String {
    reply
        .status
        .as_deref()
        .map(|s| format!(" (now {s})"))
        .unwrap_or_default()
}
