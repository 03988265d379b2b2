//! Terminal setup and restore: raw mode and the alternate screen on the way
//! in, and always restored on the way out — on quit, on panic, on signals.

use std::io::{self, IsTerminal, Stdout, Write};
use std::path::Path;
use std::sync::Mutex;

use crossterm::clipboard::CopyToClipboard;
use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Both ends of the dashboard's I/O are a terminal.
pub fn is_interactive() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// Restore the terminal before the panic message is printed, then let the
/// previous hook (color-eyre's) print it. Install before touching the terminal.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = restore();
        previous(info);
    }));
}

/// Enter raw mode and the alternate screen.
pub fn enter() -> io::Result<Term> {
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, Hide) {
        let _ = disable_raw_mode();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(stdout))
}

/// Enter raw mode and the alternate screen again, cleared, after
/// `restore` (a custom command had the terminal).
pub fn resume() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        Clear(ClearType::All),
        Hide
    )
}

/// Leave the alternate screen and raw mode. Safe to call more than once.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    let screen = execute!(io::stdout(), LeaveAlternateScreen, Show);
    raw.and(screen)
}

/// Write a notification (BEL, OSC 9/777) straight to the terminal: it
/// moves no cursor and draws nothing, so the screen stays as drawn.
pub fn notify(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout();
    stdout.write_all(bytes)?;
    stdout.flush()
}

/// Copy through the terminal (OSC 52): works over SSH and in tmux.
pub fn copy_to_clipboard(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout();
    execute!(stdout, CopyToClipboard::to_clipboard_from(text.as_bytes()))?;
    stdout.flush()
}

/// Send tracing output to a file (never the screen), filtered by `OPSDECK_LOG`.
pub fn init_logging(dir: &Path) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("opsdeck=info"));
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("opsdeck.log"))
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
