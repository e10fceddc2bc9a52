//! Filling a tool's arguments from the request, by the tool's schema: each parameter takes the
//! kind of value its name and description ask for (a time zone, a time of day, a path, a file
//! name, a URL, a name, a number, a flag, quoted text, a list), found in the request text.

use serde_json::{Map, Value, json};

use super::topic;
use crate::client::ToolSpec;

/// Values for `tool`'s parameters found in `task`: every required one, and the optional ones
/// the request clearly gives (a number that fits, a flag it names).
pub(super) fn arguments(tool: &ToolSpec, task: &str) -> Value {
    fill(tool, task).0
}

/// How well `tool` fits `task`: how many required parameters found no value of their kind in the
/// request, how many things the request gives (numbers, paths, quoted text, zones, times, URLs,
/// names) no parameter took, and how many required parameters found theirs.
pub(super) fn fit(tool: &ToolSpec, task: &str) -> Fit {
    let (_, found, missing, unused) = fill(tool, task);
    Fit { missing, unused, found }
}

/// How well a tool's parameters fit a request; see `fit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fit {
    /// Required parameters with no value of their kind in the request.
    pub missing: usize,
    /// Values in the request that no parameter took.
    pub unused: usize,
    /// Required parameters that found their value in the request.
    pub found: usize,
}

fn fill(tool: &ToolSpec, task: &str) -> (Value, usize, usize, usize) {
    let schema = &tool.parameters;
    let empty = Map::new();
    let properties = schema["properties"].as_object().unwrap_or(&empty);
    let required: Vec<&str> =
        schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut facts = Facts::new(task);
    let mut args = Map::new();
    let (mut found, mut missing) = (0, 0);
    let numeric = |p: &Value| matches!(p["type"].as_str(), Some("integer" | "number"));
    // Numbers first, all at once, so that each goes to the parameter it fits best.
    let numbers: Vec<(&str, &Value, bool)> = properties
        .iter()
        .filter(|(_, p)| numeric(p))
        .map(|(name, p)| (name.as_str(), p, required.contains(&name.as_str())))
        .collect();
    let about = format!("{} {}", tool.name, tool.description);
    for (name, value) in assign_numbers(&numbers, &about, &mut facts) {
        args.insert(name.to_owned(), value);
    }
    for name in &required {
        let property = properties.get(*name).unwrap_or(&Value::Null);
        if numeric(property) {
            if args.contains_key(*name) {
                found += 1;
            } else {
                missing += 1;
                let fallback = property
                    .get("default")
                    .filter(|d| d.is_number())
                    .or_else(|| property.get("minimum"))
                    .cloned()
                    .unwrap_or(json!(5));
                args.insert((*name).to_owned(), fallback);
            }
            continue;
        }
        let (value, ok) = value_for(name, property, &mut facts, task);
        if ok {
            found += 1
        } else {
            missing += 1
        }
        // The words after "about" are what a query parameter is for.
        let query = ["query", "q", "search", "topic", "keywords"].contains(name);
        if ok && query && task.contains(" about ") && value.as_str() == Some(&topic(task)) {
            found += 1;
        }
        args.insert((*name).to_owned(), value);
    }
    for (name, property) in properties {
        if required.contains(&name.as_str()) || property["type"].as_str() != Some("boolean") {
            continue;
        }
        if let Some(flag) = flag(name, &facts) {
            args.insert(name.clone(), json!(flag));
        }
    }
    let unused = facts.unused();
    (Value::Object(args), found, missing, unused)
}

