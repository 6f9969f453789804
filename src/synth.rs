//! Deterministic synthetic GitOps trees for benchmarks and tests.
//!
//! [`generate`] lays out a realistic `clusters/<cluster>/<namespace>/...` tree
//! of Namespaces, workloads (Deployment, StatefulSet or DaemonSet plus a
//! Service, one multi-document file each) and NetworkPolicies; the YAML is
//! written with `format!`, so output is fast and byte-for-byte reproducible
//! from the seed. [`generate_head`] is the same tree after a handful of
//! typical pull-request changes.
//!
//! Pure: no I/O and no randomness besides a SplitMix64 stream derived from
//! [`SynthOptions::seed`]. Every namespace draws from its own stream, so a
//! change to one namespace never shifts the contents of another.

use std::fmt::Write as _;

/// Knobs of the generator. Only `seed` and `workloads` usually matter.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    pub seed: u64,
    /// Total workloads in the base tree, including the
    /// [`SYSTEM_WORKLOADS`] of `kube-system`, `monitoring` and
    /// `ingress-nginx` (never fewer than those).
    pub workloads: usize,
    /// Application workloads per namespace (the last namespace takes the rest).
    pub workloads_per_namespace: usize,
    /// Number of distinct `team` label values (at most [`TEAMS`]`.len()`).
    pub teams: usize,
    /// Share of application namespaces without any NetworkPolicy.
    pub unprotected_percent: u32,
    /// Share of application namespaces labelled `tier=restricted`.
    pub restricted_percent: u32,
    /// Size of the pool of partner CIDRs that namespaces allow egress to.
    pub partner_cidrs: usize,
    /// The `<cluster>` directory under `clusters/`.
    pub cluster: String,
    /// Cluster-wide ClusterNetworkPolicies (Admin and Baseline tier) whose
    /// subjects span all namespaces, in `cluster-policies/admin.yaml`.
    pub admin_policies: usize,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 1,
            workloads: 1000,
            workloads_per_namespace: 9,
            teams: 40,
            unprotected_percent: 5,
            restricted_percent: 4,
            partner_cidrs: 200,
            cluster: "prod".into(),
            admin_policies: 0,
        }
    }
}

/// Workloads of the system namespaces, always present.
pub const SYSTEM_WORKLOADS: usize = 5;

/// Team names, used as the `team` label of namespaces and workloads.
pub const TEAMS: &[&str] = &[
    "payments",
    "checkout",
    "catalog",
    "search",
    "identity",
    "billing",
    "shipping",
    "inventory",
    "pricing",
    "reviews",
    "recommend",
    "notify",
    "messaging",
    "analytics",
    "reporting",
    "fraud",
    "risk",
    "ledger",
    "accounts",
    "onboarding",
    "support",
    "marketing",
    "ads",
    "media",
    "content",
    "maps",
    "routing",
    "logistics",
    "warehouse",
    "procurement",
    "people",
    "finance",
    "compliance",
    "security",
    "platform",
    "datalake",
    "ml",
    "growth",
    "partners",
    "loyalty",
];

const AREAS: &[&str] = &["core", "api", "web", "jobs", "edge", "svc", "int", "ops"];
const FRONTENDS: &[&str] = &["web", "ui", "portal", "storefront", "console", "dashboard"];
const BACKENDS: &[&str] = &[
    "api",
    "orders",
    "accounts-svc",
    "search-svc",
    "auth",
    "catalog-svc",
    "worker",
    "notifier",
    "scheduler",
    "ledger-svc",
    "gateway",
    "importer",
    "exporter",
    "resolver",
];
/// (workload name, named port, port number)
const DATABASES: &[(&str, &str, u16)] = &[
    ("postgres", "postgres", 5432),
    ("redis", "redis", 6379),
    ("kafka", "kafka", 9092),
    ("mysql", "mysql", 3306),
    ("mongodb", "mongodb", 27017),
    ("cassandra", "cql", 9042),
];
/// Public first octets the partner CIDRs are drawn from.
const PARTNER_OCTETS: &[u8] = &[
    3, 13, 18, 20, 23, 34, 35, 40, 44, 52, 54, 104, 151, 185, 199, 203,
];

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough here.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    /// A stream for one part of the tree, independent of every other part.
    fn derive(seed: u64, stream: u64, index: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        r.0 ^= r.next_u64() ^ index.wrapping_mul(0xE703_7ED1_A0B4_28DB);
        r.next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn percent(&mut self, p: u32) -> bool {
        self.below(100) < p as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const STREAM_NAMESPACE: u64 = 1;
const STREAM_GLOBAL: u64 = 2;
const STREAM_HEAD: u64 = 3;

// ---------------------------------------------------------------------------
// Plan: what exists, before any text is written
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    Frontend,
    Backend,
    Data,
}

impl Tier {
    fn as_str(self) -> &'static str {
        match self {
            Tier::Frontend => "frontend",
            Tier::Backend => "backend",
            Tier::Data => "data",
        }
    }
}

#[derive(Clone, Debug)]
struct WorkloadPlan {
    name: String,
    tier: Tier,
    kind: &'static str,
    /// Index into [`DATABASES`] for the data tier.
    db: Option<usize>,
    replicas: usize,
    version: u32,
}

#[derive(Clone, Debug)]
struct NamespacePlan {
    name: String,
    team: usize,
    env: &'static str,
    restricted: bool,
    protected: bool,
    cost_center: u32,
    /// Teams allowed in by the cross-team ingress policy.
    peer_teams: Vec<usize>,
    /// Indices into the partner CIDR pool.
    partners: Vec<usize>,
    /// Optional policies.
    port_range: bool,
    workloads: Vec<WorkloadPlan>,
}

struct Plan {
    seed: u64,
    cluster: String,
    teams: usize,
    namespaces: Vec<NamespacePlan>,
    partner_pool: Vec<(String, Option<String>)>,
}

