//! Custom commands in the dashboard: a key on a row of their scope fills
//! the template from the row, asks (showing the exact command line), and
//! hands the run to the event loop; a background run's output comes back
//! here, into its view.

use crossterm::event::{KeyCode, KeyEvent};

use crate::app::command::Command;
use crate::app::custom::{self, Background, CommandRun, CustomCommand, Exit, OutputView};
use crate::app::keymap::Key;
use crate::app::state::{CommandConfirm, Level, Overlay, State};
use crate::config::{RenderError, Scope};
use crate::model::Target;

use super::dialogs::{answer, settle};
use super::{Effect, say};

/// The kind of row the command keys act on now (the open detail's item,
/// else the selected row), as scopes name it.
pub fn selected_kind(state: &State) -> Option<Scope> {
    super::act::action_target(state).and_then(|t| custom::row_kind(state, &t))
}

/// A key bound to a custom command: None when it is not one, or when it
/// belongs to a built-in command on this row (which then answers it).
pub(super) fn on_key(state: &mut State, key: &KeyEvent) -> Option<Vec<Effect>> {
    let pressed = Key::from_event(key);
    let first = state.custom.bound_to(pressed).next()?.clone();
    let target = super::act::action_target(state);
    let kind = target.as_ref().and_then(|t| custom::row_kind(state, t));
    let command = kind.and_then(|k| {
        state
            .custom
            .bound_to(pressed)
            .find(|c| c.scopes.contains(&k))
            .cloned()
    });
    match (command, target) {
        (Some(command), Some(target)) => Some(start(state, &command, target)),
        _ if state.keymap.command_of(pressed).is_some() => None,
        (_, None) => {
            say(
                state,
                Level::Warning,
                format!(
                    "{pressed}: nothing selected: {} needs a row to act on",
                    first.name
                ),
            );
            Some(Vec::new())
        }
        (None, Some(_)) => {
            say(state, Level::Error, first.wrong_row(kind));
            Some(Vec::new())
        }
    }
}

/// Fill the template from the row, then ask, or run at once when
/// `confirm = false`.
fn start(state: &mut State, command: &CustomCommand, target: Target) -> Vec<Effect> {
    let line = command.run.render(|p| custom::value(state, &target, p));
    let line = match line {
        Ok(line) => line,
        Err(RenderError::Missing(p)) => {
            say(
                state,
                Level::Error,
                format!(
                    "{}: {} needs {p}, and {target} has none — not run",
                    command.key, command.name
                ),
            );
            return Vec::new();
        }
        Err(RenderError::Nul(p)) => {
            say(
                state,
                Level::Error,
                format!(
                    "{}: {} cannot pass {p} of {target} to a shell (it holds a NUL byte) — not run",
                    command.key, command.name
                ),
            );
            return Vec::new();
        }
    };
    if let Err(why) =
        custom::check_allowed(&command.name, command.mutating, &target, state.read_only)
    {
        say(state, Level::Error, why);
        return Vec::new();
    }
    let production = custom::is_production(state, &target);
    let run = CommandRun {
        id: 0,
        name: command.name.clone(),
        target,
        line,
        background: command.background,
        mutating: command.mutating,
        production,
    };
    if command.confirm {
        state.overlay = Some(Overlay::Command(CommandConfirm {
            run,
            typed: String::new(),
        }));
        state.dirty = true;
        return Vec::new();
    }
    launch(state, run)
}

/// Hand a run to the event loop; a background one gets its output view.
fn launch(state: &mut State, mut run: CommandRun) -> Vec<Effect> {
    state.overlay = None;
    if let Err(why) = custom::check_allowed(&run.name, run.mutating, &run.target, state.read_only) {
        say(state, Level::Error, why);
        return Vec::new();
    }
    run.id = state.next_action_id;
    state.next_action_id += 1;
    if run.background {
        state.custom.keep(Background::new(run.clone(), state.now));
        state.overlay = Some(Overlay::Output(OutputView {
            id: run.id,
            scroll: 0,
            follow: true,
        }));
        say(
            state,
            Level::Info,
            format!("{} on {}: running in the background…", run.name, run.target),
        );
    } else {
        say(
            state,
            Level::Info,
            format!("{} on {}…", run.name, run.target),
        );
    }
    vec![Effect::Command(Box::new(run))]
}

