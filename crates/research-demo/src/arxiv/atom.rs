//! The arXiv API's Atom feed, parsed into [`Paper`]s.
//!
//! The API (`/api/query`) answers every query with an Atom 1.0 feed: one `<entry>` per paper,
//! with `opensearch:` counts and `arxiv:` extensions. See arXiv's API user manual.

use serde::Deserialize;

/// One paper of a feed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Paper {
    /// The arXiv id with its version, such as `2611.01234v1`.
    pub id: String,
    /// The title, on one line.
    pub title: String,
    /// The abstract, on one line.
    pub summary: String,
    /// The authors' names, in order.
    pub authors: Vec<String>,
    /// When the first version appeared (RFC 3339).
    pub published: String,
    /// When this version appeared (RFC 3339).
    pub updated: String,
    /// The primary category first, then the others.
    pub categories: Vec<String>,
    /// The PDF's URL.
    pub pdf_url: Option<String>,
}

/// A parsed feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// How many papers match the query in all (`opensearch:totalResults`).
    pub total_results: u64,
    /// The papers of this page.
    pub papers: Vec<Paper>,
}

#[derive(Deserialize)]
struct RawFeed {
    #[serde(rename = "totalResults", default)]
    total_results: Option<String>,
    #[serde(rename = "entry", default)]
    entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    published: String,
    #[serde(default)]
    updated: String,
    #[serde(rename = "author", default)]
    authors: Vec<RawAuthor>,
    #[serde(rename = "link", default)]
    links: Vec<RawLink>,
    #[serde(rename = "primary_category", default)]
    primary_category: Option<RawCategory>,
    #[serde(rename = "category", default)]
    categories: Vec<RawCategory>,
}

#[derive(Deserialize)]
struct RawAuthor {
    name: String,
}

#[derive(Deserialize)]
struct RawLink {
    #[serde(rename = "@href")]
    href: String,
    #[serde(rename = "@title", default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct RawCategory {
    #[serde(rename = "@term")]
    term: String,
}

/// Why a text is not an arXiv feed.
#[derive(Debug, thiserror::Error)]
#[error("not an arXiv Atom feed: {reason}")]
#[non_exhaustive]
pub struct FeedError {
    /// What the XML reader found wrong.
    pub reason: String,
}

/// Parses a feed.
///
/// # Errors
/// [`FeedError`], saying what is wrong, when the text is not an Atom feed of arXiv's shape.
pub fn parse(xml: &str) -> Result<Feed, FeedError> {
    let raw: RawFeed =
        quick_xml::de::from_str(xml).map_err(|err| FeedError { reason: err.to_string() })?;
    let total_results =
        raw.total_results.and_then(|t| t.trim().parse().ok()).unwrap_or(raw.entries.len() as u64);
    let papers = raw
        .entries
        .into_iter()
        // The API reports a bad query as a single entry whose id is its error page.
        .filter(|entry| !entry.id.contains("/api/errors"))
        .map(|entry| {
            let mut categories: Vec<String> =
                entry.primary_category.map(|c| c.term).into_iter().collect();
            for category in entry.categories {
                if !categories.contains(&category.term) {
                    categories.push(category.term);
                }
            }
            Paper {
                id: entry.id.rsplit("/abs/").next().unwrap_or(&entry.id).to_owned(),
                title: one_line(&entry.title),
                summary: one_line(&entry.summary),
                authors: entry.authors.into_iter().map(|a| a.name).collect(),
                published: entry.published,
                updated: entry.updated,
                categories,
                pdf_url: entry
                    .links
                    .into_iter()
                    .find(|l| l.title.as_deref() == Some("pdf"))
                    .map(|l| l.href),
            }
        })
        .collect();
    Ok(Feed { total_results, papers })
}

/// Whitespace runs (the API wraps long titles and abstracts) as single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = include_str!("../../fixtures/arxiv/query_large_language_models.xml");

    #[test]
    fn parses_the_recorded_shape() {
        let feed = parse(FEED).unwrap();
        assert_eq!(feed.total_results, 48213);
        assert_eq!(feed.papers.len(), 3);
        let first = &feed.papers[0];
        assert_eq!(first.id, "2611.01234v1");
        assert_eq!(first.title, "Scaling Laws for Tool-Using Large Language Models");
        assert!(first.summary.starts_with("We study how the ability of large language models"));
        assert!(!first.summary.contains('\n'));
        assert_eq!(first.authors, ["Ada Lovelace", "Alan Turing"]);
        assert_eq!(first.categories, ["cs.CL", "cs.AI"]);
        assert_eq!(first.pdf_url.as_deref(), Some("http://arxiv.org/pdf/2611.01234v1"));
        assert_eq!(first.published, "2026-11-20T18:02:11Z");
        assert_eq!(
            feed.papers[1].title,
            "Retrieval-Augmented Agents: A Survey of Memory for Large Language Models"
        );
        assert_eq!(feed.papers[2].categories, ["cs.LG", "cs.CL"]);
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(
            parse("<feed><entry>").unwrap_err().to_string().starts_with("not an arXiv Atom feed")
        );
        assert!(parse("{\"json\": true}").is_err());
    }

    #[test]
    fn an_empty_feed_has_no_papers() {
        let empty = r#"<feed xmlns="http://www.w3.org/2005/Atom"><opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:totalResults></feed>"#;
        assert_eq!(parse(empty).unwrap(), Feed { total_results: 0, papers: Vec::new() });
    }
}
