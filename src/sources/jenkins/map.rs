//! Jenkins' builds, queue items, stages and parameter definitions mapped
//! into opsdeck's runs, jobs and dispatch forms.

use std::time::Duration;

use super::api::{
    ActionJson, BuildJson, CauseJson, JobJson, ParamValue, QueueItemJson, RunDescription,
};
use crate::model::{FormInput, Job, PipelineRun, RunStatus, Timestamp};

/// What the run is, as the rest of opsdeck names it.
pub struct JobRef<'a> {
    /// The configured path (`team/backend/deploy`): the pipeline id.
    pub path: &'a str,
    /// The job's own name (`deploy`).
    pub name: &'a str,
    /// Its full name (`team/backend/deploy`).
    pub full_name: &'a str,
}

impl JobRef<'_> {
    /// The folder holding the job, else the job's full name.
    fn project(&self) -> String {
        match self.full_name.rsplit_once('/') {
            Some((folder, _)) => folder.to_string(),
            None => self.full_name.to_string(),
        }
    }
}

/// A build's status: `result` is null while it runs (and a running
/// Pipeline may already carry one: building wins).
pub fn build_status(building: bool, result: Option<&str>) -> (RunStatus, Option<String>) {
    if building {
        return (RunStatus::Running, None);
    }
    match result {
        Some("SUCCESS") => (RunStatus::Success, None),
        Some("FAILURE") => (RunStatus::Failure, None),
        // Tests failed but the build went through: a failure to look at,
        // with Jenkins' word kept for display.
        Some("UNSTABLE") => (RunStatus::Failure, Some("UNSTABLE".into())),
        Some("ABORTED") => (RunStatus::Cancelled, None),
        Some("NOT_BUILT") => (RunStatus::Skipped, None),
        Some(other) => (RunStatus::Unknown, Some(other.to_string())),
        None => (RunStatus::Unknown, Some("no result".into())),
    }
}

