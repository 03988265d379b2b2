//! The simulated estate behind the demo source: deterministic for a seed,
//! moving one step at a time like a real fleet does, and reacting to actions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{
    Deployment, GitOpsApp, Health, Job, Metric, ModelDrift, ModelVersion, Operation,
    OperationPhase, PipelineRun, ResourceRef, RunStatus, Snapshot, Step, SyncStatus, Timestamp,
    Worse, short_rev,
};

/// Simulated time between two steps.
pub const STEP_INTERVAL: Duration = Duration::from_secs(2);
/// Runs kept; older ones fall off as a CI backend's first page would.
const MAX_RUNS: usize = 120;
/// Points kept per metric series.
const MAX_SERIES: usize = 90;
/// Where the demo's links point: a reserved name, never a real host.
const URL_BASE: &str = "https://ci.demo.invalid";

const PROJECTS: &[(&str, &[&str])] = &[
    ("acme/web", &["CI", "Deploy"]),
    ("acme/payments", &["CI", "Release"]),
    ("acme/checkout", &["CI"]),
    ("ml/churn-model", &["train"]),
];
const BRANCHES: &[&str] = &[
    "main",
    "main",
    "main",
    "release/2.4",
    "feat/faster-search",
    "fix/login-timeout",
];
const ACTORS: &[&str] = &["alice", "bob", "carol", "dmitri", "erin", "renovate[bot]"];
const EVENTS: &[&str] = &[
    "push",
    "push",
    "pull_request",
    "schedule",
    "workflow_dispatch",
];
const COMMIT_SUBJECTS: &[&str] = &[
    "bump payments-api to 2.4.1",
    "raise memory limit for worker",
    "enable canary for checkout",
    "roll out new TLS ciphers",
    "scale search replicas to 6",
    "update feature flags",
    "pin base image to debian 12.8",
    "add readiness probe",
];

/// (name, namespace, cluster, production, auto-sync, kinds managed)
const APPS: &[(&str, &str, &str, bool, bool)] = &[
    ("payments", "payments", "prod-eu", true, false),
    ("checkout", "checkout", "prod-eu", true, true),
    ("web", "web", "prod-us", true, false),
    ("billing-worker", "billing", "prod-us", true, false),
    ("search", "search", "staging", false, true),
    ("inventory", "inventory", "staging", false, false),
];

/// (model, serving version number, features)
const MODELS: &[(&str, u32, &[&str])] = &[
    ("churn", 7, &["tenure", "age", "monthly_spend", "region"]),
    ("fraud", 12, &["amount", "merchant_risk", "hour"]),
    ("eta", 21, &["distance", "traffic"]),
    ("recommender", 3, &["clicks_7d", "category"]),
];

