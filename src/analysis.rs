//! One revision analysed: a [`Revision`] in, its inventory, the compiled
//! rules and the diagnostics out. The diff and the findings read an
//! [`Analyzed`]; [`crate::comparison`] puts two of them side by side.

use crate::diag::{Code, Diagnostic, Span};
use crate::manifest::{self, Inventory, LoadOptions};
use crate::model::{AtomTable, Cidr, Family};
use crate::reach::{self, Analysis};
use crate::revision::Revision;

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub load: LoadOptions,
    /// Partition the IPv6 space even when no IPv6 CIDR appears.
    pub dual_stack: bool,
    /// Names for known external address blocks (`.reachdiff.yaml`
    /// `external-peers`): they refine the atoms, so a named block is always
    /// a union of atoms, and reports call it by name. They change no verdict.
    pub external_peers: Vec<(String, Vec<Cidr>)>,
    /// The rest of the cluster (docs/open-world.md): representatives for
    /// the pods the input does not hold, and what `cluster:` declares.
    /// None: the closed world (`--closed-world`), the input only.
    pub open_world: Option<reach::open_world::ClusterSpec>,
    /// Acknowledgements the head's configuration adds to the base's: a
    /// diff lists them as proposed, and they acknowledge nothing.
    pub proposed_acknowledgements: Vec<crate::manifest::Acknowledgement>,
    /// The `reachdiff.io/acknowledge` annotations at the configuration
    /// commit (the base branch's tip), when the compared base is another
    /// commit (a merge-base): only these count in a diff. None: the compared
    /// base is the configuration commit, and its own annotations count.
    pub tip_annotations: Option<Vec<crate::manifest::Acknowledgement>>,
    /// The CNI the environment runs, when configured (`--cni`, `cni:` in
    /// `.reachdiff.yaml`), with where that was said; None: decided from the
    /// objects of the revisions (CC-17).
    pub cni: Option<(Cni, String)>,
}

/// The CNI of an environment, as far as the analysis depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cni {
    Cilium,
    Calico,
    /// Neither: Kubernetes semantics, Cilium policies ignored.
    Other,
}

impl Cni {
    pub fn parse(s: &str) -> Option<Cni> {
        match s {
            "cilium" => Some(Cni::Cilium),
            "calico" => Some(Cni::Calico),
            "none" => Some(Cni::Other),
            _ => None,
        }
    }
}

/// CC-17: the CNI dialect, decided once for the revisions of an
/// environment (both sides of a diff): the configured CNI, else the dialect
/// whose objects appear in any of them. Sets `cilium_mode` or
/// `calico_mode` on every inventory; a conflict is an error on every side.
pub fn decide_cni(sides: &mut [(&mut Inventory, &mut Vec<Diagnostic>)], opts: &Options) {
    let mark = |f: fn(&Inventory) -> Option<(String, crate::diag::Span)>| {
        sides.iter().find_map(|(inv, _)| f(inv))
    };
    let cilium = mark(|i| i.cni_marks.cilium.clone());
    let calico = mark(|i| i.cni_marks.calico.clone());
    let mode = match (&opts.cni, &cilium, &calico) {
        (Some((Cni::Cilium, said)), _, _) => Some((Cni::Cilium, format!("{said} says cilium"))),
        (Some((Cni::Calico, said)), _, _) => Some((Cni::Calico, format!("{said} says calico"))),
        (Some(_), _, _) => None,
        (None, Some((cw, cs)), Some((kw, ks))) => {
            let d = Diagnostic::new(
                Code::CniConflict,
                format!("{cw} is a Cilium object and {kw} (at {ks}) a Calico one; say which CNI this environment runs with `cni:` in .reachdiff.yaml or --cni"),
            )
            .at(cs.clone());
            for (_, diags) in sides.iter_mut() {
                diags.push(d.clone());
            }
            None
        }
        (None, Some((what, span)), None) => {
            Some((Cni::Cilium, format!("the input holds {what} ({span})")))
        }
        (None, None, Some((what, span))) => {
            Some((Cni::Calico, format!("the input holds {what} ({span})")))
        }
        (None, None, None) => None,
    };
    if let Some((said, (what, span))) = opts.cni.as_ref().zip(cilium.as_ref()) {
        if said.0 != Cni::Cilium {
            ignore_dialect(
                sides,
                Code::CiliumIgnored,
                format!(
                    "{what} and the other Cilium objects are ignored: {} says this environment does not run Cilium",
                    said.1
                ),
                span,
            );
        }
    }
    if let Some((said, (what, span))) = opts.cni.as_ref().zip(calico.as_ref()) {
        if said.0 != Cni::Calico {
            ignore_dialect(
                sides,
                Code::CalicoIgnored,
                format!(
                    "{what} and the other Calico objects are ignored: {} says this environment does not run Calico",
                    said.1
                ),
                span,
            );
        }
    }
    match mode {
        Some((Cni::Cilium, reason)) => cilium_on(sides, &reason),
        Some((Cni::Calico, reason)) => calico_on(sides, &reason, opts.open_world.is_some()),
        _ => {}
    }
}

