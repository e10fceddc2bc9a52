//! Keeping secrets out of what is printed: the one redaction of the workspace.
//!
//! Configurations hide their secrets through `Debug` and `Display` on their own. This module is
//! for everything else that may hold a URL: messages, logs, errors of other libraries. Every
//! crate above mcp-config that prints a URL or a foreign error text goes through it.
//!
//! What is hidden, replaced by [`MASK`]:
//!
//! - the password of a URL's `user:password@` part (the user name stays);
//! - the value of every query parameter, and of every `name=value` pair of the fragment, whose
//!   name is secret-looking (see [`is_secret_query_key`]).
//!
//! ```
//! use mcp_config::redact::{redact_text, redact_url, MASK};
//! use url::Url;
//!
//! let url = Url::parse("https://bot:hunter2@example.com/sse?sessionId=4f2a&page=2")?;
//! assert_eq!(redact_url(&url), "https://bot:***@example.com/sse?sessionId=***&page=2");
//!
//! let message = "error sending request for url (http://127.0.0.1:9/mcp?api_key=abc): refused";
//! assert_eq!(redact_text(message), "error sending request for url (http://127.0.0.1:9/mcp?api_key=***): refused");
//! assert_eq!(MASK, "***");
//! # Ok::<(), url::ParseError>(())
//! ```
//!
//! Environment values and header values are secrets as a rule (`GITHUB_TOKEN`,
//! `Authorization`); configurations print them as [`MASK`] too, but no function here can find
//! them in free text: never put them in a message.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use url::Url;

/// What every hidden value prints as: `***`.
pub const MASK: &str = "***";

/// Substrings that make a query parameter's name secret-looking, matched against the name in
/// lower case. See [`is_secret_query_key`].
const SECRET_QUERY_KEYS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "auth",
    "sig",
    "code",
    "session",
    "credential",
];

/// Whether the value of a query parameter (or fragment pair) called `name` is hidden.
///
/// A name is secret-looking when, in lower case, it contains one of `key`, `token`, `secret`,
/// `password`, `passwd`, `auth`, `sig`, `code`, `session` or `credential`. So `api_key`,
/// `apiKey`, `access_token`, `X-Amz-Signature`, `sig`, `code`, `sessionId` and `session_id`
/// (the legacy SSE transport's session) are hidden. Matching substrings errs on the side of
/// hiding: `keyword` and `author` are hidden too, which costs a log line some detail, never a
/// secret. `page`, `q`, `id` or `limit` are shown.
///
/// ```
/// use mcp_config::redact::is_secret_query_key;
///
/// for name in ["api_key", "apiKey", "token", "X-Amz-Signature", "sessionId", "SESSION_ID", "code"] {
///     assert!(is_secret_query_key(name), "{name}");
/// }
/// for name in ["page", "q", "id", "limit", "format"] {
///     assert!(!is_secret_query_key(name), "{name}");
/// }
/// ```
pub fn is_secret_query_key(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_QUERY_KEYS.iter().any(|s| name.contains(s))
}

/// Prints a URL with its password and secret-looking query values as [`MASK`]; `Debug` prints
/// the same text in quotes.
///
/// ```
/// use mcp_config::redact::RedactedUrl;
/// use url::Url;
///
/// let url = Url::parse("http://127.0.0.1:8000/message?sessionId=4f2a")?;
/// assert_eq!(RedactedUrl(&url).to_string(), "http://127.0.0.1:8000/message?sessionId=***");
/// assert_eq!(format!("{:?}", RedactedUrl(&url)), r#""http://127.0.0.1:8000/message?sessionId=***""#);
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Clone, Copy)]
pub struct RedactedUrl<'a>(pub &'a Url);

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !needs_redaction(self.0) {
            return f.write_str(self.0.as_str());
        }
        let mut copy = self.0.clone();
        redact_url_in_place(&mut copy);
        f.write_str(copy.as_str())
    }
}

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// `url` as text, with its password and secret-looking query values as [`MASK`].
///
/// ```
/// use mcp_config::redact::redact_url;
/// use url::Url;
///
/// let url = Url::parse("https://u:pw@h.example/mcp?token=abc&page=2#access_token=xyz")?;
/// assert_eq!(redact_url(&url), "https://u:***@h.example/mcp?token=***&page=2#access_token=***");
/// let plain = Url::parse("http://127.0.0.1:8000/sse")?;
/// assert_eq!(redact_url(&plain), "http://127.0.0.1:8000/sse");
/// # Ok::<(), url::ParseError>(())
/// ```
pub fn redact_url(url: &Url) -> String {
    RedactedUrl(url).to_string()
}

