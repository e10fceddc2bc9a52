//! The inverted index, the mined synonyms, the scoring and the explanations.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::analyze::{Analyzer, Mode, Token};
use super::lexicon;
use super::{Hit, Match, Synonym, SynonymSource, ToolField};

/// One tool's text, by field.
#[derive(Debug, Clone)]
pub(super) struct ToolDoc {
    pub(super) server: String,
    pub(super) name: String,
    pub(super) title: Option<String>,
    pub(super) params: Vec<String>,
    pub(super) description: String,
    pub(super) schema: Vec<String>,
    /// The tool changes something: its annotations say `readOnlyHint: false`.
    pub(super) changes: bool,
    /// The values its parameters allow (`enum`, `const`), lowercased.
    pub(super) values: Vec<String>,
}

impl ToolDoc {
    /// The tool as one passage for an embedding model: its server and name in words, its title,
    /// its description and its parameters' names (`time: convert time. Convert time between
    /// timezones. Parameters: source timezone, target timezone, time.`).
    pub(super) fn embedding_text(&self) -> String {
        let words = |name: &str| name.replace(['_', '-', '.'], " ");
        let mut text = format!("{}: {}.", words(&self.server), words(&self.name));
        if let Some(title) = self.title.as_deref().filter(|t| !t.trim().is_empty()) {
            text.push(' ');
            text.push_str(title.trim());
            text.push('.');
        }
        let description = self.description.split_whitespace().collect::<Vec<_>>().join(" ");
        if !description.is_empty() {
            text.push(' ');
            text.push_str(&description);
        }
        if !self.params.is_empty() {
            let params: Vec<String> = self.params.iter().map(|p| words(p)).collect();
            text.push_str(" Parameters: ");
            text.push_str(&params.join(", "));
            text.push('.');
        }
        text
    }

    /// The texts of each field, as the lexical model indexes them.
    fn fields(&self) -> [(ToolField, Vec<&str>); 6] {
        [
            (ToolField::Server, vec![self.server.as_str()]),
            (ToolField::Name, vec![self.name.as_str()]),
            (ToolField::Title, self.title.iter().map(String::as_str).collect()),
            (ToolField::Param, self.params.iter().map(String::as_str).collect()),
            (ToolField::Description, vec![self.description.as_str()]),
            (ToolField::Schema, self.schema.iter().map(String::as_str).collect()),
        ]
    }
}

/// The model's constants (see the table in [`Router`](super::Router)'s documentation).
#[derive(Debug, Clone)]
pub(super) struct Params {
    /// BM25 saturation.
    pub(super) k1: f64,
    /// Per field slot: BM25F weight.
    pub(super) weight: [f64; FIELDS],
    /// Per field slot: length normalisation.
    pub(super) b: [f64; FIELDS],
    /// How much a built-in synonym counts next to the request's own word.
    pub(super) builtin: f64,
    /// How much a word recognised by its shape (a URL, a file name) counts.
    pub(super) shape: f64,
    /// How much a catalog-mined synonym counts, times its association strength.
    pub(super) mined: f64,
    /// A mined pair needs this many tools in which it co-occurs …
    pub(super) min_support: u32,
    /// … and at least this association: `min(P(b | a), P(a | b))` over the tools.
    pub(super) min_association: f64,
    /// Kept mined synonyms per word, strongest first.
    pub(super) max_related: usize,
    /// How much the server-level evidence adds to a tool's score.
    pub(super) server: f64,
    /// How much a tool's name coverage (the share of its name the request says) adds.
    pub(super) coverage: f64,
    /// The factor on the score of a tool that changes something when the request does not ask
    /// for its action.
    pub(super) unasked_change: f64,
    /// How much naming a value a tool's parameter allows adds.
    pub(super) named_value: f64,
    /// How much a word of a description's later sentences counts next to one of its first
    /// (which says what the tool does; later ones add caveats and advice).
    pub(super) later_sentences: f64,
    /// The factor on the first word of a description (its verb: "Unstages", "Records").
    pub(super) lead: f64,
    /// How much each value of the request that fills a parameter of the tool adds (a time of
    /// day for a `time`, a URL for a `url`).
    pub(super) slot: f64,
    /// How much two adjacent request words written apart that make one catalog word count
    /// ("check out" for `checkout`).
    pub(super) joined: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            k1: 0.495,
            //        server name  title param desc  schema text
            weight: [2.25, 1.5, 2.0, 1.125, 0.675, 0.5, 1.0],
            b: [0.0, 0.5, 0.5, 0.5, 0.825, 0.206, 0.75],
            builtin: 0.8,
            shape: 1.116,
            mined: 0.5625,
            min_support: 2,
            min_association: 0.5,
            max_related: 4,
            server: 2.0,
            coverage: 2.0,
            unasked_change: 0.6,
            later_sentences: 0.5,
            named_value: 2.0,
            lead: 2.0,
            slot: 2.5,
            joined: 1.0,
        }
    }
}

const FIELDS: usize = 7;

