//! Airflow's REST API v2 shapes (only the fields opsdeck reads) and their
//! mapping into the domain: DAG runs to `PipelineRun`s, task instances to
//! `Job`s, params to a new-run form, and Airflow's `detail` in words.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::model::{FormInput, Job, PipelineRun, RunStatus, Step, Timestamp};

/// `GET /api/v2/dags`.
#[derive(Clone, Debug, Deserialize)]
pub struct DagList {
    #[serde(default)]
    pub dags: Vec<Dag>,
    #[serde(default)]
    pub total_entries: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Dag {
    pub dag_id: String,
    #[serde(default)]
    pub is_paused: bool,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Tag {
    pub name: String,
}

/// `GET /api/v2/dags/{id}/dagRuns`.
#[derive(Clone, Debug, Deserialize)]
pub struct DagRunList {
    #[serde(default)]
    pub dag_runs: Vec<DagRun>,
}

/// One DAG run (also the answer to a trigger or a state change).
#[derive(Clone, Debug, Deserialize)]
pub struct DagRun {
    pub dag_run_id: String,
    pub dag_id: String,
    #[serde(default)]
    pub logical_date: Option<String>,
    #[serde(default)]
    pub queued_at: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub run_after: Option<String>,
    #[serde(default)]
    pub last_scheduling_decision: Option<String>,
    /// Seconds, once finished.
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub run_type: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub triggered_by: Option<String>,
    #[serde(default)]
    pub triggering_user_name: Option<String>,
    #[serde(default)]
    pub conf: Option<Value>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `…/taskInstances`, `…/taskInstances/list` and `clearTaskInstances`.
#[derive(Clone, Debug, Deserialize)]
pub struct TaskInstanceList {
    #[serde(default)]
    pub task_instances: Vec<TaskInstance>,
    #[serde(default)]
    pub total_entries: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TaskInstance {
    pub task_id: String,
    #[serde(default)]
    pub dag_id: String,
    #[serde(default)]
    pub dag_run_id: String,
    #[serde(default = "unmapped")]
    pub map_index: i64,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub try_number: u32,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub duration: Option<f64>,
}

fn unmapped() -> i64 {
    -1
}

/// `GET /api/v2/dags/{id}/details`: only what a new run needs.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DagDetails {
    #[serde(default)]
    pub is_paused: bool,
    #[serde(default)]
    pub params: Option<serde_json::Map<String, Value>>,
}

/// `POST /auth/token`.
#[derive(Deserialize)]
pub struct TokenReply {
    pub access_token: String,
}

pub fn time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn seconds(s: Option<f64>) -> Option<Duration> {
    s.and_then(|d| Duration::try_from_secs_f64(d).ok())
}

/// A DAG run's state in the domain's words; `None` for a word Airflow may
/// add later (shown as its own).
pub fn run_status(raw: &str) -> Option<RunStatus> {
    Some(match raw {
        "queued" => RunStatus::Queued,
        "running" => RunStatus::Running,
        "success" => RunStatus::Success,
        "failed" => RunStatus::Failure,
        _ => return None,
    })
}

/// A task instance's state in the domain's words. `None` (no state yet) is
/// waiting; a task to be retried or rescheduled will run again; a deferred
/// one waits on its trigger, still active; `upstream_failed` is a failure
/// a re-run of the failed tasks clears (as Airflow's `only_failed` does).
pub fn task_status(raw: Option<&str>) -> RunStatus {
    match raw {
        None | Some("none" | "scheduled" | "queued" | "up_for_retry" | "up_for_reschedule") => {
            RunStatus::Queued
        }
        Some("running" | "restarting" | "deferred" | "awaiting_input") => RunStatus::Running,
        Some("success") => RunStatus::Success,
        Some("failed" | "upstream_failed") => RunStatus::Failure,
        Some("skipped" | "removed") => RunStatus::Skipped,
        Some(_) => RunStatus::Unknown,
    }
}

/// A run as a Pipelines row: id `DAG_ID/RUN_ID`, the DAG as its pipeline.
pub fn to_run(source: &str, base: &str, run: DagRun, paused: bool) -> PipelineRun {
    let raw = run.state.clone().unwrap_or_else(|| "none".into());
    let status = run_status(&raw);
    let mut details = Vec::new();
    if let Some(date) = &run.logical_date {
        details.push(("logical date".to_string(), date.clone()));
    }
    let conf = match &run.conf {
        Some(Value::Object(map)) if map.is_empty() => "{}".to_string(),
        Some(Value::Null) | None => "none".to_string(),
        Some(conf) => conf.to_string(),
    };
    details.push(("conf".to_string(), conf));
    if let Some(by) = &run.triggered_by {
        details.push(("triggered by".to_string(), by.clone()));
    }
    if let Some(note) = run.note.as_deref().filter(|n| !n.is_empty()) {
        details.push(("note".to_string(), note.to_string()));
    }
    if paused {
        details.push((
            "DAG".to_string(),
            "paused: no new runs start until it is resumed".to_string(),
        ));
    }
    let queued = time(run.queued_at.as_deref()).or_else(|| time(run.run_after.as_deref()));
    let started = time(run.start_date.as_deref());
    let ended = time(run.end_date.as_deref());
    let duration = seconds(run.duration).or_else(|| match (started, ended) {
        (Some(s), Some(e)) => (e - s).to_std().ok(),
        _ => None,
    });
    PipelineRun {
        source: source.to_string(),
        id: run_key(&run.dag_id, &run.dag_run_id),
        url: Some(format!(
            "{base}/dags/{}/runs/{}",
            super::segment(&run.dag_id),
            super::segment(&run.dag_run_id)
        )),
        pipeline: run.dag_id.clone(),
        pipeline_id: run.dag_id,
        project: String::new(),
        branch: String::new(),
        commit: String::new(),
        actor: run.triggering_user_name.unwrap_or_default(),
        event: run.run_type.unwrap_or_default(),
        status: status.unwrap_or(RunStatus::Unknown),
        raw_status: status.is_none().then_some(raw),
        awaiting_approval: None,
        attempt: 1,
        created_at: queued,
        started_at: started,
        updated_at: ended
            .or(time(run.last_scheduling_decision.as_deref()))
            .or(started)
            .or(queued),
        duration: ended.and(duration),
        jobs: None,
        paused,
        details,
        error: None,
    }
}

/// `DAG_ID/RUN_ID`: run ids are unique only within their DAG.
pub fn run_key(dag_id: &str, run_id: &str) -> String {
    format!("{dag_id}/{run_id}")
}

/// A job's id: the task id, with `[N]` for one mapped instance.
pub fn job_id(task: &TaskInstance) -> String {
    if task.map_index >= 0 {
        format!("{}[{}]", task.task_id, task.map_index)
    } else {
        task.task_id.clone()
    }
}

/// A job id back into task id and map index.
pub fn split_job_id(job: &str) -> (&str, i64) {
    if let Some((task, rest)) = job.strip_suffix(']').and_then(|j| j.rsplit_once('[')) {
        if let Ok(index) = rest.parse::<i64>() {
            return (task, index);
        }
    }
    (job, -1)
}

/// Task instances as jobs, named by their task ids; the try number and
/// Airflow's own state word (when the domain's differs: `upstream_failed`,
/// `up_for_retry`, `deferred`…) as the job's one step. Started ones
/// first, in the order they started.
pub fn to_jobs(mut tasks: Vec<TaskInstance>) -> Vec<Job> {
    tasks.sort_by(|a, b| {
        let key = |t: &TaskInstance| (t.start_date.is_none(), t.start_date.clone());
        key(a)
            .cmp(&key(b))
            .then_with(|| a.task_id.cmp(&b.task_id))
            .then(a.map_index.cmp(&b.map_index))
    });
    tasks
        .into_iter()
        .map(|task| {
            let status = task_status(task.state.as_deref());
            let raw = task.state.as_deref().unwrap_or("no status");
            let plain = matches!(raw, "success" | "running" | "queued" | "skipped" | "failed");
            let mut step = if task.try_number > 0 {
                format!("try {}", task.try_number)
            } else {
                "not tried".to_string()
            };
            if !plain {
                step.push_str(&format!(", {}", raw.replace('_', " ")));
            }
            let duration = seconds(task.duration);
            Job {
                id: job_id(&task),
                name: job_id(&task),
                status,
                started_at: time(task.start_date.as_deref()),
                duration,
                url: None,
                steps: vec![Step {
                    name: step,
                    status,
                    duration,
                }],
            }
        })
        .collect()
}

/// The new-run form from a DAG's `params`: each with its default, its
/// description, its `enum` as choices; required when it has no default
/// and does not allow null.
pub fn form_inputs(details: &DagDetails) -> Vec<FormInput> {
    let Some(params) = &details.params else {
        return Vec::new();
    };
    params
        .iter()
        .map(|(name, param)| {
            let value = param.get("value").unwrap_or(&Value::Null);
            let schema = param.get("schema").unwrap_or(&Value::Null);
            let choices = schema
                .get("enum")
                .and_then(Value::as_array)
                .map(|c| c.iter().map(text).collect())
                .unwrap_or_default();
            FormInput {
                name: name.clone(),
                default: text(value),
                description: param
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                choices,
                required: value.is_null() && !allows(schema, "null"),
            }
        })
        .collect()
}

/// A JSON value as a form shows it: strings bare, null empty, the rest JSON.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The schema's `type` is or includes `kind`.
fn allows(schema: &Value, kind: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == kind,
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str() == Some(kind)),
        _ => false,
    }
}

/// A form value typed by its param's schema, for `conf`: numbers, booleans,
/// arrays and objects are read as JSON; empty is null where the param has
/// no default; anything else (or what does not read) is sent as written,
/// for Airflow to check against the schema and say what is wrong.
pub fn conf_value(details: &DagDetails, name: &str, value: &str) -> Value {
    let param = details.params.as_ref().and_then(|p| p.get(name));
    let schema = param.and_then(|p| p.get("schema")).unwrap_or(&Value::Null);
    let default_null = param.is_some_and(|p| p.get("value").is_none_or(Value::is_null));
    if value.is_empty() && default_null {
        return Value::Null;
    }
    let typed = ["integer", "number", "boolean", "array", "object"]
        .iter()
        .any(|t| allows(schema, t));
    let only_string = allows(schema, "string") && !typed;
    if typed && !only_string {
        if let Ok(parsed) = serde_json::from_str::<Value>(value) {
            if !parsed.is_string() {
                return parsed;
            }
        }
    }
    Value::String(value.to_string())
}

/// Airflow's `detail`: a string, a list of pydantic errors (`loc`, `msg`)
/// or an object (a 409's `reason`, `message`). Anything else: the body.
pub fn message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return crate::sources::http::backend_words(body, &[]);
    };
    let words = match value.get("detail") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => {
            let words: Vec<String> = items
                .iter()
                .map(|item| {
                    let msg = item.get("msg").and_then(Value::as_str).unwrap_or("invalid");
                    let at: Vec<String> = item
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|l| l.iter().map(text).collect())
                        .unwrap_or_default();
                    if at.is_empty() {
                        msg.to_string()
                    } else {
                        format!("{}: {msg}", at.join("."))
                    }
                })
                .collect();
            words.join("; ")
        }
        Some(Value::Object(map)) => ["reason", "message"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str))
            .map(str::to_string)
            .unwrap_or_else(|| Value::Object(map.clone()).to_string()),
        _ => crate::sources::http::backend_words(body, &["detail", "message", "error"]),
    };
    // One line: a schema violation comes over several.
    words.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_state_maps() {
        assert_eq!(run_status("queued"), Some(RunStatus::Queued));
        assert_eq!(run_status("running"), Some(RunStatus::Running));
        assert_eq!(run_status("success"), Some(RunStatus::Success));
        assert_eq!(run_status("failed"), Some(RunStatus::Failure));
        assert_eq!(run_status("paused"), None);
    }

    #[test]
    fn every_task_state_maps() {
        let cases = [
            (None, RunStatus::Queued),
            (Some("scheduled"), RunStatus::Queued),
            (Some("queued"), RunStatus::Queued),
            (Some("up_for_retry"), RunStatus::Queued),
            (Some("up_for_reschedule"), RunStatus::Queued),
            (Some("running"), RunStatus::Running),
            (Some("restarting"), RunStatus::Running),
            (Some("deferred"), RunStatus::Running),
            (Some("awaiting_input"), RunStatus::Running),
            (Some("success"), RunStatus::Success),
            (Some("failed"), RunStatus::Failure),
            (Some("upstream_failed"), RunStatus::Failure),
            (Some("skipped"), RunStatus::Skipped),
            (Some("removed"), RunStatus::Skipped),
            (Some("something_new"), RunStatus::Unknown),
        ];
        for (raw, want) in cases {
            assert_eq!(task_status(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn detail_is_read_as_a_string_a_list_or_an_object() {
        assert_eq!(
            message(br#"{"detail":"The Dag with ID: `x` was not found"}"#),
            "The Dag with ID: `x` was not found"
        );
        assert_eq!(
            message(
                br#"{"detail":[{"type":"missing","loc":["body","logical_date"],"msg":"Field required","input":{}}]}"#
            ),
            "body.logical_date: Field required"
        );
        assert_eq!(
            message(br#"{"detail":{"reason":"Unique constraint violation","message":"Serious"}}"#),
            "Unique constraint violation"
        );
        assert_eq!(message(b"oops"), "oops");
    }

    #[test]
    fn job_ids_carry_the_map_index() {
        assert_eq!(split_job_id("train"), ("train", -1));
        assert_eq!(split_job_id("train[3]"), ("train", 3));
        assert_eq!(split_job_id("odd[x]"), ("odd[x]", -1));
    }

    #[test]
    fn form_values_are_typed_by_their_schema() {
        let details: DagDetails = serde_json::from_value(serde_json::json!({"params": {
            "model": {"value": "fraud", "schema": {"type": "string"}},
            "epochs": {"value": 3, "schema": {"type": "integer"}},
            "mode": {"value": "fast", "schema": {"enum": ["fast", "full"]}},
            "note": {"value": null, "schema": {"type": ["null", "string"]}},
            "when": {"value": null, "schema": {"type": "string"}, "description": "d"},
        }}))
        .expect("details");
        assert_eq!(conf_value(&details, "epochs", "5"), serde_json::json!(5));
        assert_eq!(conf_value(&details, "epochs", "x"), serde_json::json!("x"));
        assert_eq!(conf_value(&details, "model", "42"), serde_json::json!("42"));
        assert_eq!(conf_value(&details, "note", ""), Value::Null);
        let inputs = form_inputs(&details);
        let by = |n: &str| inputs.iter().find(|i| i.name == n).expect("input");
        assert_eq!(by("epochs").default, "3");
        assert_eq!(by("mode").choices, ["fast", "full"]);
        assert!(!by("note").required);
        assert!(by("when").required);
        assert_eq!(by("when").description, "d");
    }
}
