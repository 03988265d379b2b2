//! `kind = "flux"`: Kustomizations and HelmReleases of one cluster (a
//! kubeconfig context), watched live with their Git and OCI sources, and the
//! actions Flux offers: reconcile (with or without its source first),
//! suspend and resume. Flux has no rollback of its own: that is a revert
//! in Git, done by a linked `git` source.

pub mod map;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::ApiResource;
use kube::runtime::wait::await_condition;

use super::kube::{self as k8s, KubeObject, Request};
use super::polite::Polite;
use super::{ActionError, Source, SourceError};
use crate::config::FluxConfig;
use crate::model::{Action, ActionKind, AppDetail, GitOpsApp, Job, Snapshot};
use map::{FluxKind, Key};

/// The annotation that asks a Flux controller to reconcile now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// How long to follow a reconcile until the controller has handled it
/// (under the executor's own limit).
pub const RECONCILE_FOLLOW_TIMEOUT: Duration = Duration::from_secs(50);

/// The resource of a Flux kind.
pub fn resource(kind: FluxKind) -> ApiResource {
    match kind {
        FluxKind::Kustomization => k8s::resource(
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "Kustomization",
            "kustomizations",
        ),
        FluxKind::HelmRelease => k8s::resource(
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
            "helmreleases",
        ),
        FluxKind::GitRepository => k8s::resource(
            "source.toolkit.fluxcd.io",
            "v1",
            "GitRepository",
            "gitrepositories",
        ),
        FluxKind::OciRepository => k8s::resource(
            "source.toolkit.fluxcd.io",
            "v1",
            "OCIRepository",
            "ocirepositories",
        ),
    }
}

/// Source kinds a reconcile-with-source can poke, beyond the watched ones.
fn source_resource(kind: &str) -> Option<ApiResource> {
    let group = "source.toolkit.fluxcd.io";
    Some(match kind {
        "GitRepository" => resource(FluxKind::GitRepository),
        "OCIRepository" => resource(FluxKind::OciRepository),
        "HelmRepository" => k8s::resource(group, "v1", "HelmRepository", "helmrepositories"),
        "HelmChart" => k8s::resource(group, "v1", "HelmChart", "helmcharts"),
        "Bucket" => k8s::resource(group, "v1", "Bucket", "buckets"),
        _ => return None,
    })
}

/// Every kind that is watched, in order.
pub const WATCHED: [FluxKind; 4] = [
    FluxKind::Kustomization,
    FluxKind::HelmRelease,
    FluxKind::GitRepository,
    FluxKind::OciRepository,
];

pub struct FluxSource {
    name: String,
    config: FluxConfig,
    poll: Duration,
    /// App id → the object it came from, as of the last read.
    keys: Mutex<BTreeMap<String, Key>>,
    /// The kubeconfig context in use, once a client was made.
    context: Mutex<String>,
    /// The API server's URL, once a client was made (for messages).
    server: Mutex<String>,
    /// The cluster's 429s: nothing is read before their reset.
    polite: Polite,
}

impl FluxSource {
    pub fn new(name: &str, config: FluxConfig, poll: Duration) -> Self {
        FluxSource {
            name: name.to_string(),
            config,
            poll,
            keys: Mutex::new(BTreeMap::new()),
            context: Mutex::new(String::new()),
            server: Mutex::new(String::new()),
            polite: Polite::new(),
        }
    }

    /// What the table calls the cluster: the context's name.
    fn cluster(&self) -> String {
        match &self.config.cluster.context {
            Some(c) => c.clone(),
            None => self.context.lock().map(|c| c.clone()).unwrap_or_default(),
        }
    }

    async fn client(&self) -> Result<kube::Client, SourceError> {
        self.client_with(None).await
    }

    /// A client whose reads give up after `read_timeout` of silence.
    async fn client_with(
        &self,
        read_timeout: Option<Duration>,
    ) -> Result<kube::Client, SourceError> {
        let (client, context, server) =
            k8s::client(&self.name, &self.config.cluster, read_timeout).await?;
        if let Ok(mut c) = self.context.lock() {
            *c = context;
        }
        if let Ok(mut s) = self.server.lock() {
            *s = server;
        }
        Ok(client)
    }

