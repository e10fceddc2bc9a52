//! Property tests of the loader: random servers written in every layout load back to the same
//! servers; `${…}` expansion follows its model (process environment, then the server's own
//! `env` block, then the default); and text mangled at random never panics the loader, whose
//! every error points inside the text.
//!
//! Case counts follow `PROPTEST_CASES` (`cargo xtask props` runs them long).

use std::collections::BTreeMap;
use std::time::Duration;

use mcp_config::{
    CatalogSettings, Format, LoadErrorKind, Loader, MCPConfig, PoolSettings, Protocol,
    ServerConfig, SseConfig, StdioConfig, StreamableHttpConfig, Timeouts, ToolFilter,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// One server, before it gets its name.
#[derive(Clone, Debug)]
enum Spec {
    Stdio { command: String, args: Vec<String>, env: BTreeMap<String, String> },
    Sse { url: String, headers: BTreeMap<String, String> },
    Http { url: String, headers: BTreeMap<String, String> },
}

/// Text with the characters that stress quoting and expansion: quotes, backslashes, `$`, `${`,
/// `}`, `#`, `=`, newlines, tabs and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => "[a-zA-Z0-9 ./:_-]{1,6}",
            1 => Just("\"".to_owned()),
            1 => Just("\\".to_owned()),
            1 => Just("$".to_owned()),
            1 => Just("${".to_owned()),
            1 => Just("}".to_owned()),
            1 => Just("#=[]'".to_owned()),
            1 => Just("\n\t".to_owned()),
            1 => "\\PC{1,3}",
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9 ._@-]{0,12}"
}

fn url() -> impl Strategy<Value = String> {
    (
        "[a-z0-9-]{1,8}",
        1..65535u16,
        "[a-zA-Z0-9/_.-]{0,12}",
        prop::option::of("[a-z]{1,5}=[a-z0-9]{0,5}"),
    )
        .prop_map(|(host, port, path, query)| {
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("http://{host}.example:{port}/{path}{query}")
        })
}

fn headers() -> impl Strategy<Value = BTreeMap<String, String>> {
    // Header values: printable, no line breaks or NUL (the loader refuses those).
    prop::collection::btree_map("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,16}|\\PC{0,6}", 0..3)
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        2 => ("[a-z][a-z0-9_./-]{0,10}", prop::collection::vec(text(), 0..4),
              prop::collection::btree_map("[A-Z_][A-Z0-9_]{0,6}", text(), 0..3))
            .prop_map(|(command, args, env)| Spec::Stdio { command, args, env }),
        1 => (url(), headers()).prop_map(|(url, headers)| Spec::Sse { url, headers }),
        1 => (url(), headers()).prop_map(|(url, headers)| Spec::Http { url, headers }),
    ]
}

/// A `pool` as a file writes it: the keys it sets (the others keep their defaults).
#[derive(Clone, Debug)]
struct Pool {
    /// The keys of [`POOL_COUNTS`], in its order.
    counts: [Option<u32>; 3],
    /// The keys of [`POOL_DURATIONS`], in its order.
    durations: [Option<Duration>; 6],
}

