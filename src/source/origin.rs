//! Where rendered objects come from: a line of `kustomize build` or `helm
//! template` output traced back to a file and line of the revision, so
//! causes cite (and link to) files that exist.
//!
//! kustomize: the export's root kustomization asks for
//! `buildMetadata: [originAnnotations]`, so every object carries
//! `config.kubernetes.io/origin` with the file it was read from (relative
//! to the rendered directory). The object is found in that file by kind
//! and name (a name prefix or suffix allowed), and each field of the
//! rendered object is matched with the same field there: equal, it cites
//! the field's own line; changed or added by a patch, it cites the line of
//! the patch that sets it; otherwise (a transformer's change, such as a
//! namespace or a common label) the object's first line in its file.
//! Generated objects (ConfigMaps, Secrets) and objects whose file holds no
//! matching object get no origin: they are named by the render, never
//! linked.
//!
//! Helm: each document follows a `# Source: CHART/templates/FILE` comment;
//! every line of it cites the first line of the matching document of that
//! template, where the template's documents can be told apart.

use super::kustomize::{Node as TreeNode, PatchSource, TreeView};
use super::render::resolve;
use crate::manifest::yaml::owned::{self as yaml, Node, Pos, Value};
use crate::revision::LineMap;
use std::collections::HashMap;

/// The root kustomization as exported: the same fields (as JSON, which
/// kustomize reads like YAML and no YAML version reads differently), with
/// `originAnnotations` added to `buildMetadata`.
pub fn with_origin_annotations(root: &[u8]) -> Result<String, String> {
    use serde::Deserialize;
    let text = std::str::from_utf8(root).map_err(|_| "the kustomization is not UTF-8")?;
    super::kustomize::guard(text)?;
    let mut value = match serde_yaml::Deserializer::from_str(text).next() {
        Some(doc) => serde_yaml::Value::deserialize(doc).map_err(|e| e.to_string())?,
        None => serde_yaml::Value::Null,
    };
    value.apply_merge().map_err(|e| e.to_string())?;
    if value.is_null() {
        value = serde_yaml::Value::Mapping(serde_yaml::Mapping::new());
    }
    let map = value
        .as_mapping_mut()
        .ok_or("a kustomization must be a mapping")?;
    let key = map
        .keys()
        .find(|k| {
            k.as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case("buildMetadata"))
        })
        .cloned()
        .unwrap_or_else(|| "buildMetadata".into());
    let entry = map
        .entry(key)
        .or_insert_with(|| serde_yaml::Value::Sequence(Vec::new()));
    if entry.is_null() {
        *entry = serde_yaml::Value::Sequence(Vec::new());
    }
    let list = entry
        .as_sequence_mut()
        .ok_or("buildMetadata must be a list")?;
    if !list.iter().any(|v| v.as_str() == Some("originAnnotations")) {
        list.push("originAnnotations".into());
    }
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

const ORIGIN: &str = "config.kubernetes.io/origin";

/// The line map of `kustomize build DIR` output.
pub fn kustomize(text: &str, dir: &str, view: &dyn TreeView, patches: &[PatchSource]) -> LineMap {
    let mut map = LineMap::default();
    let Ok((docs, _)) = yaml::parse(text, &yaml::Limits::default()) else {
        return map;
    };
    let mut files = Files::new(view);
    let patches: Vec<Patch> = patches
        .iter()
        .filter_map(|p| Patch::load(p, &mut files))
        .collect();
    for doc in &docs {
        let Some(file) = origin_path(&doc.root).and_then(|p| resolve(dir, &p)) else {
            continue;
        };
        let Some(source) = files.get(&file).and_then(|d| find_object(d, &doc.root)) else {
            continue;
        };
        let object = ObjectOrigin {
            file: &file,
            root: source,
            patches: patches.iter().filter(|p| p.applies_to(&doc.root)).collect(),
        };
        fill(&mut map, &doc.root, object.root.pos, &file);
        object.walk(&mut map, &doc.root, Some(object.root), &mut Vec::new());
    }
    map
}

/// The `path` of an object's origin annotation (absent for generated
/// objects and for remote ones, which name a `repo`).
fn origin_path(root: &Node) -> Option<String> {
    let text = root
        .get("metadata")?
        .get("annotations")?
        .get(ORIGIN)?
        .as_str()?;
    super::kustomize::guard(text).ok()?;
    let v: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    if v.get("repo").is_some() {
        return None;
    }
    v.get("path")?.as_str().map(str::to_string)
}

