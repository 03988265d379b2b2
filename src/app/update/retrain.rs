//! The retraining loop on the Drift tab: `n` on a model opens its `train`
//! pipeline's new-run form pre-filled, the confirmed run is kept with the
//! model, and `o` promotes the version it registered.

use crate::app::retrain;
use crate::app::state::{Confirm, Form, Level, Retrain, RetrainAsk, RetrainOf, State};
use crate::model::{Action, ActionKind, Outcome, Target};

use super::act::dispatch;
use super::{Effect, say};

/// `n` on a model resolved to a retrain: read what a new run of its
/// pipeline asks for, and pre-fill it when it comes.
pub(super) fn ask_form(
    state: &mut State,
    model: Target,
    pipeline: Target,
    inputs: Vec<(String, String)>,
) -> Vec<Effect> {
    let effects = super::act::load_form(state, pipeline.clone(), None);
    state.retrain_ask = Some(RetrainAsk {
        model,
        pipeline,
        inputs,
    });
    effects
}

/// The form a retrain asked for, pre-filled with the model's `train`
/// conf (which overrides the pipeline's defaults), and `runs_as`, the id
/// its runs carry; any other form is left as it is. A conf the pipeline
/// does not take is said, and no form opens (`Err`).
pub(super) fn prefill(state: &mut State, form: &mut Form, runs_as: &str) -> Result<(), ()> {
    let Some(ask) = state.retrain_ask.take_if(|a| a.pipeline == form.target) else {
        return Ok(());
    };
    if let Err(why) = form.fill(&ask.inputs) {
        say(
            state,
            Level::Error,
            format!("cannot retrain {}: its train conf: {why}", ask.model),
        );
        return Err(());
    }
    form.title = format!("Retrain {}: {}", ask.model, form.title);
    let runs_as = if runs_as.is_empty() {
        form.target.id.clone()
    } else {
        runs_as.to_string()
    };
    form.retrain = Some(RetrainOf {
        model: ask.model,
        runs_as,
    });
    Ok(())
}

/// Plan a filled retrain form (the effect names the model it retrains).
pub(super) fn plan(
    state: &State,
    model: &Target,
    form: &Form,
    git_ref: Option<&str>,
    inputs: Vec<(String, String)>,
) -> Result<Action, String> {
    retrain::retrain_run(
        &state.sources,
        model,
        &form.target,
        git_ref,
        inputs,
        super::act::context(state),
    )
}

/// Send a confirmed action; a retrain's run is then kept with its model.
pub(super) fn send_confirmed(state: &mut State, confirm: Confirm) -> Vec<Effect> {
    let asked = confirm.action.target.clone();
    let effects = dispatch(state, confirm.action);
    let sent = effects.iter().find_map(|e| match e {
        Effect::Run { id, .. } => Some(*id),
        _ => None,
    });
    if let (Some(of), Some(action)) = (confirm.retrain, sent) {
        state.retrains.insert(
            of.model,
            Retrain {
                pipeline: Target::new(&asked.source, asked.kind, &of.runs_as),
                action,
                requested_at: state.now,
                started: false,
                failed: None,
                run: None,
            },
        );
    }
    effects
}

/// The backend named the run a new run started.
pub(super) fn on_started(state: &mut State, id: u64, run: String) {
    if let Some(r) = state.retrains.values_mut().find(|r| r.action == id) {
        r.run = Some(run);
        state.dirty = true;
    }
}

/// How a retrain's start ended.
pub(super) fn on_outcome(state: &mut State, id: u64, outcome: &Outcome) {
    if let Some(r) = state.retrains.values_mut().find(|r| r.action == id) {
        match outcome {
            Outcome::Done(_) => r.started = true,
            other => r.failed = Some(format!("{}: {}", other.word(), other.detail())),
        }
    }
}

/// `o` on a model: the version its retrain registered, or why there is
/// none (said, with the key).
pub(super) fn promote_to(state: &mut State, target: &Target) -> Option<String> {
    match retrain::promotable(state, target) {
        Ok(version) => Some(version),
        Err(why) => {
            let key = super::act::key_of(state, ActionKind::Promote);
            say(state, Level::Warning, format!("{key}{why}"));
            None
        }
    }
}

/// The link of a model row's retrain run, once the run shows (`y`).
pub(super) fn run_link(state: &State, row: crate::app::state::RowRef) -> Option<String> {
    let target = state.target_of(row)?;
    match retrain::progress(state, &target)? {
        retrain::Progress::Run { run, .. } => run.url.clone(),
        _ => None,
    }
}
