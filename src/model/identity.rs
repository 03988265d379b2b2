//! Who is at the keyboard and where: the operator that the audit log, commit
//! messages and the demo's history name. Lives below app and sources because
//! both need it.

/// The person running opsdeck, as the audit log and reverts name them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub user: String,
    pub host: String,
}

impl Operator {
    /// Read the login name and host name once, from the environment first
    /// (what the shell says the user is), then from the system.
    pub fn current() -> Self {
        let user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .or_else(|| whoami::username().ok())
            .unwrap_or_else(|| "unknown".into());
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        Operator { user, host }
    }
}
