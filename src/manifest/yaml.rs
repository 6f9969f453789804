//! YAML (and JSON) text to trees whose every node knows its line and column,
//! so every rule can be traced to file:line.
//!
//! Work is bounded by the size of the text, whatever its shape:
//! - A document is an arena ([`Tree`]): nodes in one vector, children as
//!   indices, scalar text in one string. A few dozen bytes per node, no
//!   allocation per node, and each document is handed to the caller and
//!   dropped before the next is built, so memory follows the largest
//!   document, not the file.
//! - An alias is the index of its anchor's node, never a copy: the tree is a
//!   DAG, and a skipped object is never expanded. What an expansion *would*
//!   cost is counted while parsing (every node weighs [`NODE_WEIGHT`] plus
//!   its text), and a file is refused as soon as its aliases and merge keys
//!   would add more than [`Limits::max_expansion`]. Depth is bounded for the
//!   expanded tree too, so every walk over it is shallow.
//! - Keys are checked for duplicates with a hash index per mapping (a linear
//!   scan while the mapping is small), so a mapping of a million keys loads
//!   in linear time. A duplicate is not an error here: the later value wins,
//!   as in the Go YAML library behind kubectl, and the loader decides from
//!   what the analysis read whether it matters ([`Document::dups`]).

pub mod owned;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// What one node of an expanded tree is counted as, in bytes, on top of its
/// text: about what a program that materialises it pays.
pub const NODE_WEIGHT: u64 = 32;

/// Limits on one file. Generous for real manifests, small enough that
/// hostile input ends quickly with an error.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: usize,
    /// Nesting depth, counted in the expanded tree (aliases included).
    pub max_depth: usize,
    /// Weight (see [`NODE_WEIGHT`]) that aliases and merge keys may add to a
    /// file: a fixed budget, counted while parsing, never materialised.
    pub max_expansion: u64,
    /// Text of one object the analysis models (a workload, a policy, a
    /// Namespace, a Service), in characters. The API server accepts at most
    /// 3 MiB in one request (and etcd stores 1.5 MiB), so a larger object can
    /// never be applied; the margin allows for YAML being longer than JSON.
    pub max_object_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_depth: 128,
            max_expansion: 64 << 20,
            max_object_bytes: 4 << 20,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Seq,
    Map,
}

/// One node of the arena.
#[derive(Debug)]
struct Data {
    pos: Pos,
    /// Str: offset and length in `Tree::text`; Seq: offset and count in
    /// `Tree::kids`; Map: offset in `Tree::kids` and entry count (two kids
    /// an entry); Bool: 0 or 1; Int, Float: the 64 bits.
    a: u32,
    b: u32,
    /// The expanded weight, saturated.
    weight: u32,
    /// The expanded height (a scalar is 1), saturated.
    height: u8,
    tag: Tag,
    /// [`PLAIN`], [`ANCHORED`].
    flags: u8,
    /// Set when the loader looked at this node's value (see [`Node::value`]).
    read: Cell<bool>,
}

/// A string written without quotes.
const PLAIN: u8 = 1;
/// A node an anchor names: aliases may share it.
const ANCHORED: u8 = 2;

impl Data {
    fn plain(&self) -> bool {
        self.flags & PLAIN != 0
    }
}

/// One document's nodes.
#[derive(Debug, Default)]
pub struct Tree {
    nodes: Vec<Data>,
    kids: Vec<u32>,
    text: String,
    /// The collections near the root (where objects are), in id order.
    near_root: Vec<NearRoot>,
}

/// Where a collection near the root was written.
#[derive(Clone, Copy, Debug)]
struct NearRoot {
    id: u32,
    /// The nodes written inside are exactly the ids `first..id`.
    first: u32,
    /// Its text, in characters: `start..end`.
    start: usize,
    end: usize,
}

/// Collections this close to the root record where they were written
/// (objects are at most a few Lists deep).
const NEAR_ROOT_DEPTH: usize = 12;

impl Tree {
    fn clear(&mut self) {
        self.nodes.clear();
        self.kids.clear();
        self.text.clear();
        self.near_root.clear();
    }

    fn near_root(&self, id: u32) -> Option<&NearRoot> {
        let i = self.near_root.binary_search_by_key(&id, |n| n.id).ok()?;
        self.near_root.get(i)
    }

    fn data(&self, id: u32) -> &Data {
        &self.nodes[id as usize]
    }

    fn str_of(&self, id: u32) -> &str {
        let d = self.data(id);
        &self.text[d.a as usize..(d.a + d.b) as usize]
    }

    fn kids_of(&self, id: u32) -> &[u32] {
        let d = self.data(id);
        let len = if d.tag == Tag::Map { 2 * d.b } else { d.b };
        &self.kids[d.a as usize..(d.a + len) as usize]
    }

    fn node(&self, id: u32) -> Node<'_> {
        Node {
            tree: self,
            id,
            pos: self.data(id).pos,
        }
    }
}

/// A node of a [`Tree`]: a cheap handle. Reading its value marks it as read
/// (see [`Document::was_read`]); its position does not.
#[derive(Clone, Copy)]
pub struct Node<'t> {
    tree: &'t Tree,
    id: u32,
    pub pos: Pos,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.tree.data(self.id);
        write!(f, "{:?}@{}:{}", d.tag, d.pos.line, d.pos.col)
    }
}

