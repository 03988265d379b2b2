//! Theme resolution, built-in files and terminal capabilities.

use super::*;

fn located(value: &str, config: &Path) -> Located<String> {
    Located {
        value: value.into(),
        at: Location {
            file: Arc::from(config),
            line: 3,
            column: 9,
        },
    }
}

const CAPS: TermCaps = TermCaps {
    no_color: false,
    colors_256: true,
    unicode: true,
};

#[test]
fn every_builtin_parses_and_sets_every_key() {
    for (name, text) in BUILTIN_FILES {
        let file: ThemeFile = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            file.missing(),
            Vec::<&str>::new(),
            "{name} leaves keys unset"
        );
        assert!(Theme::builtin(name).is_some(), "{name}");
    }
    assert_eq!(Theme::BUILTIN_NAMES.len(), BUILTIN_FILES.len());
    assert!(Theme::builtin("nope").is_none());
}

#[test]
fn basic16_uses_only_the_16_ansi_colours() {
    let theme = Theme::builtin("basic16").expect("basic16");
    for (key, color) in theme.palette.colors() {
        assert!(
            !matches!(color, Color::Rgb(..) | Color::Indexed(_)),
            "basic16 `{key}` is {color:?}"
        );
    }
}

#[test]
fn caps_from_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let caps = TermCaps::from_vars(env(&[("TERM", "xterm-256color"), ("LANG", "en_US.UTF-8")]));
    assert_eq!(
        caps,
        TermCaps {
            no_color: false,
            colors_256: true,
            unicode: true
        }
    );
    let caps = TermCaps::from_vars(env(&[
        ("TERM", "xterm"),
        ("NO_COLOR", "1"),
        ("LC_ALL", "C"),
    ]));
    assert_eq!(
        caps,
        TermCaps {
            no_color: true,
            colors_256: false,
            unicode: false
        }
    );
    let caps = TermCaps::from_vars(env(&[
        ("NO_COLOR", ""),
        ("COLORTERM", "truecolor"),
        ("LC_CTYPE", "C.utf8"),
    ]));
    assert_eq!(
        caps,
        TermCaps {
            no_color: false,
            colors_256: true,
            unicode: true
        }
    );
}

#[test]
fn no_choice_picks_by_colour_depth() {
    assert_eq!(Theme::resolve(None, &CAPS).expect("ok").name, "default");
    let caps16 = TermCaps {
        colors_256: false,
        ..CAPS
    };
    assert_eq!(Theme::resolve(None, &caps16).expect("ok").name, "basic16");
    let plain = TermCaps {
        no_color: true,
        colors_256: false,
        unicode: false,
    };
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
    assert!(
        err.message.contains("unknown theme `solarized`"),
        "{}",
        err.message
    );
    let err =
        Theme::resolve(Some(&located("missing.toml", &config)), &CAPS).expect_err("unreadable");
    assert!(
        err.message.contains("cannot read the theme file"),
        "{}",
        err.message
    );
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

    std::fs::write(
        dir.path().join("bad.toml"),
        "ok = \"green\"\nerror = \"reddish\"\n",
    )
    .expect("write");
    let err = Theme::resolve(Some(&located("bad.toml", &config)), &CAPS).expect_err("bad colour");
    let at = err.at.expect("located");
    assert!(at.file.ends_with("bad.toml"));
    assert_eq!((at.line, at.column), (2, 9));
    assert!(
        err.message.contains("`error`: `reddish` is not a colour"),
        "{}",
        err.message
    );

    std::fs::write(
        dir.path().join("typo.toml"),
        "ok = \"green\"\n\nerorr = \"red\"\n",
    )
    .expect("write");
    let err = Theme::resolve(Some(&located("typo.toml", &config)), &CAPS).expect_err("unknown key");
    let at = err.at.expect("located");
    assert_eq!((at.line, at.column), (3, 1));
    assert!(err.message.contains("erorr"), "{}", err.message);
}
