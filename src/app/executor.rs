//! Carries out confirmed actions against their source, with a timeout, the
//! read-only gate, and an audit line before sending and after the outcome.
//! The TUI and the headless commands share it.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::app::actions::check_allowed;
use crate::app::audit::AuditLog;
use crate::app::update::Msg;
use crate::model::{Action, Outcome};
use crate::sources::{ACTION_TIMEOUT, ActionError, Source};

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

    /// Send one action and report how it ended. Never panics; a refused or
    /// unauditable action is never sent.
    pub async fn execute(&self, id: u64, action: &Action) -> Outcome {
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
            "{}-{}-{id}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis()
        );
        if let Err(e) = self.audit.requested(&audit_id, action) {
            return Outcome::Failed(format!(
                "cannot write the audit log {}: {e}; the action was not sent",
                self.audit.path().display()
            ));
        }
        tracing::info!(action = %action.kind, target = %action.target, "sending action");
        let outcome = match tokio::time::timeout(ACTION_TIMEOUT, source.execute(action)).await {
            Ok(Ok(message)) => Outcome::Done(message),
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
        let source = self.sources.get(source).ok_or("no such source")?;
        match tokio::time::timeout(crate::sources::FETCH_TIMEOUT, source.run_jobs(run_id)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "no answer within {}s",
                crate::sources::FETCH_TIMEOUT.as_secs()
            )),
        }
    }

    /// Run actions as they come, each in its own task, reporting outcomes as messages.
    pub fn spawn(self: Arc<Self>, mut rx: mpsc::Receiver<(u64, Action)>, tx: mpsc::Sender<Msg>) {
        tokio::spawn(async move {
            while let Some((id, action)) = rx.recv().await {
                let executor = self.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let outcome = executor.execute(id, &action).await;
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
