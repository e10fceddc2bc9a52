//! `cargo xtask bench [--quick]`: installs the peers, builds `mcp-bench` and `testkit-mcp` in
//! release, runs the benchmark (ours, the raw floor, the Python `mcp` SDK and AG2, against
//! testkit-mcp and FastMCP; and mcp-config's loader on large config files), writes
//! `target/bench/results.json` and regenerates the tables of `docs/benchmarks.md`; the
//! hand-written part below its marker is kept.
//!
//! Every run includes the session-pool phase (`SessionPool`: 1,000 HTTP sessions held in one
//! pool, 100 with `--quick`; pooled calls against a session per call; `health_all` with hanging
//! servers; restart after a crash). `mcp-bench --only pool` runs it alone.
//!
//! `--quick` (N = 5, 100 calls, one repetition) is the smoke test `cargo xtask ci` runs: a debug
//! build (its figures say nothing about speed), every phase run once and checked for leaks; it
//! writes `target/bench/quick.json` and leaves the docs alone.
//!
//! `--only config` runs the config phase alone (no peers, no servers; three repetitions),
//! prints its tables, writes `target/bench/config.json` and leaves the docs alone.
//! `--config-servers N` sets the servers per config file (default 100,000).

use std::fmt::Write as _;
use std::process::Command;

use serde_json::Value;

use crate::{cargo_cmd, peers, project_root, target_dir};

/// What `cargo xtask bench` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every phase: 50 cold sessions, 1,000 warm calls, 3 repetitions; rewrites the docs.
    Full,
    /// Every phase, small: 5 cold sessions, 100 warm calls, 1 repetition.
    Quick,
    /// The config phase alone, 3 repetitions.
    Config,
    /// The session-pool phase alone, 3 repetitions.
    Pool,
    /// No run: the tables of `docs/benchmarks.md` made again from the last full run's
    /// `target/bench/results.json` (after a change to how they are drawn).
    Render,
}

/// Servers per config file in the config phase, unless `--config-servers` says otherwise.
const CONFIG_SERVERS: usize = 100_000;

/// Runs the benchmark in `mode`, with `config_servers` (the text of `--config-servers`, if
/// given) servers per config file.
pub(crate) fn run(mode: Mode, config_servers: Option<&str>) -> Result<(), String> {
    let config_servers = match config_servers {
        None => CONFIG_SERVERS,
        Some(text) => text.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            format!("--config-servers takes a number of servers (1 or more), not {text:?}")
        })?,
    };
    match mode {
        Mode::Config => return run_config(config_servers),
        Mode::Pool => return run_pool(),
        Mode::Render => return render_again(),
        Mode::Full | Mode::Quick => {}
    }
    let quick = mode == Mode::Quick;
    let (n, calls, repeat) = if quick { (5, 100, 1) } else { (50, 1000, 3) };
    let pool_sessions = if quick { 100 } else { 1000 };
    peers::install()?;
    // The smoke test checks that every phase runs and leaks nothing, not how fast: it reuses
    // the debug build the tests made rather than compiling the whole tree again in release.
    let profile: &[&str] = if quick { &[] } else { &["--release"] };
    let packages = ["--locked", "-p", "bench", "-p", "testkit", "--bins"];
    cargo_cmd(&[&["build"], profile, &packages[..]].concat(), &[])?;
    let release = target_dir().join(if quick { "debug" } else { "release" });
    let command = if quick { "cargo xtask bench --quick" } else { "cargo xtask bench" };
    eprintln!(
        "bench: running mcp-bench (N = {n}, {calls} calls, {repeat} repetitions, config files of \
         {config_servers} servers, {pool_sessions} sessions in one pool)"
    );
    let mut report = mcp_bench(
        Command::new(release.join("mcp-bench"))
            .arg("--testkit")
            .arg(release.join("testkit-mcp"))
            .args(["--n", &n.to_string(), "--calls", &calls.to_string()])
            .args(["--repeat", &repeat.to_string()])
            .args(["--config-servers", &config_servers.to_string()])
            .args(["--pool-sessions", &pool_sessions.to_string()])
            .env("MCP_PEERS_DIR", peers::peers_dir()),
    )?;
    report["versions"] = versions();
    let leaked = leaks(&report);
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let json = dir.join(if quick { "quick.json" } else { "results.json" });
    std::fs::write(&json, format!("{report:#}\n")).map_err(|e| e.to_string())?;
    let generated = render(&report, command, &leaked);
    print!("{generated}");
    if !leaked.is_empty() {
        return Err(format!("phases that left descriptors or processes behind: {leaked:?}"));
    }
    if quick {
        eprintln!("bench: wrote {}; --quick leaves docs/benchmarks.md alone", json.display());
        return Ok(());
    }
    let doc = crate::write_generated_doc("docs/benchmarks.md", "cargo xtask bench", &generated)?;
    eprintln!("bench: wrote {} and {}", json.display(), doc.display());
    Ok(())
}

