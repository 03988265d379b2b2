//! The images an app runs, in its row ("payments:1.4.2, 2 newer") and its
//! detail ("running payments:1.4.2 (built 3h ago from 7b972aa), 2 newer
//! images", the newer tags, and the registry repository's own state).

use ratatui::text::{Line, Span};

use crate::app::state::State;
use crate::model::{AppImage, GitOpsApp, ImageRef, RegistryRepo, Timestamp, short_rev};
use crate::theme::Theme;
use crate::ui::{detail, format};

/// How many newer tags the detail names.
const NEWER_SHOWN: usize = 5;

/// `payments:1.4.2` (the repository's last part and the tag, or the
/// digest's start when it pins one without a tag).
pub(super) fn short_name(image: &AppImage) -> String {
    let Some(r) = ImageRef::parse(&image.image) else {
        return image.image.clone();
    };
    let name = r.repository.rsplit('/').next().unwrap_or(&r.repository);
    match (&r.tag, &r.digest) {
        (Some(tag), _) => format!("{name}:{tag}"),
        (None, Some(digest)) => {
            let hex = digest.split_once(':').map_or(digest.as_str(), |(_, h)| h);
            format!("{name}@{}", short_rev(hex))
        }
        (None, None) => name.to_string(),
    }
}

/// "2 newer images", "newest", or None when no registry knows the image.
fn newer_words(image: &AppImage) -> Option<String> {
    let newer = image.registry.as_ref()?.newer_tags.as_ref()?;
    Some(match newer.len() {
        0 => "newest".into(),
        1 => "1 newer image".into(),
        n => format!("{n} newer images"),
    })
}

/// The sentence for one image: "running payments:1.4.2 (built 3h ago from
/// 7b972aa), 2 newer images".
pub(super) fn sentence(now: Timestamp, image: &AppImage) -> String {
    let mut text = format!("running {}", short_name(image));
    if let Some(build) = &image.registry {
        let mut built = Vec::new();
        if let Some(t) = build.created_at {
            built.push(format!("built {} ago", format::age(now, t)));
        }
        if let Some(rev) = &build.revision {
            built.push(format!("from {}", short_rev(rev)));
        }
        if !built.is_empty() {
            text.push_str(&format!(" ({})", built.join(" ")));
        }
        match newer_words(image) {
            Some(words) => text.push_str(&format!(", {words}")),
            None => text.push_str(", not in the registry"),
        }
    }
    text
}

/// The row's words: the first image a registry knows (else the first),
/// as "payments:1.4.2, 2 newer"; empty without images.
pub(super) fn row_words(app: &GitOpsApp) -> String {
    let Some(image) = app
        .images
        .iter()
        .find(|i| i.registry.is_some())
        .or(app.images.first())
    else {
        return String::new();
    };
    let newer = image
        .registry
        .as_ref()
        .and_then(|b| b.newer_tags.as_ref())
        .map(|n| match n.len() {
            0 => ", newest".to_string(),
            n => format!(", {n} newer"),
        })
        .unwrap_or_default();
    format!("{}{newer}", short_name(image))
}

/// The registry repository that holds an image, among the sources read.
fn repository_of<'s>(state: &'s State, image: &AppImage) -> Option<&'s RegistryRepo> {
    let r = ImageRef::parse(&image.image)?;
    state
        .sources
        .iter()
        .flat_map(|s| &s.snapshot.registries)
        .find(|repo| repo.covers(&r))
}

/// The detail's "Images" section; nothing when the app names none.
pub(super) fn detail_lines<'a>(
    state: &State,
    theme: &Theme,
    app: &GitOpsApp,
    width: u16,
) -> Vec<Line<'a>> {
    if app.images.is_empty() {
        return Vec::new();
    }
    let g = theme.glyphs();
    let mut lines = Vec::new();
    lines.extend(detail::heading(
        theme,
        format!("Images ({})", app.images.len()),
    ));
    let room = usize::from(width).saturating_sub(6).max(20);
    for image in &app.images {
        let newer = image
            .registry
            .as_ref()
            .and_then(|b| b.newer_tags.as_ref())
            .is_some_and(|n| !n.is_empty());
        let style = if newer { theme.warn() } else { theme.base() };
        lines.push(Line::from(vec![
            Span::styled("   ", theme.base()),
            Span::styled(
                format::truncate(&sentence(state.now, image), room, g.ellipsis),
                style,
            ),
        ]));
        lines.push(Line::styled(
            format!(
                "     {}",
                format::truncate(&image.image, room.saturating_sub(2), g.ellipsis)
            ),
            theme.muted(),
        ));
        let Some(build) = &image.registry else {
            lines.push(Line::styled(
                "     no registry source covers this repository",
                theme.muted(),
            ));
            continue;
        };
        if let Some(tags) = build.newer_tags.as_ref().filter(|t| !t.is_empty()) {
            let shown: Vec<&str> = tags.iter().take(NEWER_SHOWN).map(String::as_str).collect();
            let more = tags.len().saturating_sub(NEWER_SHOWN);
            let more = if more > 0 {
                format!(" (+{more})")
            } else {
                String::new()
            };
            lines.push(Line::styled(
                format::truncate(
                    &format!("     newer: {}{more}", shown.join(", ")),
                    room,
                    g.ellipsis,
                ),
                theme.warn(),
            ));
        }
        if let Some(repo) = repository_of(state, image) {
            let words = format!(
                "     {}: {}/{}, {} tags",
                repo.source,
                repo.host,
                repo.repository,
                repo.tags.len()
            );
            lines.push(Line::styled(
                format::truncate(&words, room, g.ellipsis),
                theme.muted(),
            ));
            if let Some(error) = &repo.error {
                lines.push(Line::styled(
                    format::truncate(
                        &format!("     {} {}", g.warn, format::first_line(error)),
                        room,
                        g.ellipsis,
                    ),
                    theme.error(),
                ));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ImageBuild;

    #[test]
    fn an_image_reads_as_what_runs_when_it_was_built_and_what_is_newer() {
        let now = chrono::DateTime::from_timestamp(10 * 3600, 0).expect("now");
        let mut image = AppImage::new("ghcr.io/acme/payments:1.4.2");
        assert_eq!(sentence(now, &image), "running payments:1.4.2");
        image.registry = Some(ImageBuild {
            source: "reg".into(),
            digest: Some("sha256:ab".into()),
            revision: Some("7b972aa0c0ffee".into()),
            created_at: chrono::DateTime::from_timestamp(7 * 3600, 0),
            newer_tags: Some(vec!["1.4.4".into(), "1.4.3".into()]),
        });
        assert_eq!(
            sentence(now, &image),
            "running payments:1.4.2 (built 3h ago from 7b972aa), 2 newer images"
        );
        let pinned = AppImage::new("ghcr.io/acme/payments@sha256:0123456789abcdef");
        assert_eq!(short_name(&pinned), "payments@0123456");
    }
}
