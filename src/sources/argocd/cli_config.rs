//! The token of the `argocd` CLI's current context (`~/.config/argocd/config`),
//! used when a source gives no `token`. It is only sent to the server that
//! context is for.

use std::path::Path;

use serde::Deserialize;

use crate::config::SecretValue;

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct CliConfig {
    current_context: Option<String>,
    contexts: Vec<Context>,
    users: Vec<User>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Context {
    name: String,
    server: String,
    user: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct User {
    name: String,
    auth_token: Option<String>,
}

/// `host[:port]` of a URL or of a CLI `server` entry (which has no scheme).
fn host_port(server: &str) -> String {
    let s = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    s.split('/').next().unwrap_or(s).to_ascii_lowercase()
}

/// The current context's token, if that context is for `url`.
pub fn token(path: &Path, url: &str) -> Result<SecretValue, String> {
    let fix = "set `token` in the source, or `argocd login` to this server";
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "no `token` given and the argocd CLI config {} cannot be read ({e}): {fix}",
            path.display()
        )
    })?;
    let config: CliConfig = serde_norway::from_str(&text)
        .map_err(|e| format!("the argocd CLI config {} is not valid: {e}", path.display()))?;
    let current = config
        .current_context
        .ok_or_else(|| format!("{} has no current-context: {fix}", path.display()))?;
    let context = config
        .contexts
        .iter()
        .find(|c| c.name == current)
        .ok_or_else(|| {
            format!(
                "{}: current-context `{current}` is not among its contexts",
                path.display()
            )
        })?;
    let wanted = host_port(url);
    if host_port(&context.server) != wanted {
        return Err(format!(
            "the argocd CLI's current context `{current}` is for {}, not {wanted}: {fix} \
             (its token is not sent to another server)",
            context.server
        ));
    }
    let token = config
        .users
        .iter()
        .find(|u| u.name == context.user)
        .and_then(|u| u.auth_token.clone())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            format!(
                "{}: user `{}` of context `{current}` has no auth-token: {fix}",
                path.display(),
                context.user
            )
        })?;
    Ok(SecretValue::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "contexts:\n- name: prod\n  server: argocd.example.com\n  user: prod-user\n\
        - name: dev\n  server: dev.example.com:8443\n  user: dev-user\n\
        current-context: prod\nservers:\n- server: argocd.example.com\n\
        users:\n- name: prod-user\n  auth-token: tok-prod\n- name: dev-user\n  auth-token: tok-dev\n";

    #[test]
    fn the_current_contexts_token_goes_only_to_its_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        std::fs::write(&path, CONFIG).expect("write");
        let t = token(&path, "https://argocd.example.com").expect("token");
        assert_eq!(t.expose(), "tok-prod");
        let e = token(&path, "https://dev.example.com:8443").expect_err("other server");
        assert!(
            e.contains("is for argocd.example.com, not dev.example.com:8443"),
            "{e}"
        );
        std::fs::write(&path, CONFIG.replace("current-context: prod", "")).expect("write");
        let e = token(&path, "https://argocd.example.com").expect_err("no context");
        assert!(e.contains("has no current-context"), "{e}");
        let e = token(&dir.path().join("absent"), "https://x").expect_err("absent");
        assert!(e.contains("cannot be read"), "{e}");
    }
}
