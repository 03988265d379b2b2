//! `kind = "terraform-cloud"`: HCP Terraform / Terraform Enterprise. Each
//! workspace is a GitOps app (drift from its latest health assessment,
//! health from its current run, locked shown); each workspace's current run
//! is a pipeline run. One paged call reads them all (`include` brings the
//! runs, their commits and plans, the assessments and projects): the run
//! lists are limited to 30 requests a minute and are read only for a
//! workspace's detail.

mod act;
pub mod api;
mod detail;
mod map;
pub mod token;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder, StatusCode};

use super::http::{self, HttpOptions};
use super::polite::{Page, Polite, Stats};
use super::{ActionError, Source, SourceError};
use crate::config::{SecretValue, TerraformCloudConfig};
use crate::model::{Action, AppDetail, DispatchForm, Job, Snapshot};

/// JSON:API's media type, sent and expected.
const JSON_API: &str = "application/vnd.api+json";
/// Workspaces per page (the API's maximum).
const PAGE_SIZE: u32 = 100;
/// A bound against a server that always says there is more.
const MAX_PAGES: usize = 100;
/// What the workspace list brings along, so one call per 100 workspaces
/// reads everything the rows show.
const INCLUDE: &str = "current_run,current_run.plan,current_run.configuration_version,\
current_run.configuration_version.ingress_attributes,current_assessment_result,project";

pub struct TerraformCloudSource {
    name: String,
    config: TerraformCloudConfig,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    polite: Polite,
    /// Workspace name → id, from the last read (actions and details need the id).
    ids: Mutex<HashMap<String, String>>,
}