const PSI_WARN: f64 = 0.1;
const PSI_CRITICAL: f64 = 0.25;
const KS_P_WARN: f64 = 0.05;
const KS_P_CRITICAL: f64 = 0.01;
const SHARE_WARN: f64 = 0.3;
const SHARE_CRITICAL: f64 = 0.5;

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
        act::job_log(self, run, job)
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
        models
            .iter_mut()
            .for_each(|m| m.source = source.to_string());
        Snapshot {
            pipelines,
            apps,
            models,
        }
    }

    // ---- pipelines -------------------------------------------------------

    fn sha(&mut self) -> String {
        (0..40)
            .map(|_| char::from_digit(self.rng.random_range(0..16), 16).unwrap_or('0'))
            .collect()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    fn jobs_for(pipeline: &str) -> &'static [&'static str] {
        match pipeline {
            "Deploy" => &["build-image", "deploy"],
            "Release" => &["build", "sign", "publish"],
            "train" => &["prepare-data", "train", "evaluate"],
            _ => &["lint", "build", "test"],
        }
    }

    fn new_run(&mut self, created: Timestamp) -> SimRun {
        let (project, pipelines) = PROJECTS[self.rng.random_range(0..PROJECTS.len())];
        let pipeline = self.pick(pipelines);
        let branch = self.pick(BRANCHES);
        let actor = self.pick(ACTORS);
        let event = self.pick(EVENTS);
        let commit = self.sha();
        let id = self.next_run_id;
        self.next_run_id += 1;
        let total = self.rng.random_range(4..14);
        let job_names = Self::jobs_for(pipeline);
        let fails_at = (self.incidents && self.rng.random_bool(0.25))
            .then(|| self.rng.random_range(0..job_names.len()));
        let jobs = Self::make_jobs(pipeline, &id.to_string(), project);
        SimRun {
            run: PipelineRun {
                source: String::new(),
                id: id.to_string(),
                pipeline: pipeline.to_string(),
                pipeline_id: format!("{project}:{pipeline}"),
                project: project.to_string(),
                branch: branch.to_string(),
                commit,
                actor: actor.to_string(),
                event: event.to_string(),
                status: RunStatus::Queued,
                raw_status: None,
                attempt: 1,
                created_at: Some(created),
                started_at: None,
                updated_at: Some(created),
                duration: None,
                url: Some(format!("{URL_BASE}/{project}/runs/{id}")),
                jobs: Some(jobs),
            },
            remaining: total,
            total,
            fails_at,
            cancel_requested: false,
        }
    }

    fn seed_runs(&mut self) {
        // Six hours of history, oldest first, all finished.
        for i in (1..=36).rev() {
            let created =
                self.now - chrono::Duration::minutes(i * 10 + self.rng.random_range(0..9));
            let mut run = self.new_run(created);
            run.run.started_at =
                Some(created + chrono::Duration::seconds(self.rng.random_range(2..40)));
            run.remaining = 0;
            Self::finish(&mut run, self.step_len);
            self.runs.push(run);
        }
        if self.incidents {
            // Make sure the newest payments CI on main is red when the demo opens.
            let created = self.now - chrono::Duration::minutes(4);
            let mut run = self.new_run(created);
            run.run.project = "acme/payments".into();
            run.run.pipeline = "CI".into();
            run.run.branch = "main".into();
            run.run.jobs = Some(Self::make_jobs("CI", &run.run.id, "acme/payments"));
            run.run.url = Some(format!("{URL_BASE}/acme/payments/runs/{}", run.run.id));
            run.total = run.total.max(3);
            run.fails_at = Some(2);
            run.run.started_at = Some(created);
            run.remaining = 0;
            Self::finish(&mut run, self.step_len);
            self.runs.push(run);
        }
        for _ in 0..3 {
            let run = self.new_run(self.now);
            self.runs.push(run);
        }
    }

    fn make_jobs(pipeline: &str, id: &str, project: &str) -> Vec<Job> {
        Self::jobs_for(pipeline)
            .iter()
            .enumerate()
            .map(|(i, name)| Job {
                id: format!("{id}-{i}"),
                name: name.to_string(),
                status: RunStatus::Queued,
                started_at: None,
                duration: None,
                url: Some(format!("{URL_BASE}/{project}/runs/{id}/jobs/{i}")),
                steps: ["Set up job", "Checkout", &format!("Run {name}"), "Post"]
                    .iter()
                    .map(|s| Step {
                        name: s.to_string(),
                        status: RunStatus::Queued,
                        duration: None,
                    })
                    .collect(),
            })
            .collect()
    }

    /// Set jobs and steps to match how far the run got.
    fn lay_out_jobs(run: &mut SimRun, step_len: Duration) {
        let Some(started) = run.run.started_at else {
            return;
        };
        let n_jobs = run.run.jobs.as_ref().map_or(0, Vec::len).max(1);
        let done_steps = run.total.saturating_sub(run.remaining);
        let per_job = (run.total as usize).div_ceil(n_jobs).max(1);
        let job_len = step_len * per_job as u32;
        let fails_at = run.fails_at;
        let finished = !run.run.status.is_active();
        let cancelled = run.run.status == RunStatus::Cancelled;
        for (i, job) in run.run.jobs.iter_mut().flatten().enumerate() {
            let job_start = i * per_job;
            let progressed = done_steps as usize;
            let status = if fails_at.is_some_and(|f| i > f) {
                if finished {
                    RunStatus::Skipped
                } else {
                    RunStatus::Queued
                }
            } else if progressed >= job_start + per_job || (finished && !cancelled) {
                if fails_at == Some(i) {
                    RunStatus::Failure
                } else {
                    RunStatus::Success
                }
            } else if progressed >= job_start {
                if cancelled {
                    RunStatus::Cancelled
                } else {
                    RunStatus::Running
                }
            } else if cancelled {
                RunStatus::Skipped
            } else {
                RunStatus::Queued
            };
            job.status = status;
            job.started_at = (progressed >= job_start || finished).then(|| {
                started
                    + chrono::Duration::from_std(step_len * job_start as u32).unwrap_or_default()
            });
            job.duration =
                matches!(status, RunStatus::Success | RunStatus::Failure).then_some(job_len);
            let n_steps = job.steps.len();
            for (s, step) in job.steps.iter_mut().enumerate() {
                step.status = match status {
                    RunStatus::Failure if s == n_steps - 2 => RunStatus::Failure,
                    RunStatus::Failure if s == n_steps - 1 => RunStatus::Skipped,
                    RunStatus::Running if s == 0 => RunStatus::Success,
                    RunStatus::Running if s == 1 => RunStatus::Running,
                    RunStatus::Running => RunStatus::Queued,
                    other => other,
                };
                step.duration = matches!(step.status, RunStatus::Success | RunStatus::Failure)
                    .then(|| job_len / n_steps as u32);
            }
        }
    }

    fn finish(run: &mut SimRun, step_len: Duration) {
        run.run.status = if run.fails_at.is_some() {
            RunStatus::Failure
        } else {
            RunStatus::Success
        };
        let started = run.run.started_at.or(run.run.created_at);
        let duration = step_len * run.total.max(1) * 15;
        run.run.duration = Some(duration);
        run.run.updated_at =
            started.map(|s| s + chrono::Duration::from_std(duration).unwrap_or_default());
        Self::lay_out_jobs(run, step_len);
    }

    fn step_runs(&mut self) {
        let now = self.now;
        let step_len = self.step_len;
        for i in 0..self.runs.len() {
            let start_now = self.rng.random_bool(0.5);
            let run = &mut self.runs[i];
            match run.run.status {
                RunStatus::Queued if start_now => {
                    run.run.status = RunStatus::Running;
                    run.run.started_at = Some(now);
                    run.run.updated_at = Some(now);
                    Self::lay_out_jobs(run, step_len);
                }
                RunStatus::Running => {
                    run.remaining = run.remaining.saturating_sub(1);
                    run.run.updated_at = Some(now);
                    if run.remaining == 0 {
                        run.run.status = if run.fails_at.is_some() {
                            RunStatus::Failure
                        } else {
                            RunStatus::Success
                        };
                        run.run.duration = run.run.started_at.and_then(|s| (now - s).to_std().ok());
                    }
                    Self::lay_out_jobs(run, step_len);
                }
                _ => {}
            }
        }
        if self.rng.random_bool(0.2) {
            let run = self.new_run(now);
            self.runs.push(run);
        }
        if self.runs.len() > MAX_RUNS {
            let excess = self.runs.len() - MAX_RUNS;
            self.runs.drain(..excess);
        }
    }

    // ---- apps --------------------------------------------------------------

    fn seed_apps(&mut self) {
        for (i, &(name, namespace, cluster, production, auto_sync)) in APPS.iter().enumerate() {
            let history_len = 4 + (i % 3) * 3;
            let mut history = Vec::new();
            for h in 0..history_len {
                let revision = self.sha();
                let author = self.pick(ACTORS).to_string();
                let subject = self.pick(COMMIT_SUBJECTS).to_string();
                let age = chrono::Duration::hours(((history_len - h) * 7) as i64);
                history.push(Deployment {
                    id: (30 + h).to_string(),
                    revision,
                    deployed_at: Some(self.now - age),
                    author: Some(author),
                    message: Some(subject),
                });
            }
            history.reverse(); // newest first
            let live = history[0].revision.clone();
            let resources = [
                "Deployment",
                "Service",
                "ConfigMap",
                "HorizontalPodAutoscaler",
            ];
            let app = GitOpsApp {
                source: String::new(),
                name: name.to_string(),
                namespace: namespace.to_string(),
                cluster: cluster.to_string(),
                sync: SyncStatus::Synced,
                health: Health::Healthy,
                health_message: None,
                revision: Some(live.clone()),
                target_revision: Some(live.clone()),
                out_of_sync: Vec::new(),
                auto_sync,
                suspended: false,
                last_operation: Some(Operation {
                    kind: "sync".into(),
                    phase: OperationPhase::Succeeded,
                    message: format!(
                        "successfully synced (all tasks run) to {}",
                        short_rev(&live)
                    ),
                    revision: Some(live.clone()),
                    started_at: history[0].deployed_at,
                    finished_at: history[0]
                        .deployed_at
                        .map(|t| t + chrono::Duration::seconds(41)),
                }),
                last_change: history[0].deployed_at,
                history,
                repo_url: Some("https://git.demo.invalid/acme/deploy.git".into()),
                path: Some(format!("apps/{cluster}/{name}")),
                production,
                repo: None,
                linked: None,
                pending: None,
                revision_commit: None,
            };
            let _ = resources;
            self.apps.push(SimApp {
                app,
                bad_revisions: BTreeSet::new(),
                subjects: BTreeMap::new(),
                human_sync_in: None,
                settle_in: None,
                next_history_id: (30 + history_len) as u64,
                health_before_suspend: None,
            });
        }
        if self.incidents {
            // payments: a bad change is waiting to be synced by a colleague.
            self.push_commit(0, true);
            if let Some(app) = self.apps.get_mut(0) {
                app.human_sync_in = Some(3);
            }
            // web: drifted by hand in the cluster.
            if let Some(app) = self.apps.get_mut(2) {
                app.app.sync = SyncStatus::OutOfSync;
                app.app.out_of_sync = vec![ResourceRef {
                    kind: "ConfigMap".into(),
                    namespace: "web".into(),
                    name: "web-flags".into(),
                }];
            }
        }
    }

    /// A new commit lands in the desired-state repository for app `i`.
    fn push_commit(&mut self, i: usize, bad: bool) {
        let revision = self.sha();
        let subject = self.pick(COMMIT_SUBJECTS).to_string();
        let now = self.now;
        let Some(sim) = self.apps.get_mut(i) else {
            return;
        };
        sim.subjects.insert(revision.clone(), subject);
        if bad {
            sim.bad_revisions.insert(revision.clone());
        }
        sim.app.target_revision = Some(revision);
        sim.app.sync = SyncStatus::OutOfSync;
        let ns = sim.app.namespace.clone();
        let name = sim.app.name.clone();
        sim.app.out_of_sync = vec![
            ResourceRef {
                kind: "Deployment".into(),
                namespace: ns.clone(),
                name: format!("{name}-api"),
            },
            ResourceRef {
                kind: "ConfigMap".into(),
                namespace: ns,
                name: format!("{name}-config"),
            },
        ];
        sim.app.last_change = Some(now);
        if sim.app.auto_sync && !sim.app.suspended {
            sim.human_sync_in = Some(1);
        }
    }

    /// Deploy `revision` to app `i` (a sync, rollback or auto-sync).
    fn deploy(&mut self, i: usize, revision: String, kind: String, author: &str) -> u64 {
        let now = self.now;
        let Some(sim) = self.apps.get_mut(i) else {
            return 0;
        };
        let id = sim.next_history_id;
        sim.next_history_id += 1;
        sim.app.revision = Some(revision.clone());
        sim.app.sync = if sim.app.target_revision.as_deref() == Some(revision.as_str()) {
            sim.app.out_of_sync.clear();
            SyncStatus::Synced
        } else {
            SyncStatus::OutOfSync
        };
        sim.app.health = Health::Progressing;
        sim.app.health_message =
            Some("waiting for rollout to finish: 1 of 3 updated replicas are available".into());
        sim.app.last_change = Some(now);
        sim.app.last_operation = Some(Operation {
            kind,
            phase: OperationPhase::Succeeded,
            message: format!(
                "successfully synced (all tasks run) to {}",
                short_rev(&revision)
            ),
            revision: Some(revision.clone()),
            started_at: Some(now),
            finished_at: Some(now),
        });
        let message = sim
            .app
            .history
            .iter()
            .find(|d| d.revision == revision)
            .and_then(|d| d.message.clone())
            .or_else(|| sim.subjects.get(&revision).cloned())
            .unwrap_or_default();
        sim.app.history.insert(
            0,
            Deployment {
                id: id.to_string(),
                revision,
                deployed_at: Some(now),
                author: Some(author.to_string()),
                message: Some(message),
            },
        );
        sim.settle_in = Some(2);
        id
    }

    fn step_apps(&mut self) {
        for i in 0..self.apps.len() {
            let suspended = self.apps[i].app.suspended;
            if let Some(n) = self.apps[i].human_sync_in {
                if n <= 1 && !suspended {
                    self.apps[i].human_sync_in = None;
                    if let Some(target) = self.apps[i].app.target_revision.clone() {
                        let who = if self.apps[i].app.auto_sync {
                            "argocd (auto-sync)"
                        } else {
                            "carol"
                        };
                        self.deploy(i, target, "sync".into(), who);
                    }
                } else {
                    self.apps[i].human_sync_in = Some(n.saturating_sub(1));
                }
            }
            let sim = &mut self.apps[i];
            if let Some(n) = sim.settle_in {
                if n <= 1 {
                    sim.settle_in = None;
                    let bad = sim
                        .app
                        .revision
                        .as_ref()
                        .is_some_and(|r| sim.bad_revisions.contains(r));
                    if sim.app.suspended {
                        sim.app.health = Health::Suspended;
                    } else if bad {
                        sim.app.health = Health::Degraded;
                        sim.app.health_message = Some(format!(
                            "Deployment {}-api: 0/3 replicas available: CrashLoopBackOff",
                            sim.app.name
                        ));
                    } else {
                        sim.app.health = Health::Healthy;
                        sim.app.health_message = None;
                    }
                } else {
                    sim.settle_in = Some(n - 1);
                }
            }
        }
        // Somebody pushes a change now and then; with incidents some are bad,
        // and a degraded app gets a fix pushed after a while.
        let i = self.rng.random_range(0..self.apps.len());
        let push = self.rng.random_bool(0.04);
        let bad = self.incidents && self.rng.random_bool(0.4);
        let fix = self.apps[i].app.health == Health::Degraded && self.rng.random_bool(0.05);
        if (push || fix) && self.apps[i].human_sync_in.is_none() && !self.apps[i].app.suspended {
            self.push_commit(i, bad && !fix);
            let delay = self.rng.random_range(3..9);
            if let Some(sim) = self.apps.get_mut(i) {
                sim.human_sync_in.get_or_insert(delay);
            }
        }
    }

    // ---- models -------------------------------------------------------------

    fn seed_models(&mut self) {
        for (mi, &(name, serving, features)) in MODELS.iter().enumerate() {
            let versions = (1..=serving)
                .rev()
                .take(5)
                .map(|v| ModelVersion {
                    version: v.to_string(),
                    created_at: Some(
                        self.now - chrono::Duration::days(((serving - v) * 9 + 2) as i64),
                    ),
                    status: "READY".into(),
                    description: Some(format!("retrained on data up to week {}", 40 + v)),
                })
                .collect();
            let mut metrics = Vec::new();
            let mut creep = Vec::new();
            for (fi, feature) in features.iter().enumerate() {
                let creeping = self.incidents && mi == 0 && fi == 0;
                let base = if creeping {
                    0.06
                } else {
                    self.rng.random_range(0.01..0.06)
                };
                metrics.push(self.seed_metric(
                    "psi",
                    Some(feature),
                    base,
                    PSI_WARN,
                    PSI_CRITICAL,
                    Worse::Above,
                ));
                creep.push(if creeping { 0.006 } else { 0.0 });
            }
            let p = if self.incidents && mi == 1 {
                0.04
            } else {
                self.rng.random_range(0.2..0.9)
            };
            metrics.push(self.seed_metric(
                "ks_pvalue",
                Some(features[0]),
                p,
                KS_P_WARN,
                KS_P_CRITICAL,
                Worse::Below,
            ));
            creep.push(0.0);
            let share = self.rng.random_range(0.0..0.2);
            metrics.push(self.seed_metric(
                "drift_share",
                None,
                share,
                SHARE_WARN,
                SHARE_CRITICAL,
                Worse::Above,
            ));
            creep.push(if self.incidents && mi == 0 {
                0.004
            } else {
                0.0
            });
            self.models.push(SimModel {
                model: ModelDrift {
                    source: String::new(),
                    model: name.to_string(),
                    alias: "champion".into(),
                    version: Some(serving.to_string()),
                    versions,
                    metrics,
                    drifting_since: None,
                    sample_count: Some(self.rng.random_range(8_000..120_000)),
                    production: true,
                    error: None,
                },
                creep,
            });
        }
    }

    fn seed_metric(
        &mut self,
        name: &str,
        feature: Option<&str>,
        latest: f64,
        warn: f64,
        critical: f64,
        worse: Worse,
    ) -> Metric {
        let mut series = Vec::new();
        for k in (0..60).rev() {
            let jitter = self.rng.random_range(-0.1..0.1) * latest;
            let t = self.now - chrono::Duration::minutes(k * 5);
            series.push((t, (latest + jitter).max(0.0)));
        }
        Metric {
            name: name.to_string(),
            feature: feature.map(str::to_string),
            value: Some(latest),
            warn,
            critical,
            worse,
            series,
        }
    }

    fn step_models(&mut self) {
        let now = self.now;
        for sim in &mut self.models {
            for (metric, creep) in sim.model.metrics.iter_mut().zip(&sim.creep) {
                let Some(v) = metric.value else { continue };
                let noise = self.rng.random_range(-0.05..0.05) * v.max(0.01);
                let next = match metric.worse {
                    Worse::Above => (v + creep + noise).clamp(0.0, 2.0),
                    Worse::Below => (v + noise).clamp(0.0, 1.0),
                };
                metric.value = Some(next);
                metric.series.push((now, next));
                if metric.series.len() > MAX_SERIES {
                    metric.series.remove(0);
                }
            }
            let drifting = sim.model.status() == crate::model::DriftStatus::Drifting;
            match (drifting, sim.model.drifting_since) {
                (true, None) => sim.model.drifting_since = Some(now),
                (false, Some(_)) => sim.model.drifting_since = None,
                _ => {}
            }
            if let Some(n) = sim.model.sample_count.as_mut() {
                *n += self.rng.random_range(10..200);
            }
        }
    }
}