/// Parsed files of the revision, read once.
struct Files<'a> {
    view: &'a dyn TreeView,
    parsed: HashMap<String, Option<Vec<yaml::Document>>>,
}

impl<'a> Files<'a> {
    fn new(view: &'a dyn TreeView) -> Files<'a> {
        Files {
            view,
            parsed: HashMap::new(),
        }
    }

    fn get(&mut self, file: &str) -> Option<&[yaml::Document]> {
        let view = self.view;
        self.parsed
            .entry(file.to_string())
            .or_insert_with(|| {
                if !matches!(view.node(file), TreeNode::File(_)) {
                    return None;
                }
                let text = String::from_utf8(view.bytes(file).ok()?).ok()?;
                yaml::parse(&text, &yaml::Limits::default())
                    .ok()
                    .map(|(d, _)| d)
            })
            .as_deref()
    }

    fn text(&self, file: &str) -> Option<String> {
        String::from_utf8(self.view.bytes(file).ok()?).ok()
    }
}

fn str_at<'n>(node: &'n Node, path: &[&str]) -> Option<&'n str> {
    let mut n = node;
    for p in path {
        n = n.get(p)?;
    }
    n.as_str()
}

/// The object in `docs` that `rendered` came from: same kind, and the same
/// name or a name the rendered one contains (a prefix or suffix added);
/// the only object of that kind otherwise. `None` when it is ambiguous.
fn find_object<'d>(docs: &'d [yaml::Document], rendered: &Node) -> Option<&'d Node> {
    let kind = str_at(rendered, &["kind"])?;
    let name = str_at(rendered, &["metadata", "name"]).unwrap_or("");
    let same_kind: Vec<&Node> = docs
        .iter()
        .map(|d| &d.root)
        .filter(|r| str_at(r, &["kind"]) == Some(kind))
        .collect();
    let unique = |v: Vec<&'d Node>| {
        if v.len() == 1 {
            v.first().copied()
        } else {
            None
        }
    };
    fn named(n: &Node) -> &str {
        str_at(n, &["metadata", "name"]).unwrap_or("")
    }
    unique(
        same_kind
            .iter()
            .copied()
            .filter(|n| named(n) == name)
            .collect(),
    )
    .or_else(|| {
        unique(
            same_kind
                .iter()
                .copied()
                .filter(|n| !named(n).is_empty() && name.contains(named(n)))
                .collect(),
        )
    })
    .or_else(|| unique(same_kind))
}

/// Every line of `node` cites `at` in `file` (the object-level fallback).
fn fill(map: &mut LineMap, node: &Node, at: Pos, file: &str) {
    let (first, last) = line_range(node);
    for line in first..=last {
        map.set(line, file, at.line, 1);
    }
}

/// The first and last line a node spans.
fn line_range(node: &Node) -> (u32, u32) {
    let mut last = node.pos.line;
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                last = last.max(k.pos.line).max(line_range(v).1);
            }
        }
        Value::Seq(items) => {
            for v in items {
                last = last.max(line_range(v).1);
            }
        }
        _ => {}
    }
    (node.pos.line, last)
}

/// Structural equality, positions ignored.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .find(|(k2, _)| k2.text == k.text)
                        .is_some_and(|(_, v2)| same(v, v2))
                })
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Str { text: a, .. }, Value::Str { text: b, .. }) => a == b,
        (a, b) => a == b,
    }
}

/// One step into an object: a mapping key or a list index.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A patch that may set fields of rendered objects, parsed with
/// positions, and how its lines translate to lines of the file holding it.
struct Patch {
    file: String,
    docs: Vec<yaml::Document>,
    json6902: bool,
    target: Option<serde_yaml::Value>,
    /// Added to a patch line (an inline patch inside a kustomization).
    line_offset: u32,
    col_offset: u32,
}

impl Patch {
    fn load(p: &PatchSource, files: &mut Files<'_>) -> Option<Patch> {
        let (docs, line_offset, col_offset) = match &p.inline {
            None => {
                let text = files.text(&p.file)?;
                (yaml::parse(&text, &yaml::Limits::default()).ok()?.0, 0, 0)
            }
            Some(inline) => {
                let docs = yaml::parse(inline, &yaml::Limits::default()).ok()?.0;
                let (line, col) = inline_offset(&files.text(&p.file)?, inline)?;
                (docs, line, col)
            }
        };
        Some(Patch {
            file: p.file.clone(),
            docs,
            json6902: p.json6902,
            target: p.target.clone(),
            line_offset,
            col_offset,
        })
    }

