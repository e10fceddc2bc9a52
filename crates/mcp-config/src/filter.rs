//! [`ToolFilter`]: which of a server's tools an application may see and call, by glob.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ConfigError;

/// The key of the allow list, as files write it and errors name it.
pub(crate) const ALLOW_KEY: &str = "tools.allow";
/// The key of the deny list, as files write it and errors name it.
pub(crate) const DENY_KEY: &str = "tools.deny";

/// Which of a server's tools are used, by the tool's name: a tool is allowed when `allow` is
/// empty or one of its globs matches the name, and no `deny` glob matches it (deny wins).
///
/// Globs follow the [`globset`](https://docs.rs/globset) syntax: `*` matches any text, `?` one
/// character, `[abc]` one of a set, `{read,list}_*` either alternative, and `\` escapes the next
/// character. A glob matches the whole name, case-sensitively. Each glob is checked when the
/// filter is built, and the lists are compiled once, so [`allows`](Self::allows) is cheap.
///
/// The default filter is empty and allows every tool.
///
/// ```
/// use mcp_config::{ServerConfig, StdioConfig, ToolFilter};
///
/// let filter = ToolFilter::default().allow(["read_*", "list_*"])?.deny(["*delete*"])?;
/// assert!(filter.allows("read_file"));
/// assert!(!filter.allows("write_file"), "not in `allow`");
/// assert!(!filter.allows("list_deleted_items"), "`deny` wins over `allow`");
///
/// let server = ServerConfig::from(StdioConfig::new("fs", "fs-server").tools(filter));
/// assert_eq!(server.tools().allow_patterns(), ["read_*", "list_*"]);
///
/// let err = ToolFilter::default().deny(["drop_[table"]).unwrap_err();
/// assert!(err.to_string().starts_with("`tools.deny`: invalid glob \"drop_[table\": unclosed character class"));
/// # Ok::<(), mcp_config::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct ToolFilter {
    /// `None` when both lists are empty: the common case costs one pointer and no allocation.
    inner: Option<Arc<Inner>>,
}

#[derive(Clone)]
struct Inner {
    allow: Patterns,
    deny: Patterns,
}

/// One list of globs: as written, and compiled.
#[derive(Clone)]
pub(crate) struct Patterns {
    text: Vec<String>,
    set: GlobSet,
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns { text: Vec::new(), set: GlobSet::empty() }
    }
}

impl Patterns {
    /// The globs of `key` (`tools.allow` or `tools.deny`), each checked, compiled together.
    fn compile<I>(key: &str, patterns: I) -> Result<Patterns, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let mut list = GlobList::new(key);
        for pattern in patterns {
            list.push(pattern.into())?;
        }
        list.finish()
    }
}

/// A list of globs being read one by one (the file loader checks each as it reads it).
pub(crate) struct GlobList<'k> {
    key: &'k str,
    text: Vec<String>,
    builder: GlobSetBuilder,
}

impl<'k> GlobList<'k> {
    /// An empty list for `key` (`tools.allow` or `tools.deny`), which errors name.
    pub(crate) fn new(key: &'k str) -> Self {
        GlobList { key, text: Vec::new(), builder: GlobSetBuilder::new() }
    }

    /// Checks `pattern` and adds it.
    ///
    /// # Errors
    /// [`ConfigError::InvalidToolGlob`] naming the pattern when it is not a valid glob.
    pub(crate) fn push(&mut self, pattern: String) -> Result<(), ConfigError> {
        let glob = GlobBuilder::new(&pattern)
            // The same syntax on every platform (globset's default differs on Windows).
            .backslash_escape(true)
            .build()
            .map_err(|err| ConfigError::InvalidToolGlob {
                key: self.key.to_owned(),
                pattern: Some(pattern.clone()),
                reason: err.kind().to_string(),
            })?;
        self.builder.add(glob);
        self.text.push(pattern);
        Ok(())
    }

    /// Compiles the list.
    ///
    /// # Errors
    /// [`ConfigError::InvalidToolGlob`] without a pattern when the globs, each valid, are too
    /// many or too large to compile together.
    pub(crate) fn finish(self) -> Result<Patterns, ConfigError> {
        if self.text.is_empty() {
            return Ok(Patterns::default());
        }
        let set = self.builder.build().map_err(|err| ConfigError::InvalidToolGlob {
            key: self.key.to_owned(),
            pattern: None,
            reason: err.kind().to_string(),
        })?;
        Ok(Patterns { text: self.text, set })
    }
}