/// A value for one required, non-numeric parameter, and whether it came from the request.
fn value_for(name: &str, property: &Value, facts: &mut Facts, task: &str) -> (Value, bool) {
    if let Some(options) = property["enum"].as_array().filter(|o| !o.is_empty()) {
        let named = options.iter().find(|o| o.as_str().is_some_and(|s| facts.names_word(s)));
        return match named {
            Some(option) => (option.clone(), true),
            None => {
                (property.get("default").or(options.first()).cloned().unwrap_or_default(), false)
            }
        };
    }
    let kind = kind(name, property);
    match property["type"].as_str() {
        Some("boolean") => match flag(name, facts) {
            Some(flag) => (json!(flag), true),
            None => (property.get("default").cloned().unwrap_or(json!(false)), false),
        },
        Some("array") => {
            let items = &property["items"];
            let strings = items.is_null() || items["type"].as_str() == Some("string");
            let values = if strings { facts.list(kind) } else { Vec::new() };
            if !values.is_empty() {
                return (json!(values), true);
            }
            let at_least_one = property["minItems"].as_u64().is_some_and(|n| n > 0);
            if strings && at_least_one {
                (json!([topic(task)]), false)
            } else {
                (property.get("default").cloned().unwrap_or(json!([])), false)
            }
        }
        _ => {
            if let Some(value) = facts.single(kind, name) {
                return (json!(value), true);
            }
            if let Some(default) = property.get("default").filter(|d| !d.is_null()) {
                return (default.clone(), false);
            }
            let description = text_of(property);
            if kind == Kind::Zone && description.contains("utc") {
                return (json!("UTC"), false);
            }
            if description.contains("user") {
                return (json!(task.trim()), true);
            }
            if let Some(quoted) = facts.quoted.take(None) {
                return (json!(quoted), true);
            }
            let topic = topic(task);
            let phrased = topic != task.trim();
            (json!(topic), kind == Kind::Other && phrased)
        }
    }
}

/// The kinds of value a string parameter can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zone,
    Time,
    Url,
    Path,
    File,
    Name,
    Other,
}

/// The parameter's description and title, lower case.
fn text_of(property: &Value) -> String {
    let description = property["description"].as_str().unwrap_or_default();
    let title = property["title"].as_str().unwrap_or_default();
    format!("{description} {title}").to_lowercase()
}

/// What kind of value `name` asks for, by its name, description and format.
fn kind(name: &str, property: &Value) -> Kind {
    let n = name.to_lowercase();
    let d = text_of(property);
    let any = |words: &[&str]| words.iter().any(|w| n.contains(w) || d.contains(w));
    if any(&["timezone", "time zone", "time_zone"]) || n == "tz" {
        Kind::Zone
    } else if n == "time"
        || n.ends_with("_time")
        || n.starts_with("time_")
        || d.contains("hh:mm")
        || d.contains("time of day")
    {
        Kind::Time
    } else if n.contains("url")
        || n.contains("uri")
        || property["format"] == "uri"
        || d.contains("url")
    {
        Kind::Url
    } else if ["path", "dir", "folder", "repo"].iter().any(|w| n.contains(w))
        || ["path", "directory", "folder", "repository"].iter().any(|w| d.contains(w))
    {
        Kind::Path
    } else if n.contains("file") || d.contains("file name") || d.contains("filename") {
        Kind::File
    } else if any(&["name", "entity", "person"]) {
        Kind::Name
    } else {
        Kind::Other
    }
}

/// Values of one kind found in the request, in request order, each with the word before it,
/// taken (used) at most once.
#[derive(Debug, Default)]
struct Pool {
    items: Vec<(String, String, bool)>,
}

impl Pool {
    fn push(&mut self, value: String, before: &str) {
        if !self.items.iter().any(|(v, _, _)| *v == value) {
            self.items.push((value, before.to_owned(), false));
        }
    }

    /// The first unused value, preferring one after a word in `after`.
    fn take(&mut self, after: Option<&[&str]>) -> Option<String> {
        let preferred = after.and_then(|words| {
            self.items.iter().position(|(_, b, used)| !used && words.contains(&b.as_str()))
        });
        let at = preferred.or_else(|| self.items.iter().position(|(_, _, used)| !used))?;
        let item = self.items.get_mut(at)?;
        item.2 = true;
        Some(item.0.clone())
    }

    fn take_all(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.take(None)).collect()
    }
}

/// A number written in the request, with the words around it.
#[derive(Debug)]
struct Number {
    text: String,
    value: f64,
    around: Vec<String>,
    /// The word after it (`commits` in "the last 3 commits").
    next: String,
    used: bool,
}

