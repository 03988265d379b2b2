//! CI/CD pipeline runs, their jobs and steps.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// Where a run, job or step stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Success,
    Failure,
    Cancelled,
    Skipped,
    Unknown,
}

impl RunStatus {
    /// Still going: queued or running.
    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }

    /// How much this status asks for attention (higher is worse).
    pub fn severity(self) -> u8 {
        match self {
            RunStatus::Failure => 3,
            RunStatus::Unknown => 2,
            RunStatus::Cancelled => 1,
            _ => 0,
        }
    }
}

/// One step of a job.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub name: String,
    pub status: RunStatus,
    pub duration: Option<Duration>,
}

/// One job of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub status: RunStatus,
    pub started_at: Option<Timestamp>,
    pub duration: Option<Duration>,
    pub url: Option<String>,
    pub steps: Vec<Step>,
}

/// One run of a CI/CD pipeline (a GitHub workflow run, a GitLab pipeline, a
/// Jenkins build).
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineRun {
    pub source: String,
    pub id: String,
    /// Workflow or job name.
    pub pipeline: String,
    /// Repository or project.
    pub project: String,
    pub branch: String,
    /// Full commit SHA.
    pub commit: String,
    pub actor: String,
    /// What triggered the run (push, schedule, pull_request, manual…).
    pub event: String,
    pub status: RunStatus,
    /// The backend's own word when it does not map cleanly (shown beside `unknown`).
    pub raw_status: Option<String>,
    /// Attempt number; shown when above 1.
    pub attempt: u32,
    pub created_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    /// Set once finished; a running run's duration is computed from `started_at`.
    pub duration: Option<Duration>,
    pub url: Option<String>,
    /// Jobs and steps; `None` until loaded on drill-down.
    pub jobs: Option<Vec<Job>>,
}

impl PipelineRun {
    /// How long the run took, or has been running for at `now`.
    pub fn elapsed(&self, now: Timestamp) -> Option<Duration> {
        if let Some(d) = self.duration {
            return Some(d);
        }
        let started = self.started_at?;
        if self.status == RunStatus::Running {
            (now - started).to_std().ok()
        } else {
            None
        }
    }

    /// The time the run is sorted by: started, else created.
    pub fn sort_time(&self) -> Option<Timestamp> {
        self.started_at.or(self.created_at)
    }

    /// Names of jobs that failed (empty while jobs are not loaded).
    pub fn failed_jobs(&self) -> Vec<&str> {
        self.jobs
            .iter()
            .flatten()
            .filter(|j| j.status == RunStatus::Failure)
            .map(|j| j.name.as_str())
            .collect()
    }
}
