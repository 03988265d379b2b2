//! `update(state, msg) -> effects`: the only place the state changes. Plain
//! function, no I/O: the event loop performs the returned effects. A batch
//! (`update_batch`) applies every message, then settles derived data once.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::command::Command;
pub use crate::app::settle::settle;
use crate::app::state::{AppDetailState, Detail, Level, Overlay, State, StatusLine, Tab};
use crate::app::views::{self, keep_visible, table_rows_for_height};
use crate::model::{Job, Target, TargetKind};

mod act;
mod custom;
mod dialogs;
mod help;
mod jump;
mod msg;
mod retrain;
mod runs;
mod source;
mod why;

pub(crate) use why::refresh_why;

use act::{on_action_command, on_outcome};
pub use custom::{output_page, selected_kind};
pub use dialogs::takes_sync_options;
use dialogs::{on_confirm_key, on_picker_key};
pub use msg::{Effect, Msg};
use source::{on_app_detail, on_source};

/// Longest text accepted in the filter or the typed confirmation.
pub(super) const MAX_INPUT_LEN: usize = 256;

/// Apply one message and settle: the state is consistent on return.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let effects = apply(state, msg);
    settle(state);
    effects
}

/// Apply messages that arrived together, rebuilding derived data (links,
/// each tab's rows) once at the end instead of once per message. The
/// effects come in message order.
pub fn update_batch(state: &mut State, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
    let mut effects = Vec::new();
    for msg in msgs {
        effects.extend(apply(state, msg));
    }
    settle(state);
    effects
}

/// Apply one message without settling: source events only mark derived
/// data stale. Anything else first settles what earlier messages left
/// stale, since keys, commands and outcomes act on the rows on screen.
pub fn apply(state: &mut State, msg: Msg) -> Vec<Effect> {
    if !matches!(msg, Msg::Source(_) | Msg::Tick(_)) {
        settle(state);
    }
    let tab = state.tab;
    let effects = apply_settled(state, msg);
    if tab == Tab::Overview && state.tab != Tab::Overview {
        state.overview_left_at = Some(state.now);
    }
    effects
}

fn apply_settled(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key),
        Msg::Command(command) => on_command(state, command),
        Msg::Source(event) => {
            on_source(state, event);
            crate::app::retrain::find_runs(state);
            Vec::new()
        }
        Msg::Started { id, run } => {
            retrain::on_started(state, id, run);
            Vec::new()
        }
        Msg::Outcome {
            id,
            action,
            outcome,
        } => on_outcome(state, id, action, outcome),
        Msg::Jobs { target, result } => on_jobs(state, target, result),
        Msg::AppDetail { target, result } => {
            on_app_detail(state, target, result);
            Vec::new()
        }
        Msg::Log {
            target,
            job,
            result,
        } => {
            runs::on_log(state, target, job, result);
            Vec::new()
        }
        Msg::DispatchForm {
            target,
            git_ref,
            result,
        } => {
            runs::on_dispatch_form(state, target, git_ref, result);
            Vec::new()
        }
        Msg::CommandOutput { id, bytes } => custom::on_output(state, id, &bytes),
        Msg::CommandExited { id, name, exit } => custom::on_exited(state, id, &name, exit),
        Msg::Tick(now) => {
            state.now = now;
            state.spinner = state.spinner.wrapping_add(1);
            state.dirty = true;
            Vec::new()
        }
        Msg::Resize(w, h) => {
            state.size = (w, h);
            let visible = table_rows_for_height(h);
            state
                .panes
                .iter_mut()
                .for_each(|p| keep_visible(p, visible));
            state.dirty = true;
            Vec::new()
        }
    }
}

pub(super) fn say(state: &mut State, level: Level, text: impl Into<String>) {
    state.status = Some(StatusLine {
        level,
        text: text.into(),
        at: state.now,
    });
    state.dirty = true;
}

// ---- loads --------------------------------------------------------------------

fn on_jobs(state: &mut State, target: Target, result: Result<Vec<Job>, String>) -> Vec<Effect> {
    let Some(source) = state.sources.iter_mut().find(|s| s.name == target.source) else {
        return Vec::new();
    };
    let Some(run) = source
        .snapshot
        .pipelines
        .iter_mut()
        .find(|r| r.id == target.id)
    else {
        return Vec::new();
    };
    state.dirty = true;
    match result {
        Ok(jobs) => {
            run.jobs = Some(jobs);
            effects_for_pending_log(state, &target)
        }
        Err(e) => {
            if let Some(detail) = state.pane_mut(Tab::Pipelines).detail.as_mut() {
                detail.log_pending = false;
            }
            say(
                state,
                Level::Error,
                format!("cannot load the jobs of {target}: {e}"),
            );
            Vec::new()
        }
    }
}

