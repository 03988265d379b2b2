//! The images a Kustomization's workloads run, when it sets none itself
//! (`spec.images`): the Deployments, StatefulSets and DaemonSets of its
//! inventory (`status.inventory.entries[]` ids), each read through the
//! same kube client for its pod template's `initContainers[].image` and
//! `containers[].image`. Bounded (`MAX_READS_PER_PASS` reads a pass, only
//! in the source's `namespaces` when it names some) and
//! kept per workload until the Kustomization applies another revision; a
//! workload that cannot be read (gone, not allowed) is left out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use kube::Api;

use crate::model::{AppImage, Snapshot};
use crate::sources::kube::{self as k8s, KubeObject, Request};

/// Workload reads per pass at most; the rest wait for the next pass.
pub const MAX_READS_PER_PASS: usize = 20;

/// A workload: (kind, namespace, name).
pub type Workload = (String, String, String);

/// The workload kinds whose pod templates are read.
const KINDS: [(&str, &str); 3] = [
    ("Deployment", "deployments"),
    ("StatefulSet", "statefulsets"),
    ("DaemonSet", "daemonsets"),
];

/// The workloads in an object's inventory (`<ns>_<name>_apps_<Kind>`).
pub fn of_inventory(object: &KubeObject) -> Vec<Workload> {
    super::object::inventory_ids(object)
        .into_iter()
        .filter(|id| id.group == "apps" && KINDS.iter().any(|(k, _)| *k == id.kind))
        .map(|id| (id.kind, id.namespace, id.name))
        .collect()
}

/// The images in a workload's pod template, in order, without repeats.
pub fn pod_template_images(workload: &serde_json::Value) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for list in ["initContainers", "containers"] {
        let containers = workload
            .pointer(&format!("/spec/template/spec/{list}"))
            .and_then(|c| c.as_array());
        for c in containers.into_iter().flatten() {
            if let Some(image) = c.get("image").and_then(|i| i.as_str())
                && !image.trim().is_empty()
                && !found.iter().any(|f| f == image.trim())
            {
                found.push(image.trim().to_string());
            }
        }
    }
    found
}

/// A workload's images, with the app revision they were read at.
type ReadAt = (Option<String>, Vec<String>);

/// What is known: each app's workloads (from the last snapshot) and each
/// workload's images, with the app revision they were read at.
#[derive(Debug, Default)]
pub struct WorkloadImages {
    of_app: Mutex<BTreeMap<String, Vec<Workload>>>,
    images: Mutex<HashMap<Workload, ReadAt>>,
}

impl WorkloadImages {
    /// Note the workloads of each app (the apps without images of their own).
    pub fn note(&self, of_app: BTreeMap<String, Vec<Workload>>) {
        if let Ok(mut known) = self.of_app.lock() {
            *known = of_app;
        }
    }

    fn cached(&self, w: &Workload, revision: &Option<String>) -> Option<Vec<String>> {
        let images = self.images.lock().ok()?;
        images
            .get(w)
            .filter(|(at, _)| at == revision)
            .map(|(_, i)| i.clone())
    }

    /// Give each noted app the images of its workloads, reading the ones
    /// not known at the app's revision (bounded), only in `namespaces`
    /// when the source is limited to some.
    pub async fn fill(
        &self,
        source: &str,
        client: &kube::Client,
        namespaces: &[String],
        snapshot: &mut Snapshot,
    ) {
        let of_app = self.of_app.lock().map(|m| m.clone()).unwrap_or_default();
        let mut reads = 0;
        for app in snapshot.apps.iter_mut().filter(|a| a.images.is_empty()) {
            let Some(workloads) = of_app.get(&app.name) else {
                continue;
            };
            let mut images: Vec<String> = Vec::new();
            let readable = workloads
                .iter()
                .filter(|w| namespaces.is_empty() || namespaces.contains(&w.1));
            for w in readable {
                let found = match self.cached(w, &app.revision) {
                    Some(found) => found,
                    None if reads < MAX_READS_PER_PASS => {
                        reads += 1;
                        let found = read(source, client, w).await;
                        if let (Some(found), Ok(mut cache)) = (&found, self.images.lock()) {
                            cache.insert(w.clone(), (app.revision.clone(), found.clone()));
                        }
                        found.unwrap_or_default()
                    }
                    None => Vec::new(),
                };
                for image in found {
                    if !images.contains(&image) {
                        images.push(image);
                    }
                }
            }
            app.images = images.iter().map(|i| AppImage::new(i)).collect();
        }
    }
}

/// One workload's images; None when it could not be read now (asked again
/// next pass), empty when it is gone or not allowed.
async fn read(source: &str, client: &kube::Client, w: &Workload) -> Option<Vec<String>> {
    let (kind, namespace, name) = w;
    let plural = KINDS.iter().find(|(k, _)| k == kind)?.1;
    let ar = k8s::resource("apps", "v1", kind, plural);
    let api: Api<KubeObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let request = Request {
        verb: "get",
        resource: &ar,
        namespace: Some(namespace),
    };
    match k8s::within(&request, api.get(name)).await {
        Ok(Ok(object)) => Some(pod_template_images(&object.raw)),
        Ok(Err(kube::Error::Api(status))) if matches!(status.code, 403 | 404) => {
            tracing::debug!(source, %kind, %namespace, %name, code = status.code, "workload images unread");
            Some(Vec::new())
        }
        Ok(Err(e)) => {
            let why = k8s::describe(source, &request, &e);
            tracing::debug!(source, %why, "workload images unread");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn inventory_workloads_and_their_pod_template_images() {
        let o: KubeObject = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "flux-system"},
            "status": {"inventory": {"entries": [
                {"id": "web_web_apps_Deployment", "v": "v1"},
                {"id": "web_db_apps_StatefulSet", "v": "v1"},
                {"id": "web_web__Service", "v": "v1"},
                {"id": "web_x_batch_Job", "v": "v1"}
            ]}}
        }))
        .expect("object");
        assert_eq!(
            of_inventory(&o),
            [
                ("Deployment".into(), "web".into(), "web".into()),
                ("StatefulSet".into(), "web".into(), "db".into())
            ]
        );
        let deployment = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "migrate", "image": "ghcr.io/acme/web:1.2"}],
            "containers": [{"name": "web", "image": "ghcr.io/acme/web:1.2"},
                           {"name": "proxy", "image": "envoyproxy/envoy:v1.30"},
                           {"name": "nameless"}]
        }}}});
        assert_eq!(
            pod_template_images(&deployment),
            ["ghcr.io/acme/web:1.2", "envoyproxy/envoy:v1.30"]
        );
        assert!(pod_template_images(&json!({})).is_empty());
    }
}
