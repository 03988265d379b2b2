//! The action flow in the dashboard: from a command through the resolver to
//! a picker, a form or a confirmation, to the executor, and the outcome back.

use crate::app::actions;
use crate::app::resolver::{self, Context, Request, Resolved};
use crate::app::state::{Confirm, InFlight, Level, Overlay, Picker, State};
use crate::model::{Action, ActionKind, Outcome, Target, TargetKind};

use super::{Effect, say};

/// A cancel that has not taken after this long is offered as a force-cancel.
pub const FORCE_CANCEL_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

pub(super) fn on_outcome(
    state: &mut State,
    id: u64,
    action: Action,
    outcome: Outcome,
) -> Vec<Effect> {
    if state
        .in_flight
        .get(&action.target)
        .is_some_and(|f| f.id == id)
    {
        state.in_flight.remove(&action.target);
    }
    super::retrain::on_outcome(state, id, &outcome);
    let force_cancel_hint = if action.kind == ActionKind::Cancel
        && matches!(outcome, Outcome::Done(_))
        && offers(state, &action.target.source, ActionKind::ForceCancel)
    {
        state.cancel_sent.insert(action.target.clone(), state.now);
        let key = state
            .keymap
            .keys_for(crate::app::Command::Cancel)
            .first()
            .map(ToString::to_string)
            .unwrap_or_else(|| "cancel".into());
        format!(
            " — if it is still running in {}s, {key} again force-cancels it",
            FORCE_CANCEL_AFTER.num_seconds()
        )
    } else {
        String::new()
    };
    let (level, text) = match &outcome {
        Outcome::Done(m) => (
            Level::Success,
            format!(
                "{} {}: {m}{force_cancel_hint}",
                action.kind.verb(),
                action.target
            ),
        ),
        Outcome::Failed(m) => (
            Level::Error,
            format!("{} {} failed: {m}", action.kind.verb(), action.target),
        ),
        Outcome::Unknown(m) => (
            Level::Warning,
            format!(
                "? {} {}: outcome unknown: {m}",
                action.kind.verb(),
                action.target
            ),
        ),
    };
    say(state, level, text);
    let user = match state.timeline.user.as_str() {
        "" => "you".to_string(),
        u => u.to_string(),
    };
    state.timeline.add([crate::timeline::audit::action_event(
        &user,
        &action.target,
        action.kind,
        action.to.as_deref(),
        outcome.word(),
        state.now,
    )]);
    match state
        .sources
        .iter()
        .position(|s| s.name == action.target.source)
    {
        Some(i) => vec![Effect::Refetch(i)],
        None => Vec::new(),
    }
}

/// The target an action command aims at: the open detail's item, else the
/// selected row (on the Overview, the item the attention row points at).
pub(super) fn action_target(state: &State) -> Option<Target> {
    if state.timeline.why.is_some() {
        return super::why::suspect_target(state).map(|(t, _)| t);
    }
    if let Some(detail) = &state.pane(state.tab).detail {
        return Some(detail.target.clone());
    }
    state
        .selected_row(state.tab)
        .and_then(|row| state.target_of(row))
}

/// What the resolver knows of the dashboard beyond its sources.
pub(super) fn context(state: &State) -> Context {
    Context {
        read_only: state.read_only,
        now: state.now,
    }
}

/// The source offers this kind of action.
fn offers(state: &State, source: &str, kind: ActionKind) -> bool {
    state
        .sources
        .iter()
        .any(|s| s.name == source && s.actions.contains(&kind))
}

/// A second cancel of a run that ignored the first (sent long enough ago)
/// is a force-cancel, where the source has one.
fn cancel_or_force(state: &mut State, target: &Target) -> Result<ActionKind, ()> {
    let Some(sent) = state.cancel_sent.get(target).copied() else {
        return Ok(ActionKind::Cancel);
    };
    let still_active = state
        .sources
        .iter()
        .find(|s| s.name == target.source)
        .and_then(|s| s.snapshot.pipelines.iter().find(|r| r.id == target.id))
        .is_some_and(|r| r.status.is_active());
    if !still_active || !offers(state, &target.source, ActionKind::ForceCancel) {
        state.cancel_sent.remove(target);
        return Ok(ActionKind::Cancel);
    }
    let waited = state.now - sent;
    if waited < FORCE_CANCEL_AFTER {
        let left = (FORCE_CANCEL_AFTER - waited).num_seconds().max(1);
        say(
            state,
            Level::Info,
            format!(
                "{target}: the cancel was sent {}s ago and may still be taking effect — try again in {left}s to force-cancel",
                waited.num_seconds()
            ),
        );
        return Err(());
    }
    Ok(ActionKind::ForceCancel)
}

