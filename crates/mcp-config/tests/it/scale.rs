//! Large files: 100,000 servers in each layout load, keep their order, answer lookups, and a
//! duplicate at the very end is still found (and placed). The files are generated here, not
//! committed. Timing belongs to `cargo xtask bench`; these tests assert behaviour only.

use std::fmt::Write as _;

use mcp_config::{Dialect, Format, LoadErrorKind, Loader, ServerConfig};

const SERVERS: usize = 100_000;

/// `n` servers in `dialect`, alternating stdio and remote entries, every tenth one using a
/// `${VAR}`; then `tail` (an extra entry, already in the layout's syntax) if given.
fn generate(dialect: Dialect, format: Format, n: usize, tail: Option<&str>) -> String {
    let mut out = String::with_capacity(n * 120);
    let var = |i: usize| if i.is_multiple_of(10) { "${TOKEN}" } else { "plain" };
    match (dialect, format) {
        (Dialect::Native, Format::Toml) => {
            for i in 0..n {
                if i.is_multiple_of(2) {
                    let _ = writeln!(
                        out,
                        "[[servers]]\nserver_name = \"s{i}\"\ncommand = \"server-{i}\"\nargs = [\"--port\", \"{i}\", \"{}\"]\n",
                        var(i)
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "[[servers]]\nserver_name = \"s{i}\"\ntransport = \"streamable_http\"\nurl = \"http://127.0.0.1:8000/mcp/{i}\"\nheaders = {{ Authorization = \"Bearer {}\" }}\n",
                        var(i)
                    );
                }
            }
            out.push_str(tail.unwrap_or_default());
        }
        (Dialect::Native, _) => {
            out.push_str("{\"servers\": [\n");
            for i in 0..n {
                if i.is_multiple_of(2) {
                    let _ = writeln!(
                        out,
                        "  {{\"server_name\": \"s{i}\", \"command\": \"server-{i}\", \"args\": [\"--port\", \"{i}\", \"{}\"]}},",
                        var(i)
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "  {{\"server_name\": \"s{i}\", \"transport\": \"streamable_http\", \"url\": \"http://127.0.0.1:8000/mcp/{i}\", \"headers\": {{\"Authorization\": \"Bearer {}\"}}}},",
                        var(i)
                    );
                }
            }
            out.push_str(tail.unwrap_or("  {\"server_name\": \"last\", \"command\": \"x\"}\n"));
            out.push_str("]}\n");
        }
        (Dialect::McpServers | Dialect::VsCode, _) => {
            let vscode = dialect == Dialect::VsCode;
            out.push_str(if vscode {
                "{\n  // generated\n  \"servers\": {\n"
            } else {
                "{\"mcpServers\": {\n"
            });
            let kind = |stdio: bool| match (vscode, stdio) {
                (true, true) => "\"type\": \"stdio\", ",
                (true, false) => "\"type\": \"http\", ",
                (false, _) => "",
            };
            for i in 0..n {
                if i.is_multiple_of(2) {
                    let _ = writeln!(
                        out,
                        "  \"s{i}\": {{{}\"command\": \"server-{i}\", \"args\": [\"--port\", \"{i}\", \"{}\"]}},",
                        kind(true),
                        var(i)
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "  \"s{i}\": {{{}\"url\": \"http://127.0.0.1:8000/mcp/{i}\", \"headers\": {{\"Authorization\": \"Bearer {}\"}}}},",
                        kind(false),
                        var(i)
                    );
                }
            }
            out.push_str(tail.unwrap_or("  \"last\": {\"command\": \"x\"}\n"));
            out.push_str(if vscode { "  },\n  \"inputs\": []\n}\n" } else { "}}\n" });
        }
        _ => unreachable!("no such layout"),
    }
    out
}

fn loader(format: Format) -> Loader {
    Loader::new().vars([("TOKEN", "t0k")]).format(format)
}

