//! An app's detail from Argo CD's answers: the last operation's
//! per-resource results, a revision's metadata, the resource tree as
//! indented rows, and the live/desired diffs of its managed resources.

use super::api::{Application, ManagedResources, ResourceTree, RevisionMetadata, health, time};
use crate::model::{ResourceDiff, ResourceResult, RevisionInfo, TreeNode};

/// The per-resource results of the last operation.
pub fn results(app: &Application) -> Vec<ResourceResult> {
    app.status
        .operation_state
        .as_ref()
        .and_then(|o| o.sync_result.as_ref())
        .map(|r| {
            r.resources
                .iter()
                .map(|x| ResourceResult {
                    kind: x.kind.clone(),
                    namespace: x.namespace.clone(),
                    name: x.name.clone(),
                    status: x.status.clone(),
                    message: x.message.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn revision_info(revision: &str, m: RevisionMetadata) -> RevisionInfo {
    RevisionInfo {
        revision: revision.to_string(),
        author: m.author,
        date: time(&m.date),
        message: m.message,
    }
}

/// The tree as indented rows: roots (no parent in the tree) first, each
/// followed by its children, sorted by kind and name at every level.
pub fn tree(tree: ResourceTree) -> Vec<TreeNode> {
    let nodes = tree.nodes;
    let uids: std::collections::HashSet<&str> = nodes.iter().map(|n| n.uid.as_str()).collect();
    let mut children: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    let mut roots = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let parents: Vec<&str> = n
            .parent_refs
            .iter()
            .map(|p| p.uid.as_str())
            .filter(|u| uids.contains(u) && *u != n.uid)
            .collect();
        match parents.first() {
            Some(p) => children.entry(p).or_default().push(i),
            None => roots.push(i),
        }
    }
    let key = |i: &usize| (nodes[*i].kind.clone(), nodes[*i].name.clone());
    roots.sort_by_key(key);
    children.values_mut().for_each(|c| c.sort_by_key(key));
    let mut out = Vec::with_capacity(nodes.len());
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        // A cycle of owner references must not loop forever.
        if !seen.insert(i) {
            continue;
        }
        let n = &nodes[i];
        out.push(TreeNode {
            depth,
            kind: n.kind.clone(),
            namespace: n.namespace.clone(),
            name: n.name.clone(),
            health: n.health.as_ref().map(|h| health(h.status.as_deref())),
            message: n.health.as_ref().and_then(|h| h.message.clone()),
        });
        if let Some(kids) = children.get(n.uid.as_str()) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    out
}

/// Diffs of the modified resources: live (normalized) → desired, as YAML.
pub fn diffs(resources: ManagedResources) -> Vec<ResourceDiff> {
    resources
        .items
        .into_iter()
        .filter(|r| r.modified)
        .map(|r| {
            let live = as_yaml(r.normalized_live_state.as_deref());
            let target = as_yaml(r.target_state.as_deref());
            let place = if r.namespace.is_empty() {
                r.name.clone()
            } else {
                format!("{}/{}", r.namespace, r.name)
            };
            let diff = similar::TextDiff::from_lines(&live, &target);
            let text = diff
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("live {}/{place}", r.kind),
                    &format!("desired {}/{place}", r.kind),
                )
                .to_string();
            ResourceDiff {
                kind: r.kind,
                namespace: r.namespace,
                name: r.name,
                lines: text.lines().map(str::to_string).collect(),
            }
        })
        .collect()
}

/// A JSON object (as Argo CD sends it, in a string) written as YAML; an
/// absent object is empty, text that is not JSON is shown as is.
fn as_yaml(json: Option<&str>) -> String {
    let Some(text) = json.filter(|t| !t.trim().is_empty() && t.trim() != "null") else {
        return String::new();
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => serde_norway::to_string(&value).unwrap_or_else(|_| text.to_string()),
        Err(_) => text.to_string(),
    }
}
