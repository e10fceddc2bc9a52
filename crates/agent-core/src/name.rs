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
}