pub(super) mod act {
    //! The demo's side of each action: what a real backend would do and refuse.
    use super::*;

    fn app_index(fleet: &DemoFleet, name: &str) -> Result<usize, String> {
        fleet
            .apps
            .iter()
            .position(|a| a.app.name == name)
            .ok_or_else(|| format!("app {name} not found"))
    }

    fn run_index(fleet: &DemoFleet, id: &str) -> Result<usize, String> {
        fleet
            .runs
            .iter()
            .position(|r| r.run.id == id)
            .ok_or_else(|| format!("run {id} not found"))
    }

    pub fn sync(fleet: &mut DemoFleet, app: &str, who: &str) -> Result<String, String> {
        let i = app_index(fleet, app)?;
        if fleet.apps[i].app.suspended {
            return Err(format!("{app} is suspended: resume it before syncing"));
        }
        let target = fleet.apps[i]
            .app
            .target_revision
            .clone()
            .ok_or("no target revision")?;
        let id = fleet.deploy(i, target.clone(), "sync".into(), who);
        Ok(format!(
            "sync to {} started (history #{id})",
            short_rev(&target)
        ))
    }

    pub fn refresh(fleet: &mut DemoFleet, app: &str) -> Result<String, String> {
        let i = app_index(fleet, app)?;
        fleet.apps[i].app.last_change = Some(fleet.now);
        Ok(format!("{app} refreshed"))
    }

