//! Gates: rules a change must pass (`--fail-on`, and a rules file). Pure:
//! a comparison in, outcomes out; the front end turns a failure into exit 1.

use super::view::DiffView;
use crate::comparison::Comparison;
use crate::diff::DiffRow;
use crate::model::Cidr;
use crate::reach::{Analysis, Endpoint};
use crate::words::{conn_text, plural};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Any opened path.
    Opened,
    /// Any closed path.
    Closed,
    /// Any new exposure to external addresses or to every workload.
    Exposure,
    /// Any opened or closed path.
    Any,
    /// Any error-severity finding the change introduces (what `--strict` means).
    Findings,
}

impl FailOn {
    pub const ALL: [FailOn; 5] = [
        FailOn::Opened,
        FailOn::Closed,
        FailOn::Exposure,
        FailOn::Any,
        FailOn::Findings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Opened => "opened",
            FailOn::Closed => "closed",
            FailOn::Exposure => "exposure",
            FailOn::Any => "any",
            FailOn::Findings => "findings",
        }
    }
}

impl std::str::FromStr for FailOn {
    type Err = String;

    /// The names `--fail-on` and the Action's `fail-on` input accept, in
    /// any case.
    fn from_str(s: &str) -> Result<FailOn, String> {
        FailOn::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "{s:?} is not one of {}",
                    FailOn::ALL.map(FailOn::as_str).join(", ")
                )
            })
    }
}

/// The rules file (`--rules FILE`, or `gates:` in `.reachdiff.yaml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    pub gates: Vec<GateRule>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Forbid {
    Opened,
    Closed,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GateRule {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub forbid: Forbid,
    #[serde(default)]
    pub from: Option<Matcher>,
    #[serde(default)]
    pub to: Option<Matcher>,
    #[serde(default)]
    pub except_from: Option<Matcher>,
    #[serde(default)]
    pub except_to: Option<Matcher>,
}

/// Matches endpoints; every field given must hold.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Matcher {
    #[serde(default)]
    pub namespaces: Option<Vec<String>>,
    #[serde(default)]
    pub namespace_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub pod_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub workloads: Option<Vec<String>>,
    /// true: external address blocks only; false: workloads only.
    #[serde(default)]
    pub external: Option<bool>,
    /// External blocks overlapping this CIDR.
    #[serde(default)]
    pub cidr: Option<String>,
    /// true: pods of namespaces the repository does not name (the
    /// representatives of other namespaces, OW-1); false: everything else.
    #[serde(default)]
    pub any_namespace: Option<bool>,
}

/// How a representative (a class of pods) matches a matcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// Some pod of the class could match (forbidding gates).
    Some,
    /// Every pod of the class matches (exceptions).
    Every,
}

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct RulesError {
    pub file: String,
    pub message: String,
}

/// Parses and validates a rules file; errors name the file, line and field.
pub fn parse_rules(file: &str, text: &str) -> Result<RulesFile, RulesError> {
    let rules: RulesFile = serde_yaml::from_str(text).map_err(|e| {
        let loc = e
            .location()
            .map(|l| format!("{}:{}: ", l.line(), l.column()))
            .unwrap_or_default();
        RulesError {
            file: file.to_string(),
            message: format!("{loc}{e}"),
        }
    })?;
    for (i, g) in rules.gates.iter().enumerate() {
        let err = |m: String| RulesError {
            file: file.to_string(),
            message: format!("gates[{i}] ({}): {m}", g.name),
        };
        if g.name.trim().is_empty() {
            return Err(err("name must not be empty".into()));
        }
        for m in [&g.from, &g.to, &g.except_from, &g.except_to]
            .into_iter()
            .flatten()
        {
            if let Some(c) = &m.cidr {
                Cidr::parse(c).map_err(|_| err(format!("invalid cidr {c:?}")))?;
            }
            if m.external == Some(true)
                && (m.namespaces.is_some()
                    || m.namespace_labels.is_some()
                    || m.pod_labels.is_some()
                    || m.workloads.is_some())
            {
                return Err(err(
                    "external: true cannot be combined with workload fields".into(),
                ));
            }
        }
    }
    Ok(rules)
}

impl Matcher {
    pub fn matches_as(&self, a: &Analysis, e: Endpoint, q: Quantifier) -> bool {
        let rep = match e {
            Endpoint::Workload(w) => a.workloads[w].representative.as_deref(),
            Endpoint::Atom(_) => None,
        };
        let other_ns = rep.is_some_and(|r| r.namespace_cells.is_some());
        if self.any_namespace.is_some_and(|want| want != other_ns)
            || (self.any_namespace == Some(true) && rep.is_none())
        {
            return false;
        }
        match (e, rep) {
            (Endpoint::Workload(w), Some(r)) if !r.declared => self.matches_class(a, w, r, q),
            _ => self.matches(a, e),
        }
    }

