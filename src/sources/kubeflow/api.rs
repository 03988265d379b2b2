//! Kubeflow Pipelines' v2beta1 shapes (only the fields opsdeck reads) and
//! their mapping into the domain: runs to `PipelineRun`s, task details to
//! `Job`s, a failed run's reason, KFP's own error words.

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Job, PipelineRun, RunStatus, Timestamp};

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
    fn words(&self) -> Option<String> {
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
fn state_name(state: Option<&Value>) -> Option<String> {
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

/// A parameter value as it is shown and typed: text as is, anything else
/// as JSON.
pub fn shown_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Why a failed run failed, from what the server recorded: the errors in
/// its state history (the last first), then its failed tasks' errors.
pub fn failure_reason(run: &Run) -> String {
    let mut reasons: Vec<String> = Vec::new();
    for entry in run.state_history.iter().rev() {
        if let Some(words) = entry.error.as_ref().and_then(Status::words) {
            if !reasons.contains(&words) {
                reasons.push(words);
            }
            break;
        }
    }
    for task in run.run_details.iter().flat_map(|d| &d.task_details) {
        if let Some(words) = task.error.as_ref().and_then(Status::words) {
            let name = task.display_name.as_deref().unwrap_or("a task");
            let line = format!("task {name}: {words}");
            if !reasons.contains(&line) {
                reasons.push(line);
            }
        }
    }
    if reasons.is_empty() {
        NO_REASON.to_string()
    } else {
        reasons.join("; ")
    }
}

/// How many times a run was retried: each return from a final state
/// (failed or canceled) to a live one is another attempt.
fn attempt(run: &Run) -> u32 {
    let mut attempt = 1;
    let mut ended = false;
    for entry in &run.state_history {
        match state_name(entry.state.as_ref()).as_deref() {
            Some("FAILED" | "CANCELED") => ended = true,
            Some("PENDING" | "RUNNING") if ended => {
                attempt += 1;
                ended = false;
            }
            _ => {}
        }
    }
    attempt
}

/// Names a run's pipeline, version and experiment by id (from the source's
/// cache), when known.
pub struct Names<'a> {
    pub pipeline: Option<&'a str>,
    pub version: Option<&'a str>,
    pub experiment: Option<&'a str>,
}

/// Where a run comes from: the source and the KFP UI for links.
pub struct Origin<'a> {
    pub source: &'a str,
    pub ui_url: &'a str,
}

/// The run's page in the KFP UI.
pub fn run_link(ui_url: &str, run_id: &str) -> String {
    format!("{ui_url}/#/runs/details/{run_id}")
}

/// The stored pipeline version a run ran (pipeline id, version id).
pub fn version_of(run: &Run) -> Option<(String, String)> {
    let r = run.pipeline_version_reference.as_ref()?;
    let pipeline = r.pipeline_id.clone().filter(|p| !p.is_empty())?;
    let version = r
        .pipeline_version_id
        .clone()
        .or_else(|| run.pipeline_version_id.clone())
        .filter(|v| !v.is_empty())?;
    Some((pipeline, version))
}

