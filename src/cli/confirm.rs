//! The headless confirmation: y/N on a terminal, a production target's name
//! typed; no terminal, no action (unless `--yes`).

use std::io::{BufRead, IsTerminal, Write};

/// Ask on the terminal; refuse without one.
pub(super) fn confirm(action: &crate::model::Action) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err(
            "refusing to act without confirmation: stdin is not a terminal (pass --yes to confirm)"
                .into(),
        );
    }
    let stdin = std::io::stdin();
    let mut line = String::new();
    if action.production {
        print!(
            "{} is production. Type its name to confirm: ",
            action.target
        );
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\n', '\r']) == action.target.id)
    } else {
        print!("proceed? [y/N] ");
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(matches!(line.trim(), "y" | "Y" | "yes"))
    }
}
