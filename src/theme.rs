//! Colour themes (built-in `themes/*.toml` or a user file) and the glyph set
//! (Unicode or ASCII), chosen from what the terminal can show.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, Located, Location};

mod glyphs;

pub use glyphs::{ASCII_GLYPHS, Glyphs, UNICODE_GLYPHS};

/// What the terminal can show, read from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermCaps {
    /// `NO_COLOR` is set (and not empty): no colour at all.
    pub no_color: bool,
    /// 256 colours or more (else the 16-colour theme is the default).
    pub colors_256: bool,
    /// The locale is UTF-8 (else ASCII glyphs).
    pub unicode: bool,
}

impl TermCaps {
    pub fn from_env() -> TermCaps {
        TermCaps::from_vars(|name| std::env::var(name).ok())
    }

    /// The same rules over any variable lookup (for tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> TermCaps {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let no_color = set("NO_COLOR").is_some();
        let colorterm = set("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        let term = set("TERM").unwrap_or_default().to_ascii_lowercase();
        let colors_256 = colorterm.contains("truecolor")
            || colorterm.contains("24bit")
            || term.contains("256color")
            || term.contains("direct");
        // The first set of these is the effective locale, as libc decides.
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|n| set(n))
            .unwrap_or_default();
        let locale = locale.to_ascii_lowercase();
        let unicode = locale.contains("utf-8") || locale.contains("utf8");
        TermCaps {
            no_color,
            colors_256,
            unicode,
        }
    }
}

/// Defines the palette's keys once: the struct, the TOML file shape and the
/// key list all come from this table.
macro_rules! palette {
    ($($key:ident: $doc:literal),* $(,)?) => {
        /// Every colour a theme sets.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Palette {
            $(#[doc = $doc] pub $key: Color,)*
        }

        /// A theme file: any subset of the palette's keys.
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            $($key: Option<Spanned<String>>,)*
        }

        impl ThemeFile {
            /// Sets the keys this file names on top of `base`.
            fn apply(self, base: &mut Palette) -> Result<(), (Range<usize>, String)> {
                $(if let Some(value) = self.$key {
                    base.$key = parse_color(stringify!($key), &value)?;
                })*
                Ok(())
            }

            /// Keys this file does not set.
            #[cfg(test)]
            fn missing(&self) -> Vec<&'static str> {
                let mut missing = Vec::new();
                $(if self.$key.is_none() { missing.push(stringify!($key)); })*
                missing
            }
        }

        /// Every key a theme file may set.
        pub const PALETTE_KEYS: &[&str] = &[$(stringify!($key)),*];

        impl Palette {
            /// Every colour, with its key (for checks over a whole theme).
            pub fn colors(&self) -> Vec<(&'static str, Color)> {
                vec![$((stringify!($key), self.$key)),*]
            }
        }
    };
}

palette! {
    fg: "Ordinary text.",
    bg: "Screen background.",
    popup_bg: "Background of dialogs and overlays.",
    muted: "Secondary text: ages, ids, hints.",
    accent: "The active filter, links, highlights in text.",
    border: "Pane and dialog borders.",
    title: "Pane titles.",
    header: "Table headers and section headings.",
    selected_fg: "Text of the selected row.",
    selected_bg: "Background of the selected row.",
    ok: "Healthy, synced, succeeded.",
    warn: "Needs a look: warning thresholds, progressing, queued.",
    error: "Failed, degraded, drifting.",
    info: "Neutral news: running, informational status lines.",
    tab_active_fg: "Text of the active tab.",
    tab_active_bg: "Background of the active tab.",
    tab_inactive: "The other tabs.",
    badge_fg: "Text of the READ-ONLY badge.",
    badge_bg: "Background of the READ-ONLY badge.",
    production: "The PRODUCTION label of a confirmation.",
    key: "Key names in hints and help.",
    chart: "A metric's series in charts and sparklines.",
}

fn parse_color(key: &str, value: &Spanned<String>) -> Result<Color, (Range<usize>, String)> {
    Color::from_str(value.get_ref().trim()).map_err(|_| {
        (
            value.span(),
            format!(
                "`{key}`: `{}` is not a colour (expected a name such as red or lightblue, \"#rrggbb\", an index \"0\"–\"255\", or \"reset\")",
                value.get_ref()
            ),
        )
    })
}

const BUILTIN_FILES: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("basic16", include_str!("../themes/basic16.toml")),
];

