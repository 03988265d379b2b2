//! `kind = "jenkins"`: builds of the configured Jenkins jobs (folders
//! allowed) and what waits in the queue for them, read with `tree=`
//! selections only; Pipeline stages and console tails for the drill-down;
//! new builds (with parameters), re-runs and stops.

mod actions;
pub mod api;
mod errors;
mod log;
pub mod map;

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::http;
use super::polite::{Page, Polite};
use super::{ActionError, Source, SourceError};
use crate::config::{JenkinsConfig, SecretValue};
use crate::model::{Action, DispatchForm, Job, LogTail, PipelineRun, RunStatus, Snapshot};
use api::{BuildJson, JobJson, QueueJson, job_url_path};
use errors::Subject;
use map::JobRef;

/// A dispatched build is followed through the queue this long at most
/// (well inside the executor's action timeout).
pub const QUEUE_FOLLOW_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a queue item is read while following it.
pub const QUEUE_POLL_INTERVAL: Duration = Duration::from_secs(1);

pub struct JenkinsSource {
    name: String,
    config: JenkinsConfig,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    polite: Polite,
    /// The CSRF crumb (and its session cookie), once Jenkins asked for one.
    crumb: Mutex<Option<actions::Crumb>>,
    queue_follow: Duration,
    queue_poll: Duration,
}

/// The user and API token, read from their secret for one request.
#[derive(Clone)]
struct Auth {
    user: String,
    token: SecretValue,
}

/// A run id: `team/deploy#12` (a build) or `team/deploy#queue-57`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunRef {
    Build(u64),
    Queued(u64),
}

fn parse_run_id(id: &str) -> Result<(&str, RunRef), String> {
    let bad = || format!("`{id}` is not a Jenkins run id (job#number or job#queue-id)");
    let (job, tail) = id.rsplit_once('#').ok_or_else(bad)?;
    if job.is_empty() {
        return Err(bad());
    }
    let run = match tail.strip_prefix("queue-") {
        Some(item) => RunRef::Queued(item.parse().map_err(|_| bad())?),
        None => RunRef::Build(tail.parse().map_err(|_| bad())?),
    };
    Ok((job, run))
}

/// A client that never follows redirects: Jenkins answers a stop with a
/// redirect to the build's page, which is not to be fetched.
fn client(config: &JenkinsConfig) -> Result<reqwest::Client, SourceError> {
    super::http::client(&super::http::HttpOptions {
        ca_file: config.ca_file.clone(),
        insecure: config.insecure,
        timeout: Some(config.timeout),
        redirects: super::http::Redirects::None,
    })
}

impl JenkinsSource {
    pub fn new(name: &str, config: JenkinsConfig, poll: Duration) -> Self {
        JenkinsSource {
            name: name.to_string(),
            client: client(&config),
            config,
            poll,
            polite: Polite::new(),
            crumb: Mutex::new(None),
            queue_follow: QUEUE_FOLLOW_TIMEOUT,
            queue_poll: QUEUE_POLL_INTERVAL,
        }
    }

    /// Follow a new build's queue item this long, reading it this often.
    pub fn with_queue_follow(mut self, timeout: Duration, interval: Duration) -> Self {
        self.queue_follow = timeout;
        self.queue_poll = interval;
        self
    }

    pub fn config(&self) -> &JenkinsConfig {
        &self.config
    }

    /// Requests sent, for tests and figures.
    pub fn stats(&self) -> super::polite::Stats {
        self.polite.stats()
    }

    fn client(&self) -> Result<&reqwest::Client, SourceError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    /// The user and token, read now (a rotated token is picked up).
    async fn auth(&self) -> Result<Option<Auth>, String> {
        let (Some(user), Some(token)) = (&self.config.user, &self.config.token) else {
            return Ok(None);
        };
        let token = token.resolve().await.map_err(|e| {
            format!(
                "{}: cannot read the API token of {user} ({}): {e}",
                self.name,
                token.origin()
            )
        })?;
        Ok(Some(Auth {
            user: user.clone(),
            token,
        }))
    }

    /// A polite GET of `request` with `auth`; a 401 reads the token again
    /// (a command runs again) and sends it once more (`http::renewing`).
    /// Gives the page and the credentials it was read with.
    async fn authorized_get(
        &self,
        request: reqwest::RequestBuilder,
        auth: Option<Auth>,
    ) -> Result<(Page, Option<Auth>), SourceError> {
        http::renewing(
            auth,
            |auth| {
                let request = http::copy(&request).map(|r| Self::with_auth(r, &auth));
                async move {
                    let credential = auth.as_ref().map(|a| a.token.expose());
                    (self.polite.get(request?, credential).await).map_err(|e| self.transport(e))
                }
            },
            |page| page.status,
            |rejected| self.renewed(rejected),
        )
        .await
    }

