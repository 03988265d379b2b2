//! Soak: the demo fleet, incidents on, driven for the equivalent of 24
//! hours of 2-second steps (43,200 snapshots) through `update`, the way the
//! dashboard applies them, with the clock ticking and the engineer moving
//! about. Every two simulated hours it records the process's RSS and the
//! size of every history the fleet and the state keep; it reports whether
//! RSS stayed flat (within 10 % after warm-up: the first two hours, and
//! until the timeline's own events have filled their cap) and
//! whether every history stayed under its cap. It reports; it does not gate.
//!
//! `cargo bench --bench soak` runs the whole day; run as a test
//! (`cargo test --benches`, no `--bench` argument) it runs two simulated
//! hours, to check that it still works.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use opsdeck::app::state::{MAX_EXTRA, SourceState, Tab};
use opsdeck::app::{Command, Keymap, Msg, State, update};
use opsdeck::model::{Provides, Snapshot};
use opsdeck::sources::SourceEvent;
use opsdeck::sources::demo::DemoFleet;

const STEP: Duration = Duration::from_secs(2);
/// One simulated day of steps.
const DAY_STEPS: u64 = 24 * 3600 / 2;
/// A sample every two simulated hours.
const SAMPLE_EVERY: u64 = 2 * 3600 / 2;
/// RSS may grow this much after warm-up.
const RSS_TOLERANCE: f64 = 0.10;

/// What one sample records.
struct Sample {
    hours: u64,
    rss_kib: u64,
    runs: usize,
    history: usize,
    longest_history: usize,
    series_points: usize,
    longest_series: usize,
    rows: usize,
    /// The timeline's own events kept (transitions seen, outcomes).
    extra: usize,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn sample(hours: u64, snapshot: &Snapshot, state: &State) -> Sample {
    Sample {
        hours,
        rss_kib: rss_kib(),
        runs: snapshot.pipelines.len(),
        history: snapshot.apps.iter().map(|a| a.history.len()).sum(),
        longest_history: snapshot
            .apps
            .iter()
            .map(|a| a.history.len())
            .max()
            .unwrap_or(0),
        series_points: snapshot
            .models
            .iter()
            .flat_map(|m| &m.metrics)
            .map(|m| m.series.len())
            .sum(),
        longest_series: snapshot
            .models
            .iter()
            .flat_map(|m| &m.metrics)
            .map(|m| m.series.len())
            .max()
            .unwrap_or(0),
        rows: [Tab::Overview, Tab::Pipelines, Tab::GitOps, Tab::Drift]
            .iter()
            .map(|t| state.pane(*t).rows.len())
            .sum(),
        extra: state.timeline.extra.len(),
    }
}

/// What the engineer does now and then: switch tabs, move, open and close
/// a detail, filter and clear it.
const WANDER: &[Command] = &[
    Command::TabPipelines,
    Command::Down,
    Command::Open,
    Command::Back,
    Command::TabGitops,
    Command::Down,
    Command::Open,
    Command::Back,
    Command::TabDrift,
    Command::Open,
    Command::Back,
    Command::TabOverview,
];

fn main() -> ExitCode {
    let full = std::env::args().any(|a| a == "--bench");
    let steps = if full { DAY_STEPS } else { SAMPLE_EVERY };
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid start time");
    let mut fleet = DemoFleet::with_step(42, start, true, STEP);
    let mut state = State::new(
        vec![SourceState::new("demo", "demo", Provides::ALL, false)],
        Keymap::default(),
        false,
        start,
    );
    update(&mut state, Msg::Resize(160, 48));
    let began = Instant::now();
    let mut samples = Vec::new();
    let mut last = Snapshot::default();
    for step in 1..=steps {
        fleet.step();
        let snapshot = fleet.snapshot("demo");
        if step % SAMPLE_EVERY == 0 {
            last = snapshot.clone();
        }
        update(
            &mut state,
            Msg::Source(SourceEvent {
                source: 0,
                at: fleet.now(),
                result: Ok(snapshot.into()),
            }),
        );
        update(&mut state, Msg::Tick(fleet.now()));
        // As the dashboard's loop does after each batch (for notifications).
        drop(state.problems.take_events());
        if step % 97 == 0 {
            let command = WANDER[(step / 97) as usize % WANDER.len()];
            update(&mut state, Msg::Command(command));
        }
        if step % SAMPLE_EVERY == 0 {
            samples.push(sample(step * 2 / 3600, &last, &state));
        }
    }
    let took = began.elapsed();

    println!(
        "soak: {} steps ({} simulated hours) in {:.1} s, {:.0} µs per step",
        steps,
        steps * 2 / 3600,
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / steps as f64
    );
    println!("hours  rss_kib  runs  history  longest  points  longest  rows  extra");
    for s in &samples {
        println!(
            "{:>5}  {:>7}  {:>4}  {:>7}  {:>7}  {:>6}  {:>7}  {:>4}  {:>5}",
            s.hours,
            s.rss_kib,
            s.runs,
            s.history,
            s.longest_history,
            s.series_points,
            s.longest_series,
            s.rows,
            s.extra
        );
    }
    // Warm-up: the first two hours, and until the timeline's own events
    // reach their cap (then nothing retained grows any more). The growth
    // while they fill is reported on its own.
    let full = samples
        .iter()
        .position(|s| s.extra >= MAX_EXTRA)
        .unwrap_or(samples.len());
    let settled = match samples.get(full.max(1)..) {
        Some(rest) if !rest.is_empty() => rest,
        _ => &samples[samples.len().saturating_sub(1)..],
    };
    if let (Some(first), Some(filled)) = (samples.get(1), settled.first()) {
        println!(
            "while the timeline's own events fill to their cap of {MAX_EXTRA} (hour {} to {}): {} → {} KiB",
            first.hours, filled.hours, first.rss_kib, filled.rss_kib
        );
    }
    let low = settled.iter().map(|s| s.rss_kib).min().unwrap_or(0).max(1);
    let high = settled.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let growth = high as f64 / low as f64 - 1.0;
    println!(
        "rss after warm-up ({}): {low}–{high} KiB, growth {:.1} % (goal ≤ {:.0} %): {}",
        if full < samples.len() {
            "every cap reached"
        } else {
            "a short run: the caps not reached yet"
        },
        growth * 100.0,
        RSS_TOLERANCE * 100.0,
        if growth <= RSS_TOLERANCE {
            "met"
        } else {
            "NOT met"
        }
    );
    let first = settled.first();
    let flat = |f: fn(&Sample) -> usize| {
        settled
            .iter()
            .all(|s| first.is_some_and(|first| f(s) <= f(first).max(1) * 2))
    };
    println!(
        "histories bounded (no sample holds more than twice the first settled one): runs {}, deploy history {}, series {}, rows {}",
        flat(|s| s.runs),
        flat(|s| s.history),
        flat(|s| s.series_points),
        flat(|s| s.rows)
    );
    ExitCode::SUCCESS
}
