//! Calico evaluation in the closed world, written from
//! shared/design/semantics-calico.md (section 4, 6 and 8), never from the
//! engine. The fixture is calico.rs's: `a` {team: a} with `a/web` {app:
//! web, `http` 8080/TCP} and `a/db` {app: db, `pg` 5432/TCP}; `b` {team: b}
//! with `b/cli` {app: cli}.

use crate::calico::{FIXTURE, calico, count, sel};
use crate::support::{cs, try_analyze};
use reachdiff::analysis::Analyzed;
use reachdiff::diag::Code;
use reachdiff::reach::Endpoint;

#[track_caller]
fn ok(docs: &[String]) -> Analyzed {
    match try_analyze(FIXTURE, docs) {
        Ok(a) => a,
        Err(f) => panic!(
            "refused: {:?}\n{}",
            f.errors().map(|d| d.to_string()).collect::<Vec<_>>(),
            docs.join("---\n")
        ),
    }
}

/// `src → dst` as cs() text compares; an IP names its atom.
#[track_caller]
fn reach(a: &Analyzed, src: &str, dst: &str) -> reachdiff::model::ConnSet {
    a.analysis.reach(ep(a, src), ep(a, dst))
}

fn ep(a: &Analyzed, name: &str) -> Endpoint {
    sel(a, name)
}

fn gnp(name: &str, body: &str) -> String {
    calico("GlobalNetworkPolicy", "", name, body)
}

fn np(ns: &str, name: &str, body: &str) -> String {
    calico("NetworkPolicy", ns, name, body)
}

fn tier(name: &str, body: &str) -> String {
    calico("Tier", "", name, body)
}

fn k8s_allow_all_to_db() -> String {
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-open, namespace: a}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{}]\n".into()
}

#[test]
fn ca_30_ca_31_ca_35_a_global_default_deny_with_dns_allowed() {
    let deny = gnp(
        "default-deny",
        "
        selector: all()
        types: [Ingress, Egress]
        egress:
        - action: Allow
          protocol: UDP
          destination: {ports: [53]}
        ",
    );
    let a = ok(&[deny]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("none"));
    // Egress to any address: DNS only (no ingress side outside).
    assert_eq!(reach(&a, "a/web", "8.8.8.8"), cs("UDP 53"));
    // From outside: the ingress side denies.
    assert_eq!(reach(&a, "8.8.8.8", "a/web"), cs("none"));
}

#[test]
fn ca_32_e_ca_4_order_inside_a_tier_and_a_swap() {
    let pair = |deny_order: &str, allow_order: &str| {
        vec![
            np(
                "a",
                "deny-cli",
                &format!(
                    "
                    selector: app == 'db'
                    order: {deny_order}
                    types: [Ingress]
                    ingress:
                    - action: Deny
                      source: {{namespaceSelector: team == 'b'}}
                    "
                ),
            ),
            np(
                "a",
                "allow-all",
                &format!(
                    "
                    selector: app == 'db'
                    order: {allow_order}
                    types: [Ingress]
                    ingress: [{{action: Allow}}]
                    "
                ),
            ),
        ]
    };
    let a = ok(&pair("100", "200"));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("all"));
    let a = ok(&pair("200", "100"));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("all"));
    // Equal order: by name (`allow-all` < `deny-cli`, CA-32).
    let a = ok(&pair("100", "100"));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("all"));
}

#[test]
fn ca_31_ca_34_a_tier_with_default_action_pass() {
    let only_web = |tier_name: &str| {
        np(
            "a",
            "only-web",
            &format!(
                "
                tier: {tier_name}
                selector: app == 'db'
                types: [Ingress]
                ingress:
                - action: Allow
                  source: {{selector: app == 'web'}}
                "
            ),
        )
    };
    // Default tier: end of tier Deny.
    let a = ok(&[only_web("default")]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    // A Pass tier with nothing below: the profiles allow (CA-35).
    let a = ok(&[
        tier("security", "order: 100\ndefaultAction: Pass"),
        only_web("security"),
    ]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("all"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("all"));
    // A Deny tier.
    let a = ok(&[tier("security", "order: 100"), only_web("security")]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    // A Pass tier before a Kubernetes policy isolating db: the default
    // tier decides what was passed (CA-37).
    let iso = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: iso, namespace: a}\nspec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}\n".to_string();
    let a = ok(&[
        tier("security", "order: 100\ndefaultAction: Pass"),
        only_web("security"),
        iso,
    ]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("all"));
}

#[test]
fn c_ca_4_a_tier_without_manifest_runs_last_and_denies() {
    let p = np(
        "a",
        "p",
        "
        tier: ghost
        selector: app == 'db'
        types: [Ingress]
        ingress: [{action: Pass, source: {selector: app == 'web'}}]
        ",
    );
    let a = ok(&[p]);
    assert_eq!(count(&a.diagnostics, Code::CalicoTierMissing), 1);
    assert_eq!(reach(&a, "a/web", "a/db"), cs("all"));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
}

#[test]
fn ca_37_e_ca_13_e_ca_15_kubernetes_policies_in_the_default_tier_at_1000() {
    let deny_cli = |order: &str, action: &str| {
        np(
            "a",
            "deny-cli",
            &format!(
                "
                selector: app == 'db'
                order: {order}
                types: [Ingress]
                ingress:
                - action: {action}
                  source: {{namespaceSelector: projectcalico.org/name == 'b'}}
                "
            ),
        )
    };
    // Before the Kubernetes allow: the Deny wins (E-CA-15).
    let a = ok(&[deny_cli("500", "Deny"), k8s_allow_all_to_db()]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("all"));
    // After it: the Kubernetes allow decides first.
    let a = ok(&[deny_cli("2000", "Deny"), k8s_allow_all_to_db()]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("all"));
    // A Pass in the default tier skips the Kubernetes policies; nothing
    // below, so the profiles allow (E-CA-13).
    let iso = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: iso, namespace: a}\nspec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}\n".to_string();
    let a = ok(&[deny_cli("500", "Pass"), iso]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("all"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("none"));
}