/// `text`, a URL that may not even parse, with its password and secret-looking query values as
/// [`MASK`]; everything else stays as written (a URL that parses is not normalized, unless the
/// parser finds a secret the text hides in an unusual spelling: then it prints as [`redact_url`]
/// prints it).
///
/// ```
/// use mcp_config::redact::redact_url_text;
///
/// assert_eq!(redact_url_text("http://bot:hunter2@exa mple.com/x?token=abc"), "http://bot:***@exa mple.com/x?token=***");
/// assert_eq!(redact_url_text("https://h.example/sse?session_id=7"), "https://h.example/sse?session_id=***");
/// assert_eq!(redact_url_text("not a url"), "not a url");
/// ```
pub fn redact_url_text(text: &str) -> String {
    let as_text = redact_unparsed(text);
    match Url::parse(text) {
        Err(_) => as_text.into_owned(),
        Ok(url) if !needs_redaction(&url) => text.to_owned(),
        // Redacted as written, unless the parser sees a secret that the text-level pass missed.
        Ok(url) => match Url::parse(&as_text) {
            Ok(shown) if !needs_redaction(&shown) || all_hidden(&shown) => as_text.into_owned(),
            _ => redact_url(&url),
        },
    }
}

/// `text` (a message, an error of another library, a log line) with every `http://` and
/// `https://` URL in it redacted as [`redact_url_text`] does; the rest is unchanged.
///
/// A URL runs from its scheme to the first space, quote, `<`, `>` or backquote; closing
/// punctuation at its end (`)`, `]`, `,`, `.`, `;`, `:`...) is taken as part of the sentence.
///
/// ```
/// use mcp_config::redact::redact_text;
///
/// let message = "GET \"https://u:pw@h.example/sse?sessionId=9\" failed; retry https://h.example/ok.";
/// assert_eq!(redact_text(message), "GET \"https://u:***@h.example/sse?sessionId=***\" failed; retry https://h.example/ok.");
/// ```
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_url_start(rest) {
        out.push_str(&rest[..start]);
        let candidate = &rest[start..];
        let run = candidate.find(ends_url).unwrap_or(candidate.len());
        let trimmed = candidate[..run].trim_end_matches(is_closing_punctuation);
        // Keep at least the scheme, so that a bare "http://" followed by "." moves on.
        let end = trimmed.len().max(candidate.find("://").map_or(0, |i| i + 3)).min(run);
        out.push_str(&redact_url_text(&candidate[..end]));
        rest = &candidate[end..];
    }
    out.push_str(rest);
    out
}

/// Debug-prints a map with every value replaced by `***`.
pub(crate) struct RedactedMap<'a>(pub(crate) &'a BTreeMap<String, String>);

impl fmt::Debug for RedactedMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.keys().map(|k| (k, MASK))).finish()
    }
}

/// Replaces every value of `map` with `***`.
/// `text` with every occurrence of each non-empty value in `values` replaced by `***`,
/// longest values first (so a value containing another is masked whole).
pub(crate) fn mask_values<'t>(text: &'t str, values: &[String]) -> std::borrow::Cow<'t, str> {
    let mut found: Vec<&str> =
        values.iter().map(String::as_str).filter(|v| !v.is_empty() && text.contains(*v)).collect();
    if found.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    found.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_owned();
    for value in found {
        out = out.replace(value, MASK);
    }
    std::borrow::Cow::Owned(out)
}

pub(crate) fn redact_values(map: &mut BTreeMap<String, String>) {
    for value in map.values_mut() {
        MASK.clone_into(value);
    }
}

