//! `kind = "kubeflow"`: Kubeflow Pipelines runs through the ml-pipeline
//! API (v2beta1) — read newest first, their task details for the
//! drill-down, and retry, terminate and new runs of a pipeline version.
//! The API serves no logs: the run's UI page is its link.

mod act;
pub mod api;
mod map;
mod params;
mod read;

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{RequestBuilder, StatusCode};

use super::http::{self, HttpOptions};
use super::polite::{Page, Polite};
use super::{ActionError, Source, SourceError};
use crate::config::{KubeflowConfig, SecretValue};
use crate::model::{Action, ActionKind, DispatchForm, Job, LogTail, Snapshot, Started};

/// The API's path under the configured address.
const API_ROOT: &str = "/apis/v2beta1";

pub struct KubeflowSource {
    name: String,
    config: KubeflowConfig,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    /// ETags and rate limits (a gateway in front of KFP may meter callers).
    polite: Polite,
    cache: Mutex<read::Cache>,
}

/// What a request was reading, for errors that say what was refused or missing.
#[derive(Clone, Debug)]
enum Reading {
    Runs,
    Run(String),
    Experiments,
    Pipeline(String),
    Version(String, String),
}

impl Reading {
    fn what(&self) -> String {
        match self {
            Reading::Runs => "the runs".into(),
            Reading::Run(id) => format!("run {id}"),
            Reading::Experiments => "the experiments".into(),
            Reading::Pipeline(id) => format!("pipeline {id}"),
            Reading::Version(p, v) => format!("version {v} of pipeline {p}"),
        }
    }
}

impl KubeflowSource {
    pub fn new(name: &str, config: KubeflowConfig, poll: Duration) -> Self {
        let options = HttpOptions {
            ca_file: config.ca_file.clone(),
            insecure: config.insecure,
            timeout: Some(config.timeout),
            // The bearer token: reqwest drops it on the way to another host.
            redirects: http::Redirects::Any,
        };
        KubeflowSource {
            name: name.to_string(),
            client: http::client(&options),
            config,
            poll,
            polite: Polite::new(),
            cache: Mutex::new(read::Cache::default()),
        }
    }

    pub fn config(&self) -> &KubeflowConfig {
        &self.config
    }

    fn api(&self, rest: &str) -> String {
        format!("{}{API_ROOT}{rest}", self.config.url)
    }

    fn client(&self) -> Result<&reqwest::Client, SourceError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, read::Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bearer token, read now (`None`: no `token` configured).
    async fn token(&self) -> Result<Option<SecretValue>, SourceError> {
        let Some(secret) = &self.config.token else {
            return Ok(None);
        };
        secret.resolve().await.map(Some).map_err(|e| {
            SourceError::Auth(format!(
                "{}: cannot read the token from {}: {e}",
                self.name,
                secret.origin()
            ))
        })
    }

    /// After a 401 with `rejected`: the token read again (a command runs
    /// again), if it changed.
    async fn renewed(&self, rejected: Option<SecretValue>) -> Option<Option<SecretValue>> {
        let (Some(secret), Some(rejected)) = (&self.config.token, rejected) else {
            return None;
        };
        secret.renew(&rejected).await.ok().flatten().map(Some)
    }

    fn authorized(request: RequestBuilder, token: &Option<SecretValue>) -> RequestBuilder {
        match token {
            Some(token) => http::bearer(request, token),
            None => request,
        }
    }

    /// GET `rest` under the API root; a refusal becomes an error naming
    /// what was read. A 401 renews the token once (the kit's rule).
    async fn get(
        &self,
        rest: &str,
        query: &[(&str, String)],
        reading: &Reading,
    ) -> Result<Page, SourceError> {
        let reply = self.answer(rest, query).await?;
        if !reply.is_success() {
            return Err(self.read_error(&reply, reading));
        }
        Ok(reply)
    }

