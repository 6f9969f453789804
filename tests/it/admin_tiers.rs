//! ClusterNetworkPolicy (v1alpha2) and AdminNetworkPolicy /
//! BaselineAdminNetworkPolicy (v1alpha1), written from semantics.md
//! section 4 (AP-1 … AP-12, AX-1 … AX-4), never from the engine.
//!
//! The fixture is the one of section 3: namespaces `a` {team: a} and `b`
//! {team: b}; Deployments `a/web` {app: web} serving `http` 8080/TCP,
//! `a/db` {app: db} serving `pg` 5432/TCP and `b/cli` {app: cli} with no
//! ports. One extension: `a/db` also declares `stats` 8125/UDP, so that a
//! named port can resolve to a protocol other than TCP (AP-11). The
//! hostNetwork tests add namespace `kube-system` and a hostNetwork
//! DaemonSet `kube-system/agent` {app: agent}.
//!
//! Tables list what each source (row) may open to each destination
//! (column), as exact connection sets: `all`, `none`, a list such as
//! `TCP 5432, UDP`, or `all - TCP 80` (everything but those).

use crate::support::cs;
use reachdiff::analysis::Analyzed;
use reachdiff::diag::Code;
use reachdiff::model::{ConnSet, PortSet, Protocol};
use reachdiff::reach::Endpoint;
use std::fmt::Write as _;

// ---------------------------------------------------------------------------
// The fixture
// ---------------------------------------------------------------------------

/// The three workloads of the section 3 fixture, in table order.
const W: [&str; 3] = ["a/web", "a/db", "b/cli"];
/// The same plus the hostNetwork agent.
const W4: [&str; 4] = ["a/web", "a/db", "b/cli", "kube-system/agent"];

/// An address outside every CIDR used in these tests.
const EXT: &str = "198.51.100.7";

const FIXTURE: &str = "
apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels: {team: a}
---
apiVersion: v1
kind: Namespace
metadata:
  name: b
  labels: {team: b}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: a
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1
        ports:
        - {name: http, containerPort: 8080}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: db
  namespace: a
spec:
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: registry.example/db:1
        ports:
        - {name: pg, containerPort: 5432}
        - {name: stats, containerPort: 8125, protocol: UDP}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cli
  namespace: b
spec:
  selector:
    matchLabels: {app: cli}
  template:
    metadata:
      labels: {app: cli}
    spec:
      containers:
      - name: cli
        image: registry.example/cli:1
";

/// Added to [`FIXTURE`] by the hostNetwork tests (AP-7, C2, NP-27).
const AGENT: &str = "
apiVersion: v1
kind: Namespace
metadata:
  name: kube-system
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      hostNetwork: true
      containers:
      - name: agent
        image: registry.example/agent:1
";

fn with_agent() -> String {
    format!("{FIXTURE}---{AGENT}")
}

// ---------------------------------------------------------------------------
// Policy builders
// ---------------------------------------------------------------------------

/// Removes the common leading whitespace of the non-blank lines.
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(&l[indent..]);
        out.push('\n');
    }
    out
}

/// `body` (written freely indented) nested under `spec:` after `head`.
fn spec(head: &str, body: &str) -> String {
    let mut s = String::from(head);
    s.push_str("spec:\n");
    for l in dedent(body).lines() {
        writeln!(s, "  {l}").unwrap();
    }
    s
}

/// A v1alpha2 ClusterNetworkPolicy; `body` holds `subject`, `ingress`,
/// `egress`.
fn cnp(name: &str, tier: &str, priority: u32, body: &str) -> String {
    spec(
        &format!(
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: {name}\n"
        ),
        &format!("tier: {tier}\npriority: {priority}\n{}", dedent(body)),
    )
}

/// A v1alpha1 AdminNetworkPolicy.
fn anp(name: &str, priority: u32, body: &str) -> String {
    spec(
        &format!(
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: {name}\n"
        ),
        &format!("priority: {priority}\n{}", dedent(body)),
    )
}

/// The v1alpha1 BaselineAdminNetworkPolicy singleton `default`.
fn banp(body: &str) -> String {
    spec(
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: default\n",
        body,
    )
}

/// A NetworkPolicy; `body` holds its spec fields.
fn np(ns: &str, name: &str, body: &str) -> String {
    spec(
        &format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
        ),
        body,
    )
}

// ---------------------------------------------------------------------------
// Analysis and assertions
// ---------------------------------------------------------------------------

use crate::support::try_analyze;

fn analyze_with(fixture: &str, policies: &[String]) -> Analyzed {
    match try_analyze(fixture, policies) {
        Ok(a) => a,
        Err(f) => panic!(
            "valid input was rejected:\n{}\npolicies:\n{}",
            f.diagnostics
                .iter()
                .map(|d| format!("  {d}\n"))
                .collect::<String>(),
            policies.join("---\n")
        ),
    }
}

fn analyze_ok(policies: &[String]) -> Analyzed {
    analyze_with(FIXTURE, policies)
}

/// `ns/name` is the one workload of that name; anything else an IPv4
/// address whose atom is meant.
fn endpoint(a: &Analyzed, name: &str) -> Endpoint {
    if name.contains('/') {
        let found = a.analysis.select(name);
        assert_eq!(found.len(), 1, "{name} names {} endpoints", found.len());
        found[0]
    } else {
        let ip = name.parse().expect("an IP address");
        Endpoint::Atom(
            a.analysis
                .atoms
                .atom_of(ip)
                .unwrap_or_else(|| panic!("no atom holds {name}")),
        )
    }
}

fn mismatch(a: &Analyzed, src: &str, dst: &str, want: &str) -> Option<String> {
    let got = a.analysis.reach(endpoint(a, src), endpoint(a, dst));
    (got != cs(want)).then(|| format!("  {src} -> {dst}: expected {want}, got {got}"))
}

/// One pair, exact connection set.
#[track_caller]
fn assert_reach(a: &Analyzed, src: &str, dst: &str, want: &str) {
    if let Some(m) = mismatch(a, src, dst, want) {
        panic!("{m}");
    }
}

/// Every ordered pair of `pods` (src == dst included, NP-25): `rows[i][j]`
/// is what `pods[i]` may open to `pods[j]`. Lists every wrong cell.
#[track_caller]
fn assert_table<const N: usize>(name: &str, a: &Analyzed, pods: [&str; N], rows: [[&str; N]; N]) {
    let mut wrong = String::new();
    for (i, row) in rows.iter().enumerate() {
        for (j, want) in row.iter().enumerate() {
            if let Some(m) = mismatch(a, pods[i], pods[j], want) {
                wrong.push_str(&m);
                wrong.push('\n');
            }
        }
    }
    assert!(wrong.is_empty(), "{name}: wrong cells:\n{wrong}");
}

fn warnings(a: &Analyzed, code: Code) -> usize {
    a.diagnostics.iter().filter(|d| d.code == code).count()
}

