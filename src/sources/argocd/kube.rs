//! `kind = "argocd"` with `context`: Argo CD `Application` objects read
//! straight from a cluster (no Argo CD API server), watched live, mapped as
//! the REST source maps them ([`api::to_app`]), and acted on as the argocd
//! CLI's core mode does: a refresh is an annotation, a sync or rollback sets
//! the Application's `operation` field for the application controller.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::ApiResource;
use serde_json::json;

use super::api;
use crate::config::ArgoCdKubeConfig;
use crate::model::{
    Action, ActionKind, AppDetail, Capabilities, GitOpsApp, Health, Job, Snapshot, SyncStatus,
};
use crate::sources::kube::{self as k8s, KubeObject, Request};
use crate::sources::polite::Polite;
use crate::sources::{ActionError, Source, SourceError, SourceEvent};

/// The annotation the application controller reads as "refresh now".
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

pub fn resource() -> ApiResource {
    k8s::resource("argoproj.io", "v1alpha1", "Application", "applications")
}

pub struct ArgoCdKubeSource {
    name: String,
    config: ArgoCdKubeConfig,
    poll: Duration,
    /// App id → (namespace, name) of its Application, as of the last read.
    keys: Mutex<BTreeMap<String, (String, String)>>,
    /// The kubeconfig context in use, once a client was made.
    context: Mutex<String>,
    /// The cluster's 429s: nothing is read before their reset.
    polite: Polite,
}

