//! Integration tests of mcp-config: every layout from realistic fixture files, every error path
//! with its exact message and place, redaction, round trips and the seed's configuration.

mod auth;
mod errors;
mod formats;
mod props;
mod redaction;
mod roundtrip;
mod scale;
mod seed;

use std::path::{Path, PathBuf};

use mcp_config::{LoadError, Loaded, Loader};

/// A file under `tests/fixtures`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The environment the fixtures expect.
pub(crate) const VARS: &[(&str, &str)] = &[
    ("ARXIV_API_KEY", "arxiv-secret-1"),
    ("GITHUB_TOKEN", "ghp_secret2"),
    ("LINEAR_API_KEY", "lin_secret3"),
    ("PGPASSWORD", "pg-secret4"),
    ("AIRTABLE_API_KEY", "pat-secret5"),
    ("HOME", "/home/ada"),
    ("SENTRY_CLIENT_ID", "sentry-client-7"),
    ("PIPESHUB_CLIENT_ID", "pipeshub-client-8"),
];

/// Loads a fixture with [`VARS`] as the environment.
pub(crate) fn load(name: &str) -> Loaded {
    match Loader::new().vars(VARS.iter().copied()).load(fixture(name)) {
        Ok(loaded) => loaded,
        Err(err) => panic!("{name} does not load: {err}"),
    }
}

/// Loads `text` in `format` with [`VARS`] and returns the error it must give.
pub(crate) fn load_err(text: &str, format: mcp_config::Format) -> LoadError {
    match Loader::new().vars(VARS.iter().copied()).format(format).load_str(text) {
        Ok(loaded) => panic!("expected an error, loaded {:?}", loaded.config),
        Err(err) => err,
    }
}