    fn pos(&self, at: Pos) -> (u32, u32) {
        (at.line + self.line_offset, at.col + self.col_offset)
    }

    /// Whether this patch may apply to `object` (by its `target`, or for a
    /// strategic merge patch without one, by its own kind and name).
    fn applies_to(&self, object: &Node) -> bool {
        let kind = str_at(object, &["kind"]).unwrap_or("");
        let name = str_at(object, &["metadata", "name"]).unwrap_or("");
        if let Some(t) = &self.target {
            let want = |k: &str| t.get(k).and_then(|v| v.as_str());
            let plain = |s: &str| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
            };
            return want("kind").is_none_or(|k| k == kind)
                // A regular expression: the value check decides.
                && want("name").is_none_or(|n| !plain(n) || name.contains(n));
        }
        !self.json6902
            && self.docs.iter().any(|d| {
                str_at(&d.root, &["kind"]) == Some(kind)
                    && str_at(&d.root, &["metadata", "name"]).is_some_and(|n| name.contains(n))
            })
    }

    /// The position in this patch of the field at `path` of `object`, if
    /// the patch sets it (to `value`, for a scalar).
    fn find(&self, object: &Node, path: &[Seg], value: &Node) -> Option<(u32, u32)> {
        if self.json6902 {
            return self.find_op(path, value);
        }
        let kind = str_at(object, &["kind"]);
        let name = str_at(object, &["metadata", "name"]).unwrap_or("");
        for d in &self.docs {
            let named = str_at(&d.root, &["metadata", "name"]).is_some_and(|n| name.contains(n));
            if self.target.is_none() && (str_at(&d.root, &["kind"]) != kind || !named) {
                continue;
            }
            if let Some(at) = navigate(&d.root, path, value) {
                return Some(self.pos(at));
            }
        }
        None
    }

    /// A JSON 6902 operation whose path leads to `path`.
    fn find_op(&self, path: &[Seg], value: &Node) -> Option<(u32, u32)> {
        for d in &self.docs {
            for op in d.root.items().unwrap_or(&[]) {
                let Some(pointer) = str_at(op, &["path"]) else {
                    continue;
                };
                let segs: Vec<&str> = pointer.split('/').skip(1).collect();
                if segs.len() > path.len() {
                    continue;
                }
                let matches = segs.iter().zip(path).all(|(s, p)| match p {
                    Seg::Key(k) => *s == k.replace('~', "~0").replace('/', "~1"),
                    Seg::Index(i) => *s == "-" || s.parse::<usize>().ok() == Some(*i),
                });
                if !matches {
                    continue;
                }
                // Only operations that write a value.
                if !matches!(str_at(op, &["op"]), Some("add" | "replace")) {
                    continue;
                }
                let rest = &path[segs.len()..];
                if let Some(at) = op.get("value").and_then(|v| navigate(v, rest, value)) {
                    return Some(self.pos(at));
                }
            }
        }
        None
    }
}

/// Where an inline patch's text sits in the file holding it: the line
/// before its first line, and its indentation (block scalars only).
fn inline_offset(file_text: &str, inline: &str) -> Option<(u32, u32)> {
    let first = inline.lines().find(|l| !l.trim().is_empty())?;
    let lines: Vec<&str> = file_text.lines().collect();
    let found = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start() == first.trim_start() && l.len() > first.len())
        .map(|(i, l)| {
            (
                i,
                (l.len() - l.trim_start().len()) - (first.len() - first.trim_start().len()),
            )
        })
        .collect::<Vec<_>>();
    // Only when the text appears once; the patch's own first line may be
    // blank.
    let [(i, indent)] = found.as_slice() else {
        return None;
    };
    let skipped = inline.lines().take_while(|l| l.trim().is_empty()).count();
    Some(((*i - skipped) as u32, *indent as u32))
}