/// A key of `pool` and its builder setter.
type Key<T> = (&'static str, fn(PoolSettings, T) -> PoolSettings);

const POOL_COUNTS: [Key<u32>; 3] = [
    ("max_in_flight", PoolSettings::max_in_flight),
    ("max_queued", PoolSettings::max_queued),
    ("max_restarts", PoolSettings::max_restarts),
];
const POOL_DURATIONS: [Key<Duration>; 6] = [
    ("idle_timeout", PoolSettings::idle_timeout),
    ("healthy_after", PoolSettings::healthy_after),
    ("backoff", PoolSettings::backoff),
    ("max_backoff", PoolSettings::max_backoff),
    ("ping_timeout", PoolSettings::ping_timeout),
    ("degraded_after", PoolSettings::degraded_after),
];

impl Pool {
    /// The settings it loads to.
    fn settings(&self) -> PoolSettings {
        let mut pool = PoolSettings::default();
        for ((_, set), count) in POOL_COUNTS.iter().zip(self.counts) {
            if let Some(count) = count {
                pool = set(pool, count);
            }
        }
        for ((_, set), duration) in POOL_DURATIONS.iter().zip(self.durations) {
            if let Some(duration) = duration {
                pool = set(pool, duration);
            }
        }
        pool
    }

    /// As JSON: whole seconds as a number, other durations as a humantime string (`"1500ms"`).
    fn json(&self) -> Value {
        let mut object = serde_json::Map::new();
        for ((key, _), count) in POOL_COUNTS.iter().zip(self.counts) {
            if let Some(count) = count {
                object.insert((*key).to_owned(), json!(count));
            }
        }
        for ((key, _), duration) in POOL_DURATIONS.iter().zip(self.durations) {
            if let Some(duration) = duration {
                let value = if duration.subsec_nanos() == 0 {
                    json!(duration.as_secs())
                } else {
                    json!(format!("{}ms", duration.as_millis()))
                };
                object.insert((*key).to_owned(), value);
            }
        }
        Value::Object(object)
    }
}

fn pool() -> impl Strategy<Value = Pool> {
    let count = || prop::option::of(any::<u32>());
    let duration = || prop::option::of(millis());
    (
        (prop::option::of(1..=u32::MAX), count(), count()),
        (duration(), duration(), duration(), duration(), duration(), duration()),
    )
        .prop_map(|((a, b, c), (d, e, f, g, h, i))| Pool {
            counts: [a, b, c],
            durations: [d, e, f, g, h, i],
        })
}

/// One server of [`servers`]: its name, what it is, and its `pool` if it has one.
type Server = (String, Spec, Option<Pool>);

/// Up to 6 servers with distinct names, in name order (the order object layouts keep here),
/// some with a `pool`.
fn servers() -> impl Strategy<Value = Vec<Server>> {
    let server = (spec(), prop::option::weighted(0.25, pool()));
    prop::collection::btree_map(name(), server, 0..6)
        .prop_map(|map| map.into_iter().map(|(name, (spec, pool))| (name, spec, pool)).collect())
}

/// The config `servers` must load to, with every default the loader applies.
fn expected(servers: &[Server]) -> MCPConfig {
    let built = servers.iter().map(|(name, spec, pool)| -> ServerConfig {
        let pool = pool.as_ref().map(Pool::settings).unwrap_or_default();
        match spec {
            Spec::Stdio { command, args, env } => StdioConfig::new(name, command)
                .args(args.clone())
                .envs(env.clone())
                .pool(pool)
                .into(),
            Spec::Sse { url, headers } => SseConfig::new(name, url.as_str())
                .unwrap()
                .headers(headers.clone())
                .pool(pool)
                .into(),
            Spec::Http { url, headers } => StreamableHttpConfig::new(name, url.as_str())
                .unwrap()
                .headers(headers.clone())
                .sse_fallback(false)
                .pool(pool)
                .into(),
        }
    });
    MCPConfig::new(built).unwrap()
}

/// `text` as a config file must write it so that loading gives `text` back.
fn literal(text: &str) -> String {
    text.replace("${", "$${")
}

fn literal_map(map: &BTreeMap<String, String>) -> Value {
    map.iter().map(|(k, v)| (k.clone(), Value::String(literal(v)))).collect()
}

/// One entry as the object layouts write it; `typed` adds VS Code's `"type": "stdio"`.
fn entry(spec: &Spec, pool: Option<&Pool>, typed: bool) -> Value {
    let mut entry = match spec {
        Spec::Stdio { command, args, env } => json!({
            "command": literal(command),
            "args": args.iter().map(|a| literal(a)).collect::<Vec<_>>(),
            "env": literal_map(env),
        }),
        Spec::Sse { url, headers } => {
            json!({"type": "sse", "url": literal(url), "headers": literal_map(headers)})
        }
        Spec::Http { url, headers } => {
            json!({"type": "http", "url": literal(url), "headers": literal_map(headers)})
        }
    };
    if typed && matches!(spec, Spec::Stdio { .. }) {
        entry["type"] = json!("stdio");
    }
    if let Some(pool) = pool {
        entry["pool"] = pool.json();
    }
    entry
}

/// `servers` written in each layout: (what, format, text).
fn layouts(servers: &[Server]) -> Vec<(&'static str, Format, String)> {
    let object = |typed| -> Value {
        servers
            .iter()
            .map(|(name, spec, pool)| (name.clone(), entry(spec, pool.as_ref(), typed)))
            .collect()
    };
    let mcp_servers = json!({ "mcpServers": object(false) });
    let vscode = json!({ "servers": object(true), "inputs": [] });
    let native: Vec<Value> = servers
        .iter()
        .map(|(name, spec, pool)| {
            let mut entry = entry(spec, pool.as_ref(), false);
            entry["server_name"] = json!(name);
            if let Some(kind) = entry.as_object_mut().and_then(|e| e.remove("type")) {
                let transport = if kind == "http" { "streamable_http" } else { "sse" };
                entry["transport"] = json!(transport);
            }
            entry
        })
        .collect();
    let native = json!({ "servers": native });
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap();
    // VS Code's JSONC: a comment on every line that opens an object, and trailing commas.
    let jsonc = pretty(&vscode).replace("{\n", "{ // servers\n").replace("\"\n", "\",\n");
    vec![
        ("mcpServers", Format::Json, pretty(&mcp_servers)),
        ("VS Code", Format::Jsonc, jsonc),
        ("native JSON", Format::Json, pretty(&native)),
        ("native TOML", Format::Toml, toml::to_string(&native).unwrap()),
    ]
}

fn load(text: &str, format: Format) -> Result<MCPConfig, mcp_config::LoadError> {
    Loader::new().vars([("HOME", "/home/ada")]).format(format).load_str(text).map(|l| l.config)
}

/// A duration in whole milliseconds, as config files write them.
fn millis() -> impl Strategy<Value = Duration> {
    (1..100_000_000u64).prop_map(Duration::from_millis)
}

fn timeouts() -> impl Strategy<Value = Timeouts> {
    (millis(), millis(), millis())
        .prop_map(|(s, r, c)| Timeouts::default().startup(s).request(r).close_grace(c))
}

/// Any pool settings the builders make.
fn pool_settings() -> impl Strategy<Value = PoolSettings> {
    (
        (1..=u32::MAX, any::<u32>(), any::<u32>()),
        (millis(), millis(), millis(), millis(), millis(), millis()),
    )
        .prop_map(
            |((in_flight, queued, restarts), (idle, healthy, backoff, max, ping, slow))| {
                PoolSettings::default()
                    .max_in_flight(in_flight)
                    .max_queued(queued)
                    .max_restarts(restarts)
                    .idle_timeout(idle)
                    .healthy_after(healthy)
                    .backoff(backoff)
                    .max_backoff(max)
                    .ping_timeout(ping)
                    .degraded_after(slow)
            },
        )
}

/// Pool settings now and then; the defaults otherwise.
fn some_pool() -> impl Strategy<Value = PoolSettings> {
    prop::option::weighted(0.25, pool_settings()).prop_map(Option::unwrap_or_default)
}

/// Globs in the model's syntax: letters, `_`, `*` and `?`.
fn globs() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[ab_*?]{0,4}", 0..4)
}

