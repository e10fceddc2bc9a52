//! [`MCPConfig`]: many servers, looked up by name.
//!
//! Reading and writing config files (`MCPConfig::load`, `from_str`, `to_json_string`) lives in
//! `load/`, which depends on this module and never the other way round.

use std::fmt;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::server::ServerConfig;

/// Every MCP server an application may open a session to, each under its own name.
///
/// Build one in code, like the seed notebook does:
///
/// ```
/// use std::time::Duration;
/// use mcp_config::{MCPConfig, SseConfig, StdioConfig};
///
/// let arxiv = StdioConfig::new("ArxivServer", "python3")
///     .args(["mcp/mcp_arxiv.py", "stdio", "--storage-path", "/tmp/arxiv_papers"]);
/// let wikipedia = SseConfig::new("WikipediaServer", "http://127.0.0.1:8000/sse")?
///     .timeout(Duration::from_secs(10))
///     .sse_read_timeout(Duration::from_secs(60));
/// let config = MCPConfig::new([arxiv.into(), wikipedia.into()])?;
///
/// assert_eq!(config.names().collect::<Vec<_>>(), ["ArxivServer", "WikipediaServer"]);
/// assert_eq!(config.get("WikipediaServer")?.server_name(), "WikipediaServer");
/// # Ok::<(), mcp_config::ConfigError>(())
/// ```
///
/// or read one from a file with [`MCPConfig::load`].
///
/// Lookups by name ([`get`](Self::get), [`contains`](Self::contains), [`push`](Self::push)'s
/// duplicate check) are hashed: O(1) however many servers there are.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "ConfigFile")]
pub struct MCPConfig {
    servers: Vec<ServerConfig>,
    /// Each server's position in `servers`, found by its name.
    #[serde(skip)]
    index: NameIndex,
}

/// Positions in a `[ServerConfig]`, hashed by the server's name. The names are not copied: a
/// slot holds only a position, and a lookup compares the name stored in the server itself, so a
/// config of 100,000 servers keeps one copy of each name and about 9 bytes of index per server.
#[derive(Clone, Default)]
struct NameIndex {
    table: HashTable<usize>,
    hasher: RandomState,
}

impl NameIndex {
    fn with_capacity(capacity: usize) -> Self {
        NameIndex { table: HashTable::with_capacity(capacity), hasher: RandomState::new() }
    }

    fn get(&self, servers: &[ServerConfig], name: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(name);
        self.table.find(hash, |&at| servers[at].server_name() == name).copied()
    }

    /// Records that `servers[at]` is called `name`, unless a server of that name is already
    /// recorded; returns whether it was recorded.
    fn insert(&mut self, servers: &[ServerConfig], name: &str, at: usize) -> bool {
        let hash = self.hasher.hash_one(name);
        match self.table.entry(
            hash,
            |&other| servers[other].server_name() == name,
            |&other| self.hasher.hash_one(servers[other].server_name()),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(at);
                true
            }
        }
    }
}

/// Two configurations are equal when they hold equal servers in the same order.
impl PartialEq for MCPConfig {
    fn eq(&self, other: &Self) -> bool {
        self.servers == other.servers
    }
}

impl Eq for MCPConfig {}

impl fmt::Debug for MCPConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MCPConfig").field("servers", &self.servers).finish()
    }
}

/// The serde form of [`MCPConfig`]: the native file layout.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(rename = "$schema", default)]
    _schema: Option<String>,
    servers: Vec<ServerConfig>,
}

impl TryFrom<ConfigFile> for MCPConfig {
    type Error = ConfigError;

    fn try_from(file: ConfigFile) -> Result<Self, ConfigError> {
        MCPConfig::new(file.servers)
    }
}

impl MCPConfig {
    /// A configuration holding `servers`, in the given order.
    ///
    /// # Errors
    /// [`ConfigError::EmptyName`] or [`ConfigError::DuplicateName`] when a name is empty or
    /// used twice.
    pub fn new(servers: impl IntoIterator<Item = ServerConfig>) -> Result<Self, ConfigError> {
        let servers = servers.into_iter();
        let mut config = MCPConfig {
            servers: Vec::with_capacity(servers.size_hint().0),
            index: NameIndex::with_capacity(servers.size_hint().0),
        };
        for server in servers {
            config.push(server)?;
        }
        Ok(config)
    }