    pub fn rollback(
        fleet: &mut DemoFleet,
        app: &str,
        to: &str,
        who: &str,
    ) -> Result<String, String> {
        let i = app_index(fleet, app)?;
        if fleet.apps[i].app.auto_sync {
            // Argo CD's own words.
            return Err(
                "FailedPrecondition: rollback cannot be initiated when auto-sync is enabled".into(),
            );
        }
        let entry = fleet.apps[i]
            .app
            .history
            .iter()
            .find(|d| d.id == to)
            .cloned();
        let entry = entry.ok_or_else(|| format!("history id {to} not found for {app}"))?;
        let id = fleet.deploy(i, entry.revision.clone(), format!("rollback to #{to}"), who);
        Ok(format!(
            "rolled back to {} (history #{to}, now #{id})",
            short_rev(&entry.revision)
        ))
    }

    pub fn set_suspended(
        fleet: &mut DemoFleet,
        app: &str,
        suspend: bool,
    ) -> Result<String, String> {
        let i = app_index(fleet, app)?;
        let sim = &mut fleet.apps[i];
        if sim.app.suspended == suspend {
            return Err(format!(
                "{app} is already {}",
                if suspend { "suspended" } else { "running" }
            ));
        }
        sim.app.suspended = suspend;
        if suspend {
            sim.health_before_suspend = Some(sim.app.health);
            sim.app.health = Health::Suspended;
            Ok(format!("{app} suspended"))
        } else {
            sim.app.health = sim
                .health_before_suspend
                .take()
                .unwrap_or(Health::Progressing);
            Ok(format!("{app} resumed"))
        }
    }

