//! Built-in objects, built with the API's own types (`k8s-openapi`), so
//! every field the generator writes exists with the type the API server
//! expects; written as YAML with serde.

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, DeploymentStrategy,
    RollingUpdateDeployment, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSecurityContext,
    PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SecretKeySelector, SecurityContext,
    Service, ServicePort, ServiceSpec, TCPSocketAction, TopologySpreadConstraint, Volume,
    VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// `(key, value)` pairs as a label map.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One YAML document per object, separated by `---`.
pub fn documents(docs: &[String]) -> String {
    docs.join("---\n")
}

/// An object as a YAML document (serialising API types cannot fail).
pub fn yaml<T: serde::Serialize>(object: &T) -> String {
    serde_yaml::to_string(object).expect("API objects serialise")
}

pub fn namespace(name: &str, extra: &[(&str, String)]) -> Namespace {
    let mut l = labels(&[("kubernetes.io/metadata.name", name)]);
    l.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let contact = extra.iter().find(|(k, _)| *k == "team").map_or_else(
        || "platform@example.com".to_string(),
        |(_, t)| format!("{t}@example.com"),
    );
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(l),
            annotations: Some(
                [
                    ("argocd.argoproj.io/sync-wave".to_string(), "-1".to_string()),
                    ("contact".to_string(), contact),
                ]
                .into(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A container port: (name, number, protocol).
pub struct Port<'a> {
    pub name: &'a str,
    pub number: u16,
    pub protocol: &'a str,
}

/// What differs between the generator's workloads.
pub struct WorkloadDoc<'a> {
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub team: &'a str,
    /// Pod template labels (the first one is also the selector).
    pub labels: Vec<(&'a str, String)>,
    pub ports: Vec<Port<'a>>,
    pub image: String,
    pub replicas: usize,
}

impl WorkloadDoc<'_> {
    fn metadata(&self) -> ObjectMeta {
        ObjectMeta {
            name: Some(self.name.into()),
            namespace: Some(self.namespace.into()),
            labels: Some(labels(&[
                ("app.kubernetes.io/name", self.name),
                ("app.kubernetes.io/part-of", self.team),
                ("app.kubernetes.io/managed-by", "argocd"),
            ])),
            annotations: Some(
                [(
                    "argocd.argoproj.io/tracking-id".to_string(),
                    format!(
                        "{}:apps/v1:{}:{}/{}",
                        self.team, self.kind, self.namespace, self.name
                    ),
                )]
                .into(),
            ),
            ..Default::default()
        }
    }

    fn selector(&self) -> LabelSelector {
        let (k, v) = &self.labels[0];
        LabelSelector {
            match_labels: Some(labels(&[(k, v)])),
            ..Default::default()
        }
    }

    fn container(&self) -> Container {
        let tcp = self.ports.iter().find(|p| p.protocol == "TCP");
        let probe = |initial: Option<i32>, period| {
            tcp.map(|p| Probe {
                tcp_socket: Some(TCPSocketAction {
                    port: IntOrString::String(p.name.into()),
                    ..Default::default()
                }),
                initial_delay_seconds: initial,
                period_seconds: Some(period),
                ..Default::default()
            })
        };
        let env = |name: &str, value: &str| EnvVar {
            name: name.into(),
            value: Some(value.into()),
            ..Default::default()
        };
        let mut mounts = vec![
            mount("tmp", "/tmp", None),
            mount("config", "/etc/config", Some(true)),
        ];
        if self.kind == "StatefulSet" {
            mounts.push(mount("data", &format!("/var/lib/{}", self.name), None));
        }
        Container {
            name: self.name.into(),
            image: Some(self.image.clone()),
            image_pull_policy: Some("IfNotPresent".into()),
            ports: (!self.ports.is_empty()).then(|| {
                self.ports
                    .iter()
                    .map(|p| ContainerPort {
                        name: Some(p.name.into()),
                        container_port: i32::from(p.number),
                        protocol: (p.protocol != "TCP").then(|| p.protocol.into()),
                        ..Default::default()
                    })
                    .collect()
            }),
            env: Some(vec![
                env("LOG_LEVEL", "info"),
                env("TEAM", self.team),
                env("GOMAXPROCS", "2"),
                EnvVar {
                    name: "DB_PASSWORD".into(),
                    value_from: Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: format!("{}-secrets", self.name),
                            key: "db-password".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
            resources: Some(ResourceRequirements {
                requests: Some(
                    [
                        ("cpu".to_string(), Quantity("100m".into())),
                        ("memory".to_string(), Quantity("128Mi".into())),
                    ]
                    .into(),
                ),
                limits: Some([("memory".to_string(), Quantity("512Mi".into()))].into()),
                ..Default::default()
            }),
            readiness_probe: probe(None, 10),
            liveness_probe: probe(Some(15), 20),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(true),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            volume_mounts: Some(mounts),
            ..Default::default()
        }
    }

    fn template(&self) -> PodTemplateSpec {
        let annotations = self.ports.iter().find(|p| p.name == "metrics").map(|m| {
            [
                ("prometheus.io/scrape".to_string(), "true".to_string()),
                ("prometheus.io/port".to_string(), m.number.to_string()),
            ]
            .into()
        });
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(
                    self.labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect(),
                ),
                annotations,
                ..Default::default()
            }),
            spec: Some(PodSpec {
                service_account_name: Some(self.name.into()),
                termination_grace_period_seconds: Some(30),
                security_context: Some(PodSecurityContext {
                    run_as_non_root: Some(true),
                    run_as_user: Some(10001),
                    fs_group: Some(10001),
                    ..Default::default()
                }),
                topology_spread_constraints: Some(vec![TopologySpreadConstraint {
                    max_skew: 1,
                    topology_key: "topology.kubernetes.io/zone".into(),
                    when_unsatisfiable: "ScheduleAnyway".into(),
                    label_selector: Some(self.selector()),
                    ..Default::default()
                }]),
                volumes: Some(vec![
                    Volume {
                        name: "tmp".into(),
                        empty_dir: Some(EmptyDirVolumeSource::default()),
                        ..Default::default()
                    },
                    Volume {
                        name: "config".into(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: format!("{}-config", self.name),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                ]),
                containers: vec![self.container()],
                ..Default::default()
            }),
        }
    }

    /// The workload as a YAML document.
    pub fn yaml(&self) -> String {
        let replicas = Some(self.replicas as i32);
        match self.kind {
            "StatefulSet" => yaml(&StatefulSet {
                metadata: self.metadata(),
                spec: Some(StatefulSetSpec {
                    replicas,
                    service_name: Some(self.name.into()),
                    selector: self.selector(),
                    template: self.template(),
                    volume_claim_templates: Some(vec![data_claim()]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "DaemonSet" => yaml(&DaemonSet {
                metadata: self.metadata(),
                spec: Some(DaemonSetSpec {
                    selector: self.selector(),
                    template: self.template(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            _ => yaml(&Deployment {
                metadata: self.metadata(),
                spec: Some(DeploymentSpec {
                    replicas,
                    revision_history_limit: Some(5),
                    strategy: Some(DeploymentStrategy {
                        type_: Some("RollingUpdate".into()),
                        rolling_update: Some(RollingUpdateDeployment {
                            max_surge: Some(IntOrString::String("25%".into())),
                            max_unavailable: Some(IntOrString::Int(0)),
                        }),
                    }),
                    selector: self.selector(),
                    template: self.template(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }
}

fn mount(name: &str, path: &str, read_only: Option<bool>) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only,
        ..Default::default()
    }
}

fn data_claim() -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_string(), Quantity("20Gi".into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Service in front of a workload: (service port, named targetPort,
/// protocol).
pub fn service(
    namespace: &str,
    name: &str,
    selector: (&str, &str),
    ports: &[(u16, &str, &str)],
) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(labels(&[("app.kubernetes.io/name", name)])),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(labels(&[selector])),
            ports: Some(
                ports
                    .iter()
                    .map(|(port, target, protocol)| ServicePort {
                        name: Some(target.to_string()),
                        port: i32::from(*port),
                        target_port: Some(IntOrString::String(target.to_string())),
                        protocol: (*protocol != "TCP").then(|| protocol.to_string()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

// ------------------------------------------------------------ policies

/// `matchLabels` of `pairs` (none: every pod).
pub fn select(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: (!pairs.is_empty()).then(|| labels(pairs)),
        ..Default::default()
    }
}

/// `matchExpressions`: (key, operator, values).
pub fn expressions(reqs: &[(&str, &str, &[&str])]) -> LabelSelector {
    LabelSelector {
        match_expressions: Some(
            reqs.iter()
                .map(|(key, operator, values)| LabelSelectorRequirement {
                    key: key.to_string(),
                    operator: operator.to_string(),
                    values: (!values.is_empty())
                        .then(|| values.iter().map(|v| v.to_string()).collect()),
                })
                .collect(),
        ),
        ..Default::default()
    }
}

/// A peer of pods (and namespaces) by selectors.
pub fn pods(namespaces: Option<LabelSelector>, pods: Option<LabelSelector>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: namespaces,
        pod_selector: pods,
        ..Default::default()
    }
}

/// Pods of the namespace called `namespace`, optionally by one label.
pub fn in_namespace(namespace: &str, pod: Option<(&str, &str)>) -> NetworkPolicyPeer {
    pods(
        Some(select(&[("kubernetes.io/metadata.name", namespace)])),
        pod.map(|p| select(&[p])),
    )
}

/// An ipBlock peer.
pub fn block(cidr: &str, except: &[&str]) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.into(),
            except: (!except.is_empty()).then(|| except.iter().map(|e| e.to_string()).collect()),
        }),
        ..Default::default()
    }
}

/// `ports`: (protocol, port or port name, endPort).
pub fn ports(list: &[(&str, &str, Option<u16>)]) -> Vec<NetworkPolicyPort> {
    list.iter()
        .map(|(protocol, port, end)| NetworkPolicyPort {
            protocol: Some(protocol.to_string()),
            port: Some(match port.parse::<i32>() {
                Ok(n) => IntOrString::Int(n),
                Err(_) => IntOrString::String(port.to_string()),
            }),
            end_port: end.map(i32::from),
        })
        .collect()
}

/// A rule: its peers and ports (none: every port).
pub type Rule = (Vec<NetworkPolicyPeer>, Option<Vec<NetworkPolicyPort>>);

/// A NetworkPolicy with the generator's metadata (a description and a
/// change ticket derived from the name).
pub fn policy(
    namespace: &str,
    name: &str,
    pod_selector: LabelSelector,
    types: &[&str],
    (ingress, egress): (Vec<Rule>, Vec<Rule>),
) -> NetworkPolicy {
    let ticket = name
        .bytes()
        .chain(namespace.bytes())
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 9000
        + 1000;
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(labels(&[("app.kubernetes.io/managed-by", "argocd")])),
            annotations: Some(
                [
                    (
                        "description".to_string(),
                        format!("{} in {namespace}", name.replace('-', " ")),
                    ),
                    ("change-ticket".to_string(), format!("NET-{ticket}")),
                ]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(pod_selector),
            policy_types: Some(types.iter().map(|t| t.to_string()).collect()),
            ingress: (!ingress.is_empty()).then(|| {
                ingress
                    .into_iter()
                    .map(|(from, ports)| NetworkPolicyIngressRule {
                        from: (!from.is_empty()).then_some(from),
                        ports,
                    })
                    .collect()
            }),
            egress: (!egress.is_empty()).then(|| {
                egress
                    .into_iter()
                    .map(|(to, ports)| NetworkPolicyEgressRule {
                        to: (!to.is_empty()).then_some(to),
                        ports,
                    })
                    .collect()
            }),
        }),
    }
}
