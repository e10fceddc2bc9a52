//! `cargo xtask catalogs`: records the real `tools/list` of eight public MCP servers as the
//! checked-in files `crates/agent-core/tests/data/catalogs/<server>.json`, which agent-core's
//! routing measurements read.
//!
//! It installs the pinned servers under `target/peers/catalogs` (npm packages in `npm/`, each
//! Python server in a venv of its own, `<server>-venv/`, since their `mcp` pins clash), skipping
//! what is already installed at the pinned version; writes a temporary mcp-config file that
//! starts them over stdio, each on throwaway state (a folder, a fresh git repository, a memory
//! file, a paper store); runs the `catalog` example on it; and rewrites the files, pretty-printed,
//! the tools in the order the server listed them. Not part of `cargo xtask ci`: the files are
//! committed, and listing needs the installs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::peers::{install_pypi, installed_npm_version, peers_dir, run};
use crate::{cargo, project_root};

/// How a server is installed and started.
enum Source {
    /// An npm package: `node <package>/dist/index.js ARGS`.
    Npm,
    /// A PyPI package in its own venv: `<server>-venv/bin/<script> ARGS`.
    PyPi {
        /// The console script the package installs.
        script: &'static str,
    },
}

/// One recorded server.
struct Server {
    /// Its name in the config file and the name of its catalog file.
    name: &'static str,
    /// The npm or PyPI package.
    package: &'static str,
    /// The pinned version.
    version: &'static str,
    source: Source,
}

/// The servers, pinned.
const SERVERS: &[Server] = &[
    Server {
        name: "everything",
        package: "@modelcontextprotocol/server-everything",
        version: "2026.8.31",
        source: Source::Npm,
    },
    Server {
        name: "filesystem",
        package: "@modelcontextprotocol/server-filesystem",
        version: "2026.8.31",
        source: Source::Npm,
    },
    Server {
        name: "memory",
        package: "@modelcontextprotocol/server-memory",
        version: "2026.8.31",
        source: Source::Npm,
    },
    Server {
        name: "time",
        package: "mcp-server-time",
        version: "2026.10.19",
        source: Source::PyPi { script: "mcp-server-time" },
    },
    Server {
        name: "fetch",
        package: "mcp-server-fetch",
        version: "2026.10.24",
        source: Source::PyPi { script: "mcp-server-fetch" },
    },
    Server {
        name: "git",
        package: "mcp-server-git",
        version: "2026.10.19",
        source: Source::PyPi { script: "mcp-server-git" },
    },
    Server {
        name: "arxiv",
        package: "arxiv-mcp-server",
        version: "0.8.2",
        source: Source::PyPi { script: "arxiv-mcp-server" },
    },
    Server {
        name: "wikipedia",
        package: "wikipedia-mcp",
        version: "2.0.1",
        source: Source::PyPi { script: "wikipedia-mcp" },
    },
];

/// Where the catalogs are written, relative to the project root.
const CATALOGS: &str = "crates/agent-core/tests/data/catalogs";

