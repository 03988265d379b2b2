//! `kind = "github"`: GitHub Actions workflow runs of one repository, read
//! politely (conditional GETs, rate limits honoured), their jobs, steps and
//! log tails, and the actions GitHub offers on them: re-run (all or failed
//! jobs), cancel, force-cancel, and a new run of a workflow by hand.

mod actions;
pub mod api;
pub mod dispatch;
pub mod log;
pub mod token;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};

use super::http::{self, HttpOptions};
use super::polite::{Page, Polite, Stats};
use super::{ActionError, Source, SourceError};
use crate::config::GithubConfig;
use crate::model::{Action, DispatchForm, Job, LogTail, PipelineRun, Snapshot};
use token::{EnvLookup, Token};

/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";
/// GitHub's JSON media type.
const MEDIA_JSON: &str = "application/vnd.github+json";
/// A file's raw content from the contents API.
const MEDIA_RAW: &str = "application/vnd.github.raw+json";
/// GitHub serves at most this many items per page.
const MAX_PER_PAGE: u32 = 100;
/// Jobs of one run read at most over this many pages (matrix builds).
const MAX_JOB_PAGES: usize = 10;

pub struct GithubSource {
    name: String,
    config: GithubConfig,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    polite: Polite,
    env: EnvLookup,
}

impl GithubSource {
    pub fn new(name: &str, config: GithubConfig, poll: Duration) -> Self {
        let options = HttpOptions {
            ca_file: config.ca_file.clone(),
            insecure: config.insecure,
            timeout: Some(config.timeout),
            redirects: http::Redirects::Any,
        };
        GithubSource {
            name: name.to_string(),
            client: http::client(&options),
            config,
            poll,
            polite: Polite::new(),
            env: token::process_env(),
        }
    }

    /// Read the environment (token variables, `PATH` for `gh`) through
    /// `env` instead of the process's own.
    pub fn with_env(mut self, env: EnvLookup) -> Self {
        self.env = env;
        self
    }

    pub fn config(&self) -> &GithubConfig {
        &self.config
    }

    /// What was sent, answered 304, and held back while rate limited.
    pub fn stats(&self) -> Stats {
        self.polite.stats()
    }