/// The other dialect's objects, when the configured CNI is not theirs.
fn ignore_dialect(
    sides: &mut [(&mut Inventory, &mut Vec<Diagnostic>)],
    code: Code,
    message: String,
    span: &crate::diag::Span,
) {
    let d = Diagnostic::new(code, message).at(span.clone());
    for (inv, diags) in sides.iter_mut() {
        if code == Code::CiliumIgnored {
            inv.cilium_policies.clear();
        } else {
            inv.calico.clear();
        }
        diags.push(d.clone());
    }
}

fn cilium_on(sides: &mut [(&mut Inventory, &mut Vec<Diagnostic>)], reason: &str) {
    for (inv, diags) in sides.iter_mut() {
        inv.cilium_mode = Some(reason.to_string());
        // CC-14: under Cilium a host-network workload is node traffic, not
        // "like any pod" as the loader said.
        for d in diags.iter_mut().filter(|d| d.code == Code::HostNetwork) {
            d.code = Code::CiliumHostNetwork;
            d.message = "hostNetwork workload under Cilium: no policy selects it, and as a peer it is node traffic, matched only by the entities remote-node, cluster and all (CC-14)".into();
        }
    }
    if let Some((_, diags)) = sides.last_mut() {
        diags.push(Diagnostic::new(
            Code::CiliumMode,
            format!("Cilium mode: {reason}; Cilium policies are analysed and NetworkPolicies are evaluated as Cilium enforces them (identity labels, host-network workloads as node traffic)"),
        ));
    }
}

/// Calico mode (issue 19, as CC-17): hostNetwork workloads are not
/// endpoints for any policy kind (C-CA-8). Calico policies are evaluated;
/// a side holding one that uses a construct not evaluated yet (some only
/// in the open world, where representatives must be split exactly) fails,
/// naming them, rather than answer as if they were absent.
fn calico_on(sides: &mut [(&mut Inventory, &mut Vec<Diagnostic>)], reason: &str, open_world: bool) {
    for (inv, diags) in sides.iter_mut() {
        inv.calico_mode = Some(reason.to_string());
        // C-CA-9: Calico's endpoint ports include every init container's.
        for w in std::sync::Arc::make_mut(&mut inv.workloads).iter_mut() {
            if !w.init_ports.is_empty() {
                w.ports.extend(w.init_ports.iter().cloned());
                w.ports.sort();
                w.ports.dedup();
            }
        }
        for d in diags.iter_mut().filter(|d| d.code == Code::HostNetwork) {
            d.code = Code::CalicoHostNetwork;
            d.message = "hostNetwork workload under Calico: not an endpoint, so no policy selects it and no selector matches it; its own sides are open (CA-20, C-CA-8)".into();
        }
        if let Some(d) = calico_refusal(inv, open_world) {
            diags.push(d);
        }
    }
    if let Some((_, diags)) = sides.last_mut() {
        diags.push(Diagnostic::new(
            Code::CalicoMode,
            format!("Calico mode: {reason}; hostNetwork workloads are not endpoints for any policy (C-CA-8)"),
        ));
    }
}

/// The `calico-not-evaluated` error of a side, if it holds enforced
/// Calico policies reachdiff cannot evaluate exactly: each named with the
/// construct and where it is written (up to five, then a count).
fn calico_refusal(inv: &Inventory, open_world: bool) -> Option<Diagnostic> {
    let refused: Vec<(String, Span)> = inv
        .calico
        .iter()
        .filter_map(|o| {
            let p = o.enforced_policy()?;
            if let Some(what) = open_world
                .then(|| reach::calico_open_world_unsupported(p))
                .flatten()
            {
                let span = o.span.clone();
                return Some((format!("{} uses {what} at {span}", o.title()), span));
            }
            let (what, span) = reach::calico_unsupported(inv, p)?;
            Some((format!("{} uses {what} at {span}", o.title()), span))
        })
        .collect();
    let (_, first) = refused.first()?;
    let names: Vec<&str> = refused.iter().take(5).map(|(t, _)| t.as_str()).collect();
    let more = match refused.len().saturating_sub(names.len()) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let why = if open_world {
        "Calico constructs that are validated but not evaluated yet (some only in the open world: --closed-world evaluates them)"
    } else {
        "Calico constructs that are validated but not evaluated yet"
    };
    Some(
        Diagnostic::new(
            Code::CalicoNotEvaluated,
            format!(
                "{why}, so this revision's reachability cannot be answered: {}{more}",
                names.join(", ")
            ),
        )
        .at(first.clone()),
    )
}

