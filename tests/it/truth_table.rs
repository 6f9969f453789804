//! Truth tables for the Kubernetes e2e NetworkPolicy model.
//!
//! Namespaces x, y, z (labels `ns: <name>`), pods a, b, c in each (labels
//! `pod: <name>`), each pod with one container serving 80 and 81 on TCP, UDP
//! and SCTP under the names `serve-<port>-<proto>`.
//!
//! Every scenario checks the full 9×9 table of exact port sets, src == dst
//! included (a replica talking to another replica, NP-25/C7). On failure the
//! expected and actual tables are printed as grids over six probes: `T`/`t` =
//! TCP 80/81, `U`/`u` = UDP 80/81, `S`/`s` = SCTP 80/81, `.` = denied; cells
//! whose exact port sets differ are marked `!` and listed in full.
//!
//! Expectations are written from semantics.md, not from the engine. An
//! [`Expect`] starts with nothing isolated (NP-6) and each step says, in pod
//! names, what a policy does to one direction of some pods:
//! `isolate_ingress(to)` (NP-4/NP-7: selected for Ingress, nothing allowed
//! yet) and `allow_ingress(to, from, conns)` (the union of one more rule,
//! NP-7/NP-8), and the same for egress. A pair's verdict is the egress side
//! of the source ∧ the ingress side of the destination (M-14, NP-21).

use crate::support::cs;
use reachdiff::analysis::Analyzed;
use reachdiff::diag::Code;
use reachdiff::model::{ConnSet, PortSet, Protocol};
use reachdiff::reach::Endpoint;
use std::fmt::Write as _;

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

const NAMESPACES: [&str; 3] = ["x", "y", "z"];
const PODS: [&str; 3] = ["a", "b", "c"];
const N: usize = 9;

/// The six probes of the upstream model, with their grid letters.
const PROBES: [(Protocol, u16, char); 6] = [
    (Protocol::Tcp, 80, 'T'),
    (Protocol::Tcp, 81, 't'),
    (Protocol::Udp, 80, 'U'),
    (Protocol::Udp, 81, 'u'),
    (Protocol::Sctp, 80, 'S'),
    (Protocol::Sctp, 81, 's'),
];

/// Pod `i` is `NAMESPACES[i / 3]/PODS[i % 3]`.
fn pod_name(i: usize) -> String {
    format!("{}/{}", NAMESPACES[i / 3], PODS[i % 3])
}

/// The standard e2e fixture: Namespace and Pod manifests. `extra_ns_labels`
/// adds label lines (`key: "value"`) to a namespace, for the few scenarios
/// that need more than `ns: <name>`.
fn fixture(extra_ns_labels: &[(&str, &str)]) -> String {
    Fixture {
        extra_ns_labels,
        ..Fixture::default()
    }
    .yaml()
}

/// The standard container: one container serving the six probes by name.
const STANDARD_CONTAINERS: &str = "
containers:
- name: cont
  image: registry.k8s.io/e2e-test-images/agnhost:2.53
  ports:
  - {name: serve-80-tcp, containerPort: 80, protocol: TCP}
  - {name: serve-81-tcp, containerPort: 81, protocol: TCP}
  - {name: serve-80-udp, containerPort: 80, protocol: UDP}
  - {name: serve-81-udp, containerPort: 81, protocol: UDP}
  - {name: serve-80-sctp, containerPort: 80, protocol: SCTP}
  - {name: serve-81-sctp, containerPort: 81, protocol: SCTP}
";

/// Variants of the fixture, for the few scenarios that need them.
#[derive(Default)]
struct Fixture<'a> {
    /// (namespace, `key: "value"` line) added to the Namespace labels.
    extra_ns_labels: &'a [(&'a str, &'a str)],
    /// Namespaces whose manifest is left out (M-9).
    no_manifest: &'a [&'a str],
    /// (pod `ns/name`, pod spec YAML replacing [`STANDARD_CONTAINERS`]).
    pod_specs: &'a [(&'a str, &'a str)],
}

impl Fixture<'_> {
    fn yaml(&self) -> String {
        let mut s = String::new();
        for ns in NAMESPACES {
            if self.no_manifest.contains(&ns) {
                continue;
            }
            // Names and values are quoted: `y` is a boolean to YAML 1.1
            // parsers such as the one behind kubectl (E-37).
            write!(
                s,
                "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"{ns}\"\n  labels:\n    ns: \"{ns}\"\n"
            )
            .unwrap();
            for (n, line) in self.extra_ns_labels {
                if *n == ns {
                    writeln!(s, "    {line}").unwrap();
                }
            }
        }
        for ns in NAMESPACES {
            for pod in PODS {
                let id = format!("{ns}/{pod}");
                let spec = self
                    .pod_specs
                    .iter()
                    .find(|(p, _)| *p == id)
                    .map_or(STANDARD_CONTAINERS, |(_, spec)| *spec);
                write!(
                    s,
                    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: \"{pod}\"\n  namespace: \"{ns}\"\n  labels:\n    pod: \"{pod}\"\nspec:\n"
                )
                .unwrap();
                for line in dedent(spec).lines() {
                    writeln!(s, "  {line}").unwrap();
                }
            }
        }
        s
    }
}

/// Removes the common leading whitespace of the non-blank lines, so policies
/// can be written indented inside the test code.
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for l in text.lines() {
        if l.trim().is_empty() {
            continue;
        }
        out.push_str(&l[indent..]);
        out.push('\n');
    }
    out
}

/// A NetworkPolicy manifest; `body` holds `spec:` (indented freely).
fn np(ns: &str, name: &str, body: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: \"{ns}\"\n{}",
        dedent(body)
    )
}

use crate::support::try_analyze;

fn analyze_ok(fixture: &str, policies: &[String]) -> Analyzed {
    match try_analyze(fixture, policies) {
        Ok(a) => a,
        Err(f) => panic!(
            "valid input was rejected:\n{}",
            f.diagnostics
                .iter()
                .map(|d| format!("  {d}\n"))
                .collect::<String>()
        ),
    }
}

// ---------------------------------------------------------------------------
// The expectation DSL
// ---------------------------------------------------------------------------

