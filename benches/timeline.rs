//! Building the timeline and its link index (what `settle` does once per
//! batch) for 10,000 runs, 2,000 apps with 20 history entries each and
//! 200 models with 3 h series at one point a minute, each model served by
//! an app and every fifth run's commit deployed somewhere. Goal: < 50 ms.
//! (The wall times leave out dropping the built timeline: criterion's
//! `iter_with_large_drop`.) And what the dashboard does after a batch: the built timeline updated
//! after three apps changed in place (a live feed's batch) — a small
//! fraction of a whole build — and with one source's snapshot replaced.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use opsdeck::model::{
    Deployment, GitOpsApp, Health, Metric, ModelDrift, PipelineRun, RunStatus, Snapshot,
    SyncStatus, Timestamp, Worse,
};
use opsdeck::timeline::{Changed, Settings, SourceView, Timeline};

/// Counts the bytes held, to report what a built timeline keeps.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a plain syscall with a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .expect("time")
}

fn sha(n: usize) -> String {
    format!(
        "{:040x}",
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15) as u128 * 7919 + n as u128
    )
}

fn estate() -> Vec<(String, Snapshot)> {
    let now = now();
    let runs = (0..10_000)
        .map(|i| PipelineRun {
            source: "ci".into(),
            id: i.to_string(),
            pipeline: "build".into(),
            pipeline_id: "1".into(),
            project: format!("org/repo-{}", i % 50),
            branch: "main".into(),
            commit: sha(i / 5),
            actor: "alice".into(),
            event: "push".into(),
            status: if i % 7 == 0 {
                RunStatus::Failure
            } else {
                RunStatus::Success
            },
            raw_status: None,
            awaiting_approval: None,
            attempt: 1,
            created_at: Some(now - chrono::Duration::seconds(i as i64 * 8)),
            started_at: Some(now - chrono::Duration::seconds(i as i64 * 8)),
            updated_at: Some(now - chrono::Duration::seconds(i as i64 * 8 - 60)),
            duration: Some(Duration::from_secs(60)),
            url: None,
            jobs: None,
            paused: false,
            details: Vec::new(),
            error: None,
        })
        .collect();
    let apps = (0..2_000)
        .map(|a| GitOpsApp {
            source: "argo".into(),
            name: format!("app-{a}"),
            namespace: format!("ns-{}", a % 40),
            cluster: format!("c-{}", a % 5),
            sync: SyncStatus::Synced,
            health: if a % 11 == 0 {
                Health::Degraded
            } else {
                Health::Healthy
            },
            health_message: None,
            health_since: Some(now - chrono::Duration::minutes((a % 60) as i64)),
            images: Vec::new(),
            plan: None,
            revision: Some(sha(a)),
            target_revision: Some(sha(a)),
            out_of_sync: Vec::new(),
            auto_sync: true,
            suspended: false,
            last_operation: None,
            history: (0..20)
                .map(|h| Deployment {
                    id: (100 - h).to_string(),
                    revision: sha(a + h * 2_000),
                    deployed_at: Some(now - chrono::Duration::minutes((h * 60 + a % 60) as i64)),
                    started_at: None,
                    failed: false,
                    author: Some("bob".into()),
                    message: None,
                })
                .collect(),
            last_change: None,
            repo_url: None,
            path: None,
            production: false,
            repo: None,
            linked: None,
            pending: None,
            revision_commit: None,
            error: None,
        })
        .collect();
    let models = (0..200)
        .map(|m| ModelDrift {
            source: "ml".into(),
            model: format!("model-{m}"),
            alias: "champion".into(),
            version: Some("3".into()),
            versions: Vec::new(),
            metrics: vec![Metric {
                name: "psi".into(),
                feature: None,
                value: Some(0.3),
                warn: 0.1,
                critical: 0.25,
                worse: Worse::Above,
                series: (0..180)
                    .map(|t| {
                        let v = if t > 100 + m % 50 { 0.3 } else { 0.05 };
                        (now - chrono::Duration::minutes(180 - t as i64), v)
                    })
                    .collect(),
            }],
            drifting_since: None,
            episodes: None,
            sample_count: None,
            production: true,
            serving: Some(format!("argo/app-{}", m * 10)),
            train: None,
            error: None,
        })
        .collect();
    vec![
        (
            "ci".into(),
            Snapshot {
                pipelines: runs,
                ..Snapshot::default()
            },
        ),
        (
            "argo".into(),
            Snapshot {
                apps,
                ..Snapshot::default()
            },
        ),
        (
            "ml".into(),
            Snapshot {
                models,
                ..Snapshot::default()
            },
        ),
    ]
}

