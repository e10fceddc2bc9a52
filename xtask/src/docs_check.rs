//! The docs name only what exists: `cargo xtask ci`'s `docs` step, and a test.
//!
//! Reads `README.md`, `docs/*.md` and `crates/*/README.md` and reports, with `FILE:LINE`:
//!
//! - a file path that does not exist: a word starting with `crates/`, `docs/`, `examples/`,
//!   `xtask/` or `.ci/` (relative to the workspace root), a link target (relative to the doc),
//!   or a `*.rs`/`*.md` name in backquotes that is no file's path, nor the tail of one (prose
//!   often names `session.rs` inside the crate it is talking about);
//! - an example, `--example NAME`, with no `examples/examples/NAME.rs`;
//! - an xtask command, `cargo xtask SUB [--flag]`, that `xtask/src/main.rs` does not dispatch;
//! - a `research-demo` flag: a `--flag` on a line that runs or names `research-demo` (in
//!   `README.md` and `docs/demo.md`) that no `#[arg(long ...)]` of `crates/research-demo/src`
//!   declares.
//!
//! Placeholders are skipped: words with `*`, `<`, `{`, `$` or `...`, and file names in capitals
//! (`NAME.rs`).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::project_root;

/// Folders a path in the docs may start with, relative to the workspace root.
const ROOTS: &[&str] = &["crates/", "docs/", "examples/", "xtask/", ".ci/"];

/// Something a doc names that does not exist.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Offender {
    /// The doc, relative to the workspace root.
    pub(crate) file: String,
    /// The line, from 1.
    pub(crate) line: usize,
    /// What is missing.
    pub(crate) what: String,
}

impl fmt::Display for Offender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// Runs the check on the workspace and prints every offender.
pub(crate) fn run() -> Result<(), String> {
    let offenders = check(&project_root())?;
    for offender in &offenders {
        eprintln!("{offender}");
    }
    if offenders.is_empty() {
        eprintln!(
            "docs name only files, examples, xtask commands and research-demo flags that exist"
        );
        Ok(())
    } else {
        Err(format!(
            "{} thing(s) named in the docs do not exist (listed above); fix the doc or the code",
            offenders.len()
        ))
    }
}

/// Every offender in the docs of the workspace at `root`, sorted.
pub(crate) fn check(root: &Path) -> Result<Vec<Offender>, String> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))
    };
    let known = Known {
        files: repo_files(root),
        xtask: xtask_commands(&read(&root.join("xtask/src/main.rs"))?),
        demo_flags: demo_flags(root)?,
    };
    let mut offenders = Vec::new();
    for doc in docs(root) {
        let text = read(&root.join(&doc))?;
        offenders.extend(check_doc(&doc, &text, &known));
    }
    offenders.sort();
    offenders.dedup();
    Ok(offenders)
}

/// What exists.
struct Known {
    /// Every file and folder of the workspace, relative to its root, with `/` separators.
    files: BTreeSet<String>,
    /// `cargo xtask` commands, each as its words (`["codegen", "--check"]`).
    xtask: Vec<Vec<String>>,
    /// research-demo's long flags, with their `--`.
    demo_flags: BTreeSet<String>,
}

impl Known {
    fn exists(&self, path: &str) -> bool {
        self.files.contains(path.trim_end_matches('/'))
    }

    /// Whether some file's path is `tail` or ends with `/tail`.
    fn exists_as_tail(&self, tail: &str) -> bool {
        let suffix = format!("/{tail}");
        self.exists(tail) || self.files.iter().any(|f| f.ends_with(&suffix))
    }
}

/// The docs to check, relative to `root`.
fn docs(root: &Path) -> Vec<String> {
    let mut docs = vec!["README.md".to_owned()];
    let mut listed = |dir: &str, pick: &dyn Fn(&Path) -> Option<PathBuf>| {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { return };
        let mut found: Vec<String> = entries
            .flatten()
            .filter_map(|e| pick(&e.path()))
            .filter(|p| p.is_file())
            .filter_map(|p| p.strip_prefix(root).ok().map(slashed))
            .collect();
        found.sort();
        docs.extend(found);
    };
    listed("docs", &|p| (p.extension()? == "md").then(|| p.to_path_buf()));
    listed("crates", &|p| Some(p.join("README.md")));
    docs
}