/// The input is rejected with an `invalid-object` error at `field` (or at
/// a field inside it).
#[track_caller]
fn assert_invalid(fixture: &str, policy: &str, field: &str) {
    let failed = match try_analyze(fixture, &[policy.to_string()]) {
        Ok(_) => panic!("accepted invalid input (expected an error at {field}):\n{policy}"),
        Err(f) => f,
    };
    let all = failed
        .diagnostics
        .iter()
        .map(|d| format!("  {:?} {d}\n", d.code))
        .collect::<String>();
    let hit = failed.errors().any(|d| {
        d.code == Code::InvalidObject
            && d.field.as_deref().is_some_and(|f| {
                f == field || f.strip_prefix(field).is_some_and(|r| r.starts_with('.'))
            })
    });
    assert!(
        hit,
        "no invalid-object error at {field}; diagnostics:\n{all}policy:\n{policy}"
    );
}

#[test]
fn helpers_work_as_documented() {
    assert_eq!(
        cs("all - TCP 80"),
        ConnSet::all().difference(&ConnSet::of(Protocol::Tcp, PortSet::single(80)))
    );
    let c = cs("TCP 1-79, UDP");
    assert!(c.ports(Protocol::Tcp).contains(79) && !c.ports(Protocol::Tcp).contains(80));
    assert!(c.ports(Protocol::Udp).is_all() && c.ports(Protocol::Sctp).is_empty());
    assert_eq!(dedent("\n    a:\n      b\n\n    c\n"), "a:\n  b\nc\n");
    let p = cnp("x", "Admin", 3, "subject: {namespaces: {}}");
    assert!(p.ends_with("spec:\n  tier: Admin\n  priority: 3\n  subject: {namespaces: {}}\n"));
    // Without policies everything is open, self rows included (NP-6, NP-25).
    let a = analyze_ok(&[]);
    assert_table(
        "no policies",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            ["all", "all", "all"],
        ],
    );
    assert_reach(&a, EXT, "a/db", "all");
    assert_reach(&a, "a/db", EXT, "all");
}

// ---------------------------------------------------------------------------
// AX-1 … AX-4, as written, in both API versions
// ---------------------------------------------------------------------------

/// NetworkPolicy of AX-1: every pod of `a` admits namespace `b`.
fn np_a_allows_b() -> String {
    np(
        "a",
        "allow-from-b",
        "
        podSelector: {}
        ingress:
        - from: [{namespaceSelector: {matchLabels: {team: b}}}]
        ",
    )
}

/// Table of AX-1: a is ingress-isolated by the NetworkPolicy (admits only
/// b), and the Admin Deny takes b away again.
const AX1: [[&str; 3]; 3] = [
    ["none", "none", "all"],
    ["none", "none", "all"],
    ["none", "none", "all"],
];

/// AX-1, AP-2, AP-5 (Deny), AP-6: an Admin Deny beats a NetworkPolicy allow.
#[test]
fn ax1_admin_deny_beats_network_policy_allow() {
    // Without the CNP the NetworkPolicy admits b/cli.
    let a = analyze_ok(&[np_a_allows_b()]);
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, "b/cli", "a/web", "all");

    let deny = cnp(
        "deny-b-to-a",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from: [{namespaces: {matchLabels: {team: b}}}]
        ",
    );
    let a = analyze_ok(&[deny, np_a_allows_b()]);
    assert_table("AX-1 v1alpha2", &a, W, AX1);
    // AP-8: no Admin peer matches an external source; the NetworkPolicy
    // (isolating, no ipBlock) decides.
    assert_reach(&a, EXT, "a/web", "none");
    assert_reach(&a, "a/web", EXT, "all");
}

/// AX-1 with v1alpha1 syntax (AP-1: ANP ≡ CNP tier Admin).
#[test]
fn ax1_admin_deny_beats_network_policy_allow_v1alpha1() {
    let deny = anp(
        "deny-b-to-a",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from: [{namespaces: {matchLabels: {team: b}}}]
        ",
    );
    let a = analyze_ok(&[deny, np_a_allows_b()]);
    assert_table("AX-1 v1alpha1", &a, W, AX1);
}

/// NetworkPolicy of AX-2: a/db admits b on TCP 5432.
fn np_db_from_b_5432() -> String {
    np(
        "a",
        "db-from-b",
        "
        podSelector: {matchLabels: {app: db}}
        ingress:
        - from: [{namespaceSelector: {matchLabels: {team: b}}}]
          ports: [{protocol: TCP, port: 5432}]
        ",
    )
}

const PASS_B_TO_A: &str = "
subject: {namespaces: {matchLabels: {team: a}}}
ingress:
- action: Pass
  from: [{namespaces: {matchLabels: {team: b}}}]
";

const DENY_ALL_INGRESS: &str = "
subject: {namespaces: {}}
ingress:
- action: Deny
  from: [{namespaces: {}}]
";

/// Table of AX-2: only b/cli -> a/db on TCP 5432 survives.
const AX2: [[&str; 3]; 3] = [
    ["none", "none", "none"],
    ["none", "none", "none"],
    ["none", "TCP 5432", "none"],
];

/// AX-2, AP-5 (Pass), AP-6: Pass hands b's traffic to the NetworkPolicy
/// tier; for a/db (isolated) the NetworkPolicy decides, for a/web (not
/// isolated) the Baseline deny decides.
#[test]
fn ax2_pass_delegates_to_network_policy_then_baseline() {
    let a = analyze_ok(&[
        cnp("pass-b", "Admin", 10, PASS_B_TO_A),
        np_db_from_b_5432(),
        cnp("baseline-deny", "Baseline", 10, DENY_ALL_INGRESS),
    ]);
    assert_table("AX-2 v1alpha2", &a, W, AX2);
    // External sources: Baseline cannot match them (AP-8); a/db's
    // NetworkPolicy has no ipBlock.
    assert_reach(&a, EXT, "a/web", "all");
    assert_reach(&a, EXT, "a/db", "none");
    assert_reach(&a, EXT, "b/cli", "all");
}

/// AX-2 with an ANP and the BANP `default`.
#[test]
fn ax2_pass_delegates_to_network_policy_then_baseline_v1alpha1() {
    let a = analyze_ok(&[
        anp("pass-b", 10, PASS_B_TO_A),
        np_db_from_b_5432(),
        banp(DENY_ALL_INGRESS),
    ]);
    assert_table("AX-2 v1alpha1", &a, W, AX2);
    assert_reach(&a, EXT, "a/web", "all");
    assert_reach(&a, EXT, "a/db", "none");
}

/// NetworkPolicy of AX-3: a/db admits a/web only.
fn np_db_from_web() -> String {
    np(
        "a",
        "db-from-web",
        "
        podSelector: {matchLabels: {app: db}}
        ingress:
        - from: [{podSelector: {matchLabels: {app: web}}}]
        ",
    )
}

const DENY_B_EGRESS: &str = "
subject: {namespaces: {matchLabels: {team: b}}}
egress:
- action: Deny
  to: [{namespaces: {}}]
";