/// Everything the request names that a parameter could take.
#[derive(Debug, Default)]
struct Facts {
    /// The request's words, lower case, without punctuation.
    words: Vec<String>,
    quoted: Pool,
    zones: Pool,
    times: Pool,
    urls: Pool,
    paths: Pool,
    files: Pool,
    names: Pool,
    called: Pool,
    numbers: Vec<Number>,
}

const ENDS_LIST: [&str; 12] =
    ["with", "in", "to", "from", "on", "at", "for", "using", "via", "into", "under", "inside"];

impl Facts {
    fn new(task: &str) -> Facts {
        let mut facts = Facts::default();
        let rest = facts.find_quoted(task);
        let raw: Vec<&str> = rest.split_whitespace().collect();
        let clean = |w: &str| {
            w.trim_matches(|c: char| "\"'“”‘’()[]{}<>,;!?".contains(c))
                .trim_end_matches([':', '.'])
                .to_owned()
        };
        let tokens: Vec<String> = raw.iter().map(|w| clean(w)).collect();
        facts.words = tokens.iter().map(|t| t.to_lowercase()).collect();
        let word = |i: usize| facts.words.get(i).cloned().unwrap_or_default();
        let mut zones = Pool::default();
        let mut times = Pool::default();
        let mut urls = Pool::default();
        let mut paths = Pool::default();
        let mut files = Pool::default();
        let mut numbers = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let before = if i == 0 { String::new() } else { word(i - 1) };
            let next = word(i + 1);
            if let Some(time) = time_of_day(token, &next) {
                times.push(time, &before);
            } else if is_zone(token) {
                zones.push(token.clone(), &before);
            } else if token.starts_with("http://")
                || token.starts_with("https://")
                || token.starts_with("www.")
            {
                urls.push(token.clone(), &before);
            } else if is_path(token) {
                paths.push(token.clone(), &before);
            } else if is_file_name(token) {
                files.push(token.clone(), &before);
            } else if let Some(value) = number(token) {
                let after_number = ["am", "pm", "a.m", "p.m"];
                if !after_number.contains(&next.as_str()) {
                    let lo = i.saturating_sub(2);
                    let around = (lo..i + 3).filter(|j| *j != i).map(word).collect();
                    numbers.push(Number {
                        text: token.clone(),
                        value,
                        around,
                        next: next.clone(),
                        used: false,
                    });
                }
            }
        }
        (facts.zones, facts.times, facts.urls, facts.paths, facts.files, facts.numbers) =
            (zones, times, urls, paths, files, numbers);
        facts.find_names(&tokens, &raw, &topic(task));
        facts
    }

    /// Collects the quoted passages; returns the text with them blanked out.
    fn find_quoted(&mut self, task: &str) -> String {
        let chars: Vec<char> = task.chars().collect();
        let mut rest = String::new();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            let close = match c {
                '"' => Some('"'),
                '“' => Some('”'),
                '‘' => Some('’'),
                '\'' if i == 0 || chars.get(i - 1).is_some_and(|p| !p.is_alphanumeric()) => {
                    Some('\'')
                }
                _ => None,
            };
            let end = close.and_then(|close| {
                (i + 1..chars.len()).find(|&j| {
                    chars.get(j) == Some(&close)
                        && (close != '\'' || chars.get(j + 1).is_none_or(|n| !n.is_alphanumeric()))
                })
            });
            match end {
                Some(end) if end > i + 1 => {
                    let inner: String = chars.get(i + 1..end).unwrap_or_default().iter().collect();
                    let before = rest.split_whitespace().last().unwrap_or_default().to_lowercase();
                    self.quoted.push(inner, &before);
                    rest.push(' ');
                    i = end + 1;
                }
                _ => {
                    rest.push(c);
                    i += 1;
                }
            }
        }
        rest
    }

    /// Capitalized word sequences (people, entities) and lists after "named"/"called".
    fn find_names(&mut self, tokens: &[String], raw: &[&str], topic: &str) {
        let capital = |t: &str| {
            let mut chars = t.chars();
            chars.next().is_some_and(char::is_uppercase)
                && t.chars().all(|c| c.is_alphanumeric() || "-'.".contains(c))
                && t != "I"
        };
        let mut i = 0;
        while i < tokens.len() {
            let mut j = i;
            while tokens.get(j).is_some_and(|t| capital(t)) {
                let ends = raw.get(j).is_some_and(|r| r.ends_with([',', ';', '.', '?', '!']));
                j += 1;
                if ends {
                    break;
                }
            }
            if j > i {
                let single_first = i == 0 && j == 1;
                let words = tokens.get(i..j).unwrap_or_default();
                let server = words.iter().any(|w| w.ends_with("Server") || is_zone(w));
                let after =
                    i.checked_sub(1).and_then(|b| self.words.get(b)).cloned().unwrap_or_default();
                // Names outside the request's topic ("… from Wikipedia using WikipediaServer")
                // say where to look, not what to look for.
                let name = words.join(" ");
                let in_topic = topic.contains(&name);
                if !single_first
                    && !server
                    && in_topic
                    && !["using", "via"].contains(&after.as_str())
                {
                    self.names.push(name, &after);
                }
                i = j;
            } else {
                i += 1;
            }
        }
        for (at, word) in self.words.iter().enumerate() {
            if !["named", "called", "titled"].contains(&word.as_str()) {
                continue;
            }
            let mut item: Vec<&str> = Vec::new();
            let mut items: Vec<String> = Vec::new();
            for k in at + 1..tokens.len() {
                let (Some(token), Some(lower)) = (tokens.get(k), self.words.get(k)) else { break };
                if ENDS_LIST.contains(&lower.as_str()) {
                    break;
                }
                if lower != "and" && !token.is_empty() {
                    item.push(token);
                }
                let comma = raw.get(k).is_some_and(|r| r.ends_with(','));
                if (lower == "and" || comma) && !item.is_empty() {
                    items.push(item.join(" "));
                    item.clear();
                }
            }
            if !item.is_empty() {
                items.push(item.join(" "));
            }
            for value in items {
                self.called.push(value, word);
            }
        }
    }

    /// How many values no parameter took.
    fn unused(&self) -> usize {
        let pools = [
            &self.quoted,
            &self.zones,
            &self.times,
            &self.urls,
            &self.paths,
            &self.files,
            &self.names,
        ];
        let left = |pool: &Pool| pool.items.iter().filter(|(_, _, used)| !used).count();
        pools.into_iter().map(left).sum::<usize>() + self.numbers.iter().filter(|n| !n.used).count()
    }

    /// Whether `value` is one of the request's words (or phrases).
    fn names_word(&self, value: &str) -> bool {
        let value: Vec<String> = value.split_whitespace().map(str::to_lowercase).collect();
        !value.is_empty() && self.words.windows(value.len()).any(|w| w == value.as_slice())
    }

    /// One value of `kind` for the parameter `name`, from the request.
    fn single(&mut self, kind: Kind, name: &str) -> Option<String> {
        let n = name.to_lowercase();
        match kind {
            Kind::Zone => {
                let after: &[&str] = if n.contains("source") || n.contains("from") {
                    &["from"]
                } else if n.contains("target") || n.contains("to") {
                    &["to", "into", "in"]
                } else {
                    &[]
                };
                self.zones.take(Some(after))
            }
            // Always 24-hour `HH:MM`, the form time parameters ask for.
            Kind::Time => self.times.take(None),
            Kind::Url => self.urls.take(None),
            Kind::Path => self.paths.take(None).or_else(|| self.files.take(None)),
            Kind::File => self.files.take(None).or_else(|| self.paths.take(None)),
            Kind::Name => self
                .called
                .take(None)
                .or_else(|| self.quoted.take(None))
                .or_else(|| self.names.take(None)),
            Kind::Other => None,
        }
    }

    /// Every value of `kind`, for an array of strings.
    fn list(&mut self, kind: Kind) -> Vec<String> {
        let found = match kind {
            Kind::Zone => self.zones.take_all(),
            Kind::Time => self.times.take_all(),
            Kind::Url => self.urls.take_all(),
            Kind::Path | Kind::File => {
                let mut all = self.paths.take_all();
                for file in self.files.take_all() {
                    if !all.contains(&file) {
                        all.push(file);
                    }
                }
                all
            }
            Kind::Name | Kind::Other => Vec::new(),
        };
        if !found.is_empty() {
            return found;
        }
        let called = self.called.take_all();
        if !called.is_empty() {
            return called;
        }
        let quoted = self.quoted.take_all();
        if !quoted.is_empty() || kind != Kind::Name {
            return quoted;
        }
        self.names.take_all()
    }
}