/// Pods named by space-separated terms `ns/pod`, where either part may be
/// `*`; a lone `*` is every pod.
fn sel(pattern: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for term in pattern.split_whitespace() {
        let (ns, pod) = if term == "*" {
            ("*", "*")
        } else {
            term.split_once('/')
                .unwrap_or_else(|| panic!("bad pod pattern {term:?}"))
        };
        assert!(
            ns == "*" || NAMESPACES.contains(&ns),
            "unknown namespace in {term:?}"
        );
        assert!(pod == "*" || PODS.contains(&pod), "unknown pod in {term:?}");
        for i in 0..N {
            let (n, p) = (NAMESPACES[i / 3], PODS[i % 3]);
            if (ns == "*" || ns == n) && (pod == "*" || pod == p) {
                out.push(i);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    assert!(!out.is_empty(), "pattern {pattern:?} names no pod");
    out
}

/// Per pod and direction: `None` = not isolated (allows everything, NP-6);
/// `Some(row)` = isolated, `row[peer]` = what the rules allow with that peer.
type Sides = Vec<Option<Vec<ConnSet>>>;

#[derive(Clone)]
struct Expect {
    ingress: Sides,
    egress: Sides,
}

impl Expect {
    /// No pod is isolated in either direction.
    fn open() -> Self {
        Expect {
            ingress: vec![None; N],
            egress: vec![None; N],
        }
    }

    fn isolate(sides: &mut Sides, pods: &str) {
        for p in sel(pods) {
            sides[p].get_or_insert_with(|| vec![ConnSet::empty(); N]);
        }
    }

    fn allow(sides: &mut Sides, dir: &str, pods: &str, peers: &str, conns: &str) {
        let c = cs(conns);
        for p in sel(pods) {
            let row = sides[p].as_mut().unwrap_or_else(|| {
                panic!(
                    "expectation error: allow_{dir} on {} which is not {dir}-isolated",
                    pod_name(p)
                )
            });
            for q in sel(peers) {
                row[q].union_with(&c);
            }
        }
    }

    /// `to` is selected by a policy with Ingress among its types (NP-4).
    fn isolate_ingress(mut self, to: &str) -> Self {
        Self::isolate(&mut self.ingress, to);
        self
    }

    /// One more ingress rule of `to`: admits `conns` from `from` (NP-7, NP-8).
    fn allow_ingress(mut self, to: &str, from: &str, conns: &str) -> Self {
        Self::allow(&mut self.ingress, "ingress", to, from, conns);
        self
    }

    /// `from` is selected by a policy with Egress among its types (NP-4).
    fn isolate_egress(mut self, from: &str) -> Self {
        Self::isolate(&mut self.egress, from);
        self
    }

    /// One more egress rule of `from`: allows `conns` to `to` (NP-7, NP-8).
    fn allow_egress(mut self, from: &str, to: &str, conns: &str) -> Self {
        Self::allow(&mut self.egress, "egress", from, to, conns);
        self
    }

    /// M-14 / NP-21: both sides must allow.
    fn verdict(&self, src: usize, dst: usize) -> ConnSet {
        let e = self.egress[src]
            .as_ref()
            .map_or_else(ConnSet::all, |row| row[dst].clone());
        let i = self.ingress[dst]
            .as_ref()
            .map_or_else(ConnSet::all, |row| row[src].clone());
        e.intersection(&i)
    }
}

// ---------------------------------------------------------------------------
// Checking and printing
// ---------------------------------------------------------------------------

type Table = Vec<Vec<ConnSet>>;

fn workload(a: &Analyzed, i: usize) -> usize {
    let id = format!("{}[Pod]", pod_name(i));
    a.analysis
        .workload_index(&id)
        .unwrap_or_else(|| panic!("workload {id} missing"))
}

fn actual_table(a: &Analyzed) -> Table {
    (0..N)
        .map(|s| {
            (0..N)
                .map(|d| {
                    a.analysis.reach(
                        Endpoint::Workload(workload(a, s)),
                        Endpoint::Workload(workload(a, d)),
                    )
                })
                .collect()
        })
        .collect()
}

fn cell(c: &ConnSet) -> String {
    PROBES
        .iter()
        .map(
            |&(p, port, ch)| {
                if c.ports(p).contains(port) { ch } else { '.' }
            },
        )
        .collect()
}

fn grid(t: &Table, other: &Table) -> String {
    let mut s = String::from("src\\dst");
    for d in 0..N {
        write!(s, " {:<7}", pod_name(d)).unwrap();
    }
    s.push('\n');
    for (src, row) in t.iter().enumerate() {
        write!(s, "{:<7}", pod_name(src)).unwrap();
        for (dst, c) in row.iter().enumerate() {
            let mark = if *c == other[src][dst] { ' ' } else { '!' };
            write!(s, " {}{mark}", cell(c)).unwrap();
        }
        s.push('\n');
    }
    s
}

/// Compares the full 9×9 table of exact port sets.
fn assert_table(name: &str, a: &Analyzed, expect: &Expect) {
    let expected: Table = (0..N)
        .map(|s| (0..N).map(|d| expect.verdict(s, d)).collect())
        .collect();
    let actual = actual_table(a);
    if expected == actual {
        return;
    }
    let mut msg = format!(
        "scenario {name}: table differs (rows src, columns dst; T/t TCP 80/81, U/u UDP 80/81, S/s SCTP 80/81; ! = exact sets differ)\n\nexpected:\n{}\nactual:\n{}\ndifferences:\n",
        grid(&expected, &actual),
        grid(&actual, &expected)
    );
    for s in 0..N {
        for d in 0..N {
            if expected[s][d] != actual[s][d] {
                writeln!(
                    msg,
                    "  {} -> {}: expected {}, actual {}",
                    pod_name(s),
                    pod_name(d),
                    expected[s][d],
                    actual[s][d]
                )
                .unwrap();
            }
        }
    }
    panic!("{msg}");
}

/// Runs one scenario on the standard fixture.
fn check(name: &str, policies: &[String], expect: &Expect) -> Analyzed {
    check_with(name, &fixture(&[]), policies, expect)
}

fn check_with(name: &str, fixture: &str, policies: &[String], expect: &Expect) -> Analyzed {
    let a = analyze_ok(fixture, policies);
    assert_table(name, &a, expect);
    a
}

/// An endpoint by name: `x/a` is a pod, anything else an IPv4 address whose
/// atom is meant.
fn endpoint(a: &Analyzed, name: &str) -> Endpoint {
    if name.contains('/') {
        let i = sel(name);
        assert_eq!(i.len(), 1, "{name} is not one pod");
        Endpoint::Workload(workload(a, i[0]))
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

/// One pair involving an external address (exact port set).
fn assert_reach(a: &Analyzed, src: &str, dst: &str, conns: &str) {
    let got = a.analysis.reach(endpoint(a, src), endpoint(a, dst));
    assert_eq!(
        got,
        cs(conns),
        "{src} -> {dst}: expected {conns}, got {got}"
    );
}

fn has_warning(a: &Analyzed, code: Code) -> bool {
    a.diagnostics.iter().any(|d| d.code == code)
}

// ---------------------------------------------------------------------------
// Self-checks of the DSL (so that a wrong helper cannot hide engine bugs)
// ---------------------------------------------------------------------------

#[test]
fn dsl_selects_and_parses_as_documented() {
    assert_eq!(sel("*"), (0..9).collect::<Vec<_>>());
    assert_eq!(sel("x/*"), vec![0, 1, 2]);
    assert_eq!(sel("*/b"), vec![1, 4, 7]);
    assert_eq!(sel("z/c y/a y/a"), vec![3, 8]);
    assert_eq!(pod_name(5), "y/c");
    let c = cs("TCP 80, UDP, SCTP 79-81");
    assert_eq!(c.ports(Protocol::Tcp), &PortSet::single(80));
    assert!(c.ports(Protocol::Udp).is_all());
    assert_eq!(c.ports(Protocol::Sctp), &PortSet::range(79, 81));
    assert!(cs("all").is_all() && cs("none").is_empty());
    assert_eq!(cell(&cs("TCP 81, SCTP 80")), ".t..S.");
    let e = Expect::open()
        .isolate_ingress("x/a")
        .allow_ingress("x/a", "y/*", "TCP 80")
        .isolate_egress("y/b")
        .allow_egress("y/b", "x/*", "TCP");
    assert_eq!(e.verdict(sel("y/b")[0], 0), cs("TCP 80"));
    assert_eq!(e.verdict(sel("y/a")[0], 0), cs("TCP 80"));
    assert_eq!(e.verdict(sel("y/b")[0], 1), cs("TCP"));
    assert_eq!(e.verdict(sel("y/b")[0], 3), cs("none"));
    assert_eq!(e.verdict(0, 0), cs("none"));
    assert_eq!(e.verdict(1, 2), cs("all"));
    assert_eq!(dedent("\n    a:\n      b\n\n    c\n"), "a:\n  b\nc\n");
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// NP-6, M-14: without policies every pair (self rows too) allows everything,
/// and so do pairs with the external world (one atom, M-10).
#[test]
fn no_policies_allow_everything() {
    let a = check("no-policies", &[], &Expect::open());
    assert_eq!(a.analysis.atoms.len(), 1);
    assert_reach(&a, "x/a", "8.8.8.8", "all");
    assert_reach(&a, "8.8.8.8", "z/c", "all");
}

/// NP-2, NP-4, NP-7: `podSelector: {}` + `policyTypes: [Ingress]` with no
/// rules isolates every pod of x for ingress; NP-25: x/a -> x/a is denied
/// too; NP-1: y and z are untouched; egress of x is not isolated.
#[test]
fn default_deny_ingress_whole_namespace() {
    let p = np(
        "x",
        "default-deny-ingress",
        "
        spec:
          podSelector: {}
          policyTypes: [Ingress]
        ",
    );
    let a = check(
        "default-deny-ingress-ns",
        &[p],
        &Expect::open().isolate_ingress("x/*"),
    );
    assert_reach(&a, "8.8.8.8", "x/a", "none");
    assert_reach(&a, "x/a", "8.8.8.8", "all");
}

/// E-31, NP-2, NP-3: `spec: {}` selects every pod of y and defaults to
/// `[Ingress]`: deny all ingress in y.
#[test]
fn empty_spec_denies_ingress() {
    let p = np("y", "empty-spec", "spec: {}");
    check("empty-spec", &[p], &Expect::open().isolate_ingress("y/*"));
}

/// E-31, NP-2: `podSelector: null` selects every pod of z.
#[test]
fn null_pod_selector_selects_every_pod() {
    let p = np(
        "z",
        "null-selector",
        "spec: {podSelector: null, policyTypes: [Ingress]}",
    );
    check(
        "null-pod-selector",
        &[p],
        &Expect::open().isolate_ingress("z/*"),
    );
}

/// NP-2, NP-4, NP-7: default deny ingress for the single pod x/a.
#[test]
fn default_deny_ingress_single_pod() {
    let p = np(
        "x",
        "deny-a",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Ingress]
        ",
    );
    check(
        "default-deny-ingress-pod",
        &[p],
        &Expect::open().isolate_ingress("x/a"),
    );
}

/// NP-4, NP-7, NP-22: default deny egress for namespace x; ingress into x
/// stays open, also from outside.
#[test]
fn default_deny_egress_whole_namespace() {
    let p = np(
        "x",
        "default-deny-egress",
        "
        spec:
          podSelector: {}
          policyTypes: [Egress]
        ",
    );
    let a = check(
        "default-deny-egress-ns",
        &[p],
        &Expect::open().isolate_egress("x/*"),
    );
    assert_reach(&a, "x/a", "8.8.8.8", "none");
    assert_reach(&a, "8.8.8.8", "x/a", "all");
}

/// E-08, NP-3: `policyTypes: [Egress]` with `egress: []` is deny-all egress
/// for y/b only.
#[test]
fn default_deny_egress_single_pod() {
    let p = np(
        "y",
        "deny-egress-b",
        "
        spec:
          podSelector: {matchLabels: {pod: b}}
          policyTypes: [Egress]
          egress: []
        ",
    );
    check(
        "default-deny-egress-pod",
        &[p],
        &Expect::open().isolate_egress("y/b"),
    );
}

/// NP-4, NP-7, NP-21: x isolated both ways with no rules: nothing into or out
/// of x, not even within x; y <-> z unaffected.
#[test]
fn deny_all_both_directions() {
    let p = np(
        "x",
        "deny-all",
        "
        spec:
          podSelector: {}
          policyTypes: [Ingress, Egress]
        ",
    );
    let a = check(
        "deny-all",
        &[p],
        &Expect::open().isolate_ingress("x/*").isolate_egress("x/*"),
    );
    assert_reach(&a, "x/b", "8.8.8.8", "none");
    assert_reach(&a, "8.8.8.8", "x/b", "none");
}

/// NP-11 (namespaceSelector only), NP-10 matchLabels: x/a admits every pod
/// of namespace y, nothing else (not even x/a itself).
#[test]
fn allow_from_namespace_match_labels() {
    let p = np(
        "x",
        "from-y",
        r#"
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {ns: "y"}}
        "#,
    );
    check(
        "from-ns-matchlabels",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "y/*", "all"),
    );
}

/// NP-10 `In`, NP-11: every pod of x admits namespaces y and z.
#[test]
fn allow_from_namespace_in() {
    let p = np(
        "x",
        "from-y-z",
        r#"
        spec:
          podSelector: {}
          ingress:
          - from:
            - namespaceSelector:
                matchExpressions:
                - {key: ns, operator: In, values: ["y", "z"]}
        "#,
    );
    check(
        "from-ns-in",
        &[p],
        &Expect::open()
            .isolate_ingress("x/*")
            .allow_ingress("x/*", "y/* z/*", "all"),
    );
}

/// NP-10 `NotIn`, NP-11: y/c admits every namespace except its own.
#[test]
fn allow_from_namespace_not_in() {
    let p = np(
        "y",
        "not-from-y",
        r#"
        spec:
          podSelector: {matchLabels: {pod: c}}
          ingress:
          - from:
            - namespaceSelector:
                matchExpressions:
                - {key: ns, operator: NotIn, values: ["y"]}
        "#,
    );
    check(
        "from-ns-notin",
        &[p],
        &Expect::open()
            .isolate_ingress("y/c")
            .allow_ingress("y/c", "x/* z/*", "all"),
    );
}

/// NP-10 `Exists`, NP-11 AND peer: every namespace has `ns`, so z admits pod
/// b of every namespace.
#[test]
fn allow_from_namespace_exists() {
    let p = np(
        "z",
        "from-any-b",
        "
        spec:
          podSelector: {}
          ingress:
          - from:
            - namespaceSelector:
                matchExpressions:
                - {key: ns, operator: Exists}
              podSelector: {matchLabels: {pod: b}}
        ",
    );
    check(
        "from-ns-exists",
        &[p],
        &Expect::open()
            .isolate_ingress("z/*")
            .allow_ingress("z/*", "*/b", "all"),
    );
}

/// NP-10 `DoesNotExist`: no namespace lacks `ns`, so the first peer matches
/// nothing; every namespace lacks `team`, so the second (AND with pod=c)
/// matches */c. x/b admits only */c.
#[test]
fn allow_from_namespace_does_not_exist() {
    let p = np(
        "x",
        "does-not-exist",
        "
        spec:
          podSelector: {matchLabels: {pod: b}}
          ingress:
          - from:
            - namespaceSelector:
                matchExpressions:
                - {key: ns, operator: DoesNotExist}
            - namespaceSelector:
                matchExpressions:
                - {key: team, operator: DoesNotExist}
              podSelector: {matchLabels: {pod: c}}
        ",
    );
    check(
        "from-ns-doesnotexist",
        &[p],
        &Expect::open()
            .isolate_ingress("x/b")
            .allow_ingress("x/b", "*/c", "all"),
    );
}

/// NP-10 on a key only some namespaces carry (fixture variant: x has
/// `team: blue`, y has `team: red`, z has no `team`). Exists -> x, y;
/// DoesNotExist -> z; NotIn [red] -> x and z (missing key matches, E-14,
/// E-21); In [blue] -> x.
#[test]
fn namespace_expressions_on_a_partial_key() {
    let fx = fixture(&[("x", "team: \"blue\""), ("y", "team: \"red\"")]);
    let policies = [
        np(
            "x",
            "team-exists",
            "
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}]
            ",
        ),
        np(
            "y",
            "team-absent",
            "
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}}]
            ",
        ),
        np(
            "z",
            "team-not-red",
            "
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [red]}]}}]
            ",
        ),
        np(
            "z",
            "team-blue",
            "
            spec:
              podSelector: {matchLabels: {pod: b}}
              ingress:
              - from: [{namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [blue]}]}}]
            ",
        ),
    ];
    check_with(
        "ns-partial-key",
        &fx,
        &policies,
        &Expect::open()
            .isolate_ingress("x/a y/a z/a z/b")
            .allow_ingress("x/a", "x/* y/*", "all")
            .allow_ingress("y/a", "z/*", "all")
            .allow_ingress("z/a", "x/* z/*", "all")
            .allow_ingress("z/b", "x/*", "all"),
    );
}

