//! `update` throughput: 10,000 source events (each a full demo snapshot,
//! rebuilding every tab's rows), 10,000 key presses on 100,000 runs, and a
//! burst of events on a large estate applied one at a time (settled after
//! each) or as one batch (settled once).

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::state::{SourceState, Tab};
use opsdeck::app::{Command, Keymap, Msg, State, apply, settle, update};
use opsdeck::model::{
    GitOpsApp, Health, PipelineRun, Provides, RunStatus, Snapshot, SyncStatus, Timestamp,
};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;

const EVENTS: usize = 10_000;

fn snapshots(n: usize) -> Vec<Snapshot> {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time");
    let mut fleet = DemoFleet::new(42, start, true);
    (0..n)
        .map(|_| {
            fleet.step();
            fleet.snapshot("demo")
        })
        .collect()
}

fn new_state() -> State {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time");
    State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        false,
        start,
    )
}

fn source_events(c: &mut Criterion) {
    let distinct = snapshots(64);
    let mut group = c.benchmark_group("update");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.bench_function("10k changing source events", |b| {
        b.iter_batched(
            || {
                (0..EVENTS)
                    .map(|i| SourceEvent {
                        source: 0,
                        at: Utc::now(),
                        result: Ok(distinct[i % distinct.len()].clone().into()),
                    })
                    .collect::<Vec<_>>()
            },
            |events| {
                let mut state = new_state();
                for event in events {
                    update(&mut state, Msg::Source(event));
                }
                black_box(state.pane(Tab::Pipelines).rows.len())
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn key_presses(c: &mut Criterion) {
    // 100,000 runs: moving the cursor must not cost in proportion to them.
    let base = snapshots(1).remove(0);
    let mut big = Snapshot::default();
    for i in 0..100_000 {
        let mut run = base.pipelines[i % base.pipelines.len()].clone();
        run.id = format!("r{i}");
        big.pipelines.push(run);
    }
    let mut state = new_state();
    update(
        &mut state,
        Msg::Source(SourceEvent {
            source: 0,
            at: Utc::now(),
            result: Ok(big.into()),
        }),
    );
    update(&mut state, Msg::Command(Command::TabPipelines));
    let mut group = c.benchmark_group("update");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("10k cursor moves on 100k runs", |b| {
        b.iter(|| {
            for i in 0..EVENTS {
                let command = if i % 2 == 0 {
                    Command::Down
                } else {
                    Command::PageDown
                };
                update(&mut state, Msg::Command(command));
            }
            update(&mut state, Msg::Command(Command::Top));
            black_box(state.pane(Tab::Pipelines).selected)
        })
    });
    group.finish();

    // Typing into the filter: each keystroke filters 100,000 runs (it must
    // not sort them again).
    update(&mut state, Msg::Command(Command::Filter));
    let key = |code| Msg::Key(KeyEvent::new(code, KeyModifiers::NONE));
    let mut group = c.benchmark_group("update");
    group.sample_size(20);
    group.bench_function("a filter keystroke and its backspace on 100k runs", |b| {
        b.iter(|| {
            update(&mut state, key(KeyCode::Char('m')));
            update(&mut state, key(KeyCode::Backspace));
            black_box(state.pane(Tab::Pipelines).rows.len())
        })
    });
    group.finish();
}

// ---- a burst on a large estate ----------------------------------------------
//
// 10,000 Argo CD apps (each event is the source's whole snapshot with one app
// changed, as its stream sends) beside a GitHub source of 50 repositories ×
// 200 runs. Building each event (a 10,000-app snapshot) is not timed.

const ESTATE_APPS: usize = 10_000;
const ESTATE_REPOS: usize = 50;
const RUNS_PER_REPO: usize = 200;
/// Events in the measured burst.
const BURST: usize = 1_000;

fn estate_time(minutes: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time")
        + chrono::Duration::minutes(minutes)
}

fn estate_app(i: usize) -> GitOpsApp {
    GitOpsApp {
        health_since: None,
        error: None,
        source: "argocd".into(),
        name: format!("app-{i:05}"),
        namespace: format!("team-{}", i % 40),
        cluster: String::new(),
        sync: SyncStatus::Synced,
        health: if i % 97 == 0 {
            Health::Degraded
        } else {
            Health::Healthy
        },
        health_message: None,
        revision: Some(format!("{i:040x}")),
        target_revision: None,
        out_of_sync: Vec::new(),
        auto_sync: true,
        suspended: false,
        last_operation: None,
        history: Vec::new(),
        last_change: Some(estate_time(i as i64)),
        repo_url: None,
        path: None,
        production: false,
        repo: None,
        linked: None,
        pending: None,
        revision_commit: None,
        images: Vec::new(),
        plan: None,
    }
}

fn estate_run(repo: usize, n: usize) -> PipelineRun {
    let i = repo * RUNS_PER_REPO + n;
    PipelineRun {
        error: None,
        source: "github".into(),
        id: format!("{}", 1_000_000 + i),
        pipeline: "ci".into(),
        pipeline_id: "ci.yml".into(),
        project: format!("org/repo-{repo}"),
        branch: if n % 3 == 0 { "main" } else { "feature" }.into(),
        commit: format!("{i:040x}"),
        actor: "dev".into(),
        event: "push".into(),
        status: if i % 13 == 0 {
            RunStatus::Failure
        } else {
            RunStatus::Success
        },
        raw_status: None,
        awaiting_approval: None,
        attempt: 1,
        created_at: Some(estate_time((i * 7 % 10_007) as i64)),
        started_at: Some(estate_time((i * 7 % 10_007) as i64)),
        updated_at: Some(estate_time((i * 7 % 10_007) as i64 + 5)),
        duration: None,
        url: None,
        jobs: None,
        paused: false,
        details: Vec::new(),
    }
}

/// The estate loaded once: Argo CD is source 0, GitHub source 1.
fn estate_state(apps: &[GitOpsApp]) -> State {
    let gitops = Provides {
        gitops: true,
        ..Provides::default()
    };
    let pipelines = Provides {
        pipelines: true,
        ..Provides::default()
    };
    let mut state = State::new(
        vec![
            SourceState::new("argocd", "argocd", gitops, false),
            SourceState::new("github", "github", pipelines, false),
        ],
        Keymap::default(),
        false,
        estate_time(0),
    );
    let runs = (0..ESTATE_REPOS)
        .flat_map(|r| (0..RUNS_PER_REPO).map(move |n| estate_run(r, n)))
        .collect();
    for (source, snapshot) in [
        (
            0,
            Snapshot {
                apps: apps.to_vec(),
                ..Snapshot::default()
            },
        ),
        (
            1,
            Snapshot {
                pipelines: runs,
                ..Snapshot::default()
            },
        ),
    ] {
        update(
            &mut state,
            Msg::Source(SourceEvent {
                source,
                at: estate_time(0),
                result: Ok(snapshot.into()),
            }),
        );
    }
    state
}

/// Event `n` of the burst: the Argo CD snapshot with one app's health flipped.
fn estate_event(apps: &[GitOpsApp], n: usize) -> Msg {
    let changed = (n * 7_919) % apps.len();
    let mut apps = apps.to_vec();
    flip_health(&mut apps[changed]);
    Msg::Source(SourceEvent {
        source: 0,
        at: estate_time(n as i64),
        result: Ok(Snapshot {
            apps,
            ..Snapshot::default()
        }
        .into()),
    })
}

/// Degraded ↔ progressing: the change each burst event makes.
fn flip_health(app: &mut GitOpsApp) {
    app.health = if app.health == Health::Degraded {
        Health::Progressing
    } else {
        Health::Degraded
    };
}

/// Event `n` as a live feed sends it now: only the app it changed.
fn estate_change(apps: &[GitOpsApp], n: usize) -> Msg {
    let changed = (n * 7_919) % apps.len();
    let mut app = apps[changed].clone();
    flip_health(&mut app);
    Msg::Source(SourceEvent {
        source: 0,
        at: estate_time(n as i64),
        result: Ok(opsdeck::sources::Update::Apps(
            opsdeck::sources::AppChanges {
                changed: vec![app],
                ..Default::default()
            },
        )),
    })
}

/// A burst of `BURST` events made by `event`, applied as the event loop
/// does (every event, then one settle), timed; asserts one rebuild.
fn as_one_batch(
    b: &mut criterion::Bencher<'_>,
    apps: &[GitOpsApp],
    event: fn(&[GitOpsApp], usize) -> Msg,
) {
    b.iter_custom(|iters| {
        let mut spent = std::time::Duration::ZERO;
        for _ in 0..iters {
            let mut state = estate_state(apps);
            let rebuilds = state.derived.rebuilds;
            for n in 0..BURST {
                let event = event(apps, n);
                let started = std::time::Instant::now();
                apply(&mut state, event);
                spent += started.elapsed();
            }
            let started = std::time::Instant::now();
            settle(&mut state);
            spent += started.elapsed();
            assert_eq!(
                state.derived.rebuilds,
                rebuilds + 1,
                "one rebuild per batch"
            );
            black_box(state.pane(Tab::GitOps).rows.len());
        }
        spent
    })
}

fn burst(c: &mut Criterion) {
    let apps: Vec<GitOpsApp> = (0..ESTATE_APPS).map(estate_app).collect();
    let mut group = c.benchmark_group("burst");
    group.throughput(Throughput::Elements(BURST as u64));
    group.sample_size(10);
    // `update` settles after every event: links and rows rebuilt per event.
    group.bench_function("1k events on 10k apps + 10k runs, one at a time", |b| {
        b.iter_custom(|iters| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..iters {
                let mut state = estate_state(&apps);
                for n in 0..BURST {
                    let event = estate_event(&apps, n);
                    let started = std::time::Instant::now();
                    update(&mut state, event);
                    spent += started.elapsed();
                }
                black_box(state.pane(Tab::GitOps).rows.len());
            }
            spent
        })
    });
    // The event loop's path: apply every event, then settle once.
    group.bench_function("1k events on 10k apps + 10k runs, as one batch", |b| {
        as_one_batch(b, &apps, estate_event)
    });
    // What the Argo CD stream and the kube watches send now: the changed
    // apps only, applied in place, then one settle.
    group.bench_function(
        "1k changed apps on 10k apps + 10k runs, as one batch",
        |b| as_one_batch(b, &apps, estate_change),
    );
    group.finish();
}

criterion_group!(benches, source_events, key_presses, burst);
criterion_main!(benches);