/// The value of a node.
#[derive(Clone, Copy, Debug)]
pub enum Value<'t> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; `plain` when it was written without quotes (E-37 warnings).
    Str {
        text: &'t str,
        plain: bool,
    },
    Seq(Items<'t>),
    /// Entries in document order; keys are unique.
    Map(Entries<'t>),
}

/// A mapping key (always text: other scalars are converted as the Go YAML
/// library does).
#[derive(Clone, Copy, Debug)]
pub struct Key<'t> {
    pub text: &'t str,
    pub pos: Pos,
}

/// The items of a sequence.
#[derive(Clone, Copy)]
pub struct Items<'t> {
    /// None only for [`Items::EMPTY`].
    tree: Option<&'t Tree>,
    ids: &'t [u32],
}

impl std::fmt::Debug for Items<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} items]", self.ids.len())
    }
}

impl<'t> Items<'t> {
    /// No items (an absent or null list).
    pub const EMPTY: Items<'static> = Items {
        tree: None,
        ids: &[],
    };

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Node<'t>> {
        let tree = self.tree?;
        self.ids.get(i).map(|&id| tree.node(id))
    }

    pub fn iter(&self) -> ItemsIter<'t> {
        ItemsIter {
            tree: self.tree,
            ids: self.ids.iter(),
        }
    }
}

pub struct ItemsIter<'t> {
    tree: Option<&'t Tree>,
    ids: std::slice::Iter<'t, u32>,
}

impl<'t> Iterator for ItemsIter<'t> {
    type Item = Node<'t>;
    fn next(&mut self) -> Option<Node<'t>> {
        let tree = self.tree?;
        self.ids.next().map(|&id| tree.node(id))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}

impl ExactSizeIterator for ItemsIter<'_> {}

impl<'t> IntoIterator for Items<'t> {
    type Item = Node<'t>;
    type IntoIter = ItemsIter<'t>;
    fn into_iter(self) -> ItemsIter<'t> {
        self.iter()
    }
}

/// The entries of a mapping, in document order.
#[derive(Clone, Copy)]
pub struct Entries<'t> {
    tree: &'t Tree,
    ids: &'t [u32],
}

impl std::fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{} entries}}", self.len())
    }
}

impl<'t> Entries<'t> {
    pub fn len(&self) -> usize {
        self.ids.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn iter(&self) -> EntriesIter<'t> {
        EntriesIter {
            tree: self.tree,
            ids: self.ids.chunks_exact(2),
        }
    }

    /// The value of `key` (a linear scan: callers ask for a few fixed keys
    /// per node, never one per entry).
    pub fn get(&self, key: &str) -> Option<Node<'t>> {
        self.ids
            .chunks_exact(2)
            .find(|kv| self.tree.str_of(kv[0]) == key)
            .map(|kv| self.tree.node(kv[1]))
    }
}

pub struct EntriesIter<'t> {
    tree: &'t Tree,
    ids: std::slice::ChunksExact<'t, u32>,
}

impl<'t> Iterator for EntriesIter<'t> {
    type Item = (Key<'t>, Node<'t>);
    fn next(&mut self) -> Option<Self::Item> {
        let kv = self.ids.next()?;
        let key = Key {
            text: self.tree.str_of(kv[0]),
            pos: self.tree.data(kv[0]).pos,
        };
        Some((key, self.tree.node(kv[1])))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}

impl ExactSizeIterator for EntriesIter<'_> {}

impl<'t> IntoIterator for Entries<'t> {
    type Item = (Key<'t>, Node<'t>);
    type IntoIter = EntriesIter<'t>;
    fn into_iter(self) -> EntriesIter<'t> {
        self.iter()
    }
}

impl<'t> Node<'t> {
    fn data(self) -> &'t Data {
        self.tree.data(self.id)
    }

    /// The node's value; marks the node as read.
    pub fn value(self) -> Value<'t> {
        let d = self.data();
        d.read.set(true);
        let bits = || (u64::from(d.a) << 32) | u64::from(d.b);
        match d.tag {
            Tag::Null => Value::Null,
            Tag::Bool => Value::Bool(d.a != 0),
            Tag::Int => Value::Int(bits() as i64),
            Tag::Float => Value::Float(f64::from_bits(bits())),
            Tag::Str => Value::Str {
                text: self.tree.str_of(self.id),
                plain: d.plain(),
            },
            Tag::Seq => Value::Seq(Items {
                tree: Some(self.tree),
                ids: self.tree.kids_of(self.id),
            }),
            Tag::Map => Value::Map(Entries {
                tree: self.tree,
                ids: self.tree.kids_of(self.id),
            }),
        }
    }

    pub fn get(self, key: &str) -> Option<Node<'t>> {
        self.entries()?.get(key)
    }

    /// A present, non-null field.
    pub fn field(self, key: &str) -> Option<Node<'t>> {
        self.get(key).filter(|n| !n.is_null())
    }

    pub fn is_null(self) -> bool {
        matches!(self.value(), Value::Null)
    }

    pub fn as_str(self) -> Option<&'t str> {
        match self.value() {
            Value::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn entries(self) -> Option<Entries<'t>> {
        match self.value() {
            Value::Map(e) => Some(e),
            _ => None,
        }
    }

    pub fn items(self) -> Option<Items<'t>> {
        match self.value() {
            Value::Seq(v) => Some(v),
            _ => None,
        }
    }

    pub fn type_name(self) -> &'static str {
        match self.value() {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str { .. } => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// The node's id in its tree.
    pub fn id(self) -> u32 {
        self.id
    }

    /// Whether node `other` was written inside this node (not reached
    /// through an alias).
    pub fn contains(self, other: u32) -> bool {
        let first = self.tree.near_root(self.id).map(|n| n.first);
        other == self.id || first.is_some_and(|f| (f..self.id).contains(&other))
    }

    /// The length of the node's text in characters, for collections near
    /// the root (objects); None elsewhere.
    pub fn text_len(self) -> Option<usize> {
        self.tree.near_root(self.id).map(|n| n.end - n.start)
    }
}