fn slot(field: ToolField) -> usize {
    match field {
        ToolField::Server => 0,
        ToolField::Name => 1,
        ToolField::Title => 2,
        ToolField::Param => 3,
        ToolField::Description => 4,
        ToolField::Schema => 5,
        ToolField::Text => 6,
    }
}

#[derive(Debug)]
struct Doc {
    /// Index into [`Index::servers`].
    server_id: u32,
    server: String,
    tool: String,
    /// (term, field, surface), sorted by term then field.
    occurrences: Vec<(u32, ToolField, String)>,
    /// The distinct terms of the tool's name that are not its server's (`git_log` on `git`: `log`).
    name_terms: Vec<u32>,
    /// The values its parameters allow, lowercased.
    values: Vec<String>,
    /// Per parameter: the term of its last word (`repo_path`: `path`), what a value fills.
    slots: Vec<u32>,
    /// The tool this one is an alias of, or itself: a server that lists one tool under two
    /// names (`get_links`, `wikipedia_get_links`: the same description and schema, one name
    /// inside the other) gives one hit.
    twin: u32,
    /// For a tool that changes something, the action its name starts with (`create` of
    /// `create_directory`), unless it is one that only reads ([`READ_ACTIONS`]).
    action: Option<u32>,
    /// What the semantic stage embeds for it ([`ToolDoc::embedding_text`]).
    text: String,
}

/// Actions that name reading, not changing, even on a tool whose annotations say it changes
/// something (a tool that caches what it fetches is not read-only).
const READ_ACTIONS: &[&str] =
    &["get", "list", "read", "search", "show", "find", "fetch", "view", "open", "return", "export"];

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    /// The saturated BM25F term frequency: `tf'·(k1+1)/(k1+tf')`.
    weight: f64,
}

#[derive(Debug, Clone)]
struct Related {
    term: u32,
    weight: f64,
    word: String,
    source: SynonymSource,
}

/// The index over one [`Router`](super::Router)'s tools.
#[derive(Debug)]
pub(super) struct Index {
    analyzer: Analyzer,
    docs: Vec<Doc>,
    terms: HashMap<String, u32>,
    /// Per term: a word that produced it, for explanations.
    words: Vec<String>,
    postings: Vec<Vec<Posting>>,
    idf: Vec<f64>,
    /// Per term: mined synonyms.
    mined: Vec<Vec<Related>>,
    /// Per request term (not necessarily in the catalog): built-in synonyms in the catalog.
    builtin: HashMap<String, Vec<Related>>,
    /// The servers' names, sorted.
    servers: Vec<String>,
    /// Per term: (server, server-level weight), see [`Index::server_evidence`].
    server_postings: Vec<Vec<(u32, f64)>>,
    params: Params,
}

impl Index {
    pub(super) fn build(mode: Mode, tools: &[ToolDoc]) -> Self {
        let params = match mode {
            Mode::Lexical => Params::default(),
            // Plain BM25: the textbook saturation over its single field (slot `Text`: weight 1,
            // b = 0.75), and no shapes.
            Mode::Plain => Params { k1: 1.2, shape: 0.0, named_value: 0.0, ..Params::default() },
        };
        Self::build_with(mode, tools, params)
    }

