//! The TOML configuration: schema, validation with file:line:column errors,
//! and secret lookup. Unknown keys are errors: a typo must not silently
//! disable a source. Each source kind's own keys live in a file of its own.

mod argocd;
mod backend;
mod demo;
mod evidently;
mod flux;
mod git;
mod github;
mod gitlab;
mod jenkins;
mod mlflow;
mod prometheus;

pub use argocd::{ARGOCD_CLI_CONFIG, ArgoCdConfig, ArgoCdKubeConfig, ArgoToken};
pub use backend::{DEFAULT_MODEL_TIMEOUT, HttpAuth, HttpBackend, Thresholds};
pub use demo::DemoConfig;
pub use evidently::{EvidentlyConfig, ProjectRef};
pub use flux::{FluxConfig, KubeTarget};
pub use git::{DEFAULT_FOLLOW_TIMEOUT, GitApp, GitConfig, PushMode, RepoLocation};
pub use github::GithubConfig;
pub use gitlab::GitlabConfig;
pub use jenkins::JenkinsConfig;
pub use mlflow::{DEFAULT_MLFLOW_ALIAS, MlflowConfig, MlflowModel};
pub use prometheus::{DEFAULT_PROMETHEUS_RANGE, PrometheusConfig, PrometheusModel};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The poll interval when the config does not say.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// The demo fleet moves one step this often unless told otherwise.
pub const DEFAULT_DEMO_STEP_INTERVAL: Duration = Duration::from_secs(2);
/// The seed of the demo fleet when none is given.
pub const DEFAULT_DEMO_SEED: u64 = 42;
/// How long a `{ command = … }` secret may take.
const SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The starter config `opsdeck init` writes.
pub const STARTER_CONFIG: &str = include_str!("starter_config.toml");

/// Every source kind this build knows.
pub const SOURCE_KINDS: &[&str] = &[
    "demo",
    "git",
    "argocd",
    "flux",
    "github",
    "gitlab",
    "jenkins",
    "prometheus",
    "mlflow",
    "evidently",
];

/// A place in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A value with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub at: Location,
}

/// One problem with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub at: Option<Location>,
    pub file: Option<Arc<Path>>,
    pub message: String,
}

impl ConfigError {
    pub fn at(at: &Location, message: impl Into<String>) -> Self {
        ConfigError {
            at: Some(at.clone()),
            file: Some(at.file.clone()),
            message: message.into(),
        }
    }

    pub fn without_location(message: impl Into<String>) -> Self {
        ConfigError {
            at: None,
            file: None,
            message: message.into(),
        }
    }

