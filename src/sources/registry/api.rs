//! The OCI Distribution API as read here: a repository's tag list (paged by
//! `n`/`last` and `Link`), a tag's manifest digest (HEAD), a manifest (an
//! image manifest or an index of them) and an image's config blob.

use reqwest::StatusCode;
use serde::Deserialize;

use super::auth::Session;
use crate::model::Timestamp;
use crate::sources::SourceError;
use crate::sources::http::{self, Reply, pages};
use crate::sources::polite::next_link;

/// Every manifest type asked for (an OCI-only registry answers 404 to a
/// request that does not accept its type).
pub const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";
/// Tags asked for per page.
pub const PAGE_SIZE: usize = 100;
/// A tag list is read to at most this many pages.
pub const MAX_PAGES: usize = 20;
/// The annotation (or label) naming the commit an image was built from.
pub const REVISION: &str = "org.opencontainers.image.revision";
/// The annotation naming when an image was built.
pub const CREATED: &str = "org.opencontainers.image.created";

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// A manifest: an image's (config + layers) or an index of per-platform ones.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub digest: String,
    #[serde(default)]
    pub platform: Option<Platform>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
}

/// The parts of an image config read here.
#[derive(Debug, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub config: Option<ContainerConfig>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "Labels", default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

/// The registry's own words in an error body (`{"errors":[{"code",
/// "message"}]}`), else the kit's summary of it.
pub fn words(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<One>,
    }
    #[derive(Deserialize)]
    struct One {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(e) if !e.errors.is_empty() => e
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{} ({})", e.message, e.code),
                (true, _) => e.message.clone(),
                (false, true) => e.code.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => http::backend_words(body, &["message", "error", "details"]),
    }
}

/// A non-2xx answer as an error in the registry's words.
pub fn refused(reply: &Reply, what: &str) -> SourceError {
    let words = words(&reply.body);
    let hint = match reply.status {
        StatusCode::UNAUTHORIZED => " — check username/password or token",
        StatusCode::NOT_FOUND => " — check the repository name",
        _ => "",
    };
    if reply.status == StatusCode::TOO_MANY_REQUESTS {
        return reply.status_error();
    }
    http::read_error(
        reply.status,
        format!(
            "{} on {} ({what}): {words}{hint}",
            reply.status.as_u16(),
            reply.path
        ),
    )
}

/// The repository's tag names (at most `limit`, in the registry's order).
pub async fn tags(
    session: &Session<'_>,
    repository: &str,
    limit: usize,
) -> Result<Vec<String>, SourceError> {
    let first = format!("{}/v2/{repository}/tags/list?n={PAGE_SIZE}", session.base);
    let bounds = pages::Bounds {
        items: limit,
        pages: MAX_PAGES,
    };
    pages::collect(first, bounds, |url| async move {
        let reply = session
            .send(repository, &url, "application/json", false)
            .await?;
        if !reply.is_success() {
            return Err(refused(&reply, "the tag list"));
        }
        let list: TagList = http::decode(&reply.body, &format!("the tag list ({})", reply.path))?;
        // A relative next link is on the registry's own origin.
        let next = next_link(&reply.headers).and_then(|n| {
            let absolute = url::Url::parse(&url).ok()?.join(&n).ok()?.to_string();
            pages::follow(repository, session.base, Some(&absolute))
        });
        Ok(pages::PageOf {
            items: list.tags.unwrap_or_default(),
            next,
        })
    })
    .await
}

/// The digest a tag points at now (tags move; digests do not); None when
/// the tag is gone (deleted between the list and this request).
pub async fn tag_digest(
    session: &Session<'_>,
    repository: &str,
    tag: &str,
) -> Result<Option<String>, SourceError> {
    let url = format!("{}/v2/{repository}/manifests/{tag}", session.base);
    let reply = session.send(repository, &url, MANIFEST_TYPES, true).await?;
    if reply.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !reply.is_success() {
        return Err(refused(&reply, &format!("tag {tag}")));
    }
    reply
        .headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(|d| Some(d.to_string()))
        .ok_or_else(|| {
            SourceError::Decode(format!(
                "the registry named no Docker-Content-Digest for tag {tag} ({})",
                reply.path
            ))
        })
}

/// A manifest by digest.
pub async fn manifest(
    session: &Session<'_>,
    repository: &str,
    digest: &str,
) -> Result<Manifest, SourceError> {
    let url = format!("{}/v2/{repository}/manifests/{digest}", session.base);
    let reply = session
        .send(repository, &url, MANIFEST_TYPES, false)
        .await?;
    if !reply.is_success() {
        return Err(refused(&reply, &format!("manifest {digest}")));
    }
    http::decode(&reply.body, &format!("manifest {digest} ({})", reply.path))
}

/// An image config blob by digest.
pub async fn config(
    session: &Session<'_>,
    repository: &str,
    digest: &str,
) -> Result<ImageConfig, SourceError> {
    let url = format!("{}/v2/{repository}/blobs/{digest}", session.base);
    let reply = session.send(repository, &url, "*/*", false).await?;
    if !reply.is_success() {
        return Err(refused(&reply, &format!("config blob {digest}")));
    }
    http::decode(
        &reply.body,
        &format!("config blob {digest} ({})", reply.path),
    )
}

/// When and from what an image was built.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Build {
    pub created_at: Option<Timestamp>,
    pub revision: Option<String>,
}

/// Read what a manifest digest says about its build: the revision from an
/// index's or image's annotations, else its config's labels; the time from
/// the config's `created`, else the `created` annotation. An index is read
/// through its linux/amd64 (else first) image.
pub async fn build(
    session: &Session<'_>,
    repository: &str,
    digest: &str,
) -> Result<Build, SourceError> {
    let mut found = Build::default();
    let mut manifest = manifest(session, repository, digest).await?;
    take_annotations(&mut found, &manifest);
    if manifest.config.is_none() && !manifest.manifests.is_empty() {
        let pick = manifest
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
            })
            .or_else(|| manifest.manifests.first())
            .map(|m| m.digest.clone());
        if let Some(image) = pick {
            manifest = self::manifest(session, repository, &image).await?;
            take_annotations(&mut found, &manifest);
        }
    }
    if let Some(config) = &manifest.config {
        let config = self::config(session, repository, &config.digest).await?;
        // The config's own time first: it is the image's.
        if let Some(created) = config.created.as_deref().and_then(timestamp) {
            found.created_at = Some(created);
        }
        if found.revision.is_none() {
            found.revision = config
                .config
                .and_then(|c| c.labels)
                .and_then(|mut l| l.remove(REVISION))
                .filter(|r| !r.is_empty());
        }
    }
    Ok(found)
}

fn take_annotations(found: &mut Build, manifest: &Manifest) {
    if found.revision.is_none() {
        found.revision = manifest
            .annotations
            .get(REVISION)
            .filter(|r| !r.is_empty())
            .cloned();
    }
    if found.created_at.is_none() {
        found.created_at = manifest.annotations.get(CREATED).and_then(|t| timestamp(t));
    }
}

fn timestamp(text: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_errors_are_said_in_its_words() {
        let body = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"x"}}]}"#;
        assert_eq!(
            words(body),
            "repository name not known to registry (NAME_UNKNOWN)"
        );
        assert_eq!(words(b"plain words"), "plain words");
    }
}
