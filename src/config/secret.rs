//! Secrets: where one comes from (`env`, `file`, `command` — never inline),
//! reading it when needed, and a value that never prints itself.
//!
//! `env` and `file` are read fresh on every use (cheap, and a rotation is
//! picked up at once). A `command` (`gh auth token`, a vault CLI) may be
//! slow or rate limited, so it runs once per process and its value is kept;
//! when a backend rejects that value (401), `forget` drops it and the next
//! read runs the command again — once, however many requests were refused.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use serde::Deserialize;

/// How long a `{ command = … }` secret may take.
const SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

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

    /// The secret's value: `env` and `file` read now, a `command` run the
    /// first time and then kept for the process (see `forget`). Trailing
    /// newlines are trimmed.
    pub async fn resolve(&self) -> Result<SecretValue, SecretError> {
        match self {
            Secret::Command(command) => kept_secret(command, || self.read()).await,
            _ => self.read().await,
        }
    }

    /// `rejected` was refused by a backend (401): a command's kept value is
    /// dropped if it is still that one, so the next `resolve` runs the
    /// command again (a caller that lost the race gets the value already
    /// renewed, without a second run). `env` and `file` are read fresh anyway.
    pub async fn forget(&self, rejected: &SecretValue) {
        if let Secret::Command(command) = self {
            forget_kept_secret(command, rejected).await;
        }
    }

    /// After a 401 with `rejected`: the value read again (a command runs
    /// again), or None when it is still the one refused (retrying is futile).
    pub async fn renew(&self, rejected: &SecretValue) -> Result<Option<SecretValue>, SecretError> {
        self.forget(rejected).await;
        let fresh = self.resolve().await?;
        Ok((fresh != *rejected).then_some(fresh))
    }

    /// Read the secret from its source, now.
    async fn read(&self) -> Result<SecretValue, SecretError> {
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

/// Values of secret commands, kept for the process: one slot per command
/// (the config names a handful), each locked while its command runs so
/// concurrent first reads run it once.
type Slot = Arc<tokio::sync::Mutex<Option<SecretValue>>>;
static COMMAND_VALUES: LazyLock<Mutex<HashMap<String, Slot>>> = LazyLock::new(Mutex::default);

fn slot(key: &str) -> Slot {
    COMMAND_VALUES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.to_string())
        .or_default()
        .clone()
}

/// The value kept under `key` (a command line, and whatever else decides
/// its output), else `run`'s, kept if it succeeds (a failure runs again
/// next time).
pub async fn kept_secret<E, F, Fut>(key: &str, run: F) -> Result<SecretValue, E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<SecretValue, E>>,
{
    let slot = slot(key);
    let mut kept = slot.lock().await;
    if let Some(value) = kept.as_ref() {
        return Ok(value.clone());
    }
    let value = run().await?;
    *kept = Some(value.clone());
    Ok(value)
}

/// Drop the value kept under `key` if it is `rejected` (not one a
/// concurrent caller has renewed already).
pub async fn forget_kept_secret(key: &str, rejected: &SecretValue) {
    let slot = slot(key);
    let mut kept = slot.lock().await;
    if kept.as_ref() == Some(rejected) {
        *kept = None;
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
}
