//! JSONC (JSON with comments and trailing commas, as VS Code reads `.vscode/mcp.json`).
//!
//! Comments and trailing commas are blanked out with spaces (newlines kept), so the strict JSON
//! parser that runs next reports the same lines and columns as the original text.

/// Returns `text` with `//` and `/* */` comments and trailing commas replaced by spaces.
///
/// An unterminated block comment is left in place, so the JSON parser reports it.
pub(crate) fn strip(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    // Index in `out` of the last comma seen outside strings, while only blanks followed it.
    let mut pending_comma: Option<usize> = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                pending_comma = None;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    blank(&mut out, i);
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let Some(len) = text[i + 2..].find("*/") else {
                    break;
                };
                let end = i + 2 + len + 2;
                for j in i..end {
                    blank(&mut out, j);
                }
                i = end;
            }
            b',' => {
                pending_comma = Some(i);
                i += 1;
            }
            b'}' | b']' => {
                if let Some(comma) = pending_comma.take() {
                    out[comma] = b' ';
                }
                i += 1;
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                pending_comma = None;
                i += 1;
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII spaces, and multi-byte sequences were never split.
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

fn blank(out: &mut [u8], i: usize) {
    if out[i] != b'\n' && out[i] != b'\r' {
        out[i] = b' ';
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn blanks_comments_and_trailing_commas_keeping_positions() {
        let text = "{\n  // note\n  \"a\": [1, 2,], /* x */\n  \"b\": \"// not a comment,}\",\n}";
        let out = strip(text);
        assert_eq!(out.len(), text.len());
        assert_eq!(out.lines().count(), text.lines().count());
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["a"], serde_json::json!([1, 2]));
        assert_eq!(value["b"], "// not a comment,}");
    }

    #[test]
    fn multibyte_text_survives() {
        let text = "{\"é\": \"ü\", // ß\n}";
        let value: serde_json::Value = serde_json::from_str(&strip(text)).unwrap();
        assert_eq!(value["é"], "ü");
    }
}