    pub fn rerun(fleet: &mut DemoFleet, id: &str, only_failed: bool) -> Result<String, String> {
        let i = run_index(fleet, id)?;
        let step_len = fleet.step_len;
        let now = fleet.now;
        let fail_again = fleet.incidents && fleet.rng.random_bool(0.3);
        let sim = &mut fleet.runs[i];
        if sim.run.status.is_active() {
            return Err(format!(
                "run {id} is still {}: cancel it or wait",
                sim.run.status
            ));
        }
        if only_failed && sim.run.status != RunStatus::Failure {
            return Err(format!(
                "run {id} has no failed jobs (it is {})",
                sim.run.status
            ));
        }
        sim.run.attempt += 1;
        sim.run.status = RunStatus::Queued;
        sim.run.started_at = None;
        sim.run.duration = None;
        sim.run.updated_at = Some(now);
        sim.remaining = sim.total;
        sim.fails_at = if fail_again { sim.fails_at } else { None };
        DemoFleet::lay_out_jobs(sim, step_len);
        if let Some(jobs) = sim.run.jobs.as_mut() {
            for job in jobs {
                job.status = RunStatus::Queued;
                job.steps
                    .iter_mut()
                    .for_each(|s| s.status = RunStatus::Queued);
            }
        }
        let what = if only_failed {
            "failed jobs of run"
        } else {
            "run"
        };
        Ok(format!(
            "{what} {id} queued again (attempt {})",
            sim.run.attempt
        ))
    }

