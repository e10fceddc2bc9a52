//! [`ArxivApi`]: the arXiv API (`/api/query`) and its HTML renderings (`/html/ID`), over HTTP.

use std::time::Duration;

use url::Url;

use crate::http::{Failure, Fetcher};

use super::atom::{self, Feed, Paper};

/// Why an arXiv request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArxivError {
    /// The request could not be made.
    #[error("cannot reach arXiv at {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// arXiv answered with an error status.
    #[error("arXiv answered HTTP {status} for {url}{}", if *status == 429 { "; it limits request rates: wait and try again" } else { "" })]
    Http {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The answer was not the expected format.
    #[error("arXiv's answer could not be read: {0}")]
    Malformed(String),
    /// No paper has this id.
    #[error("no arXiv paper {0}")]
    NotFound(String),
    /// The id is not an arXiv id.
    #[error("{0:?} is not an arXiv id (such as 2401.01234 or 2401.01234v2)")]
    InvalidId(String),
    /// The HTTP client could not be set up (its message says why; it is not also the source).
    #[error("cannot set up the HTTP client for arXiv: {0}")]
    Client(mcp_session::HttpClientError),
}

/// How search results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best matches first.
    #[default]
    Relevance,
    /// Newest first.
    Date,
}

/// A client of the arXiv API. Requests are spaced by at least `min_interval` (arXiv asks for 3 s
/// between requests; tests use 0).
#[derive(Clone, Debug)]
pub struct ArxivApi {
    api_base: Url,
    html_base: Url,
    fetcher: Fetcher,
}

impl ArxivApi {
    /// The real arXiv: the API at `http://export.arxiv.org`, HTML at `https://arxiv.org`
    /// (redirects, such as to `https://`, are followed).
    ///
    /// # Errors
    /// [`ArxivError::Client`] when the HTTP client cannot be built.
    pub fn live(min_interval: Duration) -> Result<Self, ArxivError> {
        let api = Url::parse("http://export.arxiv.org/")
            .map_err(|e| ArxivError::Malformed(e.to_string()))?;
        let html =
            Url::parse("https://arxiv.org/").map_err(|e| ArxivError::Malformed(e.to_string()))?;
        ArxivApi::new(api, html, min_interval)
    }

    /// An API whose `/api/query` and `/html/ID` are both under `base` (our fixture server, or a
    /// mirror).
    ///
    /// # Errors
    /// [`ArxivError::Client`] when the HTTP client cannot be built.
    pub fn at(base: Url, min_interval: Duration) -> Result<Self, ArxivError> {
        ArxivApi::new(base.clone(), base, min_interval)
    }

    fn new(api_base: Url, html_base: Url, min_interval: Duration) -> Result<Self, ArxivError> {
        let fetcher = Fetcher::new(min_interval).map_err(ArxivError::Client)?;
        Ok(ArxivApi { api_base, html_base, fetcher })
    }

    /// Papers matching `query`, optionally only in `categories` (such as `cs.CL`).
    ///
    /// # Errors
    /// [`ArxivError`] when arXiv cannot be reached, refuses, or answers with something else.
    pub async fn search(
        &self,
        query: &str,
        max_results: u32,
        sort: Sort,
        categories: &[String],
    ) -> Result<Feed, ArxivError> {
        let mut search = format!("all:\"{}\"", query.replace('"', " "));
        if !categories.is_empty() {
            let any: Vec<String> = categories.iter().map(|c| format!("cat:{c}")).collect();
            search = format!("({search}) AND ({})", any.join(" OR "));
        }
        let sort_by = match sort {
            Sort::Relevance => "relevance",
            Sort::Date => "submittedDate",
        };
        let mut url = self.join(&self.api_base, "api/query")?;
        url.query_pairs_mut()
            .append_pair("search_query", &search)
            .append_pair("start", "0")
            .append_pair("max_results", &max_results.clamp(1, 50).to_string())
            .append_pair("sortBy", sort_by)
            .append_pair("sortOrder", "descending");
        atom::parse(&self.get_text(url).await?)
            .map_err(|err| ArxivError::Malformed(err.to_string()))
    }

    /// The paper with this id.
    ///
    /// # Errors
    /// [`ArxivError::InvalidId`], [`ArxivError::NotFound`], or a request failure.
    pub async fn paper(&self, id: &str) -> Result<Paper, ArxivError> {
        let id = checked_id(id)?;
        let mut url = self.join(&self.api_base, "api/query")?;
        url.query_pairs_mut().append_pair("id_list", id).append_pair("max_results", "1");
        let feed = atom::parse(&self.get_text(url).await?)
            .map_err(|err| ArxivError::Malformed(err.to_string()))?;
        feed.papers.into_iter().next().ok_or_else(|| ArxivError::NotFound(id.to_owned()))
    }

