//! One serde pass over a config file: layout detection, `${…}` expansion and every check.
//!
//! Each fault is raised from inside the visitor that meets it, so the JSON or TOML parser
//! attaches the place it was at; the structured [`LoadErrorKind`] is kept aside in [`Ctx`]
//! because serde errors only carry a message.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::vars::{self, ExpandError};
use super::{Dialect, Scope, Warning, WarningKind, dotenv};
use crate::auth::{self, AuthConfig, IdpConfig, OAuthConfig, OAuthGrant, SecretRef, SigningAlg};
use crate::config::MCPConfig;
use crate::error::{ConfigError, LoadErrorKind};
use crate::filter::{self, GlobList, ToolFilter};
use crate::server::{
    CatalogSettings, PoolSettings, Protocol, ServerConfig, SseConfig, StdioConfig,
    StreamableHttpConfig, Timeouts,
};

/// Entry keys whose string values are `${…}`-expanded (in their native spelling).
pub(crate) const EXPANDED_KEYS: &[&str] =
    &["command", "args", "env", "working_dir", "url", "headers"];

/// Every key an entry may have, in its preferred spelling, for "did you mean" hints.
const ENTRY_KEYS: &[&str] = &[
    "server_name",
    "transport",
    "command",
    "args",
    "env",
    "working_dir",
    "envFile",
    "url",
    "headers",
    "timeout",
    "sse_read_timeout",
    "timeouts",
    "pool",
    "tools",
    "catalog",
    "sse_fallback",
    "protocol",
    "ca_file",
    "auth",
    "disabled",
];

/// Every key of `pool`, in the order of [`PoolSettings`]'s fields.
const POOL_KEYS: &[&str] = &[
    "max_in_flight",
    "max_queued",
    "idle_timeout",
    "max_restarts",
    "healthy_after",
    "backoff",
    "max_backoff",
    "ping_timeout",
    "degraded_after",
];

/// Every key of `tools`.
const TOOLS_KEYS: &[&str] = &["allow", "deny"];

/// Every key of `catalog`, in the order of [`CatalogSettings`]'s fields.
const CATALOG_KEYS: &[&str] = &["ttl", "max_pages", "max_items"];

/// What a file held.
pub(super) struct Parsed {
    pub(super) dialect: Dialect,
    pub(super) config: MCPConfig,
}

/// The servers read so far, built into their [`MCPConfig`] as they come (one copy of each, and
/// one hashed name), and the names of the disabled ones, which are taken too.
#[derive(Default)]
struct Servers {
    config: MCPConfig,
    disabled: HashSet<String>,
}

impl Servers {
    fn taken(&self, name: &str) -> bool {
        self.config.contains(name) || self.disabled.contains(name)
    }

    fn add<E: de::Error>(&mut self, ctx: &Ctx<'_>, entry: Entry) -> Result<(), E> {
        match entry.server {
            Some(server) => {
                self.config.reserve_one_more();
                self.config.push(server).map_err(|err| ctx.invalid(err.to_string()))
            }
            None => {
                self.disabled.insert(entry.name);
                Ok(())
            }
        }
    }

    fn len(&self) -> usize {
        self.config.len() + self.disabled.len()
    }

    fn done(mut self, dialect: Dialect) -> Parsed {
        self.config.shrink_to_fit();
        Parsed { dialect, config: self.config }
    }
}

/// State shared by the visitors of one load.
pub(super) struct Ctx<'a> {
    scope: Scope<'a>,
    base_dir: Option<PathBuf>,
    /// The inputs the file declares, when it uses `${input:…}` at all.
    inputs: Option<Inputs>,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    warnings: Vec<Warning>,
    error: Option<LoadErrorKind>,
    place: Place,
}

/// Where the visitors are: which server list, which entry, which key. It gives serde's own
/// messages some context, and TOML errors their position (see [`Place::span`]).
#[derive(Default, Clone)]
pub(super) struct Place {
    /// `servers` or `mcpServers`.
    container: Option<String>,
    /// The entry's position in a list layout.
    index: Option<usize>,
    /// The entry's name, once known.
    server: Option<String>,
    /// The key being read in the entry, or at the top level.
    key: Option<String>,
    /// The key being read inside the table `key` holds (`pool`, `tools`, `catalog`), if any.
    field: Option<String>,
    /// The position in the list `field` holds of the item being read (a glob of `tools`).
    item: Option<usize>,
    /// Whether the fault is in the value of `field` rather than at its key.
    in_value: bool,
}

impl Place {
    /// The byte range this place covers in a TOML document: the key if known, else the entry.
    pub(super) fn span(&self, doc: &toml::de::DeTable<'_>) -> Option<std::ops::Range<usize>> {
        let Some(container) = &self.container else {
            return self.key.as_deref().and_then(|key| find(doc, key)).map(|(span, _)| span);
        };
        let (container_span, servers) = find(doc, container)?;
        let entry = match (self.index, &self.server, servers.get_ref()) {
            (Some(index), _, toml::de::DeValue::Array(list)) => list.get(index),
            (_, Some(name), toml::de::DeValue::Table(table)) => find(table, name).map(|(_, v)| v),
            _ => None,
        };
        let Some(entry) = entry else {
            return Some(container_span);
        };
        let (key_span, value) = match (&self.key, entry.get_ref()) {
            (Some(key), toml::de::DeValue::Table(table)) => find(table, key).unzip(),
            _ => (None, None),
        };
        let field_span = match (&self.field, value.map(toml::Spanned::get_ref)) {
            (Some(field), Some(toml::de::DeValue::Table(table))) => {
                find(table, field).map(|(span, value)| match (self.item, value.get_ref()) {
                    (Some(item), toml::de::DeValue::Array(list)) if self.in_value => {
                        list.get(item).map_or_else(|| value.span(), toml::Spanned::span)
                    }
                    _ if self.in_value => value.span(),
                    _ => span,
                })
            }
            _ => None,
        };
        Some(field_span.or(key_span).unwrap_or_else(|| entry.span()))
    }
}

/// The span of `name`'s key in `table`, and its value.
fn find<'t, 'i>(
    table: &'t toml::de::DeTable<'i>,
    name: &str,
) -> Option<(std::ops::Range<usize>, &'t toml::Spanned<toml::de::DeValue<'i>>)> {
    table.iter().find(|(k, _)| k.get_ref() == name).map(|(k, v)| (k.span(), v))
}

impl<'a> Ctx<'a> {
    pub(super) fn new(scope: Scope<'a>, base_dir: Option<PathBuf>, inputs: Option<Inputs>) -> Self {
        Ctx { scope, base_dir, inputs, state: RefCell::default() }
    }

    /// The warnings gathered, and the error kept aside if any.
    pub(super) fn finish(self) -> (Vec<Warning>, Option<LoadErrorKind>) {
        let state = self.state.into_inner();
        (state.warnings, state.error)
    }

    /// The structured error a visitor raised, if the failure came from one.
    pub(super) fn take_error(&self) -> Option<LoadErrorKind> {
        self.state.borrow_mut().error.take()
    }

    /// Where the visitors were when they stopped.
    pub(super) fn place(&self) -> Place {
        self.state.borrow().place.clone()
    }

    /// A message from serde (missing field, wrong type, …) with the server and key it is about.
    pub(super) fn describe(&self, message: &str) -> String {
        let state = self.state.borrow();
        let mut out = String::new();
        match (&state.place.server, state.place.index) {
            (Some(server), _) => out.push_str(&format!("server {server:?}: ")),
            (None, Some(index)) => out.push_str(&format!("server #{}: ", index + 1)),
            (None, None) => {}
        }
        match (&state.place.key, &state.place.field) {
            (Some(key), Some(field)) => out.push_str(&format!("`{key}.{field}`: ")),
            (Some(key), None) => out.push_str(&format!("`{key}`: ")),
            (None, _) => {}
        }
        out.push_str(message);
        if state.place.server.is_some() || state.place.index.is_some() {
            out.push_str("; see docs/configuration.md for the keys each server takes");
        } else {
            out.push_str("; see docs/configuration.md for the layouts mcp-config reads");
        }
        out
    }

