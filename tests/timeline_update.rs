//! The Timeline tab and the "why?" view driven through `update`: rows
//! built once per batch while something shows them (and not at all while
//! hidden), filtered, Enter goes to the item; `w` → suspect →
//! `b` opens the rollback picker on the entry before that deploy, then the
//! usual confirmation.

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::state::{Overlay, SourceState, Tab};
use opsdeck::app::{Command, Keymap, Msg, State, update, update_batch};
use opsdeck::model::{Provides, Target, TargetKind, Timestamp};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;
use opsdeck::timeline::EventKind;

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// The demo at seed 7, a minute in: payments deployed the bad commit and
/// degraded, churn (served by payments) began drifting.
fn story_state() -> State {
    let mut fleet = DemoFleet::new(7, start(), true);
    fleet.advance_to(start() + chrono::Duration::seconds(60));
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        false,
        fleet.now(),
    );
    update(
        &mut state,
        Msg::Source(SourceEvent {
            source: 0,
            at: fleet.now(),
            result: Ok(fleet.snapshot("demo").into()),
        }),
    );
    state
}

fn cmd(state: &mut State, command: Command) {
    update(state, Msg::Command(command));
}

fn key(state: &mut State, c: char) {
    update(
        state,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    );
}

#[test]
fn the_timeline_tab_lists_events_newest_first_filters_and_goes_to_the_item() {
    let mut state = story_state();
    key(&mut state, '5');
    assert_eq!(state.tab, Tab::Timeline);
    let events = state.timeline.timeline.events.clone();
    assert!(events.len() > 20, "{} events", events.len());
    assert_eq!(state.pane(Tab::Timeline).rows.len(), events.len());
    assert!(events.windows(2).all(|w| w[0].time >= w[1].time));
    // `/` filters like every table.
    key(&mut state, '/');
    for c in "payments deploy".chars() {
        key(&mut state, c);
    }
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let rows = state.pane(Tab::Timeline).rows.clone();
    assert!(!rows.is_empty());
    assert!(rows.len() < events.len());
    assert!(
        rows.iter()
            .all(|r| state.event(*r).is_some_and(|e| e.target == "demo/payments")),
        "only payments' events match"
    );
    let at = rows
        .iter()
        .position(|r| state.event(*r).is_some_and(|e| e.kind == EventKind::Deploy))
        .expect("a deploy of payments");
    state.pane_mut(Tab::Timeline).selected = at;
    // Enter goes to payments in the GitOps tab.
    cmd(&mut state, Command::Open);
    assert_eq!(state.tab, Tab::GitOps);
    let row = state.selected_row(Tab::GitOps).expect("selected");
    assert_eq!(state.app(row).map(|a| a.name.as_str()), Some("payments"));
}

/// A burst of 30 demo snapshots, as the event loop applies them together.
fn burst(fleet: &mut DemoFleet) -> Vec<Msg> {
    (0..30)
        .map(|_| {
            fleet.step();
            Msg::Source(SourceEvent {
                source: 0,
                at: fleet.now(),
                result: Ok(fleet.snapshot("demo").into()),
            })
        })
        .collect()
}

#[test]
fn a_burst_builds_the_timeline_once_while_its_tab_shows() {
    let mut state = story_state();
    key(&mut state, '5');
    let builds = state.timeline.builds;
    let mut fleet = DemoFleet::new(7, start(), true);
    update_batch(&mut state, burst(&mut fleet));
    assert_eq!(state.timeline.builds, builds + 1);
    // Drawing-only messages never rebuild it.
    update(&mut state, Msg::Tick(fleet.now()));
    update(&mut state, Msg::Resize(100, 30));
    assert_eq!(state.timeline.builds, builds + 1);
}

