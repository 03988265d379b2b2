//! Kubeflow Pipelines' v2beta1 shapes (only the fields opsdeck reads), the
//! runtime states in the domain's words, and KFP's own error words. The
//! mapping of runs lives in `map`, the runtime parameters in `params`.

use serde::Deserialize;
use serde_json::Value;

use crate::model::{RunStatus, Timestamp};

/// What a run or task reason says when the server recorded none.
pub const NO_REASON: &str = "no reason recorded";

/// `v2beta1ListRunsResponse`; each run is decoded on its own, so one bad
/// run cannot fail the page.
#[derive(Debug, Default, Deserialize)]
pub struct RunPage {
    #[serde(default)]
    pub runs: Vec<Value>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// `v2beta1Run`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Run {
    pub run_id: String,
    #[serde(default)]
    pub experiment_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub pipeline_version_reference: Option<VersionRef>,
    /// Deprecated: the version without its pipeline.
    #[serde(default)]
    pub pipeline_version_id: Option<String>,
    /// An inline pipeline (no stored version).
    #[serde(default)]
    pub pipeline_spec: Option<Value>,
    #[serde(default)]
    pub runtime_config: Option<RuntimeConfig>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub scheduled_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// A `V2beta1RuntimeState` name; anything else is kept as it came.
    #[serde(default)]
    pub state: Option<Value>,
    /// Not the failure reason: set when the server could not read the run.
    #[serde(default)]
    pub error: Option<Status>,
    #[serde(default)]
    pub run_details: Option<RunDetails>,
    #[serde(default)]
    pub recurring_run_id: Option<String>,
    #[serde(default)]
    pub state_history: Vec<RuntimeStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct VersionRef {
    #[serde(default)]
    pub pipeline_id: Option<String>,
    #[serde(default)]
    pub pipeline_version_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RuntimeConfig {
    #[serde(default)]
    pub parameters: serde_json::Map<String, Value>,
}

/// `v2beta1RuntimeStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RuntimeStatus {
    #[serde(default)]
    pub update_time: Option<String>,
    #[serde(default)]
    pub state: Option<Value>,
    #[serde(default)]
    pub error: Option<Status>,
}

/// `googleRpcStatus`: KFP's errors (and a run's or task's error).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
}

impl Status {
    pub(super) fn words(&self) -> Option<String> {
        self.message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RunDetails {
    #[serde(default)]
    pub task_details: Vec<Task>,
}

/// `v2beta1PipelineTaskDetail`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Task {
    #[serde(default)]
    pub task_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub create_time: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub state: Option<Value>,
    #[serde(default)]
    pub error: Option<Status>,
}

/// `v2beta1Experiment`, `v2beta1Pipeline` and `v2beta1PipelineVersion`:
/// what names them (and a version's spec, for the new-run form).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Named {
    #[serde(default)]
    pub experiment_id: Option<String>,
    #[serde(default)]
    pub pipeline_id: Option<String>,
    #[serde(default)]
    pub pipeline_version_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// KFP 2.x pipelines also carry a `name`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub pipeline_spec: Option<Value>,
}

impl Named {
    /// Its display name, else its name.
    pub fn shown(&self) -> Option<String> {
        [&self.display_name, &self.name]
            .into_iter()
            .flatten()
            .map(|n| n.trim())
            .find(|n| !n.is_empty())
            .map(str::to_string)
    }
}

/// A list of experiments, pipelines or versions, one page.
#[derive(Debug, Default, Deserialize)]
pub struct ExperimentPage {
    #[serde(default)]
    pub experiments: Vec<Named>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// A time the server sent; its zero (1970-01-01, what an unfinished run's
/// `finished_at` reads) is no time.
pub fn time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .filter(|t| t.timestamp() > 0)
}

/// The runtime state's name as sent (`None`: unset, which KFP omits).
pub(super) fn state_name(state: Option<&Value>) -> Option<String> {
    state.map(|s| match s {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Every value of `V2beta1RuntimeState` in the domain's words; anything
/// else (unset, `RUNTIME_STATE_UNSPECIFIED`, a value from a newer server)
/// is unknown, with the word kept.
pub fn status(state: Option<&Value>) -> (RunStatus, Option<String>) {
    let name = state_name(state);
    let mapped = match name.as_deref() {
        Some("PENDING" | "PAUSED") => RunStatus::Queued,
        Some("RUNNING" | "CANCELING") => RunStatus::Running,
        Some("SUCCEEDED") => RunStatus::Success,
        Some("FAILED") => RunStatus::Failure,
        Some("CANCELED") => RunStatus::Cancelled,
        Some("SKIPPED") => RunStatus::Skipped,
        _ => {
            let raw = name.unwrap_or_else(|| "RUNTIME_STATE_UNSPECIFIED".into());
            return (RunStatus::Unknown, Some(raw.to_ascii_lowercase()));
        }
    };
    (mapped, None)
}

/// KFP's own words in an error body: a `googleRpcStatus` `message` (or the
/// older gateway's `error`), else the start of the body.
pub fn message(body: &[u8]) -> String {
    crate::sources::http::backend_words(body, &["message", "error"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_runtime_state_maps_and_anything_else_is_unknown() {
        let cases = [
            ("PENDING", RunStatus::Queued),
            ("PAUSED", RunStatus::Queued),
            ("RUNNING", RunStatus::Running),
            ("CANCELING", RunStatus::Running),
            ("SUCCEEDED", RunStatus::Success),
            ("FAILED", RunStatus::Failure),
            ("CANCELED", RunStatus::Cancelled),
            ("SKIPPED", RunStatus::Skipped),
        ];
        for (word, want) in cases {
            assert_eq!(status(Some(&json!(word))), (want, None), "{word}");
        }
        assert_eq!(
            status(Some(&json!("RUNTIME_STATE_UNSPECIFIED"))),
            (RunStatus::Unknown, Some("runtime_state_unspecified".into()))
        );
        assert_eq!(
            status(None),
            (RunStatus::Unknown, Some("runtime_state_unspecified".into()))
        );
        assert_eq!(
            status(Some(&json!("EXPLODED"))),
            (RunStatus::Unknown, Some("exploded".into()))
        );
        assert_eq!(
            status(Some(&json!(3))),
            (RunStatus::Unknown, Some("3".into()))
        );
    }

    #[test]
    fn the_zero_time_is_no_time() {
        assert_eq!(time(Some("1970-01-01T00:00:00Z")), None);
        assert!(time(Some("2026-12-01T10:00:00Z")).is_some());
        assert_eq!(time(Some("yesterday")), None);
    }
}