/// Table of AX-3: b/cli's egress to a is accepted, but a/db's ingress still
/// refuses it; b/cli -> b/cli hits the Baseline egress deny.
const AX3: [[&str; 3]; 3] = [
    ["all", "all", "all"],
    ["all", "none", "all"],
    ["all", "none", "none"],
];

/// AX-3, AP-5 (Accept), M-14: an egress Accept does not bypass the
/// destination's ingress side. A Baseline egress deny for b shows the
/// Accept really decides b/cli's egress towards a.
#[test]
fn ax3_egress_accept_still_needs_ingress() {
    let a = analyze_ok(&[
        cnp(
            "accept-b-to-a",
            "Admin",
            10,
            "
            subject: {namespaces: {matchLabels: {team: b}}}
            egress:
            - action: Accept
              to: [{namespaces: {matchLabels: {team: a}}}]
            ",
        ),
        np_db_from_web(),
        cnp("baseline-deny-b", "Baseline", 10, DENY_B_EGRESS),
    ]);
    assert_table("AX-3 v1alpha2", &a, W, AX3);
    // The Baseline peer `namespaces: {}` matches no external atom.
    assert_reach(&a, "b/cli", EXT, "all");
}

/// AX-3 with v1alpha1 `Allow`.
#[test]
fn ax3_egress_allow_still_needs_ingress_v1alpha1() {
    let a = analyze_ok(&[
        anp(
            "allow-b-to-a",
            10,
            "
            subject: {namespaces: {matchLabels: {team: b}}}
            egress:
            - action: Allow
              to: [{namespaces: {matchLabels: {team: a}}}]
            ",
        ),
        np_db_from_web(),
        banp(DENY_B_EGRESS),
    ]);
    assert_table("AX-3 v1alpha1", &a, W, AX3);
}

fn np_web_open() -> String {
    np(
        "a",
        "web-open",
        "
        podSelector: {matchLabels: {app: web}}
        ingress: [{}]
        ",
    )
}

/// Table of AX-4: a/web is opened by its NetworkPolicy, every other
/// workload ingress is denied by the Baseline.
const AX4: [[&str; 3]; 3] = [
    ["all", "none", "none"],
    ["all", "none", "none"],
    ["all", "none", "none"],
];

/// AX-4, AP-2, AP-6, AP-8: a Baseline deny-all is a default that a
/// NetworkPolicy overrides; external sources never match a Baseline peer.
#[test]
fn ax4_baseline_default_deny_overridable() {
    let a = analyze_ok(&[
        cnp("default-deny", "Baseline", 10, DENY_ALL_INGRESS),
        np_web_open(),
    ]);
    assert_table("AX-4 v1alpha2", &a, W, AX4);
    for dst in W {
        assert_reach(&a, EXT, dst, "all");
    }
}

/// AX-4 with the BANP `default`.
#[test]
fn ax4_baseline_default_deny_overridable_v1alpha1() {
    let a = analyze_ok(&[banp(DENY_ALL_INGRESS), np_web_open()]);
    assert_table("AX-4 v1alpha1", &a, W, AX4);
    for dst in W {
        assert_reach(&a, EXT, dst, "all");
    }
}

// ---------------------------------------------------------------------------
// Actions per tier (AP-5)
// ---------------------------------------------------------------------------

fn np_a_deny_all_ingress() -> String {
    np(
        "a",
        "deny-all",
        "
        podSelector: {}
        policyTypes: [Ingress]
        ",
    )
}

/// AP-5 (Accept in Admin), AP-6: an Admin Accept decides before the
/// NetworkPolicy tier, so b gets into a although a is isolated with no
/// rules; everything else into a stays denied.
#[test]
fn admin_accept_overrides_network_policy_isolation() {
    let body = |action: &str| {
        format!(
            "
            subject: {{namespaces: {{matchLabels: {{team: a}}}}}}
            ingress:
            - action: {action}
              from: [{{namespaces: {{matchLabels: {{team: b}}}}}}]
            "
        )
    };
    let expected = [
        ["none", "none", "all"],
        ["none", "none", "all"],
        ["all", "all", "all"],
    ];
    let a = analyze_ok(&[
        cnp("accept-b", "Admin", 10, &body("Accept")),
        np_a_deny_all_ingress(),
    ]);
    assert_table("Admin Accept v1alpha2", &a, W, expected);
    let a = analyze_ok(&[anp("allow-b", 10, &body("Allow")), np_a_deny_all_ingress()]);
    assert_table("Admin Allow v1alpha1", &a, W, expected);
}

/// AP-5 (Pass in Admin), AP-6: with no NetworkPolicy and no Baseline, a
/// Pass ends in the default allow, and it skips the later Admin Deny (of
/// this and of other Admin policies).
#[test]
fn admin_pass_skips_rest_of_admin_tier() {
    let a = analyze_ok(&[
        cnp(
            "pass-then-deny",
            "Admin",
            10,
            "
            subject: {namespaces: {matchLabels: {team: a}}}
            ingress:
            - action: Pass
              from: [{namespaces: {matchLabels: {team: b}}}]
            - action: Deny
              from: [{namespaces: {}}]
            ",
        ),
        cnp(
            "deny-later",
            "Admin",
            20,
            "
            subject: {namespaces: {}}
            ingress:
            - action: Deny
              from: [{namespaces: {matchLabels: {team: b}}}]
            ",
        ),
    ]);
    assert_table(
        "Admin Pass",
        &a,
        W,
        [
            ["none", "none", "all"],
            ["none", "none", "all"],
            ["all", "all", "none"],
        ],
    );
}

/// AP-3, AP-5 (Accept and Deny in Baseline): Baseline policies are ordered
/// by priority; an Accept at 10 decides before a Deny-all at 20.
#[test]
fn baseline_accept_and_deny_by_priority() {
    let accept_a = "
        subject: {namespaces: {}}
        ingress:
        - action: Accept
          from: [{namespaces: {matchLabels: {team: a}}}]
        ";
    let a = analyze_ok(&[
        cnp("base-accept-a", "Baseline", 10, accept_a),
        cnp("base-deny-all", "Baseline", 20, DENY_ALL_INGRESS),
    ]);
    assert_table(
        "Baseline Accept at 10, Deny at 20",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            ["none", "none", "none"],
        ],
    );
    // Swapped priorities: the Deny-all decides everything first.
    let a = analyze_ok(&[
        cnp("base-accept-a", "Baseline", 20, accept_a),
        cnp("base-deny-all", "Baseline", 10, DENY_ALL_INGRESS),
    ]);
    assert_table(
        "Baseline Deny at 10, Accept at 20",
        &a,
        W,
        [
            ["none", "none", "none"],
            ["none", "none", "none"],
            ["none", "none", "none"],
        ],
    );
    // v1alpha1: the BANP's rule order is its only order (AP-3).
    let a = analyze_ok(&[banp(
        "
        subject: {namespaces: {}}
        ingress:
        - action: Allow
          from: [{namespaces: {matchLabels: {team: a}}}]
        - action: Deny
          from: [{namespaces: {}}]
        ",
    )]);
    assert_table(
        "BANP Allow then Deny",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            ["none", "none", "none"],
        ],
    );
}

