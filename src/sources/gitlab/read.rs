//! Reading pipelines without waste. The first read lists the `limit` most
//! recently updated pipelines; later reads ask only for those updated since
//! the newest seen (`updated_after`) and merge them in. A pipeline's detail
//! (who started it, when, how long it took) is read only when it is new or
//! its `updated_at` moved, so an idle project costs one request per poll —
//! and that one is usually a free `304`.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use reqwest::{Method, StatusCode};

use super::api::{self, JobEntry, PipelineBasic, PipelineDetail};
use super::{GitlabSource, Reading};
use crate::config::SecretValue;
use crate::model::{Job, PipelineRun, Timestamp};
use crate::sources::{SourceError, http};

/// `updated_after` reaches back this far before the newest `updated_at`
/// seen: GitLab shows milliseconds and commits updates in its own order, so
/// a pipeline updated just before the newest one may become visible just
/// after it was read. What comes twice is merged by id (and costs nothing).
const UPDATED_AFTER_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// GitLab's largest page.
const MAX_PER_PAGE: usize = 100;
/// Details read at the same time.
const DETAIL_CONCURRENCY: usize = 4;
/// A pipeline with more jobs than this many pages shows the first ones.
const MAX_JOB_PAGES: usize = 10;

/// What the source keeps between reads.
#[derive(Debug, Default)]
pub(super) struct ReadState {
    /// The pipelines shown, most recently updated first, at most `limit`;
    /// `None` until a full read succeeded.
    kept: Option<Vec<PipelineBasic>>,
    last_full: Option<Instant>,
    /// Details by pipeline id, with the `updated_at` they were read for.
    details: HashMap<u64, (Option<String>, PipelineDetail)>,
}

impl ReadState {
    /// The ref of a kept pipeline (to start it again).
    pub(super) fn git_ref(&self, id: u64) -> Option<String> {
        self.kept
            .iter()
            .flatten()
            .find(|p| p.id == id)
            .and_then(|p| p.git_ref.clone())
    }
}

fn newest_first(pipelines: &mut Vec<PipelineBasic>, limit: usize) {
    pipelines.sort_by_key(|p| std::cmp::Reverse((p.updated(), p.id)));
    pipelines.truncate(limit);
}

