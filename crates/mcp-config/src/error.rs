//! Errors: [`ConfigError`] for building and querying configurations, [`LoadError`] for reading
//! config files.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An error building or querying an [`MCPConfig`](crate::MCPConfig).
///
/// Each message says what went wrong and how to fix it.
///
/// ```
/// use mcp_config::{ConfigError, MCPConfig, StdioConfig};
///
/// let config = MCPConfig::new([StdioConfig::new("ArxivServer", "python3").into()])?;
/// let err = config.get("ArxivServr").unwrap_err();
/// assert!(matches!(err, ConfigError::UnknownServer { .. }));
/// assert_eq!(
///     err.to_string(),
///     "unknown MCP server \"ArxivServr\": did you mean \"ArxivServer\"? Known servers: ArxivServer"
/// );
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No server has this name.
    #[error("unknown MCP server {name:?}: {}", unknown_server_help(.known, .suggestion.as_deref()))]
    UnknownServer {
        /// The name asked for.
        name: String,
        /// Every configured name, sorted (the message shows the first 20).
        known: Vec<String>,
        /// The known name closest to `name`, when one is close.
        suggestion: Option<String>,
    },
    /// Two servers share a name.
    #[error("duplicate server name {name:?}: every server needs its own name; rename one of them")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// A server's name is empty.
    #[error("a server has an empty name: give every server a non-empty `server_name`")]
    EmptyName,
    /// A URL does not parse or is not `http`/`https`.
    #[error(
        "invalid URL {url:?}: {reason}; write an absolute http:// or https:// URL such as http://127.0.0.1:8000/sse"
    )]
    InvalidUrl {
        /// The text that was given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The URL of a client ID metadata document
    /// ([`OAuthConfig::client_metadata_url`](crate::OAuthConfig::client_metadata_url)) does not
    /// parse, is not `https`, or has no path.
    ///
    /// ```
    /// use mcp_config::{ConfigError, OAuthConfig};
    ///
    /// let err = OAuthConfig::default().client_metadata_url("http://app.example.com/client.json");
    /// let err: ConfigError = err.unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid client metadata URL \"http://app.example.com/client.json\": the scheme is \
    ///      `http`, but it must be `https`; write the https URL of the client ID metadata \
    ///      document, such as https://app.example.com/oauth/client.json"
    /// );
    /// ```
    #[error(
        "invalid client metadata URL {url:?}: {reason}; write the https URL of the client ID \
         metadata document, such as https://app.example.com/oauth/client.json"
    )]
    InvalidClientMetadataUrl {
        /// The text that was given, with secrets hidden.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The token endpoint of a cross-app access identity provider
    /// ([`IdpConfig::new`](crate::IdpConfig::new)) does not parse or is not `http(s)`.
    ///
    /// ```
    /// use mcp_config::{ConfigError, IdpConfig, SecretRef};
    ///
    /// let err = IdpConfig::new("ftp://idp.example.com/token", "c", SecretRef::env("T")).unwrap_err();
    /// assert!(matches!(err, ConfigError::InvalidIdpTokenEndpoint { .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid identity provider token endpoint \"ftp://idp.example.com/token\": the scheme \
    ///      is `ftp`, but it must be `https` (or `http`)"
    /// );
    /// ```
    #[error("invalid identity provider token endpoint {url:?}: {reason}")]
    InvalidIdpTokenEndpoint {
        /// The text that was given, with secrets hidden.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A glob of a [`ToolFilter`](crate::ToolFilter) does not parse.
    ///
    /// ```
    /// use mcp_config::{ConfigError, ToolFilter};
    ///
    /// let err = ToolFilter::default().allow(["read_[", "list_*"]).unwrap_err();
    /// assert!(matches!(
    ///     &err,
    ///     ConfigError::InvalidToolGlob { key, pattern: Some(pattern), .. }
    ///         if key == "tools.allow" && pattern == "read_["
    /// ));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "`tools.allow`: invalid glob \"read_[\": unclosed character class; missing ']'; \
    ///      in a glob `*` matches any text, `?` one character, `[abc]` one of a set, `{a,b}` \
    ///      either alternative, and `\\` escapes the next character (`\\*` is a literal `*`)"
    /// );
    /// ```
    #[error("`{key}`: {}", tool_glob_help(.pattern.as_deref(), .reason))]
    InvalidToolGlob {
        /// The list it is in: `tools.allow` or `tools.deny`.
        key: String,
        /// The glob refused; `None` when every glob parses alone but the list is too large to
        /// compile as a whole.
        pattern: Option<String>,
        /// Why, in the words of the `globset` crate.
        reason: String,
    },
}

fn tool_glob_help(pattern: Option<&str>, reason: &str) -> String {
    match pattern {
        Some(pattern) => format!(
            "invalid glob {pattern:?}: {reason}; in a glob `*` matches any text, `?` one \
             character, `[abc]` one of a set, `{{a,b}}` either alternative, and `\\` escapes the \
             next character (`\\*` is a literal `*`)"
        ),
        None => format!(
            "the globs cannot be compiled together: {reason}; use fewer or simpler patterns"
        ),
    }
}

fn unknown_server_help(known: &[String], suggestion: Option<&str>) -> String {
    let mut help = String::new();
    if let Some(suggestion) = suggestion {
        help.push_str(&format!("did you mean {suggestion:?}? "));
    }
    if known.is_empty() {
        help.push_str("the configuration has no servers; add one");
    } else {
        // A config may hold thousands of servers: the message names the first few.
        const SHOWN: usize = 20;
        help.push_str("Known servers: ");
        help.push_str(&known[..known.len().min(SHOWN)].join(", "));
        if known.len() > SHOWN {
            help.push_str(&format!(" and {} more", known.len() - SHOWN));
        }
    }
    help
}

/// A 1-based line and column in a config file.
///
/// ```
/// use mcp_config::{Format, Location, MCPConfig};
///
/// let err = MCPConfig::from_str("{\n  \"mcpServers\": 3\n}", Format::Json).unwrap_err();
/// assert_eq!(err.location(), Some(Location { line: 2, column: 17 }));
/// assert_eq!(err.location().unwrap().to_string(), "2:17");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text` (clamped to the text's length).
    pub(crate) fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl Location {
    /// The location of the `column`th byte (from 1) of line `line` of `text`, in characters, as
    /// serde_json counts them in bytes. A byte inside a character stands for that character.
    pub(crate) fn of_line_byte(text: &str, line: usize, column: usize) -> Location {
        let line_text = text.split('\n').nth(line.saturating_sub(1)).unwrap_or_default();
        let mut end = column.min(line_text.len());
        while !line_text.is_char_boundary(end) {
            end += 1;
        }
        Location { line, column: line_text[..end].chars().count().max(1) }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// An error reading a config file: where it is (file, line, column) and what it is.
///
/// The message names the place, says what is wrong and how to fix it:
///
/// ```
/// use mcp_config::{Format, LoadErrorKind, MCPConfig};
///
/// let text = r#"{ "mcpServers": { "arxiv": { "args": ["server.py"] } } }"#;
/// let err = MCPConfig::from_str(text, Format::Json).unwrap_err();
/// assert!(matches!(err.kind(), LoadErrorKind::Invalid { .. }));
/// assert_eq!(err.location().map(|l| l.line), Some(1));
/// assert!(err.to_string().contains("server \"arxiv\" has neither `command`"));
/// ```
#[derive(Debug)]
pub struct LoadError {
    path: Option<PathBuf>,
    location: Option<Location>,
    /// Boxed: a `Result<_, LoadError>` stays small.
    kind: Box<LoadErrorKind>,
}

/// What went wrong while loading a config file.
///
/// ```
/// use mcp_config::{LoadErrorKind, Loader};
///
/// let text = r#"{"mcpServers": {"gh": {"url": "https://example.com/mcp",
///                                 "headers": {"Authorization": "Bearer ${GH_TOKEN}"}}}}"#;
/// let err = Loader::new().vars([("OTHER", "x")]).load_str(text).unwrap_err();
/// assert!(matches!(err.kind(), LoadErrorKind::UnsetVariable { name } if name == "GH_TOKEN"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// The file could not be read.
    Io(io::Error),
    /// The file is empty, or only whitespace.
    Empty,
    /// The file starts with a UTF-8 byte order mark.
    ByteOrderMark,
    /// The file is not valid UTF-8.
    InvalidUtf8,
    /// The text is not valid JSON, JSONC or TOML.
    Syntax {
        /// The parser's description of the fault.
        message: String,
    },
    /// The text parses but does not describe valid servers: a missing or mistyped field, a
    /// duplicate name or key, an unknown transport, a bad URL or duration, …
    Invalid {
        /// What is wrong, and how to fix it.
        message: String,
    },
    /// A `${VAR}` names an environment variable that is not set and has no default.
    UnsetVariable {
        /// The variable's name.
        name: String,
    },
    /// A `${input:ID}` names an input the file's `inputs` list does not declare.
    UndeclaredInput {
        /// The server it is in, when known.
        server: Option<String>,
        /// The ID written.
        id: String,
        /// The IDs `inputs` declares, sorted.
        declared: Vec<String>,
        /// The declared ID closest to `id`, when one is close.
        suggestion: Option<String>,
    },
    /// The file is larger than the loader's limit ([`Loader::max_size`](crate::Loader::max_size)).
    TooLarge {
        /// The file's size in bytes (or a lower bound, for a file that kept growing).
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The top level holds neither `servers` nor `mcpServers`.
    UnknownLayout {
        /// The top-level keys that were found.
        found: Vec<String>,
    },
}

impl LoadError {
    pub(crate) fn new(kind: LoadErrorKind) -> Self {
        LoadError { path: None, location: None, kind: Box::new(kind) }
    }

    pub(crate) fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub(crate) fn in_file(mut self, path: Option<&Path>) -> Self {
        self.path = path.map(Path::to_path_buf);
        self
    }

    /// The file, when the text came from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Where in the text the fault is, when it is at a place.
    pub fn location(&self) -> Option<Location> {
        self.location
    }

    /// What went wrong.
    pub fn kind(&self) -> &LoadErrorKind {
        &self.kind
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, &self.location) {
            (Some(path), Some(loc)) => write!(f, "{}:{loc}: ", path.display())?,
            (Some(path), None) => write!(f, "{}: ", path.display())?,
            (None, Some(loc)) => write!(f, "line {}, column {}: ", loc.line, loc.column)?,
            (None, None) => {}
        }
        write!(f, "{}", self.kind)
    }
}

impl fmt::Display for LoadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadErrorKind::Io(err) if err.kind() == io::ErrorKind::NotFound => {
                write!(f, "cannot read the config file: {err}; check the path")
            }
            LoadErrorKind::Io(err) => {
                write!(f, "cannot read the config file: {err}; check that it is a readable file")
            }
            LoadErrorKind::Empty => f.write_str(
                "the config file is empty; write servers into it, such as {\"servers\": []} \
                 (see docs/configuration.md)",
            ),
            LoadErrorKind::ByteOrderMark => f.write_str(
                "the file starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM",
            ),
            LoadErrorKind::InvalidUtf8 => f.write_str(
                "the file is not valid UTF-8 (first bad byte here); save it with UTF-8 encoding",
            ),
            LoadErrorKind::Syntax { message } => write!(f, "{message}"),
            LoadErrorKind::Invalid { message } => f.write_str(message),
            LoadErrorKind::UnsetVariable { name } => write!(
                f,
                "environment variable `{name}` is not set; set it, or give a default with \
                 `${{{name}:-default}}`"
            ),
            LoadErrorKind::UndeclaredInput { server, id, declared, suggestion } => {
                if let Some(server) = server {
                    write!(f, "server {server:?}: ")?;
                }
                write!(f, "`${{input:{id}}}` names no input the file declares; ")?;
                if let Some(suggestion) = suggestion {
                    write!(f, "did you mean `${{input:{suggestion}}}`? ")?;
                }
                if declared.is_empty() {
                    f.write_str(
                        "the file has no `inputs` list; declare it there, such as \
                         \"inputs\": [{\"id\": \"api-key\", \"type\": \"promptString\", \"password\": true}]",
                    )
                } else {
                    write!(
                        f,
                        "the declared inputs are {}; fix the ID, or add it to `inputs`",
                        declared.join(", ")
                    )
                }
            }
            LoadErrorKind::TooLarge { size, limit } => write!(
                f,
                "the config is {size} bytes, over the limit of {limit} bytes ({}); split it, or \
                 raise the limit with `Loader::max_size`",
                human_size(*limit)
            ),
            LoadErrorKind::UnknownLayout { found } => {
                f.write_str(
                    "no servers found: expected a top-level `servers` (mcp-config's own form, or \
                     VS Code's .vscode/mcp.json) or `mcpServers` (Claude Desktop, Cursor, Claude Code)",
                )?;
                if !found.is_empty() {
                    write!(f, "; the top-level keys are: {}", found.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// `bytes` in KiB, MiB or GiB with at most one decimal: "9.8 KiB", "64 MiB".
fn human_size(bytes: u64) -> String {
    let units = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    let Some((unit, size)) = units.into_iter().find(|(_, size)| bytes >= *size) else {
        return format!("{bytes} B");
    };
    let shown = format!("{:.1}", bytes as f64 / size as f64);
    format!("{} {unit}", shown.strip_suffix(".0").unwrap_or(&shown))
}

/// The message already includes any underlying I/O error, so `source()` is `None`: error
/// reporters would print it twice otherwise. [`LoadError::kind`] gives access to it.
impl std::error::Error for LoadError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters() {
        let text = "ab\ncdé\nf";
        assert_eq!(Location::of_offset(text, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of_offset(text, 3), Location { line: 2, column: 1 });
        assert_eq!(Location::of_offset(text, 7), Location { line: 2, column: 4 });
        assert_eq!(Location::of_offset(text, 99), Location { line: 3, column: 2 });
    }

    #[test]
    fn byte_columns_become_character_columns() {
        let text = "{\n\"é\u{1e130}x";
        assert_eq!(Location::of_line_byte(text, 2, 1), Location { line: 2, column: 1 });
        assert_eq!(Location::of_line_byte(text, 2, 3), Location { line: 2, column: 2 });
        assert_eq!(Location::of_line_byte(text, 2, 5), Location { line: 2, column: 3 });
        assert_eq!(Location::of_line_byte(text, 2, 8), Location { line: 2, column: 4 });
        assert_eq!(Location::of_line_byte(text, 2, 99), Location { line: 2, column: 4 });
        assert_eq!(Location::of_line_byte(text, 1, 0), Location { line: 1, column: 1 });
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(10_000), "9.8 KiB");
        assert_eq!(human_size(64 << 20), "64 MiB");
        assert_eq!(human_size(3 << 30), "3 GiB");
    }
}
