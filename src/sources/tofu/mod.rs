//! `kind = "tofu"`: the Flux tofu-controller's `Terraform` objects
//! (infra.contrib.fluxcd.io/v1alpha2) of one cluster, watched live like
//! `kind = "flux"`: drift and plans waiting for approval as GitOps rows,
//! and reconcile, suspend, resume. Approving a plan the GitOps way is a
//! commit by the `git` source that holds the manifest (the resolver sends
//! it there); this source only patches the live object when that is asked
//! for by name (`ApproveLive`).

mod act;
pub mod map;

use std::time::Duration;

use async_trait::async_trait;
use kube::Api;
use kube::core::ApiResource;

use super::kube::{self as k8s, KubeObject, Request};
use super::polite::Polite;
use super::{ActionError, Source, SourceError};
use crate::config::TofuConfig;
use crate::model::{Action, AppDetail, Job, ResourceResult, Snapshot};

/// The one kind a tofu source watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terraform;

/// `Terraform` objects, v1alpha2 (the storage version).
pub fn resource() -> ApiResource {
    k8s::resource(
        "infra.contrib.fluxcd.io",
        "v1alpha2",
        "Terraform",
        "terraforms",
    )
}

/// Said when a plan is to be approved and no `git` source holds the
/// object's manifest.
pub const NO_GIT: &str = "no `git` source holds this Terraform object's manifest, so the approval \
     cannot be committed (the tofu-controller way: `spec.approvePlan` in Git). Add a `git` source \
     whose app folder holds it (the owning Kustomization's path, or `link = \"SOURCE/NAMESPACE/NAME\"`). \
     A patch of the live object would be reset by Flux the next time it applies the manifest; to \
     patch it anyway, ask for it by name: approve-live (`opsdeck approve-live`)";

pub struct TofuSource {
    name: String,
    cluster: k8s::Cluster,
    poll: Duration,
    /// The cluster's 429s: nothing is read before their reset.
    polite: Polite,
}

impl TofuSource {
    pub fn new(name: &str, config: TofuConfig, poll: Duration) -> Self {
        TofuSource {
            name: name.to_string(),
            cluster: k8s::Cluster::new(config.cluster),
            poll,
            polite: Polite::new(),
        }
    }

    async fn client(&self) -> Result<kube::Client, SourceError> {
        self.cluster.client(&self.name, None).await
    }

    fn apis(&self, client: &kube::Client) -> Vec<(Api<KubeObject>, Option<String>)> {
        k8s::apis_by_namespace(client, &resource(), &self.cluster.target.namespaces)
    }

    fn snapshot(&self, objects: &[&KubeObject]) -> Snapshot {
        Snapshot {
            apps: map::to_apps(&self.name, &self.cluster.name(), objects),
            ..Snapshot::default()
        }
    }

    /// List the objects once; a cluster without the CRD is an error.
    async fn list_all(&self, client: &kube::Client) -> Result<Vec<KubeObject>, SourceError> {
        self.polite.check(chrono::Utc::now())?;
        let ar = resource();
        let mut objects = Vec::new();
        for (api, ns) in self.apis(client) {
            let request = Request {
                verb: "list",
                resource: &ar,
                namespace: ns.as_deref(),
            };
            match k8s::within(&request, api.list(&Default::default())).await? {
                Ok(list) => objects.extend(list.items),
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    return Err(SourceError::Backend(self.nothing_served()));
                }
                Err(e) => {
                    let e = k8s::describe(&self.name, &request, &e);
                    self.polite.hold(&e);
                    return Err(e);
                }
            }
        }
        Ok(objects)
    }

    fn nothing_served(&self) -> String {
        format!(
            "{}: terraforms.infra.contrib.fluxcd.io (v1alpha2) is not served at {} (404) — is the \
             tofu-controller installed in this cluster, and is the context right?",
            self.name,
            self.cluster.server()
        )
    }

    /// The object behind an app id (`namespace/name`).
    fn key(&self, id: &str) -> Result<(String, String), ActionError> {
        id.split_once('/')
            .map(|(ns, name)| (ns.to_string(), name.to_string()))
            .ok_or_else(|| {
                ActionError::Rejected(format!("{id} is not NAMESPACE/NAME in {}", self.name))
            })
    }
}