/// `logs` was asked for before the jobs were there: open the log now.
fn effects_for_pending_log(state: &mut State, target: &Target) -> Vec<Effect> {
    let pending = state
        .pane(Tab::Pipelines)
        .detail
        .as_ref()
        .is_some_and(|d| d.log_pending && d.target == *target);
    if !pending {
        return Vec::new();
    }
    if let Some(detail) = state.pane_mut(Tab::Pipelines).detail.as_mut() {
        detail.log_pending = false;
    }
    runs::show_next_log(state)
}

// ---- keys --------------------------------------------------------------------

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if state.jump.is_some() {
        jump::on_jump_key(state, key);
        return Vec::new();
    }
    match state.overlay.clone() {
        Some(Overlay::Confirm(confirm)) => return on_confirm_key(state, confirm, key),
        Some(Overlay::Picker(_)) => return on_picker_key(state, key),
        Some(Overlay::Form(form)) => return runs::on_form_key(state, form, key),
        Some(Overlay::Help) => {
            help::on_help_key(state, key);
            return Vec::new();
        }
        Some(Overlay::Command(_) | Overlay::Output(_)) => {
            return custom::on_overlay_key(state, key);
        }
        None => {}
    }
    if state.editing_filter {
        on_filter_key(state, key);
        return Vec::new();
    }
    if let Some(effects) = custom::on_key(state, &key) {
        return effects;
    }
    match state.keymap.lookup(&key) {
        Some(command) => on_command(state, command),
        None => {
            help::unbound_key(state, key);
            Vec::new()
        }
    }
}

fn on_filter_key(state: &mut State, key: KeyEvent) {
    let tab = state.tab;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            state.editing_filter = false;
            state.pane_mut(tab).filter.clear();
        }
        KeyCode::Enter => state.editing_filter = false,
        KeyCode::Backspace => {
            state.pane_mut(tab).filter.pop();
        }
        KeyCode::Char('u') if ctrl => state.pane_mut(tab).filter.clear(),
        KeyCode::Char('c') if ctrl => {
            state.editing_filter = false;
            state.pane_mut(tab).filter.clear();
        }
        KeyCode::Char(c) if !ctrl => {
            if state.pane(tab).filter.len() < MAX_INPUT_LEN {
                state.pane_mut(tab).filter.push(c);
            }
        }
        KeyCode::Up => move_selection(state, -1),
        KeyCode::Down => move_selection(state, 1),
        _ => return,
    }
    views::refilter(state, tab);
    let visible = table_rows_for_height(state.size.1);
    keep_visible(state.pane_mut(tab), visible);
    state.dirty = true;
}

// ---- commands ----------------------------------------------------------------