/// Replaces the password, secret-looking query values and secret-looking fragment pairs of
/// `url` with `***`.
pub(crate) fn redact_url_in_place(url: &mut Url) {
    if url.password().is_some() {
        // Only fails for URLs that cannot have credentials, which have no password either.
        let _ = url.set_password(Some(MASK));
    }
    if url.query_pairs().any(|(k, _)| is_secret_query_key(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_query_key(&k) { MASK.to_owned() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if let Some(fragment) = url.fragment()
        && let Cow::Owned(hidden) = redact_pairs(fragment)
    {
        url.set_fragment(Some(&hidden));
    }
}

/// Whether every secret of `url` already reads [`MASK`].
fn all_hidden(url: &Url) -> bool {
    url.password().is_none_or(|p| p == MASK)
        && url.query_pairs().all(|(k, v)| !is_secret_query_key(&k) || v == MASK)
        && url.fragment().is_none_or(|f| {
            url::form_urlencoded::parse(f.as_bytes())
                .all(|(k, v)| !is_secret_query_key(&k) || v == MASK)
        })
}

fn needs_redaction(url: &Url) -> bool {
    url.password().is_some()
        || url.query_pairs().any(|(k, _)| is_secret_query_key(&k))
        || url.fragment().is_some_and(|f| matches!(redact_pairs(f), Cow::Owned(_)))
}

/// `name=value&...` with the values of secret-looking names as [`MASK`], the rest as written.
fn redact_pairs(pairs: &str) -> Cow<'_, str> {
    let secret = |pair: &str| {
        let name = pair.split_once('=').map(|(name, _)| name);
        name.is_some_and(|name| {
            url::form_urlencoded::parse(name.as_bytes())
                .next()
                .is_some_and(|(name, _)| is_secret_query_key(&name))
        })
    };
    if !pairs.split('&').any(secret) {
        return Cow::Borrowed(pairs);
    }
    let hidden: Vec<Cow<'_, str>> = pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secret(pair) => Cow::Owned(format!("{name}={MASK}")),
            _ => Cow::Borrowed(pair),
        })
        .collect();
    Cow::Owned(hidden.join("&"))
}

/// Redaction of a URL the parser refuses: found by its punctuation alone.
fn redact_unparsed(text: &str) -> Cow<'_, str> {
    let Some(scheme_end) = text.find("://").map(|i| i + 3) else { return Cow::Borrowed(text) };
    let rest = &text[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => {
                Cow::Owned(format!("{}:{MASK}{}", &rest[..colon], &rest[at..authority_end]))
            }
            None => Cow::Borrowed(&rest[..authority_end]),
        },
        None => Cow::Borrowed(&rest[..authority_end]),
    };
    let tail = &rest[authority_end..];
    let (before_fragment, fragment) = match tail.find('#') {
        Some(hash) => (&tail[..hash], Some(&tail[hash + 1..])),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.find('?') {
        Some(q) => (&before_fragment[..q], Some(&before_fragment[q + 1..])),
        None => (before_fragment, None),
    };
    let query = query.map(redact_pairs);
    let fragment = fragment.map(redact_pairs);
    let unchanged = matches!(authority, Cow::Borrowed(_))
        && !matches!(query, Some(Cow::Owned(_)))
        && !matches!(fragment, Some(Cow::Owned(_)));
    if unchanged {
        return Cow::Borrowed(text);
    }
    let mut out = format!("{}{authority}{path}", &text[..scheme_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(&query);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&fragment);
    }
    Cow::Owned(out)
}