    pub fn cancel(fleet: &mut DemoFleet, id: &str, force: bool) -> Result<String, String> {
        let i = run_index(fleet, id)?;
        let now = fleet.now;
        let step_len = fleet.step_len;
        let sim = &mut fleet.runs[i];
        if !sim.run.status.is_active() {
            return Err(format!(
                "run {id} is not queued or running (it is {})",
                sim.run.status
            ));
        }
        // A running Release publish hangs on its upload and ignores a cancel.
        if !force && sim.run.status == RunStatus::Running && sim.run.pipeline == "Release" {
            sim.cancel_requested = true;
            return Ok(format!("cancel of run {id} requested"));
        }
        if force && !sim.cancel_requested {
            return Err(format!(
                "run {id} was not sent a cancel yet: cancel it first (force-cancel skips cleanup)"
            ));
        }
        sim.run.status = RunStatus::Cancelled;
        sim.run.duration = sim.run.started_at.and_then(|s| (now - s).to_std().ok());
        sim.run.updated_at = Some(now);
        DemoFleet::lay_out_jobs(sim, step_len);
        Ok(format!(
            "run {id} {}",
            if force {
                "force-cancelled"
            } else {
                "cancelled"
            }
        ))
    }

    /// A new run of `pipeline` (`project:Pipeline`), queued on `git_ref`.
    pub fn dispatch(
        fleet: &mut DemoFleet,
        pipeline: &str,
        git_ref: Option<&str>,
        who: &str,
    ) -> Result<String, String> {
        let Some((project, name)) = pipeline.split_once(':') else {
            return Err(format!("no pipeline {pipeline} in the demo fleet"));
        };
        let Some((project, _)) = PROJECTS
            .iter()
            .find(|(p, pipelines)| *p == project && pipelines.contains(&name))
        else {
            return Err(format!("no pipeline {pipeline} in the demo fleet"));
        };
        let now = fleet.now;
        let mut sim = fleet.new_run(now);
        sim.run.project = project.to_string();
        sim.run.pipeline = name.to_string();
        sim.run.pipeline_id = pipeline.to_string();
        sim.run.branch = git_ref.unwrap_or("main").to_string();
        sim.run.actor = who.to_string();
        sim.run.event = "workflow_dispatch".into();
        sim.run.jobs = Some(DemoFleet::make_jobs(name, &sim.run.id, project));
        sim.run.url = Some(format!("{URL_BASE}/{project}/runs/{}", sim.run.id));
        let id = sim.run.id.clone();
        fleet.runs.push(sim);
        Ok(format!(
            "run {id} of {name} queued on {}",
            git_ref.unwrap_or("main")
        ))
    }

