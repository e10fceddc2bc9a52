//! Reading config files: [`Loader`], [`Format`], [`Loaded`] and [`Warning`].
//!
//! The pipeline: bytes → BOM, UTF-8 and emptiness checks → JSONC comments blanked out (same
//! lines and columns) → one pass of a serde visitor over the JSON or TOML that finds the layout,
//! expands `${…}`, checks every entry and builds the servers, so that every fault it finds is
//! reported at the place the parser was at.

mod dotenv;
mod jsonc;
mod raw;
mod vars;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeSeed;

use crate::config::MCPConfig;
use crate::error::{LoadError, LoadErrorKind, Location};
use crate::server::ServerConfig;

/// The syntax of a config file.
///
/// ```
/// use mcp_config::{Format, Loader};
///
/// // VS Code's mcp.json is JSONC: comments and trailing commas are allowed.
/// let text = r#"{
///   // my servers
///   "servers": { "fetch": { "type": "stdio", "command": "uvx", "args": ["mcp-server-fetch"], }, },
/// }"#;
/// let loaded = Loader::new().format(Format::Jsonc).load_str(text)?;
/// assert_eq!(loaded.config.len(), 1);
/// // Plain JSON refuses them, and says where and why.
/// assert!(Loader::new().format(Format::Json).load_str(text).is_err());
/// # Ok::<(), mcp_config::LoadError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Decide from the file name, else from the text: `.toml` is TOML; `.jsonc` and
    /// `.vscode/mcp.json` are JSONC; other files are JSON. Text without a path is JSON when it
    /// starts with `{`, else TOML.
    #[default]
    Auto,
    /// Strict JSON.
    Json,
    /// JSON with `//` and `/* */` comments and trailing commas, as VS Code reads it.
    Jsonc,
    /// TOML.
    Toml,
}

/// The layout a config file was written in, found from its content.
///
/// ```
/// use mcp_config::{Dialect, MCPConfig, Format};
///
/// let claude = MCPConfig::from_str(r#"{"mcpServers": {"a": {"command": "a"}}}"#, Format::Json)?;
/// assert_eq!(claude.dialect, Dialect::McpServers);
/// let ours = MCPConfig::from_str(r#"{"servers": [{"server_name": "a", "command": "a"}]}"#, Format::Json)?;
/// assert_eq!(ours.dialect, Dialect::Native);
/// # Ok::<(), mcp_config::LoadError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// mcp-config's own layout: `{"servers": [{"server_name": …, "transport": …}, …]}`.
    Native,
    /// `{"mcpServers": {name: {…}}}`: Claude Desktop, Cursor, Windsurf, Claude Code's `.mcp.json`.
    McpServers,
    /// `{"servers": {name: {"type": …}}, "inputs": […]}`: VS Code's `.vscode/mcp.json`.
    VsCode,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Native => "mcp-config native",
            Dialect::McpServers => "mcpServers (Claude Desktop / Cursor / Claude Code)",
            Dialect::VsCode => "VS Code mcp.json",
        })
    }
}

/// A loaded configuration, with what the loader noticed but did not refuse.
///
/// ```
/// use mcp_config::{Format, MCPConfig};
///
/// let text = r#"{"mcpServers": {"a": {"command": "a", "alwaysAllow": ["x"]}}}"#;
/// let loaded = MCPConfig::from_str(text, Format::Json)?;
/// assert_eq!(loaded.config.names().collect::<Vec<_>>(), ["a"]);
/// assert_eq!(loaded.warnings.len(), 1);
/// # Ok::<(), mcp_config::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Loaded {
    /// The servers.
    pub config: MCPConfig,
    /// Things worth telling the user: keys that were ignored, `${input:…}` left unexpanded,
    /// disabled servers skipped.
    pub warnings: Vec<Warning>,
    /// The layout the file was written in.
    pub dialect: Dialect,
}

/// Something the loader noticed and let pass.
///
/// ```
/// use mcp_config::{Format, MCPConfig, WarningKind};
///
/// let text = r#"{"servers": {"gh": {"type": "stdio", "command": "gh-mcp",
///                                     "env": {"TOKEN": "${input:gh-token}"}}},
///               "inputs": [{"id": "gh-token", "type": "promptString", "password": true}]}"#;
/// let loaded = MCPConfig::from_str(text, Format::Json)?;
/// let warning = &loaded.warnings[0];
/// assert_eq!(warning.server.as_deref(), Some("gh"));
/// assert_eq!(warning.kind, WarningKind::Input { id: "gh-token".into() });
/// assert!(warning.to_string().starts_with("server \"gh\": `${input:gh-token}` is left as written"));
/// # Ok::<(), mcp_config::LoadError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warning {
    /// The server it concerns, if any.
    pub server: Option<String>,
    /// What it is.
    pub kind: WarningKind,
}

