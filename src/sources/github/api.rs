//! The GitHub REST API's shapes (the fields opsdeck reads) and their mapping
//! into the domain model.

use std::time::Duration;

use serde::Deserialize;

use crate::model::{Job, PipelineRun, RunStatus, Step, Timestamp};

/// `GET /repos/{o}/{r}/actions/runs` and `…/workflows/{id}/runs`.
#[derive(Debug, Deserialize)]
pub struct RunList {
    #[serde(default)]
    pub workflow_runs: Vec<WorkflowRun>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Deserialize)]
pub struct Repository {
    pub full_name: String,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowRun {
    pub id: u64,
    pub name: Option<String>,
    pub head_branch: Option<String>,
    #[serde(default)]
    pub head_sha: String,
    pub path: Option<String>,
    #[serde(default)]
    pub event: String,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub workflow_id: u64,
    pub html_url: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub run_started_at: Option<Timestamp>,
    pub run_attempt: Option<u32>,
    pub actor: Option<User>,
    pub triggering_actor: Option<User>,
    pub repository: Option<Repository>,
}

/// `GET /repos/{o}/{r}/actions/runs/{id}/jobs`.
#[derive(Debug, Deserialize)]
pub struct JobList {
    #[serde(default)]
    pub jobs: Vec<WorkflowJob>,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowJob {
    pub id: u64,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub html_url: Option<String>,
    #[serde(default)]
    pub steps: Vec<WorkflowStep>,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowStep {
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

/// `GET /repos/{o}/{r}/actions/workflows/{id}`.
#[derive(Debug, Deserialize)]
pub struct Workflow {
    pub id: u64,
    pub name: String,
    pub path: String,
    pub state: String,
}

/// `GET /repos/{o}/{r}`.
#[derive(Debug, Deserialize)]
pub struct RepositoryInfo {
    pub default_branch: String,
}

/// GitHub's own words in an error body (`basic-error`'s `message`), else its start.
pub fn message(body: &[u8]) -> String {
    crate::sources::http::backend_words(body, &["message"])
}

/// `status` + `conclusion` (runs, jobs and steps alike) → status, and the
/// raw word when it has no clean match.
pub fn run_status(status: Option<&str>, conclusion: Option<&str>) -> (RunStatus, Option<String>) {
    match (status.unwrap_or(""), conclusion) {
        ("queued" | "requested" | "waiting" | "pending", _) => (RunStatus::Queued, None),
        ("in_progress", _) => (RunStatus::Running, None),
        ("completed", Some(c)) => conclusion_status(c),
        ("completed", None) => (RunStatus::Unknown, Some("completed".into())),
        // Some answers put a conclusion word in `status`.
        (other, _) => conclusion_status(other),
    }
}

fn conclusion_status(conclusion: &str) -> (RunStatus, Option<String>) {
    match conclusion {
        "success" => (RunStatus::Success, None),
        "failure" | "timed_out" | "startup_failure" => (RunStatus::Failure, None),
        "cancelled" => (RunStatus::Cancelled, None),
        "skipped" | "neutral" => (RunStatus::Skipped, None),
        // stale, action_required, and whatever GitHub adds next.
        other => (RunStatus::Unknown, Some(other.to_string())),
    }
}

/// `to − from`, when both are known and in order.
fn between(from: Option<Timestamp>, to: Option<Timestamp>) -> Option<Duration> {
    (to? - from?).to_std().ok()
}

pub fn to_run(source: &str, repo: &str, run: WorkflowRun) -> PipelineRun {
    let (status, raw_status) = run_status(run.status.as_deref(), run.conclusion.as_deref());
    let completed = run.status.as_deref() == Some("completed");
    let started_at = run.run_started_at.or(run.created_at);
    let pipeline = run.name.filter(|n| !n.is_empty()).unwrap_or_else(|| {
        // An unnamed workflow shows its file name, as GitHub's UI does.
        run.path
            .as_deref()
            .and_then(|p| p.split('@').next())
            .and_then(|p| p.rsplit('/').next())
            .map_or_else(|| run.workflow_id.to_string(), str::to_string)
    });
    PipelineRun {
        error: None,
        source: source.to_string(),
        id: run.id.to_string(),
        pipeline,
        pipeline_id: run.workflow_id.to_string(),
        project: run
            .repository
            .map_or_else(|| repo.to_string(), |r| r.full_name),
        branch: run.head_branch.unwrap_or_default(),
        commit: run.head_sha,
        actor: run
            .actor
            .or(run.triggering_actor)
            .map(|u| u.login)
            .unwrap_or_default(),
        event: run.event,
        status,
        raw_status,
        // A deployment protection rule holds it: a reviewer must approve
        // (or a wait timer run out) before its job starts.
        awaiting_approval: (run.status.as_deref() == Some("waiting"))
            .then(|| "a deployment review".to_string()),
        attempt: run.run_attempt.unwrap_or(1).max(1),
        created_at: run.created_at,
        started_at,
        updated_at: run.updated_at,
        // A running run's duration is computed from `started_at` by the app.
        duration: if completed {
            between(started_at, run.updated_at)
        } else {
            None
        },
        url: run.html_url,
        jobs: None,
        paused: false,
        details: Vec::new(),
    }
}

pub fn to_job(job: WorkflowJob) -> Job {
    let (status, _) = run_status(Some(&job.status), job.conclusion.as_deref());
    Job {
        id: job.id.to_string(),
        name: job.name,
        status,
        started_at: job.started_at,
        duration: between(job.started_at, job.completed_at),
        url: job.html_url,
        steps: job
            .steps
            .into_iter()
            .map(|s| {
                let (status, _) = run_status(Some(&s.status), s.conclusion.as_deref());
                Step {
                    name: s.name,
                    status,
                    duration: between(s.started_at, s.completed_at),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_conclusion_maps() {
        let rows: &[(&str, Option<&str>, RunStatus, Option<&str>)] = &[
            ("queued", None, RunStatus::Queued, None),
            ("requested", None, RunStatus::Queued, None),
            ("waiting", None, RunStatus::Queued, None),
            ("pending", None, RunStatus::Queued, None),
            ("in_progress", None, RunStatus::Running, None),
            ("completed", Some("success"), RunStatus::Success, None),
            ("completed", Some("failure"), RunStatus::Failure, None),
            ("completed", Some("timed_out"), RunStatus::Failure, None),
            (
                "completed",
                Some("startup_failure"),
                RunStatus::Failure,
                None,
            ),
            ("completed", Some("cancelled"), RunStatus::Cancelled, None),
            ("completed", Some("skipped"), RunStatus::Skipped, None),
            ("completed", Some("neutral"), RunStatus::Skipped, None),
            (
                "completed",
                Some("stale"),
                RunStatus::Unknown,
                Some("stale"),
            ),
            (
                "completed",
                Some("action_required"),
                RunStatus::Unknown,
                Some("action_required"),
            ),
            ("completed", None, RunStatus::Unknown, Some("completed")),
            ("brand_new", None, RunStatus::Unknown, Some("brand_new")),
        ];
        for (status, conclusion, want, raw) in rows {
            assert_eq!(
                run_status(Some(status), *conclusion),
                (*want, raw.map(str::to_string)),
                "{status} {conclusion:?}"
            );
        }
    }

    #[test]
    fn github_messages_are_read_from_basic_errors() {
        assert_eq!(
            message(br#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#),
            "Bad credentials"
        );
        assert_eq!(message(b""), "no details");
        // An HTML page (a proxy's) is never pasted.
        assert_eq!(message(b"<html>oops</html>"), "an HTML page");
    }
}
