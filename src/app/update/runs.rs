//! Pipeline runs beyond their table: a job's log tail in the run's detail
//! view, and the form that starts a new run of a pipeline (the resolver
//! decided it is one; `act` asked for the form).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::resolver;
use crate::app::state::{Form, Level, LogState, LogView, Overlay, State, Tab};
use crate::model::{DispatchForm, LogTail, RunStatus, Target};

use super::act::{ask_for, context};
use super::{Effect, MAX_INPUT_LEN, open, say};

/// Rows of a log view's body at a terminal height: the detail frame takes
/// four (tab bar, two borders, footer) and the log's heading two.
pub fn log_rows_for_height(height: u16) -> usize {
    usize::from(height.saturating_sub(6)).max(1)
}

/// `logs`: in a run's detail view, show the log of its failed job, then of
/// the next job on each press; from the table, open the run first.
pub(super) fn on_logs_command(state: &mut State) -> Vec<Effect> {
    if state.tab != Tab::Pipelines {
        let key = crate::app::keymap::first_key_prefix(state, crate::app::Command::Logs);
        say(
            state,
            Level::Warning,
            format!("{key}logs are the jobs' logs of pipeline runs: open a run in tab 2"),
        );
        return Vec::new();
    }
    let mut effects = Vec::new();
    if state.pane(Tab::Pipelines).detail.is_none() {
        effects = open(state);
    }
    let Some(detail) = state.pane(Tab::Pipelines).detail.as_ref() else {
        say(state, Level::Warning, "nothing selected");
        return effects;
    };
    let target = detail.target.clone();
    let Some(source) = state.sources.iter().find(|s| s.name == target.source) else {
        return effects;
    };
    if !source.capabilities.job_logs {
        // The backend's own page may show them (Kubeflow's UI does).
        let page = (source.snapshot.pipelines.iter())
            .find(|r| r.id == target.id)
            .and_then(|r| r.url.as_deref())
            .map(|url| format!(": the run's page is {url} (y copies it)"))
            .unwrap_or_default();
        let message = format!("{} sources have no job logs to show{page}", source.kind);
        say(state, Level::Warning, message);
        return effects;
    }
    let jobs_loaded = source
        .snapshot
        .pipelines
        .iter()
        .find(|r| r.id == target.id)
        .is_some_and(|r| r.jobs.is_some());
    if !jobs_loaded {
        if let Some(detail) = state.pane_mut(Tab::Pipelines).detail.as_mut() {
            detail.log_pending = true;
        }
        if !effects.iter().any(|e| matches!(e, Effect::LoadJobs { .. })) {
            // Opened before, and its jobs failed to load: ask again.
            if let Some(index) = state.sources.iter().position(|s| s.name == target.source) {
                effects.push(Effect::LoadJobs {
                    source: index,
                    run_id: target.id.clone(),
                });
            }
        }
        return effects;
    }
    effects.extend(show_next_log(state));
    effects
}

/// Switch the open run's detail view to its next job's log: the first
/// failed job first (else the running one, else the first), then the
/// following jobs in turn.
pub(super) fn show_next_log(state: &mut State) -> Vec<Effect> {
    let Some(detail) = state.pane(Tab::Pipelines).detail.as_ref() else {
        return Vec::new();
    };
    let target = detail.target.clone();
    let current = detail.log.as_ref().map(|l| l.job_id.clone());
    let Some(source_index) = state.sources.iter().position(|s| s.name == target.source) else {
        return Vec::new();
    };
    let jobs = state.sources[source_index]
        .snapshot
        .pipelines
        .iter()
        .find(|r| r.id == target.id)
        .and_then(|r| r.jobs.clone())
        .unwrap_or_default();
    if jobs.is_empty() {
        say(state, Level::Warning, format!("{target} has no jobs"));
        return Vec::new();
    }
    let next = match current.and_then(|id| jobs.iter().position(|j| j.id == id)) {
        Some(i) => (i + 1) % jobs.len(),
        None => jobs
            .iter()
            .position(|j| j.status == RunStatus::Failure)
            .or_else(|| jobs.iter().position(|j| j.status == RunStatus::Running))
            .unwrap_or(0),
    };
    let job = &jobs[next];
    // Only the open run's logs are kept (each is up to 200 lines).
    state.logs.retain(|(run, _), _| *run == target);
    let key = (target.clone(), job.id.clone());
    state.logs.insert(key, LogState::Loading);
    if let Some(detail) = state.pane_mut(Tab::Pipelines).detail.as_mut() {
        detail.log = Some(LogView {
            job_id: job.id.clone(),
            job_name: job.name.clone(),
        });
        detail.scroll = 0;
    }
    state.dirty = true;
    vec![Effect::LoadLog {
        source: source_index,
        run_id: target.id.clone(),
        job_id: job.id.clone(),
    }]
}

