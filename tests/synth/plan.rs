//! What the synthetic tree holds, decided before any object is built: the
//! namespaces, their workloads and policies' choices, the partner CIDRs,
//! and the changes of the head tree. Only a SplitMix64 stream derived from
//! the seed decides; every namespace draws from its own stream, so a change
//! to one namespace never shifts the contents of another.

use super::SynthOptions;

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

pub const AREAS: &[&str] = &["core", "api", "web", "jobs", "edge", "svc", "int", "ops"];
pub const FRONTENDS: &[&str] = &["web", "ui", "portal", "storefront", "console", "dashboard"];
pub const BACKENDS: &[&str] = &[
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
pub const DATABASES: &[(&str, &str, u16)] = &[
    ("postgres", "postgres", 5432),
    ("redis", "redis", 6379),
    ("kafka", "kafka", 9092),
    ("mysql", "mysql", 3306),
    ("mongodb", "mongodb", 27017),
    ("cassandra", "cql", 9042),
];
/// Public first octets the partner CIDRs are drawn from.
pub const PARTNER_OCTETS: &[u8] = &[
    3, 13, 18, 20, 23, 34, 35, 40, 44, 52, 54, 104, 151, 185, 199, 203,
];

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough here.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A stream for one part of the tree, independent of every other part.
    pub fn derive(seed: u64, stream: u64, index: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        r.0 ^= r.next_u64() ^ index.wrapping_mul(0xE703_7ED1_A0B4_28DB);
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    pub fn percent(&mut self, p: u32) -> bool {
        self.below(100) < p as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub const STREAM_NAMESPACE: u64 = 1;
pub const STREAM_GLOBAL: u64 = 2;
pub const STREAM_HEAD: u64 = 3;

// ---------------------------------------------------------------------------
// Plan: what exists, before any text is written
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Frontend,
    Backend,
    Data,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Frontend => "frontend",
            Tier::Backend => "backend",
            Tier::Data => "data",
        }
    }
}

#[derive(Clone, Debug)]
pub struct WorkloadPlan {
    pub name: String,
    pub tier: Tier,
    pub kind: &'static str,
    /// Index into [`DATABASES`] for the data tier.
    pub db: Option<usize>,
    pub replicas: usize,
    pub version: u32,
}

#[derive(Clone, Debug)]
pub struct NamespacePlan {
    pub name: String,
    pub team: usize,
    pub env: &'static str,
    pub restricted: bool,
    pub protected: bool,
    pub cost_center: u32,
    /// Teams allowed in by the cross-team ingress policy.
    pub peer_teams: Vec<usize>,
    /// Indices into the partner CIDR pool.
    pub partners: Vec<usize>,
    /// Optional policies.
    pub port_range: bool,
    pub workloads: Vec<WorkloadPlan>,
}

pub struct Plan {
    pub seed: u64,
    pub cluster: String,
    pub teams: usize,
    pub namespaces: Vec<NamespacePlan>,
    pub partner_pool: Vec<(String, Option<String>)>,
}

pub fn plan(opts: &SynthOptions) -> Plan {
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
pub struct Changes {
    /// Namespace whose cross-team ingress selector is widened to any team.
    pub widen: Option<usize>,
    /// Namespace whose backend policy gains one more ingress rule.
    pub add_rule: Option<usize>,
    /// Namespace that loses its metrics-scraping policy.
    pub remove_policy: Option<usize>,
    /// Namespace that gains a default-deny egress policy (`None` inside the
    /// option: `ingress-nginx`, when every namespace already has policies).
    pub deny_egress: Option<Option<usize>>,
    /// (namespace, workload) whose tier label changes.
    pub relabel: Option<(usize, usize)>,
    /// Namespace that opens egress to 0.0.0.0/0 for one workload.
    pub open_egress: Option<usize>,
    /// A new namespace with one workload and no policy.
    pub new_workload: bool,
}

pub fn head_changes(opts: &SynthOptions, plan: &Plan) -> Changes {
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