/// `--render`: `docs/benchmarks.md`'s tables from the last full run's report, without running.
fn render_again() -> Result<(), String> {
    let json = target_dir().join("bench/results.json");
    let text = std::fs::read_to_string(&json)
        .map_err(|err| format!("{}: {err} (run `cargo xtask bench` first)", json.display()))?;
    let report: Value =
        serde_json::from_str(&text).map_err(|err| format!("{}: {err}", json.display()))?;
    let generated = render(&report, "cargo xtask bench", &leaks(&report));
    let doc = crate::write_generated_doc("docs/benchmarks.md", "cargo xtask bench", &generated)?;
    eprintln!("bench: drew {} again from {}", doc.display(), json.display());
    Ok(())
}

/// Runs `mcp-bench` (its progress on our stderr) and returns the report it prints.
fn mcp_bench(command: &mut Command) -> Result<Value, String> {
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|err| format!("cannot run mcp-bench: {err}"))?;
    if !output.status.success() {
        return Err(format!("mcp-bench failed ({})", output.status));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|err| format!("mcp-bench printed no JSON: {err}"))
}

/// Repetitions of a phase run alone (`--only`).
const ALONE_REPEAT: usize = 3;

/// `--only config`: the config phase alone, three repetitions; prints its tables and writes
/// `target/bench/config.json`, leaving the docs alone.
fn run_config(config_servers: usize) -> Result<(), String> {
    cargo_cmd(&["build", "--release", "--locked", "-p", "bench", "--bin", "mcp-bench"], &[])?;
    eprintln!(
        "bench: running mcp-bench --only config ({config_servers} servers, {ALONE_REPEAT} \
         repetitions)"
    );
    let report = mcp_bench(
        Command::new(target_dir().join("release/mcp-bench"))
            .args(["--only", "config", "--repeat", &ALONE_REPEAT.to_string()])
            .args(["--config-servers", &config_servers.to_string()]),
    )?;
    print_alone("config", "Config files", &report, &config_targets(&report), render_config)
}

/// `--only pool`: the session-pool phase alone, three repetitions; prints its tables and writes
/// `target/bench/pool.json`, leaving the docs alone. Needs no peers.
fn run_pool() -> Result<(), String> {
    cargo_cmd(&["build", "--release", "--locked", "-p", "bench", "-p", "testkit", "--bins"], &[])?;
    let release = target_dir().join("release");
    eprintln!("bench: running mcp-bench --only pool ({ALONE_REPEAT} repetitions)");
    let report = mcp_bench(
        Command::new(release.join("mcp-bench"))
            .arg("--testkit")
            .arg(release.join("testkit-mcp"))
            .args(["--only", "pool", "--repeat", &ALONE_REPEAT.to_string()]),
    )?;
    print_alone("pool", "Session pool", &report, &pool_targets(&report), render_pool)
}

/// Writes the report of phase `only` run alone to `target/bench/ONLY.json` and prints its
/// tables under `title`: its targets, then what `render` makes of it. Fails when the phase left
/// descriptors or processes behind.
fn print_alone(
    only: &str,
    title: &str,
    report: &Value,
    targets: &[String],
    render: fn(&mut String, &Value),
) -> Result<(), String> {
    let leaked = leaks(report);
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let json = dir.join(format!("{only}.json"));
    std::fs::write(&json, format!("{report:#}\n")).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {title}\n\nGenerated by `cargo xtask bench --only {only}`: medians over {ALONE_REPEAT} \
         repetitions. Machine: {}, {} cores; {}; release build.\n\n\
         | target | this run | verdict |\n|---|---|---|",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, usize::from),
        rustc_version(),
    );
    for row in targets {
        let _ = writeln!(out, "{row}");
    }
    out.push('\n');
    render(&mut out, report);
    print!("{out}");
    if !leaked.is_empty() {
        return Err(format!("phases that left descriptors or processes behind: {leaked:?}"));
    }
    eprintln!("bench: wrote {}; --only {only} leaves docs/benchmarks.md alone", json.display());
    Ok(())
}

