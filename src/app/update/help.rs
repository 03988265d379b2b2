//! Keys while the help overlay is open.

use crossterm::event::KeyEvent;

use crate::app::command::Command;
use crate::app::state::State;
use crate::app::views::table_rows_for_height;

/// The help overlay: its keys close it or scroll it (the drawing clamps
/// the scroll to what there is; this bounds it by the entries there are,
/// custom commands included).
pub(super) fn on_help_key(state: &mut State, key: KeyEvent) {
    let most =
        2 * (<Command as strum::IntoEnumIterator>::iter().count() + state.custom.commands.len());
    let page = table_rows_for_height(state.size.1);
    let scroll = state.help_scroll.min(most);
    state.help_scroll = match state.keymap.lookup(&key) {
        Some(Command::Help | Command::Back | Command::Quit) => {
            state.overlay = None;
            0
        }
        Some(Command::Down) => scroll + 1,
        Some(Command::Up) => scroll.saturating_sub(1),
        Some(Command::PageDown) => scroll + page,
        Some(Command::PageUp) => scroll.saturating_sub(page),
        Some(Command::Top) => 0,
        Some(Command::Bottom) => most,
        _ => return,
    }
    .min(most);
    state.dirty = true;
}
