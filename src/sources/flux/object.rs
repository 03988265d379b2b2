//! What one Flux object says on its own: its inventory, the source to
//! reconcile before it, whether it is suspended, its Ready condition.

use super::map::{FluxKind, decode};
use crate::model::TreeNode;
use crate::sources::kube::KubeObject;

/// One inventory entry: namespace, name, group, kind.
pub struct InventoryId {
    pub namespace: String,
    pub name: String,
    pub group: String,
    pub kind: String,
}

/// A Kustomization's `status.inventory.entries[]` ids taken apart
/// (`<namespace>_<name>_<group>_<kind>`; none of them has a `_`).
pub fn inventory_ids(object: &KubeObject) -> Vec<InventoryId> {
    let Ok(o) = decode(object) else {
        return Vec::new();
    };
    o.status
        .inventory
        .map(|i| i.entries)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| {
            let parts: Vec<&str> = e.id.split('_').collect();
            let [namespace, name, group, kind] = parts.as_slice() else {
                return None;
            };
            Some(InventoryId {
                namespace: namespace.to_string(),
                name: name.to_string(),
                group: group.to_string(),
                kind: kind.to_string(),
            })
        })
        .collect()
}

/// A Kustomization's inventory as the rows of its drill-down.
pub fn inventory(object: &KubeObject) -> Vec<TreeNode> {
    let mut rows: Vec<TreeNode> = inventory_ids(object)
        .into_iter()
        .map(|id| TreeNode {
            depth: 0,
            kind: id.kind,
            namespace: id.namespace,
            name: id.name,
            health: None,
            message: None,
        })
        .collect();
    rows.sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
    rows
}

/// The source to reconcile before an object (kind, namespace, name), as
/// `flux reconcile --with-source` picks it: the Kustomization's
/// `sourceRef`; a HelmRelease's `chartRef`, else the HelmChart Flux made
/// from its chart template (`<namespace>-<name>` in the source's namespace).
pub fn source_of(kind: FluxKind, object: &KubeObject) -> Option<(String, String, String)> {
    let o = decode(object).ok()?;
    let own_ns = object.namespace();
    match kind {
        FluxKind::HelmRelease => {
            if let Some(r) = o.spec.chart_ref {
                return Some(r.located(own_ns));
            }
            let (_, namespace, _) = o.spec.chart?.spec.source_ref?.located(own_ns);
            Some((
                "HelmChart".into(),
                namespace,
                format!("{own_ns}-{}", object.name()),
            ))
        }
        _ => Some(o.spec.source_ref?.located(own_ns)),
    }
}

pub use crate::sources::kube::reconcile::{is_suspended, ready};
