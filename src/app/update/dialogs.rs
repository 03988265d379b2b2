//! Keys while a dialog has the keyboard: the confirmation (y/n, a typed
//! name, option toggles) and the rollback picker.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::command::Command;
use crate::app::resolver::{self, Request, Resolved};
use crate::app::state::{Confirm, Level, Overlay, State};
use crate::app::views::table_rows_for_height;
use crate::model::Action;

use super::MAX_INPUT_LEN;
use super::act::{ask, context};
use super::{Effect, say};

pub(super) fn on_confirm_key(
    state: &mut State,
    mut confirm: Confirm,
    key: KeyEvent,
) -> Vec<Effect> {
    let typed_mode = confirm.required_text().is_some();
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if let KeyCode::Char(c @ ('p' | 'd')) = key.code {
        if (ctrl || !typed_mode) && takes_sync_options(state, &confirm.action) {
            let mut options = confirm.action.sync;
            if c == 'p' {
                options.prune = !options.prune;
            } else {
                options.dry_run = !options.dry_run;
            }
            confirm.action.set_sync_options(options);
            state.overlay = Some(Overlay::Confirm(confirm));
            state.dirty = true;
            return Vec::new();
        }
    }
    let required = confirm.required_text().map(str::to_string);
    let answer = answer(&mut confirm.typed, required.as_deref(), &key);
    let what = confirm.action.effect.clone();
    let sent = confirm.clone();
    settle(
        state,
        answer,
        required.as_deref(),
        &what,
        Overlay::Confirm(confirm),
        |state| super::retrain::send_confirmed(state, sent),
    )
}

/// Carry out a confirmation's answer: `yes` on a yes; the dialog closed
/// with "cancelled: WHAT" on a no; `open` (the dialog as edited) kept on an
/// edit; the name to type asked for on Enter before it matches.
pub(super) fn settle(
    state: &mut State,
    answer: Answer,
    required: Option<&str>,
    what: &str,
    open: Overlay,
    yes: impl FnOnce(&mut State) -> Vec<Effect>,
) -> Vec<Effect> {
    match answer {
        Answer::Yes => return yes(state),
        Answer::No => {
            state.overlay = None;
            say(state, Level::Info, format!("cancelled: {what}"));
        }
        Answer::Edited => {
            state.overlay = Some(open);
            state.dirty = true;
        }
        Answer::NotYet => {
            let want = required.unwrap_or_default();
            say(
                state,
                Level::Warning,
                format!("type \"{want}\" exactly to confirm, or Esc to cancel"),
            );
        }
        Answer::Ignored => {}
    }
    Vec::new()
}

/// What a key does in a confirmation dialog.
pub(super) enum Answer {
    Yes,
    No,
    /// The typed name changed.
    Edited,
    /// Enter, but the typed name does not match yet.
    NotYet,
    Ignored,
}

/// The keys of every confirmation (an action's, a custom command's): y or
/// Enter confirms and n or Esc cancels; a production target's name must be
/// typed first.
pub(super) fn answer(typed: &mut String, required: Option<&str>, key: &KeyEvent) -> Answer {
    let typed_mode = required.is_some();
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => Answer::No,
        KeyCode::Enter | KeyCode::Char('y' | 'Y') if !typed_mode => Answer::Yes,
        KeyCode::Char('n' | 'N') if !typed_mode => Answer::No,
        KeyCode::Enter if required == Some(typed.as_str()) => Answer::Yes,
        KeyCode::Enter => Answer::NotYet,
        KeyCode::Backspace if typed_mode => {
            typed.pop();
            Answer::Edited
        }
        KeyCode::Char('u') if typed_mode && ctrl => {
            typed.clear();
            Answer::Edited
        }
        KeyCode::Char(c) if typed_mode && !ctrl => {
            if typed.len() < MAX_INPUT_LEN {
                typed.push(c);
            }
            Answer::Edited
        }
        _ => Answer::Ignored,
    }
}

/// A sync or history rollback on a source that honours prune and dry run.
pub fn takes_sync_options(state: &State, action: &Action) -> bool {
    resolver::takes_sync_options(&state.sources, action)
}

pub(super) fn on_picker_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Overlay::Picker(mut picker)) = state.overlay.clone() else {
        return Vec::new();
    };
    let last = picker.entries.len().saturating_sub(1);
    let page = table_rows_for_height(state.size.1).saturating_sub(4).max(1);
    match (key.code, state.keymap.lookup(&key)) {
        (KeyCode::Esc, _) | (_, Some(Command::Back | Command::Quit)) => {
            state.overlay = None;
            state.dirty = true;
            return Vec::new();
        }
        (KeyCode::Enter, _) | (_, Some(Command::Open)) => {
            let Some(entry) = picker.entries.get(picker.selected) else {
                return Vec::new();
            };
            if entry.current {
                say(
                    state,
                    Level::Warning,
                    format!("{} is what runs now: pick another entry", entry.revision),
                );
                return Vec::new();
            }
            let to = entry.id.clone();
            let request = Request {
                kind: picker.kind,
                target: picker.target.clone(),
                to: Some(&to),
            };
            let resolved = resolver::resolve(&request, &state.sources, context(state));
            state.overlay = None;
            return match resolved {
                Ok(Resolved::Action(action)) => ask(state, action),
                Ok(other) => {
                    tracing::warn!(?other, "a picker's choice resolved to no action");
                    Vec::new()
                }
                Err(why) => {
                    say(state, Level::Error, why);
                    Vec::new()
                }
            };
        }
        (_, Some(Command::Up)) => picker.selected = picker.selected.saturating_sub(1),
        (_, Some(Command::Down)) => picker.selected = (picker.selected + 1).min(last),
        (_, Some(Command::Top)) => picker.selected = 0,
        (_, Some(Command::Bottom)) => picker.selected = last,
        (_, Some(Command::PageUp)) => picker.selected = picker.selected.saturating_sub(page),
        (_, Some(Command::PageDown)) => picker.selected = (picker.selected + page).min(last),
        _ => return Vec::new(),
    }
    state.overlay = Some(Overlay::Picker(picker));
    state.dirty = true;
    Vec::new()
}
