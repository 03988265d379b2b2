//! Telling the engineer that something new broke: which problem events
//! notify (fresh ones, severe enough, once each), how often (at most one
//! notification every `NOTIFY_INTERVAL`, the rest summed up in the next),
//! and the bytes that say it (BEL, OSC 9, OSC 777). Plain data and time in,
//! bytes out: the event loop writes them.

use std::collections::HashSet;
use std::time::Duration;

use crate::app::problems::{Change, Problem, ProblemEvent, ProblemKind, Severity};
use crate::config::{NotifyConfig, NotifyMin, NotifyVia};
use crate::model::Timestamp;

/// At most one notification this often.
pub const NOTIFY_INTERVAL: Duration = Duration::from_secs(10);

/// The longest notification text (desktop notifiers cut long ones anyway).
const MAX_TEXT_CHARS: usize = 200;

/// Decides when to notify and of what.
#[derive(Debug)]
pub struct Notifier {
    config: NotifyConfig,
    /// Problems already notified (or waiting to be): never twice.
    notified: HashSet<(ProblemKind, String)>,
    /// Waiting for the interval to pass.
    waiting: Vec<Problem>,
    last: Option<Timestamp>,
    /// Wrap OSC sequences for tmux's `allow-passthrough`.
    tmux: bool,
}

impl Notifier {
    pub fn new(config: NotifyConfig, tmux: bool) -> Self {
        Notifier {
            config,
            notified: HashSet::new(),
            waiting: Vec::new(),
            last: None,
            tmux,
        }
    }

    pub fn is_on(&self) -> bool {
        !self.config.via.is_empty()
    }

    /// Take in what happened and return the bytes to write now, if it is
    /// time for a notification. Call on every turn (the clock's ticks send
    /// what waited for the interval).
    pub fn offer(&mut self, events: &[ProblemEvent], now: Timestamp) -> Option<Vec<u8>> {
        if !self.is_on() {
            return None;
        }
        let min = match self.config.min {
            NotifyMin::Warning => Severity::Warning,
            NotifyMin::Critical => Severity::Critical,
        };
        for event in events {
            let p = &event.problem;
            if event.change == Change::New
                && event.fresh
                && p.severity >= min
                && self.notified.insert((p.kind, p.target.clone()))
            {
                self.waiting.push(p.clone());
            }
        }
        if self.waiting.is_empty() {
            return None;
        }
        let due = self.last.is_none_or(|last| {
            (now - last)
                .to_std()
                .is_ok_and(|since| since >= NOTIFY_INTERVAL)
        });
        if !due {
            return None;
        }
        self.last = Some(now);
        let text = summary(&std::mem::take(&mut self.waiting));
        Some(self.encode(&text))
    }

    /// The configured sequences carrying `text`.
    fn encode(&self, text: &str) -> Vec<u8> {
        let text = clean(text);
        let mut out = String::new();
        for via in &self.config.via {
            let seq = match via {
                NotifyVia::Bell => {
                    out.push('\x07');
                    continue;
                }
                NotifyVia::Osc9 => format!("\x1b]9;{text}\x07"),
                NotifyVia::Osc777 => format!("\x1b]777;notify;opsdeck;{text}\x07"),
            };
            if self.tmux {
                // tmux passes a sequence through when wrapped in its DCS,
                // each ESC inside doubled.
                out.push_str("\x1bPtmux;");
                out.push_str(&seq.replace('\x1b', "\x1b\x1b"));
                out.push_str("\x1b\\");
            } else {
                out.push_str(&seq);
            }
        }
        out.into_bytes()
    }
}

/// "demo/4137: Deploy on acme/web main failed", or for several
/// "3 new problems: demo/4137: Deploy on acme/web main failed; and 2 more".
fn summary(problems: &[Problem]) -> String {
    let first = problems
        .iter()
        .max_by_key(|p| p.severity)
        .map_or(String::new(), |p| format!("{}: {}", p.target, p.summary));
    match problems.len() {
        1 => format!("new problem {first}"),
        n => format!("{n} new problems: {first}; and {} more", n - 1),
    }
}

