//! The config phase: [`mcp_config::Loader::load`] on large config files, one per layout
//! mcp-config reads, timed and with the peak of its heap counted (see [`crate::alloc`]).
//!
//! The files are generated into a temporary folder when the run starts: SERVERS servers each,
//! a mix of stdio servers (six in ten), streamable HTTP (three in ten) and legacy SSE servers
//! (one in ten), with headers and environment variables, about one in eight holding a `${VAR}`
//! reference that the loader expands from [`VARS`].

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use mcp_config::{Dialect, Loader};
use serde_json::{Value, json};

use crate::Error;

/// The layouts measured, in report order: the key in the report, the file's name and the
/// dialect the loader must find.
pub(crate) const LAYOUTS: [(&str, &str, Dialect); 4] = [
    ("native_json", "mcp.json", Dialect::Native),
    ("native_toml", "mcp.toml", Dialect::Native),
    ("mcp_servers", "claude_desktop_config.json", Dialect::McpServers),
    ("vscode", ".vscode/mcp.json", Dialect::VsCode),
];

/// The variables the files refer to, as the loader is given them.
pub(crate) const VARS: [(&str, &str); 2] =
    [("MCP_TOKEN", "tok-0123456789abcdef"), ("GITHUB_TOKEN", "ghp_0123456789abcdef")];

/// The generated files, removed when dropped.
pub(crate) struct Files {
    dir: tempfile::TempDir,
    servers: usize,
}

impl Files {
    /// Writes one file of `servers` servers per layout into a new temporary folder.
    pub(crate) fn generate(servers: usize) -> Result<Files, Error> {
        let dir = tempfile::Builder::new().prefix("mcp-bench-config-").tempdir()?;
        let entries: Vec<Entry> = (0..servers).map(Entry::new).collect();
        for (key, file, _) in LAYOUTS {
            let text = match key {
                "native_json" => native_json(&entries),
                "native_toml" => native_toml(&entries),
                "mcp_servers" => mcp_servers(&entries),
                _ => vscode(&entries),
            };
            let path = dir.path().join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)?;
        }
        Ok(Files { dir, servers })
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Loads each file once: its size, the servers loaded, the time `Loader::load` took, the
    /// peak of the heap meanwhile (also as a multiple of the file's size) and the heap the
    /// loaded configuration holds.
    pub(crate) fn measure(&self) -> Result<Value, Error> {
        let loader = Loader::new().vars(VARS);
        let mut out = serde_json::Map::new();
        for (key, file, dialect) in LAYOUTS {
            let path = self.path(file);
            let file_bytes = std::fs::metadata(&path)?.len();
            let ((loaded, took), heap) = crate::alloc::measure_peak(|| {
                let start = Instant::now();
                let loaded = loader.load(&path);
                (loaded, start.elapsed())
            });
            let loaded = loaded.map_err(|err| format!("loading the {key} file: {err}"))?;
            if loaded.dialect != dialect || loaded.config.len() != self.servers {
                return Err(format!(
                    "the {key} file loaded as {} with {} servers, not {dialect} with {}",
                    loaded.dialect,
                    loaded.config.len(),
                    self.servers
                )
                .into());
            }
            out.insert(
                key.to_owned(),
                json!({
                    "file_bytes": file_bytes,
                    "servers": loaded.config.len(),
                    "load_ms": took.as_secs_f64() * 1000.0,
                    "peak_heap_bytes": heap.peak,
                    "peak_over_file": heap.peak as f64 / file_bytes as f64,
                    "retained_heap_bytes": heap.retained,
                }),
            );
        }
        Ok(Value::Object(out))
    }
}

/// Server names: a few common ones, numbered.
const NAMES: [&str; 7] = ["github", "filesystem", "fetch", "postgres", "slack", "search", "memory"];

/// One server, as every layout writes it.
struct Entry {
    name: String,
    kind: Kind,
}

enum Kind {
    Stdio { command: &'static str, args: Vec<String>, env: Vec<(&'static str, String)> },
    Remote { sse: bool, url: String, headers: Vec<(&'static str, String)> },
}

impl Entry {
    fn new(index: usize) -> Entry {
        let base = NAMES[index % NAMES.len()];
        let name = format!("{base}-{index:06}");
        // One in eight refers to a variable.
        let secret = index.is_multiple_of(8);
        let kind = match index % 10 {
            0..=5 => {
                let (command, args) = match index % 3 {
                    0 => ("npx", vec!["-y".to_owned(), format!("@acme/{base}-mcp")]),
                    1 => ("uvx", vec![format!("mcp-server-{base}")]),
                    _ => ("docker", vec!["run".into(), "-i".into(), format!("acme/{base}")]),
                };
                let env = if secret {
                    vec![("GITHUB_TOKEN", "${GITHUB_TOKEN}".to_owned())]
                } else if index.is_multiple_of(2) {
                    vec![("LOG_LEVEL", "info".to_owned())]
                } else {
                    Vec::new()
                };
                Kind::Stdio { command, args, env }
            }
            remote => {
                let sse = remote == 9;
                let url = if sse {
                    format!("http://127.0.0.1:8000/{name}/sse")
                } else {
                    format!("https://mcp.example.com/{name}")
                };
                let headers = if secret {
                    vec![("Authorization", "Bearer ${MCP_TOKEN}".to_owned())]
                } else {
                    vec![("X-Client", "bench".to_owned())]
                };
                Kind::Remote { sse, url, headers }
            }
        };
        Entry { name, kind }
    }
}

/// A JSON string literal, which TOML reads as the same basic string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// `["a", "b"]`.
fn list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| quoted(item)).collect();
    format!("[{}]", items.join(", "))
}

