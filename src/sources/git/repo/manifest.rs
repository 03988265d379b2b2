//! Finding a Kubernetes object's document in a YAML file and setting one
//! key of its `spec`, as text: the rest of the file (comments, order,
//! quoting, other documents) stays byte for byte. Only block-style YAML is
//! understood (what manifests in Git are); a flow-style `spec: {…}` is
//! refused rather than rewritten.

/// One object's identity as its manifest states it.
pub struct ObjectRef<'a> {
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// How a document matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    /// Kind and name match; the document names no namespace (a
    /// Kustomization may set it).
    NoNamespace,
    /// Kind, name and namespace match.
    Exact,
}

/// The byte ranges of the documents of a YAML stream (split at `---` lines).
fn documents(text: &str) -> Vec<(usize, usize)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let end = at + line.len();
        if line.trim_end() == "---" || line.starts_with("--- ") {
            if at > start {
                docs.push((start, at));
            }
            start = end;
        }
        at = end;
    }
    if text.len() > start {
        docs.push((start, text.len()));
    }
    docs
}

/// A scalar as written: without quotes and a trailing comment.
fn scalar(value: &str) -> &str {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.split('"').next()) {
        return inner;
    }
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.split('\'').next()) {
        return inner;
    }
    value.split(" #").next().unwrap_or("").trim()
}

