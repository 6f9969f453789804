//! CRD kinds the API's Go types do not cover (`k8s-openapi` has the
//! built-in groups only): small typed structs of our own, serialised like
//! the built-in objects.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;

/// `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterNetworkPolicy {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: ClusterNetworkPolicySpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterNetworkPolicySpec {
    /// `Admin` or `Baseline`.
    pub tier: &'static str,
    pub priority: u32,
    pub subject: Subject,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<Rule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<Rule>,
}

/// Exactly one of its fields is set.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<Pods>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pods {
    pub namespace_selector: LabelSelector,
    pub pod_selector: LabelSelector,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub name: &'static str,
    /// `Accept`, `Deny` or `Pass`.
    pub action: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<Peer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Peer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<Protocol>,
}

/// Exactly one of its fields is set.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<Pods>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<String>>,
}

/// Exactly one of its fields is set.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<Destination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<Destination>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    pub destination_port: Number,
}

#[derive(Serialize)]
pub struct Number {
    pub number: u16,
}

impl Protocol {
    pub fn tcp(number: u16) -> Protocol {
        Protocol {
            tcp: Some(Destination {
                destination_port: Number { number },
            }),
            ..Default::default()
        }
    }

    pub fn udp(number: u16) -> Protocol {
        Protocol {
            udp: Some(Destination {
                destination_port: Number { number },
            }),
            ..Default::default()
        }
    }
}