/// The position of the field at `path` inside `node`, if `node` sets it:
/// a scalar only to the rendered `value`, a list item only when equal to
/// the rendered one or of the same `name`.
fn navigate(node: &Node, path: &[Seg], value: &Node) -> Option<Pos> {
    let Some((first, rest)) = path.split_first() else {
        return (!is_scalar(value) || same(node, value)).then_some(node.pos);
    };
    match first {
        Seg::Key(k) => {
            let (key, child) = node.entries()?.iter().find(|(key, _)| &key.text == k)?;
            if rest.is_empty() {
                return (!is_scalar(value) || same(child, value)).then_some(key.pos);
            }
            navigate(child, rest, value)
        }
        Seg::Index(_) if rest.is_empty() => {
            let name = str_at(value, &["name"]);
            node.items()?
                .iter()
                .find(|item| {
                    same(item, value) || (name.is_some() && str_at(item, &["name"]) == name)
                })
                .map(|item| item.pos)
        }
        // Which item the rendered path goes through is unknown here (a
        // merge by key, or an append): try each.
        Seg::Index(_) => node
            .items()?
            .iter()
            .find_map(|item| navigate(item, rest, value)),
    }
}

/// One rendered object and its source.
struct ObjectOrigin<'a> {
    file: &'a str,
    root: &'a Node,
    patches: Vec<&'a Patch>,
}

impl ObjectOrigin<'_> {
    /// Maps the lines of rendered `r` (at `path`), whose counterpart in
    /// the source object is `o`, if any.
    fn walk(&self, map: &mut LineMap, r: &Node, o: Option<&Node>, path: &mut Vec<Seg>) {
        if let Some(o) = o.filter(|o| same(r, o)) {
            copy(map, r, o, self.file);
            return;
        }
        // A collection's own position is not where it is written (the
        // parser places it at its first entry): its line, column 1.
        let own = |p: Pos| {
            if is_scalar(r) {
                p
            } else {
                Pos {
                    line: p.line,
                    col: 1,
                }
            }
        };
        self.cite(map, r.pos.line, o.map(|o| own(o.pos)), path, r);
        match &r.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let counterpart = o
                        .and_then(Node::entries)
                        .and_then(|e| e.iter().find(|(k2, _)| k2.text == k.text));
                    path.push(Seg::Key(k.text.clone()));
                    self.cite(map, k.pos.line, counterpart.map(|(k2, _)| k2.pos), path, v);
                    self.walk(map, v, counterpart.map(|(_, v2)| v2), path);
                    path.pop();
                }
            }
            Value::Seq(items) => {
                let theirs = o.and_then(Node::items).unwrap_or(&[]);
                let mut used = vec![false; theirs.len()];
                for (i, item) in items.iter().enumerate() {
                    let equal = theirs
                        .iter()
                        .enumerate()
                        .find(|(j, t)| !used[*j] && same(item, t))
                        .map(|(j, _)| j);
                    let by_name = || {
                        let name = str_at(item, &["name"])?;
                        theirs
                            .iter()
                            .position(|t| str_at(t, &["name"]) == Some(name))
                    };
                    let j = equal.or_else(by_name).or_else(|| {
                        (i < theirs.len() && !used[i] && theirs[i].entries().is_some()).then_some(i)
                    });
                    if let Some(j) = j {
                        used[j] = true;
                    }
                    path.push(Seg::Index(i));
                    self.walk(map, item, j.map(|j| &theirs[j]), path);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// Maps one rendered line: to `source` (the same field in the source
    /// object), else to the patch that sets the field, else leaves the
    /// object-level fallback.
    fn cite(&self, map: &mut LineMap, line: u32, source: Option<Pos>, path: &[Seg], value: &Node) {
        let patched = self.patches.iter().rev().find_map(|p| {
            p.find(self.root, path, value)
                .map(|at| (p.file.as_str(), at))
        });
        match (patched, source) {
            // A scalar the patch sets to exactly this value, or a field
            // only the patch has.
            (Some((file, (l, c))), None) => map.set(line, file, l, c),
            (Some((file, (l, c))), Some(_)) if is_scalar(value) => map.set(line, file, l, c),
            (_, Some(at)) => map.set(line, self.file, at.line, at.col),
            (None, None) => {}
        }
    }
}

fn is_scalar(n: &Node) -> bool {
    !matches!(n.value, Value::Map(_) | Value::Seq(_))
}

/// Maps every line of `r` to the same place in `o` (equal subtrees).
fn copy(map: &mut LineMap, r: &Node, o: &Node, file: &str) {
    let col = if is_scalar(o) { o.pos.col } else { 1 };
    map.set(r.pos.line, file, o.pos.line, col);
    match (&r.value, &o.value) {
        (Value::Map(x), Value::Map(y)) => {
            for (k, v) in x {
                if let Some((k2, v2)) = y.iter().find(|(k2, _)| k2.text == k.text) {
                    map.set(k.pos.line, file, k2.pos.line, k2.pos.col);
                    copy(map, v, v2, file);
                }
            }
        }
        (Value::Seq(x), Value::Seq(y)) => {
            for (a, b) in x.iter().zip(y) {
                copy(map, a, b, file);
            }
        }
        _ => {}
    }
}

/// The line map of `helm template DIR` output: each document cites the
/// first line of its document in the template named by `# Source:`.
pub fn helm(text: &str, dir: &str, view: &dyn TreeView) -> LineMap {
    let mut map = LineMap::default();
    let docs = rendered_documents(text);
    let mut seen: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    let mut templates: HashMap<String, Option<Vec<Section>>> = HashMap::new();
    for d in &docs {
        let k = seen
            .entry((d.template.as_str(), d.kind.as_deref()))
            .or_default();
        let index = *k;
        *k += 1;
        let Some(file) = resolve(dir, &d.template) else {
            continue;
        };
        let Some(sections) = templates.entry(file.clone()).or_insert_with(|| {
            let text = String::from_utf8(view.bytes(&file).ok()?).ok()?;
            Some(template_sections(&text))
        }) else {
            continue;
        };
        let same_kind = docs
            .iter()
            .filter(|o| o.template == d.template && o.kind == d.kind)
            .count();
        if let Some(at) = section_of(sections, d.kind.as_deref(), index, same_kind) {
            for line in d.first..=d.last {
                map.set(line, &file, at, 1);
            }
        }
    }
    map
}

/// One document of helm's output.
struct RenderedDoc {
    /// The template, relative to the chart directory.
    template: String,
    kind: Option<String>,
    first: u32,
    last: u32,
}

fn rendered_documents(text: &str) -> Vec<RenderedDoc> {
    let mut docs: Vec<RenderedDoc> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        if let Some(source) = line.strip_prefix("# Source: ") {
            // `CHART/templates/x.yaml`: the chart's name, then its files
            // (subcharts: `CHART/charts/SUB/templates/x.yaml`).
            let within = source.trim().split_once('/').map_or("", |(_, rest)| rest);
            docs.push(RenderedDoc {
                template: within.to_string(),
                kind: None,
                first: n,
                last: n,
            });
        } else if line.starts_with("---") {
            if let Some(last) = docs.last_mut() {
                last.last = n.saturating_sub(1);
            }
        } else if let Some(last) = docs.last_mut() {
            last.last = n;
            if last.kind.is_none() {
                last.kind = top_level_kind(line);
            }
        }
    }
    docs
}

