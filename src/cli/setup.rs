//! Setting opsdeck up: `opsdeck init` writes the starter config, `opsdeck
//! config check` reports every error of one.

use std::io::Write;
use std::path::PathBuf;

use super::{EXIT_ERROR, EXIT_OK, Globals, fail};
use crate::app::custom::Custom;
use crate::app::keymap::Keymap;
use crate::config::{self, ConfigErrors};
use crate::theme::{TermCaps, Theme};

/// `opsdeck config check`: every error of the file, each as file:line:column: message.
pub fn config_check(globals: Globals) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let mut errors = Vec::new();
    match Keymap::from_config(&config.keys) {
        Ok(keymap) => {
            if let Err(e) = Custom::from_config(&config.commands, &keymap) {
                errors.extend(e);
            }
        }
        Err(e) => errors.extend(e),
    }
    if let Err(e) = Theme::resolve(config.theme.as_ref(), &TermCaps::from_env()) {
        errors.push(e);
    }
    let name = config
        .path
        .as_ref()
        .map_or("the demo config".into(), |p| p.display().to_string());
    if errors.is_empty() {
        println!(
            "{name}: ok ({} source{})",
            config.sources.len(),
            if config.sources.len() == 1 { "" } else { "s" }
        );
        EXIT_OK
    } else {
        eprintln!("{}", ConfigErrors(errors));
        EXIT_ERROR
    }
}

/// `opsdeck init`: write the starter config, never over an existing file.
pub fn init(path: Option<PathBuf>) -> u8 {
    let Some(path) = path.or_else(config::default_path) else {
        return fail("cannot tell where the config directory is: pass --path");
    };
    if let Some(dir) = path.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return fail(format!("cannot create {}: {e}", dir.display()));
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    match file {
        Ok(mut f) => match f.write_all(config::STARTER_CONFIG.as_bytes()) {
            Ok(()) => {
                println!(
                    "wrote {}\nedit it, then check it with: opsdeck config check",
                    path.display()
                );
                EXIT_OK
            }
            Err(e) => fail(format!("cannot write {}: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fail(format!(
            "{} already exists; opsdeck init never overwrites a config",
            path.display()
        )),
        Err(e) => fail(format!("cannot create {}: {e}", path.display())),
    }
}
