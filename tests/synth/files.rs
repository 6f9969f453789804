//! The tree: one file per namespace object, workload (with its Service)
//! and namespace's policies, under `clusters/<cluster>/<namespace>/`.

use super::SynthOptions;
use super::crd::{self, ClusterNetworkPolicy, ClusterNetworkPolicySpec, Protocol};
use super::objects::{
    Port, Rule, WorkloadDoc, block, documents, expressions, in_namespace, namespace, pods, policy,
    ports, select, service, yaml,
};
use super::plan::{
    Changes, DATABASES, NamespacePlan, Plan, Rng, STREAM_HEAD, TEAMS, Tier, WorkloadPlan,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Where files go.
type Files = Vec<(String, String)>;

fn tcp(n: u16, name: &str) -> Port<'_> {
    Port {
        name,
        number: n,
        protocol: "TCP",
    }
}

/// Policies as one file's documents.
fn policies(list: &[NetworkPolicy]) -> String {
    documents(&list.iter().map(yaml).collect::<Vec<_>>())
}

const DNS_PORTS: [(&str, &str, Option<u16>); 2] = [("UDP", "53", None), ("TCP", "53", None)];

fn prometheus() -> Option<(&'static str, &'static str)> {
    Some(("app.kubernetes.io/name", "prometheus"))
}

/// kube-system: cluster DNS, reachable from every namespace.
fn kube_system(root: &str, files: &mut Files) {
    files.push((
        format!("{root}/kube-system/namespace.yaml"),
        yaml(&namespace("kube-system", &[("team", "platform".into())])),
    ));
    let coredns = WorkloadDoc {
        kind: "Deployment",
        namespace: "kube-system",
        name: "coredns",
        team: "platform",
        labels: vec![("k8s-app", "kube-dns".into())],
        ports: vec![
            Port {
                name: "dns",
                number: 53,
                protocol: "UDP",
            },
            tcp(53, "dns-tcp"),
            tcp(9153, "metrics"),
        ],
        image: "registry.k8s.io/coredns/coredns:v1.11.3".into(),
        replicas: 2,
    };
    let svc = service(
        "kube-system",
        "kube-dns",
        ("k8s-app", "kube-dns"),
        &[
            (53, "dns", "UDP"),
            (53, "dns-tcp", "TCP"),
            (9153, "metrics", "TCP"),
        ],
    );
    files.push((
        format!("{root}/kube-system/coredns.yaml"),
        documents(&[coredns.yaml(), yaml(&svc)]),
    ));
    let allow_dns = policy(
        "kube-system",
        "allow-dns",
        select(&[("k8s-app", "kube-dns")]),
        &["Ingress"],
        (
            vec![
                (vec![pods(Some(select(&[])), None)], Some(ports(&DNS_PORTS))),
                (
                    vec![in_namespace("monitoring", prometheus())],
                    Some(ports(&[("TCP", "metrics", None)])),
                ),
            ],
            vec![],
        ),
    );
    files.push((
        format!("{root}/kube-system/networkpolicies.yaml"),
        policies(&[allow_dns]),
    ));
}