fn build(c: &mut Criterion) {
    let estate = estate();
    let views: Vec<SourceView> = estate
        .iter()
        .map(|(n, s)| SourceView {
            name: n,
            snapshot: s,
        })
        .collect();
    let settings = Settings::default();
    let held = HELD.load(Ordering::Relaxed);
    let built = Timeline::build(&views, &[], &settings, now());
    let with_links = HELD.load(Ordering::Relaxed) - held;
    let links: usize = built.events.iter().map(|e| e.links.len()).sum();
    drop(built);
    let held = HELD.load(Ordering::Relaxed);
    let mut unlinked = Timeline::default();
    unlinked.update(&views, &Changed::all(), &[], &settings, now());
    let without_links = HELD.load(Ordering::Relaxed) - held;
    println!(
        "timeline: {} events, {} links (10,000 runs, 2,000 apps x 20 deploys, 200 models x 180 points); \
         it holds {:.1} MB with its links (headless), {:.1} MB without (the dashboard's)",
        unlinked.events.len(),
        links,
        with_links as f64 / 1e6,
        without_links as f64 / 1e6
    );
    drop(unlinked);
    // CPU time (this thread's), which the machine's load does not inflate
    // as it does the wall times below.
    let cpu_ms = |f: &mut dyn FnMut()| {
        let runs = 10;
        let started = thread_cpu();
        for _ in 0..runs {
            f();
        }
        (thread_cpu() - started).as_secs_f64() * 1e3 / f64::from(runs)
    };
    let mut kept = Timeline::default();
    kept.update(&views, &Changed::all(), &[], &settings, now());
    let mut three = Changed::default();
    three.apps("argo", ["app-7", "app-1001", "app-1999"]);
    println!(
        "cpu time (each build dropped again, as the wall times below do not count): \
         a whole build with links {:.1} ms, without links (the dashboard's) {:.1} ms; \
         updated after 3 apps changed in place {:.1} ms",
        cpu_ms(&mut || drop(black_box(Timeline::build(&views, &[], &settings, now())))),
        cpu_ms(&mut || {
            let mut t = Timeline::default();
            t.update(&views, &Changed::all(), &[], &settings, now());
            drop(black_box(t))
        }),
        cpu_ms(&mut || {
            kept.update(&views, &three, &[], &settings, now());
            black_box(kept.events.len());
        }),
    );
    let mut group = c.benchmark_group("timeline");
    group.sample_size(10);
    group.bench_function("build 10k runs + 2k apps x 20 + 200 models x 3h", |b| {
        b.iter_with_large_drop(|| Timeline::build(&views, &[], &settings, now()))
    });
    // The dashboard's path: built once without links (no view shows
    // them), then updated after each batch.
    group.bench_function("build without links (the dashboard's)", |b| {
        b.iter_with_large_drop(|| {
            let mut t = Timeline::default();
            t.update(&views, &Changed::all(), &[], &settings, now());
            t
        })
    });
    group.bench_function("update after 3 apps changed in place", |b| {
        b.iter(|| {
            kept.update(&views, &three, &[], &settings, now());
            black_box(kept.events.len())
        })
    });
    let mut runs = Changed::default();
    runs.whole("ci");
    group.bench_function("update after the 10k runs' snapshot was replaced", |b| {
        b.iter(|| {
            kept.update(&views, &runs, &[], &settings, now());
            black_box(kept.events.len())
        })
    });
    group.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
