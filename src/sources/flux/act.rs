//! What a Flux source does when acted on: find the object behind an app
//! and reconcile (with its source first), suspend or resume it through the
//! helpers the Flux-style controllers share (`kube::reconcile`).

use kube::Api;

use super::map::{self, Key};
use super::{FluxSource, NO_ROLLBACK, resource, source_resource};
use crate::model::{Action, ActionKind};
use crate::sources::ActionError;
use crate::sources::kube::KubeObject;
use crate::sources::kube::reconcile::{self, Reconciled};

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

    pub(super) async fn act(&self, action: &Action) -> Result<String, ActionError> {
        let client = self
            .client()
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        let (kind, namespace, name) = self.key_of(&client, &action.target.id).await?;
        let ar = resource(kind);
        match action.kind {
            ActionKind::Reconcile => Ok(reconcile::reconcile(
                &self.name, &client, &ar, &namespace, &name,
            )
            .await?
            .words()),
            ActionKind::Sync => {
                let api: Api<KubeObject> = Api::namespaced_with(client.clone(), &namespace, &ar);
                let object = reconcile::get(&self.name, &api, &ar, &namespace, &name).await?;
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
                let source =
                    reconcile::reconcile(&self.name, &client, &source_ar, &source_ns, &source_name)
                        .await?;
                if let Reconciled::Pending { .. } = source {
                    return Ok(source.words());
                }
                let app = reconcile::reconcile(&self.name, &client, &ar, &namespace, &name).await?;
                Ok(format!("{}; then {}", source.words(), app.words()))
            }
            ActionKind::Suspend | ActionKind::Resume => {
                let suspend = action.kind == ActionKind::Suspend;
                reconcile::set_suspended(&self.name, &client, &ar, &namespace, &name, suspend).await
            }
            ActionKind::Rollback => Err(ActionError::Rejected(NO_ROLLBACK.to_string())),
            _ => Err(ActionError::Unsupported(action.kind.verb())),
        }
    }
}
