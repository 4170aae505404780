//! Namespace selection by path (docs/decisions.md): `/…` is namespace `default`,
//! `/ns/<name>/…` is namespace `<name>`; the rest of the path is what the namespace serves.

pub const DEFAULT_NAMESPACE: &str = "default";
const MAX_NAME: usize = 64;

/// A path split into its namespace and the path inside it.
#[derive(Debug, PartialEq, Eq)]
pub struct Routed<'a> {
    pub namespace: &'a str,
    pub path: String,
}

/// Splits a request path; `Err` explains a malformed namespace name.
pub fn split(path: &str) -> Result<Routed<'_>, String> {
    let Some(rest) = path.strip_prefix("/ns/") else {
        return Ok(Routed {
            namespace: DEFAULT_NAMESPACE,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
        });
    };
    let (name, inner) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if !is_namespace_name(name) {
        return Err(format!(
            "namespace name '{name}' must be 1-{MAX_NAME} characters of letters, digits, '-' and '_'"
        ));
    }
    Ok(Routed {
        namespace: name,
        path: inner.into(),
    })
}

pub fn is_namespace_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(path: &str) -> (String, String) {
        let r = split(path).unwrap();
        (r.namespace.to_string(), r.path)
    }

    #[test]
    fn root_and_control_paths_belong_to_default() {
        assert_eq!(routed("/"), ("default".into(), "/".into()));
        assert_eq!(routed(""), ("default".into(), "/".into()));
        assert_eq!(
            routed("/_mock/usage"),
            ("default".into(), "/_mock/usage".into())
        );
    }

    #[test]
    fn ns_prefix_selects_a_namespace() {
        assert_eq!(routed("/ns/team-a"), ("team-a".into(), "/".into()));
        assert_eq!(routed("/ns/team-a/"), ("team-a".into(), "/".into()));
        assert_eq!(
            routed("/ns/ci_42/_mock/reset"),
            ("ci_42".into(), "/_mock/reset".into())
        );
    }

    #[test]
    fn bad_namespace_names_are_refused() {
        assert!(split("/ns/").is_err());
        assert!(split("/ns//x").is_err());
        assert!(split("/ns/a.b/").is_err());
        assert!(split(&format!("/ns/{}", "a".repeat(65))).is_err());
    }
}