/// A stage's status from the wfapi.
pub fn stage_status(status: &str) -> RunStatus {
    match status {
        "SUCCESS" => RunStatus::Success,
        "FAILED" | "UNSTABLE" => RunStatus::Failure,
        "ABORTED" => RunStatus::Cancelled,
        // Waiting for someone to answer an `input` step: still going.
        "IN_PROGRESS" | "PAUSED_PENDING_INPUT" => RunStatus::Running,
        "NOT_EXECUTED" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

fn millis(ms: i64) -> Option<Timestamp> {
    (ms > 0)
        .then(|| chrono::DateTime::from_timestamp_millis(ms))
        .flatten()
}

/// The causes of a build or queue item, in Jenkins' order.
fn causes(actions: &[Option<ActionJson>]) -> impl Iterator<Item = &CauseJson> {
    actions
        .iter()
        .flatten()
        .flat_map(|a| a.causes.iter().flatten())
}

/// The parameters of a build or queue item (its ParametersAction).
pub fn parameters(actions: &[Option<ActionJson>]) -> Option<&[ParamValue]> {
    actions
        .iter()
        .flatten()
        .find_map(|a| a.parameters.as_deref())
}

/// Who started it: a user's name, else their id, else Jenkins' sentence.
fn actor(actions: &[Option<ActionJson>]) -> String {
    causes(actions)
        .find_map(|c| {
            c.user_name
                .clone()
                .or_else(|| c.user_id.clone())
                .filter(|u| !u.is_empty())
        })
        .or_else(|| causes(actions).find_map(|c| c.short_description.clone()))
        .unwrap_or_default()
}

/// What started it, from the first cause's class.
fn event(actions: &[Option<ActionJson>]) -> String {
    causes(actions)
        .next()
        .map(|c| cause_kind(&c.class))
        .unwrap_or_default()
}

/// `hudson.model.Cause$UserIdCause` → "user", `…TimerTrigger$TimerTriggerCause`
/// → "timer"; unknown causes by their simple name (`RebuildCause` → "rebuild").
pub fn cause_kind(class: &str) -> String {
    let simple = class.rsplit(['.', '$']).next().unwrap_or(class);
    let known = match simple {
        "UserIdCause" | "UserCause" => "user",
        "TimerTriggerCause" => "timer",
        "SCMTriggerCause" | "GitHubPushCause" | "BranchEventCause" | "GitLabWebHookCause"
        | "GenericCause" => "scm",
        "UpstreamCause" => "upstream",
        "RemoteCause" => "remote",
        "BranchIndexingCause" => "branch_indexing",
        "ReplayCause" => "replay",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let base = simple.strip_suffix("Cause").unwrap_or(simple);
    let mut out = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A branch name without the remote's prefix.
fn short_branch(name: &str) -> &str {
    ["refs/remotes/origin/", "refs/heads/", "origin/"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// A parameter that names the branch being built.
fn is_branch_parameter(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    name == "REF" || name == "GIT_REF" || name.ends_with("BRANCH") || name.ends_with("BRANCH_NAME")
}

/// Branch and commit: the git plugin's last built revision, else a
/// BRANCH-like parameter (and no commit).
fn branch_and_commit(actions: &[Option<ActionJson>]) -> (String, String) {
    if let Some(rev) = actions
        .iter()
        .flatten()
        .find_map(|a| a.last_built_revision.as_ref())
    {
        let branch = rev
            .branch
            .iter()
            .find_map(|b| b.name.as_deref())
            .map(short_branch)
            .unwrap_or_default();
        return (branch.to_string(), rev.sha1.clone().unwrap_or_default());
    }
    let branch = parameters(actions)
        .into_iter()
        .flatten()
        .find(|p| p.name.as_deref().is_some_and(is_branch_parameter))
        .and_then(ParamValue::text)
        .unwrap_or_default();
    (branch, String::new())
}

/// One build as a run.
pub fn build_run(source: &str, job: &JobRef<'_>, build: &BuildJson) -> PipelineRun {
    let (status, raw_status) = build_status(build.building, build.result.as_deref());
    let (branch, commit) = branch_and_commit(&build.actions);
    let started_at = millis(build.timestamp);
    let duration = (!build.building).then(|| Duration::from_millis(build.duration));
    PipelineRun {
        error: None,
        source: source.to_string(),
        id: format!("{}#{}", job.path, build.number),
        pipeline: job.name.to_string(),
        pipeline_id: job.path.to_string(),
        project: job.project(),
        branch,
        commit,
        actor: actor(&build.actions),
        event: event(&build.actions),
        status,
        raw_status,
        awaiting_approval: None,
        attempt: 1,
        created_at: started_at,
        started_at,
        updated_at: match (started_at, duration) {
            (Some(s), Some(d)) => chrono::TimeDelta::from_std(d)
                .ok()
                .and_then(|d| s.checked_add_signed(d)),
            _ => None,
        },
        duration,
        url: build.url.clone(),
        jobs: None,
        paused: false,
        details: Vec::new(),
    }
}

/// One queue item as a queued run.
pub fn queued_run(source: &str, job: &JobRef<'_>, item: &QueueItemJson) -> PipelineRun {
    let (branch, _) = branch_and_commit(&item.actions);
    PipelineRun {
        error: None,
        source: source.to_string(),
        id: format!("{}#queue-{}", job.path, item.id),
        pipeline: job.name.to_string(),
        pipeline_id: job.path.to_string(),
        project: job.project(),
        branch,
        commit: String::new(),
        actor: actor(&item.actions),
        event: event(&item.actions),
        status: RunStatus::Queued,
        raw_status: None,
        awaiting_approval: None,
        attempt: 1,
        created_at: item.in_queue_since.and_then(millis),
        started_at: None,
        updated_at: None,
        duration: None,
        url: item.task.as_ref().and_then(|t| t.url.clone()),
        jobs: None,
        paused: false,
        details: Vec::new(),
    }
}

/// The build itself as the one job of a freestyle build.
pub fn build_job(job_name: &str, build: &BuildJson) -> Job {
    let (status, _) = build_status(build.building, build.result.as_deref());
    Job {
        id: "build".into(),
        name: format!("{job_name} #{}", build.number),
        status,
        started_at: millis(build.timestamp),
        duration: (!build.building).then(|| Duration::from_millis(build.duration)),
        url: build.url.as_ref().map(|u| format!("{u}console")),
        steps: Vec::new(),
    }
}

/// A Pipeline's stages as jobs.
pub fn stage_jobs(build: &BuildJson, stages: RunDescription) -> Vec<Job> {
    stages
        .stages
        .into_iter()
        .map(|s| {
            let status = stage_status(&s.status);
            let started_at = s.start_time_millis.and_then(millis);
            Job {
                status,
                started_at,
                // Running stages report their time so far; unstarted ones none.
                duration: (status != RunStatus::Running && started_at.is_some())
                    .then_some(s.duration_millis)
                    .flatten()
                    .map(Duration::from_millis),
                url: build.url.as_ref().map(|u| format!("{u}console")),
                id: s.id,
                name: s.name,
                steps: Vec::new(),
            }
        })
        .collect()
}

/// The dispatch form's inputs from a job's parameter definitions.
pub fn form_inputs(job: &JobJson) -> Vec<FormInput> {
    job.parameters()
        // A password typed here would show in the form, the confirmation
        // and the audit log: Jenkins fills in its stored default instead.
        .filter(|p| !p.kind.as_deref().unwrap_or(&p.class).contains("Password"))
        .map(|p| {
            let kind = p.kind.as_deref().unwrap_or(&p.class);
            let choices = match &p.choices {
                Some(c) if !c.is_empty() => c.clone(),
                _ if kind.ends_with("BooleanParameterDefinition") => {
                    vec!["true".into(), "false".into()]
                }
                _ => Vec::new(),
            };
            FormInput {
                name: p.name.clone(),
                default: p
                    .default_parameter_value
                    .as_ref()
                    .and_then(ParamValue::text)
                    .unwrap_or_default(),
                description: p.description.clone().unwrap_or_default(),
                choices,
                // Jenkins fills in the default of any parameter not sent.
                required: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_become_events() {
        assert_eq!(cause_kind("hudson.model.Cause$UserIdCause"), "user");
        assert_eq!(
            cause_kind("hudson.triggers.TimerTrigger$TimerTriggerCause"),
            "timer"
        );
        assert_eq!(
            cause_kind("hudson.triggers.SCMTrigger$SCMTriggerCause"),
            "scm"
        );
        assert_eq!(cause_kind("hudson.model.Cause$UpstreamCause"), "upstream");
        assert_eq!(
            cause_kind("com.sonyericsson.rebuild.RebuildCause"),
            "rebuild"
        );
        assert_eq!(
            cause_kind("org.example.SomeVeryCustomCause"),
            "some_very_custom"
        );
    }
}
