//! Naming a set of pod endpoints of one revision (the repository's
//! workloads and the classes of pods outside it, OW-1) as widely as is
//! still exact. The set is first read as [`Term`]s, each standing for a
//! definite set of endpoints, then rendered; the unit tests read the terms
//! back into endpoints and compare with the set, so a phrase can never
//! claim more or less than the cell it fills.
//!
//! The folds, widest first:
//! - every endpoint (open world): "any pod in any namespace";
//! - every endpoint of a known namespace, its workloads and every class
//!   and declared endpoint there (they partition the namespace, OW-2,
//!   OW-4): "any pod in namespace `shop`";
//! - each named workload's own class (the class of pods outside the
//!   repository its labels fall in, OW-4) when every named workload's is in
//!   the set: "… and pods like it outside the repository";
//! - other classes listed, at most [`LIST_CAP`], then counted.

use super::phrase::Phrase;
use crate::manifest::{Representative, Workload};
use crate::model::Labels;
use std::collections::{BTreeMap, BTreeSet};

/// Items listed before the rest is counted.
pub const LIST_CAP: usize = 6;

/// A revision's pod endpoints, counted per namespace once.
pub struct Pods<'a> {
    all: &'a [Workload],
    /// Workloads of the repository per namespace.
    workloads: BTreeMap<&'a str, usize>,
    /// Every endpoint of each known namespace: its workloads, classes and
    /// declared endpoints.
    endpoints: BTreeMap<&'a str, usize>,
    ns_labels: BTreeMap<&'a str, &'a Labels>,
    /// Representatives present: the open world.
    open: bool,
}

/// A part of a description, standing for a definite set of endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term<'a> {
    /// Every endpoint of the open world: every pod of the cluster.
    AnyPod,
    /// Every workload of the repository (their number).
    EveryWorkload(usize),
    /// Every endpoint of these known namespaces; `workloads`: how many of
    /// them are the repository's; `label`: exactly these namespaces, among
    /// those holding workloads, carry it (closed world only).
    Namespaces {
        names: Vec<&'a str>,
        workloads: usize,
        label: Option<(String, String)>,
    },
    /// Every workload of the repository in these namespaces, not the
    /// namespaces' other pods (open world).
    WorkloadsOf {
        names: Vec<&'a str>,
        workloads: usize,
    },
    /// These workloads of the repository.
    Workloads(Vec<usize>),
    /// The own class of every workload the terms before it name (not
    /// those inside a complete namespace); `one`: a single workload.
    LikeThem { one: bool },
    /// These classes (and declared endpoints) outside the repository.
    Classes(Vec<usize>),
}

/// The known namespace an endpoint is in; None for a class of namespaces
/// the repository does not name.
pub fn known_namespace(w: &Workload) -> Option<&str> {
    match &w.representative {
        None => Some(w.namespace.as_str()),
        Some(r) if r.namespace_selector.is_none() => Some(r.namespace.as_str()),
        Some(_) => None,
    }
}

/// Whether `class` is the class of pods outside the repository that
/// workload `w`'s labels fall in (a class, not a declared endpoint, of
/// `w`'s namespace whose every constraint `w`'s labels meet).
pub fn is_own_class(w: &Workload, class: &Representative) -> bool {
    !class.declared
        && class.namespace_selector.is_none()
        && class.namespace == w.namespace
        && class
            .pod_cells
            .iter()
            .all(|(k, c)| c.allows(w.labels.get(k).map(String::as_str)))
}

impl<'a> Pods<'a> {
    pub fn new(all: &'a [Workload], namespaces: &'a [crate::manifest::Namespace]) -> Self {
        let mut workloads: BTreeMap<&str, usize> = BTreeMap::new();
        let mut endpoints: BTreeMap<&str, usize> = BTreeMap::new();
        for w in all {
            if w.representative.is_none() {
                *workloads.entry(w.namespace.as_str()).or_default() += 1;
            }
            if let Some(ns) = known_namespace(w) {
                *endpoints.entry(ns).or_default() += 1;
            }
        }
        Pods {
            all,
            workloads,
            endpoints,
            ns_labels: namespaces
                .iter()
                .map(|n| (n.name.as_str(), &n.labels))
                .collect(),
            open: all.iter().any(|w| w.representative.is_some()),
        }
    }

    fn total_workloads(&self) -> usize {
        self.workloads.values().sum()
    }