/// monitoring: Prometheus scrapes every namespace; egress is open.
fn monitoring(root: &str, files: &mut Files) {
    files.push((
        format!("{root}/monitoring/namespace.yaml"),
        yaml(&namespace(
            "monitoring",
            &[("team", "platform".into()), ("env", "prod".into())],
        )),
    ));
    let workloads: [(&str, &str, Port<'_>, &str, u16); 3] = [
        (
            "StatefulSet",
            "prometheus",
            tcp(9090, "web"),
            "quay.io/prometheus/prometheus:v2.54.1",
            9090,
        ),
        (
            "Deployment",
            "grafana",
            tcp(3000, "http"),
            "docker.io/grafana/grafana:11.2.0",
            80,
        ),
        (
            "DaemonSet",
            "node-exporter",
            tcp(9100, "metrics"),
            "quay.io/prometheus/node-exporter:v1.8.2",
            9100,
        ),
    ];
    for (kind, name, port, image, svc_port) in workloads {
        let target = port.name;
        let w = WorkloadDoc {
            kind,
            namespace: "monitoring",
            name,
            team: "platform",
            labels: vec![
                ("app.kubernetes.io/name", name.into()),
                ("tier", "backend".into()),
            ],
            ports: vec![port],
            image: image.into(),
            replicas: 1,
        };
        let svc = service(
            "monitoring",
            name,
            ("app.kubernetes.io/name", name),
            &[(svc_port, target, "TCP")],
        );
        files.push((
            format!("{root}/monitoring/{name}.yaml"),
            documents(&[w.yaml(), yaml(&svc)]),
        ));
    }
    let by_name = |n: &str| select(&[("app.kubernetes.io/name", n)]);
    let from = |peer: k8s_openapi::api::networking::v1::NetworkPolicyPeer, port: &str| {
        (
            vec![(vec![peer], Some(ports(&[("TCP", port, None)])))],
            vec![],
        )
    };
    let list = [
        policy(
            "monitoring",
            "default-deny-ingress",
            select(&[]),
            &["Ingress"],
            (vec![], vec![]),
        ),
        policy(
            "monitoring",
            "allow-grafana-from-ingress",
            by_name("grafana"),
            &["Ingress"],
            from(
                in_namespace(
                    "ingress-nginx",
                    Some(("app.kubernetes.io/name", "ingress-nginx")),
                ),
                "http",
            ),
        ),
        policy(
            "monitoring",
            "allow-prometheus-from-grafana",
            by_name("prometheus"),
            &["Ingress"],
            from(pods(None, Some(by_name("grafana"))), "web"),
        ),
        policy(
            "monitoring",
            "allow-node-exporter-scrape",
            by_name("node-exporter"),
            &["Ingress"],
            from(pods(None, Some(by_name("prometheus"))), "metrics"),
        ),
    ];
    files.push((
        format!("{root}/monitoring/networkpolicies.yaml"),
        policies(&list),
    ));
}

/// ingress-nginx: the edge, open to the internet on 80/443.
fn ingress_nginx(root: &str, changes: &Changes, files: &mut Files) {
    files.push((
        format!("{root}/ingress-nginx/namespace.yaml"),
        yaml(&namespace(
            "ingress-nginx",
            &[("team", "platform".into()), ("env", "prod".into())],
        )),
    ));
    let controller = WorkloadDoc {
        kind: "Deployment",
        namespace: "ingress-nginx",
        name: "ingress-nginx-controller",
        team: "platform",
        labels: vec![
            ("app.kubernetes.io/name", "ingress-nginx".into()),
            ("app.kubernetes.io/component", "controller".into()),
        ],
        ports: vec![tcp(80, "http"), tcp(443, "https"), tcp(10254, "metrics")],
        image: "registry.k8s.io/ingress-nginx/controller:v1.11.2".into(),
        replicas: 3,
    };
    let svc = service(
        "ingress-nginx",
        "ingress-nginx-controller",
        ("app.kubernetes.io/name", "ingress-nginx"),
        &[(80, "http", "TCP"), (443, "https", "TCP")],
    );
    files.push((
        format!("{root}/ingress-nginx/ingress-nginx-controller.yaml"),
        documents(&[controller.yaml(), yaml(&svc)]),
    ));
    let mut list = vec![policy(
        "ingress-nginx",
        "allow-web-from-internet",
        select(&[("app.kubernetes.io/name", "ingress-nginx")]),
        &["Ingress"],
        (
            vec![
                (
                    vec![block("0.0.0.0/0", &[])],
                    Some(ports(&[("TCP", "80", None), ("TCP", "443", None)])),
                ),
                (
                    vec![in_namespace("monitoring", prometheus())],
                    Some(ports(&[("TCP", "metrics", None)])),
                ),
            ],
            vec![],
        ),
    )];
    if changes.deny_egress == Some(None) {
        list.push(policy(
            "ingress-nginx",
            "default-deny-egress",
            select(&[]),
            &["Egress"],
            (vec![], vec![]),
        ));
    }
    files.push((
        format!("{root}/ingress-nginx/networkpolicies.yaml"),
        policies(&list),
    ));
}

/// A workload and its Service (none for a DaemonSet).
fn workload_file(plan: &Plan, ns: &NamespacePlan, w: &WorkloadPlan, tier: Tier) -> String {
    let team = TEAMS[ns.team];
    let mut ports = Vec::new();
    let mut svc: Vec<(u16, &str, &str)> = Vec::new();
    match w.db {
        Some(d) => {
            let (_, pname, number) = DATABASES[d];
            ports.push(tcp(number, pname));
            svc.push((number, pname, "TCP"));
        }
        None => {
            ports.push(tcp(8080, "http"));
            svc.push((80, "http", "TCP"));
            if w.tier == Tier::Backend {
                ports.push(tcp(9090, "grpc"));
                svc.push((9090, "grpc", "TCP"));
            }
        }
    }
    ports.push(tcp(9102, "metrics"));
    let image = match w.db {
        Some(d) => format!(
            "registry.example.com/{}/{}:{}.{}",
            plan.cluster,
            DATABASES[d].0,
            10 + w.version / 4,
            w.version % 10
        ),
        None => format!(
            "registry.example.com/{team}/{}:1.{}.{}",
            w.name, w.version, w.replicas
        ),
    };
    let doc = WorkloadDoc {
        kind: w.kind,
        namespace: &ns.name,
        name: &w.name,
        team,
        labels: vec![
            ("app", w.name.clone()),
            ("tier", tier.as_str().into()),
            ("team", team.into()),
            ("version", w.version.to_string()),
        ],
        ports,
        image,
        replicas: w.replicas,
    };
    let mut docs = vec![doc.yaml()];
    if w.kind != "DaemonSet" {
        docs.push(yaml(&service(&ns.name, &w.name, ("app", &w.name), &svc)));
    }
    documents(&docs)
}

/// `team In [..]` of the teams of `teams`.
fn team_names(plan: &Plan, teams: &[usize]) -> Vec<&'static str> {
    teams.iter().map(|&t| TEAMS[t % plan.teams]).collect()
}