/// `Area/Location` IANA names and `UTC`/`GMT`.
fn is_zone(token: &str) -> bool {
    token == "UTC" || token == "GMT" || crate::router::is_time_zone(token)
}

fn is_path(token: &str) -> bool {
    (token.starts_with('/') && token.len() > 1)
        || token.starts_with("./")
        || token.starts_with("../")
        || token.starts_with("~/")
        || token == "~"
}

/// `notes.txt`: a name, a dot and a short alphanumeric extension with a letter.
fn is_file_name(token: &str) -> bool {
    let Some((stem, ext)) = token.rsplit_once('.') else { return false };
    !stem.is_empty()
        && !stem.contains('/')
        && (1..=5).contains(&ext.len())
        && ext.chars().all(|c| c.is_ascii_alphanumeric())
        && ext.chars().any(|c| c.is_ascii_alphabetic())
        && stem.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c))
}

/// A plain number: `17`, `-3`, `2.5`.
fn number(token: &str) -> Option<f64> {
    let digits = token.strip_prefix('-').unwrap_or(token);
    let plain = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().next().is_some_and(|c| c.is_ascii_digit())
        && digits.matches('.').count() <= 1;
    if plain { token.parse().ok() } else { None }
}

/// A time of day as `HH:MM`: `14:30`, `9:05`, `3pm`, `3:30 pm`, `noon`, `midnight`.
fn time_of_day(token: &str, next: &str) -> Option<String> {
    match token.to_lowercase().as_str() {
        "noon" => return Some("12:00".to_owned()),
        "midnight" => return Some("00:00".to_owned()),
        _ => {}
    }
    let lower = token.to_lowercase();
    let (clock, suffix) = if let Some(clock) = lower.strip_suffix("am") {
        (clock, Some(false))
    } else if let Some(clock) = lower.strip_suffix("pm") {
        (clock, Some(true))
    } else if next == "am" || next == "a.m" {
        (lower.as_str(), Some(false))
    } else if next == "pm" || next == "p.m" {
        (lower.as_str(), Some(true))
    } else {
        (lower.as_str(), None)
    };
    let (hour, minute) = match clock.split_once(':') {
        Some((h, m)) => (h, m),
        None if suffix.is_some() => (clock, "00"),
        None => return None,
    };
    let digits =
        |s: &str, max: usize| (1..=max).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit());
    if !(digits(hour, 2) && minute.len() == 2 && digits(minute, 2)) {
        return None;
    }
    let mut hour: u32 = hour.parse().ok()?;
    let minute: u32 = minute.parse().ok()?;
    if minute > 59 {
        return None;
    }
    match suffix {
        Some(pm) => {
            if !(1..=12).contains(&hour) {
                return None;
            }
            hour = hour % 12 + if pm { 12 } else { 0 };
        }
        None if hour > 23 => return None,
        None => {}
    }
    Some(format!("{hour:02}:{minute:02}"))
}