/// The comment after a value (` # …`), or "".
fn trailing_comment(rest: &str) -> String {
    let v = rest.trim_start();
    let after = match v.chars().next() {
        Some(q @ ('"' | '\'')) => v[1..].find(q).map(|i| &v[i + 2..]).unwrap_or(""),
        _ => v.find(" #").map(|i| &v[i..]).unwrap_or(""),
    };
    let after = after.trim();
    if after.starts_with('#') {
        format!(" {after}")
    } else {
        String::new()
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// `key: value` at exactly `depth` spaces.
fn key_at<'l>(line: &'l str, depth: usize, key: &str) -> Option<&'l str> {
    if indent(line) != depth {
        return None;
    }
    line.trim_start()
        .strip_prefix(key)?
        .strip_prefix(':')
        .filter(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

/// The lines of a top-level block (`metadata:`, `spec:`): the key's line
/// index and the indices of its children, with the children's indent.
fn block(lines: &[&str], key: &str) -> Option<(usize, Vec<usize>, Option<usize>)> {
    let head = lines.iter().position(|l| key_at(l, 0, key).is_some())?;
    let mut children = Vec::new();
    let mut depth = None;
    for (i, line) in lines.iter().enumerate().skip(head + 1) {
        if !is_content(line) {
            continue;
        }
        if indent(line) == 0 {
            break;
        }
        let d = *depth.get_or_insert(indent(line));
        if indent(line) == d {
            children.push(i);
        }
    }
    Some((head, children, depth))
}

/// How one document matches `wanted`, if it does.
fn matches(doc: &str, wanted: &ObjectRef<'_>) -> Option<Match> {
    let lines: Vec<&str> = doc.split_inclusive('\n').collect();
    let kind = lines.iter().find_map(|l| key_at(l, 0, "kind"))?;
    if scalar(kind) != wanted.kind {
        return None;
    }
    let (_, children, depth) = block(&lines, "metadata")?;
    let depth = depth?;
    let field = |key: &str| {
        children
            .iter()
            .find_map(|&i| key_at(lines[i], depth, key))
            .map(scalar)
    };
    if field("name")? != wanted.name {
        return None;
    }
    match field("namespace") {
        Some(ns) if ns == wanted.namespace => Some(Match::Exact),
        Some(_) => None,
        None => Some(Match::NoNamespace),
    }
}

/// The documents of `text` that are `wanted`, with how each matched: byte
/// ranges.
pub fn find(text: &str, wanted: &ObjectRef<'_>) -> Vec<((usize, usize), Match)> {
    documents(text)
        .into_iter()
        .filter_map(|(s, e)| matches(&text[s..e], wanted).map(|m| ((s, e), m)))
        .collect()
}

/// What setting the key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit {
    /// The new text of the file.
    Changed(String),
    /// The key already has that value.
    Already,
}

/// Set `spec.<key>: "<value>"` in the document at `range` of `text`:
/// replace the value on its line (keeping its comment) or insert the line
/// first under `spec:`.
pub fn set_spec_key(
    text: &str,
    range: (usize, usize),
    key: &str,
    value: &str,
) -> Result<Edit, String> {
    let (start, end) = range;
    let doc = &text[start..end];
    let lines: Vec<&str> = doc.split_inclusive('\n').collect();
    let (head, children, depth) =
        block(&lines, "spec").ok_or_else(|| "the document has no `spec:` block".to_string())?;
    if !key_at(lines[head], 0, "spec")
        .is_some_and(|rest| rest.trim().is_empty() || rest.trim().starts_with('#'))
    {
        return Err("its `spec` is written inline (flow style); edit it by hand".into());
    }
    let depth = depth.unwrap_or(2);
    let newline = if doc.contains("\r\n") { "\r\n" } else { "\n" };
    let quoted = format!("\"{value}\"");
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match children
        .iter()
        .find(|&&i| key_at(lines[i], depth, key).is_some())
    {
        Some(&i) => {
            let rest = key_at(lines[i], depth, key).unwrap_or("");
            if scalar(rest) == value {
                return Ok(Edit::Already);
            }
            let comment = trailing_comment(rest);
            let ending = if lines[i].ends_with('\n') {
                newline
            } else {
                ""
            };
            out[i] = format!("{}{key}: {quoted}{comment}{ending}", " ".repeat(depth));
        }
        None => {
            let line = format!("{}{key}: {quoted}{newline}", " ".repeat(depth));
            if !out[head].ends_with('\n') {
                out[head].push_str(newline);
            }
            out.insert(head + 1, line);
        }
    }
    Ok(Edit::Changed(format!(
        "{}{}{}",
        &text[..start],
        out.concat(),
        &text[end..]
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VPC: ObjectRef<'static> = ObjectRef {
        kind: "Terraform",
        namespace: "flux-system",
        name: "vpc",
    };

    const FILE: &str = "# the network
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: vpc
  namespace: flux-system
---
apiVersion: infra.contrib.fluxcd.io/v1alpha2
kind: Terraform
metadata:
  name: vpc # the VPC
  namespace: flux-system
spec:
  interval: 10m   # keep
  approvePlan: \"\" # manual
  path: ./vpc
  sourceRef:
    kind: GitRepository
    name: infra
";

    fn edited(text: &str) -> String {
        let found = find(text, &VPC);
        assert_eq!(found.len(), 1, "{found:?}");
        match set_spec_key(text, found[0].0, "approvePlan", "plan-main-b8e362c206") {
            Ok(Edit::Changed(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_value_is_replaced_on_its_line_and_nothing_else_changes() {
        let out = edited(FILE);
        assert_eq!(
            out,
            FILE.replace(
                "  approvePlan: \"\" # manual\n",
                "  approvePlan: \"plan-main-b8e362c206\" # manual\n"
            )
        );
        let again = find(&out, &VPC);
        assert_eq!(
            set_spec_key(&out, again[0].0, "approvePlan", "plan-main-b8e362c206"),
            Ok(Edit::Already)
        );
    }

    #[test]
    fn a_missing_key_is_inserted_first_under_spec_at_its_indent() {
        let text = FILE.replace("  approvePlan: \"\" # manual\n", "");
        let out = edited(&text);
        assert_eq!(
            out,
            text.replace(
                "spec:\n",
                "spec:\n  approvePlan: \"plan-main-b8e362c206\"\n"
            )
        );
        let four = text.replace("\n  ", "\n    ");
        assert!(
            edited(&four)
                .contains("spec:\n    approvePlan: \"plan-main-b8e362c206\"\n    interval")
        );
    }

    #[test]
    fn other_kinds_names_and_namespaces_do_not_match() {
        let other_ns = FILE.replace("namespace: flux-system\nspec", "namespace: infra\nspec");
        assert!(find(&other_ns, &VPC).is_empty());
        let no_ns = FILE.replace("  namespace: flux-system\nspec", "spec");
        assert_eq!(find(&no_ns, &VPC)[0].1, Match::NoNamespace);
        let other = ObjectRef { name: "db", ..VPC };
        assert!(find(FILE, &other).is_empty());
        // A nested `name:` (under sourceRef) is not the object's name.
        let infra = ObjectRef {
            name: "infra",
            ..VPC
        };
        assert!(find(FILE, &infra).is_empty());
    }

    #[test]
    fn a_flow_style_spec_is_refused() {
        let text = "kind: Terraform\nmetadata:\n  name: vpc\nspec: {approvePlan: auto}\n";
        let found = find(text, &VPC);
        assert!(set_spec_key(text, found[0].0, "approvePlan", "x").is_err());
    }
}