fn slashed(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Every file and folder under `root`, but build output, VCS data and installed packages.
fn repo_files(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if matches!(name.as_str(), "target" | ".git" | "node_modules" | ".venv") {
                continue;
            }
            if let Ok(relative) = path.strip_prefix(root) {
                out.insert(slashed(relative));
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    out
}

/// The commands `xtask/src/main.rs` dispatches: its match arms `["sub", "--flag"] => ...`.
fn xtask_commands(main_rs: &str) -> Vec<Vec<String>> {
    main_rs
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with("[\"") && line.contains("=>"))
        .map(|line| {
            let pattern = &line[1..line.find(']').unwrap_or(line.len())];
            // `["help" | "--help" | "-h"]` is one word with alternatives: keep the first.
            pattern
                .split(',')
                .map(|word| {
                    word.split('|').next().unwrap_or("").trim().trim_matches('"').to_owned()
                })
                .collect()
        })
        .collect()
}

/// research-demo's long flags: `--help`, `--version` and every `#[arg(... long ...)]` in
/// `crates/research-demo/src`, named by `long = "..."` or by its field in kebab case.
fn demo_flags(root: &Path) -> Result<BTreeSet<String>, String> {
    let mut flags = BTreeSet::from(["--help".to_owned(), "--version".to_owned()]);
    let mut stack = vec![root.join("crates/research-demo/src")];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|err| format!("cannot read {}: {err}", dir.display()))?;
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
                flags.extend(long_flags(&text));
            }
        }
    }
    Ok(flags)
}

/// The long flags declared in one source file.
fn long_flags(source: &str) -> Vec<String> {
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    let mut flags = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(args) = line.strip_prefix("#[arg(").or_else(|| line.strip_prefix("#[clap("))
        else {
            continue;
        };
        let words: Vec<&str> = args.split([',', '(', ')', ']']).map(str::trim).collect();
        let named = words.iter().find_map(|w| {
            let value = w.strip_prefix("long")?.trim_start().strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        });
        let long = named.or_else(|| {
            words.contains(&"long").then(|| {
                // The field follows the attributes: `pub(crate) name: Type,`.
                let field =
                    lines[i + 1..].iter().find(|l| !l.starts_with("#[") && !l.starts_with("//"))?;
                let name = field.split(':').next()?.split_whitespace().last()?;
                Some(name.trim_start_matches("r#").replace('_', "-"))
            })?
        });
        if let Some(long) = long {
            flags.push(format!("--{long}"));
        }
        for alias in words.iter().filter_map(|w| {
            let value = w.strip_prefix("alias").or_else(|| w.strip_prefix("visible_alias"))?;
            Some(value.trim_start().strip_prefix('=')?.trim().trim_matches('"').to_owned())
        }) {
            flags.push(format!("--{alias}"));
        }
    }
    flags
}

/// The offenders of one doc.
fn check_doc(doc: &str, text: &str, known: &Known) -> Vec<Offender> {
    let mut out = Vec::new();
    let doc_dir = doc.rsplit_once('/').map_or("", |(dir, _)| dir);
    let words = words(text);
    let mut report = |line: usize, what: String| {
        out.push(Offender { file: doc.to_owned(), line, what });
    };
    for (index, word) in words.iter().enumerate() {
        // Paths.
        if let Some(path) = path_in(&word.text) {
            let root_relative = ROOTS.iter().any(|r| path.starts_with(r));
            if root_relative && !known.exists(&path) {
                report(word.line, format!("`{path}` does not exist"));
            } else if !root_relative
                && word.quoted
                && (path.ends_with(".rs") || path.ends_with(".md"))
                && !known.exists_as_tail(&path)
            {
                report(word.line, format!("`{path}` is no file of the workspace"));
            }
        }
        // Examples.
        if clean(&word.text) == "--example"
            && let Some(name) = words.get(index + 1).map(|w| clean(&w.text))
            && !is_placeholder(&name)
            && !name.starts_with('-')
            && !known.exists(&format!("examples/examples/{name}.rs"))
        {
            report(
                word.line,
                format!("example `{name}`: examples/examples/{name}.rs does not exist"),
            );
        }
        // xtask commands.
        if clean(&word.text) == "cargo"
            && words.get(index + 1).is_some_and(|w| clean(&w.text) == "xtask")
            && let Some(sub) = words.get(index + 2).map(|w| clean(&w.text))
            && !is_placeholder(&sub)
            && !sub.starts_with('[')
        {
            let flag = words
                .get(index + 3)
                .map(|w| clean(&w.text))
                .filter(|f| f.starts_with("--") && !words[index + 2].text.ends_with('`'));
            let exists = known.xtask.iter().any(|c| {
                c.first() == Some(&sub) && flag.as_ref().is_none_or(|f| c.iter().any(|w| w == f))
            });
            if !exists {
                let command = flag.map_or(sub.clone(), |f| format!("{sub} {f}"));
                report(
                    word.line,
                    format!("`cargo xtask {command}` is no command of xtask/src/main.rs"),
                );
            }
        }
    }
    // Link targets, relative to the doc.
    for (line_no, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split('#').next().unwrap_or("").trim();
            rest = &after[end..];
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = normalize(&format!("{doc_dir}/{target}"));
            if !resolved.as_ref().is_some_and(|p| known.exists(p)) {
                report(line_no + 1, format!("link target `{target}` does not exist"));
            }
        }
    }
    // research-demo flags.
    if doc == "README.md" || doc == "docs/demo.md" {
        for (line_no, line) in text.lines().enumerate() {
            let mut flags = demo_flags_on(line);
            if doc == "docs/demo.md" && !line.contains("research-demo") {
                // The demo's page: a backquoted `--flag` is one of research-demo's.
                flags = flags_in_code_spans(line);
            }
            for flag in flags {
                if !known.demo_flags.contains(&flag) {
                    report(line_no + 1, format!("research-demo has no flag `{flag}`"));
                }
            }
        }
    }
    out
}