    pub(super) fn build_with(mode: Mode, tools: &[ToolDoc], params: Params) -> Self {
        let mut sorted: Vec<&ToolDoc> = tools.iter().collect();
        sorted.sort_by(|a, b| (&a.server, &a.name).cmp(&(&b.server, &b.name)));

        let mut analyzer = Analyzer::new(mode);
        if mode == Mode::Lexical {
            for doc in &sorted {
                for (_, texts) in doc.fields() {
                    texts.iter().for_each(|text| analyzer.learn(text));
                }
            }
            lexicon::GROUPS.iter().flat_map(|g| g.iter()).for_each(|word| analyzer.learn(word));
        }

        let tool_names: HashSet<String> = if mode == Mode::Lexical {
            sorted.iter().map(|t| t.name.clone()).collect()
        } else {
            HashSet::new()
        };
        let mut terms: HashMap<String, u32> = HashMap::new();
        let mut words: Vec<String> = Vec::new();
        let mut docs = Vec::with_capacity(sorted.len());
        // Per doc: term → tf per field; field lengths.
        let mut doc_tfs: Vec<HashMap<u32, [f64; FIELDS]>> = Vec::with_capacity(sorted.len());
        let mut doc_lengths: Vec<[f64; FIELDS]> = Vec::with_capacity(sorted.len());
        let mut tokens: Vec<Token> = Vec::new();
        // Per term id: the term.
        let mut words_of: Vec<String> = Vec::new();
        let read_actions: Vec<String> = READ_ACTIONS.iter().map(|w| analyzer.stem(w)).collect();
        for tool in &sorted {
            let doc_id = u32::try_from(docs.len()).unwrap_or(u32::MAX);
            let mut tfs: HashMap<u32, [f64; FIELDS]> = HashMap::new();
            let mut lengths = [0.0; FIELDS];
            let mut occurrences = Vec::new();
            let mut name_terms: Vec<u32> = Vec::new();
            for (field, texts) in tool.fields() {
                let plain = mode == Mode::Plain;
                let pieces: Vec<(&str, f64)> = texts
                    .iter()
                    .flat_map(|text| match first_sentence(text) {
                        Some((first, rest)) if field == ToolField::Description && !plain => {
                            vec![(first, 1.0), (rest, params.later_sentences)]
                        }
                        _ => vec![(*text, 1.0)],
                    })
                    .collect();
                let field = if plain { ToolField::Text } else { field };
                for (i, (text, factor)) in pieces.into_iter().enumerate() {
                    tokens.clear();
                    analyzer.analyze(text, &mut tokens);
                    let lead = field == ToolField::Description && i == 0;
                    for (position, token) in tokens.drain(..).enumerate() {
                        let factor =
                            if lead && position == 0 { factor * params.lead } else { factor };
                        // Prose that names another tool speaks of that tool, not of this one.
                        let prose = matches!(field, ToolField::Description | ToolField::Schema);
                        if prose
                            && token.surface != tool.name
                            && tool_names.contains(&token.surface)
                        {
                            continue;
                        }
                        // A title only adds the words its name lacks.
                        if field == ToolField::Title
                            && terms.get(&token.term).is_some_and(|id| name_terms.contains(id))
                        {
                            continue;
                        }
                        let next = u32::try_from(words.len()).unwrap_or(u32::MAX);
                        let id = *terms.entry(token.term.clone()).or_insert_with(|| {
                            words.push(token.word.clone());
                            next
                        });
                        if field == ToolField::Name {
                            name_terms.push(id);
                        }
                        if words_of.len() <= id as usize {
                            words_of.push(token.term.clone());
                        }
                        tfs.entry(id).or_insert([0.0; FIELDS])[slot(field)] += factor;
                        lengths[slot(field)] += factor;
                        occurrences.push((id, field, token.surface));
                    }
                }
            }
            let slots: Vec<u32> = if mode == Mode::Lexical {
                tool.params
                    .iter()
                    .filter_map(|param| analyzer.head(param))
                    .filter_map(|head| terms.get(&head).copied())
                    .collect()
            } else {
                Vec::new()
            };
            occurrences.sort_by_key(|o| (o.0, slot(o.1)));
            occurrences.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
            let spoken_name = name_terms;
            let server_terms: Vec<u32> =
                occurrences.iter().filter(|o| o.1 == ToolField::Server).map(|o| o.0).collect();
            let mut name_terms: Vec<u32> = occurrences
                .iter()
                .filter(|o| o.1 == ToolField::Name && !server_terms.contains(&o.0))
                .map(|o| o.0)
                .collect();
            name_terms.dedup();
            let action = spoken_name
                .iter()
                .find(|t| !server_terms.contains(t))
                .copied()
                .filter(|&t| tool.changes && !read_actions.contains(&words_of[t as usize]));
            docs.push(Doc {
                server_id: 0,
                server: tool.server.clone(),
                tool: tool.name.clone(),
                occurrences,
                name_terms,
                action,
                values: tool.values.clone(),
                slots,
                twin: doc_id,
                text: tool.embedding_text(),
            });
            doc_tfs.push(tfs);
            doc_lengths.push(lengths);
        }

        if mode == Mode::Lexical {
            find_twins(&sorted, &mut docs);
        }
        let n = docs.len().max(1) as f64;
        let mut average = [0.0; FIELDS];
        for lengths in &doc_lengths {
            for (sum, length) in average.iter_mut().zip(lengths) {
                *sum += length / n;
            }
        }
        let all_fields = [
            ToolField::Server,
            ToolField::Name,
            ToolField::Title,
            ToolField::Param,
            ToolField::Description,
            ToolField::Schema,
            ToolField::Text,
        ];
        let mut postings: Vec<Vec<Posting>> = vec![Vec::new(); words.len()];
        for (doc, (tfs, lengths)) in doc_tfs.iter().zip(&doc_lengths).enumerate() {
            let doc = u32::try_from(doc).unwrap_or(u32::MAX);
            for (&term, tf) in tfs {
                let mut pseudo = 0.0;
                for field in all_fields {
                    let i = slot(field);
                    if tf[i] > 0.0 {
                        let (weight, b) = (params.weight[i], params.b[i]);
                        let norm = if average[i] > 0.0 {
                            1.0 - b + b * lengths[i] / average[i]
                        } else {
                            1.0
                        };
                        pseudo += weight * tf[i] / norm;
                    }
                }
                let weight = pseudo * (params.k1 + 1.0) / (params.k1 + pseudo);
                postings[term as usize].push(Posting { doc, weight });
            }
        }
        for list in &mut postings {
            list.sort_by_key(|p| p.doc);
        }
        let idf = postings
            .iter()
            .map(|list| {
                let df = list.len() as f64;
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            })
            .collect();

        let mut servers: Vec<String> = docs.iter().map(|d| d.server.clone()).collect();
        servers.dedup();
        for doc in &mut docs {
            let id = servers.binary_search(&doc.server).unwrap_or_default();
            doc.server_id = u32::try_from(id).unwrap_or(u32::MAX);
        }
        let mut index = Self {
            analyzer,
            docs,
            terms,
            words,
            postings,
            idf,
            mined: Vec::new(),
            builtin: HashMap::new(),
            servers,
            server_postings: Vec::new(),
            params,
        };
        if mode == Mode::Lexical {
            index.mined = index.mine();
            index.builtin = index.builtin_synonyms();
            index.server_postings = index.server_evidence();
        }
        index
    }

