//! The config parser, fed mutated real configs and arbitrary bytes: it
//! never panics, and every error it gives names the file and says what is
//! wrong.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

fn valid_fixtures() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid");
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("the valid fixtures folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a fixture is text");
            (p, text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no valid fixtures in {}", dir.display());
    files
}

/// One edit of a config's text.
#[derive(Clone, Debug)]
enum Edit {
    /// Delete the characters in `at..at+len` (positions scaled to the text).
    Delete { at: usize, len: usize },
    /// Insert a piece of TOML-ish syntax at `at`.
    Insert { at: usize, piece: String },
    /// Replace one whole line with another piece.
    ReplaceLine { line: usize, piece: String },
    /// Swap two lines.
    Swap { a: usize, b: usize },
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"".to_string()),
        Just("[[source]]\n".to_string()),
        Just("[".to_string()),
        Just("= ".to_string()),
        Just("\n".to_string()),
        Just("kind = \"nope\"\n".to_string()),
        Just("refresh = \"-1s\"\n".to_string()),
        Just("timeout = \"0s\"\n".to_string()),
        Just("limit = 18446744073709551615\n".to_string()),
        Just("limit = -1\n".to_string()),
        Just("url = \"http://[::1\"\n".to_string()),
        Just("token = { env = \"\" }\n".to_string()),
        Just("token = { command = 1 }\n".to_string()),
        Just("name = \"\"\n".to_string()),
        Just("é€\u{0}\u{feff}".to_string()),
        Just("[keys]\nquit = [\"\"]\n".to_string()),
        "[ -~]{0,24}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), piece()).prop_map(|(at, piece)| Edit::Insert { at, piece }),
        (any::<usize>(), piece()).prop_map(|(line, piece)| Edit::ReplaceLine { line, piece }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap { a, b }),
    ]
}

/// The nearest char boundary at or below `i`.
fn boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut text = text.to_string();
    let n = text.len().max(1);
    match edit {
        Edit::Delete { at, len } => {
            let start = boundary(&text, at % n);
            let end = boundary(&text, start + len);
            text.replace_range(start..end, "");
        }
        Edit::Insert { at, piece } => {
            let at = boundary(&text, at % n);
            text.insert_str(at, piece);
        }
        Edit::ReplaceLine { line, piece } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = line % lines.len();
                lines[i] = piece;
            }
            text = lines.join("\n");
        }
        Edit::Swap { a, b } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
            }
            text = lines.join("\n");
        }
    }
    text
}

/// Parse, and check what came back: a config, or errors that each name
/// the file and carry a message.
fn check(text: &str, path: &Path) -> Result<(), TestCaseError> {
    if let Err(errors) = opsdeck::config::parse(text, path) {
        prop_assert!(!errors.0.is_empty(), "an Err with no error in it");
        for e in &errors.0 {
            let shown = e.to_string();
            prop_assert!(!e.message.trim().is_empty(), "an empty message: {shown:?}");
            prop_assert!(
                shown.starts_with(&path.display().to_string()),
                "the error does not name the file: {shown:?}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_configs_never_panic(which in any::<usize>(), edits in proptest::collection::vec(edit(), 1..6)) {
        let fixtures = valid_fixtures();
        let (path, text) = &fixtures[which % fixtures.len()];
        let mutated = edits.iter().fold(text.clone(), |t, e| apply(&t, e));
        check(&mutated, path)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text, Path::new("arbitrary.toml"))?;
    }

    #[test]
    fn arbitrary_bytes_read_as_text_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&String::from_utf8_lossy(&bytes), Path::new("bytes.toml"))?;
    }
}