    /// The GitHub host `gh` knows the token by; None for github.com.
    fn gh_host(&self) -> Option<String> {
        if self.config.api_url == GithubConfig::DEFAULT_API_URL {
            return None;
        }
        url::Url::parse(&self.config.api_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
    }

    /// The token, looked up now (a rotated one is picked up on the next read).
    async fn token(&self) -> Result<Token, SourceError> {
        token::lookup(
            self.config.token.as_ref(),
            &self.env,
            self.gh_host().as_deref(),
        )
        .await
        .map_err(|e| SourceError::Auth(format!("{}: {e}", self.name)))
    }

    /// After a 401 with `rejected`: the token looked up again (a command
    /// runs again), if it changed.
    async fn renewed(&self, rejected: Token) -> Option<Token> {
        let host = self.gh_host();
        token::renew(
            self.config.token.as_ref(),
            &self.env,
            host.as_deref(),
            &rejected,
        )
        .await
        .ok()
        .flatten()
    }

    fn client(&self) -> Result<&reqwest::Client, SourceError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    /// `{api_url}/repos/{owner}/{name}{tail}`.
    fn repo_url(&self, tail: &str) -> String {
        format!("{}/repos/{}{tail}", self.config.api_url, self.config.repo)
    }

    /// A request with GitHub's headers and the token.
    fn request(
        &self,
        method: Method,
        url: &str,
        token: &Token,
    ) -> Result<reqwest::RequestBuilder, SourceError> {
        self.request_for(method, url, token, MEDIA_JSON)
    }

    /// A request for the media type `accept`.
    fn request_for(
        &self,
        method: Method,
        url: &str,
        token: &Token,
        accept: &str,
    ) -> Result<reqwest::RequestBuilder, SourceError> {
        let request = self
            .client()?
            .request(method, url)
            .header(ACCEPT, accept)
            .header("X-GitHub-Api-Version", API_VERSION);
        Ok(http::bearer(request, &token.value))
    }

    /// A transport timeout names this source's own limit.
    fn own_timeout(&self, e: SourceError) -> SourceError {
        http::own_timeout(e, self.config.timeout)
    }

    /// A polite GET; any answer but 2xx becomes an error in words.
    async fn get(
        &self,
        request: reqwest::RequestBuilder,
        token: &Token,
        read: &Read<'_>,
    ) -> Result<Page, SourceError> {
        let (page, token) = http::renewing(
            token.clone(),
            |token| {
                let request = http::copy(&request).and_then(|r| http::rebearer(r, &token.value));
                async move {
                    (self.polite.get(request?, Some(token.value.expose())).await)
                        .map_err(|e| self.own_timeout(e))
                }
            },
            |page| page.status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        if !page.is_success() {
            return Err(self.read_error(page.status, &page.path, &page.body, &token, read));
        }
        Ok(page)
    }

    /// A polite GET of one JSON document.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
        token: &Token,
        read: &Read<'_>,
    ) -> Result<T, SourceError> {
        let request = self.request(Method::GET, url, token)?.query(query);
        let page = self.get(request, token, read).await?;
        self.decode(&page, read)
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        page: &Page,
        read: &Read<'_>,
    ) -> Result<T, SourceError> {
        http::decode(
            &page.body,
            &format!("{}: {} at {}", self.name, read.what, page.path),
        )
    }

    /// A failed read, saying what GitHub refused and what to do.
    fn read_error(
        &self,
        status: StatusCode,
        path: &str,
        body: &[u8],
        token: &Token,
        read: &Read<'_>,
    ) -> SourceError {
        let message = api::message(body);
        let name = &self.name;
        let words = match status {
            StatusCode::UNAUTHORIZED => format!(
                "{name}: token rejected by GitHub (401 on {path}: {message}); the token came \
                 from {} — renew it or point `token` at a valid one",
                token.origin
            ),
            StatusCode::FORBIDDEN => format!(
                "{name}: no permission to read {} of {} (403 on {path}: {message}) — the token \
                 needs Actions: read (fine-grained) or the `repo` scope (classic, private \
                 repositories)",
                read.what, self.config.repo
            ),
            StatusCode::NOT_FOUND => format!(
                "{name}: {} not found at {} (404 on {path}) — {}",
                read.missing, self.config.api_url, read.advice
            ),
            s => format!(
                "{name}: GitHub answered {} on {path}: {message}",
                s.as_u16()
            ),
        };
        http::read_error(status, words)
    }

    /// The next page's request: `Link: rel="next"`, followed by the kit's
    /// policy (only on the API's own origin: the token goes with it).
    fn next_request(
        &self,
        page: &Page,
        token: &Token,
    ) -> Result<Option<reqwest::RequestBuilder>, SourceError> {
        http::pages::follow(&self.name, &self.config.api_url, page.next.as_deref())
            .map(|next| self.request(Method::GET, &next, token))
            .transpose()
    }

    /// Runs from one list endpoint, newest first, page after page up to `limit`.
    async fn read_runs(
        &self,
        url: &str,
        token: &Token,
        read: &Read<'_>,
    ) -> Result<Vec<PipelineRun>, SourceError> {
        let mut query = vec![
            ("per_page", self.config.limit.min(MAX_PER_PAGE).to_string()),
            ("exclude_pull_requests", "true".to_string()),
        ];
        if let Some(branch) = &self.config.branch {
            query.push(("branch", branch.clone()));
        }
        if let Some(event) = &self.config.event {
            query.push(("event", event.clone()));
        }
        let first = self.request(Method::GET, url, token)?.query(&query);
        let bounds = http::pages::Bounds {
            items: self.config.limit as usize,
            pages: usize::MAX,
        };
        http::pages::collect(first, bounds, |request| async move {
            let page = self.get(request, token, read).await?;
            let list: api::RunList = self.decode(&page, read)?;
            let next = match list.workflow_runs.is_empty() {
                true => None,
                false => self.next_request(&page, token)?,
            };
            let items = list.workflow_runs.into_iter();
            Ok(http::pages::PageOf {
                items: items
                    .map(|r| api::to_run(&self.name, &self.config.repo, r))
                    .collect(),
                next,
            })
        })
        .await
    }

    /// The configured runs: the repository's, or those of each workflow
    /// named, merged newest first.
    /// The runs, and the configured workflows that could not be read (a
    /// deleted or renamed one): those are named while the others' runs
    /// show. The read fails when GitHub cannot be read at all (token,
    /// network, rate limit) or when no workflow could be read.
    pub async fn list_runs(&self) -> Result<(Vec<PipelineRun>, Vec<String>), SourceError> {
        let token = self.token().await?;
        let repo = format!("repository {}", self.config.repo);
        if self.config.workflows.is_empty() {
            let read = Read::new("the workflow runs", repo, CHECK_REPO);
            let runs = self
                .read_runs(&self.repo_url("/actions/runs"), &token, &read)
                .await?;
            return Ok((runs, Vec::new()));
        }
        let mut runs: Vec<PipelineRun> = Vec::new();
        let mut problems: Vec<String> = Vec::new();
        let mut first_error: Option<SourceError> = None;
        for workflow in &self.config.workflows {
            let url = self.repo_url(&format!(
                "/actions/workflows/{}/runs",
                http::path_segment(workflow)
            ));
            let missing = format!("workflow {workflow} in {}", self.config.repo);
            let read = Read::new(
                "the workflow runs",
                missing,
                "check `repo` and `workflows`; GitHub also answers 404 for a private \
                 repository the token cannot see",
            );
            match self.read_runs(&url, &token, &read).await {
                Ok(read) => runs.extend(read),
                Err(e) if e.is_backend_wide() => return Err(e),
                Err(e) => {
                    problems.push(e.to_string());
                    first_error.get_or_insert(e);
                }
            }
        }
        if problems.len() == self.config.workflows.len() {
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        // Newest first; run ids grow with time and break ties.
        runs.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id.parse::<u64>().unwrap_or(0))));
        runs.dedup_by(|a, b| a.id == b.id);
        runs.truncate(self.config.limit as usize);
        Ok((runs, problems))
    }

    /// The repository's default branch (where a new run starts when no
    /// `branch` is configured).
    async fn default_branch(&self, token: &Token) -> Result<String, SourceError> {
        let read = Read::new(
            "the repository",
            format!("repository {}", self.config.repo),
            CHECK_REPO,
        );
        let info: api::RepositoryInfo =
            self.get_json(&self.repo_url(""), &[], token, &read).await?;
        Ok(info.default_branch)
    }

    async fn load_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        let token = self.token().await?;
        let url = self.repo_url(&format!(
            "/actions/runs/{}/jobs",
            http::path_segment(run_id)
        ));
        let read = Read::new(
            "the jobs of a run",
            format!("run {run_id} in {}", self.config.repo),
            "the run may have been deleted meanwhile",
        );
        let query = [
            ("filter", "latest".to_string()),
            ("per_page", MAX_PER_PAGE.to_string()),
        ];
        let first = self.request(Method::GET, &url, &token)?.query(&query);
        let bounds = http::pages::Bounds {
            items: usize::MAX,
            pages: MAX_JOB_PAGES,
        };
        let (token, read) = (&token, &read);
        http::pages::collect(first, bounds, |request| async move {
            let page = self.get(request, token, read).await?;
            let list: api::JobList = self.decode(&page, read)?;
            Ok(http::pages::PageOf {
                items: list.jobs.into_iter().map(api::to_job).collect(),
                next: self.next_request(&page, token)?,
            })
        })
        .await
    }
}

