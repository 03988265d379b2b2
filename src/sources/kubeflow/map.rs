//! Kubeflow runs in the domain: runs to `PipelineRun`s, task details to
//! `Job`s, a failed run's reason and its attempt count.

use serde_json::Value;

use super::api::{NO_REASON, Run, Status, Task, state_name, status, time};
use super::params::shown_value;
use crate::model::{Job, PipelineRun, RunStatus};

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
        awaiting_approval: None,
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
        awaiting_approval: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