fn plan(opts: &SynthOptions) -> Plan {
    let teams = opts.teams.clamp(1, TEAMS.len());
    let per_ns = opts.workloads_per_namespace.max(1);
    let app_workloads = opts.workloads.saturating_sub(SYSTEM_WORKLOADS);
    let ns_count = app_workloads.div_ceil(per_ns);

    // Which namespaces carry no policy: an exact share, spread by the seed.
    let mut global = Rng::derive(opts.seed, STREAM_GLOBAL, 0);
    let unprotected = (ns_count * opts.unprotected_percent.min(100) as usize + 50) / 100;
    let mut order: Vec<usize> = (0..ns_count).collect();
    for i in (1..order.len()).rev() {
        let j = global.below(i + 1);
        order.swap(i, j);
    }
    let mut protected = vec![true; ns_count];
    for &i in order.iter().take(unprotected) {
        protected[i] = false;
    }

    let pool = opts.partner_cidrs.max(1);
    let partner_pool: Vec<(String, Option<String>)> = (0..pool)
        .map(|_| {
            let a = *global.pick(PARTNER_OCTETS);
            let b = global.below(256);
            let c = global.below(256);
            match global.below(4) {
                0 => (format!("{a}.{b}.0.0/16"), Some(format!("{a}.{b}.{c}.0/24"))),
                1 => (format!("{a}.{b}.{}.0/22", c & !3), None),
                2 => (
                    format!("{a}.{b}.{c}.0/24"),
                    Some(format!("{a}.{b}.{c}.128/25")),
                ),
                _ => (format!("{a}.{b}.{c}.{}/28", global.below(16) * 16), None),
            }
        })
        .collect();

    let mut namespaces = Vec::with_capacity(ns_count);
    for (i, &is_protected) in protected.iter().enumerate() {
        let mut rng = Rng::derive(opts.seed, STREAM_NAMESPACE, i as u64);
        let team = rng.below(teams);
        let name = format!("{}-{}-{:04}", TEAMS[team], rng.pick(AREAS), i);
        let env = match rng.below(10) {
            0..=4 => "prod",
            5..=7 => "staging",
            _ => "dev",
        };
        let restricted = rng.percent(opts.restricted_percent);
        let cost_center = 1000 + rng.below(9000) as u32;
        let mut peer_teams = Vec::new();
        for _ in 0..2 + rng.below(3) {
            let t = rng.below(teams);
            if t != team && !peer_teams.contains(&t) {
                peer_teams.push(t);
            }
        }
        if peer_teams.is_empty() {
            peer_teams.push(team);
        }
        peer_teams.sort_unstable();
        let partners: Vec<usize> = if rng.percent(55) {
            let mut p: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(pool)).collect();
            p.sort_unstable();
            p.dedup();
            p
        } else {
            Vec::new()
        };
        let port_range = rng.percent(40);
        let count = if i + 1 == ns_count {
            app_workloads - per_ns * (ns_count - 1)
        } else {
            per_ns
        };
        let mut workloads: Vec<WorkloadPlan> = Vec::with_capacity(count);
        for j in 0..count {
            let tier = match rng.below(100) {
                0..=21 => Tier::Frontend,
                22..=74 => Tier::Backend,
                _ => Tier::Data,
            };
            let (word, kind, db) = match tier {
                Tier::Frontend => (*rng.pick(FRONTENDS), "Deployment", None),
                Tier::Backend => {
                    let kind = if rng.percent(5) {
                        "DaemonSet"
                    } else {
                        "Deployment"
                    };
                    (*rng.pick(BACKENDS), kind, None)
                }
                Tier::Data => {
                    let d = rng.below(DATABASES.len());
                    (DATABASES[d].0, "StatefulSet", Some(d))
                }
            };
            let name = if workloads.iter().any(|w| w.name == word) {
                format!("{word}-{j}")
            } else {
                word.to_string()
            };
            workloads.push(WorkloadPlan {
                name,
                tier,
                kind,
                db,
                replicas: 1 + rng.below(5),
                version: 1 + rng.below(40) as u32,
            });
        }
        namespaces.push(NamespacePlan {
            name,
            team,
            env,
            restricted,
            protected: is_protected,
            cost_center,
            peer_teams,
            partners,
            port_range,
            workloads,
        });
    }
    Plan {
        seed: opts.seed,
        cluster: opts.cluster.clone(),
        teams,
        namespaces,
        partner_pool,
    }
}

/// The pull-request changes of the head tree; `None` everywhere for base.
#[derive(Clone, Debug, Default)]
struct Changes {
    /// Namespace whose cross-team ingress selector is widened to any team.
    widen: Option<usize>,
    /// Namespace whose backend policy gains one more ingress rule.
    add_rule: Option<usize>,
    /// Namespace that loses its metrics-scraping policy.
    remove_policy: Option<usize>,
    /// Namespace that gains a default-deny egress policy (`None` inside the
    /// option: `ingress-nginx`, when every namespace already has policies).
    deny_egress: Option<Option<usize>>,
    /// (namespace, workload) whose tier label changes.
    relabel: Option<(usize, usize)>,
    /// Namespace that opens egress to 0.0.0.0/0 for one workload.
    open_egress: Option<usize>,
    /// A new namespace with one workload and no policy.
    new_workload: bool,
}

