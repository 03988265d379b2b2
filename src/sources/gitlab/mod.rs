//! `kind = "gitlab"`: GitLab CI pipelines of one project — read politely
//! (ETags, rate limits, only what changed since the last read), their jobs
//! and log tails for the drill-down, and retry, cancel and new pipelines.

mod act;
pub mod api;
mod log;
mod read;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderValue;
use reqwest::{Method, RequestBuilder, StatusCode};

use super::http::{self, HttpOptions};
use super::polite::{Page, Polite, Stats};
use super::{ActionError, Source, SourceError};
use crate::config::{GitlabConfig, SecretValue};
use crate::model::{Action, DispatchForm, Job, LogTail, Snapshot};

/// A full list read is made again this often, even when incremental reads
/// work: pipelines deleted meanwhile never show up as "updated".
pub const FULL_READ_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// The header GitLab reads a personal, project or group access token from.
const TOKEN_HEADER: &str = "PRIVATE-TOKEN";

pub struct GitlabSource {
    name: String,
    config: GitlabConfig,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    polite: Polite,
    state: Mutex<read::ReadState>,
    full_read_interval: Duration,
    /// Log reads stream past `Polite` (it would hold the whole log): counted here.
    log_reads: AtomicU64,
    /// Job names from the last drill-down, to title a log tail.
    job_names: Mutex<HashMap<String, String>>,
}

/// What a request was reading, for errors that say what was refused or missing.
#[derive(Clone, Debug)]
enum Reading {
    Pipelines,
    Pipeline(u64),
    Jobs(u64),
    Log(u64),
    Project,
}

impl GitlabSource {
    pub fn new(name: &str, config: GitlabConfig, poll: Duration) -> Self {
        let options = HttpOptions {
            ca_file: config.ca_file.clone(),
            insecure: config.insecure,
            timeout: Some(config.timeout),
            // The token rides in PRIVATE-TOKEN, which reqwest would carry
            // to any host a redirect names.
            redirects: http::Redirects::SameOrigin,
        };
        GitlabSource {
            name: name.to_string(),
            client: http::client(&options),
            config,
            poll,
            polite: Polite::new(),
            state: Mutex::new(read::ReadState::default()),
            full_read_interval: FULL_READ_INTERVAL,
            log_reads: AtomicU64::new(0),
            job_names: Mutex::new(HashMap::new()),
        }
    }

    /// Read the whole list again this often (`Duration::ZERO`: every time).
    pub fn with_full_read_interval(mut self, interval: Duration) -> Self {
        self.full_read_interval = interval;
        self
    }

    pub fn config(&self) -> &GitlabConfig {
        &self.config
    }

    /// What went on the wire so far (log reads included), what came back
    /// `304 Not Modified`, and what was held back while rate limited.
    pub fn stats(&self) -> Stats {
        let mut stats = self.polite.stats();
        stats.sent += self.log_reads.load(Ordering::Relaxed);
        stats
    }

    /// `…/api/v4/projects/<id or url-encoded path>`.
    fn project_url(&self) -> String {
        format!(
            "{}/api/v4/projects/{}",
            self.config.url,
            http::path_segment(&self.config.project)
        )
    }

    /// The project's path when it was configured by path.
    fn project_path(&self) -> Option<&str> {
        (!self.config.project_is_id()).then_some(self.config.project.as_str())
    }

    fn client(&self) -> Result<&reqwest::Client, SourceError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    async fn token(&self) -> Result<SecretValue, SourceError> {
        self.config.token.resolve().await.map_err(|e| {
            SourceError::Auth(format!(
                "{}: cannot read the GitLab token from {}: {e}",
                self.name,
                &self.config.token.origin()
            ))
        })
    }

    /// After a 401 with `rejected`: the token read again (a command runs
    /// again), if it changed.
    async fn renewed(&self, rejected: SecretValue) -> Option<SecretValue> {
        self.config.token.renew(&rejected).await.ok().flatten()
    }

    /// A request with the token in `PRIVATE-TOKEN` (marked sensitive, so
    /// no debug output shows it).
    fn request(
        &self,
        method: Method,
        url: &str,
        token: &SecretValue,
    ) -> Result<RequestBuilder, SourceError> {
        let mut value = HeaderValue::from_str(token.expose()).map_err(|_| {
            SourceError::Auth(format!(
                "{}: the token from {} holds characters an HTTP header cannot carry",
                self.name,
                &self.config.token.origin()
            ))
        })?;
        value.set_sensitive(true);
        Ok(self
            .client()?
            .request(method, url)
            .header(TOKEN_HEADER, value))
    }

