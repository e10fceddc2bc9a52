//! Keeping secrets out of `Debug`, `Display` and printed configs.
//!
//! Environment values and header values are secrets as a rule (`GITHUB_TOKEN`,
//! `Authorization`), and so are URL passwords and query values with secret-looking names.

use std::collections::BTreeMap;
use std::fmt;

use url::Url;

/// What every hidden value prints as.
pub(crate) const MASK: &str = "***";

/// Query parameters whose values are hidden, matched as substrings of the lowercased name.
const SECRET_QUERY_KEYS: &[&str] = &["key", "token", "secret", "password", "auth", "sig", "code"];

/// Debug-prints a map with every value replaced by `***`.
pub(crate) struct RedactedMap<'a>(pub(crate) &'a BTreeMap<String, String>);

impl fmt::Debug for RedactedMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.keys().map(|k| (k, MASK))).finish()
    }
}

/// Prints a URL with its password and secret-looking query values replaced by `***`.
pub(crate) struct RedactedUrl<'a>(pub(crate) &'a Url);

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !needs_redaction(self.0) {
            return f.write_str(self.0.as_str());
        }
        let mut copy = self.0.clone();
        redact_url(&mut copy);
        f.write_str(copy.as_str())
    }
}

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Replaces every value of `map` with `***`.
pub(crate) fn redact_values(map: &mut BTreeMap<String, String>) {
    for value in map.values_mut() {
        MASK.clone_into(value);
    }
}

/// Replaces the password and secret-looking query values of `url` with `***`.
pub(crate) fn redact_url(url: &mut Url) {
    if url.password().is_some() {
        // Only fails for URLs that cannot have credentials, which have no password either.
        let _ = url.set_password(Some(MASK));
    }
    if url.query_pairs().any(|(k, _)| is_secret_key(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_key(&k) { MASK.to_owned() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
}

/// `text` (a URL that may not parse) with the password of its `user:password@` part hidden.
pub(crate) fn redact_url_text(text: &str) -> String {
    let Some(scheme_end) = text.find("://").map(|i| i + 3) else { return text.to_owned() };
    let rest = &text[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return text.to_owned() };
    let Some(colon) = rest[..at].find(':') else { return text.to_owned() };
    format!("{}{}:{MASK}{}", &text[..scheme_end], &rest[..colon], &rest[at..])
}

fn needs_redaction(url: &Url) -> bool {
    url.password().is_some() || url.query_pairs().any(|(k, _)| is_secret_key(&k))
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_QUERY_KEYS.iter().any(|s| key.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_password_and_secret_query_values_are_hidden() {
        let url = Url::parse("https://user:pw@example.com/mcp?api_key=abc&page=2").unwrap();
        let shown = RedactedUrl(&url).to_string();
        assert!(!shown.contains("pw@") && !shown.contains("abc"), "{shown}");
        assert!(shown.contains("page=2") && shown.contains("user:"), "{shown}");
    }

    #[test]
    fn unparsable_url_text_hides_its_password() {
        assert_eq!(
            redact_url_text("http://bot:hunter2@exa mple.com/x"),
            "http://bot:***@exa mple.com/x"
        );
        assert_eq!(redact_url_text("not a url"), "not a url");
        assert_eq!(redact_url_text("http://host/a@b:c"), "http://host/a@b:c");
    }

    #[test]
    fn plain_urls_print_unchanged() {
        let url = Url::parse("http://127.0.0.1:8000/sse").unwrap();
        assert_eq!(RedactedUrl(&url).to_string(), "http://127.0.0.1:8000/sse");
    }
}
