//! One revision analysed: a [`Revision`] in, its inventory, the compiled
//! rules and the diagnostics out. The diff and the findings read an
//! [`Analyzed`]; [`crate::comparison`] puts two of them side by side.

use crate::diag::{Code, Diagnostic};
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
pub fn atoms_for<'a>(invs: impl IntoIterator<Item = &'a Inventory>, opts: &Options) -> AtomTable {
    let mut cidrs: Vec<Cidr> = invs.into_iter().flat_map(reach::cidrs).collect();
    cidrs.extend(
        opts.external_peers
            .iter()
            .flat_map(|(_, c)| c.iter().copied()),
    );
    AtomTable::build(cidrs, opts.dual_stack)
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
    open_world(&mut [&mut inv], opts, &mut diags);
    observe(Phase::Loaded);
    let atoms = atoms_for([&inv], opts);
    let analyzed = analyze_loaded(inv, diags, atoms);
    observe(Phase::Analysed);
    Ok(analyzed)
}