#[test]
fn ca_33_log_decides_nothing_and_ca_61_the_empty_rule_matches_everything() {
    let p = np(
        "a",
        "p",
        "
        selector: app == 'db'
        types: [Ingress]
        ingress:
        - action: Log
        - action: Allow
          protocol: TCP
        ",
    );
    let a = ok(&[p]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("TCP"));
    assert_eq!(reach(&a, "1.2.3.4", "a/db"), cs("TCP"));
}

#[test]
fn ca_63_ca_64_ca_66_selector_scope_and_not_selector() {
    // A namespaced policy: its rule selector sees its own namespace only.
    let p = np(
        "a",
        "p",
        "
        selector: app == 'db'
        types: [Ingress]
        ingress: [{action: Allow, source: {selector: all()}}]
        ",
    );
    let a = ok(&[p]);
    assert_eq!(reach(&a, "a/web", "a/db"), cs("all"));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    assert_eq!(reach(&a, "1.2.3.4", "a/db"), cs("none"));
    // notSelector alone in a namespaced policy still scopes (CA-64).
    let p = np(
        "a",
        "p",
        "
        selector: app == 'db'
        types: [Ingress]
        ingress: [{action: Allow, source: {notSelector: app == 'web'}}]
        ",
    );
    let a = ok(&[p]);
    assert_eq!(reach(&a, "a/web", "a/db"), cs("none"));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    assert_eq!(reach(&a, "1.2.3.4", "a/db"), cs("none"));
    // In a global policy it keeps everything else, outside included.
    let p = gnp(
        "p",
        "
        selector: app == 'db'
        types: [Ingress]
        ingress: [{action: Allow, source: {notSelector: app == 'web'}}]
        ",
    );
    let a = ok(&[p]);
    assert_eq!(reach(&a, "a/web", "a/db"), cs("none"));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("all"));
    assert_eq!(reach(&a, "1.2.3.4", "a/db"), cs("all"));
}

#[test]
fn ca_21_ca_22_ca_65_ca_68_calico_labels_namespaces_and_service_accounts() {
    let p = gnp(
        "p",
        "
        selector: projectcalico.org/namespace == 'a' && app == 'db'
        types: [Ingress]
        ingress:
        - action: Allow
          source: {namespaceSelector: team == 'b'}
        - action: Allow
          source: {serviceAccounts: {names: [default]}, namespaceSelector: all()}
          protocol: UDP
        ",
    );
    let a = ok(&[p]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("all"));
    // a/web runs as `default` (CA-23): the second rule.
    assert_eq!(reach(&a, "a/web", "a/db"), cs("UDP"));
    // CA-11: a global namespaceSelector on the subject.
    let p = gnp(
        "q",
        "
        selector: all()
        namespaceSelector: team == 'b'
        types: [Egress]
        ",
    );
    let a = ok(&[p]);
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("all"));
}

#[test]
fn ca_62_a_destination_selector_narrows_an_ingress_rule_to_some_subjects() {
    let p = np(
        "a",
        "p",
        "
        selector: all()
        types: [Ingress]
        ingress:
        - action: Allow
          destination: {selector: app == 'web'}
        ",
    );
    let a = ok(&[p]);
    assert_eq!(reach(&a, "b/cli", "a/web"), cs("all"));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
}