/// NP-11: a lone podSelector peer is confined to the policy's namespace:
/// x/a admits x/b, not y/b or z/b. E-34: x/a -> x/a denied.
#[test]
fn allow_from_pod_in_same_namespace() {
    let p = np(
        "x",
        "from-b",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - podSelector: {matchLabels: {pod: b}}
        ",
    );
    check(
        "from-pod-same-ns",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "x/b", "all"),
    );
}

/// E-34, NP-25: a pod selected as its own peer admits its replicas.
#[test]
fn allow_from_own_label_admits_replicas() {
    let p = np(
        "x",
        "from-self",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - podSelector: {matchLabels: {pod: a}}
        ",
    );
    check(
        "from-self",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "x/a", "all"),
    );
}

/// E-01, NP-12: namespaceSelector and podSelector in ONE peer are ANDed:
/// only y/b.
#[test]
fn allow_from_pod_in_other_namespace_and() {
    let p = np(
        "x",
        "from-y-b",
        r#"
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {ns: "y"}}
              podSelector: {matchLabels: {pod: b}}
        "#,
    );
    check(
        "and-peer",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "y/b", "all"),
    );
}

/// E-02, NP-12: the same selectors as two list items are ORed: all of y,
/// plus pod b of the policy's own namespace x.
#[test]
fn allow_from_namespace_or_pod() {
    let p = np(
        "x",
        "from-y-or-b",
        r#"
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {ns: "y"}}
            - podSelector: {matchLabels: {pod: b}}
        "#,
    );
    check(
        "or-peers",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "y/* x/b", "all"),
    );
}

