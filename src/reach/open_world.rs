//! The rest of the cluster: representative endpoints for pods the
//! repository does not hold (OW-1..OW-9 in `docs/open-world.md`).
//!
//! A representative is a *class* of pods: a namespace part (a namespace the
//! revisions know, or any other namespace with label constraints) and label
//! constraints on the pod. Constraints are kept per label key as a set of
//! *cells*: the key absent, each value some selector names, or any other
//! value. Every selector of both revisions is evaluated on every class; where
//! it matches some pods of a class and not others, the class is split in two
//! (OW-4), exactly as CIDRs split the address space into atoms. When no
//! selector splits a class any more, every selector matches all of its pods
//! or none, so one concrete *witness* pod (any member) evaluates exactly like
//! every pod of the class, and the one evaluator of `reach` answers for it.

use crate::manifest::{AdminPeer, AdminSelect, ContainerPort, Inventory, Namespace, NpPeerKind};
use crate::manifest::{LabelCells, Representative, Workload};
use crate::model::selector::NAMESPACE_NAME_LABEL;
use crate::model::{Labels, Operator, Requirement, Selector};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Pods and namespaces that exist in the cluster but not in the repository
/// (`.reachdiff.yaml` `cluster:`), and whether the built-in kube-dns applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Namespace name → labels (the name label is added).
    pub namespaces: BTreeMap<String, Labels>,
    pub workloads: Vec<DeclaredWorkload>,
    /// OW-7: `kube-system` pods `k8s-app=kube-dns` on UDP/TCP 53, unless a
    /// revision holds such a workload.
    pub builtin_dns: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredWorkload {
    pub namespace: String,
    pub name: String,
    pub labels: Labels,
    pub ports: Vec<ContainerPort>,
}

impl DeclaredWorkload {
    pub fn kube_dns() -> DeclaredWorkload {
        use crate::model::Protocol;
        DeclaredWorkload {
            namespace: "kube-system".into(),
            name: "kube-dns".into(),
            labels: [("k8s-app".to_string(), "kube-dns".to_string())].into(),
            ports: [Protocol::Udp, Protocol::Tcp]
                .into_iter()
                .map(|protocol| ContainerPort {
                    name: Some(
                        if protocol == Protocol::Udp {
                            "dns"
                        } else {
                            "dns-tcp"
                        }
                        .into(),
                    ),
                    port: 53,
                    protocol,
                })
                .collect(),
        }
    }
}

/// More classes than this would make the report unreadable and the
/// analysis slow; the open world is then left out, with a diagnostic.
pub const MAX_CLASSES: usize = 50_000;

/// A value of one label key: absent, or present with a value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Cell {
    Absent,
    Value(String),
}

/// The values a class allows for one key: exactly these, or all but these.
/// "All but" never runs empty (a value no selector names is always left),
/// so no domain of values needs to be known. Sets are shared: every class
/// of "a namespace no one names" excludes every known name, thousands on a
/// large cluster, and a split changes one key, not the others.
#[derive(Clone, Debug)]
enum Cells {
    Only(CellSet),
    AllBut(CellSet),
}

// Ordered as derived (Only before AllBut, then by set), but a shared set
// is equal to itself without a walk over its thousand names: sorting the
// classes compares such sets again and again.
impl Ord for Cells {
    fn cmp(&self, o: &Cells) -> std::cmp::Ordering {
        use std::cmp::Ordering::{Greater, Less};
        match (self, o) {
            (Cells::Only(a), Cells::Only(b)) | (Cells::AllBut(a), Cells::AllBut(b)) => {
                if Arc::ptr_eq(a, b) {
                    std::cmp::Ordering::Equal
                } else {
                    a.cmp(b)
                }
            }
            (Cells::Only(_), Cells::AllBut(_)) => Less,
            (Cells::AllBut(_), Cells::Only(_)) => Greater,
        }
    }
}

impl PartialOrd for Cells {
    fn partial_cmp(&self, o: &Cells) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for Cells {
    fn eq(&self, o: &Cells) -> bool {
        self.cmp(o).is_eq()
    }
}

impl Eq for Cells {}

// As derived: equal cells (same variant, same set) hash alike.
impl std::hash::Hash for Cells {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let (tag, set) = match self {
            Cells::Only(s) => (0u8, s),
            Cells::AllBut(s) => (1u8, s),
        };
        tag.hash(h);
        set.hash(h);
    }
}

type CellSet = Arc<BTreeSet<Cell>>;

impl Cells {
    fn all() -> Cells {
        Cells::AllBut(Arc::default())
    }