#[test]
fn c_ca_1_ca_67_nets_match_addresses_never_workloads() {
    let p = np(
        "a",
        "p",
        "
        selector: app == 'web'
        types: [Egress]
        egress:
        - action: Allow
          destination: {nets: [10.0.0.0/8]}
        - action: Allow
          destination: {notNets: [10.0.0.0/8, 192.168.0.0/16]}
          protocol: TCP
        ",
    );
    let a = ok(&[p]);
    assert_eq!(reach(&a, "a/web", "10.1.2.3"), cs("all"));
    assert_eq!(reach(&a, "a/web", "8.8.8.8"), cs("TCP"));
    assert_eq!(reach(&a, "a/web", "192.168.1.1"), cs("none"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("none"));
}

#[test]
fn c_ca_5_ca_28_network_sets_are_labelled_addresses() {
    let set = calico("GlobalNetworkSet", "", "partners", "nets: [192.0.2.0/24]").replace(
        "metadata: {name: partners}",
        "metadata: {name: partners, labels: {role: partner}}",
    );
    let p = gnp(
        "p",
        "
        selector: app == 'web'
        types: [Egress]
        egress:
        - action: Allow
          destination: {selector: role == 'partner'}
        ",
    );
    let a = ok(&[set.clone(), p.clone()]);
    assert_eq!(reach(&a, "a/web", "192.0.2.7"), cs("all"));
    assert_eq!(reach(&a, "a/web", "198.51.100.1"), cs("none"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("none"));
    // A namespaced policy does not see a global set (CA-28).
    let q = np(
        "a",
        "p",
        "
        selector: app == 'web'
        types: [Egress]
        egress:
        - action: Allow
          destination: {selector: role == 'partner'}
        ",
    );
    let a = ok(&[set, q]);
    assert_eq!(reach(&a, "a/web", "192.0.2.7"), cs("none"));
}

#[test]
fn ca_73_ca_74_ca_75_ca_76_ca_77_protocols_and_ports() {
    let p = np(
        "a",
        "p",
        "
        selector: app == 'web'
        types: [Ingress]
        ingress:
        - action: Allow
          protocol: TCP
          destination: {ports: ['1:1000'], notPorts: [80]}
        - action: Allow
          destination: {ports: [http]}
        - action: Allow
          notProtocol: UDP
          destination: {ports: [http]}
        - action: Allow
          protocol: ICMP
        ",
    );
    let a = ok(&[p]);
    assert_eq!(
        reach(&a, "b/cli", "a/web"),
        cs("TCP 1-79,TCP 81-1000,TCP 8080")
    );
    let q = np(
        "a",
        "q",
        "
        selector: app == 'web'
        types: [Ingress]
        ingress:
        - action: Allow
          notProtocol: TCP
        ",
    );
    let a = ok(&[q]);
    assert_eq!(reach(&a, "b/cli", "a/web"), cs("UDP,SCTP"));
}

#[test]
fn ca_15_a_policy_without_rules_still_makes_its_tier_apply() {
    let p = np("a", "p", "selector: app == 'db'\ntypes: [Ingress]");
    let a = ok(&[p]);
    assert_eq!(reach(&a, "a/web", "a/db"), cs("none"));
    // Egress is not governed.
    assert_eq!(reach(&a, "a/db", "a/web"), cs("all"));
}

#[test]
fn e_ca_typo_a_selector_that_selects_nothing_is_said() {
    let p = np("a", "p", "selector: app == \"wbe\"\ntypes: [Ingress]");
    let a = ok(&[p]);
    assert_eq!(count(&a.diagnostics, Code::SelectsNothing), 1);
    assert_eq!(reach(&a, "b/cli", "a/web"), cs("all"));
}

#[test]
fn constructs_not_evaluated_yet_fail_naming_them() {
    for (rule, what) in [
        ("{action: Allow, ipVersion: 4}", "ipVersion"),
        (
            "{action: Allow, protocol: TCP, source: {ports: [80]}}",
            "source ports",
        ),
        (
            "{action: Allow, protocol: TCP, destination: {notPorts: [http]}}",
            "named notPorts",
        ),
    ] {
        let p = np(
            "a",
            "p",
            &format!("selector: all()\ntypes: [Ingress]\ningress: [{rule}]"),
        );
        let failed = try_analyze(FIXTURE, &[p]).expect_err(what);
        let e = failed
            .errors()
            .find(|d| d.code == Code::CalicoNotEvaluated)
            .expect("calico-not-evaluated");
        assert!(e.message.contains(what), "{what}: {}", e.message);
        assert!(
            e.span
                .as_ref()
                .is_some_and(|s| s.file == "policy-0.yaml" && s.line > 0)
        );
    }
}

// ---------------------------------------------------------------------------
// Property: the engine equals a naive reading of section 8 (the oracle
// until the network-config-analyzer differential exists). The oracle below
// is written from the semantics document, with its own label, selector,
// entity and port evaluation over a tiny vocabulary, and decides each
// sample connection one by one.
// ---------------------------------------------------------------------------

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, Debug)]
enum Sel {
    All,
    AppX,
    HasRole,
    NotHasRole,
}