/// One protected namespace's policies, as its changes in the head have
/// them.
struct NamespacePolicies<'a> {
    plan: &'a Plan,
    i: usize,
    ns: &'a NamespacePlan,
    changes: &'a Changes,
}

impl NamespacePolicies<'_> {
    fn policy(
        &self,
        name: &str,
        sel: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
        types: &[&str],
        rules: (Vec<Rule>, Vec<Rule>),
    ) -> NetworkPolicy {
        policy(&self.ns.name, name, sel, types, rules)
    }

    fn has(&self, tier: Tier) -> bool {
        self.ns.workloads.iter().any(|w| w.tier == tier)
    }

    /// Deny, DNS, the tiers' ingress.
    fn base(&self, rng: &mut Rng, out: &mut Vec<NetworkPolicy>) {
        let (ns, plan) = (self.ns, self.plan);
        out.push(self.policy(
            "default-deny",
            select(&[]),
            &["Ingress", "Egress"],
            (vec![], vec![]),
        ));
        out.push(self.policy(
            "allow-dns",
            select(&[]),
            &["Egress"],
            (
                vec![],
                vec![(
                    vec![in_namespace("kube-system", Some(("k8s-app", "kube-dns")))],
                    Some(ports(&DNS_PORTS)),
                )],
            ),
        ));
        if self.has(Tier::Frontend) {
            out.push(self.policy(
                "allow-frontend-from-ingress",
                select(&[("tier", "frontend")]),
                &["Ingress"],
                (
                    vec![(
                        vec![in_namespace(
                            "ingress-nginx",
                            Some(("app.kubernetes.io/name", "ingress-nginx")),
                        )],
                        Some(ports(&[("TCP", "http", None)])),
                    )],
                    vec![],
                ),
            ));
        }
        let frontends = || pods(None, Some(select(&[("tier", "frontend")])));
        let mut rules = vec![(
            vec![frontends()],
            Some(ports(&[("TCP", "http", None), ("TCP", "grpc", None)])),
        )];
        if self.changes.add_rule == Some(self.i) {
            let other = (ns.team + 1 + rng.below(plan.teams.max(2) - 1)) % plan.teams;
            rules.push((
                vec![pods(
                    Some(select(&[("team", TEAMS[other])])),
                    Some(select(&[("tier", "frontend")])),
                )],
                Some(ports(&[("TCP", "http", None)])),
            ));
        }
        out.push(self.policy(
            "allow-backend-from-frontend",
            select(&[("tier", "backend")]),
            &["Ingress"],
            (rules, vec![]),
        ));
        for w in ns.workloads.iter().filter(|w| w.tier == Tier::Data) {
            let (_, pname, _) = DATABASES[w.db.unwrap_or(0)];
            out.push(self.policy(
                &format!("allow-{}-from-backend", w.name),
                select(&[("app", &w.name)]),
                &["Ingress"],
                (
                    vec![(
                        vec![pods(None, Some(select(&[("tier", "backend")])))],
                        Some(ports(&[("TCP", pname, None)])),
                    )],
                    vec![],
                ),
            ));
        }
        if self.changes.remove_policy != Some(self.i) {
            out.push(self.policy(
                "allow-metrics-scrape",
                select(&[]),
                &["Ingress"],
                (
                    vec![(
                        vec![in_namespace("monitoring", prometheus())],
                        Some(ports(&[("TCP", "metrics", None)])),
                    )],
                    vec![],
                ),
            ));
        }
    }

    /// Across teams: selected teams in, never from restricted namespaces;
    /// out to the backends of peer teams in the same env.
    fn cross_team(&self, out: &mut Vec<NetworkPolicy>) {
        let teams = team_names(self.plan, &self.ns.peer_teams);
        let namespaces = if self.changes.widen == Some(self.i) {
            expressions(&[("team", "Exists", &[])])
        } else {
            expressions(&[("team", "In", &teams), ("tier", "NotIn", &["restricted"])])
        };
        out.push(self.policy(
            "allow-cross-team-ingress",
            expressions(&[("tier", "In", &["backend"])]),
            &["Ingress"],
            (
                vec![(
                    vec![pods(
                        Some(namespaces),
                        Some(expressions(&[("tier", "In", &["frontend", "backend"])])),
                    )],
                    Some(ports(&[("TCP", "grpc", None)])),
                )],
                vec![],
            ),
        ));
        out.push(self.policy(
            "allow-egress-same-namespace",
            select(&[]),
            &["Egress"],
            (vec![], vec![(vec![pods(None, Some(select(&[])))], None)]),
        ));
        out.push(self.policy(
            "allow-egress-cross-team",
            expressions(&[("tier", "In", &["frontend", "backend"])]),
            &["Egress"],
            (
                vec![],
                vec![(
                    vec![pods(
                        Some(expressions(&[
                            ("team", "In", &teams),
                            ("env", "In", &[self.ns.env]),
                        ])),
                        Some(select(&[("tier", "backend")])),
                    )],
                    Some(ports(&[("TCP", "8080", None), ("TCP", "9090", None)])),
                )],
            ),
        ));
    }

    /// Port ranges, the internet, partners, and the head's open egress.
    fn outward(&self, out: &mut Vec<NetworkPolicy>) {
        let (ns, plan) = (self.ns, self.plan);
        if ns.port_range {
            out.push(self.policy(
                "allow-batch-port-range",
                select(&[("tier", "backend")]),
                &["Ingress"],
                (
                    vec![(
                        vec![pods(
                            Some(expressions(&[
                                ("team", "Exists", &[]),
                                ("env", "NotIn", &["dev"]),
                            ])),
                            None,
                        )],
                        Some(ports(&[("TCP", "8000", Some(8100))])),
                    )],
                    vec![],
                ),
            ));
        }
        if !ns.restricted {
            out.push(self.policy(
                "allow-egress-internet",
                expressions(&[("tier", "In", &["frontend", "backend"])]),
                &["Egress"],
                (
                    vec![],
                    vec![(
                        vec![block(
                            "0.0.0.0/0",
                            &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                        )],
                        Some(ports(&[("TCP", "443", None)])),
                    )],
                ),
            ));
        }
        if !ns.partners.is_empty() {
            let peers = ns
                .partners
                .iter()
                .map(|&p| {
                    let (cidr, except) = &plan.partner_pool[p];
                    let except: Vec<&str> = except.iter().map(String::as_str).collect();
                    block(cidr, &except)
                })
                .collect();
            out.push(self.policy(
                "allow-egress-partners",
                select(&[("tier", "backend")]),
                &["Egress"],
                (
                    vec![],
                    vec![(
                        peers,
                        Some(ports(&[("TCP", "443", None), ("TCP", "8443", Some(8453))])),
                    )],
                ),
            ));
        }
        if let Some(w) = ns
            .workloads
            .first()
            .filter(|_| self.changes.open_egress == Some(self.i))
        {
            out.push(self.policy(
                &format!("allow-{}-egress-anywhere", w.name),
                select(&[("app", &w.name)]),
                &["Egress"],
                (vec![], vec![(vec![block("0.0.0.0/0", &[])], None)]),
            ));
        }
    }

    fn file(&self, rng: &mut Rng) -> String {
        let mut out = Vec::new();
        self.base(rng, &mut out);
        self.cross_team(&mut out);
        self.outward(&mut out);
        policies(&out)
    }
}

