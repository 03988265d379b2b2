//! One read: the DAGs asked for (names, globs, tags), the newest runs of
//! each, and the task instances of the newest failed runs (so re-running
//! the failed tasks names them in its confirmation without a drill-down).

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;
use reqwest::Method;
use serde_json::json;

use super::api::{self, Dag, DagList, DagRunList, TaskInstance, TaskInstanceList};
use super::{AirflowSource, Reading, segment};
use crate::model::{RunStatus, Snapshot};
use crate::sources::SourceError;
use crate::sources::http::pages::{self, Bounds, PageOf};

/// DAGs asked for a page (the API's maximum).
const DAG_PAGE: usize = 100;
/// At most this many DAGs are read (a bound against a runaway list).
const MAX_DAGS: usize = 2_000;
/// DAGs whose runs are read at once.
const CONCURRENT_DAGS: usize = 4;
/// The newest failed runs whose task instances come with each read.
const PRELOADED_FAILED_RUNS: usize = 20;
/// Task instances asked for a page of the batch list.
const TASK_PAGE: usize = 100;
/// At most this many pages of task instances a read.
const MAX_TASK_PAGES: usize = 10;

impl AirflowSource {
    pub(super) async fn read(&self) -> Result<Snapshot, SourceError> {
        let dags = self.dags().await?;
        let mut problems = self.missing_dags(&dags);
        let reads = futures::stream::iter(dags)
            .map(|dag| async move {
                let runs = self.runs(&dag.dag_id).await;
                (dag, runs)
            })
            .buffered(CONCURRENT_DAGS)
            .collect::<Vec<_>>()
            .await;
        let mut pipelines = Vec::new();
        for (dag, read) in reads {
            match read {
                Ok(runs) => {
                    pipelines.extend(runs.into_iter().map(|run| {
                        api::to_run(&self.name, &self.config.http.url, run, dag.is_paused)
                    }))
                }
                Err(e) if e.is_backend_wide() => return Err(e),
                Err(e) => problems.push(e.to_string()),
            }
        }
        // The newest failed runs carry their tasks: a failure to read
        // them is a problem, not a failed read.
        let mut failed: Vec<&crate::model::PipelineRun> = pipelines
            .iter()
            .filter(|r| r.status == RunStatus::Failure)
            .collect();
        failed.sort_by_key(|r| std::cmp::Reverse(r.sort_time()));
        failed.truncate(PRELOADED_FAILED_RUNS);
        let wanted: Vec<(String, String)> = failed
            .iter()
            .filter_map(|r| Self::split_run(&r.id).ok())
            .map(|(d, r)| (d.to_string(), r.to_string()))
            .collect();
        match self.tasks_of(&wanted).await {
            Ok(mut tasks) => {
                for run in &mut pipelines {
                    if let Some(found) = tasks.remove(&run.id) {
                        run.jobs = Some(api::to_jobs(found));
                    }
                }
            }
            Err(e) if e.is_backend_wide() => return Err(e),
            Err(e) => problems.push(e.to_string()),
        }
        Ok(Snapshot {
            pipelines,
            problems,
            ..Snapshot::default()
        })
    }

    /// The DAGs the config asks for: by tag on the server, by name or glob
    /// here.
    async fn dags(&self) -> Result<Vec<Dag>, SourceError> {
        let url = self.api("/dags");
        let tags = &self.config.tags;
        let all = pages::collect(
            0usize,
            Bounds {
                items: MAX_DAGS,
                pages: MAX_DAGS / DAG_PAGE,
            },
            |offset| {
                let url = url.clone();
                async move {
                    let build = |r: reqwest::RequestBuilder| {
                        let mut query = vec![
                            ("limit", DAG_PAGE.to_string()),
                            ("offset", offset.to_string()),
                            ("order_by", "dag_id".to_string()),
                        ];
                        for tag in tags {
                            query.push(("tags", tag.clone()));
                        }
                        if !tags.is_empty() {
                            query.push(("tags_match_mode", "any".to_string()));
                        }
                        r.query(&query)
                    };
                    let reply = self.read_reply(Method::GET, &url, &build).await?;
                    let list: DagList = self.decoded(&reply, &Reading::Dags)?;
                    let read = offset + list.dags.len();
                    let more = !list.dags.is_empty()
                        && list.total_entries.is_none_or(|total| (read as u64) < total);
                    Ok::<_, SourceError>(PageOf {
                        items: list.dags,
                        next: more.then_some(read),
                    })
                }
            },
        )
        .await?;
        Ok(all
            .into_iter()
            .filter(|d| self.config.wants(&d.dag_id))
            .collect())
    }