fn head_changes(opts: &SynthOptions, plan: &Plan) -> Changes {
    let mut rng = Rng::derive(opts.seed, STREAM_HEAD, 0);
    let protected: Vec<usize> = (0..plan.namespaces.len())
        .filter(|&i| plan.namespaces[i].protected)
        .collect();
    let unprotected: Vec<usize> = (0..plan.namespaces.len())
        .filter(|&i| !plan.namespaces[i].protected)
        .collect();
    // Distinct namespaces while there are enough of them.
    let mut used: Vec<usize> = Vec::new();
    let mut take = |rng: &mut Rng, from: &[usize]| -> Option<usize> {
        if from.is_empty() {
            return None;
        }
        let fresh: Vec<usize> = from.iter().copied().filter(|i| !used.contains(i)).collect();
        let i = if fresh.is_empty() {
            *rng.pick(from)
        } else {
            *rng.pick(&fresh)
        };
        used.push(i);
        Some(i)
    };
    let widen = take(&mut rng, &protected);
    let add_rule = take(&mut rng, &protected);
    let remove_policy = take(&mut rng, &protected);
    let open_egress = take(&mut rng, &protected);
    let relabel = take(&mut rng, &protected).and_then(|n| {
        let w = &plan.namespaces[n].workloads;
        (!w.is_empty()).then(|| (n, rng.below(w.len())))
    });
    let deny_egress = Some(take(&mut rng, &unprotected));
    Changes {
        widen,
        add_rule,
        remove_policy,
        deny_egress,
        relabel,
        open_egress,
        new_workload: true,
    }
}

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------

/// `write!` to a String cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

/// A label value as YAML: quoted unless plain YAML reads it as a string.
fn scalar(v: &str) -> String {
    let plain = v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        v.to_string()
    } else {
        format!("\"{v}\"")
    }
}

fn separator(out: &mut String) {
    if !out.is_empty() {
        out.push_str("---\n");
    }
}

fn namespace_doc(out: &mut String, name: &str, labels: &[(&str, String)]) {
    w!(
        out,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n"
    );
    w!(out, "    kubernetes.io/metadata.name: {name}\n");
    for (k, v) in labels {
        w!(out, "    {k}: {}\n", scalar(v));
    }
    w!(
        out,
        "  annotations:\n    argocd.argoproj.io/sync-wave: \"-1\"\n    contact: \"{}\"\n",
        labels.iter().find(|(k, _)| *k == "team").map_or_else(
            || "platform@example.com".to_string(),
            |(_, t)| format!("{t}@example.com")
        )
    );
}

struct Port<'a> {
    name: &'a str,
    number: u16,
    protocol: &'a str,
}

struct WorkloadDoc<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    team: &'a str,
    /// Pod template labels (the first one is also the selector).
    labels: Vec<(&'a str, String)>,
    ports: Vec<Port<'a>>,
    image: String,
    replicas: usize,
}

fn workload_doc(out: &mut String, d: &WorkloadDoc<'_>) {
    separator(out);
    let api = "apps/v1";
    w!(
        out,
        "apiVersion: {api}\nkind: {}\nmetadata:\n  name: {}\n  namespace: {}\n  labels:\n    app.kubernetes.io/name: {}\n    app.kubernetes.io/part-of: {}\n    app.kubernetes.io/managed-by: argocd\n",
        d.kind,
        d.name,
        d.namespace,
        d.name,
        d.team
    );
    w!(
        out,
        "  annotations:\n    argocd.argoproj.io/tracking-id: \"{}:{api}:{}:{}/{}\"\n",
        d.team,
        d.kind,
        d.namespace,
        d.name
    );
    out.push_str("spec:\n");
    if d.kind != "DaemonSet" {
        w!(out, "  replicas: {}\n", d.replicas);
    }
    if d.kind == "StatefulSet" {
        w!(out, "  serviceName: {}\n", d.name);
    }
    if d.kind == "Deployment" {
        out.push_str("  revisionHistoryLimit: 5\n  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 25%\n      maxUnavailable: 0\n");
    }
    let (sk, sv) = &d.labels[0];
    w!(
        out,
        "  selector:\n    matchLabels:\n      {sk}: {}\n",
        scalar(sv)
    );
    out.push_str("  template:\n    metadata:\n      labels:\n");
    for (k, v) in &d.labels {
        w!(out, "        {k}: {}\n", scalar(v));
    }
    if let Some(m) = d.ports.iter().find(|p| p.name == "metrics") {
        w!(
            out,
            "      annotations:\n        prometheus.io/scrape: \"true\"\n        prometheus.io/port: \"{}\"\n",
            m.number
        );
    }
    w!(
        out,
        "    spec:\n      serviceAccountName: {}\n      terminationGracePeriodSeconds: 30\n      securityContext:\n        runAsNonRoot: true\n        runAsUser: 10001\n        fsGroup: 10001\n",
        d.name
    );
    w!(
        out,
        "      topologySpreadConstraints:\n        - maxSkew: 1\n          topologyKey: topology.kubernetes.io/zone\n          whenUnsatisfiable: ScheduleAnyway\n          labelSelector:\n            matchLabels:\n              {sk}: {}\n      volumes:\n        - name: tmp\n          emptyDir: {{}}\n        - name: config\n          configMap:\n            name: {}-config\n      containers:\n        - name: {}\n          image: {}\n          imagePullPolicy: IfNotPresent\n",
        scalar(sv),
        d.name,
        d.name,
        d.image
    );
    if !d.ports.is_empty() {
        out.push_str("          ports:\n");
        for p in &d.ports {
            w!(
                out,
                "            - name: {}\n              containerPort: {}\n",
                p.name,
                p.number
            );
            if p.protocol != "TCP" {
                w!(out, "              protocol: {}\n", p.protocol);
            }
        }
    }
    w!(
        out,
        "          env:\n            - name: LOG_LEVEL\n              value: info\n            - name: TEAM\n              value: {}\n            - name: GOMAXPROCS\n              value: \"2\"\n            - name: DB_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: {}-secrets\n                  key: db-password\n",
        d.team,
        d.name
    );
    out.push_str(
        "          resources:\n            requests:\n              cpu: 100m\n              memory: 128Mi\n            limits:\n              memory: 512Mi\n",
    );
    if let Some(p) = d.ports.iter().find(|p| p.protocol == "TCP") {
        w!(
            out,
            "          readinessProbe:\n            tcpSocket:\n              port: {}\n            periodSeconds: 10\n          livenessProbe:\n            tcpSocket:\n              port: {}\n            initialDelaySeconds: 15\n            periodSeconds: 20\n",
            p.name,
            p.name
        );
    }
    out.push_str(
        "          securityContext:\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop:\n                - ALL\n",
    );
    out.push_str("          volumeMounts:\n            - name: tmp\n              mountPath: /tmp\n            - name: config\n              mountPath: /etc/config\n              readOnly: true\n");
    if d.kind == "StatefulSet" {
        w!(
            out,
            "            - name: data\n              mountPath: /var/lib/{}\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes:\n          - ReadWriteOnce\n        resources:\n          requests:\n            storage: 20Gi\n",
            d.name
        );
    }
}

