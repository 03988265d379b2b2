//! `update` driven by commands, keys and source events, asserting on the
//! state and the effects — no terminal, no network.

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::state::{Level, Overlay, Phase, SourceState, Tab};
use opsdeck::app::{Command, Effect, Keymap, Msg, State, update, update_batch};
use opsdeck::model::{
    ActionKind, Health, Outcome, Provides, Snapshot, SyncStatus, Target, TargetKind, Timestamp,
};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;

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

#[test]
fn a_source_event_fills_every_tab_and_marks_the_source_loaded() {
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        false,
        start(),
    );
    assert_eq!(state.sources[0].phase(), Phase::Loading);
    let fleet = DemoFleet::new(7, start(), true);
    let snapshot = fleet.snapshot("demo");
    let (runs, apps, models) = (
        snapshot.pipelines.len(),
        snapshot.apps.len(),
        snapshot.models.len(),
    );
    feed(&mut state, snapshot, start());
    assert_eq!(state.sources[0].phase(), Phase::Ok);
    assert_eq!(state.pane(Tab::Pipelines).rows.len(), runs);
    assert_eq!(state.pane(Tab::GitOps).rows.len(), apps);
    assert_eq!(state.pane(Tab::Drift).rows.len(), models);
    assert!(state.dirty);
}

#[test]
fn pipelines_are_newest_first() {
    let state = demo_state(false);
    let times: Vec<_> = state
        .pane(Tab::Pipelines)
        .rows
        .iter()
        .map(|r| state.run(*r).and_then(|r| r.sort_time()))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {times:?}"
    );
}

/// A read that was not full: items carrying their own error need attention
/// (whatever their status says), and the configured items that could not
/// be read at all are the source's error while its data stays shown.
#[test]
fn a_partial_read_is_the_sources_error_and_its_items_in_error_need_attention() {
    let fleet = DemoFleet::new(7, start(), true);
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        false,
        fleet.now(),
    );
    let mut snapshot = fleet.snapshot("demo");
    let run = snapshot
        .pipelines
        .iter_mut()
        .find(|r| r.status == opsdeck::model::RunStatus::Success)
        .expect("a green run");
    run.error = Some("its jobs could not be read".into());
    let run_id = run.id.clone();
    let model = snapshot
        .models
        .iter_mut()
        .find(|m| m.status() < opsdeck::model::DriftStatus::Warning)
        .expect("a calm model");
    model.error = Some("bad_data: parse error".into());
    let model_name = model.model.clone();
    snapshot.problems =
        vec!["demo: job team/gone not found (404 on /job/team/job/gone/api/json)".into()];
    let runs = snapshot.pipelines.len();
    feed(&mut state, snapshot, fleet.now());

    let source = &state.sources[0];
    assert_eq!(source.phase(), Phase::Error);
    assert_eq!(
        source.error_message().as_deref(),
        Some("demo: job team/gone not found (404 on /job/team/job/gone/api/json)")
    );
    assert_eq!(
        source.snapshot.pipelines.len(),
        runs,
        "the data stays shown"
    );
    assert_eq!(state.pane(Tab::Pipelines).rows.len(), runs);

    let rows = &state.pane(Tab::Overview).rows;
    assert!(
        rows.iter()
            .any(|r| state.run(*r).is_some_and(|run| run.id == run_id)),
        "the green run in error is listed"
    );
    assert!(
        rows.iter()
            .any(|r| state.model(*r).is_some_and(|m| m.model == model_name)),
        "the model in error is listed"
    );

    // The next full read clears the source's error.
    feed(&mut state, fleet.snapshot("demo"), fleet.now());
    assert_eq!(state.sources[0].phase(), Phase::Ok);
    assert_eq!(state.sources[0].error_message(), None);
}

#[test]
fn overview_lists_what_needs_attention_worst_first() {
    let state = demo_state(false);
    let rows = &state.pane(Tab::Overview).rows;
    assert!(
        !rows.is_empty(),
        "the demo with incidents has something to show"
    );
    // Every listed item really needs attention...
    for row in rows {
        match row.tab {
            Tab::Pipelines => assert_eq!(
                state.run(*row).map(|r| r.status),
                Some(opsdeck::model::RunStatus::Failure)
            ),
            Tab::GitOps => assert!(state.app(*row).is_some_and(|a| a.needs_attention())),
            Tab::Drift => assert!(
                state
                    .model(*row)
                    .is_some_and(|m| m.status() >= opsdeck::model::DriftStatus::Warning)
            ),
            Tab::Overview | Tab::Timeline => panic!("overview rows point into other tabs"),
        }
    }
    // ...and a warning-level model never comes before a failed run.
    let first_warning = rows.iter().position(|r| {
        r.tab == Tab::Drift
            && state
                .model(*r)
                .is_some_and(|m| m.status() == opsdeck::model::DriftStatus::Warning)
    });
    let last_failure = rows.iter().rposition(|r| r.tab == Tab::Pipelines);
    if let (Some(w), Some(f)) = (first_warning, last_failure) {
        assert!(f < w, "a failed run is listed after a warning");
    }
}

#[test]
fn tabs_switch_by_number_and_wrap_with_tab_and_shift_tab() {
    let mut state = demo_state(false);
    cmd(&mut state, Command::TabDrift);
    assert_eq!(state.tab, Tab::Drift);
    key(&mut state, KeyCode::Tab);
    assert_eq!(state.tab, Tab::Timeline);
    key(&mut state, KeyCode::Char('5'));
    assert_eq!(state.tab, Tab::Timeline);
    key(&mut state, KeyCode::Tab);
    assert_eq!(state.tab, Tab::Overview);
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
    assert_eq!(state.tab, Tab::Timeline);
    key(&mut state, KeyCode::Char('2'));
    assert_eq!(state.tab, Tab::Pipelines);
}

#[test]
fn selection_moves_and_stays_on_its_item_across_a_refresh() {
    let mut state = demo_state(false);
    cmd(&mut state, Command::TabPipelines);
    key(&mut state, KeyCode::Char('j'));
    key(&mut state, KeyCode::Char('j'));
    assert_eq!(state.pane(Tab::Pipelines).selected, 2);
    key(&mut state, KeyCode::Char('G'));
    assert_eq!(
        state.pane(Tab::Pipelines).selected,
        state.pane(Tab::Pipelines).rows.len() - 1
    );
    key(&mut state, KeyCode::Char('g'));
    assert_eq!(state.pane(Tab::Pipelines).selected, 0);
    cmd(&mut state, Command::PageDown);
    assert!(state.pane(Tab::Pipelines).selected > 1);

    let chosen = state
        .target_of(state.selected_row(Tab::Pipelines).expect("row"))
        .expect("target");
    // New runs arrive on top: the cursor must stay on the same run.
    let mut fleet = DemoFleet::new(7, start(), true);
    for _ in 0..30 {
        fleet.step();
    }
    feed(&mut state, fleet.snapshot("demo"), fleet.now());
    let now_selected = state
        .target_of(state.selected_row(Tab::Pipelines).expect("row"))
        .expect("target");
    assert_eq!(now_selected, chosen);
}