/// Backend words never carry a control character (an escape sequence of
/// their own) into the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TEXT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::problems::ProblemKind;

    fn at(secs: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("time")
    }

    fn event(target: &str, severity: Severity, fresh: bool) -> ProblemEvent {
        ProblemEvent {
            change: Change::New,
            time: at(0),
            fresh,
            problem: Problem {
                kind: ProblemKind::Run,
                source: 0,
                target: target.into(),
                status: "failure".into(),
                summary: format!("{target} failed"),
                severity,
            },
        }
    }

    fn notifier(via: Vec<NotifyVia>, min: NotifyMin) -> Notifier {
        Notifier::new(NotifyConfig { via, min }, false)
    }

    fn text(bytes: Option<Vec<u8>>) -> String {
        String::from_utf8(bytes.expect("a notification")).expect("utf-8")
    }

    #[test]
    fn a_fresh_problem_rings_and_notifies_in_each_configured_way() {
        let mut n = notifier(
            vec![NotifyVia::Bell, NotifyVia::Osc9, NotifyVia::Osc777],
            NotifyMin::Warning,
        );
        let out = text(n.offer(&[event("demo/1", Severity::Critical, true)], at(0)));
        assert_eq!(
            out,
            "\x07\x1b]9;new problem demo/1: demo/1 failed\x07\x1b]777;notify;opsdeck;new problem demo/1: demo/1 failed\x07"
        );
    }

    #[test]
    fn problems_there_at_start_resolved_ones_and_off_say_nothing() {
        let mut n = notifier(vec![NotifyVia::Bell], NotifyMin::Warning);
        assert_eq!(
            n.offer(&[event("demo/1", Severity::Critical, false)], at(0)),
            None
        );
        let mut resolved = event("demo/2", Severity::Critical, true);
        resolved.change = Change::Resolved;
        assert_eq!(n.offer(&[resolved], at(0)), None);
        let mut off = notifier(Vec::new(), NotifyMin::Warning);
        assert_eq!(
            off.offer(&[event("demo/3", Severity::Critical, true)], at(0)),
            None
        );
    }

    #[test]
    fn critical_only_skips_warnings() {
        let mut n = notifier(vec![NotifyVia::Bell], NotifyMin::Critical);
        assert_eq!(
            n.offer(&[event("demo/1", Severity::Warning, true)], at(0)),
            None
        );
        assert!(
            n.offer(&[event("demo/2", Severity::Critical, true)], at(0))
                .is_some()
        );
    }

    #[test]
    fn at_most_one_every_interval_the_rest_summed_up_and_never_twice() {
        let mut n = notifier(vec![NotifyVia::Osc9], NotifyMin::Warning);
        assert!(
            n.offer(&[event("demo/1", Severity::Critical, true)], at(0))
                .is_some()
        );
        // Within the interval: held back, however many come.
        assert_eq!(
            n.offer(&[event("demo/2", Severity::Warning, true)], at(3)),
            None
        );
        assert_eq!(
            n.offer(
                &[
                    event("demo/3", Severity::Critical, true),
                    event("demo/1", Severity::Critical, true)
                ],
                at(5)
            ),
            None
        );
        assert_eq!(n.offer(&[], at(9)), None);
        // The next tick after the interval sums up the two new ones.
        let out = text(n.offer(&[], at(10)));
        assert_eq!(
            out,
            "\x1b]9;2 new problems: demo/3: demo/3 failed; and 1 more\x07"
        );
        assert_eq!(n.offer(&[], at(30)), None, "nothing left");
        assert_eq!(
            n.offer(&[event("demo/1", Severity::Critical, true)], at(40)),
            None,
            "once per problem"
        );
    }

    #[test]
    fn backend_words_cannot_smuggle_escape_sequences_and_tmux_gets_them_wrapped() {
        let mut n = Notifier::new(
            NotifyConfig {
                via: vec![NotifyVia::Bell, NotifyVia::Osc9],
                min: NotifyMin::Warning,
            },
            true,
        );
        let mut e = event("demo/1", Severity::Critical, true);
        e.problem.summary = "bad\x1b]0;owned\x07 news".into();
        let out = text(n.offer(&[e], at(0)));
        assert_eq!(
            out,
            "\x07\x1bPtmux;\x1b\x1b]9;new problem demo/1: bad ]0;owned  news\x07\x1b\\"
        );
    }
}