/// What a [`Warning`] is about. See [`Warning`] for an example.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// `${input:ID}` (declared in the file's `inputs`): VS Code prompts the user for it;
    /// mcp-config cannot and leaves it as written. An undeclared ID is an error
    /// ([`LoadErrorKind::UndeclaredInput`](crate::LoadErrorKind::UndeclaredInput)).
    Input {
        /// The input's ID.
        id: String,
    },
    /// A key mcp-config does not use was ignored.
    UnknownKey {
        /// The key.
        key: String,
    },
    /// The server is marked `"disabled": true` and was skipped.
    Disabled,
    /// An entry under a name key also holds a different `name`/`server_name`, which is ignored.
    NameIgnored {
        /// The ignored inner name.
        name: String,
    },
    /// An OAuth client secret is written in the file itself (Cursor's `auth.CLIENT_SECRET`, or
    /// `auth.client_secret`), rather than in an environment variable (`${env:VAR}`,
    /// `client_secret_env`). It is kept as [`SecretRef::Value`](crate::SecretRef::Value).
    ///
    /// ```
    /// use mcp_config::{Format, MCPConfig, WarningKind};
    ///
    /// let text = r#"{"mcpServers": {"app": {"url": "https://app.example.com/mcp",
    ///     "auth": {"CLIENT_ID": "app", "CLIENT_SECRET": "s3cret"}}}}"#;
    /// let loaded = MCPConfig::from_str(text, Format::Json)?;
    /// let key = "auth.CLIENT_SECRET".to_owned();
    /// assert_eq!(loaded.warnings[0].kind, WarningKind::LiteralSecret { key });
    /// assert!(!loaded.warnings[0].to_string().contains("s3cret"));
    /// # Ok::<(), mcp_config::LoadError>(())
    /// ```
    LiteralSecret {
        /// The key, as the file spells it, such as `auth.CLIENT_SECRET`.
        key: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(server) = &self.server {
            write!(f, "server {server:?}: ")?;
        }
        match &self.kind {
            WarningKind::Input { id } => write!(
                f,
                "`${{input:{id}}}` is left as written: VS Code prompts for inputs, mcp-config \
                 cannot; put the value in an environment variable and write `${{env:VAR}}` instead"
            ),
            WarningKind::UnknownKey { key } => {
                write!(f, "ignored key `{key}`, which mcp-config does not use")
            }
            WarningKind::Disabled => f.write_str("skipped: it is marked \"disabled\": true"),
            WarningKind::NameIgnored { name } => write!(
                f,
                "ignored the inner name {name:?}: in this layout the key an entry sits under names it"
            ),
            WarningKind::LiteralSecret { key } => write!(
                f,
                "`{key}` holds the OAuth client secret itself: keep the secret in an environment \
                 variable and write `${{env:VAR}}` there instead (or `client_secret_env` in \
                 mcp-config's own layout), so that it stays out of the file"
            ),
        }
    }
}

/// Reads config files, with control over the format and where `${…}` values come from.
///
/// ```
/// use mcp_config::{Format, Loader};
///
/// let text = r#"
/// [[servers]]
/// server_name = "github"
/// transport = "streamable_http"
/// url = "https://api.example.com/mcp"
/// headers = { Authorization = "Bearer ${GITHUB_TOKEN}" }
/// "#;
/// let loaded = Loader::new()
///     .vars([("GITHUB_TOKEN", "ghp_123")])
///     .format(Format::Toml)
///     .load_str(text)?;
/// let mcp_config::ServerConfig::StreamableHttp(github) = loaded.config.get("github")? else {
///     unreachable!()
/// };
/// assert_eq!(github.headers["Authorization"], "Bearer ghp_123");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Loader {
    format: Format,
    vars: Option<BTreeMap<String, String>>,
    workspace_folder: Option<PathBuf>,
    max_size: u64,
}

impl Default for Loader {
    fn default() -> Self {
        Loader {
            format: Format::Auto,
            vars: None,
            workspace_folder: None,
            max_size: Loader::DEFAULT_MAX_SIZE,
        }
    }
}

impl Loader {
    /// The largest config a loader reads unless told otherwise: 64 MiB. A file of 100,000
    /// servers is about 10 MB.
    pub const DEFAULT_MAX_SIZE: u64 = 64 * 1024 * 1024;