#[test]
fn a_burst_with_the_timeline_hidden_builds_nothing_until_it_opens() {
    let mut state = story_state();
    assert_eq!(state.tab, Tab::Overview);
    let builds = state.timeline.builds;
    let mut fleet = DemoFleet::new(7, start(), true);
    fleet.advance_to(start() + chrono::Duration::minutes(30));
    update_batch(&mut state, burst(&mut fleet));
    update_batch(&mut state, burst(&mut fleet));
    assert_eq!(state.timeline.builds, builds, "nobody looks at it");
    assert!(state.timeline.stale);
    // The other tabs are current all the same.
    let newest_run = state.sources[0]
        .snapshot
        .pipelines
        .iter()
        .filter_map(|r| r.started_at)
        .max()
        .expect("runs");
    let shows_newest_run = |state: &State| {
        state
            .timeline
            .timeline
            .events
            .iter()
            .any(|e| e.kind == EventKind::RunStarted && e.time == newest_run)
    };
    assert!(!shows_newest_run(&state), "the stale timeline predates it");
    // Opening the tab builds it once, with the bursts' events.
    key(&mut state, '5');
    assert_eq!(state.timeline.builds, builds + 1);
    assert!(!state.timeline.stale);
    let rows = &state.pane(Tab::Timeline).rows;
    assert_eq!(rows.len(), state.timeline.timeline.events.len());
    assert!(shows_newest_run(&state), "the burst's newest run is on it");
    // Moving about on it builds nothing more.
    cmd(&mut state, Command::Down);
    assert_eq!(state.timeline.builds, builds + 1);
}

#[test]
fn why_then_rollback_picks_the_entry_before_the_suspect_deploy() {
    let mut state = story_state();
    cmd(&mut state, Command::TabGitops);
    let at = state
        .pane(Tab::GitOps)
        .rows
        .iter()
        .position(|r| state.app(*r).is_some_and(|a| a.name == "payments"))
        .expect("payments row");
    state.pane_mut(Tab::GitOps).selected = at;
    key(&mut state, 'w');
    let view = state.timeline.why.clone().expect("why view open");
    assert_eq!(
        view.target,
        Target::new("demo", TargetKind::App, "payments")
    );
    let problem = view.why.problem.as_ref().expect("payments has a problem");
    assert_eq!(problem.status, "degraded");
    let first = &view.why.suspects[0];
    assert_eq!(first.event.kind, EventKind::Deploy);
    assert!(first.reason.starts_with("deploy of "), "{}", first.reason);
    assert!(first.reason.contains("before payments went degraded"));
    // Down and up move over the suspects; the first is the bad deploy.
    cmd(&mut state, Command::Down);
    assert_eq!(state.timeline.why.as_ref().map(|w| w.selected), Some(1));
    cmd(&mut state, Command::Up);
    // b: roll back that deploy — the picker starts on the entry before it.
    key(&mut state, 'b');
    let Some(Overlay::Picker(picker)) = state.overlay.clone() else {
        panic!("no picker: {:?} {:?}", state.overlay, state.status);
    };
    let app = state.sources[0]
        .snapshot
        .apps
        .iter()
        .find(|a| a.name == "payments")
        .expect("payments")
        .clone();
    let bad = first.event.deploy_id.clone().expect("deploy id");
    let at = app
        .history
        .iter()
        .position(|d| d.id == bad)
        .expect("in history");
    assert_eq!(picker.entries[picker.selected].id, app.history[at + 1].id);
    assert!(
        picker
            .entries
            .iter()
            .any(|e| e.verdict.as_deref() == Some("degraded")),
        "the bad deploy's verdict shows in the picker"
    );
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("no confirmation: {:?}", state.overlay);
    };
    assert_eq!(confirm.action.target.id, "payments");
    assert_eq!(
        confirm.action.to.as_deref(),
        Some(app.history[at + 1].id.as_str())
    );
    // Esc closes the confirmation; the view is still there; Esc closes it.
    cmd(&mut state, Command::Back);
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    cmd(&mut state, Command::Back);
    assert!(state.timeline.why.is_none());
}

#[test]
fn an_action_outcome_is_on_the_timeline() {
    let mut state = story_state();
    let action = opsdeck::model::Action {
        kind: opsdeck::model::ActionKind::Rollback,
        target: Target::new("demo", TargetKind::App, "payments"),
        to: Some("33".into()),
        effect: "roll back".into(),
        production: true,
        follow: None,
        sync: Default::default(),
        inputs: Default::default(),
    };
    update(
        &mut state,
        Msg::Outcome {
            id: 1,
            action,
            outcome: opsdeck::model::Outcome::Done("ok".into()),
        },
    );
    // Built when something shows it.
    key(&mut state, '5');
    let e = state
        .timeline
        .timeline
        .events
        .iter()
        .find(|e| e.kind == EventKind::Action)
        .expect("action event");
    assert_eq!(e.target, "demo/payments");
    assert_eq!(e.status, "done");
    assert!(e.summary.contains("rollback demo/payments to 33: done"));
}