/// Adds the representatives of revisions analysed together to each of
/// their inventories (from the union of their selectors, so they share
/// ids, OW-2).
pub fn open_world(invs: &mut [&mut Inventory], opts: &Options, diags: &mut Vec<Diagnostic>) {
    let Some(cluster) = &opts.open_world else {
        return;
    };
    let ow = {
        let shared: Vec<&Inventory> = invs.iter().map(|i| &**i).collect();
        reach::open_world::open_world(&shared, cluster)
    };
    match ow {
        Ok(ow) => invs.iter_mut().for_each(|inv| ow.extend(inv, cluster)),
        Err(n) => diags.push(Diagnostic::new(
            Code::OpenWorldLimit,
            format!(
                "the selectors split the rest of the cluster into more than {} classes ({n} so far); only the workloads of the repository are analysed",
                reach::open_world::MAX_CLASSES
            ),
        )),
    }
}

/// One revision, loaded and analysed.
#[derive(Debug)]
pub struct Analyzed {
    pub inventory: Inventory,
    pub analysis: Analysis,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loading failed: at least one error diagnostic (all diagnostics kept).
#[derive(Debug)]
pub struct Failed {
    pub diagnostics: Vec<Diagnostic>,
}

impl Failed {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// Loads a revision without analysing it yet (the diff needs both
/// inventories before it can build the common address atoms).
pub fn load(rev: &Revision, opts: &Options) -> Result<(Inventory, Vec<Diagnostic>), Failed> {
    let (inv, diagnostics) = manifest::load(rev, &opts.load);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(Failed { diagnostics });
    }
    Ok((inv, diagnostics))
}

/// The atoms for a set of inventories analysed together (M-10).
/// Cilium pseudo-endpoints (CI-33) are the union over the inventories, so
/// both revisions of a diff name the same ones.
pub fn atoms_for<'a>(invs: impl IntoIterator<Item = &'a Inventory>, opts: &Options) -> AtomTable {
    let invs: Vec<&Inventory> = invs.into_iter().collect();
    let mut cidrs: Vec<Cidr> = invs.iter().flat_map(|i| reach::cidrs(i)).collect();
    cidrs.extend(
        opts.external_peers
            .iter()
            .flat_map(|(_, c)| c.iter().copied()),
    );
    AtomTable::build(cidrs, opts.dual_stack)
        .with_pseudo(invs.iter().flat_map(|i| reach::pseudo_endpoints(i)))
}

pub fn analyze_loaded(
    inventory: Inventory,
    mut diagnostics: Vec<Diagnostic>,
    atoms: AtomTable,
) -> Analyzed {
    let families = if atoms.atoms().iter().any(|a| a.family() == Family::V6) {
        "IPv4 and IPv6"
    } else {
        "IPv4 only (no IPv6 block appears)"
    };
    diagnostics.push(Diagnostic::new(
        Code::IpFamilies,
        format!("external addresses: {families}"),
    ));
    let analysis = Analysis::new(&inventory, atoms, &mut diagnostics);
    Analyzed {
        inventory,
        analysis,
        diagnostics,
    }
}

/// Phases reported to an observer, so front ends can time them without the
/// core reading a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Files parsed and decoded into objects.
    Loaded,
    /// Rules compiled; any (src, dst) question can now be answered.
    Analysed,
    /// Opened and closed rows computed and explained.
    Compared,
    /// Revisions read from their source (files, a commit); said by the
    /// operations layer, which reads them.
    Read,
}

/// Loads and analyses one revision on its own.
pub fn analyze(rev: &Revision, opts: &Options) -> Result<Analyzed, Failed> {
    analyze_observed(rev, opts, &mut |_| {})
}

pub fn analyze_observed(
    rev: &Revision,
    opts: &Options,
    observe: &mut dyn FnMut(Phase),
) -> Result<Analyzed, Failed> {
    let (mut inv, mut diags) = load(rev, opts)?;
    decide_cni(&mut [(&mut inv, &mut diags)], opts);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(Failed { diagnostics: diags });
    }
    open_world(&mut [&mut inv], opts, &mut diags);
    observe(Phase::Loaded);
    let atoms = atoms_for([&inv], opts);
    let analyzed = analyze_loaded(inv, diags, atoms);
    observe(Phase::Analysed);
    Ok(analyzed)
}
