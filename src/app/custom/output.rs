//! A background run's output in bounded memory: its last lines, cleaned
//! for the screen, and how far the view over them is scrolled.

use std::collections::VecDeque;

use super::{CommandRun, Exit};
use crate::model::Timestamp;
use crate::model::pipeline::clean_log_line;

/// Lines kept per run; older ones are dropped (and counted).
pub const MAX_LINES: usize = 2000;
/// A line longer than this is cut (a program writing without newlines).
const MAX_LINE_BYTES: usize = 4096;

/// A command running (or finished) in the background.
#[derive(Clone, Debug, PartialEq)]
pub struct Background {
    pub run: CommandRun,
    pub started: Timestamp,
    /// The last `MAX_LINES` lines of stdout and stderr, as they came.
    pub lines: VecDeque<String>,
    /// Lines dropped from the start.
    pub dropped: usize,
    /// The line being written (no newline yet), as bytes: a UTF-8
    /// character may be split between two reads.
    partial: Vec<u8>,
    pub exit: Option<Exit>,
}

impl Background {
    pub fn new(run: CommandRun, started: Timestamp) -> Background {
        Background {
            run,
            started,
            lines: VecDeque::new(),
            dropped: 0,
            partial: Vec::new(),
            exit: None,
        }
    }

    /// Add what the command wrote.
    pub fn push(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            let (text, ends) = match piece.strip_suffix(b"\n") {
                Some(t) => (t, true),
                None => (piece, false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&text[..text.len().min(room)]);
            if ends {
                self.end_line();
            }
        }
    }

    /// It ended: keep its last line even without a newline.
    pub fn finish(&mut self, exit: Exit) {
        if !self.partial.is_empty() {
            self.end_line();
        }
        self.exit = Some(exit);
    }

    /// The unfinished line, as it can be shown now.
    pub fn partial(&self) -> Option<String> {
        (!self.partial.is_empty()).then(|| clean_log_line(&String::from_utf8_lossy(&self.partial)))
    }

    fn end_line(&mut self) {
        let line = clean_log_line(&String::from_utf8_lossy(&self.partial));
        self.partial.clear();
        self.lines.push_back(line);
        if self.lines.len() > MAX_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
    }
}

/// The output view of one background run: where it is scrolled to.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputView {
    pub id: u64,
    /// The first line shown (the drawing clamps it).
    pub scroll: usize,
    /// Stay on the newest lines as they arrive (until scrolled up).
    pub follow: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Target, TargetKind};

    fn background() -> Background {
        let run = CommandRun {
            id: 1,
            name: "tail".into(),
            target: Target::new("demo", TargetKind::App, "web"),
            line: "tail".into(),
            background: true,
            mutating: false,
            production: false,
        };
        Background::new(run, chrono::Utc::now())
    }

    #[test]
    fn lines_split_across_reads_and_characters_split_across_reads_come_out_whole() {
        let mut b = background();
        let text = "héllo\nwörld\n\u{1b}[31mred\u{1b}[0m\nno newline";
        for chunk in text.as_bytes().chunks(3) {
            b.push(chunk);
        }
        assert_eq!(b.partial().as_deref(), Some("no newline"));
        b.finish(Exit::Code(0));
        assert_eq!(
            Vec::from(b.lines.clone()),
            vec!["héllo", "wörld", "red", "no newline"]
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let mut b = background();
        for i in 0..(MAX_LINES + 10) {
            b.push(format!("{i}\n").as_bytes());
        }
        assert_eq!(b.lines.len(), MAX_LINES);
        assert_eq!(b.dropped, 10);
        assert_eq!(b.lines.front().map(String::as_str), Some("10"));
        b.push(&vec![b'x'; 3 * MAX_LINE_BYTES]);
        b.push(b"\n");
        assert_eq!(b.lines.back().map(String::len), Some(MAX_LINE_BYTES));
    }
}