fn namespace_files(plan: &Plan, i: usize, changes: &Changes, files: &mut Files) {
    let ns = &plan.namespaces[i];
    let dir = format!("clusters/{}/{}", plan.cluster, ns.name);
    let mut labels = vec![
        ("team", TEAMS[ns.team].to_string()),
        ("env", ns.env.to_string()),
        ("cost-center", ns.cost_center.to_string()),
    ];
    if ns.restricted {
        labels.push(("tier", "restricted".into()));
        labels.push(("pci", "true".into()));
    }
    files.push((
        format!("{dir}/namespace.yaml"),
        yaml(&namespace(&ns.name, &labels)),
    ));
    for (j, w) in ns.workloads.iter().enumerate() {
        let tier = match changes.relabel {
            Some((n, k)) if n == i && k == j => match w.tier {
                Tier::Frontend => Tier::Backend,
                Tier::Backend => Tier::Frontend,
                Tier::Data => Tier::Backend,
            },
            _ => w.tier,
        };
        files.push((
            format!("{dir}/{}.yaml", w.name),
            workload_file(plan, ns, w, tier),
        ));
    }
    let mut rng = Rng::derive(plan.seed, STREAM_HEAD, 2 + i as u64);
    if ns.protected {
        let p = NamespacePolicies {
            plan,
            i,
            ns,
            changes,
        };
        files.push((format!("{dir}/networkpolicies.yaml"), p.file(&mut rng)));
    } else if changes.deny_egress == Some(Some(i)) {
        let deny = policy(
            &ns.name,
            "default-deny-egress",
            select(&[]),
            &["Egress"],
            (
                vec![],
                vec![(
                    vec![in_namespace("kube-system", Some(("k8s-app", "kube-dns")))],
                    Some(ports(&DNS_PORTS)),
                )],
            ),
        );
        files.push((format!("{dir}/networkpolicies.yaml"), policies(&[deny])));
    }
}

