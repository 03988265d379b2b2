//! What needs the engineer: shared by the Overview, `opsdeck status`'s exit
//! code and its table, so both agree on what "needs attention" means.

use std::collections::HashMap;

use crate::model::{DriftStatus, GitOpsApp, ModelDrift, PipelineRun, RunStatus};

/// Runs that are the newest of their (project, pipeline, branch) and failed,
/// could not be read (they carry an error) or wait for a person to approve
/// them: an old red run that a later green one fixed is history, not a
/// problem.
pub fn failing_runs<'a>(runs: impl IntoIterator<Item = &'a PipelineRun>) -> Vec<&'a PipelineRun> {
    failing_runs_at(runs.into_iter().enumerate())
        .into_iter()
        .map(|(_, run)| run)
        .collect()
}

/// `failing_runs`, each with the key it came with (the Overview passes
/// indices: looking each run up again would cost a scan per failure).
pub fn failing_runs_at<'a, K: Copy>(
    runs: impl IntoIterator<Item = (K, &'a PipelineRun)>,
) -> Vec<(K, &'a PipelineRun)> {
    let mut latest: HashMap<(&str, &str, &str, &str), (K, &PipelineRun)> = HashMap::new();
    for (at, run) in runs {
        let going = run.status.is_active() && !run.awaits_approval();
        if going || matches!(run.status, RunStatus::Skipped | RunStatus::Cancelled) {
            continue;
        }
        let key = (
            run.source.as_str(),
            run.project.as_str(),
            run.pipeline.as_str(),
            run.branch.as_str(),
        );
        match latest.get(&key) {
            Some((_, seen)) if seen.sort_time() >= run.sort_time() => {}
            _ => {
                latest.insert(key, (at, run));
            }
        }
    }
    let mut failing: Vec<(K, &PipelineRun)> = latest
        .into_values()
        .filter(|(_, r)| r.status == RunStatus::Failure || r.error.is_some() || r.awaits_approval())
        .collect();
    failing.sort_by(|(_, a), (_, b)| {
        b.sort_time()
            .cmp(&a.sort_time())
            .then_with(|| a.id.cmp(&b.id))
    });
    failing
}

/// A repository's view of an app is not a deployment: its linked app
/// carries the attention. An app that could not be read (fully) needs it.
pub fn app_needs_attention(app: &GitOpsApp) -> bool {
    app.repo.is_none() && (app.needs_attention() || app.error.is_some())
}

/// Past warn, or its drift could not be read (an unknown is never ok).
pub fn model_needs_attention(model: &ModelDrift) -> bool {
    model.status() >= DriftStatus::Warning || model.error.is_some()
}

/// An item that could not be read ranks beside a warning.
const UNREAD_SCORE: u8 = 2;

/// Severity on one scale for all three kinds (higher is worse).
pub fn run_score(_run: &PipelineRun) -> u8 {
    3
}

pub fn app_score(app: &GitOpsApp) -> u8 {
    if app.error.is_some() {
        app.severity().max(UNREAD_SCORE)
    } else {
        app.severity()
    }
}

pub fn model_score(model: &ModelDrift) -> u8 {
    match model.status() {
        DriftStatus::Drifting => 3,
        DriftStatus::Warning => 1,
        _ if model.error.is_some() => UNREAD_SCORE,
        _ => 0,
    }
}