/// Where the next `http://` or `https://` (any case) starts in `text`.
fn find_url_start(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let http = lower.find("http://");
    let https = lower.find("https://");
    match (http, https) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Characters that end a URL written in free text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// Punctuation that, at the end of a URL in free text, belongs to the sentence.
fn is_closing_punctuation(c: char) -> bool {
    matches!(c, ')' | ']' | '}' | ',' | '.' | ';' | ':' | '!' | '?')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn url_password_and_secret_query_values_are_hidden() {
        let url = url("https://user:pw@example.com/mcp?api_key=abc&page=2");
        let shown = RedactedUrl(&url).to_string();
        assert_eq!(shown, "https://user:***@example.com/mcp?api_key=***&page=2");
        assert_eq!(redact_url(&url), shown);
        assert_eq!(format!("{:?}", RedactedUrl(&url)), format!("\"{shown}\""));
    }

    #[test]
    fn legacy_sse_session_ids_are_hidden() {
        for name in ["sessionId", "session_id", "SESSIONID", "Session-Id", "mcp-session-id"] {
            let shown = redact_url(&url(&format!("http://127.0.0.1:1/message?{name}=4f2a9c")));
            assert!(!shown.contains("4f2a9c"), "{name}: {shown}");
            assert!(shown.ends_with(&format!("{name}={MASK}")), "{name}: {shown}");
        }
    }

    #[test]
    fn the_secret_key_list_matches_substrings_ignoring_case() {
        for name in [
            "api_key",
            "apiKey",
            "X-API-KEY",
            "token",
            "access_token",
            "client_secret",
            "password",
            "passwd",
            "auth",
            "Authorization",
            "sig",
            "X-Amz-Signature",
            "code",
            "sessionId",
            "session_id",
            "credentials",
        ] {
            assert!(is_secret_query_key(name), "{name} should be hidden");
        }
        for name in ["page", "q", "query", "id", "limit", "format", "v", "lang", "search"] {
            assert!(!is_secret_query_key(name), "{name} should be shown");
        }
    }

    #[test]
    fn secret_fragment_pairs_are_hidden() {
        let shown = redact_url(&url("https://h.example/cb#access_token=xyz&state=ok"));
        assert_eq!(shown, "https://h.example/cb#access_token=***&state=ok");
        let plain = url("https://h.example/docs#section-2");
        assert_eq!(redact_url(&plain), "https://h.example/docs#section-2");
    }

    #[test]
    fn plain_urls_print_unchanged() {
        let url = url("http://127.0.0.1:8000/sse");
        assert_eq!(RedactedUrl(&url).to_string(), "http://127.0.0.1:8000/sse");
    }

    #[test]
    fn unparsable_url_text_hides_its_password_and_secret_values() {
        assert_eq!(
            redact_url_text("http://bot:hunter2@exa mple.com/x"),
            "http://bot:***@exa mple.com/x"
        );
        assert_eq!(
            redact_url_text("http://exa mple.com/x?a=1&token=abc&b#sig=s"),
            "http://exa mple.com/x?a=1&token=***&b#sig=***"
        );
        assert_eq!(redact_url_text("not a url"), "not a url");
        assert_eq!(redact_url_text("http://host/a@b:c"), "http://host/a@b:c");
        assert_eq!(redact_url_text("http://[::1/x?key=k"), "http://[::1/x?key=***");
    }

    #[test]
    fn url_text_that_parses_is_kept_as_written() {
        assert_eq!(redact_url_text("HTTP://Example.COM/x"), "HTTP://Example.COM/x");
        assert_eq!(
            redact_url_text("https://h.example/mcp?token=abc&v=${"),
            "https://h.example/mcp?token=***&v=${"
        );
        // A key the text pass cannot read (the parser drops tabs and newlines): the parser wins.
        assert_eq!(
            redact_url_text("https://h.example/?to\nken=abc"),
            "https://h.example/?token=***"
        );
        assert_eq!(
            redact_url_text("ftp://u:pw@h.example/f?token=t"),
            "ftp://u:***@h.example/f?token=***"
        );
    }

    #[test]
    fn urls_in_free_text_are_redacted_and_the_rest_is_kept() {
        assert_eq!(
            redact_text("error sending request for url (https://u:pw@h.example/mcp?token=abc)"),
            "error sending request for url (https://u:***@h.example/mcp?token=***)"
        );
        assert_eq!(
            redact_text("two: http://a/?key=1, HTTPS://b/?sig=2. done"),
            "two: http://a/?key=***, HTTPS://b/?sig=***. done"
        );
        assert_eq!(
            redact_text("quoted 'http://h/x?sessionId=s'"),
            "quoted 'http://h/x?sessionId=***'"
        );
        assert_eq!(redact_text("no url here: token=abc"), "no url here: token=abc");
        assert_eq!(redact_text("bare http:// and https://."), "bare http:// and https://.");
        assert_eq!(
            redact_text("ünïcode http://h/?code=c ünïcode"),
            "ünïcode http://h/?code=*** ünïcode"
        );
        assert_eq!(redact_text(""), "");
    }

    #[test]
    fn a_secret_after_closing_punctuation_inside_a_url_is_still_hidden() {
        // `)` inside the URL does not end it: only at its very end is it the sentence's.
        assert_eq!(redact_text("(see http://h/a)b?token=t)"), "(see http://h/a)b?token=***)");
    }
}
