//! Custom commands (`[[command]]`) through `update`, as a person meets them
//! with keys — no terminal: which row a key acts on, the confirmation with
//! the exact command line, refusals (read-only, a missing value, the wrong
//! row), the background output view, closed and opened again — and the
//! shell quoting of values,
//! checked against a real `sh`.

use std::path::Path;

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::custom::{Custom, Exit};
use opsdeck::app::state::{Overlay, SourceState, Tab};
use opsdeck::app::{Command, Effect, Keymap, Msg, State, update};
use opsdeck::config::{Placeholder, Template};
use opsdeck::model::{Provides, Snapshot};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;
use proptest::prelude::*;

const COMMANDS: &str = r#"
[[command]]
name = "logs"
key = "L"
scope = ["app", "run"]
run = "kubectl -n {namespace} logs deploy/{name} --tail 200"
background = true

[[command]]
name = "restart"
key = "E"
scope = "model"
run = "echo restart {name}"

[[command]]
name = "bounce"
key = "B"
scope = "app"
run = "kubectl -n {namespace} rollout restart deploy/{name}"
mutating = true

[[command]]
name = "web"
key = "W"
scope = "run"
run = "gh run view {name} --web"
confirm = false

[[command]]
name = "serve"
key = "s"
scope = "model"
run = "echo {source} {name} {version}"
confirm = false
"#;

/// The demo fleet at seed 7, with the config's custom commands; the app
/// `search` lives in a namespace a shell would split and expand.
fn state(read_only: bool) -> State {
    let config =
        opsdeck::config::parse(COMMANDS, Path::new("commands.toml")).expect("valid config");
    let keymap = Keymap::default();
    let custom = Custom::from_config(&config.commands, &keymap).expect("free keys");
    let start = Utc
        .with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("time");
    let fleet = DemoFleet::new(7, start, true);
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        keymap,
        read_only,
        fleet.now(),
    );
    state.custom = custom;
    let mut snapshot: Snapshot = fleet.snapshot("demo");
    for app in &mut snapshot.apps {
        if app.name == "search" {
            app.namespace = "it's $(touch /tmp/pwned) here".into();
        }
    }
    update(
        &mut state,
        Msg::Source(SourceEvent {
            source: 0,
            at: fleet.now(),
            result: Ok(snapshot.into()),
        }),
    );
    state
}