/// The detail's lines: how plans are approved, the plan waiting, drift,
/// and every condition with its reason and message.
fn detail_rows(object: &KubeObject) -> Vec<ResourceResult> {
    let row = |status: &str, kind: &str, name: &str, message: String| ResourceResult {
        kind: kind.to_string(),
        namespace: object.namespace().to_string(),
        name: name.to_string(),
        status: status.to_string(),
        message,
    };
    let o = match map::decode(object) {
        Ok(o) => o,
        Err(problem) => return vec![row("unreadable", "Terraform", object.name(), problem)],
    };
    let mut rows = vec![row(
        &o.approve_mode(),
        "spec",
        "approvePlan",
        match o.approve_mode().as_str() {
            "auto" => "every plan is applied without approval".into(),
            "manual" => "each plan waits for `spec.approvePlan: <plan id>` in Git".into(),
            "disable" => "drift detection only: no plan, no apply".into(),
            _ => "applies the plan with that id".into(),
        },
    )];
    if let Some(id) = o.pending() {
        let planned = o.status.last_planned_revision.clone().unwrap_or_default();
        rows.push(row(
            "pending",
            "plan",
            id,
            format!("planned from {planned}"),
        ));
    }
    if !o.status.plan.last_applied.is_empty() {
        let applied = o.status.last_applied_revision.clone().unwrap_or_default();
        rows.push(row(
            "applied",
            "plan",
            &o.status.plan.last_applied,
            format!("applied from {applied}"),
        ));
    }
    if let Some(at) = &o.status.last_drift_detected_at {
        rows.push(row("drift", "detected", at, "last drift found".into()));
    }
    for c in &o.status.conditions {
        rows.push(row(
            &format!("{}={}", c.kind, c.status),
            "condition",
            &c.reason,
            c.message.clone(),
        ));
    }
    rows
}

#[async_trait]
impl Source for TofuSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::TOFU
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let client = self.client().await?;
        let objects = self.list_all(&client).await?;
        Ok(self.snapshot(&objects.iter().collect::<Vec<_>>()))
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        self.act(action).await
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "tofu sources have no pipeline runs".into(),
        ))
    }

    /// The object's approval mode, plan, drift and conditions.
    async fn app_detail(&self, app: &str) -> Result<AppDetail, SourceError> {
        let client = self.client().await?;
        let (namespace, name) = self
            .key(app)
            .map_err(|e| SourceError::Backend(e.to_string()))?;
        let object = k8s::read_one(&self.name, client, &resource(), &namespace, &name).await?;
        Ok(AppDetail {
            results: detail_rows(&object),
            ..AppDetail::default()
        })
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

impl k8s::watch::Watchable for TofuSource {
    type Kind = Terraform;

    fn source_name(&self) -> &str {
        &self.name
    }

    fn poll(&self) -> Duration {
        self.poll
    }

    async fn client(&self, read_timeout: Duration) -> Result<kube::Client, SourceError> {
        self.cluster.client(&self.name, Some(read_timeout)).await
    }

    fn watches(&self, client: &kube::Client) -> Vec<k8s::watch::WatchSpec<Terraform>> {
        self.apis(client)
            .into_iter()
            .map(|(api, namespace)| k8s::watch::WatchSpec {
                kind: Terraform,
                resource: resource(),
                api,
                namespace,
                config: kube::runtime::watcher::Config::default(),
            })
            .collect()
    }

    fn snapshot(&self, objects: &[(Terraform, &KubeObject)]) -> Snapshot {
        let objects: Vec<&KubeObject> = objects.iter().map(|(_, o)| *o).collect();
        TofuSource::snapshot(self, &objects)
    }

    fn nothing_served(&self) -> String {
        TofuSource::nothing_served(self)
    }
}
