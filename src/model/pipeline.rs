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

/// How a run that waits for a person to approve it is shown (a Terraform
/// plan awaiting confirmation, a GitHub run awaiting a deployment review):
/// its status is `queued`, and it needs attention.
pub const AWAITING_APPROVAL: &str = "awaiting approval";

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
    /// What a new run is started from, as the backend names it (a GitHub
    /// workflow id, a GitLab project, a Jenkins job path). Empty when new
    /// runs cannot be started.
    pub pipeline_id: String,
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
    /// What waits for a person to approve it, in words (`planned: +1 ~2
    /// -0`, `a deployment review`); `None` when nothing waits. Its status
    /// is `queued`; it is shown as `AWAITING_APPROVAL`, needing attention.
    pub awaiting_approval: Option<String>,
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
    /// Its pipeline is paused: no new runs start until it is resumed (an
    /// Airflow DAG's `is_paused`).
    pub paused: bool,
    /// What else the backend says about the run, shown in its detail view
    /// as `name: value` lines (an Airflow run's conf and logical date, a
    /// Kubeflow run's parameters and failure reason).
    pub details: Vec<(String, String)>,
    /// Why this run (or its pipeline) could not be read fully, in the
    /// backend's words; a failed run is a status, not an error.
    pub error: Option<String>,
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

    /// "build on main @ abc1234", without the parts a run has none of (an
    /// Airflow run has neither branch nor commit).
    pub fn described(&self) -> String {
        let mut what = self.pipeline.clone();
        if !self.branch.is_empty() {
            what.push_str(&format!(" on {}", self.branch));
        }
        if !self.commit.is_empty() {
            what.push_str(&format!(" @ {}", super::short_rev(&self.commit)));
        }
        what
    }

    /// The time the run is sorted by: started, else created.
    pub fn sort_time(&self) -> Option<Timestamp> {
        self.started_at.or(self.created_at)
    }

    /// Waits for a person to approve it (see `AWAITING_APPROVAL`).
    pub fn awaits_approval(&self) -> bool {
        self.awaiting_approval.is_some()
    }

    /// Its state in words: "awaiting approval (planned: +1 ~2 -0)", the
    /// backend's own word where it does not map cleanly, else its status.
    pub fn state_words(&self) -> String {
        match (&self.awaiting_approval, &self.raw_status) {
            (Some(what), _) => format!("{AWAITING_APPROVAL} ({what})"),
            (None, Some(raw)) => raw.clone(),
            (None, None) => self.status.to_string(),
        }
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

/// The end of one job's log, for the drill-down (never the whole log).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogTail {
    /// The job it belongs to.
    pub job: String,
    /// The last lines, oldest first, without trailing newlines.
    pub lines: Vec<String>,
    /// Earlier lines were left out (the log is longer than the tail).
    pub truncated: bool,
}

/// How many lines of a job's log are shown.
pub const LOG_TAIL_LINES: usize = 200;

impl LogTail {
    /// Keep the last `LOG_TAIL_LINES` lines of `text` (ANSI colour codes and
    /// carriage-return progress lines removed: they would garble the screen).
    pub fn from_text(job: impl Into<String>, text: &str, truncated: bool) -> LogTail {
        let mut lines: Vec<String> = text.lines().map(clean_log_line).collect();
        let cut = lines.len().saturating_sub(LOG_TAIL_LINES);
        lines.drain(..cut);
        LogTail {
            job: job.into(),
            lines,
            truncated: truncated || cut > 0,
        }
    }
}

/// One log line as it can be drawn: the text after the last carriage
/// return, without escape sequences or other control characters.
pub fn clean_log_line(line: &str) -> String {
    let line = line
        .rsplit('\r')
        .find(|part| !part.is_empty())
        .unwrap_or("");
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-byte; other escapes: ESC + one char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One input of a new run, as the backend declares it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FormInput {
    pub name: String,
    /// Filled in when the form opens.
    pub default: String,
    pub description: String,
    /// The allowed values, when the backend restricts them.
    pub choices: Vec<String>,
    pub required: bool,
}

/// What starting a new run of a pipeline asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DispatchForm {
    /// The pipeline id the action is sent to (`PipelineRun::pipeline_id`).
    pub pipeline: String,
    /// Its name, as shown.
    pub name: String,
    /// The ref to run on, pre-filled; `None` when the backend takes none
    /// (a Jenkins job builds what it is configured to).
    pub git_ref: Option<String>,
    /// Inputs the backend declares.
    pub inputs: Vec<FormInput>,
    /// Other `name=value` inputs may be added (GitLab variables).
    pub free_inputs: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_tail_keeps_the_last_lines_clean() {
        let text: String = (1..=250).map(|i| format!("line {i}\n")).collect();
        let tail = LogTail::from_text("build", &text, false);
        assert_eq!(tail.lines.len(), LOG_TAIL_LINES);
        assert_eq!(tail.lines[0], "line 51");
        assert_eq!(tail.lines[199], "line 250");
        assert!(tail.truncated);
        let tail = LogTail::from_text(
            "build",
            "\u{1b}[31merror\u{1b}[0m: boom\r\n10%\r50%\r100%\nbell\u{7}\tdone\n",
            false,
        );
        assert_eq!(tail.lines, ["error: boom", "100%", "bell    done"]);
        assert!(!tail.truncated);
    }
}
