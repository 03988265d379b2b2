//! The token when the config names none: the Terraform CLI's own —
//! `TF_TOKEN_<host>` (dots as `_`, dashes as `__`), else the host's entry in
//! `~/.terraform.d/credentials.tfrc.json`, as `terraform login` writes it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::SecretValue;

/// The environment variable the CLI reads a host's token from.
pub fn env_name(host: &str) -> String {
    let encoded: String = host
        .chars()
        .map(|c| match c {
            '.' => "_".to_string(),
            '-' => "__".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("TF_TOKEN_{encoded}")
}

/// `$HOME/.terraform.d/credentials.tfrc.json` (`%APPDATA%\terraform.d` on Windows).
pub fn credentials_file() -> Option<PathBuf> {
    if cfg!(windows) {
        std::env::var_os("APPDATA").map(|d| PathBuf::from(d).join("terraform.d"))
    } else {
        dirs::home_dir().map(|h| h.join(".terraform.d"))
    }
    .map(|d| d.join("credentials.tfrc.json"))
}

/// Where the CLI's token for `host` comes from, in words (never the token).
pub fn origin(host: &str) -> String {
    let file =
        credentials_file().map_or("credentials.tfrc.json".into(), |f| f.display().to_string());
    format!(
        "env {} or {file} (the Terraform CLI's credentials)",
        env_name(host)
    )
}

/// The CLI's token for `host`: the env variable first, then the file.
pub async fn cli_token(host: &str) -> Result<SecretValue, String> {
    if let Ok(value) = std::env::var(env_name(host)) {
        let value = value.trim();
        if !value.is_empty() {
            return Ok(SecretValue::new(value));
        }
    }
    let Some(file) = credentials_file() else {
        return Err(format!(
            "{} is not set and there is no home directory",
            env_name(host)
        ));
    };
    from_file(&file, host).await
}

async fn from_file(file: &Path, host: &str) -> Result<SecretValue, String> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        credentials: std::collections::HashMap<String, Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        token: Option<String>,
    }
    let text = tokio::fs::read_to_string(file).await.map_err(|e| {
        format!(
            "{} is not set and {} cannot be read ({e}) — run `terraform login {host}` or set \
             `token` in the config",
            env_name(host),
            file.display()
        )
    })?;
    // Never quote the file: it holds tokens.
    let parsed: File = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not valid JSON at line {} column {}",
            file.display(),
            e.line(),
            e.column()
        )
    })?;
    parsed
        .credentials
        .into_iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(host))
        .and_then(|(_, e)| e.token)
        .filter(|t| !t.is_empty())
        .map(SecretValue::new)
        .ok_or_else(|| {
            format!(
                "{} is not set and {} has no token for {host} — run `terraform login {host}`",
                env_name(host),
                file.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_encoded_as_the_cli_does() {
        assert_eq!(env_name("app.terraform.io"), "TF_TOKEN_app_terraform_io");
        assert_eq!(env_name("tfe.my-corp.com"), "TF_TOKEN_tfe_my__corp_com");
    }

    #[tokio::test]
    async fn the_credentials_file_gives_the_hosts_token_and_never_quotes_itself() {
        let dir = std::env::temp_dir().join(format!("opsdeck-tfrc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("credentials.tfrc.json");
        std::fs::write(
            &file,
            r#"{"credentials": {"app.terraform.io": {"token": "abc.atlasv1.xyz"}}}"#,
        )
        .expect("write");
        let token = from_file(&file, "app.terraform.io").await.expect("token");
        assert_eq!(token.expose(), "abc.atlasv1.xyz");
        let missing = from_file(&file, "tfe.example.com")
            .await
            .expect_err("no entry");
        assert!(
            missing.contains("has no token for tfe.example.com"),
            "{missing}"
        );
        std::fs::write(&file, r#"{"credentials": {"secret-token-here"#).expect("write");
        let bad = from_file(&file, "app.terraform.io")
            .await
            .expect_err("bad json");
        assert!(!bad.contains("secret-token-here"), "{bad}");
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}
