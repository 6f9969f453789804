//! `reach` output, written as the rows are computed.
//!
//! A cluster's reachability is quadratic in its endpoints (60,000 pods
//! without policies are 3.6·10⁹ rows), so nothing here holds the answer:
//! rows go to the writer as [`Analysis::each_row`] produces them, memory is
//! what the analysis already holds plus one block of rows. Everything that
//! can fail on the input has failed before the first byte (the analysis is
//! done, patterns are resolved), so a document is never cut by an input
//! error; only the writer can stop it.
//!
//! Two answers: the rows (`reachdiff/reach/v1`, one per (source,
//! destination, protocol)), and the grouped answer
//! (`reachdiff/reach-groups/v1`): endpoints that every policy treats alike
//! ([`EndpointClasses`]) printed once as a class with its members, and the
//! rows between classes.

use super::json::{ConnectionJson, DiagnosticJson, EndpointJson, REACH_SCHEMA, rows, to_string};
use super::style::{Style, sanitize};
use crate::diag::Diagnostic;
use crate::model::ConnSet;
use crate::reach::classes::EndpointClasses;
use crate::reach::{Analysis, Endpoint};
use crate::words::plural;
use serde::Serialize;
use std::io::{self, Write};

pub const REACH_GROUPS_SCHEMA: &str = "reachdiff/reach-groups/v1";

/// What to list: sources and destinations, each in id order.
pub struct Listing<'a> {
    pub analysis: &'a Analysis,
    pub srcs: &'a [Endpoint],
    pub dsts: &'a [Endpoint],
}

/// Ids of every endpoint, computed once (rows repeat them).
struct Ids {
    workloads: Vec<String>,
    atoms: Vec<String>,
}

impl Ids {
    fn new(a: &Analysis) -> Ids {
        Ids {
            workloads: a.workloads.iter().map(|w| w.id()).collect(),
            atoms: a.atoms.atoms().iter().map(|x| x.id()).collect(),
        }
    }

    fn of(&self, e: Endpoint) -> &str {
        match e {
            Endpoint::Workload(w) => &self.workloads[w],
            Endpoint::Atom(x) => &self.atoms[x],
        }
    }
}

fn group_of(a: &Analysis, e: Endpoint) -> String {
    match e {
        Endpoint::Workload(w) => match &a.workloads[w].representative {
            Some(_) => "the rest of the cluster".to_string(),
            None => format!("namespace {}", a.workloads[w].namespace),
        },
        Endpoint::Atom(x) if a.atoms.atoms()[x].pseudo.is_some() => {
            "Cilium entities and DNS names".to_string()
        }
        Endpoint::Atom(_) => "external addresses".to_string(),
    }
}

