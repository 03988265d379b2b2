//! What a read sends to the app side: everything the source knows, or —
//! from the live feeds (the Argo CD stream, the kube watches) — only the
//! apps that changed since the last send. A stream of 100 events a second
//! over 10,000 apps then moves a hundred apps a second, not ten thousand,
//! and the app side updates those in place.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;

use crate::model::{GitOpsApp, Snapshot};

/// One read's news.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// Everything the source knows now; replaces what it had.
    Whole(Snapshot),
    /// Only these apps changed; everything else stands.
    Apps(AppChanges),
}

impl From<Snapshot> for Update {
    fn from(snapshot: Snapshot) -> Update {
        Update::Whole(snapshot)
    }
}

impl Update {
    /// Bring `snapshot` up to date with this news (what the app side does,
    /// and what a test that follows a feed does).
    pub fn apply_to(self, snapshot: &mut Snapshot) {
        match self {
            Update::Whole(whole) => *snapshot = whole,
            Update::Apps(changes) => {
                changes.apply_to(snapshot);
            }
        }
    }
}

/// Apps added or changed (by name) and apps gone, since the last send.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppChanges {
    pub changed: Vec<GitOpsApp>,
    pub removed: Vec<String>,
    /// The source's problems now, when they changed (`Snapshot::problems`).
    pub problems: Option<Vec<String>>,
}

impl AppChanges {
    /// No app changed (problems aside).
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }

    /// Replace the changed apps where they stand (new ones go last) and
    /// drop the removed ones; the order of the rest is kept. Gives back
    /// each app replaced, with the index of what replaced it.
    pub fn apply_to(self, snapshot: &mut Snapshot) -> Vec<(GitOpsApp, usize)> {
        if let Some(problems) = self.problems {
            snapshot.problems = problems;
        }
        if !self.removed.is_empty() {
            let gone: HashSet<&str> = self.removed.iter().map(String::as_str).collect();
            snapshot.apps.retain(|a| !gone.contains(a.name.as_str()));
        }
        if self.changed.is_empty() {
            return Vec::new();
        }
        // The changed apps by name (the last of one name wins), then one
        // pass over the snapshot's: a few changes cost no index of the
        // whole estate.
        let mut at: Vec<Option<usize>> = vec![None; self.changed.len()];
        let last: Vec<bool> = {
            let wanted: FxHashMap<&str, usize> = self
                .changed
                .iter()
                .enumerate()
                .map(|(i, a)| (a.name.as_str(), i))
                .collect();
            for (i, a) in snapshot.apps.iter().enumerate() {
                if let Some(&c) = wanted.get(a.name.as_str()) {
                    at[c] = Some(i);
                }
            }
            (0..self.changed.len())
                .map(|c| wanted.get(self.changed[c].name.as_str()) == Some(&c))
                .collect()
        };
        let mut replaced = Vec::new();
        for ((app, at), last) in self.changed.into_iter().zip(at).zip(last) {
            match at {
                _ if !last => {}
                Some(i) => replaced.push((std::mem::replace(&mut snapshot.apps[i], app), i)),
                None => snapshot.apps.push(app),
            }
        }
        replaced
    }

    /// The names this news touches.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.changed
            .iter()
            .map(|a| a.name.as_str())
            .chain(self.removed.iter().map(String::as_str))
    }
}

/// What a feed last sent, to send only what differs next time (for feeds
/// that map their whole state at once, as the kube watches do). Only apps
/// and problems are followed: such feeds hold nothing else.
#[derive(Debug)]
pub struct LastSent {
    apps: HashMap<String, GitOpsApp>,
    problems: Vec<String>,
    /// Nothing sent yet (or the app side must be told everything again).
    fresh: bool,
}

impl Default for LastSent {
    /// Nothing sent yet: the first update goes out whole.
    fn default() -> LastSent {
        LastSent {
            apps: HashMap::new(),
            problems: Vec::new(),
            fresh: true,
        }
    }
}

impl LastSent {
    /// After an error was sent, the next good read goes out whole: the app
    /// side shows it as the source's state again.
    pub fn forget(&mut self) {
        self.fresh = true;
    }

    /// What to send for the state as it is now: the whole of it the first
    /// time, then the apps that changed. None when nothing did.
    pub fn update(&mut self, now: Snapshot) -> Option<Update> {
        if std::mem::take(&mut self.fresh) {
            self.apps = now
                .apps
                .iter()
                .map(|a| (a.name.clone(), a.clone()))
                .collect();
            self.problems = now.problems.clone();
            return Some(Update::Whole(now));
        }
        let mut changes = AppChanges::default();
        if now.problems != self.problems {
            self.problems = now.problems.clone();
            changes.problems = Some(now.problems);
        }
        let mut seen = HashSet::with_capacity(now.apps.len());
        for app in now.apps {
            seen.insert(app.name.clone());
            if self.apps.get(&app.name) != Some(&app) {
                self.apps.insert(app.name.clone(), app.clone());
                changes.changed.push(app);
            }
        }
        self.apps.retain(|name, _| {
            let kept = seen.contains(name);
            if !kept {
                changes.removed.push(name.clone());
            }
            kept
        });
        changes.removed.sort();
        (!changes.is_empty() || changes.problems.is_some()).then_some(Update::Apps(changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Health, SyncStatus};

    fn app(name: &str, health: Health) -> GitOpsApp {
        GitOpsApp {
            name: name.into(),
            health,
            sync: SyncStatus::Synced,
            ..GitOpsApp::default()
        }
    }

    #[test]
    fn changes_replace_in_place_append_new_and_drop_removed() {
        let mut snapshot = Snapshot {
            apps: vec![
                app("a", Health::Healthy),
                app("b", Health::Healthy),
                app("c", Health::Healthy),
            ],
            ..Snapshot::default()
        };
        Update::Apps(AppChanges {
            changed: vec![app("b", Health::Degraded), app("d", Health::Healthy)],
            removed: vec!["a".into()],
            problems: None,
        })
        .apply_to(&mut snapshot);
        let names: Vec<_> = snapshot.apps.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["b", "c", "d"]);
        assert_eq!(snapshot.apps[0].health, Health::Degraded);
    }

    fn apps(apps: Vec<GitOpsApp>) -> Snapshot {
        Snapshot {
            apps,
            ..Snapshot::default()
        }
    }

    #[test]
    fn last_sent_sends_the_whole_set_first_then_only_differences() {
        let mut sent = LastSent::default();
        let first = sent.update(apps(vec![
            app("a", Health::Healthy),
            app("b", Health::Healthy),
        ]));
        assert!(matches!(first, Some(Update::Whole(s)) if s.apps.len() == 2));
        assert_eq!(
            sent.update(apps(vec![
                app("a", Health::Healthy),
                app("b", Health::Healthy)
            ])),
            None,
            "nothing changed: nothing to send"
        );
        let next = sent.update(apps(vec![
            app("b", Health::Degraded),
            app("c", Health::Healthy),
        ]));
        assert_eq!(
            next,
            Some(Update::Apps(AppChanges {
                changed: vec![app("b", Health::Degraded), app("c", Health::Healthy)],
                removed: vec!["a".into()],
                problems: None,
            }))
        );
        sent.forget();
        assert!(matches!(
            sent.update(apps(vec![app("b", Health::Degraded)])),
            Some(Update::Whole(_))
        ));
    }
}