    /// The cells a requirement accepts (NP-10 semantics: NotIn accepts an
    /// absent key).
    fn of(r: &Requirement) -> Cells {
        let values = || Arc::new(r.values.iter().cloned().map(Cell::Value).collect());
        match r.op {
            Operator::In => Cells::Only(values()),
            Operator::NotIn => Cells::AllBut(values()),
            Operator::Exists => Cells::AllBut(Arc::new([Cell::Absent].into())),
            Operator::DoesNotExist => Cells::Only(Arc::new([Cell::Absent].into())),
        }
    }

    fn complement(&self) -> Cells {
        match self {
            Cells::Only(s) => Cells::AllBut(s.clone()),
            Cells::AllBut(s) => Cells::Only(s.clone()),
        }
    }

    fn intersect(&self, o: &Cells) -> Cells {
        match (self, o) {
            (Cells::Only(a), Cells::Only(b)) => {
                Cells::Only(Arc::new(a.intersection(b).cloned().collect()))
            }
            (Cells::Only(a), Cells::AllBut(b)) | (Cells::AllBut(b), Cells::Only(a)) => {
                Cells::Only(Arc::new(a.difference(b).cloned().collect()))
            }
            // Excluding what is already excluded keeps the shared set.
            (Cells::AllBut(a), Cells::AllBut(b)) if b.is_subset(a) => Cells::AllBut(a.clone()),
            (Cells::AllBut(a), Cells::AllBut(b)) => {
                Cells::AllBut(Arc::new(a.union(b).cloned().collect()))
            }
        }
    }

    /// One member: absent where allowed, else the smallest allowed value,
    /// else a value no selector names (`~` is not allowed in label values).
    fn witness(&self) -> Option<String> {
        match self {
            Cells::Only(s) if s.contains(&Cell::Absent) => None,
            Cells::Only(s) => s.iter().find_map(|c| match c {
                Cell::Value(v) => Some(v.clone()),
                Cell::Absent => None,
            }),
            Cells::AllBut(s) if !s.contains(&Cell::Absent) => None,
            Cells::AllBut(_) => Some("~other".into()),
        }
    }

    /// kubectl-like text; injective, so ids never collide. None: no constraint.
    fn describe(&self, key: &str) -> Option<String> {
        let values = |s: &BTreeSet<Cell>| -> Vec<String> {
            s.iter()
                .filter_map(|c| match c {
                    Cell::Value(v) => Some(v.clone()),
                    Cell::Absent => None,
                })
                .collect()
        };
        let (s, only) = match self {
            Cells::Only(s) => (s, true),
            Cells::AllBut(s) => (s, false),
        };
        let absent = s.contains(&Cell::Absent);
        let v = values(s);
        Some(match (only, absent, v.as_slice()) {
            (false, false, []) => return None,
            (false, true, []) => key.to_string(),
            (false, false, _) => format!("{key} notin ({})", v.join(",")),
            (false, true, _) => format!("{key},{key} notin ({})", v.join(",")),
            (true, true, []) => format!("!{key}"),
            (true, false, [one]) => format!("{key}={one}"),
            (true, false, _) => format!("{key} in ({})", v.join(",")),
            (true, true, _) => format!("!{key}|{key} in ({})", v.join(",")),
        })
    }
}

/// The public form of cell sets, one list per distinct shared set: the
/// classes of unknown namespaces share their set of excluded names, and
/// their representatives share its list.
#[derive(Default)]
struct PublicCells(HashMap<*const BTreeSet<Cell>, Arc<[Option<String>]>>);

impl PublicCells {
    fn list(&mut self, s: &CellSet) -> Arc<[Option<String>]> {
        self.0
            .entry(Arc::as_ptr(s))
            .or_insert_with(|| {
                s.iter()
                    .map(|c| match c {
                        Cell::Absent => None,
                        Cell::Value(v) => Some(v.clone()),
                    })
                    .collect()
            })
            .clone()
    }

    fn cells(&mut self, c: &Cells) -> LabelCells {
        match c {
            Cells::Only(s) => LabelCells::Only(self.list(s)),
            Cells::AllBut(s) => LabelCells::AllBut(self.list(s)),
        }
    }

    fn class(&mut self, lc: &LabelClass) -> Vec<(String, LabelCells)> {
        lc.0.iter()
            .map(|(k, c)| (k.clone(), self.cells(c)))
            .collect()
    }
}

/// Constraints on a label map: key → allowed cells; a key that is not
/// listed is unconstrained.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct LabelClass(BTreeMap<String, Cells>);

enum Verdict {
    Always,
    Never,
    /// Split on this key into the cells that match and those that do not.
    Split(String, Cells, Cells),
}

/// Whether a requirement accepts one cell (NP-10: NotIn accepts an absent
/// key), without building its cell set: the refinement asks this millions
/// of times on large clusters.
fn accepts(r: &Requirement, c: &Cell) -> bool {
    let listed = |v: &String| r.values.binary_search(v).is_ok();
    match (r.op, c) {
        (Operator::In, Cell::Value(v)) => listed(v),
        (Operator::NotIn, Cell::Value(v)) => !listed(v),
        (Operator::In, Cell::Absent) | (Operator::Exists, Cell::Absent) => false,
        (Operator::NotIn, Cell::Absent) | (Operator::Exists, Cell::Value(_)) => true,
        (Operator::DoesNotExist, c) => matches!(c, Cell::Absent),
    }
}