/// One run as a domain run. Its pipeline is "display name + version's
/// display name"; a new run starts from `PIPELINE/VERSION/RUN` (its
/// version, with its parameters).
pub fn to_run(origin: &Origin<'_>, run: &Run, names: &Names<'_>) -> PipelineRun {
    let (status, raw_status) = status(run.state.as_ref());
    let version = version_of(run);
    let inline_name = run
        .pipeline_spec
        .as_ref()
        .and_then(|s| s.pointer("/pipelineInfo/name"))
        .and_then(Value::as_str);
    let pipeline = match (names.pipeline, names.version, &version) {
        (Some(p), Some(v), _) => format!("{p} {v}"),
        (Some(p), None, Some((_, v))) => format!("{p} (version {v})"),
        (None, _, Some((p, v))) => format!("pipeline {p} (version {v})"),
        (Some(p), None, None) => p.to_string(),
        (None, _, None) => inline_name
            .map(str::to_string)
            .or_else(|| run.display_name.clone())
            .unwrap_or_else(|| "inline pipeline".into()),
    };
    let created = time(run.created_at.as_deref());
    let started = run
        .state_history
        .iter()
        .find(|s| state_name(s.state.as_ref()).as_deref() == Some("RUNNING"))
        .and_then(|s| time(s.update_time.as_deref()))
        .or_else(|| time(run.scheduled_at.as_deref()))
        .or(created);
    let finished = time(run.finished_at.as_deref()).filter(|_| !status.is_active());
    let updated = run
        .state_history
        .iter()
        .filter_map(|s| time(s.update_time.as_deref()))
        .max()
        .or(finished)
        .or(created);
    let mut details = Vec::new();
    if let Some(name) = run.display_name.as_deref().filter(|n| !n.is_empty()) {
        details.push(("run".to_string(), name.to_string()));
    }
    if status == RunStatus::Failure {
        details.push(("reason".to_string(), failure_reason(run)));
    }
    let parameters: Vec<String> = run
        .runtime_config
        .iter()
        .flat_map(|c| &c.parameters)
        .map(|(k, v)| format!("{k}={}", shown_value(v)))
        .collect();
    details.push((
        "parameters".to_string(),
        if parameters.is_empty() {
            "none".to_string()
        } else {
            parameters.join(", ")
        },
    ));
    if let Some(id) = run.experiment_id.as_deref().filter(|e| !e.is_empty()) {
        let shown = match names.experiment {
            Some(name) => format!("{name} ({id})"),
            None => id.to_string(),
        };
        details.push(("experiment".to_string(), shown));
    }
    if let Some(id) = run.recurring_run_id.as_deref().filter(|r| !r.is_empty()) {
        details.push(("recurring run".to_string(), id.to_string()));
    }
    PipelineRun {
        source: origin.source.to_string(),
        id: run.run_id.clone(),
        pipeline,
        pipeline_id: version
            .map(|(p, v)| format!("{p}/{v}/{}", run.run_id))
            .unwrap_or_default(),
        project: names
            .experiment
            .map(str::to_string)
            .or_else(|| run.experiment_id.clone())
            .unwrap_or_default(),
        branch: String::new(),
        commit: String::new(),
        actor: String::new(),
        event: if run
            .recurring_run_id
            .as_deref()
            .is_some_and(|r| !r.is_empty())
        {
            "schedule".into()
        } else {
            "manual".into()
        },
        status,
        raw_status,
        attempt: attempt(run),
        created_at: created,
        started_at: started,
        updated_at: updated,
        duration: match (started, finished) {
            (Some(s), Some(f)) => (f - s).to_std().ok(),
            _ => None,
        },
        url: Some(run_link(origin.ui_url, &run.run_id)),
        jobs: None,
        paused: false,
        details,
        error: None,
    }
}

/// A run the server could not read (its `error` set, or a shape that does
/// not decode): its id if it has one, and why, in the row's `error`.
pub fn unreadable(origin: &Origin<'_>, id: &str, why: String) -> PipelineRun {
    PipelineRun {
        source: origin.source.to_string(),
        id: id.to_string(),
        pipeline: "(unreadable run)".into(),
        pipeline_id: String::new(),
        project: String::new(),
        branch: String::new(),
        commit: String::new(),
        actor: String::new(),
        event: String::new(),
        status: RunStatus::Unknown,
        raw_status: None,
        attempt: 1,
        created_at: None,
        started_at: None,
        updated_at: None,
        duration: None,
        url: Some(run_link(origin.ui_url, id)),
        jobs: None,
        paused: false,
        details: Vec::new(),
        error: Some(why),
    }
}

/// A run's task details as jobs, in the order they were created.
pub fn to_jobs(run: &Run) -> Vec<Job> {
    let mut tasks: Vec<&Task> = run
        .run_details
        .iter()
        .flat_map(|d| &d.task_details)
        .collect();
    tasks.sort_by_key(|t| (time(t.create_time.as_deref()), t.task_id.clone()));
    tasks
        .into_iter()
        .map(|t| {
            let (status, _) = status(t.state.as_ref());
            let started = time(t.start_time.as_deref());
            let ended = time(t.end_time.as_deref());
            let id = t.task_id.clone().unwrap_or_default();
            Job {
                name: t
                    .display_name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| id.clone()),
                id,
                status,
                started_at: started,
                duration: match (started, ended) {
                    (Some(s), Some(e)) => (e - s).to_std().ok(),
                    _ => None,
                },
                url: None,
                steps: Vec::new(),
            }
        })
        .collect()
}