    /// Adds a server at the end.
    ///
    /// # Errors
    /// [`ConfigError::EmptyName`] or [`ConfigError::DuplicateName`] when its name is empty or
    /// already used.
    ///
    /// ```
    /// use mcp_config::{ConfigError, MCPConfig, StdioConfig};
    ///
    /// let mut config = MCPConfig::default();
    /// config.push(StdioConfig::new("fs", "mcp-fs").into())?;
    /// let again = config.push(StdioConfig::new("fs", "other").into());
    /// assert_eq!(again, Err(ConfigError::DuplicateName { name: "fs".into() }));
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn push(&mut self, server: ServerConfig) -> Result<(), ConfigError> {
        let name = server.server_name();
        if name.trim().is_empty() {
            return Err(ConfigError::EmptyName);
        }
        if !self.index.insert(&self.servers, name, self.servers.len()) {
            return Err(ConfigError::DuplicateName { name: name.to_owned() });
        }
        self.servers.push(server);
        Ok(())
    }

    /// Frees the spare room of the server list (after a load, which grows it as it reads).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.servers.shrink_to_fit();
    }

    /// Makes room for one more server, growing the list by an eighth rather than doubling it:
    /// a loader reading a large file does not know how many servers follow, and a doubled list
    /// of several hundred bytes per server would hold up to twice the memory the servers need
    /// until the load ends. Large blocks grow in place (by remapping pages), so growing more
    /// often costs little.
    pub(crate) fn reserve_one_more(&mut self) {
        if self.servers.len() == self.servers.capacity() {
            self.servers.reserve_exact((self.servers.len() / 8).max(16));
        }
    }

    /// The server called `name`.
    ///
    /// ```
    /// use mcp_config::{MCPConfig, StdioConfig};
    ///
    /// let config = MCPConfig::new([StdioConfig::new("ArxivServer", "python3").into()])?;
    /// assert_eq!(config.get("ArxivServer")?.server_name(), "ArxivServer");
    /// assert!(config.get("arxiv").unwrap_err().to_string().contains("did you mean \"ArxivServer\"?"));
    /// # Ok::<(), mcp_config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::UnknownServer`], whose message lists the known names and the closest one.
    pub fn get(&self, name: &str) -> Result<&ServerConfig, ConfigError> {
        self.index.get(&self.servers, name).map(|at| &self.servers[at]).ok_or_else(|| {
            let mut known: Vec<String> = self.names().map(str::to_owned).collect();
            known.sort();
            ConfigError::UnknownServer {
                name: name.to_owned(),
                suggestion: crate::suggest::closest(name, known.iter().map(String::as_str))
                    .map(str::to_owned),
                known,
            }
        })
    }

    /// Whether a server is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.index.get(&self.servers, name).is_some()
    }

    /// The servers' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.servers.iter().map(ServerConfig::server_name)
    }

    /// The servers, in order.
    pub fn servers(&self) -> &[ServerConfig] {
        &self.servers
    }

    /// Iterates over the servers, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, ServerConfig> {
        self.servers.iter()
    }

    /// How many servers there are.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether there are no servers.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// A copy in which environment values, header values and URL passwords read `***`: the
    /// form to print or log.
    ///
    /// ```
    /// use mcp_config::{MCPConfig, StreamableHttpConfig};
    ///
    /// let api = StreamableHttpConfig::new("api", "https://example.com/mcp")?.header("Authorization", "Bearer t0k");
    /// let config = MCPConfig::new([api.into()])?;
    /// let shown = config.redacted().to_json_string();
    /// assert!(shown.contains(r#""Authorization": "***""#) && !shown.contains("t0k"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn redacted(&self) -> MCPConfig {
        MCPConfig {
            servers: self.servers.iter().map(ServerConfig::redacted).collect(),
            index: self.index.clone(),
        }
    }

    /// The JSON Schema of the native config file (`{"servers": [...]}`), for editors and
    /// validators. `docs/mcp-config.schema.json` holds it, generated by `cargo xtask codegen`.
    ///
    /// ```
    /// let schema = mcp_config::MCPConfig::json_schema();
    /// assert_eq!(schema["properties"]["servers"]["type"], "array");
    /// ```
    pub fn json_schema() -> serde_json::Value {
        crate::schema::file_schema()
    }
}

impl<'a> IntoIterator for &'a MCPConfig {
    type Item = &'a ServerConfig;
    type IntoIter = std::slice::Iter<'a, ServerConfig>;

    fn into_iter(self) -> Self::IntoIter {
        self.servers.iter()
    }
}

impl IntoIterator for MCPConfig {
    type Item = ServerConfig;
    type IntoIter = std::vec::IntoIter<ServerConfig>;

    fn into_iter(self) -> Self::IntoIter {
        self.servers.into_iter()
    }
}

impl fmt::Display for MCPConfig {
    /// One server a line, as [`ServerConfig`]'s `Display` shows it (no secrets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, server) in self.servers.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{server}")?;
        }
        Ok(())
    }
}