/// The finite cell set of a requirement: what it accepts (In,
/// DoesNotExist) or what it rejects (NotIn, Exists), as cells.
fn listed_cells(r: &Requirement) -> impl Iterator<Item = Cell> + '_ {
    let absent = matches!(r.op, Operator::Exists | Operator::DoesNotExist);
    absent
        .then_some(Cell::Absent)
        .into_iter()
        .chain(r.values.iter().cloned().map(Cell::Value))
}

/// Whether some pod allowed by `allowed` is accepted (`want`) or rejected
/// (`!want`) by `r`. Exact on the cell algebra: "all but" sets are
/// infinite, so they always hold a value no requirement lists.
fn some_cell(allowed: Option<&Cells>, r: &Requirement, want: bool) -> bool {
    // Whether the requirement's answer is `want` on every cell it does not
    // list (the co-finite part).
    let rest_is_want = matches!(r.op, Operator::NotIn | Operator::Exists) == want;
    match allowed {
        Some(Cells::Only(a)) => a.iter().any(|c| accepts(r, c) == want),
        // A co-finite set meets the requirement's co-finite part; else only
        // listed cells it does not exclude can answer `want`.
        Some(Cells::AllBut(a)) => {
            rest_is_want || listed_cells(r).any(|c| !a.contains(&c) && accepts(r, &c) == want)
        }
        None => rest_is_want || listed_cells(r).any(|c| accepts(r, &c) == want),
    }
}

impl LabelClass {
    /// OW-3/OW-4: whether `sel` matches every pod of the class, none, or
    /// some (then the first key that splits it, with both halves).
    fn eval(&self, sel: &Selector) -> Verdict {
        let mut split = None;
        for r in &sel.requirements {
            let allowed = self.0.get(&r.key);
            if !some_cell(allowed, r, true) {
                return Verdict::Never;
            }
            if split.is_none() && some_cell(allowed, r, false) {
                split = Some(r);
            }
        }
        match split {
            Some(r) => {
                let allowed = self.0.get(&r.key).cloned().unwrap_or_else(Cells::all);
                let accepts = Cells::of(r);
                let yes = allowed.intersect(&accepts);
                let no = allowed.intersect(&accepts.complement());
                Verdict::Split(r.key.clone(), yes, no)
            }
            None => Verdict::Always,
        }
    }

    fn with(&self, key: &str, cells: Cells) -> LabelClass {
        let mut c = self.clone();
        c.0.insert(key.to_string(), cells);
        c
    }

    fn witness(&self) -> Labels {
        self.0
            .iter()
            .filter_map(|(k, c)| c.witness().map(|v| (k.clone(), v)))
            .collect()
    }

    /// `app=web,!tier`; keys in order; None when unconstrained.
    fn describe(&self, skip: Option<&str>) -> Option<String> {
        let parts: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| Some(k.as_str()) != skip)
            .filter_map(|(k, c)| c.describe(k))
            .collect();
        (!parts.is_empty()).then(|| parts.join(","))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum NsPart {
    /// A namespace some revision declares or assumes, or `cluster:` declares.
    Known(String),
    /// Any namespace none of them names; its name is a label like others.
    Unknown(LabelClass),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Class {
    ns: NsPart,
    pods: LabelClass,
}

/// Which pods a selector pair can match, from any policy of any revision.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NsMatch {
    Name(String),
    Labels(Selector),
}

fn matchers_of(inv: &Inventory, out: &mut BTreeSet<(NsMatch, Option<Selector>)>) {
    let admin = |s: &AdminSelect| match s {
        AdminSelect::Namespaces(n) => (NsMatch::Labels(n.clone()), None),
        AdminSelect::Pods { namespaces, pods } => {
            (NsMatch::Labels(namespaces.clone()), Some(pods.clone()))
        }
    };
    for p in &inv.policies {
        out.insert((
            NsMatch::Name(p.namespace.clone()),
            Some(p.pod_selector.clone()),
        ));
        for r in p.ingress.iter().chain(&p.egress) {
            for peer in r.peers.iter().flatten() {
                if let NpPeerKind::Selectors { namespaces, pods } = &peer.kind {
                    let ns = match namespaces {
                        Some(n) => NsMatch::Labels(n.clone()),
                        None => NsMatch::Name(p.namespace.clone()),
                    };
                    out.insert((ns, pods.clone()));
                }
            }
        }
    }
    // Cilium selectors split classes by the same rule (identity labels,
    // CC-1: namespace keys become namespace-label requirements).
    for (ns, pods) in super::compile::cilium::selector_pairs(inv) {
        out.insert((NsMatch::Labels(ns), Some(pods)));
    }
    // Calico selectors too: one requirement per selector leaf, so every
    // Calico expression is constant on each class.
    for (ns, pods) in super::compile::calico::selector_pairs(inv) {
        out.insert((NsMatch::Labels(ns), pods));
    }
    for p in &inv.admin_policies {
        out.insert(admin(&p.subject));
        for r in p.ingress.iter().chain(&p.egress) {
            for (peer, _) in &r.peers {
                if let AdminPeer::Select(s) = peer {
                    out.insert(admin(s));
                }
            }
        }
    }
}

struct World<'a> {
    /// Known namespace → its labels in each revision and in `cluster:`.
    known: BTreeMap<String, Vec<&'a Labels>>,
    /// Per known namespace: the distinct pod selectors of every policy
    /// selector that can match pods there (in some revision).
    by_ns: BTreeMap<String, Vec<Selector>>,
    /// Selector pairs that can match pods of namespaces no one names.
    unknown: Vec<(Selector, Option<Selector>)>,
    /// The names a namespace no one names cannot have (and the name label
    /// absent), shared by every class that excludes nothing more.
    others: CellSet,
}

