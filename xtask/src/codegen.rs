//! Generated files that are checked in, and the check that keeps them fresh.
//!
//! Today: `docs/mcp-config.schema.json`, the JSON Schema of mcp-config's native file layout.

use std::path::Path;

use crate::project_root;

/// Whether to write stale files or fail on them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Write,
    Check,
}

/// Regenerates every generated file.
pub(crate) fn generate(mode: Mode) -> Result<(), String> {
    let schema = mcp_config::MCPConfig::json_schema();
    let mut text = serde_json::to_string_pretty(&schema).map_err(|err| err.to_string())?;
    text.push('\n');
    ensure_file_contents(&project_root().join("docs/mcp-config.schema.json"), &text, mode)
}

/// Makes `path` hold `contents`; in check mode, fails if it does not and says what to run.
fn ensure_file_contents(path: &Path, contents: &str, mode: Mode) -> Result<(), String> {
    let relative = path.strip_prefix(project_root()).unwrap_or(path).display().to_string();
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    match mode {
        Mode::Check => Err(format!(
            "{relative} is out of date; run `cargo xtask codegen` and commit the result"
        )),
        Mode::Write => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
            }
            std::fs::write(path, contents).map_err(|err| format!("{relative}: {err}"))?;
            eprintln!("updated {relative}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_files_are_fresh() {
        if let Err(err) = super::generate(super::Mode::Check) {
            panic!("{err}");
        }
    }
}
