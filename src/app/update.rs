//! `update(state, msg) -> effects`: the only place the state changes. Plain
//! function, no I/O: the event loop performs the returned effects.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::actions::{self, PlanContext};
use crate::app::command::Command;
use crate::app::state::{
    AppDetailState, Confirm, Detail, InFlight, Level, Overlay, Picker, SourceError, State,
    StatusLine, Tab,
};
use crate::app::views::{self, keep_visible, table_rows_for_height};
use crate::model::{Action, ActionKind, AppDetail, Job, Outcome, Target, TargetKind, Timestamp};
use crate::sources::SourceEvent;

/// Longest text accepted in the filter or the typed confirmation.
const MAX_INPUT_LEN: usize = 256;

/// Everything that can happen to the dashboard.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Command(Command),
    Source(SourceEvent),
    Outcome {
        id: u64,
        action: Action,
        outcome: Outcome,
    },
    Jobs {
        target: Target,
        result: Result<Vec<Job>, String>,
    },
    /// An app's drill-down, loaded.
    AppDetail {
        target: Target,
        result: Result<AppDetail, String>,
    },
    Tick(Timestamp),
    Resize(u16, u16),
}

/// What the event loop must do after an update.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send a confirmed action to the executor.
    Run {
        id: u64,
        action: Action,
    },
    /// Read this source again now.
    Refetch(usize),
    /// Load a run's jobs for its detail view.
    LoadJobs {
        source: usize,
        run_id: String,
    },
    /// Load an app's drill-down for its detail view.
    LoadAppDetail {
        source: usize,
        app: String,
    },
    /// Copy to the clipboard (OSC 52).
    Copy(String),
    Quit,
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, key),
        Msg::Command(command) => on_command(state, command),
        Msg::Source(event) => {
            on_source(state, event);
            Vec::new()
        }
        Msg::Outcome {
            id,
            action,
            outcome,
        } => on_outcome(state, id, action, outcome),
        Msg::Jobs { target, result } => {
            on_jobs(state, target, result);
            Vec::new()
        }
        Msg::AppDetail { target, result } => {
            on_app_detail(state, target, result);
            Vec::new()
        }
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

fn say(state: &mut State, level: Level, text: impl Into<String>) {
    state.status = Some(StatusLine {
        level,
        text: text.into(),
        at: state.now,
    });
    state.dirty = true;
}

// ---- sources ---------------------------------------------------------------

fn on_source(state: &mut State, event: SourceEvent) {
    let Some(source) = state.sources.get_mut(event.source) else {
        return;
    };
    match event.result {
        Ok(mut snapshot) => {
            // Jobs loaded on drill-down survive a refresh that does not carry them.
            for run in snapshot.pipelines.iter_mut().filter(|r| r.jobs.is_none()) {
                if let Some(old) = source
                    .snapshot
                    .pipelines
                    .iter()
                    .find(|o| o.id == run.id && o.updated_at == run.updated_at)
                {
                    run.jobs = old.jobs.clone();
                }
            }
            // So do revision authors loaded with an app's drill-down.
            for app in &mut snapshot.apps {
                let target = Target::new(&source.name, TargetKind::App, &app.name);
                if let Some(AppDetailState::Loaded(detail)) = state.app_details.get(&target) {
                    app.apply_revisions(&detail.revisions);
                }
            }
            source.snapshot = snapshot;
            source.updated_at = Some(event.at);
            source.error = None;
        }
        Err(message) => {
            // The last good data stays on screen under the error.
            source.error = Some(SourceError {
                message,
                at: event.at,
            });
        }
    }
    crate::app::links::link(&mut state.sources);
    views::rebuild_all(state);
    let visible = table_rows_for_height(state.size.1);
    state
        .panes
        .iter_mut()
        .for_each(|p| keep_visible(p, visible));
    state.dirty = true;
}

fn on_app_detail(state: &mut State, target: Target, result: Result<AppDetail, String>) {
    let detail = match result {
        Ok(detail) => {
            let app = state
                .sources
                .iter_mut()
                .find(|s| s.name == target.source)
                .and_then(|s| s.snapshot.apps.iter_mut().find(|a| a.name == target.id));
            if let Some(app) = app {
                app.apply_revisions(&detail.revisions);
            }
            AppDetailState::Loaded(Box::new(detail))
        }
        Err(e) => AppDetailState::Failed(e),
    };
    state.app_details.insert(target, detail);
    state.dirty = true;
}

fn on_jobs(state: &mut State, target: Target, result: Result<Vec<Job>, String>) {
    let Some(source) = state.sources.iter_mut().find(|s| s.name == target.source) else {
        return;
    };
    let Some(run) = source
        .snapshot
        .pipelines
        .iter_mut()
        .find(|r| r.id == target.id)
    else {
        return;
    };
    match result {
        Ok(jobs) => run.jobs = Some(jobs),
        Err(e) => say(
            state,
            Level::Error,
            format!("cannot load the jobs of {target}: {e}"),
        ),
    }
    state.dirty = true;
}

// ---- actions ---------------------------------------------------------------