/// A live feed's news (only the apps that changed), as a watch sends it.
fn feed_changes(state: &mut State, changes: opsdeck::sources::AppChanges, at: Timestamp) {
    update(
        state,
        Msg::Source(SourceEvent {
            source: 0,
            at,
            result: Ok(opsdeck::sources::Update::Apps(changes)),
        }),
    );
}

#[test]
fn a_feeds_changed_apps_are_replaced_in_place_and_the_rest_stands() {
    let mut state = demo_state(false);
    let before = state.sources[0].snapshot.apps.clone();
    assert!(before.len() >= 3, "the demo has apps");
    select_app(&mut state, &before[2].name);
    let mut degraded = before[1].clone();
    degraded.health = Health::Degraded;
    degraded.health_message = Some("pod crash".into());
    let mut added = before[0].clone();
    added.name = "newcomer".into();
    let rebuilds = state.derived.rebuilds;
    feed_changes(
        &mut state,
        opsdeck::sources::AppChanges {
            changed: vec![degraded.clone(), added],
            removed: vec![before[0].name.clone()],
            problems: Some(vec!["1 stream event could not be read".into()]),
        },
        start(),
    );
    let apps = &state.sources[0].snapshot.apps;
    assert_eq!(apps.len(), before.len(), "one gone, one new");
    assert!(!apps.iter().any(|a| a.name == before[0].name));
    let app = apps.iter().find(|a| a.name == degraded.name).expect("kept");
    assert_eq!(app.health, Health::Degraded);
    // Everything else is as it was, the pipelines and models too.
    for (was, now) in before[2..].iter().zip(&apps[1..]) {
        assert_eq!(was.name, now.name);
    }
    assert!(!state.sources[0].snapshot.pipelines.is_empty());
    assert_eq!(
        state.sources[0].snapshot.problems,
        ["1 stream event could not be read"]
    );
    // The rows are rebuilt once, the new app is on the GitOps tab, and the
    // cursor stays on the app it was on.
    assert_eq!(state.derived.rebuilds, rebuilds + 1);
    assert!(
        state
            .pane(Tab::GitOps)
            .rows
            .iter()
            .any(|r| state.app(*r).is_some_and(|a| a.name == "newcomer"))
    );
    let selected = state
        .app(state.selected_row(Tab::GitOps).expect("a row"))
        .map(|a| a.name.clone());
    assert_eq!(selected.as_deref(), Some(before[2].name.as_str()));
    // An empty change (a live feed's heartbeat) rebuilds nothing.
    feed_changes(&mut state, opsdeck::sources::AppChanges::default(), start());
    assert_eq!(state.derived.rebuilds, rebuilds + 1);
}

#[test]
fn selection_offset_keeps_the_cursor_visible() {
    let mut state = demo_state(false);
    update(&mut state, Msg::Resize(80, 24));
    cmd(&mut state, Command::TabPipelines);
    for _ in 0..30 {
        cmd(&mut state, Command::Down);
    }
    let pane = state.pane(Tab::Pipelines);
    let visible = opsdeck::app::views::table_rows_for_height(24);
    assert!(pane.selected >= pane.offset && pane.selected < pane.offset + visible);
}

#[test]
fn filter_narrows_the_table_and_esc_clears_it() {
    let mut state = demo_state(false);
    cmd(&mut state, Command::TabGitops);
    let all = state.pane(Tab::GitOps).rows.len();
    key(&mut state, KeyCode::Char('/'));
    assert!(state.editing_filter);
    type_text(&mut state, "invntry"); // fuzzy: letters in order
    let rows = &state.pane(Tab::GitOps).rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        state.app(rows[0]).map(|a| a.name.as_str()),
        Some("inventory")
    );
    // Keys typed into the filter are text, not commands.
    assert_eq!(state.tab, Tab::GitOps);
    key(&mut state, KeyCode::Enter);
    assert!(!state.editing_filter);
    assert_eq!(state.pane(Tab::GitOps).filter, "invntry");
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.pane(Tab::GitOps).filter, "");
    assert_eq!(state.pane(Tab::GitOps).rows.len(), all);
}

#[test]
fn enter_on_the_overview_jumps_to_the_item_in_its_tab() {
    let mut state = demo_state(false);
    let first = state
        .selected_row(Tab::Overview)
        .expect("something needs attention");
    let target = state.target_of(first).expect("a target");
    cmd(&mut state, Command::Open);
    assert_eq!(state.tab, first.tab);
    let selected = state.selected_row(state.tab).expect("selected");
    assert_eq!(state.target_of(selected), Some(target));
}

#[test]
fn open_shows_a_detail_view_and_back_closes_it() {
    let mut state = demo_state(false);
    select_app(&mut state, "payments");
    cmd(&mut state, Command::Open);
    let detail = state.pane(Tab::GitOps).detail.clone().expect("detail open");
    assert_eq!(
        detail.target,
        Target::new("demo", TargetKind::App, "payments")
    );
    // j/k scroll the detail rather than moving the table selection.
    let selected = state.pane(Tab::GitOps).selected;
    cmd(&mut state, Command::Down);
    assert_eq!(state.pane(Tab::GitOps).selected, selected);
    assert_eq!(
        state.pane(Tab::GitOps).detail.as_ref().map(|d| d.scroll),
        Some(1)
    );
    key(&mut state, KeyCode::Esc);
    assert!(state.pane(Tab::GitOps).detail.is_none());
}

#[test]
fn rollback_goes_through_the_picker_and_a_confirmation_before_anything_runs() {
    let mut state = demo_state(false);
    select_app(&mut state, "inventory");
    let effects = key(&mut state, KeyCode::Char('b'));
    assert!(effects.is_empty(), "nothing runs before confirmation");
    let Some(Overlay::Picker(picker)) = state.overlay.clone() else {
        panic!("picker expected, got {:?}", state.overlay)
    };
    assert_eq!(picker.kind, ActionKind::Rollback);
    assert!(picker.entries.len() >= 2);
    assert!(
        picker.entries.iter().filter(|e| e.current).count() == 1,
        "the running revision is marked"
    );
    assert!(
        !picker.entries[picker.selected].current,
        "the cursor starts on a revision one can roll back to"
    );
    let chosen = picker.entries[picker.selected].clone();
    assert!(key(&mut state, KeyCode::Enter).is_empty());
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    assert!(
        confirm
            .action
            .effect
            .starts_with("roll back demo/inventory from "),
        "{}",
        confirm.action.effect
    );
    assert!(
        confirm
            .action
            .effect
            .contains(&format!("(history #{})", chosen.id))
    );
    assert_eq!(confirm.action.to.as_deref(), Some(chosen.id.as_str()));
    assert!(!confirm.action.production);

    let effects = key(&mut state, KeyCode::Char('y'));
    let [Effect::Run { id, action }] = effects.as_slice() else {
        panic!("one Run effect expected: {effects:?}")
    };
    assert_eq!(action.kind, ActionKind::Rollback);
    assert!(state.overlay.is_none());
    assert!(state.is_busy(&action.target));

    // A second press while in flight does not act twice.
    key(&mut state, KeyCode::Char('b'));
    assert!(state.overlay.is_none());
    assert!(
        status_text(&state).contains("still in flight"),
        "{}",
        status_text(&state)
    );

    // The outcome clears the guard, is reported, and re-reads the source.
    let effects = update(
        &mut state,
        Msg::Outcome {
            id: *id,
            action: (**action).clone(),
            outcome: Outcome::Done("rolled back".into()),
        },
    );
    assert_eq!(effects, vec![Effect::Refetch(0)]);
    assert!(!state.is_busy(&action.target));
    let status = state.status.clone().expect("status line");
    assert_eq!(status.level, Level::Success);
    assert!(status.text.contains("rolled back"));
}

