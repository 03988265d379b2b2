//! The container-image parts of the `status` JSON contract: each GitOps
//! app's `images`, and the registry sources' `registries`.

use serde::Serialize;

use crate::model::{AppImage, RegistryRepo, Timestamp};

/// One image an app runs; the last four fields are filled when a registry
/// source covers its repository, `null` otherwise.
#[derive(Debug, Serialize)]
pub struct ImageStatus {
    pub image: String,
    pub digest: Option<String>,
    pub revision: Option<String>,
    pub created_at: Option<Timestamp>,
    /// Tags created after the running one, newest first (`[]`: it is the newest).
    pub newer_tags: Option<Vec<String>>,
}

impl ImageStatus {
    pub fn of(image: AppImage) -> ImageStatus {
        match image.registry {
            Some(build) => ImageStatus {
                image: image.image,
                digest: build.digest.or(image.digest),
                revision: build.revision,
                created_at: build.created_at,
                newer_tags: build.newer_tags,
            },
            None => ImageStatus {
                image: image.image,
                digest: None,
                revision: None,
                created_at: None,
                newer_tags: None,
            },
        }
    }
}

/// One repository of a registry source, its tags newest first.
#[derive(Debug, Serialize)]
pub struct RegistryStatus {
    pub source: String,
    pub repository: String,
    pub tags: Vec<TagStatus>,
    /// Why it could not be read (fully); `null` when fine.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TagStatus {
    pub tag: String,
    pub digest: Option<String>,
    pub created_at: Option<Timestamp>,
    pub revision: Option<String>,
}

impl RegistryStatus {
    pub fn of(repo: RegistryRepo) -> RegistryStatus {
        RegistryStatus {
            source: repo.source,
            repository: repo.repository,
            tags: repo
                .tags
                .into_iter()
                .map(|t| TagStatus {
                    tag: t.tag,
                    digest: t.digest,
                    created_at: t.created_at,
                    revision: t.revision,
                })
                .collect(),
            error: repo.error,
        }
    }
}
