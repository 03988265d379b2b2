//! Colour themes (built-in `themes/*.toml` or a user file) and the glyph set
//! (Unicode or ASCII), chosen from what the terminal can show.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::{self, border};
use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, Located, Location};

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
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].iter().find_map(|n| set(n)).unwrap_or_default();
        let locale = locale.to_ascii_lowercase();
        let unicode = locale.contains("utf-8") || locale.contains("utf8");
        TermCaps { no_color, colors_256, unicode }
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
    ("high-contrast", include_str!("../themes/high-contrast.toml")),
    ("basic16", include_str!("../themes/basic16.toml")),
];

/// The glyphs the UI draws with: Unicode, or plain ASCII for terminals
/// without a UTF-8 locale.
#[derive(Debug)]
pub struct Glyphs {
    pub ok: &'static str,
    pub error: &'static str,
    pub warn: &'static str,
    pub unknown: &'static str,
    pub queued: &'static str,
    pub running: &'static str,
    pub cancelled: &'static str,
    pub skipped: &'static str,
    pub loading: &'static str,
    pub out_of_sync: &'static str,
    pub progressing: &'static str,
    pub suspended: &'static str,
    pub missing: &'static str,
    pub arrow: &'static str,
    pub at_least: &'static str,
    pub at_most: &'static str,
    pub higher_worse: &'static str,
    pub lower_worse: &'static str,
    pub ellipsis: &'static str,
    pub separator: &'static str,
    pub none: &'static str,
    pub pointer: &'static str,
    pub cursor: &'static str,
    pub rule: &'static str,
    pub spinner: &'static [&'static str],
    /// Sparkline levels, lowest first.
    pub spark: &'static [char],
    pub border: border::Set<'static>,
    pub chart_marker: symbols::Marker,
}

pub const UNICODE_GLYPHS: Glyphs = Glyphs {
    ok: "✓",
    error: "✗",
    warn: "▲",
    unknown: "?",
    queued: "○",
    running: "▶",
    cancelled: "⊘",
    skipped: "↷",
    loading: "⟳",
    out_of_sync: "≠",
    progressing: "⟳",
    suspended: "‖",
    missing: "∅",
    arrow: "→",
    at_least: "≥",
    at_most: "≤",
    higher_worse: "↑",
    lower_worse: "↓",
    ellipsis: "…",
    separator: "·",
    none: "—",
    pointer: "▶",
    cursor: "▏",
    rule: "─",
    spinner: &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"],
    spark: &['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'],
    border: border::ROUNDED,
    chart_marker: symbols::Marker::Braille,
};

