//! The help overlay, generated from the `Command` registry and the keymap so
//! it can never disagree with the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use strum::IntoEnumIterator;

use crate::app::Command;
use crate::app::state::State;
use crate::theme::Theme;
use crate::ui::chrome::first_key;
use crate::ui::{format, popup};

/// The order sections are listed in.
const SECTIONS: [&str; 4] = ["Navigation", "Tabs", "Actions", "General"];

/// Keys of dialogs and the filter prompt, which are fixed.
const DIALOG_KEYS: &[(&str, &str)] = &[
    ("enter/y", "confirm an action"),
    ("esc/n", "cancel a dialog"),
    ("enter", "filter: keep it, back to the table"),
    ("esc", "filter: clear it"),
];

const KEY_WIDTH: usize = 15;
/// Narrowest column worth splitting the help into.
const MIN_COLUMN_WIDTH: u16 = 36;

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut entries: Vec<Entry> = Vec::new();
    for section in SECTIONS
        .into_iter()
        .chain(Command::iter().map(Command::section))
    {
        if entries
            .iter()
            .any(|e| matches!(e, Entry::Heading(s) if *s == section))
        {
            continue;
        }
        entries.push(Entry::Heading(section));
        for command in Command::iter().filter(|c| c.section() == section) {
            entries.push(Entry::Key(state.keymap.describe(command), command.help()));
        }
    }
    entries.push(Entry::Heading("Dialogs and filter"));
    entries.extend(
        DIALOG_KEYS
            .iter()
            .map(|(k, h)| Entry::Key((*k).to_string(), h)),
    );

    let width = area.width.saturating_sub(4).min(160);
    let inner_height = usize::from(area.height.saturating_sub(2));
    let max_columns = usize::from((width.saturating_sub(2) / MIN_COLUMN_WIDTH).max(1));
    let columns = entries
        .len()
        .div_ceil(inner_height.max(1))
        .clamp(1, max_columns);
    let rows = entries.len().div_ceil(columns);
    let height = (rows as u16).saturating_add(2);
    let rect = popup(frame, area, theme, width, height.min(area.height));
    let block = Block::bordered()
        .border_set(theme.glyphs().border)
        .border_style(theme.border())
        .title(Span::styled(" Help ", theme.title()))
        .title_bottom(Line::styled(
            format!(
                " {} or {} closes ",
                first_key(state, Command::Help),
                first_key(state, Command::Back)
            ),
            theme.muted(),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let column_width = inner.width / columns as u16;
    for (i, chunk) in entries.chunks(rows.max(1)).enumerate() {
        let x = inner.x + column_width * i as u16;
        let col = Rect {
            x,
            width: column_width,
            ..inner
        };
        let help_width = usize::from(column_width).saturating_sub(KEY_WIDTH + 3);
        let lines: Vec<Line> = chunk.iter().map(|e| e.line(theme, help_width)).collect();
        frame.render_widget(Paragraph::new(lines), col);
    }
}

/// The help text, or when it does not fit, its first clause ("Refresh: ask
/// the app's controller…" → "Refresh").
fn short_help(help: &str, width: usize) -> &str {
    if format::width(help) <= width {
        return help;
    }
    help.find([':', ';', '('])
        .map_or(help, |i| help[..i].trim_end())
}

enum Entry {
    Heading(&'static str),
    Key(String, &'static str),
}

impl Entry {
    fn line(&self, theme: &Theme, help_width: usize) -> Line<'static> {
        let g = theme.glyphs();
        match self {
            Entry::Heading(s) => Line::styled(format!(" {s}"), theme.header()),
            Entry::Key(keys, help) => Line::from(vec![
                Span::styled(
                    format!(
                        "  {:<KEY_WIDTH$} ",
                        format::truncate(keys, KEY_WIDTH, g.ellipsis)
                    ),
                    theme.key(),
                ),
                Span::raw(format::truncate(
                    short_help(help, help_width),
                    help_width,
                    g.ellipsis,
                )),
            ]),
        }
    }
}