    /// A loader that detects the format and expands variables from the process environment.
    pub fn new() -> Self {
        Loader::default()
    }

    /// Refuses files (and text) over `bytes` with [`LoadErrorKind::TooLarge`], instead of
    /// [`DEFAULT_MAX_SIZE`](Self::DEFAULT_MAX_SIZE). A file's size is checked before it is read.
    ///
    /// ```
    /// use mcp_config::{LoadErrorKind, Loader};
    ///
    /// let text = r#"{"mcpServers": {"a": {"command": "a"}}}"#;
    /// let err = Loader::new().max_size(16).load_str(text).unwrap_err();
    /// assert!(matches!(err.kind(), LoadErrorKind::TooLarge { limit: 16, .. }));
    /// ```
    #[must_use]
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// Reads text as `format` instead of detecting it.
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Expands `${VAR}` from these variables only, instead of the process environment.
    #[must_use]
    pub fn vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.vars = Some(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    /// Sets the folder `${workspaceFolder}` stands for. By default it is the folder that holds
    /// `.vscode/` for a `.vscode/mcp.json` file, else the folder holding the file.
    #[must_use]
    pub fn workspace_folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.workspace_folder = Some(folder.into());
        self
    }

    /// Reads the file at `path`.
    ///
    /// # Errors
    /// A [`LoadError`] naming the file, line and column, what is wrong and how to fix it.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Loaded, LoadError> {
        let path = path.as_ref();
        let fail = |kind| LoadError::new(kind).in_file(Some(path));
        let bytes = self.read(path).map_err(fail)?;
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(err) => {
                let valid = String::from_utf8_lossy(&bytes[..err.valid_up_to()]);
                let at = Location::of_offset(&valid, valid.len());
                return Err(fail(LoadErrorKind::InvalidUtf8).at(Some(at)));
            }
        };
        let format = match self.format {
            Format::Auto => format_of_path(path),
            format => format,
        };
        let folder = self.workspace_folder.clone().or_else(|| default_workspace_folder(path));
        let base_dir = path.parent().map(Path::to_path_buf);
        self.parse(text, format, folder, base_dir).map_err(|err| err.in_file(Some(path)))
    }

    /// The bytes of the file at `path`, refusing it before reading when it is over the limit
    /// (and while reading, for files whose size is not known in advance, such as pipes).
    fn read(&self, path: &Path) -> Result<Vec<u8>, LoadErrorKind> {
        use std::io::Read as _;
        let too_large = |size| LoadErrorKind::TooLarge { size, limit: self.max_size };
        let file = std::fs::File::open(path).map_err(LoadErrorKind::Io)?;
        let size = file.metadata().map_err(LoadErrorKind::Io)?.len();
        if size > self.max_size {
            return Err(too_large(size));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or_default());
        file.take(self.max_size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(LoadErrorKind::Io)?;
        match bytes.len() as u64 {
            read if read > self.max_size => Err(too_large(read)),
            _ => Ok(bytes),
        }
    }

    /// Reads config text. `${workspaceFolder}` needs [`workspace_folder`](Self::workspace_folder)
    /// here, and relative `envFile` paths are taken from the current directory.
    ///
    /// # Errors
    /// A [`LoadError`] naming the line and column, what is wrong and how to fix it.
    pub fn load_str(&self, text: &str) -> Result<Loaded, LoadError> {
        if text.len() as u64 > self.max_size {
            let kind = LoadErrorKind::TooLarge { size: text.len() as u64, limit: self.max_size };
            return Err(LoadError::new(kind));
        }
        let format = match self.format {
            Format::Auto if text.trim_start().starts_with('{') => Format::Json,
            Format::Auto => Format::Toml,
            format => format,
        };
        self.parse(text, format, self.workspace_folder.clone(), None)
    }

    fn parse(
        &self,
        text: &str,
        format: Format,
        workspace_folder: Option<PathBuf>,
        base_dir: Option<PathBuf>,
    ) -> Result<Loaded, LoadError> {
        if text.starts_with('\u{feff}') {
            return Err(LoadError::new(LoadErrorKind::ByteOrderMark)
                .at(Some(Location { line: 1, column: 1 })));
        }
        if text.trim().is_empty() {
            return Err(LoadError::new(LoadErrorKind::Empty));
        }
        let stripped = (format == Format::Jsonc).then(|| jsonc::strip(text));
        let json = stripped.as_deref().unwrap_or(text);
        let inputs = declared_inputs(if format == Format::Toml { text } else { json }, format);
        let scope = Scope { vars: self.vars.as_ref(), workspace_folder };
        let ctx = raw::Ctx::new(scope, base_dir, inputs);
        let parsed = match format {
            Format::Toml => parse_toml(text, &ctx),
            Format::Jsonc => parse_json(json, text, &ctx, true),
            Format::Json | Format::Auto => parse_json(text, text, &ctx, false),
        }?;
        let (warnings, _) = ctx.finish();
        Ok(Loaded { config: parsed.config, warnings, dialect: parsed.dialect })
    }
}

