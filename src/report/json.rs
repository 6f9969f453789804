//! Wire types of the stable JSON contract (`reachdiff/reach/v1`,
//! `reachdiff/diff/v1`). Model types are never serialised directly, so a
//! model change cannot change the contract by accident.

use crate::diag::Diagnostic;
use crate::model::ConnSet;
use crate::reach::{Analysis, Endpoint};
use serde::Serialize;

pub const REACH_SCHEMA: &str = "reachdiff/reach/v1";
pub const DIFF_SCHEMA: &str = "reachdiff/diff/v1";

#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(untagged)]
pub enum EndpointJson {
    Workload {
        id: String,
        kind: String,
        namespace: String,
        name: String,
    },
    IpBlock {
        id: String,
        kind: &'static str,
        ranges: Vec<String>,
    },
}

impl EndpointJson {
    pub fn from_analysis(a: &Analysis, e: Endpoint) -> EndpointJson {
        match e {
            Endpoint::Workload(w) => {
                let w = &a.workloads[w];
                EndpointJson::Workload {
                    id: w.id(),
                    kind: w.kind.clone(),
                    namespace: w.namespace.clone(),
                    name: w.name.clone(),
                }
            }
            Endpoint::Atom(i) => {
                let atom = &a.atoms.atoms()[i];
                EndpointJson::IpBlock {
                    id: atom.id(),
                    kind: "IPBlock",
                    ranges: atom.ranges.iter().map(ToString::to_string).collect(),
                }
            }
        }
    }

    pub fn id(&self) -> &str {
        match self {
            EndpointJson::Workload { id, .. } | EndpointJson::IpBlock { id, .. } => id,
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

#[derive(Serialize)]
struct ReachJson<'a> {
    schema: &'static str,
    endpoints: Vec<EndpointJson>,
    connections: &'a [ConnectionJson],
    diagnostics: Vec<DiagnosticJson>,
}

pub fn render_reach(a: &Analysis, conns: &[(Endpoint, Endpoint, ConnSet)], diags: &[Diagnostic]) -> String {
    let endpoints: Vec<EndpointJson> = a.endpoints().into_iter().map(|e| EndpointJson::from_analysis(a, e)).collect();
    let rows: Vec<ConnectionJson> = conns
        .iter()
        .flat_map(|(s, d, c)| rows(&a.endpoint_id(*s), &a.endpoint_id(*d), c))
        .collect();
    let doc = ReachJson {
        schema: REACH_SCHEMA,
        endpoints,
        connections: &rows,
        diagnostics: diags.iter().map(DiagnosticJson::from).collect(),
    };
    to_string(&doc)
}

pub(crate) fn to_string<T: Serialize>(doc: &T) -> String {
    // Serialising plain data structs cannot fail; fall back to an empty
    // object rather than panicking if it ever does.
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
