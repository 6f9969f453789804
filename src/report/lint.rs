//! `reachdiff lint`: findings as text, grouped per namespace.

use super::style::{Style, sanitize};
use crate::diag::Severity;
use crate::findings::Finding;
use std::fmt::Write;

/// `N findings (x errors, y warnings, z infos)`.
pub fn summary(findings: &[Finding]) -> String {
    let count = |s: Severity| {
        findings
            .iter()
            .filter(|f| f.diagnostic.severity == s)
            .count()
    };
    let n = findings.len();
    let acked = findings.iter().filter(|f| f.acknowledged.is_some()).count();
    let acked = if acked > 0 {
        format!(", {acked} acknowledged")
    } else {
        String::new()
    };
    format!(
        "{n} finding{} ({} error{}, {} warning{}, {} info{acked})",
        if n == 1 { "" } else { "s" },
        count(Severity::Error),
        if count(Severity::Error) == 1 { "" } else { "s" },
        count(Severity::Warning),
        if count(Severity::Warning) == 1 {
            ""
        } else {
            "s"
        },
        count(Severity::Info),
    )
}

/// One block per namespace (cluster-scoped findings last), one line per
/// finding: `severity code file:line:col: object: field: message`.
pub fn render_text(
    findings: &[Finding],
    workloads: usize,
    policies: usize,
    style: Style,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{workloads} workloads, {policies} policies: {}",
        summary(findings)
    );
    let (acked, open): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.acknowledged.is_some());
    let mut groups: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for f in open.iter().copied().filter(|f| !f.namespace.is_empty()) {
        match groups.last_mut() {
            Some((ns, v)) if *ns == f.namespace => v.push(f),
            _ => groups.push((&f.namespace, vec![f])),
        }
    }
    let cluster: Vec<&Finding> = open
        .iter()
        .copied()
        .filter(|f| f.namespace.is_empty())
        .collect();
    if !cluster.is_empty() {
        groups.push(("", cluster));
    }
    for (ns, fs) in groups {
        let title = if ns.is_empty() {
            "cluster-scoped".to_string()
        } else {
            format!("namespace {}", sanitize(ns))
        };
        let _ = writeln!(out, "\n{}", style.bold(&title));
        for f in fs {
            let d = &f.diagnostic;
            let sev = match d.severity {
                Severity::Error => style.red("error"),
                Severity::Warning => style.yellow("warning"),
                Severity::Info => style.dim("info"),
            };
            let _ = writeln!(out, "  {sev}: {}: {}", d.code, sanitize(&d.to_string()));
        }
    }
    if !acked.is_empty() {
        let title = format!(
            "acknowledged as intended ({}; never fail --strict)",
            acked.len()
        );
        let _ = writeln!(out, "\n{}", style.bold(&title));
        for f in acked {
            let d = &f.diagnostic;
            let Some(a) = &f.acknowledged else { continue };
            let _ = writeln!(
                out,
                "  {}",
                style.dim(&format!(
                    "{}: {}: {} ({})",
                    d.code,
                    sanitize(d.object.as_deref().unwrap_or_default()),
                    sanitize(&a.reason),
                    sanitize(&a.source.to_string())
                ))
            );
        }
    }
    out
}
