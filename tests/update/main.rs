//! `update` driven by commands, keys and source events, asserting on the
//! state and the effects — no terminal, no network. The helpers every
//! module shares are here; the tests are in the modules by theme.

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::state::{Level, Overlay, Phase, SourceState, Tab};
use opsdeck::app::{Command, Effect, Keymap, Msg, State, update, update_batch};
use opsdeck::model::{
    ActionKind, Health, Outcome, Provides, Snapshot, SyncStatus, Target, TargetKind, Timestamp,
};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;

mod actions;
mod argocd;
mod feeds;
mod runs;
mod screen;

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// A dashboard fed one read of the demo fleet at seed 7.
fn demo_state(read_only: bool) -> State {
    let fleet = DemoFleet::new(7, start(), true);
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        read_only,
        fleet.now(),
    );
    feed(&mut state, fleet.snapshot("demo"), fleet.now());
    state
}

fn feed(state: &mut State, snapshot: Snapshot, at: Timestamp) {
    update(
        state,
        Msg::Source(SourceEvent {
            source: 0,
            at,
            result: Ok(snapshot.into()),
        }),
    );
}

fn cmd(state: &mut State, command: Command) -> Vec<Effect> {
    update(state, Msg::Command(command))
}

fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        key(state, KeyCode::Char(c));
    }
}

/// Select the app called `name` in the GitOps tab.
fn select_app(state: &mut State, name: &str) {
    cmd(state, Command::TabGitops);
    cmd(state, Command::Top);
    let pane = state.pane(Tab::GitOps);
    let index = pane
        .rows
        .iter()
        .position(|r| state.app(*r).is_some_and(|a| a.name == name))
        .unwrap_or_else(|| panic!("{name} is not in the GitOps tab"));
    for _ in 0..index {
        cmd(state, Command::Down);
    }
    assert_eq!(
        state
            .app(state.selected_row(Tab::GitOps).expect("a row"))
            .map(|a| a.name.as_str()),
        Some(name)
    );
}

fn status_text(state: &State) -> String {
    state
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

fn confirm_action(state: &State) -> opsdeck::model::Action {
    match &state.overlay {
        Some(Overlay::Confirm(c)) => c.action.clone(),
        other => panic!("a confirmation is open, not {other:?}"),
    }
}