#[test]
fn production_targets_need_their_name_typed() {
    let mut state = demo_state(false);
    select_app(&mut state, "payments");
    key(&mut state, KeyCode::Char('b'));
    key(&mut state, KeyCode::Enter);
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    assert_eq!(confirm.required_text(), Some("payments"));
    // y does not confirm a production action; it is just a typed letter.
    assert!(key(&mut state, KeyCode::Char('y')).is_empty());
    key(&mut state, KeyCode::Backspace);
    type_text(&mut state, "pay");
    assert!(
        key(&mut state, KeyCode::Enter).is_empty(),
        "a partial name does not confirm"
    );
    assert!(matches!(state.overlay, Some(Overlay::Confirm(_))));
    type_text(&mut state, "ments");
    let effects = key(&mut state, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Run { .. }]),
        "{effects:?}"
    );
}

#[test]
fn esc_cancels_a_confirmation_without_acting() {
    let mut state = demo_state(false);
    select_app(&mut state, "inventory");
    key(&mut state, KeyCode::Char('s'));
    assert!(matches!(state.overlay, Some(Overlay::Confirm(_))));
    assert!(key(&mut state, KeyCode::Esc).is_empty());
    assert!(state.overlay.is_none());
    assert!(state.in_flight.is_empty());
    assert!(status_text(&state).starts_with("cancelled"));
}

#[test]
fn read_only_refuses_every_mutating_action_with_a_message() {
    let mut state = demo_state(true);
    select_app(&mut state, "inventory");
    for c in ['b', 's', 'p'] {
        let effects = key(&mut state, KeyCode::Char(c));
        assert!(effects.is_empty());
        assert!(state.overlay.is_none());
        assert!(
            status_text(&state).starts_with("read-only:"),
            "{c}: {}",
            status_text(&state)
        );
        assert_eq!(state.status.as_ref().map(|s| s.level), Some(Level::Error));
    }
    cmd(&mut state, Command::TabPipelines);
    for c in ['t', 'x'] {
        assert!(key(&mut state, KeyCode::Char(c)).is_empty());
        assert!(status_text(&state).starts_with("read-only:"));
    }
    // Refresh changes nothing, so it is allowed.
    select_app(&mut state, "inventory");
    let effects = key(&mut state, KeyCode::Char('r'));
    assert!(
        matches!(effects.as_slice(), [Effect::Run { action, .. }] if action.kind == ActionKind::Refresh)
    );
}

#[test]
fn rollback_with_auto_sync_on_is_explained_before_anything_is_offered() {
    let mut state = demo_state(false);
    select_app(&mut state, "checkout");
    assert!(key(&mut state, KeyCode::Char('b')).is_empty());
    assert!(
        state.overlay.is_none(),
        "no picker for a rollback Argo CD would refuse"
    );
    assert!(
        status_text(&state).contains("auto-sync"),
        "{}",
        status_text(&state)
    );
}

#[test]
fn run_actions_check_the_run_state_first() {
    let mut state = demo_state(false);
    cmd(&mut state, Command::TabPipelines);
    // The newest runs are queued: re-running one is refused, cancelling is offered.
    let row = state.selected_row(Tab::Pipelines).expect("row");
    assert!(state.run(row).expect("run").status.is_active());
    key(&mut state, KeyCode::Char('t'));
    assert!(
        status_text(&state).contains("cancel it or wait"),
        "{}",
        status_text(&state)
    );
    key(&mut state, KeyCode::Char('x'));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    assert_eq!(confirm.action.kind, ActionKind::Cancel);
    assert!(confirm.action.effect.starts_with("cancel demo/"));
    key(&mut state, KeyCode::Esc);
    // A finished run cannot be cancelled.
    key(&mut state, KeyCode::Char('G'));
    key(&mut state, KeyCode::Char('x'));
    assert!(state.overlay.is_none());
    assert!(status_text(&state).contains("not queued or running"));
}

#[test]
fn rollback_in_the_drift_tab_moves_the_serving_alias() {
    let mut state = demo_state(false);
    cmd(&mut state, Command::TabDrift);
    key(&mut state, KeyCode::Char('b'));
    let Some(Overlay::Picker(picker)) = state.overlay.clone() else {
        panic!("picker expected")
    };
    assert_eq!(picker.kind, ActionKind::SetModelAlias);
    key(&mut state, KeyCode::Enter);
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    assert!(
        confirm
            .action
            .effect
            .contains("alias \"champion\" from version"),
        "{}",
        confirm.action.effect
    );
    assert!(confirm.action.production, "demo models serve production");
}

#[test]
fn refresh_runs_without_confirmation_on_apps_and_rereads_elsewhere() {
    let mut state = demo_state(false);
    select_app(&mut state, "web");
    let effects = key(&mut state, KeyCode::Char('r'));
    assert!(
        matches!(effects.as_slice(), [Effect::Run { action, .. }] if action.kind == ActionKind::Refresh)
    );
    cmd(&mut state, Command::TabPipelines);
    assert_eq!(
        key(&mut state, KeyCode::Char('r')),
        vec![Effect::Refetch(0)]
    );
}

#[test]
fn a_failed_read_keeps_the_last_good_data_under_the_error() {
    let mut state = demo_state(false);
    let apps = state.pane(Tab::GitOps).rows.len();
    update(
        &mut state,
        Msg::Source(SourceEvent {
            source: 0,
            at: start(),
            result: Err("connection refused".into()),
        }),
    );
    assert_eq!(state.sources[0].phase(), Phase::Error);
    assert_eq!(state.pane(Tab::GitOps).rows.len(), apps);
    assert_eq!(
        state.sources[0].error.as_ref().map(|e| e.message.as_str()),
        Some("connection refused")
    );
    let fleet = DemoFleet::new(7, start(), true);
    feed(&mut state, fleet.snapshot("demo"), start());
    assert_eq!(state.sources[0].phase(), Phase::Ok);
}