    /// Map objects to apps and remember which object each app is.
    fn snapshot(&self, objects: &[(FluxKind, KubeObject)]) -> Snapshot {
        let entries: Vec<map::Entry<'_>> = objects
            .iter()
            .map(|(kind, object)| map::Entry {
                kind: *kind,
                object,
            })
            .collect();
        let apps = map::to_apps(&self.name, &self.cluster(), &entries);
        if let Ok(mut keys) = self.keys.lock() {
            *keys = apps
                .iter()
                .map(|(key, app)| (app.name.clone(), key.clone()))
                .collect();
        }
        Snapshot {
            apps: apps
                .into_iter()
                .map(|(_, app)| app)
                .collect::<Vec<GitOpsApp>>(),
            ..Snapshot::default()
        }
    }

    /// List every watched kind once. A kind the cluster does not serve
    /// (its CRD is not installed) reads as empty; when none is served, the
    /// URL or context is wrong or Flux is not installed: an error.
    async fn list_all(
        &self,
        client: &kube::Client,
    ) -> Result<Vec<(FluxKind, KubeObject)>, SourceError> {
        self.polite.check(chrono::Utc::now())?;
        let mut objects = Vec::new();
        let (mut asked, mut absent) = (0, 0);
        for kind in WATCHED {
            let ar = resource(kind);
            for (api, ns) in self.apis(client, &ar) {
                let request = Request {
                    verb: "list",
                    resource: &ar,
                    namespace: ns.as_deref(),
                };
                asked += 1;
                match k8s::within(&request, api.list(&Default::default())).await? {
                    Ok(list) => objects.extend(list.items.into_iter().map(|o| (kind, o))),
                    Err(kube::Error::Api(s)) if s.code == 404 => absent += 1,
                    Err(e) => {
                        let e = k8s::describe(&self.name, &request, &e);
                        self.polite.hold(&e);
                        return Err(e);
                    }
                }
            }
        }
        if asked > 0 && absent == asked {
            return Err(self.nothing_served());
        }
        Ok(objects)
    }

    /// Every watched kind answered 404.
    fn nothing_served(&self) -> SourceError {
        let server = self.server.lock().map(|s| s.clone()).unwrap_or_default();
        SourceError::Backend(format!(
            "{}: none of the Flux kinds (kustomizations, helmreleases, gitrepositories, \
             ocirepositories) is served at {server} (404) — is Flux installed in this cluster, \
             and is the URL/context right?",
            self.name
        ))
    }

    /// The APIs to read one kind through, with their namespace (None: all).
    fn apis(
        &self,
        client: &kube::Client,
        ar: &ApiResource,
    ) -> Vec<(Api<KubeObject>, Option<String>)> {
        let namespaces = &self.config.cluster.namespaces;
        let apis = k8s::apis(client, ar, namespaces);
        if namespaces.is_empty() {
            apis.into_iter().map(|a| (a, None)).collect()
        } else {
            apis.into_iter()
                .zip(namespaces.iter().map(|n| Some(n.clone())))
                .collect()
        }
    }

    /// The object behind an app id, reading again if it is not known yet.
    async fn key_of(&self, client: &kube::Client, id: &str) -> Result<Key, ActionError> {
        let known = self.keys.lock().ok().and_then(|k| k.get(id).cloned());
        if let Some(key) = known {
            return Ok(key);
        }
        let objects = self
            .list_all(client)
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        self.snapshot(&objects);
        self.keys
            .lock()
            .ok()
            .and_then(|k| k.get(id).cloned())
            .ok_or_else(|| ActionError::Rejected(format!("{id} is not in {} any more", self.name)))
    }

    /// Read one object (verb `get`).
    async fn get(
        &self,
        api: &Api<KubeObject>,
        ar: &ApiResource,
        namespace: &str,
        name: &str,
    ) -> Result<KubeObject, ActionError> {
        api.get(name).await.map_err(|e| {
            let request = Request {
                verb: "get",
                resource: ar,
                namespace: Some(namespace),
            };
            k8s::describe_action(&self.name, &request, &e)
        })
    }

