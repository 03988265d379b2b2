//! Custom commands on screen: the confirmation, which shows the exact
//! command line that will run, and a background run's output view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::Command;
use crate::app::custom::OutputView;
use crate::app::state::{CommandConfirm, State};
use crate::theme::Theme;
use crate::ui::chrome::first_key;
use crate::ui::{confirm, format, popup};

pub(super) fn draw_confirm(frame: &mut Frame, area: Rect, theme: &Theme, c: &CommandConfirm) {
    let width = confirm::width(area);
    let text_width = usize::from(width.saturating_sub(4));
    let run = &c.run;
    let mut lines: Vec<(u8, Line)> = Vec::new();
    if c.required_text().is_some() {
        lines.push((
            0,
            Line::styled(
                format!(
                    "PRODUCTION {} {} is a production target",
                    theme.glyphs().separator,
                    run.target
                ),
                theme.production(),
            ),
        ));
        lines.push((2, Line::default()));
    }
    // The exact command line: cut at the width, never at words, so every
    // character shows.
    lines.extend(
        hard_wrap(&visible(&run.line), text_width)
            .into_iter()
            .map(|l| (0, Line::styled(l, theme.title()))),
    );
    lines.push((2, Line::default()));
    let field = |name: &'static str, value: String| {
        (
            1,
            Line::from(vec![Span::styled(name, theme.muted()), Span::raw(value)]),
        )
    };
    lines.push(field(
        "target  ",
        format!("{} ({})", run.target, run.target.kind),
    ));
    lines.push(field(
        "runs    ",
        if run.background {
            "in the background; its output is shown here".into()
        } else {
            "in this terminal; the dashboard comes back when it exits".into()
        },
    ));
    if run.mutating {
        lines.push(field("changes ", "something (mutating = true)".into()));
    }
    lines.push((2, Line::default()));
    lines.extend(confirm::prompt(theme, c.required_text(), &c.typed));
    let title = format!(" Confirm: run {} ", run.name);
    confirm::show(frame, area, theme, width, &title, run.production, lines);
}

/// Control characters (a newline in a value) in caret notation: the
/// line stays one line and every byte shows.
fn visible(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\u{7f}' => out.push_str("^?"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `text` in rows at most `max` columns wide, cut anywhere.
fn hard_wrap(text: &str, max: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut head = format::truncate(rest, max.max(1), "");
        if head.is_empty() {
            head = rest.chars().next().map(String::from).unwrap_or_default();
        }
        rest = &rest[head.len()..];
        rows.push(head);
    }
    rows
}

/// A background run's output, newest at the bottom while it follows.
pub(super) fn draw_output(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    theme: &Theme,
    view: &OutputView,
) {
    let rect = popup(frame, area, theme, area.width, area.height);
    let Some(run) = state.custom.runs.get(&view.id) else {
        return;
    };
    let status = match &run.exit {
        None => format!("{} running", theme.spinner(state.spinner)),
        Some(exit) => exit.describe(),
    };
    let title = format!(
        " {} on {} {} {status} ",
        run.run.name,
        run.run.target,
        theme.glyphs().separator
    );
    let title_style = match &run.exit {
        None => theme.info(),
        Some(e) if e.success() => theme.ok(),
        Some(_) => theme.error(),
    };
    let sep = theme.glyphs().separator;
    let keys = format!(
        " {}/{} scroll {sep} {} closes (it keeps running; {} opens it again){} ",
        first_key(state, Command::Down),
        first_key(state, Command::Up),
        first_key(state, Command::Back),
        first_key(state, Command::Output),
        match state.custom.runs.len() {
            n if n > 1 => format!(
                " {sep} {} the next of {n}",
                first_key(state, Command::Output)
            ),
            _ => String::new(),
        },
    );
    let block = Block::bordered()
        .border_set(theme.glyphs().border)
        .border_style(theme.border())
        .title(Span::styled(title, title_style))
        .title_bottom(Line::styled(keys, theme.muted()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);

    let mut all: Vec<Line> = Vec::new();
    if run.dropped > 0 {
        all.push(Line::styled(
            format!(
                "{} {} earlier lines dropped",
                theme.glyphs().ellipsis,
                run.dropped
            ),
            theme.muted(),
        ));
    }
    all.extend(run.lines.iter().map(|l| Line::raw(l.as_str())));
    if let Some(partial) = run.partial() {
        all.push(Line::raw(partial));
    }
    if all.is_empty() {
        all.push(Line::styled("(no output yet)", theme.muted()));
    }
    let height = usize::from(inner.height).max(1);
    let last_top = all.len().saturating_sub(height);
    let top = if view.follow {
        last_top
    } else {
        view.scroll.min(last_top)
    };
    let shown: Vec<Line> = all.into_iter().skip(top).take(height).collect();
    frame.render_widget(Paragraph::new(shown).style(theme.popup()), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_shows_every_character() {
        let line = "printf %s 'a  b'\n$(id)\t";
        let shown = visible(line);
        assert_eq!(shown, "printf %s 'a  b'^J$(id)^I");
        let rows = hard_wrap(&shown, 7);
        assert!(rows.iter().all(|r| r.chars().count() <= 7));
        assert_eq!(rows.concat(), shown);
    }
}
