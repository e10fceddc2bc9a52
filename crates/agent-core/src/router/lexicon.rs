//! The built-in synonyms: a short list of general-English equivalences.
//!
//! Each group lists words that a request may use for the same thing a tool's text says in other
//! words. The list is general English (no server's vocabulary): the catalog-mined associations
//! cover the words of a particular catalog.

/// Groups of interchangeable words; every word of a group expands to the others.
pub(super) const GROUPS: &[&[&str]] = &[
    &["find", "search", "lookup", "look", "query", "seek", "locate"],
    &["paper", "article", "publication", "preprint", "study"],
    &["article", "page"],
    &["commit", "change", "revision"],
    &["remember", "save", "store", "memorize", "memory", "persist", "recall", "note"],
    &["know", "knowledge"],
    &["time", "clock", "hour", "date", "day"],
    &["time", "morning", "afternoon", "evening", "night"],
    &["current", "now", "moment", "present", "today"],
    &["recent", "latest", "new", "newest"],
    &["file", "document"],
    &["folder", "directory", "dir"],
    &["delete", "remove", "erase", "forget"],
    &["create", "make", "generate"],
    &["sum", "add", "plus", "total", "addition", "arithmetic"],
    &["show", "display", "view", "list", "print"],
    &["read", "open", "load", "view"],
    &["write", "save", "put"],
    &["edit", "modify", "change", "update", "replace", "fix", "swap"],
    &["move", "rename", "relocate"],
    &["download", "fetch", "retrieve", "grab", "pull"],
    &["url", "link", "website", "webpage", "page", "site", "hyperlink"],
    &["text", "content"],
    &["whole", "full", "entire", "complete"],
    &["summary", "summarize", "abstract", "overview", "gist", "nutshell", "synopsis"],
    &["author", "writer"],
    &["difference", "differ", "diff", "compare"],
    &["history", "log"],
    &["undo", "revert", "reset"],
    &["person", "people", "entity", "someone"],
    &["relation", "relationship", "connection"],
    &["reference", "cite", "citation", "bibliography"],
    &["track", "watch", "monitor", "follow"],
    &["alert", "notify", "notification"],
    &["start", "begin", "launch", "trigger", "kick"],
    &["fake", "mock", "simulate", "simulated", "dummy"],
    &["compress", "zip", "gzip", "archive"],
    &["small", "little", "tiny"],
    &["convert", "translate"],
    &["encyclopedia", "wikipedia", "wiki"],
    &["picture", "image", "photo", "screenshot"],
    &["repeat", "echo"],
    &["environment", "env"],
    &["tree", "hierarchy", "structure"],
    &["size", "big", "large", "space", "bytes"],
    &["coordinate", "latitude", "longitude", "location", "gps"],
    &["fact", "observation"],
    &["state", "status", "pending", "uncommitted"],
];

#[cfg(test)]
mod tests {
    use super::GROUPS;

    #[test]
    fn groups_are_lowercase_words() {
        for group in GROUPS {
            assert!(group.len() >= 2);
            for word in *group {
                assert!(word.bytes().all(|b| b.is_ascii_lowercase()), "{word}");
            }
        }
    }
}
