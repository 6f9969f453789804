//! Two revisions side by side: loaded together (files identical on both
//! sides parsed once), analysed over one set of address atoms, diffed, and
//! each side's findings. Front ends and tests call [`compare`]; the layers
//! below it know nothing of comparisons.

use crate::analysis::{Analyzed, Failed, Options, Phase, analyze_loaded, atoms_for};
use crate::diag::Diagnostic;
use crate::manifest::{self, AckSource, Acknowledgement};
use crate::model::Cidr;
use crate::revision::Revision;

/// The sides of a comparison that failed to load (at least one), each
/// with all its diagnostics.
#[derive(Debug)]
pub struct SideFailed {
    pub base: Option<Failed>,
    pub head: Option<Failed>,
}

impl SideFailed {
    /// The first failing side and its diagnostics.
    pub fn first(&self) -> (&'static str, &Failed) {
        match (&self.base, &self.head) {
            (Some(b), _) => ("base", b),
            (None, Some(h)) => ("head", h),
            // Never built without a failing side.
            (None, None) => ("base", &NO_FAILURE),
        }
    }
}

static NO_FAILURE: Failed = Failed {
    diagnostics: Vec::new(),
};

/// Both revisions analysed over one set of address atoms, and their diff.
#[derive(Debug)]
pub struct Comparison {
    pub base: Analyzed,
    pub head: Analyzed,
    pub diff: crate::diff::ReachDiff,
    /// Findings of each revision (`reachdiff lint`); the head's also hold
    /// peers whose AND/OR shape changed from the base.
    pub base_findings: Vec<crate::findings::Finding>,
    pub head_findings: Vec<crate::findings::Finding>,
    /// Names of known external blocks, for reports.
    pub external_peers: Vec<(String, Vec<Cidr>)>,
    /// Acknowledgements the change itself adds (an annotation only on the
    /// head, an entry only in the head's configuration): listed, never
    /// applied, so a change cannot approve itself.
    pub proposed_acknowledgements: Vec<Acknowledgement>,
}

/// The head's acknowledgements that count: the configuration's (read from
/// the base tip) and annotations the base tip already carries (`base`: its
/// annotations); the rest are proposed by the change.
fn settle(
    base: &[Acknowledgement],
    head: &[Acknowledgement],
) -> (Vec<Acknowledgement>, Vec<Acknowledgement>) {
    head.iter().cloned().partition(|a| match &a.source {
        AckSource::Config { .. } => true,
        AckSource::Annotation(_) => base.iter().any(|b| {
            matches!(b.source, AckSource::Annotation(_))
                && (&b.code, &b.object, &b.reason) == (&a.code, &a.object, &a.reason)
        }),
    })
}

/// The `reachdiff.io/acknowledge` annotations of a revision (the base
/// branch's tip when a diff compares a merge-base): the whole revision is
/// loaded only when some file names the annotation, since a later
/// declaration of the same object decides which annotations it keeps.
pub fn annotations_at(rev: &Revision, opts: &manifest::LoadOptions) -> Vec<Acknowledgement> {
    let named = |t: &str| t.contains(manifest::ACKNOWLEDGE_ANNOTATION);
    if !rev.files.iter().any(|f| named(&f.text)) {
        return Vec::new();
    }
    let (inv, _) = manifest::load(rev, opts);
    inv.acknowledgements
        .into_iter()
        .filter(|a| matches!(a.source, AckSource::Annotation(_)))
        .collect()
}

/// Loads, analyses and compares two revisions. Files identical on both
/// sides are parsed once; external atoms are the common refinement (M-10).
pub fn compare(base: &Revision, head: &Revision, opts: &Options) -> Result<Comparison, SideFailed> {
    compare_observed(base, head, opts, &mut |_| {})
}

pub fn compare_observed(
    base_rev: &Revision,
    head_rev: &Revision,
    opts: &Options,
    observe: &mut dyn FnMut(Phase),
) -> Result<Comparison, SideFailed> {
    let ((mut binv, mut bdiags), (mut hinv, mut hdiags)) =
        manifest::load_pair(base_rev, head_rev, &opts.load);
    crate::analysis::decide_cni(
        &mut [(&mut binv, &mut bdiags), (&mut hinv, &mut hdiags)],
        opts,
    );
    observe(Phase::Loaded);
    let (bad_base, bad_head) = (
        bdiags.iter().any(Diagnostic::is_error),
        hdiags.iter().any(Diagnostic::is_error),
    );
    if bad_base || bad_head {
        // Both sides' errors: a report names every one at once.
        return Err(SideFailed {
            base: bad_base.then_some(Failed {
                diagnostics: bdiags,
            }),
            head: bad_head.then_some(Failed {
                diagnostics: hdiags,
            }),
        });
    }
    crate::analysis::open_world(&mut [&mut binv, &mut hinv], opts, &mut hdiags);
    let atoms = atoms_for([&binv, &hinv], opts);
    let batoms = atoms.clone();
    let (base, head) = rayon::join(
        move || analyze_loaded(binv, bdiags, batoms),
        move || analyze_loaded(hinv, hdiags, atoms),
    );
    observe(Phase::Analysed);
    let (mut diff, (base_findings, mut head_findings)) = rayon::join(
        || crate::diff::compare(&base, &head),
        || {
            rayon::join(
                || crate::findings::findings(&base),
                || crate::findings::unacknowledged(&head),
            )
        },
    );
    head_findings.extend(crate::findings::peer_shape_changes(
        &base.inventory,
        &head.inventory,
    ));
    let at_tip = opts
        .tip_annotations
        .as_deref()
        .unwrap_or(&base.inventory.acknowledgements);
    let (settled, mut proposed) = settle(at_tip, &head.inventory.acknowledgements);
    crate::findings::acknowledge(&mut head_findings, &settled);
    proposed.extend(opts.proposed_acknowledgements.iter().cloned());
    crate::changes::LineChanges::between(base_rev, head_rev).cite(&mut diff.causes);
    observe(Phase::Compared);
    Ok(Comparison {
        base,
        head,
        diff,
        base_findings,
        head_findings,
        external_peers: opts.external_peers.clone(),
        proposed_acknowledgements: proposed,
    })
}