impl ToolFilter {
    /// A filter of these `allow` and `deny` globs (see [`ToolFilter`] for their meaning).
    ///
    /// ```
    /// use mcp_config::ToolFilter;
    ///
    /// let filter = ToolFilter::new(["search", "fetch_*"], ["fetch_private_*"])?;
    /// assert!(filter.allows("fetch_page"));
    /// assert!(!filter.allows("fetch_private_notes"));
    /// assert!(!filter.allows("Search"), "case-sensitive");
    ///
    /// let none: [&str; 0] = [];
    /// assert!(ToolFilter::new(none, none)?.is_empty());
    /// # Ok::<(), mcp_config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidToolGlob`] naming the list (`tools.allow` or `tools.deny`), the
    /// pattern and why, for the first glob that does not parse.
    pub fn new<A, D>(allow: A, deny: D) -> Result<Self, ConfigError>
    where
        A: IntoIterator,
        A::Item: Into<String>,
        D: IntoIterator,
        D::Item: Into<String>,
    {
        let allow = Patterns::compile(ALLOW_KEY, allow)?;
        let deny = Patterns::compile(DENY_KEY, deny)?;
        Ok(Self::from_patterns(allow, deny))
    }

    /// The filter of two compiled lists.
    pub(crate) fn from_patterns(allow: Patterns, deny: Patterns) -> Self {
        let empty = allow.text.is_empty() && deny.text.is_empty();
        ToolFilter { inner: (!empty).then(|| Arc::new(Inner { allow, deny })) }
    }

    /// The two lists, taken out (copied only when another clone shares them).
    fn into_parts(self) -> (Patterns, Patterns) {
        match self.inner {
            None => (Patterns::default(), Patterns::default()),
            Some(inner) => {
                let Inner { allow, deny } = Arc::unwrap_or_clone(inner);
                (allow, deny)
            }
        }
    }

    /// Replaces the allow list: when it is not empty, only tools one of its globs matches are
    /// allowed.
    ///
    /// ```
    /// use mcp_config::ToolFilter;
    ///
    /// let filter = ToolFilter::default().allow(["get_{issue,pull_request}"])?;
    /// assert!(filter.allows("get_issue"));
    /// assert!(!filter.allows("get_issues"), "a glob matches the whole name");
    /// # Ok::<(), mcp_config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidToolGlob`] for a glob that does not parse (key `tools.allow`).
    pub fn allow<I>(self, patterns: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let allow = Patterns::compile(ALLOW_KEY, patterns)?;
        let (_, deny) = self.into_parts();
        Ok(Self::from_patterns(allow, deny))
    }

    /// Replaces the deny list: tools one of its globs matches are refused, even when `allow`
    /// matches them too.
    ///
    /// ```
    /// use mcp_config::ToolFilter;
    ///
    /// let filter = ToolFilter::default().deny(["*delete*", "drop_*"])?;
    /// assert!(filter.allows("create_issue"), "an empty allow list allows the rest");
    /// assert!(!filter.allows("delete_repository"));
    /// # Ok::<(), mcp_config::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidToolGlob`] for a glob that does not parse (key `tools.deny`).
    pub fn deny<I>(self, patterns: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let deny = Patterns::compile(DENY_KEY, patterns)?;
        let (allow, _) = self.into_parts();
        Ok(Self::from_patterns(allow, deny))
    }

    /// Whether the tool named `tool` passes: `allow` is empty or matches it, and `deny` does
    /// not match it.
    ///
    /// ```
    /// use mcp_config::ToolFilter;
    ///
    /// assert!(ToolFilter::default().allows("anything"));
    /// let filter = ToolFilter::default().allow(["read_*"])?.deny(["read_secrets"])?;
    /// assert!(filter.allows("read_file"));
    /// assert!(!filter.allows("read_secrets"));
    /// # Ok::<(), mcp_config::ConfigError>(())
    /// ```
    pub fn allows(&self, tool: &str) -> bool {
        let Some(inner) = &self.inner else { return true };
        let candidate = Candidate::from_bytes(tool.as_bytes());
        (inner.allow.text.is_empty() || inner.allow.set.is_match_candidate(&candidate))
            && !inner.deny.set.is_match_candidate(&candidate)
    }

    /// Whether both lists are empty, so that every tool is allowed.
    ///
    /// ```
    /// use mcp_config::ToolFilter;
    ///
    /// assert!(ToolFilter::default().is_empty());
    /// assert!(!ToolFilter::default().deny(["*"])?.is_empty());
    /// # Ok::<(), mcp_config::ConfigError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// The allow globs, as written.
    ///
    /// ```
    /// use mcp_config::ToolFilter;
    ///
    /// let filter = ToolFilter::default().allow(["read_*"])?;
    /// assert_eq!(filter.allow_patterns(), ["read_*"]);
    /// assert!(filter.deny_patterns().is_empty());
    /// # Ok::<(), mcp_config::ConfigError>(())
    /// ```
    pub fn allow_patterns(&self) -> &[String] {
        self.inner.as_ref().map_or(&[], |inner| &inner.allow.text)
    }