impl Sel {
    fn text(self) -> &'static str {
        match self {
            Sel::All => "all()",
            Sel::AppX => "app == 'x'",
            Sel::HasRole => "has(role)",
            Sel::NotHasRole => "!has(role)",
        }
    }
    fn eval(self, w: &W) -> bool {
        match self {
            Sel::All => true,
            Sel::AppX => w.app.as_deref() == Some("x"),
            Sel::HasRole => w.role,
            Sel::NotHasRole => !w.role,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Peer {
    Any,
    Selector(Sel),
    NamespaceB,
    Nets,
    NotSelector(Sel),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Allow,
    Deny,
    Pass,
    Log,
}

#[derive(Clone, Debug)]
struct R {
    action: Act,
    /// None, TCP or UDP.
    proto: Option<&'static str>,
    /// None, "80", "'1:100'", "http".
    ports: Option<&'static str>,
    peer: Peer,
}

#[derive(Clone, Debug)]
struct P {
    name: String,
    /// None: global.
    ns: Option<&'static str>,
    tier: &'static str,
    order: Option<u32>,
    sel: Sel,
    types: [bool; 2],
    rules: [Vec<R>; 2],
}

#[derive(Clone, Debug)]
struct W {
    /// The namespace's name (its name label: a representative's witness
    /// namespace stands for the names of its class).
    ns: String,
    /// The namespace's `team` label.
    team: Option<String>,
    name: String,
    app: Option<String>,
    role: bool,
    http: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum E {
    W(usize),
    /// 10.0.0.5 (inside 10.0.0.0/8) or 8.8.8.8.
    Inside,
    Outside,
}

const SAMPLES: &[(&str, u16)] = &[
    ("TCP", 53),
    ("TCP", 80),
    ("TCP", 100),
    ("TCP", 8080),
    ("TCP", 9000),
    ("UDP", 53),
    ("UDP", 80),
    ("SCTP", 80),
];

fn gen_rule(rng: &mut Rng) -> R {
    let action = [Act::Allow, Act::Deny, Act::Pass, Act::Log][rng.pick(4)];
    let proto = [None, Some("TCP"), Some("UDP")][rng.pick(3)];
    let ports = match proto {
        None => [None, Some("http")][rng.pick(2)],
        Some(_) => [None, Some("80"), Some("'1:100'"), Some("http")][rng.pick(4)],
    };
    let sel = [Sel::All, Sel::AppX, Sel::HasRole, Sel::NotHasRole][rng.pick(4)];
    let peer = [
        Peer::Any,
        Peer::Selector(sel),
        Peer::NamespaceB,
        Peer::Nets,
        Peer::NotSelector(sel),
    ][rng.pick(5)];
    R {
        action,
        proto,
        ports,
        peer,
    }
}

fn gen_cluster(seed: u64) -> (Vec<W>, Vec<P>) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let ws: Vec<W> = (0..4)
        .map(|i| W {
            ns: ["a", "b"][rng.pick(2)].to_string(),
            team: None,
            name: format!("w{i}"),
            app: [None, Some("x"), Some("y")][rng.pick(3)].map(str::to_string),
            role: rng.pick(2) == 0,
            http: rng.pick(2) == 0,
        })
        .collect();
    let ps: Vec<P> = (0..1 + rng.pick(4))
        .map(|i| {
            let types = [[true, false], [false, true], [true, true]][rng.pick(3)];
            let mut rules = [Vec::new(), Vec::new()];
            for (d, list) in rules.iter_mut().enumerate() {
                if types[d] {
                    *list = (0..rng.pick(3)).map(|_| gen_rule(&mut rng)).collect();
                }
            }
            P {
                name: format!("p{}", rng.pick(3) * 10 + i),
                ns: [None, Some("a"), Some("b")][rng.pick(3)],
                tier: ["default", "pass-tier", "deny-tier"][rng.pick(3)],
                order: [None, Some(100), Some(200)][rng.pick(3)],
                sel: [Sel::All, Sel::AppX, Sel::HasRole, Sel::NotHasRole][rng.pick(4)],
                types,
                rules,
            }
        })
        .collect();
    (ws, ps)
}

fn cluster_yaml(ws: &[W], ps: &[P]) -> (String, Vec<String>) {
    let mut fixture = String::from(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: a}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b, labels: {team: b}}\n",
    );
    for w in ws {
        let mut labels = vec![format!("n: {}", w.name)];
        labels.extend(w.app.as_ref().map(|a| format!("app: {a}")));
        if w.role {
            labels.push("role: r".into());
        }
        let ports = if w.http {
            "[{name: http, containerPort: 8080}]"
        } else {
            "[]"
        };
        fixture.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {}, namespace: {}}}\nspec:\n  template:\n    metadata: {{labels: {{{}}}}}\n    spec:\n      containers: [{{name: c, ports: {ports}}}]\n",
            w.name, w.ns, labels.join(", ")
        ));
    }
    let mut docs = vec![
        tier("pass-tier", "order: 100\ndefaultAction: Pass"),
        tier("deny-tier", "order: 200"),
    ];
    for p in ps {
        docs.push(policy_yaml(p));
    }
    (fixture, docs)
}