/// E-03: `namespaceSelector: {}` next to a podSelector widens it to every
/// namespace: */b. Selector peers never match external atoms (NP-11).
#[test]
fn empty_namespace_selector_with_pod_selector() {
    let p = np(
        "x",
        "from-any-b",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector: {}
              podSelector: {matchLabels: {pod: b}}
        ",
    );
    let a = check(
        "empty-ns-selector-and-pod",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "*/b", "all"),
    );
    assert_reach(&a, "8.8.8.8", "x/a", "none");
}

/// E-04: `namespaceSelector: {}` alone is every pod, but not external atoms.
#[test]
fn empty_namespace_selector_alone() {
    let p = np(
        "x",
        "from-all-pods",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector: {}
        ",
    );
    let a = check(
        "empty-ns-selector",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "*", "all"),
    );
    assert_reach(&a, "8.8.8.8", "x/a", "none");
    assert_reach(&a, "8.8.8.8", "x/b", "all");
}

/// E-05 (policy X), NP-9, NP-16: `ingress: [{}]` admits everything, external
/// atoms included.
#[test]
fn ingress_with_one_empty_rule_allows_all() {
    let p = np(
        "x",
        "allow-all",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress: [{}]
        ",
    );
    let a = check(
        "ingress-[{}]",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "*", "all"),
    );
    assert_reach(&a, "8.8.8.8", "x/a", "all");
}

/// E-05 (policy Y), NP-3, NP-7: `ingress: []` isolates with no rule.
#[test]
fn ingress_empty_list_denies_all() {
    let p = np(
        "x",
        "deny",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress: []
        ",
    );
    let a = check("ingress-[]", &[p], &Expect::open().isolate_ingress("x/a"));
    assert_reach(&a, "8.8.8.8", "x/a", "none");
}

/// E-05 (X and Y together), NP-7: union, so everything is allowed again.
#[test]
fn ingress_allow_all_and_deny_all_together() {
    let x = np(
        "x",
        "allow-all",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress: [{}]
        ",
    );
    let y = np(
        "x",
        "deny",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress: []
        ",
    );
    let a = check(
        "ingress-[{}]-and-[]",
        &[y, x],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "*", "all"),
    );
    assert_reach(&a, "8.8.8.8", "x/a", "all");
}

/// E-07, NP-3: egress rules without policyTypes give types [Ingress, Egress]:
/// all ingress to x/a denied; x/a may only reach x/b.
#[test]
fn policy_types_default_with_egress_rules() {
    let p = np(
        "x",
        "egress-to-b",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          egress:
          - to: [{podSelector: {matchLabels: {pod: b}}}]
        ",
    );
    let a = check(
        "types-default-egress",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .isolate_egress("x/a")
            .allow_egress("x/a", "x/b", "all"),
    );
    assert_reach(&a, "x/a", "8.8.8.8", "none");
}

/// E-08, NP-3: `egress: []` without policyTypes does not isolate egress; the
/// policy is deny-all ingress only.
#[test]
fn empty_egress_list_does_not_isolate_egress() {
    let p = np(
        "x",
        "egress-empty",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          egress: []
        ",
    );
    let a = check("egress-[]", &[p], &Expect::open().isolate_ingress("x/a"));
    assert_reach(&a, "x/a", "8.8.8.8", "all");
}

/// NP-3: `policyTypes: []` is defaulted like an absent list: Ingress, plus
/// Egress because there is an egress rule.
#[test]
fn empty_policy_types_list_is_defaulted() {
    let p = np(
        "y",
        "types-empty",
        r#"
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: []
          egress:
          - to: [{namespaceSelector: {matchLabels: {ns: "z"}}}]
        "#,
    );
    check(
        "types-[]",
        &[p],
        &Expect::open()
            .isolate_ingress("y/a")
            .isolate_egress("y/a")
            .allow_egress("y/a", "z/*", "all"),
    );
}

/// E-06, NP-5: `policyTypes: [Egress]` makes the ingress section dead; x/a
/// stays ingress-open and may only send to x/b.
#[test]
fn egress_only_policy_type_ignores_ingress_rules() {
    let p = np(
        "x",
        "egress-only",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          ingress:
          - from: [{podSelector: {matchLabels: {pod: b}}}]
          egress:
          - to: [{podSelector: {matchLabels: {pod: b}}}]
        ",
    );
    check(
        "types-egress-dead-ingress",
        &[p],
        &Expect::open()
            .isolate_egress("x/a")
            .allow_egress("x/a", "x/b", "all"),
    );
}

/// E-09, NP-5: `policyTypes: [Ingress]` makes the egress section dead.
#[test]
fn ingress_only_policy_type_ignores_egress_rules() {
    let p = np(
        "x",
        "ingress-only",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Ingress]
          egress:
          - to: [{podSelector: {matchLabels: {pod: b}}}]
        ",
    );
    check(
        "types-ingress-dead-egress",
        &[p],
        &Expect::open().isolate_ingress("x/a"),
    );
}

/// NP-16, NP-18: a named port (protocol defaults to TCP) resolves on the
/// destination: TCP 80 only. A rule with only `ports` admits every peer,
/// external atoms included (NP-9, E-04).
#[test]
fn named_port_tcp() {
    let p = np(
        "x",
        "named-80",
        "
        spec:
          podSelector: {}
          ingress:
          - ports: [{port: serve-80-tcp}]
        ",
    );
    let a = check(
        "named-port-tcp",
        &[p],
        &Expect::open()
            .isolate_ingress("x/*")
            .allow_ingress("x/*", "*", "TCP 80"),
    );
    assert_reach(&a, "8.8.8.8", "x/a", "TCP 80");
}

/// NP-18: named ports with explicit UDP and SCTP protocols.
#[test]
fn named_ports_udp_and_sctp() {
    let p = np(
        "y",
        "named-udp-sctp",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - ports:
            - {protocol: UDP, port: serve-81-udp}
            - {protocol: SCTP, port: serve-80-sctp}
        ",
    );
    check(
        "named-port-udp-sctp",
        &[p],
        &Expect::open()
            .isolate_ingress("y/a")
            .allow_ingress("y/a", "*", "UDP 81, SCTP 80"),
    );
}

/// E-12, NP-18, NP-19: a named port whose protocol does not match the
/// declared one (TCP default vs UDP port; SCTP vs TCP port) and an undeclared
/// name resolve to nothing: z is isolated with no traffic at all; warning.
#[test]
fn named_port_with_wrong_protocol_allows_nothing() {
    let p = np(
        "z",
        "named-wrong-proto",
        "
        spec:
          podSelector: {}
          ingress:
          - ports:
            - {port: serve-80-udp}
            - {protocol: SCTP, port: serve-81-tcp}
            - {protocol: UDP, port: no-such-port}
        ",
    );
    let a = check(
        "named-port-wrong-proto",
        &[p],
        &Expect::open().isolate_ingress("z/*"),
    );
    assert!(has_warning(&a, Code::NamedPortUnresolved));
}

/// NP-18, C4, NP-19: in an egress rule a named port resolves on the
/// destination pod (TCP 81 everywhere here) and never matches an external
/// address.
#[test]
fn named_port_in_egress_resolves_on_destination() {
    let p = np(
        "x",
        "egress-named",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          egress:
          - ports: [{port: serve-81-tcp}]
        ",
    );
    let a = check(
        "named-port-egress",
        &[p],
        &Expect::open()
            .isolate_egress("x/a")
            .allow_egress("x/a", "*", "TCP 81"),
    );
    assert_reach(&a, "x/a", "8.8.8.8", "none");
    assert!(has_warning(&a, Code::NamedPortExternal));
}

/// NP-16: numeric port with protocol UDP, from namespace y only.
#[test]
fn numeric_port_udp() {
    let p = np(
        "x",
        "udp-80",
        r#"
        spec:
          podSelector: {matchLabels: {pod: b}}
          ingress:
          - from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
            ports: [{protocol: UDP, port: 80}]
        "#,
    );
    check(
        "numeric-udp",
        &[p],
        &Expect::open()
            .isolate_ingress("x/b")
            .allow_ingress("x/b", "y/*", "UDP 80"),
    );
}

