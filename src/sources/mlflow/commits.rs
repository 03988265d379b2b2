//! The commit each model version was trained from: the
//! `mlflow.source.git.commit` tag, on the version itself when it carries
//! one, else on its training run (`runs/get`). Only versions created
//! within the timeline's window are looked up, at most
//! `MAX_LOOKUPS_PER_READ` runs per model and read, and every answer is
//! kept by run id for the source's lifetime: a run's commit never changes,
//! so a registry costs each run one request, once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::Deserialize;

use super::api::{Api, MlflowError, WireTag, WireVersion};
use crate::model::Timestamp;
use crate::sources::drift::from_millis;

/// The system tag MLflow sets to the HEAD of the run's Git checkout.
pub const COMMIT_TAG: &str = "mlflow.source.git.commit";
/// Runs looked up per model and read at most; the rest wait for the next
/// read (answers are kept, so they do not cost twice).
pub const MAX_LOOKUPS_PER_READ: usize = 20;

/// What is known of each run's commit: `None` when it has no commit tag
/// (or no longer exists).
#[derive(Debug, Default)]
pub struct Commits {
    by_run: Mutex<HashMap<String, Option<String>>>,
}

#[derive(Debug, Default, Deserialize)]
struct RunReply {
    run: Option<RunTags>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RunTags {
    data: RunData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RunData {
    tags: Vec<WireTag>,
}

fn commit_tag(tags: &[WireTag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key == COMMIT_TAG)
        .map(|t| t.value.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Commits {
    fn known(&self, run: &str) -> Option<Option<String>> {
        self.by_run.lock().ok()?.get(run).cloned()
    }

    fn remember(&self, run: &str, commit: Option<String>) {
        if let Ok(mut by_run) = self.by_run.lock() {
            by_run.insert(run.to_string(), commit);
        }
    }

    /// The runs to ask about now: of versions created at or after `since`
    /// without their own commit tag, the ones not asked before (newest
    /// version first), at most `MAX_LOOKUPS_PER_READ`.
    pub fn wanted(&self, versions: &[WireVersion], since: Timestamp) -> Vec<String> {
        let mut recent: Vec<&WireVersion> = versions
            .iter()
            .filter(|v| {
                v.creation_timestamp
                    .and_then(from_millis)
                    .is_some_and(|t| t >= since)
            })
            .filter(|v| commit_tag(&v.tags).is_none())
            .collect();
        recent.sort_by_key(|v| std::cmp::Reverse(v.creation_timestamp));
        let mut runs: Vec<String> = Vec::new();
        for v in recent {
            let Some(run) = v.run_id.as_deref().filter(|r| !r.is_empty()) else {
                continue;
            };
            if self.known(run).is_none() && !runs.iter().any(|r| r == run) {
                runs.push(run.to_string());
            }
            if runs.len() == MAX_LOOKUPS_PER_READ {
                break;
            }
        }
        runs
    }

    /// Ask MLflow for the runs `wanted` names and keep the answers. A run
    /// that cannot be read for a passing reason (the transport, a 5xx) is
    /// asked again next read; one MLflow says does not exist is kept as
    /// having no commit.
    pub async fn look_up(&self, api: &Api<'_>, runs: &[String]) {
        let answers = futures::future::join_all(runs.iter().map(|run| async move {
            let reply = api
                .get::<RunReply>("runs/get", &[("run_id", run.as_str())])
                .await;
            (run, reply)
        }))
        .await;
        for (run, reply) in answers {
            match reply {
                Ok(r) => self.remember(run, r.run.and_then(|r| commit_tag(&r.data.tags))),
                Err(MlflowError::Api { .. }) => self.remember(run, None),
                Err(e) => tracing::debug!(%run, error = %e, "cannot read a training run's commit"),
            }
        }
    }

    /// Each version's commit, by version: its own tag, else its run's.
    pub fn of_versions(&self, versions: &[WireVersion]) -> BTreeMap<String, String> {
        versions
            .iter()
            .filter_map(|v| {
                let commit = commit_tag(&v.tags).or_else(|| {
                    v.run_id
                        .as_deref()
                        .and_then(|run| self.known(run))
                        .flatten()
                })?;
                Some((v.version.clone(), commit))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: u32, minutes_ago: i64, run: &str, tag: Option<&str>) -> WireVersion {
        let now = chrono::Utc::now();
        WireVersion {
            version: v.to_string(),
            creation_timestamp: Some(
                (now - chrono::Duration::minutes(minutes_ago)).timestamp_millis(),
            ),
            status: None,
            description: None,
            run_id: Some(run.into()),
            tags: tag
                .map(|t| WireTag {
                    key: COMMIT_TAG.into(),
                    value: t.into(),
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn only_untagged_versions_in_the_window_are_asked_about_once() {
        let commits = Commits::default();
        let since = chrono::Utc::now() - chrono::Duration::hours(24);
        let versions = vec![
            version(4, 10, "r4", Some("4444444")),
            version(3, 20, "r3", None),
            version(2, 30, "r3", None),
            version(1, 48 * 60, "r1", None),
        ];
        assert_eq!(commits.wanted(&versions, since), ["r3"]);
        commits.remember("r3", Some("3333333".into()));
        assert!(
            commits.wanted(&versions, since).is_empty(),
            "kept by run id"
        );
        let found = commits.of_versions(&versions);
        assert_eq!(found.get("4").map(String::as_str), Some("4444444"));
        assert_eq!(found.get("3").map(String::as_str), Some("3333333"));
        assert_eq!(found.get("2").map(String::as_str), Some("3333333"));
        assert_eq!(found.get("1"), None, "outside the window, never asked");
    }

    #[test]
    fn a_read_asks_about_a_bounded_number_of_runs() {
        let commits = Commits::default();
        let since = chrono::Utc::now() - chrono::Duration::hours(24);
        let versions: Vec<WireVersion> = (0..50)
            .map(|i| version(i, i64::from(i), &format!("r{i}"), None))
            .collect();
        let first = commits.wanted(&versions, since);
        assert_eq!(first.len(), MAX_LOOKUPS_PER_READ);
        assert_eq!(first[0], "r0", "newest first");
        for run in &first {
            commits.remember(run, None);
        }
        let second = commits.wanted(&versions, since);
        assert_eq!(second.len(), MAX_LOOKUPS_PER_READ);
        assert!(second.iter().all(|r| !first.contains(r)));
    }
}