fn rule_yaml(r: &R, d: usize) -> String {
    let action = format!("{:?}", r.action);
    let mut s = format!("  - action: {action}\n");
    if let Some(proto) = r.proto {
        s.push_str(&format!("    protocol: {proto}\n"));
    }
    let peer = match r.peer {
        Peer::Any => String::new(),
        Peer::Selector(sel) => format!("selector: \"{}\"", sel.text()),
        Peer::NamespaceB => "namespaceSelector: team == 'b'".into(),
        Peer::Nets => "nets: [10.0.0.0/8]".into(),
        Peer::NotSelector(sel) => format!("notSelector: \"{}\"", sel.text()),
    };
    let ports = r.ports.map(|p| format!("ports: [{p}]"));
    let (src, dst) = if d == 0 {
        (Some(peer).filter(|p| !p.is_empty()), ports)
    } else {
        let mut items: Vec<String> = Vec::new();
        if !peer.is_empty() {
            items.push(peer);
        }
        items.extend(ports);
        (None, Some(items.join(", ")).filter(|p| !p.is_empty()))
    };
    if let Some(src) = src {
        s.push_str(&format!("    source: {{{src}}}\n"));
    }
    if let Some(dst) = dst {
        s.push_str(&format!("    destination: {{{dst}}}\n"));
    }
    s
}

fn policy_yaml(p: &P) -> String {
    let kind = if p.ns.is_some() {
        "NetworkPolicy"
    } else {
        "GlobalNetworkPolicy"
    };
    let meta = match p.ns {
        Some(ns) => format!("{{name: {}, namespace: {ns}}}", p.name),
        None => format!("{{name: {}}}", p.name),
    };
    let mut types = Vec::new();
    if p.types[0] {
        types.push("Ingress");
    }
    if p.types[1] {
        types.push("Egress");
    }
    let mut s = format!(
        "apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata: {meta}\nspec:\n  tier: {}\n  selector: \"{}\"\n  types: [{}]\n",
        p.tier,
        p.sel.text(),
        types.join(", ")
    );
    if let Some(o) = p.order {
        s.push_str(&format!("  order: {o}\n"));
    }
    for (d, key) in [(0, "ingress"), (1, "egress")] {
        if !p.rules[d].is_empty() {
            s.push_str(&format!("  {key}:\n"));
            for r in &p.rules[d] {
                s.push_str(&rule_yaml(r, d));
            }
        }
    }
    s
}

/// CA-63, CA-64, C-CA-1 for the vocabulary above.
fn oracle_peer(p: &P, r: &R, ws: &[W], x: E) -> bool {
    let in_scope = |w: &W| p.ns.is_none_or(|ns| w.ns == ns);
    match (r.peer, x) {
        (Peer::Any, _) => true,
        (Peer::Selector(s), E::W(i)) => in_scope(&ws[i]) && s.eval(&ws[i]),
        (Peer::NamespaceB, E::W(i)) => ws[i].team.as_deref() == Some("b"),
        (Peer::NotSelector(s), E::W(i)) => in_scope(&ws[i]) && !s.eval(&ws[i]),
        (Peer::NotSelector(_), _) => p.ns.is_none(),
        (Peer::Nets, x) => x == E::Inside,
        (_, _) => false,
    }
}

/// CA-73, CA-75, CA-76: does the rule match this sample towards `dst`?
fn oracle_ports(r: &R, ws: &[W], dst: E, (proto, port): (&str, u16)) -> bool {
    if r.proto.is_some_and(|p| p != proto) {
        return false;
    }
    match r.ports {
        None => true,
        Some("80") => port == 80,
        Some("'1:100'") => (1..=100).contains(&port),
        Some(_) => matches!(dst, E::W(i) if ws[i].http) && proto == "TCP" && port == 8080,
    }
}

/// Section 8 for one sample connection on one side.
fn oracle_side(ws: &[W], ps: &[P], w: usize, d: usize, peer: E, sample: (&str, u16)) -> bool {
    let dst = if d == 0 { E::W(w) } else { peer };
    let tiers = [
        ("pass-tier", true),
        ("deny-tier", false),
        ("default", false),
    ];
    for (tier, pass) in tiers {
        let mut gov: Vec<&P> = ps
            .iter()
            .filter(|p| {
                p.tier == tier
                    && p.types[d]
                    && p.ns.is_none_or(|ns| ws[w].ns == ns)
                    && p.sel.eval(&ws[w])
            })
            .collect();
        if gov.is_empty() {
            continue;
        }
        let key = |p: &P| {
            let kind = if p.ns.is_some() {
                "NetworkPolicy"
            } else {
                "GlobalNetworkPolicy"
            };
            (
                p.order.is_none(),
                p.order,
                format!("{}/{}/{kind}", p.name, p.ns.unwrap_or("")),
            )
        };
        gov.sort_by_key(|p| key(p));
        let mut verdict = None;
        'policies: for p in gov {
            for r in &p.rules[d] {
                if oracle_peer(p, r, ws, peer) && oracle_ports(r, ws, dst, sample) {
                    match r.action {
                        Act::Log => continue,
                        a => {
                            verdict = Some(a);
                            break 'policies;
                        }
                    }
                }
            }
        }
        match verdict {
            Some(Act::Allow) => return true,
            Some(Act::Deny) => return false,
            Some(_) => continue,
            None if pass => continue,
            None => return false,
        }
    }
    true
}

fn oracle_reach(ws: &[W], ps: &[P], src: E, dst: E, sample: (&str, u16)) -> bool {
    let egress = match src {
        E::W(s) => oracle_side(ws, ps, s, 1, dst, sample),
        _ => true,
    };
    let ingress = match dst {
        E::W(t) => oracle_side(ws, ps, t, 0, src, sample),
        _ => !matches!(src, E::Inside | E::Outside),
    };
    egress && ingress
}