#[test]
fn help_opens_and_closes_and_swallows_other_keys() {
    let mut state = demo_state(false);
    key(&mut state, KeyCode::Char('?'));
    assert_eq!(state.overlay, Some(Overlay::Help));
    key(&mut state, KeyCode::Char('3'));
    assert_eq!(
        state.tab,
        Tab::Overview,
        "keys under the help overlay do nothing"
    );
    key(&mut state, KeyCode::Esc);
    assert!(state.overlay.is_none());
}

#[test]
fn quit_with_an_action_in_flight_warns_once_first() {
    let mut state = demo_state(false);
    select_app(&mut state, "inventory");
    key(&mut state, KeyCode::Char('s'));
    assert!(matches!(
        key(&mut state, KeyCode::Char('y')).as_slice(),
        [Effect::Run { .. }]
    ));
    assert!(key(&mut state, KeyCode::Char('q')).is_empty());
    assert!(!state.should_quit);
    assert!(
        status_text(&state).contains("press q again"),
        "{}",
        status_text(&state)
    );
    assert_eq!(key(&mut state, KeyCode::Char('q')), vec![Effect::Quit]);
}

#[test]
fn actions_a_source_cannot_do_are_refused_upfront() {
    let fleet = DemoFleet::new(7, start(), true);
    let source = SourceState::new("metrics", "prometheus", Provides::ALL, false).with_actions([]);
    let mut state = State::new(vec![source], Keymap::default(), false, fleet.now());
    feed(&mut state, fleet.snapshot("metrics"), fleet.now());
    cmd(&mut state, Command::TabDrift);
    assert!(key(&mut state, KeyCode::Char('b')).is_empty());
    assert!(
        state.overlay.is_none(),
        "no picker for an action the source cannot do"
    );
    let text = status_text(&state);
    assert!(
        text.starts_with("prometheus sources cannot move the serving alias of metrics/"),
        "{text}"
    );
}

#[test]
fn quit_asks_the_loop_to_stop() {
    let mut state = demo_state(false);
    assert_eq!(key(&mut state, KeyCode::Char('q')), vec![Effect::Quit]);
    assert!(state.should_quit);
}

#[test]
fn opening_a_run_without_jobs_asks_for_them() {
    // A backend that sends runs without jobs (they are loaded on drill-down).
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        false,
        start(),
    );
    let fleet = DemoFleet::new(7, start(), true);
    let mut snapshot = fleet.snapshot("demo");
    snapshot.pipelines.iter_mut().for_each(|r| r.jobs = None);
    feed(&mut state, snapshot, start());
    cmd(&mut state, Command::TabPipelines);
    let run_id = state
        .run(state.selected_row(Tab::Pipelines).expect("row"))
        .expect("run")
        .id
        .clone();
    let effects = cmd(&mut state, Command::Open);
    assert_eq!(
        effects,
        vec![Effect::LoadJobs {
            source: 0,
            run_id: run_id.clone()
        }]
    );
    update(
        &mut state,
        Msg::Jobs {
            target: Target::new("demo", TargetKind::Run, &run_id),
            result: Ok(vec![]),
        },
    );
    let row = state.detail_row().expect("detail");
    assert_eq!(state.run(row).and_then(|r| r.jobs.clone()), Some(vec![]));
}

#[test]
fn the_demo_fleet_is_deterministic_for_a_seed_and_moves_over_time() {
    let run = |seed| {
        let mut fleet = DemoFleet::new(seed, start(), true);
        let first = fleet.snapshot("demo");
        for _ in 0..50 {
            fleet.step();
        }
        (first, fleet.snapshot("demo"))
    };
    let (a0, a50) = run(11);
    let (b0, b50) = run(11);
    assert_eq!(a0, b0);
    assert_eq!(a50, b50);
    assert_ne!(a0, a50, "the fleet changes over time");
    assert_ne!(run(12).1, a50, "another seed, another fleet");
}

#[test]
fn the_demo_story_plays_out_runs_finish_apps_degrade_models_drift() {
    let mut fleet = DemoFleet::new(42, start(), true);
    let first = fleet.snapshot("demo");
    let queued: Vec<String> = first
        .pipelines
        .iter()
        .filter(|r| r.status == opsdeck::model::RunStatus::Queued)
        .map(|r| r.id.clone())
        .collect();
    assert!(!queued.is_empty());
    let payments = |s: &Snapshot| {
        s.apps
            .iter()
            .find(|a| a.name == "payments")
            .cloned()
            .expect("payments")
    };
    assert_eq!(payments(&first).sync, SyncStatus::OutOfSync);
    let mut saw_degraded = false;
    for _ in 0..80 {
        fleet.step();
        saw_degraded |= payments(&fleet.snapshot("demo")).health == Health::Degraded;
    }
    let later = fleet.snapshot("demo");
    assert!(
        saw_degraded,
        "the bad change to payments gets synced and degrades it"
    );
    for id in &queued {
        let run = later
            .pipelines
            .iter()
            .find(|r| &r.id == id)
            .expect("run kept");
        assert!(!run.status.is_active(), "run {id} finished within 80 steps");
    }
    let churn = later
        .models
        .iter()
        .find(|m| m.model == "churn")
        .expect("churn");
    assert!(
        churn.status() >= opsdeck::model::DriftStatus::Warning,
        "churn's PSI creeps past its warning"
    );
}

// ---- Argo CD ----------------------------------------------------------------

