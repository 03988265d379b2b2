//! Keys to commands: the built-in keymap (`keys.toml`), patched by the
//! config's `[keys]` table.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::app::command::Command;
use crate::config::{ConfigError, KeyBindingSpec};

const DEFAULT_KEYS: &str = include_str!("keys.toml");

/// One key with its modifiers, normalised (a capital letter carries no SHIFT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Self {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        // A letter's case already says shift; BackTab is shift-tab by definition.
        if matches!(code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        Key { code, mods }
    }

    pub fn from_event(ev: &KeyEvent) -> Self {
        Key::new(ev.code, ev.modifiers)
    }
}

/// A key name that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown key `{0}` (expected a character, or a name such as enter, esc, tab, shift-tab, up, pageup, f5, with optional ctrl-/alt- prefixes)"
)]
pub struct BadKey(pub String);

impl FromStr for Key {
    type Err = BadKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadKey(s.to_string());
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        // A lone "-" is the minus key, not a separator.
        while rest.len() > 1 {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-") {
                mods |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                mods |= KeyModifiers::SHIFT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=24) => KeyCode::F(n),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            },
        };
        if let (KeyCode::Char(c), true) = (code, mods.contains(KeyModifiers::SHIFT)) {
            if c.is_ascii_lowercase() {
                return Ok(Key::new(KeyCode::Char(c.to_ascii_uppercase()), mods));
            }
        }
        Ok(Key::new(code, mods))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Which command each key runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<Command, Vec<Key>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::builtin().expect("the built-in keymap keys.toml is valid (checked by a unit test)")
    }
}

impl Keymap {
    fn builtin() -> Result<Keymap, String> {
        let table: BTreeMap<String, KeyList> =
            toml::from_str(DEFAULT_KEYS).map_err(|e| e.to_string())?;
        let mut bindings = BTreeMap::new();
        for (name, keys) in table {
            let command =
                Command::from_str(&name).map_err(|_| format!("unknown command {name}"))?;
            let keys = match keys {
                KeyList::One(k) => vec![k],
                KeyList::Many(ks) => ks,
            };
            let keys = keys
                .iter()
                .map(|k| k.parse::<Key>())
                .collect::<Result<Vec<_>, _>>();
            bindings.insert(command, keys.map_err(|e| e.to_string())?);
        }
        Ok(Keymap { bindings })
    }

    /// The built-in keys patched by the config's `[keys]` table. Unknown
    /// command names, bad key names and a key bound to two commands are errors.
    pub fn from_config(specs: &[KeyBindingSpec]) -> Result<Keymap, Vec<ConfigError>> {
        let mut map = Keymap::default();
        let mut errors = Vec::new();
        for spec in specs {
            let Ok(command) = Command::from_str(&spec.command.value) else {
                errors.push(ConfigError::at(
                    &spec.command.at,
                    format!(
                        "unknown action `{}` in [keys] (expected one of: {})",
                        spec.command.value,
                        all_names().join(", ")
                    ),
                ));
                continue;
            };
            let mut keys = Vec::new();
            for k in &spec.keys {
                match k.value.parse::<Key>() {
                    Ok(key) => keys.push(key),
                    Err(e) => errors.push(ConfigError::at(&k.at, e.to_string())),
                }
            }
            map.bindings.insert(command, keys);
        }
        // The same key on two commands would make one of them unreachable.
        let mut seen: BTreeMap<String, Command> = BTreeMap::new();
        for (command, keys) in &map.bindings {
            for key in keys {
                if let Some(other) = seen.insert(key.to_string(), *command) {
                    let spec = specs.iter().find(|s| {
                        s.command.value == command.name() || s.command.value == other.name()
                    });
                    let message = format!(
                        "key `{key}` is bound to both `{}` and `{}`",
                        other.name(),
                        command.name()
                    );
                    match spec {
                        Some(s) => errors.push(ConfigError::at(&s.command.at, message)),
                        None => errors.push(ConfigError::without_location(message)),
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors)
        }
    }

    /// The command bound to this key press.
    pub fn lookup(&self, ev: &KeyEvent) -> Option<Command> {
        self.command_of(Key::from_event(ev))
    }

    /// The command bound to `key`, if any.
    pub fn command_of(&self, key: Key) -> Option<Command> {
        self.bindings
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(c, _)| *c)
    }

    /// The keys bound to a command, for the help overlay and hints.
    pub fn keys_for(&self, command: Command) -> &[Key] {
        self.bindings.get(&command).map_or(&[], Vec::as_slice)
    }

    /// "s" or "k/up": the keys of a command as shown in hints.
    pub fn describe(&self, command: Command) -> String {
        let keys: Vec<String> = self.keys_for(command).iter().map(Key::to_string).collect();
        keys.join("/")
    }
}

/// Every bindable command name.
pub fn all_names() -> Vec<&'static str> {
    use strum::IntoEnumIterator;
    Command::iter().map(Command::name).collect()
}

/// "l: " for the first key bound to `command` (empty when unbound): status
/// lines that answer a key start with it.
pub fn first_key_prefix(state: &crate::app::State, command: Command) -> String {
    state
        .keymap
        .keys_for(command)
        .first()
        .map_or(String::new(), |k| format!("{k}: "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn builtin_keymap_parses_and_binds_every_command() {
        let map = Keymap::builtin().expect("valid");
        for c in Command::iter() {
            assert!(
                !map.keys_for(c).is_empty(),
                "{} has no default key",
                c.name()
            );
        }
    }

    #[test]
    fn key_names_round_trip() {
        for s in [
            "q",
            "ctrl-c",
            "shift-tab",
            "G",
            "pageup",
            "f5",
            "alt-x",
            "enter",
            "/",
            "-",
            "space",
        ] {
            let k: Key = s.parse().expect(s);
            assert_eq!(k.to_string(), s);
        }
        assert_eq!("shift-g".parse::<Key>(), "G".parse::<Key>());
        assert!("ctrl-".parse::<Key>().is_err());
        assert!("hyper-x".parse::<Key>().is_err());
        assert!("f99".parse::<Key>().is_err());
    }

    #[test]
    fn lookup_ignores_shift_on_letters() {
        let map = Keymap::default();
        let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup(&ev), Some(Command::Bottom));
        let ev = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(map.lookup(&ev), Some(Command::PrevTab));
    }
}
