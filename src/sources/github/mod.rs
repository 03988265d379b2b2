//! `kind = "github"`: GitHub Actions workflow runs of one repository.

use std::time::Duration;

use async_trait::async_trait;

use super::{ActionError, Source, SourceError};
use crate::config::GithubConfig;
use crate::model::{Action, ActionKind, Job, Provides, Snapshot};

pub struct GithubSource {
    name: String,
    poll: Duration,
}

impl GithubSource {
    pub fn new(name: &str, _config: GithubConfig, poll: Duration) -> Self {
        GithubSource {
            name: name.to_string(),
            poll,
        }
    }
}

#[async_trait]
impl Source for GithubSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "github"
    }
    fn provides(&self) -> Provides {
        Provides {
            pipelines: true,
            ..Provides::default()
        }
    }
    fn poll_interval(&self) -> Duration {
        self.poll
    }
    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        Err(SourceError::Unsupported("not built yet".into()))
    }
    fn supports(&self, _kind: ActionKind) -> bool {
        false
    }
    async fn execute(&self, _action: &Action) -> Result<String, ActionError> {
        Err(ActionError::Unsupported("act yet"))
    }
    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported("not built yet".into()))
    }
}