impl<'a> World<'a> {
    fn new(invs: &'a [&'a Inventory], cluster: &'a ClusterSpec) -> World<'a> {
        let mut known: BTreeMap<String, Vec<&Labels>> = BTreeMap::new();
        for inv in invs {
            for n in &inv.namespaces {
                known.entry(n.name.clone()).or_default().push(&n.labels);
            }
        }
        for (name, labels) in &cluster.namespaces {
            known.entry(name.clone()).or_default().push(labels);
        }
        for w in &cluster.workloads {
            known.entry(w.namespace.clone()).or_default();
        }
        if cluster.builtin_dns {
            // OW-7: the built-in kube-dns lives there.
            known.entry("kube-system".to_string()).or_default();
        }
        let mut matchers = BTreeSet::new();
        for inv in invs {
            matchers_of(inv, &mut matchers);
        }
        // Pod selectors by position in selector order, so each namespace's
        // list keeps that order (it decides which split comes first, and so
        // the classes' ids) while the lists hold plain indices.
        let pod_sels: Vec<&Selector> = matchers
            .iter()
            .filter_map(|(_, p)| p.as_ref())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let pod_index = |p: &Selector| pod_sels.binary_search(&p).unwrap_or(0);
        let index = NsIndex::new(&known);
        let mut by_ns: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        let mut unknown = Vec::new();
        let mut ns_cache: BTreeMap<&Selector, Vec<&str>> = BTreeMap::new();
        for (ns, pods) in &matchers {
            let names: Vec<&str> = match ns {
                NsMatch::Name(n) => vec![n.as_str()],
                NsMatch::Labels(s) => {
                    unknown.push((s.clone(), pods.clone()));
                    ns_cache
                        .entry(s)
                        .or_insert_with(|| index.matching(s))
                        .clone()
                }
            };
            if let Some(p) = pods {
                let i = pod_index(p);
                for n in names {
                    by_ns.entry(n).or_default().insert(i);
                }
            }
        }
        let by_ns = by_ns
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.into_iter().map(|i| pod_sels[i].clone()).collect(),
                )
            })
            .collect();
        let others = Arc::new(
            std::iter::once(Cell::Absent)
                .chain(known.keys().cloned().map(Cell::Value))
                .collect(),
        );
        World {
            known,
            by_ns,
            unknown,
            others,
        }
    }

    /// Name cells of "a namespace no one names": any name but the known ones.
    fn unknown_names(&self) -> Cells {
        Cells::AllBut(self.others.clone())
    }

    /// Splits the class on the first selector from `from` on that matches
    /// some of its pods and not others; returns both halves and that
    /// selector's position. Selectors before `from` matched all or none of
    /// the class's parent, so they match all or none of the class too:
    /// the halves resume from the returned position, and refinement costs
    /// one pass over the selectors per class rather than one per split.
    fn split(&self, c: &Class, from: usize) -> Option<(Class, Class, usize)> {
        let pods_split = |p: &Selector| match c.pods.eval(p) {
            Verdict::Split(k, yes, no) => {
                let mk = |cells: Cells| Class {
                    ns: c.ns.clone(),
                    pods: c.pods.with(&k, cells),
                };
                Some((mk(yes), mk(no)))
            }
            _ => None,
        };
        let lc = match &c.ns {
            NsPart::Known(x) => {
                let sels = self.by_ns.get(x)?;
                return sels
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find_map(|(i, p)| pods_split(p).map(|(a, b)| (a, b, i)));
            }
            NsPart::Unknown(lc) => lc,
        };
        for (i, (ns, pods)) in self.unknown.iter().enumerate().skip(from) {
            match lc.eval(ns) {
                Verdict::Never => continue,
                Verdict::Split(k, yes, no) => {
                    let mk = |cells: Cells| Class {
                        ns: NsPart::Unknown(lc.with(&k, cells)),
                        pods: c.pods.clone(),
                    };
                    return Some((mk(yes), mk(no), i));
                }
                Verdict::Always => {
                    if let Some((a, b)) = pods.as_ref().and_then(pods_split) {
                        return Some((a, b, i));
                    }
                }
            }
        }
        None
    }

    fn classes(&self) -> Result<Vec<Class>, usize> {
        let any_ns =
            NsPart::Unknown(LabelClass::default().with(NAMESPACE_NAME_LABEL, self.unknown_names()));
        let mut work: Vec<(Class, usize)> = std::iter::once(any_ns)
            .chain(self.known.keys().cloned().map(NsPart::Known))
            .map(|ns| {
                let c = Class {
                    ns,
                    pods: LabelClass::default(),
                };
                (c, 0)
            })
            .collect();
        let mut done = Vec::new();
        while let Some((c, from)) = work.pop() {
            match self.split(&c, from) {
                Some((a, b, at)) => {
                    work.push((a, at));
                    work.push((b, at));
                }
                None => done.push(c),
            }
            if done.len() + work.len() > MAX_CLASSES {
                return Err(done.len() + work.len());
            }
        }
        done.sort();
        Ok(done)
    }

    /// The namespace part of an id, and the namespace selector of the class
    /// (None for a known namespace).
    fn ns_text(&self, ns: &NsPart) -> (String, Option<String>) {
        let lc = match ns {
            NsPart::Known(x) => return (x.clone(), None),
            NsPart::Unknown(lc) => lc,
        };
        let name = match lc.0.get(NAMESPACE_NAME_LABEL) {
            Some(Cells::Only(s)) => Cells::Only(s.clone()).describe(NAMESPACE_NAME_LABEL),
            // The known names are excluded from every unknown class; say
            // only what a split excluded besides them (most exclude none:
            // they share the set of known names).
            Some(Cells::AllBut(s)) if Arc::ptr_eq(s, &self.others) => None,
            Some(Cells::AllBut(s)) => Cells::AllBut(Arc::new(
                s.iter()
                    .filter(|c| match c {
                        Cell::Absent => false,
                        Cell::Value(v) => !self.known.contains_key(v),
                    })
                    .cloned()
                    .collect(),
            ))
            .describe(NAMESPACE_NAME_LABEL),
            None => None,
        };
        let rest = lc.describe(Some(NAMESPACE_NAME_LABEL));
        if let (Some(Cells::Only(s)), None) = (lc.0.get(NAMESPACE_NAME_LABEL), &rest) {
            if let [Cell::Value(v)] = s.iter().collect::<Vec<_>>().as_slice() {
                return (v.clone(), Some(format!("{NAMESPACE_NAME_LABEL}={v}")));
            }
        }
        let text: Vec<String> = name.into_iter().chain(rest).collect();
        if text.is_empty() {
            ("*".into(), Some(String::new()))
        } else {
            let t = text.join(",");
            (format!("{{{t}}}"), Some(t))
        }
    }
}

