//! Bookkeeping for derived data (links, each tab's rows): what the messages
//! applied since the last settle made stale, and the per-source pieces the
//! tabs are merged from, so one source's change re-sorts only that source.

use super::{RowRef, Tab};
use crate::model::{Changed, Snapshot, Timestamp};

/// Which kinds of a source's items changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kinds {
    pub pipelines: bool,
    pub apps: bool,
    pub models: bool,
    /// Registry repositories: no rows of their own, but apps link to them.
    pub registries: bool,
}

impl Kinds {
    /// The kinds a snapshot holds any of (a kind that was and is empty
    /// changes nothing).
    pub fn held_by(snapshot: &Snapshot) -> Kinds {
        Kinds {
            pipelines: !snapshot.pipelines.is_empty(),
            apps: !snapshot.apps.is_empty(),
            models: !snapshot.models.is_empty(),
            registries: !snapshot.registries.is_empty(),
        }
    }

    pub fn any(self) -> bool {
        self.pipelines || self.apps || self.models || self.registries
    }

    pub fn union(self, other: Kinds) -> Kinds {
        Kinds {
            pipelines: self.pipelines || other.pipelines,
            apps: self.apps || other.apps,
            models: self.models || other.models,
            registries: self.registries || other.registries,
        }
    }
}

/// An Overview row with what it is ranked by: severity (higher is worse)
/// and when it happened.
pub type Scored = (u8, Option<Timestamp>, RowRef);

/// One source's share of the tabs, in each tab's order.
#[derive(Clone, Debug, Default)]
pub struct SourceRows {
    pub pipelines: Vec<RowRef>,
    pub apps: Vec<RowRef>,
    pub models: Vec<RowRef>,
    /// Its items that need attention, per kind, unsorted across kinds.
    pub failing_runs: Vec<Scored>,
    pub attention_apps: Vec<Scored>,
    pub attention_models: Vec<Scored>,
}

/// The item a pane's cursor was on before a batch changed the data: its
/// row's tab and source, and its id.
pub type Kept = Option<(Tab, u32, String)>;

/// How a source's apps changed since the last settle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AppMoves {
    /// Not at all.
    #[default]
    None,
    /// Only replaced where they stand (these indices): their order by name
    /// holds, so their rows need no sort, and only these are looked at
    /// again for attention.
    Replaced(Vec<usize>),
    /// Added, removed or replaced whole: sorted again.
    Reordered,
}

/// What is stale and what the tabs are rebuilt from.
#[derive(Clone, Debug, Default)]
pub struct Derived {
    /// Indexed like `State::sources`.
    pub per_source: Vec<SourceRows>,
    /// What changed per source since the last settle.
    pub stale: Vec<Kinds>,
    /// Which of it, where a live feed changed apps in place: the problems
    /// are looked at again only for those.
    pub changed: Changed,
    /// Per source, how its apps changed (what their rows need).
    pub app_moves: Vec<AppMoves>,
    /// A source with apps or registry repositories changed: the links
    /// between sources are recomputed.
    pub links_stale: bool,
    /// Each pane's item under the cursor when the data first went stale
    /// (indexed by `Tab::index()`): row references point into snapshots,
    /// so after a snapshot is replaced only the id finds the item again.
    pub kept: [Kept; super::TABS],
    /// Times derived data was rebuilt: once per batch that changed data.
    pub rebuilds: u64,
    /// Times each tab's rows were rebuilt (indexed by `Tab::index()`).
    pub tab_rebuilds: [u64; super::TABS],
}

impl Derived {
    /// Something waits for the next settle.
    pub fn is_stale(&self) -> bool {
        self.links_stale || self.stale.iter().any(|k| k.any())
    }

    /// Source `source`'s apps were added, removed or replaced whole.
    pub fn apps_reordered(&mut self, source: usize) {
        self.grow(source);
        self.app_moves[source] = AppMoves::Reordered;
    }

    /// Source `source`'s apps at `indices` were replaced where they stand.
    pub fn apps_replaced(&mut self, source: usize, indices: impl IntoIterator<Item = usize>) {
        self.grow(source);
        match &mut self.app_moves[source] {
            AppMoves::Reordered => {}
            AppMoves::Replaced(known) => known.extend(indices),
            moves @ AppMoves::None => *moves = AppMoves::Replaced(indices.into_iter().collect()),
        }
    }

    fn grow(&mut self, source: usize) {
        if self.app_moves.len() <= source {
            self.app_moves.resize(source + 1, AppMoves::None);
        }
    }

    /// Source `source` changed in these kinds.
    pub fn mark(&mut self, source: usize, kinds: Kinds) {
        if self.stale.len() <= source {
            self.stale.resize(source + 1, Kinds::default());
        }
        self.stale[source] = self.stale[source].union(kinds);
    }
}
