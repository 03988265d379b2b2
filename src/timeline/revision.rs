//! Commit identities as the backends write them, reduced to what links
//! them: a full SHA. Flux writes `main@sha1:<sha>`, Argo CD a bare SHA, a
//! Helm source a chart version (kept as it is, and never linked by prefix).

/// The SHA in a revision (`main@sha1:abc…` → `abc…`), lower case; any other
/// revision (a chart version) unchanged.
pub fn normalize(rev: &str) -> String {
    let rev = rev.trim();
    let tail = rev.rsplit_once(':').map_or(rev, |(_, t)| t);
    if is_hex(tail) && tail.len() >= 7 {
        tail.to_ascii_lowercase()
    } else {
        rev.to_string()
    }
}

/// Only hexadecimal digits (and not empty).
pub fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A full 40-digit SHA-1 (or 64-digit SHA-256).
pub fn is_full_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && is_hex(s)
}

/// The full SHAs known to the timeline, sorted: a short SHA resolves only
/// when it is the prefix of exactly one of them.
#[derive(Clone, Debug, Default)]
pub struct Shas {
    sorted: Vec<String>,
}

impl Shas {
    pub fn new(mut shas: Vec<String>) -> Shas {
        shas.retain(|s| is_full_sha(s));
        shas.sort_unstable();
        shas.dedup();
        Shas { sorted: shas }
    }

    /// The distinct full SHAs among `revisions` (anything else is left out).
    pub fn of<'a>(revisions: impl Iterator<Item = &'a str>) -> Shas {
        let mut shas: Vec<&str> = revisions.filter(|s| is_full_sha(s)).collect();
        shas.sort_unstable();
        shas.dedup();
        Shas {
            sorted: shas.into_iter().map(str::to_string).collect(),
        }
    }

    /// The full SHA `rev` names: itself when full and known (or full and
    /// unknown: it is exact), the one known SHA it is a prefix of (at least
    /// 7 digits), else `None`.
    pub fn resolve<'a>(&'a self, rev: &'a str) -> Option<&'a str> {
        if is_full_sha(rev) {
            return Some(rev);
        }
        if rev.len() < 7 || !is_hex(rev) {
            return None;
        }
        let start = self.sorted.partition_point(|s| s.as_str() < rev);
        let mut hits = self.sorted[start..]
            .iter()
            .take_while(|s| s.starts_with(rev));
        let first = hits.next()?;
        hits.next().is_none().then_some(first.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_revisions_give_their_sha() {
        let sha = "7b972aa41c7e0f3b2d1e4f5a6b7c8d9e0f1a2b3c";
        assert_eq!(normalize(&format!("main@sha1:{sha}")), sha);
        assert_eq!(normalize(&sha.to_uppercase()), sha);
        assert_eq!(normalize("1.4.2"), "1.4.2");
        assert_eq!(normalize("v1.0.0"), "v1.0.0");
    }

    #[test]
    fn a_short_sha_resolves_only_as_a_unique_prefix() {
        let a = "7b972aa41c7e0f3b2d1e4f5a6b7c8d9e0f1a2b3c".to_string();
        let b = "7b972ab00000000000000000000000000000000f".to_string();
        let shas = Shas::new(vec![a.clone(), b.clone(), "1.2.3".into()]);
        assert_eq!(shas.resolve("7b972aa"), Some(a.as_str()));
        assert_eq!(shas.resolve("7b972ab"), Some(b.as_str()));
        assert_eq!(shas.resolve("7b972a"), None, "too short");
        assert_eq!(shas.resolve("7b972a0"), None, "no such commit");
        let ambiguous = Shas::new(vec![a.clone(), "7b972aa1".repeat(5)]);
        assert_eq!(ambiguous.resolve("7b972aa"), None, "two commits share it");
        assert_eq!(ambiguous.resolve(&a), Some(a.as_str()));
        assert_eq!(shas.resolve("main"), None);
    }
}