/// A word of a doc, with its line and whether it sits in backquotes or a code block.
struct Word {
    text: String,
    line: usize,
    quoted: bool,
}

/// The words of `text`, split at white space.
fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for (line_no, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        let mut in_ticks = false;
        for word in line.split_whitespace() {
            let ticks = word.matches('`').count();
            let quoted = in_fence || in_ticks || ticks > 0;
            if ticks % 2 == 1 {
                in_ticks = !in_ticks;
            }
            out.push(Word { text: word.to_owned(), line: line_no + 1, quoted });
        }
    }
    out
}

/// `word` without the quotes, brackets and punctuation around it.
fn clean(word: &str) -> String {
    word.trim_matches(|c: char| "`'\"()[],;:.!?*".contains(c)).to_owned()
}

/// The path `word` names, if it looks like one of ours: a path under [`ROOTS`] or a `*.rs` or
/// `*.md` file name; `:LINE` suffixes dropped; placeholders and URLs skipped.
fn path_in(word: &str) -> Option<String> {
    let word = word.split("](").next().unwrap_or(word);
    // "`crates/bench`'s": each backquoted part on its own.
    word.split('`').find_map(path_in_part)
}

fn path_in_part(word: &str) -> Option<String> {
    let mut path = clean(word);
    // `file.rs:12` or `file.rs:12:5`.
    while let Some((head, tail)) = path.rsplit_once(':') {
        if tail.chars().all(|c| c.is_ascii_digit()) && !tail.is_empty() {
            path = head.to_owned();
        } else {
            break;
        }
    }
    let path = path.trim_start_matches("./").to_owned();
    let ours = ROOTS.iter().any(|r| path.starts_with(r))
        || ((path.ends_with(".rs") || path.ends_with(".md")) && path.len() > 3);
    let placeholder = ["*", "<", "{", "$", "...", "…", "://", "="].iter().any(|p| path.contains(p))
        || path.split('/').any(is_placeholder);
    (ours && !placeholder).then_some(path)
}

/// A word in capitals (`NAME`, `NAME.rs`, `FILE`): a placeholder for the reader's own.
fn is_placeholder(word: &str) -> bool {
    let stem = word.split('.').next().unwrap_or(word);
    !stem.is_empty()
        && stem.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && stem.chars().any(|c| c.is_ascii_uppercase())
}

/// `a/b/../c` as `a/c`; `None` when it leaves the workspace.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The long flags in the backquoted spans of `line` that are not a cargo command.
fn flags_in_code_spans(line: &str) -> Vec<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| !span.trim_start().starts_with("cargo"))
        .flat_map(long_flags_in)
        .collect()
}

/// The long flags a line gives research-demo: those after `research-demo` (after its ` -- `
/// when cargo runs it).
fn demo_flags_on(line: &str) -> Vec<String> {
    let Some(at) = line.find("research-demo") else { return Vec::new() };
    let after = &line[at + "research-demo".len()..];
    let after = match after.find(" -- ") {
        Some(dashes) if after[..dashes].split_whitespace().all(|w| w.starts_with('-')) => {
            &after[dashes + 4..]
        }
        _ => after,
    };
    // A `#` comment in a shell line is prose.
    let after = after.split(" #").next().unwrap_or(after);
    long_flags_in(after)
}

