//! `kind = "airflow"`: Apache Airflow 3 DAG runs through the REST API v2 —
//! runs of the DAGs asked for, their task instances for the drill-down, a
//! task's log tail, and the actions Airflow has: clear (re-run), mark
//! failed (its only cancel), trigger with conf, pause and unpause.

mod act;
pub mod api;
mod auth;
mod log;
mod read;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;

use super::http::{self, HttpOptions, Reply};
use super::polite::Polite;
use super::{ActionError, Source, SourceError};
use crate::config::{AirflowConfig, SecretValue};
use crate::model::{Action, ActionKind, DispatchForm, Job, LogTail, Snapshot, Started};

pub struct AirflowSource {
    name: String,
    config: AirflowConfig,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    /// The JWT a login gave, kept until a 401 (one login at a time).
    jwt: tokio::sync::Mutex<Option<SecretValue>>,
    /// A 429 (from Airflow or a proxy in front) holds every request until
    /// its reset. Airflow sends no ETags: nothing is cached.
    polite: Polite,
}

/// What a request was about, for errors that name what was refused or
/// missing (a 403 names the permission, a 404 the DAG or run).
#[derive(Clone, Debug)]
pub(crate) enum Reading<'a> {
    Dags,
    Runs(&'a str),
    Tasks(&'a str, &'a str),
    Log(&'a str, &'a str, &'a str),
    Details(&'a str),
    Clear(&'a str, &'a str),
    MarkFailed(&'a str, &'a str),
    Trigger(&'a str),
    Pause(&'a str),
}

impl Reading<'_> {
    /// What was asked, in words: "read the runs of DAG etl".
    fn what(&self) -> String {
        match self {
            Reading::Dags => "list the DAGs".into(),
            Reading::Runs(dag) => format!("read the runs of DAG {dag}"),
            Reading::Tasks(dag, run) => format!("read the task instances of run {dag}/{run}"),
            Reading::Log(dag, run, task) => format!("read the log of task {task} of {dag}/{run}"),
            Reading::Details(dag) => format!("read the details (params) of DAG {dag}"),
            Reading::Clear(dag, run) => format!("clear task instances of run {dag}/{run}"),
            Reading::MarkFailed(dag, run) => format!("mark run {dag}/{run} failed"),
            Reading::Trigger(dag) => format!("trigger a run of DAG {dag}"),
            Reading::Pause(dag) => format!("pause or unpause DAG {dag}"),
        }
    }

    /// The Airflow permission it needs (resource and method, as the auth
    /// managers name them).
    fn permission(&self) -> &'static str {
        match self {
            Reading::Dags | Reading::Details(_) => "GET on DAG",
            Reading::Runs(_) => "GET on DAG Run",
            Reading::Tasks(..) => "GET on Task Instance",
            Reading::Log(..) => "GET on Task Logs",
            Reading::Clear(..) => "PUT on Task Instance (clear)",
            Reading::MarkFailed(..) => "PUT on DAG Run",
            Reading::Trigger(_) => "POST on DAG Run",
            Reading::Pause(_) => "PUT on DAG",
        }
    }

    /// What a 404 means here.
    fn missing(&self) -> String {
        match self {
            Reading::Dags => "the DAG list".into(),
            Reading::Runs(dag) | Reading::Details(dag) | Reading::Trigger(dag) => {
                format!("DAG {dag}")
            }
            Reading::Pause(dag) => format!("DAG {dag}"),
            Reading::Tasks(dag, run) | Reading::Clear(dag, run) | Reading::MarkFailed(dag, run) => {
                format!("run {run} of DAG {dag}")
            }
            Reading::Log(dag, run, task) => format!("task {task} of run {dag}/{run}"),
        }
    }
}

/// A URL path segment: run ids carry `:` and `+`.
pub(crate) fn segment(text: &str) -> String {
    http::path_segment(text)
}

impl AirflowSource {
    pub fn new(name: &str, config: AirflowConfig, poll: Duration) -> Self {
        let options = HttpOptions {
            timeout: Some(config.http.timeout),
            ..http::options(&config.http)
        };
        AirflowSource {
            name: name.to_string(),
            client: http::client(&options),
            config,
            poll,
            jwt: tokio::sync::Mutex::new(None),
            polite: Polite::new(),
        }
    }

    pub fn config(&self) -> &AirflowConfig {
        &self.config
    }

    fn client(&self) -> Result<&reqwest::Client, SourceError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    /// `…/api/v2` followed by `path`.
    fn api(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.config.http.url)
    }

    /// `DAG_ID/RUN_ID` back into its parts.
    fn split_run(run_id: &str) -> Result<(&str, &str), String> {
        run_id
            .split_once('/')
            .filter(|(dag, run)| !dag.is_empty() && !run.is_empty())
            .ok_or_else(|| format!("`{run_id}` is not an Airflow run (DAG_ID/RUN_ID)"))
    }

    /// Transport errors with this source's name, timeouts with its own limit.
    fn named(&self, e: SourceError) -> SourceError {
        match http::own_timeout(e, self.config.http.timeout) {
            SourceError::Unreachable(why) => {
                SourceError::Unreachable(format!("{} ({}): {why}", self.name, self.config.http.url))
            }
            other => other,
        }
    }

    /// A refused request in words: who refused what, in Airflow's own
    /// words, and what to do next.
    fn words(&self, reply: &Reply, reading: &Reading<'_>) -> String {
        let said = api::message(&reply.body);
        let name = &self.name;
        let code = reply.status.as_u16();
        match reply.status {
            StatusCode::UNAUTHORIZED => format!(
                "{name}: Airflow refused the token ({code} on {}: {said}) — {}",
                reply.path,
                match &self.config.http.auth {
                    crate::config::HttpAuth::Bearer(t) =>
                        format!("check the token from {} (expired?)", t.origin()),
                    _ => "the login was renewed once and still refused".to_string(),
                }
            ),
            StatusCode::FORBIDDEN => format!(
                "{name}: not allowed to {} ({code} on {}: {said}) — the user needs the \
                 permission {} (the simple auth manager's `user` role or above to act, \
                 `viewer` to read)",
                reading.what(),
                reply.path,
                reading.permission()
            ),
            StatusCode::NOT_FOUND => format!(
                "{name}: {} not found ({code} on {}: {said})",
                reading.missing(),
                reply.path
            ),
            StatusCode::CONFLICT => format!(
                "{name}: cannot {} ({code} on {}: {said}) — a run with this run id or logical \
                 date exists already",
                reading.what(),
                reply.path
            ),
            _ => format!(
                "{name}: cannot {} ({code} on {}: {said})",
                reading.what(),
                reply.path
            ),
        }
    }

    /// A failed read as an error.
    fn read_error(&self, reply: &Reply, reading: &Reading<'_>) -> SourceError {
        http::read_error(reply.status, self.words(reply, reading))
    }

    /// A refused action as an error (a server error leaves it unknown).
    fn action_error(&self, reply: &Reply, reading: &Reading<'_>) -> ActionError {
        http::action_error(reply.status, self.words(reply, reading))
    }

    /// A successful answer decoded, or the refusal in words.
    fn decoded<T: serde::de::DeserializeOwned>(
        &self,
        reply: &Reply,
        reading: &Reading<'_>,
    ) -> Result<T, SourceError> {
        if !reply.is_success() {
            return Err(self.read_error(reply, reading));
        }
        http::decode(&reply.body, &format!("{}: {}", self.name, reply.path))
    }
}

#[async_trait]
impl Source for AirflowSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::AIRFLOW
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    fn fetch_timeout(&self) -> Duration {
        self.config.http.timeout * super::READ_TIMEOUT_FACTOR
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        self.read().await
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        self.act(action).await
    }

    async fn start_run(&self, action: &Action) -> Result<Started, ActionError> {
        match action.kind {
            ActionKind::Dispatch => self.trigger(&action.target.id, &action.inputs).await,
            _ => self
                .execute(action)
                .await
                .map(|message| Started { message, run: None }),
        }
    }

    async fn run_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        let (dag, run) = Self::split_run(run_id).map_err(SourceError::Backend)?;
        Ok(api::to_jobs(self.tasks(dag, run).await?))
    }

    async fn job_log(&self, run_id: &str, job_id: &str) -> Result<LogTail, SourceError> {
        self.log_tail(run_id, job_id).await
    }

    async fn dispatch_form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        self.form(pipeline).await
    }

    fn location(&self) -> Option<String> {
        Some(self.config.http.url.clone())
    }

    fn warning(&self) -> Option<String> {
        self.config
            .http
            .insecure
            .then(|| "TLS NOT VERIFIED (insecure = true)".to_string())
    }
}