impl GitlabSource {
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, ReadState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Some(since)` for an incremental read, `None` for a full one.
    fn incremental_since(&self) -> Option<Timestamp> {
        let state = self.state();
        let fresh = state
            .last_full
            .is_some_and(|t| t.elapsed() < self.full_read_interval);
        if !fresh {
            return None;
        }
        let newest = state
            .kept
            .as_ref()?
            .iter()
            .filter_map(|p| p.updated())
            .max()?;
        Some(newest - UPDATED_AFTER_OVERLAP)
    }

    /// Read the pipelines (incrementally when it can) and their details.
    pub(super) async fn read(&self) -> Result<Vec<PipelineRun>, SourceError> {
        let token = self.token().await?;
        let since = self.incremental_since();
        let fresh = self.list(&token, since).await?;
        let mut kept = match since {
            Some(_) => {
                let fresh_ids: HashSet<u64> = fresh.iter().map(|p| p.id).collect();
                let mut kept: Vec<PipelineBasic> = self
                    .state()
                    .kept
                    .iter()
                    .flatten()
                    .filter(|p| !fresh_ids.contains(&p.id))
                    .cloned()
                    .collect();
                kept.extend(fresh);
                kept
            }
            None => fresh,
        };
        // Those pushed out of the window are dropped before their details
        // would be read.
        newest_first(&mut kept, self.config.limit);
        let stale: Vec<(u64, Option<String>)> = {
            let state = self.state();
            kept.iter()
                .filter(|p| {
                    state
                        .details
                        .get(&p.id)
                        .is_none_or(|(seen, _)| *seen != p.updated_at)
                })
                .map(|p| (p.id, p.updated_at.clone()))
                .collect()
        };
        let gone = self.load_details(&token, stale).await?;
        kept.retain(|p| !gone.contains(&p.id));

        let mut state = self.state();
        let ids: HashSet<u64> = kept.iter().map(|p| p.id).collect();
        state.details.retain(|id, _| ids.contains(id));
        if since.is_none() {
            state.last_full = Some(Instant::now());
        }
        let origin = api::Origin {
            source: &self.name,
            pipeline_id: &self.config.project,
            project_path: self.project_path(),
        };
        let runs = kept
            .iter()
            .map(|p| api::to_run(&origin, p, state.details.get(&p.id).map(|(_, d)| d)))
            .collect();
        state.kept = Some(kept);
        Ok(runs)
    }

    /// The newest-updated pipelines, `since` when given, page by page
    /// (`Link: rel="next"`) up to `limit`.
    async fn list(
        &self,
        token: &SecretValue,
        since: Option<Timestamp>,
    ) -> Result<Vec<PipelineBasic>, SourceError> {
        let limit = self.config.limit;
        let mut query: Vec<(&str, String)> = vec![
            ("order_by", "updated_at".into()),
            ("sort", "desc".into()),
            ("per_page", limit.min(MAX_PER_PAGE).to_string()),
        ];
        if let Some(git_ref) = &self.config.git_ref {
            query.push(("ref", git_ref.clone()));
        }
        if let Some(since) = since {
            query.push((
                "updated_after",
                since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ));
        }
        let url = format!("{}/pipelines", self.project_url());
        let first = self.request(Method::GET, &url, token)?.query(&query);
        let bounds = http::pages::Bounds {
            items: limit,
            pages: usize::MAX,
        };
        http::pages::collect(first, bounds, |request| async move {
            let page = self.get_page(request, token).await?;
            if !page.is_success() {
                return Err(self.read_error(&page, &Reading::Pipelines));
            }
            Ok(http::pages::PageOf {
                items: self.decode::<Vec<PipelineBasic>>(&page)?,
                next: self.next_request(&page, token)?,
            })
        })
        .await
    }

    /// Read the details of `stale` pipelines into the cache; the ids GitLab
    /// no longer knows (deleted since listed) come back.
    async fn load_details(
        &self,
        token: &SecretValue,
        stale: Vec<(u64, Option<String>)>,
    ) -> Result<HashSet<u64>, SourceError> {
        let base = self.project_url();
        let reads = stale.into_iter().map(|(id, updated_at)| {
            let url = format!("{base}/pipelines/{id}");
            async move {
                let request = self.request(Method::GET, &url, token)?;
                let page = self.get_page(request, token).await?;
                if page.status == StatusCode::NOT_FOUND {
                    return Ok(Some(id));
                }
                if !page.is_success() {
                    return Err(self.read_error(&page, &Reading::Pipeline(id)));
                }
                let detail: PipelineDetail = self.decode(&page)?;
                // Kept at once: what was read survives a later failure.
                self.state().details.insert(id, (updated_at, detail));
                Ok(None)
            }
        });
        let gone: Vec<Option<u64>> = futures::stream::iter(reads)
            .buffer_unordered(DETAIL_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(gone.into_iter().flatten().collect())
    }

    /// Every job of a pipeline, retried attempts included.
    pub(super) async fn jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        let id = Self::pipeline_id(run_id).map_err(SourceError::Backend)?;
        let token = self.token().await?;
        let url = format!("{}/pipelines/{id}/jobs", self.project_url());
        let query = [
            ("include_retried", "true".to_string()),
            ("per_page", MAX_PER_PAGE.to_string()),
        ];
        let first = self.request(Method::GET, &url, &token)?.query(&query);
        let bounds = http::pages::Bounds {
            items: usize::MAX,
            pages: MAX_JOB_PAGES,
        };
        let token = &token;
        let entries: Vec<JobEntry> = http::pages::collect(first, bounds, |request| async move {
            let page = self.get_page(request, token).await?;
            if !page.is_success() {
                return Err(self.read_error(&page, &Reading::Jobs(id)));
            }
            Ok(http::pages::PageOf {
                items: self.decode::<Vec<JobEntry>>(&page)?,
                next: self.next_request(&page, token)?,
            })
        })
        .await?;
        let jobs = api::to_jobs(entries);
        let mut names = self.job_names.lock().unwrap_or_else(|e| e.into_inner());
        names.clear();
        names.extend(jobs.iter().map(|j| (j.id.clone(), j.name.clone())));
        Ok(jobs)
    }
}
