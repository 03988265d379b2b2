//! The skeleton every item tab shares: the open item's detail view (or word
//! that it is gone), else the tab's windowed table of rows.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::app::state::{RowRef, State, Tab};
use crate::theme::Theme;
use crate::ui::table::{Column, WindowedTable};
use crate::ui::{chrome, detail};

/// How one tab names its items when the table is empty.
pub(super) struct Nouns {
    /// "runs", "apps", "models".
    pub plural: &'static str,
    /// What to say when the sources have none at all.
    pub none: &'static str,
}

/// Draw `tab`: its detail view when one is open, else its table.
/// `find` looks an item up by row; `detail` draws an item's detail body;
/// `cells` builds one visible row.
pub(super) fn draw<'s, T: ?Sized>(
    frame: &mut Frame,
    area: Rect,
    state: &'s State,
    theme: &Theme,
    tab: Tab,
    view: TabView<'_, 's, T>,
) {
    let pane = state.pane(tab);
    if let Some(open) = &pane.detail {
        let item = state.detail_row().and_then(|row| (view.find)(state, row));
        let block = chrome::pane_block(state, theme, tab, Some(open.target.to_string()));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        match item {
            Some(item) => (view.detail)(frame, inner, item, open.scroll),
            None => detail::gone(frame, inner, state, theme, open),
        }
        return;
    }
    let block = chrome::pane_block(state, theme, tab, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let empty = empty_message(state, tab, &view.nouns);
    let table = WindowedTable {
        columns: view.columns,
        selected: Some(pane.selected),
        offset: pane.offset,
        empty: &empty,
    };
    let mut cells = view.cells;
    table.render(frame, inner, theme, &pane.rows, |row, _| {
        match (view.find)(state, *row) {
            Some(item) => cells(inner, *row, item),
            None => Vec::new(),
        }
    });
}

/// What a tab plugs into the skeleton.
pub(super) struct TabView<'f, 's, T: ?Sized> {
    pub columns: &'f [Column],
    pub nouns: Nouns,
    pub find: fn(&'s State, RowRef) -> Option<&'s T>,
    #[allow(clippy::type_complexity)] // one closure per visible row; naming it would not help
    pub cells: Box<dyn FnMut(Rect, RowRef, &'s T) -> Vec<Line<'static>> + 'f>,
    #[allow(clippy::type_complexity)]
    pub detail: Box<dyn FnOnce(&mut Frame, Rect, &'s T, usize) + 'f>,
}

fn empty_message(state: &State, tab: Tab, nouns: &Nouns) -> String {
    let filter = &state.pane(tab).filter;
    if !filter.is_empty() {
        format!("no {} match /{filter}", nouns.plural)
    } else if state.tab_sources(tab).any(|s| s.updated_at.is_none()) {
        format!("loading {}…", nouns.plural)
    } else {
        nouns.none.to_string()
    }
}