/// The known namespaces by label, so that finding the namespaces a
/// namespace selector can match (in some revision, or as assumed by M-9)
/// looks only at those carrying a label it requires, not at all of them:
/// thousands of selectors times a thousand namespaces otherwise.
struct NsIndex<'a> {
    /// Per known namespace (in name order): its label sets, the assumed
    /// one (the name label only) first.
    labels: Vec<(&'a str, Vec<Labels>)>,
    /// (key, value) → namespaces with that label in some label set.
    by_label: HashMap<(&'a str, &'a str), Vec<usize>>,
    /// key → namespaces with that key in some label set.
    by_key: HashMap<&'a str, Vec<usize>>,
}

impl<'a> NsIndex<'a> {
    fn new(known: &'a BTreeMap<String, Vec<&'a Labels>>) -> NsIndex<'a> {
        let labels: Vec<(&str, Vec<Labels>)> = known
            .iter()
            .map(|(name, sets)| {
                let all = std::iter::once(default_ns_labels(name))
                    .chain(sets.iter().map(|l| (*l).clone()))
                    .collect();
                (name.as_str(), all)
            })
            .collect();
        let mut by_label: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (name, sets)) in known.iter().enumerate() {
            let name_label = (NAMESPACE_NAME_LABEL, name.as_str());
            let pairs = std::iter::once(name_label).chain(
                sets.iter()
                    .flat_map(|l| l.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            );
            for (k, v) in pairs {
                let at = by_label.entry((k, v)).or_default();
                if at.last() != Some(&i) {
                    at.push(i);
                }
                let at = by_key.entry(k).or_default();
                if at.last() != Some(&i) {
                    at.push(i);
                }
            }
        }
        NsIndex {
            labels,
            by_label,
            by_key,
        }
    }

    /// The known namespaces `s` matches in some revision or as assumed, in
    /// name order. Candidates come from one requirement that needs a label
    /// (In, Exists); every candidate is then checked whole.
    fn matching(&self, s: &Selector) -> Vec<&'a str> {
        let needs = s
            .requirements
            .iter()
            .find(|r| matches!(r.op, Operator::In | Operator::Exists));
        let candidates: Vec<usize> = match needs {
            Some(r) if r.op == Operator::In => {
                let mut c: Vec<usize> = r
                    .values
                    .iter()
                    .filter_map(|v| self.by_label.get(&(r.key.as_str(), v.as_str())))
                    .flatten()
                    .copied()
                    .collect();
                c.sort_unstable();
                c.dedup();
                c
            }
            Some(r) => self.by_key.get(r.key.as_str()).cloned().unwrap_or_default(),
            None => (0..self.labels.len()).collect(),
        };
        // The index already answers a selector of that one requirement (a
        // candidate has the label in some set), and `{}` matches all: no
        // check whole, which for `{}` over thousands of namespaces and
        // hundreds of selectors was most of building the classes.
        let exact = match needs {
            Some(_) => s.requirements.len() == 1,
            None => s.requirements.is_empty(),
        };
        if exact {
            return candidates.into_iter().map(|i| self.labels[i].0).collect();
        }
        candidates
            .into_iter()
            .filter(|&i| self.labels[i].1.iter().any(|l| s.matches(l)))
            .map(|i| self.labels[i].0)
            .collect()
    }
}

