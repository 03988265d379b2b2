//! Problems as events: the Overview's attention list (one rule, in
//! `attention`) watched over time, so `opsdeck watch` and the dashboard's
//! notifications agree on what is a new problem and what was resolved.
//!
//! A problem seen in a source's first read was there before anyone looked:
//! it is reported as `new` but not `fresh` (`watch` prints it, the dashboard
//! does not ring for it).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::app::attention;
use crate::app::state::{RowRef, State, Tab};
use crate::model::{
    Changed, DriftStatus, GitOpsApp, ModelDrift, PipelineRun, Scope, SyncStatus, Timestamp,
    metric_value,
};

/// What a problem is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProblemKind {
    Run,
    App,
    Model,
}

/// How bad: `critical` is a failed run, a degraded or missing app, a
/// drifting model; everything else in the attention list is a `warning`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    #[default]
    Warning,
    Critical,
}

/// The attention score (`attention::*_score`) from which a problem is critical.
const CRITICAL_SCORE: u8 = 3;

/// One item of the attention list, as words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The source's index in `State::sources`.
    pub source: usize,
    /// `SOURCE/NAME`.
    pub target: String,
    /// Lower snake case: the run's status, the app's health or sync, the
    /// model's drift status (`unknown` when the item could not be read).
    pub status: String,
    /// One line saying what it is about.
    pub summary: String,
    pub severity: Severity,
}

impl Problem {
    fn key(&self) -> (ProblemKind, String) {
        (self.kind, self.target.clone())
    }
}

/// A problem appeared or went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Change {
    New,
    Resolved,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProblemEvent {
    pub change: Change,
    pub time: Timestamp,
    pub problem: Problem,
    /// New while being watched, not found in its source's first read.
    pub fresh: bool,
}

/// A problem being tracked: when it was first seen, and whether it came
/// while being watched.
#[derive(Clone, Debug)]
pub struct Known {
    pub problem: Problem,
    pub since: Timestamp,
    pub fresh: bool,
}

/// The problems last seen and the events since they were last taken.
#[derive(Clone, Debug, Default)]
pub struct Problems {
    pub known: HashMap<(ProblemKind, String), Known>,
    /// Per source: it had been read when the problems were last looked at.
    read: Vec<bool>,
    /// Events not taken yet (`take_events`); bounded, oldest dropped.
    events: Vec<ProblemEvent>,
}

/// More events than this waiting means nobody takes them (a test that
/// never asks): the oldest go.
const MAX_PENDING_EVENTS: usize = 10_000;

impl Problems {
    /// Compare the attention list with the last one: record what is new
    /// and what was resolved. Call after the Overview's rows are rebuilt;
    /// `changed[s]`: source `s` changed since the last call (only its
    /// items are looked at again; a source past the list's end changed),
    /// and of those `in_place` names the ones where only some apps changed
    /// (only those apps are looked at again).
    pub fn observe(&mut self, state: &State, changed: &[bool], in_place: &Changed) {
        let now = state.now;
        let scopes: Vec<Scope> = state
            .sources
            .iter()
            .enumerate()
            .map(|(s, source)| match in_place.scope(&source.name) {
                _ if !changed.get(s).copied().unwrap_or(true) => Scope::Unchanged,
                Scope::Apps(names) => Scope::Apps(names),
                _ => Scope::Whole,
            })
            .collect();
        let current = current(state, &scopes);
        let mut seen = HashSet::with_capacity(current.len());
        for problem in current {
            let key = problem.key();
            if let Some(known) = self.known.get_mut(&key) {
                known.problem = problem;
            } else {
                let fresh = self.read.get(problem.source).copied().unwrap_or(false);
                self.push(ProblemEvent {
                    change: Change::New,
                    time: now,
                    problem: problem.clone(),
                    fresh,
                });
                self.known.insert(
                    key.clone(),
                    Known {
                        problem,
                        since: now,
                        fresh,
                    },
                );
            }
            seen.insert(key);
        }
        // Known before, looked at again, not seen now: resolved. Apps
        // changed in place are looked up by name; a source looked at whole
        // takes one pass over what is known.
        let mut gone: Vec<(ProblemKind, String)> = Vec::new();
        for (s, scope) in scopes.iter().enumerate() {
            if let Scope::Apps(names) = scope {
                let source = &state.sources[s].name;
                for name in names.iter() {
                    let key = (ProblemKind::App, format!("{source}/{name}"));
                    if self.known.contains_key(&key) && !seen.contains(&key) {
                        gone.push(key);
                    }
                }
            }
        }
        let whole = |s: usize| matches!(scope(&scopes, s), Scope::Whole);
        if scopes.contains(&Scope::Whole) {
            gone.extend(
                self.known
                    .iter()
                    .filter(|(key, k)| whole(k.problem.source) && !seen.contains(*key))
                    .map(|(key, _)| key.clone()),
            );
        }
        let mut gone: Vec<Known> = gone.iter().filter_map(|k| self.known.remove(k)).collect();
        gone.sort_by(|a, b| a.problem.target.cmp(&b.problem.target));
        for known in gone {
            self.push(ProblemEvent {
                change: Change::Resolved,
                time: now,
                problem: known.problem,
                fresh: known.fresh,
            });
        }
        self.read = state
            .sources
            .iter()
            .map(|s| s.updated_at.is_some())
            .collect();
    }