/// `12 workloads, 3 external blocks, 4 policies`, and the representatives.
fn summary(a: &Analysis, out: &mut dyn Write) -> io::Result<()> {
    let real = a
        .workloads
        .iter()
        .filter(|w| w.representative.is_none())
        .count();
    writeln!(
        out,
        "{}, {}, {}",
        plural(real, "workload", "workloads"),
        plural(
            a.atoms.addresses().len(),
            "external block",
            "external blocks"
        ),
        plural(a.policies.len(), "policy", "policies"),
    )?;
    let pseudo: Vec<String> = a
        .atoms
        .pseudo()
        .map(|i| sanitize(&a.atoms.atoms()[i].id()))
        .collect();
    if !pseudo.is_empty() {
        // CI-33: Cilium's entities and the names of toFQDNs rules.
        writeln!(
            out,
            "{} of Cilium: {}",
            plural(pseudo.len(), "pseudo-endpoint", "pseudo-endpoints"),
            pseudo.join(", ")
        )?;
    }
    let reps: Vec<String> = a
        .workloads
        .iter()
        .filter_map(|w| w.representative.as_ref())
        .map(|r| sanitize(&r.id))
        .collect();
    if !reps.is_empty() {
        let more = reps.len().saturating_sub(6);
        let shown = reps[..reps.len() - more].join(", ");
        // OW-1: the rest of the cluster, which `--closed-world` leaves out.
        writeln!(
            out,
            "{} for pods outside the repository ({shown}{}; --closed-world leaves them out)",
            plural(reps.len(), "representative", "representatives"),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

/// The rows as text, grouped by the source's namespace (groups in name
/// order, rows in (source, destination) id order within a group), each
/// row written when computed; the count comes last.
pub fn write_text(l: &Listing<'_>, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let a = l.analysis;
    summary(a, out)?;
    let ids = Ids::new(a);
    // Columns are as wide as the longest id that can appear in them, so
    // rows align without waiting for the rows.
    let wd = l
        .dsts
        .iter()
        .map(|&d| sanitize(ids.of(d)).chars().count())
        .max()
        .unwrap_or(0);
    let mut srcs: Vec<(String, Endpoint)> = l.srcs.iter().map(|&s| (group_of(a, s), s)).collect();
    // Stable: within a group, sources keep their id order.
    srcs.sort_by(|x, y| x.0.cmp(&y.0));
    let mut total = 0;
    for group in srcs.chunk_by(|x, y| x.0 == y.0) {
        let members: Vec<Endpoint> = group.iter().map(|(_, s)| *s).collect();
        let ws = members
            .iter()
            .map(|&s| sanitize(ids.of(s)).chars().count())
            .max()
            .unwrap_or(0);
        let mut heading = Some(&group[0].0);
        total += a.each_row(&members, l.dsts, |s, d, c| {
            if let Some(h) = heading.take() {
                writeln!(out, "\n{}", style.bold(&sanitize(h)))?;
            }
            let (s, d) = (sanitize(ids.of(s)), sanitize(ids.of(d)));
            let c = crate::words::conn_text(c);
            writeln!(out, "  {s:<ws$}  →  {d:<wd$}  {}", style.cyan(&c))
        })?;
    }
    writeln!(
        out,
        "\n{}",
        plural(total, "allowed connection", "allowed connections")
    )
}

#[derive(Serialize)]
struct Head<'a> {
    schema: &'static str,
    endpoints: &'a [EndpointJson],
    connections: [(); 0],
    diagnostics: Vec<DiagnosticJson>,
}

/// Writes a JSON document whose `connections` array is streamed: the
/// document with an empty array is split there and the elements written
/// in between, indented as the pretty printer would, so the bytes are the
/// same as printing the whole document at once.
struct JsonArray<'w> {
    out: &'w mut dyn Write,
    tail: String,
    first: bool,
}

impl<'w> JsonArray<'w> {
    fn start(doc: String, out: &'w mut dyn Write) -> io::Result<JsonArray<'w>> {
        // A string value cannot hold a raw newline, so this is the key.
        const KEY: &str = "\n  \"connections\": [],\n";
        let at = doc
            .find(KEY)
            .ok_or_else(|| io::Error::other("no connections key"))?;
        let open = at + KEY.len() - "],\n".len();
        out.write_all(&doc.as_bytes()[..open])?;
        Ok(JsonArray {
            out,
            tail: doc[open + 1..].to_string(),
            first: true,
        })
    }

    fn push<T: Serialize>(&mut self, item: &T) -> io::Result<()> {
        let text = to_string(item);
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        for (i, line) in text.trim_end().lines().enumerate() {
            if i > 0 {
                self.out.write_all(b"\n")?;
            }
            self.out.write_all(b"    ")?;
            self.out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn finish(self) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b"\n  ")?;
        }
        self.out.write_all(b"]")?;
        self.out.write_all(self.tail.as_bytes())
    }
}

/// `reachdiff/reach/v1`, the connections streamed.
pub fn write_json(l: &Listing<'_>, diags: &[Diagnostic], out: &mut dyn Write) -> io::Result<()> {
    let a = l.analysis;
    let endpoints: Vec<EndpointJson> = a
        .endpoints()
        .into_iter()
        .map(|e| EndpointJson::from_analysis(a, e))
        .collect();
    let doc = to_string(&Head {
        schema: REACH_SCHEMA,
        endpoints: &endpoints,
        connections: [],
        diagnostics: diags.iter().map(DiagnosticJson::from).collect(),
    });
    drop(endpoints);
    let ids = Ids::new(a);
    let mut arr = JsonArray::start(doc, out)?;
    a.each_row(l.srcs, l.dsts, |s, d, c| {
        rows(ids.of(s), ids.of(d), c)
            .iter()
            .try_for_each(|r: &ConnectionJson| arr.push(r))
    })?;
    arr.finish()
}

/// The grouped answer: classes of the listed endpoints, and the rows
/// between classes (exact: any member answers for its class).
pub struct Groups {
    classes: EndpointClasses,
    /// Class of each source and destination, in class order.
    src_classes: Vec<usize>,
    dst_classes: Vec<usize>,
}

impl Groups {
    pub fn new(l: &Listing<'_>) -> Groups {
        let mut all: Vec<Endpoint> = l.srcs.iter().chain(l.dsts).copied().collect();
        all.sort_by_cached_key(|e| l.analysis.endpoint_id(*e));
        all.dedup();
        let classes = EndpointClasses::of(l.analysis, &all);
        let mut of = std::collections::HashMap::new();
        for (c, m) in classes.members.iter().enumerate() {
            for &e in m {
                of.insert(e, c);
            }
        }
        let pick = |es: &[Endpoint]| -> Vec<usize> {
            let mut v: Vec<usize> = es.iter().filter_map(|e| of.get(e).copied()).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        Groups {
            src_classes: pick(l.srcs),
            dst_classes: pick(l.dsts),
            classes,
        }
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    fn name(c: usize) -> String {
        format!("class {}", c + 1)
    }

    /// Rows between classes, in class order; `sink` gets class numbers.
    fn each_row(
        &self,
        a: &Analysis,
        mut sink: impl FnMut(usize, usize, &ConnSet) -> io::Result<()>,
    ) -> io::Result<usize> {
        let w = |cs: &[usize]| -> Vec<Endpoint> {
            cs.iter().map(|&c| self.classes.witness(c)).collect()
        };
        let (srcs, dsts) = (w(&self.src_classes), w(&self.dst_classes));
        // Witnesses are distinct endpoints, so they identify classes.
        let src_pos: std::collections::HashMap<Endpoint, usize> =
            srcs.iter().enumerate().map(|(i, &e)| (e, i)).collect();
        let dst_pos: std::collections::HashMap<Endpoint, usize> =
            dsts.iter().enumerate().map(|(i, &e)| (e, i)).collect();
        a.each_row(&srcs, &dsts, |s, d, c| {
            let (si, di) = (src_pos[&s], dst_pos[&d]);
            sink(self.src_classes[si], self.dst_classes[di], c)
        })
    }
}

/// The grouped answer as text: the classes with all their members, then
/// the rows between classes.
pub fn write_groups_text(
    l: &Listing<'_>,
    g: &Groups,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let a = l.analysis;
    summary(a, out)?;
    writeln!(
        out,
        "{} of endpoints that every policy treats alike; any member answers for its class",
        plural(g.len(), "class", "classes")
    )?;
    for (c, members) in g.classes.members.iter().enumerate() {
        writeln!(
            out,
            "\n{} ({}):",
            style.bold(&Groups::name(c)),
            plural(members.len(), "endpoint", "endpoints")
        )?;
        for &e in members {
            writeln!(out, "  {}", sanitize(&a.endpoint_id(e)))?;
        }
    }
    writeln!(out)?;
    let wd = g
        .dst_classes
        .iter()
        .map(|&c| Groups::name(c).len())
        .max()
        .unwrap_or(0);
    let ws = g
        .src_classes
        .iter()
        .map(|&c| Groups::name(c).len())
        .max()
        .unwrap_or(0);
    let total = g.each_row(a, |s, d, c| {
        let c = crate::words::conn_text(c);
        writeln!(
            out,
            "  {:<ws$}  →  {:<wd$}  {}",
            Groups::name(s),
            Groups::name(d),
            style.cyan(&c)
        )
    })?;
    writeln!(
        out,
        "\n{} between classes",
        plural(total, "allowed connection", "allowed connections")
    )
}

#[derive(Serialize)]
struct ClassJson {
    id: String,
    members: Vec<String>,
}

#[derive(Serialize)]
struct ClassConnectionJson {
    src: String,
    dst: String,
    protocol: &'static str,
    ports: Vec<[u16; 2]>,
}

#[derive(Serialize)]
struct GroupsHead<'a> {
    schema: &'static str,
    endpoints: &'a [EndpointJson],
    classes: Vec<ClassJson>,
    connections: [(); 0],
    diagnostics: Vec<DiagnosticJson>,
}

/// `reachdiff/reach-groups/v1`: endpoints, classes (`c1`, `c2`, … with
/// their member ids), and connections between classes.
pub fn write_groups_json(
    l: &Listing<'_>,
    g: &Groups,
    diags: &[Diagnostic],
    out: &mut dyn Write,
) -> io::Result<()> {
    let a = l.analysis;
    let cid = |c: usize| format!("c{}", c + 1);
    let endpoints: Vec<EndpointJson> = a
        .endpoints()
        .into_iter()
        .map(|e| EndpointJson::from_analysis(a, e))
        .collect();
    let classes = g
        .classes
        .members
        .iter()
        .enumerate()
        .map(|(c, m)| ClassJson {
            id: cid(c),
            members: m.iter().map(|&e| a.endpoint_id(e)).collect(),
        })
        .collect();
    let doc = to_string(&GroupsHead {
        schema: REACH_GROUPS_SCHEMA,
        endpoints: &endpoints,
        classes,
        connections: [],
        diagnostics: diags.iter().map(DiagnosticJson::from).collect(),
    });
    drop(endpoints);
    let mut arr = JsonArray::start(doc, out)?;
    g.each_row(a, |s, d, c| {
        c.iter().try_for_each(|(p, ports)| {
            arr.push(&ClassConnectionJson {
                src: cid(s),
                dst: cid(d),
                protocol: p.as_str(),
                ports: ports.ranges().iter().map(|&(lo, hi)| [lo, hi]).collect(),
            })
        })
    })?;
    arr.finish()
}

/// Pairs a listing may hold for its denied pairs to be explained
/// (`reach --from A --to B`): a narrow question gets a short answer.
pub const WHY_PAIRS: usize = 400;
/// Denied pairs explained at most; the rest are counted.
const WHY_SHOWN: usize = 8;

/// For each denied pair of a narrow listing: which side denies it, what
/// isolates that side, and the rules nearest to admitting it with what
/// they lack.
pub fn write_why_not(l: &Listing<'_>, style: Style, out: &mut dyn Write) -> io::Result<()> {
    use crate::reach::why::why_not;
    let a = l.analysis;
    if l.srcs.len().saturating_mul(l.dsts.len()) > WHY_PAIRS {
        return Ok(());
    }
    let mut more = 0;
    let mut shown = 0;
    for &s in l.srcs {
        for &d in l.dsts {
            let Some(w) = why_not(a, s, d) else { continue };
            if shown == WHY_SHOWN {
                more += 1;
                continue;
            }
            shown += 1;
            let (sid, did) = (a.endpoint_id(s), a.endpoint_id(d));
            writeln!(
                out,
                "\n{}",
                style.bold(&format!(
                    "why {} → {} is denied",
                    sanitize(&sid),
                    sanitize(&did)
                ))
            )?;
            for line in crate::reach::why::lines(a, s, d, &w) {
                writeln!(out, "  {}", sanitize(&line))?;
            }
        }
    }
    if more > 0 {
        writeln!(
            out,
            "\n…and {} (narrow --from and --to to see why)",
            plural(more, "more denied pair", "more denied pairs")
        )?;
    }
    Ok(())
}
