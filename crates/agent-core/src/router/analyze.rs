//! Text analysis: words from names and prose, stop words, stemming and compound splitting.

use std::collections::HashSet;
use std::fmt;

use rust_stemmers::{Algorithm, Stemmer};

/// One indexed or requested word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    /// The chunk of text the word came from, as written (`get_current_time`, `Papers`).
    pub(super) surface: String,
    /// The lowercase word (`papers`).
    pub(super) word: String,
    /// The index term: the lowercase word, stemmed in the lexical model.
    pub(super) term: String,
}

/// How text becomes terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Split identifiers (snake_case, camelCase, kebab-case, dotted), stem, split compounds.
    Lexical,
    /// Split on anything that is not a letter or digit; nothing else (the BM25 baseline).
    Plain,
}

/// Turns text into [`Token`]s.
pub(super) struct Analyzer {
    mode: Mode,
    stemmer: Stemmer,
    /// Words known as words of their own, for splitting compounds such as `timezone`.
    vocabulary: HashSet<String>,
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("mode", &self.mode)
            .field("vocabulary", &self.vocabulary.len())
            .finish_non_exhaustive()
    }
}

impl Analyzer {
    pub(super) fn new(mode: Mode) -> Self {
        Self { mode, stemmer: Stemmer::create(Algorithm::English), vocabulary: HashSet::new() }
    }

    pub(super) fn mode(&self) -> Mode {
        self.mode
    }

    /// Learns the words of `text` as words that compounds may be made of.
    pub(super) fn learn(&mut self, text: &str) {
        if self.mode == Mode::Plain {
            return;
        }
        for_each_word(text, self.mode, |_, word| {
            if word.len() >= MIN_PART && is_ascii_alpha(word) && !is_stop_word(word) {
                self.vocabulary.insert(word.to_owned());
            }
        });
    }

    /// Appends the tokens of `text` to `out`.
    pub(super) fn analyze(&self, text: &str, out: &mut Vec<Token>) {
        self.analyze_with(text, out, |word| self.stem(word));
    }

    fn analyze_with(&self, text: &str, out: &mut Vec<Token>, mut stem: impl FnMut(&str) -> String) {
        for_each_word(text, self.mode, |surface, word| {
            if is_stop_word(word) || word.chars().count() < 2 {
                return;
            }
            out.push(Token {
                surface: surface.to_owned(),
                word: word.to_owned(),
                term: stem(word),
            });
            if self.mode == Mode::Lexical
                && let Some((left, right)) = self.split_compound(word)
            {
                for part in [left, right] {
                    out.push(Token {
                        surface: surface.to_owned(),
                        word: part.to_owned(),
                        term: stem(part),
                    });
                }
            }
        });
    }

    /// The index term of the last word of `text` that is not a stop word (`repo_path`: `path`,
    /// `source_timezone`: `timezon`), compounds left whole.
    pub(super) fn head(&self, text: &str) -> Option<String> {
        let mut last = None;
        for_each_word(text, self.mode, |_, word| {
            if !is_stop_word(word) && word.chars().count() >= 2 {
                last = Some(self.stem(word));
            }
        });
        last
    }

    /// The index term of one lowercase word.
    pub(super) fn stem(&self, word: &str) -> String {
        match self.mode {
            Mode::Lexical if is_ascii_alpha(word) => self.stemmer.stem(word).into_owned(),
            _ => word.to_owned(),
        }
    }

    /// `timezone` → (`time`, `zone`) when both halves are known words: the most even such split.
    fn split_compound<'w>(&self, word: &'w str) -> Option<(&'w str, &'w str)> {
        if word.len() < 2 * MIN_PART || !is_ascii_alpha(word) {
            return None;
        }
        (MIN_PART..=word.len() - MIN_PART)
            .filter(|&at| {
                self.vocabulary.contains(&word[..at]) && self.vocabulary.contains(&word[at..])
            })
            .min_by_key(|&at| at.abs_diff(word.len() / 2))
            .map(|at| (&word[..at], &word[at..]))
    }
}

/// The shortest half of a compound word.
const MIN_PART: usize = 3;

fn is_ascii_alpha(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase())
}

