//! One workspace (with what `include` brought) as a GitOps app and its
//! current run as a pipeline run.

use crate::model::{
    GitOpsApp, Health, Operation, OperationPhase, PipelineRun, RunStatus, SyncStatus, Timestamp,
};

use super::TerraformCloudSource;
use super::api::{self, Included, Resource};

/// A workspace's rows.
pub struct Row {
    pub app: GitOpsApp,
    pub run: Option<PipelineRun>,
}

/// A workspace's rows, or None when it is not one of those configured. A
/// workspace whose attributes cannot be read is a row with its error.
pub fn workspace(source: &TerraformCloudSource, ws: &Resource, included: &Included) -> Option<Row> {
    let config = &source.config;
    let attributes: api::WorkspaceAttributes = match ws.attributes() {
        Ok(a) => a,
        Err(e) => {
            let mut app = empty_app(source, &ws.id);
            app.error = Some(format!("cannot read workspace {}: {e}", ws.id));
            return Some(Row { app, run: None });
        }
    };
    if !config.wants(&attributes.name) {
        return None;
    }
    let mut app = empty_app(source, &attributes.name);
    let mut problems = Vec::new();
    app.namespace = included
        .follow(ws, "project", "projects")
        .and_then(|p| p.attributes::<api::NamedAttributes>().ok())
        .and_then(|p| p.name)
        .unwrap_or_default();
    app.auto_sync = attributes.auto_apply;
    app.suspended = attributes.locked;
    app.last_change = attributes.latest_change_at;
    let mut words = Vec::new();

    // Drift: the latest health assessment.
    match included.follow(ws, "current-assessment-result", "assessment-results") {
        Some(result) => match result.attributes::<api::AssessmentAttributes>() {
            Ok(a) => {
                let at = a
                    .created_at
                    .or(attributes.last_assessment_result_at)
                    .map(|t| format!(" (assessed {})", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default();
                if !a.succeeded {
                    app.sync = SyncStatus::Unknown;
                    let why = a.error_message.or(a.error_msg).unwrap_or_default();
                    words.push(format!("the last health assessment failed{at}: {why}"));
                } else if a.drifted {
                    app.sync = SyncStatus::OutOfSync;
                    let count = a.resources_drifted.map_or("drift".into(), |n| {
                        format!("{n} resource{} drifted", if n == 1 { "" } else { "s" })
                    });
                    words.push(format!("{count}{at}"));
                } else {
                    app.sync = SyncStatus::Synced;
                    words.push(format!("no drift{at}"));
                }
            }
            Err(e) => problems.push(format!("its assessment result: {e}")),
        },
        None if attributes.assessments_enabled => {
            words.push("no health assessment yet".into());
        }
        None => words.push("health assessments are off for this workspace".into()),
    }

    if attributes.locked {
        let by = ws
            .related("locked-by")
            .map(|b| format!(" by {b}"))
            .unwrap_or_default();
        let reason = attributes
            .locked_reason
            .filter(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        words.push(format!("locked{by}{reason}"));
    }

    // Health: the current run.
    let run = included
        .follow(ws, "current-run", "runs")
        .map(|r| run(source, r, &attributes.name, included));
    match &run {
        None => {
            app.health = Health::Unknown;
            words.push("no runs yet".into());
        }
        Some(Err(e)) => problems.push(format!("its current run: {e}")),
        Some(Ok(r)) => {
            app.health = match r.status {
                RunStatus::Failure => Health::Degraded,
                RunStatus::Running | RunStatus::Queued => Health::Progressing,
                RunStatus::Unknown => Health::Unknown,
                _ => Health::Healthy,
            };
            let state = r.state_words();
            if r.status != RunStatus::Success {
                words.push(format!("run {} {state}", r.id));
            }
            app.target_revision = (!r.commit.is_empty()).then(|| r.commit.clone());
            if r.status == RunStatus::Success {
                app.revision = app.target_revision.clone();
            }
            app.last_operation = Some(Operation {
                kind: "run".into(),
                phase: match r.status {
                    RunStatus::Success => OperationPhase::Succeeded,
                    RunStatus::Failure => OperationPhase::Failed,
                    RunStatus::Cancelled | RunStatus::Unknown | RunStatus::Skipped => {
                        OperationPhase::Error
                    }
                    _ => OperationPhase::Running,
                },
                message: r.event.clone(),
                revision: app.target_revision.clone(),
                started_at: r.created_at,
                finished_at: r.duration.and_then(|d| {
                    r.created_at
                        .map(|c| c + chrono::TimeDelta::from_std(d).unwrap_or_default())
                }),
            });
        }
    }
    app.health_message = Some(words.join("; "));
    if !problems.is_empty() {
        app.error = Some(format!("cannot read {}", problems.join("; ")));
    }
    Some(Row {
        app,
        run: run.and_then(Result::ok),
    })
}

fn empty_app(source: &TerraformCloudSource, name: &str) -> GitOpsApp {
    GitOpsApp {
        source: source.name.clone(),
        name: name.to_string(),
        namespace: String::new(),
        cluster: source.config.organization.clone(),
        sync: SyncStatus::Unknown,
        health: Health::Unknown,
        health_message: None,
        revision: None,
        target_revision: None,
        out_of_sync: Vec::new(),
        auto_sync: false,
        suspended: false,
        last_operation: None,
        history: Vec::new(),
        last_change: None,
        repo_url: None,
        path: None,
        production: false,
        repo: None,
        linked: None,
        pending: None,
        revision_commit: None,
        images: Vec::new(),
        plan: None,
        health_since: None,
        error: None,
    }
}

/// One run of `workspace`, its commit from the configuration version's
/// ingress attributes and its plan's counts when included.
pub fn run(
    source: &TerraformCloudSource,
    r: &Resource,
    workspace: &str,
    included: &Included,
) -> Result<PipelineRun, String> {
    let a: api::RunAttributes = r.attributes()?;
    let ingress = included
        .follow(r, "configuration-version", "configuration-versions")
        .and_then(|cv| included.follow(cv, "ingress-attributes", "ingress-attributes"))
        .and_then(|i| i.attributes::<api::IngressAttributes>().ok())
        .unwrap_or_default();
    let plan = included
        .follow(r, "plan", "plans")
        .and_then(|p| p.attributes::<api::PlanAttributes>().ok())
        .map(|p| p.summary());
    let mapped = api::run_status(&a.status, a.auto_apply);
    let finished = finished_at(&a);
    let operation = if a.refresh_only {
        "refresh-only"
    } else if a.plan_only {
        "plan-only"
    } else if a.is_destroy {
        "destroy"
    } else {
        ""
    };
    let trigger = a
        .trigger_reason
        .clone()
        .or(a.source.clone())
        .unwrap_or_default();
    let mut event = [operation, trigger.as_str()]
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(message) = a.message.as_deref().filter(|m| !m.is_empty()) {
        event = format!("{event}: {message}");
    }
    Ok(PipelineRun {
        source: source.name.clone(),
        id: r.id.clone(),
        pipeline: workspace.to_string(),
        pipeline_id: workspace.to_string(),
        project: source.config.organization.clone(),
        branch: ingress.branch.unwrap_or_default(),
        commit: ingress.commit_sha.unwrap_or_default(),
        actor: ingress.sender_username.unwrap_or_default(),
        event,
        raw_status: api::raw_status(&a.status, &mapped),
        awaiting_approval: api::awaiting(&a.status, &mapped, plan.as_deref()),
        status: mapped.status,
        attempt: 1,
        created_at: a.created_at,
        started_at: a.created_at,
        updated_at: finished.or(a.created_at),
        duration: match (a.created_at, finished) {
            (Some(start), Some(end)) if !mapped.status.is_active() => (end - start).to_std().ok(),
            _ => None,
        },
        url: Some(source.web_url(workspace, Some(&r.id))),
        jobs: None,
        error: None,
        paused: false,
        details: Vec::new(),
    })
}

/// When a finished run ended, from its status timestamps.
fn finished_at(a: &api::RunAttributes) -> Option<Timestamp> {
    [
        "applied-at",
        "planned-and-finished-at",
        "errored-at",
        "discarded-at",
        "canceled-at",
        "force-canceled-at",
        "policy-soft-failed-at",
    ]
    .iter()
    .find_map(|k| a.status_timestamps.get(*k).copied())
}