/// Installs the servers, lists their tools and rewrites every catalog file.
pub(crate) fn run_all() -> Result<(), String> {
    let dir = peers_dir().join("catalogs");
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    install_npm(&dir.join("npm"))?;
    for server in SERVERS {
        if let Source::PyPi { .. } = server.source {
            install_pypi(&venv(&dir, server), &[(server.package, server.version)])?;
        }
    }
    let scratch = std::env::temp_dir().join(format!("mcp-catalogs-{}", std::process::id()));
    let result = list_and_write(&dir, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn venv(dir: &Path, server: &Server) -> PathBuf {
    dir.join(format!("{}-venv", server.name))
}

/// Installs the npm servers in `dir/node_modules` unless they are there at the pinned versions.
fn install_npm(dir: &Path) -> Result<(), String> {
    let npm: Vec<&Server> =
        SERVERS.iter().filter(|server| matches!(server.source, Source::Npm)).collect();
    if npm.iter().all(|s| installed_npm_version(dir, s.package).as_deref() == Some(s.version)) {
        eprintln!("catalog npm servers: up to date");
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let dependencies: serde_json::Map<String, Value> =
        npm.iter().map(|server| (server.package.to_owned(), json!(server.version))).collect();
    let manifest =
        json!({ "name": "mcp-session-rs-catalogs", "private": true, "dependencies": dependencies });
    std::fs::write(dir.join("package.json"), format!("{manifest:#}\n"))
        .map_err(|err| err.to_string())?;
    eprintln!("catalog npm servers: installing");
    run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir),
        "npm install",
    )
}

/// Writes the config file in `scratch`, runs the `catalog` example and writes the catalogs.
fn list_and_write(dir: &Path, scratch: &Path) -> Result<(), String> {
    for sub in ["files", "repo", "memory", "arxiv"] {
        let path = scratch.join(sub);
        std::fs::create_dir_all(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    }
    run(Command::new("git").args(["init", "--quiet"]).arg(scratch.join("repo")), "git init")?;
    let mut servers = serde_json::Map::new();
    for server in SERVERS {
        servers.insert(server.name.to_owned(), start(dir, scratch, server));
    }
    let config = scratch.join("mcp.json");
    std::fs::write(&config, format!("{:#}\n", json!({ "mcpServers": servers })))
        .map_err(|err| format!("{}: {err}", config.display()))?;

    let output = Command::new(cargo())
        .args(["run", "--quiet", "-p", "examples", "--example", "catalog", "--"])
        .arg(&config)
        .current_dir(project_root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let out_dir = project_root().join(CATALOGS);
    std::fs::create_dir_all(&out_dir).map_err(|err| format!("{}: {err}", out_dir.display()))?;
    let mut written = Vec::new();
    for line in stdout.lines() {
        let listed: Value = serde_json::from_str(line)
            .map_err(|err| format!("the catalog example printed a line that is not JSON: {err}"))?;
        let Some(server) = SERVERS.iter().find(|s| listed["server"] == s.name) else {
            return Err(format!("the catalog example printed an unknown server: {line}"));
        };
        let path = out_dir.join(format!("{}.json", server.name));
        std::fs::write(&path, catalog_file(server, &listed["tools"]))
            .map_err(|err| format!("{}: {err}", path.display()))?;
        let tools = listed["tools"].as_array().map_or(0, Vec::len);
        eprintln!("{}: {tools} tools -> {}", server.name, path.display());
        written.push(server.name);
    }
    let missing: Vec<&str> =
        SERVERS.iter().map(|s| s.name).filter(|name| !written.contains(name)).collect();
    if output.status.success() && missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "no catalog for {}: the catalog example exited with {}",
            missing.join(", "),
            output.status
        ))
    }
}

/// The mcp-config entry that starts `server` over stdio, its state in `scratch`.
fn start(dir: &Path, scratch: &Path, server: &Server) -> Value {
    let path = |p: PathBuf| p.display().to_string();
    let (command, mut args) = match server.source {
        Source::Npm => {
            let entry = dir.join("npm/node_modules").join(server.package).join("dist/index.js");
            ("node".to_owned(), vec![path(entry)])
        }
        Source::PyPi { script } => (path(venv(dir, server).join("bin").join(script)), vec![]),
    };
    let mut env = serde_json::Map::new();
    match server.name {
        "everything" => args.push("stdio".to_owned()),
        "filesystem" => args.push(path(scratch.join("files"))),
        "memory" => {
            env.insert(
                "MEMORY_FILE_PATH".to_owned(),
                json!(path(scratch.join("memory/memory.jsonl"))),
            );
        }
        // The tools' descriptions name the local time zone: fix it so the file does not change
        // with the machine.
        "time" => args.extend(["--local-timezone".to_owned(), "UTC".to_owned()]),
        "git" => args.extend(["--repository".to_owned(), path(scratch.join("repo"))]),
        "arxiv" => args.extend(["--storage-path".to_owned(), path(scratch.join("arxiv"))]),
        "wikipedia" => args.extend(["--transport".to_owned(), "stdio".to_owned()]),
        _ => {}
    }
    json!({ "command": command, "args": args, "env": env })
}

/// The text of a catalog file: `server`, `package` (`name@version`) and the tools, in that order.
fn catalog_file(server: &Server, tools: &Value) -> String {
    let tools = format!("{tools:#}").replace('\n', "\n  ");
    format!(
        "{{\n  \"server\": {},\n  \"package\": {},\n  \"tools\": {tools}\n}}\n",
        json!(server.name),
        json!(format!("{}@{}", server.package, server.version)),
    )
}