impl ArgoCdKubeSource {
    pub fn new(name: &str, config: ArgoCdKubeConfig, poll: Duration) -> Self {
        ArgoCdKubeSource {
            name: name.to_string(),
            config,
            poll,
            keys: Mutex::new(BTreeMap::new()),
            context: Mutex::new(String::new()),
            polite: Polite::new(),
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
        let (client, context, _) =
            k8s::client(&self.name, &self.config.cluster, read_timeout).await?;
        if let Ok(mut c) = self.context.lock() {
            *c = context;
        }
        Ok(client)
    }

    fn apis(&self, client: &kube::Client) -> Vec<(Api<KubeObject>, Option<String>)> {
        let namespaces = &self.config.cluster.namespaces;
        let apis = k8s::apis(client, &resource(), namespaces);
        if namespaces.is_empty() {
            apis.into_iter().map(|a| (a, None)).collect()
        } else {
            apis.into_iter()
                .zip(namespaces.iter().map(|n| Some(n.clone())))
                .collect()
        }
    }

    /// Objects as apps: each decoded on its own, filtered by project.
    fn snapshot(&self, objects: &[&KubeObject]) -> Snapshot {
        let mut apps: Vec<((String, String), GitOpsApp)> = Vec::new();
        let mut named: HashMap<&str, usize> = HashMap::new();
        for object in objects {
            *named.entry(object.name()).or_default() += 1;
        }
        for object in objects {
            let (ns, name) = (object.namespace(), object.name());
            let shared = named.get(name).is_some_and(|n| *n > 1);
            let id = if shared {
                format!("{ns}/{name}")
            } else {
                name.to_string()
            };
            let decoded = match &object.problem {
                Some(p) => Err(p.clone()),
                None => serde_json::from_value::<api::Application>(object.raw.clone())
                    .map_err(|e| e.to_string()),
            };
            let app = match decoded {
                Ok(application) => {
                    let project = application.spec.project.clone();
                    if let Some(wanted) = &self.config.project
                        && project.as_deref() != Some(wanted.as_str())
                    {
                        continue;
                    }
                    let mut app = api::to_app(&self.name, application);
                    app.name = id;
                    if app.cluster.is_empty() {
                        // In-cluster destinations are the context's cluster.
                        app.cluster = self.context.lock().map(|c| c.clone()).unwrap_or_default();
                    }
                    app
                }
                Err(problem) => {
                    tracing::warn!(source = self.name, app = %id, %problem, "cannot read an Application");
                    unreadable(&self.name, id, ns, &problem)
                }
            };
            apps.push(((ns.to_string(), name.to_string()), app));
        }
        apps.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        if let Ok(mut keys) = self.keys.lock() {
            *keys = apps
                .iter()
                .map(|(k, a)| (a.name.clone(), k.clone()))
                .collect();
        }
        Snapshot {
            apps: apps.into_iter().map(|(_, a)| a).collect(),
            ..Snapshot::default()
        }
    }

    fn list_params(&self) -> kube::api::ListParams {
        let mut params = kube::api::ListParams::default();
        if let Some(selector) = &self.config.selector {
            params = params.labels(selector);
        }
        params
    }

    async fn list_all(&self, client: &kube::Client) -> Result<Vec<KubeObject>, SourceError> {
        let mut objects = Vec::new();
        let ar = resource();
        self.polite.check(chrono::Utc::now())?;
        for (api, ns) in self.apis(client) {
            let request = Request {
                verb: "list",
                resource: &ar,
                namespace: ns.as_deref(),
            };
            match k8s::within(&request, api.list(&self.list_params())).await? {
                Ok(list) => objects.extend(list.items),
                Err(e) => {
                    let e = k8s::describe(&self.name, &request, &e);
                    self.polite.hold(&e);
                    return Err(e);
                }
            }
        }
        Ok(objects)
    }

    async fn key_of(
        &self,
        client: &kube::Client,
        id: &str,
    ) -> Result<(String, String), ActionError> {
        if let Some(key) = self.keys.lock().ok().and_then(|k| k.get(id).cloned()) {
            return Ok(key);
        }
        let objects = self
            .list_all(client)
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        self.snapshot(&objects.iter().collect::<Vec<_>>());
        self.keys
            .lock()
            .ok()
            .and_then(|k| k.get(id).cloned())
            .ok_or_else(|| ActionError::Rejected(format!("{id} is not in {} any more", self.name)))
    }

    async fn act(&self, action: &Action) -> Result<String, ActionError> {
        let client = self
            .client()
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        let (namespace, name) = self.key_of(&client, &action.target.id).await?;
        let ar = resource();
        let api: Api<KubeObject> = Api::namespaced_with(client, &namespace, &ar);
        let request = |verb| Request {
            verb,
            resource: &ar,
            namespace: Some(&namespace),
        };
        let current = api
            .get(&name)
            .await
            .map_err(|e| k8s::describe_action(&self.name, &request("get"), &e))?;
        let (body, said) = match action.kind {
            ActionKind::Refresh | ActionKind::HardRefresh => {
                let how = if action.kind == ActionKind::HardRefresh {
                    "hard"
                } else {
                    "normal"
                };
                (
                    json!({"metadata": {"annotations": {REFRESH_ANNOTATION: how}}}),
                    format!("{how} refresh requested ({REFRESH_ANNOTATION}={how})"),
                )
            }
            ActionKind::Sync | ActionKind::Rollback => {
                if let Some(op) = current.raw.get("operation").filter(|o| !o.is_null()) {
                    let what = if op.get("sync").is_some() {
                        "a sync"
                    } else {
                        "an operation"
                    };
                    return Err(ActionError::Rejected(format!(
                        "another operation is already in progress on {name} ({what}): wait for it \
                         or terminate it"
                    )));
                }
                let sync = sync_operation(action, &current)?;
                let said = match action.kind {
                    ActionKind::Rollback => format!(
                        "rollback to history #{} started (operation set on the Application)",
                        action.to.as_deref().unwrap_or("?")
                    ),
                    _ if action.sync.dry_run => {
                        "dry-run sync started (operation set on the Application)".to_string()
                    }
                    _ => "sync started (operation set on the Application)".to_string(),
                };
                // The resourceVersion makes it conditional: if someone else
                // set an operation meanwhile, the server refuses (409).
                (
                    json!({
                        "metadata": {"resourceVersion": current.meta.resource_version},
                        "operation": {
                            "initiatedBy": {"username": initiator(), "automated": false},
                            "sync": sync
                        }
                    }),
                    said,
                )
            }
            ActionKind::DisableAutoSync => (
                json!({"spec": {"syncPolicy": {"automated": null}}}),
                "auto-sync is off".to_string(),
            ),
            _ => return Err(ActionError::Unsupported(action.kind.verb())),
        };
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|e| match &e {
                kube::Error::Api(s) if s.code == 409 => ActionError::Rejected(format!(
                    "{name} changed while the request was made (409 Conflict): look again and retry"
                )),
                _ => k8s::describe_action(&self.name, &request("patch"), &e),
            })?;
        Ok(said)
    }
}

/// Who the operation is recorded as started by.
fn initiator() -> String {
    format!(
        "opsdeck ({})",
        whoami::username().unwrap_or_else(|_| "unknown".into())
    )
}

