//! Labelled examples for the semantic stage: requests a tool served, so that a new request near
//! one of them points at that tool.

/// How much a [`HybridRouter`](super::HybridRouter)'s examples count
/// ([`HybridRouter::add_example`](super::HybridRouter::add_example)).
///
/// With examples, each tool's fused score (lexical and semantic, over its best) becomes
/// `(1 − nearest − votes) × fused + nearest × n + votes × v`, where `n` is the cosine similarity
/// of the request and the tool's nearest example, rescaled to [0, 1] over the tools that have
/// examples (0 for a tool without), and `v` the sum of the similarities of the request's `k`
/// nearest examples that are the tool's, over the best such sum. A router without examples
/// ranks as before.
///
/// ```
/// use agent_core::ExampleWeights;
///
/// assert_eq!(ExampleWeights::default(), ExampleWeights::new(0.3, 0.15, 5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ExampleWeights {
    /// The share of the nearest example's similarity.
    pub nearest: f64,
    /// The share of the votes of the `k` nearest examples.
    pub votes: f64,
    /// How many of the nearest examples vote.
    pub k: usize,
}

impl ExampleWeights {
    /// Shares `nearest` and `votes` (each clamped to [0, 1], their sum to 1) and `k` voters.
    pub fn new(nearest: f64, votes: f64, k: usize) -> Self {
        Self { nearest, votes, k }
    }

    /// The shares, clamped: each in [0, 1], and `votes` cut so that they sum to 1 at most.
    fn shares(self) -> (f64, f64) {
        let nearest = if self.nearest.is_finite() { self.nearest.clamp(0.0, 1.0) } else { 0.0 };
        let votes = if self.votes.is_finite() { self.votes.clamp(0.0, 1.0) } else { 0.0 };
        (nearest, votes.min(1.0 - nearest))
    }

    /// Mixes the examples into `fused` (one score per tool, in the index's order). `twins` gives
    /// each tool's twin (a tool listed twice counts once), `examples` each example's tool and its
    /// similarity to the request. Returns, per tool, its nearest example (an index into
    /// `examples`), if any.
    pub(super) fn mix(
        self,
        fused: &mut [f64],
        twins: &[usize],
        examples: &[(usize, f64)],
    ) -> Vec<Option<usize>> {
        let n = fused.len();
        let mut nearest: Vec<Option<usize>> = vec![None; n];
        if examples.is_empty() || twins.len() != n {
            return nearest;
        }
        let mut votes = vec![0.0_f64; n];
        for (i, &(doc, similarity)) in examples.iter().enumerate() {
            let Some(&twin) = twins.get(doc) else { continue };
            if nearest[twin].is_none_or(|best| examples[best].1 < similarity) {
                nearest[twin] = Some(i);
            }
        }
        let mut order: Vec<usize> = (0..examples.len()).collect();
        order.sort_by(|&a, &b| examples[b].1.total_cmp(&examples[a].1).then(a.cmp(&b)));
        for &i in order.iter().take(self.k) {
            let (doc, similarity) = examples[i];
            if let Some(&twin) = twins.get(doc) {
                votes[twin] += similarity.max(0.0);
            }
        }
        let (low, high) = nearest
            .iter()
            .flatten()
            .map(|&i| examples[i].1)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), c| (l.min(c), h.max(c)));
        let most_votes = votes.iter().copied().fold(0.0_f64, f64::max);
        let best = fused.iter().copied().filter(|f| f.is_finite()).fold(0.0_f64, f64::max);
        let (near_share, vote_share) = self.shares();
        for (doc, score) in fused.iter_mut().enumerate() {
            let twin = twins[doc];
            let near = nearest[twin].map_or(0.0, |i| {
                if high > low { (examples[i].1 - low) / (high - low) } else { 1.0 }
            });
            let vote = if most_votes > 0.0 { votes[twin] / most_votes } else { 0.0 };
            let base = if best > 0.0 { *score / best } else { 0.0 };
            *score = (1.0 - near_share - vote_share) * base + near_share * near + vote_share * vote;
        }
        (0..n).map(|doc| nearest[twins[doc]]).collect()
    }
}

impl Default for ExampleWeights {
    /// `nearest` 0.3, `votes` 0.15, `k` 5: chosen with all-mpnet-base-v2 over the 696 labelled
    /// requests of `tests/data` (ids 0–695), each split's requests ranked with the other splits'
    /// as examples (docs/agents.md, "Routing").
    fn default() -> Self {
        Self { nearest: 0.3, votes: 0.15, k: 5 }
    }
}

/// A request a tool served, as given to
/// [`HybridRouter::add_example`](super::HybridRouter::add_example).
#[derive(Debug, Clone)]
pub(super) struct Example {
    pub(super) server: String,
    pub(super) tool: String,
    pub(super) text: String,
}

/// Why [`HybridRouter::add_example`](super::HybridRouter::add_example) refused an example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExampleError {
    /// The router has no such tool.
    #[error(
        "no tool {tool:?} on server {server:?}: add the server's tools to the router before its \
         examples"
    )]
    UnknownTool {
        /// The server named.
        server: String,
        /// The tool named.
        tool: String,
    },
    /// The request is empty or only whitespace: there is nothing to compare a request with.
    #[error(
        "the example for {tool:?} on server {server:?} has no text: give the request it served"
    )]
    Empty {
        /// The server named.
        server: String,
        /// The tool named.
        tool: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_mix_nearest_and_votes_into_the_fused_scores() {
        // Three tools; tools 1 and 2 are twins (one tool listed twice); tool 0 has no example.
        let twins = [0, 1, 1];
        let mut fused = vec![0.8, 0.4, 0.4];
        // Examples: two of tool 1 (0.9 and 0.5), one of its twin 2 (0.7).
        let examples = [(1, 0.9), (1, 0.5), (2, 0.7)];
        let nearest = ExampleWeights::new(0.3, 0.2, 2).mix(&mut fused, &twins, &examples);
        assert_eq!(nearest, [None, Some(0), Some(0)]);
        // Base over its best (0.8); nearest: only tool 1's group has examples, so 1; votes: the
        // two nearest (0.9 and 0.7) are both the group's.
        let want = [0.5 * 1.0, 0.5 * 0.5 + 0.3 + 0.2, 0.5 * 0.5 + 0.3 + 0.2];
        for (got, want) in fused.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{fused:?}");
        }
    }

    #[test]
    fn no_examples_leave_the_scores_alone() {
        let mut fused = vec![0.8, 0.4];
        let nearest = ExampleWeights::default().mix(&mut fused, &[0, 1], &[]);
        assert_eq!(fused, [0.8, 0.4]);
        assert_eq!(nearest, [None, None]);
    }

    #[test]
    fn shares_are_clamped() {
        assert_eq!(ExampleWeights::new(2.0, 0.5, 1).shares(), (1.0, 0.0));
        let (nearest, votes) = ExampleWeights::new(0.7, 0.5, 1).shares();
        assert!(nearest == 0.7 && (votes - 0.3).abs() < 1e-12, "{votes}");
        assert_eq!(ExampleWeights::new(f64::NAN, -1.0, 1).shares(), (0.0, 0.0));
    }
}
