//! Where a GitHub token comes from: the config's `token`, else
//! `GITHUB_TOKEN`, else `GH_TOKEN`, else the GitHub CLI's `gh auth token`.
//! The environment is read through a lookup function, so tests can give
//! their own without touching the process environment. Variables are read
//! on every lookup; a command (`token = { command = … }` or `gh auth
//! token`) runs once per process, and again after a 401 (`renew`).

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Secret, SecretValue, forget_kept_secret, kept_secret};

/// How long `gh auth token` may take.
pub const GH_TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads one environment variable (`PATH` included, for finding `gh`).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment.
pub fn process_env() -> EnvLookup {
    Arc::new(|name| std::env::var(name).ok())
}

/// A token and where it came from ("env GITHUB_TOKEN"), for messages.
#[derive(Clone, Debug)]
pub struct Token {
    pub value: SecretValue,
    pub origin: String,
}

/// Look the token up now, in order. `host` is the GitHub host for
/// `gh auth token --hostname` (None for github.com).
pub async fn lookup(
    configured: Option<&Secret>,
    env: &EnvLookup,
    host: Option<&str>,
) -> Result<Token, String> {
    let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    if let Some(secret) = configured {
        let origin = secret.origin();
        let value = match secret {
            // Through the lookup, as the fallbacks are.
            Secret::Env(var) => non_empty(env(var))
                .map(|v| SecretValue::new(v.trim_end_matches(['\n', '\r'])))
                .ok_or_else(|| format!("cannot read the token ({origin}): it is not set"))?,
            other => other
                .resolve()
                .await
                .map_err(|e| format!("cannot read the token ({origin}): {e}"))?,
        };
        return Ok(Token { value, origin });
    }
    for var in ["GITHUB_TOKEN", "GH_TOKEN"] {
        if let Some(value) = non_empty(env(var)) {
            return Ok(Token {
                value: SecretValue::new(value.trim()),
                origin: format!("env {var}"),
            });
        }
    }
    let key = gh_key(env, host);
    let value = kept_secret(&key, || async {
        gh_auth_token(env, host).await.map(|token| token.value)
    })
    .await?;
    Ok(Token {
        value,
        origin: gh_origin(host),
    })
}

/// After a 401 with `rejected`: the token looked up again (a command runs
/// again), or None when it is still the one refused.
pub async fn renew(
    configured: Option<&Secret>,
    env: &EnvLookup,
    host: Option<&str>,
    rejected: &Token,
) -> Result<Option<Token>, String> {
    match configured {
        Some(secret) => secret.forget(&rejected.value).await,
        None => forget_kept_secret(&gh_key(env, host), &rejected.value).await,
    }
    let fresh = lookup(configured, env, host).await?;
    Ok((fresh.value != rejected.value).then_some(fresh))
}

/// What `gh auth token`'s answer depends on: its arguments and the
/// environment it finds `gh` and its config through.
fn gh_key(env: &EnvLookup, host: Option<&str>) -> String {
    let mut key = gh_origin(host);
    for var in GH_ENV {
        key.push('\0');
        key.push_str(&env(var).unwrap_or_default());
    }
    key
}

fn gh_args(host: Option<&str>) -> Vec<&str> {
    let mut args = vec!["auth", "token"];
    if let Some(host) = host {
        args.extend(["--hostname", host]);
    }
    args
}

fn gh_origin(host: Option<&str>) -> String {
    format!("`gh {}`", gh_args(host).join(" "))
}

/// The variables `gh` is run with.
const GH_ENV: [&str; 4] = ["PATH", "HOME", "XDG_CONFIG_HOME", "GH_CONFIG_DIR"];

async fn gh_auth_token(env: &EnvLookup, host: Option<&str>) -> Result<Token, String> {
    let args = gh_args(host);
    let origin = gh_origin(host);
    let none = "no GitHub token: set `token = { env = \"…\" }` in the config, or GITHUB_TOKEN \
                or GH_TOKEN, or log in with the GitHub CLI (`gh auth login`)";
    let mut command = tokio::process::Command::new("gh");
    command
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    // The child finds `gh` (and `gh` its config) through this environment.
    for var in GH_ENV {
        match env(var) {
            Some(value) => command.env(var, value),
            None => command.env_remove(var),
        };
    }
    let output = match tokio::time::timeout(GH_TOKEN_TIMEOUT, command.output()).await {
        Err(_) => {
            return Err(format!(
                "{none}; {origin} gave no answer within {}s",
                GH_TOKEN_TIMEOUT.as_secs()
            ));
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "{none}; the GitHub CLI `gh` is not installed (not on PATH)"
            ));
        }
        Ok(Err(e)) => return Err(format!("{none}; {origin} could not run: {e}")),
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        // stderr may be shown ("not logged in"); stdout never is.
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{none}; {origin} failed ({}): {}",
            output.status,
            stderr.trim()
        ));
    }
    let value = String::from_utf8(output.stdout)
        .map_err(|_| format!("{none}; {origin} printed something that is not UTF-8"))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{none}; {origin} printed nothing"));
    }
    Ok(Token {
        value: SecretValue::new(value),
        origin,
    })
}