/// AP-5 (Pass in Baseline, v1alpha2 only): a Baseline Pass skips the rest
/// of the Baseline tier and ends in the default allow.
#[test]
fn baseline_pass_falls_to_default_allow() {
    let a = analyze_ok(&[
        cnp(
            "base-pass-b",
            "Baseline",
            5,
            "
            subject: {namespaces: {}}
            ingress:
            - action: Pass
              from: [{namespaces: {matchLabels: {team: b}}}]
            ",
        ),
        cnp("base-deny-all", "Baseline", 10, DENY_ALL_INGRESS),
    ]);
    assert_table(
        "Baseline Pass",
        &a,
        W,
        [
            ["none", "none", "none"],
            ["none", "none", "none"],
            ["all", "all", "all"],
        ],
    );
}

// ---------------------------------------------------------------------------
// Priorities and rule order (AP-2, AP-3, AP-4)
// ---------------------------------------------------------------------------

fn admin_b_to_a(name: &str, priority: u32, action: &str) -> String {
    cnp(
        name,
        "Admin",
        priority,
        &format!(
            "
            subject: {{namespaces: {{matchLabels: {{team: a}}}}}}
            ingress:
            - action: {action}
              from: [{{namespaces: {{matchLabels: {{team: b}}}}}}]
            "
        ),
    )
}

/// AP-3: the lower priority number decides first, whatever the names and
/// the file order (names are chosen so that name order would disagree).
#[test]
fn lower_priority_number_decides_first() {
    let a = analyze_ok(&[
        admin_b_to_a("a-deny", 20, "Deny"),
        admin_b_to_a("z-accept", 10, "Accept"),
    ]);
    assert_reach(&a, "b/cli", "a/web", "all");
    assert_reach(&a, "b/cli", "a/db", "all");

    let a = analyze_ok(&[
        admin_b_to_a("a-accept", 1000, "Accept"),
        admin_b_to_a("z-deny", 0, "Deny"),
    ]);
    assert_reach(&a, "b/cli", "a/web", "none");
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_eq!(warnings(&a, Code::EqualPriority), 0);

    // ANP and CNP tier Admin share one order (AP-1, AP-3).
    let anp_deny = anp(
        "z-deny",
        5,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from: [{namespaces: {matchLabels: {team: b}}}]
        ",
    );
    let a = analyze_ok(&[admin_b_to_a("a-accept", 6, "Accept"), anp_deny]);
    assert_reach(&a, "b/cli", "a/web", "none");
}

/// AP-2: every Admin policy, even at priority 1000, comes before every
/// Baseline policy, even at priority 0.
#[test]
fn admin_tier_precedes_baseline_tier_whatever_the_priority() {
    let a = analyze_ok(&[
        cnp(
            "admin-deny-b",
            "Admin",
            1000,
            "
            subject: {namespaces: {}}
            ingress:
            - action: Deny
              from: [{namespaces: {matchLabels: {team: b}}}]
            ",
        ),
        cnp(
            "baseline-accept-all",
            "Baseline",
            0,
            "
            subject: {namespaces: {}}
            ingress:
            - action: Accept
              from: [{namespaces: {}}]
            ",
        ),
    ]);
    assert_table(
        "Admin 1000 before Baseline 0",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            ["none", "none", "none"],
        ],
    );
    assert_eq!(warnings(&a, Code::EqualPriority), 0);
}

/// AP-3: the first matching rule decides per port. A Deny of TCP 80 at
/// priority 5 and an Accept of everything at priority 10: TCP 80 is
/// denied, every other port accepted (the NetworkPolicy default deny in a
/// shows that the Accept, not the default, allows them).
#[test]
fn first_match_decides_per_port() {
    let a = analyze_ok(&[
        cnp(
            "deny-80",
            "Admin",
            5,
            "
            subject: {namespaces: {matchLabels: {team: a}}}
            ingress:
            - action: Deny
              from: [{namespaces: {matchLabels: {team: b}}}]
              protocols: [{tcp: {destinationPort: {number: 80}}}]
            ",
        ),
        admin_b_to_a("accept-b", 10, "Accept"),
        np_a_deny_all_ingress(),
    ]);
    assert_table(
        "Deny TCP 80 at 5, Accept at 10",
        &a,
        W,
        [
            ["none", "none", "all"],
            ["none", "none", "all"],
            ["all - TCP 80", "all - TCP 80", "all"],
        ],
    );
}

/// AP-3: inside one policy rules are taken in list order, per port.
#[test]
fn rule_order_inside_one_policy() {
    let rules = |first: &str, second: &str| {
        cnp(
            "ordered",
            "Admin",
            10,
            &format!(
                "
                subject: {{namespaces: {{matchLabels: {{team: a}}}}}}
                ingress:
                - {first}
                - {second}
                "
            ),
        )
    };
    let deny_8080 = "{action: Deny, from: [{namespaces: {matchLabels: {team: b}}}], protocols: [{tcp: {destinationPort: {number: 8080}}}]}";
    let accept_5432 = "{action: Accept, from: [{namespaces: {matchLabels: {team: b}}}], protocols: [{tcp: {destinationPort: {number: 5432}}}]}";
    let accept_all = "{action: Accept, from: [{namespaces: {matchLabels: {team: b}}}]}";
    let deny_all = "{action: Deny, from: [{namespaces: {matchLabels: {team: b}}}]}";

    let a = analyze_ok(&[rules(deny_8080, accept_all), np_a_deny_all_ingress()]);
    assert_reach(&a, "b/cli", "a/web", "all - TCP 8080");
    assert_reach(&a, "b/cli", "a/db", "all - TCP 8080");

    let a = analyze_ok(&[rules(accept_all, deny_8080), np_a_deny_all_ingress()]);
    assert_reach(&a, "b/cli", "a/web", "all");

    let a = analyze_ok(&[rules(accept_5432, deny_all)]);
    assert_reach(&a, "b/cli", "a/db", "TCP 5432");
    assert_reach(&a, "b/cli", "a/web", "TCP 5432");
    assert_reach(&a, "a/web", "a/db", "all");
}