    /// The log of one job as far as it got: made up, but shaped like a CI
    /// log (timestamps, steps, the error that failed it).
    pub fn job_log(fleet: &DemoFleet, run: &str, job: &str) -> Result<String, String> {
        let i = run_index(fleet, run)?;
        let sim = &fleet.runs[i];
        let Some(j) = sim.run.jobs.iter().flatten().find(|j| j.id == job) else {
            return Err(format!("run {run} has no job {job}"));
        };
        let start = j.started_at.or(sim.run.started_at).unwrap_or(fleet.now);
        let mut out = String::new();
        let mut t = start;
        for (n, step) in j.steps.iter().enumerate() {
            if step.status == RunStatus::Queued {
                break;
            }
            out.push_str(&format!(
                "{} ##[group]{}\n",
                t.format("%H:%M:%S"),
                step.name
            ));
            let lines = 12 + (n * 7 + sim.run.id.len() * 3) % 40;
            for k in 0..lines {
                t += chrono::Duration::milliseconds(350);
                out.push_str(&format!(
                    "{} {} [{}/{}] {}\n",
                    t.format("%H:%M:%S"),
                    j.name,
                    k + 1,
                    lines,
                    match k % 4 {
                        0 => "resolving dependencies",
                        1 => "compiling",
                        2 => "running checks",
                        _ => "ok",
                    }
                ));
            }
            if step.status == RunStatus::Failure {
                out.push_str(&format!(
                    "{} ##[error]{} failed: assertion `left == right` failed in payments::ledger::tests::settles_twice\n",
                    t.format("%H:%M:%S"),
                    j.name
                ));
                out.push_str(&format!(
                    "{} ##[error]Process completed with exit code 101.\n",
                    t.format("%H:%M:%S")
                ));
                break;
            }
            out.push_str(&format!("{} ##[endgroup]\n", t.format("%H:%M:%S")));
        }
        Ok(out)
    }

