//! Where tokens are kept between runs: the [`TokenStore`] trait, its record [`StoredAuth`], and
//! [`FileStore`], one JSON file per server and URL under the state directory.
//!
//! A record holds what rmcp's own `StoredCredentials` lacks (the client secret, the redirect
//! URI, the authorization server's metadata), so that after a restart the client is configured
//! exactly as it was, with no discovery and no registration.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::transport::auth::{AuthorizationMetadata, StoredCredentials};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use url::Url;

use crate::secret::Secret;

/// The environment variable naming the state directory (tokens go to its `oauth/` folder).
pub const STATE_DIR_VAR: &str = "MCP_SESSION_STATE_DIR";

/// The version of the record format [`FileStore`] writes.
const RECORD_VERSION: u32 = 1;

/// What identifies a record: the server's name and the URL it is configured with. Tokens are
/// never sent to a URL they were not issued for, and two servers with one URL do not share them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreKey {
    server: String,
    url: Url,
}

impl StoreKey {
    /// The key of `server` at `url` (its fragment is ignored).
    pub fn new(server: impl Into<String>, url: &Url) -> Self {
        let mut url = url.clone();
        url.set_fragment(None);
        StoreKey { server: server.into(), url }
    }

    /// The server's name.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The configured URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `<server>-<first 12 hex digits of sha256(url)>`, with characters other than ASCII
    /// letters, digits, `.`, `_` and `-` in the name replaced by `_`.
    ///
    /// ```
    /// use mcp_auth::StoreKey;
    ///
    /// let key = StoreKey::new("my docs", &url::Url::parse("https://docs.example/mcp")?);
    /// let stem = key.file_stem();
    /// assert!(stem.starts_with("my_docs-") && stem.len() == "my_docs-".len() + 12, "{stem}");
    /// # Ok::<(), url::ParseError>(())
    /// ```
    pub fn file_stem(&self) -> String {
        let name: String = self
            .server
            .chars()
            .map(
                |c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' },
            )
            .collect();
        let digest = Sha256::digest(self.url.as_str().as_bytes());
        let hex: String = digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect();
        format!("{name}-{hex}")
    }
}

/// The client an authorization used, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredClient {
    pub(crate) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) secret: Option<Secret>,
    pub(crate) redirect_uri: String,
    /// `none`, `client_secret_basic` or `client_secret_post` (informative).
    pub(crate) auth_method: String,
    /// How the id was had: `configured`, `metadata_document` or `registered`.
    pub(crate) origin: String,
}

/// One server's stored authorization: the client, the authorization server's metadata and the
/// tokens. Opaque apart from a few facts to report; a [`TokenStore`] persists it as it likes
/// (it is `Serialize`/`Deserialize`). `Debug` shows no token and no secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredAuth {
    pub(crate) version: u32,
    pub(crate) server: String,
    pub(crate) url: String,
    #[serde(default)]
    pub(crate) resource: Option<String>,
    #[serde(default)]
    pub(crate) issuer: Option<String>,
    #[serde(default)]
    pub(crate) as_metadata: Option<AuthorizationMetadata>,
    #[serde(default)]
    pub(crate) client: Option<StoredClient>,
    #[serde(default)]
    pub(crate) credentials: Option<StoredCredentials>,
}

impl fmt::Debug for StoredAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredAuth")
            .field("server", &self.server)
            .field("url", &mcp_config::redact::redact_url_text(&self.url))
            .field("resource", &self.resource)
            .field("issuer", &self.issuer)
            .field("client", &self.client)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl StoredAuth {
    pub(crate) fn new(key: &StoreKey) -> Self {
        StoredAuth {
            version: RECORD_VERSION,
            server: key.server.clone(),
            url: key.url.to_string(),
            resource: None,
            issuer: None,
            as_metadata: None,
            client: None,
            credentials: None,
        }
    }

    /// The authorization server's issuer, if known.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The resource (RFC 8707) the tokens were asked for.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The client id.
    pub fn client_id(&self) -> Option<&str> {
        self.client.as_ref().map(|client| client.id.as_str())
    }

    /// The scopes granted with the stored tokens.
    pub fn granted_scopes(&self) -> &[String] {
        self.credentials.as_ref().map_or(&[], |c| c.granted_scopes.as_slice())
    }

    /// When the stored access token expires, if the authorization server said (`expires_in`,
    /// counted from when the token was received).
    pub fn expires_at(&self) -> Option<std::time::SystemTime> {
        use oauth2::TokenResponse as _;

        let credentials = self.credentials.as_ref()?;
        let lifetime = credentials.token_response.as_ref()?.expires_in()?;
        let received = std::time::Duration::from_secs(credentials.token_received_at?);
        std::time::UNIX_EPOCH.checked_add(received)?.checked_add(lifetime)
    }

    /// Whether tokens are stored.
    pub fn has_tokens(&self) -> bool {
        self.credentials.as_ref().is_some_and(|c| c.token_response.is_some())
    }
}

/// A held lock on one record, released when dropped.
pub type StoreLock = Box<dyn Send>;

