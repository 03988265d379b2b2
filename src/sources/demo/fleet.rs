//! The simulated estate behind the demo source: deterministic for a seed,
//! moving one step at a time like a real fleet does, and reacting to actions.
//! This file holds the fleet itself and its clock; each part of the estate
//! (runs, apps, models) is made up and moved in a file of its own.

pub(super) mod act;
mod apps;
mod cast;
mod job_log;
mod models;
mod runs;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{GitOpsApp, Health, ModelDrift, PipelineRun, Snapshot, Timestamp};

pub use job_log::dispatch_form;

/// Simulated time between two steps.
pub const STEP_INTERVAL: Duration = Duration::from_secs(2);

/// Per-run simulation state beside the domain object.
#[derive(Clone, Debug)]
struct SimRun {
    run: PipelineRun,
    /// Steps left until it finishes (while running).
    remaining: u32,
    total: u32,
    /// Whether it will fail, and in which job.
    fails_at: Option<usize>,
    /// A cancel was sent; a publish stuck on its upload ignores it, so a
    /// Release run needs a force-cancel.
    cancel_requested: bool,
}

#[derive(Clone, Debug)]
struct SimApp {
    app: GitOpsApp,
    /// Revisions that break the app when deployed.
    bad_revisions: BTreeSet<String>,
    /// Subject of each commit pushed during the demo, by revision.
    subjects: BTreeMap<String, String>,
    /// Steps until a pending out-of-sync change gets synced by "a colleague".
    human_sync_in: Option<u32>,
    /// Steps until health settles after a deploy.
    settle_in: Option<u32>,
    next_history_id: u64,
    /// Health before suspension, restored on resume.
    health_before_suspend: Option<Health>,
}

#[derive(Clone, Debug)]
struct SimModel {
    model: ModelDrift,
    /// How fast each metric's drift grows per step (0 = random walk).
    creep: Vec<f64>,
}

/// The whole simulated fleet.
#[derive(Clone, Debug)]
pub struct DemoFleet {
    rng: ChaCha8Rng,
    now: Timestamp,
    step_len: Duration,
    steps: u64,
    incidents: bool,
    next_run_id: u64,
    runs: Vec<SimRun>,
    apps: Vec<SimApp>,
    models: Vec<SimModel>,
}

impl DemoFleet {
    /// A fleet at `start`, with history made up before it.
    pub fn new(seed: u64, start: Timestamp, incidents: bool) -> Self {
        Self::with_step(seed, start, incidents, STEP_INTERVAL)
    }

    pub fn with_step(seed: u64, start: Timestamp, incidents: bool, step_len: Duration) -> Self {
        let mut fleet = DemoFleet {
            rng: ChaCha8Rng::seed_from_u64(seed),
            now: start,
            step_len,
            steps: 0,
            incidents,
            next_run_id: 4100,
            runs: Vec::new(),
            apps: Vec::new(),
            models: Vec::new(),
        };
        fleet.seed_runs();
        fleet.seed_apps();
        fleet.seed_models();
        fleet
    }

    /// The fleet's clock.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Advance one step: runs start and finish, apps drift and heal, metrics move.
    pub fn step(&mut self) {
        self.now += chrono::Duration::from_std(self.step_len).unwrap_or_default();
        self.steps += 1;
        self.step_runs();
        self.step_apps();
        self.step_models();
    }

    /// Step until the clock reaches `now`.
    pub fn advance_to(&mut self, now: Timestamp) {
        let step = chrono::Duration::from_std(self.step_len).unwrap_or_default();
        while self.now + step <= now {
            self.step();
        }
    }

    /// The log of one job of a run as far as it got.
    pub fn job_log(&self, run: &str, job: &str) -> Result<String, String> {
        job_log::job_log(self, run, job)
    }

    /// What a backend would answer now.
    pub fn snapshot(&self, source: &str) -> Snapshot {
        let mut pipelines: Vec<PipelineRun> = self.runs.iter().map(|r| r.run.clone()).collect();
        let mut apps: Vec<GitOpsApp> = self.apps.iter().map(|a| a.app.clone()).collect();
        let mut models: Vec<ModelDrift> = self.models.iter().map(|m| m.model.clone()).collect();
        pipelines
            .iter_mut()
            .for_each(|r| r.source = source.to_string());
        apps.iter_mut().for_each(|a| a.source = source.to_string());
        for m in &mut models {
            m.source = source.to_string();
            m.serving = cast::SERVING
                .iter()
                .find(|(model, _)| *model == m.model)
                .map(|(_, app)| format!("{source}/{app}"));
        }
        Snapshot {
            problems: Vec::new(),
            registries: Vec::new(),
            pipelines,
            apps,
            models,
        }
    }

    /// A made-up commit SHA; like every made-up value, from the seeded generator.
    fn sha(&mut self) -> String {
        (0..40)
            .map(|_| char::from_digit(self.rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }
}
