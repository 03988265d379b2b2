//! A tab's table: the rows it shows and where the cursor is.

use super::{Detail, Tab};

/// A row of a table: which tab's item, of which source, at which index of
/// that source's snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RowRef {
    pub tab: Tab,
    pub source: u32,
    pub index: u32,
}

/// One tab's table: its visible (filtered, sorted) rows and position.
#[derive(Clone, Debug, Default)]
pub struct Pane {
    /// For Overview: the attention list, worst first. Elsewhere the table's
    /// rows in display order, already filtered.
    pub rows: Vec<RowRef>,
    /// Every row in display order before the filter (so a filter keystroke
    /// only filters; sorting happens when the data changes).
    pub sorted: Vec<RowRef>,
    pub selected: usize,
    /// First visible row; kept so the selection stays on screen.
    pub offset: usize,
    pub filter: String,
    pub detail: Option<Detail>,
}