/// Whether a namespace is the witness namespace of a class of namespaces
/// none of the revisions names (OW-5): such names (`~N`) no Kubernetes
/// object can have.
pub fn is_witness_namespace(name: &str) -> bool {
    name.starts_with('~')
}

fn default_ns_labels(name: &str) -> Labels {
    [(NAMESPACE_NAME_LABEL.to_string(), name.to_string())].into()
}

/// Representatives for a set of revisions analysed together (the base and
/// the head of a diff, or one revision), as witness workloads and the
/// namespaces they need. Err: too many classes (count).
#[derive(Clone, Debug, Default)]
pub struct OpenWorld {
    /// Known namespaces with the labels `cluster:` gives them.
    known: BTreeMap<String, Option<Labels>>,
    /// Witness namespaces of unknown-namespace classes.
    namespaces: Vec<Namespace>,
    workloads: Vec<Workload>,
    declared: Vec<Workload>,
}

pub fn open_world(invs: &[&Inventory], cluster: &ClusterSpec) -> Result<OpenWorld, usize> {
    let world = World::new(invs, cluster);
    let classes = world.classes()?;
    let mut ow = OpenWorld::default();
    // Keyed by address: `classes` keeps every set alive until the end.
    let mut public = PublicCells::default();
    for name in world.known.keys() {
        ow.known
            .insert(name.clone(), cluster.namespaces.get(name).cloned());
    }
    for (i, c) in classes.iter().enumerate() {
        let (ns_text, ns_selector) = world.ns_text(&c.ns);
        let namespace = match &c.ns {
            NsPart::Known(x) => x.clone(),
            NsPart::Unknown(lc) => {
                // Witness namespaces get names no Kubernetes object can have;
                // their name label carries the class's name.
                let internal = format!("~{i}");
                debug_assert!(is_witness_namespace(&internal));
                ow.namespaces.push(Namespace {
                    name: internal.clone(),
                    labels: lc.witness(),
                    span: None,
                });
                internal
            }
        };
        let pods = c.pods.describe(None);
        let pod_text = pods
            .as_ref()
            .map_or("*".to_string(), |p| format!("{{{p}}}"));
        let info = Representative {
            id: format!("{ns_text}/{pod_text}[any]"),
            namespace: ns_text,
            namespace_selector: ns_selector,
            pod_selector: pods.unwrap_or_default(),
            declared: false,
            namespace_cells: match &c.ns {
                NsPart::Known(_) => None,
                NsPart::Unknown(lc) => Some(public.class(lc)),
            },
            pod_cells: public.class(&c.pods),
        };
        ow.workloads
            .push(witness(namespace, info, c.pods.witness(), Vec::new()));
    }
    let mut declared: Vec<&DeclaredWorkload> = cluster.workloads.iter().collect();
    declared.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    for d in declared {
        ow.declared.push(declared_witness(d));
    }
    Ok(ow)
}