/// Keys while a custom command's confirmation or output view is open.
pub(super) fn on_overlay_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match state.overlay.clone() {
        Some(Overlay::Command(mut confirm)) => {
            let required = confirm.required_text().map(str::to_string);
            let answer = answer(&mut confirm.typed, required.as_deref(), &key);
            let run = confirm.run.clone();
            let what = run.line.clone();
            let open = Overlay::Command(confirm);
            settle(state, answer, required.as_deref(), &what, open, |state| {
                launch(state, run)
            })
        }
        Some(Overlay::Output(view)) => {
            on_output_key(state, view, &key);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// j/k, PgUp/PgDn, g/G scroll the output; Esc (or q) closes the view and
/// leaves the command running.
fn on_output_key(state: &mut State, mut view: OutputView, key: &KeyEvent) {
    let lines = state
        .custom
        .runs
        .get(&view.id)
        .map_or(0, |r| r.lines.len() + usize::from(r.partial().is_some()));
    let page = output_page(state);
    let last_top = lines.saturating_sub(page);
    let top = if view.follow {
        last_top
    } else {
        view.scroll.min(last_top)
    };
    let command = state.keymap.lookup(key);
    let top = match (key.code, command) {
        (_, Some(Command::Output)) => {
            open_output(state);
            return;
        }
        (KeyCode::Esc, _) | (_, Some(Command::Back | Command::Quit)) => {
            state.overlay = None;
            state.dirty = true;
            return;
        }
        (_, Some(Command::Down)) => top + 1,
        (_, Some(Command::Up)) => top.saturating_sub(1),
        (_, Some(Command::PageDown)) => top + page,
        (_, Some(Command::PageUp)) => top.saturating_sub(page),
        (_, Some(Command::Top)) => 0,
        (_, Some(Command::Bottom)) => last_top,
        _ => return,
    };
    view.scroll = top.min(last_top);
    view.follow = view.scroll >= last_top;
    state.overlay = Some(Overlay::Output(view));
    state.dirty = true;
}

/// `O`: the newest background run's output again; pressed in that view,
/// the next older run's (wrapping). The runs are kept while opsdeck runs
/// (the newest `MAX_BACKGROUND_RUNS`), so closing a view loses nothing.
pub(super) fn open_output(state: &mut State) {
    let newest_first: Vec<u64> = state.custom.runs.keys().rev().copied().collect();
    let Some(first) = newest_first.first().copied() else {
        say(
            state,
            Level::Info,
            "no background command has run yet: a [[command]] with background = true \
             keeps its output here",
        );
        return;
    };
    let id = match &state.overlay {
        Some(Overlay::Output(open)) => newest_first
            .iter()
            .position(|id| *id == open.id)
            .map_or(first, |at| newest_first[(at + 1) % newest_first.len()]),
        _ => first,
    };
    state.overlay = Some(Overlay::Output(OutputView {
        id,
        scroll: 0,
        follow: true,
    }));
    state.dirty = true;
}

/// Output lines the view shows at once: `ui::command` draws it over the
/// whole body (the screen less the tab bar and footer) inside a border.
pub fn output_page(state: &State) -> usize {
    usize::from(state.size.1.saturating_sub(4)).max(1)
}

/// A background run wrote something.
pub(super) fn on_output(state: &mut State, id: u64, bytes: &[u8]) -> Vec<Effect> {
    if let Some(run) = state.custom.runs.get_mut(&id) {
        run.push(bytes);
        if matches!(&state.overlay, Some(Overlay::Output(v)) if v.id == id) {
            state.dirty = true;
        }
    }
    Vec::new()
}

/// A run ended (a foreground one: the dashboard has the terminal back).
pub(super) fn on_exited(state: &mut State, id: u64, name: &str, exit: Exit) -> Vec<Effect> {
    if let Some(run) = state.custom.runs.get_mut(&id) {
        run.finish(exit.clone());
    }
    let level = if exit.success() {
        Level::Success
    } else {
        Level::Error
    };
    say(state, level, format!("{name} {}", exit.describe()));
    Vec::new()
}
