//! The fleet's pipeline runs: six hours of made-up history, new runs now
//! and then, and each run's jobs and steps laid out by how far it got.

use std::time::Duration;

use rand::Rng;

use super::cast::{ACTORS, BRANCHES, EVENTS, PROJECTS, URL_BASE};
use super::{DemoFleet, SimRun};
use crate::model::{Job, PipelineRun, RunStatus, Step, Timestamp};

/// Runs kept; older ones fall off as a CI backend's first page would.
const MAX_RUNS: usize = 120;

impl DemoFleet {
    fn jobs_for(pipeline: &str) -> &'static [&'static str] {
        match pipeline {
            "Deploy" => &["build-image", "deploy"],
            "Release" => &["build", "sign", "publish"],
            "train" => &["prepare-data", "train", "evaluate"],
            _ => &["lint", "build", "test"],
        }
    }

    pub(super) fn new_run(&mut self, created: Timestamp) -> SimRun {
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
                error: None,
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
                awaiting_approval: None,
                attempt: 1,
                created_at: Some(created),
                started_at: None,
                updated_at: Some(created),
                duration: None,
                url: Some(format!("{URL_BASE}/{project}/runs/{id}")),
                jobs: Some(jobs),
                paused: false,
                details: Vec::new(),
            },
            remaining: total,
            total,
            fails_at,
            cancel_requested: false,
        }
    }

    pub(super) fn seed_runs(&mut self) {
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

    pub(super) fn make_jobs(pipeline: &str, id: &str, project: &str) -> Vec<Job> {
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
    pub(super) fn lay_out_jobs(run: &mut SimRun, step_len: Duration) {
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

    pub(super) fn step_runs(&mut self) {
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
}