    /// The set (endpoint indices) as terms, widest first.
    pub fn terms(&self, set: &[usize]) -> Vec<Term<'a>> {
        let set: BTreeSet<usize> = set.iter().copied().collect();
        let all = self.all;
        let (reps, ws): (Vec<usize>, Vec<usize>) =
            set.iter().partition(|&&w| all[w].representative.is_some());
        let total = self.total_workloads();
        if self.open && set.len() == all.len() && all.len() > 1 {
            return vec![Term::AnyPod];
        }
        if !self.open && ws.len() == total && total > 1 {
            return vec![Term::EveryWorkload(total)];
        }
        let complete = self.complete_namespaces(&set);
        let inside = |w: usize| known_namespace(&all[w]).is_some_and(|n| complete.contains(n));
        let ws: Vec<usize> = ws.into_iter().filter(|&w| !inside(w)).collect();
        let mut reps: Vec<usize> = reps.into_iter().filter(|&w| !inside(w)).collect();
        let mut out = Vec::new();
        if !complete.is_empty() {
            let names: Vec<&str> = complete.iter().copied().collect();
            let workloads = names
                .iter()
                .map(|n| self.workloads.get(n).copied().unwrap_or(0))
                .sum();
            let label = (!self.open && names.len() > 1)
                .then(|| self.common_namespace_label(&names))
                .flatten();
            out.push(Term::Namespaces {
                names,
                workloads,
                label,
            });
        }
        out.extend(self.workload_terms(&ws, complete.is_empty()));
        if !ws.is_empty() {
            if let Some(own) = self.own_classes(&ws, &reps) {
                reps.retain(|r| !own.contains(r));
                out.push(Term::LikeThem { one: ws.len() == 1 });
            }
        }
        if !reps.is_empty() {
            out.push(Term::Classes(reps));
        }
        out
    }

    /// Known namespaces of which the set holds every endpoint (at least
    /// two: a lone endpoint is named itself).
    fn complete_namespaces(&self, set: &BTreeSet<usize>) -> BTreeSet<&'a str> {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for &w in set {
            if let Some(ns) = known_namespace(&self.all[w]) {
                *count.entry(ns).or_default() += 1;
            }
        }
        count
            .into_iter()
            .filter(|&(ns, n)| n > 1 && self.endpoints.get(ns) == Some(&n))
            .map(|(ns, _)| ns)
            .collect()
    }

    /// Workloads outside the complete namespaces: all of the repository's,
    /// every workload of a namespace, or one by one.
    fn workload_terms(&self, ws: &[usize], no_namespace: bool) -> Vec<Term<'a>> {
        let total = self.total_workloads();
        if ws.is_empty() {
            return Vec::new();
        }
        if no_namespace && ws.len() == total && total > 1 {
            return vec![Term::EveryWorkload(total)];
        }
        let mut per_ns: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &w in ws {
            per_ns
                .entry(self.all[w].namespace.as_str())
                .or_default()
                .push(w);
        }
        let mut full: Vec<&str> = Vec::new();
        let mut singles: Vec<usize> = Vec::new();
        for (ns, members) in per_ns {
            if members.len() > 1 && self.workloads.get(ns) == Some(&members.len()) {
                full.push(ns);
            } else {
                singles.extend(members);
            }
        }
        let mut out = Vec::new();
        if !full.is_empty() {
            let workloads = full.iter().map(|n| self.workloads[n]).sum();
            out.push(Term::WorkloadsOf {
                names: full,
                workloads,
            });
        }
        if !singles.is_empty() {
            out.push(Term::Workloads(singles));
        }
        out
    }

    /// The own class of each workload of `ws` among `reps`, when every one
    /// has its own class there; None as soon as one has not.
    fn own_classes(&self, ws: &[usize], reps: &[usize]) -> Option<BTreeSet<usize>> {
        let mut by_ns: BTreeMap<&str, Vec<(usize, &Representative)>> = BTreeMap::new();
        for &r in reps {
            if let Some(rep) = &self.all[r].representative {
                by_ns
                    .entry(rep.namespace.as_str())
                    .or_default()
                    .push((r, rep));
            }
        }
        let mut own = BTreeSet::new();
        for &w in ws {
            let wl = &self.all[w];
            let (r, _) = by_ns
                .get(wl.namespace.as_str())?
                .iter()
                .find(|(_, rep)| is_own_class(wl, rep))?;
            own.insert(*r);
        }
        Some(own)
    }

    /// A label that exactly the namespaces in `names` carry among all
    /// namespaces that hold workloads, so "namespaces with k=v" is exact.
    fn common_namespace_label(&self, names: &[&str]) -> Option<(String, String)> {
        let first = self.ns_labels.get(names[0])?;
        let wanted: BTreeSet<&str> = names.iter().copied().collect();
        first
            .iter()
            .filter(|(k, _)| *k != crate::model::selector::NAMESPACE_NAME_LABEL)
            .find(|(k, v)| {
                self.workloads.keys().all(|ns| {
                    let has = self
                        .ns_labels
                        .get(ns)
                        .is_some_and(|l| l.get(*k) == Some(*v));
                    has == wanted.contains(ns)
                })
            })
            .map(|(k, v)| (k.clone(), v.clone()))
    }

    /// The set in words: one phrase per part, joined by the caller.
    pub fn describe(&self, set: &[usize]) -> Vec<Phrase> {
        let terms = self.terms(set);
        // "and pods like them" reads with the one phrase that names the
        // workloads; after two, it is a part of its own.
        let naming = terms
            .iter()
            .filter(|t| {
                matches!(
                    t,
                    Term::EveryWorkload(_) | Term::WorkloadsOf { .. } | Term::Workloads(_)
                )
            })
            .count();
        let mut out: Vec<Phrase> = Vec::new();
        for t in &terms {
            match t {
                Term::LikeThem { one } => {
                    let capped = terms
                        .iter()
                        .any(|t| matches!(t, Term::Workloads(w) if w.len() > LIST_CAP));
                    match out.last_mut() {
                        Some(last) if naming == 1 && !capped => {
                            let it = if *one { "it" } else { "them" };
                            *last = std::mem::take(last)
                                .text(format!(" and pods like {it} outside the repository"));
                        }
                        _ => out.push(
                            Phrase::new().text("pods like these workloads outside the repository"),
                        ),
                    }
                }
                _ => out.extend(self.render(t)),
            }
        }
        out
    }

    /// Whole namespaces: counted in the closed world, where "any pod"
    /// means the repository's workloads; not in the open world, where it
    /// means any pod.
    fn namespaces(
        &self,
        names: &[&str],
        workloads: usize,
        label: Option<&(String, String)>,
    ) -> Phrase {
        match (names, label) {
            ([one], _) => {
                let count = if self.open {
                    String::new()
                } else {
                    format!(" ({workloads})")
                };
                Phrase::new()
                    .text("any pod in namespace ")
                    .code(*one)
                    .text(count)
            }
            (_, Some((k, v))) => Phrase::new()
                .text("any pod in namespaces with ")
                .code(format!("{k}={v}"))
                .text(format!(
                    " ({} namespaces, {workloads} workloads)",
                    names.len()
                )),
            _ => {
                let count = if self.open {
                    String::new()
                } else {
                    format!(" ({workloads} workloads)")
                };
                Phrase::new()
                    .text("any pod in namespaces ")
                    .append(list(
                        names.iter().map(|s| s.to_string()),
                        names.len(),
                        "namespaces",
                    ))
                    .text(count)
            }
        }
    }

    fn render(&self, t: &Term<'_>) -> Vec<Phrase> {
        let all = self.all;
        match t {
            Term::AnyPod => vec![Phrase::new().strong("any pod in any namespace")],
            Term::EveryWorkload(n) if self.open => {
                vec![Phrase::new().strong(format!("every workload of the repository ({n})"))]
            }
            Term::EveryWorkload(n) => {
                vec![Phrase::new().strong(format!("every workload in the cluster ({n})"))]
            }
            Term::Namespaces {
                names,
                workloads,
                label,
            } => vec![self.namespaces(names, *workloads, label.as_ref())],
            Term::WorkloadsOf { names, workloads } => {
                let noun = if names.len() == 1 {
                    "namespace "
                } else {
                    "namespaces "
                };
                vec![
                    Phrase::new()
                        .text(format!("every workload of {noun}"))
                        .append(list(
                            names.iter().map(|s| s.to_string()),
                            names.len(),
                            "namespaces",
                        ))
                        .text(format!(" ({workloads})")),
                ]
            }
            Term::Workloads(ws) => {
                // Only the listed ones are formatted; the rest are counted.
                let ids = ws.iter().take(LIST_CAP).map(|&w| all[w].id());
                vec![list(ids, ws.len(), "workloads")]
            }
            Term::LikeThem { .. } => Vec::new(),
            Term::Classes(reps) => {
                let mut out: Vec<Phrase> = reps
                    .iter()
                    .take(LIST_CAP)
                    .filter_map(|&w| all[w].representative.as_deref())
                    .map(describe_representative)
                    .collect();
                if reps.len() > LIST_CAP {
                    out.push(Phrase::new().text(format!(
                        "{} more classes of pods outside the repository",
                        reps.len() - LIST_CAP
                    )));
                }
                out
            }
        }
    }
}

