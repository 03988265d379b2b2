//! `notify` and `notify_min`: how the dashboard tells the engineer that a
//! new problem appeared (the terminal bell, OSC 9 / OSC 777 desktop
//! notifications), and from which severity.

use toml::Spanned;

use super::location::LineIndex;
use super::{ConfigError, Located};

/// One way of notifying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyVia {
    /// BEL: the terminal rings or marks the tab.
    Bell,
    /// OSC 9: a desktop notification (iTerm2, Windows Terminal, kitty, …).
    Osc9,
    /// OSC 777: a desktop notification (urxvt, foot, VTE terminals, WezTerm).
    Osc777,
}

const VIA_NAMES: [(&str, NotifyVia); 3] = [
    ("bell", NotifyVia::Bell),
    ("osc9", NotifyVia::Osc9),
    ("osc777", NotifyVia::Osc777),
];

/// The least severe problem that notifies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NotifyMin {
    /// Anything that enters the Overview's attention list.
    #[default]
    Warning,
    /// Only failed runs, degraded or missing apps and drifting models.
    Critical,
}

/// `notify = […]` (empty: off) and `notify_min`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyConfig {
    pub via: Vec<NotifyVia>,
    pub min: NotifyMin,
}

pub(super) fn parse(
    via: Option<Vec<Spanned<String>>>,
    min: Option<Spanned<String>>,
    lines: &LineIndex,
    errors: &mut Vec<ConfigError>,
) -> NotifyConfig {
    let mut config = NotifyConfig::default();
    for name in via.unwrap_or_default() {
        let at = lines.at(name.span().start);
        let name = Located {
            value: name.into_inner(),
            at,
        };
        match VIA_NAMES.iter().find(|(n, _)| *n == name.value) {
            Some((_, v)) if config.via.contains(v) => errors.push(ConfigError::at(
                &name.at,
                format!("notify: `{}` is listed twice", name.value),
            )),
            Some((_, v)) => config.via.push(*v),
            None => errors.push(ConfigError::at(
                &name.at,
                format!(
                    "notify: unknown `{}` (expected some of: bell, osc9, osc777)",
                    name.value
                ),
            )),
        }
    }
    if let Some(min) = min {
        match min.get_ref().as_str() {
            "warning" => config.min = NotifyMin::Warning,
            "critical" => config.min = NotifyMin::Critical,
            other => errors.push(ConfigError::at(
                &lines.at(min.span().start),
                format!("notify_min: unknown `{other}` (expected \"warning\" or \"critical\")"),
            )),
        }
    }
    config
}