    /// What a new run of a demo pipeline asks for.
    pub fn dispatch_form(pipeline: &str) -> Result<crate::model::DispatchForm, String> {
        let Some((project, name)) = pipeline.split_once(':') else {
            return Err(format!("no pipeline {pipeline} in the demo fleet"));
        };
        if !PROJECTS
            .iter()
            .any(|(p, pipelines)| *p == project && pipelines.contains(&name))
        {
            return Err(format!("no pipeline {pipeline} in the demo fleet"));
        }
        let mut inputs = Vec::new();
        if name == "Deploy" {
            inputs.push(crate::model::FormInput {
                name: "environment".into(),
                default: "staging".into(),
                description: "where to deploy".into(),
                choices: vec!["staging".into(), "production".into()],
                required: true,
            });
        }
        inputs.push(crate::model::FormInput {
            name: "debug".into(),
            default: "false".into(),
            description: "verbose logs".into(),
            choices: vec!["false".into(), "true".into()],
            required: false,
        });
        Ok(crate::model::DispatchForm {
            pipeline: pipeline.to_string(),
            name: name.to_string(),
            git_ref: Some("main".into()),
            inputs,
            free_inputs: false,
        })
    }

    pub fn set_alias(fleet: &mut DemoFleet, model: &str, version: &str) -> Result<String, String> {
        let now = fleet.now;
        let sim = fleet
            .models
            .iter_mut()
            .find(|m| m.model.model == model)
            .ok_or_else(|| format!("model {model} not found"))?;
        let known = sim.model.versions.iter().find(|v| v.version == version);
        match known {
            None => return Err(format!("model {model} has no version {version}")),
            Some(v) if !v.status.eq_ignore_ascii_case("ready") => {
                return Err(format!(
                    "version {version} of {model} is {}, not READY",
                    v.status
                ));
            }
            Some(_) => {}
        }
        let from = sim
            .model
            .version
            .replace(version.to_string())
            .unwrap_or_default();
        // The older model's reference data matches today's traffic better:
        // the drift the demo was creeping towards is reset.
        for (metric, creep) in sim.model.metrics.iter_mut().zip(sim.creep.iter_mut()) {
            *creep = 0.0;
            let calm = match metric.worse {
                Worse::Above => metric.warn * 0.4,
                Worse::Below => (metric.warn * 6.0).min(0.9),
            };
            metric.value = Some(calm);
            metric.series.push((now, calm));
        }
        sim.model.drifting_since = None;
        Ok(format!(
            "alias {} of {model} moved from {from} to {version}",
            sim.model.alias
        ))
    }
}
