//! Container images: what an app runs (`host/repo:tag@digest`), what a
//! registry holds for a repository (its tags, newest first), and what one
//! learns from the other when a registry source covers the image.

use super::Timestamp;

/// Docker Hub's registry as image references name it.
pub const DOCKER_HUB: &str = "docker.io";

/// One image an app runs, as its manifests name it.
#[derive(Clone, Debug, PartialEq)]
pub struct AppImage {
    /// The reference as the app names it (`host/repo:tag`, `repo@sha256:…`).
    pub image: String,
    /// The digest the reference pins, if it pins one.
    pub digest: Option<String>,
    /// What a registry source says about it (set by linking; None when no
    /// registry source covers its repository).
    pub registry: Option<ImageBuild>,
}

impl AppImage {
    pub fn new(image: &str) -> AppImage {
        AppImage {
            image: image.to_string(),
            digest: ImageRef::parse(image).and_then(|r| r.digest),
            registry: None,
        }
    }
}

/// What a registry knows about the image an app runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageBuild {
    /// The registry source that covers the repository.
    pub source: String,
    /// The running tag's (or pinned) digest, when the registry holds it.
    pub digest: Option<String>,
    /// The source revision it was built from.
    pub revision: Option<String>,
    pub created_at: Option<Timestamp>,
    /// Tags created after the running one, newest first (empty: it is the
    /// newest). None when the registry does not hold the running image.
    pub newer_tags: Option<Vec<String>>,
}

/// One repository of a registry source: its tags, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistryRepo {
    pub source: String,
    /// The registry's host (and port), as image references name it.
    pub host: String,
    /// The repository's name within the registry (`team/payments`).
    pub repository: String,
    /// Newest first (by creation time; tags without one last).
    pub tags: Vec<ImageTag>,
    /// Why it could not be read (fully), in the registry's words.
    pub error: Option<String>,
}

/// One tag of a repository.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageTag {
    pub tag: String,
    pub digest: Option<String>,
    pub created_at: Option<Timestamp>,
    /// `org.opencontainers.image.revision`, from the manifest's annotations
    /// or the image config's labels.
    pub revision: Option<String>,
}

/// An image reference taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (and port); `docker.io` when the reference names none.
    pub host: String,
    /// The repository (`library/nginx` for Docker Hub's short names).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parse `[host[:port]/]repo[:tag][@digest]`; None when it is not one.
    pub fn parse(reference: &str) -> Option<ImageRef> {
        let reference = reference.trim();
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) if digest.contains(':') => (rest, Some(digest.to_string())),
            Some(_) => return None,
            None => (reference, None),
        };
        // A tag follows the last `:` after the last `/` (a port comes before one).
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(rest[slash + i + 1..].to_string())),
            None => (rest, None),
        };
        if name.is_empty() || tag.as_deref() == Some("") {
            return None;
        }
        let (host, repository) = match name.split_once('/') {
            // The first part is a host when it looks like one.
            Some((first, repo))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), repo.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let host = canonical_host(&host);
        let repository = if host == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository.is_empty() || repository.chars().any(char::is_whitespace) {
            return None;
        }
        Some(ImageRef {
            host,
            repository,
            tag,
            digest,
        })
    }
}

/// A registry host as image references name it: Docker Hub's API hosts are
/// `docker.io`; names are compared in lower case.
pub fn canonical_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host.as_str() {
        "registry-1.docker.io" | "index.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        _ => host,
    }
}

impl RegistryRepo {
    /// Whether this repository holds the images of `image`.
    pub fn covers(&self, image: &ImageRef) -> bool {
        canonical_host(&self.host) == image.host && self.repository == image.repository
    }