/// Tool filters now and then; no filter otherwise.
fn some_tools() -> impl Strategy<Value = ToolFilter> {
    prop::option::weighted(0.25, (globs(), globs()))
        .prop_map(|lists| lists.map(|(a, d)| ToolFilter::new(a, d).unwrap()).unwrap_or_default())
}

/// Catalog settings now and then; the defaults otherwise.
fn some_catalog() -> impl Strategy<Value = CatalogSettings> {
    let settings =
        (prop::option::of(millis()), 1..=u32::MAX, 1..=u32::MAX).prop_map(|(ttl, pages, items)| {
            let catalog = CatalogSettings::default().max_pages(pages).max_items(items);
            catalog.ttl(ttl.unwrap_or_default())
        });
    prop::option::weighted(0.25, settings).prop_map(Option::unwrap_or_default)
}

/// Whether `glob` (letters, `_`, `*` any text, `?` one character) matches all of `name`.
fn wildcard(glob: &[char], name: &[char]) -> bool {
    match glob.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|skip| wildcard(rest, &name[skip..])),
        Some((c, rest)) => name
            .split_first()
            .is_some_and(|(n, tail)| (*c == '?' || c == n) && wildcard(rest, tail)),
    }
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::Initialize), Just(Protocol::Auto), Just(Protocol::Discover)]
}

