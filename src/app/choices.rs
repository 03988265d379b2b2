//! What the pickers offer: the deploy-history entries a rollback can go
//! to, the model versions an alias can move to, and which one is offered
//! first.

use crate::app::state::PickerEntry;
use crate::model::{Deployment, GitOpsApp, ModelDrift};

/// The commit a repository rollback reverts by default: the newest one
/// touching the app's folder that its linked app already runs (the likely
/// culprit), else the newest one.
pub fn default_revert(app: &GitOpsApp) -> Option<&Deployment> {
    let deployed = app.pending.map_or(0, |p| p as usize);
    app.history.get(deployed).or_else(|| app.history.first())
}

/// The rollback offered by default: the newest deployment of another revision.
pub fn default_rollback(app: &GitOpsApp) -> Option<&Deployment> {
    app.history
        .iter()
        .find(|d| Some(d.revision.as_str()) != app.revision.as_deref())
}

/// The rollback picker's entries: the app's history, newest first.
pub fn rollback_choices(app: &GitOpsApp) -> Vec<PickerEntry> {
    app.history
        .iter()
        .map(|d| PickerEntry {
            verdict: None,
            id: d.id.clone(),
            revision: d.revision.clone(),
            time: d.deployed_at,
            author: d.author.clone().unwrap_or_default(),
            message: d.message.clone().unwrap_or_default(),
            // Any commit of a repository can be reverted, the newest included.
            current: app.repo.is_none() && app.revision.as_deref() == Some(d.revision.as_str()),
        })
        .collect()
}

/// The model-version picker's entries, newest first.
pub fn version_choices(model: &ModelDrift) -> Vec<PickerEntry> {
    model
        .versions
        .iter()
        .map(|v| PickerEntry {
            verdict: None,
            id: v.version.clone(),
            revision: format!("v{}", v.version),
            time: v.created_at,
            author: v.status.clone(),
            message: v.description.clone().unwrap_or_default(),
            current: model.version.as_deref() == Some(v.version.as_str()),
        })
        .collect()
}
