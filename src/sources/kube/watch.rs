//! Live reads: one kube-rs `watcher` per kind (and namespace) feeding a
//! reflector store, with `default_backoff()`. Relisting on `410 Gone` and
//! resuming a cut watch are the watcher's; while any watch is failing the
//! source reports that it is reconnecting (the last good apps stay shown).
//! A watch that goes quiet without closing (a half-open connection) is
//! caught by the client's read timeout: the API server is asked to end
//! every watch after one refresh interval, so a healthy quiet watch always
//! says something (its end) before the read timeout of twice that.
//! Events that arrive together are applied together; what they changed
//! goes out as one update (the apps that differ from the last send).

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use kube::Api;
use kube::api::ListParams;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{Notify, mpsc};

use kube::core::ApiResource;

use super::{KubeObject, Request, describe};
use crate::model::Snapshot;
use crate::sources::changes::LastSent;
use crate::sources::{AppChanges, RETRY_INTERVAL, SourceError, SourceEvent, Update};

/// What a Kubernetes source tells the watch loop.
pub trait Watchable: Sync {
    /// Tells the watched kinds apart (Flux kinds; one for Argo CD).
    type Kind: Copy + Send + Sync + 'static;
    fn source_name(&self) -> &str;
    fn poll(&self) -> Duration;
    /// A client whose reads fail after `read_timeout` of silence.
    fn client(
        &self,
        read_timeout: Duration,
    ) -> impl Future<Output = Result<kube::Client, SourceError>> + Send;
    /// Everything to watch with this client.
    fn watches(&self, client: &kube::Client) -> Vec<WatchSpec<Self::Kind>>;
    /// The apps the objects make.
    fn snapshot(&self, objects: &[(Self::Kind, &KubeObject)]) -> Snapshot;
    /// Fill in what the watched objects do not say themselves, with a few
    /// bounded reads (Flux: the images its Kustomizations' workloads run).
    fn enrich(
        &self,
        _client: &kube::Client,
        _snapshot: &mut Snapshot,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// Why the source is in error when no watched kind is served (every
    /// watch answered 404): the URL or context is wrong, or the CRDs are
    /// not installed.
    fn nothing_served(&self) -> String {
        format!(
            "{}: none of the watched kinds is served by the cluster (404) — are its CRDs \
             installed, and is the kubeconfig context right?",
            self.source_name()
        )
    }
}

/// One kind in one namespace (None: all) to watch, and how.
pub struct WatchSpec<K> {
    pub kind: K,
    pub resource: ApiResource,
    pub api: Api<KubeObject>,
    pub namespace: Option<String>,
    pub config: watcher::Config,
}

/// One watched kind in one namespace (None: all).
struct Watched<K> {
    kind: K,
    resource: ApiResource,
    namespace: Option<String>,
    store: Store<KubeObject>,
    /// Why its watch is failing now, if it is.
    failing: Option<String>,
    /// The kind is not served by this cluster (no CRD): nothing to watch.
    absent: bool,
    /// Asked whether the API server answers again while the watch fails.
    api: Api<KubeObject>,
}

async fn send(
    tx: &mpsc::Sender<SourceEvent>,
    index: usize,
    result: Result<Update, String>,
) -> bool {
    tx.send(SourceEvent {
        source: index,
        at: chrono::Utc::now(),
        result,
    })
    .await
    .is_ok()
}

/// The current state of every store, or why some watch is down. The
/// stores' objects are lent to the mapping, not copied.
fn current<S: Watchable>(source: &S, watched: &[Watched<S::Kind>]) -> Result<Snapshot, String> {
    if let Some(why) = watched.iter().find_map(|w| w.failing.clone()) {
        return Err(format!("reconnecting: {why}"));
    }
    if !watched.is_empty() && watched.iter().all(|w| w.absent) {
        return Err(source.nothing_served());
    }
    let held: Vec<(S::Kind, std::sync::Arc<KubeObject>)> = watched
        .iter()
        .flat_map(|w| w.store.state().into_iter().map(move |o| (w.kind, o)))
        .collect();
    let objects: Vec<(S::Kind, &KubeObject)> = held.iter().map(|(k, o)| (*k, &**o)).collect();
    Ok(source.snapshot(&objects))
}

/// What to send for the stores as they are: the whole set after a start
/// or an error, then only the apps that changed; None when nothing did
/// (the heartbeat then sends an empty change: the source is live).
async fn news<S: Watchable>(
    source: &S,
    client: &kube::Client,
    watched: &[Watched<S::Kind>],
    sent: &mut LastSent,
) -> Result<Update, String> {
    match current(source, watched) {
        Ok(mut snapshot) => {
            source.enrich(client, &mut snapshot).await;
            Ok(sent
                .update(snapshot)
                .unwrap_or_else(|| Update::Apps(AppChanges::default())))
        }
        Err(why) => {
            sent.forget();
            Err(why)
        }
    }
}

/// At most this many events already waiting are applied before one
/// snapshot is sent: a burst costs one snapshot, not one per event, and a
/// flood still shows progress.
const MAX_EVENTS_PER_SNAPSHOT: usize = 10_000;
/// The API server ends a watch after at most this long even when the
/// refresh interval is longer (the API server's own limit is 30 min).
const MAX_WATCH_TIMEOUT: Duration = Duration::from_secs(290);

/// How long the API server keeps one watch open (`timeoutSeconds`): one
/// refresh interval, in whole seconds.
pub fn watch_timeout(poll: Duration) -> Duration {
    Duration::from_secs(poll.as_secs().max(1)).min(MAX_WATCH_TIMEOUT)
}

/// How long a watch may say nothing before it counts as dead: twice the
/// refresh interval, and always a margin past the watch's own end.
pub fn silence_limit(poll: Duration) -> Duration {
    (2 * poll).max(watch_timeout(poll) + RETRY_INTERVAL)
}

/// Watch until the receiver is gone.
pub async fn run<S: Watchable>(
    source: &S,
    index: usize,
    tx: &mpsc::Sender<SourceEvent>,
    wake: &Notify,
) {
    let ceiling = source.poll().max(RETRY_INTERVAL);
    let mut retry = RETRY_INTERVAL;
    // Without a client there is nothing to watch: say why, retry.
    let client = loop {
        match source.client(silence_limit(source.poll())).await {
            Ok(c) => break c,
            Err(e) => {
                if !send(tx, index, Err(e.to_string())).await {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(retry) => {}
                    _ = wake.notified() => {}
                }
                retry = (retry * 2).min(ceiling);
            }
        }
    };
    let mut watched = Vec::new();
    let mut streams = Vec::new();
    let timeout = u32::try_from(watch_timeout(source.poll()).as_secs()).unwrap_or(u32::MAX);
    for mut spec in source.watches(&client) {
        spec.config.timeout = Some(timeout);
        let writer = Writer::new(spec.resource.clone());
        let slot = watched.len();
        watched.push(Watched {
            kind: spec.kind,
            resource: spec.resource,
            namespace: spec.namespace,
            store: writer.as_reader(),
            failing: None,
            absent: false,
            api: spec.api.clone(),
        });
        let events = reflector::reflector(writer, watcher(spec.api, spec.config).default_backoff());
        streams.push(events.map(move |e| (slot, e)).boxed());
    }
    let mut events = futures::stream::select_all(streams);
    let mut sent = LastSent::default();
    let mut heartbeat = tokio::time::interval(source.poll());
    heartbeat.tick().await;
    // A watch that resumes quietly (nothing changed meanwhile) sends no
    // event: while one is failing, ask the API server whether it answers.
    let mut probe_wait = RETRY_INTERVAL;
    let probe = tokio::time::sleep(probe_wait);
    tokio::pin!(probe);
    loop {
        let failing = watched.iter().any(|w| w.failing.is_some());
        let changed = tokio::select! {
            _ = &mut probe, if failing => {
                let mut recovered = false;
                for w in watched.iter_mut().filter(|w| w.failing.is_some()) {
                    if w.api.list(&ListParams::default().limit(1)).await.is_ok() {
                        w.failing = None;
                        recovered = true;
                    }
                }
                probe_wait = if recovered { RETRY_INTERVAL } else { (probe_wait * 2).min(ceiling) };
                probe.as_mut().reset(tokio::time::Instant::now() + probe_wait);
                recovered
            }
            event = events.next() => match event {
                None => return,
                Some((slot, event)) => {
                    let mut outcome = apply(source, &mut watched, slot, event);
                    // Whatever else has arrived goes into the same snapshot.
                    for _ in 1..MAX_EVENTS_PER_SNAPSHOT {
                        match events.next().now_or_never() {
                            Some(Some((slot, event))) => {
                                outcome = outcome.and(apply(source, &mut watched, slot, event));
                            }
                            Some(None) => return,
                            None => break,
                        }
                    }
                    if outcome.started_failing {
                        probe.as_mut().reset(tokio::time::Instant::now() + probe_wait);
                    }
                    outcome.changed
                }
            },
            _ = heartbeat.tick() => true,
            _ = wake.notified() => true,
        };
        if changed && !send(tx, index, news(source, &client, &watched, &mut sent).await).await {
            return;
        }
    }
}

/// What applying one watch event did.
#[derive(Clone, Copy, Default)]
struct Applied {
    /// The snapshot is to be sent again.
    changed: bool,
    /// A watch that was fine is failing now.
    started_failing: bool,
}

impl Applied {
    fn and(self, other: Applied) -> Applied {
        Applied {
            changed: self.changed || other.changed,
            started_failing: self.started_failing || other.started_failing,
        }
    }
}

/// Apply one event of watch `slot` (the reflector has already put it in
/// the store).
fn apply<S: Watchable>(
    source: &S,
    watched: &mut [Watched<S::Kind>],
    slot: usize,
    event: watcher::Result<watcher::Event<KubeObject>>,
) -> Applied {
    let w = &mut watched[slot];
    let error = match event {
        Ok(event) => {
            let was_failing = w.failing.take().is_some();
            // Served after all (its CRD was installed meanwhile).
            let was_absent = std::mem::take(&mut w.absent);
            let changed = match event {
                watcher::Event::Init | watcher::Event::InitApply(_) => was_failing || was_absent,
                _ => true,
            };
            return Applied {
                changed,
                started_failing: false,
            };
        }
        Err(error) => error,
    };
    let api_error = match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        watcher::Error::WatchError(status) => kube::Error::Api(status),
        watcher::Error::NoResourceVersion => kube::Error::Api(kube::core::ErrorResponse {
            status: "Failure".into(),
            message: "the list had no resourceVersion to watch from".into(),
            reason: "NoResourceVersion".into(),
            code: 500,
        }),
    };
    if matches!(&api_error, kube::Error::Api(s) if s.code == 404) {
        // The CRD is not installed: the kind reads as empty.
        let first = !w.absent;
        w.absent = true;
        return Applied {
            changed: first,
            started_failing: false,
        };
    }
    let request = Request {
        verb: "watch",
        resource: &w.resource,
        namespace: w.namespace.as_deref(),
    };
    let why = describe(source.source_name(), &request, &api_error).to_string();
    tracing::warn!(source = source.source_name(), %why, "watch failing; the watcher retries with backoff");
    let started_failing = w.failing.is_none();
    w.failing = Some(why);
    Applied {
        changed: true,
        started_failing,
    }
}