/// Any server the builders make, with every setting.
fn server() -> impl Strategy<Value = ServerConfig> {
    let stdio = (
        name(),
        spec(),
        prop::option::of(text()),
        timeouts(),
        (some_pool(), some_tools(), some_catalog()),
        protocol(),
    )
        .prop_map(|(name, spec, dir, timeouts, (pool, tools, catalog), protocol)| {
            let Spec::Stdio { command, args, env } = spec else {
                return StdioConfig::new(name, "server").pool(pool).into();
            };
            let mut config = StdioConfig::new(name, command)
                .args(args)
                .envs(env)
                .timeouts(timeouts)
                .pool(pool)
                .tools(tools)
                .catalog(catalog)
                .protocol(protocol);
            config.working_dir = dir.map(Into::into);
            config.into()
        });
    let remote = (
        name(),
        url(),
        headers(),
        (millis(), millis()),
        (timeouts(), some_pool(), some_tools(), some_catalog()),
        any::<(bool, bool)>(),
        protocol(),
    )
        .prop_map(
            |(
                name,
                url,
                headers,
                (timeout, read),
                (timeouts, pool, tools, catalog),
                (sse, fallback),
                protocol,
            )| {
                if sse {
                    let config = SseConfig::new(name, url.as_str()).unwrap();
                    config
                        .headers(headers)
                        .timeout(timeout)
                        .sse_read_timeout(read)
                        .timeouts(timeouts)
                        .pool(pool)
                        .tools(tools)
                        .catalog(catalog)
                        .into()
                } else {
                    let config = StreamableHttpConfig::new(name, url.as_str()).unwrap();
                    let config = config.headers(headers).timeout(timeout).sse_read_timeout(read);
                    let config = config.timeouts(timeouts).pool(pool).tools(tools).catalog(catalog);
                    config.sse_fallback(fallback).protocol(protocol).into()
                }
            },
        );
    prop_oneof![stdio, remote]
}

/// A piece of a string that goes through `${…}` expansion.
#[derive(Clone, Debug)]
enum Piece {
    /// Text without `$`.
    Text(String),
    /// `${NAME}` or `${NAME:-default}`.
    Var { name: usize, default: Option<String>, env_prefix: bool },
    /// `$${`: a literal `${`.
    Escaped,
    /// A `$` not followed by `{`.
    Dollar,
}

/// Where variable `i` is defined: the process environment, the server's `env` block, both or
/// neither. Values may hold `${` and `$`: they are never expanded again.
#[derive(Clone, Debug)]
struct Var {
    process: Option<String>,
    block: Option<String>,
}

const VAR_NAMES: [&str; 4] = ["ALPHA", "BETA_2", "_GAMMA", "delta"];

fn pieces() -> impl Strategy<Value = Vec<Piece>> {
    let piece = prop_oneof![
        3 => "[a-zA-Z0-9 :/=-]{1,5}".prop_map(Piece::Text),
        3 => (0..VAR_NAMES.len(), prop::option::of("[a-z0-9 .]{0,4}"), any::<bool>())
            .prop_map(|(name, default, env_prefix)| Piece::Var { name, default, env_prefix }),
        1 => Just(Piece::Escaped),
        1 => Just(Piece::Dollar),
    ];
    prop::collection::vec(piece, 0..6)
}

fn vars() -> impl Strategy<Value = Vec<Var>> {
    let value = "[a-z0-9${} ]{0,5}";
    prop::collection::vec(
        (prop::option::of(value), prop::option::of(value))
            .prop_map(|(process, block)| Var { process, block }),
        VAR_NAMES.len(),
    )
}