impl TerraformCloudSource {
    pub fn new(name: &str, config: TerraformCloudConfig, poll: Duration) -> Self {
        let options = HttpOptions {
            ca_file: config.ca_file.clone(),
            insecure: config.insecure,
            timeout: Some(config.timeout),
            redirects: http::Redirects::SameOrigin,
        };
        TerraformCloudSource {
            name: name.to_string(),
            client: http::client(&options),
            config,
            poll,
            polite: Polite::new(),
            ids: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &TerraformCloudConfig {
        &self.config
    }

    /// What went on the wire, and what was held back while rate limited.
    pub fn stats(&self) -> Stats {
        self.polite.stats()
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.config.url)
    }

    fn client(&self) -> Result<&reqwest::Client, SourceError> {
        self.client.as_ref().map_err(Clone::clone)
    }

    /// Where the token comes from, in words.
    fn token_origin(&self) -> String {
        match &self.config.token {
            Some(secret) => secret.origin(),
            None => token::origin(&self.config.host()),
        }
    }

    async fn token(&self) -> Result<SecretValue, SourceError> {
        let read = match &self.config.token {
            Some(secret) => secret.resolve().await.map_err(|e| e.to_string()),
            None => token::cli_token(&self.config.host()).await,
        };
        read.map_err(|e| {
            SourceError::Auth(format!(
                "{}: cannot read the Terraform token ({}): {e}",
                self.name,
                self.token_origin()
            ))
        })
    }

    /// After a 401: the token read again, if it changed.
    async fn renewed(&self, rejected: SecretValue) -> Option<SecretValue> {
        match &self.config.token {
            Some(secret) => secret.renew(&rejected).await.ok().flatten(),
            None => token::cli_token(&self.config.host())
                .await
                .ok()
                .filter(|t| *t != rejected),
        }
    }

    fn request(
        &self,
        method: Method,
        url: &str,
        token: &SecretValue,
    ) -> Result<RequestBuilder, SourceError> {
        Ok(http::bearer(self.client()?.request(method, url), token)
            .header(reqwest::header::ACCEPT, JSON_API))
    }

    /// A polite GET (ETags, rate limits), the token renewed once on a 401.
    async fn get(&self, url: &str, query: &[(&str, String)]) -> Result<Page, SourceError> {
        let token = self.token().await?;
        let request = self.request(Method::GET, url, &token)?.query(query);
        let (page, _) = http::renewing(
            token,
            |token| {
                let request = http::copy(&request).and_then(|r| http::rebearer(r, &token));
                async move {
                    self.polite
                        .get(request?, Some(token.expose()))
                        .await
                        .map_err(|e| self.named(e))
                }
            },
            |page| page.status,
            |rejected| self.renewed(rejected),
        )
        .await?;
        Ok(page)
    }

    /// A GET of one JSON:API document; a refusal says what was read.
    async fn get_doc<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<T, SourceError> {
        let page = self.get(url, query).await?;
        if !page.is_success() {
            return Err(self.read_error(&page, what));
        }
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

    /// A refused read in words. The API says 404 for "not yours" as well
    /// as for "not there".
    fn read_error(&self, page: &Page, what: &str) -> SourceError {
        let message = api::message(&page.body);
        let code = page.status.as_u16();
        let name = &self.name;
        let words = match page.status {
            StatusCode::UNAUTHORIZED => format!(
                "{name}: token rejected ({code} on {}: {message}) — check the token from {} \
                 (expired or revoked?)",
                page.path,
                self.token_origin()
            ),
            StatusCode::NOT_FOUND => format!(
                "{name}: {what} not found or not allowed ({code}: {message}) — check the name, \
                 and that the token's user or team can read it"
            ),
            _ => format!("{name}: {code} on {} ({what}): {message}", page.path),
        };
        http::read_error(page.status, words)
    }

    /// Every wanted workspace with what `include` brought.
    async fn read(&self) -> Result<Snapshot, SourceError> {
        let url = self.api(&format!(
            "/organizations/{}/workspaces",
            http::path_segment(&self.config.organization)
        ));
        let what = format!(
            "the workspaces of organization {}",
            self.config.organization
        );
        let mut query = vec![
            ("page[size]", PAGE_SIZE.to_string()),
            ("include", INCLUDE.to_string()),
        ];
        if !self.config.tags.is_empty() {
            query.push(("search[tags]", self.config.tags.join(",")));
        }
        let docs = http::pages::collect(
            1u64,
            http::pages::Bounds {
                items: usize::MAX,
                pages: MAX_PAGES,
            },
            |number| {
                let mut query = query.clone();
                query.push(("page[number]", number.to_string()));
                let (url, what) = (&url, &what);
                async move {
                    let doc: api::Document<Vec<api::Resource>> =
                        self.get_doc(url, &query, what).await?;
                    let next = doc
                        .meta
                        .as_ref()
                        .and_then(|m| m.pagination.as_ref())
                        .and_then(|p| p.next_page)
                        .filter(|n| *n > number);
                    Ok::<_, SourceError>(http::pages::PageOf {
                        items: vec![doc],
                        next,
                    })
                }
            },
        )
        .await?;
        let mut snapshot = Snapshot::default();
        let mut ids = HashMap::new();
        for doc in &docs {
            let included = api::Included::new(&doc.included);
            for workspace in &doc.data {
                let Some(row) = map::workspace(self, workspace, &included) else {
                    continue;
                };
                ids.insert(row.app.name.clone(), workspace.id.clone());
                snapshot.apps.push(row.app);
                snapshot.pipelines.extend(row.run);
            }
        }
        *self.ids.lock().unwrap_or_else(|e| e.into_inner()) = ids;
        Ok(snapshot)
    }

    /// A workspace's id: from the last read, else asked by name.
    async fn workspace_id(&self, name: &str) -> Result<String, SourceError> {
        if let Some(id) = self
            .ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
        {
            return Ok(id);
        }
        let url = self.api(&format!(
            "/organizations/{}/workspaces/{}",
            http::path_segment(&self.config.organization),
            http::path_segment(name)
        ));
        let doc: api::Document<api::Resource> = self
            .get_doc(&url, &[], &format!("workspace {name}"))
            .await?;
        Ok(doc.data.id)
    }

    /// The service's page for a workspace, or one of its runs.
    fn web_url(&self, workspace: &str, run: Option<&str>) -> String {
        let base = format!(
            "{}/app/{}/workspaces/{}",
            self.config.url,
            http::path_segment(&self.config.organization),
            http::path_segment(workspace)
        );
        match run {
            Some(run) => format!("{base}/runs/{run}"),
            None => base,
        }
    }
}

#[async_trait]
impl Source for TerraformCloudSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::TERRAFORM_CLOUD
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

    async fn run_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        self.phases(run_id).await
    }

    async fn dispatch_form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        Ok(act::plan_form(pipeline))
    }

    async fn app_detail(&self, app: &str) -> Result<AppDetail, SourceError> {
        self.detail(app).await
    }

    fn location(&self) -> Option<String> {
        Some(format!(
            "{} ({})",
            self.config.url, self.config.organization
        ))
    }

    fn warning(&self) -> Option<String> {
        self.config
            .insecure
            .then(|| "TLS NOT VERIFIED (insecure = true)".to_string())
    }
}