    /// Per term, how much it speaks for each server: the share of the server's tools that
    /// have it, times its inverse document frequency over servers. A word all of a server's
    /// tools share (`paper` on an arXiv server) tells the server even when it tells none of its
    /// tools apart.
    fn server_evidence(&self) -> Vec<Vec<(u32, f64)>> {
        let mut sizes = vec![0_u32; self.servers.len()];
        for doc in &self.docs {
            sizes[doc.server_id as usize] += 1;
        }
        let n = self.servers.len() as f64;
        self.postings
            .iter()
            .map(|list| {
                let mut counts: Vec<(u32, u32)> = Vec::new();
                for posting in list {
                    let server = self.docs[posting.doc as usize].server_id;
                    match counts.last_mut() {
                        Some((s, count)) if *s == server => *count += 1,
                        _ => counts.push((server, 1)),
                    }
                }
                let df = counts.len() as f64;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                counts
                    .into_iter()
                    .map(|(s, count)| {
                        (s, idf * f64::from(count) / f64::from(sizes[s as usize].max(1)))
                    })
                    .collect()
            })
            .collect()
    }

    /// Synonyms mined from the catalog: a word of a tool's names (server, name, title) and a
    /// word of its parameter names or description "explain" each other when they go together in
    /// at least `min_support` tools and each predicts the other: both `P(prose | name)` and
    /// `P(name | prose)` over the tools are at least `min_association`. Either may then stand
    /// for the other. Only words of letters count (no numbers, no identifiers' digits), tools
    /// whose prose repeats another's word for word count once (a server that lists each tool
    /// under two names), and the schema's prose (defaults, examples, long parameter notes) is
    /// left out as too noisy.
    fn mine(&self) -> Vec<Vec<Related>> {
        let mut name_df: HashMap<u32, u32> = HashMap::new();
        let mut prose_df: HashMap<u32, u32> = HashMap::new();
        let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
        let mut seen_prose: HashSet<Vec<u32>> = HashSet::new();
        let alphabetic =
            |term: u32| self.words[term as usize].bytes().all(|b| b.is_ascii_lowercase());
        for doc in &self.docs {
            let mut names = BTreeSet::new();
            let mut prose = BTreeSet::new();
            for &(term, field, _) in &doc.occurrences {
                if !alphabetic(term) {
                    continue;
                }
                match field {
                    ToolField::Server | ToolField::Name | ToolField::Title => names.insert(term),
                    ToolField::Param | ToolField::Description => prose.insert(term),
                    ToolField::Schema | ToolField::Text => false,
                };
            }
            if !seen_prose.insert(prose.iter().copied().collect()) {
                continue;
            }
            for &a in &names {
                *name_df.entry(a).or_default() += 1;
            }
            for &b in &prose {
                *prose_df.entry(b).or_default() += 1;
            }
            for &a in &names {
                for &b in prose.iter().filter(|&&b| b != a) {
                    *pairs.entry((a, b)).or_default() += 1;
                }
            }
        }
        let mut related: Vec<Vec<Related>> = vec![Vec::new(); self.words.len()];
        for (&(a, b), &count) in &pairs {
            if count < self.params.min_support {
                continue;
            }
            let (na, nb) = (name_df.get(&a).copied(), prose_df.get(&b).copied());
            let (na, nb) = (f64::from(na.unwrap_or(1)), f64::from(nb.unwrap_or(1)));
            let association = (f64::from(count) / na).min(f64::from(count) / nb);
            if association < self.params.min_association {
                continue;
            }
            for (from, to) in [(a, b), (b, a)] {
                let list = &mut related[from as usize];
                match list.iter_mut().find(|r| r.term == to) {
                    Some(r) => r.weight = r.weight.max(association),
                    None => list.push(Related {
                        term: to,
                        weight: association,
                        word: self.words[to as usize].clone(),
                        source: SynonymSource::Catalog,
                    }),
                }
            }
        }
        for list in &mut related {
            list.sort_by(|x, y| y.weight.total_cmp(&x.weight).then_with(|| x.word.cmp(&y.word)));
            list.truncate(self.params.max_related);
            for r in list.iter_mut() {
                r.weight *= self.params.mined;
            }
        }
        related
    }