/// The `--flag` words of `text`, without their `=value`.
fn long_flags_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "`'\"()[],;|".contains(c))
        .filter(|w| w.starts_with("--") && w[2..].starts_with(|c: char| c.is_ascii_lowercase()))
        .map(|w| w.split('=').next().unwrap_or(w).trim_end_matches(['.', ':']).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            files: [
                "README.md",
                "docs",
                "docs/a.md",
                "crates/x/src/session.rs",
                "examples/examples/hello.rs",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
            xtask: vec![
                vec!["ci".into()],
                vec!["codegen".into(), "--check".into()],
                vec!["codegen".into()],
            ],
            demo_flags: ["--offline", "--port", "--help"].into_iter().map(str::to_owned).collect(),
        }
    }

    fn whats(doc: &str, text: &str) -> Vec<String> {
        check_doc(doc, text, &known())
            .into_iter()
            .map(|o| format!("{}: {}", o.line, o.what))
            .collect()
    }

    #[test]
    fn true_statements_pass() {
        let text = "\
See `crates/x/src/session.rs:12`, `docs`'s, `session.rs`, `x/src/session.rs` and [a](docs/a.md#top).
Run `cargo run -p examples --example hello` or `--example NAME` (`examples/examples/NAME.rs`).
`cargo xtask ci`, `cargo xtask codegen --check`, `cargo xtask codegen [--check]`, `cargo xtask
codegen`. Globs like `crates/*/README.md` and URLs like https://x.example/crates/y are skipped.
```sh
cargo run -p research-demo -- --offline \"q\"   # --not-a-flag in a comment
cargo run --release -p research-demo -- serve wikipedia --port 8000
```
";
        assert_eq!(whats("README.md", text), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_false_statement_is_reported_with_its_line() {
        let text = "\
`crates/x/src/gone.rs` and `gone.rs` and [b](b.md)
`cargo run -p examples --example missing`
`cargo xtask lint` and `cargo xtask codegen --write`
`research-demo --frobnicate`
";
        assert_eq!(
            whats("docs/d.md", text),
            [
                "1: `crates/x/src/gone.rs` does not exist",
                "1: `gone.rs` is no file of the workspace",
                "2: example `missing`: examples/examples/missing.rs does not exist",
                "3: `cargo xtask lint` is no command of xtask/src/main.rs",
                "3: `cargo xtask codegen --write` is no command of xtask/src/main.rs",
                "1: link target `b.md` does not exist",
            ]
        );
        assert_eq!(
            whats("docs/demo.md", "`research-demo --frobnicate`"),
            ["1: research-demo has no flag `--frobnicate`"]
        );
    }

    #[test]
    fn links_resolve_from_the_doc() {
        assert_eq!(whats("docs/d.md", "[a](a.md) [r](../README.md)"), Vec::<String>::new());
        assert_eq!(whats("README.md", "[a](a.md)"), ["1: link target `a.md` does not exist"]);
    }

    #[test]
    fn clap_long_flags_are_found() {
        let source = r#"
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// Doc.
    #[arg(long, value_name = "PORT", conflicts_with = "config")]
    pub(crate) wikipedia_port: Option<u16>,
    #[arg(long = "base", alias = "url")]
    pub(crate) base_url: Option<Url>,
    #[arg(value_name = "Q")]
    pub(crate) query: Vec<String>,
"#;
        assert_eq!(long_flags(source), ["--verbose", "--wikipedia-port", "--base", "--url"]);
    }

    #[test]
    fn xtask_commands_are_read_from_main() {
        let main = r#"
        ["ci"] => ci::run(),
        ["codegen", "--check"] => codegen::generate(codegen::Mode::Check),
        ["help" | "--help" | "-h"] => {
"#;
        assert_eq!(xtask_commands(main), [vec!["ci"], vec!["codegen", "--check"], vec!["help"]]);
    }

    /// The check itself, on this workspace: fails, naming every offender, when a doc names a
    /// file, example, xtask command or research-demo flag that does not exist.
    #[test]
    fn docs_name_only_what_exists() {
        let offenders = check(&project_root()).expect("the docs can be read");
        let list: Vec<String> = offenders.iter().map(ToString::to_string).collect();
        assert!(list.is_empty(), "the docs name what does not exist:\n{}", list.join("\n"));
    }
}