    fn in_file(file: &Arc<Path>, message: impl Into<String>) -> Self {
        ConfigError {
            at: None,
            file: Some(file.clone()),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.at, &self.file) {
            (Some(at), _) => write!(f, "{at}: {}", self.message),
            (None, Some(file)) => write!(f, "{}: {}", file.display(), self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Every error of one file, reported together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A `[keys]` entry: an action name and the keys it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBindingSpec {
    pub command: Located<String>,
    pub keys: Vec<Located<String>>,
}

/// Where a secret comes from. Its value is never stored in the config.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Env(String),
    File(PathBuf),
    Command(String),
}

/// Said instead of echoing a secret written inline (the error must not repeat it).
const INLINE_SECRET: &str = "a secret is never written inline (and is not repeated here): \
     write { env = \"VAR\" }, { file = \"PATH\" } or { command = \"…\" }";

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum SecretTable {
    Env(String),
    File(PathBuf),
    Command(String),
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl<'de> serde::de::Visitor<'de> for SecretVisitor {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a table: { env = \"VAR\" }, { file = \"PATH\" } or { command = \"…\" }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, _inline: &str) -> Result<Secret, E> {
                Err(E::custom(INLINE_SECRET))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Secret, A::Error> {
                let table =
                    SecretTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(match table {
                    SecretTable::Env(v) => Secret::Env(v),
                    SecretTable::File(p) => Secret::File(p),
                    SecretTable::Command(c) => Secret::Command(c),
                })
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Says where the secret lives, never what it is.
        match self {
            Secret::Env(v) => write!(f, "Secret(env {v})"),
            Secret::File(p) => write!(f, "Secret(file {})", p.display()),
            Secret::Command(c) => write!(f, "Secret(command `{c}`)"),
        }
    }
}

/// A secret's value. Debug and Display print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// A secret read from somewhere other than a `Secret` (the argocd CLI's config).
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("cannot read secret file {path}: {error}")]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("secret command `{command}` failed: {why}")]
    Command { command: String, why: String },
    #[error("secret from {0} is empty")]
    Empty(String),
}

impl Secret {
    /// Where it is read from, for messages: `env GITHUB_TOKEN`,
    /// `file ~/.config/…`, `` command `gh auth token` `` — never its value.
    pub fn origin(&self) -> String {
        match self {
            Secret::Env(var) => format!("env {var}"),
            Secret::File(path) => format!("file {}", path.display()),
            Secret::Command(command) => format!("command `{command}`"),
        }
    }

    /// Read the secret now. Trailing newlines are trimmed.
    pub async fn resolve(&self) -> Result<SecretValue, SecretError> {
        let (value, from) = match self {
            Secret::Env(var) => (
                std::env::var(var).map_err(|_| SecretError::EnvMissing(var.clone()))?,
                format!("env {var}"),
            ),
            Secret::File(path) => {
                let path = expand_home(path);
                let text =
                    tokio::fs::read_to_string(&path)
                        .await
                        .map_err(|error| SecretError::File {
                            path: path.clone(),
                            error,
                        })?;
                (text, format!("file {}", path.display()))
            }
            Secret::Command(command) => (
                run_secret_command(command).await?,
                format!("command `{command}`"),
            ),
        };
        let value = value.trim_end_matches(['\n', '\r']).to_string();
        if value.is_empty() {
            return Err(SecretError::Empty(from));
        }
        Ok(SecretValue(value))
    }
}

async fn run_secret_command(command: &str) -> Result<String, SecretError> {
    let fail = |why: String| SecretError::Command {
        command: command.to_string(),
        why,
    };
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SECRET_COMMAND_TIMEOUT, child)
        .await
        .map_err(|_| {
            fail(format!(
                "no answer within {}s",
                SECRET_COMMAND_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        // stderr may be shown; stdout never is (it would be the secret).
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!("{}: {}", out.status, stderr.trim())));
    }
    String::from_utf8(out.stdout).map_err(|_| fail("printed something that is not UTF-8".into()))
}

/// `~/x` → `$HOME/x`.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// The kind-specific part of a `[[source]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Demo(DemoConfig),
    Git(GitConfig),
    ArgoCd(ArgoCdConfig),
    /// `kind = "argocd"` with `context`: Application objects from a cluster.
    ArgoCdKube(ArgoCdKubeConfig),
    Flux(FluxConfig),
    Github(GithubConfig),
    Gitlab(GitlabConfig),
    Jenkins(JenkinsConfig),
    Prometheus(PrometheusConfig),
    Mlflow(MlflowConfig),
    Evidently(EvidentlyConfig),
}

impl SourceKind {
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Demo(_) => "demo",
            SourceKind::Git(_) => "git",
            SourceKind::ArgoCd(_) | SourceKind::ArgoCdKube(_) => "argocd",
            SourceKind::Flux(_) => "flux",
            SourceKind::Github(_) => "github",
            SourceKind::Gitlab(_) => "gitlab",
            SourceKind::Jenkins(_) => "jenkins",
            SourceKind::Prometheus(_) => "prometheus",
            SourceKind::Mlflow(_) => "mlflow",
            SourceKind::Evidently(_) => "evidently",
        }
    }
}

/// One `[[source]]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    pub name: String,
    /// Every target of this source is production (typed confirmation).
    pub production: bool,
    /// Overrides the global poll interval.
    pub refresh: Option<Duration>,
    pub kind: SourceKind,
    pub at: Option<Location>,
}

/// The whole validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The file it came from (None for `--demo` without a file).
    pub path: Option<PathBuf>,
    /// A built-in theme name or a path; None picks one from the terminal.
    pub theme: Option<Located<String>>,
    pub read_only: bool,
    pub refresh: Duration,
    pub audit_log: Option<PathBuf>,
    /// Force ASCII symbols (None: decide from the locale).
    pub ascii: Option<bool>,
    pub keys: Vec<KeyBindingSpec>,
    pub sources: Vec<SourceConfig>,
}

impl Config {
    /// The built-in demo fleet alone, for `--demo` without a config file.
    pub fn demo(seed: u64) -> Config {
        Config {
            path: None,
            theme: None,
            read_only: false,
            refresh: DEFAULT_REFRESH_INTERVAL,
            audit_log: None,
            ascii: None,
            keys: Vec::new(),
            sources: vec![SourceConfig {
                name: "demo".into(),
                production: false,
                refresh: None,
                kind: SourceKind::Demo(DemoConfig {
                    seed,
                    ..DemoConfig::default()
                }),
                at: None,
            }],
        }
    }
}

