//! Wire types of the stable JSON contract (`reachdiff/reach/v1`,
//! `reachdiff/diff/v1`). Model types are never serialised directly, so a
//! model change cannot change the contract by accident.

use crate::comparison::Comparison;
use crate::diag::Diagnostic;
use crate::diff::{Cause, DiffRow};
use crate::model::{ConnSet, Pseudo};
use crate::reach::{Analysis, Endpoint};
use crate::review::cause;
use serde::Serialize;

pub const REACH_SCHEMA: &str = "reachdiff/reach/v1";
pub const DIFF_SCHEMA: &str = "reachdiff/diff/v1";

#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(untagged)]
pub enum EndpointJson {
    Workload {
        id: String,
        class: &'static str,
        kind: String,
        namespace: String,
        name: String,
    },
    IpBlock {
        id: String,
        class: &'static str,
        kind: &'static str,
        ranges: Vec<String>,
    },
    /// A Cilium entity or FQDN (CI-33): `name` is the entity or the DNS
    /// name or pattern.
    Pseudo {
        id: String,
        class: &'static str,
        kind: &'static str,
        name: String,
    },
    /// Pods the input does not hold (OW-1), or a declared endpoint (OW-6).
    Representative {
        id: String,
        class: &'static str,
        kind: &'static str,
        /// A known namespace's name, `*`, or `{labels}`.
        namespace: String,
        /// Namespace constraints in selector syntax (`""`: any namespace
        /// the input does not name); absent for a known namespace.
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace_selector: Option<String>,
        /// Pod label constraints in selector syntax (`""`: any pod).
        pod_selector: String,
        /// Declared in `.reachdiff.yaml` `cluster:` or the built-in kube-dns.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        declared: bool,
    },
}

impl EndpointJson {
    pub fn from_analysis(a: &Analysis, e: Endpoint) -> EndpointJson {
        match e {
            Endpoint::Workload(w) => {
                let w = &a.workloads[w];
                if let Some(r) = &w.representative {
                    return EndpointJson::Representative {
                        id: r.id.clone(),
                        class: "representative",
                        kind: "Representative",
                        namespace: r.namespace.clone(),
                        namespace_selector: r.namespace_selector.clone(),
                        pod_selector: r.pod_selector.clone(),
                        declared: r.declared,
                    };
                }
                EndpointJson::Workload {
                    id: w.id(),
                    class: "workload",
                    kind: w.kind.clone(),
                    namespace: w.namespace.clone(),
                    name: w.name.clone(),
                }
            }
            Endpoint::Atom(i) => {
                let atom = &a.atoms.atoms()[i];
                if let Some(p) = &atom.pseudo {
                    let (class, kind, name) = match p {
                        Pseudo::Entity(n) => ("entity", "Entity", n),
                        Pseudo::Fqdn(n) => ("fqdn", "FQDN", n),
                    };
                    return EndpointJson::Pseudo {
                        id: p.id(),
                        class,
                        kind,
                        name: name.clone(),
                    };
                }
                EndpointJson::IpBlock {
                    id: atom.id(),
                    class: "ipblock",
                    kind: "IPBlock",
                    ranges: atom.ranges.iter().map(ToString::to_string).collect(),
                }
            }
        }
    }