fn new_namespace_files(opts: &SynthOptions, plan: &Plan, files: &mut Files) {
    let mut rng = Rng::derive(opts.seed, STREAM_HEAD, 1);
    let team = rng.below(plan.teams);
    let name = format!("{}-sandbox", TEAMS[team]);
    let dir = format!("clusters/{}/{name}", plan.cluster);
    files.push((
        format!("{dir}/namespace.yaml"),
        yaml(&namespace(
            &name,
            &[
                ("team", TEAMS[team].to_string()),
                ("env", "dev".into()),
                ("cost-center", "9999".into()),
            ],
        )),
    ));
    let ns = NamespacePlan {
        name,
        team,
        env: "dev",
        restricted: false,
        protected: false,
        cost_center: 9999,
        peer_teams: Vec::new(),
        partners: Vec::new(),
        port_range: false,
        workloads: Vec::new(),
    };
    let w = WorkloadPlan {
        name: "prototype".into(),
        tier: Tier::Backend,
        kind: "Deployment",
        db: None,
        replicas: 1,
        version: 1,
    };
    files.push((
        format!("{dir}/prototype.yaml"),
        workload_file(plan, &ns, &w, Tier::Backend),
    ));
}

/// Platform guardrails in both tiers, each selecting across namespaces: dev
/// may not reach prod, monitoring scrapes are passed down, DNS is always
/// accepted, the metadata service is denied, and a baseline default-deny.
fn admin_policies_file(opts: &SynthOptions) -> String {
    let teams = opts.teams.clamp(1, TEAMS.len());
    let docs: Vec<String> = (0..opts.admin_policies)
        .map(|i| {
            let (t1, t2) = (TEAMS[i % teams], TEAMS[(i + 7) % teams]);
            let baseline = i % 5 == 4;
            let (tier, priority) = if baseline {
                ("Baseline", 100 + i as u32)
            } else {
                ("Admin", 10 + 5 * i as u32)
            };
            let (ingress, egress) = guardrail(i % 5);
            yaml(&ClusterNetworkPolicy {
                api_version: "policy.networking.k8s.io/v1alpha2",
                kind: "ClusterNetworkPolicy",
                metadata: ObjectMeta {
                    name: Some(format!("guardrail-{i:02}")),
                    ..Default::default()
                },
                spec: ClusterNetworkPolicySpec {
                    tier,
                    priority,
                    subject: crd::Subject {
                        namespaces: Some(expressions(&[("team", "In", &[t1, t2])])),
                        ..Default::default()
                    },
                    ingress,
                    egress,
                },
            })
        })
        .collect();
    documents(&docs)
}