/// A Service in front of a workload: (service port, named targetPort).
fn service_doc(
    out: &mut String,
    namespace: &str,
    name: &str,
    selector: (&str, &str),
    ports: &[(u16, &str, &str)],
) {
    separator(out);
    w!(
        out,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/name: {name}\nspec:\n  type: ClusterIP\n  selector:\n    {}: {}\n  ports:\n",
        selector.0,
        scalar(selector.1)
    );
    for (port, target, protocol) in ports {
        w!(
            out,
            "    - name: {target}\n      port: {port}\n      targetPort: {target}\n"
        );
        if *protocol != "TCP" {
            w!(out, "      protocol: {protocol}\n");
        }
    }
}

fn policy_header(
    out: &mut String,
    namespace: &str,
    name: &str,
    pod_selector: &str,
    types: &[&str],
) {
    separator(out);
    let ticket = name
        .bytes()
        .chain(namespace.bytes())
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 9000
        + 1000;
    w!(
        out,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/managed-by: argocd\n  annotations:\n    description: \"{} in {namespace}\"\n    change-ticket: \"NET-{ticket}\"\nspec:",
        name.replace('-', " ")
    );
    w!(out, "\n  podSelector:{pod_selector}\n  policyTypes:\n");
    for t in types {
        w!(out, "    - {t}\n");
    }
}

/// ` {}` or a matchLabels block, as the value of a `podSelector:` key at
/// `indent` spaces.
fn match_labels(indent: usize, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return " {}".into();
    }
    let pad = " ".repeat(indent);
    let mut s = format!("\n{pad}  matchLabels:\n");
    for (k, v) in labels {
        w!(s, "{pad}    {k}: {}\n", scalar(v));
    }
    s.pop();
    s
}

/// A `ports:` block at `indent` spaces: (protocol, port, endPort).
fn ports_block(out: &mut String, indent: usize, ports: &[(&str, &str, Option<u16>)]) {
    let pad = " ".repeat(indent);
    w!(out, "{pad}ports:\n");
    for (proto, port, end) in ports {
        w!(out, "{pad}  - protocol: {proto}\n{pad}    port: {port}\n");
        if let Some(e) = end {
            w!(out, "{pad}    endPort: {e}\n");
        }
    }
}

fn ns_peer(out: &mut String, namespace: &str, pod: Option<(&str, &str)>) {
    w!(
        out,
        "        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: {namespace}\n"
    );
    if let Some((k, v)) = pod {
        w!(
            out,
            "          podSelector:\n            matchLabels:\n              {k}: {}\n",
            scalar(v)
        );
    }
}

