//! `:` jump through `update`: fuzzy completion over every app, model,
//! pipeline and source name; an exact name wins; Enter takes the top match,
//! Tab cycles, Esc cancels.

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::jump::{JumpKind, ranked};
use opsdeck::app::state::{SourceState, State, Tab};
use opsdeck::app::{Command, Keymap, Msg, update};
use opsdeck::model::Provides;
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;

fn demo() -> State {
    let start = Utc
        .with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("time");
    let fleet = DemoFleet::new(42, start, true);
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

fn press(state: &mut State, code: KeyCode) {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        press(state, KeyCode::Char(c));
    }
}

fn selected_name(state: &State, tab: Tab) -> Option<String> {
    state
        .selected_row(tab)
        .and_then(|r| state.target_of(r))
        .map(|t| t.id)
}

#[test]
fn every_kind_of_name_is_a_candidate_and_an_exact_name_wins() {
    let state = demo();
    let all = ranked(&state, "");
    for kind in [
        JumpKind::App,
        JumpKind::Model,
        JumpKind::Pipeline,
        JumpKind::Source,
    ] {
        assert!(all.iter().any(|t| t.kind == kind), "{kind:?} missing");
    }
    let web = ranked(&state, "web");
    assert_eq!((web[0].kind, web[0].name.as_str()), (JumpKind::App, "web"));
    // "ci" is a pipeline's exact name (case aside), though other names
    // contain the letters.
    let ci = ranked(&state, "ci");
    assert_eq!(
        (ci[0].kind, ci[0].name.as_str()),
        (JumpKind::Pipeline, "CI")
    );
    assert!(ranked(&state, "zzzz-nothing").is_empty());
}

#[test]
fn colon_name_enter_jumps_to_the_app_and_selects_it() {
    let mut state = demo();
    // A filter that hides payments is cleared by the jump.
    update(&mut state, Msg::Command(Command::TabGitops));
    update(&mut state, Msg::Command(Command::Filter));
    type_text(&mut state, "web");
    press(&mut state, KeyCode::Enter);
    update(&mut state, Msg::Command(Command::TabOverview));
    type_text(&mut state, ":paymnts");
    assert!(state.jump.is_some(), ": opens the prompt");
    press(&mut state, KeyCode::Enter);
    assert!(state.jump.is_none());
    assert_eq!(state.tab, Tab::GitOps);
    assert_eq!(state.pane(Tab::GitOps).filter, "");
    assert_eq!(
        selected_name(&state, Tab::GitOps).as_deref(),
        Some("payments")
    );
}

#[test]
fn tab_cycles_and_esc_cancels() {
    let mut state = demo();
    type_text(&mut state, ":");
    let first = state.jump.as_ref().and_then(|j| j.chosen().cloned());
    press(&mut state, KeyCode::Tab);
    let second = state.jump.as_ref().and_then(|j| j.chosen().cloned());
    assert_ne!(first, second, "tab moves to the next match");
    press(&mut state, KeyCode::BackTab);
    assert_eq!(state.jump.as_ref().and_then(|j| j.chosen().cloned()), first);
    type_text(&mut state, "fraud");
    press(&mut state, KeyCode::Esc);
    assert!(state.jump.is_none(), "esc closes the prompt");
    assert_eq!(state.tab, Tab::Overview, "and goes nowhere");
    // A model, a pipeline's newest run, a source's first tab.
    type_text(&mut state, ":fraud");
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.tab, Tab::Drift);
    assert_eq!(selected_name(&state, Tab::Drift).as_deref(), Some("fraud"));
    type_text(&mut state, ":deploy");
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.tab, Tab::Pipelines);
    let run = state
        .selected_row(Tab::Pipelines)
        .and_then(|r| state.run(r))
        .expect("a run");
    assert_eq!(run.pipeline, "Deploy");
    let newest = state
        .pane(Tab::Pipelines)
        .rows
        .iter()
        .filter_map(|r| state.run(*r))
        .find(|r| r.pipeline == "Deploy")
        .expect("a Deploy run");
    assert_eq!(run.id, newest.id, "the pipeline's newest run");
}