    pub fn id(&self) -> &str {
        match self {
            EndpointJson::Workload { id, .. }
            | EndpointJson::IpBlock { id, .. }
            | EndpointJson::Pseudo { id, .. }
            | EndpointJson::Representative { id, .. } => id,
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct ConnectionJson {
    pub src: String,
    pub dst: String,
    pub protocol: &'static str,
    pub ports: Vec<[u16; 2]>,
}

/// One row per non-empty protocol of a connection set.
pub fn rows(src: &str, dst: &str, c: &ConnSet) -> Vec<ConnectionJson> {
    c.iter()
        .map(|(p, ports)| ConnectionJson {
            src: src.to_string(),
            dst: dst.to_string(),
            protocol: p.as_str(),
            ports: ports.ranges().iter().map(|&(lo, hi)| [lo, hi]).collect(),
        })
        .collect()
}

#[derive(Serialize, Clone, Debug)]
pub struct DiagnosticJson {
    pub code: &'static str,
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl From<&Diagnostic> for DiagnosticJson {
    fn from(d: &Diagnostic) -> Self {
        DiagnosticJson {
            code: d.code.as_str(),
            severity: d.severity.as_str(),
            file: d.span.as_ref().map(|s| s.file.clone()),
            line: d.span.as_ref().map(|s| s.line),
            object: d.object.clone(),
            field: d.field.clone(),
            message: d.message.clone(),
        }
    }
}

pub(crate) fn to_string<T: Serialize>(doc: &T) -> String {
    // Serialising plain data structs cannot fail; fall back to an empty
    // object rather than panicking if it ever does.
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[derive(Serialize, Clone, Debug)]
pub struct CauseJson {
    pub kind: &'static str,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub named_ports: Vec<String>,
    /// `base` or `head`: which revision `file` and `line` refer to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The line is one the change removed (side `base`): the field the
    /// cause names changed only by deleted lines (additive).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

impl From<&Cause> for CauseJson {
    fn from(c: &Cause) -> Self {
        let loc = cause::location(c);
        let (policy, tier, priority, direction, rule, peer) = match c {
            Cause::RuleAllows { rule, peer, .. } | Cause::RuleNoLongerAllows { rule, peer, .. } => {
                let peer = &peer.as_ref().map(|(i, _)| *i);
                (
                    Some(rule.policy.clone()),
                    Some(rule.tier.as_str()),
                    rule.priority,
                    Some(rule.direction.as_str()),
                    Some(rule.index),
                    *peer,
                )
            }
            Cause::DeniedBy { rule, .. }
            | Cause::NoLongerDenied { rule }
            | Cause::PassedDown { rule, .. } => (
                Some(rule.policy.clone()),
                Some(rule.tier.as_str()),
                rule.priority,
                Some(rule.direction.as_str()),
                Some(rule.index),
                None,
            ),
            Cause::NoLongerIsolated {
                direction,
                policies,
                ..
            }
            | Cause::NewlyIsolated {
                direction,
                policies,
                ..
            } => (
                policies.first().map(|p| p.name.clone()),
                None,
                None,
                Some(direction.as_str()),
                None,
                None,
            ),
            _ => (None, None, None, None, None, None),
        };
        let workload = match c {
            Cause::NewWorkload { id, .. } | Cause::RemovedWorkload { id, .. } => Some(id.clone()),
            Cause::NoLongerIsolated { workload, .. }
            | Cause::NewlyIsolated { workload, .. }
            | Cause::LabelChange { workload, .. }
            | Cause::NamedPortChange { workload, .. } => Some(workload.clone()),
            _ => None,
        };
        CauseJson {
            kind: cause::kind(c),
            text: cause::sentence(c),
            policy,
            tier,
            priority,
            direction,
            rule,
            peer,
            workload,
            policies: match c {
                Cause::NoLongerIsolated { policies, .. }
                | Cause::NewlyIsolated { policies, .. } => {
                    policies.iter().map(|p| p.name.clone()).collect()
                }
                _ => Vec::new(),
            },
            named_ports: match c {
                Cause::NamedPortChange { names, .. } => names.clone(),
                _ => Vec::new(),
            },
            side: loc
                .as_ref()
                .map(|l| if l.on_base { "base" } else { "head" }),
            file: loc.as_ref().map(|l| l.span.file.clone()),
            line: loc.as_ref().map(|l| l.span.line),
            removed: loc.as_ref().is_some_and(|l| l.removed),
        }
    }
}

/// A diff row on the wire: the contract's fields plus `causes`, indices
/// into the document's `causes` table (rows of one change share causes).
#[derive(Serialize, Clone, Debug)]
pub struct DiffRowJson<'a> {
    pub src: &'a str,
    pub dst: &'a str,
    pub protocol: &'static str,
    pub ports: Vec<[u16; 2]>,
    pub causes: &'a [u32],
}

#[derive(Serialize, Clone, Debug)]
pub struct SideDiagnosticJson {
    pub side: &'static str,
    #[serde(flatten)]
    pub diagnostic: DiagnosticJson,
}

#[derive(Serialize)]
struct DiffSummaryJson {
    opened: usize,
    closed: usize,
    workloads_base: usize,
    workloads_head: usize,
    policies_base: usize,
    policies_head: usize,
    /// Findings and warnings the change introduces / resolves / keeps.
    findings_introduced: usize,
    findings_resolved: usize,
    findings_unchanged: usize,
    /// Of `findings_introduced`, those an acknowledgement of the base
    /// marks as intended (they never trip `--strict`).
    findings_acknowledged: usize,
    /// Acknowledgements the change itself adds (they acknowledge nothing).
    acknowledgements_proposed: usize,
    /// Of `findings_introduced`, those that only say less is open than in
    /// the base (`unisolated-*` with fewer workloads, `no-default-deny`
    /// where workloads were open): improvements, not new warnings.
    findings_improved: usize,
    /// Of `findings_introduced`, those a row of the Opened or Closed table
    /// already says (its cause names them).
    findings_folded: usize,
}

/// A finding or warning the change introduces or resolves.
#[derive(Serialize, Clone, Debug)]
pub struct FindingChangeJson {
    /// `introduced` (file:line in the head) or `resolved` (in the base).
    pub change: &'static str,
    #[serde(flatten)]
    pub diagnostic: DiagnosticJson,
    /// Present when an acknowledgement marks the finding as intended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<AcknowledgementJson>,
    /// How the reports show an introduced finding when not as a new one:
    /// `improvement` (less is open than in the base) or `folded` (a table
    /// row's cause says it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shown_as: Option<&'static str>,
}

/// An acknowledgement: what it names, why, and where it is written
/// (`file`/`line` of an annotation, or `config_index` of an entry of
/// `.reachdiff.yaml` `acknowledge:`).
#[derive(Serialize, Clone, Debug)]
pub struct AcknowledgementJson {
    pub code: String,
    pub object: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_index: Option<usize>,
    /// For proposed ones: how many head findings it would acknowledge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<usize>,
}

impl From<&crate::manifest::Acknowledgement> for AcknowledgementJson {
    fn from(a: &crate::manifest::Acknowledgement) -> Self {
        use crate::manifest::AckSource;
        let (file, line, config_index) = match &a.source {
            AckSource::Config { index } => (None, None, Some(*index)),
            AckSource::Annotation(s) => (Some(s.file.clone()), Some(s.line), None),
        };
        AcknowledgementJson {
            code: a.code.clone(),
            object: a.object.clone(),
            field: a.field.clone(),
            reason: a.reason.clone(),
            file,
            line,
            config_index,
            matches: None,
        }
    }
}

#[derive(Serialize, Clone, Debug)]
pub struct GateJson {
    pub name: String,
    pub passed: bool,
    pub message: String,
    pub violations: Vec<String>,
}

fn union_endpoint_json(cmp: &Comparison, u: usize) -> EndpointJson {
    let e = &cmp.diff.endpoints[u];
    match (e.head, e.base) {
        (Some(h), _) => EndpointJson::from_analysis(&cmp.head.analysis, h),
        (None, Some(b)) => EndpointJson::from_analysis(&cmp.base.analysis, b),
        (None, None) => EndpointJson::Workload {
            id: e.id.clone(),
            class: "workload",
            kind: String::new(),
            namespace: String::new(),
            name: String::new(),
        },
    }
}

/// Appends `"key": [` items one per line `]` without building the whole
/// document in memory first: a diff may have millions of rows.
fn push_array<T: Serialize>(
    out: &mut String,
    key: &str,
    items: impl IntoIterator<Item = T>,
    last: bool,
) {
    out.push_str(&format!("  {}: [", serde_json::Value::String(key.into())));
    let mut first = true;
    for item in items {
        out.push_str(if first { "\n    " } else { ",\n    " });
        first = false;
        // Serialising plain data cannot fail; an empty object is a safe fallback.
        out.push_str(&serde_json::to_string(&item).unwrap_or_else(|_| "{}".into()));
    }
    out.push_str(if first { "]" } else { "\n  ]" });
    out.push_str(if last { "\n" } else { ",\n" });
}

fn rows_json<'a>(
    cmp: &'a Comparison,
    rows: &'a [DiffRow],
) -> impl Iterator<Item = DiffRowJson<'a>> + 'a {
    let eps = &cmp.diff.endpoints;
    rows.iter().flat_map(move |r| {
        r.conn.iter().map(move |(p, ports)| DiffRowJson {
            src: &eps[r.src].id,
            dst: &eps[r.dst].id,
            protocol: p.as_str(),
            ports: ports.ranges().iter().map(|&(lo, hi)| [lo, hi]).collect(),
            causes: &r.causes,
        })
    })
}

/// The `reachdiff/diff/v1` document, one array element per line.
pub fn render_diff(cmp: &Comparison, gates: &[GateJson]) -> String {
    let d = &cmp.diff;
    let mut used: Vec<usize> = d
        .opened
        .iter()
        .chain(&d.closed)
        .flat_map(|r| [r.src, r.dst])
        .collect();
    used.sort_unstable();
    used.dedup();
    let changes = crate::review::view::warning_changes(cmp);
    let view = crate::review::view::build(cmp);
    let shown = crate::review::findings::build(cmp, &view);
    let summary = DiffSummaryJson {
        opened: d.opened.len(),
        closed: d.closed.len(),
        workloads_base: d.stats.workloads_base,
        workloads_head: d.stats.workloads_head,
        policies_base: d.stats.policies_base,
        policies_head: d.stats.policies_head,
        findings_introduced: changes.introduced.len() + changes.acknowledged.len(),
        findings_acknowledged: changes.acknowledged.len(),
        acknowledgements_proposed: cmp.proposed_acknowledgements.len(),
        findings_improved: shown.improved.len(),
        findings_folded: shown.folded_items.len(),
        findings_resolved: changes.resolved.len(),
        findings_unchanged: changes.unchanged + changes.unchanged_findings,
    };
    let mut out = String::from("{\n");
    out.push_str(&format!("  \"schema\": \"{DIFF_SCHEMA}\",\n"));
    out.push_str(&format!(
        "  \"summary\": {},\n",
        serde_json::to_string(&summary).unwrap_or_else(|_| "{}".into())
    ));
    push_array(
        &mut out,
        "endpoints",
        used.into_iter().map(|u| union_endpoint_json(cmp, u)),
        false,
    );
    push_array(
        &mut out,
        "causes",
        d.causes.iter().map(CauseJson::from),
        false,
    );
    push_array(&mut out, "opened", rows_json(cmp, &d.opened), false);
    push_array(&mut out, "closed", rows_json(cmp, &d.closed), false);
    push_array(&mut out, "gates", gates.iter(), false);
    let finding_changes = finding_changes_json(&changes, &shown);
    push_array(&mut out, "findings", finding_changes, false);
    if !cmp.proposed_acknowledgements.is_empty() {
        let proposed = cmp.proposed_acknowledgements.iter().map(|a| {
            let mut j = AcknowledgementJson::from(a);
            j.matches = Some(
                cmp.head_findings
                    .iter()
                    .filter(|f| crate::findings::acknowledges(a, &f.diagnostic))
                    .count(),
            );
            j
        });
        push_array(&mut out, "acknowledgements_proposed", proposed, false);
    }
    let diagnostics = cmp
        .base
        .diagnostics
        .iter()
        .map(|x| ("base", x))
        .chain(cmp.head.diagnostics.iter().map(|x| ("head", x)))
        .map(|(side, x)| SideDiagnosticJson {
            side,
            diagnostic: x.into(),
        });
    push_array(&mut out, "diagnostics", diagnostics, true);
    out.push_str("}\n");
    out
}

/// The `findings` entries: introduced (acknowledged ones with their
/// acknowledgement), then resolved; how the reports show each introduced
/// one when not as new (`shown_as`).
fn finding_changes_json(
    changes: &crate::review::view::WarningChanges<'_>,
    shown: &crate::review::findings::FindingsView<'_>,
) -> Vec<FindingChangeJson> {
    let shown_as = |d: &Diagnostic| -> Option<&'static str> {
        if shown.improved.iter().any(|(_, h)| std::ptr::eq(*h, d)) {
            Some("improvement")
        } else if shown.folded_items.iter().any(|f| std::ptr::eq(*f, d)) {
            Some("folded")
        } else {
            None
        }
    };
    changes
        .introduced
        .iter()
        .map(|d| ("introduced", *d, None))
        .chain(
            changes
                .acknowledged
                .iter()
                .map(|(d, a)| ("introduced", *d, Some(AcknowledgementJson::from(*a)))),
        )
        .chain(changes.resolved.iter().map(|d| ("resolved", *d, None)))
        .map(|(change, d, acknowledged)| FindingChangeJson {
            change,
            diagnostic: d.into(),
            acknowledged,
            shown_as: (change == "introduced").then(|| shown_as(d)).flatten(),
        })
        .collect()
}

pub const LINT_SCHEMA: &str = "reachdiff/lint/v1";

#[derive(Serialize, Clone, Debug)]
pub struct FindingJson {
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    #[serde(flatten)]
    pub diagnostic: DiagnosticJson,
    /// Present when an acknowledgement marks the finding as intended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<AcknowledgementJson>,
}

impl From<&crate::findings::Finding> for FindingJson {
    fn from(f: &crate::findings::Finding) -> Self {
        FindingJson {
            namespace: f.namespace.clone(),
            diagnostic: (&f.diagnostic).into(),
            acknowledged: f.acknowledged.as_ref().map(Into::into),
        }
    }
}

#[derive(Serialize)]
struct LintSummaryJson {
    findings: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    workloads: usize,
    policies: usize,
    /// Of `findings`, those marked as intended (counted in `errors`,
    /// `warnings` and `infos` too; they never fail `--strict`).
    acknowledged: usize,
}

/// The `reachdiff/lint/v1` document: summary, findings (sorted by
/// namespace, code and position), and the load diagnostics.
pub fn render_lint(
    findings: &[crate::findings::Finding],
    a: &Analysis,
    diags: &[Diagnostic],
) -> String {
    use crate::diag::Severity;
    let count = |s: Severity| {
        findings
            .iter()
            .filter(|f| f.diagnostic.severity == s)
            .count()
    };
    let summary = LintSummaryJson {
        findings: findings.len(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
        workloads: a
            .workloads
            .iter()
            .filter(|w| w.representative.is_none())
            .count(),
        policies: a.policies.len(),
        acknowledged: findings.iter().filter(|f| f.acknowledged.is_some()).count(),
    };
    let mut out = String::from("{\n");
    out.push_str(&format!("  \"schema\": \"{LINT_SCHEMA}\",\n"));
    out.push_str(&format!(
        "  \"summary\": {},\n",
        serde_json::to_string(&summary).unwrap_or_else(|_| "{}".into())
    ));
    push_array(
        &mut out,
        "findings",
        findings.iter().map(FindingJson::from),
        false,
    );
    push_array(
        &mut out,
        "diagnostics",
        diags.iter().map(DiagnosticJson::from),
        true,
    );
    out.push_str("}\n");
    out
}

impl From<&crate::review::gate::GateOutcome> for GateJson {
    fn from(g: &crate::review::gate::GateOutcome) -> Self {
        GateJson {
            name: g.name.clone(),
            passed: g.passed,
            message: g.message.clone(),
            violations: g.violations.clone(),
        }
    }
}

/// The `reachdiff/diff/v1` document of one review.
pub fn render_review(r: &crate::review::Review) -> String {
    let gates: Vec<GateJson> = r.gates.iter().map(GateJson::from).collect();
    render_diff(&r.comparison, &gates)
}

pub const DIFF_ENVIRONMENTS_SCHEMA: &str = "reachdiff/diff-environments/v1";

/// One error of an environment's side (`diff-environments/v1`).
#[derive(Serialize)]
struct SideErrorJson<'a> {
    side: &'static str,
    file: Option<&'a str>,
    line: Option<u32>,
    message: &'a str,
    /// For a directory that could not be read or rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    revision: Option<&'a str>,
}

/// The `errors` array of an environment.
pub fn errors_json(errors: &[crate::review::SideError]) -> String {
    let v: Vec<SideErrorJson<'_>> = errors
        .iter()
        .map(|e| SideErrorJson {
            side: e.side.as_str(),
            file: e.file.as_deref(),
            line: e.line,
            message: &e.message,
            revision: e.revision.as_deref(),
        })
        .collect();
    to_string(&v)
}

/// The `reachdiff/diff-environments/v1` document: per environment its
/// status, errors and `diff/v1` report (absent when the head could not be
/// analysed), one environment per line, and the names of those that did
/// not change. Written out piece by piece like the reports it holds, which
/// are not built in memory as values.
pub fn render_environments(envs: &[crate::review::EnvironmentReview]) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut out = format!("{{\"schema\":\"{DIFF_ENVIRONMENTS_SCHEMA}\",\"environments\":[");
    for (i, e) in envs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "\n{{\"name\":{},\"status\":\"{}\",\"why\":{},\"errors\":{},\"changed\":{}",
            q(&super::env_name(e)),
            e.status.as_str(),
            e.why.as_deref().map_or("null".to_string(), q),
            errors_json(&e.errors),
            super::worth_a_section(e),
        ));
        if let Some(r) = &e.review {
            out.push_str(&format!(",\"report\":{}", render_review(r).trim_end()));
        }
        out.push('}');
    }
    let unchanged: Vec<String> = envs
        .iter()
        .filter(|e| !super::worth_a_section(e))
        .map(|e| q(&super::env_name(e)))
        .collect();
    out.push_str(&format!("\n],\"unchanged\":[{}]}}\n", unchanged.join(",")));
    out
}