    /// Keeps `kind` aside and returns a serde error carrying its message.
    fn fail<E: de::Error>(&self, kind: LoadErrorKind) -> E {
        let error = E::custom(&kind);
        self.state.borrow_mut().error = Some(kind);
        error
    }

    fn invalid<E: de::Error>(&self, message: String) -> E {
        self.fail(LoadErrorKind::Invalid { message })
    }

    /// `file` as a path; a relative one is taken from the config file's folder.
    fn relative_to_file(&self, file: String) -> PathBuf {
        let path = PathBuf::from(file);
        match &self.base_dir {
            Some(base) if path.is_relative() => base.join(path),
            _ => path,
        }
    }

    fn warn(&self, server: Option<&str>, kind: WarningKind) {
        self.state.borrow_mut().warnings.push(Warning { server: server.map(str::to_owned), kind });
    }

    fn set_place(&self, server: Option<&str>, key: Option<&str>) {
        let mut state = self.state.borrow_mut();
        // Reuses the strings' buffers: this runs for every key of every entry.
        set_text(&mut state.place.server, server);
        set_text(&mut state.place.key, key);
        state.place.field = None;
        state.place.item = None;
        state.place.in_value = false;
    }

    /// Sets the key being read inside the current key's table, and whether its value is being
    /// read (faults are then placed at the value, not at the key).
    fn set_field(&self, field: Option<&str>, in_value: bool) {
        let mut state = self.state.borrow_mut();
        set_text(&mut state.place.field, field);
        state.place.item = None;
        state.place.in_value = in_value;
    }

    /// Sets the position of the item being read in the list the current field holds.
    fn set_item(&self, item: Option<usize>) {
        self.state.borrow_mut().place.item = item;
    }

    fn set_entry(&self, container: &str, index: Option<usize>) {
        let mut state = self.state.borrow_mut();
        set_text(&mut state.place.container, Some(container));
        state.place.index = index;
    }

    /// Refuses a `${input:ID}` in `text` whose ID the file's `inputs` does not declare: in VS
    /// Code's layout, and in any file that has an `inputs` list.
    fn check_inputs<E: de::Error>(
        &self,
        dialect: Dialect,
        server: Option<&str>,
        text: &str,
    ) -> Result<(), E> {
        let Some(Inputs { declared, listed }) = &self.inputs else { return Ok(()) };
        if !listed && dialect != Dialect::VsCode {
            return Ok(());
        }
        match vars::input_refs(text).find(|id| !declared.contains(*id)) {
            None => Ok(()),
            Some(id) => {
                let mut known: Vec<String> = declared.iter().cloned().collect();
                known.sort();
                let suggestion = crate::suggest::closest(id, known.iter().map(String::as_str))
                    .map(str::to_owned);
                Err(self.fail(LoadErrorKind::UndeclaredInput {
                    server: server.map(str::to_owned),
                    id: id.to_owned(),
                    declared: known,
                    suggestion,
                }))
            }
        }
    }
}

/// The `${input:ID}` a file may use.
pub(super) struct Inputs {
    /// The IDs its top-level `inputs` list declares (none without one).
    pub(super) declared: HashSet<String>,
    /// Whether it has an `inputs` list.
    pub(super) listed: bool,
}

/// Sets `slot` to `text`, reusing its buffer.
fn set_text(slot: &mut Option<String>, text: Option<&str>) {
    match (slot.as_mut(), text) {
        (Some(buffer), Some(text)) => {
            buffer.clear();
            buffer.push_str(text);
        }
        (_, text) => *slot = text.map(str::to_owned),
    }
}

/// `${…}` expansion within one entry, once all of it is read (so that its own `env` block is
/// known). A fault is kept until the whole entry is expanded, and a disabled server is not
/// expanded at all: it loads (skipped) even when its variables are not set.
struct EntryVars<'c, 'a> {
    ctx: &'c Ctx<'a>,
    inputs: Vec<String>,
    fault: Option<(String, ExpandError)>,
}

impl<'c, 'a> EntryVars<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>) -> Self {
        EntryVars { ctx, inputs: Vec::new(), fault: None }
    }

    /// `text` expanded; on a fault, `text` as written, with the fault kept for [`Self::finish`].
    fn expand(&mut self, key: &str, text: String, scope: &dyn vars::Scope) -> String {
        self.expand_shown(key, text, &|text| text.to_owned(), scope)
    }

    /// [`Self::expand`] for a URL: a fault's message shows it redacted.
    fn expand_url(&mut self, key: &str, text: String, scope: &dyn vars::Scope) -> String {
        self.expand_shown(key, text, &crate::redact::redact_url_text, scope)
    }

    /// [`Self::expand`], a fault's message showing `text` as `shown` makes it.
    fn expand_shown(
        &mut self,
        key: &str,
        text: String,
        shown: &dyn Fn(&str) -> String,
        scope: &dyn vars::Scope,
    ) -> String {
        if !text.contains('$') {
            return text;
        }
        match vars::expand_shown(&text, &|| shown(&text), scope) {
            Ok(expanded) => {
                self.inputs.extend(expanded.inputs);
                expanded.value
            }
            Err(fault) => {
                self.fault.get_or_insert((key.to_owned(), fault));
                text
            }
        }
    }

    fn expand_map(
        &mut self,
        key: &str,
        map: BTreeMap<String, String>,
        scope: &dyn vars::Scope,
    ) -> BTreeMap<String, String> {
        // The values are secrets: a fault's message shows them as `***`.
        let masked = |_: &str| crate::redact::MASK.to_owned();
        map.into_iter().map(|(k, v)| (k, self.expand_shown(key, v, &masked, scope))).collect()
    }

    /// Raises the first fault, or reports the `${input:…}` warnings.
    fn finish<E: de::Error>(self, server: &str) -> Result<(), E> {
        if let Some((key, fault)) = self.fault {
            self.ctx.set_place(Some(server), Some(&key));
            return Err(match fault {
                ExpandError::Unset(name) => self.ctx.fail(LoadErrorKind::UnsetVariable { name }),
                ExpandError::Invalid(message) => {
                    self.ctx.invalid(format!("server {server:?}: `{key}`: {message}"))
                }
            });
        }
        for id in self.inputs {
            self.ctx.warn(Some(server), WarningKind::Input { id });
        }
        Ok(())
    }
}

/// The loader's variables, then (in the mcpServers layout) the server's own `env` block:
/// `"args": ["--header", "Authorization:${AUTH}"], "env": {"AUTH": "Bearer …"}` loads as
/// the server would see it. The values taken from the `env` block are remembered, to be masked.
struct WithEnvBlock<'s> {
    base: &'s dyn vars::Scope,
    env: Option<&'s BTreeMap<String, String>>,
    used: RefCell<Vec<String>>,
}

impl vars::Scope for WithEnvBlock<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.base.var(name).or_else(|| {
            let value = self.env?.get(name)?.clone();
            self.used.borrow_mut().push(value.clone());
            Some(value)
        })
    }

    fn workspace_folder(&self) -> Option<&std::path::Path> {
        self.base.workspace_folder()
    }
}