/// A resolved theme: colours, and whether to draw without colour or Unicode.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub palette: Palette,
    /// Draw with ASCII glyphs and borders only.
    pub ascii: bool,
    /// Every colour becomes the terminal's own; modifiers stay.
    pub no_color: bool,
}

impl Theme {
    pub const BUILTIN_NAMES: &[&str] = &["default", "light", "high-contrast", "basic16"];

    /// `choice` None → "default", or "basic16" when the terminal lacks 256
    /// colours. Else a built-in name, or a path to a theme file whose keys
    /// override "default". Errors point at the config's `theme` key, or at
    /// the line and column inside the theme file.
    pub fn resolve(
        choice: Option<&Located<String>>,
        caps: &TermCaps,
    ) -> Result<Theme, ConfigError> {
        let mut theme = match choice {
            None if caps.colors_256 => Theme::builtin("default"),
            None => Theme::builtin("basic16"),
            Some(choice) => Some(Theme::from_choice(choice)?),
        }
        .ok_or_else(|| {
            ConfigError::without_location("the built-in themes failed to load (a bug in opsdeck)")
        })?;
        theme.no_color = caps.no_color;
        theme.ascii = !caps.unicode;
        Ok(theme)
    }

    /// A built-in theme by name, with colour and Unicode on.
    pub fn builtin(name: &str) -> Option<Theme> {
        let mut palette = builtin_palette("default")?;
        if name != "default" {
            let text = BUILTIN_FILES.iter().find(|(n, _)| *n == name)?.1;
            toml::from_str::<ThemeFile>(text)
                .ok()?
                .apply(&mut palette)
                .ok()?;
        }
        Some(Theme {
            name: name.to_string(),
            palette,
            ascii: false,
            no_color: false,
        })
    }

    fn from_choice(choice: &Located<String>) -> Result<Theme, ConfigError> {
        let value = choice.value.trim();
        if let Some(theme) = Theme::builtin(value) {
            return Ok(theme);
        }
        let looks_like_path =
            value.contains('/') || value.contains('\\') || value.ends_with(".toml");
        let path = theme_path(value, &choice.at.file);
        if !looks_like_path && !path.exists() {
            return Err(ConfigError::at(
                &choice.at,
                format!(
                    "unknown theme `{value}` (expected one of: {}, or a path to a theme .toml file)",
                    Theme::BUILTIN_NAMES.join(", ")
                ),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::at(
                &choice.at,
                format!("cannot read the theme file {}: {e}", path.display()),
            )
        })?;
        let file: Arc<Path> = Arc::from(path.as_path());
        let at = |offset: usize| {
            Location {
                file: file.clone(),
                line: 0,
                column: 0,
            }
            .with_offset(&text, offset)
        };
        let parsed: ThemeFile = toml::from_str(&text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ConfigError::at(
                &at(offset),
                format!(
                    "{} (theme keys: {})",
                    e.message().trim(),
                    PALETTE_KEYS.join(", ")
                ),
            )
        })?;
        let mut palette = builtin_palette("default").ok_or_else(|| {
            ConfigError::without_location("the built-in default theme failed to load")
        })?;
        parsed
            .apply(&mut palette)
            .map_err(|(span, message)| ConfigError::at(&at(span.start), message))?;
        let name = path
            .file_stem()
            .map_or_else(|| value.to_string(), |s| s.to_string_lossy().into_owned());
        Ok(Theme {
            name,
            palette,
            ascii: false,
            no_color: false,
        })
    }