/// `kind: X` at the start of a line, X written out (not a template).
fn top_level_kind(line: &str) -> Option<String> {
    let k = line.strip_prefix("kind:")?.trim();
    let k = k.trim_matches(|c| c == '"' || c == '\'');
    (!k.is_empty() && !k.contains("{{")).then(|| k.to_string())
}

/// One `---`-separated document of a template: its first content line and
/// the kind it writes out, if it does.
struct Section {
    start: u32,
    kind: Option<String>,
}

/// The template's section a rendered document comes from: the only one of
/// its kind, or the n-th of its kind when each renders once, or the only
/// section. `None` when that cannot be told.
fn section_of(
    sections: &[Section],
    kind: Option<&str>,
    index: usize,
    rendered: usize,
) -> Option<u32> {
    if let [only] = sections {
        return Some(only.start);
    }
    let kind = kind?;
    let same: Vec<&Section> = sections
        .iter()
        .filter(|s| s.kind.as_deref() == Some(kind))
        .collect();
    match same.as_slice() {
        [one] => Some(one.start),
        many if many.len() == rendered => many.get(index).map(|s| s.start),
        _ => None,
    }
}

/// The sections of a template (not blank, not a comment, not only a
/// template action, start a section's content).
fn template_sections(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut open = true;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("---") {
            open = true;
            continue;
        }
        let action_only = t.starts_with("{{") && t.ends_with("}}") && !t.contains(':');
        if open && !t.is_empty() && !t.starts_with('#') && !action_only {
            sections.push(Section {
                start: i as u32 + 1,
                kind: None,
            });
            open = false;
        }
        if let Some(s) = sections.last_mut().filter(|s| s.kind.is_none() && !open) {
            s.kind = top_level_kind(line);
        }
    }
    sections
}

#[cfg(test)]
mod tests;
