//! Joins a desired-state repository (a `git` source) with the apps it
//! deploys to: by `link = "SOURCE/APP"`, or by matching repository URL and
//! path. The repo app learns how far behind the live revision is; the
//! deployed app learns who wrote the commit it runs. Then each app's images
//! with the registry repositories that hold them (`images.rs`).

use crate::app::state::SourceState;
use crate::model::repo_url::normalize_url;
use crate::model::{SyncStatus, Target, TargetKind};

/// Where an app sits: (source index, app index).
type AppAt = (usize, usize);

/// Recompute every link from the current snapshots.
pub fn link(sources: &mut [SourceState]) {
    // Forget the previous pass: links follow the data.
    for source in sources.iter_mut() {
        for app in &mut source.snapshot.apps {
            app.linked = None;
            app.pending = None;
            app.revision_commit = None;
            if app.repo.is_some() {
                app.sync = SyncStatus::Unknown;
                app.production = false;
            }
        }
    }
    let repo_apps: Vec<AppAt> = sources
        .iter()
        .enumerate()
        .flat_map(|(s, src)| {
            src.snapshot
                .apps
                .iter()
                .enumerate()
                .filter(|(_, a)| a.repo.is_some())
                .map(move |(i, _)| (s, i))
        })
        .collect();
    for (rs, ri) in repo_apps {
        let Some(deployed) = find_deployed(sources, (rs, ri)) else {
            continue;
        };
        let (ds, di) = deployed;
        let live = sources[ds].snapshot.apps[di].revision.clone();
        // Reverting in the repository changes what the deployed app runs.
        let production = sources[ds].production || sources[ds].snapshot.apps[di].production;
        let deployed_target = Target::new(
            &sources[ds].name,
            TargetKind::App,
            &sources[ds].snapshot.apps[di].name,
        );
        let repo_app = &sources[rs].snapshot.apps[ri];
        let repo_target = Target::new(&sources[rs].name, TargetKind::App, &repo_app.name);
        let Some(info) = repo_app.repo.as_ref() else {
            continue;
        };
        let position = live
            .as_deref()
            .and_then(|l| info.commits.iter().position(|c| c.sha == l));
        let pending =
            position.map(|p| info.commits[..p].iter().filter(|c| c.touches_app).count() as u32);
        let commit = position.map(|p| info.commits[p].clone());

        let repo_app = &mut sources[rs].snapshot.apps[ri];
        repo_app.linked = Some(deployed_target);
        repo_app.production |= production;
        repo_app.pending = pending;
        repo_app.sync = match pending {
            Some(0) => SyncStatus::Synced,
            Some(_) => SyncStatus::OutOfSync,
            None => SyncStatus::Unknown,
        };
        let deployed_app = &mut sources[ds].snapshot.apps[di];
        deployed_app.linked = Some(repo_target);
        deployed_app.pending = pending;
        deployed_app.revision_commit = commit;
    }
    super::images::link(sources);
}

/// The app a repo app deploys to: its explicit link, else the one app whose
/// repository URL and path match.
fn find_deployed(sources: &[SourceState], (rs, ri): AppAt) -> Option<AppAt> {
    let repo_app = &sources[rs].snapshot.apps[ri];
    let info = repo_app.repo.as_ref()?;
    if let Some(link) = &info.link {
        let (source, name) = link.split_once('/')?;
        let s = sources.iter().position(|x| x.name == source)?;
        let i = sources[s]
            .snapshot
            .apps
            .iter()
            .position(|a| a.name == name && a.repo.is_none())?;
        return Some((s, i));
    }
    let url = normalize_url(repo_app.repo_url.as_deref()?);
    let url = url.as_str();
    let path = repo_app.path.as_deref()?.trim_matches('/');
    let mut matches = sources.iter().enumerate().flat_map(move |(s, src)| {
        src.snapshot
            .apps
            .iter()
            .enumerate()
            .filter_map(move |(i, a)| {
                let same = a.repo.is_none()
                    && a.repo_url
                        .as_deref()
                        .is_some_and(|u| normalize_url(u) == url)
                    && a.path
                        .as_deref()
                        .is_some_and(|p| p.trim_matches('/') == path);
                same.then_some((s, i))
            })
    });
    let first = matches.next()?;
    // Two apps deploying the same folder: a link must say which.
    matches.next().is_none().then_some(first)
}
