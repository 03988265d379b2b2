//! What a tofu source does when acted on: reconcile (with its source
//! first, or not), suspend and resume
//! through the helpers the Flux-style controllers share, and the explicit
//! live approval (a merge patch of `spec.approvePlan`). The GitOps approval
//! is a `git` source's commit: asked of this source, it says so.

use kube::Api;

use super::{NO_GIT, TofuSource, map, resource};
use crate::model::{Action, ActionKind};
use crate::sources::ActionError;
use crate::sources::kube::KubeObject;
use crate::sources::kube::reconcile;

impl TofuSource {
    pub(super) async fn act(&self, action: &Action) -> Result<String, ActionError> {
        let (namespace, name) = self.key(&action.target.id)?;
        if action.kind == ActionKind::Approve {
            return Err(ActionError::Rejected(format!(
                "{}: {NO_GIT}",
                action.target
            )));
        }
        let client = self
            .client()
            .await
            .map_err(|e| ActionError::Rejected(e.to_string()))?;
        let ar = resource();
        match action.kind {
            ActionKind::Reconcile => Ok(reconcile::reconcile(
                &self.name, &client, &ar, &namespace, &name,
            )
            .await?
            .words()),
            ActionKind::ReconcileWithSource => {
                reconcile::with_source(&self.name, &client, &ar, &namespace, &name, map::source_of)
                    .await
            }
            ActionKind::Suspend | ActionKind::Resume => {
                let suspend = action.kind == ActionKind::Suspend;
                reconcile::set_suspended(&self.name, &client, &ar, &namespace, &name, suspend).await
            }
            ActionKind::ApproveLive => {
                let Some(plan) = action.to.as_deref() else {
                    return Err(ActionError::Rejected(
                        "a live approval needs the plan id to approve".into(),
                    ));
                };
                let api: Api<KubeObject> = Api::namespaced_with(client, &namespace, &ar);
                // The plan must still be the one waiting: an older id would
                // approve nothing (the controller wants the exact pending id).
                let current = reconcile::get(&self.name, &api, &ar, &namespace, &name).await?;
                let pending = map::decode(&current)
                    .ok()
                    .and_then(|o| o.pending().map(str::to_string));
                if pending.as_deref() != Some(plan) {
                    return Err(ActionError::Rejected(format!(
                        "Terraform {namespace}/{name} no longer waits for plan {plan} (pending: {}); \
                         nothing was patched",
                        pending.as_deref().unwrap_or("none")
                    )));
                }
                let body = serde_json::json!({"spec": {"approvePlan": plan}});
                reconcile::patch(&self.name, &api, &ar, &namespace, &name, body).await?;
                Ok(format!(
                    "Terraform {namespace}/{name} patched in the cluster: spec.approvePlan = {plan} \
                     (not in Git: Flux resets it when it applies the manifest again)"
                ))
            }
            _ => Err(ActionError::Unsupported(action.kind.verb())),
        }
    }
}