/// The IDs the top-level `inputs` list declares (VS Code's `[{"id": …, "type": …}]`), when
/// the text uses `${input:…}` at all; `None` when it does not, or when it does not parse (the
/// main pass then says why).
fn declared_inputs(text: &str, format: Format) -> Option<raw::Inputs> {
    use serde_json::Value;
    #[derive(serde::Deserialize)]
    struct Top {
        #[serde(default)]
        inputs: Option<Value>,
    }
    if !text.contains("${input:") {
        return None;
    }
    let top: Top = match format {
        Format::Toml => toml::from_str(text).ok()?,
        _ => serde_json::from_str(text).ok()?,
    };
    let ids = top.inputs.iter().filter_map(Value::as_array).flatten();
    let declared = ids.filter_map(|i| i.get("id")?.as_str()).map(str::to_owned).collect();
    Some(raw::Inputs { declared, listed: top.inputs.is_some() })
}

fn parse_json(
    text: &str,
    original: &str,
    ctx: &raw::Ctx<'_>,
    jsonc: bool,
) -> Result<raw::Parsed, LoadError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let result =
        raw::FileSeed(ctx).deserialize(&mut de).and_then(|parsed| de.end().map(|()| parsed));
    result.map_err(|err| {
        // JSONC blanking keeps every byte's offset: the original text gives the characters.
        let at =
            (err.line() > 0).then(|| Location::of_line_byte(original, err.line(), err.column()));
        let kind = match ctx.take_error() {
            Some(kind) => kind,
            None if err.is_data() => {
                LoadErrorKind::Invalid { message: ctx.describe(&strip_position(&err)) }
            }
            None => {
                LoadErrorKind::Syntax { message: json_syntax_message(&err, original, at, jsonc) }
            }
        };
        LoadError::new(kind).at(at)
    })
}

fn json_syntax_message(
    err: &serde_json::Error,
    text: &str,
    at: Option<Location>,
    jsonc: bool,
) -> String {
    let message = strip_position(err);
    let found = at.and_then(|at| text.lines().nth(at.line - 1)?.chars().nth(at.column - 1));
    let hint = if !jsonc && (found == Some('/') || message.contains("trailing comma")) {
        "; plain JSON allows no comments or trailing commas: remove it (only `.jsonc` files and \
         VS Code's .vscode/mcp.json are read as JSONC)"
    } else if err.is_eof() {
        "; the text ends early: close every `{` and `[`"
    } else {
        "; fix the JSON syntax here"
    };
    format!("invalid JSON: {message}{hint}")
}

/// serde_json's message without its " at line L column C" suffix (we print the place ourselves).
fn strip_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    message.strip_suffix(&suffix).map_or(message.clone(), str::to_owned)
}

fn parse_toml(text: &str, ctx: &raw::Ctx<'_>) -> Result<raw::Parsed, LoadError> {
    let at = |err: &toml::de::Error| err.span().map(|span| Location::of_offset(text, span.start));
    let syntax = |err: toml::de::Error| {
        let message =
            format!("invalid TOML: {}; fix the TOML syntax here", err.message().trim_end());
        LoadError::new(LoadErrorKind::Syntax { message }).at(at(&err))
    };
    let de = toml::Deserializer::parse(text).map_err(syntax)?;
    raw::FileSeed(ctx).deserialize(de).map_err(|err| {
        // Some grammar faults only show while deserializing: an untyped parse tells them
        // apart from content faults (only on this error path, to parse once when all is well).
        if let Err(grammar) = text.parse::<toml::Table>() {
            return syntax(grammar);
        }
        let kind = ctx.take_error().unwrap_or_else(|| LoadErrorKind::Invalid {
            message: ctx.describe(err.message().trim_end()),
        });
        // toml places errors raised inside a table at the table's start; the visitors know better.
        let doc = toml::de::DeTable::parse(text).ok();
        let span = doc.and_then(|doc| ctx.place().span(doc.get_ref()));
        let location = span.map(|span| Location::of_offset(text, span.start)).or_else(|| at(&err));
        LoadError::new(kind).at(location)
    })
}