pub(super) fn on_log(
    state: &mut State,
    target: Target,
    job: String,
    result: Result<LogTail, String>,
) {
    let lines = result.as_ref().map_or(0, |t| t.lines.len());
    let log = match result {
        Ok(tail) => LogState::Loaded(tail),
        Err(e) => LogState::Failed(e),
    };
    state.logs.insert((target.clone(), job.clone()), log);
    // A tail is read from its end: start at the bottom.
    let page = log_rows_for_height(state.size.1);
    if let Some(detail) = state.pane_mut(Tab::Pipelines).detail.as_mut() {
        if detail.target == target && detail.log.as_ref().is_some_and(|l| l.job_id == job) {
            detail.scroll = lines.saturating_sub(page);
        }
    }
    state.dirty = true;
}

/// The furthest a log view scrolls (its last page), when one is open.
pub(super) fn log_scroll_end(state: &State) -> Option<usize> {
    let detail = state.pane(state.tab).detail.as_ref()?;
    let view = detail.log.as_ref()?;
    let lines = match state
        .logs
        .get(&(detail.target.clone(), view.job_id.clone()))?
    {
        LogState::Loaded(tail) => tail.lines.len(),
        _ => 0,
    };
    Some(lines.saturating_sub(log_rows_for_height(state.size.1)))
}

pub(super) fn on_dispatch_form(
    state: &mut State,
    target: Target,
    git_ref: Option<String>,
    result: Result<DispatchForm, String>,
) {
    match result {
        Err(e) => say(
            state,
            Level::Error,
            format!("cannot start a new run of {target}: {e}"),
        ),
        // Whatever else opened meanwhile keeps the keyboard.
        Ok(_) if state.overlay.is_some() => {}
        Ok(spec) => {
            let mut form = Form::new(target, &spec, git_ref.as_deref());
            if super::retrain::prefill(state, &mut form, &spec.pipeline).is_err() {
                state.dirty = true;
                return;
            }
            if form.fields.is_empty() {
                // Nothing to ask: straight to the confirmation.
                submit(state, form);
                return;
            }
            state.overlay = Some(Overlay::Form(form));
            state.status = None;
        }
    }
    state.dirty = true;
}

/// Keys while the new-run form is open: type into the focused field,
/// Tab/↓ and Shift-Tab/↑ move, Enter goes to the confirmation, Esc cancels.
pub(super) fn on_form_key(state: &mut State, mut form: Form, key: KeyEvent) -> Vec<Effect> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let last = form.fields.len().saturating_sub(1);
    match key.code {
        KeyCode::Esc => {
            state.overlay = None;
            say(
                state,
                Level::Info,
                format!("cancelled: no new run of {}", form.target),
            );
            return Vec::new();
        }
        KeyCode::Char('c') if ctrl => {
            state.overlay = None;
            say(
                state,
                Level::Info,
                format!("cancelled: no new run of {}", form.target),
            );
            return Vec::new();
        }
        KeyCode::Enter => {
            state.overlay = None;
            return submit(state, form);
        }
        KeyCode::Tab | KeyCode::Down => form.focused = (form.focused + 1).min(last),
        KeyCode::BackTab | KeyCode::Up => form.focused = form.focused.saturating_sub(1),
        // Choices cycle with ←/→.
        KeyCode::Left | KeyCode::Right => {
            if let Some(field) = form.fields.get_mut(form.focused) {
                if !field.choices.is_empty() {
                    let n = field.choices.len();
                    let at = field.choices.iter().position(|c| *c == field.value);
                    let next = match (at, key.code) {
                        (None, _) => 0,
                        (Some(i), KeyCode::Right) => (i + 1) % n,
                        (Some(i), _) => (i + n - 1) % n,
                    };
                    field.value = field.choices[next].clone();
                }
            }
        }
        KeyCode::Backspace => {
            if let Some(field) = form.fields.get_mut(form.focused) {
                field.value.pop();
            }
        }
        KeyCode::Char('u') if ctrl => {
            if let Some(field) = form.fields.get_mut(form.focused) {
                field.value.clear();
            }
        }
        KeyCode::Char(c) if !ctrl => {
            if let Some(field) = form.fields.get_mut(form.focused) {
                if field.value.len() < MAX_INPUT_LEN {
                    field.value.push(c);
                }
            }
        }
        _ => return Vec::new(),
    }
    state.overlay = Some(Overlay::Form(form));
    state.dirty = true;
    Vec::new()
}

/// Plan the new run from the form and ask for confirmation; a bad field
/// keeps the form open and says which.
fn submit(state: &mut State, form: Form) -> Vec<Effect> {
    let (git_ref, inputs) = match form.values() {
        Ok(v) => v,
        Err(why) => {
            if let Some(i) = form.fields.iter().position(|f| why.starts_with(&f.name)) {
                let mut form = form;
                form.focused = i;
                state.overlay = Some(Overlay::Form(form));
            } else {
                state.overlay = Some(Overlay::Form(form));
            }
            say(state, Level::Warning, why);
            return Vec::new();
        }
    };
    let planned = match &form.retrain {
        Some(of) => super::retrain::plan(state, &of.model, &form, git_ref.as_deref(), inputs),
        None => resolver::new_run(
            &state.sources,
            &form.target,
            git_ref.as_deref(),
            inputs,
            context(state),
        ),
    };
    match planned {
        Ok(action) => ask_for(state, action, form.retrain),
        Err(why) => {
            say(state, Level::Error, why);
            Vec::new()
        }
    }
}