fn witness(
    namespace: String,
    info: Representative,
    labels: Labels,
    ports: Vec<ContainerPort>,
) -> Workload {
    Workload {
        kind: "Representative".into(),
        name: info.id.clone(),
        namespace,
        labels,
        ports,
        init_ports: Vec::new(),
        host_network: false,
        service_account: None,
        // Nothing of the input defines it: no file, no line.
        span: crate::diag::Span {
            file: String::new(),
            line: 0,
            col: 0,
        },
        label_spans: Vec::new(),
        representative: Some(Arc::new(info)),
    }
}

fn declared_witness(d: &DeclaredWorkload) -> Workload {
    let labels: Vec<String> = d.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let info = Representative {
        id: format!(
            "{}/{}{{{}}}[declared]",
            d.namespace,
            d.name,
            labels.join(",")
        ),
        namespace: d.namespace.clone(),
        namespace_selector: None,
        pod_selector: labels.join(","),
        declared: true,
        namespace_cells: None,
        pod_cells: d
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), LabelCells::Only(Arc::new([Some(v.clone())]))))
            .collect(),
    };
    let mut ports = d.ports.clone();
    ports.sort();
    witness(d.namespace.clone(), info, d.labels.clone(), ports)
}

impl OpenWorld {
    /// Adds the representatives to one revision's inventory: known
    /// namespaces it lacks (assumed as M-9 does, or as `cluster:` says),
    /// the witness namespaces, and the witness workloads.
    pub fn extend(&self, inv: &mut Inventory, cluster: &ClusterSpec) {
        let have: BTreeSet<String> = inv.namespaces.iter().map(|n| n.name.clone()).collect();
        for (name, labels) in &self.known {
            if have.contains(name) {
                continue;
            }
            let mut l = labels.clone().unwrap_or_default();
            l.insert(NAMESPACE_NAME_LABEL.to_string(), name.clone());
            inv.namespaces.push(Namespace {
                name: name.clone(),
                labels: l,
                span: None,
            });
        }
        inv.namespaces.extend(self.namespaces.iter().cloned());
        inv.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        let builtin_dns = cluster.builtin_dns && !has_kube_dns(inv);
        let workloads = std::sync::Arc::make_mut(&mut inv.workloads);
        workloads.extend(self.workloads.iter().cloned());
        workloads.extend(self.declared.iter().cloned());
        if builtin_dns {
            workloads.push(declared_witness(&DeclaredWorkload::kube_dns()));
        }
        workloads.sort_by_cached_key(Workload::id);
    }

    pub fn len(&self) -> usize {
        self.workloads.len() + self.declared.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// OW-7: the revision (or `cluster:`) already holds the cluster's DNS.
fn has_kube_dns(inv: &Inventory) -> bool {
    inv.workloads.iter().any(|w| {
        w.namespace == "kube-system"
            && w.labels.get("k8s-app").map(String::as_str) == Some("kube-dns")
            && w.representative.as_ref().is_none_or(|r| r.declared)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LoadOptions, load};
    use crate::revision::{Revision, SourceFile};

    fn inventory(text: &str) -> Inventory {
        let rev = Revision::new("t", vec![SourceFile::new("m.yaml", text)]);
        load(&rev, &LoadOptions::default()).0
    }

    fn ids(invs: &[&Inventory]) -> Vec<String> {
        let ow = open_world(invs, &ClusterSpec::default()).expect("few classes");
        let mut ids: Vec<String> = ow.workloads.iter().map(Workload::id).collect();
        ids.sort();
        ids
    }

    const WEB: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n";

    /// OW-4 example: `allow-web` splits `shop/*` by `app=web`.
    #[test]
    fn a_subject_selector_splits_its_namespace() {
        assert_eq!(
            ids(&[&inventory(WEB)]),
            [
                "*/*[any]",
                "shop/{app notin (web)}[any]",
                "shop/{app=web}[any]"
            ]
        );
    }

    /// OW-2 example: the base names ingress-nginx, the head opens to every
    /// namespace; both get the same classes.
    #[test]
    fn both_revisions_share_classes() {
        let base = inventory(&format!(
            "{WEB}  ingress:\n  - from:\n    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ingress-nginx}}}}\n"
        ));
        let head = inventory(&format!(
            "{WEB}  ingress:\n  - from:\n    - namespaceSelector: {{}}\n"
        ));
        let want = [
            "ingress-nginx/*[any]",
            "shop/{app notin (web)}[any]",
            "shop/{app=web}[any]",
            "{kubernetes.io/metadata.name notin (ingress-nginx)}/*[any]",
        ];
        assert_eq!(ids(&[&base, &head]), want);
    }

    /// OW-3/OW-4: a NotIn on a namespace label splits unknown namespaces by
    /// that label; an absent key is in the NotIn half (NP-10).
    #[test]
    fn not_in_keeps_absent_keys() {
        let t = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [red]}]}\n";
        let ow = open_world(&[&inventory(t)], &ClusterSpec::default()).expect("few");
        let unknown: Vec<(String, Labels)> = ow
            .namespaces
            .iter()
            .map(|n| (n.name.clone(), n.labels.clone()))
            .collect();
        assert_eq!(unknown.len(), 2, "{unknown:?}");
        let with_red = unknown
            .iter()
            .filter(|(_, l)| l.get("team").map(String::as_str) == Some("red"))
            .count();
        assert_eq!(with_red, 1);
        let ids: Vec<String> = ow.workloads.iter().map(Workload::id).collect();
        assert!(
            ids.contains(&"{team notin (red)}/*[any]".to_string()),
            "{ids:?}"
        );
        assert!(ids.contains(&"{team=red}/*[any]".to_string()), "{ids:?}");
    }

