//! `kind = "terraform-cloud"`: HCP Terraform or Terraform Enterprise — where
//! it is, which organization, which workspaces, and the token (by default
//! the Terraform CLI's own).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use super::{ConfigError, KindParser, Secret, SourceConfig, SourceKind, expand_home};

/// Its part of the starter config `opsdeck init` writes.
pub const STARTER: &str = r#"# GitOps + CI/CD: HCP Terraform / Terraform Enterprise workspaces (drift from
# health assessments) and their runs. Token: the Terraform CLI's own
# (TF_TOKEN_app_terraform_io, else ~/.terraform.d/credentials.tfrc.json).
# [[source]]
# name = "infra"
# kind = "terraform-cloud"
# organization = "acme"
# # url = "https://tfe.example.com"      # default https://app.terraform.io
# # workspaces = ["prod-*", "network"]   # names or globs; default every workspace
# # tags = ["team:platform"]             # only workspaces with all these tags
# # token = { env = "TFC_TOKEN" }
"#;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerraformCloudConfig {
    /// The service's address, without a trailing slash or `/api/v2`.
    pub url: String,
    pub organization: String,
    /// `None`: the Terraform CLI's credentials for the host.
    pub token: Option<Secret>,
    /// Workspace names or globs (`*`); empty: every workspace.
    pub workspaces: Vec<String>,
    /// Flat tags a workspace must all carry (`search[tags]`).
    pub tags: Vec<String>,
    /// Recent runs listed in a workspace's detail.
    pub recent_runs: usize,
    /// How long one request may take.
    pub timeout: Duration,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
}

impl TerraformCloudConfig {
    /// HCP Terraform, when `url` is not given.
    pub const DEFAULT_URL: &'static str = "https://app.terraform.io";
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_RECENT_RUNS: usize = 10;

    /// A config for `organization` on `url`, every other key at its default.
    pub fn new(url: impl Into<String>, organization: impl Into<String>) -> Self {
        TerraformCloudConfig {
            url: url.into().trim_end_matches('/').to_string(),
            organization: organization.into(),
            token: None,
            workspaces: Vec::new(),
            tags: Vec::new(),
            recent_runs: Self::DEFAULT_RECENT_RUNS,
            timeout: Self::DEFAULT_TIMEOUT,
            ca_file: None,
            insecure: false,
        }
    }

    /// The host the CLI keeps credentials for (`app.terraform.io`).
    pub fn host(&self) -> String {
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default()
    }

    /// The workspace is one of those configured (all when none are).
    pub fn wants(&self, workspace: &str) -> bool {
        self.workspaces.is_empty() || self.workspaces.iter().any(|g| glob(g, workspace))
    }
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerraformCloud {
    #[allow(dead_code)] // checked by the dispatcher
    kind: IgnoredAny,
    name: String,
    #[serde(default)]
    production: bool,
    refresh: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    organization: Option<Spanned<String>>,
    token: Option<Spanned<toml::Value>>,
    #[serde(default)]
    workspaces: Vec<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    recent_runs: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    ca_file: Option<PathBuf>,
    insecure: Option<Spanned<bool>>,
}

pub(crate) fn parse(p: &KindParser<'_, '_>) -> Result<SourceConfig, ConfigError> {
    let raw: RawTerraformCloud = p.deserialize()?;
    let url = match &raw.url {
        Some(url) => {
            p.http_url(url, "url", "\"https://tfe.example.com\"")?;
            let trimmed = url.get_ref().trim_end_matches('/');
            if trimmed.ends_with("/api/v2") {
                return Err(p.error(
                    url,
                    format!(
                        "url: `{}` is the API root: give the service's own address (\"{}\"); \
                         opsdeck adds /api/v2",
                        url.get_ref(),
                        trimmed.trim_end_matches("/api/v2")
                    ),
                ));
            }
            trimmed.to_string()
        }
        None => TerraformCloudConfig::DEFAULT_URL.to_string(),
    };
    let organization = match &raw.organization {
        Some(o) if valid_name(o.get_ref()) => o.get_ref().clone(),
        Some(o) => {
            return Err(p.error(
                o,
                format!(
                    "organization: `{}` is not an organization name (letters, digits, `-`, `_`)",
                    o.get_ref()
                ),
            ));
        }
        None => {
            return Err(ConfigError::at(
                &p.name_at(),
                "a terraform-cloud source needs `organization`, the organization's name",
            ));
        }
    };
    let token = raw
        .token
        .as_ref()
        .map(|t| p.secret(t, "token", "TFC_TOKEN"))
        .transpose()?;
    for w in &raw.workspaces {
        let bare = w.get_ref().replace('*', "");
        if w.get_ref().is_empty() || !(bare.is_empty() || valid_name(&bare)) {
            return Err(p.error(
                w,
                format!(
                    "workspaces: `{}` is not a workspace name or glob (letters, digits, `-`, `_`, \
                     and `*` for any run of them)",
                    w.get_ref()
                ),
            ));
        }
    }
    for t in &raw.tags {
        let tag = t.get_ref();
        if tag.is_empty() || tag.contains(',') || tag.trim() != tag {
            return Err(p.error(
                t,
                format!("tags: `{tag}` is not a tag (no commas, no surrounding spaces)"),
            ));
        }
    }
    let recent_runs = p.count(
        &raw.recent_runs,
        "recent_runs",
        TerraformCloudConfig::DEFAULT_RECENT_RUNS,
        100,
        "runs in a workspace's detail, one page",
    )?;
    let insecure = p.insecure(&raw.insecure, raw.ca_file.is_some())?;
    p.source(raw.name, raw.production, &raw.refresh, || {
        Ok(SourceKind::TerraformCloud(TerraformCloudConfig {
            url,
            organization,
            token,
            workspaces: raw
                .workspaces
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            tags: raw.tags.into_iter().map(Spanned::into_inner).collect(),
            recent_runs,
            timeout: p
                .duration(&raw.timeout, "timeout")?
                .unwrap_or(TerraformCloudConfig::DEFAULT_TIMEOUT),
            ca_file: raw.ca_file.map(|f| expand_home(&f)),
            insecure,
        }))
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_prefixes_suffixes_and_middles() {
        assert!(glob("prod-*", "prod-network"));
        assert!(glob("*-prod", "app-prod"));
        assert!(glob("*-prod-*", "eu-prod-db"));
        assert!(glob("*", "anything"));
        assert!(glob("network", "network"));
        assert!(!glob("network", "network-2"));
        assert!(!glob("prod-*", "staging-prod"));
        assert!(!glob("a*a", "a"));
    }

    #[test]
    fn the_host_is_the_urls_lowercased() {
        let c = TerraformCloudConfig::new("https://App.Terraform.io/", "acme");
        assert_eq!(c.url, "https://App.Terraform.io");
        assert_eq!(c.host(), "app.terraform.io");
        assert!(c.wants("x"));
    }
}