/// Expands every `${…}` of an entry in use; returns the `env` values put into its command line.
fn expand_entry<E: de::Error>(
    ctx: &Ctx<'_>,
    entry: &mut RawEntry,
    server: &str,
    env_vars: bool,
) -> Result<Vec<String>, E> {
    let mut vars = EntryVars::new(ctx);
    let keys = std::mem::take(&mut entry.keys);
    // A fault names the key as the file spells it (`cwd` or `working_dir`).
    let written = |field: &'static str| {
        keys.iter().find(|(f, _)| *f == field).map_or(field, |(_, key)| key.as_str())
    };
    if let Some(env) = entry.env.take() {
        entry.env = Some(vars.expand_map(written("env"), env, &ctx.scope));
    }
    let scope = WithEnvBlock {
        base: &ctx.scope,
        env: entry.env.as_ref().filter(|_| env_vars),
        used: RefCell::default(),
    };
    let one = |vars: &mut EntryVars<'_, '_>, field, value: &mut Option<String>| {
        if let Some(text) = value.take() {
            *value = Some(vars.expand(written(field), text, &scope));
        }
    };
    one(&mut vars, "command", &mut entry.command);
    if let Some(args) = entry.args.take() {
        let key = written("args");
        entry.args = Some(args.into_iter().map(|a| vars.expand(key, a, &scope)).collect());
    }
    one(&mut vars, "working_dir", &mut entry.working_dir);
    let secrets = scope.used.take();
    one(&mut vars, "envFile", &mut entry.env_file);
    one(&mut vars, "ca_file", &mut entry.ca_file);
    if let Some(url) = entry.url.take() {
        entry.url = Some(vars.expand_url(written("url"), url, &scope));
    }
    if let Some(headers) = entry.headers.take() {
        entry.headers = Some(vars.expand_map(written("headers"), headers, &scope));
    }
    for auth in [entry.auth.as_mut(), entry.oauth.as_mut()].into_iter().flatten() {
        if let Some(id) = auth.client_id.take() {
            auth.client_id = Some(vars.expand(auth.table, id, &scope));
        }
        for key in [&mut auth.private_key, &mut auth.id_token] {
            if let Some(RawKey::File(path)) = key {
                *path = vars.expand(auth.table, std::mem::take(path), &scope);
            }
        }
        if let Some(id) = auth.idp_client_id.take() {
            auth.idp_client_id = Some(vars.expand(auth.table, id, &scope));
        }
        if let Some(RawSecret::Literal { text, .. }) = &mut auth.secret {
            // A secret: a fault's message shows it as `***`.
            let masked = |_: &str| crate::redact::MASK.to_owned();
            *text = vars.expand_shown(auth.table, std::mem::take(text), &masked, &scope);
        }
    }
    vars.finish(server)?;
    Ok(secrets)
}

/// The whole file.
pub(super) struct FileSeed<'c, 'a>(pub(super) &'c Ctx<'a>);

impl<'de> DeserializeSeed<'de> for FileSeed<'_, '_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_, '_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with `servers` or `mcpServers`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let ctx = self.0;
        let mut parsed: Option<Parsed> = None;
        let mut other_keys = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            ctx.set_place(None, Some(&key));
            match key.as_str() {
                "servers" | "mcpServers" => {
                    if parsed.is_some() {
                        return Err(ctx.invalid(format!(
                            "a second server list `{key}`: a file holds one `servers` or `mcpServers`; \
                             merge them into one"
                        )));
                    }
                    ctx.set_entry(&key, None);
                    let seed = ServersSeed { ctx, mcp_servers: key == "mcpServers" };
                    parsed = Some(map.next_value_seed(seed)?);
                    ctx.state.borrow_mut().place = Place::default();
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    other_keys.push(key);
                }
            }
        }
        ctx.set_place(None, None);
        let Some(parsed) = parsed else {
            return Err(ctx.fail(LoadErrorKind::UnknownLayout { found: other_keys }));
        };
        if parsed.dialect == Dialect::Native {
            for key in other_keys.into_iter().filter(|k| k != "$schema" && k != "inputs") {
                ctx.warn(None, WarningKind::UnknownKey { key });
            }
        }
        Ok(parsed)
    }
}

/// The value of `servers` (a list, or an object keyed by name) or `mcpServers` (an object).
struct ServersSeed<'c, 'a> {
    ctx: &'c Ctx<'a>,
    mcp_servers: bool,
}

impl<'de> DeserializeSeed<'de> for ServersSeed<'_, '_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ServersSeed<'_, '_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mcp_servers {
            f.write_str("an object mapping server names to servers")
        } else {
            f.write_str("a list of servers, or an object mapping server names to servers")
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        if self.mcp_servers {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let ctx = self.ctx;
        let mut servers = Servers::default();
        for index in 0.. {
            ctx.set_entry("servers", Some(index));
            let seed = EntrySeed {
                ctx,
                key: None,
                taken: Some(&servers),
                index,
                dialect: Dialect::Native,
            };
            let Some(entry) = seq.next_element_seed(seed)? else { break };
            servers.add(ctx, entry)?;
        }
        Ok(servers.done(Dialect::Native))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let ctx = self.ctx;
        let mut servers = Servers::default();
        let dialect = if self.mcp_servers { Dialect::McpServers } else { Dialect::VsCode };
        while let Some(name) = map.next_key::<String>()? {
            if servers.taken(&name) {
                return Err(duplicate_name(ctx, &name));
            }
            let seed =
                EntrySeed { ctx, key: Some(&name), taken: None, index: servers.len(), dialect };
            let entry = map.next_value_seed(seed)?;
            servers.add(ctx, entry)?;
        }
        Ok(servers.done(dialect))
    }
}

fn duplicate_name<E: de::Error>(ctx: &Ctx<'_>, name: &str) -> E {
    ctx.invalid(format!(
        "duplicate server name {name:?}: every server needs its own name; rename or remove one of them"
    ))
}

/// One server entry as written, before its transport is decided and its `${…}` expanded.
#[derive(Default)]
struct RawEntry {
    /// The fields read, each with its key as the file spells it.
    keys: Vec<(&'static str, String)>,
    transport: Option<String>,
    command: Option<String>,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    working_dir: Option<String>,
    env_file: Option<String>,
    url: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    timeout: Option<Duration>,
    sse_read_timeout: Option<Duration>,
    timeouts: Option<Timeouts>,
    pool: Option<PoolSettings>,
    tools: Option<ToolFilter>,
    catalog: Option<CatalogSettings>,
    sse_fallback: Option<bool>,
    protocol: Option<Protocol>,
    ca_file: Option<String>,
    auth: Option<RawAuth>,
    /// Claude Code's `oauth` (mcpServers layout only).
    oauth: Option<RawAuth>,
    disabled: Option<bool>,
}

/// One server entry: in an object layout `key` is the name it sits under; in the list layout
/// (ours) it carries its own `server_name`, which must not be among `taken`, and unknown keys
/// are refused instead of warned about.
struct EntrySeed<'c, 'a, 'n> {
    ctx: &'c Ctx<'a>,
    key: Option<&'n str>,
    taken: Option<&'n Servers>,
    index: usize,
    /// The layout: in the mcpServers one a `${VAR}` may come from the entry's own `env` block;
    /// in VS Code's, every `${input:ID}` must be declared.
    dialect: Dialect,
}