/// An action key: the resolver decides what it becomes; the dashboard adds
/// its own steps (a second cancel, the in-flight guard, pickers, forms).
pub(super) fn on_action_command(state: &mut State, kind: ActionKind) -> Vec<Effect> {
    let Some(target) = action_target(state) else {
        if kind == ActionKind::Refresh {
            return refetch_tab(state);
        }
        let key = key_of(state, kind);
        say(
            state,
            Level::Warning,
            format!("{key}nothing selected: {kind} needs a row to act on"),
        );
        return Vec::new();
    };
    let kind = match (kind, target.kind) {
        (ActionKind::Cancel, TargetKind::Run) => match cancel_or_force(state, &target) {
            Ok(kind) => kind,
            Err(()) => return Vec::new(),
        },
        (k, _) => k,
    };
    // From "why?", a rollback of a suspect deploy goes to the entry before it;
    // a model is promoted to the version its retrain registered.
    let to = match (kind, target.kind) {
        (ActionKind::Rollback, _) => super::why::suspect_target(state).and_then(|(_, to)| to),
        (ActionKind::Promote, TargetKind::Model) => {
            match super::retrain::promote_to(state, &target) {
                Some(version) => Some(version),
                None => return Vec::new(),
            }
        }
        _ => None,
    };
    let request = Request {
        kind,
        target,
        to: to.as_deref(),
    };
    match resolver::resolve(&request, &state.sources, context(state)) {
        Err(why) => {
            // A key that does not apply to this kind of row leads with the
            // key, so the refusal reads as the key's answer.
            // So does `n` or `o` on a model that has nothing to retrain or promote.
            let on_model = request.target.kind == TargetKind::Model
                && matches!(request.kind, ActionKind::Dispatch | ActionKind::Promote);
            let why = if on_model || why == actions::wrong_target(request.kind, request.target.kind)
            {
                format!("{}{why}", key_of(state, request.kind))
            } else {
                with_live_approval_key(state, why)
            };
            say(state, Level::Error, why);
            Vec::new()
        }
        Ok(Resolved::Reread) => refetch_tab(state),
        Ok(Resolved::NewRun { pipeline, git_ref }) => load_form(state, pipeline, git_ref),
        Ok(Resolved::Retrain {
            model,
            pipeline,
            inputs,
        }) => super::retrain::ask_form(state, model, pipeline, inputs),
        Ok(Resolved::Action(action)) if state.is_busy(&action.target) => {
            say(
                state,
                Level::Warning,
                format!(
                    "an action on {} is still in flight: wait for its outcome",
                    action.target
                ),
            );
            Vec::new()
        }
        Ok(Resolved::Action(action))
            if request.kind != ActionKind::Promote
                && matches!(
                    action.kind,
                    ActionKind::Rollback | ActionKind::SetModelAlias
                ) =>
        {
            pick(state, action);
            Vec::new()
        }
        Ok(Resolved::Action(action)) => ask(state, action),
    }
}

/// A tofu approval refused for want of a repository: on screen it also
/// names the key that asks for the live patch instead, as this keymap
/// binds it (the refusal itself names the headless command).
fn with_live_approval_key(state: &State, why: String) -> String {
    let key = key_of(state, ActionKind::ApproveLive);
    match key.strip_suffix(": ") {
        Some(key) if why.ends_with(crate::sources::tofu::NO_GIT) => {
            format!("{why}; in the dashboard, key {key}")
        }
        _ => why,
    }
}

/// "b: " for the key bound to the command of `kind` (none when unbound).
pub(super) fn key_of(state: &State, kind: ActionKind) -> String {
    let kind = match kind {
        ActionKind::ForceCancel => ActionKind::Cancel,
        k => k,
    };
    <crate::app::Command as strum::IntoEnumIterator>::iter()
        .find(|c| c.action_kind() == Some(kind))
        .and_then(|c| state.keymap.keys_for(c).first())
        .map_or(String::new(), |k| format!("{k}: "))
}