    /// The built-in groups, by request term, restricted to words the catalog has.
    fn builtin_synonyms(&self) -> HashMap<String, Vec<Related>> {
        let mut map: HashMap<String, Vec<Related>> = HashMap::new();
        for group in lexicon::GROUPS {
            let stems: Vec<(String, &str)> =
                group.iter().map(|word| (self.analyzer.stem(word), *word)).collect();
            for (from, _) in &stems {
                for (to, word) in &stems {
                    let Some(&term) = self.terms.get(to) else { continue };
                    if to == from {
                        continue;
                    }
                    let list = map.entry(from.clone()).or_default();
                    if !list.iter().any(|r| r.term == term) {
                        list.push(Related {
                            term,
                            weight: self.params.builtin,
                            word: (*word).to_owned(),
                            source: SynonymSource::BuiltIn,
                        });
                    }
                }
            }
        }
        map
    }

    /// The catalog-mined synonyms of a word, strongest first (for inspection and tests).
    pub(super) fn mined_synonyms(&self, word: &str) -> Vec<(String, f64)> {
        let mut tokens = Vec::new();
        self.analyzer.analyze(word, &mut tokens);
        tokens
            .first()
            .and_then(|t| self.terms.get(&t.term))
            .and_then(|&id| self.mined.get(id as usize))
            .map(|list| list.iter().map(|r| (r.word.clone(), r.weight)).collect())
            .unwrap_or_default()
    }

    /// The request's distinct words, each with its variants.
    fn request_words(&self, request: &str) -> Request {
        let mut tokens = Vec::new();
        let lexical = self.analyzer.mode() == Mode::Lexical;
        if lexical {
            self.analyzer.analyze(&without_frames(request), &mut tokens);
        } else {
            self.analyzer.analyze(request, &mut tokens);
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for token in tokens {
            if !seen.insert(token.term.clone()) {
                continue;
            }
            let mut variants: Vec<Variant> = Vec::new();
            let direct = self.terms.get(&token.term).copied();
            if let Some(term) = direct {
                variants.push(Variant { term, weight: 1.0, via: None });
            }
            let mined = direct
                .and_then(|id| self.mined.get(id as usize))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let builtin = self.builtin.get(&token.term).map(Vec::as_slice).unwrap_or_default();
            for r in builtin.iter().chain(mined) {
                let variant = Variant {
                    term: r.term,
                    weight: r.weight,
                    via: Some(Synonym { word: r.word.clone(), source: r.source }),
                };
                match variants.iter_mut().find(|v| v.term == r.term) {
                    Some(v) if v.weight >= r.weight => {}
                    Some(v) => *v = variant,
                    None => variants.push(variant),
                }
            }
            if !variants.is_empty() {
                out.push(RequestWord { word: token.word, variants });
            }
        }
        // Two adjacent words written apart that make one word of the catalog: "check out" for
        // `checkout`, "re-index" for `reindex`.
        if lexical && self.params.joined > 0.0 {
            let written: Vec<String> = request
                .split(|c: char| c.is_whitespace() || c == '-')
                .map(|w| trim_token(w).to_lowercase())
                .collect();
            for pair in written.windows(2) {
                let joined = format!("{}{}", pair[0], pair[1]);
                if !pair.iter().all(|w| w.bytes().all(|b| b.is_ascii_lowercase()) && !w.is_empty())
                    || joined.len() < 6
                {
                    continue;
                }
                let term = self.analyzer.stem(&joined);
                let Some(&id) = self.terms.get(&term) else { continue };
                if seen.insert(term) {
                    out.push(RequestWord {
                        word: joined,
                        variants: vec![Variant { term: id, weight: self.params.joined, via: None }],
                    });
                }
            }
        }
        let mut slots = Vec::new();
        if self.params.shape > 0.0 {
            for word in request.split_whitespace().filter_map(shape) {
                let targets: &[&str] = match word {
                    "file" => &["file", "path"],
                    other => &[other][..],
                };
                let ids: Vec<u32> = targets
                    .iter()
                    .filter_map(|t| self.terms.get(&self.analyzer.stem(t)).copied())
                    .collect();
                slots.push(ids);
            }
        }
        if self.params.shape > 0.0 {
            for (written, word) in
                request.split_whitespace().filter_map(|w| shape(w).map(|s| (w, s)))
            {
                let term = self.analyzer.stem(word);
                let Some(&id) = self.terms.get(&term) else { continue };
                if seen.insert(term) {
                    let via = Synonym { word: word.to_owned(), source: SynonymSource::Shape };
                    out.push(RequestWord {
                        word: trim_token(written).to_owned(),
                        variants: vec![Variant {
                            term: id,
                            weight: self.params.shape,
                            via: Some(via),
                        }],
                    });
                }
            }
        }
        Request { words: out, slots }
    }

    fn posting(&self, term: u32, doc: u32) -> Option<&Posting> {
        let list = &self.postings[term as usize];
        list.binary_search_by_key(&doc, |p| p.doc).ok().map(|i| &list[i])
    }

    pub(super) fn rank(&self, request: &str, k: usize) -> Vec<Hit> {
        if k == 0 || self.docs.is_empty() {
            return Vec::new();
        }
        let scored = self.score(request);
        let scores = scored.scores.clone();
        self.hits(&scored, &scores, None, k)
    }

    /// The embedding text of each tool, in the index's order (see [`Scored::scores`]).
    pub(super) fn texts(&self) -> impl Iterator<Item = &str> {
        self.docs.iter().map(|doc| doc.text.as_str())
    }

    /// Per tool, in the index's order: the tool it is a twin of, or itself (see [`Doc::twin`]).
    pub(super) fn twins(&self) -> impl Iterator<Item = usize> + '_ {
        self.docs.iter().map(|doc| doc.twin as usize)
    }