    /// After a 401 with `rejected`: the token read again, if it changed.
    async fn renewed(&self, rejected: Option<Auth>) -> Option<Option<Auth>> {
        let (rejected, Some(secret)) = (rejected?, &self.config.token) else {
            return None;
        };
        let token = secret.renew(&rejected.token).await.ok().flatten()?;
        Some(Some(Auth {
            user: rejected.user,
            token,
        }))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.url)
    }

    fn with_auth(request: reqwest::RequestBuilder, auth: &Option<Auth>) -> reqwest::RequestBuilder {
        match auth {
            Some(a) => http::basic(request, &a.user, &a.token),
            None => request,
        }
    }

    /// A transport failure, with this source's own timeout.
    fn transport(&self, e: SourceError) -> SourceError {
        http::own_timeout(e, self.config.timeout)
    }

    /// Never let a token reach a message, whatever the server echoed.
    fn scrub(message: String, auth: &Option<Auth>) -> String {
        match auth {
            Some(a) if !a.token.expose().is_empty() => message.replace(a.token.expose(), "***"),
            _ => message,
        }
    }

    /// GET `path` (under the root URL) with a `tree=` selection, decoded.
    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        tree: &str,
        subject: Subject<'_>,
    ) -> Result<T, SourceError> {
        let auth = self.auth().await.map_err(SourceError::Auth)?;
        let request = self.client()?.get(self.url(path)).query(&[("tree", tree)]);
        let (page, auth) = self.authorized_get(request, auth).await?;
        if !page.is_success() {
            let words = Self::scrub(
                self.refusal(page.status, &page.path, &page.body, subject, "read"),
                &auth,
            );
            return Err(http::read_error(page.status, words));
        }
        http::decode(
            &page.body,
            &format!("{}: {} from {}", self.name, subject.describe(), page.path),
        )
    }

    /// One job with its last builds. A folder is refused by name.
    async fn read_job(&self, job: &str) -> Result<JobJson, SourceError> {
        let tree = api::job_tree(self.config.limit);
        let read: JobJson = self
            .get_json(
                &format!("{}/api/json", job_url_path(job)),
                &tree,
                Subject::Job(job),
            )
            .await?;
        if read.builds.is_none() {
            let class = read.class.rsplit('.').next().unwrap_or("folder");
            return Err(SourceError::Backend(format!(
                "{}: {job} is a {class}, not a job with builds: list its jobs in `jobs`, like \"{job}/<job>\"",
                self.name
            )));
        }
        Ok(read)
    }

    /// Builds of every configured job, and what waits in the queue for
    /// them; and the jobs (or the queue) that could not be read, named,
    /// while the rest shows. The read fails when Jenkins cannot be read at
    /// all (network, credentials, no answer) or when no job could be read.
    async fn read_runs(&self) -> Result<(Vec<PipelineRun>, Vec<String>), SourceError> {
        let jobs = futures::future::join_all(self.config.jobs.iter().map(|j| self.read_job(j)));
        let queue = self.get_json::<QueueJson>("/queue/api/json", api::QUEUE_TREE, Subject::Queue);
        let (jobs, queue) = futures::join!(jobs, queue);
        let mut runs = Vec::new();
        let mut read = Vec::new();
        let mut problems = Vec::new();
        let mut first_error = None;
        for (path, job) in self.config.jobs.iter().zip(jobs) {
            match job {
                Ok(job) => read.push((path, job)),
                Err(e) if e.is_backend_wide() => return Err(e),
                Err(e) => {
                    problems.push(e.to_string());
                    first_error.get_or_insert(e);
                }
            }
        }
        if read.is_empty() {
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        let queue = match queue {
            Ok(queue) => queue.items,
            Err(e) if e.is_backend_wide() => return Err(e),
            // The builds stand without the queue; only what waits is unknown.
            Err(e) => {
                problems.push(e.to_string());
                Vec::new()
            }
        };
        for (path, job) in &read {
            let full_name = job.full_name.as_deref().unwrap_or(path.as_str());
            let job_ref = JobRef {
                path,
                name: &job.name,
                full_name,
            };
            for build in job.builds.iter().flatten() {
                runs.push(map::build_run(&self.name, &job_ref, build));
            }
        }
        for item in queue {
            let Some(path) = item
                .task
                .as_ref()
                .and_then(|t| t.url.as_deref())
                .and_then(api::job_path_of_url)
            else {
                continue;
            };
            let Some((path, job)) = read.iter().find(|(p, _)| **p == path) else {
                continue;
            };
            let job_ref = JobRef {
                path,
                name: &job.name,
                full_name: job.full_name.as_deref().unwrap_or(path.as_str()),
            };
            runs.push(map::queued_run(&self.name, &job_ref, &item));
        }
        // Newest first; what waits in the queue is newest of all.
        runs.sort_by(|a, b| {
            let queued = |r: &PipelineRun| r.status == RunStatus::Queued;
            queued(b)
                .cmp(&queued(a))
                .then_with(|| b.sort_time().cmp(&a.sort_time()))
        });
        Ok((runs, problems))
    }

    /// One build's state.
    async fn read_build(&self, job: &str, number: u64) -> Result<BuildJson, SourceError> {
        self.get_json(
            &format!("{}/{number}/api/json", job_url_path(job)),
            api::BUILD_TREE,
            Subject::Build(job, number),
        )
        .await
    }

    /// A Pipeline build's stages; None when the Stage View plugin (wfapi)
    /// is not installed.
    async fn read_stages(
        &self,
        job: &str,
        number: u64,
    ) -> Result<Option<api::RunDescription>, SourceError> {
        let auth = self.auth().await.map_err(SourceError::Auth)?;
        let path = format!("{}/{number}/wfapi/describe", job_url_path(job));
        // The wfapi has no `tree=`: its answer is the stage list and no more.
        let request = self.client()?.get(self.url(&path));
        let (page, auth) = self.authorized_get(request, auth).await?;
        if page.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !page.is_success() {
            let words = Self::scrub(
                self.refusal(
                    page.status,
                    &page.path,
                    &page.body,
                    Subject::Build(job, number),
                    "read",
                ),
                &auth,
            );
            return Err(http::read_error(page.status, words));
        }
        http::decode(
            &page.body,
            &format!(
                "{}: the stages of build {job} #{number} from {}",
                self.name, page.path
            ),
        )
        .map(Some)
    }

    /// A job's name and parameter definitions.
    async fn read_parameters(&self, job: &str) -> Result<JobJson, SourceError> {
        self.get_json(
            &format!("{}/api/json", job_url_path(job)),
            &api::job_parameters_tree(),
            Subject::Job(job),
        )
        .await
    }
}