/// The oracle's view of every workload the engine analyses (the input's,
/// and in the open world the representatives, from their witness labels).
fn oracle_workloads(a: &Analyzed) -> Vec<W> {
    a.analysis
        .workloads
        .iter()
        .map(|w| {
            let ns = a.analysis.namespaces.iter().find(|n| n.name == w.namespace);
            let label = |k: &str| ns.and_then(|n| n.labels.get(k)).cloned();
            W {
                ns: label("kubernetes.io/metadata.name").unwrap_or_else(|| w.namespace.clone()),
                // CA-24: a pod's own `pcns.*` label wins over its
                // namespace's (representatives carry such labels when a
                // selector splits on them).
                team: w.labels.get("pcns.team").cloned().or_else(|| label("team")),
                name: w.id(),
                app: w.labels.get("app").cloned(),
                role: w.labels.contains_key("role"),
                http: w.ports.iter().any(|p| {
                    p.name.as_deref() == Some("http")
                        && p.port == 8080
                        && p.protocol == reachdiff::model::Protocol::Tcp
                }),
            }
        })
        .collect()
}

/// Every pair of endpoints, every sample, engine against oracle; returns
/// the number of comparisons.
fn compare_with_oracle(seed: u64, a: &Analyzed, ps: &[P], docs: &[String]) -> usize {
    let ws = oracle_workloads(a);
    let mut ends: Vec<(E, Endpoint)> = (0..ws.len())
        .map(|i| (E::W(i), Endpoint::Workload(i)))
        .collect();
    ends.push((E::Inside, sel(a, "10.0.0.5")));
    ends.push((E::Outside, sel(a, "8.8.8.8")));
    let mut checked = 0;
    for &(x, ex) in &ends {
        for &(y, ey) in &ends {
            if x == y && !matches!(x, E::W(_)) {
                continue;
            }
            let got = a.analysis.reach(ex, ey);
            for &(proto, port) in SAMPLES {
                let p = reachdiff::model::Protocol::parse(proto).expect("protocol");
                let engine = got.ports(p).contains(port);
                let want = oracle_reach(&ws, ps, x, y, (proto, port));
                assert_eq!(
                    engine,
                    want,
                    "seed {seed}: {x:?} -> {y:?} {proto} {port}\nworkloads {ws:#?}\n{}",
                    docs.join("---\n")
                );
                checked += 1;
            }
        }
    }
    checked
}

/// The policies as the input keeps them: of two with one name, the later.
fn kept(ps: &[P]) -> Vec<P> {
    let mut kept: Vec<P> = Vec::new();
    for p in ps {
        kept.retain(|q| !(q.name == p.name && q.ns == p.ns));
        kept.push(p.clone());
    }
    kept
}

#[test]
fn section_8_engine_equals_a_naive_evaluation_on_random_clusters() {
    let mut checked = 0;
    for seed in 0..150u64 {
        let (ws, ps) = gen_cluster(seed);
        let (fixture, docs) = cluster_yaml(&ws, &ps);
        let a = match try_analyze(&fixture, &docs) {
            Ok(a) => a,
            Err(f) => panic!(
                "seed {seed} refused: {:?}\n{}",
                f.errors().map(|d| d.to_string()).collect::<Vec<_>>(),
                docs.join("---\n")
            ),
        };
        checked += compare_with_oracle(seed, &a, &kept(&ps), &docs);
    }
    assert!(checked > 10_000, "{checked}");
}

