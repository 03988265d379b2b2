//! GitLab's REST shapes (only the fields opsdeck reads) and their mapping
//! into the domain: pipelines to `PipelineRun`s, jobs to `Job`s, GitLab's
//! own error words.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use crate::model::{Job, PipelineRun, RunStatus, Timestamp};

/// One entry of `GET /projects/:id/pipelines` (`PipelineBasic`).
#[derive(Clone, Debug, Deserialize)]
pub struct PipelineBasic {
    pub id: u64,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    pub status: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub web_url: Option<String>,
}

impl PipelineBasic {
    /// When it last changed (its place in the newest-first list).
    pub fn updated(&self) -> Option<Timestamp> {
        time(self.updated_at.as_deref()).or_else(|| time(self.created_at.as_deref()))
    }
}

/// `GET /projects/:id/pipelines/:pipeline_id` (`PipelineWithMetadata`):
/// what the list leaves out.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PipelineDetail {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub started_at: Option<String>,
    /// Seconds spent running; set once finished.
    #[serde(default)]
    pub duration: Option<f64>,
}

/// The answer to a retry, cancel or create: the pipeline as it is now.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PipelineReply {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub web_url: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct User {
    #[serde(default)]
    pub username: Option<String>,
}

/// `GET /projects/:id`: only what the dispatch form needs.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Project {
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub path_with_namespace: Option<String>,
}

/// One entry of `GET /projects/:id/pipelines/:pipeline_id/jobs`.
#[derive(Clone, Debug, Deserialize)]
pub struct JobEntry {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub stage: Option<String>,
    pub status: String,
    #[serde(default)]
    pub started_at: Option<String>,
    /// Seconds spent running (a float).
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub web_url: Option<String>,
}

pub fn time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn seconds(s: Option<f64>) -> Option<Duration> {
    s.and_then(|d| Duration::try_from_secs_f64(d).ok())
}

/// GitLab's pipeline and job statuses in the domain's words; `None` when
/// the word is unknown (it is then shown as the backend's own).
pub fn status(raw: &str) -> Option<RunStatus> {
    Some(match raw {
        "created" | "waiting_for_resource" | "preparing" | "pending" | "scheduled" | "manual" => {
            RunStatus::Queued
        }
        // A job handed to an outside system that has yet to call back: started.
        // Still stopping its jobs: active until GitLab says canceled.
        "running" | "waiting_for_callback" | "canceling" => RunStatus::Running,
        "success" => RunStatus::Success,
        "failed" => RunStatus::Failure,
        "canceled" => RunStatus::Cancelled,
        "skipped" => RunStatus::Skipped,
        _ => return None,
    })
}

/// The project path a pipeline's web URL names
/// (`https://gitlab.example.com/group/sub/project/-/pipelines/61`).
pub fn project_path_of(web_url: &str) -> Option<String> {
    let url = url::Url::parse(web_url).ok()?;
    let path = url.path().trim_start_matches('/');
    let (project, _) = path.split_once("/-/")?;
    (!project.is_empty()).then(|| project.to_string())
}

/// Where a run came from, for the `PipelineRun` fields that are the same
/// for every pipeline of a source.
pub struct Origin<'a> {
    pub source: &'a str,
    /// `project` as configured (path or id): what new pipelines start from.
    pub pipeline_id: &'a str,
    /// The project's path, when known without asking.
    pub project_path: Option<&'a str>,
}

/// One pipeline as a domain run; `detail` when it was read.
pub fn to_run(
    origin: &Origin<'_>,
    p: &PipelineBasic,
    detail: Option<&PipelineDetail>,
) -> PipelineRun {
    let mapped = status(&p.status);
    let project = origin
        .project_path
        .map(str::to_string)
        .or_else(|| p.web_url.as_deref().and_then(project_path_of))
        .unwrap_or_else(|| origin.pipeline_id.to_string());
    let finished = mapped.is_some_and(|s| !s.is_active());
    PipelineRun {
        error: None,
        source: origin.source.to_string(),
        id: p.id.to_string(),
        pipeline: detail
            .and_then(|d| d.name.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "pipeline".into()),
        pipeline_id: origin.pipeline_id.to_string(),
        project,
        branch: p.git_ref.clone().unwrap_or_default(),
        commit: p.sha.clone().unwrap_or_default(),
        actor: detail
            .and_then(|d| d.user.as_ref())
            .and_then(|u| u.username.clone())
            .unwrap_or_default(),
        event: p.source.clone().unwrap_or_default(),
        status: mapped.unwrap_or(RunStatus::Unknown),
        raw_status: mapped.is_none().then(|| p.status.clone()),
        awaiting_approval: None,
        // GitLab has no attempt counter: a retried pipeline keeps its id.
        attempt: 1,
        created_at: time(p.created_at.as_deref()),
        started_at: detail.and_then(|d| time(d.started_at.as_deref())),
        updated_at: time(p.updated_at.as_deref()),
        duration: if finished {
            detail.and_then(|d| seconds(d.duration))
        } else {
            None
        },
        url: p.web_url.clone(),
        jobs: None,
        paused: false,
        details: Vec::new(),
    }
}