/// An Argo CD source with two apps: `auto` (auto-sync on, an operation
/// running, linked to a repository app) and `manual` (auto-sync off,
/// deployed twice).
fn argocd_state() -> State {
    use opsdeck::model::{Deployment, GitOpsApp, Operation, OperationPhase};
    let app = |name: &str, auto_sync: bool| GitOpsApp {
        health_since: None,
        error: None,
        source: "argo".into(),
        name: name.into(),
        namespace: name.into(),
        cluster: "prod-eu".into(),
        sync: SyncStatus::Synced,
        health: Health::Healthy,
        health_message: None,
        revision: Some("bbbbbbb2222222".into()),
        target_revision: Some("bbbbbbb2222222".into()),
        out_of_sync: Vec::new(),
        auto_sync,
        suspended: false,
        last_operation: None,
        history: vec![
            Deployment {
                id: "2".into(),
                revision: "bbbbbbb2222222".into(),
                deployed_at: None,
                started_at: None,
                failed: false,
                author: None,
                message: None,
            },
            Deployment {
                id: "1".into(),
                revision: "aaaaaaa1111111".into(),
                deployed_at: None,
                started_at: None,
                failed: false,
                author: None,
                message: None,
            },
        ],
        last_change: None,
        repo_url: None,
        path: None,
        production: false,
        repo: None,
        linked: None,
        pending: None,
        revision_commit: None,
        images: Vec::new(),
        plan: None,
    };
    let mut auto = app("auto", true);
    auto.last_operation = Some(Operation {
        kind: "sync".into(),
        phase: OperationPhase::Running,
        message: "waiting for healthy state".into(),
        revision: Some("bbbbbbb2222222".into()),
        started_at: None,
        finished_at: None,
    });
    let source = SourceState::new(
        "argo",
        "argocd",
        Provides {
            gitops: true,
            ..Provides::default()
        },
        false,
    )
    .with_actions([
        ActionKind::Sync,
        ActionKind::Refresh,
        ActionKind::HardRefresh,
        ActionKind::Terminate,
        ActionKind::Rollback,
        ActionKind::DisableAutoSync,
    ])
    .with_capabilities(opsdeck::model::Capabilities {
        app_detail: true,
        sync_options: true,
        ..Default::default()
    });
    // The desired-state repository of `auto`, linked to it.
    let mut repo_app = app("auto", false);
    repo_app.source = "repo".into();
    repo_app.repo = Some(opsdeck::model::RepoInfo {
        branch: "main".into(),
        head: "bbbbbbb2222222".into(),
        commits: Vec::new(),
        push: "direct".into(),
        link: Some("argo/auto".into()),
        diffs: Vec::new(),
        follow: std::time::Duration::from_secs(60),
    });
    let repo = SourceState::new(
        "repo",
        "git",
        Provides {
            gitops: true,
            ..Provides::default()
        },
        false,
    );
    let mut state = State::new(vec![source, repo], Keymap::default(), false, start());
    let snapshot = Snapshot {
        apps: vec![auto, app("manual", false)],
        ..Snapshot::default()
    };
    feed(&mut state, snapshot, start());
    update(
        &mut state,
        Msg::Source(SourceEvent {
            source: 1,
            at: start(),
            result: Ok(Snapshot {
                apps: vec![repo_app],
                ..Snapshot::default()
            }
            .into()),
        }),
    );
    state
}

fn confirm_action(state: &State) -> opsdeck::model::Action {
    match &state.overlay {
        Some(Overlay::Confirm(c)) => c.action.clone(),
        other => panic!("a confirmation is open, not {other:?}"),
    }
}

#[test]
fn argocd_keys_plan_hard_refresh_terminate_and_auto_sync_off() {
    let mut state = argocd_state();
    select_app(&mut state, "auto");
    // R: a hard refresh changes nothing, so it runs without a dialog.
    let effects = key(&mut state, KeyCode::Char('R'));
    assert!(
        matches!(&effects[..], [Effect::Run { action, .. }] if action.kind == ActionKind::HardRefresh),
        "{effects:?}"
    );
    let id = state.in_flight.values().next().expect("in flight").id;
    let action = state
        .in_flight
        .values()
        .next()
        .expect("in flight")
        .action
        .clone();
    update(
        &mut state,
        Msg::Outcome {
            id,
            action,
            outcome: Outcome::Done("hard refresh requested".into()),
        },
    );
    // X: terminate the running operation, confirmed first.
    assert!(key(&mut state, KeyCode::Char('X')).is_empty());
    let action = confirm_action(&state);
    assert_eq!(action.kind, ActionKind::Terminate);
    assert_eq!(
        action.effect,
        "terminate the running sync of argo/auto (to bbbbbbb): resources already applied stay as they are"
    );
    key(&mut state, KeyCode::Esc);
    // A: auto-sync off, confirmed and stated.
    key(&mut state, KeyCode::Char('A'));
    let action = confirm_action(&state);
    assert_eq!(action.kind, ActionKind::DisableAutoSync);
    assert!(
        action
            .effect
            .contains("set spec.syncPolicy.automated to null")
    );
    let effects = key(&mut state, KeyCode::Char('y'));
    assert!(
        matches!(&effects[..], [Effect::Run { action, .. }] if action.kind == ActionKind::DisableAutoSync)
    );

    // On an app without a running operation or auto-sync, both are refused with why.
    select_app(&mut state, "manual");
    key(&mut state, KeyCode::Char('X'));
    assert!(state.overlay.is_none());
    assert_eq!(
        status_text(&state),
        "argo/manual has no running operation to terminate"
    );
    key(&mut state, KeyCode::Char('A'));
    assert_eq!(status_text(&state), "argo/manual already has auto-sync off");
}

#[test]
fn argocd_rollback_with_auto_sync_names_both_ways_out() {
    let mut state = argocd_state();
    select_app(&mut state, "auto");
    key(&mut state, KeyCode::Char('b'));
    assert!(state.overlay.is_none(), "no picker for a refused rollback");
    let text = status_text(&state);
    assert!(
        text.contains("auto-sync on: Argo CD refuses a history rollback"),
        "{text}"
    );
    assert!(
        text.contains("rollback on repo/auto reverts it and pushes"),
        "{text}"
    );
    assert!(text.contains("disable_auto_sync"), "{text}");
}

#[test]
fn argocd_sync_dialog_toggles_prune_and_dry_run_into_the_effect() {
    let mut state = argocd_state();
    select_app(&mut state, "manual");
    key(&mut state, KeyCode::Char('s'));
    let plain = confirm_action(&state).effect;
    key(&mut state, KeyCode::Char('p'));
    key(&mut state, KeyCode::Char('d'));
    let action = confirm_action(&state);
    assert!(action.sync.prune && action.sync.dry_run);
    assert_eq!(
        action.effect,
        format!("{plain} [prune: delete resources no longer in Git; dry run: change nothing]")
    );
    key(&mut state, KeyCode::Char('p'));
    let action = confirm_action(&state);
    assert_eq!(action.effect, format!("{plain} [dry run: change nothing]"));
    let effects = key(&mut state, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::Run { action, .. }] if !action.sync.prune && action.sync.dry_run),
        "{effects:?}"
    );
}

