//! YAML (and JSON) text to a tree of nodes that remember their line and
//! column, so every rule can be traced to file:line.
//!
//! Hostile input is bounded here: file size, nesting depth, node count and
//! alias expansion all have limits, checked while parsing, never after.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use std::collections::BTreeMap;

/// Limits on one file. Generous for real manifests, small enough that a YAML
/// bomb ends quickly with an error.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    /// Nodes per file, aliases expanded.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_depth: 128,
            max_nodes: 8_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; `plain` when it was written without quotes (E-37 warnings).
    Str {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in document order; keys are unique.
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub text: String,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A present, non-null field.
    pub fn field(&self, key: &str) -> Option<&Node> {
        self.get(key).filter(|n| !n.is_null())
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(e) => Some(e),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(v) => Some(v),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str { .. } => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    fn count(&self) -> usize {
        1 + match &self.value {
            Value::Seq(v) => v.iter().map(Node::count).sum(),
            Value::Map(e) => e.iter().map(|(_, n)| 1 + n.count()).sum(),
            _ => 0,
        }
    }
}

/// One YAML document of a file.
#[derive(Debug)]
pub struct Document {
    pub root: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
    pub limit: bool,
}

/// Parses every document of `text`. Empty documents are dropped. Also returns
/// the positions where a tab inside a flow collection had to be accepted.
pub fn parse(text: &str, limits: &Limits) -> Result<(Vec<Document>, Vec<Pos>), YamlError> {
    if text.len() > limits.max_bytes {
        return Err(YamlError {
            pos: Pos { line: 1, col: 1 },
            message: format!(
                "file is {} bytes, more than the limit of {} bytes",
                text.len(),
                limits.max_bytes
            ),
            limit: true,
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(offset) = text.find('\0') {
        let line = text[..offset].bytes().filter(|&b| b == b'\n').count() + 1;
        return Err(YamlError {
            pos: Pos {
                line: line as u32,
                col: 1,
            },
            message: "binary data (NUL byte) in a text file".into(),
            limit: false,
        });
    }
    let mut owned: Option<String> = None;
    let mut tab_fixes = Vec::new();
    // libyaml (behind kubectl) accepts a tab that starts a line inside a flow
    // collection; saphyr does not. Replace such leading tabs with spaces
    // (same byte length, so positions stay valid) and parse again.
    loop {
        let current = owned.as_deref().unwrap_or(text);
        match parse_once(current, limits) {
            Ok(docs) => return Ok((docs, tab_fixes)),
            Err(ParseFailure::Scan(e)) => {
                let line = e.marker().line();
                if e.info().contains("tab") && tab_fixes.len() < 1000 {
                    if let Some(fixed) = fix_flow_tab(current, line) {
                        tab_fixes.push(Pos {
                            line: line as u32,
                            col: 1,
                        });
                        owned = Some(fixed);
                        continue;
                    }
                }
                // saphyr has its own nesting limit; it is a limit, not a syntax error.
                let limit = e.info().contains("recursion limit");
                return Err(YamlError {
                    pos: Pos {
                        line: e.marker().line() as u32,
                        col: e.marker().col() as u32 + 1,
                    },
                    message: if limit {
                        format!("nesting too deep ({})", e.info())
                    } else {
                        e.info().to_string()
                    },
                    limit,
                });
            }
            Err(ParseFailure::Other(err)) => return Err(err),
        }
    }
}

/// Replaces the leading tabs of line `line` (1-based) with spaces when the
/// previous significant character opens or continues a flow collection.
fn fix_flow_tab(text: &str, line: usize) -> Option<String> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[start..];
    let lead = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if !rest[..lead].contains('\t') {
        return None;
    }
    let before = text[..start].trim_end();
    let last_significant = before
        .lines()
        .rev()
        .map(|l| l.split(" #").next().unwrap_or(l).trim_end())
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .and_then(|l| l.chars().last())?;
    if !matches!(last_significant, '[' | '{' | ',') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str(&rest[..lead].replace('\t', " "));
    out.push_str(&rest[lead..]);
    Some(out)
}

enum ParseFailure {
    Scan(ScanError),
    Other(YamlError),
}

enum Frame {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
        /// Keys that came from a `<<` merge; an explicit key overrides them.
        merged: Vec<String>,
        pos: Pos,
        anchor: usize,
    },
}

fn parse_once(text: &str, limits: &Limits) -> Result<Vec<Document>, ParseFailure> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: BTreeMap<usize, Node> = BTreeMap::new();
    let mut nodes = 0usize;
    let mut root: Option<Node> = None;
    let limit_err = |pos: Pos, message: String| {
        ParseFailure::Other(YamlError {
            pos,
            message,
            limit: true,
        })
    };

    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(ParseFailure::Scan)?;
        let pos = Pos {
            line: span.start.line() as u32,
            col: span.start.col() as u32 + 1,
        };
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                anchors.clear();
                root = None;
                None
            }
            Event::DocumentEnd => {
                if let Some(r) = root.take() {
                    if !r.is_null() {
                        docs.push(Document { root: r });
                    }
                }
                None
            }
            Event::Alias(id) => {
                let target = anchors.get(&id).ok_or_else(|| {
                    ParseFailure::Other(YamlError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                        limit: false,
                    })
                })?;
                let size = target.count();
                nodes += size;
                if nodes > limits.max_nodes {
                    return Err(limit_err(
                        pos,
                        format!(
                            "aliases expand to more than {} nodes (a YAML bomb?)",
                            limits.max_nodes
                        ),
                    ));
                }
                let mut copy = target.clone();
                copy.pos = pos;
                Some((copy, 0))
            }
            Event::Scalar(value, style, anchor, tag) => {
                nodes += 1;
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                Some((
                    Node {
                        value: resolve_scalar(&value, style, tag.as_deref()),
                        pos,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(limit_err(
                        pos,
                        format!("nesting deeper than {} levels", limits.max_depth),
                    ));
                }
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    pos,
                    anchor,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(limit_err(
                        pos,
                        format!("nesting deeper than {} levels", limits.max_depth),
                    ));
                }
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    merged: Vec::new(),
                    pos,
                    anchor,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, pos, anchor }) => {
                    nodes += 1;
                    Some((
                        Node {
                            value: Value::Seq(items),
                            pos,
                        },
                        anchor,
                    ))
                }
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    pos,
                    anchor,
                    ..
                }) => {
                    nodes += 1;
                    Some((
                        Node {
                            value: Value::Map(entries),
                            pos,
                        },
                        anchor,
                    ))
                }
                _ => None,
            },
        };
        if nodes > limits.max_nodes {
            return Err(limit_err(
                pos,
                format!("more than {} YAML nodes in one file", limits.max_nodes),
            ));
        }
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                merged,
                ..
            }) => match pending_key.take() {
                None => {
                    let text = match node.value {
                        Value::Str { text, .. } => text,
                        Value::Null => String::new(),
                        Value::Bool(b) => b.to_string(),
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(ParseFailure::Other(YamlError {
                                pos: node.pos,
                                message: "a mapping key must be a scalar".into(),
                                limit: false,
                            }));
                        }
                    };
                    *pending_key = Some(Key {
                        text,
                        pos: node.pos,
                    });
                }
                Some(key) => {
                    if key.text == "<<" {
                        merge_into(entries, merged, node);
                    } else if let Some(i) = merged.iter().position(|m| *m == key.text) {
                        merged.swap_remove(i);
                        if let Some(slot) = entries.iter_mut().find(|(k, _)| k.text == key.text) {
                            *slot = (key, node);
                        }
                    } else if let Some((prev, _)) = entries.iter().find(|(k, _)| k.text == key.text)
                    {
                        return Err(ParseFailure::Other(YamlError {
                            pos: key.pos,
                            message: format!(
                                "duplicate key {:?} (first at line {})",
                                key.text, prev.pos.line
                            ),
                            limit: false,
                        }));
                    } else {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
    Ok(docs)
}

/// YAML 1.1 merge key (`<<: *base`), which the Go YAML library behind kubectl
/// supports: keys already present win.
fn merge_into(entries: &mut Vec<(Key, Node)>, merged: &mut Vec<String>, node: Node) {
    let sources: Vec<Node> = match node.value {
        Value::Seq(items) => items,
        _ => vec![node],
    };
    for src in sources {
        if let Value::Map(src_entries) = src.value {
            for (k, v) in src_entries {
                if !entries.iter().any(|(e, _)| e.text == k.text) {
                    merged.push(k.text.clone());
                    entries.push((k, v));
                }
            }
        }
    }
}

/// Scalar typing: YAML 1.2 core schema for plain scalars, quoted scalars are
/// strings, explicit `!!str`/`!!int`/... tags honoured.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    let string = |plain| Value::Str {
        text: text.to_string(),
        plain,
    };
    match tag {
        Some("!!str") | Some("tag:yaml.org,2002:str") => return string(false),
        Some("!!int") | Some("tag:yaml.org,2002:int") => {
            return parse_int(text).map_or_else(|| string(false), Value::Int);
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return string(false);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if looks_like_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    string(true)
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -value } else { value })
}