/// Rollbacks first pick where to: the deploy history, the repository's
/// commits, or the model's versions; the cursor starts on the resolver's
/// default.
fn pick(state: &mut State, action: Action) {
    let target = action.target.clone();
    let Some(source) = state.sources.iter().find(|s| s.name == target.source) else {
        return;
    };
    let snapshot = &source.snapshot;
    let (entries, title) = match action.kind {
        ActionKind::Rollback => {
            let Some(app) = snapshot.apps.iter().find(|a| a.name == target.id) else {
                return;
            };
            let title = match &app.repo {
                Some(repo) => format!(
                    "Revert which commit of {target} ({} on {})?",
                    app.path.as_deref().unwrap_or(""),
                    repo.branch
                ),
                None => format!("Roll back {target} to…"),
            };
            (actions::rollback_choices(app), title)
        }
        _ => {
            let Some(model) = snapshot.models.iter().find(|m| m.model == target.id) else {
                return;
            };
            (
                actions::version_choices(model),
                format!("Point {target} \"{}\" at…", model.alias),
            )
        }
    };
    let mut entries = entries;
    if action.kind == ActionKind::Rollback {
        crate::app::settle::fresh_timeline(state);
        mark_verdicts(state, &target, &mut entries);
    }
    // From "why?": the entry before the suspect; else the last healthy
    // deploy; else the resolver's default.
    let chosen = super::why::suspect_target(state).and_then(|(_, to)| to);
    let selected = chosen
        .and_then(|to| entries.iter().position(|e| e.id == to))
        .or_else(|| {
            entries
                .iter()
                .position(|e| !e.current && e.verdict.as_deref() == Some("healthy"))
        })
        .or_else(|| {
            entries
                .iter()
                .position(|e| Some(&e.id) == action.to.as_ref())
        })
        .or_else(|| entries.iter().position(|e| !e.current))
        .unwrap_or(0);
    state.overlay = Some(Overlay::Picker(Picker {
        kind: action.kind,
        target,
        title,
        entries,
        selected,
    }));
    state.dirty = true;
}

/// `new_run`: ask the pipeline's source what a new run of it takes; the
/// form opens when the answer comes.
pub(super) fn load_form(
    state: &mut State,
    pipeline: Target,
    git_ref: Option<String>,
) -> Vec<Effect> {
    // Any earlier retrain's form no longer pre-fills.
    state.retrain_ask = None;
    let Some(index) = state.sources.iter().position(|s| s.name == pipeline.source) else {
        return Vec::new();
    };
    let name = state.sources[index]
        .snapshot
        .pipelines
        .iter()
        .find(|r| r.pipeline_id == pipeline.id)
        .map_or(pipeline.id.clone(), |r| r.pipeline.clone());
    say(
        state,
        Level::Info,
        format!("reading what a new run of {name} takes…"),
    );
    vec![Effect::LoadDispatchForm {
        source: index,
        pipeline: pipeline.id,
        git_ref,
    }]
}

/// Confirm first, unless the action changes nothing.
pub(super) fn ask(state: &mut State, action: Action) -> Vec<Effect> {
    ask_for(state, action, None)
}

/// Confirm first; a retrain's run (`retrain`: its model) is kept with the
/// model once sent.
pub(super) fn ask_for(
    state: &mut State,
    action: Action,
    retrain: Option<crate::app::state::RetrainOf>,
) -> Vec<Effect> {
    if !action.kind.is_mutating() {
        return dispatch(state, action);
    }
    state.overlay = Some(Overlay::Confirm(Confirm {
        action,
        typed: String::new(),
        retrain,
    }));
    state.dirty = true;
    Vec::new()
}

/// Send a confirmed action, unless one is already in flight on its target.
pub(super) fn dispatch(state: &mut State, action: Action) -> Vec<Effect> {
    state.overlay = None;
    if let Err(why) = actions::check_allowed(action.kind, &action.target, state.read_only) {
        say(state, Level::Error, why);
        return Vec::new();
    }
    if state.is_busy(&action.target) {
        say(
            state,
            Level::Warning,
            format!(
                "an action on {} is still in flight: wait for its outcome",
                action.target
            ),
        );
        return Vec::new();
    }
    let id = state.next_action_id;
    state.next_action_id += 1;
    state.in_flight.insert(
        action.target.clone(),
        InFlight {
            id,
            action: action.clone(),
            started: state.now,
        },
    );
    say(
        state,
        Level::Info,
        format!("{} {}…", action.kind.verb(), action.target),
    );
    vec![Effect::Run {
        id,
        action: Box::new(action),
    }]
}

pub(super) fn refetch_tab(state: &mut State) -> Vec<Effect> {
    let tab = state.tab;
    let effects: Vec<Effect> = state
        .sources
        .iter()
        .enumerate()
        .filter(|(_, s)| tab.shows(s.provides))
        .map(|(i, _)| Effect::Refetch(i))
        .collect();
    say(
        state,
        Level::Info,
        format!("reading {} source(s) again…", effects.len()),
    );
    effects
}

/// Each history entry's deploy verdict, from the timeline.
fn mark_verdicts(state: &State, target: &Target, entries: &mut [crate::app::state::PickerEntry]) {
    let name = target.to_string();
    for entry in entries.iter_mut() {
        entry.verdict = state
            .timeline
            .timeline
            .events
            .iter()
            .find(|e| {
                e.kind == crate::timeline::EventKind::Deploy
                    && e.target == name
                    && e.deploy_id.as_deref() == Some(entry.id.as_str())
            })
            .and_then(|e| e.verdict)
            .map(|v| v.to_string());
    }
}