/// The text `pieces` make, and what it expands to (or the unset variable it stops at).
fn model(pieces: &[Piece], vars: &[Var], block: bool) -> (String, Result<String, String>) {
    let mut text = String::new();
    let mut value = Ok(String::new());
    for piece in pieces {
        let (written, expanded) = match piece {
            Piece::Text(t) => (t.clone(), Ok(t.clone())),
            Piece::Escaped => ("$${".to_owned(), Ok("${".to_owned())),
            Piece::Dollar => ("$5".to_owned(), Ok("$5".to_owned())),
            Piece::Var { name, default, env_prefix } => {
                let var_name = VAR_NAMES[*name];
                let prefix = if *env_prefix { "env:" } else { "" };
                let written = match default {
                    Some(d) => format!("${{{prefix}{var_name}:-{d}}}"),
                    None => format!("${{{prefix}{var_name}}}"),
                };
                let var = &vars[*name];
                let found = var.process.clone().or(if block { var.block.clone() } else { None });
                let expanded = match (found, default) {
                    (Some(v), Some(d)) if v.is_empty() => Ok(d.clone()),
                    (Some(v), _) => Ok(v),
                    (None, Some(d)) => Ok(d.clone()),
                    (None, None) => Err(var_name.to_owned()),
                };
                (written, expanded)
            }
        };
        text.push_str(&written);
        value = match (value, expanded) {
            (Ok(mut v), Ok(e)) => {
                v.push_str(&e);
                Ok(v)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
    }
    (text, value)
}

/// Random edits of `text`: cut a range, insert characters that matter to JSON and TOML, or
/// repeat a slice. Works on characters, so the result stays UTF-8.
fn mangle(text: &str, edits: &[(u8, usize, usize, String)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (kind, at, len, insert) in edits {
        let at = if chars.is_empty() { 0 } else { at % (chars.len() + 1) };
        let end = (at + len % 8).min(chars.len());
        match kind % 3 {
            0 => {
                chars.drain(at..end);
            }
            1 => {
                chars.splice(at..at, insert.chars());
            }
            _ => {
                let slice: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, slice);
            }
        }
    }
    chars.into_iter().collect()
}

fn edits() -> impl Strategy<Value = Vec<(u8, usize, usize, String)>> {
    let insert = prop_oneof![
        "[{}\\[\\]\":,=\n#/*$\\\\ ]{1,3}",
        Just("${".to_owned()),
        Just("${input:x}".to_owned()),
        Just("\"servers\"".to_owned()),
        "\\PC{1,2}",
    ];
    prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), insert), 1..4)
}

/// An error's place must be inside `text`: a real line, and at most one column past its end.
fn assert_inside(text: &str, err: &mcp_config::LoadError) -> Result<(), TestCaseError> {
    if let Some(at) = err.location() {
        let lines: Vec<&str> = text.split('\n').collect();
        prop_assert!(
            at.line >= 1 && at.line <= lines.len(),
            "line {} of {}: {err}",
            at.line,
            lines.len()
        );
        let width = lines[at.line - 1].chars().count();
        prop_assert!(
            at.column >= 1 && at.column <= width + 1,
            "column {} of {width}: {err}",
            at.column
        );
    }
    Ok(())
}

