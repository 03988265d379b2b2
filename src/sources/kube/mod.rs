//! What the Kubernetes sources share: a client for one kubeconfig context,
//! an object type that decodes one object at a time (a malformed object is
//! kept with its problem instead of failing the list or the watch), merge
//! patches, and errors in words (`errors.rs`: 403s name the verb, resource
//! and namespace).

mod errors;
pub mod reconcile;
pub mod watch;

use errors::auth_problem;
pub use errors::{Request, describe, describe_action};

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, DynamicResourceScope, GroupVersionKind};
use kube::{Api, Client};
use serde::Deserialize;

use super::SourceError;
use super::http;
use crate::config::KubeTarget;

/// One request to the API server (a list, a get) may take this long: under
/// the source's read timeout, so a silent or trickling API server is named
/// by the request it left unanswered.
pub const REQUEST_TIMEOUT: Duration = http::REQUEST_TIMEOUT;
/// The cluster said 429 but kube-rs does not pass on its `Retry-After`:
/// nothing is sent for this long (the API server's own default is 1 s).
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);

/// A resource opsdeck reads, by group, version, kind and plural.
pub fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// One object of any kind: its metadata, the whole object as JSON, and
/// what was wrong with it if its metadata could not be read.
#[derive(Clone, Debug, Default)]
pub struct KubeObject {
    pub meta: ObjectMeta,
    pub raw: serde_json::Value,
    pub problem: Option<String>,
}

impl<'de> Deserialize<'de> for KubeObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(d)?;
        let metadata = raw.get("metadata").cloned().unwrap_or_default();
        match serde_json::from_value::<ObjectMeta>(metadata) {
            Ok(meta) => Ok(KubeObject {
                meta,
                raw,
                problem: None,
            }),
            Err(e) => {
                // Keep what identifies it, so it can be reported by name.
                let text = |key: &str| {
                    raw.pointer(&format!("/metadata/{key}"))
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                };
                let meta = ObjectMeta {
                    name: text("name"),
                    namespace: text("namespace"),
                    resource_version: text("resourceVersion"),
                    uid: text("uid"),
                    ..ObjectMeta::default()
                };
                Ok(KubeObject {
                    meta,
                    problem: Some(format!("metadata: {e}")),
                    raw,
                })
            }
        }
    }
}

impl kube::Resource for KubeObject {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.kind)
    }
    fn group(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.group)
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.version)
    }
    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.api_version)
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.plural)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

impl KubeObject {
    pub fn name(&self) -> &str {
        self.meta.name.as_deref().unwrap_or("")
    }
    pub fn namespace(&self) -> &str {
        self.meta.namespace.as_deref().unwrap_or("")
    }
    /// A string at a JSON pointer (`/status/lastHandledReconcileAt`).
    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.raw.pointer(pointer).and_then(|v| v.as_str())
    }
}

/// The kubeconfig path used when none is configured: `KUBECONFIG` (its
/// first entry), then `~/.kube/config`.
fn default_kubeconfig() -> Option<PathBuf> {
    if let Some(list) = std::env::var_os("KUBECONFIG") {
        if let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()) {
            return Some(first);
        }
    }
    dirs::home_dir().map(|h| h.join(".kube").join("config"))
}

/// A client for the target's context, that context's name (the
/// kubeconfig's current one when none is configured) and the API server's
/// URL (for messages: no credentials, no query). An exec credential
/// plugin runs here (and again when its token expires); its failure is a
/// refusal in words. `read_timeout`: the longest a response may stay silent
/// (a watch's, too) before it counts as failed; None keeps kube's default.
pub async fn client(
    source: &str,
    target: &KubeTarget,
    read_timeout: Option<Duration>,
) -> Result<(Client, String, String), SourceError> {
    let path = target.kubeconfig.clone().or_else(default_kubeconfig);
    let Some(path) = path else {
        return Err(SourceError::Unsupported(format!(
            "{source}: no kubeconfig (set `kubeconfig`, KUBECONFIG or create ~/.kube/config)"
        )));
    };
    let kubeconfig = Kubeconfig::read_from(&path).map_err(|e| {
        SourceError::Unsupported(format!(
            "{source}: cannot read the kubeconfig {}: {e}",
            path.display()
        ))
    })?;
    if let Some(context) = &target.context
        && !kubeconfig.contexts.iter().any(|c| &c.name == context)
    {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(SourceError::Unsupported(format!(
            "{source}: the kubeconfig {} has no context `{context}` (it has: {})",
            path.display(),
            known.join(", ")
        )));
    }
    let context = target
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .unwrap_or_default();
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| {
            SourceError::Unsupported(format!(
                "{source}: the kubeconfig {} does not give a usable cluster: {e}",
                path.display()
            ))
        })?;
    let mut config = config;
    // The API server's URL for messages: no user info, no query.
    let server = {
        let uri = &config.cluster_url;
        let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{}{port}{}",
            uri.scheme_str().unwrap_or("https"),
            uri.host().unwrap_or_default(),
            uri.path().trim_end_matches('/')
        )
    };
    if let Some(limit) = read_timeout {
        config.read_timeout = Some(limit);
    }
    let client = Client::try_from(config).map_err(|e| match auth_problem(&e) {
        Some(why) => SourceError::Auth(format!("{source}: {why}")),
        None => SourceError::Unreachable(format!("{source}: cannot set up the client: {e}")),
    })?;
    Ok((client, context, server))
}