/// A pipeline's jobs, retried ones included, grouped by stage in the order
/// the stages ran; within a stage by name, each retried attempt (named
/// "stage / job (retried)") just before the attempt that replaced it.
pub fn to_jobs(mut entries: Vec<JobEntry>) -> Vec<Job> {
    entries.sort_by_key(|j| j.id);
    entries.dedup_by_key(|j| j.id);
    // Stages are created in order, so the first job id of each stage orders them.
    let mut stage_rank: HashMap<String, usize> = HashMap::new();
    for j in &entries {
        let next = stage_rank.len();
        stage_rank
            .entry(j.stage.clone().unwrap_or_default())
            .or_insert(next);
    }
    // Within one pipeline a job name recurs only when the job was retried:
    // the attempt with the highest id is the current one.
    let mut latest: HashMap<(&str, &str), u64> = HashMap::new();
    for j in &entries {
        latest.insert((j.stage.as_deref().unwrap_or(""), j.name.as_str()), j.id);
    }
    let mut jobs: Vec<(usize, String, u64, Job)> = entries
        .iter()
        .map(|j| {
            let stage = j.stage.as_deref().unwrap_or("");
            let retried = latest.get(&(stage, j.name.as_str())) != Some(&j.id);
            let mapped = status(&j.status).unwrap_or(RunStatus::Unknown);
            let mut name = if stage.is_empty() {
                j.name.clone()
            } else {
                format!("{stage} / {}", j.name)
            };
            if retried {
                name.push_str(" (retried)");
            }
            let job = Job {
                id: j.id.to_string(),
                name,
                status: mapped,
                started_at: time(j.started_at.as_deref()),
                duration: seconds(j.duration),
                url: j.web_url.clone(),
                steps: Vec::new(),
            };
            (
                stage_rank.get(stage).copied().unwrap_or(usize::MAX),
                j.name.clone(),
                j.id,
                job,
            )
        })
        .collect();
    jobs.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    jobs.into_iter().map(|(_, _, _, job)| job).collect()
}

/// GitLab's own words in an error body: `message` (a string, or a map of
/// field → list of problems, as validation errors come), else `error`,
/// else the start of the body.
pub fn message(body: &[u8]) -> String {
    // GitLab's `message` may be a list or a map of field errors.
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("message").and_then(flatten))
        .unwrap_or_else(|| crate::sources::http::backend_words(body, &["error"]))
}

fn flatten(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(flatten).collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        Value::Object(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .filter_map(|(k, v)| {
                    let text = flatten(v)?;
                    Some(if k == "base" {
                        text
                    } else {
                        format!("{k}: {text}")
                    })
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlabs_error_words_are_read_in_each_of_their_shapes() {
        assert_eq!(
            message(br#"{"message":"404 Project Not Found"}"#),
            "404 Project Not Found"
        );
        assert_eq!(
            message(br#"{"message":{"base":["Reference not found"],"ref":["is invalid"]}}"#),
            "Reference not found; ref: is invalid"
        );
        assert_eq!(message(br#"{"error":"ref is missing"}"#), "ref is missing");
        assert_eq!(message(b"Retry later\n"), "Retry later");
        assert_eq!(message(b""), "no details");
    }

    #[test]
    fn the_project_path_is_read_from_a_web_url() {
        assert_eq!(
            project_path_of("https://gitlab.example.com/acme/platform/web/-/pipelines/61")
                .as_deref(),
            Some("acme/platform/web")
        );
        assert_eq!(project_path_of("https://gitlab.example.com/nothing"), None);
    }
}