    /// Merge-patch one object (verb `patch`).
    async fn patch(
        &self,
        api: &Api<KubeObject>,
        ar: &ApiResource,
        namespace: &str,
        name: &str,
        body: serde_json::Value,
    ) -> Result<KubeObject, ActionError> {
        api.patch(name, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|e| {
                let request = Request {
                    verb: "patch",
                    resource: ar,
                    namespace: Some(namespace),
                };
                k8s::describe_action(&self.name, &request, &e)
            })
    }

    /// Ask for a reconcile of one object and follow it until the controller
    /// has handled the request; returns the Ready condition then.
    async fn reconcile(
        &self,
        client: &kube::Client,
        ar: &ApiResource,
        namespace: &str,
        name: &str,
    ) -> Result<Reconciled, ActionError> {
        let api: Api<KubeObject> = Api::namespaced_with(client.clone(), namespace, ar);
        let what = format!("{} {namespace}/{name}", ar.kind);
        let current = self.get(&api, ar, namespace, name).await?;
        if map::is_suspended(&current) {
            return Err(ActionError::Rejected(format!(
                "{what} is suspended: Flux ignores reconcile requests until it is resumed (resume it first)"
            )));
        }
        let token = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let body = serde_json::json!({"metadata": {"annotations": {REQUESTED_AT: token}}});
        self.patch(&api, ar, namespace, name, body).await?;
        let wanted = token.clone();
        let handled = move |o: Option<&KubeObject>| {
            o.and_then(|o| o.str_at("/status/lastHandledReconcileAt")) == Some(wanted.as_str())
        };
        let followed = tokio::time::timeout(
            RECONCILE_FOLLOW_TIMEOUT,
            await_condition(api, name, handled),
        )
        .await;
        match followed {
            Ok(Ok(Some(object))) => {
                let (status, words) = map::ready(&object);
                Ok(Reconciled::Handled {
                    what,
                    ready: status,
                    words,
                })
            }
            Ok(Ok(None)) => Err(ActionError::Lost(format!(
                "{what} was deleted while it was being reconciled"
            ))),
            Ok(Err(e)) => Err(ActionError::Lost(format!(
                "reconcile of {what} requested, but following it failed: {e}"
            ))),
            Err(_) => Ok(Reconciled::Pending { what }),
        }
    }

    async fn act(&self, action: &Action) -> Result<String, ActionError> {
        let client = self
            .client()
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        let (kind, namespace, name) = self.key_of(&client, &action.target.id).await?;
        let ar = resource(kind);
        match action.kind {
            ActionKind::Reconcile => Ok(self
                .reconcile(&client, &ar, &namespace, &name)
                .await?
                .words()),
            ActionKind::Sync => {
                let api: Api<KubeObject> = Api::namespaced_with(client.clone(), &namespace, &ar);
                let object = self.get(&api, &ar, &namespace, &name).await?;
                if map::is_suspended(&object) {
                    return Err(ActionError::Rejected(format!(
                        "{} {namespace}/{name} is suspended: resume it before reconciling",
                        ar.kind
                    )));
                }
                let Some((source_kind, source_ns, source_name)) = map::source_of(kind, &object)
                else {
                    return Err(ActionError::Rejected(format!(
                        "{} {namespace}/{name} names no source to reconcile first",
                        ar.kind
                    )));
                };
                let Some(source_ar) = source_resource(&source_kind) else {
                    return Err(ActionError::Rejected(format!(
                        "cannot reconcile a {source_kind} source (not a Flux source kind opsdeck knows)"
                    )));
                };
                let source = self
                    .reconcile(&client, &source_ar, &source_ns, &source_name)
                    .await?;
                if let Reconciled::Pending { .. } = source {
                    return Ok(source.words());
                }
                let app = self.reconcile(&client, &ar, &namespace, &name).await?;
                Ok(format!("{}; then {}", source.words(), app.words()))
            }
            ActionKind::Suspend | ActionKind::Resume => {
                let suspend = action.kind == ActionKind::Suspend;
                let api: Api<KubeObject> = Api::namespaced_with(client.clone(), &namespace, &ar);
                let body = serde_json::json!({"spec": {"suspend": suspend}});
                self.patch(&api, &ar, &namespace, &name, body).await?;
                Ok(if suspend {
                    format!(
                        "{} {namespace}/{name} suspended (spec.suspend = true)",
                        ar.kind
                    )
                } else {
                    format!(
                        "{} {namespace}/{name} resumed (spec.suspend = false)",
                        ar.kind
                    )
                })
            }
            ActionKind::Rollback => Err(ActionError::Rejected(NO_ROLLBACK.to_string())),
            _ => Err(ActionError::Unsupported(action.kind.verb())),
        }
    }
}