/// One cluster as a source reads it: the configured target, and the
/// context and API server URL in use once a client was made (for the
/// table's cluster column and for messages).
pub struct Cluster {
    pub target: KubeTarget,
    context: std::sync::Mutex<String>,
    server: std::sync::Mutex<String>,
}

impl Cluster {
    pub fn new(target: KubeTarget) -> Self {
        Cluster {
            target,
            context: std::sync::Mutex::new(String::new()),
            server: std::sync::Mutex::new(String::new()),
        }
    }

    /// What the table calls the cluster: the context's name.
    pub fn name(&self) -> String {
        match &self.target.context {
            Some(c) => c.clone(),
            None => self.context.lock().map(|c| c.clone()).unwrap_or_default(),
        }
    }

    /// The API server's URL, once a client was made.
    pub fn server(&self) -> String {
        self.server.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// A client (see `client`), remembering its context and server.
    pub async fn client(
        &self,
        source: &str,
        read_timeout: Option<Duration>,
    ) -> Result<Client, SourceError> {
        let (client, context, server) = client(source, &self.target, read_timeout).await?;
        if let Ok(mut c) = self.context.lock() {
            *c = context;
        }
        if let Ok(mut s) = self.server.lock() {
            *s = server;
        }
        Ok(client)
    }
}

/// One request, cut at `REQUEST_TIMEOUT`: a silent (or trickling) API
/// server is named by the request it left unanswered.
pub async fn within<T>(
    request: &Request<'_>,
    work: impl Future<Output = Result<T, kube::Error>>,
) -> Result<Result<T, kube::Error>, SourceError> {
    tokio::time::timeout(REQUEST_TIMEOUT, work)
        .await
        .map_err(|_| SourceError::NoAnswer {
            within: REQUEST_TIMEOUT,
            from: format!("the API server to {request}"),
        })
}

/// The APIs of one resource: one per configured namespace, or one for all.
pub fn apis(client: &Client, ar: &ApiResource, namespaces: &[String]) -> Vec<Api<KubeObject>> {
    if namespaces.is_empty() {
        vec![Api::all_with(client.clone(), ar)]
    } else {
        namespaces
            .iter()
            .map(|ns| Api::namespaced_with(client.clone(), ns, ar))
            .collect()
    }
}

/// The APIs of one resource, each with the namespace it reads (None: all).
pub fn apis_by_namespace(
    client: &Client,
    ar: &ApiResource,
    namespaces: &[String],
) -> Vec<(Api<KubeObject>, Option<String>)> {
    let apis = apis(client, ar, namespaces);
    if namespaces.is_empty() {
        apis.into_iter().map(|a| (a, None)).collect()
    } else {
        apis.into_iter()
            .zip(namespaces.iter().map(|n| Some(n.clone())))
            .collect()
    }
}

/// Read one object for a read (a detail view); its failure in words.
pub async fn read_one(
    source: &str,
    client: Client,
    ar: &ApiResource,
    namespace: &str,
    name: &str,
) -> Result<KubeObject, SourceError> {
    let api: Api<KubeObject> = Api::namespaced_with(client, namespace, ar);
    api.get(name).await.map_err(|e| {
        let request = Request {
            verb: "get",
            resource: ar,
            namespace: Some(namespace),
        };
        describe(source, &request, &e)
    })
}
