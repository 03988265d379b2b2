//! The four tabs and the order they come in.

use crate::model::Provides;

/// The four tabs, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tab {
    Overview,
    Pipelines,
    GitOps,
    Drift,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Overview, Tab::Pipelines, Tab::GitOps, Tab::Drift];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Pipelines => "Pipelines",
            Tab::GitOps => "GitOps",
            Tab::Drift => "Drift",
        }
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }

    /// Whether a source that provides `p` shows in this tab.
    pub fn shows(self, p: Provides) -> bool {
        match self {
            Tab::Overview => true,
            Tab::Pipelines => p.pipelines,
            Tab::GitOps => p.gitops,
            Tab::Drift => p.drift,
        }
    }
}