/// A read entry: its name, and the server unless it is disabled.
struct Entry {
    name: String,
    server: Option<ServerConfig>,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_, '_, '_> {
    type Value = Entry;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Entry, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_, '_, '_> {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a server: an object with `command` (stdio) or `url` (sse, http)")
    }

    /// Reads every key, then checks and builds the server before the parser leaves the
    /// entry, so that faults of the whole entry are reported at its end.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let ctx = self.ctx;
        let strict = self.key.is_none();
        let mut entry = RawEntry::default();
        let mut name = self.key.map(str::to_owned);
        ctx.set_place(name.as_deref(), None);
        while let Some(key) = map.next_key::<String>()? {
            ctx.set_place(name.as_deref(), Some(&key));
            // Claude Code's `oauth` is read in its own layout only.
            let claude_oauth = key == "oauth" && self.dialect == Dialect::McpServers;
            let Some(field) = canonical(&key).or(claude_oauth.then_some("oauth")) else {
                if strict {
                    let hint = crate::suggest::closest(&key, ENTRY_KEYS.iter().copied())
                        .map(|k| format!("did you mean `{k}`? "))
                        .unwrap_or_default();
                    return Err(ctx.invalid(format!(
                        "unknown key `{key}` in {}: {hint}the keys are {}",
                        describe_server(name.as_deref()),
                        ENTRY_KEYS.join(", ")
                    )));
                }
                map.next_value::<IgnoredAny>()?;
                ctx.warn(name.as_deref(), WarningKind::UnknownKey { key });
                continue;
            };
            if entry.keys.iter().any(|(seen, _)| *seen == field) {
                return Err(ctx.invalid(format!(
                    "duplicate key `{key}` in {}: write each key once",
                    describe_server(name.as_deref())
                )));
            }
            entry.keys.push((field, key));
            // Strings that are expanded later, checked for undeclared `${input:…}` as they are
            // read, so that the parser places a fault at the string.
            let text = Text { ctx, dialect: self.dialect, server: name.as_deref() };
            match field {
                "server_name" => {
                    let value: String = map.next_value()?;
                    if strict {
                        if self.taken.is_some_and(|taken| taken.taken(&value)) {
                            return Err(duplicate_name(ctx, &value));
                        }
                        name = Some(value);
                    } else if self.key != Some(value.as_str()) {
                        ctx.warn(self.key, WarningKind::NameIgnored { name: value });
                    }
                }
                "transport" => entry.transport = Some(map.next_value()?),
                "command" => entry.command = Some(map.next_value_seed(text)?),
                "args" => entry.args = Some(map.next_value_seed(TextList(text))?),
                "env" => entry.env = Some(map.next_value_seed(TextMap(text))?),
                "working_dir" => entry.working_dir = Some(map.next_value_seed(text)?),
                "envFile" => entry.env_file = Some(map.next_value_seed(text)?),
                "url" => entry.url = Some(map.next_value_seed(text)?),
                "headers" => entry.headers = Some(map.next_value_seed(TextMap(text))?),
                "timeout" => entry.timeout = Some(map.next_value::<DurationValue>()?.0),
                "sse_read_timeout" => {
                    entry.sse_read_timeout = Some(map.next_value::<DurationValue>()?.0)
                }
                "timeouts" => entry.timeouts = Some(map.next_value()?),
                "pool" => {
                    let seed = PoolSeed { ctx, server: name.as_deref() };
                    entry.pool = Some(map.next_value_seed(seed)?);
                }
                "tools" => {
                    let seed = ToolsSeed { ctx, server: name.as_deref() };
                    entry.tools = Some(map.next_value_seed(seed)?);
                }
                "catalog" => {
                    let seed = CatalogSeed { ctx, server: name.as_deref() };
                    entry.catalog = Some(map.next_value_seed(seed)?);
                }
                "sse_fallback" => entry.sse_fallback = Some(map.next_value()?),
                "protocol" => entry.protocol = Some(map.next_value()?),
                "ca_file" => entry.ca_file = Some(map.next_value_seed(text)?),
                "auth" => entry.auth = Some(map.next_value_seed(AuthSeed { text })?),
                "oauth" => entry.oauth = Some(map.next_value_seed(ClaudeOAuthSeed { text })?),
                _ => entry.disabled = Some(map.next_value()?),
            }
        }
        ctx.set_place(name.as_deref(), None);
        let Some(name) = name else {
            return Err(ctx.invalid(format!(
                "server #{} has no `server_name`; add one, such as \"server_name\": \"my-server\"",
                self.index + 1
            )));
        };
        let mut secrets = Vec::new();
        if entry.disabled != Some(true) {
            let env_vars = self.dialect == Dialect::McpServers;
            secrets = expand_entry(ctx, &mut entry, &name, env_vars)?;
            ctx.set_place(Some(&name), None);
        }
        let server = build(ctx, entry, &name, secrets)?;
        Ok(Entry { name, server })
    }
}

/// The field a key stands for, in its preferred spelling.
fn canonical(key: &str) -> Option<&'static str> {
    Some(match key {
        "server_name" | "name" => "server_name",
        "transport" | "type" => "transport",
        "command" => "command",
        "args" => "args",
        "env" | "environment" => "env",
        "working_dir" | "cwd" => "working_dir",
        "envFile" | "env_file" => "envFile",
        "url" => "url",
        "headers" => "headers",
        "timeout" => "timeout",
        "sse_read_timeout" => "sse_read_timeout",
        "timeouts" => "timeouts",
        "pool" => "pool",
        "tools" => "tools",
        "catalog" => "catalog",
        "sse_fallback" => "sse_fallback",
        "protocol" => "protocol",
        "ca_file" => "ca_file",
        "auth" => "auth",
        "disabled" => "disabled",
        _ => return None,
    })
}

fn describe_server(name: Option<&str>) -> String {
    name.map_or_else(|| "a server".to_owned(), |n| format!("server {n:?}"))
}

