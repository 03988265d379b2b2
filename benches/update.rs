//! `update` throughput: 10,000 source events (each a full demo snapshot,
//! rebuilding every tab's rows), and 10,000 key presses on 100,000 runs.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::app::state::{SourceState, Tab};
use opsdeck::app::{Command, Keymap, Msg, State, update};
use opsdeck::model::{Provides, Snapshot};
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
                        result: Ok(distinct[i % distinct.len()].clone()),
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
            result: Ok(big),
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

criterion_group!(benches, source_events, key_presses);
criterion_main!(benches);