/// NP-16, NP-11: numeric SCTP port; `podSelector: {}` alone is every pod of
/// the policy's own namespace.
#[test]
fn numeric_port_sctp() {
    let p = np(
        "y",
        "sctp-81",
        "
        spec:
          podSelector: {matchLabels: {pod: c}}
          ingress:
          - from: [{podSelector: {}}]
            ports: [{protocol: SCTP, port: 81}]
        ",
    );
    check(
        "numeric-sctp",
        &[p],
        &Expect::open()
            .isolate_ingress("y/c")
            .allow_ingress("y/c", "y/*", "SCTP 81"),
    );
}

/// E-27, NP-16: `protocol: UDP` without port is all of UDP and nothing else.
#[test]
fn protocol_without_port() {
    let p = np(
        "x",
        "udp-any",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from: [{podSelector: {matchLabels: {pod: b}}}]
            ports: [{protocol: UDP}]
        ",
    );
    check(
        "protocol-without-port",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "x/b", "UDP"),
    );
}

/// NP-16: `port: 81` without protocol is TCP 81 only.
#[test]
fn port_without_protocol_is_tcp() {
    let p = np(
        "z",
        "tcp-81",
        "
        spec:
          podSelector: {}
          ingress:
          - ports: [{port: 81}]
        ",
    );
    check(
        "port-without-protocol",
        &[p],
        &Expect::open()
            .isolate_ingress("z/*")
            .allow_ingress("z/*", "*", "TCP 81"),
    );
}

/// NP-16, E-25: `port: 80, endPort: 81` is the inclusive range TCP 80-81.
#[test]
fn end_port_range() {
    let p = np(
        "z",
        "range",
        "
        spec:
          podSelector: {}
          ingress:
          - ports: [{port: 80, endPort: 81}]
        ",
    );
    check(
        "endport-80-81",
        &[p],
        &Expect::open()
            .isolate_ingress("z/*")
            .allow_ingress("z/*", "*", "TCP 80-81"),
    );
}

/// E-25, NP-17: `endPort` equal to `port` is valid and means that port;
/// a UDP range 79-80 covers the 80 probe only.
#[test]
fn end_port_equal_to_port() {
    let p = np(
        "y",
        "range-equal",
        "
        spec:
          podSelector: {matchLabels: {pod: b}}
          ingress:
          - ports:
            - {protocol: SCTP, port: 81, endPort: 81}
            - {protocol: UDP, port: 79, endPort: 80}
        ",
    );
    check(
        "endport-equal",
        &[p],
        &Expect::open()
            .isolate_ingress("y/b")
            .allow_ingress("y/b", "*", "SCTP 81, UDP 79-80"),
    );
}

/// E-28, NP-16: `ports: []` and `ports: null` both mean every port.
#[test]
fn empty_and_null_ports_mean_all() {
    let p = np(
        "x",
        "ports-empty",
        r#"
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from: [{podSelector: {matchLabels: {pod: c}}}]
            ports: []
          - from: [{namespaceSelector: {matchLabels: {ns: "z"}}}]
            ports: null
        "#,
    );
    check(
        "ports-empty-null",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "x/c z/*", "all"),
    );
}

/// NP-8, NP-16: ports bind to the peers of their own rule; entries within one
/// `ports` list are ORed.
#[test]
fn ports_apply_per_rule() {
    let p = np(
        "z",
        "per-rule",
        r#"
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from: [{namespaceSelector: {matchLabels: {ns: "x"}}}]
            ports: [{port: 80}, {protocol: SCTP, port: 81}]
          - from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
            ports: [{protocol: UDP, port: 81}]
        "#,
    );
    check(
        "ports-per-rule",
        &[p],
        &Expect::open()
            .isolate_ingress("z/a")
            .allow_ingress("z/a", "x/*", "TCP 80, SCTP 81")
            .allow_ingress("z/a", "y/*", "UDP 81"),
    );
}

/// E-32, NP-7: policies add up; there is no deny. A namespace-wide deny plus
/// three allows (one AND peer) give the union per pair: y/c -> x/a gets
/// UDP 81 (policy 3) and TCP 81 (policy 4).
#[test]
fn multiple_policies_add_up() {
    let policies = [
        np(
            "x",
            "deny",
            "
            spec: {podSelector: {}, policyTypes: [Ingress]}
            ",
        ),
        np(
            "x",
            "a-from-b",
            "
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{podSelector: {matchLabels: {pod: b}}}]
                ports: [{port: 80}]
            ",
        ),
        np(
            "x",
            "a-from-y",
            r#"
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
                ports: [{protocol: UDP, port: 81}]
            "#,
        ),
        np(
            "x",
            "all-from-y-c",
            r#"
            spec:
              podSelector: {}
              ingress:
              - from:
                - namespaceSelector: {matchLabels: {ns: "y"}}
                  podSelector: {matchLabels: {pod: c}}
                ports: [{port: 81}]
            "#,
        ),
    ];
    check(
        "union",
        &policies,
        &Expect::open()
            .isolate_ingress("x/*")
            .allow_ingress("x/a", "x/b", "TCP 80")
            .allow_ingress("x/a", "y/*", "UDP 81")
            .allow_ingress("x/*", "y/c", "TCP 81"),
    );
}

/// E-32: the order of policies is irrelevant (same as above, reversed).
#[test]
fn policy_order_is_irrelevant() {
    let policies = [
        np(
            "x",
            "a-from-b",
            "
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{podSelector: {matchLabels: {pod: b}}}]
                ports: [{port: 80}]
            ",
        ),
        np(
            "x",
            "deny",
            "
            spec: {podSelector: {}, policyTypes: [Ingress]}
            ",
        ),
    ];
    check(
        "union-order",
        &policies,
        &Expect::open()
            .isolate_ingress("x/*")
            .allow_ingress("x/a", "x/b", "TCP 80"),
    );
}

/// E-33, NP-21: both sides must allow. y may only send TCP 80 to x; x/a
/// admits all of y. y -> x/a is TCP 80 (intersection), y -> x/b TCP 80
/// (x/b not isolated), y -> y nothing, z -> x/a nothing.
#[test]
fn both_sides_must_allow() {
    let policies = [
        np(
            "y",
            "egress-to-x-80",
            r#"
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress:
              - to: [{namespaceSelector: {matchLabels: {ns: "x"}}}]
                ports: [{port: 80}]
            "#,
        ),
        np(
            "x",
            "a-from-y",
            r#"
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
            "#,
        ),
    ];
    check(
        "both-sides",
        &policies,
        &Expect::open()
            .isolate_egress("y/*")
            .allow_egress("y/*", "x/*", "TCP 80")
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "y/*", "all"),
    );
}

/// E-33 literally: an egress deny-all in y blocks y -> x/a although x/a
/// admits y.
#[test]
fn egress_deny_beats_ingress_allow() {
    let policies = [
        np(
            "y",
            "deny-egress",
            "spec: {podSelector: {}, policyTypes: [Egress]}",
        ),
        np(
            "x",
            "a-from-y",
            r#"
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
            "#,
        ),
    ];
    check(
        "both-sides-deny",
        &policies,
        &Expect::open()
            .isolate_egress("y/*")
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "y/*", "all"),
    );
}

/// NP-28, E-10: egress limited to port 53 (UDP and TCP) to anywhere: every
/// probe from x is denied; the exact sets are TCP 53 + UDP 53, also towards
/// external addresses.
#[test]
fn egress_to_dns_port_only() {
    let p = np(
        "x",
        "dns-only",
        "
        spec:
          podSelector: {}
          policyTypes: [Egress]
          egress:
          - ports:
            - {protocol: UDP, port: 53}
            - {protocol: TCP, port: 53}
        ",
    );
    let a = check(
        "egress-dns-only",
        &[p],
        &Expect::open()
            .isolate_egress("x/*")
            .allow_egress("x/*", "*", "UDP 53, TCP 53"),
    );
    assert_reach(&a, "x/c", "8.8.8.8", "UDP 53, TCP 53");
}

/// E-10, E-22, NP-11: egress to all of y, plus DNS to one pod selected by
/// namespace name AND pod label.
#[test]
fn egress_to_namespace_plus_dns_pod() {
    let p = np(
        "x",
        "egress-y-and-dns",
        r#"
        spec:
          podSelector: {}
          policyTypes: [Egress]
          egress:
          - to: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
          - to:
            - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "z"}}
              podSelector: {matchLabels: {pod: c}}
            ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
        "#,
    );
    let a = check(
        "egress-y-and-dns",
        &[p],
        &Expect::open()
            .isolate_egress("x/*")
            .allow_egress("x/*", "y/*", "all")
            .allow_egress("x/*", "z/c", "UDP 53, TCP 53"),
    );
    assert_reach(&a, "x/a", "8.8.8.8", "none");
}