/// A key written twice in one mapping. The later value is the one in the
/// tree.
#[derive(Clone, Debug)]
pub struct DupKey {
    pub key: String,
    /// The mapping.
    pub map: u32,
    pub first: Pos,
    pub second: Pos,
    pub first_value: u32,
    pub second_value: u32,
}

/// One YAML document of a file.
#[derive(Debug)]
pub struct Document {
    tree: Tree,
    root: u32,
    pub dups: Vec<DupKey>,
}

impl Document {
    pub fn root(&self) -> Node<'_> {
        self.tree.node(self.root)
    }

    pub fn node(&self, id: u32) -> Node<'_> {
        self.tree.node(id)
    }

    /// Whether anything looked at the value of node `id` since it was parsed.
    pub fn was_read(&self, id: u32) -> bool {
        self.tree.data(id).read.get()
    }

    /// Whether two nodes hold the same data (positions aside). Walks at most
    /// the expanded size of the smaller, which the limits bound.
    pub fn same(&self, a: u32, b: u32) -> bool {
        if a == b {
            return true;
        }
        let (da, db) = (self.tree.data(a), self.tree.data(b));
        if da.tag != db.tag {
            return false;
        }
        match da.tag {
            Tag::Null => true,
            Tag::Bool | Tag::Int | Tag::Float => da.a == db.a && da.b == db.b,
            Tag::Str => self.tree.str_of(a) == self.tree.str_of(b),
            Tag::Seq | Tag::Map => {
                let (ka, kb) = (self.tree.kids_of(a), self.tree.kids_of(b));
                ka.len() == kb.len() && ka.iter().zip(kb).all(|(&x, &y)| self.same(x, y))
            }
        }
    }

    /// A hash of node `id`'s data, positions aside: equal for data that
    /// [`Document::same`] finds equal. Each node is hashed once, however
    /// often aliases repeat it.
    pub fn fingerprint(&self, id: u32) -> u64 {
        let mut memo = HashMap::new();
        self.hash_node(id, &mut memo)
    }

    fn hash_node(&self, id: u32, memo: &mut HashMap<u32, u64>) -> u64 {
        use std::hash::Hash;
        if let Some(&h) = memo.get(&id) {
            return h;
        }
        let d = self.tree.data(id);
        // A fixed hash, the same on every run (only duplicates of skipped
        // objects are compared with it; crafted collisions cannot matter).
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        (d.tag as u8).hash(&mut h);
        match d.tag {
            Tag::Null => {}
            Tag::Bool | Tag::Int | Tag::Float => (d.a, d.b).hash(&mut h),
            Tag::Str => self.tree.str_of(id).hash(&mut h),
            Tag::Seq | Tag::Map => {
                for &k in self.tree.kids_of(id) {
                    self.hash_node(k, memo).hash(&mut h);
                }
            }
        }
        let v = h.finish();
        // Only a node an anchor names can be met twice.
        if d.flags & ANCHORED != 0 {
            memo.insert(id, v);
        }
        v
    }

    /// Number of nodes written in the document.
    pub fn len(&self) -> usize {
        self.tree.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.nodes.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
    pub limit: bool,
}

/// What [`parse_each`] hands its caller.
pub enum Feed<'d> {
    /// A non-empty document, in file order.
    Document(&'d Document),
    /// Forget every document handed over so far: the text is parsed again
    /// (after a tab inside a flow collection was accepted).
    Restart,
}

