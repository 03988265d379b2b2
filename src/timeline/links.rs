//! The link index: which events share a commit (by full SHA, a short one
//! only as a unique prefix), which app serves which model (`serving`), and
//! which app deploys which repository folder (the existing git links).
//! Never guessed from names.

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::event::{Event, EventKind, Link, Rel};

/// Configured links between items, as `SOURCE/NAME` targets.
#[derive(Clone, Debug, Default)]
pub struct Configured {
    /// (model, app serving it).
    pub serving: Vec<(String, String)>,
    /// (deployed app, its repository app).
    pub repo: Vec<(String, String)>,
    /// Lookups over the two lists (`index` builds them).
    models_by_app: HashMap<String, Vec<String>>,
    app_by_model: HashMap<String, String>,
    peers: HashMap<String, String>,
}

impl Configured {
    /// Build the lookups once the lists are filled.
    pub fn index(&mut self) {
        self.models_by_app.clear();
        self.app_by_model.clear();
        self.peers.clear();
        for (m, a) in &self.serving {
            self.models_by_app
                .entry(a.clone())
                .or_default()
                .push(m.clone());
            self.app_by_model.insert(m.clone(), a.clone());
        }
        for (a, r) in &self.repo {
            self.peers.insert(a.clone(), r.clone());
            self.peers.insert(r.clone(), a.clone());
        }
    }

    pub fn models_of(&self, app: &str) -> impl Iterator<Item = &str> {
        self.models_by_app
            .get(app)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    pub fn app_of(&self, model: &str) -> Option<&str> {
        self.app_by_model.get(model).map(String::as_str)
    }

    /// The repository app of a deployed app, or the deployed app of a repository app.
    pub fn repo_peer(&self, target: &str) -> Option<&str> {
        self.peers.get(target).map(String::as_str)
    }
}

/// A revision shared, and the events carrying it: (kind, target, the
/// target shared).
type Carriers<'a> = (Arc<str>, Vec<(EventKind, &'a str, Arc<str>)>);

/// Note that the event of `kind` on `target` carries revision `rev`.
fn carry<'a>(
    by_sha: &mut FxHashMap<&'a str, Carriers<'a>>,
    seen: &mut FxHashSet<(&'a str, EventKind, &'a str)>,
    rev: &'a str,
    kind: EventKind,
    target: &'a str,
) {
    if seen.insert((rev, kind, target)) {
        let (_, carriers) = by_sha
            .entry(rev)
            .or_insert_with(|| (Arc::from(rev), Vec::new()));
        carriers.push((kind, target, Arc::from(target)));
    }
}

/// Fill every event's `links`.
pub fn link(events: &mut [Event], configured: &Configured) {
    // Full SHA → the SHA shared, and (kind, target) of the events carrying
    // it, each pair once: links share these strings rather than copy them.
    let mut by_sha: FxHashMap<&str, Carriers> = FxHashMap::default();
    let mut seen: FxHashSet<(&str, EventKind, &str)> = FxHashSet::default();
    let mut note = |rev, kind, target| carry(&mut by_sha, &mut seen, rev, kind, target);
    for e in events.iter() {
        let Some(rev) = e.revision.as_deref() else {
            continue;
        };
        let kind = match e.kind {
            EventKind::RunStarted => EventKind::Run,
            k @ (EventKind::Run | EventKind::Commit | EventKind::Deploy) => k,
            _ => continue,
        };
        note(rev, kind, e.target.as_str());
    }
    // A deploy also deploys the revisions its images were built from.
    for e in events.iter().filter(|e| e.kind == EventKind::Deploy) {
        for rev in e.images.iter().filter_map(|l| l.revision.as_deref()) {
            note(rev, EventKind::Deploy, e.target.as_str());
        }
    }
    let mut all: Vec<Vec<Link>> = Vec::with_capacity(events.len());
    for e in events.iter() {
        let mut links = e.images.clone();
        // Its own revision, then the revisions of the images it runs.
        let mut revisions: Vec<&str> = e.revision.as_deref().into_iter().collect();
        for rev in e.images.iter().filter_map(|l| l.revision.as_deref()) {
            if !revisions.contains(&rev) {
                revisions.push(rev);
            }
        }
        for rev in revisions {
            let Some((shared, carriers)) = by_sha.get(rev) else {
                continue;
            };
            for (kind, target, target_shared) in carriers {
                if *target == e.target {
                    continue;
                }
                let rel = match kind {
                    EventKind::Commit => Rel::Commit,
                    EventKind::Run => Rel::BuiltBy,
                    _ => Rel::Deploys,
                };
                links.push(Link {
                    rel,
                    target: target_shared.clone(),
                    revision: Some(shared.clone()),
                });
            }
        }
        match e.kind {
            EventKind::Deploy | EventKind::Health | EventKind::Sync => {
                for m in configured.models_of(&e.target) {
                    links.push(Link {
                        rel: Rel::Serves,
                        target: Arc::from(m),
                        revision: None,
                    });
                }
                if let Some(r) = configured.repo_peer(&e.target) {
                    links.push(Link {
                        rel: Rel::Repo,
                        target: Arc::from(r),
                        revision: None,
                    });
                }
            }
            EventKind::Commit => {
                if let Some(a) = configured.repo_peer(&e.target) {
                    links.push(Link {
                        rel: Rel::Repo,
                        target: Arc::from(a),
                        revision: None,
                    });
                }
            }
            EventKind::ModelVersion
            | EventKind::Alias
            | EventKind::DriftOnset
            | EventKind::DriftRecovery => {
                if let Some(a) = configured.app_of(&e.target) {
                    links.push(Link {
                        rel: Rel::ServedBy,
                        target: Arc::from(a),
                        revision: None,
                    });
                }
            }
            _ => {}
        }
        all.push(links);
    }
    for (e, links) in events.iter_mut().zip(all) {
        e.links = links;
    }
}
