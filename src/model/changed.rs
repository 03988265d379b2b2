//! What changed in the sources since derived data was last built: a
//! source's snapshot replaced whole, or some of its apps changed in place
//! (a live feed's news). What derives from the snapshots — the timeline,
//! the problems watched for notifications — looks again only at that.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashSet;

/// Sources replaced whole and apps changed in place, by source name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    /// Everything (nothing was built yet, or the sources themselves changed).
    all: bool,
    /// Sources whose snapshot was replaced whole.
    whole: HashSet<String>,
    /// Per source, the apps changed or removed in place.
    apps: HashMap<String, FxHashSet<String>>,
}

/// Past this many apps changed in place, a source counts as replaced whole
/// (one pass over it costs less than looking each one up).
const MAX_APPS_IN_PLACE: usize = 512;

/// How much of one source to look at again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Nothing of it changed.
    Unchanged,
    /// All of it.
    Whole,
    /// Only these apps (changed or removed in place).
    Apps(&'a FxHashSet<String>),
}

impl Changed {
    /// Everything changed.
    pub fn all() -> Changed {
        Changed {
            all: true,
            ..Changed::default()
        }
    }

    /// Source `source`'s snapshot was replaced.
    pub fn whole(&mut self, source: &str) {
        self.apps.remove(source);
        self.whole.insert(source.to_string());
    }

    /// These apps of `source` changed (or went away) in place.
    pub fn apps<'a>(&mut self, source: &str, names: impl IntoIterator<Item = &'a str>) {
        if self.all || self.whole.contains(source) {
            return;
        }
        let set = self.apps.entry(source.to_string()).or_default();
        set.extend(names.into_iter().map(str::to_string));
        if set.len() > MAX_APPS_IN_PLACE {
            self.whole(source);
        }
    }

    /// Add what `other` says changed.
    pub fn merge(&mut self, other: Changed) {
        self.all |= other.all;
        for source in other.whole {
            self.whole(&source);
        }
        for (source, names) in other.apps {
            self.apps(&source, names.iter().map(String::as_str));
        }
    }

    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        !self.all && self.whole.is_empty() && self.apps.is_empty()
    }

    /// Everything changed.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// What to look at again of `source`.
    pub fn scope(&self, source: &str) -> Scope<'_> {
        if self.all || self.whole.contains(source) {
            Scope::Whole
        } else if let Some(names) = self.apps.get(source) {
            Scope::Apps(names)
        } else {
            Scope::Unchanged
        }
    }

    /// App `name` of `source` is to be looked at again. Called per item
    /// kept: the sources are few, compared, not hashed.
    pub fn covers_app(&self, source: &str, name: &str) -> bool {
        self.all
            || self.whole.iter().any(|s| s == source)
            || self
                .apps
                .iter()
                .find(|(s, _)| *s == source)
                .is_some_and(|(_, names)| names.contains(name))
    }

    /// Source `source` was replaced whole. Called per item kept, as
    /// `covers_app`.
    pub fn covers_source(&self, source: &str) -> bool {
        self.all || self.whole.iter().any(|s| s == source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_wins_over_apps_and_many_apps_become_whole() {
        let mut c = Changed::default();
        assert_eq!(c.scope("argo"), Scope::Unchanged);
        c.apps("argo", ["a", "b"]);
        assert!(matches!(c.scope("argo"), Scope::Apps(n) if n.len() == 2));
        assert!(c.covers_app("argo", "a") && !c.covers_app("argo", "c"));
        c.whole("argo");
        c.apps("argo", ["c"]);
        assert_eq!(c.scope("argo"), Scope::Whole);
        assert!(c.covers_app("argo", "zzz"));
        let names: Vec<String> = (0..=MAX_APPS_IN_PLACE).map(|i| format!("app{i}")).collect();
        c.apps("flux", names.iter().map(String::as_str));
        assert_eq!(c.scope("flux"), Scope::Whole);
    }

    #[test]
    fn merging_keeps_the_widest_news() {
        let mut a = Changed::default();
        a.apps("argo", ["a"]);
        let mut b = Changed::default();
        b.apps("argo", ["b"]);
        b.whole("gh");
        a.merge(b);
        assert!(matches!(a.scope("argo"), Scope::Apps(n) if n.len() == 2));
        assert_eq!(a.scope("gh"), Scope::Whole);
        a.merge(Changed::all());
        assert!(a.is_all() && a.scope("anything") == Scope::Whole);
        assert!(Changed::default().is_empty() && !a.is_empty());
    }
}
