//! Headless commands: `status`, the action commands, `logs`, `config check`,
//! `init`. They use the same sources, resolver, executor and audit log as
//! the TUI.

mod act;
mod confirm;
mod dispatch;
mod globals;
mod images;
mod logs;
mod read;
mod retrain;
mod setup;
mod status;
mod timeline;
mod watch;

pub use act::{ActionRequest, act};
pub use globals::Globals;
pub use logs::logs;
pub use read::{Read, read_all, read_linked, source_state};
pub use setup::{config_check, init};
pub use status::{StatusFormat, StatusReport, status};
pub use timeline::{TimelineFormat, timeline, why};
pub use watch::{WatchFormat, WatchLine, watch};

use crate::config::{Config, SourceConfig};

/// Exit status: all is well / the action was done.
pub const EXIT_OK: u8 = 0;
/// Something needs attention, or an action was refused, failed or is unknown.
pub const EXIT_ATTENTION: u8 = 1;
/// opsdeck could not do its job: bad config, unreadable source, bad arguments.
pub const EXIT_ERROR: u8 = 2;

fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("opsdeck: {message}");
    EXIT_ERROR
}

/// The dashboard (no subcommand).
pub async fn dashboard(globals: Globals) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let options = crate::tui::TuiOptions {
        read_only: globals.read_only,
        audit_log: globals.audit_path(&config),
        ascii: globals.ascii,
    };
    match crate::tui::run(config, options).await {
        Ok(()) => EXIT_OK,
        Err(e) => fail(e),
    }
}

/// `SOURCE/NAME` on the command line: the configured source and the name.
/// `form` says what was expected, for the message.
fn named_source<'a, 't>(
    config: &'a Config,
    target: &'t str,
    form: &str,
) -> Result<(&'a SourceConfig, &'t str), String> {
    let Some((source_name, id)) = target
        .split_once('/')
        .filter(|(s, i)| !s.is_empty() && !i.is_empty())
    else {
        return Err(format!("`{target}` is not {form}"));
    };
    match config.sources.iter().find(|s| s.name == source_name) {
        Some(source) => Ok((source, id)),
        None => {
            let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
            Err(format!(
                "no source named `{source_name}` (configured: {})",
                names.join(", ")
            ))
        }
    }
}