    /// The paper's HTML rendering (`/html/ID`).
    ///
    /// # Errors
    /// [`ArxivError::InvalidId`], [`ArxivError::NotFound`] (no rendering), or a request failure.
    pub async fn html(&self, id: &str) -> Result<String, ArxivError> {
        let id = checked_id(id)?;
        let url = self.join(&self.html_base, &format!("html/{id}"))?;
        match self.get_text(url).await {
            Err(ArxivError::Http { status: 404, .. }) => Err(ArxivError::NotFound(id.to_owned())),
            other => other,
        }
    }

    fn join(&self, base: &Url, path: &str) -> Result<Url, ArxivError> {
        crate::http::join(base, path).map_err(|err| ArxivError::Malformed(err.to_string()))
    }

    async fn get_text(&self, url: Url) -> Result<String, ArxivError> {
        self.fetcher.get_text(url).await.map_err(|failure| match failure {
            Failure::Connect { url, reason } => ArxivError::Connect { url, reason },
            Failure::Status { url, status } => ArxivError::Http { url, status },
        })
    }
}

/// `id` if it is an arXiv id (new style `2401.01234[v2]` or old style `hep-th/9901001[v1]`):
/// nothing else may reach a URL or a file name.
pub fn checked_id(id: &str) -> Result<&str, ArxivError> {
    let id = id.trim();
    fn digits(s: &str) -> bool {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
    }
    /// The number without its `vN`, and whether the version (if any) is digits.
    fn versioned(s: &str) -> (&str, bool) {
        match s.split_once('v') {
            Some((number, version)) => (number, digits(version)),
            None => (s, true),
        }
    }
    let new_style = || {
        let (number, version_ok) = versioned(id);
        let (year_month, serial) = number.split_once('.').unwrap_or(("", ""));
        version_ok
            && year_month.len() == 4
            && digits(year_month)
            && (4..=5).contains(&serial.len())
            && digits(serial)
    };
    let old_style = || {
        let Some((archive, rest)) = id.split_once('/') else { return false };
        let (number, version_ok) = versioned(rest);
        version_ok
            && archive.starts_with(|c: char| c.is_ascii_alphabetic())
            && archive
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'.' || b.is_ascii_uppercase())
            && number.len() == 7
            && digits(number)
    };
    if new_style() || old_style() { Ok(id) } else { Err(ArxivError::InvalidId(id.to_owned())) }
}

/// The readable text of an HTML page: no tags, scripts or styles; common entities decoded;
/// whitespace collapsed, with paragraph breaks kept.
pub fn html_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let after = &rest[open..];
        let lower = after.get(..8).unwrap_or(after).to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") {
            after.to_ascii_lowercase().find("</script>").map(|i| i + 9)
        } else if lower.starts_with("<style") {
            after.to_ascii_lowercase().find("</style>").map(|i| i + 8)
        } else {
            after.find('>').map(|i| i + 1)
        };
        let Some(skip) = skip_to else { break };
        let tag = &after[..skip].to_ascii_lowercase();
        let block =
            ["<p", "</p", "<h1", "<h2", "<h3", "<h6", "</h", "<div", "<br", "<section", "<li"];
        text.push_str(if block.iter().any(|b| tag.starts_with(b)) { "\n" } else { " " });
        rest = &after[skip..];
    }
    text.push_str(rest);
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&minus;", "-")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        for good in [
            "2401.01234",
            "2401.01234v2",
            "2611.00456v1",
            "0704.0001",
            "hep-th/9901001",
            "math.GT/0309136v1",
        ] {
            assert!(checked_id(good).is_ok(), "{good}");
        }
        for bad in [
            "../../etc/passwd",
            "2401.01234/../x",
            "2401",
            "2401.1",
            "abc",
            "2401.01234v",
            "a/b/c",
            "../9901001",
            "./9901001v1",
            "",
        ] {
            assert!(matches!(checked_id(bad), Err(ArxivError::InvalidId(_))), "{bad}");
        }
    }

    #[test]
    fn html_becomes_text() {
        let html = include_str!("../../fixtures/arxiv/html/2611.01234v1.html");
        let text = html_text(html);
        assert!(text.starts_with("Scaling Laws for Tool-Using Large Language Models\n"), "{text}");
        assert!(
            text.contains("with an exponent of -0.31 & little variation across families."),
            "{text}"
        );
        assert!(!text.contains('<'));
        assert_eq!(html_text("<p>a<script>var x = '<p>';</script>b</p>"), "a b");
    }
}