#[test]
fn argocd_production_dialog_toggles_with_ctrl_and_types_p_and_d() {
    let mut state = argocd_state();
    state.sources[0].production = true;
    select_app(&mut state, "manual");
    key(&mut state, KeyCode::Char('s'));
    type_text(&mut state, "pd");
    let action = confirm_action(&state);
    assert!(
        !action.sync.prune && !action.sync.dry_run,
        "typed, not toggled"
    );
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL)),
    );
    assert!(confirm_action(&state).sync.prune);
    match &state.overlay {
        Some(Overlay::Confirm(c)) => assert_eq!(c.typed, "pd"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn opening_an_argocd_app_loads_its_drill_down_and_fills_history_authors() {
    let mut state = argocd_state();
    select_app(&mut state, "manual");
    let effects = cmd(&mut state, Command::Open);
    assert_eq!(
        effects,
        vec![Effect::LoadAppDetail {
            source: 0,
            app: "manual".into()
        }]
    );
    let target = Target::new("argo", TargetKind::App, "manual");
    assert_eq!(
        state.app_details.get(&target),
        Some(&opsdeck::app::state::AppDetailState::Loading)
    );
    let detail = opsdeck::model::AppDetail {
        revisions: vec![opsdeck::model::RevisionInfo {
            revision: "aaaaaaa1111111".into(),
            author: Some("Bob".into()),
            date: None,
            message: Some("first deploy".into()),
        }],
        ..Default::default()
    };
    update(
        &mut state,
        Msg::AppDetail {
            target: target.clone(),
            result: Ok(detail),
        },
    );
    let author = |state: &State| state.sources[0].snapshot.apps[1].history[1].author.clone();
    assert_eq!(author(&state).as_deref(), Some("Bob"));
    // A new read keeps the authors already loaded.
    let snapshot = state.sources[0].snapshot.clone();
    let mut fresh = snapshot.clone();
    fresh
        .apps
        .iter_mut()
        .for_each(|a| a.history.iter_mut().for_each(|d| d.author = None));
    feed(&mut state, fresh, start());
    assert_eq!(author(&state).as_deref(), Some("Bob"));
    // A failed load is kept to be shown, not a crash.
    update(
        &mut state,
        Msg::AppDetail {
            target: target.clone(),
            result: Err("403 on /resource-tree".into()),
        },
    );
    assert!(matches!(
        state.app_details.get(&target),
        Some(opsdeck::app::state::AppDetailState::Failed(_))
    ));
}

#[test]
fn the_refresh_key_on_a_reconciling_source_is_a_confirmed_reconcile_refused_when_read_only() {
    let reconciling = |read_only: bool| {
        let fleet = DemoFleet::new(7, start(), true);
        let source = SourceState::new("flux-prod", "flux", Provides::ALL, false).with_actions([
            ActionKind::Reconcile,
            ActionKind::Sync,
            ActionKind::Suspend,
            ActionKind::Resume,
        ]);
        let mut state = State::new(vec![source], Keymap::default(), read_only, fleet.now());
        feed(&mut state, fleet.snapshot("flux-prod"), fleet.now());
        select_app(&mut state, "inventory");
        state
    };
    let mut state = reconciling(false);
    assert!(
        key(&mut state, KeyCode::Char('r')).is_empty(),
        "nothing is sent before confirmation"
    );
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected: {:?}", state.status)
    };
    assert_eq!(confirm.action.kind, ActionKind::Reconcile);
    assert!(
        confirm
            .action
            .effect
            .starts_with("reconcile flux-prod/inventory"),
        "{}",
        confirm.action.effect
    );
    assert!(
        confirm.action.effect.contains("apply"),
        "{}",
        confirm.action.effect
    );

    let mut state = reconciling(true);
    assert!(key(&mut state, KeyCode::Char('r')).is_empty());
    assert!(state.overlay.is_none());
    assert!(
        status_text(&state).starts_with("read-only: reconcile flux-prod/inventory refused"),
        "{}",
        status_text(&state)
    );
}

/// The demo state with its source offering job logs (as the demo source does).
fn demo_state_with_logs() -> State {
    let mut state = demo_state(false);
    state.sources[0].capabilities.job_logs = true;
    state
}

/// Select the run whose status is `status` in the Pipelines tab.
fn select_run(state: &mut State, wanted: impl Fn(&opsdeck::model::PipelineRun) -> bool) -> Target {
    cmd(state, Command::TabPipelines);
    cmd(state, Command::Top);
    let pane = state.pane(Tab::Pipelines);
    let index = pane
        .rows
        .iter()
        .position(|r| state.run(*r).is_some_and(&wanted))
        .expect("a matching run");
    for _ in 0..index {
        cmd(state, Command::Down);
    }
    let row = state.selected_row(Tab::Pipelines).expect("row");
    state.target_of(row).expect("target")
}

#[test]
fn logs_open_on_the_failed_job_then_cycle_and_start_at_the_end() {
    let mut state = demo_state_with_logs();
    let target = select_run(&mut state, |r| {
        r.status == opsdeck::model::RunStatus::Failure && r.jobs.is_some()
    });
    let failed_job = state
        .find(&target)
        .and_then(|row| state.run(row))
        .and_then(|r| {
            r.jobs
                .iter()
                .flatten()
                .find(|j| j.status == opsdeck::model::RunStatus::Failure)
                .cloned()
        })
        .expect("a failed job");
    // From the table: `l` opens the run and the failed job's log at once.
    let effects = key(&mut state, KeyCode::Char('l'));
    assert_eq!(
        effects,
        vec![Effect::LoadLog {
            source: 0,
            run_id: target.id.clone(),
            job_id: failed_job.id.clone()
        }]
    );
    let detail = state
        .pane(Tab::Pipelines)
        .detail
        .clone()
        .expect("detail open");
    assert_eq!(detail.target, target);
    assert_eq!(
        detail.log.as_ref().map(|l| l.job_name.as_str()),
        Some(failed_job.name.as_str())
    );
    // 300 lines arrive: the tail keeps 200 and the view opens on the last page.
    let text: String = (1..=300).map(|i| format!("line {i}\n")).collect();
    update(
        &mut state,
        Msg::Log {
            target: target.clone(),
            job: failed_job.id.clone(),
            result: Ok(opsdeck::model::LogTail::from_text(
                &failed_job.name,
                &text,
                false,
            )),
        },
    );
    let page = usize::from(state.size.1) - 6;
    let scroll = state
        .pane(Tab::Pipelines)
        .detail
        .as_ref()
        .expect("detail")
        .scroll;
    assert_eq!(scroll, 200 - page);
    // Scrolling stops at the last page, and goes back up.
    cmd(&mut state, Command::Bottom);
    assert_eq!(
        state
            .pane(Tab::Pipelines)
            .detail
            .as_ref()
            .expect("detail")
            .scroll,
        200 - page
    );
    cmd(&mut state, Command::Up);
    assert_eq!(
        state
            .pane(Tab::Pipelines)
            .detail
            .as_ref()
            .expect("detail")
            .scroll,
        200 - page - 1
    );
    // `l` again: the next job's log.
    let effects = key(&mut state, KeyCode::Char('l'));
    let [Effect::LoadLog { job_id, .. }] = effects.as_slice() else {
        panic!("a log load expected: {effects:?}")
    };
    assert_ne!(*job_id, failed_job.id);
    // Esc goes back to the run, a second Esc to the table.
    key(&mut state, KeyCode::Esc);
    let detail = state
        .pane(Tab::Pipelines)
        .detail
        .clone()
        .expect("still open");
    assert!(detail.log.is_none());
    key(&mut state, KeyCode::Esc);
    assert!(state.pane(Tab::Pipelines).detail.is_none());
}

#[test]
fn logs_wait_for_the_jobs_and_say_when_a_source_has_none() {
    let mut state = demo_state(false);
    let target = select_run(&mut state, |r| r.jobs.is_some());
    // A source without job logs says so.
    key(&mut state, KeyCode::Char('l'));
    assert!(
        status_text(&state).contains("demo sources have no job logs"),
        "{}",
        status_text(&state)
    );
    // …and offers the run's own page (a Kubeflow run's UI link), which `y` copies.
    let url = (state.sources[0].snapshot.pipelines.iter())
        .find(|r| r.id == target.id)
        .and_then(|r| r.url.clone())
        .expect("demo runs have a link");
    assert!(
        status_text(&state).contains(&format!("the run's page is {url} (y copies it)")),
        "{}",
        status_text(&state)
    );
    key(&mut state, KeyCode::Esc);
    // Jobs not loaded yet: they are asked for, and the log follows them.
    let mut state = demo_state_with_logs();
    select_run(&mut state, |r| r.id == target.id);
    let row = state.find(&target).expect("row");
    let jobs = state.run(row).and_then(|r| r.jobs.clone()).expect("jobs");
    let source = &mut state.sources[0];
    let run = source
        .snapshot
        .pipelines
        .iter_mut()
        .find(|r| r.id == target.id)
        .expect("run");
    run.jobs = None;
    let effects = key(&mut state, KeyCode::Char('l'));
    assert_eq!(
        effects,
        vec![Effect::LoadJobs {
            source: 0,
            run_id: target.id.clone()
        }]
    );
    let effects = update(
        &mut state,
        Msg::Jobs {
            target: target.clone(),
            result: Ok(jobs.clone()),
        },
    );
    assert!(
        matches!(effects.as_slice(), [Effect::LoadLog { run_id, .. }] if *run_id == target.id),
        "{effects:?}"
    );
}

#[test]
fn a_new_run_goes_through_the_form_and_a_confirmation() {
    let mut state = demo_state(false);
    let target = select_run(&mut state, |r| r.pipeline == "Deploy");
    let run = state
        .find(&target)
        .and_then(|row| state.run(row))
        .cloned()
        .expect("run");
    let effects = key(&mut state, KeyCode::Char('n'));
    assert_eq!(
        effects,
        vec![Effect::LoadDispatchForm {
            source: 0,
            pipeline: run.pipeline_id.clone(),
            git_ref: Some(run.branch.clone()),
        }]
    );
    let pipeline = Target::new("demo", TargetKind::Pipeline, &run.pipeline_id);
    let spec = opsdeck::model::DispatchForm {
        pipeline: run.pipeline_id.clone(),
        name: "Deploy".into(),
        git_ref: Some("main".into()),
        inputs: vec![opsdeck::model::FormInput {
            name: "environment".into(),
            default: "staging".into(),
            description: "where to deploy".into(),
            choices: vec!["staging".into(), "production".into()],
            required: true,
        }],
        free_inputs: true,
    };
    update(
        &mut state,
        Msg::DispatchForm {
            target: pipeline.clone(),
            git_ref: Some("release/2.4".into()),
            result: Ok(spec),
        },
    );
    let Some(Overlay::Form(form)) = state.overlay.clone() else {
        panic!("the form expected: {:?}", state.overlay)
    };
    // The ref is pre-filled with the run's branch, inputs with their defaults.
    assert_eq!(form.fields[0].value, "release/2.4");
    assert_eq!(form.fields[1].value, "staging");
    // Edit: ref → main; environment → production by choice; a variable.
    for _ in 0.."release/2.4".len() {
        key(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "main");
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Right);
    key(&mut state, KeyCode::Tab);
    type_text(&mut state, "BAD");
    key(&mut state, KeyCode::Enter);
    // Not name=value: the form stays, on that field, and says why.
    let Some(Overlay::Form(form)) = state.overlay.clone() else {
        panic!("the form stays open")
    };
    assert_eq!(form.focused, 2);
    assert!(
        status_text(&state).contains("`BAD` is not name=value"),
        "{}",
        status_text(&state)
    );
    for _ in 0..3 {
        key(&mut state, KeyCode::Backspace);
    }
    type_text(&mut state, "TRACE=1");
    key(&mut state, KeyCode::Enter);
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("the confirmation expected: {:?}", state.overlay)
    };
    assert_eq!(confirm.action.kind, ActionKind::Dispatch);
    assert_eq!(confirm.action.target, pipeline);
    assert_eq!(confirm.action.to.as_deref(), Some("main"));
    assert_eq!(
        confirm.action.inputs,
        vec![
            ("environment".to_string(), "production".to_string()),
            ("TRACE".to_string(), "1".to_string())
        ]
    );
    assert_eq!(
        confirm.action.effect,
        format!(
            "start a new run of Deploy (demo/{}) on main with environment=production, TRACE=1",
            run.pipeline_id
        )
    );
    let effects = key(&mut state, KeyCode::Char('y'));
    assert!(
        matches!(effects.as_slice(), [Effect::Run { action, .. }] if action.kind == ActionKind::Dispatch)
    );
}