pub const REACH_ENVIRONMENTS_SCHEMA: &str = "reachdiff/reach-environments/v1";

/// One environment of a `reachdiff/reach-environments/v1` document: its
/// `reach/v1` report when it could be analysed, else its errors.
pub struct ReachEnvironment<'a> {
    pub name: &'a str,
    pub why: Option<&'a str>,
    /// A rendered `reach/v1` document, or the errors that stopped it.
    pub report: Result<String, &'a [crate::review::SideError]>,
}

/// The `reachdiff/reach-environments/v1` document: per environment its
/// name, `status` (`ok` or `failed`), `errors` (`{file, line, message}`)
/// and `reach/v1` report, one environment per line.
pub fn render_reach_environments(envs: &[ReachEnvironment<'_>]) -> String {
    #[derive(Serialize)]
    struct ErrorJson<'a> {
        file: Option<&'a str>,
        line: Option<u32>,
        message: &'a str,
    }
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut out = format!("{{\"schema\":\"{REACH_ENVIRONMENTS_SCHEMA}\",\"environments\":[");
    for (i, e) in envs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let errors: Vec<ErrorJson<'_>> = match &e.report {
            Ok(_) => Vec::new(),
            Err(errs) => errs
                .iter()
                .map(|x| ErrorJson {
                    file: x.file.as_deref(),
                    line: x.line,
                    message: &x.message,
                })
                .collect(),
        };
        out.push_str(&format!(
            "\n{{\"name\":{},\"status\":\"{}\",\"why\":{},\"errors\":{}",
            q(e.name),
            if e.report.is_ok() { "ok" } else { "failed" },
            e.why.map_or("null".to_string(), q),
            to_string(&errors),
        ));
        if let Ok(r) = &e.report {
            out.push_str(&format!(",\"report\":{}", r.trim_end()));
        }
        out.push('}');
    }
    out.push_str("\n]}\n");
    out
}

/// The `schema` of the Action's publisher sidecar.
pub const PUBLISH_SCHEMA: &str = "reachdiff/publish/v1";

/// `publish.json`, the sidecar of the Action's artifact in the fork-safe
/// two-job pattern. The publisher uses only the pull-request number, and
/// only after GitHub confirms it; the other fields are checked for
/// consistency. Fields in alphabetical order, as written since v1.
#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PublishSidecar {
    pub changed: bool,
    pub head_sha: String,
    pub pull_request: u64,
    pub repository: String,
    pub schema: String,
    pub tripped: bool,
    pub working_directory: String,
}

impl PublishSidecar {
    pub fn render(&self) -> String {
        to_string(self)
    }
}