/// The runtime parameters a pipeline version declares: name, type
/// (`STRING`, `NUMBER_INTEGER`, …), default, optional, description. The
/// spec may be the IR itself or wrap it (`{pipeline_spec, platform_spec}`).
pub fn declared_parameters(spec: &Value) -> Vec<Declared> {
    let spec = spec.get("pipeline_spec").unwrap_or(spec);
    let Some(params) = spec
        .pointer("/root/inputDefinitions/parameters")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    params
        .iter()
        .map(|(name, p)| Declared {
            name: name.clone(),
            kind: p
                .get("parameterType")
                .and_then(Value::as_str)
                .unwrap_or("STRING")
                .to_string(),
            default: p.get("defaultValue").cloned(),
            optional: p
                .get("isOptional")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            description: p
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

/// One declared runtime parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Declared {
    pub name: String,
    /// `STRING`, `NUMBER_INTEGER`, `NUMBER_DOUBLE`, `BOOLEAN`, `LIST`, `STRUCT`.
    pub kind: String,
    pub default: Option<Value>,
    pub optional: bool,
    pub description: String,
}

/// A typed value for a runtime parameter from what was typed, by its
/// declared type; `Err` says what is wrong with it.
pub fn typed(kind: Option<&str>, text: &str) -> Result<Value, String> {
    let text = text.trim();
    match kind {
        Some("NUMBER_INTEGER") => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{text}` is not a whole number")),
        Some("NUMBER_DOUBLE") => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{text}` is not a number")),
        Some("BOOLEAN") => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not true or false")),
        },
        Some("LIST") => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Array(_)) => Ok(v),
            _ => Err(format!("`{text}` is not a JSON list ([…])")),
        },
        Some("STRUCT") => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(format!("`{text}` is not a JSON object ({{…}})")),
        },
        _ => Ok(Value::String(text.to_string())),
    }
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

    #[test]
    fn a_failed_runs_reason_comes_from_its_history_then_its_tasks() {
        let run: Run = serde_json::from_value(json!({
            "run_id": "r1",
            "state_history": [
                {"update_time": "2026-12-01T10:00:00Z", "state": "RUNNING",
                 "error": {"code": 14, "message": "retrying: pod pending"}},
                {"update_time": "2026-12-01T10:05:00Z", "state": "FAILED",
                 "error": {"code": 2, "message": "workflow failed"}}
            ],
            "run_details": {"task_details": [
                {"task_id": "t1", "display_name": "train", "state": "FAILED",
                 "error": {"code": 2, "message": "OOMKilled"}}
            ]}
        }))
        .expect("a run");
        assert_eq!(
            failure_reason(&run),
            "workflow failed; task train: OOMKilled"
        );
        let silent: Run = serde_json::from_value(json!({"run_id": "r2"})).expect("a run");
        assert_eq!(failure_reason(&silent), NO_REASON);
    }

    #[test]
    fn typed_values_follow_the_declared_type() {
        assert_eq!(typed(Some("NUMBER_INTEGER"), "5"), Ok(json!(5)));
        assert!(typed(Some("NUMBER_INTEGER"), "5.5").is_err());
        assert_eq!(typed(Some("NUMBER_DOUBLE"), "0.25"), Ok(json!(0.25)));
        assert_eq!(typed(Some("BOOLEAN"), "true"), Ok(json!(true)));
        assert_eq!(typed(Some("LIST"), "[1, 2]"), Ok(json!([1, 2])));
        assert!(typed(Some("STRUCT"), "[1]").is_err());
        assert_eq!(typed(None, "x"), Ok(json!("x")));
    }

    #[test]
    fn declared_parameters_are_read_from_the_ir_or_its_wrapper() {
        let ir = json!({"root": {"inputDefinitions": {"parameters": {
            "lr": {"parameterType": "NUMBER_DOUBLE", "defaultValue": 0.1},
            "data": {"parameterType": "STRING", "isOptional": true}
        }}}});
        let wrapped = json!({"pipeline_spec": ir.clone(), "platform_spec": {}});
        for spec in [ir, wrapped] {
            let p = declared_parameters(&spec);
            assert_eq!(p.len(), 2);
            assert_eq!(p[1].name, "lr");
            assert_eq!(p[1].default, Some(json!(0.1)));
            assert!(p[0].optional);
        }
    }
}