/// The phases that ended with more descriptors or child processes than they began with.
fn leaks(report: &Value) -> Vec<String> {
    let count = |leak: &Value, key: &str| leak[key].as_u64().unwrap_or(0);
    report["leaks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|leak| {
            count(leak, "fds_after") > count(leak, "fds_before")
                || count(leak, "children_after") > count(leak, "children_before")
        })
        .map(|leak| leak["phase"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The versions of everything compared: ours from the lockfile, the peers from their venvs.
fn versions() -> Value {
    let python_versions = |venv: &str, packages: &str| -> Value {
        let python = peers::peers_dir().join(venv).join("bin/python");
        let code = format!(
            "import importlib.metadata as m, json, sys; \
             print(json.dumps({{p: m.version(p) for p in {packages}}} | {{'python': sys.version.split()[0]}}))"
        );
        Command::new(python)
            .args(["-c", &code])
            .output()
            .ok()
            .and_then(|out| serde_json::from_slice(&out.stdout).ok())
            .unwrap_or(Value::Null)
    };
    let lock = std::fs::read_to_string(project_root().join("Cargo.lock")).unwrap_or_default();
    let locked = |name: &str| {
        lock.split("[[package]]")
            .find(|entry| entry.contains(&format!("name = \"{name}\"\n")))
            .and_then(|entry| entry.lines().find_map(|line| line.strip_prefix("version = ")))
            .map(|version| version.trim_matches('"').to_owned())
    };
    serde_json::json!({
        "rustc": rustc_version(),
        "rmcp": locked("rmcp"),
        "tokio": locked("tokio"),
        "mcp_venv": python_versions("venv", "['mcp', 'fastmcp']"),
        "ag2_venv": python_versions("ag2-venv", "['ag2', 'mcp']"),
    })
}

/// Client names as the tables show them.
fn client_label(client: &str) -> &str {
    match client {
        "ours" => "**ours** (mcp-session)",
        "ours_main" => "ours, called from `main`'s `block_on`",
        "ours_pool" => "ours, through `SessionPool`",
        "ours_ct" => "ours, current-thread runtime",
        "floor" => "raw floor (by hand)",
        "mcp" => "Python `mcp` SDK",
        "ag2" => "AG2 `MCPClientSessionManager`",
        other => other,
    }
}

const CLIENTS: [&str; 7] = ["ours", "ours_main", "ours_pool", "ours_ct", "floor", "mcp", "ag2"];
const TRANSPORTS: [&str; 3] = ["stdio", "sse", "http"];

fn num(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

fn ms(value: &Value) -> String {
    let value = num(value);
    if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.2}") }
}

fn render(report: &Value, command: &str, leaked: &[String]) -> String {
    let results = &report["results"];
    let versions = &report["versions"];
    let mut out = String::from("# Benchmarks\n\n");
    let _ = writeln!(
        out,
        "Generated by `{command}`: every figure is the median over {} repetitions of the whole run, \
         on one machine, in one run, against the same servers. Machine: {}, {} cores; {}. Our client \
         and `testkit-mcp` are built in release; everything talks over loopback only.\n",
        report["repeat"],
        cpu_model(),
        std::thread::available_parallelism().map_or(0, usize::from),
        versions["rustc"].as_str().unwrap_or("rustc (version unknown)"),
    );
    let _ = writeln!(
        out,
        "Versions: rmcp {}, tokio {}; Python {} with `mcp` {} and `fastmcp` {}; AG2 {} with `mcp` {} \
         in its own venv. The servers: `testkit-mcp` (ours, Rust, rmcp) and a FastMCP server \
         (`crates/testkit/peers/fastmcp_server.py`).\n",
        versions["rmcp"].as_str().unwrap_or("?"),
        versions["tokio"].as_str().unwrap_or("?"),
        versions["mcp_venv"]["python"].as_str().unwrap_or("?"),
        versions["mcp_venv"]["mcp"].as_str().unwrap_or("?"),
        versions["mcp_venv"]["fastmcp"].as_str().unwrap_or("?"),
        versions["ag2_venv"]["ag2"].as_str().unwrap_or("?"),
        versions["ag2_venv"]["mcp"].as_str().unwrap_or("?"),
    );
    render_targets(&mut out, report);
    render_cold(&mut out, report);
    render_overhead(&mut out, results);
    render_warm(&mut out, report);
    render_scale(&mut out, results);
    render_agent(&mut out, report);
    render_pool(&mut out, report);
    render_config(&mut out, report);
    let phases = report["leaks"].as_array().map_or(0, Vec::len);
    let _ = writeln!(
        out,
        "## Leaks\n\nThe benchmark process's open file descriptors and living child processes, \
         counted before and after each of the {phases} phases of the run (every client, server, \
         transport and repetition). {}\n",
        if leaked.is_empty() {
            "Every phase ended with the descriptors and processes it began with.".to_owned()
        } else {
            format!("**These phases left some behind: {}.**", leaked.join(", "))
        }
    );
    out
}

/// The targets against this run's figures: issue 19's (warm calls at the floor), then the
/// earlier ones that still stand.
fn render_targets(out: &mut String, report: &Value) {
    let results = &report["results"];
    let cold = |transport: &str, client: &str, phase: &str| {
        num(&results["cold"]["testkit"][transport][client][phase]["median_ms"])
    };
    let overhead = |transport: &str, client: &str| {
        cold(transport, client, "total") - cold(transport, "floor", "total")
    };
    let rate = |transport: &str, client: &str, mode: &str| {
        num(&results["warm"][transport][client][mode]["calls_per_s"])
    };
    let mib = |transport: &str| num(&results["scale"][transport]["ours"]["rss_open_kib"]) / 1024.0;
    let verdict = |met: bool| if met { "met" } else { "**not met**" };
    out.push_str(
        "## Targets\n\nOurs on the multi-thread runtime called from a spawned task; after the \
         first ·, called from `main`'s `block_on`; after the second, on a current-thread runtime; \
         *pool* is through a `SessionPool`. The verdict is the first figure's.\n\n\
         | target | this run | verdict |\n|---|---|---|\n",
    );
    for transport in TRANSPORTS {
        let floor = rate(transport, "floor", "sequential");
        let ratio = |client: &str| rate(transport, client, "sequential") / floor;
        let _ = writeln!(
            out,
            "| warm {transport}, sequential ≥ 0.8× the floor ({floor:.0} calls/s) | {:.2} · {:.2} · \
             {:.2}; pool {:.2} | {} |",
            ratio("ours"),
            ratio("ours_main"),
            ratio("ours_ct"),
            ratio("ours_pool"),
            verdict(ratio("ours") >= 0.8)
        );
    }
    for transport in TRANSPORTS {
        let floor = rate(transport, "floor", "sequential");
        let ratio = |client: &str| rate(transport, client, "concurrency_16") / floor;
        let _ = writeln!(
            out,
            "| warm {transport}, 16 in flight ≥ 3× the floor's sequential rate | {:.2}× · {:.2}× · \
             {:.2}×; pool {:.2}×; the floor's own {:.2}× | {} |",
            ratio("ours"),
            ratio("ours_main"),
            ratio("ours_ct"),
            ratio("ours_pool"),
            ratio("floor"),
            verdict(ratio("ours") >= 3.0)
        );
    }
    for transport in ["sse", "http"] {
        let _ = writeln!(
            out,
            "| client overhead per cold {transport} session ≤ 0.3 ms | {:.2} · {:.2} · {:.2} ms | {} |",
            overhead(transport, "ours"),
            overhead(transport, "ours_main"),
            overhead(transport, "ours_ct"),
            verdict(overhead(transport, "ours") <= 0.3)
        );
    }
    let agent = num(&results["agent_loop"]["ours"]["overhead_per_turn_ms"]);
    let _ = writeln!(
        out,
        "| agent-loop overhead < 0.1 ms per turn | {agent:.2} ms | {} |",
        verdict(agent < 0.1)
    );
    let close = cold("stdio", "ours", "close");
    let _ = writeln!(out, "| stdio close < 5 ms | {close:.2} ms | {} |", verdict(close < 5.0));
    let (stdio, http) = (mib("stdio"), mib("http"));
    let _ = writeln!(
        out,
        "| 100 sessions < 50 MiB RSS | stdio {stdio:.1} MiB, HTTP {http:.1} MiB | {} |",
        verdict(stdio < 50.0 && http < 50.0)
    );
    for row in pool_targets(report) {
        let _ = writeln!(out, "{row}");
    }
    for row in config_targets(report) {
        let _ = writeln!(out, "{row}");
    }
    out.push('\n');
}

/// The Targets rows of the pool phase: the sessions held in one pool under 100 MiB of RSS, and
/// `health_all` with hanging servers taking one ping timeout rather than one per hanging server.
fn pool_targets(report: &Value) -> [String; 2] {
    let pool = &report["results"]["pool"];
    let hold = &pool["hold"];
    let mib = num(&hold["rss_open_kib"]) / 1024.0;
    let health = &pool["health"];
    let (took, timeout) = (num(&health["with_hanging_ms"]), num(&health["ping_timeout_ms"]));
    [
        format!(
            "| {} HTTP sessions in one pool < 100 MiB RSS | {mib:.1} MiB | {} |",
            thousands(num(&hold["sessions"])),
            if mib < 100.0 { "met" } else { "**not met**" }
        ),
        format!(
            "| `health_all` over {} servers with {} hanging: one ping timeout ({}), not one each | \
             {} ms | {} |",
            num(&health["servers"]),
            num(&health["hanging"]),
            seconds(timeout),
            ms(&health["with_hanging_ms"]),
            if took < 2.0 * timeout { "met" } else { "**not met**" }
        ),
    ]
}

/// 1 s, 1.5 s.
fn seconds(ms: f64) -> String {
    format!("{} s", ms / 1000.0)
}

/// The config layouts, in report order: the report's key, the short name the targets table
/// uses, and the label of the config table.
const LAYOUTS: [(&str, &str, &str); 4] = [
    ("native_json", "JSON", "native JSON (`{\"servers\": [...]}`)"),
    ("native_toml", "TOML", "native TOML (`[[servers]]`)"),
    ("mcp_servers", "mcpServers", "`mcpServers` JSON (Claude Desktop, Cursor)"),
    ("vscode", "VS Code", "VS Code `.vscode/mcp.json` (JSONC)"),
];

/// 1,234,567.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The Targets rows of the config phase: every layout loads in under 1 s, with a peak heap
/// under ten times the file's size.
fn config_targets(report: &Value) -> [String; 2] {
    let config = &report["results"]["config"];
    let servers = thousands(num(&report["config_servers"]));
    let each = |field: &str, show: &dyn Fn(f64) -> String| {
        LAYOUTS
            .iter()
            .map(|(key, short, _)| format!("{short} {}", show(num(&config[key][field]))))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let all_under = |field: &str, goal: f64| {
        let met = LAYOUTS.iter().all(|(key, _, _)| num(&config[key][field]) < goal);
        if met { "met" } else { "**not met**" }
    };
    [
        format!(
            "| config file of {servers} servers loads < 1 s | {} ms | {} |",
            each("load_ms", &|ms| format!("{ms:.0}")),
            all_under("load_ms", 1000.0)
        ),
        format!(
            "| peak heap while loading it < 10× the file | {} | {} |",
            each("peak_over_file", &|ratio| format!("{ratio:.1}×")),
            all_under("peak_over_file", 10.0)
        ),
    ]
}

fn render_config(out: &mut String, report: &Value) {
    let config = &report["results"]["config"];
    let _ = writeln!(
        out,
        "## Config files\n\n`mcp_config::Loader::load` on one file of {} servers per layout \
         mcp-config reads, generated when the run starts: six in ten stdio servers (`command`, \
         `args`, often `env`), three in ten streamable HTTP and one in ten legacy SSE servers \
         (`url`, `headers`); one in eight refers to a `${{VAR}}`, expanded from \
         `Loader::vars`. *Load* is the whole call: reading, parsing, expanding, checking and \
         building the `MCPConfig`. *Peak heap* is the most bytes the load held allocated at once, \
         the file's text and the loaded configuration included, counted by a global allocator \
         in `mcp-bench`. Targets: under 1 s, and under 10× the file's size.\n\n\
         | layout | file size | servers | load | peak heap | × file size |\n|---|---|---|---|---|---|",
        thousands(num(&report["config_servers"])),
    );
    for (key, _, label) in LAYOUTS {
        let figures = &config[key];
        let mb = |value: &Value| num(value) / 1_000_000.0;
        let _ = writeln!(
            out,
            "| {label} | {:.1} MB | {} | {} ms | {:.1} MB | {:.1} |",
            mb(&figures["file_bytes"]),
            thousands(num(&figures["servers"])),
            ms(&figures["load_ms"]),
            mb(&figures["peak_heap_bytes"]),
            num(&figures["peak_over_file"]),
        );
    }
    out.push('\n');
}

fn render_cold(out: &mut String, report: &Value) {
    let _ = writeln!(
        out,
        "## Cold sessions\n\n{} sessions per client, transport and server: open (spawn or \
         connect, and `initialize`), `tools/list`, one `tools/call`, close. Milliseconds, median \
         (p95). *× ours* is the client's total over ours: how many times longer it takes. Ours runs \
         its sessions from a spawned task; against `testkit-mcp` also from `main`'s `block_on` \
         (see *Warm calls*). AG2 0.14 has no streamable HTTP.\n",
        report["n"]
    );
    for (server, title) in [("testkit", "`testkit-mcp`"), ("fastmcp", "FastMCP")] {
        let _ = writeln!(
            out,
            "### Against {title}\n\n| transport | client | open | list | call | close | total | × ours |\n\
             |---|---|---|---|---|---|---|---|"
        );
        for transport in TRANSPORTS {
            let by_client = &report["results"]["cold"][server][transport];
            let ours = num(&by_client["ours"]["total"]["median_ms"]);
            for client in CLIENTS {
                let cold = &by_client[client];
                if cold.is_null() {
                    continue;
                }
                let _ = write!(out, "| {transport} | {} |", client_label(client));
                for phase in ["open", "list", "call", "close", "total"] {
                    let _ = write!(
                        out,
                        " {} ({}) |",
                        ms(&cold[phase]["median_ms"]),
                        ms(&cold[phase]["p95_ms"])
                    );
                }
                let ratio = num(&cold["total"]["median_ms"]) / ours;
                let _ = writeln!(out, " {ratio:.2} |");
            }
        }
        out.push('\n');
    }
}

fn render_overhead(out: &mut String, results: &Value) {
    out.push_str(
        "### Client overhead\n\nOur median cold session against `testkit-mcp` less the raw floor's \
         (the same exchange written by hand: blocking std I/O, no MCP library, no async runtime), \
         phase by phase, in milliseconds. Target: at most 0.3 ms per cold HTTP or SSE session.\n\n\
         | transport | client | open | list | call | close | total |\n|---|---|---|---|---|---|---|\n",
    );
    for transport in TRANSPORTS {
        let by_client = &results["cold"]["testkit"][transport];
        for client in ["ours", "ours_main", "ours_ct"] {
            let _ = write!(out, "| {transport} | {} |", client_label(client));
            for phase in ["open", "list", "call", "close", "total"] {
                let overhead = num(&by_client[client][phase]["median_ms"])
                    - num(&by_client["floor"][phase]["median_ms"]);
                let _ = write!(out, " {overhead:+.2} |");
            }
            out.push('\n');
        }
    }
    out.push('\n');
}

fn render_warm(out: &mut String, report: &Value) {
    let _ = writeln!(
        out,
        "## Warm calls\n\nOne session to `testkit-mcp`, {} calls of `echo`: one at a time, then \
         sixteen in flight, each from a task of its own (the floor keeps sixteen in flight from \
         its one thread: it writes the next request as soon as an answer is read). Ours makes its sequential calls from a spawned task; *called from `main`'s `block_on`* \
         makes them from the future `#[tokio::main]` runs, which sits on the program's main \
         thread, not on a worker, so every answer wakes it across threads; *through \
         `SessionPool`* calls `pool.call_tool` (the pool's lookup and schema check included) \
         from a spawned task. Our four and the floor take turns in nine rounds in each \
         repetition, each round starting one client further on, and each figure of theirs is \
         the median of its rounds (the Python clients run one round). Latencies in \
         milliseconds. *ours ×* is our rate over the client's: how many times more calls per \
         second we make.\n\n\
         | transport | client | sequential calls/s | p50 | p99 | ours × | 16 in flight calls/s | p50 | p99 | ours × |\n\
         |---|---|---|---|---|---|---|---|---|---|",
        report["calls"]
    );
    for transport in TRANSPORTS {
        let by_client = &report["results"]["warm"][transport];
        for client in CLIENTS {
            let warm = &by_client[client];
            if warm.is_null() {
                continue;
            }
            let _ = write!(out, "| {transport} | {} |", client_label(client));
            for mode in ["sequential", "concurrency_16"] {
                let figures = &warm[mode];
                if figures.is_null() {
                    out.push_str(" | | | |");
                    continue;
                }
                let rate = num(&figures["calls_per_s"]);
                let ratio = num(&by_client["ours"][mode]["calls_per_s"]) / rate;
                let _ = write!(
                    out,
                    " {rate:.0} | {} | {} | {ratio:.2} |",
                    ms(&figures["latency"]["median_ms"]),
                    ms(&figures["latency"]["p99_ms"]),
                );
            }
            out.push('\n');
        }
    }
    out.push('\n');
}

fn render_scale(out: &mut String, results: &Value) {
    out.push_str(
        "## Scale\n\n100 sessions to `testkit-mcp` opened at once by one client process; that \
         process's RSS before and with them open. Target: under 50 MiB for ours.\n\n\
         | transport | client | open all | RSS before | RSS with 100 open | × ours (time) |\n\
         |---|---|---|---|---|---|\n",
    );
    for transport in ["stdio", "http"] {
        let by_client = &results["scale"][transport];
        let ours = num(&by_client["ours"]["open_all_ms"]);
        for client in ["ours", "mcp", "ag2"] {
            let scale = &by_client[client];
            if scale.is_null() {
                continue;
            }
            let mib = |v: &Value| num(v) / 1024.0;
            let _ = writeln!(
                out,
                "| {transport} | {} | {} ms | {:.1} MiB | {:.1} MiB | {:.2} |",
                client_label(client),
                ms(&scale["open_all_ms"]),
                mib(&scale["rss_before_kib"]),
                mib(&scale["rss_open_kib"]),
                num(&scale["open_all_ms"]) / ours,
            );
        }
    }
    out.push('\n');
}

fn render_agent(out: &mut String, report: &Value) {
    let agent = &report["results"]["agent_loop"];
    let _ = writeln!(
        out,
        "## Agent loop\n\nAn agent with one tool (`echo`, in-process) against the scripted \
         OpenAI-compatible server (`testkit::llm::ScriptedLlm`, in the benchmark process), which \
         calls the tool on every turn and answers at once; {} runs of {} turns each. The floor is \
         one completion request posted by hand over a kept-alive connection, the requests of our \
         last run in turn (so with the history each turn sends): {} ms, median. Overhead is a \
         turn less the floor. Target: under 0.1 ms per turn. *× ours* is the agent's turn over \
         ours.\n\n\
         | agent | run | turns per run | per turn | overhead per turn | × ours |\n|---|---|---|---|---|---|",
        report["n"],
        report["turns"],
        ms(&agent["floor"]["request_ms"]),
    );
    let ours = num(&agent["ours"]["turn_ms"]);
    for (agent_name, label) in
        [("ours", "**ours** (agent-core)"), ("ag2", "AG2 `ConversableAgent.a_run`")]
    {
        let figures = &agent[agent_name];
        let _ = writeln!(
            out,
            "| {label} | {} ms | {} | {} ms | {} ms | {:.1} |",
            ms(&figures["run_ms"]),
            num(&figures["turns_per_run"]).round(),
            ms(&figures["turn_ms"]),
            ms(&figures["overhead_per_turn_ms"]),
            num(&figures["turn_ms"]) / ours,
        );
    }
    let catalog = &agent["catalog"];
    let bytes = |key: &str| -> Vec<u64> {
        catalog[key].as_array().into_iter().flatten().filter_map(Value::as_u64).collect()
    };
    let (eager, lazy) = (bytes("eager_bytes"), bytes("lazy_bytes"));
    if let (Some(first_eager), Some(first_lazy)) = (eager.first(), lazy.first()) {
        let total = |sizes: &[u64]| sizes.iter().sum::<u64>() as f64 / 1024.0;
        let listed = |sizes: &[u64]| {
            sizes
                .iter()
                .map(|size| format!("{:.1}", *size as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let _ = writeln!(
            out,
            "\n**Large catalogs.** The same agent given {} tools (the eight real servers' catalogs in \
             `crates/agent-core/tests/data/catalogs`, under six sets of server names) converts a time \
             with `convert_time`. Offered every schema (eager) it sends {} KiB per request ({:.1} KiB \
             in all over its {} requests); through `search_tools` and `call_tool` (lazy, \
             `Toolkit::lazy_above(40)`) {} KiB ({:.1} KiB in all over {} requests). The first \
             request: {:.0}× smaller.\n",
            num(&catalog["tools"]).round(),
            listed(&eager),
            total(&eager),
            eager.len(),
            listed(&lazy),
            total(&lazy),
            lazy.len(),
            *first_eager as f64 / (*first_lazy).max(1) as f64,
        );
    }
    out.push('\n');
}

fn render_pool(out: &mut String, report: &Value) {
    let pool = &report["results"]["pool"];
    let (hold, calls, health, crash) =
        (&pool["hold"], &pool["calls"], &pool["health"], &pool["crash"]);
    let _ = writeln!(
        out,
        "## Session pool\n\n`SessionPool` against `testkit-mcp` over loopback, in fresh \
         `mcp-bench` processes (one for the held sessions, one for the rest). *Pooled* is a call \
         through the pool, its session already open; *session* the same call over a bare \
         `Session`; *open per call* the seed's way, a session opened and closed around each call \
         (`MCPClientSessionManager::with_session`). {} sequential calls pooled and over the \
         session, {} opening a session each. Milliseconds per call, median (p95).\n\n\
         | transport | pooled | session | open per call | calls/s pooled · open per call | pooled × faster |\n\
         |---|---|---|---|---|---|",
        report["calls"], report["n"],
    );
    for transport in ["stdio", "http"] {
        let by_way = &calls[transport];
        let cell = |way: &str| {
            format!(
                "{} ({})",
                ms(&by_way[way]["latency"]["median_ms"]),
                ms(&by_way[way]["latency"]["p95_ms"])
            )
        };
        let rate = |way: &str| num(&by_way[way]["calls_per_s"]);
        let _ = writeln!(
            out,
            "| {transport} | {} | {} | {} | {:.0} · {:.0} | {:.1} |",
            cell("pooled"),
            cell("session"),
            cell("open_per_call"),
            rate("pooled"),
            rate("open_per_call"),
            rate("pooled") / rate("open_per_call"),
        );
    }
    let mib = |value: &Value| num(value) / 1024.0;
    let sessions = num(&hold["sessions"]);
    let _ = writeln!(
        out,
        "\n| figure | this run |\n|---|---|\n\
         | open {} streamable HTTP sessions at once in one pool (over {} `testkit-mcp http` processes) | {} ms |\n\
         | RSS before · with them open | {:.1} MiB · {:.1} MiB ({:.0} KiB a session) |\n\
         | heap they hold (counted by the allocator) | {:.1} MB ({:.0} KB a session) |\n\
         | open descriptors with them open | {} |\n\
         | `health_all` over them: first (lists tools) · again (pings only) | {} ms · {} ms |\n\
         | `close_all` | {} ms |\n\
         | `health_all` over {} servers (ping timeout {}): all answering · {} of them stopped | {} ms · {} ms |\n\
         | stdio server killed (`SIGKILL`) → next successful call through the pool, median (p95) of {} | {} ms ({} ms) |\n\
         | calls that failed after a kill, over those {} | {} |\n",
        thousands(sessions),
        num(&hold["http_servers"]),
        ms(&hold["open_all_ms"]),
        mib(&hold["rss_before_kib"]),
        mib(&hold["rss_open_kib"]),
        (num(&hold["rss_open_kib"]) - num(&hold["rss_before_kib"])) / sessions,
        num(&hold["heap_open_bytes"]) / 1_000_000.0,
        num(&hold["heap_open_bytes"]) / 1000.0 / sessions,
        num(&hold["fds_open"]),
        ms(&hold["health_all_ms"]),
        ms(&hold["health_all_again_ms"]),
        ms(&hold["close_all_ms"]),
        num(&health["servers"]),
        seconds(num(&health["ping_timeout_ms"])),
        num(&health["hanging"]),
        ms(&health["all_answering_ms"]),
        ms(&health["with_hanging_ms"]),
        num(&crash["samples"]),
        ms(&crash["recovery"]["median_ms"]),
        ms(&crash["recovery"]["p95_ms"]),
        num(&crash["samples"]),
        num(&crash["failed_calls"]),
    );
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

pub(crate) fn rustc_version() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc (version unknown)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool section and its targets render from what `mcp-bench --only pool` prints.
    #[test]
    fn pool_section_and_targets_render_from_the_report() {
        let way = |ms: f64, rate: f64| serde_json::json!({"calls_per_s": rate, "latency": {"median_ms": ms, "p95_ms": ms}});
        let calls = serde_json::json!({
            "pooled": way(0.15, 6500.0), "session": way(0.14, 6900.0),
            "open_per_call": way(6.5, 150.0),
        });
        let report = serde_json::json!({"calls": 1000, "n": 50, "results": {"pool": {
            "calls": {"stdio": calls, "http": calls},
            "hold": {"sessions": 1000.0, "http_servers": 4.0, "open_all_ms": 961.0,
                "rss_before_kib": 6904.0, "rss_open_kib": 113396.0, "heap_open_bytes": 157e6,
                "fds_open": 1890.0, "health_all_ms": 852.0, "health_all_again_ms": 228.0,
                "close_all_ms": 457.0},
            "health": {"servers": 100.0, "hanging": 5.0, "ping_timeout_ms": 1000.0,
                "all_answering_ms": 20.6, "with_hanging_ms": 1003.0},
            "crash": {"samples": 10.0, "failed_calls": 5.0,
                "recovery": {"median_ms": 8.44, "p95_ms": 11.48}},
        }}});
        let mut out = String::new();
        render_pool(&mut out, &report);
        for row in [
            "| stdio | 0.15 (0.15) | 0.14 (0.14) | 6.50 (6.50) | 6500 · 150 | 43.3 |",
            "| RSS before · with them open | 6.7 MiB · 110.7 MiB (106 KiB a session) |",
            "all answering · 5 of them stopped | 20.60 ms · 1003 ms |",
        ] {
            assert!(out.contains(row), "{row} in:\n{out}");
        }
        let [memory, health] = pool_targets(&report);
        assert_eq!(
            memory,
            "| 1,000 HTTP sessions in one pool < 100 MiB RSS | 110.7 MiB | **not met** |"
        );
        assert!(health.ends_with("| 1003 ms | met |"), "{health}");
    }
}