#[test]
fn a_required_input_left_empty_keeps_the_form_and_read_only_refuses_a_new_run() {
    let mut state = demo_state(false);
    let target = select_run(&mut state, |r| r.pipeline == "Deploy");
    let run = state
        .find(&target)
        .and_then(|row| state.run(row))
        .cloned()
        .expect("run");
    let pipeline = Target::new("demo", TargetKind::Pipeline, &run.pipeline_id);
    let spec = opsdeck::model::DispatchForm {
        pipeline: run.pipeline_id.clone(),
        name: "Deploy".into(),
        git_ref: Some("main".into()),
        inputs: vec![opsdeck::model::FormInput {
            name: "ticket".into(),
            required: true,
            ..Default::default()
        }],
        free_inputs: false,
    };
    update(
        &mut state,
        Msg::DispatchForm {
            target: pipeline,
            git_ref: None,
            result: Ok(spec),
        },
    );
    key(&mut state, KeyCode::Enter);
    let Some(Overlay::Form(form)) = state.overlay.clone() else {
        panic!("the form stays open")
    };
    assert_eq!(form.focused, 1);
    assert_eq!(status_text(&state), "ticket is required");
    key(&mut state, KeyCode::Esc);
    assert!(state.overlay.is_none());

    let mut state = demo_state(true);
    select_run(&mut state, |r| r.pipeline == "Deploy");
    let effects = key(&mut state, KeyCode::Char('n'));
    assert!(effects.is_empty());
    assert!(
        status_text(&state).starts_with("read-only: start a new run of demo/"),
        "{}",
        status_text(&state)
    );
}

