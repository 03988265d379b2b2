//! Reading runs: newest first, page by page (`page_token`), in the
//! configured namespace and experiments; the names of their pipelines,
//! versions and experiments are asked for once each and kept.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use serde_json::Value;

use super::api::{self, ExperimentPage, Named, Run, RunPage};
use super::{KubeflowSource, Reading};
use super::{map, params};
use crate::model::{PipelineRun, Snapshot};
use crate::sources::SourceError;
use crate::sources::http::pages::{self, Bounds, PageOf};

/// KFP's largest page.
const MAX_PAGE_SIZE: usize = 200;
/// Never more pages than this in one list (a server that always says more).
const MAX_PAGES: usize = 100;
/// Names looked up at the same time.
const NAME_CONCURRENCY: usize = 4;

/// What the source keeps between reads: names by id (`None`: the server
/// says it is gone), and where the runs of the last read came from.
#[derive(Debug, Default)]
pub(super) struct Cache {
    pub pipelines: HashMap<String, Option<String>>,
    pub versions: HashMap<String, Option<String>>,
    pub experiments: HashMap<String, String>,
    /// Experiment ids a listing did not name (not listed again for them).
    pub unnamed_experiments: HashSet<String>,
    /// The configured experiments' ids, by display name, once found.
    pub filter: HashMap<String, String>,
    /// Each run's experiment in the last read (a new run from it goes there).
    pub run_experiments: HashMap<String, String>,
    /// Runtime parameter types by pipeline version (from its spec).
    pub declared: HashMap<String, Vec<params::Declared>>,
}

impl KubeflowSource {
    /// Read the runs and put them in the domain's words.
    pub(super) async fn read(&self) -> Result<Snapshot, SourceError> {
        let mut problems = Vec::new();
        let experiments = self.filter_experiments(&mut problems).await?;
        let mut values = match &experiments {
            None => self.list_runs(None).await?,
            Some(ids) => {
                let mut all = Vec::new();
                for id in ids {
                    all.extend(self.list_runs(Some(id)).await?);
                }
                all
            }
        };
        // Merged experiments: newest first again.
        let created = |v: &Value| api::time(v.get("created_at").and_then(Value::as_str));
        values.sort_by_key(|v| std::cmp::Reverse(created(v)));
        values.truncate(self.config.limit);

        let origin = map::Origin {
            source: &self.name,
            ui_url: &self.config.ui_url,
        };
        let mut runs: Vec<Result<Run, PipelineRun>> = Vec::new();
        for value in values {
            let id = value
                .get("run_id")
                .and_then(Value::as_str)
                .map(str::to_string);
            match (serde_json::from_value::<Run>(value), id) {
                (Ok(run), _) if run.error.is_some() => {
                    let why = run.error.as_ref().and_then(|e| e.message.clone());
                    let why = format!(
                        "the KFP server could not read this run: {}",
                        why.unwrap_or_else(|| "no details".into())
                    );
                    runs.push(Err(map::unreadable(&origin, &run.run_id, why)));
                }
                (Ok(run), _) => runs.push(Ok(run)),
                (Err(e), Some(id)) => runs.push(Err(map::unreadable(
                    &origin,
                    &id,
                    format!("cannot understand this run: {e}"),
                ))),
                (Err(e), None) => {
                    problems.push(format!("{}: a run without a run_id: {e}", self.name))
                }
            }
        }
        let read: Vec<&Run> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
        self.learn_names(&read, &mut problems).await?;

        let mut cache = self.cache();
        cache.run_experiments = read
            .iter()
            .filter_map(|r| Some((r.run_id.clone(), r.experiment_id.clone()?)))
            .collect();
        let pipelines = runs
            .into_iter()
            .map(|run| match run {
                Err(unreadable) => unreadable,
                Ok(run) => {
                    let version = map::version_of(&run);
                    let names = map::Names {
                        pipeline: version
                            .as_ref()
                            .and_then(|(p, _)| cache.pipelines.get(p)?.as_deref()),
                        version: version
                            .as_ref()
                            .and_then(|(_, v)| cache.versions.get(v)?.as_deref()),
                        experiment: (run.experiment_id.as_ref())
                            .and_then(|e| cache.experiments.get(e))
                            .map(String::as_str),
                    };
                    map::to_run(&origin, &run, &names)
                }
            })
            .collect();
        Ok(Snapshot {
            pipelines,
            problems,
            ..Snapshot::default()
        })
    }

    /// The ids of the configured experiments (`None`: no filter). One not
    /// found is a problem; none found fails the read.
    async fn filter_experiments(
        &self,
        problems: &mut Vec<String>,
    ) -> Result<Option<Vec<String>>, SourceError> {
        let wanted = &self.config.experiments;
        if wanted.is_empty() {
            return Ok(None);
        }
        let known = wanted.iter().all(|n| self.cache().filter.contains_key(n));
        if !known {
            self.list_experiments().await?;
        }
        let cache = self.cache();
        let mut ids = Vec::new();
        let mut missing = Vec::new();
        for name in wanted {
            match cache.filter.get(name) {
                Some(id) => ids.push(id.clone()),
                None => missing.push(name.as_str()),
            }
        }
        let place = match &self.config.namespace {
            Some(ns) => format!("in namespace {ns}"),
            None => "on the server".to_string(),
        };
        if ids.is_empty() {
            return Err(SourceError::Backend(format!(
                "{}: no experiment named {} {place} — check `experiments` (display names)",
                self.name,
                missing.join(", ")
            )));
        }
        for name in missing {
            problems.push(format!("{}: no experiment named {name} {place}", self.name));
        }
        Ok(Some(ids))
    }

