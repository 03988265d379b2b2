//! Source events: a live feed's changes in place, the demo fleet's
//! story over time, and bursts folded into one rebuild.

use super::argocd::argocd_state;
use super::*;

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