fn team_list(plan: &Plan, teams: &[usize]) -> String {
    let names: Vec<&str> = teams.iter().map(|&t| TEAMS[t % plan.teams]).collect();
    format!("[{}]", names.join(", "))
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

fn system_files(plan: &Plan, changes: &Changes, files: &mut Vec<(String, String)>) {
    let root = format!("clusters/{}", plan.cluster);
    let add = |files: &mut Vec<(String, String)>, ns: &str, file: &str, text: String| {
        files.push((format!("{root}/{ns}/{file}"), text));
    };

    // kube-system: cluster DNS, reachable from every namespace.
    let mut t = String::new();
    namespace_doc(&mut t, "kube-system", &[("team", "platform".into())]);
    add(files, "kube-system", "namespace.yaml", t);
    let mut t = String::new();
    workload_doc(
        &mut t,
        &WorkloadDoc {
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
                Port {
                    name: "dns-tcp",
                    number: 53,
                    protocol: "TCP",
                },
                Port {
                    name: "metrics",
                    number: 9153,
                    protocol: "TCP",
                },
            ],
            image: "registry.k8s.io/coredns/coredns:v1.11.3".into(),
            replicas: 2,
        },
    );
    service_doc(
        &mut t,
        "kube-system",
        "kube-dns",
        ("k8s-app", "kube-dns"),
        &[
            (53, "dns", "UDP"),
            (53, "dns-tcp", "TCP"),
            (9153, "metrics", "TCP"),
        ],
    );
    add(files, "kube-system", "coredns.yaml", t);
    let mut t = String::new();
    policy_header(
        &mut t,
        "kube-system",
        "allow-dns",
        &match_labels(2, &[("k8s-app", "kube-dns")]),
        &["Ingress"],
    );
    t.push_str("  ingress:\n    - from:\n        - namespaceSelector: {}\n");
    ports_block(&mut t, 6, &[("UDP", "53", None), ("TCP", "53", None)]);
    t.push_str("    - from:\n");
    ns_peer(
        &mut t,
        "monitoring",
        Some(("app.kubernetes.io/name", "prometheus")),
    );
    ports_block(&mut t, 6, &[("TCP", "metrics", None)]);
    add(files, "kube-system", "networkpolicies.yaml", t);

    // monitoring: Prometheus scrapes every namespace; egress is open.
    let mut t = String::new();
    namespace_doc(
        &mut t,
        "monitoring",
        &[("team", "platform".into()), ("env", "prod".into())],
    );
    add(files, "monitoring", "namespace.yaml", t);
    let monitoring: [(&str, &str, Vec<Port<'_>>, &str, u16); 3] = [
        (
            "StatefulSet",
            "prometheus",
            vec![Port {
                name: "web",
                number: 9090,
                protocol: "TCP",
            }],
            "quay.io/prometheus/prometheus:v2.54.1",
            9090,
        ),
        (
            "Deployment",
            "grafana",
            vec![Port {
                name: "http",
                number: 3000,
                protocol: "TCP",
            }],
            "docker.io/grafana/grafana:11.2.0",
            80,
        ),
        (
            "DaemonSet",
            "node-exporter",
            vec![Port {
                name: "metrics",
                number: 9100,
                protocol: "TCP",
            }],
            "quay.io/prometheus/node-exporter:v1.8.2",
            9100,
        ),
    ];
    for (kind, name, ports, image, svc_port) in monitoring {
        let mut t = String::new();
        let target = ports[0].name;
        workload_doc(
            &mut t,
            &WorkloadDoc {
                kind,
                namespace: "monitoring",
                name,
                team: "platform",
                labels: vec![
                    ("app.kubernetes.io/name", name.into()),
                    ("tier", "backend".into()),
                ],
                ports,
                image: image.into(),
                replicas: 1,
            },
        );
        service_doc(
            &mut t,
            "monitoring",
            name,
            ("app.kubernetes.io/name", name),
            &[(svc_port, target, "TCP")],
        );
        add(files, "monitoring", &format!("{name}.yaml"), t);
    }
    let mut t = String::new();
    policy_header(
        &mut t,
        "monitoring",
        "default-deny-ingress",
        " {}",
        &["Ingress"],
    );
    policy_header(
        &mut t,
        "monitoring",
        "allow-grafana-from-ingress",
        &match_labels(2, &[("app.kubernetes.io/name", "grafana")]),
        &["Ingress"],
    );
    t.push_str("  ingress:\n    - from:\n");
    ns_peer(
        &mut t,
        "ingress-nginx",
        Some(("app.kubernetes.io/name", "ingress-nginx")),
    );
    ports_block(&mut t, 6, &[("TCP", "http", None)]);
    policy_header(
        &mut t,
        "monitoring",
        "allow-prometheus-from-grafana",
        &match_labels(2, &[("app.kubernetes.io/name", "prometheus")]),
        &["Ingress"],
    );
    t.push_str(
        "  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: grafana\n",
    );
    ports_block(&mut t, 6, &[("TCP", "web", None)]);
    policy_header(
        &mut t,
        "monitoring",
        "allow-node-exporter-scrape",
        &match_labels(2, &[("app.kubernetes.io/name", "node-exporter")]),
        &["Ingress"],
    );
    t.push_str(
        "  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: prometheus\n",
    );
    ports_block(&mut t, 6, &[("TCP", "metrics", None)]);
    add(files, "monitoring", "networkpolicies.yaml", t);

    // ingress-nginx: the edge, open to the internet on 80/443.
    let mut t = String::new();
    namespace_doc(
        &mut t,
        "ingress-nginx",
        &[("team", "platform".into()), ("env", "prod".into())],
    );
    add(files, "ingress-nginx", "namespace.yaml", t);
    let mut t = String::new();
    workload_doc(
        &mut t,
        &WorkloadDoc {
            kind: "Deployment",
            namespace: "ingress-nginx",
            name: "ingress-nginx-controller",
            team: "platform",
            labels: vec![
                ("app.kubernetes.io/name", "ingress-nginx".into()),
                ("app.kubernetes.io/component", "controller".into()),
            ],
            ports: vec![
                Port {
                    name: "http",
                    number: 80,
                    protocol: "TCP",
                },
                Port {
                    name: "https",
                    number: 443,
                    protocol: "TCP",
                },
                Port {
                    name: "metrics",
                    number: 10254,
                    protocol: "TCP",
                },
            ],
            image: "registry.k8s.io/ingress-nginx/controller:v1.11.2".into(),
            replicas: 3,
        },
    );
    service_doc(
        &mut t,
        "ingress-nginx",
        "ingress-nginx-controller",
        ("app.kubernetes.io/name", "ingress-nginx"),
        &[(80, "http", "TCP"), (443, "https", "TCP")],
    );
    add(files, "ingress-nginx", "ingress-nginx-controller.yaml", t);
    let mut t = String::new();
    policy_header(
        &mut t,
        "ingress-nginx",
        "allow-web-from-internet",
        &match_labels(2, &[("app.kubernetes.io/name", "ingress-nginx")]),
        &["Ingress"],
    );
    t.push_str("  ingress:\n    - from:\n        - ipBlock:\n            cidr: 0.0.0.0/0\n");
    ports_block(&mut t, 6, &[("TCP", "80", None), ("TCP", "443", None)]);
    t.push_str("    - from:\n");
    ns_peer(
        &mut t,
        "monitoring",
        Some(("app.kubernetes.io/name", "prometheus")),
    );
    ports_block(&mut t, 6, &[("TCP", "metrics", None)]);
    if changes.deny_egress == Some(None) {
        policy_header(
            &mut t,
            "ingress-nginx",
            "default-deny-egress",
            " {}",
            &["Egress"],
        );
    }
    add(files, "ingress-nginx", "networkpolicies.yaml", t);
}

fn workload_file(plan: &Plan, ns: &NamespacePlan, w: &WorkloadPlan, tier: Tier) -> String {
    let team = TEAMS[ns.team];
    let mut ports = Vec::new();
    let mut svc: Vec<(u16, &str, &str)> = Vec::new();
    match w.db {
        Some(d) => {
            let (_, pname, number) = DATABASES[d];
            ports.push(Port {
                name: pname,
                number,
                protocol: "TCP",
            });
            svc.push((number, pname, "TCP"));
        }
        None => {
            ports.push(Port {
                name: "http",
                number: 8080,
                protocol: "TCP",
            });
            svc.push((80, "http", "TCP"));
            if w.tier == Tier::Backend {
                ports.push(Port {
                    name: "grpc",
                    number: 9090,
                    protocol: "TCP",
                });
                svc.push((9090, "grpc", "TCP"));
            }
        }
    }
    ports.push(Port {
        name: "metrics",
        number: 9102,
        protocol: "TCP",
    });
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
    let mut t = String::new();
    workload_doc(
        &mut t,
        &WorkloadDoc {
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
        },
    );
    if w.kind != "DaemonSet" {
        service_doc(&mut t, &ns.name, &w.name, ("app", &w.name), &svc);
    }
    t
}

fn policies_file(
    plan: &Plan,
    i: usize,
    ns: &NamespacePlan,
    changes: &Changes,
    rng: &mut Rng,
) -> String {
    let n = ns.name.as_str();
    let mut t = String::new();
    let has = |tier: Tier| ns.workloads.iter().any(|w| w.tier == tier);

    policy_header(&mut t, n, "default-deny", " {}", &["Ingress", "Egress"]);

    policy_header(&mut t, n, "allow-dns", " {}", &["Egress"]);
    t.push_str("  egress:\n    - to:\n");
    ns_peer(&mut t, "kube-system", Some(("k8s-app", "kube-dns")));
    ports_block(&mut t, 6, &[("UDP", "53", None), ("TCP", "53", None)]);

    if has(Tier::Frontend) {
        policy_header(
            &mut t,
            n,
            "allow-frontend-from-ingress",
            &match_labels(2, &[("tier", "frontend")]),
            &["Ingress"],
        );
        t.push_str("  ingress:\n    - from:\n");
        ns_peer(
            &mut t,
            "ingress-nginx",
            Some(("app.kubernetes.io/name", "ingress-nginx")),
        );
        ports_block(&mut t, 6, &[("TCP", "http", None)]);
    }

    policy_header(
        &mut t,
        n,
        "allow-backend-from-frontend",
        &match_labels(2, &[("tier", "backend")]),
        &["Ingress"],
    );
    t.push_str("  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              tier: frontend\n");
    ports_block(&mut t, 6, &[("TCP", "http", None), ("TCP", "grpc", None)]);
    if changes.add_rule == Some(i) {
        let other = (ns.team + 1 + rng.below(plan.teams.max(2) - 1)) % plan.teams;
        w!(
            t,
            "    - from:\n        - namespaceSelector:\n            matchLabels:\n              team: {}\n          podSelector:\n            matchLabels:\n              tier: frontend\n",
            TEAMS[other]
        );
        ports_block(&mut t, 6, &[("TCP", "http", None)]);
    }

    for w in ns.workloads.iter().filter(|w| w.tier == Tier::Data) {
        let (_, pname, _) = DATABASES[w.db.unwrap_or(0)];
        policy_header(
            &mut t,
            n,
            &format!("allow-{}-from-backend", w.name),
            &match_labels(2, &[("app", &w.name)]),
            &["Ingress"],
        );
        t.push_str("  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              tier: backend\n");
        ports_block(&mut t, 6, &[("TCP", pname, None)]);
    }

    if changes.remove_policy != Some(i) {
        policy_header(&mut t, n, "allow-metrics-scrape", " {}", &["Ingress"]);
        t.push_str("  ingress:\n    - from:\n");
        ns_peer(
            &mut t,
            "monitoring",
            Some(("app.kubernetes.io/name", "prometheus")),
        );
        ports_block(&mut t, 6, &[("TCP", "metrics", None)]);
    }

    // Cross-team ingress: selected teams, never from restricted namespaces.
    policy_header(
        &mut t,
        n,
        "allow-cross-team-ingress",
        "\n    matchExpressions:\n      - key: tier\n        operator: In\n        values: [backend]",
        &["Ingress"],
    );
    t.push_str(
        "  ingress:\n    - from:\n        - namespaceSelector:\n            matchExpressions:\n",
    );
    if changes.widen == Some(i) {
        t.push_str("              - key: team\n                operator: Exists\n");
    } else {
        w!(
            t,
            "              - key: team\n                operator: In\n                values: {}\n              - key: tier\n                operator: NotIn\n                values: [restricted]\n",
            team_list(plan, &ns.peer_teams)
        );
    }
    t.push_str(
        "          podSelector:\n            matchExpressions:\n              - key: tier\n                operator: In\n                values: [frontend, backend]\n",
    );
    ports_block(&mut t, 6, &[("TCP", "grpc", None)]);

    policy_header(&mut t, n, "allow-egress-same-namespace", " {}", &["Egress"]);
    t.push_str("  egress:\n    - to:\n        - podSelector: {}\n");

    // Cross-team egress to the backends of peer teams in the same env.
    policy_header(
        &mut t,
        n,
        "allow-egress-cross-team",
        "\n    matchExpressions:\n      - key: tier\n        operator: In\n        values: [frontend, backend]",
        &["Egress"],
    );
    w!(
        t,
        "  egress:\n    - to:\n        - namespaceSelector:\n            matchExpressions:\n              - key: team\n                operator: In\n                values: {}\n              - key: env\n                operator: In\n                values: [{}]\n          podSelector:\n            matchLabels:\n              tier: backend\n",
        team_list(plan, &ns.peer_teams),
        ns.env
    );
    ports_block(&mut t, 6, &[("TCP", "8080", None), ("TCP", "9090", None)]);

    if ns.port_range {
        policy_header(
            &mut t,
            n,
            "allow-batch-port-range",
            &match_labels(2, &[("tier", "backend")]),
            &["Ingress"],
        );
        t.push_str(
            "  ingress:\n    - from:\n        - namespaceSelector:\n            matchExpressions:\n              - key: team\n                operator: Exists\n              - key: env\n                operator: NotIn\n                values: [dev]\n",
        );
        ports_block(&mut t, 6, &[("TCP", "8000", Some(8100))]);
    }

    if !ns.restricted {
        policy_header(
            &mut t,
            n,
            "allow-egress-internet",
            "\n    matchExpressions:\n      - key: tier\n        operator: In\n        values: [frontend, backend]",
            &["Egress"],
        );
        t.push_str(
            "  egress:\n    - to:\n        - ipBlock:\n            cidr: 0.0.0.0/0\n            except:\n              - 10.0.0.0/8\n              - 172.16.0.0/12\n              - 192.168.0.0/16\n",
        );
        ports_block(&mut t, 6, &[("TCP", "443", None)]);
    }

    if !ns.partners.is_empty() {
        policy_header(
            &mut t,
            n,
            "allow-egress-partners",
            &match_labels(2, &[("tier", "backend")]),
            &["Egress"],
        );
        t.push_str("  egress:\n    - to:\n");
        for &p in &ns.partners {
            let (cidr, except) = &plan.partner_pool[p];
            w!(t, "        - ipBlock:\n            cidr: {cidr}\n");
            if let Some(e) = except {
                w!(t, "            except:\n              - {e}\n");
            }
        }
        ports_block(
            &mut t,
            6,
            &[("TCP", "443", None), ("TCP", "8443", Some(8453))],
        );
    }

    if let Some(w) = ns
        .workloads
        .first()
        .filter(|_| changes.open_egress == Some(i))
    {
        policy_header(
            &mut t,
            n,
            &format!("allow-{}-egress-anywhere", w.name),
            &match_labels(2, &[("app", &w.name)]),
            &["Egress"],
        );
        t.push_str("  egress:\n    - to:\n        - ipBlock:\n            cidr: 0.0.0.0/0\n");
    }
    t
}

fn namespace_files(plan: &Plan, i: usize, changes: &Changes, files: &mut Vec<(String, String)>) {
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
    let mut t = String::new();
    namespace_doc(&mut t, &ns.name, &labels);
    files.push((format!("{dir}/namespace.yaml"), t));
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
        files.push((
            format!("{dir}/networkpolicies.yaml"),
            policies_file(plan, i, ns, changes, &mut rng),
        ));
    } else if changes.deny_egress == Some(Some(i)) {
        let mut t = String::new();
        policy_header(&mut t, &ns.name, "default-deny-egress", " {}", &["Egress"]);
        t.push_str("  egress:\n    - to:\n");
        ns_peer(&mut t, "kube-system", Some(("k8s-app", "kube-dns")));
        ports_block(&mut t, 6, &[("UDP", "53", None), ("TCP", "53", None)]);
        files.push((format!("{dir}/networkpolicies.yaml"), t));
    }
}