const STOP: [&str; 16] = [
    "the", "and", "for", "with", "number", "that", "this", "from", "into", "are", "its", "your",
    "you", "use", "any", "provided",
];

/// The words of a parameter's name (`max_count`, `includeImage`), lower case.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in name.chars() {
        let boundary = c == '_' || c == '-' || c == ' ' || c.is_uppercase();
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn same_word(a: &str, b: &str) -> bool {
    a == b || (a.len() >= 4 && b.len() >= 4 && (a.starts_with(b) || b.starts_with(a)))
}

/// How many words around a number fit the parameter's name and description.
fn score(number: &Number, name: &str, property: &Value) -> usize {
    let mut words = name_words(name);
    words.extend(text_of(property).split(|c: char| !c.is_alphanumeric()).map(str::to_owned));
    words.retain(|w| w.len() >= 3 && !STOP.contains(&w.as_str()));
    words.sort();
    words.dedup();
    number.around.iter().filter(|a| words.iter().any(|w| same_word(a, w))).count()
}

/// Names that say "how many": an optional one takes a number no other parameter fits.
fn counts(name: &str) -> bool {
    let words = name_words(name);
    words.iter().any(|w| {
        ["count", "max", "limit", "num", "top", "results", "lines", "n"].contains(&w.as_str())
    })
}