    /// The glyph set in use.
    pub fn glyphs(&self) -> &'static Glyphs {
        if self.ascii {
            &ASCII_GLYPHS
        } else {
            &UNICODE_GLYPHS
        }
    }

    /// The spinner frame for tick `n`.
    pub fn spinner(&self, n: usize) -> &'static str {
        let frames = self.glyphs().spinner;
        frames.get(n % frames.len().max(1)).copied().unwrap_or("*")
    }

    fn color(&self, c: Color) -> Color {
        if self.no_color { Color::Reset } else { c }
    }

    fn fg(&self, c: Color) -> Style {
        Style::new().fg(self.color(c))
    }

    /// Modifiers that stand in for a background colour when there is none.
    fn without_color(&self, m: Modifier) -> Modifier {
        if self.no_color { m } else { Modifier::empty() }
    }

    pub fn base(&self) -> Style {
        Style::new()
            .fg(self.color(self.palette.fg))
            .bg(self.color(self.palette.bg))
    }
    pub fn popup(&self) -> Style {
        Style::new()
            .fg(self.color(self.palette.fg))
            .bg(self.color(self.palette.popup_bg))
    }
    pub fn muted(&self) -> Style {
        self.fg(self.palette.muted)
            .add_modifier(self.without_color(Modifier::DIM))
    }
    pub fn accent(&self) -> Style {
        self.fg(self.palette.accent)
    }
    pub fn border(&self) -> Style {
        self.fg(self.palette.border)
    }
    pub fn title(&self) -> Style {
        self.fg(self.palette.title).add_modifier(Modifier::BOLD)
    }
    pub fn header(&self) -> Style {
        self.fg(self.palette.header).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new()
            .fg(self.color(self.palette.selected_fg))
            .bg(self.color(self.palette.selected_bg))
            .add_modifier(Modifier::BOLD | self.without_color(Modifier::REVERSED))
    }
    pub fn ok(&self) -> Style {
        self.fg(self.palette.ok)
    }
    pub fn warn(&self) -> Style {
        self.fg(self.palette.warn)
    }
    pub fn error(&self) -> Style {
        self.fg(self.palette.error)
            .add_modifier(self.without_color(Modifier::BOLD))
    }
    pub fn info(&self) -> Style {
        self.fg(self.palette.info)
    }
    pub fn tab_active(&self) -> Style {
        Style::new()
            .fg(self.color(self.palette.tab_active_fg))
            .bg(self.color(self.palette.tab_active_bg))
            .add_modifier(Modifier::BOLD | self.without_color(Modifier::REVERSED))
    }
    pub fn tab_inactive(&self) -> Style {
        self.fg(self.palette.tab_inactive)
    }
    pub fn badge(&self) -> Style {
        Style::new()
            .fg(self.color(self.palette.badge_fg))
            .bg(self.color(self.palette.badge_bg))
            .add_modifier(Modifier::BOLD | self.without_color(Modifier::REVERSED))
    }
    pub fn production(&self) -> Style {
        self.fg(self.palette.production)
            .add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg(self.palette.key).add_modifier(Modifier::BOLD)
    }
    pub fn chart(&self) -> Style {
        self.fg(self.palette.chart)
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin("default").unwrap_or(Theme {
            name: "default".into(),
            palette: FALLBACK_PALETTE,
            ascii: false,
            no_color: false,
        })
    }
}

/// Only used if the compiled-in default file were broken (a unit test
/// guards against that): everything in the terminal's own colours.
const FALLBACK_PALETTE: Palette = Palette {
    fg: Color::Reset,
    bg: Color::Reset,
    popup_bg: Color::Reset,
    muted: Color::Reset,
    accent: Color::Reset,
    border: Color::Reset,
    title: Color::Reset,
    header: Color::Reset,
    selected_fg: Color::Reset,
    selected_bg: Color::Reset,
    ok: Color::Reset,
    warn: Color::Reset,
    error: Color::Reset,
    info: Color::Reset,
    tab_active_fg: Color::Reset,
    tab_active_bg: Color::Reset,
    tab_inactive: Color::Reset,
    badge_fg: Color::Reset,
    badge_bg: Color::Reset,
    production: Color::Reset,
    key: Color::Reset,
    chart: Color::Reset,
};

fn builtin_palette(name: &str) -> Option<Palette> {
    let text = BUILTIN_FILES.iter().find(|(n, _)| *n == name)?.1;
    let mut palette = FALLBACK_PALETTE;
    toml::from_str::<ThemeFile>(text)
        .ok()?
        .apply(&mut palette)
        .ok()?;
    Some(palette)
}

/// A theme path as written in the config: `~` expanded, relative paths taken
/// from the config file's directory.
fn theme_path(value: &str, config_file: &Path) -> PathBuf {
    let path = crate::config::expand_home(Path::new(value));
    if path.is_relative() {
        if let Some(dir) = config_file.parent() {
            return dir.join(path);
        }
    }
    path
}

trait WithOffset {
    fn with_offset(self, text: &str, offset: usize) -> Self;
}

impl WithOffset for Location {
    /// 1-based line and column (in characters) of a byte offset in `text`.
    fn with_offset(mut self, text: &str, offset: usize) -> Self {
        let before = text.get(..offset.min(text.len())).unwrap_or(text);
        self.line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        self.column = before[line_start..].chars().count() + 1;
        self
    }
}

#[cfg(test)]
mod tests;