fn on_command(state: &mut State, command: Command) -> Vec<Effect> {
    state.dirty = true;
    if let Some(effects) = why::on_why_command(state, command) {
        return effects;
    }
    if let Some(kind) = command.action_kind() {
        return on_action_command(state, kind);
    }
    match command {
        Command::Quit if !state.in_flight.is_empty() && !state.quit_armed => {
            // Quitting now would leave the outcome unrecorded: say so once.
            state.quit_armed = true;
            let n = state.in_flight.len();
            say(
                state,
                Level::Warning,
                format!(
                    "{n} action(s) still in flight: quitting now leaves their outcome unknown — press q again to quit"
                ),
            );
        }
        Command::Quit => {
            state.should_quit = true;
            return vec![Effect::Quit];
        }
        Command::Help => {
            state.help_scroll = 0;
            state.overlay = match state.overlay {
                Some(Overlay::Help) => None,
                _ => Some(Overlay::Help),
            }
        }
        Command::Jump => jump::open(state),
        Command::NextTab => switch_tab(state, state.tab.next()),
        Command::PrevTab => switch_tab(state, state.tab.prev()),
        Command::TabOverview => switch_tab(state, Tab::Overview),
        Command::TabPipelines => switch_tab(state, Tab::Pipelines),
        Command::TabGitops => switch_tab(state, Tab::GitOps),
        Command::TabDrift => switch_tab(state, Tab::Drift),
        Command::TabTimeline => switch_tab(state, Tab::Timeline),
        Command::Why => why::open_why(state),
        Command::Output => custom::open_output(state),
        Command::Open if state.tab == Tab::Timeline => return why::open_event(state),
        Command::Up => move_selection(state, -1),
        Command::Down => move_selection(state, 1),
        Command::PageUp => {
            let page = table_rows_for_height(state.size.1) as isize;
            move_selection(state, -page);
        }
        Command::PageDown => {
            let page = table_rows_for_height(state.size.1) as isize;
            move_selection(state, page);
        }
        Command::Top => move_selection(state, isize::MIN / 2),
        Command::Bottom => move_selection(state, isize::MAX / 2),
        Command::Open => return open(state),
        Command::Logs => return runs::on_logs_command(state),
        Command::Back => {
            let pane = state.pane_mut(state.tab);
            if let Some(detail) = pane.detail.as_mut().filter(|d| d.log.is_some()) {
                detail.log = None;
                detail.scroll = 0;
            } else if pane.detail.is_some() {
                pane.detail = None;
            } else if !pane.filter.is_empty() {
                pane.filter.clear();
                views::refilter(state, state.tab);
            } else {
                state.status = None;
            }
        }
        Command::Filter if state.pane(state.tab).detail.is_none() => state.editing_filter = true,
        Command::CopyUrl => return copy_url(state),
        _ => {}
    }
    Vec::new()
}

fn switch_tab(state: &mut State, tab: Tab) {
    state.tab = tab;
    state.editing_filter = false;
}

/// Move the selection, or scroll the open detail view.
fn move_selection(state: &mut State, delta: isize) {
    let visible = table_rows_for_height(state.size.1);
    let log_end = runs::log_scroll_end(state);
    let pane = state.pane_mut(state.tab);
    if let Some(detail) = pane.detail.as_mut() {
        let end = log_end.unwrap_or(10_000);
        detail.scroll = detail.scroll.saturating_add_signed(delta).min(end);
        return;
    }
    let last = pane.rows.len().saturating_sub(1);
    pane.selected = pane.selected.saturating_add_signed(delta).min(last);
    keep_visible(pane, visible);
}

pub(super) fn open(state: &mut State) -> Vec<Effect> {
    let Some(row) = state.selected_row(state.tab) else {
        return Vec::new();
    };
    if state.tab == Tab::Overview {
        // Jump to the item in its own tab, clearing a filter that hides it.
        let tab = row.tab;
        if !state.pane(tab).rows.contains(&row) {
            state.pane_mut(tab).filter.clear();
            views::refilter(state, tab);
        }
        let visible = table_rows_for_height(state.size.1);
        let pane = state.pane_mut(tab);
        pane.detail = None;
        if let Some(i) = pane.rows.iter().position(|r| *r == row) {
            pane.selected = i;
        }
        keep_visible(pane, visible);
        state.tab = tab;
        return Vec::new();
    }
    let Some(target) = state.target_of(row) else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    if let (TargetKind::Run, Some(run)) = (target.kind, state.run(row)) {
        if run.jobs.is_none() {
            effects.push(Effect::LoadJobs {
                source: row.source as usize,
                run_id: run.id.clone(),
            });
        }
    }
    if target.kind == TargetKind::App
        && state
            .sources
            .get(row.source as usize)
            .is_some_and(|s| s.has_app_detail())
    {
        state
            .app_details
            .insert(target.clone(), AppDetailState::Loading);
        effects.push(Effect::LoadAppDetail {
            source: row.source as usize,
            app: target.id.clone(),
        });
    }
    state.pane_mut(state.tab).detail = Some(Detail::new(target));
    effects
}

fn copy_url(state: &mut State) -> Vec<Effect> {
    let row = state.detail_row().or_else(|| state.selected_row(state.tab));
    let url = row.and_then(|row| match row.tab {
        Tab::Pipelines => state.run(row).and_then(|r| r.url.clone()),
        Tab::GitOps => state.app(row).and_then(|a| a.repo_url.clone()),
        Tab::Drift => retrain::run_link(state, row),
        _ => None,
    });
    match url {
        Some(url) => {
            say(state, Level::Info, format!("copied {url}"));
            vec![Effect::Copy(url)]
        }
        None => {
            say(state, Level::Warning, "this item has no link to copy");
            Vec::new()
        }
    }
}
