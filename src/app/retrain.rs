//! The retraining loop: a drifting model → a run of the pipeline that
//! retrains it (its `train` link) → the version that run registered →
//! promote it (the serving alias moved there). What a retrain or promote
//! request becomes is decided here for the resolver; where a retrain
//! started from the dashboard stands is read here for the Drift tab.

use crate::app::actions::{self, Refusal};
use crate::app::resolver::{self, Context, Resolved};
use crate::app::state::{Retrain, SourceState, State};
use crate::model::train::{Produced, produced_version};
use crate::model::{
    Action, ActionKind, ModelDrift, ModelVersion, PipelineRun, RunStatus, Target, TargetKind,
    Timestamp,
};

/// A retrain of `target` (a model in `source`'s last read): a new run of
/// its `train` pipeline with the conf filled in from the model.
pub(crate) fn resolve_retrain(
    sources: &[SourceState],
    source: &SourceState,
    target: &Target,
    ctx: Context,
) -> Result<Resolved, Refusal> {
    actions::check_allowed(ActionKind::Retrain, target, ctx.read_only)?;
    let model = model_in(source, target)?;
    let Some(link) = &model.train else {
        return Err(format!(
            "{target} names no pipeline that retrains it: add train = {{ pipeline = \
             \"SOURCE/PIPELINE\" }} to its model entry in the config"
        ));
    };
    let pipeline = Target::new(&link.source, TargetKind::Pipeline, &link.pipeline);
    let runs_in = resolver::source_named(sources, &link.source)?;
    if !runs_in.actions.contains(&ActionKind::Dispatch) {
        return Err(format!(
            "{target} is retrained by {pipeline}, but {} sources cannot start runs",
            runs_in.kind
        ));
    }
    Ok(Resolved::Retrain {
        model: target.clone(),
        pipeline,
        inputs: link.conf_for(model),
    })
}

/// Plan the retrain run `Resolved::Retrain` asked for, once its form is
/// filled: the pipeline's new run, its effect naming the model it retrains.
pub fn retrain_run(
    sources: &[SourceState],
    model: &Target,
    pipeline: &Target,
    git_ref: Option<&str>,
    inputs: Vec<(String, String)>,
    ctx: Context,
) -> Result<Action, Refusal> {
    let mut action = resolver::new_run(sources, pipeline, git_ref, inputs, ctx)?;
    let why = resolver::source_named(sources, &model.source)
        .ok()
        .and_then(|s| s.snapshot.models.iter().find(|m| m.model == model.id))
        .map(|m| format!(" ({})", crate::model::train::drift_reason(m)))
        .unwrap_or_default();
    action
        .effect
        .push_str(&format!(", to retrain {model}{why}"));
    Ok(action)
}

/// A promote of `target` to version `to`: the alias move a rollback uses,
/// forward to a newer version. Without `to` it asks for one.
pub(crate) fn resolve_promote(
    source: &SourceState,
    target: &Target,
    to: Option<&str>,
    ctx: Context,
) -> Result<Action, Refusal> {
    actions::check_allowed(ActionKind::Promote, target, ctx.read_only)?;
    if !source.actions.contains(&ActionKind::SetModelAlias) {
        return Err(format!(
            "{} sources cannot move the serving alias of {target}: promote moves a registry's \
             alias (mlflow)",
            source.kind
        ));
    }
    let model = model_in(source, target)?;
    let Some(to) = to else {
        return Err(format!(
            "{target}: name the version to promote (--to VERSION), or press o on the Drift tab \
             once a retrain run registered one"
        ));
    };
    let version = model
        .versions
        .iter()
        .find(|v| v.version == to)
        .ok_or_else(|| format!("{target} has no version {to}"))?;
    if let Some(serving) = model
        .versions
        .iter()
        .find(|v| Some(&v.version) == model.version.as_ref())
    {
        if is_older(version, serving) {
            return Err(format!(
                "{target}: version {to} is older than the serving version {}: that is a \
                 rollback (b, or opsdeck rollback {target} --to {to})",
                serving.version
            ));
        }
    }
    if !version.status.eq_ignore_ascii_case("ready") {
        return Err(format!(
            "{target}: version {to} is {}, not READY: the registry would serve nothing yet",
            version.status.to_lowercase()
        ));
    }
    let mut action = actions::plan_model(
        ActionKind::SetModelAlias,
        model,
        Some(to),
        resolver::plan_context(source, ctx),
    )?;
    action.effect = format!("promote version {to}: {}", action.effect);
    Ok(action)
}

/// `a` was registered before `b` (by version number, else by time).
fn is_older(a: &ModelVersion, b: &ModelVersion) -> bool {
    let number = |v: &ModelVersion| v.version.trim_start_matches(['v', 'V']).parse::<u64>().ok();
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x < y,
        _ => matches!((a.created_at, b.created_at), (Some(x), Some(y)) if x < y),
    }
}

fn model_in<'a>(source: &'a SourceState, target: &Target) -> Result<&'a ModelDrift, Refusal> {
    source
        .snapshot
        .models
        .iter()
        .find(|m| m.model == target.id)
        .ok_or_else(|| format!("{target} is not in {}'s last read", target.source))
}

