//! What a Flux source does when acted on: find the object behind an app
//! and reconcile (with its source first), suspend or resume it through the
//! helpers the Flux-style controllers share (`kube::reconcile`).

use super::map::{self, Key};
use super::{FluxSource, NO_ROLLBACK, resource};
use crate::model::{Action, ActionKind};
use crate::sources::ActionError;
use crate::sources::kube::reconcile;

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
            ActionKind::Sync | ActionKind::ReconcileWithSource => {
                reconcile::with_source(&self.name, &client, &ar, &namespace, &name, |o| {
                    map::source_of(kind, o)
                })
                .await
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
