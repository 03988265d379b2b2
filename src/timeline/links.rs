//! The link index: which events share a commit (by full SHA, a short one
//! only as a unique prefix), which app serves which model (`serving`), and
//! which app deploys which repository folder (the existing git links).
//! Never guessed from names.

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::event::{Event, EventKind, Link, Rel};
use crate::model::Timestamp;

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

/// At most this many links of one relation by revision per event (the
/// nearest in time): where every app deploys one monorepo's commit, or
/// hundreds of runs build it, each event would otherwise link to every
/// other, and the document would grow with the square of the estate.
pub const MAX_PEERS: usize = 50;

/// One event carrying a revision: its relation (`RELS`), when, its
/// target, and the target shared.
struct Carrier<'a> {
    slot: usize,
    time: Timestamp,
    target: &'a str,
    shared: Arc<str>,
}

/// A revision shared, and the events carrying it: by relation (commit,
/// built by, deploys), then newest first.
type Carriers<'a> = (Arc<str>, Vec<Carrier<'a>>);

const RELS: [Rel; 3] = [Rel::Commit, Rel::BuiltBy, Rel::Deploys];

fn slot(kind: EventKind) -> usize {
    match kind {
        EventKind::Commit => 0,
        EventKind::Run => 1,
        _ => 2,
    }
}

/// What `link` gathers before it links: the carriers of each revision,
/// each (revision, kind, target) once, and each target's string once.
#[derive(Default)]
struct Index<'a> {
    by_sha: FxHashMap<&'a str, Carriers<'a>>,
    seen: FxHashSet<(&'a str, EventKind, &'a str)>,
    targets: FxHashMap<&'a str, Arc<str>>,
}

impl<'a> Index<'a> {
    /// Note that an event of `kind` on `target` at `time` carries `rev`.
    fn carry(&mut self, rev: &'a str, (kind, target, time): (EventKind, &'a str, Timestamp)) {
        if self.seen.insert((rev, kind, target)) {
            let shared = self
                .targets
                .entry(target)
                .or_insert_with(|| Arc::from(target))
                .clone();
            let (_, carriers) = self
                .by_sha
                .entry(rev)
                .or_insert_with(|| (Arc::from(rev), Default::default()));
            carriers.push(Carrier {
                slot: slot(kind),
                time,
                target,
                shared,
            });
        }
    }
}

/// The carriers nearest in time to `time` (newest first), up to `MAX_PEERS`
/// once `own` is left out: a window of the list around `time`.
fn nearest<'c, 'a>(
    carriers: &'c [Carrier<'a>],
    time: Timestamp,
    own: &'c str,
) -> impl Iterator<Item = &'c Carrier<'a>> + 'c {
    let at = carriers.partition_point(|c| c.time > time);
    let (mut from, mut to) = (at, at);
    while to - from < MAX_PEERS + 1 && (from > 0 || to < carriers.len()) {
        let newer = from.checked_sub(1).map(|i| carriers[i].time - time);
        let older = carriers.get(to).map(|c| time - c.time);
        match (newer, older) {
            (Some(n), Some(o)) if n <= o => from -= 1,
            (Some(_), None) => from -= 1,
            _ => to += 1,
        }
    }
    carriers[from..to]
        .iter()
        .filter(move |c| c.target != own)
        .take(MAX_PEERS)
}

