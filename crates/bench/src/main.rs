//! `mcp-bench`: measures our MCP client, and the clients it replaces, in one run against the same
//! servers, and prints the results as one JSON document. `cargo xtask bench` builds it in
//! release, installs the peers and runs it; `docs/benchmarks.md` says what each figure means.
//!
//! Each repetition measures, in this order:
//! - cold sessions, N per transport (stdio, legacy SSE, streamable HTTP) and per server
//!   (`testkit-mcp`, a FastMCP server): open (spawn or connect, and `initialize`) →
//!   `tools/list` → `tools/call echo` → close, each phase timed, for our client, the raw floor
//!   (testkit-mcp only), the Python `mcp` SDK and AG2's `MCPClientSessionManager`;
//! - warm calls over one session against testkit-mcp: CALLS sequential calls, then CALLS calls
//!   sixteen at a time, for the same clients; ours and the floor in nine rounds, taking turns
//!   (each figure the median of its rounds), the Python clients in one;
//! - scale: 100 sessions opened at once (stdio and streamable HTTP) by each client, the time to
//!   open them all and the client process's RSS with them open;
//! - the agent loop: an agent with one tool against a scripted OpenAI-compatible server that
//!   always calls the tool, TURNS turns, ours and AG2's, and the raw floor of one completion;
//! - the session pool (in two children, `mcp-bench --pool-round hold` and `… others`, fresh
//!   processes, so that RSS counts the pool's sessions alone; see [`pool`]): POOL_SESSIONS
//!   streamable HTTP sessions opened at once and held in one `SessionPool` (time, RSS); pooled
//!   warm calls against the seed's session per call, over stdio and streamable HTTP;
//!   `health_all` over 100 servers of which 5 hang; the time from a crashed stdio server to the
//!   next successful call; `--only pool` runs this phase alone;
//! - config files (first, before any server starts, in a child `mcp-bench --only config` so
//!   that the loads' heap stays out of this process): `mcp_config::Loader::load` of a file of
//!   CONFIG_SERVERS servers in each layout mcp-config reads, timed, with the peak of the heap
//!   meanwhile (a counting global allocator, [`alloc::Counting`]); `--only config` runs this
//!   phase alone;
//! - leaks: this process's open file descriptors and child processes before and after each
//!   phase.
//!
//! The report holds, for every figure, the median over the repetitions.

mod agent;
mod alloc;
mod config;
mod floor;
mod ours;
mod pool;
mod python;
mod report;
mod servers;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use serde_json::{Value, json};

use crate::ours::Caller;
use crate::report::Resources;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Counts the heap of the config phase; the system allocator otherwise.
#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// Measures our MCP client against the Python clients, in one run against the same servers.
///
/// The peers (the Python venvs with `mcp`, `fastmcp` and `ag2`) are found through
/// `MCP_PEERS_DIR`, as `cargo xtask peers` installs them.
#[derive(Debug, Parser)]
#[command(name = "mcp-bench")]
struct Args {
    /// The `testkit-mcp` binary (build it in release); needed except with `--only config`.
    #[arg(long, required_unless_present = "only")]
    testkit: Option<PathBuf>,
    /// Cold sessions per transport, server and client.
    #[arg(long, default_value_t = 50)]
    n: usize,
    /// Warm calls per client and transport.
    #[arg(long, default_value_t = 1000)]
    calls: usize,
    /// Agent-loop turns per run (the agent loop runs `n` times).
    #[arg(long, default_value_t = 10)]
    turns: usize,
    /// Repetitions; every figure reported is the median over them.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Servers in each config file of the config phase.
    #[arg(long, default_value_t = 100_000)]
    config_servers: usize,
    /// HTTP sessions held at once in one pool in the pool phase.
    #[arg(long, default_value_t = 1000)]
    pool_sessions: usize,
    /// Runs only PHASE (`config` or `pool`), REPEAT times, and prints its figures as the report
    /// does. `pool` needs `--testkit`.
    #[arg(long, value_name = "PHASE", value_parser = ["config", "pool"])]
    only: Option<String>,
    /// Runs only our client's PHASE (`cold` or `warm`, from a spawned task; `warm-main` from
    /// `main`'s `block_on`; `warm-pool` through a `SessionPool`; `warm-ct` on a current-thread
    /// runtime of its own; `warm-16` only the sixteen calls in flight) over TRANSPORT against
    /// testkit-mcp and prints its figures: the workload to put under a profiler. `--profile
    /// floor TRANSPORT` (`floor-16`, `floor-cold`) runs the raw floor's warm calls (its sixteen
    /// in flight alone, its cold sessions) the same way, to compare with.
    /// `--profile agent ours` runs our agent loop alone (`--n` runs of `--turns` turns) against
    /// a scripted model.
    #[arg(long, value_names = ["PHASE", "TRANSPORT"], num_args = 2)]
    profile: Option<Vec<String>>,
    /// Internal: opens 100 sessions at once to TARGET (a URL, or for stdio the command as a JSON
    /// array) in this process and prints the figures. The scale phase runs ours this way, in a
    /// fresh process like every other client, so that its RSS counts the sessions and nothing else.
    #[arg(long, value_names = ["TRANSPORT", "TARGET"], num_args = 2, hide = true)]
    scale: Option<Vec<String>>,
    /// Internal: one PART (`hold` or `others`) of a repetition of the pool phase in this process;
    /// prints its figures. The pool phase runs each part this way, in a fresh process, so that
    /// its RSS counts the pool alone.
    #[arg(long, value_name = "PART", value_parser = pool::PARTS, hide = true)]
    pool_round: Option<String>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    // A signal ends the run by dropping it, which kills every server it started (each is killed
    // when dropped); the signal's default action would leave them running.
    tokio::select! {
        code = run(args) => code,
        signal = stop_signal() => {
            eprintln!("mcp-bench: stopped by {signal}; its servers are stopped");
            ExitCode::FAILURE
        }
    }
}

