//! What the screen holds: tabs filled by a read, order, attention,
//! selection and filter, the overview's jumps, detail views.

use super::*;

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