    /// The class table of docs/open-world.md ("Gates"): each field on a
    /// class of pods, for some or every pod of it.
    fn matches_class(
        &self,
        a: &Analysis,
        w: usize,
        r: &crate::manifest::Representative,
        q: Quantifier,
    ) -> bool {
        use crate::manifest::LabelCells;
        use crate::model::selector::NAMESPACE_NAME_LABEL;
        if self.external == Some(true) || self.cidr.is_some() {
            return false;
        }
        let key_holds = |cells: &[(String, LabelCells)], k: &str, v: Option<&str>| match (
            cells.iter().find(|(key, _)| key == k),
            q,
        ) {
            (Some((_, c)), Quantifier::Some) => c.allows(v),
            (Some((_, c)), Quantifier::Every) => c.forces(v),
            (None, Quantifier::Some) => true,
            (None, Quantifier::Every) => false,
        };
        let wl = &a.workloads[w];
        match &r.namespace_cells {
            None => {
                // A known namespace: its name and labels are facts.
                let plain = Matcher {
                    pod_labels: None,
                    workloads: None,
                    ..self.clone()
                };
                if !plain.matches(a, Endpoint::Workload(w)) {
                    return false;
                }
            }
            Some(ns) => {
                if let Some(names) = &self.namespaces {
                    let any = names
                        .iter()
                        .any(|n| key_holds(ns, NAMESPACE_NAME_LABEL, Some(n)));
                    if !any {
                        return false;
                    }
                }
                if let Some(want) = &self.namespace_labels {
                    if !want.iter().all(|(k, v)| key_holds(ns, k, Some(v))) {
                        return false;
                    }
                }
            }
        }
        if let Some(want) = &self.pod_labels {
            if !want
                .iter()
                .all(|(k, v)| key_holds(&r.pod_cells, k, Some(v)))
            {
                return false;
            }
        }
        if let Some(ids) = &self.workloads {
            if !ids.contains(&wl.id()) {
                return false;
            }
        }
        true
    }

