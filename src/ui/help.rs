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
            entries.push(Entry::Key(
                state.keymap.describe(command),
                command.help().to_string(),
            ));
        }
    }
    entries.extend(custom_entries(state));
    entries.push(Entry::Heading("Dialogs and filter"));
    entries.extend(
        DIALOG_KEYS
            .iter()
            .map(|(k, h)| Entry::Key((*k).to_string(), (*h).to_string())),
    );

    let width = area.width.saturating_sub(4).min(160);
    let inner_height = usize::from(area.height.saturating_sub(2)).max(1);
    let inner_width = width.saturating_sub(2);
    let max_columns = (inner_width / MIN_COLUMN_WIDTH).max(1);
    // The most columns whose wrapped lines fit without scrolling; else one
    // column, scrolled.
    let (columns, lines) = (1..=max_columns)
        .rev()
        .map(|n| (n, layout(&entries, theme, inner_width / n)))
        .find(|(n, lines)| lines.len() <= inner_height * usize::from(*n))
        .unwrap_or_else(|| (1, layout(&entries, theme, inner_width)));
    let rows = lines.len().div_ceil(usize::from(columns)).max(1);
    let scrolls = rows > inner_height;
    let height = (rows.min(inner_height) as u16).saturating_add(2);
    let rect = popup(frame, area, theme, width, height.min(area.height));
    let max_scroll = rows.saturating_sub(inner_height);
    let scroll = state.help_scroll.min(max_scroll);
    let closes = format!(
        " {} or {} closes ",
        first_key(state, Command::Help),
        first_key(state, Command::Back)
    );
    let bottom = if scrolls {
        format!(
            " {}/{} scroll, {}-{} of {} ·{closes}",
            first_key(state, Command::Down),
            first_key(state, Command::Up),
            scroll + 1,
            (scroll + inner_height).min(rows),
            rows
        )
    } else {
        closes
    };
    let block = Block::bordered()
        .border_set(theme.glyphs().border)
        .border_style(theme.border())
        .title(Span::styled(" Help ", theme.title()))
        .title_bottom(Line::styled(bottom, theme.muted()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let column_width = inner.width / columns;
    for (i, chunk) in lines.chunks(rows).enumerate() {
        let col = Rect {
            x: inner.x + column_width * i as u16,
            width: column_width,
            ..inner
        };
        let visible: Vec<Line> = chunk
            .iter()
            .skip(scroll)
            .take(inner_height)
            .cloned()
            .collect();
        frame.render_widget(Paragraph::new(visible), col);
    }
}

/// Every entry as lines `width` wide, descriptions wrapped (never cut).
fn layout(entries: &[Entry], theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let help_width = usize::from(width).saturating_sub(KEY_WIDTH + 3).max(8);
    entries
        .iter()
        .flat_map(|e| e.lines(theme, help_width))
        .collect()
}

/// Words of `text` in lines at most `width` wide (a longer word alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && format::width(&line) + 1 + format::width(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

enum Entry {
    Heading(&'static str),
    Key(String, String),
}

/// The config's `[[command]]`s: those for the selected row's kind with
/// their command line, then the others with the rows they are for.
fn custom_entries(state: &State) -> Vec<Entry> {
    if state.custom.commands.is_empty() {
        return Vec::new();
    }
    let kind = crate::app::update::selected_kind(state);
    let applies =
        |c: &&crate::app::custom::CustomCommand| kind.is_some_and(|k| c.scopes.contains(&k));
    let mut entries = vec![Entry::Heading("Custom commands")];
    for c in state.custom.commands.iter().filter(applies) {
        let how = if c.background { " (background)" } else { "" };
        entries.push(Entry::Key(
            c.key.to_string(),
            format!("{}: {}{how}", c.name, c.run.text),
        ));
    }
    let here = kind.map_or("the selected row".to_string(), |k| {
        format!("this {}", k.name())
    });
    for c in state.custom.commands.iter().filter(|c| !applies(c)) {
        entries.push(Entry::Key(
            c.key.to_string(),
            format!("{}: for {}, not {here}", c.name, c.applies_to()),
        ));
    }
    entries
}

impl Entry {
    fn lines(&self, theme: &Theme, help_width: usize) -> Vec<Line<'static>> {
        let g = theme.glyphs();
        match self {
            Entry::Heading(s) => vec![Line::styled(format!(" {s}"), theme.header())],
            Entry::Key(keys, help) => wrap(help, help_width)
                .into_iter()
                .enumerate()
                .map(|(i, text)| {
                    let key = if i == 0 {
                        format::truncate(keys, KEY_WIDTH, g.ellipsis)
                    } else {
                        String::new()
                    };
                    Line::from(vec![
                        Span::styled(format!("  {key:<KEY_WIDTH$} "), theme.key()),
                        Span::raw(text),
                    ])
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrapping_keeps_every_word() {
        let text = "Refresh: ask the app's controller to look again (Flux: reconcile, confirmed)";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("", 10), vec![String::new()]);
    }
}