fn new_namespace_files(opts: &SynthOptions, plan: &Plan, files: &mut Vec<(String, String)>) {
    let mut rng = Rng::derive(opts.seed, STREAM_HEAD, 1);
    let team = rng.below(plan.teams);
    let name = format!("{}-sandbox", TEAMS[team]);
    let dir = format!("clusters/{}/{name}", plan.cluster);
    let mut t = String::new();
    namespace_doc(
        &mut t,
        &name,
        &[
            ("team", TEAMS[team].to_string()),
            ("env", "dev".into()),
            ("cost-center", "9999".into()),
        ],
    );
    files.push((format!("{dir}/namespace.yaml"), t));
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

fn render(opts: &SynthOptions, plan: &Plan, changes: &Changes) -> Vec<(String, String)> {
    let mut files =
        Vec::with_capacity(plan.namespaces.len() * (opts.workloads_per_namespace + 2) + 16);
    system_files(plan, changes, &mut files);
    for i in 0..plan.namespaces.len() {
        namespace_files(plan, i, changes, &mut files);
    }
    if changes.new_workload {
        new_namespace_files(opts, plan, &mut files);
    }
    if opts.admin_policies > 0 {
        files.push((
            format!("clusters/{}/cluster-policies/admin.yaml", opts.cluster),
            admin_policies_file(opts),
        ));
    }
    files
}

/// Platform guardrails in both tiers, each selecting across namespaces: dev
/// may not reach prod, monitoring scrapes are passed down, DNS is always
/// accepted, the metadata service is denied, and a baseline default-deny.
fn admin_policies_file(opts: &SynthOptions) -> String {
    let teams = opts.teams.clamp(1, TEAMS.len());
    let mut out = String::new();
    for i in 0..opts.admin_policies {
        let (t1, t2) = (TEAMS[i % teams], TEAMS[(i + 7) % teams]);
        separator(&mut out);
        let baseline = i % 5 == 4;
        let (tier, priority) = if baseline {
            ("Baseline", 100 + i)
        } else {
            ("Admin", 10 + 5 * i)
        };
        out.push_str(&format!(
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: guardrail-{i:02}\nspec:\n  tier: {tier}\n  priority: {priority}\n  subject:\n    namespaces:\n      matchExpressions:\n      - {{key: team, operator: In, values: [{t1}, {t2}]}}\n"
        ));
        match i % 5 {
            0 => out.push_str(
                "  ingress:\n  - name: no-dev-into-prod\n    action: Deny\n    from:\n    - namespaces:\n        matchLabels: {env: dev}\n",
            ),
            1 => out.push_str(
                "  ingress:\n  - name: monitoring-decides-below\n    action: Pass\n    from:\n    - namespaces:\n        matchLabels: {kubernetes.io/metadata.name: monitoring}\n    protocols:\n    - tcp: {destinationPort: {number: 9102}}\n",
            ),
            2 => out.push_str(
                "  egress:\n  - name: dns\n    action: Accept\n    to:\n    - pods:\n        namespaceSelector:\n          matchLabels: {kubernetes.io/metadata.name: kube-system}\n        podSelector:\n          matchLabels: {k8s-app: kube-dns}\n    protocols:\n    - udp: {destinationPort: {number: 53}}\n    - tcp: {destinationPort: {number: 53}}\n",
            ),
            3 => out.push_str(
                "  egress:\n  - name: no-metadata-service\n    action: Deny\n    to:\n    - networks: [169.254.169.254/32]\n",
            ),
            _ => out.push_str(
                "  ingress:\n  - name: baseline-deny\n    action: Deny\n    from:\n    - namespaces: {}\n",
            ),
        }
    }
    out
}

/// The base tree: `(relative path, YAML text)` pairs, deterministic for
/// `opts`. It holds `max(opts.workloads, SYSTEM_WORKLOADS)` workloads.
pub fn generate(opts: &SynthOptions) -> Vec<(String, String)> {
    let plan = plan(opts);
    render(opts, &plan, &Changes::default())
}

/// The base tree after a handful of realistic pull-request changes, chosen by
/// the seed: one cross-team `namespaceSelector` widened to every team, one
/// ingress rule added, the metrics policy of one namespace removed, a
/// default-deny egress (with DNS) added to one namespace that had no policy,
/// one new namespace with one workload and no policy, one workload's `tier`
/// label changed, and one workload's egress opened to `0.0.0.0/0`.
/// Files not touched by a change are byte-identical to [`generate`]'s.
pub fn generate_head(opts: &SynthOptions) -> Vec<(String, String)> {
    let plan = plan(opts);
    let changes = head_changes(opts, &plan);
    render(opts, &plan, &changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{self, Options};
    use crate::diag::{Code, Severity};
    use crate::revision::{Revision, SourceFile};
    use std::collections::BTreeSet;

    fn revision(files: &[(String, String)]) -> Revision {
        Revision::new(
            "synth",
            files
                .iter()
                .map(|(p, t)| SourceFile::new(p.clone(), t.as_str()))
                .collect(),
        )
    }

    fn opts(seed: u64, workloads: usize) -> SynthOptions {
        SynthOptions {
            seed,
            workloads,
            ..SynthOptions::default()
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let o = opts(7, 400);
        assert_eq!(generate(&o), generate(&o));
        assert_eq!(generate_head(&o), generate_head(&o));
    }

    #[test]
    fn seeds_differ() {
        assert_ne!(generate(&opts(1, 400)), generate(&opts(2, 400)));
    }

    #[test]
    fn paths_are_unique_and_laid_out() {
        for o in [opts(3, 400), opts(3, 3), opts(4, 0)] {
            for files in [generate(&o), generate_head(&o)] {
                let paths: BTreeSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
                assert_eq!(paths.len(), files.len());
                for p in paths {
                    assert!(
                        p.starts_with("clusters/prod/") && p.ends_with(".yaml"),
                        "{p}"
                    );
                    assert_eq!(p.matches('/').count(), 3, "{p}");
                }
            }
        }
    }

    #[test]
    fn admin_policies_load_and_select_across_namespaces() {
        let o = SynthOptions {
            admin_policies: 20,
            ..opts(5, 400)
        };
        let a =
            analysis::analyze(&revision(&generate(&o)), &Options::default()).unwrap_or_else(|f| {
                panic!("{:?}", f.errors().take(5).collect::<Vec<_>>());
            });
        assert_eq!(a.inventory.admin_policies.len(), 20);
        let with_admin = a
            .analysis
            .sides
            .iter()
            .filter(|s| !s[0].admin.is_empty() || !s[1].admin.is_empty())
            .count();
        assert!(with_admin > 20, "{with_admin} workloads carry admin rules");
        assert!(!a.diagnostics.iter().any(|d| d.code == Code::EqualPriority));
    }

    #[test]
    fn loads_cleanly_with_the_requested_workloads() {
        for (seed, n) in [(1, 500), (2, 95), (3, 6), (4, 1)] {
            let o = opts(seed, n);
            let files = generate(&o);
            let a = analysis::analyze(&revision(&files), &Options::default()).unwrap_or_else(|f| {
                panic!("seed {seed}: {:?}", f.errors().take(5).collect::<Vec<_>>());
            });
            assert_eq!(a.analysis.workloads.len(), n.max(SYSTEM_WORKLOADS));
            // Nothing worth a warning except the documented ipBlock caveat.
            let unexpected: Vec<_> = a
                .diagnostics
                .iter()
                .filter(|d| d.severity != Severity::Info && d.code != Code::IpBlockClusterRange)
                // Tiny trees leave some tier policies without a workload.
                .filter(|d| !(n < 50 && d.code == Code::SelectsNothing))
                .collect();
            assert!(unexpected.is_empty(), "seed {seed}: {unexpected:?}");
            if n == 500 {
                let ns = a.inventory.namespaces.len();
                let np = a.analysis.policies.len();
                assert!(ns >= 55 && np > 9 * ns, "{ns} namespaces, {np} policies");
            }
        }
    }

    #[test]
    fn head_differs_and_loads() {
        for (seed, n) in [(1, 500), (9, 300), (5, 12)] {
            let o = opts(seed, n);
            let base = generate(&o);
            let head = generate_head(&o);
            let changed = head.iter().filter(|f| !base.contains(f)).count();
            assert!(changed >= 4, "seed {seed}: {changed} files changed");
            let c =
                crate::comparison::compare(&revision(&base), &revision(&head), &Options::default())
                    .unwrap_or_else(|f| {
                        panic!(
                            "seed {seed}: {} side: {:?}",
                            f.side,
                            f.failed.errors().next()
                        )
                    });
            assert_eq!(c.head.analysis.workloads.len(), n.max(SYSTEM_WORKLOADS) + 1);
            assert!(
                !c.diff.opened.is_empty() && !c.diff.closed.is_empty(),
                "seed {seed}"
            );
            assert_ne!(
                c.base
                    .analysis
                    .policies
                    .iter()
                    .map(|p| &p.name)
                    .collect::<Vec<_>>(),
                c.head
                    .analysis
                    .policies
                    .iter()
                    .map(|p| &p.name)
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn scalars_are_quoted_when_yaml_would_type_them() {
        assert_eq!(scalar("prod"), "prod");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("On"), "\"On\"");
        assert_eq!(scalar("4711"), "\"4711\"");
        assert_eq!(scalar("1.5"), "\"1.5\"");
        assert_eq!(scalar(""), "\"\"");
    }
}