    fn matches(&self, a: &Analysis, e: Endpoint) -> bool {
        match e {
            Endpoint::Workload(w) => {
                if self.external == Some(true) || self.cidr.is_some() {
                    return false;
                }
                let wl = &a.workloads[w];
                if let Some(ns) = &self.namespaces {
                    if !ns.contains(&wl.namespace) {
                        return false;
                    }
                }
                if let Some(want) = &self.namespace_labels {
                    let labels = a
                        .namespaces
                        .iter()
                        .find(|n| n.name == wl.namespace)
                        .map(|n| &n.labels);
                    if !want
                        .iter()
                        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
                    {
                        return false;
                    }
                }
                if let Some(want) = &self.pod_labels {
                    if !want.iter().all(|(k, v)| wl.labels.get(k) == Some(v)) {
                        return false;
                    }
                }
                if let Some(ids) = &self.workloads {
                    if !ids.contains(&wl.id()) {
                        return false;
                    }
                }
                true
            }
            Endpoint::Atom(k) => {
                if self.external == Some(false)
                    || self.namespaces.is_some()
                    || self.namespace_labels.is_some()
                    || self.pod_labels.is_some()
                    || self.workloads.is_some()
                {
                    return false;
                }
                // CI-33: a Cilium entity is in the cluster, not external;
                // an FQDN is external but has no address a CIDR names.
                if let Some(p) = &a.atoms.atoms()[k].pseudo {
                    return match p {
                        crate::model::Pseudo::Entity(_) => {
                            self.external.is_none() && self.cidr.is_none()
                        }
                        crate::model::Pseudo::Fqdn(_) => self.cidr.is_none(),
                    };
                }
                match self.cidr.as_deref().and_then(|c| Cidr::parse(c).ok()) {
                    Some((cidr, _)) => {
                        let r = cidr.range();
                        a.atoms.atoms()[k]
                            .ranges
                            .iter()
                            .any(|x| x.family == r.family && x.first <= r.last && r.first <= x.last)
                    }
                    None => true,
                }
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct GateOutcome {
    pub name: String,
    pub passed: bool,
    pub message: String,
    /// `src → dst  TCP 80` lines of the offending paths.
    pub violations: Vec<String>,
}

fn row_line(cmp: &Comparison, r: &DiffRow) -> String {
    let eps = &cmp.diff.endpoints;
    format!(
        "{} → {}  {}",
        eps[r.src].id,
        eps[r.dst].id,
        conn_text(&r.conn)
    )
}

/// `--strict` (or `--fail-on findings`; `name` says which): trips on any
/// error-severity finding the change introduces (findings on both
/// revisions never trip it).
pub fn strict_gate(cmp: &Comparison, name: &str) -> GateOutcome {
    let changes = super::view::warning_changes(cmp);
    let violations: Vec<String> = changes
        .introduced
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    GateOutcome {
        name: name.to_string(),
        passed: violations.is_empty(),
        message: if violations.is_empty() {
            "no new error-severity finding".to_string()
        } else {
            format!(
                "{} new",
                plural(
                    violations.len(),
                    "error-severity finding",
                    "error-severity findings"
                )
            )
        },
        violations,
    }
}

/// Evaluates `--fail-on` and the rules file.
pub fn evaluate(
    cmp: &Comparison,
    view: &DiffView,
    fail_on: &[FailOn],
    rules: Option<&RulesFile>,
) -> Vec<GateOutcome> {
    let mut out = Vec::new();
    for f in fail_on {
        if *f == FailOn::Findings {
            out.push(strict_gate(cmp, "fail-on findings"));
            continue;
        }
        let (name, rows): (&str, Vec<&DiffRow>) = match f {
            FailOn::Findings => continue,
            FailOn::Opened => ("fail-on opened", cmp.diff.opened.iter().collect()),
            FailOn::Closed => ("fail-on closed", cmp.diff.closed.iter().collect()),
            FailOn::Any => (
                "fail-on any",
                cmp.diff.opened.iter().chain(&cmp.diff.closed).collect(),
            ),
            FailOn::Exposure => {
                let pairs: std::collections::BTreeSet<(usize, usize)> = view
                    .exposures
                    .iter()
                    .flat_map(|g| {
                        g.from
                            .iter()
                            .flat_map(move |&s| g.to.iter().map(move |&d| (s, d)))
                    })
                    .collect();
                (
                    "fail-on exposure",
                    cmp.diff
                        .opened
                        .iter()
                        .filter(|r| pairs.contains(&(r.src, r.dst)))
                        .collect(),
                )
            }
        };
        out.push(GateOutcome {
            name: name.to_string(),
            passed: rows.is_empty(),
            message: if rows.is_empty() {
                "no such path".to_string()
            } else {
                format!("{} path row(s) trip it", rows.len())
            },
            violations: rows.iter().map(|r| row_line(cmp, r)).collect(),
        });
    }
    if let Some(rules) = rules {
        for g in &rules.gates {
            let (rows, a, side_head) = match g.forbid {
                Forbid::Opened => (&cmp.diff.opened, &cmp.head.analysis, true),
                Forbid::Closed => (&cmp.diff.closed, &cmp.base.analysis, false),
            };
            let endpoint = |u: usize| {
                let e = &cmp.diff.endpoints[u];
                if side_head { e.head } else { e.base }
            };
            // A representative matches `from`/`to` when some pod it stands
            // for could match, an exception only when every one does
            // (docs/open-world.md, "Gates").
            let hit = |m: &Option<Matcher>, u: usize, default: bool, q: Quantifier| match (
                m,
                endpoint(u),
            ) {
                (None, _) => default,
                (Some(m), Some(e)) => m.matches_as(a, e, q),
                (Some(_), None) => false,
            };
            let violations: Vec<String> = rows
                .iter()
                .filter(|r| {
                    hit(&g.from, r.src, true, Quantifier::Some)
                        && hit(&g.to, r.dst, true, Quantifier::Some)
                        && !hit(&g.except_from, r.src, false, Quantifier::Every)
                        && !hit(&g.except_to, r.dst, false, Quantifier::Every)
                })
                .map(|r| row_line(cmp, r))
                .collect();
            let verb = match g.forbid {
                Forbid::Opened => "opened",
                Forbid::Closed => "closed",
            };
            out.push(GateOutcome {
                name: g.name.clone(),
                passed: violations.is_empty(),
                message: match (&g.description, violations.len()) {
                    (Some(d), 0) => d.clone(),
                    (Some(d), n) => format!("{n} {verb} path row(s) break it: {d}"),
                    (None, 0) => format!("no forbidden {verb} path"),
                    (None, n) => format!("{n} forbidden {verb} path row(s)"),
                },
                violations,
            });
        }
    }
    out
}
