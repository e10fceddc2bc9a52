//! [`WikipediaApi`]: Wikipedia's MediaWiki action API (`/w/api.php`) and REST API
//! (`/api/rest_v1/`), over HTTP.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::http::{Failure, Fetcher};

/// Why a Wikipedia request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WikipediaError {
    /// The request could not be made.
    #[error("cannot reach Wikipedia at {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Wikipedia answered with an error status.
    #[error("Wikipedia answered HTTP {status} for {url}{}", if *status == 429 { "; it limits request rates: wait and try again" } else { "" })]
    Http {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The answer was not the expected format.
    #[error("Wikipedia's answer could not be read: {0}")]
    Malformed(String),
    /// No article has this title.
    #[error("Wikipedia has no article titled {0:?}; search_wikipedia finds the exact titles")]
    NotFound(String),
    /// The input cannot be asked for.
    #[error("{0}")]
    Invalid(String),
    /// The HTTP client could not be set up (its message says why; it is not also the source).
    #[error("cannot set up the HTTP client for Wikipedia: {0}")]
    Client(mcp_session::HttpClientError),
}

/// One search hit.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Hit {
    /// The article's title.
    pub title: String,
    /// A piece of the article around the match, as plain text.
    pub snippet: String,
    /// The article's id.
    pub pageid: u64,
}

/// An article's summary (the REST API's `page/summary`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// The title.
    pub title: String,
    /// The one-line description, if any.
    pub description: Option<String>,
    /// The first paragraph, as plain text.
    pub extract: String,
    /// The article's address.
    pub url: Option<String>,
}

/// A day's featured content (the REST API's `feed/featured`): what "the latest news" means.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Featured {
    /// Today's featured article.
    pub featured_article: Option<Summary>,
    /// In the news: one line per story, as plain text.
    pub in_the_news: Vec<String>,
    /// On this day: `YEAR: event` lines.
    pub on_this_day: Vec<String>,
}

/// A client of Wikipedia in one language.
#[derive(Clone, Debug)]
pub struct WikipediaApi {
    base: Url,
    fetcher: Fetcher,
}

impl WikipediaApi {
    /// The real Wikipedia in `language` (such as `en`): `https://LANGUAGE.wikipedia.org`.
    ///
    /// # Errors
    /// [`WikipediaError::Invalid`] for a language code that is not one, or
    /// [`WikipediaError::Client`] when the HTTP client cannot be built.
    pub fn live(language: &str, min_interval: Duration) -> Result<Self, WikipediaError> {
        let valid = !language.is_empty()
            && language.len() <= 12
            && language.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        if !valid {
            return Err(WikipediaError::Invalid(format!(
                "{language:?} is not a Wikipedia language code (such as en, de or simple)"
            )));
        }
        let base = Url::parse(&format!("https://{language}.wikipedia.org/"))
            .map_err(|err| WikipediaError::Invalid(err.to_string()))?;
        WikipediaApi::at(base, min_interval)
    }

    /// A Wikipedia whose `/w/api.php` and `/api/rest_v1/` are under `base` (our fixture server).
    /// Redirects are followed.
    ///
    /// # Errors
    /// [`WikipediaError::Client`] when the HTTP client cannot be built.
    pub fn at(base: Url, min_interval: Duration) -> Result<Self, WikipediaError> {
        let fetcher = Fetcher::new(min_interval).map_err(WikipediaError::Client)?;
        Ok(WikipediaApi { base, fetcher })
    }

