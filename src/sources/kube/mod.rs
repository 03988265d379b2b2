//! What the Kubernetes sources share: a client for one kubeconfig context,
//! an object type that decodes one object at a time (a malformed object is
//! kept with its problem instead of failing the list or the watch), merge
//! patches, and errors in words (403s name the verb, resource and namespace).

pub mod watch;

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, DynamicResourceScope, GroupVersionKind};
use kube::{Api, Client};
use serde::Deserialize;

use super::{ActionError, SourceError};
use crate::config::KubeTarget;

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

/// A client for the target's context, and that context's name (the
/// kubeconfig's current one when none is configured). An exec credential
/// plugin runs here (and again when its token expires); its failure is a
/// refusal in words. `read_timeout`: the longest a response may stay silent
/// (a watch's, too) before it counts as failed; None keeps kube's default.
pub async fn client(
    source: &str,
    target: &KubeTarget,
    read_timeout: Option<Duration>,
) -> Result<(Client, String), SourceError> {
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
    if let Some(limit) = read_timeout {
        config.read_timeout = Some(limit);
    }
    let client = Client::try_from(config).map_err(|e| match auth_problem(&e) {
        Some(why) => SourceError::Auth(format!("{source}: {why}")),
        None => SourceError::Unreachable(format!("{source}: cannot set up the client: {e}")),
    })?;
    Ok((client, context))
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

/// What the cluster was asked, for messages: `list` on `kustomizations`
/// in `flux-system`.
pub struct Request<'a> {
    pub verb: &'a str,
    pub resource: &'a ApiResource,
    /// None: all namespaces.
    pub namespace: Option<&'a str>,
}

impl std::fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.resource.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.resource.group)
        };
        match self.namespace {
            Some(ns) => write!(
                f,
                "`{}` on {}{group} in namespace {ns}",
                self.verb, self.resource.plural
            ),
            None => write!(
                f,
                "`{}` on {}{group} in all namespaces",
                self.verb, self.resource.plural
            ),
        }
    }
}

/// A failed request in words; credentials never appear.
pub fn describe(source: &str, request: &Request<'_>, error: &kube::Error) -> SourceError {
    match error {
        kube::Error::Api(status) if status.code == 403 => {
            let hint = if matches!(request.verb, "list" | "watch") && request.namespace.is_none() {
                "ask for RBAC access, or set `namespaces` to the ones you may read"
            } else {
                "ask for RBAC access"
            };
            SourceError::Auth(format!(
                "{source}: the cluster refused {request} (403 Forbidden): {} — {hint}",
                status.message
            ))
        }
        kube::Error::Api(status) if status.code == 401 => SourceError::Auth(format!(
            "{source}: the cluster did not accept the credentials (401) for {request}: the token \
             may have expired — log in again (or check the kubeconfig's user)"
        )),
        kube::Error::Api(status) => SourceError::Backend(format!(
            "{source}: {request} failed ({} {}): {}",
            status.code, status.reason, status.message
        )),
        other => match auth_problem(other) {
            Some(why) => SourceError::Auth(format!("{source}: {why}")),
            None => SourceError::Unreachable(format!("{source}: {request} failed: {other}")),
        },
    }
}

/// The same, for an action: refused when the server (or the credentials)
/// said no, unknown when the connection broke.
pub fn describe_action(source: &str, request: &Request<'_>, error: &kube::Error) -> ActionError {
    let refused = matches!(error, kube::Error::Api(_)) || auth_problem(error).is_some();
    let words = match describe(source, request, error) {
        SourceError::Auth(m)
        | SourceError::Backend(m)
        | SourceError::Unreachable(m)
        | SourceError::Decode(m)
        | SourceError::Unsupported(m) => m,
        other => other.to_string(),
    };
    if refused {
        ActionError::Rejected(words)
    } else {
        ActionError::Lost(words)
    }
}

/// A credential failure (exec plugin missing or failing, token file
/// unreadable) found anywhere in the error's chain, in words.
fn auth_problem(error: &kube::Error) -> Option<String> {
    use kube::client::AuthError;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(auth) = e.downcast_ref::<AuthError>() {
            return Some(match auth {
                AuthError::AuthExecStart(io) => format!(
                    "the kubeconfig's credential plugin could not be started ({io}): install it \
                     or fix `users[].user.exec.command`"
                ),
                // Its output may hold a token: say only how it ended.
                AuthError::AuthExecRun { cmd, status, .. } => format!(
                    "the credential plugin `{cmd}` failed ({status}): run it by hand to see why \
                     (an expired login is the usual cause)"
                ),
                AuthError::AuthExecParse(_) => {
                    "the credential plugin's output is not an ExecCredential".to_string()
                }
                other => format!("cannot get credentials for the cluster: {other}"),
            });
        }
        current = e.source();
    }
    None
}
