//! `kind = "registry"`: repositories of a container registry through the
//! OCI Distribution API, read-only. Each repository is read as its tags
//! (paged), each tag's digest (one HEAD a tag: tags move), and for digests
//! not seen before, the manifest and image config (immutable, so kept):
//! the creation time and source revision. One repository's failure is its
//! own `error`; the source fails only when none can be read.

mod api;
mod auth;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use super::http::{self, Credentials};
use super::{ActionError, Source, SourceError};
use crate::config::RegistryConfig;
use crate::model::{Action, ImageTag, Job, RegistryRepo, Snapshot};

pub use auth::{Challenge, bearer_challenge};

/// Manifest requests in flight per repository.
const CONCURRENCY: usize = 8;
/// Past this many digests the build cache starts again.
const MAX_CACHED: usize = 4096;

/// One registry and the repositories it watches.
pub struct RegistrySource {
    name: String,
    config: RegistryConfig,
    poll: Duration,
    client: Result<reqwest::Client, SourceError>,
    /// The registry's host[:port], as image references name it.
    host: String,
    tokens: auth::Tokens,
    polite: super::polite::Polite,
    /// What each manifest digest was built from (immutable: read once).
    builds: Mutex<HashMap<String, api::Build>>,
}

impl RegistrySource {
    pub fn new(name: &str, config: RegistryConfig, poll: Duration) -> Self {
        let client = http::client(&http::HttpOptions {
            timeout: Some(config.http.timeout),
            ..http::options(&config.http)
        });
        let host = url::Url::parse(&config.http.url)
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_string();
                Some(match u.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            })
            .unwrap_or_default();
        RegistrySource {
            name: name.to_string(),
            config,
            poll,
            client,
            host,
            tokens: auth::Tokens::default(),
            polite: Default::default(),
            builds: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, digest: &str) -> Option<api::Build> {
        let builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
        builds.get(digest).cloned()
    }

    fn keep(&self, digest: &str, build: &api::Build) {
        let mut builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
        if builds.len() >= MAX_CACHED {
            builds.clear();
        }
        builds.insert(digest.to_string(), build.clone());
    }

    /// One repository: its tags newest first, or why not.
    async fn read_repository(
        &self,
        session: &auth::Session<'_>,
        repository: &str,
    ) -> Result<(Vec<ImageTag>, Option<String>), SourceError> {
        let mut names = api::tags(session, repository, api::PAGE_SIZE * api::MAX_PAGES).await?;
        // The bound on manifest reads keeps the highest names (newest
        // versions first when names are versions).
        names.sort_by(|a, b| natural_cmp(b, a));
        names.truncate(self.config.max_tags);
        let reads = futures::stream::iter(names.into_iter().map(|tag| async move {
            let read = async {
                let Some(digest) = api::tag_digest(session, repository, &tag).await? else {
                    return Ok(None);
                };
                let build = match self.cached(&digest) {
                    Some(b) => b,
                    None => {
                        let b = api::build(session, repository, &digest).await?;
                        self.keep(&digest, &b);
                        b
                    }
                };
                Ok::<_, SourceError>(Some((digest, build)))
            };
            let read = read.await;
            (tag, read)
        }))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
        let mut tags = Vec::new();
        let mut failed = Vec::new();
        for (tag, read) in reads {
            match read {
                // Deleted since the list was read: not a tag any more.
                Ok(None) => {}
                Ok(Some((digest, build))) => tags.push(ImageTag {
                    tag,
                    digest: Some(digest),
                    created_at: build.created_at,
                    revision: build.revision,
                }),
                Err(e) if e.is_backend_wide() => return Err(e),
                Err(e) => {
                    failed.push(format!("tag {tag}: {e}"));
                    tags.push(ImageTag {
                        tag,
                        digest: None,
                        created_at: None,
                        revision: None,
                    });
                }
            }
        }
        sort_newest_first(&mut tags);
        failed.sort();
        let error = (!failed.is_empty()).then(|| failed.join("; "));
        Ok((tags, error))
    }
}

/// Newest first; tags without a time last; ties by name, higher first.
fn sort_newest_first(tags: &mut [ImageTag]) {
    tags.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| natural_cmp(&b.tag, &a.tag))
    });
}

/// Compare names with their runs of digits as numbers (`1.10` after `1.9`).
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let order = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if order.is_ne() {
            return order;
        }
    }
    pa.len().cmp(&pb.len()).then_with(|| a.cmp(b))
}

#[async_trait]
impl Source for RegistrySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::REGISTRY
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    fn location(&self) -> Option<String> {
        Some(self.config.http.url.clone())
    }

    fn warning(&self) -> Option<String> {
        super::drift::insecure_warning(&self.config.http)
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let client = self.client.clone()?;
        let credentials = Credentials::resolve(&self.config.http.auth).await?;
        let session = auth::Session {
            client: &client,
            base: &self.config.http.url,
            credentials: &credentials,
            tokens: &self.tokens,
            has_login: !matches!(self.config.http.auth, crate::config::HttpAuth::None),
            polite: &self.polite,
        };
        let limit = self.config.http.timeout;
        let reads = self.config.repositories.iter().map(|repository| {
            let session = &session;
            async move {
                let read = tokio::time::timeout(limit, self.read_repository(session, repository))
                    .await
                    .unwrap_or_else(|_| {
                        Err(SourceError::NoAnswer {
                            within: limit,
                            from: format!("/v2/{repository}"),
                        })
                    })
                    .map_err(|e| http::own_timeout(e, limit));
                (repository, read)
            }
        });
        let reads = futures::future::join_all(reads).await;
        let mut snapshot = Snapshot::default();
        let mut first_error = None;
        for (repository, read) in reads {
            let (tags, error) = match read {
                Ok(read) => read,
                Err(e) => {
                    snapshot
                        .problems
                        .push(format!("repository {repository}: {e}"));
                    first_error.get_or_insert(e.clone());
                    (Vec::new(), Some(e.to_string()))
                }
            };
            snapshot.registries.push(RegistryRepo {
                source: self.name.clone(),
                host: self.host.clone(),
                repository: repository.clone(),
                tags,
                error,
            });
        }
        // Nothing could be read at all: the source is in error.
        if snapshot.problems.len() == self.config.repositories.len()
            && let Some(e) = first_error
        {
            return Err(e);
        }
        Ok(snapshot)
    }

    async fn execute(&self, _action: &Action) -> Result<String, ActionError> {
        Err(ActionError::Unsupported(
            "act on a registry: opsdeck only reads its tags",
        ))
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "registry sources have no pipeline runs".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        let mut names = vec!["1.9.0", "1.10.0", "latest", "1.2", "v2", "1.10.0-rc1"];
        names.sort_by(|a, b| natural_cmp(b, a));
        assert_eq!(
            names,
            vec!["v2", "latest", "1.10.0-rc1", "1.10.0", "1.9.0", "1.2"]
        );
    }
}