/// Said when a rollback is asked of a Flux app with no linked git source
/// (a linked one's rollback is the repository app's revert).
pub const NO_ROLLBACK: &str = "Flux has no rollback of its own: roll back by reverting the commit \
     in Git (add a `git` source for the repository the Kustomization's GitRepository points at, \
     and roll back its app)";

/// How a reconcile ended.
enum Reconciled {
    Handled {
        what: String,
        ready: String,
        words: String,
    },
    /// Requested, but the controller had not handled it in time.
    Pending { what: String },
}

impl Reconciled {
    fn words(&self) -> String {
        match self {
            Reconciled::Handled { what, ready, words } if ready == "True" => {
                format!("{what} reconciled: Ready ({words})")
            }
            Reconciled::Handled { what, ready, words } => {
                format!("{what} reconciled, but it is NOT Ready (Ready={ready}): {words}")
            }
            Reconciled::Pending { what } => format!(
                "reconcile of {what} requested; the controller had not handled it within {} — \
                 is the Flux controller running?",
                humantime::format_duration(RECONCILE_FOLLOW_TIMEOUT)
            ),
        }
    }
}

#[async_trait]
impl Source for FluxSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::FLUX
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let client = self.client().await?;
        let objects = self.list_all(&client).await?;
        Ok(self.snapshot(&objects))
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        self.act(action).await
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "Flux sources have no pipeline runs".into(),
        ))
    }

    /// A Kustomization's inventory, as its resource list.
    async fn app_detail(&self, app: &str) -> Result<AppDetail, SourceError> {
        let client = self.client().await?;
        let (kind, namespace, name) = self
            .key_of(&client, app)
            .await
            .map_err(|e| SourceError::Backend(e.to_string()))?;
        let ar = resource(kind);
        let api: Api<KubeObject> = Api::namespaced_with(client, &namespace, &ar);
        let object = api.get(&name).await.map_err(|e| {
            let request = Request {
                verb: "get",
                resource: &ar,
                namespace: Some(&namespace),
            };
            k8s::describe(&self.name, &request, &e)
        })?;
        let mut detail = AppDetail {
            tree: map::inventory(&object),
            ..AppDetail::default()
        };
        if kind == FluxKind::HelmRelease {
            detail
                .problems
                .push("HelmReleases keep their resource list in Helm, not in Flux".into());
        }
        Ok(detail)
    }

    async fn watch(
        &self,
        index: usize,
        tx: &tokio::sync::mpsc::Sender<super::SourceEvent>,
        wake: &tokio::sync::Notify,
    ) -> bool {
        k8s::watch::run(self, index, tx, wake).await;
        true
    }
}

impl k8s::watch::Watchable for FluxSource {
    type Kind = FluxKind;

    fn source_name(&self) -> &str {
        &self.name
    }

    fn poll(&self) -> Duration {
        self.poll
    }

    async fn client(&self, read_timeout: Duration) -> Result<kube::Client, SourceError> {
        self.client_with(Some(read_timeout)).await
    }

    fn watches(&self, client: &kube::Client) -> Vec<k8s::watch::WatchSpec<FluxKind>> {
        let mut specs = Vec::new();
        for kind in WATCHED {
            let ar = resource(kind);
            for (api, namespace) in self.apis(client, &ar) {
                specs.push(k8s::watch::WatchSpec {
                    kind,
                    resource: ar.clone(),
                    api,
                    namespace,
                    config: kube::runtime::watcher::Config::default(),
                });
            }
        }
        specs
    }

    fn snapshot(&self, objects: &[(FluxKind, KubeObject)]) -> Snapshot {
        FluxSource::snapshot(self, objects)
    }

    fn nothing_served(&self) -> String {
        FluxSource::nothing_served(self).to_string()
    }
}
