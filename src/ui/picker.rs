//! The rollback picker: deploy-history entries or model versions to go back
//! to, the running one marked and not selectable; for a repository, its
//! commits, with the change of the one under the cursor.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::Command;
use crate::app::state::{Picker, PickerEntry, State};
use crate::model::short_rev;
use crate::theme::Theme;
use crate::ui::chrome::{first_key, hint_line};
use crate::ui::table::{Column, WindowedTable};
use crate::ui::{format, popup, repo};

const MAX_WIDTH: u16 = 120;
/// Diff lines shown under a revert picker at most.
const DIFF_MAX_HEIGHT: u16 = 24;

const COLUMNS: [Column; 7] = [
    Column::new("", 1, 0, 0),
    Column::new("id", 6, 0, 3),
    Column::new("revision", 8, 0, 0),
    Column::new("age", 5, 0, 0),
    Column::new("deployed", 20, 0, 2),
    Column::new("author", 12, 1, 1),
    Column::new("message", 16, 4, 0),
];

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme, picker: &Picker) {
    let g = theme.glyphs();
    let width = MAX_WIDTH.min(area.width.saturating_sub(4));
    // Reverting a repository commit: show what that commit changed.
    let diff = picker
        .entries
        .get(picker.selected)
        .and_then(|entry| {
            let app = state.find(&picker.target).and_then(|row| state.app(row))?;
            repo::commit_diff(theme, app, &entry.id)
        })
        .filter(|lines| !lines.is_empty());
    // Borders, header and the hint line around the entries (and the diff).
    let list_height = (picker.entries.len() as u16).saturating_add(1);
    let diff_height = diff.as_ref().map_or(0, |d| {
        (d.len() as u16).saturating_add(1).min(DIFF_MAX_HEIGHT)
    });
    let height = list_height
        .saturating_add(diff_height)
        .saturating_add(3)
        .min(area.height.saturating_sub(2));
    let rect = popup(frame, area, theme, width, height);
    let hints = [
        (first_key(state, Command::Down), "down"),
        (first_key(state, Command::Up), "up"),
        ("enter".to_string(), "choose"),
        ("esc".to_string(), "cancel"),
    ];
    let block = Block::bordered()
        .border_set(g.border)
        .border_style(theme.border())
        .title(Span::styled(format!(" {} ", picker.title), theme.title()))
        .title_bottom(hint_line(
            theme,
            rect.width.saturating_sub(2),
            hints.into_iter(),
        ));
    let mut inner = block.inner(rect);
    frame.render_widget(block, rect);
    if let Some(diff) = diff {
        // The list keeps at least half the room; the diff takes the rest.
        let list = list_height.min((inner.height - inner.height / 2).max(1));
        let below = Rect {
            y: inner.y.saturating_add(list).saturating_add(1),
            height: inner.height.saturating_sub(list).saturating_sub(1),
            ..inner
        };
        inner.height = list.min(inner.height);
        if below.height > 0 {
            frame.render_widget(Paragraph::new(diff).style(theme.popup()), below);
        }
    }
    let table = WindowedTable {
        columns: &COLUMNS,
        selected: Some(picker.selected),
        offset: 0,
        empty: "nothing to roll back to",
    };
    table.render(
        frame,
        inner,
        theme,
        &picker.entries,
        |entry: &PickerEntry, selected| {
            let style = if entry.current {
                theme.muted()
            } else {
                theme.base()
            };
            let age = format::age_or(state.now, entry.time, g.none);
            let absolute = entry
                .time
                .map_or_else(|| g.none.to_string(), format::absolute);
            let message = format::first_line(&entry.message);
            let verdict = entry
                .verdict
                .as_deref()
                .map(|v| format!("[{v}] "))
                .unwrap_or_default();
            let message = if entry.current {
                format!("(running) {verdict}{message}")
            } else {
                format!("{verdict}{message}")
            };
            vec![
                Line::from(Span::styled(
                    if selected { g.pointer } else { " " },
                    theme.accent(),
                )),
                Line::from(Span::styled(entry.id.clone(), style)),
                Line::from(Span::styled(short_rev(&entry.revision).to_string(), style)),
                Line::from(Span::styled(age, theme.muted())),
                Line::from(Span::styled(absolute, theme.muted())),
                Line::from(Span::styled(entry.author.clone(), style)),
                Line::styled(message, style),
            ]
        },
    );
}