/// NP-7, NP-21: deny all both ways in x, with one exception opened on both
/// sides: x/b -> x/a TCP 80 and nothing else touching x.
#[test]
fn deny_all_with_exceptions() {
    let policies = [
        np(
            "x",
            "deny-all",
            "spec: {podSelector: {}, policyTypes: [Ingress, Egress]}",
        ),
        np(
            "x",
            "a-from-b",
            "
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{podSelector: {matchLabels: {pod: b}}}]
                ports: [{port: 80}]
            ",
        ),
        np(
            "x",
            "b-to-a",
            "
            spec:
              podSelector: {matchLabels: {pod: b}}
              policyTypes: [Egress]
              egress:
              - to: [{podSelector: {matchLabels: {pod: a}}}]
                ports: [{port: 80}]
            ",
        ),
    ];
    check(
        "deny-all-exceptions",
        &policies,
        &Expect::open()
            .isolate_ingress("x/*")
            .isolate_egress("x/*")
            .allow_ingress("x/a", "x/b", "TCP 80")
            .allow_egress("x/b", "x/a", "TCP 80"),
    );
}

/// E-22, NP-15, M-7: namespaces by `kubernetes.io/metadata.name`, which
/// reachdiff adds (the manifests do not carry it).
#[test]
fn select_namespace_by_metadata_name() {
    let p = np(
        "x",
        "from-z-by-name",
        r#"
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "z"}}
        "#,
    );
    check(
        "metadata-name",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "z/*", "all"),
    );
}

/// E-22, M-7: a manifest writing another value for
/// `kubernetes.io/metadata.name` is overwritten with the real name: "z"
/// matches namespace z, "not-z" matches nothing.
#[test]
fn metadata_name_label_is_forced() {
    let fx = fixture(&[("z", "kubernetes.io/metadata.name: \"not-z\"")]);
    let policies = [
        np(
            "x",
            "from-z",
            r#"
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "z"}}}]
            "#,
        ),
        np(
            "x",
            "from-not-z",
            r#"
            spec:
              podSelector: {matchLabels: {pod: b}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "not-z"}}}]
            "#,
        ),
    ];
    check_with(
        "metadata-name-forced",
        &fx,
        &policies,
        &Expect::open()
            .isolate_ingress("x/a x/b")
            .allow_ingress("x/a", "z/*", "all"),
    );
}

/// E-20: a policy whose podSelector matches no pod isolates nothing.
#[test]
fn policy_selecting_nothing_has_no_effect() {
    let p = np(
        "x",
        "ghost",
        "
        spec:
          podSelector: {matchLabels: {pod: ghost}}
          policyTypes: [Ingress, Egress]
        ",
    );
    check("selects-nothing", &[p], &Expect::open());
}

/// E-14, NP-10: `NotIn` selects pods lacking the key (all of y) and pods
/// with another value (z/b, z/c).
#[test]
fn not_in_selects_pods_without_the_key() {
    let policies = [
        np(
            "y",
            "not-frontend",
            "
            spec:
              podSelector:
                matchExpressions:
                - {key: tier, operator: NotIn, values: [frontend]}
              policyTypes: [Ingress]
            ",
        ),
        np(
            "z",
            "not-a",
            "
            spec:
              podSelector:
                matchExpressions:
                - {key: pod, operator: NotIn, values: [a]}
              policyTypes: [Ingress]
            ",
        ),
    ];
    check(
        "notin-missing-key",
        &policies,
        &Expect::open().isolate_ingress("y/* z/b z/c"),
    );
}

/// E-14, NP-10: `In` and `Exists` on a missing key select nothing;
/// `DoesNotExist` selects every pod, ANDed with `pod In [c]` only x/c.
#[test]
fn in_and_exists_on_missing_key_select_nothing() {
    let policies = [
        np(
            "x",
            "tier-in",
            "
            spec:
              podSelector: {matchExpressions: [{key: tier, operator: In, values: [frontend]}]}
              policyTypes: [Ingress, Egress]
            ",
        ),
        np(
            "x",
            "tier-exists",
            "
            spec:
              podSelector: {matchExpressions: [{key: tier, operator: Exists}]}
              policyTypes: [Ingress, Egress]
            ",
        ),
        np(
            "x",
            "tier-absent-c",
            "
            spec:
              podSelector:
                matchExpressions:
                - {key: tier, operator: DoesNotExist}
                - {key: pod, operator: In, values: [c]}
              policyTypes: [Ingress]
            ",
        ),
    ];
    check(
        "in-exists-missing-key",
        &policies,
        &Expect::open().isolate_ingress("x/c"),
    );
}

/// NP-10: matchExpressions in spec.podSelector and in a peer podSelector
/// (confined to x, NP-11).
#[test]
fn pod_selector_match_expressions() {
    let p = np(
        "x",
        "expr",
        "
        spec:
          podSelector:
            matchExpressions: [{key: pod, operator: In, values: [a, b]}]
          ingress:
          - from:
            - podSelector:
                matchExpressions: [{key: pod, operator: NotIn, values: [a]}]
        ",
    );
    check(
        "pod-expressions",
        &[p],
        &Expect::open()
            .isolate_ingress("x/a x/b")
            .allow_ingress("x/a x/b", "x/b x/c", "all"),
    );
}

/// NP-10: matchLabels and matchExpressions of one selector are ANDed, in
/// both the namespace and the pod selector of an AND peer: only x/a.
#[test]
fn match_labels_and_expressions_are_anded() {
    let p = np(
        "y",
        "and-and",
        r#"
        spec:
          podSelector: {}
          ingress:
          - from:
            - namespaceSelector:
                matchLabels: {ns: "x"}
                matchExpressions:
                - {key: kubernetes.io/metadata.name, operator: In, values: ["x", "y"]}
              podSelector:
                matchLabels: {pod: a}
                matchExpressions:
                - {key: pod, operator: In, values: [a, b]}
        "#,
    );
    check(
        "labels-and-expressions",
        &[p],
        &Expect::open()
            .isolate_ingress("y/*")
            .allow_ingress("y/*", "x/a", "all"),
    );
}

/// C1, E-17, NP-14: an egress rule with only `ipBlock: 0.0.0.0/0` never
/// matches pods: x/a reaches no pod (not even a replica of itself) but every
/// external address; warning about cluster ranges.
#[test]
fn egress_ip_block_never_matches_pods() {
    let p = np(
        "x",
        "internet",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          egress:
          - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
        ",
    );
    let a = check(
        "egress-ipblock-all",
        &[p],
        &Expect::open().isolate_egress("x/a"),
    );
    assert_reach(&a, "x/a", "8.8.8.8", "all");
    assert_reach(&a, "x/a", "10.1.2.3", "all");
    assert_reach(&a, "x/b", "8.8.8.8", "all");
}

/// E-17, NP-14: "reachdiff emits the warning of NP-14" for an ipBlock
/// `0.0.0.0/0` without excepts (on IP-matching CNIs it may also admit
/// in-cluster traffic).
#[test]
fn ip_block_covering_pod_ranges_warns() {
    let p = np(
        "x",
        "internet",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          egress:
          - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
        ",
    );
    let a = analyze_ok(&fixture(&[]), &[p]);
    assert!(
        has_warning(&a, Code::IpBlockClusterRange),
        "no ipblock-cluster-range warning; diagnostics:\n{}",
        a.diagnostics
            .iter()
            .map(|d| format!("  {d}\n"))
            .collect::<String>()
    );
}

/// E-16, NP-13, M-10, C1: `0.0.0.0/0 except 10.0.0.0/8` with a port: x/b
/// reaches TCP 80 on addresses outside 10/8, nothing inside, no pods.
#[test]
fn egress_ip_block_with_except() {
    let p = np(
        "x",
        "internet-80",
        "
        spec:
          podSelector: {matchLabels: {pod: b}}
          policyTypes: [Egress]
          egress:
          - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]
            ports: [{port: 80}]
        ",
    );
    let a = check(
        "egress-ipblock-except",
        &[p],
        &Expect::open().isolate_egress("x/b"),
    );
    assert_eq!(a.analysis.atoms.len(), 2);
    assert_reach(&a, "x/b", "8.8.8.8", "TCP 80");
    assert_reach(&a, "x/b", "10.1.2.3", "none");
    assert_reach(&a, "x/a", "10.1.2.3", "all");
}

