//! What a live feed's news (only the apps it changed) leaves behind.
//!
//! Problems watched over time (what `opsdeck watch` prints and the
//! dashboard rings for) when a live feed sends only the apps it changed:
//! only those apps are looked at again, and what they did is still seen —
//! a new problem, a resolved one, an app gone — while the source's other
//! problems are neither resolved nor announced again; the transitions
//! seen are on the timeline.

use chrono::{TimeZone, Utc};
use opsdeck::app::problems::{Change, ProblemEvent};
use opsdeck::app::state::SourceState;
use opsdeck::app::{Keymap, Msg, State, update};
use opsdeck::model::{GitOpsApp, Health, Provides, Timestamp};
use opsdeck::sources::demo::DemoFleet;
use opsdeck::sources::{AppChanges, SourceEvent, Update};

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn send(state: &mut State, update_: Update, at: Timestamp) {
    update(
        state,
        Msg::Source(SourceEvent {
            source: 0,
            at,
            result: Ok(update_),
        }),
    );
}

/// The events of one batch, as `(change, target)`.
fn events(state: &mut State) -> Vec<(String, String)> {
    state
        .problems
        .take_events()
        .into_iter()
        .map(|e: ProblemEvent| (e.change.to_string(), e.problem.target))
        .collect()
}

fn healthy(mut app: GitOpsApp) -> GitOpsApp {
    app.health = Health::Healthy;
    app.health_message = None;
    app.sync = opsdeck::model::SyncStatus::Synced;
    app.out_of_sync.clear();
    app.error = None;
    app
}

/// A dashboard fed `snapshot` whole, as its first read.
fn fed(snapshot: opsdeck::model::Snapshot, at: Timestamp) -> State {
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        false,
        at,
    );
    send(&mut state, Update::Whole(snapshot), at);
    state
}

#[test]
fn a_feeds_changed_apps_are_the_only_problems_looked_at_again_and_none_is_missed() {
    let fleet = DemoFleet::new(7, start(), true);
    let mut snapshot = fleet.snapshot("demo");
    // Three apps in trouble to begin with, the rest fine.
    for (i, app) in snapshot.apps.iter_mut().enumerate() {
        if i < 3 {
            app.health = Health::Degraded;
            app.health_message = Some("pods crash".into());
        } else {
            *app = healthy(app.clone());
        }
    }
    let apps = snapshot.apps.clone();
    assert!(apps.len() >= 6, "the demo has apps");
    let mut state = fed(snapshot, fleet.now());
    let first = events(&mut state);
    for app in &apps[..3] {
        let target = format!("demo/{}", app.name);
        assert!(
            first.contains(&(Change::New.to_string(), target.clone())),
            "{target} is a problem from the first read: {first:?}"
        );
    }

    // The feed: app 0 recovers, app 1 is deleted, app 3 degrades, app 4
    // changes but stays fine. App 2 is not in the news.
    let mut broken = apps[3].clone();
    broken.health = Health::Degraded;
    broken.health_message = Some("image pull back-off".into());
    broken.health_since = None;
    let mut touched = apps[4].clone();
    touched.revision = Some("b".repeat(40));
    send(
        &mut state,
        Update::Apps(AppChanges {
            changed: vec![healthy(apps[0].clone()), broken, touched],
            removed: vec![apps[1].name.clone()],
            problems: None,
        }),
        fleet.now(),
    );
    // The health changes are on the timeline as seen, for those apps only.
    let observed: Vec<(String, String)> = state
        .timeline
        .extra
        .iter()
        .filter(|e| e.observed)
        .map(|e| (e.target.clone(), e.summary.clone()))
        .collect();
    assert!(
        observed.contains(&(
            format!("demo/{}", apps[3].name),
            format!("{} went degraded (seen)", apps[3].name)
        )),
        "{observed:?}"
    );
    assert!(
        observed
            .iter()
            .all(|(t, _)| *t == format!("demo/{}", apps[3].name)
                || *t == format!("demo/{}", apps[0].name)),
        "only the apps the news changed: {observed:?}"
    );
    let mut seen = events(&mut state);
    seen.sort();
    let target = |i: usize| format!("demo/{}", apps[i].name);
    let mut want = vec![
        (Change::New.to_string(), target(3)),
        (Change::Resolved.to_string(), target(0)),
        (Change::Resolved.to_string(), target(1)),
    ];
    want.sort();
    assert_eq!(seen, want, "only what the news changed");
    // App 2's problem is still known, from before (not announced again).
    let known: Vec<&String> = state.problems.known.keys().map(|(_, t)| t).collect();
    assert!(known.contains(&&target(2)), "{known:?}");
    assert!(known.contains(&&target(3)), "{known:?}");
    assert!(!known.contains(&&target(0)) && !known.contains(&&target(1)));

    // A whole read afterwards agrees with what the news made of it.
    let now: Vec<GitOpsApp> = state.sources[0].snapshot.apps.clone();
    let mut whole = fleet.snapshot("demo");
    whole.apps = now;
    send(&mut state, Update::Whole(whole), fleet.now());
    assert_eq!(events(&mut state), [], "nothing new, nothing resolved");
}

/// Each tab's rows as the items' names, in order.
fn rows(state: &State, tab: opsdeck::app::Tab) -> Vec<String> {
    state
        .pane(tab)
        .sorted
        .iter()
        .map(|r| match r.tab {
            opsdeck::app::Tab::GitOps => state.app(*r).map(|a| a.name.clone()),
            opsdeck::app::Tab::Pipelines => state.run(*r).map(|p| p.id.clone()),
            opsdeck::app::Tab::Drift => state.model(*r).map(|m| m.model.clone()),
            _ => None,
        })
        .map(|n| n.unwrap_or_default())
        .collect()
}

#[test]
fn apps_replaced_in_place_give_the_rows_a_whole_read_gives() {
    use opsdeck::app::Tab;
    let fleet = DemoFleet::new(11, start(), true);
    let mut state = fed(fleet.snapshot("demo"), fleet.now());
    let apps = state.sources[0].snapshot.apps.clone();
    assert!(apps.len() >= 5, "the demo has apps");
    let mut broken = healthy(apps[4].clone());
    broken.health = Health::Missing;
    let mut later = broken.clone();
    later.revision = Some("c".repeat(40));
    // Two batches of news, the second touching the same app again, and
    // one app recovering: only replaced where they stand.
    for news in [
        vec![broken, healthy(apps[0].clone())],
        vec![later, healthy(apps[2].clone())],
    ] {
        let rebuilds = state.derived.tab_rebuilds;
        send(
            &mut state,
            Update::Apps(AppChanges {
                changed: news,
                ..AppChanges::default()
            }),
            fleet.now(),
        );
        assert!(
            state.derived.tab_rebuilds[Tab::GitOps.index()] > rebuilds[Tab::GitOps.index()],
            "the GitOps rows were looked at again"
        );
    }
    let whole = fed(state.sources[0].snapshot.clone(), fleet.now());
    for tab in [Tab::Overview, Tab::GitOps] {
        assert_eq!(rows(&state, tab), rows(&whole, tab), "{tab:?}");
    }
    assert!(
        rows(&state, Tab::Overview).contains(&apps[4].name),
        "the missing app needs attention"
    );
    assert!(!rows(&state, Tab::Overview).contains(&apps[0].name));
}
