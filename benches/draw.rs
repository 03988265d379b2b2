//! Drawing the Pipelines tab costs the same with 100 or 100,000 runs: only
//! the visible rows are built.

use std::hint::black_box;
use std::time::Duration;

use chrono::TimeZone;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use opsdeck::app::Keymap;
use opsdeck::app::state::{RowRef, SourceState, State, Tab};
use opsdeck::model::{PipelineRun, Provides, RunStatus, Timestamp};
use opsdeck::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZE: (u16, u16) = (160, 48);
const STATUSES: [RunStatus; 5] = [
    RunStatus::Success,
    RunStatus::Failure,
    RunStatus::Running,
    RunStatus::Queued,
    RunStatus::Cancelled,
];

fn now() -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2025, 3, 14, 9, 0, 0)
        .single()
        .expect("valid time")
}

fn run(i: usize) -> PipelineRun {
    let started = now() - chrono::Duration::seconds(30 * i as i64 + 5);
    let status = STATUSES[i % STATUSES.len()];
    PipelineRun {
        error: None,
        source: "ci".into(),
        id: (100_000 + i).to_string(),
        pipeline: ["CI", "Deploy", "Release", "nightly"][i % 4].into(),
        pipeline_id: ["ci.yml", "deploy.yml", "release.yml", "nightly.yml"][i % 4].into(),
        project: ["acme/web", "acme/payments", "acme/checkout"][i % 3].into(),
        branch: [
            "main",
            "release/2.4",
            "fix/login-timeout",
            "feat/faster-search",
        ][i % 4]
            .into(),
        commit: format!("{:040x}", i as u128 * 0x9e37_79b9_7f4a_7c15),
        actor: ["alice", "bob", "carol", "dmitri"][i % 4].into(),
        event: "push".into(),
        status,
        raw_status: None,
        awaiting_approval: None,
        attempt: 1 + (i % 3) as u32,
        created_at: Some(started - chrono::Duration::seconds(3)),
        started_at: Some(started),
        updated_at: Some(started + chrono::Duration::seconds(60)),
        duration: (!status.is_active()).then(|| Duration::from_secs(40 + (i % 300) as u64)),
        url: Some(format!("https://ci.example.invalid/runs/{i}")),
        jobs: None,
        paused: false,
        details: Vec::new(),
    }
}

/// A state on the Pipelines tab with `n` runs, the selection in the middle.
fn state_with_runs(n: usize) -> State {
    let mut source = SourceState::new(
        "ci",
        "demo",
        Provides {
            pipelines: true,
            ..Provides::default()
        },
        false,
    );
    source.snapshot.pipelines = (0..n).map(run).collect();
    source.updated_at = Some(now());
    let mut state = State::new(vec![source], Keymap::default(), false, now());
    state.size = SIZE;
    state.tab = Tab::Pipelines;
    let pane = state.pane_mut(Tab::Pipelines);
    pane.rows = (0..n as u32)
        .map(|index| RowRef {
            tab: Tab::Pipelines,
            source: 0,
            index,
        })
        .collect();
    pane.selected = n / 2;
    pane.offset = (n / 2).saturating_sub(20);
    state
}

fn draw_pipelines(c: &mut Criterion) {
    let theme = Theme::builtin("default").expect("default theme");
    let mut group = c.benchmark_group("draw_pipelines_160x48");
    for n in [100, 100_000] {
        let state = state_with_runs(n);
        let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).expect("test terminal");
        group.bench_with_input(BenchmarkId::from_parameter(n), &state, |b, state| {
            b.iter(|| {
                terminal
                    .draw(|frame| opsdeck::ui::draw(frame, black_box(state), &theme))
                    .expect("draw");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, draw_pipelines);
criterion_main!(benches);