/// C1, NP-14, NP-23: an ingress ipBlock admits external addresses only.
#[test]
fn ingress_ip_block_never_matches_pods() {
    let p = np(
        "y",
        "from-lan",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from: [{ipBlock: {cidr: 192.168.0.0/16}}]
        ",
    );
    let a = check(
        "ingress-ipblock",
        &[p],
        &Expect::open().isolate_ingress("y/a"),
    );
    assert_reach(&a, "192.168.1.1", "y/a", "all");
    assert_reach(&a, "8.8.8.8", "y/a", "none");
    assert_reach(&a, "8.8.8.8", "y/b", "all");
}

/// NP-9: `from: []` matches every endpoint, external atoms included.
#[test]
fn empty_from_list_matches_everything() {
    let p = np(
        "x",
        "sctp-from-anyone",
        "
        spec:
          podSelector: {matchLabels: {pod: c}}
          ingress:
          - from: []
            ports: [{protocol: SCTP}]
        ",
    );
    let a = check(
        "from-[]",
        &[p],
        &Expect::open()
            .isolate_ingress("x/c")
            .allow_ingress("x/c", "*", "SCTP"),
    );
    assert_reach(&a, "8.8.8.8", "x/c", "SCTP");
}

/// NP-9, NP-16: `egress: [{}]` with policyTypes Egress allows everything.
#[test]
fn egress_with_one_empty_rule_allows_all() {
    let p = np(
        "z",
        "egress-all",
        "
        spec:
          podSelector: {}
          policyTypes: [Egress]
          egress: [{}]
        ",
    );
    let a = check(
        "egress-[{}]",
        &[p],
        &Expect::open()
            .isolate_egress("z/*")
            .allow_egress("z/*", "*", "all"),
    );
    assert_reach(&a, "z/a", "8.8.8.8", "all");
}

/// NP-4, NP-21, NP-24: an ingress policy on x/a and an egress policy on y/b
/// combine on the pairs they share.
#[test]
fn ingress_and_egress_policies_on_different_pods() {
    let policies = [
        np(
            "x",
            "a-from-y",
            r#"
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
            "#,
        ),
        np(
            "y",
            "b-to-x",
            r#"
            spec:
              podSelector: {matchLabels: {pod: b}}
              policyTypes: [Egress]
              egress:
              - to: [{namespaceSelector: {matchLabels: {ns: "x"}}}]
                ports: [{port: 80, endPort: 81}, {protocol: UDP}]
            "#,
        ),
    ];
    check(
        "ingress-and-egress",
        &policies,
        &Expect::open()
            .isolate_ingress("x/a")
            .allow_ingress("x/a", "y/*", "all")
            .isolate_egress("y/b")
            .allow_egress("y/b", "x/*", "TCP 80-81, UDP"),
    );
}

/// NP-4: one pod, two policies, one per direction.
#[test]
fn separate_ingress_and_egress_policies_on_one_pod() {
    let policies = [
        np(
            "z",
            "in-from-y",
            r#"
            spec:
              podSelector: {matchLabels: {pod: c}}
              policyTypes: [Ingress]
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
                ports: [{protocol: UDP, port: 80}]
            "#,
        ),
        np(
            "z",
            "out-to-y",
            r#"
            spec:
              podSelector: {matchLabels: {pod: c}}
              policyTypes: [Egress]
              egress:
              - to: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
                ports: [{protocol: SCTP, port: 81}]
            "#,
        ),
    ];
    check(
        "one-pod-two-directions",
        &policies,
        &Expect::open()
            .isolate_ingress("z/c")
            .allow_ingress("z/c", "y/*", "UDP 80")
            .isolate_egress("z/c")
            .allow_egress("z/c", "y/*", "SCTP 81"),
    );
}

/// NP-1: a policy in y with `pod: a` affects y/a only, not x/a or z/a.
#[test]
fn policy_scope_is_its_namespace() {
    let p = np(
        "y",
        "deny-a",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Ingress, Egress]
        ",
    );
    check(
        "scope",
        &[p],
        &Expect::open().isolate_ingress("y/a").isolate_egress("y/a"),
    );
}

/// NP-11, NP-12: egress with an AND peer and an OR peer in one rule.
#[test]
fn egress_and_peer_versus_or_peers() {
    let p = np(
        "z",
        "egress-peers",
        r#"
        spec:
          podSelector: {matchLabels: {pod: b}}
          policyTypes: [Egress]
          egress:
          - to:
            - namespaceSelector: {matchLabels: {ns: "x"}}
              podSelector: {matchLabels: {pod: a}}
            - podSelector: {matchLabels: {pod: c}}
            ports: [{port: 81}]
        "#,
    );
    check(
        "egress-and-or",
        &[p],
        &Expect::open()
            .isolate_egress("z/b")
            .allow_egress("z/b", "x/a z/c", "TCP 81"),
    );
}

/// NP-18, M-5, NP-19: named ports resolve on the destination pod, per pod
/// (fixture variant). z/a also has a sidecar (initContainer with
/// `restartPolicy: Always`) declaring `extra` = 9090, and a plain
/// initContainer declaring `extra` = 7070, which does not count; z/b has a
/// second container also naming `serve-80-tcp` (8080; every match counts,
/// NP-18 [conv]); z/c names TCP 81 `serve-80-tcp`. Egress from x/a and
/// ingress into z therefore differ per destination, never per source.
#[test]
fn named_ports_resolve_per_destination() {
    let z_a = format!(
        "{STANDARD_CONTAINERS}{}",
        dedent(
            "
            initContainers:
            - name: sidecar
              image: registry.k8s.io/pause:3.10
              restartPolicy: Always
              ports:
              - {name: extra, containerPort: 9090}
            - name: init
              image: registry.k8s.io/pause:3.10
              ports:
              - {name: extra, containerPort: 7070}
            "
        )
    );
    let z_b = format!(
        "{STANDARD_CONTAINERS}{}",
        dedent(
            "
            - name: second
              image: registry.k8s.io/pause:3.10
              ports:
              - {name: serve-80-tcp, containerPort: 8080}
            "
        )
    );
    let z_c = "
        containers:
        - name: cont
          image: registry.k8s.io/e2e-test-images/agnhost:2.53
          ports:
          - {name: serve-80-tcp, containerPort: 81, protocol: TCP}
          - {name: serve-80-udp, containerPort: 80, protocol: UDP}
        ";
    let fx = Fixture {
        pod_specs: &[("z/a", &z_a), ("z/b", &z_b), ("z/c", z_c)],
        ..Fixture::default()
    }
    .yaml();
    let policies = [
        np(
            "x",
            "a-egress-named",
            "
            spec:
              podSelector: {matchLabels: {pod: a}}
              policyTypes: [Egress]
              egress:
              - ports: [{port: serve-80-tcp}, {port: extra}]
            ",
        ),
        np(
            "z",
            "ingress-named",
            r#"
            spec:
              podSelector: {}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]
                ports: [{port: serve-80-tcp}]
            "#,
        ),
    ];
    let a = check_with(
        "named-per-destination",
        &fx,
        &policies,
        &Expect::open()
            .isolate_egress("x/a")
            .allow_egress("x/a", "x/* y/* z/a z/b", "TCP 80")
            .allow_egress("x/a", "z/a", "TCP 9090")
            .allow_egress("x/a", "z/b", "TCP 8080")
            .allow_egress("x/a", "z/c", "TCP 81")
            .isolate_ingress("z/*")
            .allow_ingress("z/a z/b", "y/*", "TCP 80")
            .allow_ingress("z/b", "y/*", "TCP 8080")
            .allow_ingress("z/c", "y/*", "TCP 81"),
    );
    assert_reach(&a, "x/a", "8.8.8.8", "none");
    assert!(has_warning(&a, Code::NamedPortUnresolved));
}

