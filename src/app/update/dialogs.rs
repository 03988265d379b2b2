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
    match key.code {
        KeyCode::Esc => {
            state.overlay = None;
            say(
                state,
                Level::Info,
                format!("cancelled: {}", confirm.action.effect),
            );
            return Vec::new();
        }
        KeyCode::Enter | KeyCode::Char('y') | KeyCode::Char('Y') if !typed_mode => {
            return super::retrain::send_confirmed(state, confirm);
        }
        KeyCode::Char('n') | KeyCode::Char('N') if !typed_mode => {
            state.overlay = None;
            say(
                state,
                Level::Info,
                format!("cancelled: {}", confirm.action.effect),
            );
            return Vec::new();
        }
        KeyCode::Enter if confirm.is_satisfied() => {
            return super::retrain::send_confirmed(state, confirm);
        }
        KeyCode::Enter => {
            let want = confirm.required_text().unwrap_or_default().to_string();
            say(
                state,
                Level::Warning,
                format!("type \"{want}\" exactly to confirm, or Esc to cancel"),
            );
            return Vec::new();
        }
        KeyCode::Backspace if typed_mode => {
            confirm.typed.pop();
        }
        KeyCode::Char('u') if typed_mode && key.modifiers.contains(KeyModifiers::CONTROL) => {
            confirm.typed.clear()
        }
        KeyCode::Char(c) if typed_mode && !key.modifiers.contains(KeyModifiers::CONTROL) => {
            if confirm.typed.len() < MAX_INPUT_LEN {
                confirm.typed.push(c);
            }
        }
        _ => return Vec::new(),
    }
    state.overlay = Some(Overlay::Confirm(confirm));
    state.dirty = true;
    Vec::new()
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