    /// The next page's request: `Link: rel="next"`, followed by the kit's
    /// policy (only back to the configured GitLab: the token never goes
    /// anywhere else).
    fn next_request(
        &self,
        page: &Page,
        token: &SecretValue,
    ) -> Result<Option<RequestBuilder>, SourceError> {
        http::pages::follow(&self.name, &self.config.url, page.next.as_deref())
            .map(|next| self.request(Method::GET, &next, token))
            .transpose()
    }

    /// A polite GET; any status comes back for the caller to judge.
    async fn get_page(
        &self,
        request: RequestBuilder,
        token: &SecretValue,
    ) -> Result<Page, SourceError> {
        let token_header = reqwest::header::HeaderName::from_static("private-token");
        let (page, _) = http::renewing(
            token.clone(),
            |token| {
                let request = http::copy(&request)
                    .and_then(|r| http::reauthorize(r, token_header.clone(), token.expose()));
                async move {
                    (self.polite.get(request?, Some(token.expose())).await)
                        .map_err(|e| self.named(e))
                }
            },
            |page| page.status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        Ok(page)
    }

    /// A polite GET of a JSON document; non-2xx answers become errors
    /// naming what was read.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
        token: &SecretValue,
        reading: Reading,
    ) -> Result<T, SourceError> {
        let request = self.request(Method::GET, url, token)?.query(query);
        let page = self.get_page(request, token).await?;
        if !page.is_success() {
            return Err(self.read_error(&page, &reading));
        }
        self.decode(&page)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, page: &Page) -> Result<T, SourceError> {
        http::decode(&page.body, &format!("{}: {}", self.name, page.path))
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

    /// A failed read in words: who refused what, and what to do next.
    fn read_error(&self, page: &Page, reading: &Reading) -> SourceError {
        let message = api::message(&page.body);
        let name = &self.name;
        let project = &self.config.project;
        let code = page.status.as_u16();
        let words = match page.status {
            StatusCode::UNAUTHORIZED => format!(
                "{name}: token rejected by GitLab ({code} on {}: {message}) — check the token \
                 from {} (expired or revoked?)",
                page.path,
                &self.config.token.origin()
            ),
            StatusCode::FORBIDDEN => format!(
                "{name}: no permission to read {} ({code}: {message}) — the token needs the \
                 read_api scope and access to {project}",
                reading.what(project)
            ),
            StatusCode::NOT_FOUND => match reading {
                Reading::Pipelines | Reading::Project => format!(
                    "{name}: project {project} not found on {} ({code}: {message}) — check \
                     `project` (GitLab also says 404 when the token cannot see a private project)",
                    self.config.url
                ),
                other => format!(
                    "{name}: {} not found ({code}: {message}) — deleted, or the token cannot see it",
                    other.what(project)
                ),
            },
            _ => format!("{name}: {code} on {}: {message}", page.path),
        };
        http::read_error(page.status, words)
    }

    fn pipeline_id(run_id: &str) -> Result<u64, String> {
        run_id
            .parse()
            .map_err(|_| format!("`{run_id}` is not a GitLab pipeline id"))
    }
}

impl Reading {
    fn what(&self, project: &str) -> String {
        match self {
            Reading::Pipelines => format!("the pipelines of {project}"),
            Reading::Pipeline(id) => format!("pipeline #{id} of {project}"),
            Reading::Jobs(id) => format!("the jobs of pipeline #{id} of {project}"),
            Reading::Log(id) => format!("the log of job #{id} of {project}"),
            Reading::Project => format!("project {project}"),
        }
    }
}

#[async_trait]
impl Source for GitlabSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::GITLAB
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    fn fetch_timeout(&self) -> Duration {
        self.config.timeout * super::READ_TIMEOUT_FACTOR
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        Ok(Snapshot {
            pipelines: self.read().await?,
            ..Snapshot::default()
        })
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        self.act(action).await
    }

    async fn run_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        self.jobs(run_id).await
    }

    async fn job_log(&self, run_id: &str, job_id: &str) -> Result<LogTail, SourceError> {
        self.log_tail(run_id, job_id).await
    }

    async fn dispatch_form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        self.form(pipeline).await
    }

    fn warning(&self) -> Option<String> {
        self.config
            .insecure
            .then(|| "TLS NOT VERIFIED (insecure = true)".to_string())
    }
}