    /// DAGs named exactly (no glob) in the config that the list lacks.
    fn missing_dags(&self, dags: &[Dag]) -> Vec<String> {
        let seen: BTreeSet<&str> = dags.iter().map(|d| d.dag_id.as_str()).collect();
        self.config
            .dags
            .iter()
            .filter(|n| !n.contains(['*', '?']) && !seen.contains(n.as_str()))
            .map(|n| {
                format!(
                    "{}: no DAG `{n}` on Airflow{} — deleted, renamed, or not visible to this user",
                    self.name,
                    if self.config.tags.is_empty() {
                        String::new()
                    } else {
                        format!(" with a tag of {}", self.config.tags.join(", "))
                    }
                )
            })
            .collect()
    }

    /// The newest `limit` runs of one DAG.
    async fn runs(&self, dag: &str) -> Result<Vec<api::DagRun>, SourceError> {
        let url = self.api(&format!("/dags/{}/dagRuns", segment(dag)));
        let limit = self.config.limit.to_string();
        let build =
            |r: reqwest::RequestBuilder| r.query(&[("order_by", "-run_after"), ("limit", &limit)]);
        let reply = self.read_reply(Method::GET, &url, &build).await?;
        let list: DagRunList = self.decoded(&reply, &Reading::Runs(dag))?;
        Ok(list.dag_runs)
    }

    /// The task instances of one run.
    pub(super) async fn tasks(
        &self,
        dag: &str,
        run: &str,
    ) -> Result<Vec<TaskInstance>, SourceError> {
        let url = self.api(&format!(
            "/dags/{}/dagRuns/{}/taskInstances",
            segment(dag),
            segment(run)
        ));
        let build = |r: reqwest::RequestBuilder| r.query(&[("limit", "100")]);
        let reply = self.read_reply(Method::GET, &url, &build).await?;
        let list: TaskInstanceList = self.decoded(&reply, &Reading::Tasks(dag, run))?;
        Ok(list.task_instances)
    }

    /// The task instances of several runs at once (`POST
    /// …/dags/~/dagRuns/~/taskInstances/list`), by `DAG_ID/RUN_ID`.
    async fn tasks_of(
        &self,
        runs: &[(String, String)],
    ) -> Result<HashMap<String, Vec<TaskInstance>>, SourceError> {
        let mut found: HashMap<String, Vec<TaskInstance>> = HashMap::new();
        if runs.is_empty() {
            return Ok(found);
        }
        let wanted: BTreeSet<String> = runs.iter().map(|(d, r)| api::run_key(d, r)).collect();
        let dag_ids: BTreeSet<&str> = runs.iter().map(|(d, _)| d.as_str()).collect();
        let run_ids: BTreeSet<&str> = runs.iter().map(|(_, r)| r.as_str()).collect();
        let url = self.api("/dags/~/dagRuns/~/taskInstances/list");
        let all = pages::collect(
            0usize,
            Bounds {
                items: TASK_PAGE * MAX_TASK_PAGES,
                pages: MAX_TASK_PAGES,
            },
            |offset| {
                let body = json!({
                    "dag_ids": dag_ids,
                    "dag_run_ids": run_ids,
                    "page_offset": offset,
                    "page_limit": TASK_PAGE,
                });
                let url = url.clone();
                async move {
                    let build = |r: reqwest::RequestBuilder| r.json(&body);
                    let reply = self.read_reply(Method::POST, &url, &build).await?;
                    let list: TaskInstanceList =
                        self.decoded(&reply, &Reading::Tasks("~", "(failed runs)"))?;
                    let read = offset + list.task_instances.len();
                    let more = !list.task_instances.is_empty()
                        && list
                            .total_entries
                            .is_some_and(|total| (read as u64) < total);
                    Ok::<_, SourceError>(PageOf {
                        items: list.task_instances,
                        next: more.then_some(read),
                    })
                }
            },
        )
        .await?;
        if all.len() >= TASK_PAGE * MAX_TASK_PAGES {
            // Cut short: some runs would show part of their tasks as all
            // of them. They load on drill-down instead.
            return Ok(found);
        }
        for task in all {
            let key = api::run_key(&task.dag_id, &task.dag_run_id);
            // Run ids repeat across DAGs: only the pairs asked for.
            if wanted.contains(&key) {
                found.entry(key).or_default().push(task);
            }
        }
        Ok(found)
    }
}