/// AP-4: two policies of one tier with one priority: warning
/// `equal-priority`, then name order, whatever the file order.
#[test]
fn equal_priorities_warn_and_use_name_order() {
    // File order puts the later name first.
    let a = analyze_ok(&[
        admin_b_to_a("beta", 10, "Deny"),
        admin_b_to_a("alpha", 10, "Accept"),
    ]);
    assert_reach(&a, "b/cli", "a/web", "all");
    assert_eq!(warnings(&a, Code::EqualPriority), 1);

    let a = analyze_ok(&[
        admin_b_to_a("beta", 10, "Accept"),
        admin_b_to_a("alpha", 10, "Deny"),
    ]);
    assert_reach(&a, "b/cli", "a/web", "none");
    assert_eq!(warnings(&a, Code::EqualPriority), 1);

    // v1alpha1 ANPs.
    let anp_b_to_a = |name: &str, action: &str| {
        anp(
            name,
            7,
            &format!(
                "
                subject: {{namespaces: {{matchLabels: {{team: a}}}}}}
                ingress:
                - action: {action}
                  from: [{{namespaces: {{matchLabels: {{team: b}}}}}}]
                "
            ),
        )
    };
    let a = analyze_ok(&[anp_b_to_a("beta", "Deny"), anp_b_to_a("alpha", "Allow")]);
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_eq!(warnings(&a, Code::EqualPriority), 1);
    let a = analyze_ok(&[anp_b_to_a("beta", "Allow"), anp_b_to_a("alpha", "Deny")]);
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_eq!(warnings(&a, Code::EqualPriority), 1);

    // An ANP and a CNP tier Admin are in the same tier.
    let a = analyze_ok(&[
        admin_b_to_a("beta", 7, "Accept"),
        anp_b_to_a("alpha", "Deny"),
    ]);
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_eq!(warnings(&a, Code::EqualPriority), 1);

    // Baseline CNPs too.
    let a = analyze_ok(&[
        cnp("beta", "Baseline", 3, DENY_ALL_INGRESS),
        cnp(
            "alpha",
            "Baseline",
            3,
            "
            subject: {namespaces: {}}
            ingress:
            - action: Accept
              from: [{namespaces: {matchLabels: {team: b}}}]
            ",
        ),
    ]);
    assert_reach(&a, "b/cli", "a/web", "all");
    assert_reach(&a, "a/web", "a/db", "none");
    assert_eq!(warnings(&a, Code::EqualPriority), 1);

    // Same number in different tiers is not a tie.
    let a = analyze_ok(&[
        admin_b_to_a("alpha", 10, "Accept"),
        cnp("beta", "Baseline", 10, DENY_ALL_INGRESS),
    ]);
    assert_eq!(warnings(&a, Code::EqualPriority), 0);
}

// ---------------------------------------------------------------------------
// Pass and NetworkPolicy isolation (AP-6)
// ---------------------------------------------------------------------------

/// AP-6: after a Pass, NetworkPolicy decides for an isolated pod and the
/// Baseline is not consulted, even when it would accept more.
#[test]
fn pass_to_isolated_pod_ignores_baseline() {
    let a = analyze_ok(&[
        cnp("pass-b", "Admin", 10, PASS_B_TO_A),
        np_db_from_b_5432(),
        cnp(
            "baseline-accept-all",
            "Baseline",
            10,
            "
            subject: {namespaces: {}}
            ingress:
            - action: Accept
              from: [{namespaces: {}}]
            ",
        ),
    ]);
    assert_reach(&a, "b/cli", "a/db", "TCP 5432");
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "b/cli", "a/web", "all");
}

/// AP-6, NP-4: isolation is read per direction. A NetworkPolicy that
/// isolates a/db for egress only does not make it decide ingress: after
/// the Pass, the Baseline decides b/cli -> a/db.
#[test]
fn pass_reads_isolation_per_direction() {
    let egress_only = np(
        "a",
        "db-egress",
        "
        podSelector: {matchLabels: {app: db}}
        policyTypes: [Egress]
        egress: [{}]
        ",
    );
    let a = analyze_ok(&[
        cnp("pass-b", "Admin", 10, PASS_B_TO_A),
        egress_only,
        cnp("baseline-deny", "Baseline", 10, DENY_ALL_INGRESS),
    ]);
    assert_reach(&a, "b/cli", "a/db", "none");

    let ingress_open = np(
        "a",
        "db-ingress",
        "
        podSelector: {matchLabels: {app: db}}
        policyTypes: [Ingress]
        ingress: [{}]
        ",
    );
    let a = analyze_ok(&[
        cnp("pass-b", "Admin", 10, PASS_B_TO_A),
        ingress_open,
        cnp("baseline-deny", "Baseline", 10, DENY_ALL_INGRESS),
    ]);
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, "b/cli", "a/web", "none");
}

/// AP-6 for egress: Pass of b's egress towards a; b/cli is egress-isolated
/// by a NetworkPolicy admitting a/db on TCP 5432, so that decides; the
/// Baseline egress deny is never reached for b/cli.
#[test]
fn egress_pass_to_network_policy() {
    let a = analyze_ok(&[
        cnp(
            "pass-b-egress",
            "Admin",
            10,
            "
            subject: {namespaces: {matchLabels: {team: b}}}
            egress:
            - action: Pass
              to: [{namespaces: {matchLabels: {team: a}}}]
            ",
        ),
        np(
            "b",
            "cli-egress",
            "
            podSelector: {}
            policyTypes: [Egress]
            egress:
            - to:
              - namespaceSelector: {matchLabels: {team: a}}
                podSelector: {matchLabels: {app: db}}
              ports: [{protocol: TCP, port: 5432}]
            ",
        ),
        cnp(
            "baseline-accept-b-egress",
            "Baseline",
            10,
            "
            subject: {namespaces: {matchLabels: {team: b}}}
            egress:
            - action: Accept
              to: [{namespaces: {}}]
            ",
        ),
    ]);
    assert_table(
        "egress Pass",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            ["none", "TCP 5432", "none"],
        ],
    );
    assert_reach(&a, "b/cli", EXT, "none");
}

// ---------------------------------------------------------------------------
// Subjects (AP-7)
// ---------------------------------------------------------------------------

/// AP-7: a `pods` subject selects matching pods in matching namespaces
/// only; a `namespaces` subject (elsewhere) selects whole namespaces.
#[test]
fn subject_pods_selects_only_matching_pods() {
    let a = analyze_ok(&[cnp(
        "protect-db",
        "Admin",
        10,
        "
        subject:
          pods:
            namespaceSelector: {matchLabels: {team: a}}
            podSelector: {matchLabels: {app: db}}
        ingress:
        - action: Deny
          from: [{namespaces: {}}]
        ",
    )]);
    assert_table(
        "pods subject",
        &a,
        W,
        [
            ["all", "none", "all"],
            ["all", "none", "all"],
            ["all", "none", "all"],
        ],
    );
    assert_reach(&a, EXT, "a/db", "all");

    // The same with v1alpha1 syntax.
    let a = analyze_ok(&[anp(
        "protect-db",
        10,
        "
        subject:
          pods:
            namespaceSelector: {matchLabels: {team: a}}
            podSelector: {matchLabels: {app: db}}
        ingress:
        - action: Deny
          from: [{namespaces: {}}]
        ",
    )]);
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_reach(&a, "b/cli", "a/web", "all");
}

