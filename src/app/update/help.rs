//! Keys that explain themselves: the help overlay's keys, and a key
//! bound to nothing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::command::Command;
use crate::app::state::{Level, State};
use crate::app::views::table_rows_for_height;

use super::say;

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

/// A plain key bound to nothing says so, rather than nothing.
pub(super) fn unbound_key(state: &mut State, key: KeyEvent) {
    let plain = (key.modifiers - KeyModifiers::SHIFT).is_empty();
    if let (KeyCode::Char(c), true) = (key.code, plain) {
        let help = crate::app::keymap::first_key_prefix(state, Command::Help);
        let help = help.trim_end_matches([':', ' ']);
        say(
            state,
            Level::Info,
            format!("{c}: no action on this key ({help} lists the keys)"),
        );
    }
}