/// Fill every event's `links`.
pub fn link(events: &mut [Event], configured: &Configured) {
    // Full SHA → the SHA shared, and the events carrying it by relation,
    // each (kind, target) once: links share these strings rather than
    // copy them.
    let mut index = Index::default();
    for e in events.iter() {
        let Some(rev) = e.revision.as_deref() else {
            continue;
        };
        let kind = match e.kind {
            EventKind::RunStarted => EventKind::Run,
            k @ (EventKind::Run | EventKind::Commit | EventKind::Deploy) => k,
            _ => continue,
        };
        index.carry(rev, (kind, e.target.as_str(), e.time));
    }
    // A deploy also deploys the revisions its images were built from.
    for e in events.iter().filter(|e| e.kind == EventKind::Deploy) {
        for rev in e.images.iter().filter_map(|l| l.revision.as_deref()) {
            index.carry(rev, (EventKind::Deploy, e.target.as_str(), e.time));
        }
    }
    let mut by_sha = index.by_sha;
    for (_, carriers) in by_sha.values_mut() {
        carriers.sort_by_key(|c| (c.slot, std::cmp::Reverse(c.time)));
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
            for (slot, rel) in RELS.into_iter().enumerate() {
                let from = carriers.partition_point(|c| c.slot < slot);
                let to = carriers.partition_point(|c| c.slot <= slot);
                let list = &carriers[from..to];
                links.extend(nearest(list, e.time, &e.target).map(|c| Link {
                    rel,
                    target: c.shared.clone(),
                    revision: Some(shared.clone()),
                }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::TargetKind;
    use crate::timeline::extract::base;

    const SHA: &str = "7b972aa41c7e0f3b2d1e4f5a6b7c8d9e0f1a2b3c";

    fn at(seconds: i64) -> Timestamp {
        Timestamp::default() + chrono::Duration::seconds(seconds)
    }

    fn carrying(kind: EventKind, source: &str, name: &str, seconds: i64) -> Event {
        let mut e = base(source, kind, name, TargetKind::App);
        e.time = at(seconds);
        e.revision = Some(SHA.into());
        e
    }

    #[test]
    fn where_every_app_deploys_one_commit_each_event_links_its_nearest_peers_only() {
        // A monorepo: 200 apps deploy the same commit a second apart, 300
        // runs built it; newest first, as the timeline holds them.
        let mut events: Vec<Event> = (0..200)
            .map(|i| carrying(EventKind::Deploy, "argo", &format!("app-{i}"), 1000 + i))
            .chain((0..300).map(|i| carrying(EventKind::Run, "ci", &i.to_string(), i)))
            .chain([carrying(EventKind::Commit, "repo", "fleet", -10)])
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.time));
        link(&mut events, &Configured::default());

        let deploy = events
            .iter()
            .find(|e| e.target == "argo/app-100")
            .expect("app-100's deploy");
        let of = |rel: Rel| -> Vec<&str> {
            deploy
                .links
                .iter()
                .filter(|l| l.rel == rel)
                .map(|l| &*l.target)
                .collect()
        };
        let mut peers = of(Rel::Deploys);
        peers.sort();
        let mut nearest: Vec<String> = (75..=125)
            .filter(|i| *i != 100)
            .map(|i| format!("argo/app-{i}"))
            .collect();
        nearest.sort();
        assert_eq!(peers, nearest, "the 50 deploys nearest in time, not itself");
        let built_by = of(Rel::BuiltBy);
        assert_eq!(built_by.len(), MAX_PEERS);
        assert!(
            built_by
                .iter()
                .all(|r| r.strip_prefix("ci/").and_then(|n| n.parse::<i64>().ok()) >= Some(250)),
            "the newest runs, nearest the deploy: {built_by:?}"
        );
        assert_eq!(of(Rel::Commit), ["repo/fleet"]);
        assert!(
            deploy
                .links
                .iter()
                .all(|l| l.revision.as_deref() == Some(SHA)),
            "{:?}",
            deploy.links
        );

        // Bounded per event: the document grows with the events, not their square.
        let most = events.iter().map(|e| e.links.len()).max().unwrap_or(0);
        assert!(most <= 2 * MAX_PEERS + 1, "{most}");
        let commit = events
            .iter()
            .find(|e| e.kind == EventKind::Commit)
            .expect("commit");
        assert_eq!(commit.links.len(), 2 * MAX_PEERS, "50 runs and 50 deploys");
    }
}