    /// Articles matching `query`, best first.
    ///
    /// # Errors
    /// [`WikipediaError`] when Wikipedia cannot be reached, refuses, or answers with something else.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<Hit>, WikipediaError> {
        #[derive(Deserialize)]
        struct Answer {
            query: Query,
        }
        #[derive(Deserialize)]
        struct Query {
            search: Vec<Hit>,
        }
        let mut url = self.url("w/api.php")?;
        url.query_pairs_mut()
            .append_pair("action", "query")
            .append_pair("list", "search")
            .append_pair("srsearch", query)
            .append_pair("srlimit", &limit.clamp(1, 50).to_string())
            .append_pair("format", "json")
            .append_pair("formatversion", "2");
        let answer: Answer = self.get_json(url).await?;
        Ok(answer
            .query
            .search
            .into_iter()
            .map(|hit| Hit { snippet: crate::arxiv::api::html_text(&hit.snippet), ..hit })
            .collect())
    }

    /// The summary of the article titled `title`.
    ///
    /// # Errors
    /// [`WikipediaError::NotFound`], or a request failure.
    pub async fn summary(&self, title: &str) -> Result<Summary, WikipediaError> {
        let title = checked_title(title)?;
        let mut url = self.url("api/rest_v1/page/summary/")?;
        url.path_segments_mut()
            .map_err(|()| WikipediaError::Malformed("the API base cannot hold a path".into()))?
            .pop_if_empty()
            .push(&title.replace(' ', "_"));
        match self.get_json::<Value>(url).await {
            Err(WikipediaError::Http { status: 404, .. }) => {
                Err(WikipediaError::NotFound(title.to_owned()))
            }
            Err(err) => Err(err),
            Ok(page) => summary_of(&page)
                .ok_or_else(|| WikipediaError::Malformed("a summary without a title".into())),
        }
    }

    /// The plain text of the article titled `title` (following redirects).
    ///
    /// # Errors
    /// [`WikipediaError::NotFound`], or a request failure.
    pub async fn article(&self, title: &str) -> Result<(String, String), WikipediaError> {
        let title = checked_title(title)?;
        let mut url = self.url("w/api.php")?;
        url.query_pairs_mut()
            .append_pair("action", "query")
            .append_pair("prop", "extracts")
            .append_pair("explaintext", "1")
            .append_pair("redirects", "1")
            .append_pair("titles", title)
            .append_pair("format", "json")
            .append_pair("formatversion", "2");
        let answer: Value = self.get_json(url).await?;
        let page = answer["query"]["pages"]
            .get(0)
            .ok_or_else(|| WikipediaError::Malformed("no pages in the answer".into()))?;
        if page["missing"].as_bool() == Some(true) || page["invalid"].as_bool() == Some(true) {
            return Err(WikipediaError::NotFound(title.to_owned()));
        }
        let found = page["title"].as_str().unwrap_or(title).to_owned();
        let text = page["extract"]
            .as_str()
            .ok_or_else(|| WikipediaError::Malformed("a page without an extract".into()))?;
        Ok((found, text.to_owned()))
    }

    /// The featured content of a day (`year`, `month`, `day`).
    ///
    /// # Errors
    /// A request failure, or a date Wikipedia has no feed for.
    pub async fn featured(
        &self,
        year: u16,
        month: u8,
        day: u8,
    ) -> Result<Featured, WikipediaError> {
        let url = self.url(&format!("api/rest_v1/feed/featured/{year:04}/{month:02}/{day:02}"))?;
        let feed: Value = self.get_json(url).await?;
        let mut featured =
            Featured { featured_article: summary_of(&feed["tfa"]), ..Featured::default() };
        for story in feed["news"].as_array().into_iter().flatten() {
            let text = crate::arxiv::api::html_text(story["story"].as_str().unwrap_or(""));
            let text = text.trim();
            if !text.is_empty() {
                featured.in_the_news.push(text.to_owned());
            }
        }
        for event in feed["onthisday"].as_array().into_iter().flatten() {
            if let (Some(year), Some(text)) = (event["year"].as_i64(), event["text"].as_str()) {
                featured.on_this_day.push(format!("{year}: {text}"));
            }
        }
        Ok(featured)
    }

    fn url(&self, path: &str) -> Result<Url, WikipediaError> {
        crate::http::join(&self.base, path)
            .map_err(|err| WikipediaError::Malformed(err.to_string()))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<T, WikipediaError> {
        let text = self.fetcher.get_text(url).await.map_err(|failure| match failure {
            Failure::Connect { url, reason } => WikipediaError::Connect { url, reason },
            Failure::Status { url, status } => WikipediaError::Http { url, status },
        })?;
        serde_json::from_str(&text).map_err(|err| WikipediaError::Malformed(err.to_string()))
    }
}

/// A page summary object of the REST API (also the feed's `tfa`).
fn summary_of(page: &Value) -> Option<Summary> {
    let title = page["titles"]["normalized"]
        .as_str()
        .or_else(|| page["normalizedtitle"].as_str())
        .or_else(|| page["title"].as_str())?
        .replace('_', " ");
    Some(Summary {
        title,
        description: page["description"].as_str().map(str::to_owned),
        extract: page["extract"].as_str().unwrap_or("").to_owned(),
        url: page["content_urls"]["desktop"]["page"].as_str().map(str::to_owned),
    })
}

/// `title` if it can be a Wikipedia title (not empty, no characters titles may not hold).
fn checked_title(title: &str) -> Result<&str, WikipediaError> {
    let title = title.trim();
    let bad = title.is_empty()
        || title.len() > 255
        || title
            .chars()
            .any(|c| matches!(c, '#' | '<' | '>' | '[' | ']' | '{' | '}' | '|') || c.is_control());
    if bad {
        return Err(WikipediaError::Invalid(format!(
            "{title:?} cannot be a Wikipedia title; search_wikipedia finds the exact titles"
        )));
    }
    Ok(title)
}