fn fits(number: &Number, property: &Value) -> bool {
    let integer = property["type"].as_str() == Some("integer");
    (!integer || number.value.fract() == 0.0)
        && property["minimum"].as_f64().is_none_or(|min| number.value >= min)
        && property["maximum"].as_f64().is_none_or(|max| number.value <= max)
}

/// Gives the request's numbers to numeric parameters: best fitting pairs first (words around the
/// number that name the parameter), then required parameters in order, then counts.
fn assign_numbers<'a>(
    params: &[(&'a str, &Value, bool)],
    tool: &str,
    facts: &mut Facts,
) -> Vec<(&'a str, Value)> {
    let mut out: Vec<(&'a str, Value)> = Vec::new();
    let taken = |out: &Vec<(&str, Value)>, name: &str| out.iter().any(|(n, _)| *n == name);
    loop {
        let mut best: Option<(usize, usize, usize)> = None;
        for (p, (name, property, _)) in params.iter().enumerate() {
            if taken(&out, name) {
                continue;
            }
            for (k, number) in facts.numbers.iter().enumerate() {
                if number.used || !fits(number, property) {
                    continue;
                }
                let s = score(number, name, property);
                if s > 0 && best.is_none_or(|(b, _, _)| s > b) {
                    best = Some((s, p, k));
                }
            }
        }
        let Some((_, p, k)) = best else { break };
        let (Some((name, _, _)), Some(number)) = (params.get(p), facts.numbers.get_mut(k)) else {
            break;
        };
        number.used = true;
        out.push((name, to_json(number)));
    }
    for (name, property, required) in params {
        if taken(&out, name) || !(*required || counts(name)) {
            continue;
        }
        // An optional count takes "3 commits" when the tool is about commits.
        let counted = |n: &Number| {
            *required
                || (n.next.len() >= 3
                    && !STOP.contains(&n.next.as_str())
                    && name_words(tool).iter().any(|w| same_word(&n.next, w)))
        };
        let free = |n: &&mut Number| !n.used && fits(n, property) && counted(n);
        if let Some(number) = facts.numbers.iter_mut().find(free) {
            number.used = true;
            out.push((name, to_json(number)));
        }
    }
    out
}

fn to_json(number: &Number) -> Value {
    match number.text.parse::<i64>() {
        Ok(integer) => json!(integer),
        Err(_) => json!(number.value),
    }
}

/// `Some(true)` when the request names the flag (`recursive`, `all`, `include image`),
/// `Some(false)` when it says "no …"/"without …", `None` when it does not mention it.
fn flag(name: &str, facts: &Facts) -> Option<bool> {
    const GENERIC: [&str; 9] =
        ["include", "is", "show", "use", "enable", "with", "should", "allow", "dry"];
    let words: Vec<String> =
        name_words(name).into_iter().filter(|w| !GENERIC.contains(&w.as_str())).collect();
    let at = facts.words.iter().position(|request| {
        words
            .iter()
            .any(|w| same_word(request, w) || request.starts_with(w.as_str()) && w.len() >= 4)
    })?;
    let negated = at
        .checked_sub(1)
        .and_then(|b| facts.words.get(b))
        .is_some_and(|b| ["no", "not", "without", "don't", "non"].contains(&b.as_str()));
    Some(!negated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(properties: Value, required: &[&str]) -> ToolSpec {
        ToolSpec::new(
            "t",
            "A tool.",
            json!({"type": "object", "properties": properties, "required": required}),
        )
    }

    fn args(properties: Value, required: &[&str], task: &str) -> Value {
        arguments(&tool(properties, required), task)
    }

    #[test]
    fn quoted_text_in_any_quotes() {
        let facts =
            Facts::new(r#"echo "one two" and 'three four' and “five” but don't split it's"#);
        let quoted: Vec<&str> = facts.quoted.items.iter().map(|(v, _, _)| v.as_str()).collect();
        assert_eq!(quoted, ["one two", "three four", "five"]);
        let message = json!({"message": {"type": "string"}});
        assert_eq!(
            args(message, &["message"], "echo 'hi there' please"),
            json!({"message": "hi there"})
        );
    }

    #[test]
    fn time_zones_in_request_order_and_by_preposition() {
        let zones = json!({
            "source_timezone": {"type": "string", "description": "Source IANA timezone name."},
            "target_timezone": {"type": "string", "description": "Target IANA timezone name."}
        });
        let required = ["source_timezone", "target_timezone"];
        assert_eq!(
            args(zones.clone(), &required, "from Europe/London to America/New_York"),
            json!({"source_timezone": "Europe/London", "target_timezone": "America/New_York"})
        );
        assert_eq!(
            args(zones, &required, "to Asia/Tokyo from UTC"),
            json!({"source_timezone": "UTC", "target_timezone": "Asia/Tokyo"})
        );
        let one = json!({"timezone": {"type": "string", "description": "Use 'UTC' if none given by the user."}});
        assert_eq!(args(one, &["timezone"], "what time is it"), json!({"timezone": "UTC"}));
        assert!(
            !is_zone("Asia/tokyo") && !is_zone("Foo/Bar") && is_zone("America/Argentina/Salta")
        );
    }

    #[test]
    fn times_of_day_become_hh_mm() {
        assert_eq!(time_of_day("14:30", "").as_deref(), Some("14:30"));
        assert_eq!(time_of_day("3pm", "").as_deref(), Some("15:00"));
        assert_eq!(time_of_day("3", "pm").as_deref(), Some("15:00"));
        assert_eq!(time_of_day("12am", "").as_deref(), Some("00:00"));
        assert_eq!(time_of_day("9:05", "").as_deref(), Some("09:05"));
        assert_eq!(time_of_day("noon", "").as_deref(), Some("12:00"));
        for not_a_time in ["25:00", "3", "13pm", "10:7", "a:bc", ""] {
            assert_eq!(time_of_day(not_a_time, ""), None, "{not_a_time}");
        }
        let time = json!({"time": {"type": "string", "description": "24-hour HH:MM"}});
        assert_eq!(args(time, &["time"], "convert 3 pm to Tokyo time"), json!({"time": "15:00"}));
    }

    #[test]
    fn paths_and_file_names() {
        let path = json!({"path": {"type": "string"}});
        for (task, want) in [
            ("list /x/y please", "/x/y"),
            ("list ./a.", "./a"),
            ("open ~/b, then stop", "~/b"),
            ("read notes.txt", "notes.txt"),
        ] {
            assert_eq!(args(path.clone(), &["path"], task), json!({"path": want}), "{task}");
        }
        let file = json!({"file": {"type": "string", "description": "The file to read"}});
        assert_eq!(args(file, &["file"], "read report.md now"), json!({"file": "report.md"}));
        assert!(is_file_name("notes.txt") && !is_file_name("3.5") && !is_file_name("v1."));
        let repo = json!({"repo_path": {"type": "string", "title": "Repo Path"}});
        assert_eq!(args(repo, &["repo_path"], "git status of /r"), json!({"repo_path": "/r"}));
    }

    #[test]
    fn urls() {
        let url = json!({"url": {"type": "string", "format": "uri"}});
        assert_eq!(
            args(url, &["url"], "fetch https://example.com/a?b=1, please"),
            json!({"url": "https://example.com/a?b=1"})
        );
    }

    #[test]
    fn names_of_people_and_entities() {
        let names = json!({"names": {"type": "array", "items": {"type": "string"}, "description": "Entity names"}});
        assert_eq!(
            args(names.clone(), &["names"], "open the entries for Grace Hopper and Alan Turing"),
            json!({"names": ["Grace Hopper", "Alan Turing"]})
        );
        assert_eq!(
            args(names, &["names"], "delete the nodes named alpha, beta and gamma"),
            json!({"names": ["alpha", "beta", "gamma"]})
        );
        let name = json!({"name": {"type": "string", "description": "The name of the entity"}});
        assert_eq!(
            args(name.clone(), &["name"], "Tell me about Ada Lovelace on MemoryServer"),
            json!({"name": "Ada Lovelace"})
        );
        assert_eq!(args(name, &["name"], "make one called draft"), json!({"name": "draft"}));
    }

    #[test]
    fn numbers_by_fit_order_and_range() {
        let sum = json!({"a": {"type": "number"}, "b": {"type": "number"}});
        assert_eq!(args(sum.clone(), &["a", "b"], "add 17 and 2.5"), json!({"a": 17, "b": 2.5}));
        assert_eq!(args(sum, &["a", "b"], "add -3"), json!({"a": -3, "b": 5}));
        let lines = json!({
            "head": {"type": "number", "description": "The first N lines"},
            "tail": {"type": "number", "description": "The last N lines"},
            "path": {"type": "string"}
        });
        assert_eq!(
            args(lines, &["path"], "show the last 5 lines of app.log"),
            json!({"path": "app.log", "tail": 5})
        );
        let ranged = json!({"count": {"type": "integer", "minimum": 1, "maximum": 10}});
        assert_eq!(
            args(ranged.clone(), &["count"], "give 50, no, 2.5, no, 7"),
            json!({"count": 7})
        );
        assert_eq!(args(ranged, &["count"], "give 50"), json!({"count": 1}));
        assert_eq!(number("1.2.3"), None);
        assert_eq!(number("-"), None);
    }

    #[test]
    fn enums_and_flags() {
        let schema = json!({
            "kind": {"type": "string", "enum": ["error", "success"]},
            "recursive": {"type": "boolean"},
            "includeImage": {"type": "boolean", "default": false}
        });
        assert_eq!(
            args(
                schema.clone(),
                &["kind", "recursive"],
                "a success message, recursive, with an image"
            ),
            json!({"kind": "success", "recursive": true, "includeImage": true})
        );
        assert_eq!(
            args(schema, &["kind", "recursive"], "anything, not recursive"),
            json!({"kind": "error", "recursive": false})
        );
        let all = json!({"all": {"type": "boolean"}});
        assert_eq!(args(all, &["all"], "list all branches"), json!({"all": true}));
    }

    #[test]
    fn lists_of_strings() {
        let tags = json!({"tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}});
        assert_eq!(
            args(tags.clone(), &["tags"], r#"tag it "red", "green""#),
            json!({"tags": ["red", "green"]})
        );
        assert_eq!(args(tags, &["tags"], "tag it about cats"), json!({"tags": ["cats"]}));
        let files = json!({"paths": {"type": "array", "items": {"type": "string"}, "description": "file paths"}});
        assert_eq!(
            args(files, &["paths"], "read /a/b.txt and c.md"),
            json!({"paths": ["/a/b.txt", "c.md"]})
        );
    }

    #[test]
    fn the_old_behaviours_stay() {
        let query = json!({"query": {"type": "string", "description": "The user's query."}});
        assert_eq!(
            args(query, &["query"], "find 3 papers on X"),
            json!({"query": "find 3 papers on X"})
        );
        let query = json!({"query": {"type": "string"}});
        assert_eq!(
            args(query, &["query"], "Search for papers about large language models on ArxivServer"),
            json!({"query": "large language models"})
        );
    }

    #[test]
    fn no_panic_on_odd_input() {
        let schema = json!({
            "a": {"type": "number"}, "s": {"type": "string"}, "l": {"type": "array"},
            "t": {"type": "string", "description": "HH:MM"}, "z": {"type": "string", "description": "timezone"}
        });
        for task in
            ["", " ", "\"", "'", "“", "é ü 3:", "named", "called ,", "/ ~ ./ ..", "12am:", "Ａ Ｂ"]
        {
            let _ = args(schema.clone(), &["a", "s", "l", "t", "z"], task);
        }
        let _ = arguments(&ToolSpec::new("x", "", json!(null)), "anything");
    }
}