/// The first of SIGTERM, SIGINT and SIGHUP to come; never, if they cannot be watched.
#[cfg(unix)]
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = hup.recv() => "SIGHUP",
    }
}

/// Ctrl-C elsewhere.
#[cfg(not(unix))]
async fn stop_signal() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "Ctrl-C",
        Err(_) => std::future::pending().await,
    }
}

/// The run `args` ask for.
async fn run(args: Args) -> ExitCode {
    let single = match (&args.profile, &args.scale, &args.only) {
        (Some(profile), _, _) => Some(profile_one(&args, &profile[0], &profile[1]).await),
        (None, Some(scale), _) => Some(scale_here(&scale[0], &scale[1]).await),
        (None, None, _) if let Some(part) = &args.pool_round => {
            Some(pool::round(&args, part).await)
        }
        (None, None, Some(only)) if only == "pool" => Some(pool_only(&args).await),
        (None, None, Some(_)) => Some(config_only(&args)),
        (None, None, None) => None,
    };
    if let Some(result) = single {
        return match result {
            Ok(figures) => {
                println!("{figures:#}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("mcp-bench: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let mut runs = Vec::with_capacity(args.repeat);
    let mut leaks = Vec::new();
    for round in 1..=args.repeat {
        eprintln!("mcp-bench: repetition {round} of {}", args.repeat);
        match repetition(&args, &mut leaks).await {
            Ok(run) => runs.push(run),
            Err(err) => {
                eprintln!("mcp-bench: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    let report = json!({
        "n": args.n,
        "calls": args.calls,
        "turns": args.turns,
        "repeat": args.repeat,
        "config_servers": args.config_servers,
        "pool_sessions": args.pool_sessions,
        "results": report::median_of(&runs),
        "leaks": leaks,
    });
    println!("{report:#}");
    ExitCode::SUCCESS
}

impl Args {
    /// The `testkit-mcp` binary.
    fn testkit(&self) -> Result<&Path, Error> {
        self.testkit.as_deref().ok_or_else(|| "--testkit is required".into())
    }
}

/// The config files of the config phase, in a temporary folder.
fn generate_config_files(args: &Args) -> Result<config::Files, Error> {
    eprintln!("mcp-bench: writing config files of {} servers", args.config_servers);
    config::Files::generate(args.config_servers)
}

/// The config phase alone, `repeat` times: its figures as the report holds them.
fn config_only(args: &Args) -> Result<Value, Error> {
    let files = generate_config_files(args)?;
    let mut runs = Vec::with_capacity(args.repeat);
    for round in 1..=args.repeat {
        eprintln!("mcp-bench: config phase, repetition {round} of {}", args.repeat);
        runs.push(json!({ "config": files.measure()? }));
    }
    Ok(json!({
        "repeat": args.repeat,
        "config_servers": args.config_servers,
        "results": report::median_of(&runs),
    }))
}

/// The pool phase alone, `repeat` rounds (each in a fresh process): its figures as the report
/// holds them, and the leak check of every round.
async fn pool_only(args: &Args) -> Result<Value, Error> {
    let mut runs = Vec::with_capacity(args.repeat);
    let mut leaks = Vec::with_capacity(args.repeat * 2);
    for round in 1..=args.repeat {
        eprintln!("mcp-bench: pool phase, repetition {round} of {}", args.repeat);
        let before = Resources::now();
        let (pool, part_leaks) = pool::round_in_child(args).await?;
        leaks.extend(part_leaks);
        leaks.push(before.compare("pool round").await);
        runs.push(json!({ "pool": pool }));
    }
    Ok(json!({
        "repeat": args.repeat,
        "n": args.n,
        "calls": args.calls,
        "pool_sessions": args.pool_sessions,
        "results": report::median_of(&runs),
        "leaks": leaks,
    }))
}

/// The config phase, once, in a fresh `mcp-bench --only config` process. Not in this one: the
/// loads leave hundreds of MB of heap behind, and every later `fork` (ours spawns stdio servers
/// with one, for `PR_SET_PDEATHSIG`) would copy its page tables, slowing the cold stdio phase
/// several times over.
fn config_in_child(args: &Args) -> Result<Value, Error> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(["--only", "config", "--repeat", "1"])
        .args(["--config-servers", &args.config_servers.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("the config phase failed ({})", output.status).into());
    }
    let figures: Value = serde_json::from_slice(&output.stdout)?;
    Ok(figures["results"]["config"].clone())
}

/// The scale phase of our client, in this process.
async fn scale_here(transport: &str, target: &str) -> Result<Value, Error> {
    ours::scale(&servers::Target::parse(transport, target)?, SESSIONS).await
}

/// One phase of our client alone, for a profiler: `cold`, `warm`, `warm-main`, `warm-pool`,
/// `warm-ct` (on a current-thread runtime of its own) or `warm-16` (only the sixteen calls in
/// flight) over `stdio`, `sse` or `http`; `floor`, `floor-16` or `floor-cold` (the raw floor's
/// warm calls, its sixteen in flight alone, or its cold sessions, to compare with in the same
/// conditions); or `agent ours` (our agent loop against a scripted model; no server started).
async fn profile_one(args: &Args, phase: &str, transport: &str) -> Result<Value, Error> {
    if phase == "agent" {
        return agent::profile(args).await;
    }
    let testkit = servers::Testkit::start(args.testkit()?).await?;
    let target = testkit.target(servers::transport(transport)?);
    match phase {
        "cold" => Ok(report::phases(ours::cold(&target, args.n, Caller::Task).await?)),
        "warm" => ours::warm(&target, args.calls, Caller::Task).await,
        "warm-main" => ours::warm(&target, args.calls, Caller::Main).await,
        "warm-pool" => ours::warm(&target, args.calls, Caller::Pool).await,
        "warm-16" => ours::in_flight(&target, args.calls).await,
        "warm-ct" => {
            let calls = args.calls;
            on_current_thread(move || async move { ours::warm(&target, calls, Caller::Main).await })
                .await
        }
        "floor" => floor::warm(&target, args.calls).await,
        "floor-16" => floor::in_flight(&target, args.calls).await,
        "floor-cold" => Ok(report::phases(floor::cold(&target, args.n).await?)),
        other => Err(format!(
            "unknown phase {other:?}: cold, warm, warm-main, warm-pool, warm-ct, warm-16, floor, \
             floor-16 or floor-cold"
        )
        .into()),
    }
}

/// The clients compared, in report order: ours on this multi-thread runtime (two workers, as
/// `#[tokio::main]` gives on this machine) called from a spawned task, from `main`'s
/// `block_on`, and (warm calls only) through a `SessionPool`; ours on a current-thread runtime;
/// the raw floor, the Python `mcp` SDK and AG2.
const CLIENTS: [&str; 7] = ["ours", "ours_main", "ours_pool", "ours_ct", "floor", "mcp", "ag2"];

/// `work` on a runtime of its own with one thread, as `#[tokio::main(flavor = "current_thread")]`
/// gives: every task of the session runs on that thread, with no wakeups across threads.
async fn on_current_thread<T, F>(work: impl FnOnce() -> F + Send + 'static) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(work())
    })
    .await?
}

/// Whether `client` is measured over `transport`: AG2 0.14 has no streamable HTTP.
fn measured(client: &str, transport: &str) -> bool {
    !(client == "ag2" && transport == "http")
}

/// Sessions opened at once in the scale phase.
const SESSIONS: usize = 100;

/// Rounds of warm calls in each repetition. Our clients and the floor take turns in each round,
/// and each reports the median of its rounds: a machine whose speed drifts over seconds then
/// slows all of them alike, where one measure of each, one after the other, could catch the
/// floor in a fast second and ours in a slow one. A round of one client is a fraction of a
/// second, and on a machine of two shared cores one client's rate moves by half from one round
/// to the next (docs/benchmarks.md, Profile, item 27): three rounds gave medians that put one
/// build's ratios on either side of a target from run to run, so there are nine.
const WARM_ROUNDS: usize = 9;

/// One repetition of every phase.
async fn repetition(args: &Args, leaks: &mut Vec<Value>) -> Result<Value, Error> {
    let before = Resources::now();
    let config = config_in_child(args)?;
    leaks.push(before.compare("config").await);
    let servers = servers::Servers::start(args).await?;
    let mut cold = serde_json::Map::new();
    for server in ["testkit", "fastmcp"] {
        let mut by_transport = serde_json::Map::new();
        for transport in servers::TRANSPORTS {
            let target = servers.target(server, transport);
            let mut by_client = serde_json::Map::new();
            for client in CLIENTS {
                let before = Resources::now();
                let result = match client {
                    "ours" => Some(ours::cold(&target, args.n, Caller::Task).await?),
                    "ours_main" if server == "testkit" => {
                        Some(ours::cold(&target, args.n, Caller::Main).await?)
                    }
                    "ours_ct" => {
                        let (target, n) = (target.clone(), args.n);
                        Some(
                            on_current_thread(move || async move {
                                ours::cold(&target, n, Caller::Main).await
                            })
                            .await?,
                        )
                    }
                    "floor" if server == "testkit" => Some(floor::cold(&target, args.n).await?),
                    "mcp" | "ag2" if measured(client, transport) => {
                        Some(python::cold(client, &target, args.n).await?)
                    }
                    _ => None,
                };
                if let Some(phases) = result {
                    by_client.insert(client.to_owned(), report::phases(phases));
                    let phase = format!("cold {server} {transport} {client}");
                    leaks.push(before.compare(&phase).await);
                }
            }
            by_transport.insert(transport.to_owned(), Value::Object(by_client));
        }
        cold.insert(server.to_owned(), Value::Object(by_transport));
    }
    let mut warm = serde_json::Map::new();
    for transport in servers::TRANSPORTS {
        let target = servers.target("testkit", transport);
        let mut rounds: Vec<Vec<Value>> = vec![Vec::new(); CLIENTS.len()];
        for round in 0..WARM_ROUNDS {
            // Each round starts one client further on, so that none always runs first, right
            // after another transport's sessions closed (the order turns: neighbours stay).
            for at in (0..CLIENTS.len()).map(|i| (i + round) % CLIENTS.len()) {
                let (client, runs) = (CLIENTS[at], &mut rounds[at]);
                let before = Resources::now();
                let result = match client {
                    "ours" => ours::warm(&target, args.calls, Caller::Task).await?,
                    "ours_main" => ours::warm(&target, args.calls, Caller::Main).await?,
                    "ours_pool" => ours::warm(&target, args.calls, Caller::Pool).await?,
                    "ours_ct" => {
                        let (target, calls) = (target.clone(), args.calls);
                        on_current_thread(move || async move {
                            ours::warm(&target, calls, Caller::Main).await
                        })
                        .await?
                    }
                    "floor" => floor::warm(&target, args.calls).await?,
                    // The Python clients are no part of a target: one round.
                    _ if round > 0 || !measured(client, transport) => continue,
                    _ => python::warm(client, &target, args.calls).await?,
                };
                runs.push(result);
                leaks.push(before.compare(&format!("warm {transport} {client}")).await);
            }
        }
        let by_client = CLIENTS
            .iter()
            .zip(&rounds)
            .filter(|(_, runs)| !runs.is_empty())
            .map(|(client, runs)| ((*client).to_owned(), report::median_of(runs)))
            .collect();
        warm.insert(transport.to_owned(), Value::Object(by_client));
    }
    let mut scale = serde_json::Map::new();
    for transport in ["stdio", "http"] {
        let target = servers.target("testkit", transport);
        let mut by_client = serde_json::Map::new();
        for client in ["ours", "mcp", "ag2"] {
            let before = Resources::now();
            let result = match client {
                "ours" => ours::scale_in_child(args.testkit()?, &target).await?,
                _ if !measured(client, transport) => continue,
                _ => python::scale(client, &target, SESSIONS).await?,
            };
            by_client.insert(client.to_owned(), result);
            leaks.push(before.compare(&format!("scale {transport} {client}")).await);
        }
        scale.insert(transport.to_owned(), Value::Object(by_client));
    }
    let before = Resources::now();
    let agent_loop = agent::run(args).await?;
    leaks.push(before.compare("agent loop").await);
    drop(servers);
    let before = Resources::now();
    let (pool, part_leaks) = pool::round_in_child(args).await?;
    leaks.extend(part_leaks);
    leaks.push(before.compare("pool round").await);
    Ok(json!({
        "config": config,
        "cold": cold,
        "warm": warm,
        "scale": scale,
        "agent_loop": agent_loop,
        "pool": pool,
    }))
}
