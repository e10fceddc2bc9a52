//! Loads an MCP config file and prints it in mcp-config's native JSON layout, secrets as `***`,
//! followed by any warnings.
//!
//! ```text
//! cargo run -p examples --example load_config -- .vscode/mcp.json
//! ```
//!
//! Exits 1 with the error (file:line:column, what is wrong, how to fix it) when the file does not
//! load, and 2 when no file is given.

use std::process::ExitCode;

use mcp_config::MCPConfig;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: load_config FILE");
        return ExitCode::from(2);
    };
    match MCPConfig::load(&path) {
        Ok(loaded) => {
            println!("{}", loaded.config.redacted().to_json_string());
            eprintln!(
                "loaded {} server(s) from {} ({})",
                loaded.config.len(),
                path.display(),
                loaded.dialect
            );
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
