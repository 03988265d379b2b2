//! Joins the images apps run with the registry repositories that hold
//! them: by exact identity (registry host and repository; then the pinned
//! digest, else the tag), never by a guess. An app's image learns its
//! build (digest, time, source revision) and the newer tags. Run by
//! `links::link`, once per batch and in the headless commands alike.

use crate::app::state::SourceState;
use crate::model::{ImageBuild, ImageRef, RegistryRepo};

/// Where an image sits: (source, app, image) indexes.
type ImageAt = (usize, usize, usize);

/// Recompute what every app's images know from the registries read now.
pub fn link(sources: &mut [SourceState]) {
    let repos: Vec<&RegistryRepo> = sources
        .iter()
        .flat_map(|s| &s.snapshot.registries)
        .collect();
    let mut found: Vec<(ImageAt, Option<ImageBuild>)> = Vec::new();
    for (s, source) in sources.iter().enumerate() {
        for (a, app) in source.snapshot.apps.iter().enumerate() {
            for (i, image) in app.images.iter().enumerate() {
                let build = ImageRef::parse(&image.image).and_then(|r| {
                    repos
                        .iter()
                        .find(|repo| repo.covers(&r))
                        .map(|repo| repo.build_of(&r))
                });
                // Only what changes is written (most batches change nothing).
                if image.registry != build {
                    found.push(((s, a, i), build));
                }
            }
        }
    }
    for ((s, a, i), build) in found {
        sources[s].snapshot.apps[a].images[i].registry = build;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppImage, ImageTag, Provides, Snapshot};

    fn source(name: &str, snapshot: Snapshot) -> SourceState {
        let mut s = SourceState::new(name, "x", Provides::default(), false);
        s.snapshot = snapshot;
        s
    }

    #[test]
    fn an_apps_image_learns_its_build_from_the_registry_that_holds_it() {
        let mut demo = crate::sources::demo::DemoFleet::new(
            1,
            chrono::DateTime::from_timestamp(0, 0).expect("time"),
            false,
        )
        .snapshot("apps");
        demo.apps.truncate(1);
        demo.apps[0].images = vec![
            AppImage::new("127.0.0.1:5000/team/payments:1.4.2"),
            AppImage::new("docker.io/library/redis:7"),
        ];
        let at = |h: i64| chrono::DateTime::from_timestamp(h * 3600, 0);
        let tag = |t: &str, h| ImageTag {
            tag: t.into(),
            digest: Some(format!("sha256:{t}")),
            created_at: at(h),
            revision: Some("7b972aa0".into()),
        };
        let registry = Snapshot {
            registries: vec![RegistryRepo {
                source: "reg".into(),
                host: "127.0.0.1:5000".into(),
                repository: "team/payments".into(),
                tags: vec![tag("1.4.4", 4), tag("1.4.3", 3), tag("1.4.2", 2)],
                error: None,
            }],
            ..Snapshot::default()
        };
        let mut sources = vec![source("apps", demo), source("reg", registry)];
        link(&mut sources);
        let images = &sources[0].snapshot.apps[0].images;
        let build = images[0].registry.as_ref().expect("covered");
        assert_eq!(build.source, "reg");
        assert_eq!(build.digest.as_deref(), Some("sha256:1.4.2"));
        assert_eq!(build.created_at, at(2));
        assert_eq!(build.newer_tags, Some(vec!["1.4.4".into(), "1.4.3".into()]));
        assert_eq!(images[1].registry, None, "no registry covers redis");

        // The registry gone: the link goes with it.
        sources[1].snapshot.registries.clear();
        link(&mut sources);
        assert_eq!(sources[0].snapshot.apps[0].images[0].registry, None);
    }
}