fn looks_like_float(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    let mut seen_digit = false;
    let mut chars = t.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            seen_digit = true;
            chars.next();
        } else {
            break;
        }
    }
    if chars.peek() == Some(&'.') {
        chars.next();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() {
                seen_digit = true;
                chars.next();
            } else {
                break;
            }
        }
    }
    if !seen_digit {
        return false;
    }
    if matches!(chars.peek(), Some('e') | Some('E')) {
        chars.next();
        if matches!(chars.peek(), Some('+') | Some('-')) {
            chars.next();
        }
        let mut exp = false;
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() {
                exp = true;
                chars.next();
            } else {
                break;
            }
        }
        if !exp {
            return false;
        }
    }
    chars.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let (mut docs, _) = parse(text, &Limits::default()).unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0).root
    }

    #[test]
    fn scalars_are_typed_like_yaml_1_2() {
        let n = one("a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 1.5\ng: 0x10\nh: \"x\"\n");
        assert_eq!(n.get("a").unwrap().value, Value::Int(1));
        assert!(matches!(
            n.get("b").unwrap().value,
            Value::Str { plain: false, .. }
        ));
        assert_eq!(n.get("c").unwrap().value, Value::Bool(true));
        assert!(
            matches!(&n.get("d").unwrap().value, Value::Str { text, plain: true } if text == "yes")
        );
        assert!(n.get("e").unwrap().is_null());
        assert_eq!(n.get("f").unwrap().value, Value::Float(1.5));
        assert_eq!(n.get("g").unwrap().value, Value::Int(16));
    }

    #[test]
    fn positions_are_one_based() {
        let n = one("---\nkind: X\nspec:\n  ingress:\n  - from: []\n");
        let rule = &n
            .get("spec")
            .unwrap()
            .get("ingress")
            .unwrap()
            .items()
            .unwrap()[0];
        assert_eq!(rule.pos, Pos { line: 5, col: 5 });
    }

    #[test]
    fn documents_split_and_empty_ones_dropped() {
        let (docs, _) = parse(
            "a: 1\n---\n# only a comment\n---\nb: 2\n...\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn bom_json_and_merge_keys() {
        let n = one("\u{feff}{\"a\": [1, 2], \"b\": {\"c\": null}}");
        assert_eq!(n.get("a").unwrap().items().unwrap().len(), 2);
        let m = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        let d = m.get("derived").unwrap();
        assert_eq!(d.get("x").unwrap().value, Value::Int(1));
        assert_eq!(d.get("y").unwrap().value, Value::Int(3));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("a: 1\nb: 2\na: 3\n", &Limits::default()).unwrap_err();
        assert_eq!(e.pos.line, 3);
        assert!(e.message.contains("duplicate key"));
    }

    #[test]
    fn tab_inside_flow_sequence_is_accepted() {
        let text = "args:\n  [\n    \"-jar\",\n\t    \"x\",\n  ]\n";
        let (docs, fixes) = parse(text, &Limits::default()).unwrap();
        assert_eq!(docs[0].root.get("args").unwrap().items().unwrap().len(), 2);
        assert_eq!(fixes.len(), 1);
        // A tab in block indentation stays an error.
        assert!(parse("a:\n\tb: 1\n", &Limits::default()).is_err());
    }

    #[test]
    fn billion_laughs_is_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let e = parse(&text, &Limits::default()).unwrap_err();
        assert!(e.limit, "{e:?}");
    }

    #[test]
    fn deep_nesting_is_stopped() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse(&text, &Limits::default()).unwrap_err();
        assert!(e.limit);
        let block: String = (0..500)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(parse(&block, &Limits::default()).unwrap_err().limit);
    }

    #[test]
    fn binary_garbage_is_an_error_not_a_panic() {
        assert!(parse("\0\x01\x02", &Limits::default()).is_err());
        let _ = parse("\u{1}\u{2}: [}{", &Limits::default());
    }
}
