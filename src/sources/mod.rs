//! Backends behind one trait. Each configured source runs in its own tokio
//! task with its own timeout and backoff, and sends what it read, by value,
//! over a channel to the one owner of the state.

pub mod airflow;
pub mod argocd;
pub mod changes;
pub mod demo;
pub mod drift;
pub mod evidently;
pub mod flux;
pub mod git;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod jenkins;
pub mod kinds;
pub mod kube;
pub mod kubeflow;
pub mod mlflow;
pub mod polite;
pub mod prometheus;
pub mod registry;
pub mod terraform_cloud;
pub mod tofu;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc};

use crate::config::{Config, SourceConfig};
use crate::model::{
    Action, ActionKind, AppDetail, Capabilities, DispatchForm, Job, LogTail, Provides, Snapshot,
    Started, Timestamp,
};

/// One read may take this long before it counts as failed.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// A whole read of a CI/CD source (pages, details) may take this many
/// times its per-request `timeout`: a slow but working backend still shows
/// its data, a silent one is given up on at the first request's timeout.
pub const READ_TIMEOUT_FACTOR: u32 = 3;
/// One action may take this long before its outcome counts as unknown.
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(60);
/// The first retry after a failed read; doubles up to the poll interval.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(2);

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("cannot reach the backend: {0}")]
    Unreachable(String),
    /// A read ran out of time with no one request to blame.
    #[error("no answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// One request went unanswered: `from` is its URL path (or host:port,
    /// or the kube request in words), never a query or credentials.
    #[error(
        "no answer within {} from {from} — is the server overloaded or the address wrong?",
        humantime::format_duration(*.within)
    )]
    NoAnswer { within: Duration, from: String },
    #[error("not allowed: {0}")]
    Auth(String),
    #[error("the backend answered with an error: {0}")]
    Backend(String),
    #[error("cannot understand the backend's answer: {0}")]
    Decode(String),
    /// An answer that stopped before its end (the words say from where).
    #[error("{0}")]
    CutOff(String),
    #[error("{0}")]
    Unsupported(String),
    /// The backend's rate limit is used up: nothing is sent before `until`.
    #[error("rate limited until {} ({detail})", until.with_timezone(&chrono::Local).format("%H:%M"))]
    RateLimited { until: Timestamp, detail: String },
}

impl SourceError {
    /// About the backend as a whole (cannot reach it, not allowed, no
    /// answer, rate limited), not one configured item of it: reading the
    /// next item is pointless and the whole read fails.
    pub fn is_backend_wide(&self) -> bool {
        matches!(
            self,
            SourceError::Unreachable(_)
                | SourceError::Auth(_)
                | SourceError::Timeout(_)
                | SourceError::RateLimited { .. }
        )
    }

    /// When the next read may be sent, if the backend asked to wait.
    pub fn retry_at(&self) -> Option<Timestamp> {
        match self {
            SourceError::RateLimited { until, .. } => Some(*until),
            _ => None,
        }
    }
}

/// Why an action did not get done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The backend said no (or could not do it); nothing changed.
    #[error("{0}")]
    Rejected(String),
    /// We lost the connection: it may or may not have happened.
    #[error("{0}")]
    Lost(String),
    #[error("this source cannot {0}")]
    Unsupported(&'static str),
}