fn on_outcome(state: &mut State, id: u64, action: Action, outcome: Outcome) -> Vec<Effect> {
    if state
        .in_flight
        .get(&action.target)
        .is_some_and(|f| f.id == id)
    {
        state.in_flight.remove(&action.target);
    }
    let (level, text) = match &outcome {
        Outcome::Done(m) => (
            Level::Success,
            format!("{} {}: {m}", action.kind.verb(), action.target),
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

fn plan_context(state: &State, target: &Target) -> PlanContext {
    let source_production = state
        .sources
        .iter()
        .any(|s| s.name == target.source && s.production);
    PlanContext {
        read_only: state.read_only,
        source_production,
        now: state.now,
    }
}

fn on_action_command(state: &mut State, kind: ActionKind) -> Vec<Effect> {
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
        (k, _) => k,
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
fn ask(state: &mut State, action: Action) -> Vec<Effect> {
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
fn dispatch(state: &mut State, action: Action) -> Vec<Effect> {
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
    vec![Effect::Run { id, action }]
}

fn refetch_tab(state: &mut State) -> Vec<Effect> {
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

// ---- keys --------------------------------------------------------------------

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    match state.overlay.clone() {
        Some(Overlay::Confirm(confirm)) => return on_confirm_key(state, confirm, key),
        Some(Overlay::Picker(_)) => return on_picker_key(state, key),
        Some(Overlay::Help) => {
            let cmd = state.keymap.lookup(&key);
            if matches!(cmd, Some(Command::Help | Command::Back | Command::Quit)) {
                state.overlay = None;
                state.dirty = true;
            }
            return Vec::new();
        }
        None => {}
    }
    if state.editing_filter {
        on_filter_key(state, key);
        return Vec::new();
    }
    match state.keymap.lookup(&key) {
        Some(command) => on_command(state, command),
        None => Vec::new(),
    }
}

fn on_confirm_key(state: &mut State, mut confirm: Confirm, key: KeyEvent) -> Vec<Effect> {
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
            return dispatch(state, confirm.action);
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
        KeyCode::Enter if confirm.is_satisfied() => return dispatch(state, confirm.action),
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
    matches!(action.kind, ActionKind::Sync | ActionKind::Rollback)
        && state
            .sources
            .iter()
            .any(|s| s.name == action.target.source && s.capabilities.sync_options)
}

fn on_picker_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
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
            let target = picker.target.clone();
            let ctx = plan_context(state, &target);
            let planned = state
                .sources
                .iter()
                .find(|s| s.name == target.source)
                .map(|s| actions::plan(picker.kind, &s.snapshot, &target, Some(&to), ctx));
            state.overlay = None;
            return match planned {
                Some(Ok(action)) => ask(state, action),
                Some(Err(why)) => {
                    say(state, Level::Error, why);
                    Vec::new()
                }
                None => Vec::new(),
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
    views::rebuild(state, tab);
    let visible = table_rows_for_height(state.size.1);
    keep_visible(state.pane_mut(tab), visible);
    state.dirty = true;
}

// ---- commands ----------------------------------------------------------------

fn on_command(state: &mut State, command: Command) -> Vec<Effect> {
    state.dirty = true;
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
            state.overlay = match state.overlay {
                Some(Overlay::Help) => None,
                _ => Some(Overlay::Help),
            }
        }
        Command::NextTab => switch_tab(state, state.tab.next()),
        Command::PrevTab => switch_tab(state, state.tab.prev()),
        Command::TabOverview => switch_tab(state, Tab::Overview),
        Command::TabPipelines => switch_tab(state, Tab::Pipelines),
        Command::TabGitops => switch_tab(state, Tab::GitOps),
        Command::TabDrift => switch_tab(state, Tab::Drift),
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
        Command::Back => {
            let pane = state.pane_mut(state.tab);
            if pane.detail.is_some() {
                pane.detail = None;
            } else if !pane.filter.is_empty() {
                pane.filter.clear();
                views::rebuild(state, state.tab);
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
    let pane = state.pane_mut(state.tab);
    if let Some(detail) = pane.detail.as_mut() {
        detail.scroll = detail.scroll.saturating_add_signed(delta).min(10_000);
        return;
    }
    let last = pane.rows.len().saturating_sub(1);
    pane.selected = pane.selected.saturating_add_signed(delta).min(last);
    keep_visible(pane, visible);
}

fn open(state: &mut State) -> Vec<Effect> {
    let Some(row) = state.selected_row(state.tab) else {
        return Vec::new();
    };
    if state.tab == Tab::Overview {
        // Jump to the item in its own tab, clearing a filter that hides it.
        let tab = row.tab;
        if !state.pane(tab).rows.contains(&row) {
            state.pane_mut(tab).filter.clear();
            views::rebuild(state, tab);
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
    state.pane_mut(state.tab).detail = Some(Detail { target, scroll: 0 });
    effects
}

fn copy_url(state: &mut State) -> Vec<Effect> {
    let row = state.detail_row().or_else(|| state.selected_row(state.tab));
    let url = row.and_then(|row| match row.tab {
        Tab::Pipelines => state.run(row).and_then(|r| r.url.clone()),
        Tab::GitOps => state.app(row).and_then(|a| a.repo_url.clone()),
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
