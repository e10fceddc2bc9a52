//! Tool names as OpenAI accepts them (`^[a-zA-Z0-9_-]{1,64}$`): the one place they are made.

/// The longest tool name OpenAI accepts.
pub(crate) const MAX_TOOL_NAME: usize = 64;

/// `name` made to fit `^[a-zA-Z0-9_-]{1,64}$`: other characters become `_`, a long name is cut
/// to 64 characters, and an empty one becomes `tool`.
pub(crate) fn sanitize_tool_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    // Every character left is ASCII, so this cuts on a character boundary.
    out.truncate(MAX_TOOL_NAME);
    if out.is_empty() { "tool".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_openai() {
        assert_eq!(sanitize_tool_name("fs.read_file"), "fs_read_file");
        assert_eq!(sanitize_tool_name("get-sum"), "get-sum");
        assert_eq!(sanitize_tool_name("été"), "_t_");
        assert_eq!(sanitize_tool_name(""), "tool");
        assert_eq!(sanitize_tool_name(&"x".repeat(80)).len(), 64);
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_sanitized_names_fit_openai(name in prop_oneof![
            any::<String>(),
            ".{0,200}",
            "[a-zA-Z0-9_. /-]{0,100}",
        ]) {
            let out = sanitize_tool_name(&name);
            prop_assert!((1..=MAX_TOOL_NAME).contains(&out.len()), "{out:?}");
            prop_assert!(
                out.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                "{out:?}"
            );
            // One character out per character in, up to 64: allowed ones kept, others `_`.
            let expected: String = name
                .chars()
                .take(MAX_TOOL_NAME)
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
                .collect();
            if !name.is_empty() {
                prop_assert_eq!(out, expected);
            }
        }

        #[test]
        fn prop_a_name_that_fits_is_kept(name in "[a-zA-Z0-9_-]{1,64}") {
            prop_assert_eq!(sanitize_tool_name(&name), name);
        }
    }
}