    /// What the registry says about `image` (one of this repository's):
    /// the tag it runs by digest when it pins one, else by tag.
    pub fn build_of(&self, image: &ImageRef) -> ImageBuild {
        let running = match &image.digest {
            Some(digest) => self
                .tags
                .iter()
                .position(|t| t.digest.as_ref() == Some(digest)),
            None => self
                .tags
                .iter()
                .position(|t| Some(&t.tag) == image.tag.as_ref()),
        };
        let Some(at) = running else {
            return ImageBuild {
                source: self.source.clone(),
                digest: image.digest.clone(),
                revision: None,
                created_at: None,
                newer_tags: None,
            };
        };
        let tag = &self.tags[at];
        let newer = tag.created_at.map(|created| {
            self.tags
                .iter()
                .filter(|t| t.created_at.is_some_and(|c| c > created))
                // Another tag of the same image is not a newer image.
                .filter(|t| t.digest.is_none() || t.digest != tag.digest)
                .map(|t| t.tag.clone())
                .collect()
        });
        ImageBuild {
            source: self.source.clone(),
            digest: tag.digest.clone(),
            revision: tag.revision.clone(),
            created_at: tag.created_at,
            newer_tags: newer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(host: &str, repo: &str, tag: Option<&str>, digest: Option<&str>) -> ImageRef {
        ImageRef {
            host: host.into(),
            repository: repo.into(),
            tag: tag.map(Into::into),
            digest: digest.map(Into::into),
        }
    }

    #[test]
    fn references_are_taken_apart_as_docker_does() {
        let cases = [
            ("nginx", r("docker.io", "library/nginx", None, None)),
            (
                "nginx:1.25",
                r("docker.io", "library/nginx", Some("1.25"), None),
            ),
            (
                "ghcr.io/acme/payments:1.4.2",
                r("ghcr.io", "acme/payments", Some("1.4.2"), None),
            ),
            (
                "127.0.0.1:5000/team/payments:1.4.2@sha256:ab",
                r(
                    "127.0.0.1:5000",
                    "team/payments",
                    Some("1.4.2"),
                    Some("sha256:ab"),
                ),
            ),
            (
                "localhost/app@sha256:ab",
                r("localhost", "app", None, Some("sha256:ab")),
            ),
            (
                "acme/payments:2",
                r("docker.io", "acme/payments", Some("2"), None),
            ),
            (
                "Registry-1.Docker.io/acme/x:1",
                r("docker.io", "acme/x", Some("1"), None),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(ImageRef::parse(text).as_ref(), Some(&want), "{text}");
        }
        for bad in ["", "x:", "x@nodigest", "host.io/:1", "a b"] {
            assert_eq!(ImageRef::parse(bad), None, "{bad}");
        }
    }

    fn tag(name: &str, digest: &str, hour: i64) -> ImageTag {
        ImageTag {
            tag: name.into(),
            digest: Some(digest.into()),
            created_at: chrono::DateTime::from_timestamp(hour * 3600, 0),
            revision: Some(format!("rev-{name}")),
        }
    }

    #[test]
    fn the_running_tag_is_found_by_digest_or_tag_and_newer_ones_listed() {
        let repo = RegistryRepo {
            source: "reg".into(),
            host: "127.0.0.1:5000".into(),
            repository: "team/payments".into(),
            tags: vec![
                tag("1.4.4", "sha256:4", 4),
                tag("latest", "sha256:4", 4),
                tag("1.4.3", "sha256:3", 3),
                tag("1.4.2", "sha256:2", 2),
            ],
            error: None,
        };
        let image = ImageRef::parse("127.0.0.1:5000/team/payments:1.4.2").expect("ref");
        assert!(repo.covers(&image));
        let build = repo.build_of(&image);
        assert_eq!(build.revision.as_deref(), Some("rev-1.4.2"));
        assert_eq!(build.digest.as_deref(), Some("sha256:2"));
        assert_eq!(
            build.newer_tags,
            Some(vec!["1.4.4".into(), "latest".into(), "1.4.3".into()])
        );
        let pinned = ImageRef::parse("127.0.0.1:5000/team/payments@sha256:4").expect("ref");
        assert_eq!(repo.build_of(&pinned).newer_tags, Some(vec![]));
        let gone = ImageRef::parse("127.0.0.1:5000/team/payments:0.9").expect("ref");
        assert_eq!(repo.build_of(&gone).newer_tags, None);
        let other = ImageRef::parse("127.0.0.1:5001/team/payments:1").expect("ref");
        assert!(!repo.covers(&other));
    }
}