/// Decides the transport and builds the server; `None` for a disabled server.
fn build<E: de::Error>(
    ctx: &Ctx<'_>,
    entry: RawEntry,
    name: &str,
    secrets: Vec<String>,
) -> Result<Option<ServerConfig>, E> {
    let server = format!("server {name:?}");
    if name.trim().is_empty() {
        return Err(ctx
            .invalid("a server has an empty name: give every server a non-empty name".to_owned()));
    }
    if entry.disabled == Some(true) {
        ctx.warn(Some(name), WarningKind::Disabled);
        return Ok(None);
    }
    let kind = match entry.transport.as_deref() {
        None => match (&entry.command, &entry.url) {
            (Some(_), Some(_)) => {
                return Err(ctx.invalid(format!(
                    "{server} has both `command` and `url`: keep `command` for a local process, or `url` for a remote server"
                )));
            }
            (Some(_), None) => Kind::Stdio,
            (None, Some(_)) => Kind::Http { fallback: true },
            (None, None) => {
                return Err(ctx.invalid(format!(
                    "{server} has neither `command` (to start a local stdio server) nor `url` (for a remote sse or http server); add one"
                )));
            }
        },
        Some("stdio") => Kind::Stdio,
        Some("sse") => Kind::Sse,
        Some("http" | "streamable_http" | "streamable-http" | "streamableHttp") => {
            Kind::Http { fallback: false }
        }
        Some(other) => {
            return Err(ctx.invalid(format!(
                "{server} has unknown transport {other:?}: use \"stdio\", \"sse\" or \"http\" (also written \"streamable_http\")"
            )));
        }
    };
    let misplaced = |keys: &[(&str, bool)], transport: &str| {
        keys.iter().find(|(_, present)| *present).map(|(key, _)| {
            ctx.invalid::<E>(format!(
                "{server} is {} server, which takes no `{key}`; remove it",
                with_article(transport)
            ))
        })
    };
    let timeouts = entry.timeouts.unwrap_or_default();
    let pool = entry.pool.unwrap_or_default();
    let tools = entry.tools.unwrap_or_default();
    let catalog = entry.catalog.unwrap_or_default();
    match kind {
        Kind::Stdio => {
            let http_keys = [
                ("url", entry.url.is_some()),
                ("headers", entry.headers.is_some()),
                ("timeout", entry.timeout.is_some()),
                ("sse_read_timeout", entry.sse_read_timeout.is_some()),
                ("sse_fallback", entry.sse_fallback.is_some()),
                ("ca_file", entry.ca_file.is_some()),
                ("auth", entry.auth.is_some()),
                ("oauth", entry.oauth.is_some()),
            ];
            if let Some(err) = misplaced(&http_keys, "stdio") {
                return Err(err);
            }
            let Some(command) = entry.command.filter(|c| !c.trim().is_empty()) else {
                return Err(ctx.invalid(format!(
                    "{server} is a stdio server but has no `command`; add the program to run, such as \"command\": \"python3\""
                )));
            };
            let mut env = match entry.env_file {
                Some(file) => read_env_file(ctx, &server, file)?,
                None => BTreeMap::new(),
            };
            env.extend(entry.env.unwrap_or_default());
            let mut config = StdioConfig::new(name, command)
                .args(entry.args.unwrap_or_default())
                .envs(env)
                .timeouts(timeouts)
                .pool(pool)
                .tools(tools)
                .catalog(catalog)
                .protocol(entry.protocol.unwrap_or_default());
            config.working_dir = entry.working_dir.map(PathBuf::from);
            config.secrets = secrets;
            Ok(Some(config.into()))
        }
        Kind::Sse | Kind::Http { .. } => {
            let transport = if kind == Kind::Sse { "sse" } else { "http" };
            let stdio_keys = [
                ("command", entry.command.is_some()),
                ("args", entry.args.is_some()),
                ("env", entry.env.is_some()),
                ("working_dir", entry.working_dir.is_some()),
                ("envFile", entry.env_file.is_some()),
                ("sse_fallback", kind == Kind::Sse && entry.sse_fallback.is_some()),
                // Legacy SSE servers speak protocol 2024-11-05: the `initialize` handshake only.
                ("protocol", kind == Kind::Sse && entry.protocol.is_some()),
            ];
            if let Some(err) = misplaced(&stdio_keys, transport) {
                return Err(err);
            }
            let Some(url) = entry.url else {
                return Err(ctx.invalid(format!(
                    "{server} is {} server but has no `url`; add one, such as \"url\": \"http://127.0.0.1:8000/{}\"",
                    with_article(transport),
                    if kind == Kind::Sse { "sse" } else { "mcp" }
                )));
            };
            let invalid = |err: ConfigError| ctx.invalid::<E>(format!("{server}: {err}"));
            let headers = entry.headers.unwrap_or_default();
            check_headers(ctx, &server, &headers)?;
            let auth = match (entry.auth, entry.oauth) {
                (Some(_), Some(_)) => {
                    return Err(ctx.invalid(format!(
                        "{server} has both `auth` and `oauth` (Claude Code's OAuth settings); keep one"
                    )));
                }
                (Some(raw), None) | (None, Some(raw)) => Some(raw),
                (None, None) => None,
            };
            let auth = match auth {
                Some(raw) => {
                    let table = raw.table;
                    let auth = raw.into_config(ctx, name);
                    if !auth.is_none()
                        && headers.keys().any(|h| h.eq_ignore_ascii_case("authorization"))
                    {
                        return Err(ctx.invalid(format!(
                            "{server} sets both `{table}` and an `Authorization` header; set one: \
                             `{table}` or `headers.Authorization`, not both"
                        )));
                    }
                    auth
                }
                None => AuthConfig::None,
            };
            let ca_file = entry.ca_file.map(|file| ctx.relative_to_file(file));
            let server = if let Kind::Http { fallback } = kind {
                let mut config = StreamableHttpConfig::new(name, url)
                    .map_err(invalid)?
                    .headers(headers)
                    .timeout(entry.timeout.unwrap_or(StreamableHttpConfig::DEFAULT_TIMEOUT))
                    .sse_read_timeout(
                        entry
                            .sse_read_timeout
                            .unwrap_or(StreamableHttpConfig::DEFAULT_SSE_READ_TIMEOUT),
                    )
                    .timeouts(timeouts)
                    .pool(pool)
                    .tools(tools)
                    .catalog(catalog)
                    .sse_fallback(entry.sse_fallback.unwrap_or(fallback))
                    .protocol(entry.protocol.unwrap_or_default())
                    .auth(auth);
                config.ca_file = ca_file;
                ServerConfig::from(config)
            } else {
                let mut config = SseConfig::new(name, url)
                    .map_err(invalid)?
                    .headers(headers)
                    .timeout(entry.timeout.unwrap_or(SseConfig::DEFAULT_TIMEOUT))
                    .sse_read_timeout(
                        entry.sse_read_timeout.unwrap_or(SseConfig::DEFAULT_SSE_READ_TIMEOUT),
                    )
                    .timeouts(timeouts)
                    .pool(pool)
                    .tools(tools)
                    .catalog(catalog)
                    .auth(auth);
                config.ca_file = ca_file;
                ServerConfig::from(config)
            };
            Ok(Some(server))
        }
    }
}

/// "a stdio", "an sse", "an http".
fn with_article(transport: &str) -> String {
    let article = if transport == "stdio" { "a" } else { "an" };
    format!("{article} {transport}")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stdio,
    Sse,
    Http { fallback: bool },
}

fn read_env_file<E: de::Error>(
    ctx: &Ctx<'_>,
    server: &str,
    file: String,
) -> Result<BTreeMap<String, String>, E> {
    let path = ctx.relative_to_file(file);
    let text = std::fs::read_to_string(&path).map_err(|err| {
        ctx.invalid(format!(
            "{server}: cannot read its envFile {}: {err}; check the path (relative paths start at the config file's folder)",
            path.display()
        ))
    })?;
    dotenv::parse(&text).map_err(|err| {
        ctx.invalid(format!(
            "{server}: envFile {} {err}; write one KEY=VALUE a line",
            path.display()
        ))
    })
}

fn check_headers<E: de::Error>(
    ctx: &Ctx<'_>,
    server: &str,
    headers: &BTreeMap<String, String>,
) -> Result<(), E> {
    const TOKEN_PUNCTUATION: &str = "!#$%&'*+-.^_`|~";
    for (name, value) in headers {
        let valid_name = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || TOKEN_PUNCTUATION.contains(c));
        if !valid_name {
            return Err(ctx.invalid(format!(
                "{server}: {name:?} is not a valid HTTP header name; use letters, digits and `-`"
            )));
        }
        if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
            return Err(ctx.invalid(format!(
                "{server}: the value of header `{name}` contains a line break or NUL; remove it"
            )));
        }
    }
    Ok(())
}

/// A string that will be `${…}`-expanded: refused as it is read if it names an undeclared
/// `${input:…}` (see [`Ctx::check_inputs`]).
#[derive(Clone, Copy)]
struct Text<'c, 'a, 'n> {
    ctx: &'c Ctx<'a>,
    dialect: Dialect,
    server: Option<&'n str>,
}

impl<'de> DeserializeSeed<'de> for Text<'_, '_, '_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_string(self)
    }
}

impl<'de> Visitor<'de> for Text<'_, '_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        self.visit_string(text.to_owned())
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<String, E> {
        self.ctx.check_inputs(self.dialect, self.server, &text)?;
        Ok(text)
    }
}

/// A list of [`Text`]s.
struct TextList<'c, 'a, 'n>(Text<'c, 'a, 'n>);

impl<'de> DeserializeSeed<'de> for TextList<'_, '_, '_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<String>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TextList<'_, '_, '_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or_default());
        while let Some(text) = seq.next_element_seed(self.0)? {
            out.push(text);
        }
        Ok(out)
    }
}

/// A map of [`Text`] values that refuses a key written twice.
struct TextMap<'c, 'a, 'n>(Text<'c, 'a, 'n>);

impl<'de> DeserializeSeed<'de> for TextMap<'_, '_, '_> {
    type Value = BTreeMap<String, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TextMap<'_, '_, '_> {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of string values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self.0)?;
            match out.entry(key) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                std::collections::btree_map::Entry::Occupied(slot) => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate key `{}`: write each key once",
                        slot.key()
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// The value of `pool`: read key by key (rather than by [`PoolSettings`]'s own `Deserialize`)
/// so that a fault inside it is placed at its key or value in TOML too, and names the key.
struct PoolSeed<'c, 'a, 'n> {
    ctx: &'c Ctx<'a>,
    server: Option<&'n str>,
}

impl<'de> DeserializeSeed<'de> for PoolSeed<'_, '_, '_> {
    type Value = PoolSettings;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<PoolSettings, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PoolSeed<'_, '_, '_> {
    type Value = PoolSettings;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a table of pool settings ({})", POOL_KEYS.join(", "))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PoolSettings, A::Error> {
        let ctx = self.ctx;
        let server = describe_server(self.server);
        let mut pool = PoolSettings::default();
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let field = table_key(ctx, &server, "pool", POOL_KEYS, &key, &mut seen)?;
            let duration = |value: DurationValue| value.0;
            match field {
                "max_in_flight" => {
                    pool.max_in_flight = map.next_value()?;
                    if pool.max_in_flight == 0 {
                        let reason = crate::server::max_in_flight_zero("pool.max_in_flight");
                        return Err(ctx.invalid(format!("{server}: {reason}")));
                    }
                }
                "max_queued" => pool.max_queued = map.next_value()?,
                "idle_timeout" => pool.idle_timeout = duration(map.next_value()?),
                "max_restarts" => pool.max_restarts = map.next_value()?,
                "healthy_after" => pool.healthy_after = duration(map.next_value()?),
                "backoff" => pool.backoff = duration(map.next_value()?),
                "max_backoff" => pool.max_backoff = duration(map.next_value()?),
                "ping_timeout" => pool.ping_timeout = duration(map.next_value()?),
                _ => pool.degraded_after = duration(map.next_value()?),
            }
        }
        ctx.set_field(None, false);
        Ok(pool)
    }
}