/// Where a retrain started from the dashboard stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Progress<'a> {
    /// Sent; the backend has not answered yet.
    Starting,
    /// The start failed, or its outcome is unknown: why.
    NotStarted(&'a str),
    /// Started; the run is not in the pipeline source's reads yet.
    Waiting,
    /// The run, and once it succeeded the version it registered.
    Run {
        run: &'a PipelineRun,
        version: Option<(&'a ModelVersion, Produced)>,
    },
}

/// Where the retrain of `model` stands, if one was started from here.
pub fn progress<'a>(state: &'a State, model: &Target) -> Option<Progress<'a>> {
    let retrain = state.retrains.get(model)?;
    if let Some(why) = &retrain.failed {
        return Some(Progress::NotStarted(why));
    }
    if !retrain.started {
        return Some(Progress::Starting);
    }
    let Some(run) = run_of(state, retrain) else {
        return Some(Progress::Waiting);
    };
    let version = (run.status == RunStatus::Success)
        .then(|| {
            let source = state.sources.iter().find(|s| s.name == model.source)?;
            let drift = source
                .snapshot
                .models
                .iter()
                .find(|m| m.model == model.id)?;
            produced_version(drift, run)
        })
        .flatten();
    Some(Progress::Run { run, version })
}

/// The run a retrain started, in its pipeline source's last read.
fn run_of<'a>(state: &'a State, retrain: &Retrain) -> Option<&'a PipelineRun> {
    let id = retrain.run.as_deref()?;
    state
        .sources
        .iter()
        .find(|s| s.name == retrain.pipeline.source)?
        .snapshot
        .pipelines
        .iter()
        .find(|r| r.id == id)
}

/// The newest run of `pipeline` started (or created) at or after `since`:
/// the run a start that named none began.
pub fn newest_run_since<'a>(
    runs: &'a [PipelineRun],
    pipeline: &str,
    since: Timestamp,
) -> Option<&'a PipelineRun> {
    runs.iter()
        .filter(|r| r.pipeline_id == pipeline)
        .filter(|r| r.started_at.or(r.created_at).is_some_and(|t| t >= since))
        .max_by_key(|r| r.started_at.or(r.created_at))
}

/// After a read: a started retrain whose backend named no run is tied to
/// the newest run of its pipeline since it was asked for, once one shows.
pub fn find_runs(state: &mut State) {
    let State {
        retrains, sources, ..
    } = state;
    for retrain in retrains.values_mut() {
        if retrain.started && retrain.run.is_none() {
            let Some(source) = sources.iter().find(|s| s.name == retrain.pipeline.source) else {
                continue;
            };
            let runs = &source.snapshot.pipelines;
            retrain.run = newest_run_since(runs, &retrain.pipeline.id, retrain.requested_at)
                .map(|r| r.id.clone());
        }
    }
}

/// Where it stands, in words: `retraining: RUN running`, its outcome, and
/// a version to promote.
pub fn words(progress: &Progress<'_>) -> String {
    said(progress, |run| run.id.clone())
}

/// The same for a table row: the run named without its pipeline and cut
/// to `ROW_RUN_WIDTH` characters, so the state stays in sight.
pub fn row_words(progress: &Progress<'_>) -> String {
    said(progress, |run| {
        let prefix = format!("{}/", run.pipeline_id);
        let id = run.id.strip_prefix(&prefix).unwrap_or(&run.id);
        match id.char_indices().nth(ROW_RUN_WIDTH) {
            Some((cut, _)) => format!("{}…", &id[..cut]),
            None => id.to_string(),
        }
    })
}

/// How much of a run's id a row shows.
const ROW_RUN_WIDTH: usize = 16;

fn said(progress: &Progress<'_>, name: impl Fn(&PipelineRun) -> String) -> String {
    match progress {
        Progress::Starting => "retraining: starting a run…".to_string(),
        Progress::NotStarted(why) => format!("retrain not started: {why}"),
        Progress::Waiting => "retraining: run started, not read yet".to_string(),
        Progress::Run { run, version } => match (run.status, version) {
            (RunStatus::Success, Some((v, _))) => format!(
                "retrained: {} success — version {} to promote",
                name(run),
                v.version
            ),
            (RunStatus::Success, None) => {
                format!("retrained: {} success — no new version yet", name(run))
            }
            (status, _) => format!("retraining: {} {status}", name(run)),
        },
    }
}

/// What `o` promotes on `model`: the version its retrain registered, or
/// why there is none.
pub fn promotable(state: &State, model: &Target) -> Result<String, String> {
    match progress(state, model) {
        None => Err(format!(
            "nothing to promote on {model}: no retrain was started from here (n starts one; \
             opsdeck promote {model} --to VERSION promotes any version)"
        )),
        Some(Progress::Run {
            version: Some((v, _)),
            ..
        }) => Ok(v.version.clone()),
        Some(p) => Err(format!("nothing to promote on {model} yet: {}", words(&p))),
    }
}