/// Calls `f(surface, lowercase word)` for every word of `text`.
///
/// A chunk is a run of letters, digits and the joiners `_ - . '`, trimmed of joiners at its
/// ends; its words are split at the joiners and, in the lexical mode, at case changes.
fn for_each_word(text: &str, mode: Mode, mut f: impl FnMut(&str, &str)) {
    let mut lowered = String::new();
    for chunk in text.split(|c: char| !(c.is_alphanumeric() || is_joiner(c))) {
        let chunk = chunk.trim_matches(is_joiner);
        if chunk.is_empty() {
            continue;
        }
        for piece in chunk.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()) {
            let mut emit = |word: &str| {
                lowered.clear();
                lowered.extend(word.chars().flat_map(char::to_lowercase));
                f(chunk, &lowered);
            };
            match mode {
                Mode::Plain => emit(piece),
                Mode::Lexical => split_case(piece, &mut emit),
            }
        }
    }
}

fn is_joiner(c: char) -> bool {
    matches!(c, '_' | '-' | '.' | '\'' | '’')
}

/// Splits `getTinyImage` into `get Tiny Image` and `HTTPServer` into `HTTP Server`, but keeps
/// capitalised words with short humps whole (`LaTeX`, `LeCun`, `IDs`): those are names, not
/// identifiers.
fn split_case(piece: &str, emit: &mut impl FnMut(&str)) {
    let chars: Vec<(usize, char)> = piece.char_indices().collect();
    let mut cuts = Vec::new();
    for i in 1..chars.len() {
        let (at, c) = chars[i];
        let prev = chars[i - 1].1;
        let next_lower = chars.get(i + 1).is_some_and(|&(_, n)| n.is_lowercase());
        let boundary = c.is_uppercase()
            && ((prev.is_lowercase() || prev.is_numeric()) || (prev.is_uppercase() && next_lower));
        if boundary {
            cuts.push(at);
        }
    }
    let bounds: Vec<usize> =
        std::iter::once(0).chain(cuts.iter().copied()).chain([piece.len()]).collect();
    let short_hump = bounds.windows(2).any(|w| piece[w[0]..w[1]].chars().count() < MIN_PART);
    if !cuts.is_empty() && short_hump && chars.first().is_some_and(|&(_, c)| c.is_uppercase()) {
        emit(piece);
        return;
    }
    for w in bounds.windows(2) {
        emit(&piece[w[0]..w[1]]);
    }
}

/// Words that say nothing about which tool to use: English function words and the filler of
/// requests ("could you please …").
fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// Sorted, for binary search.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "com",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "eg",
    "etc",
    "everything",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "http",
    "https",
    "i",
    "ie",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "let",
    "me",
    "might",
    "more",
    "most",
    "must",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "nothing",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "please",
    "same",
    "shall",
    "she",
    "should",
    "so",
    "some",
    "something",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "www",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(analyzer: &Analyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        analyzer.analyze(text, &mut out);
        out.into_iter().map(|t| t.term).collect()
    }

    #[test]
    fn stop_words_are_sorted() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn splits_identifiers_and_stems() {
        let analyzer = Analyzer::new(Mode::Lexical);
        assert_eq!(terms(&analyzer, "get_current_time"), ["get", "current", "time"]);
        assert_eq!(terms(&analyzer, "getTinyImage"), ["get", "tini", "imag"]);
        assert_eq!(
            terms(&analyzer, "JSONParser list-files git.log"),
            ["json", "parser", "list", "file", "git", "log"]
        );
        assert_eq!(terms(&analyzer, "Searching the Papers, e.g. this"), ["search", "paper"]);
        assert_eq!(terms(&analyzer, "Zürich 東京 naïve"), ["zürich", "東京", "naïve"]);
    }

    #[test]
    fn plain_mode_only_lowercases_and_splits_on_punctuation() {
        let analyzer = Analyzer::new(Mode::Plain);
        assert_eq!(
            terms(&analyzer, "get_current_time Papers getTinyImage"),
            ["get", "current", "time", "papers", "gettinyimage"]
        );
    }

    #[test]
    fn splits_compounds_of_known_words() {
        let mut analyzer = Analyzer::new(Mode::Lexical);
        analyzer.learn("the time in a zone; file system");
        assert_eq!(terms(&analyzer, "timezone"), ["timezon", "time", "zone"]);
        assert_eq!(terms(&analyzer, "filesystem"), ["filesystem", "file", "system"]);
        assert_eq!(terms(&analyzer, "timetable"), ["timet"]);
    }

    #[test]
    fn surfaces_are_chunks() {
        let analyzer = Analyzer::new(Mode::Lexical);
        let mut out = Vec::new();
        analyzer.analyze("(repo_path).", &mut out);
        assert_eq!(
            out.iter().map(|t| t.surface.as_str()).collect::<Vec<_>>(),
            ["repo_path", "repo_path"]
        );
    }
}
