//! `.env` files, as VS Code's `envFile` names them.
//!
//! `KEY=VALUE` per line; blank lines and `#` comments skipped; an optional `export ` prefix;
//! values unquoted (trailing ` # comment` dropped), in single quotes (literal) or in double
//! quotes (with `\n`, `\t`, `\"` and `\\` escapes).

use std::collections::BTreeMap;

/// Parses dotenv text; on a bad line, says which and why.
pub(crate) fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            // The line is not echoed: it may hold a secret.
            return Err(format!("line {}: expected KEY=VALUE", index + 1));
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("line {}: {key:?} is not a variable name", index + 1));
        }
        let value = value.trim();
        let value = if let Some(inner) = quoted(value, '\'') {
            inner.to_owned()
        } else if let Some(inner) = quoted(value, '"') {
            unescape(inner)
        } else {
            value.split(" #").next().unwrap_or_default().trim_end().to_owned()
        };
        vars.insert(key.to_owned(), value);
    }
    Ok(vars)
}

fn quoted(value: &str, quote: char) -> Option<&str> {
    value.strip_prefix(quote)?.strip_suffix(quote)
}

fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_common_forms() {
        let vars = parse(
            "# comment\n\nexport A=1\nB = two words # note\nC='lit ${X} \\n'\nD=\"a\\nb\"\nE=\n",
        )
        .unwrap();
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "lit ${X} \\n");
        assert_eq!(vars["D"], "a\nb");
        assert_eq!(vars["E"], "");
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(parse("A=1\njunk\n").unwrap_err(), "line 2: expected KEY=VALUE");
        assert!(parse("BAD-KEY=1").unwrap_err().contains("not a variable name"));
    }
}