#[test]
fn a_cancel_that_did_not_take_is_offered_as_a_force_cancel() {
    let mut state = demo_state(false);
    let target = select_run(&mut state, |r| r.status.is_active());
    key(&mut state, KeyCode::Char('x'));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    assert_eq!(confirm.action.kind, ActionKind::Cancel);
    let effects = key(&mut state, KeyCode::Char('y'));
    let [Effect::Run { id, action }] = effects.as_slice() else {
        panic!("run expected")
    };
    update(
        &mut state,
        Msg::Outcome {
            id: *id,
            action: (**action).clone(),
            outcome: Outcome::Done("cancel requested".into()),
        },
    );
    assert!(
        status_text(&state).contains("x again force-cancels it"),
        "{}",
        status_text(&state)
    );
    // Right away: still a plain cancel's grace period.
    key(&mut state, KeyCode::Char('x'));
    assert!(state.overlay.is_none());
    assert!(
        status_text(&state).contains("may still be taking effect"),
        "{}",
        status_text(&state)
    );
    // Later, still running: force-cancel, stated as such.
    let later = state.now + chrono::Duration::seconds(11);
    update(&mut state, Msg::Tick(later));
    key(&mut state, KeyCode::Char('x'));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected: {}", status_text(&state))
    };
    assert_eq!(confirm.action.kind, ActionKind::ForceCancel);
    assert_eq!(confirm.action.target, target);
    assert!(
        confirm
            .action
            .effect
            .starts_with(&format!("force-cancel {target} (")),
        "{}",
        confirm.action.effect
    );
    assert!(confirm.action.effect.contains("skipping always() steps"));
    // A source without force-cancel just cancels again.
    key(&mut state, KeyCode::Esc);
    state.sources[0]
        .actions
        .retain(|k| *k != ActionKind::ForceCancel);
    key(&mut state, KeyCode::Char('x'));
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    assert_eq!(confirm.action.kind, ActionKind::Cancel);
}

// ---- batches -----------------------------------------------------------------

/// Two sources: the demo fleet's apps and models (source 0) and its runs
/// (source 1), each fed once.
fn split_state() -> (State, DemoFleet) {
    let fleet = DemoFleet::new(7, start(), true);
    let mut state = State::new(
        vec![
            SourceState::new("apps", "demo", Provides::ALL, false),
            SourceState::new("runs", "demo", Provides::ALL, false),
        ],
        Keymap::default(),
        false,
        fleet.now(),
    );
    let msgs = split_events(&fleet);
    for msg in msgs {
        update(&mut state, msg);
    }
    (state, fleet)
}

/// The fleet's current read as one event per source.
fn split_events(fleet: &DemoFleet) -> Vec<Msg> {
    let snapshot = fleet.snapshot("demo");
    let event = |source, snapshot: Snapshot| {
        Msg::Source(SourceEvent {
            source,
            at: fleet.now(),
            result: Ok(snapshot.into()),
        })
    };
    vec![
        event(
            0,
            Snapshot {
                apps: snapshot.apps,
                models: snapshot.models,
                ..Snapshot::default()
            },
        ),
        event(
            1,
            Snapshot {
                pipelines: snapshot.pipelines,
                ..Snapshot::default()
            },
        ),
    ]
}

#[test]
fn a_burst_of_source_events_rebuilds_derived_data_once_and_ends_where_one_at_a_time_does() {
    let (mut batched, _) = split_state();
    let (mut one_by_one, _) = split_state();
    cmd(&mut batched, Command::TabPipelines);
    cmd(&mut one_by_one, Command::TabPipelines);
    let rebuilds = batched.derived.rebuilds;
    let tabs = batched.derived.tab_rebuilds;
    // The same 40 reads of both sources, for each state.
    let burst = || {
        let mut fleet = DemoFleet::new(7, start(), true);
        let mut msgs = Vec::new();
        for _ in 0..40 {
            fleet.step();
            msgs.extend(split_events(&fleet));
        }
        msgs
    };
    let (burst, copy) = (burst(), burst());
    assert_eq!(burst.len(), 80);
    update_batch(&mut batched, burst);
    assert_eq!(
        batched.derived.rebuilds,
        rebuilds + 1,
        "one rebuild per batch"
    );
    // The Timeline tab is hidden: its rows wait until it shows.
    let mut once = tabs.map(|n| n + 1);
    once[Tab::Timeline.index()] -= 1;
    assert_eq!(
        batched.derived.tab_rebuilds, once,
        "each shown tab's rows rebuilt once"
    );
    for msg in copy {
        update(&mut one_by_one, msg);
    }
    assert_eq!(one_by_one.derived.rebuilds, rebuilds + 80);
    for tab in Tab::ALL {
        assert_eq!(batched.pane(tab).rows, one_by_one.pane(tab).rows, "{tab:?}");
    }
    // The cursor stays on its run either way (Overview items come and go,
    // so where its cursor lands depends on the path).
    assert_eq!(
        batched.pane(Tab::Pipelines).selected,
        one_by_one.pane(Tab::Pipelines).selected
    );
    assert!(batched.pane(Tab::Pipelines).selected > 0, "new runs on top");
    assert!(batched.dirty);
}

#[test]
fn a_change_to_one_source_rebuilds_only_the_tabs_it_feeds() {
    let (mut state, mut fleet) = split_state();
    fleet.step();
    let runs_only = split_events(&fleet).remove(1);
    let before = state.derived.tab_rebuilds;
    update(&mut state, runs_only);
    let after = state.derived.tab_rebuilds;
    assert_eq!(
        after[Tab::Pipelines.index()],
        before[Tab::Pipelines.index()] + 1
    );
    assert_eq!(
        after[Tab::Overview.index()],
        before[Tab::Overview.index()] + 1
    );
    assert_eq!(after[Tab::GitOps.index()], before[Tab::GitOps.index()]);
    assert_eq!(after[Tab::Drift.index()], before[Tab::Drift.index()]);
}

#[test]
fn keys_ticks_and_failed_reads_rebuild_nothing() {
    let (mut state, _) = split_state();
    let rebuilds = state.derived.rebuilds;
    cmd(&mut state, Command::TabGitops);
    cmd(&mut state, Command::Down);
    update(&mut state, Msg::Tick(start()));
    update_batch(
        &mut state,
        (0..5).map(|_| {
            Msg::Source(SourceEvent {
                source: 0,
                at: start(),
                result: Err("connection refused".into()),
            })
        }),
    );
    assert_eq!(state.derived.rebuilds, rebuilds);
    assert_eq!(state.sources[0].phase(), Phase::Error);
}

#[test]
fn the_cursor_stays_on_its_app_when_a_burst_inserts_apps_before_it() {
    let mut state = argocd_state();
    select_app(&mut state, "manual");
    let apps = |names: &[&str]| {
        let template = state.sources[0].snapshot.apps[0].clone();
        let apps = names
            .iter()
            .map(|name| opsdeck::model::GitOpsApp {
                name: (*name).into(),
                ..template.clone()
            })
            .collect();
        Snapshot {
            apps,
            ..Snapshot::default()
        }
    };
    // Row references point into the snapshot: after "a" and "b" arrive
    // first, the old index of `manual` names another app.
    let burst = [
        apps(&["a", "auto", "manual"]),
        apps(&["a", "auto", "b", "manual"]),
    ]
    .map(|snapshot| {
        Msg::Source(SourceEvent {
            source: 0,
            at: start(),
            result: Ok(snapshot.into()),
        })
    });
    update_batch(&mut state, burst);
    let row = state.selected_row(Tab::GitOps).expect("a row");
    assert_eq!(state.app(row).map(|a| a.name.as_str()), Some("manual"));
}
