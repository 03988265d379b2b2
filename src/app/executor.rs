//! Carries out confirmed actions against their source, with a timeout, the
//! read-only gate, and an audit line before sending and after the outcome.
//! The TUI and the headless commands share it.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::app::actions::check_allowed;
use crate::app::audit::AuditLog;
use crate::app::update::Msg;
use crate::model::{Action, ActionKind, Follow, Health, Outcome, Started, SyncStatus, short_rev};
use crate::sources::{ACTION_TIMEOUT, ActionError, Source, fetch_with_timeout, within};

/// How often a followed app is read again.
const FOLLOW_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Executor {
    sources: Vec<Arc<dyn Source>>,
    audit: AuditLog,
    read_only: bool,
}

impl Executor {
    pub fn new(sources: Vec<Arc<dyn Source>>, audit: AuditLog, read_only: bool) -> Self {
        Executor {
            sources,
            audit,
            read_only,
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Send one action and report how it ended; then, when it asks to,
    /// refresh the app it affects and follow it until it converges. Never
    /// panics; a refused or unauditable action is never sent.
    pub async fn execute(&self, id: u64, action: &Action) -> Outcome {
        self.execute_started(id, action).await.0
    }

    /// `execute`, and the run a new run started, when its backend said
    /// which (`Source::start_run`).
    pub async fn execute_started(&self, id: u64, action: &Action) -> (Outcome, Option<String>) {
        let (outcome, run) = self.execute_one(id, action).await;
        let outcome = match (outcome, &action.follow) {
            (Outcome::Done(message), Some(follow)) => {
                let followed = self.follow(id, action, follow).await;
                Outcome::Done(format!("{message}; {followed}"))
            }
            (outcome, _) => outcome,
        };
        (outcome, run)
    }

    /// Refresh `follow.target` (audited as its own action) and watch it
    /// until it runs a new revision synced and healthy, degrades, or the
    /// time is up. Returns what happened, in words.
    async fn follow(&self, id: u64, cause: &Action, follow: &Follow) -> String {
        let target = &follow.target;
        let Some(source) = self
            .sources
            .iter()
            .find(|s| s.name() == target.source)
            .cloned()
        else {
            return format!("cannot follow {target}: no source named {}", target.source);
        };
        let live = |snapshot: &crate::model::Snapshot| {
            snapshot.apps.iter().find(|a| a.name == target.id).cloned()
        };
        let before = match &follow.from_revision {
            Some(r) => Some(r.clone()),
            None => fetch_with_timeout(source.as_ref())
                .await
                .ok()
                .and_then(|s| live(&s))
                .and_then(|a| a.revision),
        };
        let offered: Vec<ActionKind> = <ActionKind as strum::IntoEnumIterator>::iter()
            .filter(|k| source.supports(*k))
            .collect();
        let kind = crate::app::actions::after_push(&offered);
        let refresh = Action {
            kind,
            target: target.clone(),
            to: None,
            effect: format!("{} {target} after: {}", kind.verb(), cause.effect),
            production: cause.production,
            follow: None,
            sync: Default::default(),
            inputs: Vec::new(),
        };
        match self.execute_one(id, &refresh).await.0 {
            Outcome::Done(_) => {}
            other => return format!("refreshing {target} {}: {}", other.word(), other.detail()),
        }
        let deadline = tokio::time::Instant::now() + follow.timeout;
        let mut last = String::from("not read yet");
        loop {
            if let Ok(snapshot) = fetch_with_timeout(source.as_ref()).await {
                match live(&snapshot) {
                    None => return format!("{target} is gone from {}", target.source),
                    Some(app) => {
                        let moved = app.revision.is_some() && app.revision != before;
                        let rev = app.revision.as_deref().map_or("?", short_rev).to_string();
                        if moved && app.sync == SyncStatus::Synced && app.health == Health::Healthy
                        {
                            return format!("{target} is synced and healthy at {rev}");
                        }
                        if moved && app.health.is_unhealthy() {
                            let why = app.health_message.unwrap_or_default();
                            return format!("{target} is {} at {rev}: {why}", app.health);
                        }
                        last = format!("{rev}, {}, {}", app.sync, app.health);
                    }
                }
            }
            if tokio::time::Instant::now() + FOLLOW_POLL_INTERVAL > deadline {
                return format!(
                    "{target} did not converge within {} (last seen: {last}): check it",
                    humantime::format_duration(follow.timeout)
                );
            }
            tokio::time::sleep(FOLLOW_POLL_INTERVAL).await;
        }
    }

    /// One action: gate, audit, send, audit the outcome; a new run's id
    /// when its backend answered with it.
    async fn execute_one(&self, id: u64, action: &Action) -> (Outcome, Option<String>) {
        let mut run = None;
        let outcome = self.execute_one_into(id, action, &mut run).await;
        (outcome, run)
    }

    async fn execute_one_into(
        &self,
        id: u64,
        action: &Action,
        run: &mut Option<String>,
    ) -> Outcome {
        if let Err(why) = check_allowed(action.kind, &action.target, self.read_only) {
            return Outcome::Failed(why);
        }
        let Some(source) = self
            .sources
            .iter()
            .find(|s| s.name() == action.target.source)
        else {
            return Outcome::Failed(format!("no source named {}", action.target.source));
        };
        if !source.supports(action.kind) {
            return Outcome::Failed(format!(
                "{} sources cannot {}",
                source.kind(),
                action.kind.verb()
            ));
        }
        let audit_id = format!(
            "{}-{}-{id}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis(),
            action.kind
        );
        if let Err(e) = self.audit.requested(&audit_id, action) {
            return Outcome::Failed(format!(
                "cannot write the audit log {}: {e}; the action was not sent",
                self.audit.path().display()
            ));
        }
        tracing::info!(action = %action.kind, target = %action.target, "sending action");
        let send = async {
            if action.kind == ActionKind::Dispatch {
                source.start_run(action).await
            } else {
                source
                    .execute(action)
                    .await
                    .map(|message| Started { message, run: None })
            }
        };
        let outcome = match tokio::time::timeout(ACTION_TIMEOUT, send).await {
            Ok(Ok(started)) => {
                *run = started.run;
                Outcome::Done(started.message)
            }
            Ok(Err(ActionError::Rejected(why))) => Outcome::Failed(why),
            Ok(Err(ActionError::Lost(why))) => {
                Outcome::Unknown(format!("{why}: check the backend before retrying"))
            }
            Ok(Err(e @ ActionError::Unsupported(_))) => Outcome::Failed(e.to_string()),
            Err(_) => Outcome::Unknown(format!(
                "no answer within {}s: check the backend before retrying",
                ACTION_TIMEOUT.as_secs()
            )),
        };
        tracing::info!(action = %action.kind, target = %action.target, outcome = outcome.word(), "action ended");
        match self.audit.outcome(&audit_id, action, &outcome) {
            Ok(()) => outcome,
            Err(e) => {
                tracing::error!(error = %e, "cannot write the audit log");
                let note = format!(" (and the audit log could not record it: {e})");
                match outcome {
                    Outcome::Done(m) => Outcome::Done(m + &note),
                    Outcome::Failed(m) => Outcome::Failed(m + &note),
                    Outcome::Unknown(m) => Outcome::Unknown(m + &note),
                }
            }
        }
    }

    /// Load a run's jobs for the drill-down.
    pub async fn run_jobs(
        &self,
        source: usize,
        run_id: &str,
    ) -> Result<Vec<crate::model::Job>, String> {
        let source = self.source(source)?;
        within(source, source.run_jobs(run_id))
            .await
            .map_err(|e| e.to_string())
    }

    /// Load the tail of a job's log.
    pub async fn job_log(
        &self,
        source: usize,
        run_id: &str,
        job_id: &str,
    ) -> Result<crate::model::LogTail, String> {
        let source = self.source(source)?;
        within(source, source.job_log(run_id, job_id))
            .await
            .map_err(|e| e.to_string())
    }

    /// Load what a new run of a pipeline asks for.
    pub async fn dispatch_form(
        &self,
        source: usize,
        pipeline: &str,
    ) -> Result<crate::model::DispatchForm, String> {
        let source = self.source(source)?;
        within(source, source.dispatch_form(pipeline))
            .await
            .map_err(|e| e.to_string())
    }

    /// Load an app's drill-down.
    pub async fn app_detail(
        &self,
        source: usize,
        app: &str,
    ) -> Result<crate::model::AppDetail, String> {
        let source = self.source(source)?;
        within(source, source.app_detail(app))
            .await
            .map_err(|e| e.to_string())
    }

    fn source(&self, index: usize) -> Result<&dyn Source, String> {
        self.sources
            .get(index)
            .map(|s| s.as_ref())
            .ok_or_else(|| format!("no source number {index}"))
    }

    /// Run actions as they come, each in its own task, reporting outcomes as messages.
    pub fn spawn(self: Arc<Self>, mut rx: mpsc::Receiver<(u64, Action)>, tx: mpsc::Sender<Msg>) {
        tokio::spawn(async move {
            while let Some((id, action)) = rx.recv().await {
                let executor = self.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (outcome, run) = executor.execute_started(id, &action).await;
                    if let Some(run) = run {
                        let _ = tx.send(Msg::Started { id, run }).await;
                    }
                    let _ = tx
                        .send(Msg::Outcome {
                            id,
                            action,
                            outcome,
                        })
                        .await;
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::model::{Job, Provides, Snapshot, Target, TargetKind};
    use crate::sources::SourceError;

    /// A source that records what it was asked to do.
    struct Recording {
        name: &'static str,
        offers: Vec<ActionKind>,
        seen: Mutex<Vec<ActionKind>>,
    }

    #[async_trait]
    impl Source for Recording {
        fn name(&self) -> &str {
            self.name
        }
        fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
            // Any entry: what matters here is overridden below.
            &crate::sources::kinds::DEMO
        }
        fn kind(&self) -> &'static str {
            "recording"
        }
        fn provides(&self) -> Provides {
            Provides::ALL
        }
        fn poll_interval(&self) -> Duration {
            Duration::from_secs(30)
        }
        async fn fetch(&self) -> Result<Snapshot, SourceError> {
            let start = chrono::Utc::now();
            let mut snapshot =
                crate::sources::demo::DemoFleet::new(1, start, false).snapshot(self.name);
            snapshot.apps.truncate(1);
            Ok(snapshot)
        }
        fn supports(&self, kind: ActionKind) -> bool {
            self.offers.contains(&kind)
        }
        async fn execute(&self, action: &Action) -> Result<String, ActionError> {
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(action.kind);
            Ok(format!("{} done", action.kind))
        }
        async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn the_follow_up_asks_a_flux_source_to_reconcile_with_its_source_and_audits_it() {
        let repo = Arc::new(Recording {
            name: "repo",
            offers: vec![ActionKind::Rollback],
            seen: Mutex::default(),
        });
        let flux = Arc::new(Recording {
            name: "flux",
            offers: crate::sources::kinds::FLUX.actions.to_vec(),
            seen: Mutex::default(),
        });
        let app = flux.fetch().await.expect("snapshot").apps[0].name.clone();
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.jsonl");
        let sources: Vec<Arc<dyn Source>> = vec![repo.clone(), flux.clone()];
        let executor = Executor::new(sources, AuditLog::new(audit.clone(), "test"), false);
        let action = Action {
            kind: ActionKind::Rollback,
            target: Target::new("repo", TargetKind::App, "payments"),
            to: Some("abc1234".into()),
            effect: "revert abc1234 in repo/payments".into(),
            production: true,
            follow: Some(Follow {
                target: Target::new("flux", TargetKind::App, &app),
                from_revision: None,
                timeout: Duration::ZERO,
            }),
            sync: Default::default(),
            inputs: Vec::new(),
        };
        let outcome = executor.execute(1, &action).await;
        assert!(
            matches!(&outcome, Outcome::Done(m) if m.contains("did not converge")),
            "{outcome:?}"
        );
        assert_eq!(
            *flux.seen.lock().unwrap_or_else(|p| p.into_inner()),
            vec![ActionKind::ReconcileWithSource],
            "the pushed commit is fetched first, not left to the source's interval"
        );
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
            .expect("audit")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        let reconcile: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|l| l["action"] == "reconcile_with_source")
            .collect();
        assert_eq!(reconcile.len(), 2, "requested and done");
        assert_eq!(
            reconcile[0]["production"], true,
            "it follows a production change"
        );
        assert!(
            reconcile[0]["effect"]
                .as_str()
                .is_some_and(|e| e.starts_with("reconcile (with its source first) flux/"))
        );
    }
}