proptest! {
    /// The same servers in each layout load to the same config, and that config written in the
    /// native form loads back equal.
    #[test]
    fn prop_every_layout_loads_the_same_servers(servers in servers()) {
        let want = expected(&servers);
        for (layout, format, text) in layouts(&servers) {
            let got = load(&text, format);
            prop_assert!(got.is_ok(), "{layout} does not load: {:?}\n{text}", got.err());
            let got = got.unwrap();
            prop_assert_eq!(&got, &want, "{}:\n{}", layout, text);
            let again = load(&got.to_json_string(), Format::Json);
            let again = again.ok();
            prop_assert_eq!(again.as_ref(), Some(&want), "{} written back", layout);
        }
    }

    /// Any config the builders make survives `to_json_string` and loading.
    #[test]
    fn prop_native_json_round_trips(servers in prop::collection::vec(server(), 0..5)) {
        let mut config = MCPConfig::default();
        for server in servers {
            // Names drawn twice are skipped: a config holds each once.
            let _ = config.push(server);
        }
        let text = config.to_json_string();
        let loaded = load(&text, Format::Auto);
        prop_assert!(loaded.is_ok(), "{:?}\n{text}", loaded.err());
        prop_assert_eq!(loaded.unwrap(), config);
    }

    /// `${…}` in `args` expands as the model says: the process environment first, then (in the
    /// mcpServers layout only) the server's own `env` block, then the default.
    #[test]
    fn prop_expansion_follows_the_model(pieces in pieces(), vars in vars(), mcp_servers in any::<bool>()) {
        let process: Vec<(&str, String)> = VAR_NAMES
            .iter()
            .zip(&vars)
            .filter_map(|(name, var)| Some((*name, var.process.clone()?)))
            .collect();
        let block: BTreeMap<&str, String> = VAR_NAMES
            .iter()
            .zip(&vars)
            .filter_map(|(name, var)| Some((*name, literal(var.block.as_ref()?))))
            .collect();
        let (arg, want) = model(&pieces, &vars, mcp_servers);
        let text = if mcp_servers {
            json!({"mcpServers": {"s": {"command": "x", "args": [arg], "env": block}}})
        } else {
            json!({"servers": [{"server_name": "s", "command": "x", "args": [arg], "env": block}]})
        };
        let got = Loader::new().vars(process).load_str(&text.to_string());
        match want {
            Ok(value) => {
                prop_assert!(got.is_ok(), "{:?}", got.err());
                let config = got.unwrap().config;
                let ServerConfig::Stdio(stdio) = config.get("s").unwrap() else { unreachable!() };
                prop_assert_eq!(&stdio.args[0], &value);
            }
            Err(name) => {
                let err = got.err();
                prop_assert!(
                    matches!(err.as_ref().map(|e| e.kind()), Some(LoadErrorKind::UnsetVariable { name: n }) if *n == name),
                    "expected `{name}` unset, got {err:?}"
                );
            }
        }
    }

    /// Mangled files never panic the loader, in any format, and every error is placed inside
    /// the text.
    #[test]
    fn prop_mangled_files_fail_cleanly(servers in servers(), pick in 0..4usize, edits in edits()) {
        let (_, _, text) = layouts(&servers).swap_remove(pick);
        let text = mangle(&text, &edits);
        for format in [Format::Auto, Format::Json, Format::Jsonc, Format::Toml] {
            if let Err(err) = load(&text, format) {
                assert_inside(&text, &err)?;
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }

    /// `allows` follows the model: `allow` empty or one of its globs matches, and no `deny`
    /// glob matches; the same filter loads from a file in JSON and TOML.
    #[test]
    fn prop_tool_filter_follows_the_model(
        allow in globs(),
        deny in globs(),
        names in prop::collection::vec("[ab_]{0,5}", 1..8),
    ) {
        let filter = ToolFilter::new(&allow, &deny).unwrap();
        let matches = |list: &[String], name: &str| {
            let name: Vec<char> = name.chars().collect();
            list.iter().any(|glob| wildcard(&glob.chars().collect::<Vec<_>>(), &name))
        };
        for name in &names {
            let want = (allow.is_empty() || matches(&allow, name)) && !matches(&deny, name);
            prop_assert_eq!(filter.allows(name), want, "{:?} with {:?}", name, filter);
        }
        let json = json!({"mcpServers": {"s": {"command": "x", "tools": {"allow": allow, "deny": deny}}}});
        let toml_text = toml::to_string(&json).unwrap();
        for (text, format) in [(json.to_string(), Format::Json), (toml_text, Format::Toml)] {
            let config = load(&text, format);
            prop_assert!(config.is_ok(), "{:?}\n{}", config.err(), text);
            let config = config.unwrap();
            prop_assert_eq!(config.get("s").unwrap().tools(), &filter);
        }
    }

    /// Any text as a glob is taken or refused with an error, never a panic; a refused one is
    /// refused by the loader too, which names it.
    #[test]
    fn prop_any_glob_is_taken_or_refused(glob in "\\PC{0,8}|[\\[\\]{},*?\\\\a-]{0,8}") {
        let built = ToolFilter::default().deny([glob.as_str()]);
        let text = json!({"mcpServers": {"s": {"command": "x", "tools": {"deny": [glob]}}}}).to_string();
        match (built, load(&text, Format::Json)) {
            (Ok(filter), Ok(config)) => {
                prop_assert_eq!(config.get("s").unwrap().tools(), &filter);
            }
            (Err(err), Err(load_err)) => {
                prop_assert!(err.to_string().starts_with("`tools.deny`: invalid glob"), "{}", err);
                prop_assert!(load_err.to_string().contains(&err.to_string()), "{}", load_err);
            }
            (built, loaded) => prop_assert!(false, "{:?} vs {:?}", built, loaded.map(|_| ())),
        }
    }

    /// Arbitrary text never panics the loader either.
    #[test]
    fn prop_any_text_fails_cleanly(text in "\\PC{0,64}|[{}\\[\\]\":,=\n#/*$ a-z]{0,64}") {
        for format in [Format::Auto, Format::Json, Format::Jsonc, Format::Toml] {
            if let Err(err) = load(&text, format) {
                assert_inside(&text, &err)?;
            }
        }
    }
}