#[async_trait]
impl Source for JenkinsSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::JENKINS
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    fn fetch_timeout(&self) -> Duration {
        self.config.timeout * super::READ_TIMEOUT_FACTOR
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let (pipelines, problems) = self.read_runs().await?;
        Ok(Snapshot {
            pipelines,
            problems,
            ..Snapshot::default()
        })
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        actions::execute(self, action).await
    }

    async fn run_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        let (job, run) = parse_run_id(run_id).map_err(SourceError::Unsupported)?;
        let number = match run {
            RunRef::Build(n) => n,
            RunRef::Queued(item) => {
                return Ok(vec![Job {
                    id: format!("queue-{item}"),
                    name: "waiting in the queue".into(),
                    status: RunStatus::Queued,
                    started_at: None,
                    duration: None,
                    url: None,
                    steps: Vec::new(),
                }]);
            }
        };
        let build = self.read_build(job, number).await?;
        let name = job.rsplit('/').next().unwrap_or(job);
        if build.is_pipeline() {
            if let Some(stages) = self.read_stages(job, number).await? {
                let jobs = map::stage_jobs(&build, stages);
                if !jobs.is_empty() {
                    return Ok(jobs);
                }
            }
        }
        Ok(vec![map::build_job(name, &build)])
    }

    async fn job_log(&self, run_id: &str, job_id: &str) -> Result<LogTail, SourceError> {
        let (job, run) = parse_run_id(run_id).map_err(SourceError::Unsupported)?;
        match run {
            RunRef::Build(number) => log::tail(self, job, number, job_id).await,
            RunRef::Queued(item) => Err(SourceError::Unsupported(format!(
                "{run_id} is still queued (item {item}): it has no console yet"
            ))),
        }
    }

    async fn dispatch_form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        let job = self.read_parameters(pipeline).await?;
        Ok(DispatchForm {
            pipeline: pipeline.to_string(),
            name: job
                .full_name
                .clone()
                .unwrap_or_else(|| pipeline.to_string()),
            git_ref: None,
            inputs: map::form_inputs(&job),
            free_inputs: false,
        })
    }

    fn warning(&self) -> Option<String> {
        self.config
            .insecure
            .then(|| "TLS NOT VERIFIED (insecure = true)".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_name_a_build_or_a_queue_item() {
        assert_eq!(
            parse_run_id("team/deploy#12"),
            Ok(("team/deploy", RunRef::Build(12)))
        );
        assert_eq!(
            parse_run_id("deploy#queue-57"),
            Ok(("deploy", RunRef::Queued(57)))
        );
        assert!(parse_run_id("deploy").is_err());
        assert!(parse_run_id("#3").is_err());
        assert!(parse_run_id("deploy#x").is_err());
    }
}