    /// The position of `server`'s `tool` in the index's order.
    pub(super) fn position(&self, server: &str, tool: &str) -> Option<usize> {
        self.docs.iter().position(|doc| doc.server == server && doc.tool == tool)
    }

    /// The best `k` tools by `fused` (one score per tool, in the index's order; only positive
    /// scores), one per twin, each explained by the request words `scored` matched and, when
    /// given, its semantic `similarity`.
    pub(super) fn hits(
        &self,
        scored: &Scored,
        fused: &[f64],
        similarity: Option<&[f64]>,
        k: usize,
    ) -> Vec<Hit> {
        let mut ranked: Vec<u32> = (0..self.docs.len().min(fused.len()))
            .filter(|&d| fused[d] > 0.0 && fused[d].is_finite())
            .filter_map(|d| u32::try_from(d).ok())
            .collect();
        ranked.sort_by(|&a, &b| fused[b as usize].total_cmp(&fused[a as usize]).then(a.cmp(&b)));
        let mut shown = HashSet::new();
        ranked.retain(|&doc| shown.insert(self.docs[doc as usize].twin));
        ranked.truncate(k);
        ranked
            .into_iter()
            .map(|doc| {
                let entry = &self.docs[doc as usize];
                Hit {
                    server: entry.server.clone(),
                    tool: entry.tool.clone(),
                    score: fused[doc as usize],
                    why: self.explain(&scored.words, doc),
                    similarity: similarity.and_then(|s| s.get(doc as usize).copied()),
                    example: None,
                }
            })
            .collect()
    }