/// The field `key` stands for in the table `table` (`pool`, `tools`, `catalog`) of `server`,
/// whose keys are `keys`: an unknown key is refused with the closest known one, a key written
/// twice too. Places the visitors at the key, then at its value.
fn table_key<E: de::Error>(
    ctx: &Ctx<'_>,
    server: &str,
    table: &str,
    keys: &[&'static str],
    key: &str,
    seen: &mut Vec<&'static str>,
) -> Result<&'static str, E> {
    ctx.set_field(Some(key), false);
    let Some(&field) = keys.iter().find(|k| **k == key) else {
        let hint = crate::suggest::closest(key, keys.iter().copied())
            .map(|k| format!("did you mean `{k}`? "))
            .unwrap_or_default();
        return Err(ctx.invalid(format!(
            "unknown key `{key}` in the `{table}` of {server}: {hint}the keys are {}",
            keys.join(", ")
        )));
    };
    if seen.contains(&field) {
        return Err(ctx.invalid(format!(
            "duplicate key `{key}` in the `{table}` of {server}: write each key once"
        )));
    }
    seen.push(field);
    ctx.set_field(Some(key), true);
    Ok(field)
}

/// The value of `tools`: read key by key, like `pool`, and each glob checked as it is read, so
/// that a bad one is placed at itself (in TOML too) and named with its server and list.
struct ToolsSeed<'c, 'a, 'n> {
    ctx: &'c Ctx<'a>,
    server: Option<&'n str>,
}

impl<'de> DeserializeSeed<'de> for ToolsSeed<'_, '_, '_> {
    type Value = ToolFilter;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ToolFilter, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ToolsSeed<'_, '_, '_> {
    type Value = ToolFilter;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a table of tool globs ({})", TOOLS_KEYS.join(", "))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolFilter, A::Error> {
        let ctx = self.ctx;
        let server = describe_server(self.server);
        let mut allow = None;
        let mut deny = None;
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let field = table_key(ctx, &server, "tools", TOOLS_KEYS, &key, &mut seen)?;
            let (slot, key) = match field {
                "allow" => (&mut allow, filter::ALLOW_KEY),
                _ => (&mut deny, filter::DENY_KEY),
            };
            *slot = Some(map.next_value_seed(GlobListSeed { ctx, server: &server, key })?);
        }
        ctx.set_field(None, false);
        Ok(ToolFilter::from_patterns(allow.unwrap_or_default(), deny.unwrap_or_default()))
    }
}

/// One list of `tools`: globs, each checked as it is read.
struct GlobListSeed<'c, 'a, 's> {
    ctx: &'c Ctx<'a>,
    /// The server, as messages name it.
    server: &'s str,
    /// `tools.allow` or `tools.deny`.
    key: &'static str,
}

impl<'de> DeserializeSeed<'de> for GlobListSeed<'_, '_, '_> {
    type Value = filter::Patterns;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for GlobListSeed<'_, '_, '_> {
    type Value = filter::Patterns;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of globs, such as [\"read_*\", \"list_*\"]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let ctx = self.ctx;
        let invalid = |err: ConfigError| ctx.invalid::<A::Error>(format!("{}: {err}", self.server));
        let mut list = GlobList::new(self.key);
        for index in 0.. {
            ctx.set_item(Some(index));
            let Some(pattern) = seq.next_element::<String>()? else { break };
            list.push(pattern).map_err(invalid)?;
        }
        ctx.set_item(None);
        list.finish().map_err(invalid)
    }
}

/// The value of `catalog`: read key by key, like `pool`.
struct CatalogSeed<'c, 'a, 'n> {
    ctx: &'c Ctx<'a>,
    server: Option<&'n str>,
}

impl<'de> DeserializeSeed<'de> for CatalogSeed<'_, '_, '_> {
    type Value = CatalogSettings;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<CatalogSettings, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CatalogSeed<'_, '_, '_> {
    type Value = CatalogSettings;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a table of catalog settings ({})", CATALOG_KEYS.join(", "))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CatalogSettings, A::Error> {
        let ctx = self.ctx;
        let server = describe_server(self.server);
        let mut catalog = CatalogSettings::default();
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let field = table_key(ctx, &server, "catalog", CATALOG_KEYS, &key, &mut seen)?;
            match field {
                "ttl" => catalog.ttl = map.next_value::<DurationValue>()?.0,
                "max_pages" => {
                    catalog.max_pages = map.next_value()?;
                    if catalog.max_pages == 0 {
                        let reason = crate::server::max_pages_zero("catalog.max_pages");
                        return Err(ctx.invalid(format!("{server}: {reason}")));
                    }
                }
                _ => {
                    catalog.max_items = map.next_value()?;
                    if catalog.max_items == 0 {
                        let reason = crate::server::max_items_zero("catalog.max_items");
                        return Err(ctx.invalid(format!("{server}: {reason}")));
                    }
                }
            }
        }
        ctx.set_field(None, false);
        Ok(catalog)
    }
}

/// An entry's `auth` (or Claude Code's `oauth`) as read, before `${…}` expansion.
struct RawAuth {
    /// The entry key it was read from: `auth` or `oauth`.
    table: &'static str,
    /// `none`, `bearer` or `oauth`.
    kind: &'static str,
    token_env: Option<String>,
    client_id: Option<String>,
    secret: Option<RawSecret>,
    scopes: Vec<String>,
    redirect_port: Option<u16>,
    client_metadata_url: Option<url::Url>,
    grant: OAuthGrant,
    private_key: Option<RawKey>,
    signing_alg: SigningAlg,
    idp_token_endpoint: Option<url::Url>,
    idp_client_id: Option<String>,
    idp_client_secret_env: Option<String>,
    id_token: Option<RawKey>,
}

/// A private key as written: a variable's name, or a file (expanded with the entry, then taken
/// from the config file's folder when relative).
enum RawKey {
    Env(String),
    File(String),
}

/// A client secret as written.
enum RawSecret {
    /// A variable's name: `client_secret_env`, or a secret written as exactly `${VAR}`.
    Env(String),
    /// The secret itself, expanded with the entry; `key` as the file spells it.
    Literal { text: String, key: String },
}

impl RawAuth {
    fn new(table: &'static str, kind: &'static str) -> Self {
        RawAuth {
            table,
            kind,
            token_env: None,
            client_id: None,
            secret: None,
            scopes: Vec::new(),
            redirect_port: None,
            client_metadata_url: None,
            grant: OAuthGrant::AuthorizationCode,
            private_key: None,
            signing_alg: SigningAlg::Es256,
            idp_token_endpoint: None,
            idp_client_id: None,
            idp_client_secret_env: None,
            id_token: None,
        }
    }

