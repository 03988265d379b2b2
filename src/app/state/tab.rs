//! The five tabs and the order they come in.

use crate::model::Provides;

/// The five tabs, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tab {
    Overview,
    Pipelines,
    GitOps,
    Drift,
    /// Every change and state change of every source on one time axis.
    Timeline,
}

/// How many tabs there are.
pub const TABS: usize = 5;

impl Tab {
    pub const ALL: [Tab; TABS] = [
        Tab::Overview,
        Tab::Pipelines,
        Tab::GitOps,
        Tab::Drift,
        Tab::Timeline,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Pipelines => "Pipelines",
            Tab::GitOps => "GitOps",
            Tab::Drift => "Drift",
            Tab::Timeline => "Timeline",
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
            Tab::Overview | Tab::Timeline => true,
            Tab::Pipelines => p.pipelines,
            Tab::GitOps => p.gitops,
            Tab::Drift => p.drift,
        }
    }
}