    /// The lexical score of every tool for `request`, in the index's order (0 for a tool that
    /// no request word matches).
    pub(super) fn score(&self, request: &str) -> Scored {
        if self.docs.is_empty() {
            return Scored { scores: Vec::new(), words: Vec::new() };
        }
        let Request { words, slots } = self.request_words(request);
        let mut scores = vec![0.0_f64; self.docs.len()];
        let mut best = vec![0.0_f64; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut server_scores = vec![0.0_f64; self.servers.len()];
        if self.params.server > 0.0 {
            let mut best = vec![0.0_f64; self.servers.len()];
            for word in &words {
                for variant in &word.variants {
                    let Some(list) = self.server_postings.get(variant.term as usize) else {
                        continue;
                    };
                    for &(server, weight) in list {
                        let slot = &mut best[server as usize];
                        *slot = slot.max(variant.weight * weight);
                    }
                }
                for (score, best) in server_scores.iter_mut().zip(&mut best) {
                    *score += std::mem::take(best);
                }
            }
        }
        for word in &words {
            for variant in &word.variants {
                let factor = variant.weight * self.idf[variant.term as usize];
                for posting in &self.postings[variant.term as usize] {
                    let slot = &mut best[posting.doc as usize];
                    if *slot == 0.0 {
                        touched.push(posting.doc);
                    }
                    *slot = slot.max(factor * posting.weight);
                }
            }
            for doc in touched.drain(..) {
                scores[doc as usize] += std::mem::take(&mut best[doc as usize]);
            }
        }
        let mut said: HashMap<u32, f64> = HashMap::new();
        for variant in words.iter().flat_map(|w| &w.variants) {
            let weight = said.entry(variant.term).or_default();
            *weight = weight.max(variant.weight);
        }
        // A question, or a request framed as one ("show me …"), asks for the actions it says,
        // but not those of the words that describe a state ("when was it last modified", "what
        // am I tracking"): a tool that changes something must be asked for.
        let question = is_question(request) || without_frames(request).len() < request.len();
        let named: HashSet<String> = if self.params.named_value > 0.0 {
            request.split_whitespace().map(|w| trim_token(w).to_lowercase()).collect()
        } else {
            HashSet::new()
        };
        let asked: HashSet<u32> = words
            .iter()
            .filter(|w| !is_participle(&w.word))
            .flat_map(|w| w.variants.iter().map(|v| v.term))
            .collect();
        for (score, doc) in scores.iter_mut().zip(&self.docs) {
            if *score > 0.0 {
                *score += self.params.server * server_scores[doc.server_id as usize];
                if self.params.slot > 0.0 {
                    *score += self.params.slot * filled(&doc.slots, &slots) as f64;
                }
                if !doc.name_terms.is_empty() {
                    let covered: f64 =
                        doc.name_terms.iter().filter_map(|t| said.get(t)).sum::<f64>();
                    *score += self.params.coverage * covered / doc.name_terms.len() as f64;
                }
                if doc.values.iter().any(|value| named.contains(value)) {
                    *score += self.params.named_value;
                }
                if question && doc.action.is_some_and(|action| !asked.contains(&action)) {
                    *score *= self.params.unasked_change;
                }
            }
        }
        Scored { scores, words }
    }

    /// For each request word, the fields of `doc` its best variant matched.
    fn explain(&self, words: &[RequestWord], doc: u32) -> Vec<Match> {
        let occurrences = &self.docs[doc as usize].occurrences;
        let mut why = Vec::new();
        for word in words {
            let best = word
                .variants
                .iter()
                .filter_map(|v| {
                    let posting = self.posting(v.term, doc)?;
                    Some((v, v.weight * self.idf[v.term as usize] * posting.weight))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let Some((variant, _)) = best else { continue };
            let start = occurrences.partition_point(|o| o.0 < variant.term);
            for (_, field, surface) in
                occurrences[start..].iter().take_while(|o| o.0 == variant.term)
            {
                why.push(Match {
                    word: word.word.clone(),
                    field: *field,
                    text: surface.clone(),
                    via: variant.via.clone(),
                });
            }
        }
        why
    }
}

/// How many of a request's values (each: the terms of the parameters it may fill) a tool's
/// parameters (each: the term of its last word) can take, each parameter taking one.
fn filled(params: &[u32], values: &[Vec<u32>]) -> usize {
    let mut used = vec![false; params.len()];
    let mut count = 0;
    for targets in values {
        if let Some(i) = (0..params.len()).find(|&i| !used[i] && targets.contains(&params[i])) {
            used[i] = true;
            count += 1;
        }
    }
    count
}

/// Marks each tool that repeats another of its server under a longer name (the same non-empty
/// description and schema, the other's name inside its own: `wikipedia_get_links` of
/// `get_links`) as the twin of the shortest such tool.
fn find_twins(tools: &[&ToolDoc], docs: &mut [Doc]) {
    // (server, description, parameters, schema prose) → tools.
    type Text<'a> = (&'a str, &'a str, &'a [String], &'a [String]);
    let mut alike: HashMap<Text<'_>, Vec<usize>> = HashMap::new();
    for (i, tool) in tools.iter().enumerate() {
        if !tool.description.trim().is_empty() {
            alike
                .entry((&tool.server, &tool.description, &tool.params, &tool.schema))
                .or_default()
                .push(i);
        }
    }
    for group in alike.values().filter(|group| group.len() > 1) {
        for &i in group {
            let name = &tools[i].name;
            let original = group
                .iter()
                .copied()
                .filter(|&j| tools[j].name.len() < name.len() && name.contains(&tools[j].name))
                .min_by_key(|&j| tools[j].name.len());
            if let Some(j) = original {
                docs[i].twin = u32::try_from(j).unwrap_or(u32::MAX);
            }
        }
    }
}

/// The lexical scores of a request, and its words (for explanations).
#[derive(Debug)]
pub(super) struct Scored {
    /// One score per tool, in the index's order.
    pub(super) scores: Vec<f64>,
    words: Vec<RequestWord>,
}

/// A request, analysed.
#[derive(Debug)]
struct Request {
    /// Its distinct words.
    words: Vec<RequestWord>,
    /// Its values recognised by their shape, each with the parameter terms it may fill.
    slots: Vec<Vec<u32>>,
}

/// A distinct word of a request and the terms it may match.
#[derive(Debug)]
struct RequestWord {
    word: String,
    variants: Vec<Variant>,
}

/// A term a request word may match, and how much it counts.
#[derive(Debug)]
struct Variant {
    term: u32,
    weight: f64,
    via: Option<Synonym>,
}

/// A description's first sentence and the rest, when it has more than one: the first ends at
/// a full stop, question or exclamation mark followed by white space, or at a blank line.
fn first_sentence(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let end = (1..bytes.len()).find(|&i| {
        let (before, here) = (bytes[i - 1], bytes[i]);
        matches!(before, b'.' | b'?' | b'!') && here.is_ascii_whitespace()
            || before == b'\n' && here == b'\n'
    })?;
    let rest = text[end..].trim_start();
    (!rest.is_empty()).then(|| (&text[..end], rest))
}

/// Verbs that, followed by "me" or "us", only frame a request ("show me the log", "give me a
/// summary"): they ask for an answer, not for a tool that shows or gives.
const FRAMES: &[&str] = &["bring", "give", "let", "show", "tell"];

/// The request without its framing verbs.
fn without_frames(request: &str) -> String {
    let words: Vec<&str> = request.split_whitespace().collect();
    let mut kept = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let framing = FRAMES.iter().any(|f| trim_token(word).eq_ignore_ascii_case(f))
            && words.get(i + 1).is_some_and(|next| {
                ["me", "us"].iter().any(|p| trim_token(next).eq_ignore_ascii_case(p))
            });
        if !framing {
            kept.push(*word);
        }
    }
    kept.join(" ")
}

/// Whether a word is a participle ("modified", "committed", "tracking"), which in a question
/// describes a state rather than asking for an action.
fn is_participle(word: &str) -> bool {
    let word = word.to_ascii_lowercase();
    word.len() > 4 && (word.ends_with("ed") && !word.ends_with("eed") || word.ends_with("ing"))
}

/// Whether a request is a question: it ends with a question mark, or starts with a question
/// word or an auxiliary ("what", "did", "is").
fn is_question(request: &str) -> bool {
    const OPENERS: &[&str] = &[
        "any", "anything", "are", "did", "do", "does", "has", "have", "how", "is", "was", "were",
        "what", "what's", "whats", "when", "where", "which", "who", "whom", "whose", "why",
    ];
    let request = request.trim();
    request.ends_with('?')
        || request.split_whitespace().next().is_some_and(|first| {
            let first = trim_token(first).to_ascii_lowercase().replace('’', "'");
            OPENERS.contains(&first.as_str())
        })
}

/// Trims the quotes, brackets and sentence punctuation around a whitespace-separated token.
fn trim_token(token: &str) -> &str {
    token
        .trim_start_matches(|c: char| "\"'`([{<".contains(c))
        .trim_end_matches(|c: char| "\"'`)]}>,;:!?.".contains(c))
}

/// The word a request token stands for by its shape: `url` for a URL, `timezone` for an IANA
/// time zone (`Europe/Paris`), `time` for a time of day (`14:45`, `9am`), `file` for a file name
/// (`notes.txt`, `.csv`), `path` for another path (`/home/me`, `~/src`).
fn shape(token: &str) -> Option<&'static str> {
    let token = trim_token(token);
    if token.contains("://") || token.starts_with("www.") {
        return Some("url");
    }
    if is_time_zone(token) {
        return Some("timezone");
    }
    if is_time_of_day(token) {
        return Some("time");
    }
    let name = token.rsplit(['/', '\\']).next().unwrap_or(token);
    if let Some((_, extension)) = name.rsplit_once('.')
        && (2..=5).contains(&extension.len())
        && extension.bytes().all(|b| b.is_ascii_alphanumeric())
        && extension.bytes().any(|b| b.is_ascii_alphabetic())
    {
        return Some("file");
    }
    let rooted = ["/", "~/", "./", "../"].iter().any(|root| token.starts_with(root));
    (rooted && token.len() > 1 || token.contains('\\')).then_some("path")
}

/// `Area/Location` with an IANA area (`Europe/Paris`, `America/Argentina/Salta`).
pub(crate) fn is_time_zone(token: &str) -> bool {
    const AREAS: &[&str] = &[
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
        "Etc",
    ];
    let mut parts = token.split('/');
    let area = parts.next().unwrap_or_default();
    let places: Vec<&str> = parts.collect();
    AREAS.contains(&area)
        && !places.is_empty()
        && places.iter().all(|place| {
            place.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && place.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
        })
}

/// `14:45`, `9:05`, `9am`, `10pm`, `11:30am`.
fn is_time_of_day(token: &str) -> bool {
    let lower = token.to_ascii_lowercase();
    let (clock, meridiem) = match lower.strip_suffix("am").or_else(|| lower.strip_suffix("pm")) {
        Some(clock) => (clock, true),
        None => (lower.as_str(), false),
    };
    let (hours, minutes) = match clock.split_once(':') {
        Some((hours, minutes)) => (hours, Some(minutes)),
        None => (clock, None),
    };
    let number = |text: &str, max: u32| {
        (1..=2).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_digit())
            && text.parse::<u32>().is_ok_and(|n| n <= max)
    };
    let minutes_ok = minutes.is_none_or(|m| m.len() == 2 && number(m, 59));
    number(hours, if meridiem { 12 } else { 23 }) && minutes_ok && (meridiem || minutes.is_some())
}