    /// The configuration; warns about a secret written in the file.
    fn into_config(self, ctx: &Ctx<'_>, server: &str) -> AuthConfig {
        match self.kind {
            "none" => AuthConfig::None,
            "bearer" => AuthConfig::bearer(self.token_env.unwrap_or_default()),
            _ => {
                let client_secret = self.secret.map(|secret| match secret {
                    RawSecret::Env(name) => SecretRef::Env(name),
                    RawSecret::Literal { text, key } => {
                        ctx.warn(Some(server), WarningKind::LiteralSecret { key });
                        SecretRef::Value(text)
                    }
                });
                let mut oauth = OAuthConfig::default().scopes(self.scopes);
                oauth.client_id = self.client_id;
                oauth.client_secret = client_secret;
                oauth.redirect_port = self.redirect_port;
                oauth.client_metadata_url = self.client_metadata_url;
                oauth.grant = self.grant;
                oauth.private_key = self.private_key.map(|key| match key {
                    RawKey::Env(name) => SecretRef::Env(name),
                    RawKey::File(path) => SecretRef::File(ctx.relative_to_file(path)),
                });
                oauth.signing_alg = self.signing_alg;
                let key = |raw: RawKey| match raw {
                    RawKey::Env(name) => SecretRef::Env(name),
                    RawKey::File(path) => SecretRef::File(ctx.relative_to_file(path)),
                };
                // Complete or absent: the visitor checked it with `idp_parts`.
                if let (Some(token_endpoint), Some(client_id), Some(id_token)) =
                    (self.idp_token_endpoint, self.idp_client_id, self.id_token)
                {
                    oauth.idp = Some(IdpConfig {
                        token_endpoint,
                        client_id,
                        client_secret: self.idp_client_secret_env.map(SecretRef::Env),
                        id_token: key(id_token),
                    });
                }
                AuthConfig::oauth(oauth)
            }
        }
    }
}

/// A client secret as written: exactly `${VAR}` or `${env:VAR}` names the variable (read when
/// the secret is needed, never at load); anything else is the secret itself.
fn raw_secret(text: String, key: String) -> RawSecret {
    let name = text
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .map(|inner| inner.strip_prefix("env:").unwrap_or(inner));
    match name {
        Some(name) if auth::is_var_name(name) => RawSecret::Env(name.to_owned()),
        _ => RawSecret::Literal { text, key },
    }
}

/// The field a key of `auth` stands for. Cursor's `CLIENT_ID` and `CLIENT_SECRET` are read in
/// the mcpServers layout.
fn auth_field(key: &str, dialect: Dialect) -> Option<&'static str> {
    let cursor = dialect == Dialect::McpServers;
    match key {
        "CLIENT_ID" if cursor => Some("client_id"),
        "CLIENT_SECRET" if cursor => Some("client_secret"),
        _ => auth::AUTH_KEYS.iter().map(|(k, _)| *k).find(|k| *k == key),
    }
}

/// The value of `auth`: `"none"`, `"oauth"`, or a table with `type` and the keys of that type.
/// In the mcpServers layout it is also Cursor's `{"CLIENT_ID", "CLIENT_SECRET", "scopes"}`
/// (a table without `type` is OAuth there), and unknown keys are warned about, not refused.
struct AuthSeed<'c, 'a, 'n> {
    text: Text<'c, 'a, 'n>,
}

impl<'de> DeserializeSeed<'de> for AuthSeed<'_, '_, '_> {
    type Value = RawAuth;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawAuth, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AuthSeed<'_, '_, '_> {
    type Value = RawAuth;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "\"none\", \"oauth\", or a table with `type` (none, bearer or oauth), such as \
             {\"type\": \"bearer\", \"token_env\": \"GITHUB_TOKEN\"}",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<RawAuth, E> {
        let server = describe_server(self.text.server);
        match auth::auth_word(text) {
            Ok(config) => Ok(RawAuth::new("auth", config.kind())),
            Err(message) => Err(self.text.ctx.invalid(format!("{server}: {message}"))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawAuth, A::Error> {
        let Text { ctx, dialect, server: name } = self.text;
        let server = describe_server(name);
        let keys: Vec<&str> = auth::AUTH_KEYS.iter().map(|(k, _)| *k).collect();
        let mut raw = RawAuth::new("auth", "");
        let mut kind = None;
        let mut seen: Vec<(&'static str, String)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            ctx.set_field(Some(&key), false);
            let Some(field) = auth_field(&key, dialect) else {
                if dialect == Dialect::McpServers {
                    map.next_value::<IgnoredAny>()?;
                    ctx.warn(name, WarningKind::UnknownKey { key: format!("auth.{key}") });
                    continue;
                }
                let hint = crate::suggest::closest(&key, keys.iter().copied())
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                return Err(ctx.invalid(format!(
                    "unknown key `{key}` in the `auth` of {server}: {hint}the keys are {}",
                    keys.join(", ")
                )));
            };
            if let Some((_, first)) = seen.iter().find(|(f, _)| *f == field) {
                let again = if *first == key { String::new() } else { format!(" (as `{first}`)") };
                return Err(ctx.invalid(format!(
                    "duplicate key `{key}` in the `auth` of {server}{again}: write each key once"
                )));
            }
            seen.push((field, key.clone()));
            ctx.set_field(Some(&key), true);
            let invalid = |message: String| ctx.invalid::<A::Error>(format!("{server}: {message}"));
            match field {
                "type" => {
                    let value: String = map.next_value()?;
                    kind = Some(match value.as_str() {
                        "none" => "none",
                        "bearer" => "bearer",
                        "oauth" => "oauth",
                        other => {
                            return Err(invalid(format!(
                                "unknown `auth.type` {other:?}: use \"none\", \"bearer\" or \"oauth\""
                            )));
                        }
                    });
                }
                "token_env" => {
                    let value: String = map.next_value()?;
                    if !auth::is_var_name(&value) {
                        return Err(invalid(auth::bad_token_env("auth.token_env")));
                    }
                    raw.token_env = Some(value);
                }
                "client_id" => raw.client_id = Some(map.next_value_seed(self.text)?),
                "client_secret_env" => {
                    let value: String = map.next_value()?;
                    if !auth::is_var_name(&value) {
                        return Err(invalid(auth::bad_token_env("auth.client_secret_env")));
                    }
                    raw.secret = Some(RawSecret::Env(value));
                }
                "client_secret" => {
                    let text = map.next_value_seed(SecretText(self.text))?;
                    raw.secret = Some(raw_secret(text, format!("auth.{key}")));
                }
                "scopes" => raw.scopes = map.next_value_seed(ScopesSeed)?,
                "redirect_port" => {
                    let port: u16 = map.next_value()?;
                    if port == 0 {
                        return Err(invalid(auth::redirect_port_zero("auth.redirect_port")));
                    }
                    raw.redirect_port = Some(port);
                }
                "grant" => {
                    let text: String = map.next_value()?;
                    raw.grant = OAuthGrant::parse(&text).map_err(invalid)?;
                }
                "private_key_env" => {
                    let value: String = map.next_value()?;
                    if !auth::is_var_name(&value) {
                        return Err(invalid(auth::bad_token_env("auth.private_key_env")));
                    }
                    raw.private_key = Some(RawKey::Env(value));
                }
                "private_key_file" => {
                    raw.private_key = Some(RawKey::File(map.next_value_seed(self.text)?));
                }
                "signing_alg" => {
                    let text: String = map.next_value()?;
                    raw.signing_alg = SigningAlg::parse(&text).map_err(invalid)?;
                }
                "idp_token_endpoint" => {
                    let text: String = map.next_value()?;
                    let url = auth::parse_idp_token_endpoint(&text)
                        .map_err(|err| invalid(format!("`auth.idp_token_endpoint`: {err}")))?;
                    raw.idp_token_endpoint = Some(url);
                }
                "idp_client_id" => raw.idp_client_id = Some(map.next_value_seed(self.text)?),
                "idp_client_secret_env" => {
                    let value: String = map.next_value()?;
                    if !auth::is_var_name(&value) {
                        return Err(invalid(auth::bad_token_env("auth.idp_client_secret_env")));
                    }
                    raw.idp_client_secret_env = Some(value);
                }
                "id_token_env" => {
                    let value: String = map.next_value()?;
                    if !auth::is_var_name(&value) {
                        return Err(invalid(auth::bad_token_env("auth.id_token_env")));
                    }
                    raw.id_token = Some(RawKey::Env(value));
                }
                "id_token_file" => {
                    raw.id_token = Some(RawKey::File(map.next_value_seed(self.text)?));
                }
                _ => {
                    let text: String = map.next_value()?;
                    let url = auth::parse_metadata_url(&text)
                        .map_err(|err| invalid(format!("`auth.client_metadata_url`: {err}")))?;
                    raw.client_metadata_url = Some(url);
                }
            }
        }
        ctx.set_field(None, false);
        let Some(kind) = kind.or((dialect == Dialect::McpServers).then_some("oauth")) else {
            return Err(ctx.invalid(format!(
                "{server}: `auth` has no `type`: write \"type\": \"bearer\" (with `token_env`), \
                 \"oauth\" or \"none\""
            )));
        };
        raw.kind = kind;
        for (field, key) in &seen {
            let belongs = auth::AUTH_KEYS.iter().find(|(k, _)| k == field).map_or("", |(_, b)| b);
            if !belongs.is_empty() && belongs != kind {
                return Err(ctx.invalid(format!(
                    "{server}: `auth.{key}` belongs to an `auth` of type {belongs}, and this one is \
                     of type {kind}; remove it, or change `type`"
                )));
            }
        }
        if seen.iter().any(|(f, _)| *f == "client_secret")
            && seen.iter().any(|(f, _)| *f == "client_secret_env")
        {
            return Err(ctx.invalid(format!(
                "{server}: `auth` has both `client_secret_env` and a `client_secret`; keep one \
                 (`client_secret_env`, the name of the variable that holds the secret)"
            )));
        }
        if kind == "bearer" && raw.token_env.is_none() {
            return Err(ctx.invalid(format!(
                "{server}: an `auth` of type bearer needs `token_env`, the name of the \
                 environment variable that holds the token, such as \"token_env\": \"GITHUB_TOKEN\""
            )));
        }
        if raw.secret.is_some() && raw.client_id.is_none() {
            return Err(
                ctx.invalid(format!("{server}: {}", auth::secret_without_client_id("auth")))
            );
        }
        if seen.iter().any(|(f, _)| *f == "private_key_env")
            && seen.iter().any(|(f, _)| *f == "private_key_file")
        {
            return Err(ctx.invalid(format!("{server}: {}", auth::both_private_keys("auth"))));
        }
        if seen.iter().any(|(f, _)| *f == "id_token_env")
            && seen.iter().any(|(f, _)| *f == "id_token_file")
        {
            return Err(ctx.invalid(format!("{server}: {}", auth::both_id_tokens("auth"))));
        }
        if kind == "oauth" {
            let placeholder = || SecretRef::Env(String::new());
            auth::idp_parts(
                "auth",
                raw.grant,
                raw.idp_token_endpoint.clone(),
                raw.idp_client_id.as_ref().map(|_| String::new()),
                raw.idp_client_secret_env.as_ref().map(|_| placeholder()),
                raw.id_token.as_ref().map(|_| placeholder()),
            )
            .map_err(|message| ctx.invalid::<A::Error>(format!("{server}: {message}")))?;
            // The grant and the client authentication must go together; the values checked
            // here are only whether each is present, so placeholders stand in for them.
            let mut shape = OAuthConfig::default().grant(raw.grant);
            shape.client_id = raw.client_id.as_ref().map(|_| String::new());
            shape.client_secret = raw.secret.as_ref().map(|_| SecretRef::Env(String::new()));
            shape.private_key = raw.private_key.as_ref().map(|_| SecretRef::Env(String::new()));
            auth::check_grant("auth", &shape)
                .map_err(|message| ctx.invalid::<A::Error>(format!("{server}: {message}")))?;
        }
        Ok(raw)
    }
}

/// Claude Code's `oauth` (`.mcp.json`): `clientId`, `callbackPort`, `scopes` (one
/// space-separated string); `authServerMetadataUrl` and other keys are warned about.
struct ClaudeOAuthSeed<'c, 'a, 'n> {
    text: Text<'c, 'a, 'n>,
}

impl<'de> DeserializeSeed<'de> for ClaudeOAuthSeed<'_, '_, '_> {
    type Value = RawAuth;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawAuth, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaudeOAuthSeed<'_, '_, '_> {
    type Value = RawAuth;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of OAuth settings (clientId, callbackPort, scopes)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawAuth, A::Error> {
        let Text { ctx, server: name, .. } = self.text;
        let server = describe_server(name);
        let mut raw = RawAuth::new("oauth", "oauth");
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            ctx.set_field(Some(&key), false);
            if seen.contains(&key) {
                return Err(ctx.invalid(format!(
                    "duplicate key `{key}` in the `oauth` of {server}: write each key once"
                )));
            }
            seen.push(key.clone());
            ctx.set_field(Some(&key), true);
            match key.as_str() {
                "clientId" => raw.client_id = Some(map.next_value_seed(self.text)?),
                "callbackPort" => {
                    let port: u16 = map.next_value()?;
                    if port == 0 {
                        let reason = auth::redirect_port_zero("oauth.callbackPort");
                        return Err(ctx.invalid(format!("{server}: {reason}")));
                    }
                    raw.redirect_port = Some(port);
                }
                "scopes" => raw.scopes = map.next_value_seed(ScopesSeed)?,
                _ => {
                    // `authServerMetadataUrl` too: metadata discovery cannot be overridden yet.
                    map.next_value::<IgnoredAny>()?;
                    ctx.warn(name, WarningKind::UnknownKey { key: format!("oauth.{key}") });
                }
            }
        }
        ctx.set_field(None, false);
        Ok(raw)
    }
}