/// AP-7: in v1alpha2 a `pods` subject may omit `namespaceSelector`, which
/// then means every namespace (no warning: nothing required is missing).
#[test]
fn subject_pods_without_namespace_selector_v1alpha2() {
    let a = analyze_ok(&[cnp(
        "db-and-cli",
        "Admin",
        10,
        "
        subject:
          pods:
            podSelector:
              matchExpressions: [{key: app, operator: In, values: [db, cli]}]
        ingress:
        - action: Deny
          from: [{namespaces: {matchLabels: {team: a}}}]
        ",
    )]);
    assert_table(
        "pods subject, all namespaces",
        &a,
        W,
        [
            ["all", "none", "none"],
            ["all", "none", "none"],
            ["all", "all", "all"],
        ],
    );
    assert_eq!(warnings(&a, Code::MissingRequiredField), 0);
}

// ---------------------------------------------------------------------------
// Peers (AP-8, AP-9)
// ---------------------------------------------------------------------------

/// AP-8: a `pods` peer matches the pods it selects in the namespaces it
/// selects, nothing else.
#[test]
fn peer_pods() {
    let a = analyze_ok(&[cnp(
        "deny-from-web",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from:
          - pods:
              namespaceSelector: {matchLabels: {team: a}}
              podSelector: {matchLabels: {app: web}}
        ",
    )]);
    assert_table(
        "pods peer",
        &a,
        W,
        [
            ["none", "none", "all"],
            ["all", "all", "all"],
            ["all", "all", "all"],
        ],
    );
}

/// AP-8: peers of one rule are ORed.
#[test]
fn peers_of_one_rule_are_ored() {
    let a = analyze_ok(&[cnp(
        "deny-some",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from:
          - namespaces: {matchLabels: {team: b}}
          - pods:
              namespaceSelector: {matchLabels: {team: a}}
              podSelector: {matchLabels: {app: db}}
        ",
    )]);
    assert_table(
        "ORed peers",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["none", "none", "all"],
            ["none", "none", "all"],
        ],
    );
}

/// AP-8, AP-9, C1: `networks` (egress only) matches external atoms only;
/// a CIDR outside the typical pod ranges raises no warning.
#[test]
fn peer_networks_match_external_atoms_only() {
    let a = analyze_ok(&[cnp(
        "deny-doc-net",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        egress:
        - action: Deny
          to: [{networks: [203.0.113.0/24]}]
        ",
    )]);
    assert_reach(&a, "a/web", "203.0.113.9", "none");
    assert_reach(&a, "a/db", "203.0.113.200", "none");
    assert_reach(&a, "a/web", EXT, "all");
    assert_reach(&a, "b/cli", "203.0.113.9", "all");
    assert_table(
        "networks Deny",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            ["all", "all", "all"],
        ],
    );
    assert_eq!(warnings(&a, Code::IpBlockClusterRange), 0);
}

/// AP-9, C1: `networks: [0.0.0.0/0]` denies every external atom (pod
/// ranges included) but no workload, with the `ipblock-cluster-range`
/// warning because a real cluster applies it to pods too.
#[test]
fn peer_networks_everything_warns_and_spares_workloads() {
    let a = analyze_ok(&[cnp(
        "deny-world",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        egress:
        - action: Deny
          to: [{networks: [0.0.0.0/0]}]
        ",
    )]);
    assert_reach(&a, "a/web", EXT, "none");
    assert_reach(&a, "a/web", "10.1.2.3", "none");
    assert_reach(&a, "b/cli", EXT, "all");
    assert_table(
        "networks 0.0.0.0/0 Deny",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            ["all", "all", "all"],
        ],
    );
    assert!(warnings(&a, Code::IpBlockClusterRange) >= 1);

    // The other way round: an Accept to 0.0.0.0/0 does not accept
    // workloads, so the next rule (Deny to every namespace) decides them.
    let a = analyze_ok(&[cnp(
        "accept-world",
        "Admin",
        10,
        "
            subject: {namespaces: {matchLabels: {team: a}}}
            egress:
            - action: Accept
              to: [{networks: [0.0.0.0/0]}]
            - action: Deny
              to: [{namespaces: {}}]
            ",
    )]);
    assert_reach(&a, "a/web", EXT, "all");
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "a/web", "b/cli", "none");
    assert!(warnings(&a, Code::IpBlockClusterRange) >= 1);
}

/// AP-8: `nodes` and `domainNames` peers match no reachdiff endpoint, with
/// the `unsupported-peer` warning; a Deny to nodes denies nothing, an
/// Accept to domain names accepts nothing.
#[test]
fn peer_nodes_and_domain_names_match_nothing() {
    let a = analyze_ok(&[cnp(
        "deny-nodes",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        egress:
        - action: Deny
          to: [{nodes: {}}]
        ",
    )]);
    assert_table(
        "nodes Deny",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            ["all", "all", "all"],
        ],
    );
    assert_reach(&a, "a/web", EXT, "all");
    assert!(warnings(&a, Code::UnsupportedPeer) >= 1);

    let a = analyze_ok(&[cnp(
        "accept-domains",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        egress:
        - action: Accept
          to: [{domainNames: [example.com, '*.example.org']}]
        - action: Deny
          to: [{networks: [0.0.0.0/0]}]
        - action: Deny
          to: [{namespaces: {matchLabels: {team: b}}}]
        ",
    )]);
    assert_reach(&a, "a/web", EXT, "none");
    assert_reach(&a, "a/web", "b/cli", "none");
    assert_reach(&a, "a/web", "a/db", "all");
    assert!(warnings(&a, Code::UnsupportedPeer) >= 1);

    // v1alpha1 ANP with a nodes peer.
    let a = analyze_ok(&[anp(
        "deny-nodes",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        egress:
        - action: Deny
          to: [{nodes: {matchLabels: {node-role.kubernetes.io/control-plane: ''}}}]
        ",
    )]);
    assert_reach(&a, "a/web", "b/cli", "all");
    assert_reach(&a, "a/web", EXT, "all");
    assert!(warnings(&a, Code::UnsupportedPeer) >= 1);
}

// ---------------------------------------------------------------------------
// Protocols and ports (AP-11, AP-12)
// ---------------------------------------------------------------------------

/// AP-11: tcp/udp/sctp with `number` and `range` (inclusive); items ORed.
#[test]
fn protocols_numbers_and_ranges_v1alpha2() {
    let a = analyze_ok(&[cnp(
        "deny-ports",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from: [{namespaces: {matchLabels: {team: b}}}]
          protocols:
          - tcp: {destinationPort: {number: 8080}}
          - udp: {destinationPort: {range: {start: 5000, end: 5100}}}
          - sctp: {destinationPort: {number: 9000}}
          - tcp: {destinationPort: {range: {start: 30000, end: 30001}}}
        ",
    )]);
    let rest = "all - TCP 8080, UDP 5000-5100, SCTP 9000, TCP 30000-30001";
    assert_table(
        "protocols",
        &a,
        W,
        [
            ["all", "all", "all"],
            ["all", "all", "all"],
            [rest, rest, "all"],
        ],
    );
}

