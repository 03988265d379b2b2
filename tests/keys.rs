//! Keys that explain themselves: a key that does not apply says why in the
//! status line, the help overlay scrolls instead of cutting text at 80×24,
//! Overview rows name what they are about, and the Overview's cursor stays
//! on its item when a new problem arrives at the top.

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::state::{SourceState, State, Tab};
use opsdeck::app::{Command, Keymap, Msg, update};
use opsdeck::model::{Provides, RunStatus, Snapshot, Timestamp};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn demo() -> (State, Snapshot) {
    let fleet = DemoFleet::new(42, start(), true);
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        false,
        fleet.now(),
    );
    let snapshot = fleet.snapshot("demo");
    feed(&mut state, snapshot.clone());
    (state, snapshot)
}

fn feed(state: &mut State, snapshot: Snapshot) {
    let at = state.now;
    update(
        state,
        Msg::Source(SourceEvent {
            source: 0,
            at,
            result: Ok(snapshot.into()),
        }),
    );
}

fn key(state: &mut State, c: char) {
    update(
        state,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    );
}

fn status(state: &State) -> String {
    state
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

/// The help popup's text: the columns inside its borders (the table
/// behind it is left out).
fn popup(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.chars().skip(3).take(74).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn draw(state: &State, cols: u16, rows: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).expect("terminal");
    let theme = Theme::default();
    terminal
        .draw(|f| opsdeck::ui::draw(f, state, &theme))
        .expect("draw");
    let buffer = terminal.backend().buffer().clone();
    (0..rows)
        .map(|y| {
            (0..cols)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_key_that_does_not_apply_says_why_leading_with_the_key() {
    let (mut state, _) = demo();
    update(&mut state, Msg::Command(Command::TabPipelines));
    key(&mut state, 'b');
    assert_eq!(
        status(&state),
        "b: rollback applies to GitOps apps (tab 3) and models (tab 4), not to a run"
    );
    update(&mut state, Msg::Command(Command::TabGitops));
    key(&mut state, 't');
    assert_eq!(
        status(&state),
        "t: rerun applies to pipeline runs (tab 2), not to an app"
    );
    key(&mut state, 'l');
    assert_eq!(
        status(&state),
        "l: logs are the jobs' logs of pipeline runs: open a run in tab 2"
    );
    key(&mut state, 'z');
    assert_eq!(
        status(&state),
        "z: no action on this key (? lists the keys)"
    );
}

#[test]
fn help_scrolls_at_80x24_and_never_cuts_a_description() {
    let (mut state, _) = demo();
    update(&mut state, Msg::Resize(80, 24));
    update(&mut state, Msg::Command(Command::Help));
    let first = draw(&state, 80, 24);
    assert!(first.contains(" Help "), "{first}");
    assert!(
        first.contains("j/k scroll, 1-"),
        "says it scrolls:\n{first}"
    );
    assert!(!popup(&first).contains('…'), "nothing cut:\n{first}");
    // Scrolled to the end, the last entries show, also uncut.
    for _ in 0..200 {
        key(&mut state, 'j');
    }
    let last = draw(&state, 80, 24);
    assert_ne!(first, last, "j scrolls");
    assert!(last.contains("filter: clear it"), "the last entry:\n{last}");
    assert!(!popup(&last).contains('…'), "nothing cut:\n{last}");
    // Every command's help text appears in full somewhere, words wrapped.
    let mut seen = String::new();
    state.help_scroll = 0;
    for _ in 0..200 {
        seen.push_str(&draw(&state, 80, 24));
        key(&mut state, 'j');
    }
    let words: String = seen.split_whitespace().collect::<Vec<_>>().join(" ");
    for command in <Command as strum::IntoEnumIterator>::iter() {
        for word in command.help().split_whitespace() {
            assert!(words.contains(word), "{command:?}: `{word}` missing");
        }
    }
    key(&mut state, '?');
    assert!(state.overlay.is_none(), "? closes it");
}

#[test]
fn overview_rows_name_what_they_are_about() {
    let (state, _) = demo();
    let screen = draw(&state, 120, 30);
    assert!(
        screen.contains("CI on acme/payments main failed"),
        "{screen}"
    );
}

#[test]
fn a_new_problem_at_the_top_does_not_move_the_overview_selection() {
    let (mut state, snapshot) = demo();
    update(&mut state, Msg::Command(Command::Down));
    update(&mut state, Msg::Command(Command::Down));
    let chosen = state
        .selected_row(Tab::Overview)
        .and_then(|r| state.target_of(r))
        .expect("a selected item");
    // A new failure, newer than everything: it sorts first.
    let mut next = snapshot.clone();
    let mut run = next
        .pipelines
        .iter()
        .find(|r| r.status == RunStatus::Failure)
        .expect("a failed run")
        .clone();
    run.id = "9999".into();
    run.branch = "hotfix/new".into();
    let later = Some(state.now + chrono::Duration::hours(1));
    run.created_at = later;
    run.started_at = later;
    run.updated_at = later;
    next.pipelines.insert(0, run);
    feed(&mut state, next);
    let top = state.pane(Tab::Overview).rows[0];
    assert_eq!(
        state.target_of(top).map(|t| t.id),
        Some("9999".to_string()),
        "the new failure is at the top"
    );
    let still = state
        .selected_row(Tab::Overview)
        .and_then(|r| state.target_of(r));
    assert_eq!(still, Some(chosen), "the cursor stayed on its item");
    let row = state.selected_row(Tab::Overview).expect("row");
    assert!(!state.is_new_problem(row), "the old item is not new");
    assert!(state.is_new_problem(top), "the new failure is marked new");
}