/// E-21, M-9, C5: without a Namespace manifest, z is assumed to carry only
/// `kubernetes.io/metadata.name: z` (warning). `ns: z` then matches nothing,
/// `ns NotIn [x]` matches y and z, and selecting z by name still works.
#[test]
fn namespace_without_manifest() {
    let fx = Fixture {
        no_manifest: &["z"],
        ..Fixture::default()
    }
    .yaml();
    let policies = [
        np(
            "x",
            "a-from-ns-z",
            r#"
            spec:
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns: "z"}}}]
            "#,
        ),
        np(
            "x",
            "b-from-not-x",
            r#"
            spec:
              podSelector: {matchLabels: {pod: b}}
              ingress:
              - from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: ["x"]}]}}]
            "#,
        ),
        np(
            "x",
            "c-from-z-by-name",
            r#"
            spec:
              podSelector: {matchLabels: {pod: c}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "z"}}}]
            "#,
        ),
    ];
    let a = check_with(
        "namespace-without-manifest",
        &fx,
        &policies,
        &Expect::open()
            .isolate_ingress("x/*")
            .allow_ingress("x/b", "y/* z/*", "all")
            .allow_ingress("x/c", "z/*", "all"),
    );
    assert!(has_warning(&a, Code::NamespaceAssumed));
}

/// E-24, M-3: a policy without `metadata.namespace` belongs to `default`
/// and affects none of x, y, z.
#[test]
fn policy_without_namespace_belongs_to_default() {
    let p = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: no-namespace
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"
    .to_string();
    check("policy-default-namespace", &[p], &Expect::open());
}

/// E-36, M-4, C6: a selector on a controller-added label sees template
/// labels only: selects nothing, with a warning.
#[test]
fn controller_label_selects_nothing() {
    let p = np(
        "x",
        "by-hash",
        r#"
        spec:
          podSelector: {matchLabels: {pod-template-hash: "abc123"}}
          policyTypes: [Ingress]
        "#,
    );
    let a = check("controller-label", &[p], &Expect::open());
    assert!(has_warning(&a, Code::ControllerLabel));
}

/// E-18, M-10, C1: an `except` of one ipBlock does not cancel another peer.
/// Four atoms; pods are never matched.
#[test]
fn except_does_not_cancel_another_peer() {
    let p = np(
        "x",
        "ten",
        "
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          egress:
          - to:
            - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
            - ipBlock: {cidr: 10.1.2.0/24}
        ",
    );
    let a = check(
        "except-other-peer",
        &[p],
        &Expect::open().isolate_egress("x/a"),
    );
    assert_eq!(a.analysis.atoms.len(), 4);
    assert_reach(&a, "x/a", "10.1.2.3", "all");
    assert_reach(&a, "x/a", "10.0.0.1", "all");
    assert_reach(&a, "x/a", "10.200.0.1", "all");
    assert_reach(&a, "x/a", "10.1.0.1", "none");
    assert_reach(&a, "x/a", "10.1.3.1", "none");
    assert_reach(&a, "x/a", "8.8.8.8", "none");
    assert_reach(&a, "8.8.8.8", "x/a", "all");
}

// ---------------------------------------------------------------------------
// Invalid input (NP-31): analyze must fail and name the field
// ---------------------------------------------------------------------------

/// Asserts that the policy (spec body) in namespace x is rejected with an
/// `invalid-object` error at `field`.
fn check_invalid(body: &str, field: &str) {
    let p = np("x", "bad", body);
    let Err(failed) = try_analyze(&fixture(&[]), std::slice::from_ref(&p)) else {
        panic!("invalid policy was accepted:\n{p}");
    };
    let errors: Vec<_> = failed.errors().collect();
    assert!(
        errors
            .iter()
            .any(|d| d.code == Code::InvalidObject && d.field.as_deref() == Some(field)),
        "expected an invalid-object error at {field}, got:\n{}",
        errors
            .iter()
            .map(|d| format!("  {d}\n"))
            .collect::<String>()
    );
}

/// E-15, NP-10: `In` needs at least one value.
#[test]
fn invalid_in_without_values() {
    check_invalid(
        "
        spec:
          podSelector:
            matchExpressions: [{key: pod, operator: In, values: []}]
        ",
        "spec.podSelector.matchExpressions[0].values",
    );
}

/// E-15, NP-10: `Exists` takes no values (in a peer's namespaceSelector).
#[test]
fn invalid_exists_with_values() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - from:
            - namespaceSelector:
                matchExpressions: [{key: ns, operator: Exists, values: [x]}]
        ",
        "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values",
    );
}

/// E-15, NP-10: operators are case-sensitive.
#[test]
fn invalid_lower_case_operator() {
    check_invalid(
        "
        spec:
          podSelector: {}
          egress:
          - to:
            - podSelector:
                matchExpressions: [{key: pod, operator: in, values: [a]}]
        ",
        "spec.egress[0].to[0].podSelector.matchExpressions[0].operator",
    );
}

/// E-26, NP-17: port 0.
#[test]
fn invalid_port_zero() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - ports: [{port: 0}]
        ",
        "spec.ingress[0].ports[0].port",
    );
}

/// E-26, NP-17: quoted digits are a port name, and names need a letter.
#[test]
fn invalid_quoted_port_number() {
    check_invalid(
        r#"
        spec:
          podSelector: {}
          ingress:
          - ports: [{port: 80}, {port: "8080"}]
        "#,
        "spec.ingress[0].ports[1].port",
    );
}

/// E-26, NP-17: port above 65535.
#[test]
fn invalid_port_too_large() {
    check_invalid(
        "
        spec:
          podSelector: {}
          policyTypes: [Egress]
          egress:
          - ports: [{port: 70000}]
        ",
        "spec.egress[0].ports[0].port",
    );
}

/// E-25, NP-17: endPort below port.
#[test]
fn invalid_end_port_below_port() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - ports: [{port: 81, endPort: 80}]
        ",
        "spec.ingress[0].ports[0].endPort",
    );
}

/// E-25, NP-17: endPort with a named port.
#[test]
fn invalid_end_port_with_named_port() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - ports: [{port: serve-80-tcp, endPort: 81}]
        ",
        "spec.ingress[0].ports[0].endPort",
    );
}

/// E-25, NP-17: endPort without port.
#[test]
fn invalid_end_port_without_port() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - ports: [{endPort: 81}]
        ",
        "spec.ingress[0].ports[0].endPort",
    );
}

/// E-28, NP-16: protocol spelling is exact.
#[test]
fn invalid_lower_case_protocol() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - ports: [{protocol: tcp, port: 80}]
        ",
        "spec.ingress[0].ports[0].protocol",
    );
}

/// E-19, NP-13: an except outside the cidr.
#[test]
fn invalid_except_outside_cidr() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - from:
            - ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}
        ",
        "spec.ingress[0].from[0].ipBlock.except[0]",
    );
}

/// E-19, NP-13: an except equal to the cidr is not a strict subset.
#[test]
fn invalid_except_equal_to_cidr() {
    check_invalid(
        "
        spec:
          podSelector: {}
          policyTypes: [Egress]
          egress:
          - to:
            - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}
        ",
        "spec.egress[0].to[0].ipBlock.except[0]",
    );
}

/// E-31, NP-11: a peer whose only selector is null has no field.
#[test]
fn invalid_null_selector_peer() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - from:
            - podSelector:
        ",
        "spec.ingress[0].from[0]",
    );
}

/// NP-11: ipBlock cannot be combined with a selector.
#[test]
fn invalid_ip_block_with_selector() {
    check_invalid(
        "
        spec:
          podSelector: {}
          ingress:
          - from:
            - ipBlock: {cidr: 10.0.0.0/8}
              podSelector: {}
        ",
        "spec.ingress[0].from[0]",
    );
}

/// NP-3, NP-31: policyTypes values are exactly `Ingress` / `Egress`.
#[test]
fn invalid_policy_type_spelling() {
    check_invalid(
        "
        spec:
          podSelector: {}
          policyTypes: [ingress]
        ",
        "spec.policyTypes[0]",
    );
}

/// E-37, NP-31: a boolean selector value.
#[test]
fn invalid_boolean_label_value() {
    check_invalid(
        "
        spec:
          podSelector: {matchLabels: {enabled: true}}
        ",
        "spec.podSelector.matchLabels.enabled",
    );
}

/// The fixture itself: nine pods, six declared ports each, no errors.
#[test]
fn fixture_has_nine_pods_with_six_ports() {
    let a = analyze_ok(&fixture(&[]), &[]);
    assert_eq!(a.analysis.workloads.len(), 9);
    for i in 0..N {
        let w = &a.analysis.workloads[workload(&a, i)];
        assert_eq!(w.ports.len(), 6, "{}", pod_name(i));
    }
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty());
}