/// Parses every document of `text`, handing each (empty ones dropped) to
/// `feed` before the next is built. Returns the positions where a tab inside
/// a flow collection had to be accepted. On error, documents already handed
/// over must be discarded by the caller: the file is refused as a whole.
pub fn parse_each(
    text: &str,
    limits: &Limits,
    feed: &mut dyn FnMut(Feed<'_>),
) -> Result<Vec<Pos>, YamlError> {
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
    // (same byte length, so positions stay valid) and parse again. Each
    // retry parses the whole text again, so the number of retries shrinks
    // with the size of the file: the total stays linear in it.
    let max_retries = (4 + (16 << 20) / text.len().max(1)).min(1000);
    loop {
        let current = owned.as_deref().unwrap_or(text);
        match parse_once(current, limits, feed) {
            Ok(()) => return Ok(tab_fixes),
            Err(ParseFailure::Scan(e)) => {
                let tab = e.info().contains("tab");
                let line = if tab && e.info().contains("plain scalar") {
                    tab_line(current, e.marker().line())
                } else {
                    e.marker().line()
                };
                if tab {
                    if let Some(fixed) = fix_flow_tab(current, line) {
                        if tab_fixes.len() >= max_retries {
                            return Err(YamlError {
                                pos: Pos {
                                    line: line as u32,
                                    col: 1,
                                },
                                message: format!(
                                    "more than {max_retries} lines of this file start with a tab inside a flow collection; indent them with spaces"
                                ),
                                limit: true,
                            });
                        }
                        tab_fixes.push(Pos {
                            line: line as u32,
                            col: 1,
                        });
                        owned = Some(fixed);
                        feed(Feed::Restart);
                        continue;
                    }
                }
                // saphyr has its own nesting limit; it is a limit, not a syntax error.
                let limit = e.info().contains("recursion limit");
                let col = if line == e.marker().line() {
                    e.marker().col() as u32 + 1
                } else {
                    1
                };
                return Err(YamlError {
                    pos: Pos {
                        line: line as u32,
                        col,
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

/// Checks `text` with this module's parser, which is linear in the size of
/// the text and bounded by `limits`, and keeps nothing. Repository text that
/// other code reads with `serde_yaml` must pass here first: libyaml, under
/// `serde_yaml`, spends time quadratic in flow nesting (100,000 `[` take
/// minutes before its recursion limit answers), so a file in a pull request
/// could stall an analysis. Text this parser refuses is refused: the loader
/// would refuse it as a manifest too.
pub fn guard(text: &str, limits: &Limits) -> Result<(), YamlError> {
    parse_each(text, limits, &mut |_| {}).map(|_| ())
}

/// Every document of `text`, kept (tests and small inputs; the loader uses
/// [`parse_each`]).
pub fn parse(text: &str, limits: &Limits) -> Result<(Vec<Document>, Vec<Pos>), YamlError> {
    let mut docs = Vec::new();
    let mut keep = |f: Feed<'_>| match f {
        Feed::Document(d) => docs.push(d.clone_tree()),
        Feed::Restart => docs.clear(),
    };
    let fixes = parse_each(text, limits, &mut keep)?;
    Ok((docs, fixes))
}

impl Document {
    fn clone_tree(&self) -> Document {
        Document {
            tree: Tree {
                nodes: self
                    .tree
                    .nodes
                    .iter()
                    .map(|d| Data {
                        read: Cell::new(false),
                        ..*d
                    })
                    .collect(),
                kids: self.tree.kids.clone(),
                text: self.tree.text.clone(),
                near_root: self.tree.near_root.clone(),
            },
            root: self.root,
            dups: self.dups.clone(),
        }
    }
}

/// The line a tab error is about. saphyr cites a plain scalar that runs
/// into a tab at the scalar's first line; the tab is in the indentation of
/// a later line, the first whose indentation holds one.
fn tab_line(text: &str, line: usize) -> usize {
    let indented_by_tab = |l: &str| {
        let lead = l.len() - l.trim_start_matches([' ', '\t']).len();
        l[..lead].contains('\t')
    };
    let mut rest = text.lines().enumerate().skip(line.saturating_sub(1));
    match rest.next() {
        Some((_, first)) if indented_by_tab(first) => line,
        Some(_) => rest
            .find(|(_, l)| indented_by_tab(l))
            .map_or(line, |(i, _)| i + 1),
        None => line,
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

/// Mappings with more entries than this get a hash index for their keys.
const SMALL_MAP: usize = 16;

/// Key text → entry index of a large mapping, without a copy of the text:
/// the key's keyed SipHash (the standard library's per-process random keys,
/// so crafted keys cannot force collisions), checked against the text.
struct KeyIndex {
    slots: HashMap<u64, usize, BuildHasherDefault<PassThrough>>,
    /// Entries whose 64-bit hash another key already holds.
    spill: Vec<(u64, usize)>,
}

/// A hasher for keys that already are hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with this.
        let mut h = Fnv(self.0);
        h.write(bytes);
        self.0 = h.0;
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// FNV-1a: a fixed hash, the same on every run.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// An open collection.
struct Frame {
    map: bool,
    pos: Pos,
    anchor: usize,
    /// Where this collection's children start in `Builder::pending`.
    start: usize,
    /// The id of the first node written inside.
    first: u32,
    /// Where its text starts, in characters.
    text_start: usize,
    /// A mapping's key waiting for its value.
    key: Option<u32>,
    /// Key text → entry index, once the mapping is no longer small.
    index: Option<KeyIndex>,
    /// Entries that came from a merge key (`<<`); an explicit key overrides
    /// them without being a duplicate.
    merged: Vec<bool>,
    /// Duplicates found in this mapping, to be told the mapping's id.
    dups: Vec<usize>,
}

struct Builder<'l> {
    tree: Tree,
    keys: RandomState,
    stack: Vec<Frame>,
    pending: Vec<u32>,
    anchors: HashMap<usize, u32>,
    dups: Vec<DupKey>,
    root: Option<u32>,
    /// Weight added by aliases and merge keys so far, in the whole file.
    expansion: u64,
    limits: &'l Limits,
}

fn limit_error(pos: Pos, message: String) -> ParseFailure {
    ParseFailure::Other(YamlError {
        pos,
        message,
        limit: true,
    })
}

fn input_error(pos: Pos, message: impl Into<String>) -> ParseFailure {
    ParseFailure::Other(YamlError {
        pos,
        message: message.into(),
        limit: false,
    })
}

fn offset(n: usize, pos: Pos) -> Result<u32, ParseFailure> {
    u32::try_from(n).map_err(|_| limit_error(pos, "document too large".into()))
}

impl Builder<'_> {
    fn push(&mut self, mut d: Data) -> Result<u32, ParseFailure> {
        let id = offset(self.tree.nodes.len(), d.pos)?;
        d.read = Cell::new(false);
        self.tree.nodes.push(d);
        Ok(id)
    }

    fn push_scalar(&mut self, pos: Pos, scalar: Scalar<'_>) -> Result<u32, ParseFailure> {
        let (tag, a, b, plain) = match scalar {
            Scalar::Null => (Tag::Null, 0, 0, false),
            Scalar::Bool(v) => (Tag::Bool, u32::from(v), 0, false),
            Scalar::Int(i) => (Tag::Int, (i as u64 >> 32) as u32, i as u64 as u32, false),
            Scalar::Float(f) => {
                let bits = f.to_bits();
                (Tag::Float, (bits >> 32) as u32, bits as u32, false)
            }
            Scalar::Str(s, plain) => {
                let a = offset(self.tree.text.len(), pos)?;
                let b = offset(s.len(), pos)?;
                self.tree.text.push_str(s);
                offset(self.tree.text.len(), pos)?;
                (Tag::Str, a, b, plain)
            }
        };
        let len = if tag == Tag::Str { u64::from(b) } else { 0 };
        self.push(Data {
            pos,
            a,
            b,
            weight: saturate(NODE_WEIGHT + len),
            height: 1,
            tag,
            flags: if plain { PLAIN } else { 0 },
            read: Cell::new(false),
        })
    }

    fn open(
        &mut self,
        map: bool,
        anchor: usize,
        pos: Pos,
        start: usize,
    ) -> Result<(), ParseFailure> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(limit_error(
                pos,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        self.stack.push(Frame {
            map,
            pos,
            anchor,
            start: self.pending.len(),
            first: offset(self.tree.nodes.len(), pos)?,
            text_start: start,
            key: None,
            index: None,
            merged: Vec::new(),
            dups: Vec::new(),
        });
        Ok(())
    }

    fn close(&mut self, end: usize) -> Result<Option<(u32, usize)>, ParseFailure> {
        let Some(frame) = self.stack.pop() else {
            return Ok(None);
        };
        let kids = &self.pending[frame.start..];
        let (mut weight, mut height) = (NODE_WEIGHT, 0u8);
        for &k in kids {
            let d = self.tree.data(k);
            weight += u64::from(d.weight);
            height = height.max(d.height);
        }
        let a = offset(self.tree.kids.len(), frame.pos)?;
        let count = if frame.map {
            kids.len() / 2
        } else {
            kids.len()
        };
        let b = offset(count, frame.pos)?;
        self.tree.kids.extend_from_slice(kids);
        self.pending.truncate(frame.start);
        let id = self.push(Data {
            pos: frame.pos,
            a,
            b,
            weight: saturate(weight),
            height: height.saturating_add(1),
            tag: if frame.map { Tag::Map } else { Tag::Seq },
            flags: 0,
            read: Cell::new(false),
        })?;
        if self.stack.len() < NEAR_ROOT_DEPTH {
            self.tree.near_root.push(NearRoot {
                id,
                first: frame.first,
                start: frame.text_start,
                end,
            });
        }
        for i in frame.dups {
            self.dups[i].map = id;
        }
        Ok(Some((id, frame.anchor)))
    }

    fn alias(&mut self, id: usize, pos: Pos) -> Result<u32, ParseFailure> {
        let target = *self
            .anchors
            .get(&id)
            .ok_or_else(|| input_error(pos, "alias to an unknown anchor"))?;
        let d = self.tree.data(target);
        // Heights saturate at 255.
        if self.stack.len() + usize::from(d.height) > self.limits.max_depth.min(254) {
            return Err(limit_error(
                pos,
                format!("aliases nest deeper than {} levels", self.limits.max_depth),
            ));
        }
        self.expand(u64::from(d.weight), pos)?;
        Ok(target)
    }

    fn expand(&mut self, weight: u64, pos: Pos) -> Result<(), ParseFailure> {
        self.expansion = self.expansion.saturating_add(weight);
        if self.expansion > self.limits.max_expansion {
            return Err(limit_error(
                pos,
                format!(
                    "aliases expand this file by more than {} (a YAML bomb?)",
                    human_bytes(self.limits.max_expansion)
                ),
            ));
        }
        Ok(())
    }

    /// Puts a finished node where it belongs.
    fn attach(&mut self, id: u32, anchor: usize) -> Result<(), ParseFailure> {
        if anchor != 0 {
            self.anchors.insert(anchor, id);
            self.tree.nodes[id as usize].flags |= ANCHORED;
        }
        let Some(top) = self.stack.last_mut() else {
            self.root = Some(id);
            return Ok(());
        };
        if !top.map {
            self.pending.push(id);
            return Ok(());
        }
        match top.key.take() {
            None => {
                let key = self.key_node(id)?;
                if let Some(top) = self.stack.last_mut() {
                    top.key = Some(key);
                }
                Ok(())
            }
            Some(key) => self.insert(key, id),
        }
    }

    /// A key as text: strings as they are, other scalars converted as the Go
    /// YAML library does.
    fn key_node(&mut self, id: u32) -> Result<u32, ParseFailure> {
        let d = self.tree.data(id);
        let pos = d.pos;
        let text = match d.tag {
            Tag::Str => return Ok(id),
            Tag::Null => String::new(),
            Tag::Bool => (d.a != 0).to_string(),
            Tag::Int => ((u64::from(d.a) << 32 | u64::from(d.b)) as i64).to_string(),
            Tag::Float => f64::from_bits(u64::from(d.a) << 32 | u64::from(d.b)).to_string(),
            Tag::Seq | Tag::Map => return Err(input_error(pos, "a mapping key must be a scalar")),
        };
        if text.len() > 64 {
            // A float such as 1e300 prints as 301 digits: keep keys bounded.
            return Err(input_error(pos, "a mapping key must be a string"));
        }
        self.push_scalar(pos, Scalar::Str(&text, true))
    }

    /// The entry index of `key` in the open mapping on top of the stack.
    fn find(&self, key: &str) -> Option<usize> {
        let top = self.stack.last()?;
        let entries = &self.pending[top.start..];
        let text = |i: usize| self.tree.str_of(entries[2 * i]);
        let Some(index) = &top.index else {
            return (0..entries.len() / 2).find(|&i| text(i) == key);
        };
        let h = self.keys.hash_one(key);
        if let Some(&i) = index.slots.get(&h) {
            if text(i) == key {
                return Some(i);
            }
        }
        index
            .spill
            .iter()
            .find(|&&(sh, i)| sh == h && text(i) == key)
            .map(|&(_, i)| i)
    }

    /// Indexes entry `entry` (a key not yet in the mapping).
    fn index_entry(keys: &RandomState, index: &mut KeyIndex, text: &str, entry: usize) {
        let h = keys.hash_one(text);
        match index.slots.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => index.spill.push((h, entry)),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(entry);
            }
        }
    }

    fn append(&mut self, key: u32, value: u32, merged: bool) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        let entry = (self.pending.len() - top.start) / 2;
        self.pending.push(key);
        self.pending.push(value);
        if merged {
            if top.merged.len() <= entry {
                top.merged.resize(entry + 1, false);
            }
            top.merged[entry] = true;
        }
        if let Some(index) = &mut top.index {
            Self::index_entry(&self.keys, index, self.tree.str_of(key), entry);
        } else if entry + 1 > SMALL_MAP {
            let mut index = KeyIndex {
                slots: HashMap::default(),
                spill: Vec::new(),
            };
            for (i, kv) in self.pending[top.start..].chunks_exact(2).enumerate() {
                Self::index_entry(&self.keys, &mut index, self.tree.str_of(kv[0]), i);
            }
            top.index = Some(index);
        }
    }

    fn insert(&mut self, key: u32, value: u32) -> Result<(), ParseFailure> {
        let (plain, key_pos) = (self.tree.data(key).plain(), self.tree.data(key).pos);
        if plain && self.tree.str_of(key) == "<<" {
            return self.merge(value, key_pos);
        }
        let key_text = self.tree.str_of(key);
        let Some(entry) = self.find(key_text) else {
            self.append(key, value, false);
            return Ok(());
        };
        let Some(top) = self.stack.last_mut() else {
            return Ok(());
        };
        let slot = top.start + 2 * entry;
        let was_merged = top.merged.get(entry).copied().unwrap_or(false);
        if was_merged {
            top.merged[entry] = false;
        } else {
            let (old_key, old_value) = (self.pending[slot], self.pending[slot + 1]);
            top.dups.push(self.dups.len());
            self.dups.push(DupKey {
                key: key_text.to_string(),
                // Set when the mapping closes.
                map: 0,
                first: self.tree.data(old_key).pos,
                second: key_pos,
                first_value: old_value,
                second_value: value,
            });
        }
        self.pending[slot] = key;
        self.pending[slot + 1] = value;
        Ok(())
    }

    /// YAML 1.1 merge key (`<<: *base`), which the Go YAML library behind
    /// kubectl supports: keys already present win, and earlier sources win
    /// over later ones.
    fn merge(&mut self, value: u32, pos: Pos) -> Result<(), ParseFailure> {
        let d = self.tree.data(value);
        let sources: Vec<u32> = match d.tag {
            Tag::Map => vec![value],
            Tag::Seq => self.tree.kids_of(value).to_vec(),
            _ => {
                return Err(input_error(
                    pos,
                    "a merge key (<<) needs a mapping or a list of mappings",
                ));
            }
        };
        for src in sources {
            if self.tree.data(src).tag != Tag::Map {
                return Err(input_error(
                    self.tree.data(src).pos,
                    "a merge key (<<) needs a mapping or a list of mappings",
                ));
            }
            let kids = self.tree.kids_of(src).to_vec();
            for kv in kids.chunks_exact(2) {
                let (k, v) = (kv[0], kv[1]);
                let weight =
                    u64::from(self.tree.data(k).weight) + u64::from(self.tree.data(v).weight);
                self.expand(weight, pos)?;
                if self.find(self.tree.str_of(k)).is_none() {
                    self.append(k, v, true);
                }
            }
        }
        Ok(())
    }
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

fn saturate(w: u64) -> u32 {
    u32::try_from(w).unwrap_or(u32::MAX)
}

fn parse_once(
    text: &str,
    limits: &Limits,
    feed: &mut dyn FnMut(Feed<'_>),
) -> Result<(), ParseFailure> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        tree: Tree::default(),
        keys: RandomState::new(),
        stack: Vec::new(),
        pending: Vec::new(),
        anchors: HashMap::new(),
        dups: Vec::new(),
        root: None,
        expansion: 0,
        limits,
    };
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(ParseFailure::Scan)?;
        let pos = Pos {
            line: span.start.line() as u32,
            col: span.start.col() as u32 + 1,
        };
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                b.tree.clear();
                b.anchors.clear();
                b.dups.clear();
                b.pending.clear();
                b.stack.clear();
                b.root = None;
            }
            Event::DocumentEnd => {
                if let Some(root) = b.root.take() {
                    if b.tree.data(root).tag != Tag::Null {
                        let doc = Document {
                            tree: std::mem::take(&mut b.tree),
                            root,
                            dups: std::mem::take(&mut b.dups),
                        };
                        feed(Feed::Document(&doc));
                        b.tree = doc.tree;
                        b.dups = doc.dups;
                    }
                }
            }
            Event::Alias(id) => {
                let target = b.alias(id, pos)?;
                b.attach(target, 0)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let id = b.push_scalar(pos, resolve_scalar(&value, style, tag.as_deref()))?;
                b.attach(id, anchor)?;
            }
            Event::SequenceStart(anchor, _) => b.open(false, anchor, pos, span.start.index())?,
            Event::MappingStart(anchor, _) => b.open(true, anchor, pos, span.start.index())?,
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((id, anchor)) = b.close(span.end.index())? {
                    b.attach(id, anchor)?;
                }
            }
        }
    }
    Ok(())
}

/// A scalar after typing.
enum Scalar<'s> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text and whether it was written plain.
    Str(&'s str, bool),
}

/// Scalar typing: YAML 1.2 core schema for plain scalars, quoted scalars are
/// strings, explicit `!!str`/`!!int`/... tags honoured.
fn resolve_scalar<'s>(text: &'s str, style: ScalarStyle, tag: Option<&str>) -> Scalar<'s> {
    match tag {
        Some("!!str") | Some("tag:yaml.org,2002:str") => return Scalar::Str(text, false),
        Some("!!int") | Some("tag:yaml.org,2002:int") => {
            return parse_int(text).map_or(Scalar::Str(text, false), Scalar::Int);
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Scalar::Str(text, false);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Scalar::Int(i);
    }
    if looks_like_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            return Scalar::Float(f);
        }
    }
    Scalar::Str(text, true)
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
        // With its sign, so that i64::MIN parses.
        return text.parse::<i64>().ok();
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

    fn one(text: &str) -> Document {
        let (mut docs, _) = parse(text, &Limits::default()).unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    fn int(n: Option<Node<'_>>) -> Option<i64> {
        match n?.value() {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    #[test]
    fn scalars_are_typed_like_yaml_1_2() {
        let doc = one("a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 1.5\ng: 0x10\nh: \"x\"\n");
        let n = doc.root();
        assert_eq!(int(n.get("a")), Some(1));
        assert!(matches!(
            n.get("b").unwrap().value(),
            Value::Str { plain: false, .. }
        ));
        assert!(matches!(n.get("c").unwrap().value(), Value::Bool(true)));
        assert!(matches!(
            n.get("d").unwrap().value(),
            Value::Str {
                text: "yes",
                plain: true
            }
        ));
        assert!(n.get("e").unwrap().is_null());
        assert!(matches!(n.get("f").unwrap().value(), Value::Float(f) if f == 1.5));
        assert_eq!(int(n.get("g")), Some(16));
        assert_eq!(
            int(Some(one("-9223372036854775808").root())),
            Some(i64::MIN)
        );
    }

    #[test]
    fn nodes_are_small() {
        // Memory per node bounds memory per byte of the tiniest-node files.
        assert_eq!(std::mem::size_of::<Data>(), 24);
    }

    #[test]
    fn positions_are_one_based() {
        let doc = one("---\nkind: X\nspec:\n  ingress:\n  - from: []\n");
        let rule = doc
            .root()
            .get("spec")
            .unwrap()
            .get("ingress")
            .unwrap()
            .items()
            .unwrap()
            .get(0)
            .unwrap();
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
        let doc = one("\u{feff}{\"a\": [1, 2], \"b\": {\"c\": null}}");
        assert_eq!(doc.root().get("a").unwrap().items().unwrap().len(), 2);
        let doc = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        let d = doc.root().get("derived").unwrap();
        assert_eq!(int(d.get("x")), Some(1));
        assert_eq!(int(d.get("y")), Some(3));
        assert!(
            doc.dups.is_empty(),
            "an explicit key over a merged one is no duplicate"
        );
        // A list of sources: the earlier wins; keys written before win too.
        let doc = one("a: &a {x: 1}\nb: &b {x: 2, z: 2}\nc: {z: 0, <<: [*a, *b]}\n");
        let c = doc.root().get("c").unwrap();
        assert_eq!(int(c.get("x")), Some(1));
        assert_eq!(int(c.get("z")), Some(0));
        assert!(parse("a: {<<: 1}\n", &Limits::default()).is_err());
    }

    #[test]
    fn duplicate_keys_keep_the_later_value_and_are_recorded() {
        let doc = one("a: 1\nb: 2\na: 3\n");
        let root = doc.root();
        let [dup] = &doc.dups[..] else {
            panic!("{:?}", doc.dups)
        };
        assert_eq!(
            (dup.key.as_str(), dup.first.line, dup.second.line),
            ("a", 1, 3)
        );
        assert_eq!(dup.map, root.id());
        assert!(!doc.same(dup.first_value, dup.second_value));
        assert!(!doc.was_read(dup.second_value));
        assert_eq!(int(root.get("a")), Some(3));
        assert!(doc.was_read(dup.second_value));
        assert_eq!(root.entries().unwrap().len(), 2);
    }

    #[test]
    fn duplicates_in_large_mappings_are_found_in_linear_time() {
        // 200,000 keys and one duplicate at the end: a quadratic check would
        // take minutes here.
        let mut text: String = (0..200_000).map(|i| format!("k{i}: v\n")).collect();
        text.push_str("k7: w\n");
        let doc = one(&text);
        assert_eq!(doc.root().entries().unwrap().len(), 200_000);
        assert_eq!(doc.dups.len(), 1);
        assert_eq!(doc.dups[0].first.line, 8);
    }

    #[test]
    fn aliases_share_nodes_and_count_their_weight() {
        let doc = one("a: &x {k: [1, 2]}\nb: *x\nc: *x\n");
        let root = doc.root();
        assert_eq!(root.get("b").unwrap().id(), root.get("a").unwrap().id());
        assert!(doc.same(root.get("a").unwrap().id(), root.get("c").unwrap().id()));
        assert!(root.contains(root.get("a").unwrap().id()));
        // The anchor's node is inside `a`, not inside `b`'s position.
        let a = root.get("a").unwrap();
        assert!(a.contains(a.get("k").unwrap().id()));
        let tight = Limits {
            max_expansion: 3 * NODE_WEIGHT,
            ..Limits::default()
        };
        let e = parse("a: &x [1, 2, 3]\nb: *x\n", &tight).unwrap_err();
        assert!(e.limit && e.pos.line == 2, "{e:?}");
    }

    #[test]
    fn tab_inside_flow_sequence_is_accepted() {
        let text = "args:\n  [\n    \"-jar\",\n\t    \"x\",\n  ]\n";
        let (docs, fixes) = parse(text, &Limits::default()).unwrap();
        assert_eq!(
            docs[0].root().get("args").unwrap().items().unwrap().len(),
            2
        );
        assert_eq!(fixes.len(), 1);
        // A tab in block indentation stays an error.
        assert!(parse("a:\n\tb: 1\n", &Limits::default()).is_err());
    }

    #[test]
    fn a_tab_after_a_plain_scalar_is_cited_at_the_tab() {
        // saphyr cites the scalar's start (line 2); the tab is on line 3.
        let e = parse("args:\n- --flag\n\t- --tab\n", &Limits::default()).unwrap_err();
        assert!(e.message.contains("tab"), "{e:?}");
        assert_eq!((e.pos.line, e.pos.col), (3, 1), "{e:?}");
    }

    #[test]
    fn tab_retries_are_bounded_by_the_size_of_the_file() {
        let line = "  \"x\",\n\t  \"y\",\n";
        let text = format!("a: [\n{}]\n", line.repeat(2000));
        let e = parse(&text, &Limits::default()).unwrap_err();
        assert!(e.limit && e.message.contains("tab"), "{e:?}");
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
    fn long_strings_aliased_count_their_bytes() {
        // Few nodes, many bytes: a node limit alone lets this through.
        let text = format!(
            "s: &s \"{}\"\nl: [{}]\n",
            "x".repeat(1 << 20),
            vec!["*s"; 100].join(", ")
        );
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
        // Aliases cannot nest deeper than text can.
        let mut text = String::from("a0: &a0 [x]\n");
        for i in 1..10 {
            text.push_str(&format!(
                "a{i}: &a{i} {}*a{}{}\n",
                "[".repeat(20),
                i - 1,
                "]".repeat(20)
            ));
        }
        let e = parse(&text, &Limits::default()).unwrap_err();
        assert!(e.limit && e.message.contains("nest"), "{e:?}");
    }

    #[test]
    fn keys_must_be_scalars_and_are_converted() {
        assert!(parse("[a]: 1\n", &Limits::default()).is_err());
        let doc = one("1: a\ntrue: b\n~: c\n");
        let keys: Vec<&str> = doc
            .root()
            .entries()
            .unwrap()
            .iter()
            .map(|(k, _)| k.text)
            .collect();
        assert_eq!(keys, ["1", "true", ""]);
    }

    #[test]
    fn binary_garbage_is_an_error_not_a_panic() {
        assert!(parse("\0\x01\x02", &Limits::default()).is_err());
        let _ = parse("\u{1}\u{2}: [}{", &Limits::default());
    }
}