/// `$XDG_CONFIG_HOME/opsdeck/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("opsdeck").join("config.toml"))
}

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
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Config {
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
    #[allow(dead_code)] // removed before deserializing; declared so it is not "unknown"
    source: Option<IgnoredAny>,
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

/// What every source kind's parser gets: its table, and helpers that turn
/// spans into `file:line:column` errors.
pub(crate) struct KindParser<'a, 'i> {
    lines: &'a LineIndex,
    span: std::ops::Range<usize>,
    table: &'a DeTable<'i>,
}

impl<'i> KindParser<'_, 'i> {
    /// Deserialize the whole `[[source]]` table into the kind's raw struct
    /// (which declares `name`, `kind`, `production`, `refresh` and its own
    /// keys, with `deny_unknown_fields`).
    pub(crate) fn deserialize<T: Deserialize<'i>>(&self) -> Result<T, ConfigError> {
        deserialize_table::<T>(self.span.clone(), self.table.clone())
            .map_err(|e| self.lines.toml_error(&e))
    }

    /// Where a spanned value was written.
    pub(crate) fn at(&self, span: std::ops::Range<usize>) -> Location {
        self.lines.at(span.start)
    }

    /// An error at a spanned value.
    pub(crate) fn error<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        ConfigError::at(&self.at(value.span()), message)
    }

    /// `key`: an http:// or https:// address with a host and no query or
    /// fragment. `example` says how to write it (quoted).
    pub(crate) fn http_url(
        &self,
        url: &Spanned<String>,
        key: &str,
        example: &str,
    ) -> Result<url::Url, ConfigError> {
        let text = url.get_ref();
        let parsed = url::Url::parse(text).map_err(|e| {
            self.error(
                url,
                format!("{key}: `{text}` is not a URL ({e}); write it like {example}"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(self.error(
                url,
                format!(
                    "{key}: `{text}` must be an http:// or https:// address with a host and no query"
                ),
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            // Not repeated: the user part may hold a password.
            return Err(self.error(
                url,
                format!("{key} must not carry a user or password (not repeated here): use `token`"),
            ));
        }
        Ok(parsed)
    }

    /// `token = { env | file | command }`; a string is refused without
    /// being repeated (it would be the token itself). `env` names the
    /// variable the example suggests.
    pub(crate) fn secret(
        &self,
        value: &Spanned<toml::Value>,
        key: &str,
        env: &str,
    ) -> Result<Secret, ConfigError> {
        if value.get_ref().is_str() {
            return Err(self.error(
                value,
                format!(
                    "{key} must not be written inline (and is not repeated here): use \
                     {key} = {{ env = \"{env}\" }}, {{ file = \"…\" }} or {{ command = \"…\" }}"
                ),
            ));
        }
        value.get_ref().clone().try_into::<Secret>().map_err(|e| {
            self.error(
                value,
                format!(
                    "{key}: {} (write {{ env | file | command = \"…\" }})",
                    e.message().trim()
                ),
            )
        })
    }

    /// `insecure = true` turns certificate checks off; beside `ca_file` it
    /// is a contradiction.
    pub(crate) fn insecure(
        &self,
        flag: &Option<Spanned<bool>>,
        has_ca_file: bool,
    ) -> Result<bool, ConfigError> {
        match flag {
            Some(flag) if *flag.get_ref() && has_ca_file => Err(self.error(
                flag,
                "give either `ca_file` (trust this CA) or `insecure = true` (trust anything), not both",
            )),
            Some(flag) => Ok(*flag.get_ref()),
            None => Ok(false),
        }
    }

    /// An optional duration key ("30s").
    pub(crate) fn duration(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
    ) -> Result<Option<Duration>, ConfigError> {
        value
            .as_ref()
            .map(|s| parse_duration(s.get_ref()).map_err(|e| self.error(s, format!("{key}: {e}"))))
            .transpose()
    }

    /// The source's own location (its `name`), for later errors.
    pub(crate) fn name_at(&self) -> Location {
        self.table.get("name").map_or_else(
            || self.lines.at(self.span.start),
            |n| self.lines.at(n.span().start),
        )
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
                SOURCE_KINDS.join(", ")
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
    let kind_name: &str = kind_name;
    match kind_name {
        "demo" => demo::parse(&parser),
        "git" => git::parse(&parser),
        "argocd" => argocd::parse(&parser),
        "flux" => flux::parse(&parser),
        "github" => github::parse(&parser),
        "gitlab" => gitlab::parse(&parser),
        "jenkins" => jenkins::parse(&parser),
        "prometheus" => prometheus::parse(&parser),
        "mlflow" => mlflow::parse(&parser),
        "evidently" => evidently::parse(&parser),
        other => Err(ConfigError::at(
            &lines.at(kind.span().start),
            format!(
                "unknown source kind `{other}` (expected one of: {})",
                SOURCE_KINDS.join(", ")
            ),
        )),
    }
}

fn deserialize_table<'i, T: Deserialize<'i>>(
    span: std::ops::Range<usize>,
    table: DeTable<'i>,
) -> Result<T, toml::de::Error> {
    T::deserialize(toml::de::Deserializer::from(Spanned::new(span, table)))
}

/// "30s", "5m", "1h30m", "500ms". Zero is refused: it would spin.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| {
        format!("`{s}` is not a duration ({e}); write it like \"30s\", \"5m\" or \"1h\"")
    })?;
    if d.is_zero() {
        return Err(format!("`{s}` must be longer than zero"));
    }
    Ok(d)
}

/// Turns byte offsets into line:column.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
    text_len: usize,
    file: Arc<Path>,
    text: String,
}

impl LineIndex {
    fn new(text: &str, file: Arc<Path>) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            text_len: text.len(),
            file,
            text: text.to_string(),
        }
    }

    fn at(&self, offset: usize) -> Location {
        let offset = offset.min(self.text_len);
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let line_start = self.starts[line];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Location {
            file: self.file.clone(),
            line: line + 1,
            column,
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => ConfigError::at(&self.at(span.start), message),
            None => ConfigError::in_file(&self.file, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn secrets_come_from_a_file_or_a_command_and_are_never_printed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t-file\n").expect("write");
        let value = block_on(Secret::File(path.clone()).resolve()).expect("file secret");
        assert_eq!(value.expose(), "s3cr3t-file");
        assert_eq!(format!("{value:?} {value}"), "*** ***");

        let value = block_on(Secret::Command("printf s3cr3t-cmd".into()).resolve())
            .expect("command secret");
        assert_eq!(value.expose(), "s3cr3t-cmd");

        // A failing command's stderr may be shown; its stdout never is.
        std::fs::write(&path, "hidden-value").expect("write");
        let command = format!("cat {}; echo oops >&2; exit 3", path.display());
        let err = block_on(Secret::Command(command).resolve()).expect_err("fails");
        let text = err.to_string();
        assert!(
            text.contains("oops") && !text.contains("hidden-value"),
            "{text}"
        );

        let err = block_on(Secret::Env("OPSDECK_TEST_SURELY_UNSET_VAR".into()).resolve())
            .expect_err("unset");
        assert_eq!(
            err.to_string(),
            "environment variable OPSDECK_TEST_SURELY_UNSET_VAR is not set"
        );

        std::fs::write(&path, "\n").expect("write");
        assert!(matches!(
            block_on(Secret::File(path).resolve()),
            Err(SecretError::Empty(_))
        ));
    }

    #[test]
    fn a_secret_is_a_table_with_one_source_and_says_where_not_what() {
        #[derive(Deserialize)]
        struct T {
            token: Secret,
        }
        let t: T = toml::from_str("token = { env = \"GITHUB_TOKEN\" }").expect("parse");
        assert_eq!(t.token, Secret::Env("GITHUB_TOKEN".into()));
        assert_eq!(format!("{:?}", t.token), "Secret(env GITHUB_TOKEN)");
        // opsdeck reports `message()` with its own file:line:column (toml's
        // Display would quote the source line).
        let inline = toml::from_str::<T>("token = \"ghp_inline\"")
            .err()
            .map(|e| e.message().to_string())
            .unwrap_or_default();
        assert!(
            inline.contains("a secret is never written inline"),
            "{inline}"
        );
        assert!(
            !inline.contains("ghp_inline"),
            "the error must not echo the secret: {inline}"
        );
        assert!(toml::from_str::<T>("token = { url = \"x\" }").is_err());
    }

    #[test]
    fn durations_are_human_and_never_zero() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let index = LineIndex::new("a = \"é\"\nb = 1\n", Arc::from(Path::new("f.toml")));
        let at = index.at(9);
        assert_eq!((at.line, at.column), (2, 1));
        // The closing quote after the two-byte é is the 7th character.
        let at = index.at(7);
        assert_eq!((at.line, at.column), (1, 7));
    }
}
