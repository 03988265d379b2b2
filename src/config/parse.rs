//! Reading a config file: the top-level keys, `[keys]`, and each
//! `[[source]]` handed to its kind's parser from the descriptor table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Config, ConfigError, ConfigErrors, DEFAULT_REFRESH_INTERVAL, KeyBindingSpec, KindParser,
    LineIndex, Located, SourceConfig, SourceKind, TimelineConfig, expand_home, parse_duration,
};
use crate::sources::kinds;

/// Read and validate a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file: Arc<Path> = Arc::from(path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::in_file(
            &file,
            format!("cannot read the config file: {e}"),
        )])
    })?;
    parse(&text, path)
}

/// Validate config text read from `path`.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let file: Arc<Path> = Arc::from(path);
    let lines = LineIndex::new(text, file.clone());
    let mut errors = Vec::new();
    let root = DeTable::parse(text).map_err(|e| ConfigErrors(vec![lines.toml_error(&e)]))?;
    let root_span = root.span();
    let mut root = root.into_inner();

    let raw_sources = root.remove("source");
    let raw_commands = root.remove("command");
    let top = deserialize_table::<RawTop>(root_span, root).map_err(|e| lines.toml_error(&e));
    let top = match top {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    };

    let mut sources = Vec::new();
    if let Some(raw) = raw_sources {
        match raw.get_ref() {
            DeValue::Array(items) => {
                for item in items {
                    match parse_source(item, &lines) {
                        Ok(s) => sources.push(s),
                        Err(e) => errors.push(e),
                    }
                }
            }
            _ => errors.push(ConfigError::at(
                &lines.at(raw.span().start),
                "`source` must be an array of tables: write each source as [[source]]",
            )),
        }
    }
    let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
    for s in &sources {
        if seen.insert(&s.name, ()).is_some() {
            let at = s.at.clone().unwrap_or_else(|| lines.at(0));
            errors.push(ConfigError::at(
                &at,
                format!("duplicate source name `{}`: names must be unique", s.name),
            ));
        }
        if s.name.is_empty() || s.name.contains('/') || s.name.chars().any(char::is_whitespace) {
            let at = s.at.clone().unwrap_or_else(|| lines.at(0));
            errors.push(ConfigError::at(
                &at,
                format!(
                    "source name `{}` must be non-empty, without spaces or `/`",
                    s.name
                ),
            ));
        }
    }

    let Some(top) = top else {
        return Err(ConfigErrors(errors));
    };
    let refresh = match &top.refresh {
        Some(r) => match parse_duration(r.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                errors.push(ConfigError::at(
                    &lines.at(r.span().start),
                    format!("refresh: {e}"),
                ));
                DEFAULT_REFRESH_INTERVAL
            }
        },
        None => DEFAULT_REFRESH_INTERVAL,
    };
    let keys = top
        .keys
        .map(|k| {
            k.into_iter()
                .map(|(name, keys)| key_spec(name, keys, &lines, &mut errors))
                .collect()
        })
        .unwrap_or_default();
    let notify = super::notify::parse(top.notify, top.notify_min, &lines, &mut errors);
    let timeline = timeline_table(top.timeline.as_ref(), &lines, &mut errors);
    for s in &mut sources {
        s.kind.follow_timeline(&timeline);
    }
    let commands = super::command::parse_all(raw_commands, &lines, &mut errors);
    check_links(&sources, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Config {
        timeline,
        path: Some(path.to_path_buf()),
        theme: top.theme.map(|t| Located {
            at: lines.at(t.span().start),
            value: t.into_inner(),
        }),
        read_only: top.read_only.unwrap_or(false),
        refresh,
        audit_log: top.audit_log.map(|p| expand_home(&p)),
        ascii: top.ascii,
        keys,
        sources,
        notify,
        commands,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTop {
    theme: Option<Spanned<String>>,
    read_only: Option<bool>,
    refresh: Option<Spanned<String>>,
    audit_log: Option<PathBuf>,
    ascii: Option<bool>,
    keys: Option<BTreeMap<Spanned<String>, Spanned<RawKeys>>>,
    notify: Option<Vec<Spanned<String>>>,
    notify_min: Option<Spanned<String>>,
    timeline: Option<RawTimeline>,
    #[allow(dead_code)] // removed before deserializing; declared so it is not "unknown"
    source: Option<IgnoredAny>,
    #[allow(dead_code)] // removed before deserializing, as `source`
    command: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawKeys {
    One(String),
    Many(Vec<String>),
}

fn key_spec(
    name: Spanned<String>,
    keys: Spanned<RawKeys>,
    lines: &LineIndex,
    errors: &mut Vec<ConfigError>,
) -> KeyBindingSpec {
    let at = lines.at(keys.span().start);
    let keys = match keys.into_inner() {
        RawKeys::One(k) => vec![k],
        RawKeys::Many(ks) => ks,
    };
    if keys.is_empty() {
        errors.push(ConfigError::at(
            &at,
            format!("[keys] {}: give at least one key", name.get_ref()),
        ));
    }
    KeyBindingSpec {
        command: Located {
            at: lines.at(name.span().start),
            value: name.into_inner(),
        },
        keys: keys
            .into_iter()
            .map(|value| Located {
                value,
                at: at.clone(),
            })
            .collect(),
    }
}

fn parse_source(
    item: &Spanned<DeValue<'_>>,
    lines: &LineIndex,
) -> Result<SourceConfig, ConfigError> {
    let start = lines.at(item.span().start);
    let DeValue::Table(table) = item.get_ref() else {
        return Err(ConfigError::at(&start, "each [[source]] must be a table"));
    };
    let Some(kind) = table.get("kind") else {
        return Err(ConfigError::at(
            &start,
            format!(
                "this [[source]] has no `kind` (expected one of: {})",
                kinds::names().join(", ")
            ),
        ));
    };
    let DeValue::String(kind_name) = kind.get_ref() else {
        return Err(ConfigError::at(
            &lines.at(kind.span().start),
            "`kind` must be a string",
        ));
    };
    if table.get("name").is_none() {
        return Err(ConfigError::at(&start, "this [[source]] has no `name`"));
    }
    let parser = KindParser {
        lines,
        span: item.span(),
        table,
    };
    match kinds::find(kind_name) {
        Some(descriptor) => (descriptor.parse)(&parser),
        None => Err(ConfigError::at(
            &lines.at(kind.span().start),
            format!(
                "unknown source kind `{}` (expected one of: {})",
                &**kind_name,
                kinds::names().join(", ")
            ),
        )),
    }
}

pub(super) fn deserialize_table<'i, T: Deserialize<'i>>(
    span: std::ops::Range<usize>,
    table: DeTable<'i>,
) -> Result<T, toml::de::Error> {
    T::deserialize(toml::de::Deserializer::from(Spanned::new(span, table)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeline {
    window: Option<Spanned<String>>,
    verdict_window: Option<Spanned<String>>,
}

/// `[timeline]` with its defaults.
fn timeline_table(
    raw: Option<&RawTimeline>,
    lines: &LineIndex,
    errors: &mut Vec<ConfigError>,
) -> TimelineConfig {
    let mut out = TimelineConfig::default();
    let Some(raw) = raw else { return out };
    for (value, key, slot) in [
        (&raw.window, "window", &mut out.window),
        (
            &raw.verdict_window,
            "verdict_window",
            &mut out.verdict_window,
        ),
    ] {
        if let Some(v) = value {
            match parse_duration(v.get_ref()) {
                Ok(d) if !d.is_zero() => *slot = d,
                Ok(_) => errors.push(ConfigError::at(
                    &lines.at(v.span().start),
                    format!("timeline.{key} must be longer than zero"),
                )),
                Err(e) => errors.push(ConfigError::at(
                    &lines.at(v.span().start),
                    format!("timeline.{key}: {e}"),
                )),
            }
        }
    }
    out
}

/// Every `serving = "SOURCE/APP"` names a configured source that has apps,
/// and, where the config lists the apps (a `git` source), one of them;
/// every `train = { pipeline = "SOURCE/PIPELINE" }` a configured source
/// that starts new runs, and, where the config lists its pipelines, one of
/// them.
fn check_links(sources: &[SourceConfig], errors: &mut Vec<ConfigError>) {
    for s in sources {
        for link in s.kind.servings() {
            if let Some(p) = link_problem(sources, "serving", &link.value, serving_problem) {
                errors.push(ConfigError::at(&link.at, p));
            }
        }
        for train in s.kind.trains() {
            let link = &train.pipeline;
            if let Some(p) = link_problem(sources, "train: pipeline", &link.value, train_problem) {
                errors.push(ConfigError::at(&link.at, p));
            }
        }
    }
}

/// What is wrong with a `SOURCE/NAME` link to another source, if anything:
/// the source must exist, then `problem` judges the item on it.
fn link_problem(
    sources: &[SourceConfig],
    key: &str,
    value: &str,
    problem: fn(&SourceConfig, &str) -> Option<String>,
) -> Option<String> {
    let (source, item) = value.split_once('/')?;
    let Some(other) = sources.iter().find(|o| o.name == source) else {
        let known: Vec<&str> = sources.iter().map(|o| o.name.as_str()).collect();
        return Some(format!(
            "{key} `{value}`: no source named `{source}` (known: {})",
            known.join(", ")
        ));
    };
    problem(other, item).map(|p| format!("{key} `{value}`: {p}"))
}

fn serving_problem(other: &SourceConfig, app: &str) -> Option<String> {
    match &other.kind {
        SourceKind::Git(g) if !g.apps.iter().any(|a| a.name == app) => {
            Some(format!("source `{}` has no app `{app}`", other.name))
        }
        kind if !kinds::find(kind.name()).is_some_and(|d| d.provides.gitops) => Some(format!(
            "source `{}` ({}) has no apps",
            other.name,
            kind.name()
        )),
        _ => None,
    }
}

fn train_problem(other: &SourceConfig, pipeline: &str) -> Option<String> {
    let kind = other.kind.name();
    let starts_runs =
        |d: &kinds::Descriptor| d.actions.contains(&crate::model::ActionKind::Dispatch);
    if !kinds::find(kind).is_some_and(starts_runs) {
        let can: Vec<&str> = kinds::KINDS
            .iter()
            .filter(|d| starts_runs(d))
            .map(|d| d.kind)
            .collect();
        return Some(format!(
            "source `{}` ({kind}) cannot start runs: name a pipeline of a source that can ({})",
            other.name,
            can.join(", ")
        ));
    }
    match other.kind.lists_pipeline(pipeline) {
        Some(false) => Some(format!(
            "source `{}` does not read a pipeline `{pipeline}` (see its dags, jobs or project)",
            other.name
        )),
        _ => None,
    }
}