    #[test]
    fn cell_descriptions_are_distinct() {
        let v = |s: &[&str]| -> BTreeSet<Cell> {
            s.iter().map(|x| Cell::Value(x.to_string())).collect()
        };
        let mut with_absent = v(&["a"]);
        with_absent.insert(Cell::Absent);
        let all = [
            Cells::Only(v(&["a"]).into()),
            Cells::Only(v(&["a", "b"]).into()),
            Cells::Only(Arc::new([Cell::Absent].into())),
            Cells::Only(with_absent.clone().into()),
            Cells::AllBut(v(&["a"]).into()),
            Cells::AllBut(Arc::new([Cell::Absent].into())),
            Cells::AllBut(with_absent.into()),
        ];
        let texts: BTreeSet<Option<String>> = all.iter().map(|c| c.describe("k")).collect();
        assert_eq!(texts.len(), all.len());
        assert_eq!(Cells::all().describe("k"), None);
    }

    /// OW-7: the built-in kube-dns joins a revision without its own.
    #[test]
    fn builtin_kube_dns_only_when_missing() {
        let spec = ClusterSpec {
            builtin_dns: true,
            ..ClusterSpec::default()
        };
        let mut inv = inventory(WEB);
        open_world(&[&inv], &spec)
            .expect("few")
            .extend(&mut inv, &spec);
        assert!(
            inv.workloads
                .iter()
                .any(|w| w.id() == "kube-system/kube-dns{k8s-app=kube-dns}[declared]")
        );
        let own = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec:\n  selector: {matchLabels: {k8s-app: kube-dns}}\n  template:\n    metadata: {labels: {k8s-app: kube-dns}}\n    spec: {containers: [{name: c}]}\n";
        let mut inv = inventory(own);
        open_world(&[&inv], &spec)
            .expect("few")
            .extend(&mut inv, &spec);
        assert!(
            !inv.workloads
                .iter()
                .any(|w| w.representative.as_ref().is_some_and(|r| r.declared))
        );
    }

    mod index {
        use super::super::*;
        use proptest::prelude::*;

        fn requirement() -> impl Strategy<Value = Requirement> {
            let op = prop_oneof![
                Just(Operator::In),
                Just(Operator::NotIn),
                Just(Operator::Exists),
                Just(Operator::DoesNotExist)
            ];
            let key = prop::sample::select(vec!["a", "b", NAMESPACE_NAME_LABEL]);
            let values = prop::collection::vec(prop::sample::select(vec!["x", "y", "n0"]), 1..3);
            (op, key, values).prop_map(|(op, key, values)| Requirement {
                key: key.to_string(),
                op,
                values: match op {
                    Operator::In | Operator::NotIn => {
                        values.iter().map(|v| v.to_string()).collect()
                    }
                    _ => Vec::new(),
                },
            })
        }

        fn labels() -> impl Strategy<Value = Labels> {
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "b"]).prop_map(str::to_string),
                prop::sample::select(vec!["x", "y"]).prop_map(str::to_string),
                0..3,
            )
        }

        proptest! {
            /// The index's answer (with its shortcuts for one requirement
            /// and for `{}`) is the brute-force one: a known namespace
            /// matches when its name label or any revision's labels do.
            #[test]
            fn matching_is_brute_force(
                spaces in prop::collection::vec(prop::collection::vec(labels(), 0..3), 1..5),
                reqs in prop::collection::vec(requirement(), 0..3),
            ) {
                let known: BTreeMap<String, Vec<&Labels>> = spaces
                    .iter()
                    .enumerate()
                    .map(|(i, sets)| (format!("n{i}"), sets.iter().collect()))
                    .collect();
                let sel = Selector::new(reqs);
                let want: Vec<&str> = known
                    .iter()
                    .filter(|(name, sets)| {
                        sel.matches(&default_ns_labels(name)) || sets.iter().any(|l| sel.matches(l))
                    })
                    .map(|(name, _)| name.as_str())
                    .collect();
                prop_assert_eq!(NsIndex::new(&known).matching(&sel), want);
            }
        }
    }
}