    /// The deny globs, as written.
    ///
    /// ```
    /// use mcp_config::ToolFilter;
    ///
    /// let filter = ToolFilter::default().deny(["*delete*"])?;
    /// assert_eq!(filter.deny_patterns(), ["*delete*"]);
    /// # Ok::<(), mcp_config::ConfigError>(())
    /// ```
    pub fn deny_patterns(&self) -> &[String] {
        self.inner.as_ref().map_or(&[], |inner| &inner.deny.text)
    }
}

/// Two filters are equal when they hold the same globs in the same order.
impl PartialEq for ToolFilter {
    fn eq(&self, other: &Self) -> bool {
        self.allow_patterns() == other.allow_patterns()
            && self.deny_patterns() == other.deny_patterns()
    }
}

impl Eq for ToolFilter {}

impl Hash for ToolFilter {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.allow_patterns().hash(state);
        self.deny_patterns().hash(state);
    }
}

/// Shows the globs, as `ToolFilter { allow: [..], deny: [..] }`.
impl fmt::Debug for ToolFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolFilter")
            .field("allow", &self.allow_patterns())
            .field("deny", &self.deny_patterns())
            .finish()
    }
}

/// The serde and schema form of [`ToolFilter`]: its two lists.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(
    rename = "ToolFilter",
    description = "Which of the server's tools are used, by name: a tool is allowed when `allow` is empty or one of its globs matches the name, and no `deny` glob matches it (deny wins). Globs (globset syntax: `*`, `?`, `[abc]`, `{a,b}`, `\\` escapes) match the whole name, case-sensitively."
)]
struct ToolFilterLists {
    /// Globs of the tools to use; empty (the default) allows every tool `deny` does not refuse.
    allow: Vec<String>,
    /// Globs of the tools never to use, even when `allow` matches them. Default empty.
    deny: Vec<String>,
}

/// [`ToolFilterLists`], borrowed, to write.
#[derive(Serialize)]
struct ToolFilterRef<'a> {
    allow: &'a [String],
    deny: &'a [String],
}

/// Writes `{"allow": [...], "deny": [...]}`, both lists always.
impl Serialize for ToolFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ToolFilterRef { allow: self.allow_patterns(), deny: self.deny_patterns() }
            .serialize(serializer)
    }
}

/// Reads `{"allow": [...], "deny": [...]}` (each optional, no other key), checking and compiling
/// every glob.
impl<'de> Deserialize<'de> for ToolFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let lists = ToolFilterLists::deserialize(deserializer)?;
        ToolFilter::new(lists.allow, lists.deny).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for ToolFilter {
    fn schema_name() -> Cow<'static, str> {
        ToolFilterLists::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::ToolFilter").into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        ToolFilterLists::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names_case_sensitively() {
        let filter = ToolFilter::new(["read_*", "get_?", "[lL]ist", "a\\*b"], ["*_admin"]).unwrap();
        for (tool, allowed) in [
            ("read_file", true),
            ("read_", true),
            ("xread_file", false),
            ("Read_file", false),
            ("get_x", true),
            ("get_xy", false),
            ("list", true),
            ("List", true),
            ("a*b", true),
            ("axb", false),
            ("read_admin", false),
            ("", false),
            ("read_a/b", true),
            ("github/read_file", false),
        ] {
            assert_eq!(filter.allows(tool), allowed, "{tool:?}");
        }
    }

    #[test]
    fn many_globs_and_literals_mix() {
        let allow: Vec<String> = (0..500).map(|i| format!("tool_{i}")).collect();
        let filter =
            ToolFilter::new(allow.iter().map(String::as_str).chain(["x*"]), ["tool_7"]).unwrap();
        assert!(filter.allows("tool_499"));
        assert!(filter.allows("xyz"));
        assert!(!filter.allows("tool_7"));
        assert!(!filter.allows("tool_500"));
    }

    #[test]
    fn builders_keep_the_other_list() {
        let filter = ToolFilter::default().deny(["b*"]).unwrap().allow(["*"]).unwrap();
        assert_eq!(filter.deny_patterns(), ["b*"]);
        let filter = filter.deny(Vec::<String>::new()).unwrap();
        assert_eq!(filter.allow_patterns(), ["*"]);
        assert!(filter.allows("bar"));
        let none: [&str; 0] = [];
        assert!(filter.allow(none).unwrap().is_empty());
    }

    #[test]
    fn invalid_globs_name_the_list_and_pattern() {
        for (pattern, reason) in [
            ("a[", "unclosed character class; missing ']'"),
            ("{a,b", "unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)"),
            ("a}", "unopened alternate group; missing '{' (maybe escape '}' with '[}]'?)"),
            ("[z-a]", "invalid range; 'z' > 'a'"),
            ("x\\", "dangling '\\'"),
        ] {
            let err = ToolFilter::new(["ok"], [pattern]).unwrap_err();
            assert_eq!(
                err,
                ConfigError::InvalidToolGlob {
                    key: DENY_KEY.to_owned(),
                    pattern: Some(pattern.to_owned()),
                    reason: reason.to_owned(),
                }
            );
        }
    }
}