    /// Every experiment of the namespace, page by page: their names kept.
    async fn list_experiments(&self) -> Result<(), SourceError> {
        let bounds = Bounds {
            items: usize::MAX,
            pages: MAX_PAGES,
        };
        let all: Vec<Named> = pages::collect(None, bounds, |token: Option<String>| async move {
            let mut query = self.scope();
            query.push(("page_size", MAX_PAGE_SIZE.to_string()));
            if let Some(token) = token {
                query.push(("page_token", token));
            }
            let page: ExperimentPage = self
                .get_json("/experiments", &query, &Reading::Experiments)
                .await?;
            Ok::<_, SourceError>(PageOf {
                items: page.experiments,
                next: page.next_page_token.filter(|t| !t.is_empty()).map(Some),
            })
        })
        .await?;
        let mut cache = self.cache();
        for experiment in all {
            let (Some(id), Some(name)) = (experiment.experiment_id.clone(), experiment.shown())
            else {
                continue;
            };
            if self.config.experiments.contains(&name) {
                cache.filter.insert(name.clone(), id.clone());
            }
            cache.unnamed_experiments.remove(&id);
            cache.experiments.insert(id, name);
        }
        Ok(())
    }

    /// `namespace=` when configured (multi-user mode needs it).
    fn scope(&self) -> Vec<(&'static str, String)> {
        self.config
            .namespace
            .iter()
            .map(|ns| ("namespace", ns.clone()))
            .collect()
    }

    /// The newest runs (of one experiment), up to `limit`, as JSON values
    /// to decode one by one. Later pages send only the token (KFP refuses a
    /// `sort_by` that differs from the one the token holds).
    async fn list_runs(&self, experiment: Option<&str>) -> Result<Vec<Value>, SourceError> {
        let limit = self.config.limit;
        let bounds = Bounds {
            items: limit,
            pages: MAX_PAGES,
        };
        pages::collect(None, bounds, |token: Option<String>| async move {
            let mut query = self.scope();
            if let Some(id) = experiment {
                query.push(("experiment_id", id.to_string()));
            }
            query.push(("page_size", limit.min(MAX_PAGE_SIZE).to_string()));
            match token {
                Some(token) => query.push(("page_token", token)),
                None => query.push(("sort_by", "created_at desc".into())),
            }
            let page: RunPage = self.get_json("/runs", &query, &Reading::Runs).await?;
            Ok::<_, SourceError>(PageOf {
                items: page.runs,
                next: page.next_page_token.filter(|t| !t.is_empty()).map(Some),
            })
        })
        .await
    }

    /// Ask for the names not known yet: each pipeline and version once, the
    /// experiments in one listing. A name that cannot be read leaves ids on
    /// screen (and a problem); a backend-wide failure fails the read.
    async fn learn_names(
        &self,
        runs: &[&Run],
        problems: &mut Vec<String>,
    ) -> Result<(), SourceError> {
        let (pipelines, versions, experiments) = {
            let cache = self.cache();
            let mut pipelines = HashSet::new();
            let mut versions = HashSet::new();
            let mut experiments = HashSet::new();
            for run in runs {
                if let Some((p, v)) = map::version_of(run) {
                    if !cache.pipelines.contains_key(&p) {
                        pipelines.insert(p.clone());
                    }
                    if !cache.versions.contains_key(&v) {
                        versions.insert((p, v));
                    }
                }
                if let Some(e) = run.experiment_id.as_ref().filter(|e| !e.is_empty()) {
                    if !cache.experiments.contains_key(e) && !cache.unnamed_experiments.contains(e)
                    {
                        experiments.insert(e.clone());
                    }
                }
            }
            (pipelines, versions, experiments)
        };
        if !experiments.is_empty() {
            match self.list_experiments().await {
                Ok(()) => {
                    let mut cache = self.cache();
                    for e in experiments {
                        if !cache.experiments.contains_key(&e) {
                            cache.unnamed_experiments.insert(e);
                        }
                    }
                }
                Err(e) if e.is_backend_wide() => return Err(e),
                Err(e) => problems.push(format!("cannot name the experiments: {e}")),
            }
        }
        let lookups = pipelines
            .into_iter()
            .map(|p| (format!("/pipelines/{p}"), Reading::Pipeline(p), true))
            .chain(versions.into_iter().map(|(p, v)| {
                (
                    format!("/pipelines/{p}/versions/{v}"),
                    Reading::Version(p, v),
                    false,
                )
            }))
            .map(|(path, reading, is_pipeline)| async move {
                let named = self.get_found::<Named>(&path, &reading).await;
                (reading, is_pipeline, named)
            });
        let answers: Vec<_> = futures::stream::iter(lookups)
            .buffer_unordered(NAME_CONCURRENCY)
            .collect()
            .await;
        let mut cache = self.cache();
        for (reading, is_pipeline, named) in answers {
            let id = match &reading {
                Reading::Pipeline(p) => p.clone(),
                Reading::Version(_, v) => v.clone(),
                _ => continue,
            };
            let name = match named {
                Ok(named) => named.and_then(|n| n.shown()),
                Err(e) if e.is_backend_wide() => return Err(e),
                Err(e) => {
                    problems.push(format!("cannot read the name of {}: {e}", reading.what()));
                    continue;
                }
            };
            if is_pipeline {
                cache.pipelines.insert(id, name);
            } else {
                cache.versions.insert(id, name);
            }
        }
        Ok(())
    }
}
