//! `${…}` expansion in config strings.
//!
//! Forms: `${VAR}`, `${VAR:-default}` (default when unset or empty), `${env:VAR}` (VS Code),
//! `${workspaceFolder}`, `${workspaceFolderBasename}`, `${userHome}`, `${pathSeparator}`,
//! `${/}`, and `${input:ID}` (left as written, with a warning). `$${` writes a literal `${`.
//! Unbraced `$VAR` is left alone: it is common in arguments meant for a shell.

use std::path::{MAIN_SEPARATOR_STR, Path};

/// Where expansion looks things up.
pub(crate) trait Scope {
    /// The value of an environment variable, or `None` when unset.
    fn var(&self, name: &str) -> Option<String>;
    /// The folder `${workspaceFolder}` stands for, when known.
    fn workspace_folder(&self) -> Option<&Path>;
}

/// Why a string could not be expanded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// `${NAME}` with `NAME` unset and no default.
    Unset(String),
    /// Anything else, with a message that says how to fix it.
    Invalid(String),
}

/// The result of expanding one string.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Expanded {
    pub(crate) value: String,
    /// IDs of `${input:ID}` references left unexpanded.
    pub(crate) inputs: Vec<String>,
}

/// Expands every `${…}` in `text`; a fault's message quotes `text`.
#[cfg(test)]
pub(crate) fn expand(text: &str, scope: &dyn Scope) -> Result<Expanded, ExpandError> {
    expand_shown(text, &|| text.to_owned(), scope)
}

/// Expands every `${…}` in `text`. A fault's message shows `text` as `shown()` gives it (the
/// text itself, its URL redacted, or `***` for a secret value; only called on a fault), and
/// quotes an unsupported `${…}` only when that shows it.
pub(crate) fn expand_shown(
    text: &str,
    shown: &dyn Fn() -> String,
    scope: &dyn Scope,
) -> Result<Expanded, ExpandError> {
    let mut value = String::with_capacity(text.len());
    let mut inputs = Vec::new();
    for piece in pieces(text) {
        match piece {
            Piece::Text(text) => value.push_str(text),
            Piece::Unterminated => {
                return Err(ExpandError::Invalid(format!(
                    "unterminated `${{` in {:?}; close it with `}}`, or write `$${{` for a literal `${{`",
                    shown()
                )));
            }
            Piece::Reference(reference) => {
                match resolve(reference, &|| named(reference, &shown()), scope)? {
                    Resolved::Value(v) => value.push_str(&v),
                    Resolved::Input(id) => {
                        value.push_str("${");
                        value.push_str(reference);
                        value.push('}');
                        inputs.push(id);
                    }
                }
            }
        }
    }
    Ok(Expanded { value, inputs })
}

/// A piece of a string as expansion reads it.
enum Piece<'t> {
    /// Text taken as it is: plain text, a `$` not followed by `{`, or the `${` that `$${` stands for.
    Text(&'t str),
    /// What `${…}` encloses.
    Reference(&'t str),
    /// A `${` with no closing `}`; nothing follows it.
    Unterminated,
}

/// `text` in [`Piece`]s: the one reading of `$`, `$${` and `${…}` that expansion and
/// [`input_refs`] share.
fn pieces(text: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let at = rest.find('$').unwrap_or(rest.len());
        let piece = if at > 0 {
            let (text, tail) = rest.split_at(at);
            rest = tail;
            Piece::Text(text)
        } else if rest.starts_with("$${") {
            let (escaped, tail) = rest.split_at(3);
            rest = tail;
            Piece::Text(&escaped[1..])
        } else if let Some(inner) = rest.strip_prefix("${") {
            match inner.split_once('}') {
                Some((reference, tail)) => {
                    rest = tail;
                    Piece::Reference(reference)
                }
                None => {
                    rest = "";
                    Piece::Unterminated
                }
            }
        } else {
            let (dollar, tail) = rest.split_at(1);
            rest = tail;
            Piece::Text(dollar)
        };
        Some(piece)
    })
}

/// How a fault's message names `${reference}`: by itself if `shown` shows it (a secret value's
/// is not repeated), else as "in `shown`".
fn named(reference: &str, shown: &str) -> String {
    let written = format!("${{{reference}}}");
    if shown.contains(&written) { format!("`{written}`") } else { format!("in {shown:?}") }
}

/// The IDs of the `${input:ID}` references in `text` (not those escaped as `$${input:…}`).
pub(crate) fn input_refs(text: &str) -> impl Iterator<Item = &str> {
    pieces(text).filter_map(|piece| match piece {
        Piece::Reference(reference) => reference.strip_prefix("input:"),
        Piece::Text(_) | Piece::Unterminated => None,
    })
}

/// Escapes `text` so that [`expand`] gives it back unchanged.
pub(crate) fn escape(text: &str) -> String {
    text.replace("${", "$${")
}