/// OW-3 soundness: every pod a representative's class stands for (over
/// the vocabulary's values, its own `pcns.team` label included) answers as
/// the engine answers for the representative, towards and from every
/// workload of the input and every address.
fn classes_are_uniform(seed: u64, a: &Analyzed, ps: &[P]) -> usize {
    let ws = oracle_workloads(a);
    let values = [None, Some("a"), Some("b"), Some("c")];
    let mut peers: Vec<(E, Endpoint)> = (0..ws.len())
        .filter(|&i| !a.analysis.is_representative(i))
        .map(|i| (E::W(i), Endpoint::Workload(i)))
        .collect();
    peers.push((E::Inside, sel(a, "10.0.0.5")));
    peers.push((E::Outside, sel(a, "8.8.8.8")));
    let mut checked = 0;
    for r in (0..ws.len()).filter(|&i| a.analysis.is_representative(i)) {
        let Some(rep) = a.analysis.workloads[r].representative.clone() else {
            continue;
        };
        if rep.declared {
            continue;
        }
        let allows =
            |cells: &[(String, reachdiff::manifest::LabelCells)], k: &str, v: Option<&str>| {
                cells.iter().all(|(key, c)| key != k || c.allows(v))
            };
        let ns_cells = rep.namespace_cells.clone().unwrap_or_default();
        let ns_teams: Vec<Option<&str>> = if rep.namespace_cells.is_some() {
            values.to_vec()
        } else {
            vec![ws[r].team.as_deref()]
        };
        for app in [None, Some("x"), Some("y"), Some("z")] {
            for role in [false, true] {
                for pod_team in values {
                    for &ns_team in &ns_teams {
                        let ok = allows(&rep.pod_cells, "app", app)
                            && allows(&rep.pod_cells, "role", role.then_some("r"))
                            && allows(&rep.pod_cells, "pcns.team", pod_team)
                            && (rep.namespace_cells.is_none()
                                || allows(&ns_cells, "team", ns_team));
                        if !ok {
                            continue;
                        }
                        let mut variant = ws.clone();
                        variant[r].app = app.map(str::to_string);
                        variant[r].role = role;
                        variant[r].team = pod_team.or(ns_team).map(str::to_string);
                        for &(e, ee) in &peers {
                            for (src, dst, es, ed) in [
                                (E::W(r), e, Endpoint::Workload(r), ee),
                                (e, E::W(r), ee, Endpoint::Workload(r)),
                            ] {
                                let got = a.analysis.reach(es, ed);
                                for &(proto, port) in SAMPLES {
                                    let p =
                                        reachdiff::model::Protocol::parse(proto).expect("protocol");
                                    assert_eq!(
                                        got.ports(p).contains(port),
                                        oracle_reach(&variant, ps, src, dst, (proto, port)),
                                        "seed {seed}: class {} not uniform: {:?} {src:?} -> {dst:?} {proto} {port}",
                                        rep.id,
                                        variant[r]
                                    );
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    checked
}

/// The open world (OW-3): representatives split by every Calico selector
/// leaf answer as the oracle does for their witness labels, so any pod
/// of their class would.
#[test]
fn section_8_holds_for_the_representatives_of_the_open_world() {
    let mut checked = 0;
    let mut representatives = 0;
    for seed in 0..60u64 {
        let (ws, ps) = gen_cluster(seed);
        let (fixture, docs) = cluster_yaml(&ws, &ps);
        let mut files: Vec<(String, String)> = vec![("fixture.yaml".into(), fixture)];
        for (i, d) in docs.iter().enumerate() {
            files.push((format!("policy-{i}.yaml"), d.clone()));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let opts = reachdiff::analysis::Options {
            open_world: Some(reachdiff::reach::open_world::ClusterSpec::default()),
            ..Default::default()
        };
        let a = reachdiff::analysis::analyze(&crate::support::revision(&refs), &opts)
            .unwrap_or_else(|f| {
                panic!(
                    "seed {seed} refused: {:?}",
                    f.errors().map(|d| d.to_string()).collect::<Vec<_>>()
                )
            });
        representatives += (0..a.analysis.workloads.len())
            .filter(|&w| a.analysis.is_representative(w))
            .count();
        checked += compare_with_oracle(seed, &a, &kept(&ps), &docs);
        if seed < 25 {
            checked += classes_are_uniform(seed, &a, &kept(&ps));
        }
    }
    assert!(representatives > 300, "{representatives}");
    assert!(checked > 50_000, "{checked}");
}

// ---------------------------------------------------------------------------
// Pull requests (fixtures/calico/*), closed world; expectations derived by
// hand from the semantics (see each test), not from a run.
// ---------------------------------------------------------------------------

fn pr(name: &str) -> (Option<i32>, serde_json::Value, String) {
    let dir = crate::support::repo_root()
        .join("fixtures/calico")
        .join(name);
    let (b, h) = (dir.join("base"), dir.join("head"));
    let out = crate::support::run(&[
        "diff",
        "--closed-world",
        "--format",
        "json",
        b.to_str().expect("path"),
        h.to_str().expect("path"),
    ]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    let md = crate::support::run(&[
        "diff",
        "--closed-world",
        "--format",
        "md",
        b.to_str().expect("path"),
        h.to_str().expect("path"),
    ]);
    (
        out.status.code(),
        json,
        String::from_utf8(md.stdout).expect("utf-8"),
    )
}

/// `src dst protocol ports` of one list of a diff document, sorted.
fn rows(json: &serde_json::Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = json[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r["src"].as_str().expect("src"),
                r["dst"].as_str().expect("dst"),
                r["protocol"].as_str().expect("protocol"),
                r["ports"]
            )
        })
        .collect();
    v.sort();
    v
}

const WEB: &str = "a/web[Deployment]";
const DB: &str = "a/db[Deployment]";
const CLI: &str = "b/cli[Deployment]";
const DNS: &str = "kube-system/dns[Deployment]";
const ALL_PORTS: &str = "[[1,65535]]";

/// The one address atom when no CIDR appears.
const OUTSIDE: &str = "0.0.0.0-255.255.255.255";

/// Every protocol, all ports, from each source to each destination (a
/// workload to itself too: its pods reach each other, M-13).
fn all_rows(srcs: &[&str], dsts: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    for s in srcs {
        for d in dsts {
            for p in ["SCTP", "TCP", "UDP"] {
                v.push(format!("{s} {d} {p} {ALL_PORTS}"));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn pr_a_global_default_deny_with_dns_allowed() {
    // CA-11, CA-30, CA-31: every workload outside kube-system is denied
    // both ways by the default tier's end; only UDP 53 to kube-dns stays.
    let (_, json, md) = pr("gnp-default-deny-dns");
    assert!(rows(&json, "opened").is_empty());
    let closed = rows(&json, "closed");
    let subjects = [WEB, DB, CLI];
    for s in subjects {
        assert!(closed.contains(&format!("{s} {DNS} TCP {ALL_PORTS}")));
        assert!(closed.contains(&format!("{s} {DNS} UDP [[1,52],[54,65535]]")));
        assert!(closed.contains(&format!("{DNS} {s} UDP {ALL_PORTS}")));
        for t in subjects {
            assert!(closed.contains(&format!("{s} {t} TCP {ALL_PORTS}")));
        }
        assert!(closed.contains(&format!("{s} {OUTSIDE} SCTP {ALL_PORTS}")));
        assert!(closed.contains(&format!("{OUTSIDE} {s} TCP {ALL_PORTS}")));
    }
    // 3 subjects: 9 pairs among them (each to itself too), to and from
    // kube-dns, to and from the outside; 3 protocols each. kube-dns and
    // the outside keep everything between them.
    assert_eq!(closed.len(), (9 + 3 + 3 + 3 + 3) * 3, "{closed:#?}");
    assert!(
        !closed
            .iter()
            .any(|r| r.contains(&format!("{DNS} {OUTSIDE}")))
    );
    // The cause names the policy that now governs (isolates) them.
    assert!(
        md.contains(
            "now isolated for ingress by `GlobalNetworkPolicy default-deny (projectcalico.org)`"
        ),
        "{md}"
    );
    // E-10: DNS stays allowed, so no egress-without-dns finding.
    assert!(!md.contains("egress-without-dns"), "{md}");
}

#[test]
fn pr_two_policies_swapped_in_order() {
    // CA-32: with allow-all first, team b reaches the database.
    let (_, json, md) = pr("order-swap");
    assert!(rows(&json, "closed").is_empty());
    assert_eq!(rows(&json, "opened"), all_rows(&[CLI], &[DB]));
    assert!(md.contains("allow-all"), "{md}");
    assert!(md.contains("order 100"), "{md}");
}

#[test]
fn pr_a_policy_moved_to_a_tier_with_default_action_pass() {
    // CA-31, CA-34, CA-35: in `security` (Pass) the traffic web does not
    // send is passed on, no later tier applies, so the profiles allow.
    let (_, json, _) = pr("tier-pass");
    assert!(rows(&json, "closed").is_empty());
    assert_eq!(
        rows(&json, "opened"),
        all_rows(&[OUTSIDE, DB, CLI, DNS], &[DB])
    );
}

#[test]
fn pr_a_network_set_gains_a_cidr() {
    // C-CA-5, CA-28, CA-47: the set's new block is reached through the
    // label selector; nothing else changes.
    let (_, json, _) = pr("network-set-cidr");
    assert!(rows(&json, "closed").is_empty());
    assert_eq!(
        rows(&json, "opened"),
        all_rows(&[WEB], &["198.51.100.0-198.51.100.255"])
    );
}

#[test]
fn pr_a_selector_typo_selects_nothing() {
    // CA-10, CA-18: `app == "wbe"` selects no workload, so a/web is no
    // longer governed and everyone reaches it again; the warning says so.
    let (_, json, _) = pr("selector-typo");
    assert!(rows(&json, "closed").is_empty());
    assert_eq!(
        rows(&json, "opened"),
        all_rows(&[OUTSIDE, WEB, CLI, DNS], &[WEB])
    );
    assert!(json.to_string().contains("selects-nothing"), "{json}");
}

#[test]
fn dead_policy_is_never_claimed_for_policies_on_calico_chains() {
    // Open world: the Calico deny decides a/db's ingress before the
    // Kubernetes allow; both matter, so neither may be called dead.
    let deny = np(
        "a",
        "deny-b",
        "
        selector: app == 'db'
        order: 100
        types: [Ingress]
        ingress: [{action: Deny, source: {namespaceSelector: team == 'b'}}]
        ",
    );
    let mut files = [
        ("fixture.yaml".to_string(), FIXTURE.to_string()),
        ("deny.yaml".to_string(), deny),
        ("allow.yaml".to_string(), k8s_allow_all_to_db()),
    ];
    files.sort();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let opts = reachdiff::analysis::Options {
        open_world: Some(reachdiff::reach::open_world::ClusterSpec::default()),
        ..Default::default()
    };
    let a = reachdiff::analysis::analyze(&crate::support::revision(&refs), &opts)
        .unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
    assert_eq!(reach(&a, "b/cli", "a/db"), cs("none"));
    assert_eq!(reach(&a, "a/web", "a/db"), cs("all"));
    let dead: Vec<String> = reachdiff::findings::findings(&a)
        .iter()
        .filter(|f| f.diagnostic.code == Code::DeadPolicy)
        .map(|f| f.diagnostic.to_string())
        .collect();
    assert!(dead.is_empty(), "{dead:?}");
}