/// `{"K": "v"}` in JSON, or `{ K = "v" }` in TOML.
fn table(pairs: &[(&str, String)], toml: bool) -> String {
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(key, value)| {
            if toml {
                format!("{key} = {}", quoted(value))
            } else {
                format!("{}: {}", quoted(key), quoted(value))
            }
        })
        .collect();
    if toml { format!("{{ {} }}", pairs.join(", ")) } else { format!("{{{}}}", pairs.join(", ")) }
}

/// The keys of one entry in JSON, after those the layout puts first. `transport` names the
/// key for a remote server's transport and how the layout spells it, if the layout writes it.
fn json_fields(entry: &Entry, out: &mut String, transport: impl Fn(bool) -> Option<String>) {
    match &entry.kind {
        Kind::Stdio { command, args, env } => {
            let _ = write!(out, "\"command\": {}, \"args\": {}", quoted(command), list(args));
            if !env.is_empty() {
                let _ = write!(out, ", \"env\": {}", table(env, false));
            }
        }
        Kind::Remote { sse, url, headers } => {
            if let Some(transport) = transport(*sse) {
                let _ = write!(out, "{transport}, ");
            }
            let _ = write!(out, "\"url\": {}, \"headers\": {}", quoted(url), table(headers, false));
        }
    }
}

/// `{"servers": [{"server_name": …, …}, …]}`.
fn native_json(entries: &[Entry]) -> String {
    let mut out = String::from("{\n  \"servers\": [\n");
    for (index, entry) in entries.iter().enumerate() {
        let _ = write!(out, "    {{\"server_name\": {}, ", quoted(&entry.name));
        json_fields(entry, &mut out, |sse| {
            Some(format!("\"transport\": {}", quoted(if sse { "sse" } else { "streamable_http" })))
        });
        out.push_str(if index + 1 < entries.len() { "},\n" } else { "}\n" });
    }
    out.push_str("  ]\n}\n");
    out
}

/// `[[servers]]` tables.
fn native_toml(entries: &[Entry]) -> String {
    let mut out = String::from("# Generated by mcp-bench.\n");
    for entry in entries {
        let _ = write!(out, "\n[[servers]]\nserver_name = {}\n", quoted(&entry.name));
        match &entry.kind {
            Kind::Stdio { command, args, env } => {
                let _ = write!(out, "command = {}\nargs = {}\n", quoted(command), list(args));
                if !env.is_empty() {
                    let _ = writeln!(out, "env = {}", table(env, true));
                }
            }
            Kind::Remote { sse, url, headers } => {
                let transport = if *sse { "sse" } else { "streamable_http" };
                let _ = write!(
                    out,
                    "transport = \"{transport}\"\nurl = {}\nheaders = {}\n",
                    quoted(url),
                    table(headers, true)
                );
            }
        }
    }
    out
}

/// `{"mcpServers": {name: {…}, …}}`, as Claude Desktop, Cursor and Claude Code write it: a
/// remote server is a `url` (streamable HTTP unless `"type": "sse"`).
fn mcp_servers(entries: &[Entry]) -> String {
    let mut out = String::from("{\n  \"mcpServers\": {\n");
    for (index, entry) in entries.iter().enumerate() {
        let _ = write!(out, "    {}: {{", quoted(&entry.name));
        json_fields(entry, &mut out, |sse| sse.then(|| "\"type\": \"sse\"".to_owned()));
        out.push_str(if index + 1 < entries.len() { "},\n" } else { "}\n" });
    }
    out.push_str("  }\n}\n");
    out
}

/// VS Code's `.vscode/mcp.json`: JSONC, with a comment and trailing commas.
fn vscode(entries: &[Entry]) -> String {
    let mut out = String::from("{\n  // Generated by mcp-bench.\n  \"servers\": {\n");
    for entry in entries {
        let _ = write!(out, "    {}: {{", quoted(&entry.name));
        if matches!(entry.kind, Kind::Stdio { .. }) {
            out.push_str("\"type\": \"stdio\", ");
        }
        json_fields(entry, &mut out, |sse| {
            Some(format!("\"type\": {}", quoted(if sse { "sse" } else { "http" })))
        });
        out.push_str("},\n");
    }
    out.push_str("  },\n  \"inputs\": [],\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_loads_with_every_server() {
        let files = Files::generate(40).expect("files are written");
        let figures = files.measure().expect("every file loads");
        for (key, _, _) in LAYOUTS {
            assert_eq!(figures[key]["servers"], json!(40), "{key}");
            assert!(figures[key]["peak_heap_bytes"].as_u64().is_some_and(|b| b > 0), "{key}");
        }
        let loaded = Loader::new().vars(VARS).load(files.path("mcp.toml")).expect("loads");
        let mcp_config::ServerConfig::StreamableHttp(remote) =
            loaded.config.get("fetch-000016").expect("a remote server")
        else {
            panic!("fetch-000016 is a streamable HTTP server");
        };
        assert_eq!(remote.headers["Authorization"], "Bearer tok-0123456789abcdef");
        let sse = loaded.config.get("fetch-000009").expect("an SSE server");
        assert!(matches!(sse, mcp_config::ServerConfig::Sse(_)), "{sse:?}");
        let mcp_config::ServerConfig::Stdio(stdio) =
            loaded.config.get("github-000000").expect("a stdio server")
        else {
            panic!("github-000000 is a stdio server");
        };
        assert_eq!(stdio.env["GITHUB_TOKEN"], "ghp_0123456789abcdef");
    }
}
