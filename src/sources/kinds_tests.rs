//! The descriptor table's own checks: one entry a kind, every example
//! parses and builds, the starter config, `--help`.

use std::path::Path;

use super::*;

/// A kind's example with its `[[source]]` uncommented (options written
/// as `# # key` stay comments).
fn uncommented(example: &str) -> String {
    let mut on = false;
    let mut text = String::new();
    for line in example.lines() {
        on |= line.ends_with("[[source]]");
        let line = if on {
            line.strip_prefix("# ")
                .unwrap_or(line.trim_start_matches('#'))
        } else {
            line
        };
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[test]
fn every_kind_has_exactly_one_entry() {
    let mut names = names();
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "a kind is listed twice");
    for name in names {
        assert_eq!(find(name).map(|d| d.kind), Some(name));
    }
    assert!(find("jenkinz").is_none());
}

#[test]
fn the_unknown_kind_error_lists_every_kind_in_table_order() {
    let text = "[[source]]\nname = \"x\"\nkind = \"jenkinz\"\n";
    let errors = config::parse(text, Path::new("x.toml")).expect_err("unknown kind");
    assert_eq!(
        errors.to_string(),
        format!(
            "x.toml:3:8: unknown source kind `jenkinz` (expected one of: {})",
            names().join(", ")
        )
    );
    assert!(names().starts_with(&["demo", "git", "argocd"]));
}

#[test]
fn the_starter_config_parses_and_mentions_every_kind() {
    let text = starter_config();
    assert!(text.starts_with(config::STARTER_HEADER));
    assert_eq!(*config::STARTER_CONFIG, text);
    let parsed = config::parse(&text, Path::new("starter.toml")).expect("starter parses");
    assert_eq!(parsed.sources.len(), 1, "only the demo is on by default");
    for kind in KINDS {
        assert!(
            text.contains(&format!("kind = \"{}\"", kind.kind)),
            "{} missing",
            kind.kind
        );
    }
}

#[test]
fn each_example_uncommented_is_a_source_of_its_kind_that_builds() {
    for kind in KINDS {
        let text = uncommented(kind.starter);
        let parsed = config::parse(&text, Path::new("example.toml"))
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", kind.kind));
        assert_eq!(parsed.sources.len(), 1, "{text}");
        let source = &parsed.sources[0];
        assert_eq!(source.kind.name(), kind.kind);
        let built = super::super::build(source, Duration::from_secs(30));
        assert_eq!(built.kind(), kind.kind);
        assert_eq!(built.provides(), kind.provides);
    }
}

#[test]
fn every_valid_fixture_builds_through_the_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid");
    let mut built = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("fixture");
        let parsed = config::parse(&text, &path).expect("valid fixture");
        for source in &parsed.sources {
            let descriptor = find(source.kind.name()).expect("kind in the table");
            assert!((descriptor.build)(source, Duration::from_secs(30)).is_some());
            built += 1;
        }
    }
    assert!(built >= 10, "fixtures missing");
}

#[test]
fn the_demo_does_everything_but_what_needs_a_real_controller() {
    use strum::IntoEnumIterator;
    let refused: Vec<ActionKind> = ActionKind::iter()
        .filter(|k| !DEMO.actions.contains(k))
        .collect();
    assert_eq!(
        refused,
        [
            ActionKind::Reconcile,
            ActionKind::ReconcileWithSource,
            ActionKind::Terminate,
            ActionKind::DisableAutoSync,
            ActionKind::CheckDrift,
            ActionKind::Apply,
            ActionKind::Discard,
            ActionKind::Lock,
            ActionKind::Unlock,
            ActionKind::Approve,
            ActionKind::ApproveLive,
            // Asked for, never carried out as such: planned as a new
            // run and an alias move, which the demo does.
            ActionKind::Retrain,
            ActionKind::Promote,
        ]
    );
}

#[test]
fn help_lists_every_kind_with_its_tabs() {
    let help = help();
    for kind in KINDS {
        assert!(help.contains(kind.kind), "{help}");
    }
    assert!(help.contains("pipelines, gitops, drift"), "{help}");
}