/// AP-11: a named port resolves on the destination pod, with the container
/// port's own protocol: `http` is TCP 8080 on a/web and nothing on a/db;
/// `stats` is UDP 8125 on a/db (TCP 8125 untouched) and nothing on a/web.
#[test]
fn destination_named_port_v1alpha2() {
    let a = analyze_ok(&[cnp(
        "deny-named",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from: [{namespaces: {matchLabels: {team: b}}}]
          protocols:
          - destinationNamedPort: http
          - destinationNamedPort: stats
        ",
    )]);
    assert_reach(&a, "b/cli", "a/web", "all - TCP 8080");
    assert_reach(&a, "b/cli", "a/db", "all - UDP 8125");

    // An Accept on a named port before the NetworkPolicy default deny.
    let a = analyze_ok(&[
        cnp(
            "accept-pg",
            "Admin",
            10,
            "
            subject: {namespaces: {matchLabels: {team: a}}}
            ingress:
            - action: Accept
              from: [{namespaces: {matchLabels: {team: b}}}]
              protocols: [{destinationNamedPort: pg}]
            ",
        ),
        np_a_deny_all_ingress(),
    ]);
    assert_reach(&a, "b/cli", "a/db", "TCP 5432");
    assert_reach(&a, "b/cli", "a/web", "none");
}

/// AP-11: in an egress rule the named port resolves on the destination
/// workload, not on the subject.
#[test]
fn destination_named_port_in_egress_resolves_on_destination() {
    let a = analyze_ok(&[cnp(
        "deny-http-egress",
        "Admin",
        10,
        "
        subject: {namespaces: {matchLabels: {team: b}}}
        egress:
        - action: Deny
          to: [{namespaces: {matchLabels: {team: a}}}]
          protocols: [{destinationNamedPort: http}]
        ",
    )]);
    assert_reach(&a, "b/cli", "a/web", "all - TCP 8080");
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, "b/cli", "b/cli", "all");
}

/// AP-12: v1alpha1 `portNumber`, `portRange` (inclusive) and `namedPort`
/// (container port's own protocol); protocol defaults to TCP.
#[test]
fn ports_v1alpha1() {
    let a = analyze_ok(&[anp(
        "deny-ports",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from: [{namespaces: {matchLabels: {team: b}}}]
          ports:
          - portNumber: {protocol: TCP, port: 8080}
          - portRange: {protocol: UDP, start: 5000, end: 5100}
          - portNumber: {protocol: SCTP, port: 9000}
          - namedPort: stats
        ",
    )]);
    assert_reach(
        &a,
        "b/cli",
        "a/web",
        "all - TCP 8080, UDP 5000-5100, SCTP 9000",
    );
    assert_reach(
        &a,
        "b/cli",
        "a/db",
        "all - TCP 8080, UDP 5000-5100, SCTP 9000, UDP 8125",
    );

    let a = analyze_ok(&[anp(
        "deny-default-protocol",
        10,
        "
        subject: {namespaces: {matchLabels: {team: a}}}
        ingress:
        - action: Deny
          from: [{namespaces: {matchLabels: {team: b}}}]
          ports:
          - portNumber: {port: 8080}
          - portRange: {start: 1, end: 1024}
        ",
    )]);
    assert_reach(&a, "b/cli", "a/web", "all - TCP 8080, TCP 1-1024");
}

// ---------------------------------------------------------------------------
// hostNetwork workloads (AP-7 versus C2)
// ---------------------------------------------------------------------------

/// AP-7: a hostNetwork workload is never an Admin/Baseline subject nor a
/// peer: a deny-all between all namespaces leaves the agent untouched.
#[test]
fn host_network_is_never_admin_subject_or_peer() {
    let fixture = with_agent();
    let a = analyze_with(&fixture, &[cnp("deny-all", "Admin", 10, DENY_ALL_INGRESS)]);
    assert_table(
        "hostNetwork and an Admin deny-all",
        &a,
        W4,
        [
            ["none", "none", "none", "all"],
            ["none", "none", "none", "all"],
            ["none", "none", "none", "all"],
            ["all", "all", "all", "all"],
        ],
    );
    assert!(warnings(&a, Code::HostNetwork) >= 1);

    // The same through the Baseline tier and an egress deny.
    let a = analyze_with(
        &fixture,
        &[cnp(
            "deny-all-egress",
            "Baseline",
            10,
            "
            subject: {namespaces: {}}
            egress:
            - action: Deny
              to: [{namespaces: {}}]
            ",
        )],
    );
    assert_table(
        "hostNetwork and a Baseline egress deny-all",
        &a,
        W4,
        [
            ["none", "none", "none", "all"],
            ["none", "none", "none", "all"],
            ["none", "none", "none", "all"],
            ["all", "all", "all", "all"],
        ],
    );

    // A `pods` subject naming only the agent selects nothing.
    let a = analyze_with(
        &fixture,
        &[cnp(
            "protect-agent",
            "Admin",
            10,
            "
            subject:
              pods:
                namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
                podSelector: {matchLabels: {app: agent}}
            ingress:
            - action: Deny
              from: [{namespaces: {}}]
            ",
        )],
    );
    for src in W4 {
        assert_reach(&a, src, "kube-system/agent", "all");
    }
}

/// C2, NP-27 versus AP-7: NetworkPolicy still selects and matches the
/// hostNetwork agent like any pod, while an Admin peer never matches it.
#[test]
fn host_network_is_a_pod_for_network_policy() {
    let fixture = with_agent();
    let a = analyze_with(
        &fixture,
        &[
            np(
                "kube-system",
                "deny-all",
                "
                podSelector: {}
                policyTypes: [Ingress]
                ",
            ),
            np(
                "a",
                "db-from-agent",
                "
                podSelector: {matchLabels: {app: db}}
                ingress:
                - from:
                  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
                    podSelector: {matchLabels: {app: agent}}
                ",
            ),
        ],
    );
    assert_table(
        "hostNetwork under NetworkPolicy",
        &a,
        W4,
        [
            ["all", "none", "all", "none"],
            ["all", "none", "all", "none"],
            ["all", "none", "all", "none"],
            ["all", "all", "all", "none"],
        ],
    );

    // An Admin Accept from every namespace does not cover the agent, so
    // the NetworkPolicy default deny in a still refuses it.
    let a = analyze_with(
        &fixture,
        &[
            cnp(
                "accept-all-into-a",
                "Admin",
                10,
                "
                subject: {namespaces: {matchLabels: {team: a}}}
                ingress:
                - action: Accept
                  from: [{namespaces: {}}]
                ",
            ),
            np_a_deny_all_ingress(),
        ],
    );
    assert_reach(&a, "a/web", "a/db", "all");
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, "kube-system/agent", "a/db", "none");
    assert_reach(&a, "kube-system/agent", "a/web", "none");
}

// ---------------------------------------------------------------------------
// Invalid input (NP-31, C9)
// ---------------------------------------------------------------------------

const RULE_FROM_B: &str = "from: [{namespaces: {matchLabels: {team: b}}}]";

