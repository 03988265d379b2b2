//! Ages, durations, absolute times, metric values and truncation, formatted
//! the same way everywhere on screen.

use std::time::Duration;

use ratatui::text::Span;

use crate::model::Timestamp;

/// How long ago `then` was, relative to `now`: "12s", "4m", "2h", "3d".
/// A time in the future (clock skew) reads as "0s".
pub fn age(now: Timestamp, then: Timestamp) -> String {
    age_of_secs((now - then).num_seconds())
}

/// `age` of a span given in seconds.
pub fn age_of_secs(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}

/// `age` of an optional time, or `none`.
pub fn age_or(now: Timestamp, then: Option<Timestamp>, none: &str) -> String {
    then.map_or_else(|| none.to_string(), |t| age(now, t))
}

/// A run or step duration (one formatter for the app and the UI).
pub use crate::model::duration::duration;

/// `duration` of an optional value, or `none`.
pub fn duration_or(d: Option<Duration>, none: &str) -> String {
    d.map_or_else(|| none.to_string(), duration)
}

/// An absolute time, always in UTC so that it reads the same on every host.
pub fn absolute(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "2024-05-01 12:34 UTC (4m ago)".
pub fn absolute_and_age(now: Timestamp, t: Timestamp) -> String {
    format!("{} ({} ago)", absolute(t), age(now, t))
}

/// Metric values are written one way on screen and in `watch`.
pub use crate::model::metric_value;

/// The number of terminal columns `s` takes.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` cut to at most `max` columns, ending in `ellipsis` when cut.
pub fn truncate(s: &str, max: usize, ellipsis: &str) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(width(ellipsis));
    let mut out = String::new();
    let mut used = 0;
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let w = width(c.encode_utf8(&mut buf));
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    if max >= width(ellipsis) {
        out.push_str(ellipsis);
    }
    out
}

/// The first line of a possibly multi-line message.
pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// `text` broken into lines of at most `max` columns, at spaces where it
/// can (a word longer than a line is cut). Keeps the text's own line breaks.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word = word.to_string();
            loop {
                let sep = usize::from(!line.is_empty());
                if width(&line) + sep + width(&word) <= max {
                    if sep == 1 {
                        line.push(' ');
                    }
                    line.push_str(&word);
                    break;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    continue;
                }
                // A word longer than a whole line: cut it.
                let mut head = truncate(&word, max, "");
                if head.is_empty() {
                    head = word.chars().next().map(String::from).unwrap_or_default();
                }
                word = word[head.len()..].to_string();
                lines.push(head);
                if word.is_empty() {
                    break;
                }
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> Timestamp {
        chrono::Utc
            .timestamp_opt(1_700_000_000 + secs, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn ages() {
        assert_eq!(age(t(12), t(0)), "12s");
        assert_eq!(age(t(4 * 60 + 59), t(0)), "4m");
        assert_eq!(age(t(2 * 3600), t(0)), "2h");
        assert_eq!(age(t(3 * 86_400 + 5), t(0)), "3d");
        assert_eq!(age(t(0), t(30)), "0s");
    }

    #[test]
    fn metric_values() {
        assert_eq!(metric_value(0.31), "0.31");
        assert_eq!(metric_value(0.1), "0.10");
        assert_eq!(metric_value(0.005), "0.005");
        assert_eq!(metric_value(0.0), "0.00");
        assert_eq!(metric_value(12.345), "12.35");
        assert_eq!(metric_value(1234.0), "1234");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate("hello world", 20, "…"), "hello world");
        assert_eq!(truncate("hello world", 6, "…"), "hello…");
        assert_eq!(truncate("hello world", 6, "~"), "hello~");
        assert_eq!(truncate("hello", 0, "…"), "");
        assert_eq!(absolute(t(0)), "2023-11-14 22:13 UTC");
        assert_eq!(
            wrap("roll back prod/payments from 3f2a1c to 9b77e0", 20),
            ["roll back", "prod/payments from", "3f2a1c to 9b77e0"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), Vec::<String>::new());
    }
}
