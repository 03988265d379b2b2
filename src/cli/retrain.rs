//! `opsdeck retrain SOURCE/MODEL`: the model's `train` pipeline's new run,
//! its conf filled in from the model and overridden by `--input`, planned
//! by the same resolver as the dashboard's `n` on the Drift tab; then the
//! run it started. (`opsdeck promote` is a plain action command.)

use std::sync::Arc;
use std::time::Duration;

use crate::app::resolver::Context;
use crate::app::retrain;
use crate::app::state::SourceState;
use crate::model::{Action, Target, Timestamp};
use crate::sources::{self, Source};

use super::{ActionRequest, EXIT_ATTENTION, EXIT_ERROR};

/// How long `retrain` looks for the run a backend did not name.
const FIND_RUN_FOR: Duration = Duration::from_secs(15);
const FIND_RUN_EVERY: Duration = Duration::from_secs(1);

/// The retrain run to send: the pipeline's form filled with the model's
/// `train` conf, then `--input` (which wins), checked as the form checks.
pub(super) async fn plan(
    all: &[Arc<dyn Source>],
    states: &[SourceState],
    request: &ActionRequest,
    model: &Target,
    pipeline: &Target,
    conf: Vec<(String, String)>,
    ctx: Context,
) -> Result<Option<Action>, (String, u8)> {
    let source = all
        .iter()
        .find(|s| s.name() == pipeline.source)
        .ok_or_else(|| (format!("no source named {}", pipeline.source), EXIT_ERROR))?;
    let mut inputs = conf;
    for (name, value) in &request.inputs {
        match inputs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => inputs.push((name.clone(), value.clone())),
        }
    }
    let (git_ref, inputs) = super::dispatch::values(source.as_ref(), pipeline, None, &inputs)
        .await
        .map_err(|why| (format!("cannot retrain {model}: {why}"), EXIT_ATTENTION))?;
    retrain::retrain_run(states, model, pipeline, git_ref.as_deref(), inputs, ctx)
        .map(Some)
        .map_err(|why| (why, EXIT_ATTENTION))
}

/// Print the run a retrain started: as its backend named it, else the
/// newest run of the pipeline since it was asked for, read again for a
/// little while until it shows.
pub(super) async fn print_run(
    all: &[Arc<dyn Source>],
    action: &Action,
    run: Option<String>,
    asked_at: Timestamp,
) {
    let pipeline = &action.target;
    if let Some(run) = run {
        println!("run: {}/{run}", pipeline.source);
        return;
    }
    let Some(source) = all.iter().find(|s| s.name() == pipeline.source) else {
        return;
    };
    // The id the pipeline's runs carry (a GitHub workflow's number, when it
    // was named by its file), as its form says.
    let runs_as = tokio::time::timeout(source.fetch_timeout(), source.dispatch_form(&pipeline.id))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|form| form.pipeline)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| pipeline.id.clone());
    let deadline = tokio::time::Instant::now() + FIND_RUN_FOR;
    loop {
        if let Ok(snapshot) = sources::fetch_with_timeout(source.as_ref()).await {
            let found = retrain::newest_run_since(&snapshot.pipelines, &runs_as, asked_at);
            if let Some(run) = found {
                println!(
                    "run: {}/{} (the newest run of {pipeline} since the request: {} named none)",
                    pipeline.source,
                    run.id,
                    source.kind()
                );
                return;
            }
        }
        if tokio::time::Instant::now() + FIND_RUN_EVERY > deadline {
            println!(
                "run: not read yet — {} named none; it is the newest run of {pipeline} after {}",
                source.kind(),
                asked_at.format("%Y-%m-%d %H:%M:%S UTC")
            );
            return;
        }
        tokio::time::sleep(FIND_RUN_EVERY).await;
    }
}
