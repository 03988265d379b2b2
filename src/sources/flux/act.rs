//! What a Flux source does when acted on: find the object behind an app,
//! merge-patch it (reconcile request, suspend, resume) and follow a
//! reconcile until the controller has handled it.

use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::ApiResource;
use kube::runtime::wait::await_condition;

use super::map::{self, Key};
use super::{
    FluxSource, NO_ROLLBACK, RECONCILE_FOLLOW_TIMEOUT, REQUESTED_AT, resource, source_resource,
};
use crate::model::{Action, ActionKind};
use crate::sources::ActionError;
use crate::sources::kube::{self as k8s, KubeObject, Request};

impl FluxSource {
    /// The object behind an app id, reading again if it is not known yet.
    pub(super) async fn key_of(&self, client: &kube::Client, id: &str) -> Result<Key, ActionError> {
        let known = self.keys.lock().ok().and_then(|k| k.get(id).cloned());
        if let Some(key) = known {
            return Ok(key);
        }
        let objects = self
            .list_all(client)
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        self.snapshot(&super::borrowed(&objects));
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

    pub(super) async fn act(&self, action: &Action) -> Result<String, ActionError> {
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