/// What a read is about, for its error messages.
struct Read<'a> {
    /// "the workflow runs": no permission to read this.
    what: &'a str,
    /// "repository acme/web": not found.
    missing: String,
    /// What to do about a 404.
    advice: &'a str,
}

impl<'a> Read<'a> {
    fn new(what: &'a str, missing: String, advice: &'a str) -> Self {
        Read {
            what,
            missing,
            advice,
        }
    }
}

/// What a 404 on the repository asks to check.
const CHECK_REPO: &str =
    "check `repo`; GitHub also answers 404 for a private repository the token cannot see";

#[async_trait]
impl Source for GithubSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::GITHUB
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    fn fetch_timeout(&self) -> Duration {
        self.config.timeout * super::READ_TIMEOUT_FACTOR
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let (pipelines, problems) = self.list_runs().await?;
        Ok(Snapshot {
            pipelines,
            problems,
            ..Snapshot::default()
        })
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        self.act(action).await
    }

    async fn run_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        self.load_jobs(run_id).await
    }

    async fn job_log(&self, run_id: &str, job_id: &str) -> Result<LogTail, SourceError> {
        self.load_log(run_id, job_id).await
    }

    async fn dispatch_form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        self.load_dispatch_form(pipeline).await
    }

    fn warning(&self) -> Option<String> {
        self.config
            .insecure
            .then(|| "TLS NOT VERIFIED (insecure = true)".to_string())
    }
}