/// OAuth scopes: a list of strings, or one space-separated string (Claude Code's form).
struct ScopesSeed;

impl<'de> DeserializeSeed<'de> for ScopesSeed {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<String>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScopesSeed {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a list of scopes, such as [\"read\", \"write\"], or one space-separated string",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<String>, E> {
        Ok(text.split_whitespace().map(str::to_owned).collect())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut scopes = Vec::new();
        while let Some(scope) = seq.next_element::<String>()? {
            scopes.extend(scope.split_whitespace().map(str::to_owned));
        }
        Ok(scopes)
    }
}

/// A [`Text`] that holds a secret: a value of the wrong type is refused without being quoted.
struct SecretText<'c, 'a, 'n>(Text<'c, 'a, 'n>);

impl<'de> DeserializeSeed<'de> for SecretText<'_, '_, '_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl SecretText<'_, '_, '_> {
    fn not_a_string<E: de::Error>(&self) -> E {
        E::invalid_type(de::Unexpected::Other("a value that is not a string"), self)
    }
}

impl<'de> Visitor<'de> for SecretText<'_, '_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        self.0.visit_string(text.to_owned())
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<String, E> {
        self.0.visit_string(text)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(self.not_a_string())
    }
}

/// A duration field: seconds or a humantime string.
struct DurationValue(Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::duration::deserialize(deserializer).map(DurationValue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loader reads `pool` itself: its keys must be [`PoolSettings`]'s fields.
    #[test]
    fn pool_keys_are_the_fields_of_pool_settings() {
        let value = serde_json::to_value(PoolSettings::default()).unwrap_or_default();
        let mut fields: Vec<&str> =
            value.as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
        fields.sort_unstable();
        let mut keys = POOL_KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(keys, fields);
    }

    /// The loader reads `tools` and `catalog` itself: their keys must be the serde fields.
    #[test]
    fn tools_and_catalog_keys_are_the_fields() {
        let keys_of = |value: serde_json::Value| {
            let mut fields: Vec<String> =
                value.as_object().into_iter().flatten().map(|(k, _)| k.clone()).collect();
            fields.sort_unstable();
            fields
        };
        let mut keys = CATALOG_KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(
            keys,
            keys_of(serde_json::to_value(CatalogSettings::default()).unwrap_or_default())
        );
        assert_eq!(
            TOOLS_KEYS,
            keys_of(serde_json::to_value(ToolFilter::default()).unwrap_or_default())
        );
    }

    /// Every key an entry takes is listed for "did you mean", and read.
    #[test]
    fn entry_keys_are_canonical() {
        for key in ENTRY_KEYS {
            assert_eq!(canonical(key), Some(*key));
        }
    }
}