pub const ASCII_GLYPHS: Glyphs = Glyphs {
    ok: "+",
    error: "x",
    warn: "!",
    unknown: "?",
    queued: "o",
    running: ">",
    cancelled: "/",
    skipped: "-",
    loading: "~",
    out_of_sync: "#",
    progressing: "~",
    suspended: "=",
    missing: "0",
    arrow: "->",
    at_least: ">=",
    at_most: "<=",
    higher_worse: "^",
    lower_worse: "v",
    ellipsis: "~",
    separator: "|",
    none: "-",
    pointer: ">",
    cursor: "_",
    rule: "-",
    spinner: &["|", "/", "-", "\\"],
    spark: &['_', '.', '-', '=', '#'],
    border: border::Set {
        top_left: "+",
        top_right: "+",
        bottom_left: "+",
        bottom_right: "+",
        vertical_left: "|",
        vertical_right: "|",
        horizontal_top: "-",
        horizontal_bottom: "-",
    },
    chart_marker: symbols::Marker::Custom('*'),
};

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
    pub fn resolve(choice: Option<&Located<String>>, caps: &TermCaps) -> Result<Theme, ConfigError> {
        let mut theme = match choice {
            None if caps.colors_256 => Theme::builtin("default"),
            None => Theme::builtin("basic16"),
            Some(choice) => Some(Theme::from_choice(choice)?),
        }
        .ok_or_else(|| ConfigError::without_location("the built-in themes failed to load (a bug in opsdeck)"))?;
        theme.no_color = caps.no_color;
        theme.ascii = !caps.unicode;
        Ok(theme)
    }

    /// A built-in theme by name, with colour and Unicode on.
    pub fn builtin(name: &str) -> Option<Theme> {
        let mut palette = builtin_palette("default")?;
        if name != "default" {
            let text = BUILTIN_FILES.iter().find(|(n, _)| *n == name)?.1;
            toml::from_str::<ThemeFile>(text).ok()?.apply(&mut palette).ok()?;
        }
        Some(Theme { name: name.to_string(), palette, ascii: false, no_color: false })
    }

    fn from_choice(choice: &Located<String>) -> Result<Theme, ConfigError> {
        let value = choice.value.trim();
        if let Some(theme) = Theme::builtin(value) {
            return Ok(theme);
        }
        let looks_like_path = value.contains('/') || value.contains('\\') || value.ends_with(".toml");
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
            ConfigError::at(&choice.at, format!("cannot read the theme file {}: {e}", path.display()))
        })?;
        let file: Arc<Path> = Arc::from(path.as_path());
        let at = |offset: usize| Location { file: file.clone(), line: 0, column: 0 }.with_offset(&text, offset);
        let parsed: ThemeFile = toml::from_str(&text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            ConfigError::at(&at(offset), format!("{} (theme keys: {})", e.message().trim(), PALETTE_KEYS.join(", ")))
        })?;
        let mut palette = builtin_palette("default")
            .ok_or_else(|| ConfigError::without_location("the built-in default theme failed to load"))?;
        parsed.apply(&mut palette).map_err(|(span, message)| ConfigError::at(&at(span.start), message))?;
        let name = path.file_stem().map_or_else(|| value.to_string(), |s| s.to_string_lossy().into_owned());
        Ok(Theme { name, palette, ascii: false, no_color: false })
    }

    /// The glyph set in use.
    pub fn glyphs(&self) -> &'static Glyphs {
        if self.ascii { &ASCII_GLYPHS } else { &UNICODE_GLYPHS }
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
        Style::new().fg(self.color(self.palette.fg)).bg(self.color(self.palette.bg))
    }
    pub fn popup(&self) -> Style {
        Style::new().fg(self.color(self.palette.fg)).bg(self.color(self.palette.popup_bg))
    }
    pub fn muted(&self) -> Style {
        self.fg(self.palette.muted).add_modifier(self.without_color(Modifier::DIM))
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
        self.fg(self.palette.error).add_modifier(self.without_color(Modifier::BOLD))
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
        self.fg(self.palette.production).add_modifier(Modifier::BOLD)
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
    toml::from_str::<ThemeFile>(text).ok()?.apply(&mut palette).ok()?;
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
mod tests {
    use super::*;

    fn located(value: &str, config: &Path) -> Located<String> {
        Located { value: value.into(), at: Location { file: Arc::from(config), line: 3, column: 9 } }
    }

    const CAPS: TermCaps = TermCaps { no_color: false, colors_256: true, unicode: true };

    #[test]
    fn every_builtin_parses_and_sets_every_key() {
        for (name, text) in BUILTIN_FILES {
            let file: ThemeFile = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(file.missing(), Vec::<&str>::new(), "{name} leaves keys unset");
            assert!(Theme::builtin(name).is_some(), "{name}");
        }
        assert_eq!(Theme::BUILTIN_NAMES.len(), BUILTIN_FILES.len());
        assert!(Theme::builtin("nope").is_none());
    }

    #[test]
    fn basic16_uses_only_the_16_ansi_colours() {
        let theme = Theme::builtin("basic16").expect("basic16");
        for (key, color) in theme.palette.colors() {
            assert!(!matches!(color, Color::Rgb(..) | Color::Indexed(_)), "basic16 `{key}` is {color:?}");
        }
    }

    #[test]
    fn caps_from_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let caps = TermCaps::from_vars(env(&[("TERM", "xterm-256color"), ("LANG", "en_US.UTF-8")]));
        assert_eq!(caps, TermCaps { no_color: false, colors_256: true, unicode: true });
        let caps = TermCaps::from_vars(env(&[("TERM", "xterm"), ("NO_COLOR", "1"), ("LC_ALL", "C")]));
        assert_eq!(caps, TermCaps { no_color: true, colors_256: false, unicode: false });
        let caps = TermCaps::from_vars(env(&[("NO_COLOR", ""), ("COLORTERM", "truecolor"), ("LC_CTYPE", "C.utf8")]));
        assert_eq!(caps, TermCaps { no_color: false, colors_256: true, unicode: true });
    }

    #[test]
    fn no_choice_picks_by_colour_depth() {
        assert_eq!(Theme::resolve(None, &CAPS).expect("ok").name, "default");
        let caps16 = TermCaps { colors_256: false, ..CAPS };
        assert_eq!(Theme::resolve(None, &caps16).expect("ok").name, "basic16");
        let plain = TermCaps { no_color: true, colors_256: false, unicode: false };
        let theme = Theme::resolve(None, &plain).expect("ok");
        assert!(theme.no_color && theme.ascii);
        assert_eq!(theme.ok().fg, Some(Color::Reset));
        assert!(theme.selected().add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn unknown_name_is_an_error_at_the_theme_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config.toml");
        let err = Theme::resolve(Some(&located("solarized", &config)), &CAPS).expect_err("unknown");
        assert_eq!(err.at.as_ref().map(|a| (a.line, a.column)), Some((3, 9)));
        assert!(err.message.contains("unknown theme `solarized`"), "{}", err.message);
        let err = Theme::resolve(Some(&located("missing.toml", &config)), &CAPS).expect_err("unreadable");
        assert!(err.message.contains("cannot read the theme file"), "{}", err.message);
    }

    #[test]
    fn user_file_overrides_only_its_keys_and_reports_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config.toml");
        std::fs::write(dir.path().join("mine.toml"), "# mine\nok = \"#00ff00\"\n").expect("write");
        let theme = Theme::resolve(Some(&located("mine.toml", &config)), &CAPS).expect("ok");
        let default = Theme::builtin("default").expect("default");
        assert_eq!(theme.palette.ok, Color::Rgb(0, 255, 0));
        assert_eq!(theme.palette.error, default.palette.error);

        std::fs::write(dir.path().join("bad.toml"), "ok = \"green\"\nerror = \"reddish\"\n").expect("write");
        let err = Theme::resolve(Some(&located("bad.toml", &config)), &CAPS).expect_err("bad colour");
        let at = err.at.expect("located");
        assert!(at.file.ends_with("bad.toml"));
        assert_eq!((at.line, at.column), (2, 9));
        assert!(err.message.contains("`error`: `reddish` is not a colour"), "{}", err.message);

        std::fs::write(dir.path().join("typo.toml"), "ok = \"green\"\n\nerorr = \"red\"\n").expect("write");
        let err = Theme::resolve(Some(&located("typo.toml", &config)), &CAPS).expect_err("unknown key");
        let at = err.at.expect("located");
        assert_eq!((at.line, at.column), (3, 1));
        assert!(err.message.contains("erorr"), "{}", err.message);
    }
}
