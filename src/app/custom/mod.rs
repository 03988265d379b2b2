//! Custom commands (`[[command]]`, as k9s plugins): the keys they take
//! (never a built-in key on the same kind of row, never another command's
//! on the same kind of row), what a run carries to the event loop and the
//! audit log, and how it ended. The values a template is filled with are in
//! `values.rs`; a background run's captured output in `output.rs`.

mod output;
mod values;

use std::collections::BTreeMap;

pub use output::{Background, MAX_LINES, OutputView};
pub use values::{is_production, row_kind, value};

use crate::app::command::Command;
use crate::app::keymap::{Key, Keymap};
use crate::config::{CommandConfig, ConfigError, Scope, Template};
use crate::model::{ActionKind, Target, TargetKind};

/// At most this many background runs are kept (the oldest finished go first).
pub const MAX_BACKGROUND_RUNS: usize = 8;

/// One custom command, its key parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomCommand {
    pub name: String,
    pub key: Key,
    pub scopes: Vec<Scope>,
    pub run: Template,
    pub confirm: bool,
    pub background: bool,
    pub mutating: bool,
}

impl CustomCommand {
    /// "GitOps apps (tab 3) and models (tab 4)": where it applies, in words.
    pub fn applies_to(&self) -> String {
        let words: Vec<&str> = self.scopes.iter().map(|s| s.plural()).collect();
        match words.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Said when its key is pressed on a row it does not apply to.
    pub fn wrong_row(&self, got: Option<Scope>) -> String {
        let got = got.map_or("the selected row".to_string(), |g| {
            format!("{} ({})", g.described(), g.name())
        });
        format!(
            "{}: {} applies to {}, not to {got}",
            self.key,
            self.name,
            self.applies_to()
        )
    }
}

/// The configured custom commands and the background runs of this session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Custom {
    pub commands: Vec<CustomCommand>,
    /// Background runs, by id.
    pub runs: BTreeMap<u64, Background>,
}

impl Custom {
    /// The config's commands with their keys checked against the keymap:
    /// a bad key name, a key a built-in command uses on the same kind of
    /// row, or a key two commands share on one kind of row is an error
    /// naming both.
    pub fn from_config(
        specs: &[CommandConfig],
        keymap: &Keymap,
    ) -> Result<Custom, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut commands: Vec<CustomCommand> = Vec::new();
        for spec in specs {
            let key = match spec.key.value.parse::<Key>() {
                Ok(k) => k,
                Err(e) => {
                    errors.push(ConfigError::at(
                        &spec.key.at,
                        format!("[[command]] `{}`: {e}", spec.name),
                    ));
                    continue;
                }
            };
            if let Some(builtin) = keymap.command_of(key) {
                let shared = shared(&builtin_scopes(builtin), &spec.scopes);
                if !shared.is_empty() {
                    errors.push(ConfigError::at(
                        &spec.key.at,
                        format!(
                            "[[command]] `{}`: key `{key}` is the built-in `{}` on {} rows; pick another key",
                            spec.name,
                            builtin.name(),
                            names(&shared)
                        ),
                    ));
                    continue;
                }
            }
            if let Some(other) = commands
                .iter()
                .find(|c| c.key == key && !shared(&c.scopes, &spec.scopes).is_empty())
            {
                errors.push(ConfigError::at(
                    &spec.key.at,
                    format!(
                        "[[command]] `{}`: key `{key}` is also the key of `{}` on {} rows",
                        spec.name,
                        other.name,
                        names(&shared(&other.scopes, &spec.scopes))
                    ),
                ));
                continue;
            }
            commands.push(CustomCommand {
                name: spec.name.clone(),
                key,
                scopes: spec.scopes.clone(),
                run: spec.run.clone(),
                confirm: spec.confirm,
                background: spec.background,
                mutating: spec.mutating,
            });
        }
        if errors.is_empty() {
            Ok(Custom {
                commands,
                runs: BTreeMap::new(),
            })
        } else {
            Err(errors)
        }
    }

    /// The commands bound to `key`.
    pub fn bound_to(&self, key: Key) -> impl Iterator<Item = &CustomCommand> {
        self.commands.iter().filter(move |c| c.key == key)
    }

    /// Keep a new background run, dropping the oldest finished ones beyond
    /// the limit (a run still going is never dropped).
    pub fn keep(&mut self, run: Background) {
        self.runs.insert(run.run.id, run);
        while self.runs.len() > MAX_BACKGROUND_RUNS {
            let Some(oldest) = self
                .runs
                .iter()
                .find(|(_, r)| r.exit.is_some())
                .map(|(id, _)| *id)
            else {
                break;
            };
            self.runs.remove(&oldest);
        }
    }
}