/// A backend: reads snapshots, carries out actions. What is fixed per kind
/// (its name, tabs, capabilities, actions, timeout) comes from its entry in
/// the descriptor table; a source overrides only what its config decides.
#[async_trait]
pub trait Source: Send + Sync {
    fn name(&self) -> &str;
    /// Its kind's entry in the descriptor table.
    fn descriptor(&self) -> &'static kinds::Descriptor;
    fn kind(&self) -> &'static str {
        self.descriptor().kind
    }
    fn provides(&self) -> Provides {
        self.descriptor().provides
    }
    /// How long to wait between two reads when all is well.
    fn poll_interval(&self) -> Duration;
    /// How long one read (and one drill-down load) may take before it
    /// counts as failed.
    fn fetch_timeout(&self) -> Duration {
        self.descriptor().timeout
    }
    /// Everything the source knows now.
    async fn fetch(&self) -> Result<Snapshot, SourceError>;
    /// Whether it can carry out this kind of action at all.
    fn supports(&self, kind: ActionKind) -> bool {
        self.descriptor().actions.contains(&kind)
    }
    /// Carry out a confirmed action; Ok holds the backend's word on it.
    async fn execute(&self, action: &Action) -> Result<String, ActionError>;
    /// Start a new run (a confirmed `Dispatch`), saying which run it is
    /// when the backend answers with it. By default `execute`, whose answer
    /// names no run: the caller then looks for the pipeline's newest run.
    async fn start_run(&self, action: &Action) -> Result<Started, ActionError> {
        self.execute(action)
            .await
            .map(|message| Started { message, run: None })
    }
    /// Jobs and steps of one run, for the drill-down.
    async fn run_jobs(&self, run_id: &str) -> Result<Vec<Job>, SourceError>;
    /// The tail of one job's log (the last `LOG_TAIL_LINES` lines).
    async fn job_log(&self, _run_id: &str, _job_id: &str) -> Result<LogTail, SourceError> {
        Err(SourceError::Unsupported(format!(
            "{} sources have no job logs",
            self.kind()
        )))
    }
    /// What starting a new run of `pipeline` asks for (its ref and inputs).
    async fn dispatch_form(&self, _pipeline: &str) -> Result<DispatchForm, SourceError> {
        Err(SourceError::Unsupported(format!(
            "{} sources cannot start new runs",
            self.kind()
        )))
    }
    /// An app's drill-down (operation results, revision authors, resource
    /// tree, diff), for sources that have one.
    async fn app_detail(&self, _app: &str) -> Result<AppDetail, SourceError> {
        Err(SourceError::Unsupported(format!(
            "{} sources have no app drill-down",
            self.kind()
        )))
    }
    /// Where the source reads from (a URL, a path), named when a read
    /// runs out of time with no one request to blame. Credentials and
    /// queries are cut off before it is shown.
    fn location(&self) -> Option<String> {
        None
    }
    /// Something about how the source is set up that the engineer must
    /// see (certificate checks off), shown beside its name.
    fn warning(&self) -> Option<String> {
        None
    }
    /// What it offers beyond reading and its actions.
    fn capabilities(&self) -> Capabilities {
        self.descriptor().capabilities
    }
    /// Sources with a live feed run their own read loop here, sending
    /// events until the receiver is gone, and return true. The default has
    /// none and returns false at once: the caller then polls `fetch`.
    async fn watch(&self, _index: usize, _tx: &mpsc::Sender<SourceEvent>, _wake: &Notify) -> bool {
        false
    }
}

pub use changes::{AppChanges, Update};

/// What a source task sends: what it read (everything, or the apps that
/// changed) or why it could not.
#[derive(Debug)]
pub struct SourceEvent {
    /// Index into the configured sources (and `State::sources`).
    pub source: usize,
    pub at: Timestamp,
    pub result: Result<Update, String>,
}

/// Build one source from its config, through its kind's table entry.
pub fn build(config: &SourceConfig, refresh: Duration) -> Arc<dyn Source> {
    let poll = config.refresh.unwrap_or(refresh);
    kinds::KINDS
        .iter()
        .find_map(|kind| (kind.build)(config, poll))
        // Parsing only makes configs of kinds in the table (a test builds each).
        .expect("every parsed source kind has its entry in sources::kinds")
}

/// Build every configured source, in config order.
pub fn build_all(config: &Config) -> Vec<Arc<dyn Source>> {
    config
        .sources
        .iter()
        .map(|s| build(s, config.refresh))
        .collect()
}

