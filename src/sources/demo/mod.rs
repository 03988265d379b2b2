//! The built-in demo backend: a real `Source` over a simulated fleet
//! (`kind = "demo"`), so every screen and action can be tried without
//! credentials.

mod fleet;

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

pub use fleet::{DemoFleet, STEP_INTERVAL};

use super::{ActionError, Source, SourceError};
use crate::config::DemoConfig;
use crate::model::{Action, ActionKind, DispatchForm, Job, LogTail, Snapshot, Timestamp};

/// A demo source: the fleet moves with the wall clock unless paused.
pub struct DemoSource {
    name: String,
    config: DemoConfig,
    production: bool,
    poll: Duration,
    fleet: Mutex<DemoFleet>,
}

/// How long a running demo fleet has been going when it is first read.
const STORY_LEAD: chrono::Duration = chrono::Duration::seconds(90);

impl DemoSource {
    pub fn new(
        name: &str,
        config: DemoConfig,
        production: bool,
        start: Timestamp,
        poll: Duration,
    ) -> Self {
        // A running fleet starts a little before `start` and is moved up to
        // it, so the first read already tells the incident's story (a bad
        // deploy of payments and what followed); a paused one stays as seeded.
        let lead = if config.paused {
            chrono::Duration::zero()
        } else {
            STORY_LEAD
        };
        let mut fleet =
            DemoFleet::with_step(config.seed, start - lead, config.incidents, config.step);
        fleet.advance_to(start);
        DemoSource {
            name: name.to_string(),
            config,
            production,
            poll,
            fleet: Mutex::new(fleet),
        }
    }

    fn with_fleet<T>(&self, f: impl FnOnce(&mut DemoFleet) -> T) -> T {
        // A poisoned lock only means another task panicked mid-step; the
        // fleet is still plain data, so keep going with it.
        let mut fleet = self.fleet.lock().unwrap_or_else(|p| p.into_inner());
        if !self.config.paused {
            fleet.advance_to(chrono::Utc::now());
        }
        f(&mut fleet)
    }

    fn check_outage(&self) -> Result<(), String> {
        if self.config.outage {
            Err("connection refused (demo source configured with outage = true)".into())
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Source for DemoSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::DEMO
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        self.check_outage().map_err(SourceError::Unreachable)?;
        let mut snapshot = self.with_fleet(|f| f.snapshot(&self.name));
        if self.production {
            snapshot.apps.iter_mut().for_each(|a| a.production = true);
            snapshot.models.iter_mut().for_each(|m| m.production = true);
        }
        Ok(snapshot)
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        // A refused connection means nothing was sent: a clean failure.
        self.check_outage().map_err(ActionError::Rejected)?;
        let who = crate::model::Operator::current().user;
        let id = action.target.id.as_str();
        let to = || {
            action.to.clone().ok_or(ActionError::Rejected(format!(
                "{} needs a target (--to)",
                action.kind
            )))
        };
        self.with_fleet(|fleet| match action.kind {
            ActionKind::Sync => fleet::act::sync(fleet, id, &who),
            ActionKind::Refresh | ActionKind::HardRefresh => fleet::act::refresh(fleet, id),
            ActionKind::Terminate
            | ActionKind::DisableAutoSync
            | ActionKind::Reconcile
            | ActionKind::ReconcileWithSource
            | ActionKind::CheckDrift
            | ActionKind::Apply
            | ActionKind::Discard
            | ActionKind::Lock
            | ActionKind::Unlock
            | ActionKind::Approve
            | ActionKind::ApproveLive
            // Planned as a new run and an alias move before they get here.
            | ActionKind::Retrain
            | ActionKind::Promote => Err(format!("the demo fleet cannot {}", action.kind.verb())),
            ActionKind::Rollback => match to() {
                Ok(to) => fleet::act::rollback(fleet, id, &to, &who),
                Err(e) => Err(e.to_string()),
            },
            ActionKind::Suspend => fleet::act::set_suspended(fleet, id, true),
            ActionKind::Resume => fleet::act::set_suspended(fleet, id, false),
            ActionKind::Rerun => fleet::act::rerun(fleet, id, false),
            ActionKind::RerunFailed => fleet::act::rerun(fleet, id, true),
            ActionKind::Cancel => fleet::act::cancel(fleet, id, false),
            ActionKind::ForceCancel => fleet::act::cancel(fleet, id, true),
            ActionKind::Dispatch => fleet::act::dispatch(fleet, id, action.to.as_deref(), &who),
            ActionKind::SetModelAlias => match to() {
                Ok(to) => fleet::act::set_alias(fleet, id, &to),
                Err(e) => Err(e.to_string()),
            },
        })
        .map_err(ActionError::Rejected)
    }

    async fn job_log(&self, run_id: &str, job_id: &str) -> Result<LogTail, SourceError> {
        self.check_outage().map_err(SourceError::Unreachable)?;
        let text = self
            .with_fleet(|f| f.job_log(run_id, job_id))
            .map_err(SourceError::Backend)?;
        let name = job_id.to_string();
        Ok(LogTail::from_text(name, &text, false))
    }

    async fn dispatch_form(&self, pipeline: &str) -> Result<DispatchForm, SourceError> {
        self.check_outage().map_err(SourceError::Unreachable)?;
        fleet::dispatch_form(pipeline).map_err(SourceError::Backend)
    }

    async fn run_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError> {
        self.check_outage().map_err(SourceError::Unreachable)?;
        let snapshot = self.with_fleet(|f| f.snapshot(&self.name));
        snapshot
            .pipelines
            .into_iter()
            .find(|r| r.id == run_id)
            .and_then(|r| r.jobs)
            .ok_or_else(|| SourceError::Backend(format!("run {run_id} not found")))
    }
}