fn press(state: &mut State, c: char) -> Vec<Effect> {
    update(
        state,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

fn press_code(state: &mut State, code: KeyCode) -> Vec<Effect> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn status(state: &State) -> String {
    state
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

/// Select the row in `tab` whose target id is `id`.
fn select(state: &mut State, tab: Tab, id: &str) {
    update(state, Msg::Command(Command::TabOverview));
    let to_tab = match tab {
        Tab::Pipelines => Command::TabPipelines,
        Tab::GitOps => Command::TabGitops,
        Tab::Drift => Command::TabDrift,
        _ => Command::TabOverview,
    };
    update(state, Msg::Command(to_tab));
    update(state, Msg::Command(Command::Top));
    let index = state
        .pane(tab)
        .rows
        .iter()
        .position(|r| state.target_of(*r).is_some_and(|t| t.id == id))
        .unwrap_or_else(|| panic!("{id} is not in {tab:?}"));
    for _ in 0..index {
        update(state, Msg::Command(Command::Down));
    }
}

fn first_run(state: &State) -> String {
    let row = state.pane(Tab::Pipelines).rows[0];
    state.target_of(row).expect("a run").id
}

#[test]
fn the_confirmation_shows_the_exact_command_line_and_yes_starts_it_in_the_background() {
    let mut state = state(false);
    select(&mut state, Tab::GitOps, "search");
    assert!(press(&mut state, 'L').is_empty(), "asks first");
    let Some(Overlay::Command(confirm)) = state.overlay.clone() else {
        panic!("no confirmation: {:?} / {}", state.overlay, status(&state));
    };
    // shlex's quoting: one word whatever the value holds.
    let line = "kubectl -n \"it's \"'$(touch /tmp/pwned) here' logs deploy/search --tail 200";
    assert_eq!(confirm.run.line, line);
    assert_eq!(confirm.run.target.to_string(), "demo/search");
    assert!(confirm.required_text().is_none(), "not mutating: y/n only");

    let effects = press(&mut state, 'y');
    let [Effect::Command(run)] = effects.as_slice() else {
        panic!("one command to start: {effects:?}");
    };
    assert!(run.background);
    assert_eq!(run.line, line);
    let Some(Overlay::Output(view)) = state.overlay.clone() else {
        panic!("the output view opens: {:?}", state.overlay);
    };
    assert_eq!(view.id, run.id);

    // Output arrives in pieces (a line split between reads), then the end.
    for bytes in [&b"first li"[..], b"ne\nsecond\n", b"third"] {
        update(
            &mut state,
            Msg::CommandOutput {
                id: run.id,
                bytes: bytes.to_vec(),
            },
        );
    }
    let name = run.name.clone();
    update(
        &mut state,
        Msg::CommandExited {
            id: run.id,
            name,
            exit: Exit::Code(0),
        },
    );
    let kept = &state.custom.runs[&run.id];
    assert_eq!(
        Vec::from(kept.lines.clone()),
        vec!["first line", "second", "third"]
    );
    assert_eq!(kept.exit, Some(Exit::Code(0)));
    assert_eq!(status(&state), "logs exited with status 0");
    // Esc closes the view; the run stays kept.
    press_code(&mut state, KeyCode::Esc);
    assert!(state.overlay.is_none());
    assert!(state.custom.runs.contains_key(&run.id));
}

#[test]
fn a_closed_output_view_opens_again_newest_first_and_cycles() {
    let mut state = state(false);
    press(&mut state, 'O');
    assert!(state.overlay.is_none());
    assert!(
        status(&state).starts_with("no background command has run yet"),
        "{}",
        status(&state)
    );
    // Two background runs, each view closed (the runs go on).
    let mut ids = Vec::new();
    for app in ["search", "payments"] {
        select(&mut state, Tab::GitOps, app);
        press(&mut state, 'L');
        let effects = press(&mut state, 'y');
        let [Effect::Command(run)] = effects.as_slice() else {
            panic!("one command to start: {effects:?}");
        };
        ids.push(run.id);
        press_code(&mut state, KeyCode::Esc);
        assert!(state.overlay.is_none());
    }
    let open = |state: &State| match &state.overlay {
        Some(Overlay::Output(view)) => Some(view.id),
        _ => None,
    };
    press(&mut state, 'O');
    assert_eq!(open(&state), Some(ids[1]), "the newest first");
    press(&mut state, 'O');
    assert_eq!(open(&state), Some(ids[0]), "then the next older");
    press(&mut state, 'O');
    assert_eq!(open(&state), Some(ids[1]), "and round again");
}

#[test]
fn no_means_nothing_runs() {
    let mut state = state(false);
    select(&mut state, Tab::GitOps, "search");
    press(&mut state, 'L');
    assert!(press(&mut state, 'n').is_empty());
    assert!(state.overlay.is_none());
    assert!(
        status(&state).starts_with("cancelled: kubectl -n"),
        "{}",
        status(&state)
    );
}

#[test]
fn confirm_false_runs_at_once_and_a_foreground_exit_is_told() {
    let mut state = state(false);
    let id = first_run(&state);
    select(&mut state, Tab::Pipelines, &id);
    let effects = press(&mut state, 'W');
    let [Effect::Command(run)] = effects.as_slice() else {
        panic!("runs at once: {effects:?} / {}", status(&state));
    };
    assert!(!run.background);
    assert_eq!(run.line, format!("gh run view {id} --web"));
    let name = run.name.clone();
    update(
        &mut state,
        Msg::CommandExited {
            id: run.id,
            name,
            exit: Exit::Code(2),
        },
    );
    assert_eq!(status(&state), "web exited with status 2");
}

#[test]
fn a_value_the_row_lacks_refuses_the_run_naming_the_placeholder() {
    let mut state = state(false);
    let id = first_run(&state);
    select(&mut state, Tab::Pipelines, &id);
    assert!(press(&mut state, 'L').is_empty());
    assert!(state.overlay.is_none());
    assert_eq!(
        status(&state),
        format!("L: logs needs {{namespace}}, and demo/{id} has none — not run")
    );
}

#[test]
fn a_key_on_a_row_it_is_not_for_says_why_and_a_built_in_key_keeps_its_rows() {
    let mut state = state(false);
    select(&mut state, Tab::GitOps, "search");
    assert!(press(&mut state, 'W').is_empty());
    assert_eq!(
        status(&state),
        "W: web applies to pipeline runs (tab 2), not to an app (app)"
    );
    // `s` is sync on apps: the built-in confirmation, not the command.
    press(&mut state, 's');
    assert!(
        matches!(&state.overlay, Some(Overlay::Confirm(c)) if c.action.target.id == "search"),
        "{:?}",
        state.overlay
    );
    press_code(&mut state, KeyCode::Esc);
    // On a model `s` is the custom command.
    let model = state
        .target_of(state.pane(Tab::Drift).rows[0])
        .expect("a model");
    select(&mut state, Tab::Drift, &model.id);
    let effects = press(&mut state, 's');
    let [Effect::Command(run)] = effects.as_slice() else {
        panic!("serve runs on a model: {effects:?} / {}", status(&state));
    };
    assert!(
        run.line.starts_with(&format!("echo demo {} ", model.id)),
        "{}",
        run.line
    );
}

#[test]
fn read_only_refuses_mutating_commands_only() {
    let mut state = state(true);
    select(&mut state, Tab::GitOps, "search");
    assert!(press(&mut state, 'B').is_empty());
    assert!(state.overlay.is_none());
    assert_eq!(
        status(&state),
        "read-only: bounce on demo/search refused (mutating = true; read_only = true in the config, or --read-only)"
    );
    press(&mut state, 'L');
    assert!(
        matches!(state.overlay, Some(Overlay::Command(_))),
        "reading is allowed"
    );
}

#[test]
fn a_mutating_command_on_production_asks_for_the_name() {
    let mut state = state(false);
    select(&mut state, Tab::GitOps, "payments");
    press(&mut state, 'B');
    let Some(Overlay::Command(confirm)) = state.overlay.clone() else {
        panic!("no confirmation: {}", status(&state));
    };
    assert_eq!(confirm.required_text(), Some("payments"));
    assert!(press(&mut state, 'y').is_empty(), "y is typed, not a yes");
    press_code(&mut state, KeyCode::Backspace);
    for c in "payments".chars() {
        press(&mut state, c);
    }
    let effects = press_code(&mut state, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Command(r)] if r.mutating && r.production));
}

#[test]
fn an_overview_row_about_an_app_is_that_app() {
    let mut state = state(false);
    update(&mut state, Msg::Command(Command::TabOverview));
    let rows = state.pane(Tab::Overview).rows.clone();
    let at = rows
        .iter()
        .position(|r| r.tab == Tab::GitOps)
        .expect("the demo has an app needing attention");
    update(&mut state, Msg::Command(Command::Top));
    for _ in 0..at {
        update(&mut state, Msg::Command(Command::Down));
    }
    let app = state.target_of(rows[at]).expect("an app");
    press(&mut state, 'L');
    let Some(Overlay::Command(confirm)) = state.overlay.clone() else {
        panic!("no confirmation: {}", status(&state));
    };
    assert_eq!(confirm.run.target, app);
    assert!(
        confirm
            .run
            .line
            .ends_with(&format!("logs deploy/{} --tail 200", app.id))
    );
}

#[test]
fn the_help_lists_the_commands_of_the_selected_row() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut state = state(false);
    select(&mut state, Tab::GitOps, "search");
    // One tall column: every entry whole, wrapped lines one after another.
    let (w, h) = (70, 160);
    update(&mut state, Msg::Resize(w, h));
    update(&mut state, Msg::Command(Command::Help));
    let theme = opsdeck::theme::Theme::builtin("default").expect("theme");
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| opsdeck::ui::draw(f, &state, &theme))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..h {
        for x in 0..w {
            let symbol = buffer[(x, y)].symbol();
            text.push_str(if "│┃|".contains(symbol) {
                " "
            } else {
                symbol
            });
        }
        text.push(' ');
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Custom commands"), "{text}");
    assert!(
        text.contains("L logs: kubectl -n {namespace} logs deploy/{name} --tail 200 (background)"),
        "{text}"
    );
    assert!(
        text.contains("W web: for pipeline runs (tab 2), not this app"),
        "{text}"
    );
}

/// What `sh` makes of a command line.
fn sh(line: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .output()
        .expect("sh runs");
    assert!(out.status.success(), "{line}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn printf_of(value: &str) -> String {
    let template = Template::parse("printf %s {name}").expect("valid");
    template
        .render(|p| (p == Placeholder::Name).then(|| value.to_string()))
        .expect("renders")
}

#[test]
fn values_with_spaces_quotes_and_substitutions_reach_the_command_as_one_word() {
    let dir = tempfile::tempdir().expect("tempdir");
    let canary = dir.path().join("pwned");
    for value in [
        "two words".to_string(),
        "it's".to_string(),
        "\"double\"".to_string(),
        format!("$(touch {})", canary.display()),
        format!("`touch {}`", canary.display()),
        "; rm -rf /nonexistent".to_string(),
        "-n".to_string(),
        "*".to_string(),
        "line\nbreak".to_string(),
        "${HOME}".to_string(),
    ] {
        assert_eq!(sh(&printf_of(&value)), value);
    }
    assert!(!canary.exists(), "a value was run as a command");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_value_round_trips_through_sh(value in "[^\u{0}]{1,40}") {
        prop_assert_eq!(sh(&printf_of(&value)), value);
    }
}