/// Where [`StoredAuth`] records are kept, one per [`StoreKey`]. The methods block (file I/O);
/// the [`Authorizer`](crate::Authorizer) calls them off the async runtime's threads.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The record of `key`, if any.
    ///
    /// # Errors
    /// When the record exists but cannot be read or parsed.
    fn load(&self, key: &StoreKey) -> io::Result<Option<StoredAuth>>;

    /// Replaces the record of `key`.
    ///
    /// # Errors
    /// When the record cannot be written.
    fn save(&self, key: &StoreKey, record: &StoredAuth) -> io::Result<()>;

    /// Deletes the record of `key`: `true` if there was one.
    ///
    /// # Errors
    /// When the record exists but cannot be deleted.
    fn delete(&self, key: &StoreKey) -> io::Result<bool>;

    /// Takes the lock that coordinates refreshes of `key` across processes, waiting for it.
    ///
    /// # Errors
    /// When the lock cannot be taken.
    fn lock(&self, key: &StoreKey) -> io::Result<StoreLock>;

    /// Where the record of `key` lives, for messages (a path, a keyring entry…).
    fn location(&self, key: &StoreKey) -> String;
}

/// [`TokenStore`] in files: `DIR/oauth/<server>-<sha256(url)[..12]>.json`, the directory made
/// `0700`, each file `0600`, written to a temporary file in the same directory, synced, then
/// renamed over the old one. Refreshes are coordinated across processes by a lock on
/// `<file>.lock` ([`File::lock`]).
///
/// [`FileStore::default_location`] picks `DIR` as `$MCP_SESSION_STATE_DIR`, else
/// `$XDG_STATE_HOME/mcp-session-rs`, else `~/.local/state/mcp-session-rs`.
///
/// ```
/// use mcp_auth::{FileStore, StoreKey, TokenStore};
///
/// let dir = std::env::temp_dir().join("mcp-auth-doc");
/// let store = FileStore::new(&dir);
/// let key = StoreKey::new("docs", &url::Url::parse("https://docs.example/mcp")?);
/// assert!(store.path(&key).starts_with(dir.join("oauth")));
/// assert!(store.load(&key)?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store under the state directory `state_dir` (files go to `state_dir/oauth/`).
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        FileStore { dir: state_dir.into().join("oauth") }
    }

    /// A store under the default state directory, read from the process environment.
    ///
    /// # Errors
    /// When none of `MCP_SESSION_STATE_DIR`, `XDG_STATE_HOME` and `HOME` is set.
    pub fn default_location() -> io::Result<Self> {
        Self::default_state_dir(|name| std::env::var_os(name)).map(FileStore::new)
    }

    /// The default state directory, with variables read through `var`:
    /// `$MCP_SESSION_STATE_DIR`, else `$XDG_STATE_HOME/mcp-session-rs`, else
    /// `$HOME/.local/state/mcp-session-rs`. Empty or relative values are ignored.
    ///
    /// ```
    /// use std::path::Path;
    /// use mcp_auth::FileStore;
    ///
    /// let dir = FileStore::default_state_dir(|name| (name == "HOME").then(|| "/home/ann".into()))?;
    /// assert_eq!(dir, Path::new("/home/ann/.local/state/mcp-session-rs"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// When none of the three variables gives an absolute path.
    pub fn default_state_dir(var: impl Fn(&str) -> Option<OsString>) -> io::Result<PathBuf> {
        let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
        if let Some(dir) = absolute(STATE_DIR_VAR) {
            return Ok(dir);
        }
        if let Some(dir) = absolute("XDG_STATE_HOME") {
            return Ok(dir.join("mcp-session-rs"));
        }
        if let Some(home) = absolute("HOME") {
            return Ok(home.join(".local/state/mcp-session-rs"));
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no state directory: set {STATE_DIR_VAR}, XDG_STATE_HOME or HOME"),
        ))
    }

    /// The directory the files are in (`…/oauth`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `key`.
    pub fn path(&self, key: &StoreKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.file_stem()))
    }

    fn lock_path(&self, key: &StoreKey) -> PathBuf {
        self.dir.join(format!("{}.json.lock", key.file_stem()))
    }

    /// Creates the directory (and its parents), and makes it `0700`.
    fn ensure_dir(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
}

/// Opens `path` for writing, created `0600` on Unix.
fn create_private(path: &Path, truncate: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

impl TokenStore for FileStore {
    fn load(&self, key: &StoreKey) -> io::Result<Option<StoredAuth>> {
        let path = self.path(key);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        // serde_json's message names a line and column, never the value found there.
        let record: StoredAuth = serde_json::from_slice(&text)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err.to_string()))?;
        if record.version != RECORD_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("record version {} is not {RECORD_VERSION}", record.version),
            ));
        }
        Ok(Some(record))
    }

    fn save(&self, key: &StoreKey, record: &StoredAuth) -> io::Result<()> {
        self.ensure_dir()?;
        let path = self.path(key);
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        // Unique per process and per save, so concurrent saves never share a temporary file.
        static SAVES: AtomicU64 = AtomicU64::new(0);
        let serial = SAVES.fetch_add(1, Ordering::Relaxed);
        let temp =
            self.dir.join(format!(".{}.{}.{serial}.tmp", key.file_stem(), std::process::id()));
        let written = (|| {
            let mut file = create_private(&temp, true)?;
            file.write_all(&json)?;
            file.sync_all()?;
            fs::rename(&temp, &path)?;
            // The rename itself is durable once the directory is synced.
            File::open(&self.dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    fn delete(&self, key: &StoreKey) -> io::Result<bool> {
        // The lock file stays: another process may hold it, and a new file would not be the one
        // it locked.
        match fs::remove_file(self.path(key)) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn lock(&self, key: &StoreKey) -> io::Result<StoreLock> {
        self.ensure_dir()?;
        let file = create_private(&self.lock_path(key), false)?;
        file.lock()?;
        // Dropping the file closes it, which releases the lock.
        Ok(Box::new(file))
    }

    fn location(&self, key: &StoreKey) -> String {
        self.path(key).display().to_string()
    }
}