#[cfg(test)]
mod tests {
    use super::{is_participle, is_question, is_time_of_day, is_time_zone, shape, without_frames};

    #[test]
    fn knows_shapes() {
        for (token, word) in [
            ("https://example.com/a", "url"),
            ("Europe/Paris", "timezone"),
            ("America/Argentina/Salta,", "timezone"),
            ("14:45", "time"),
            ("9am", "time"),
            ("11:30pm?", "time"),
            ("notes/todo.txt", "file"),
            ("~/src", "path"),
        ] {
            assert_eq!(shape(token), Some(word), "{token}");
        }
        for token in ["europe/paris", "Europe/", "Mars/Olympus", "25:00", "13pm", "1234", "9:5"] {
            assert!(!is_time_zone(token) && !is_time_of_day(token), "{token}");
        }
    }

    #[test]
    fn tells_questions_frames_and_participles() {
        for question in ["what changed?", "Did I commit it", "any news on rust", "What’s new"] {
            assert!(is_question(question), "{question}");
        }
        for request in ["commit it", "stage src/lib.rs", "remember that Bob likes tea"] {
            assert!(!is_question(request), "{request}");
        }
        assert_eq!(without_frames("Show me the log"), "me the log");
        assert_eq!(without_frames("give us a summary, tell me why"), "us a summary, me why");
        assert_eq!(without_frames("show the log to me"), "show the log to me");
        for word in ["modified", "committed", "tracking", "Following"] {
            assert!(is_participle(word), "{word}");
        }
        for word in ["need", "speed", "stage", "ring", "red"] {
            assert!(!is_participle(word), "{word}");
        }
    }
}