/// The format a file's name implies.
fn format_of_path(path: &Path) -> Format {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("toml") => Format::Toml,
        Some("jsonc") => Format::Jsonc,
        _ if in_vscode_folder(path) => Format::Jsonc,
        _ => Format::Json,
    }
}

fn in_vscode_folder(path: &Path) -> bool {
    path.parent().and_then(Path::file_name).is_some_and(|name| name == ".vscode")
}

/// The folder `${workspaceFolder}` stands for when loading `path`.
fn default_workspace_folder(path: &Path) -> Option<PathBuf> {
    let path = std::path::absolute(path).ok()?;
    let parent = path.parent()?;
    if in_vscode_folder(&path) { parent.parent() } else { Some(parent) }.map(Path::to_path_buf)
}

/// Variables from the loader's map, or else from the process environment.
struct Scope<'a> {
    vars: Option<&'a BTreeMap<String, String>>,
    workspace_folder: Option<PathBuf>,
}

impl vars::Scope for Scope<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match self.vars {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    fn workspace_folder(&self) -> Option<&Path> {
        self.workspace_folder.as_deref()
    }
}

/// Reading and writing config files: the file side of [`MCPConfig`].
impl MCPConfig {
    /// Reads a config file, in any format [`Loader`] knows, expanding `${VAR}` from the
    /// process environment. Shorthand for `Loader::new().load(path)`.
    ///
    /// ```no_run
    /// use mcp_config::MCPConfig;
    ///
    /// let loaded = MCPConfig::load(".vscode/mcp.json")?;
    /// for warning in &loaded.warnings {
    ///     eprintln!("warning: {warning}");
    /// }
    /// println!("{}", loaded.config.get("github")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A [`LoadError`] naming the file, line and column, what is wrong and how to fix it.
    pub fn load(path: impl AsRef<Path>) -> Result<Loaded, LoadError> {
        Loader::new().load(path)
    }

    /// Reads config text in `format`, expanding `${VAR}` from the process environment.
    /// Shorthand for `Loader::new().format(format).load_str(text)`.
    ///
    /// ```
    /// use mcp_config::{Format, MCPConfig};
    ///
    /// let text = r#"{"mcpServers": {"arxiv": {"command": "uvx", "args": ["arxiv-mcp-server"]}}}"#;
    /// let loaded = MCPConfig::from_str(text, Format::Json)?;
    /// assert_eq!(loaded.config.get("arxiv")?.to_string(), "arxiv (stdio: uvx arxiv-mcp-server)");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A [`LoadError`] naming the line and column, what is wrong and how to fix it.
    #[allow(clippy::should_implement_trait)] // two arguments: not `FromStr`
    pub fn from_str(text: &str, format: Format) -> Result<Loaded, LoadError> {
        Loader::new().format(format).load_str(text)
    }

    /// This configuration as a native JSON config file, ready for [`MCPConfig::load`].
    ///
    /// Strings that [`Loader`] would expand are escaped (`${` is written `$${`), so loading the
    /// text gives back an equal configuration. Secrets are written as they are: print
    /// [`redacted`](Self::redacted) instead when showing a configuration to people.
    ///
    /// ```
    /// use mcp_config::{Format, MCPConfig, StdioConfig};
    ///
    /// let config = MCPConfig::new([StdioConfig::new("sh", "sh").args(["-c", "echo ${HOME}"]).into()])?;
    /// let text = config.to_json_string();
    /// assert_eq!(MCPConfig::from_str(&text, Format::Json)?.config, config);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json_string(&self) -> String {
        let servers: Vec<serde_json::Value> = self.iter().map(escaped_json).collect();
        let file = serde_json::json!({ "servers": servers });
        // A `Value` built from strings, numbers, booleans, arrays and objects always serializes.
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }
}

/// One server as JSON in the native layout, with expandable strings escaped.
fn escaped_json(server: &ServerConfig) -> serde_json::Value {
    let mut value = serde_json::to_value(server).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        for (key, field) in object.iter_mut() {
            if raw::EXPANDED_KEYS.contains(&key.as_str()) {
                escape_strings(field);
            }
            // In `auth`, only the client ID and a secret written as it is are expanded.
            if key == "auth"
                && let Some(auth) = field.as_object_mut()
            {
                for expanded in ["client_id", "client_secret"] {
                    auth.get_mut(expanded).into_iter().for_each(escape_strings);
                }
            }
        }
    }
    value
}

fn escape_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *s = vars::escape(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(escape_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(escape_strings),
        _ => {}
    }
}
