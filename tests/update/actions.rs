//! Actions asked by key: pickers and confirmations first, production
//! names typed, read-only refusals, run state checks, help and quit.

use super::*;

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