/// One read with the source's timeout.
pub async fn fetch_with_timeout(source: &dyn Source) -> Result<Snapshot, SourceError> {
    within(source, source.fetch()).await
}

/// Any read of `source` (a read, a drill-down, a log, a form) cut at the
/// source's own timeout.
pub async fn within<T>(
    source: &dyn Source,
    work: impl std::future::Future<Output = Result<T, SourceError>>,
) -> Result<T, SourceError> {
    let limit = source.fetch_timeout();
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(match source.location() {
            Some(at) => SourceError::NoAnswer {
                within: limit,
                from: without_secrets(&at),
            },
            None => SourceError::Timeout(limit),
        })
    })
}

/// A location to show: a URL without its user, password and query.
pub(crate) fn without_secrets(location: &str) -> String {
    match url::Url::parse(location) {
        Ok(mut url) if url.has_host() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        _ => location.to_string(),
    }
}

/// Read every source once, concurrently (for `opsdeck status`).
pub async fn fetch_all(
    sources: &[Arc<dyn Source>],
) -> Vec<(Timestamp, Result<Snapshot, SourceError>)> {
    let reads = sources.iter().map(|s| async move {
        let result = fetch_with_timeout(s.as_ref()).await;
        (chrono::Utc::now(), result)
    });
    futures::future::join_all(reads).await
}

/// Start one polling task per source. `wake[i]` makes source `i` read now
/// (after an action). Tasks end when the receiver is dropped.
pub fn spawn_all(
    sources: &[Arc<dyn Source>],
    tx: mpsc::Sender<SourceEvent>,
) -> (Vec<Arc<Notify>>, Vec<tokio::task::JoinHandle<()>>) {
    let mut wakes = Vec::new();
    let mut handles = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let wake = Arc::new(Notify::new());
        wakes.push(wake.clone());
        handles.push(tokio::spawn(poll(index, source.clone(), tx.clone(), wake)));
    }
    (wakes, handles)
}

async fn poll(
    index: usize,
    source: Arc<dyn Source>,
    tx: mpsc::Sender<SourceEvent>,
    wake: Arc<Notify>,
) {
    if source.watch(index, &tx, &wake).await {
        return;
    }
    let interval = source.poll_interval();
    let mut retry = RETRY_INTERVAL.min(interval);
    loop {
        let result = fetch_with_timeout(source.as_ref()).await;
        let wait = match &result {
            Ok(_) => {
                retry = RETRY_INTERVAL.min(interval);
                interval
            }
            Err(e) => match e.retry_at() {
                // Asked to wait: not one request before then (a wake-up
                // cannot hurry it either: the source refuses to send).
                Some(until) => {
                    let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default();
                    tracing::warn!(source = source.name(), error = %e, "rate limited; next read in {:?}", wait);
                    wait.max(RETRY_INTERVAL)
                }
                None => {
                    tracing::warn!(source = source.name(), error = %e, "read failed; retrying in {:?}", retry);
                    let wait = retry;
                    retry = (retry * 2).min(interval.max(RETRY_INTERVAL));
                    wait
                }
            },
        };
        let event = SourceEvent {
            source: index,
            at: chrono::Utc::now(),
            result: result.map(Update::Whole).map_err(|e| e.to_string()),
        };
        if tx.send(event).await.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_shown_without_credentials_or_query() {
        assert_eq!(
            without_secrets("https://me:s3cret@git.example.com/org/repo.git?token=x"),
            "https://git.example.com/org/repo.git"
        );
        assert_eq!(without_secrets("/srv/repo"), "/srv/repo");
        let e = SourceError::NoAnswer {
            within: Duration::from_secs(20),
            from: "git://127.0.0.1:9418/remote.git".into(),
        };
        assert_eq!(
            e.to_string(),
            "no answer within 20s from git://127.0.0.1:9418/remote.git — is the server \
             overloaded or the address wrong?"
        );
    }
}