const LAYOUTS: [(Dialect, Format); 4] = [
    (Dialect::Native, Format::Json),
    (Dialect::Native, Format::Toml),
    (Dialect::McpServers, Format::Json),
    (Dialect::VsCode, Format::Jsonc),
];

#[test]
fn a_hundred_thousand_servers_load_in_every_layout() {
    for (dialect, format) in LAYOUTS {
        let text = generate(dialect, format, SERVERS, None);
        let loaded = match loader(format).load_str(&text) {
            Ok(loaded) => loaded,
            Err(err) => panic!("{dialect:?} does not load: {err}"),
        };
        assert_eq!(loaded.dialect, dialect);
        let config = &loaded.config;
        let expected = if format == Format::Toml { SERVERS } else { SERVERS + 1 };
        assert_eq!(config.len(), expected, "{dialect:?}");
        assert_eq!(config.names().nth(12_345), Some("s12345"));
        let ServerConfig::Stdio(first) = config.get("s0").unwrap() else { panic!("s0 is stdio") };
        assert_eq!(first.args, ["--port", "0", "t0k"]);
        let ServerConfig::StreamableHttp(remote) = config.get("s99999").unwrap() else {
            panic!("s99999 is remote")
        };
        assert_eq!(remote.headers["Authorization"], "Bearer plain");
        assert!(config.contains("s50000") && !config.contains("s100000"));
        // The unknown-server message names a few servers, not a hundred thousand.
        let unknown = config.get("s1000000").unwrap_err().to_string();
        assert!(unknown.len() < 1_000, "{unknown}");
        assert!(unknown.contains("more"), "{unknown}");
    }
}

#[test]
fn a_duplicate_at_the_end_of_a_long_file_is_found_where_it_is() {
    for (dialect, format) in LAYOUTS {
        let tail = match (dialect, format) {
            (Dialect::Native, Format::Toml) => {
                "[[servers]]\nserver_name = \"s7\"\ncommand = \"x\"\n"
            }
            (Dialect::Native, _) => "  {\"server_name\": \"s7\", \"command\": \"x\"}\n",
            _ => "  \"s7\": {\"command\": \"x\"}\n",
        };
        // Fewer servers than above: where the duplicate is found does not depend on the count.
        let text = generate(dialect, format, SERVERS / 5, Some(tail));
        let err = loader(format).load_str(&text).unwrap_err();
        assert!(matches!(err.kind(), LoadErrorKind::Invalid { .. }), "{dialect:?}: {err}");
        assert!(err.to_string().contains("duplicate server name \"s7\""), "{dialect:?}: {err}");
        let lines = text.lines().count();
        let line = err.location().map(|l| l.line).unwrap_or_default();
        assert!(line + 5 >= lines && line <= lines, "{dialect:?}: at line {line} of {lines}");
    }
}

#[test]
fn files_over_the_size_limit_are_refused_naming_the_limit() {
    let text = generate(Dialect::McpServers, Format::Json, 1_000, None);
    let err = loader(Format::Json).max_size(10_000).load_str(&text).unwrap_err();
    assert!(
        matches!(err.kind(), LoadErrorKind::TooLarge { size, limit: 10_000 } if *size == text.len() as u64),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the config is {} bytes, over the limit of 10000 bytes (9.8 KiB); split it, or raise \
             the limit with `Loader::max_size`",
            text.len()
        )
    );

    // From a file, the size is checked before the file is read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    std::fs::write(&path, &text).unwrap();
    let err = loader(Format::Auto).max_size(10_000).load(&path).unwrap_err();
    assert!(matches!(err.kind(), LoadErrorKind::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("{}: the config is", path.display())));
    // The default limit takes it, as it takes a 100,000-server file (about 10 MB).
    const { assert!(Loader::DEFAULT_MAX_SIZE == 64 * 1024 * 1024) };
    assert!(loader(Format::Auto).load(&path).is_ok());
}