/// The `operation.sync` the argocd CLI (core mode) writes: the revision to
/// sync to (the target revision, or the history entry's for a rollback),
/// prune and dry-run.
fn sync_operation(action: &Action, current: &KubeObject) -> Result<serde_json::Value, ActionError> {
    let mut sync = json!({
        "prune": action.sync.prune,
        "dryRun": action.sync.dry_run,
        "syncStrategy": {"hook": {}},
    });
    // As argocd-server does: the app's own sync options go with it.
    if let Some(options) = current.raw.pointer("/spec/syncPolicy/syncOptions") {
        sync["syncOptions"] = options.clone();
    }
    match action.kind {
        ActionKind::Rollback => {
            let to = action.to.as_deref().unwrap_or("");
            let history = current
                .raw
                .pointer("/status/history")
                .and_then(|h| h.as_array())
                .cloned()
                .unwrap_or_default();
            let entry = history
                .iter()
                .find(|h| {
                    h.get("id").is_some_and(|id| match id {
                        serde_json::Value::String(s) => s == to,
                        serde_json::Value::Number(n) => {
                            n.as_i64().is_some_and(|n| to.parse() == Ok(n))
                        }
                        _ => false,
                    })
                })
                .ok_or_else(|| {
                    ActionError::Rejected(format!(
                        "history entry #{to} is gone from the Application"
                    ))
                })?;
            sync["revision"] = entry.get("revision").cloned().unwrap_or_default();
            if let Some(source) = entry.get("source") {
                sync["source"] = source.clone();
            }
        }
        _ => {
            if let Some(rev) = current.str_at("/spec/source/targetRevision") {
                sync["revision"] = json!(rev);
            }
        }
    }
    Ok(sync)
}

fn unreadable(source: &str, id: String, namespace: &str, problem: &str) -> GitOpsApp {
    let mut app = api::to_app(source, api::Application::default());
    app.name = id;
    app.namespace = namespace.to_string();
    app.sync = SyncStatus::Unknown;
    app.health = Health::Unknown;
    app.health_message = Some(format!("cannot read this Application: {problem}"));
    app
}

#[async_trait]
impl Source for ArgoCdKubeSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn descriptor(&self) -> &'static crate::sources::kinds::Descriptor {
        &crate::sources::kinds::ARGOCD
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    async fn fetch(&self) -> Result<Snapshot, SourceError> {
        let client = self.client().await?;
        let objects = self.list_all(&client).await?;
        Ok(self.snapshot(&objects.iter().collect::<Vec<_>>()))
    }

    fn supports(&self, kind: ActionKind) -> bool {
        // Stopping a running operation needs the API server.
        kind != ActionKind::Terminate && self.descriptor().actions.contains(&kind)
    }

    fn capabilities(&self) -> Capabilities {
        // The drill-down needs the API server; this source reads the cluster.
        Capabilities {
            app_detail: false,
            ..self.descriptor().capabilities
        }
    }

    async fn execute(&self, action: &Action) -> Result<String, ActionError> {
        self.act(action).await
    }

    async fn run_jobs(&self, _run_id: &str) -> Result<Vec<Job>, SourceError> {
        Err(SourceError::Unsupported(
            "Argo CD sources have no pipeline runs".into(),
        ))
    }

    async fn app_detail(&self, _app: &str) -> Result<AppDetail, SourceError> {
        Err(SourceError::Unsupported(
            "the drill-down needs the Argo CD API server (`url`); this source reads the cluster"
                .into(),
        ))
    }

    async fn watch(
        &self,
        index: usize,
        tx: &tokio::sync::mpsc::Sender<SourceEvent>,
        wake: &tokio::sync::Notify,
    ) -> bool {
        k8s::watch::run(self, index, tx, wake).await;
        true
    }
}

impl k8s::watch::Watchable for ArgoCdKubeSource {
    type Kind = ();

    fn source_name(&self) -> &str {
        &self.name
    }

    fn poll(&self) -> Duration {
        self.poll
    }

    async fn client(&self, read_timeout: Duration) -> Result<kube::Client, SourceError> {
        self.client_with(Some(read_timeout)).await
    }

    fn watches(&self, client: &kube::Client) -> Vec<k8s::watch::WatchSpec<()>> {
        let mut config = kube::runtime::watcher::Config::default();
        if let Some(selector) = &self.config.selector {
            config = config.labels(selector);
        }
        self.apis(client)
            .into_iter()
            .map(|(api, namespace)| k8s::watch::WatchSpec {
                kind: (),
                resource: resource(),
                api,
                namespace,
                config: config.clone(),
            })
            .collect()
    }

    fn snapshot(&self, objects: &[((), &KubeObject)]) -> Snapshot {
        let objects: Vec<&KubeObject> = objects.iter().map(|(_, o)| *o).collect();
        ArgoCdKubeSource::snapshot(self, &objects)
    }
}