    /// GET and decode what may be gone: `None` on a 404.
    async fn get_found<T: serde::de::DeserializeOwned>(
        &self,
        rest: &str,
        reading: &Reading,
    ) -> Result<Option<T>, SourceError> {
        let reply = self.answer(rest, &[]).await?;
        match reply.status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                http::decode(&reply.body, &format!("{}: {}", self.name, reply.path)).map(Some)
            }
            _ => Err(self.read_error(&reply, reading)),
        }
    }

    /// The answer to a polite GET, whatever its status (a rate limit is an
    /// error, and holds back what follows).
    async fn answer(&self, rest: &str, query: &[(&str, String)]) -> Result<Page, SourceError> {
        let token = self.token().await?;
        let request = self.client()?.get(self.api(rest)).query(query);
        let (reply, _) = http::renewing(
            token,
            |token| {
                let request = http::copy(&request).map(|r| Self::authorized(r, &token));
                let credential = token.as_ref().map(|t| t.expose().to_string());
                async move {
                    (self.polite.get(request?, credential.as_deref()).await)
                        .map_err(|e| self.named(e))
                }
            },
            |reply| reply.status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        Ok(reply)
    }

    /// GET and decode a JSON answer.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        rest: &str,
        query: &[(&str, String)],
        reading: &Reading,
    ) -> Result<T, SourceError> {
        let reply = self.get(rest, query, reading).await?;
        http::decode(&reply.body, &format!("{}: {}", self.name, reply.path))
    }

    /// Transport errors with this source's name, timeouts with its own limit.
    fn named(&self, e: SourceError) -> SourceError {
        match http::own_timeout(e, self.config.timeout) {
            SourceError::Unreachable(why) => {
                SourceError::Unreachable(format!("{} ({}): {why}", self.name, self.config.url))
            }
            other => other,
        }
    }

    /// What to do about a 401: check the token, or configure one.
    fn token_hint(&self) -> String {
        match &self.config.token {
            Some(secret) => format!(
                "check the token from {} (expired? for a service account token, its audience \
                 must be pipelines.kubeflow.org)",
                secret.origin()
            ),
            None => "this API wants a token: set `token` (e.g. { command = \"kubectl create \
                     token default-editor -n NAMESPACE --audience pipelines.kubeflow.org\" })"
                .into(),
        }
    }

    /// A failed read in words: who refused what, and what to do next.
    fn read_error(&self, reply: &Page, reading: &Reading) -> SourceError {
        let message = api::message(&reply.body);
        let name = &self.name;
        let code = reply.status.as_u16();
        let what = reading.what();
        let words = match reply.status {
            StatusCode::UNAUTHORIZED => format!(
                "{name}: the KFP API refused the credentials ({code} on {}: {message}) — {}",
                reply.path,
                self.token_hint()
            ),
            StatusCode::FORBIDDEN => format!(
                "{name}: not allowed to read {what} ({code} on {}: {message}) — the token's \
                 account needs access to {} (a RoleBinding to kubeflow-view or kubeflow-edit)",
                reply.path,
                self.config
                    .namespace
                    .as_deref()
                    .map_or("the namespace".to_string(), |ns| format!("namespace {ns}"))
            ),
            StatusCode::NOT_FOUND if matches!(reading, Reading::Runs | Reading::Experiments) => {
                format!(
                    "{name}: no KFP v2beta1 API at {}{API_ROOT} ({code} on {}: {message}) — \
                     check `url` (the ml-pipeline API, or the Kubeflow host with /pipeline)",
                    self.config.url, reply.path
                )
            }
            StatusCode::NOT_FOUND => {
                format!(
                    "{name}: {what} not found ({code} on {}: {message}) — deleted?",
                    reply.path
                )
            }
            _ if self.config.namespace.is_none() && message.contains("namespace") => format!(
                "{name}: {code} on {}: {message} — in multi-user mode set `namespace` to your \
                 profile's namespace",
                reply.path
            ),
            _ => format!("{name}: {code} on {}: {message}", reply.path),
        };
        http::read_error(reply.status, words)
    }
}

#[async_trait]
impl Source for KubeflowSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::KUBEFLOW
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    fn fetch_timeout(&self) -> Duration {
        self.config.timeout * super::READ_TIMEOUT_FACTOR
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        self.read().await
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        self.act(action).await
    }

    async fn start_run(&self, action: &Action) -> Result<Started, ActionError> {
        match action.kind {
            ActionKind::Dispatch => self.create(action).await,
            _ => self
                .execute(action)
                .await
                .map(|message| Started { message, run: None }),
        }
    }

    async fn run_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        let run: api::Run = self
            .get_json(
                &format!("/runs/{}", http::path_segment(run_id)),
                &[],
                &Reading::Run(run_id.to_string()),
            )
            .await?;
        Ok(map::to_jobs(&run))
    }

    async fn job_log(&self, run_id: &str, _job_id: &str) -> Result<LogTail, SourceError> {
        Err(SourceError::Unsupported(format!(
            "the Kubeflow Pipelines API serves no logs: open the run in the KFP UI, {}",
            map::run_link(&self.config.ui_url, run_id)
        )))
    }

    async fn dispatch_form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        self.form(pipeline).await
    }

    fn location(&self) -> Option<String> {
        Some(self.config.url.clone())
    }

    fn warning(&self) -> Option<String> {
        self.config
            .insecure
            .then(|| "TLS NOT VERIFIED (insecure = true)".to_string())
    }
}
