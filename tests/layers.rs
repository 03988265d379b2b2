//! The layering rule, checked on every `cargo test`: the domain model, the
//! config and the sources sit below the app, the UI, the CLI and the
//! terminal loop, so no path in them may reach up into those. What both
//! layers need lives in `src/model/`.

use std::path::{Path, PathBuf};

/// Folders under src/ that form the lower layers.
const LOWER: &[&str] = &["model", "config", "sources"];
/// Top-level modules the lower layers must not name.
const UPPER: &[&str] = &["app", "ui", "cli", "tui"];

#[test]
fn lower_layers_import_nothing_from_the_upper_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in LOWER {
        rust_files(&src.join(dir), &mut files);
    }
    assert!(
        files.len() > 10,
        "found only {} .rs files under src/{{{}}}: is the scan looking in the right place?",
        files.len(),
        LOWER.join(",")
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let module = module_path(&src, file);
        for (line, path) in upward_paths(&text, &module) {
            let shown = file
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap_or(file);
            found.push(format!("{}:{line}: {path}", shown.display()));
        }
    }
    assert!(
        found.is_empty(),
        "src/{{model,config,sources}} must not import from crate::{{app,ui,cli,tui}}; \
         move what both need into src/model/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_every_spelling_of_an_upward_path() {
    let module = ["sources".to_string(), "git".to_string()];
    let text = "use crate::app::audit;\n\
                use crate::{model::Action,\n    ui::draw};\n\
                let x = super::super::tui::run();\n\
                use crate :: cli;\n\
                // crate::app in a comment is fine\n\
                use crate::model::app_detail;\n\
                use super::http;\n";
    let lines: Vec<usize> = upward_paths(text, &module)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(lines, vec![1, 3, 4, 5]);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file defines, as names from the crate root
/// (`src/sources/git/mod.rs` → sources, git).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("file under src/");
    let mut names: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if names.last().is_some_and(|n| n == "mod") {
        names.pop();
    }
    names
}

/// Every `crate::…` or `super::…` path in `text` that resolves to an upper
/// module: (1-based line, the path's first names).
fn upward_paths(text: &str, module: &[String]) -> Vec<(usize, String)> {
    // Comments are not code; cutting at `//` also cuts URLs in strings,
    // which only drops the rest of that line.
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let word_start = at == 0 || !is_ident(bytes[at - 1]);
        let keyword = ["crate", "super"]
            .into_iter()
            .find(|k| word_start && bytes[at..].starts_with(k.as_bytes()));
        let Some(keyword) = keyword else {
            at += 1;
            continue;
        };
        let mut base: Vec<String> = if keyword == "crate" {
            Vec::new()
        } else {
            module[..module.len().saturating_sub(1)].to_vec()
        };
        let mut rest = &code[at + keyword.len()..];
        at += keyword.len();
        // Further `::super` hops.
        while let Some(after) = separator(rest).and_then(|r| r.strip_prefix("super")) {
            base.pop();
            rest = after;
        }
        let Some(after) = separator(rest) else {
            continue;
        };
        let firsts: Vec<&str> = match after.strip_prefix('{') {
            Some(group) => group_heads(group),
            None => vec![after],
        };
        for first in firsts {
            // Where this item starts, for the line number.
            let offset = code.len() - first.len();
            let first = ident(first).to_string();
            let top = base.first().cloned().unwrap_or(first.clone());
            if UPPER.contains(&top.as_str()) {
                let mut path = base.clone();
                path.push(first);
                let line = code[..offset].matches('\n').count() + 1;
                found.push((line, format!("reaches crate::{}", path.join("::"))));
            }
        }
    }
    found
}

/// The text after a `::` (spaces allowed around it), if it starts with one.
fn separator(text: &str) -> Option<&str> {
    Some(text.trim_start().strip_prefix("::")?.trim_start())
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn ident(text: &str) -> &str {
    let end = text
        .bytes()
        .position(|b| !is_ident(b))
        .unwrap_or(text.len());
    &text[..end]
}

/// Each item of a `{a::b, c, d::{e}}` group (after its `{`), from its
/// first name to the end of the text.
fn group_heads(group: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if c.is_whitespace() => {}
            _ if item_start && depth == 0 => {
                heads.push(&group[i..]);
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}