/// `a`, `b` and `c` in code, the first [`LIST_CAP`] of `total`, then
/// "and N more `noun_more`".
pub fn list(items: impl IntoIterator<Item = String>, total: usize, noun_more: &str) -> Phrase {
    let mut p = Phrase::new().code_list(items.into_iter().take(LIST_CAP));
    if total > LIST_CAP {
        p = p.text(format!(" and {} more {noun_more}", total - LIST_CAP));
    }
    p
}

/// A representative in words (OW-1): "any pod in any other namespace",
/// "pods `app=prometheus` in namespaces `team=monitoring`".
pub fn describe_representative(r: &Representative) -> Phrase {
    if r.declared {
        return Phrase::new().text("declared ").code(r.id.clone());
    }
    let p = if r.pod_selector.is_empty() {
        Phrase::new().text("any pod")
    } else {
        Phrase::new().text("pods ").code(r.pod_selector.clone())
    };
    match r.namespace_selector.as_deref() {
        None => p
            .text(" in namespace ")
            .code(r.namespace.clone())
            .text(" outside the repository"),
        Some("") => p.text(" in any other namespace"),
        Some(_) if !r.namespace.starts_with('{') => p
            .text(" in namespace ")
            .code(r.namespace.clone())
            .text(" (not in the repository)"),
        Some(s) => p.text(" in other namespaces with ").code(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LabelCells, Namespace};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn labels(kv: &[(&str, &str)]) -> Labels {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn pod(ns: &str, name: &str, kv: &[(&str, &str)], rep: Option<Representative>) -> Workload {
        Workload {
            kind: if rep.is_some() {
                "Representative"
            } else {
                "Deployment"
            }
            .into(),
            namespace: ns.into(),
            name: name.into(),
            labels: labels(kv),
            ports: Vec::new(),
            init_ports: Vec::new(),
            host_network: false,
            service_account: None,
            span: crate::diag::Span {
                file: String::new(),
                line: 0,
                col: 0,
            },
            label_spans: Vec::new(),
            representative: rep.map(Arc::new),
        }
    }

    fn cells(only: bool, values: &[&str]) -> LabelCells {
        let v: Arc<[Option<String>]> = values.iter().map(|s| Some(s.to_string())).collect();
        if only {
            LabelCells::Only(v)
        } else {
            LabelCells::AllBut(v)
        }
    }

    /// A class of a known namespace (`key` None: any pod there).
    fn class(ns: &str, key: Option<(&str, bool, &[&str])>) -> Workload {
        let (sel, pod_cells) = match key {
            None => (String::new(), Vec::new()),
            Some((k, only, vs)) => (
                format!(
                    "{k} {} ({})",
                    if only { "in" } else { "notin" },
                    vs.join(",")
                ),
                vec![(k.to_string(), cells(only, vs))],
            ),
        };
        let rep = Representative {
            id: format!("{ns}/{{{sel}}}[any]"),
            namespace: ns.into(),
            namespace_selector: None,
            pod_selector: sel,
            declared: false,
            namespace_cells: None,
            pod_cells,
        };
        pod(ns, &rep.id.clone(), &[], Some(rep))
    }

    fn declared(ns: &str, name: &str, k: &str, v: &str) -> Workload {
        let rep = Representative {
            id: format!("{ns}/{name}{{{k}={v}}}[declared]"),
            namespace: ns.into(),
            namespace_selector: None,
            pod_selector: format!("{k}={v}"),
            declared: true,
            namespace_cells: None,
            pod_cells: vec![(k.to_string(), cells(true, &[v]))],
        };
        pod(ns, name, &[(k, v)], Some(rep))
    }

    /// A class of namespaces the repository does not name.
    fn elsewhere(selector: &str) -> Workload {
        let ns = if selector.is_empty() {
            "*".to_string()
        } else {
            format!("{{{selector}}}")
        };
        let rep = Representative {
            id: format!("{ns}/*[any]"),
            namespace: ns.clone(),
            namespace_selector: Some(selector.into()),
            pod_selector: String::new(),
            declared: false,
            namespace_cells: Some(Vec::new()),
            pod_cells: Vec::new(),
        };
        pod("~0", &rep.id.clone(), &[], Some(rep))
    }

    /// Workloads of the repository, then (open world) the classes that
    /// partition every namespace's other pods, as OW-2 and OW-4 make them.
    fn universe(open: bool) -> Vec<Workload> {
        let mut u = vec![
            pod("shop", "a1", &[("app", "a")], None),
            pod("shop", "a2", &[("app", "a")], None),
            pod("shop", "b", &[("app", "b")], None),
            pod("shop", "c", &[("app", "c")], None),
            pod("ingress", "ctl", &[("app", "x")], None),
            pod("db", "pg", &[("app", "pg")], None),
        ];
        let big: Vec<String> = (0..8).map(|i| format!("w{i}")).collect();
        for b in &big {
            u.push(pod("big", b, &[("app", b)], None));
        }
        if open {
            u.extend([
                class("shop", Some(("app", true, &["a"]))),
                class("shop", Some(("app", true, &["b"]))),
                class("shop", Some(("app", false, &["a", "b"]))),
                class("ingress", None),
                class("db", Some(("app", true, &["pg"]))),
                class("db", Some(("app", false, &["pg"]))),
                class("kube-system", Some(("k8s-app", true, &["kube-dns"]))),
                class("kube-system", Some(("k8s-app", false, &["kube-dns"]))),
                declared("kube-system", "kube-dns", "k8s-app", "kube-dns"),
                elsewhere(""),
                elsewhere("team=x"),
            ]);
            let names: Vec<&str> = big.iter().map(String::as_str).collect();
            for b in &names {
                u.push(class("big", Some(("app", true, &[b]))));
            }
            u.push(class("big", Some(("app", false, &names))));
        }
        u
    }

    fn namespaces() -> Vec<Namespace> {
        let ns = |name: &str, team: &str| Namespace {
            name: name.into(),
            labels: labels(&[("team", team), ("kubernetes.io/metadata.name", name)]),
            span: None,
        };
        vec![
            ns("big", "x"),
            ns("db", "y"),
            ns("ingress", "y"),
            ns("kube-system", "z"),
            ns("shop", "x"),
        ]
    }

    /// The known namespace of an endpoint, read from the test's own data.
    fn ns_of(w: &Workload) -> Option<&str> {
        match &w.representative {
            None => Some(&w.namespace),
            Some(r) => r
                .namespace_selector
                .is_none()
                .then_some(r.namespace.as_str()),
        }
    }

    /// The one class of `w`'s namespace its labels fall in.
    fn own_class(u: &[Workload], w: usize) -> usize {
        let found: Vec<usize> = (0..u.len())
            .filter(|&c| {
                u[c].representative.as_ref().is_some_and(|r| {
                    !r.declared
                        && r.namespace_selector.is_none()
                        && r.namespace == u[w].namespace
                        && r.pod_cells
                            .iter()
                            .all(|(k, cells)| cells.allows(u[w].labels.get(k).map(String::as_str)))
                })
            })
            .collect();
        assert_eq!(found.len(), 1, "{} has one class", u[w].id());
        found[0]
    }

    /// What the terms claim, endpoint by endpoint, checking each term's
    /// own counts on the way.
    fn denote(u: &[Workload], nss: &[Namespace], terms: &[Term<'_>]) -> BTreeSet<usize> {
        let is_wl = |i: &usize| u[*i].representative.is_none();
        let mut out = BTreeSet::new();
        let mut named: Vec<usize> = Vec::new();
        for t in terms {
            let these: Vec<usize> = match t {
                Term::AnyPod => (0..u.len()).collect(),
                Term::EveryWorkload(n) => {
                    let ws: Vec<usize> = (0..u.len()).filter(is_wl).collect();
                    assert_eq!(*n, ws.len());
                    named.extend(&ws);
                    ws
                }
                Term::Namespaces {
                    names,
                    workloads,
                    label,
                } => {
                    let these: Vec<usize> = (0..u.len())
                        .filter(|&i| ns_of(&u[i]).is_some_and(|n| names.contains(&n)))
                        .collect();
                    assert_eq!(*workloads, these.iter().filter(|i| is_wl(i)).count());
                    if let Some((k, v)) = label {
                        // Exactly these namespaces, of those holding
                        // workloads, carry the label.
                        for n in nss
                            .iter()
                            .filter(|n| u.iter().any(|w| w.namespace == n.name))
                        {
                            let has = n.labels.get(k) == Some(v);
                            assert_eq!(has, names.contains(&n.name.as_str()), "{k}={v}");
                        }
                    }
                    these
                }
                Term::WorkloadsOf { names, workloads } => {
                    let ws: Vec<usize> = (0..u.len())
                        .filter(|i| is_wl(i) && names.contains(&u[*i].namespace.as_str()))
                        .collect();
                    assert_eq!(*workloads, ws.len());
                    named.extend(&ws);
                    ws
                }
                Term::Workloads(ws) => {
                    assert!(ws.iter().all(is_wl));
                    named.extend(ws);
                    ws.clone()
                }
                Term::LikeThem { one } => {
                    assert!(!named.is_empty());
                    assert_eq!(*one, named.len() == 1);
                    named.iter().map(|&w| own_class(u, w)).collect()
                }
                Term::Classes(cs) => {
                    assert!(cs.iter().all(|c| !is_wl(c)));
                    cs.clone()
                }
            };
            out.extend(these);
        }
        out
    }

    /// The description of a set claims exactly the set; the folds are used
    /// whenever (and only when, by `denote`) their condition holds.
    fn check(open: bool, mask: &[bool]) {
        let u = universe(open);
        let nss = namespaces();
        let pods = Pods::new(&u, &nss);
        let set: Vec<usize> = (0..u.len()).filter(|&i| mask[i]).collect();
        let terms = pods.terms(&set);
        let claimed = denote(&u, &nss, &terms);
        let want: BTreeSet<usize> = set.iter().copied().collect();
        assert_eq!(claimed, want, "terms {terms:?}");
        // A namespace whose every endpoint (two or more) is in the set is
        // named as a namespace, never item by item.
        for t in &terms {
            let items: &[usize] = match t {
                Term::Workloads(x) | Term::Classes(x) => x,
                _ => &[],
            };
            for &i in items {
                let Some(n) = ns_of(&u[i]) else { continue };
                let all: Vec<usize> = (0..u.len()).filter(|&j| ns_of(&u[j]) == Some(n)).collect();
                assert!(
                    all.len() < 2 || !all.iter().all(|j| want.contains(j)),
                    "{n} is whole in {terms:?}"
                );
            }
        }
        // "Pods like them" is said exactly when every workload named one
        // by one or by namespace has its own class in the set.
        let named: Vec<usize> = terms
            .iter()
            .flat_map(|t| match t {
                Term::Workloads(x) => x.clone(),
                Term::WorkloadsOf { names, .. } => (0..u.len())
                    .filter(|&i| {
                        u[i].representative.is_none() && names.contains(&u[i].namespace.as_str())
                    })
                    .collect(),
                Term::EveryWorkload(_) => (0..u.len())
                    .filter(|&i| u[i].representative.is_none())
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        if open && !named.is_empty() {
            let folded = terms.iter().any(|t| matches!(t, Term::LikeThem { .. }));
            let condition = named.iter().all(|&w| want.contains(&own_class(&u, w)));
            assert_eq!(folded, condition, "{terms:?}");
        }
    }

    proptest! {
        #[test]
        fn a_description_claims_exactly_its_set(
            open in any::<bool>(),
            mask in proptest::collection::vec(any::<bool>(), 34),
        ) {
            check(open, &mask);
        }
    }

    fn text(open: bool, names: &[&str]) -> String {
        let u = universe(open);
        let nss = namespaces();
        let pods = Pods::new(&u, &nss);
        let set: Vec<usize> = names
            .iter()
            .map(|n| {
                u.iter()
                    .position(|w| w.id() == *n || w.name == *n)
                    .unwrap_or_else(|| panic!("{n}"))
            })
            .collect();
        let parts: Vec<String> = pods.describe(&set).iter().map(Phrase::plain).collect();
        parts.join("; ")
    }

    #[test]
    fn workloads_with_their_own_classes_are_folded() {
        assert_eq!(
            text(true, &["b", "shop/{app in (b)}[any]"]),
            "shop/b[Deployment] and pods like it outside the repository"
        );
        assert_eq!(
            text(
                true,
                &[
                    "a1",
                    "b",
                    "shop/{app in (a)}[any]",
                    "shop/{app in (b)}[any]"
                ]
            ),
            "shop/a1[Deployment], shop/b[Deployment] and pods like them outside the repository"
        );
        // c's own class is the rest of shop: with it, b's is needed too.
        assert_eq!(
            text(true, &["b", "c", "shop/{app notin (a,b)}[any]"]),
            "shop/b[Deployment], shop/c[Deployment]; pods app notin (a,b) in namespace shop outside the repository"
        );
        // Another workload's class is no fold.
        assert_eq!(
            text(true, &["b", "shop/{app in (a)}[any]"]),
            "shop/b[Deployment]; pods app in (a) in namespace shop outside the repository"
        );
    }

    #[test]
    fn a_whole_namespace_is_any_pod_in_it() {
        let shop = [
            "a1",
            "a2",
            "b",
            "c",
            "shop/{app in (a)}[any]",
            "shop/{app in (b)}[any]",
            "shop/{app notin (a,b)}[any]",
        ];
        assert_eq!(text(true, &shop), "any pod in namespace shop");
        // Without its rest, shop's workloads are not "any pod"; c's own
        // class is that rest.
        assert_eq!(
            text(true, &shop[..6]),
            "every workload of namespace shop (4); pods app in (a) in namespace shop outside the repository; pods app in (b) in namespace shop outside the repository"
        );
        let mut big: Vec<String> = (0..8).map(|i| format!("w{i}")).collect();
        big.extend((0..8).map(|i| format!("big/{{app in (w{i})}}[any]")));
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        assert_eq!(
            text(true, &big),
            "every workload of namespace big (8) and pods like them outside the repository"
        );
        assert_eq!(text(false, &shop[..4]), "any pod in namespace shop (4)");
        assert_eq!(
            text(
                false,
                &[
                    "a1", "a2", "b", "c", "w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"
                ]
            ),
            "any pod in namespaces with team=x (2 namespaces, 12 workloads)"
        );
        // A declared endpoint is part of its namespace.
        let ks = [
            "kube-system/{k8s-app in (kube-dns)}[any]",
            "kube-system/{k8s-app notin (kube-dns)}[any]",
        ];
        assert_eq!(
            text(true, &ks),
            "pods k8s-app in (kube-dns) in namespace kube-system outside the repository; pods k8s-app notin (kube-dns) in namespace kube-system outside the repository"
        );
        let mut all_ks = ks.to_vec();
        all_ks.push("kube-system/kube-dns{k8s-app=kube-dns}[declared]");
        assert_eq!(text(true, &all_ks), "any pod in namespace kube-system");
        let everything: Vec<String> = universe(true).iter().map(Workload::id).collect();
        let everything: Vec<&str> = everything.iter().map(String::as_str).collect();
        assert_eq!(text(true, &everything), "any pod in any namespace");
        let repo: Vec<String> = universe(false).iter().map(Workload::id).collect();
        let repo: Vec<&str> = repo.iter().map(String::as_str).collect();
        assert_eq!(text(false, &repo), "every workload in the cluster (14)");
        assert_eq!(text(true, &repo), "every workload of the repository (14)");
    }

    #[test]
    fn a_capped_list_folds_its_classes_in_a_part_of_its_own() {
        let mut set: Vec<String> = (0..7).map(|i| format!("w{i}")).collect();
        set.push("ctl".into());
        set.extend((0..7).map(|i| format!("big/{{app in (w{i})}}[any]")));
        set.push("ingress/{}[any]".into());
        let set: Vec<&str> = set.iter().map(String::as_str).collect();
        // ingress is whole (ctl and its class): named first.
        assert_eq!(
            text(true, &set),
            "any pod in namespace ingress; big/w0[Deployment], big/w1[Deployment], big/w2[Deployment], big/w3[Deployment], big/w4[Deployment], big/w5[Deployment] and 1 more workloads; pods like these workloads outside the repository"
        );
    }
}