/// The five guardrails' rules: (ingress, egress).
fn guardrail(which: usize) -> (Vec<crd::Rule>, Vec<crd::Rule>) {
    let namespaces = |pairs: &[(&str, &str)]| crd::Peer {
        namespaces: Some(select(pairs)),
        ..Default::default()
    };
    let rule = |name, action, peers: Vec<crd::Peer>, protocols| crd::Rule {
        name,
        action,
        from: peers,
        to: Vec::new(),
        protocols,
    };
    let outward = |r: crd::Rule| crd::Rule {
        to: r.from,
        from: Vec::new(),
        ..r
    };
    match which {
        0 => (
            vec![rule(
                "no-dev-into-prod",
                "Deny",
                vec![namespaces(&[("env", "dev")])],
                vec![],
            )],
            vec![],
        ),
        1 => (
            vec![rule(
                "monitoring-decides-below",
                "Pass",
                vec![namespaces(&[("kubernetes.io/metadata.name", "monitoring")])],
                vec![Protocol::tcp(9102)],
            )],
            vec![],
        ),
        2 => (
            vec![],
            vec![outward(rule(
                "dns",
                "Accept",
                vec![crd::Peer {
                    pods: Some(crd::Pods {
                        namespace_selector: select(&[(
                            "kubernetes.io/metadata.name",
                            "kube-system",
                        )]),
                        pod_selector: select(&[("k8s-app", "kube-dns")]),
                    }),
                    ..Default::default()
                }],
                vec![Protocol::udp(53), Protocol::tcp(53)],
            ))],
        ),
        3 => (
            vec![],
            vec![outward(rule(
                "no-metadata-service",
                "Deny",
                vec![crd::Peer {
                    networks: Some(vec!["169.254.169.254/32".into()]),
                    ..Default::default()
                }],
                vec![],
            ))],
        ),
        _ => (
            vec![rule("baseline-deny", "Deny", vec![namespaces(&[])], vec![])],
            vec![],
        ),
    }
}

/// Every file of the tree, in a fixed order.
pub fn render(opts: &SynthOptions, plan: &Plan, changes: &Changes) -> Files {
    let root = format!("clusters/{}", plan.cluster);
    let mut files =
        Vec::with_capacity(plan.namespaces.len() * (opts.workloads_per_namespace + 2) + 16);
    kube_system(&root, &mut files);
    monitoring(&root, &mut files);
    ingress_nginx(&root, changes, &mut files);
    for i in 0..plan.namespaces.len() {
        namespace_files(plan, i, changes, &mut files);
    }
    if changes.new_workload {
        new_namespace_files(opts, plan, &mut files);
    }
    if opts.admin_policies > 0 {
        files.push((
            format!("{root}/cluster-policies/admin.yaml"),
            admin_policies_file(opts),
        ));
    }
    files
}
