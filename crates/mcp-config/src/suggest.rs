//! "Did you mean …?" suggestions.

/// The candidate closest to `word`, if any is close enough to be a likely typo.
///
/// Case is ignored; a candidate qualifies within an edit distance of a third of `word`'s length
/// (at least 1), or when one contains the other.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let distance = edit_distance(&word_lower, &lower);
            let contains = word_lower.len() >= 3
                && (lower.contains(&word_lower) || word_lower.contains(&lower));
            (distance <= limit || contains).then_some((distance, candidate))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_case_slips_and_fragments() {
        let names = ["ArxivServer", "WikipediaServer"];
        assert_eq!(closest("ArxivServr", names), Some("ArxivServer"));
        assert_eq!(closest("arxivserver", names), Some("ArxivServer"));
        assert_eq!(closest("wikipedia", names), Some("WikipediaServer"));
        assert_eq!(closest("Github", names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
