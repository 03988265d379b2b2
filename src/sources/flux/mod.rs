//! `kind = "flux"`: Kustomizations and HelmReleases of one cluster (a
//! kubeconfig context), watched live with their Git and OCI sources, and the
//! actions Flux offers: reconcile (with or without its source first),
//! suspend and resume. Flux has no rollback of its own: that is a revert
//! in Git, done by a linked `git` source.

mod act;
mod history;
mod images;
pub mod map;
mod object;
mod workloads;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use kube::Api;
use kube::core::ApiResource;

use super::kube::{self as k8s, KubeObject, Request};
use super::polite::Polite;
use super::{ActionError, Source, SourceError};
use crate::config::FluxConfig;
use crate::model::{Action, AppDetail, GitOpsApp, Job, Snapshot};
use map::{FluxKind, Key};

pub use super::kube::reconcile::{RECONCILE_FOLLOW_TIMEOUT, REQUESTED_AT};

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

/// Source kinds a reconcile-with-source can poke, beyond the watched ones
/// (a tofu-controller object names the same kinds).
pub(crate) fn source_resource(kind: &str) -> Option<ApiResource> {
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
    /// The cluster, and the context and server in use.
    cluster: k8s::Cluster,
    /// The cluster's 429s: nothing is read before their reset.
    polite: Polite,
    /// The images of Kustomizations' workloads, read and kept.
    workloads: workloads::WorkloadImages,
}

impl FluxSource {
    pub fn new(name: &str, config: FluxConfig, poll: Duration) -> Self {
        FluxSource {
            name: name.to_string(),
            cluster: k8s::Cluster::new(config.cluster.clone()),
            config,
            poll,
            keys: Mutex::new(BTreeMap::new()),
            polite: Polite::new(),
            workloads: Default::default(),
        }
    }

    /// What the table calls the cluster: the context's name.
    fn cluster(&self) -> String {
        self.cluster.name()
    }

    async fn client(&self) -> Result<kube::Client, SourceError> {
        self.client_with(None).await
    }

    /// A client whose reads give up after `read_timeout` of silence.
    async fn client_with(
        &self,
        read_timeout: Option<Duration>,
    ) -> Result<kube::Client, SourceError> {
        self.cluster.client(&self.name, read_timeout).await
    }

    /// Map objects to apps and remember which object each app is.
    fn snapshot(&self, objects: &[(FluxKind, &KubeObject)]) -> Snapshot {
        let entries: Vec<map::Entry<'_>> = objects
            .iter()
            .map(|(kind, object)| map::Entry {
                kind: *kind,
                object,
            })
            .collect();
        let apps = map::to_apps(&self.name, &self.cluster(), &entries);
        // A Kustomization that sets no images: its workloads say (`enrich`).
        self.workloads.note(
            apps.iter()
                .filter(|(key, app)| key.0 == FluxKind::Kustomization && app.images.is_empty())
                .filter_map(|(key, app)| {
                    let e = entries.iter().find(|e| {
                        e.kind == key.0 && e.object.namespace() == key.1 && e.object.name() == key.2
                    })?;
                    Some((app.name.clone(), workloads::of_inventory(e.object)))
                })
                .collect(),
        );
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
        let server = self.cluster.server();
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
        k8s::apis_by_namespace(client, ar, &self.config.cluster.namespaces)
    }
}

/// Said when a rollback is asked of a Flux app with no linked git source
/// (a linked one's rollback is the repository app's revert).
pub const NO_ROLLBACK: &str = "Flux has no rollback of its own: roll back by reverting the commit \
     in Git (add a `git` source for the repository the Kustomization's GitRepository points at, \
     and roll back its app)";

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
        let mut snapshot = self.snapshot(&borrowed(&objects));
        self.workloads
            .fill(
                &self.name,
                &client,
                &self.config.cluster.namespaces,
                &mut snapshot,
            )
            .await;
        Ok(snapshot)
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
        let object = k8s::read_one(&self.name, client, &resource(kind), &namespace, &name).await?;
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

    fn snapshot(&self, objects: &[(FluxKind, &KubeObject)]) -> Snapshot {
        FluxSource::snapshot(self, objects)
    }

    async fn enrich(&self, client: &kube::Client, snapshot: &mut Snapshot) {
        self.workloads
            .fill(
                &self.name,
                client,
                &self.config.cluster.namespaces,
                snapshot,
            )
            .await;
    }

    fn nothing_served(&self) -> String {
        FluxSource::nothing_served(self).to_string()
    }
}

/// Listed objects as the mapping takes them (borrowed, as the watch's
/// stores lend theirs).
fn borrowed(objects: &[(FluxKind, KubeObject)]) -> Vec<(FluxKind, &KubeObject)> {
    objects
        .iter()
        .map(|(kind, object)| (*kind, object))
        .collect()
}
