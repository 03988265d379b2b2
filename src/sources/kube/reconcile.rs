//! What the Flux-style controllers share when acted on (Flux's own
//! controllers and the tofu-controller): read one object, merge-patch it,
//! ask for a reconcile through `reconcile.fluxcd.io/requestedAt` and follow
//! it until `status.lastHandledReconcileAt` echoes the request, suspend and
//! resume through `spec.suspend`, and the Ready condition in words.

use std::time::Duration;

use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::ApiResource;
use kube::runtime::wait::await_condition;

use super::{KubeObject, Request, describe_action};
use crate::sources::ActionError;

/// The annotation that asks a Flux controller to reconcile now.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// How long to follow a reconcile until the controller has handled it
/// (under the executor's own limit).
pub const RECONCILE_FOLLOW_TIMEOUT: Duration = Duration::from_secs(50);

/// `spec.suspend`, when readable.
pub fn is_suspended(object: &KubeObject) -> bool {
    object
        .raw
        .pointer("/spec/suspend")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// One condition's status, reason and message, when the object has it.
pub fn condition(object: &KubeObject, kind: &str) -> Option<(String, String, String)> {
    let conditions = object.raw.pointer("/status/conditions")?.as_array()?;
    let c = conditions
        .iter()
        .find(|c| c.get("type").and_then(|t| t.as_str()) == Some(kind))?;
    let text = |key: &str| {
        c.get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Some((text("status"), text("reason"), text("message")))
}

/// The Ready condition's status and words.
pub fn ready(object: &KubeObject) -> (String, String) {
    match condition(object, "Ready") {
        Some((status, reason, message)) => (status, format!("{reason}: {message}")),
        None => ("Unknown".into(), "no Ready condition yet".into()),
    }
}

/// Read one object (verb `get`). A read changes nothing: however it
/// failed, the action it was for was not sent.
pub async fn get(
    source: &str,
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
        match describe_action(source, &request, &e) {
            ActionError::Lost(words) => {
                ActionError::Rejected(format!("{words}; nothing was changed"))
            }
            other => other,
        }
    })
}

/// Merge-patch one object (verb `patch`).
pub async fn patch(
    source: &str,
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
            describe_action(source, &request, &e)
        })
}

/// Ask for a reconcile of one object and follow it until the controller
/// has handled the request; returns the Ready condition then.
pub async fn reconcile(
    source: &str,
    client: &kube::Client,
    ar: &ApiResource,
    namespace: &str,
    name: &str,
) -> Result<Reconciled, ActionError> {
    let api: Api<KubeObject> = Api::namespaced_with(client.clone(), namespace, ar);
    let what = format!("{} {namespace}/{name}", ar.kind);
    let current = get(source, &api, ar, namespace, name).await?;
    if is_suspended(&current) {
        return Err(ActionError::Rejected(format!(
            "{what} is suspended: its controller ignores reconcile requests until it is resumed (resume it first)"
        )));
    }
    let token = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let body = serde_json::json!({"metadata": {"annotations": {REQUESTED_AT: token}}});
    patch(source, &api, ar, namespace, name, body).await?;
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
            let (status, words) = ready(&object);
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

/// Reconcile an object's source first, then the object, as `flux
/// reconcile --with-source` does: the controller then sees a commit just
/// pushed without waiting for the source's own interval. `source_of` reads
/// the source's (kind, namespace, name) from the object. Refused, with
/// nothing sent, when the object is suspended or names no known source.
pub async fn with_source(
    source: &str,
    client: &kube::Client,
    ar: &ApiResource,
    namespace: &str,
    name: &str,
    source_of: impl FnOnce(&KubeObject) -> Option<(String, String, String)>,
) -> Result<String, ActionError> {
    let api: Api<KubeObject> = Api::namespaced_with(client.clone(), namespace, ar);
    let object = get(source, &api, ar, namespace, name).await?;
    let what = format!("{} {namespace}/{name}", ar.kind);
    if is_suspended(&object) {
        return Err(ActionError::Rejected(format!(
            "{what} is suspended: resume it before reconciling"
        )));
    }
    let Some((source_kind, source_ns, source_name)) = source_of(&object) else {
        return Err(ActionError::Rejected(format!(
            "{what} names no source to reconcile first"
        )));
    };
    let Some(source_ar) = crate::sources::flux::source_resource(&source_kind) else {
        return Err(ActionError::Rejected(format!(
            "cannot reconcile a {source_kind} source (not a Flux source kind opsdeck knows)"
        )));
    };
    let fetched = reconcile(source, client, &source_ar, &source_ns, &source_name).await?;
    if let Reconciled::Pending { .. } = fetched {
        return Ok(fetched.words());
    }
    let applied = reconcile(source, client, ar, namespace, name).await?;
    Ok(format!("{}; then {}", fetched.words(), applied.words()))
}

/// Suspend (`spec.suspend = true`) or resume one object; says which.
pub async fn set_suspended(
    source: &str,
    client: &kube::Client,
    ar: &ApiResource,
    namespace: &str,
    name: &str,
    suspend: bool,
) -> Result<String, ActionError> {
    let api: Api<KubeObject> = Api::namespaced_with(client.clone(), namespace, ar);
    let body = serde_json::json!({"spec": {"suspend": suspend}});
    patch(source, &api, ar, namespace, name, body).await?;
    let kind = &ar.kind;
    Ok(if suspend {
        format!("{kind} {namespace}/{name} suspended (spec.suspend = true)")
    } else {
        format!("{kind} {namespace}/{name} resumed (spec.suspend = false)")
    })
}

/// How a reconcile ended.
pub enum Reconciled {
    Handled {
        what: String,
        ready: String,
        words: String,
    },
    /// Requested, but the controller had not handled it in time.
    Pending { what: String },
}

impl Reconciled {
    pub fn words(&self) -> String {
        match self {
            Reconciled::Handled { what, ready, words } if ready == "True" => {
                format!("{what} reconciled: Ready ({words})")
            }
            Reconciled::Handled { what, ready, words } => {
                format!("{what} reconciled, but it is NOT Ready (Ready={ready}): {words}")
            }
            Reconciled::Pending { what } => format!(
                "reconcile of {what} requested; the controller had not handled it within {} — \
                 is the controller running?",
                humantime::format_duration(RECONCILE_FOLLOW_TIMEOUT)
            ),
        }
    }
}