    fn push(&mut self, event: ProblemEvent) {
        if self.events.len() >= MAX_PENDING_EVENTS {
            self.events.remove(0);
        }
        self.events.push(event);
    }

    /// The events since the last call, in the order they happened.
    pub fn take_events(&mut self) -> Vec<ProblemEvent> {
        std::mem::take(&mut self.events)
    }

    /// The tracked problem a row of the Overview stands for.
    pub fn known_for(&self, state: &State, row: RowRef) -> Option<&Known> {
        let (kind, target) = identify(state, row)?;
        self.known.get(&(kind, target))
    }
}

/// The attention list now, worst first, in words: the items in the
/// scope of their source.
fn current(state: &State, scopes: &[Scope]) -> Vec<Problem> {
    state
        .pane(Tab::Overview)
        .sorted
        .iter()
        .filter(|row| match scope(scopes, row.source as usize) {
            Scope::Unchanged => false,
            Scope::Whole => true,
            Scope::Apps(names) => {
                row.tab == Tab::GitOps && state.app(**row).is_some_and(|a| names.contains(&a.name))
            }
        })
        .filter_map(|row| problem(state, *row))
        .collect()
}

/// What to look at again of source `s` (a source past the list's end
/// changed whole).
fn scope<'a>(scopes: &[Scope<'a>], s: usize) -> Scope<'a> {
    scopes.get(s).copied().unwrap_or(Scope::Whole)
}

/// The kind and `SOURCE/NAME` of an Overview row.
fn identify(state: &State, row: RowRef) -> Option<(ProblemKind, String)> {
    let source = &state.sources.get(row.source as usize)?.name;
    let (kind, name) = match row.tab {
        Tab::Pipelines => (ProblemKind::Run, state.run(row)?.id.as_str()),
        Tab::GitOps => (ProblemKind::App, state.app(row)?.name.as_str()),
        Tab::Drift => (ProblemKind::Model, state.model(row)?.model.as_str()),
        _ => return None,
    };
    Some((kind, format!("{source}/{name}")))
}

/// The problem an Overview row stands for.
pub fn problem(state: &State, row: RowRef) -> Option<Problem> {
    let (kind, target) = identify(state, row)?;
    let (status, summary, score) = match kind {
        ProblemKind::Run => {
            let run = state.run(row)?;
            (
                run.status.to_string(),
                run_summary(run),
                attention::run_score(run),
            )
        }
        ProblemKind::App => {
            let app = state.app(row)?;
            (app_status(app), app_summary(app), attention::app_score(app))
        }
        ProblemKind::Model => {
            let model = state.model(row)?;
            (
                model.status().to_string(),
                model_summary(model),
                attention::model_score(model),
            )
        }
    };
    Some(Problem {
        kind,
        source: row.source as usize,
        target,
        status,
        summary,
        severity: if score >= CRITICAL_SCORE {
            Severity::Critical
        } else {
            Severity::Warning
        },
    })
}

/// "CI on acme/payments main failed".
pub fn run_summary(run: &PipelineRun) -> String {
    let place = [run.project.as_str(), run.branch.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let what = match (&run.error, run.status) {
        (Some(e), _) => format!("could not be read: {}", first_line(e)),
        (None, _) if run.awaits_approval() => format!("is {}", crate::model::AWAITING_APPROVAL),
        (None, crate::model::RunStatus::Failure) => "failed".to_string(),
        (None, status) => format!("is {status}"),
    };
    if place.is_empty() {
        format!("{} {what}", run.pipeline)
    } else {
        format!("{} on {place} {what}", run.pipeline)
    }
}

/// The worse of health and sync, as the app's status.
fn app_status(app: &GitOpsApp) -> String {
    if app.health.is_unhealthy() {
        app.health.to_string()
    } else if app.sync == SyncStatus::OutOfSync {
        app.sync.to_string()
    } else if app.error.is_some() {
        "unknown".to_string()
    } else {
        app.health.to_string()
    }
}

/// "payments out_of_sync, degraded: back-off restarting (2 resources differ)".
pub fn app_summary(app: &GitOpsApp) -> String {
    let mut text = format!("{} {}, {}", app.name, app.sync, app.health);
    if let Some(e) = &app.error {
        text.push_str(&format!(": could not be read: {}", first_line(e)));
    } else if let Some(message) = app
        .health_message
        .as_deref()
        .filter(|_| app.health.is_unhealthy())
    {
        text.push_str(&format!(": {}", first_line(message)));
    }
    if !app.out_of_sync.is_empty() {
        text.push_str(&format!(" ({} resources differ)", app.out_of_sync.len()));
    }
    text
}

/// "fraud drifting: psi[age] 0.31 (critical 0.25)".
pub fn model_summary(model: &ModelDrift) -> String {
    let status = model.status();
    if let Some(e) = &model.error {
        return format!("{} could not be read: {}", model.model, first_line(e));
    }
    match model.worst_metric() {
        Some(metric) => {
            let value = metric
                .value
                .filter(|v| v.is_finite())
                .map_or("no data".to_string(), metric_value);
            let (word, threshold) = if status == DriftStatus::Drifting {
                ("critical", metric.critical)
            } else {
                ("warn", metric.warn)
            };
            format!(
                "{} {status}: {} {value} ({word} {})",
                model.model,
                metric.label(),
                metric_value(threshold),
            )
        }
        None => format!("{} {status}: no drift metrics", model.model),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