fn shared(a: &[Scope], b: &[Scope]) -> Vec<Scope> {
    a.iter().filter(|s| b.contains(s)).copied().collect()
}

fn names(scopes: &[Scope]) -> String {
    let names: Vec<&str> = scopes.iter().map(|s| s.name()).collect();
    names.join("/")
}

/// The kinds of row a built-in command acts on: an action on the kinds
/// its action applies to, everything else (moving, tabs, help, refresh,
/// why) on every row.
pub fn builtin_scopes(command: Command) -> Vec<Scope> {
    let Some(kind) = command.action_kind() else {
        return match command {
            Command::Logs => vec![Scope::Run],
            _ => Scope::ALL.to_vec(),
        };
    };
    let mut scopes = match kind {
        // Refresh re-reads whatever is selected.
        ActionKind::Refresh | ActionKind::HardRefresh => return Scope::ALL.to_vec(),
        k => match k.target_kind() {
            TargetKind::Run | TargetKind::Pipeline => vec![Scope::Run],
            TargetKind::App => vec![Scope::App, Scope::Repo],
            TargetKind::Model => vec![Scope::Model],
        },
    };
    // A model's rollback moves its alias; a run's suspend pauses its pipeline.
    match kind {
        ActionKind::Rollback => scopes.push(Scope::Model),
        ActionKind::Suspend | ActionKind::Resume => scopes.push(Scope::Run),
        _ => {}
    }
    scopes
}

/// One confirmed run of a custom command: what the event loop starts and
/// the audit log records.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandRun {
    pub id: u64,
    pub name: String,
    pub target: Target,
    /// The exact command line, run by `sh -c`.
    pub line: String,
    pub background: bool,
    pub mutating: bool,
    /// Its target is production (the confirmation asks for its name).
    pub production: bool,
}

/// The read-only gate for custom commands, worded as actions' refusals.
pub fn check_allowed(
    name: &str,
    mutating: bool,
    target: &Target,
    read_only: bool,
) -> Result<(), String> {
    if read_only && mutating {
        return Err(format!(
            "read-only: {name} on {target} refused (mutating = true; read_only = true in the config, or --read-only)"
        ));
    }
    Ok(())
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// It never ran (the shell could not start, read-only…).
    NotStarted(String),
}

impl Exit {
    pub fn from_status(status: std::process::ExitStatus) -> Exit {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::NotStarted("no exit status".into()),
        }
    }

    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }

    /// The audit log's outcome word.
    pub fn word(&self) -> &'static str {
        if self.success() { "done" } else { "failed" }
    }

    /// "exited with status 1", "was killed by signal 15", "could not start: …".
    pub fn describe(&self) -> String {
        match self {
            Exit::Code(code) => format!("exited with status {code}"),
            Exit::Signal(signal) => format!("was killed by signal {signal}"),
            Exit::NotStarted(why) => format!("could not start: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_keys_collide_only_on_the_rows_they_act_on() {
        assert_eq!(builtin_scopes(Command::Rerun), vec![Scope::Run]);
        assert_eq!(builtin_scopes(Command::Sync), vec![Scope::App, Scope::Repo]);
        assert_eq!(
            builtin_scopes(Command::Rollback),
            vec![Scope::App, Scope::Repo, Scope::Model]
        );
        assert_eq!(builtin_scopes(Command::Down), Scope::ALL.to_vec());
        assert_eq!(builtin_scopes(Command::Refresh), Scope::ALL.to_vec());
    }

    #[test]
    fn exits_in_words() {
        assert_eq!(Exit::Code(3).describe(), "exited with status 3");
        assert_eq!(Exit::Signal(9).describe(), "was killed by signal 9");
        assert!(Exit::Code(0).success() && !Exit::Signal(2).success());
    }
}