fn with_action(action: &str) -> String {
    format!(
        "
        subject: {{namespaces: {{}}}}
        ingress:
        - action: {action}
          {RULE_FROM_B}
        "
    )
}

/// AP-5: the action names of each version; `Pass` is not a BANP action.
#[test]
fn invalid_actions() {
    assert_invalid(
        FIXTURE,
        &cnp("x", "Admin", 1, &with_action("Allow")),
        "spec.ingress[0].action",
    );
    assert_invalid(
        FIXTURE,
        &anp("x", 1, &with_action("Accept")),
        "spec.ingress[0].action",
    );
    assert_invalid(
        FIXTURE,
        &banp(&with_action("Pass")),
        "spec.ingress[0].action",
    );
    assert_invalid(
        FIXTURE,
        &banp(
            "
            subject: {namespaces: {}}
            egress:
            - action: Allow
              to: [{namespaces: {}}]
            - action: Pass
              to: [{namespaces: {}}]
            ",
        ),
        "spec.egress[1].action",
    );
    assert_invalid(
        FIXTURE,
        &cnp("x", "Baseline", 1, &with_action("deny")),
        "spec.ingress[0].action",
    );
    // The valid spellings are accepted.
    for p in [
        cnp("x", "Admin", 1, &with_action("Accept")),
        cnp("x", "Baseline", 1, &with_action("Pass")),
        anp("x", 1, &with_action("Pass")),
        banp(&with_action("Allow")),
    ] {
        analyze_ok(&[p]);
    }
}

/// AP-3: priority is 0–1000 (both ends valid) and required.
#[test]
fn invalid_priority() {
    let body = with_action("Deny");
    assert_invalid(FIXTURE, &cnp("x", "Admin", 1001, &body), "spec.priority");
    assert_invalid(FIXTURE, &cnp("x", "Baseline", 1001, &body), "spec.priority");
    assert_invalid(FIXTURE, &anp("x", 1001, &body), "spec.priority");
    assert_invalid(
        FIXTURE,
        &spec(
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: x\n",
            &body,
        ),
        "spec.priority",
    );
    analyze_ok(&[
        cnp("lo", "Admin", 0, &body),
        cnp("hi", "Admin", 1000, &body),
    ]);
}

/// AP-1, AP-2: `spec.tier` is required and is exactly Admin or Baseline.
#[test]
fn invalid_tier() {
    let head = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: x\n";
    let body = with_action("Deny");
    assert_invalid(
        FIXTURE,
        &spec(head, &format!("priority: 10\n{}", dedent(&body))),
        "spec.tier",
    );
    assert_invalid(FIXTURE, &cnp("x", "admin", 10, &body), "spec.tier");
    assert_invalid(FIXTURE, &cnp("x", "NetworkPolicy", 10, &body), "spec.tier");
}

/// AP-7, AP-8: a peer (and a subject) has exactly one field.
#[test]
fn invalid_peer_with_two_fields() {
    assert_invalid(
        FIXTURE,
        &cnp(
            "x",
            "Admin",
            10,
            "
            subject: {namespaces: {}}
            ingress:
            - action: Deny
              from:
              - namespaces: {matchLabels: {team: b}}
                pods: {namespaceSelector: {}, podSelector: {}}
            ",
        ),
        "spec.ingress[0].from[0]",
    );
    assert_invalid(
        FIXTURE,
        &cnp(
            "x",
            "Admin",
            10,
            "
            subject: {namespaces: {}}
            egress:
            - action: Deny
              to:
              - namespaces: {}
              - namespaces: {}
                networks: [203.0.113.0/24]
            ",
        ),
        "spec.egress[0].to[1]",
    );
    assert_invalid(
        FIXTURE,
        &anp(
            "x",
            10,
            "
            subject: {namespaces: {}}
            ingress:
            - action: Deny
              from:
              - namespaces: {}
                pods: {namespaceSelector: {}, podSelector: {}}
            ",
        ),
        "spec.ingress[0].from[0]",
    );
    assert_invalid(
        FIXTURE,
        &cnp(
            "x",
            "Admin",
            10,
            "
            subject:
              namespaces: {}
              pods: {namespaceSelector: {}, podSelector: {}}
            ingress:
            - action: Deny
              from: [{namespaces: {}}]
            ",
        ),
        "spec.subject",
    );
}

/// AP-11, AP-12: a range needs start < end strictly; start == end is
/// invalid (unlike NetworkPolicy's endPort, NP-17).
#[test]
fn invalid_port_ranges() {
    let cnp_range = |start: u16, end: u16| {
        cnp(
            "x",
            "Admin",
            10,
            &format!(
                "
                subject: {{namespaces: {{}}}}
                ingress:
                - action: Deny
                  {RULE_FROM_B}
                  protocols:
                  - tcp: {{destinationPort: {{range: {{start: {start}, end: {end}}}}}}}
                "
            ),
        )
    };
    let field = "spec.ingress[0].protocols[0].tcp.destinationPort.range";
    assert_invalid(FIXTURE, &cnp_range(8080, 8080), field);
    assert_invalid(FIXTURE, &cnp_range(8081, 8080), field);
    analyze_ok(&[cnp_range(8080, 8081)]);

    let anp_range = |start: u16, end: u16| {
        anp(
            "x",
            10,
            &format!(
                "
                subject: {{namespaces: {{}}}}
                ingress:
                - action: Deny
                  {RULE_FROM_B}
                  ports:
                  - portRange: {{protocol: UDP, start: {start}, end: {end}}}
                "
            ),
        )
    };
    let field = "spec.ingress[0].ports[0].portRange";
    assert_invalid(FIXTURE, &anp_range(53, 53), field);
    assert_invalid(FIXTURE, &anp_range(54, 53), field);
    analyze_ok(&[anp_range(53, 54)]);
}

/// AP-1: the BaselineAdminNetworkPolicy is a singleton that must be named
/// `default`; the API server rejects any other name (NP-31, C9).
#[test]
fn invalid_banp_name() {
    let p = banp(&with_action("Deny")).replace("name: default", "name: baseline");
    assert_invalid(FIXTURE, &p, "metadata.name");
}

/// AP-4 is about policies "that could both match a connection": equal
/// priorities over disjoint subjects (namespace a and namespace b) cannot
/// conflict, so they do not warn.
#[test]
fn equal_priorities_over_disjoint_subjects_do_not_warn() {
    let subject_in = |name: &str, team: &str| {
        cnp(
            name,
            "Admin",
            10,
            &format!(
                "
                subject: {{namespaces: {{matchLabels: {{team: {team}}}}}}}
                ingress:
                - action: Deny
                  from: [{{namespaces: {{}}}}]
                "
            ),
        )
    };
    let a = analyze_ok(&[subject_in("only-a", "a"), subject_in("only-b", "b")]);
    assert_eq!(warnings(&a, Code::EqualPriority), 0);
    let a = analyze_ok(&[subject_in("first-a", "a"), subject_in("second-a", "a")]);
    assert_eq!(warnings(&a, Code::EqualPriority), 1);
}