enum Resolved {
    Value(String),
    Input(String),
}

fn resolve(
    reference: &str,
    named: &dyn Fn() -> String,
    scope: &dyn Scope,
) -> Result<Resolved, ExpandError> {
    let workspace = || {
        scope.workspace_folder().ok_or_else(|| {
            ExpandError::Invalid(format!(
                "`${{{reference}}}` needs the workspace folder, which is only known when loading \
                 a file; load the file by path, or set `Loader::workspace_folder`"
            ))
        })
    };
    let value = match reference {
        "workspaceFolder" => workspace()?.display().to_string(),
        "workspaceFolderBasename" => {
            workspace()?.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        }
        "userHome" => scope.var("HOME").ok_or_else(|| ExpandError::Unset("HOME".to_owned()))?,
        "pathSeparator" | "/" => MAIN_SEPARATOR_STR.to_owned(),
        _ => {
            if let Some(id) = reference.strip_prefix("input:") {
                return Ok(Resolved::Input(id.to_owned()));
            }
            let body = reference.strip_prefix("env:").unwrap_or(reference);
            let (name, default) = match body.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (body, None),
            };
            if !is_var_name(name) {
                return Err(ExpandError::Invalid(unsupported(&named())));
            }
            match (scope.var(name), default) {
                (Some(v), Some(d)) if v.is_empty() => d.to_owned(),
                (Some(v), _) => v,
                (None, Some(d)) => d.to_owned(),
                (None, None) => return Err(ExpandError::Unset(name.to_owned())),
            }
        }
    };
    Ok(Resolved::Value(value))
}

/// The message for an unsupported `${…}`, named as `named` says.
fn unsupported(named: &str) -> String {
    format!(
        "unsupported variable {named}; mcp-config expands `${{VAR}}`, `${{VAR:-default}}`, \
         `${{env:VAR}}`, `${{workspaceFolder}}` and `${{userHome}}` (write `$${{` for a literal `${{`)"
    )
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;

    struct TestScope(HashMap<&'static str, &'static str>, Option<PathBuf>);

    impl Scope for TestScope {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| (*v).to_owned())
        }
        fn workspace_folder(&self) -> Option<&Path> {
            self.1.as_deref()
        }
    }

    fn scope() -> TestScope {
        TestScope(
            HashMap::from([("TOKEN", "t0k"), ("EMPTY", ""), ("HOME", "/home/ada")]),
            Some(PathBuf::from("/src/proj")),
        )
    }

    fn ok(text: &str) -> String {
        expand(text, &scope()).unwrap().value
    }

    #[test]
    fn expands_every_supported_form() {
        assert_eq!(ok("Bearer ${TOKEN}"), "Bearer t0k");
        assert_eq!(ok("${env:TOKEN}/${MISSING:-dflt}"), "t0k/dflt");
        assert_eq!(ok("${env:MISSING:-dflt}/${env:TOKEN:-x}"), "dflt/t0k");
        assert_eq!(ok("${EMPTY:-fallback}"), "fallback");
        assert_eq!(ok("${workspaceFolder}/.env"), "/src/proj/.env");
        assert_eq!(ok("${workspaceFolderBasename}"), "proj");
        assert_eq!(ok("${userHome}${/}x"), "/home/ada/x");
        assert_eq!(ok("cost: $5, $HOME, $${TOKEN}"), "cost: $5, $HOME, ${TOKEN}");
    }

    #[test]
    fn inputs_are_kept_and_reported() {
        let out = expand("key=${input:api-key}", &scope()).unwrap();
        assert_eq!(out.value, "key=${input:api-key}");
        assert_eq!(out.inputs, ["api-key"]);
    }

    #[test]
    fn faults_are_reported() {
        assert_eq!(expand("${NOPE}", &scope()), Err(ExpandError::Unset("NOPE".into())));
        assert_eq!(expand("${env:NOPE}", &scope()), Err(ExpandError::Unset("NOPE".into())));
        assert!(
            matches!(expand("${TOKEN", &scope()), Err(ExpandError::Invalid(m)) if m.contains("unterminated"))
        );
        assert!(
            matches!(expand("${command:x}", &scope()), Err(ExpandError::Invalid(m)) if m.contains("unsupported"))
        );
        let no_folder = TestScope(HashMap::new(), None);
        assert!(matches!(expand("${workspaceFolder}", &no_folder), Err(ExpandError::Invalid(_))));
    }

    #[test]
    fn input_references_are_found_unless_escaped() {
        let refs: Vec<&str> =
            input_refs("a ${input:one} $${input:no} ${X} ${input:two}${input:").collect();
        assert_eq!(refs, ["one", "two"]);
    }

    #[test]
    fn escape_round_trips() {
        for text in ["plain", "${TOKEN}", "$${x}", "a$b${c"] {
            assert_eq!(expand(&escape(text), &scope()).unwrap().value, text);
        }
    }
}
