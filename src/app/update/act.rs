//! The action flow: from a command to a planned action, a picker or a
//! confirmation, to the executor, and the outcome back.

use crate::app::actions::{self, PlanContext};
use crate::app::state::{Confirm, InFlight, Level, Overlay, Picker, State};
use crate::model::{Action, ActionKind, Outcome, Target, TargetKind};

use super::{Effect, runs, say};

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
fn action_target(state: &State) -> Option<Target> {
    if let Some(detail) = &state.pane(state.tab).detail {
        return Some(detail.target.clone());
    }
    state
        .selected_row(state.tab)
        .and_then(|row| state.target_of(row))
}

pub(super) fn plan_context(state: &State, target: &Target) -> PlanContext {
    let source_production = state
        .sources
        .iter()
        .any(|s| s.name == target.source && s.production);
    let rerun_starts_new = state
        .sources
        .iter()
        .any(|s| s.name == target.source && s.capabilities.rerun_starts_new);
    PlanContext {
        read_only: state.read_only,
        source_production,
        now: state.now,
        rerun_starts_new,
    }
}

/// Flux has no rollback of its own: rolling a Flux app back is reverting
/// its commit in the linked repository (a `git` source), so the rollback
/// goes to the repository's app; without one, say so.
fn flux_rollback(state: &State, kind: ActionKind, target: Target) -> Result<Target, String> {
    if kind != ActionKind::Rollback
        || !state
            .sources
            .iter()
            .any(|s| s.name == target.source && s.kind == "flux")
    {
        return Ok(target);
    }
    let linked = state
        .sources
        .iter()
        .find(|s| s.name == target.source)
        .and_then(|s| s.snapshot.apps.iter().find(|a| a.name == target.id))
        .and_then(|a| a.linked.clone());
    linked.ok_or_else(|| format!("{target}: {}", crate::sources::flux::NO_ROLLBACK))
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

pub(super) fn on_action_command(state: &mut State, kind: ActionKind) -> Vec<Effect> {
    let Some(target) = action_target(state) else {
        if kind == ActionKind::Refresh {
            return refetch_tab(state);
        }
        say(state, Level::Warning, "nothing selected");
        return Vec::new();
    };
    // In the Drift tab, "rollback" moves the model's serving alias.
    let kind = match (kind, target.kind) {
        (ActionKind::Rollback, TargetKind::Model) => ActionKind::SetModelAlias,
        (ActionKind::Refresh, TargetKind::Run | TargetKind::Model) => return refetch_tab(state),
        (k, _) => actions::as_offered(
            k,
            state
                .sources
                .iter()
                .find(|s| s.name == target.source)
                .map(|s| s.actions.as_slice()),
        ),
    };
    let kind = match (kind, target.kind) {
        (ActionKind::Cancel, TargetKind::Run) => match cancel_or_force(state, &target) {
            Ok(kind) => kind,
            Err(()) => return Vec::new(),
        },
        (k, _) => k,
    };
    let target = match flux_rollback(state, kind, target) {
        Ok(t) => t,
        Err(why) => {
            say(state, Level::Error, why);
            return Vec::new();
        }
    };
    if let Err(why) = actions::check_allowed(kind, &target, state.read_only) {
        say(state, Level::Error, why);
        return Vec::new();
    }
    if state.is_busy(&target) {
        say(
            state,
            Level::Warning,
            format!("an action on {target} is still in flight: wait for its outcome"),
        );
        return Vec::new();
    }
    let Some(source) = state.sources.iter().find(|s| s.name == target.source) else {
        return Vec::new();
    };
    if !source.actions.contains(&kind) {
        let message = format!("{} sources cannot {} {target}", source.kind, kind.verb());
        say(state, Level::Warning, message);
        return Vec::new();
    }
    if kind == ActionKind::Dispatch {
        if target.kind != TargetKind::Run {
            say(
                state,
                Level::Warning,
                "select a pipeline run (tab 2) to start a new run of its pipeline",
            );
            return Vec::new();
        }
        return runs::on_new_run_command(state, target);
    }
    let ctx = plan_context(state, &target);
    // Rollbacks first pick where to: the deploy history, or the model's versions.
    if matches!(kind, ActionKind::Rollback | ActionKind::SetModelAlias) {
        let snapshot = &source.snapshot;
        let (entries, title, default) = match kind {
            ActionKind::Rollback => {
                let Some(app) = snapshot.apps.iter().find(|a| a.name == target.id) else {
                    return Vec::new();
                };
                // Say why before offering a choice that would be refused;
                // the planned default is where the cursor starts.
                let default = match actions::plan_app(kind, app, None, ctx) {
                    Ok(action) => action.to,
                    Err(why) => {
                        say(state, Level::Error, why);
                        return Vec::new();
                    }
                };
                let title = match &app.repo {
                    Some(repo) => format!(
                        "Revert which commit of {target} ({} on {})?",
                        app.path.as_deref().unwrap_or(""),
                        repo.branch
                    ),
                    None => format!("Roll back {target} to…"),
                };
                (actions::rollback_choices(app), title, default)
            }
            _ => {
                let Some(model) = snapshot.models.iter().find(|m| m.model == target.id) else {
                    return Vec::new();
                };
                let default = match actions::plan_model(kind, model, None, ctx) {
                    Ok(action) => action.to,
                    Err(why) => {
                        say(state, Level::Error, why);
                        return Vec::new();
                    }
                };
                (
                    actions::version_choices(model),
                    format!("Point {target} \"{}\" at…", model.alias),
                    default,
                )
            }
        };
        let selected = entries
            .iter()
            .position(|e| Some(&e.id) == default.as_ref())
            .or_else(|| entries.iter().position(|e| !e.current))
            .unwrap_or(0);
        state.overlay = Some(Overlay::Picker(Picker {
            kind,
            target,
            title,
            entries,
            selected,
        }));
        state.dirty = true;
        return Vec::new();
    }
    match actions::plan(kind, &source.snapshot, &target, None, ctx) {
        Ok(action) => ask(state, action),
        Err(why) => {
            say(state, Level::Error, why);
            Vec::new()
        }
    }
}

/// Confirm first, unless the action changes nothing.
pub(super) fn ask(state: &mut State, action: Action) -> Vec<Effect> {
    if !action.kind.is_mutating() {
        return dispatch(state, action);
    }
    state.overlay = Some(Overlay::Confirm(Confirm {
        action,
        typed: String::new(),
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
