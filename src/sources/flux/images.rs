//! The images a Flux object declares: a Kustomization's `spec.images`
//! overrides (what kustomize sets in its workloads) and a HelmRelease's
//! `spec.values` in the common chart shape (`image: {registry, repository,
//! tag, digest}` or `image: "repo:tag"`, at the top or one level down).
//! A Kustomization without overrides gets the images its inventory's
//! workloads run (`workloads.rs`).

use serde::Deserialize;

use crate::model::AppImage;

/// One `spec.images` entry of a Kustomization.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KustomizeImage {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
}

/// A Kustomization's image overrides as the references they produce.
pub fn kustomization(images: &[KustomizeImage]) -> Vec<AppImage> {
    images
        .iter()
        .filter(|i| !i.name.is_empty())
        .map(|i| {
            let name = i.new_name.as_deref().unwrap_or(&i.name);
            reference(name, i.new_tag.as_deref(), i.digest.as_deref())
        })
        .collect()
}

/// A HelmRelease's values: `image` at the top, else each top-level
/// component's `image` (in name order), without duplicates.
pub fn helm_values(values: Option<&serde_json::Value>) -> Vec<AppImage> {
    let Some(values) = values.and_then(|v| v.as_object()) else {
        return Vec::new();
    };
    let mut found: Vec<String> = Vec::new();
    let mut add = |image: Option<String>| {
        if let Some(image) = image
            && !found.contains(&image)
        {
            found.push(image);
        }
    };
    add(values.get("image").and_then(image_value));
    let mut keys: Vec<&String> = values.keys().filter(|k| *k != "image").collect();
    keys.sort();
    for key in keys {
        add(values[key].get("image").and_then(image_value));
    }
    found.iter().map(|i| AppImage::new(i)).collect()
}

/// `image:` as a string, or as `{registry, repository, tag, digest}`.
fn image_value(value: &serde_json::Value) -> Option<String> {
    if let Some(text) = value.as_str() {
        return (!text.trim().is_empty()).then(|| text.trim().to_string());
    }
    let field = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let repository = field("repository").or_else(|| field("name"))?;
    let name = match field("registry") {
        Some(registry) => format!("{registry}/{repository}"),
        None => repository.to_string(),
    };
    Some(reference(&name, field("tag"), field("digest")).image)
}

fn reference(name: &str, tag: Option<&str>, digest: Option<&str>) -> AppImage {
    let mut image = name.to_string();
    if let Some(tag) = tag.filter(|t| !t.is_empty()) {
        image.push(':');
        image.push_str(tag);
    }
    if let Some(digest) = digest.filter(|d| !d.is_empty()) {
        image.push('@');
        image.push_str(digest);
    }
    AppImage::new(&image)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names(images: Vec<AppImage>) -> Vec<String> {
        images.into_iter().map(|i| i.image).collect()
    }

    #[test]
    fn kustomize_overrides_name_the_image_they_set() {
        let images: Vec<KustomizeImage> = serde_json::from_value(json!([
            {"name": "payments", "newName": "ghcr.io/acme/payments", "newTag": "1.4.2"},
            {"name": "ghcr.io/acme/worker", "digest": "sha256:ab"},
            {"newTag": "nameless"}
        ]))
        .expect("images");
        let found = kustomization(&images);
        assert_eq!(found[1].digest.as_deref(), Some("sha256:ab"));
        assert_eq!(
            names(found),
            [
                "ghcr.io/acme/payments:1.4.2",
                "ghcr.io/acme/worker@sha256:ab"
            ]
        );
    }

    #[test]
    fn helm_values_in_the_common_chart_shape() {
        let values = json!({
            "image": {"repository": "ghcr.io/stefanprodan/podinfo", "tag": "6.5.4"},
            "worker": {"image": "ghcr.io/acme/worker:2"},
            "db": {"image": {"registry": "docker.io", "repository": "bitnami/postgresql", "tag": "16"}},
            "replicas": 2
        });
        assert_eq!(
            names(helm_values(Some(&values))),
            [
                "ghcr.io/stefanprodan/podinfo:6.5.4",
                "docker.io/bitnami/postgresql:16",
                "ghcr.io/acme/worker:2"
            ]
        );
        assert!(helm_values(None).is_empty());
        assert!(helm_values(Some(&json!({"image": {"tag": "1"}}))).is_empty());
    }
}
