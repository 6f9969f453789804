//! Property tests over randomly generated small clusters.

use crate::support::revision;
use proptest::prelude::*;
use reachdiff::analysis::{Options, analyze_loaded, atoms_for, load};
use reachdiff::comparison::compare;
use reachdiff::model::ConnSet;
use reachdiff::reach::Analysis;
use std::collections::BTreeMap;

const NAMESPACES: [&str; 3] = ["x", "y", "z"];
const APPS: [&str; 3] = ["a", "b", "c"];

#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    /// (namespace, app) pairs that exist, with their tier label.
    pods: Vec<(usize, usize, usize)>,
    ns_team: [usize; 3],
    policies: Vec<Policy>,
    /// AdminNetworkPolicies, and at most one BaselineAdminNetworkPolicy.
    admin: Vec<AdminGen>,
}

#[derive(Debug, Clone)]
struct AdminGen {
    baseline: bool,
    priority: u32,
    subject: AdminPeerGen,
    /// (ingress?, action 0 Allow / 1 Deny / 2 Pass, peer, port 80 only?)
    rules: Vec<(bool, u8, AdminPeerGen, bool)>,
}

/// Admin subjects and peers (AP-7): namespaces by team, or pods by app in
/// namespaces by team (`None`: every namespace).
#[derive(Debug, Clone)]
enum AdminPeerGen {
    Namespaces(Option<usize>),
    Pods(Option<usize>, usize),
}

#[derive(Debug, Clone)]
struct Policy {
    ns: usize,
    subject: Option<usize>,
    types: u8,
    ingress: Vec<RuleGen>,
    egress: Vec<RuleGen>,
}

#[derive(Debug, Clone)]
struct RuleGen {
    peers: Vec<PeerGen>,
    ports: Vec<(u8, u16, Option<u16>, bool)>,
}

#[derive(Debug, Clone)]
enum PeerGen {
    Pod(usize),
    Ns(usize),
    NsAndPod(usize, usize),
    AllNs,
    NotInTeam(usize),
    Ip(u8, Option<u8>),
}

fn peer() -> impl Strategy<Value = PeerGen> {
    prop_oneof![
        (0..3usize).prop_map(PeerGen::Pod),
        (0..3usize).prop_map(PeerGen::Ns),
        (0..3usize, 0..3usize).prop_map(|(n, p)| PeerGen::NsAndPod(n, p)),
        Just(PeerGen::AllNs),
        (0..2usize).prop_map(PeerGen::NotInTeam),
        (0..4u8, proptest::option::of(0..2u8)).prop_map(|(a, e)| PeerGen::Ip(a, e)),
    ]
}

fn rule() -> impl Strategy<Value = RuleGen> {
    (
        proptest::collection::vec(peer(), 0..3),
        proptest::collection::vec(
            (
                0..3u8,
                79..83u16,
                proptest::option::of(0..3u16),
                any::<bool>(),
            ),
            0..3,
        ),
    )
        .prop_map(|(peers, ports)| RuleGen { peers, ports })
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        0..3usize,
        proptest::option::of(0..3usize),
        0..4u8,
        proptest::collection::vec(rule(), 0..3),
        proptest::collection::vec(rule(), 0..3),
    )
        .prop_map(|(ns, subject, types, ingress, egress)| Policy {
            ns,
            subject,
            types,
            ingress,
            egress,
        })
}

fn admin_peer() -> impl Strategy<Value = AdminPeerGen> {
    prop_oneof![
        proptest::option::of(0..2usize).prop_map(AdminPeerGen::Namespaces),
        (proptest::option::of(0..2usize), 0..3usize).prop_map(|(t, a)| AdminPeerGen::Pods(t, a)),
    ]
}

fn admin() -> impl Strategy<Value = AdminGen> {
    (
        any::<bool>(),
        0..3u32,
        admin_peer(),
        proptest::collection::vec((any::<bool>(), 0..3u8, admin_peer(), any::<bool>()), 0..3),
    )
        .prop_map(|(baseline, priority, subject, rules)| AdminGen {
            baseline,
            priority,
            subject,
            rules,
        })
}

pub(crate) fn cluster() -> impl Strategy<Value = Cluster> {
    (
        proptest::collection::btree_set((0..3usize, 0..3usize), 1..7),
        proptest::collection::vec(0..2usize, 3),
        proptest::collection::vec(policy(), 0..5),
        proptest::collection::vec(0..2usize, 9),
        proptest::collection::vec(admin(), 0..3),
    )
        .prop_map(|(pods, teams, policies, tiers, mut admin)| {
            // One baseline at most (the singleton `default`), no Pass in it.
            let mut seen_baseline = false;
            admin.retain(|a| !a.baseline || !std::mem::replace(&mut seen_baseline, true));
            for a in admin.iter_mut().filter(|a| a.baseline) {
                a.rules.iter_mut().for_each(|r| r.1 %= 2);
            }
            Cluster {
                pods: pods
                    .into_iter()
                    .map(|(n, a)| (n, a, tiers[n * 3 + a]))
                    .collect(),
                ns_team: [teams[0], teams[1], teams[2]],
                policies,
                admin,
            }
        })
}

fn admin_peer_yaml(p: &AdminPeerGen) -> String {
    let ns = |t: &Option<usize>| match t {
        Some(t) => format!("{{matchLabels: {{team: t{t}}}}}"),
        None => "{}".to_string(),
    };
    match p {
        AdminPeerGen::Namespaces(t) => format!("{{namespaces: {}}}", ns(t)),
        AdminPeerGen::Pods(t, a) => format!(
            "{{pods: {{namespaceSelector: {}, podSelector: {{matchLabels: {{app: {}}}}}}}}}",
            ns(t),
            APPS[*a]
        ),
    }
}

fn admin_yaml(out: &mut String, i: usize, a: &AdminGen) {
    if a.baseline {
        out.push_str("---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n");
    } else {
        out.push_str(&format!("---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: a{i}}}\nspec:\n  priority: {}\n", a.priority));
    }
    let subject = admin_peer_yaml(&a.subject);
    out.push_str(&format!("  subject: {subject}\n"));
    for (ingress, key, peers) in [(true, "ingress", "from"), (false, "egress", "to")] {
        let rules: Vec<_> = a.rules.iter().filter(|r| r.0 == ingress).collect();
        if rules.is_empty() {
            continue;
        }
        out.push_str(&format!("  {key}:\n"));
        for (_, action, peer, port80) in rules {
            let action = ["Allow", "Deny", "Pass"][*action as usize];
            out.push_str(&format!(
                "  - action: {action}\n    {peers}: [{}]\n",
                admin_peer_yaml(peer)
            ));
            if *port80 {
                out.push_str("    ports: [{portNumber: {protocol: TCP, port: 80}}]\n");
            }
        }
    }
}

fn peer_yaml(p: &PeerGen) -> String {
    match p {
        PeerGen::Pod(a) => format!(
            "    - podSelector: {{matchLabels: {{app: {}}}}}\n",
            APPS[*a]
        ),
        PeerGen::Ns(n) => format!(
            "    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {}}}}}\n",
            NAMESPACES[*n]
        ),
        PeerGen::NsAndPod(n, a) => format!(
            "    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {}}}}}\n      podSelector: {{matchLabels: {{app: {}}}}}\n",
            NAMESPACES[*n], APPS[*a]
        ),
        PeerGen::AllNs => "    - namespaceSelector: {}\n".into(),
        PeerGen::NotInTeam(t) => format!(
            "    - namespaceSelector: {{matchExpressions: [{{key: team, operator: NotIn, values: [t{t}]}}]}}\n"
        ),
        PeerGen::Ip(a, e) => {
            let cidr = ["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16"][*a as usize];
            let except = match (a, e) {
                (0, Some(0)) => "\n        except: [10.0.0.0/8]",
                (0, Some(1)) => "\n        except: [10.1.0.0/16, 192.168.0.0/16]",
                (1, Some(_)) => "\n        except: [10.1.0.0/16]",
                _ => "",
            };
            format!("    - ipBlock:\n        cidr: {cidr}{except}\n")
        }
    }
}

fn rules_yaml(out: &mut String, key: &str, peers_key: &str, rules: &[RuleGen]) {
    if rules.is_empty() {
        return;
    }
    out.push_str(&format!("  {key}:\n"));
    for r in rules {
        out.push_str("  - ");
        let mut first = true;
        if !r.peers.is_empty() {
            out.push_str(&format!("{peers_key}:\n"));
            for p in &r.peers {
                out.push_str(&peer_yaml(p));
            }
            first = false;
        }
        if !r.ports.is_empty() {
            if !first {
                out.push_str("    ");
            }
            out.push_str("ports:\n");
            for (proto, port, end, named) in &r.ports {
                let proto = ["TCP", "UDP", "SCTP"][*proto as usize];
                if *named {
                    out.push_str(&format!(
                        "    - {{protocol: {proto}, port: serve-{port}}}\n"
                    ));
                } else if let Some(e) = end {
                    out.push_str(&format!(
                        "    - {{protocol: {proto}, port: {port}, endPort: {}}}\n",
                        port + e
                    ));
                } else {
                    out.push_str(&format!("    - {{protocol: {proto}, port: {port}}}\n"));
                }
            }
            first = false;
        }
        if first {
            out.push_str("{}\n");
        }
    }
}

pub(crate) fn yaml(c: &Cluster) -> String {
    let mut out = String::new();
    for (i, ns) in NAMESPACES.iter().enumerate() {
        out.push_str(&format!("---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{team: t{}}}}}\n", c.ns_team[i]));
    }
    for (n, a, tier) in &c.pods {
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {app}, namespace: {ns}, labels: {{app: {app}, tier: t{tier}}}}}\nspec:\n  containers:\n  - name: c\n    ports:\n    - {{name: serve-80, containerPort: 80}}\n    - {{name: serve-81, containerPort: 81, protocol: UDP}}\n",
            app = APPS[*a],
            ns = NAMESPACES[*n]
        ));
    }
    for (i, p) in c.policies.iter().enumerate() {
        out.push_str(&format!("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: {}}}\nspec:\n", NAMESPACES[p.ns]));
        match p.subject {
            Some(a) => out.push_str(&format!(
                "  podSelector: {{matchLabels: {{app: {}}}}}\n",
                APPS[a]
            )),
            None => out.push_str("  podSelector: {}\n"),
        }
        match p.types {
            1 => out.push_str("  policyTypes: [Ingress]\n"),
            2 => out.push_str("  policyTypes: [Egress]\n"),
            3 => out.push_str("  policyTypes: [Ingress, Egress]\n"),
            _ => {}
        }
        rules_yaml(&mut out, "ingress", "from", &p.ingress);
        rules_yaml(&mut out, "egress", "to", &p.egress);
    }
    for (i, a) in c.admin.iter().enumerate() {
        admin_yaml(&mut out, i, a);
    }
    out
}

/// The closed world (`Options::default()`, `--closed-world`) and the open
/// world (the command line's default: representatives for the rest of the
/// cluster and the built-in kube-dns, docs/open-world.md). The engine's
/// properties hold in both; each property test runs in each.
pub(crate) fn worlds() -> [(&'static str, Options); 2] {
    let open = Options {
        open_world: Some(reachdiff::reach::open_world::ClusterSpec {
            builtin_dns: true,
            ..Default::default()
        }),
        ..Options::default()
    };
    [("closed world", Options::default()), ("open world", open)]
}

/// Every allowed (src id, dst id) → ports of one analysis.
fn full(a: &Analysis) -> BTreeMap<(String, String), ConnSet> {
    a.connections()
        .into_iter()
        .map(|(s, d, c)| ((a.endpoint_id(s), a.endpoint_id(d)), c))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// opened = reach(head) − reach(base), closed = the reverse, for every
    /// (src, dst, protocol, port); and every changed row has a cause.
    #[test]
    fn diff_is_exactly_the_set_difference(base in cluster(), head in cluster()) {
        for (world, opts) in worlds() {
            diff_is_the_set_difference(&base, &head, &opts).map_err(|e| {
                TestCaseError::fail(format!("{world}: {e}"))
            })?;
        }
    }

    /// A revision compared with itself has no changes.
    #[test]
    fn identical_revisions_have_an_empty_diff(c in cluster()) {
        let y = yaml(&c);
        let rev = revision(&[("m.yaml", &y)]);
        for (world, opts) in worlds() {
            let cmp = compare(&rev, &rev, &opts).expect("valid");
            prop_assert!(cmp.diff.opened.is_empty() && cmp.diff.closed.is_empty(), "{}", world);
        }
    }
}

/// opened = reach(head) − reach(base), closed = the reverse, in one world;
/// the listings are the engine's, with the representatives the comparison
/// adds (the union of both revisions' selectors, OW-2).
fn diff_is_the_set_difference(
    base: &Cluster,
    head: &Cluster,
    opts: &Options,
) -> Result<(), TestCaseError> {
    let (by, hy) = (yaml(base), yaml(head));
    let (brev, hrev) = (revision(&[("m.yaml", &by)]), revision(&[("m.yaml", &hy)]));
    let cmp = compare(&brev, &hrev, opts).expect("generated manifests are valid");

    // Independent full listings over the same common atoms.
    let (mut binv, mut bd) = load(&brev, opts).expect("valid");
    let (mut hinv, hd) = load(&hrev, opts).expect("valid");
    reachdiff::analysis::open_world(&mut [&mut binv, &mut hinv], opts, &mut bd);
    let atoms = atoms_for([&binv, &hinv], opts);
    let b = analyze_loaded(binv, bd, atoms.clone());
    let h = analyze_loaded(hinv, hd, atoms);
    let (fb, fh) = (full(&b.analysis), full(&h.analysis));

    let mut expect_opened = BTreeMap::new();
    let mut expect_closed = BTreeMap::new();
    let empty = ConnSet::empty();
    for key in fb.keys().chain(fh.keys()) {
        let bc = fb.get(key).unwrap_or(&empty);
        let hc = fh.get(key).unwrap_or(&empty);
        let o = hc.difference(bc);
        let c = bc.difference(hc);
        if !o.is_empty() {
            expect_opened.insert(key.clone(), o);
        }
        if !c.is_empty() {
            expect_closed.insert(key.clone(), c);
        }
    }
    let eps = &cmp.diff.endpoints;
    let got_opened: BTreeMap<(String, String), ConnSet> = cmp
        .diff
        .opened
        .iter()
        .map(|r| {
            (
                (eps[r.src].id.clone(), eps[r.dst].id.clone()),
                r.conn.clone(),
            )
        })
        .collect();
    let got_closed: BTreeMap<(String, String), ConnSet> = cmp
        .diff
        .closed
        .iter()
        .map(|r| {
            (
                (eps[r.src].id.clone(), eps[r.dst].id.clone()),
                r.conn.clone(),
            )
        })
        .collect();
    prop_assert_eq!(
        got_opened,
        expect_opened,
        "opened\nbase:\n{}\nhead:\n{}",
        by,
        hy
    );
    prop_assert_eq!(
        got_closed,
        expect_closed,
        "closed\nbase:\n{}\nhead:\n{}",
        by,
        hy
    );
    for r in cmp.diff.opened.iter().chain(&cmp.diff.closed) {
        prop_assert!(
            !r.causes.is_empty(),
            "row {} -> {} has no cause\nbase:\n{}\nhead:\n{}",
            eps[r.src].id,
            eps[r.dst].id,
            by,
            hy
        );
    }
    Ok(())
}

/// The rule `object`/`field` of a finding names (and, for a peer field, the
/// peer index), found among the compiled rules.
fn finding_rule(a: &Analysis, d: &reachdiff::diag::Diagnostic) -> (usize, Option<usize>) {
    let (object, field) = (d.object.as_deref(), d.field.as_deref());
    for (r, rule) in a.rules.iter().enumerate() {
        if Some(rule.origin.policy.as_str()) != object {
            continue;
        }
        let base = format!("spec.{}[{}]", rule.direction.as_str(), rule.origin.index);
        if field == Some(base.as_str()) {
            return (r, None);
        }
        for k in 0..rule.peer_sets.len() {
            let key = if rule.direction == reachdiff::reach::Direction::Ingress {
                "from"
            } else {
                "to"
            };
            if field == Some(format!("{base}.{key}[{k}]").as_str()) {
                return (r, Some(k));
            }
        }
    }
    panic!("no rule for finding {d}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Findings checked by brute force: removing a `redundant-rule` changes
    /// no verdict; every path a peer of an `egress-denied-by-ingress` or
    /// `ingress-denied-by-egress` finding names is closed on that rule's
    /// ports; no finding is reported twice.
    #[test]
    fn findings_hold_by_brute_force(c in cluster()) {
        for (world, opts) in worlds() {
            findings_hold(&c, &opts).map_err(|e| TestCaseError::fail(format!("{world}: {e}")))?;
        }
    }
}

/// The brute-force checks of `findings_hold_by_brute_force`, in one world.
fn findings_hold(c: &Cluster, opts: &Options) -> Result<(), TestCaseError> {
    use reachdiff::diag::Code;
    use reachdiff::reach::{Direction, Endpoint};
    let y = yaml(c);
    let rev = revision(&[("m.yaml", &y)]);
    let mut a = reachdiff::analysis::analyze(&rev, opts).expect("valid");
    let found = reachdiff::findings::findings(&a);
    let mut seen = std::collections::BTreeSet::new();
    for f in &found {
        let d = &f.diagnostic;
        prop_assert!(
            seen.insert((d.code, d.object.clone(), d.field.clone(), d.message.clone())),
            "twice: {}\n{}",
            d,
            y
        );
    }
    let before = full(&a.analysis);
    for f in &found {
        let d = &f.diagnostic;
        match d.code {
            Code::RedundantRule => {
                let (r, _) = finding_rule(&a.analysis, d);
                let dir = a.analysis.rules[r].direction as usize;
                let saved: Vec<Vec<usize>> = a
                    .analysis
                    .sides
                    .iter()
                    .map(|s| s[dir].network_policy.clone())
                    .collect();
                for s in a.analysis.sides.iter_mut() {
                    s[dir].network_policy.retain(|&x| x != r);
                }
                let after = full(&a.analysis);
                for (s, chain) in a.analysis.sides.iter_mut().zip(saved) {
                    s[dir].network_policy = chain;
                }
                prop_assert_eq!(&before, &after, "removing {} changes verdicts\n{}", d, y);
            }
            Code::EgressDeniedByIngress | Code::IngressDeniedByEgress => {
                let an = &a.analysis;
                let (r, k) = finding_rule(an, d);
                let rule = &an.rules[r];
                let k = k.expect("a peer finding");
                let d_ = rule.direction as usize;
                for w in
                    (0..an.workloads.len()).filter(|&w| an.sides[w][d_].network_policy.contains(&r))
                {
                    for x in rule.peer_sets[k].0.workloads.iter() {
                        let (src, dst) = match rule.direction {
                            Direction::Egress => (w, x),
                            Direction::Ingress => (x, w),
                        };
                        let open = an
                            .reach(Endpoint::Workload(src), Endpoint::Workload(dst))
                            .intersection(&an.rule_ports(rule, Some(dst)));
                        prop_assert!(
                            open.is_empty(),
                            "{}: {} -> {} open on {}\n{}",
                            d,
                            an.workloads[src].id(),
                            an.workloads[dst].id(),
                            open,
                            y
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// `dead-policy` is exact (issue 17): reported for a NetworkPolicy if
    /// and only if removing it changes no row, with the rest of the
    /// cluster (the diff of the cluster with and without it shares the
    /// representatives, the policy's selectors being the base's).
    #[test]
    fn dead_policy_iff_removing_it_changes_no_row(c in cluster()) {
        use reachdiff::diag::Code;
        let opts = Options {
            open_world: Some(reachdiff::reach::open_world::ClusterSpec {
                builtin_dns: true,
                ..Default::default()
            }),
            ..Options::default()
        };
        let y = yaml(&c);
        for i in 0..c.policies.len() {
            let mut without = c.clone();
            without.policies.remove(i);
            let wy = yaml(&without);
            let cmp = compare(&revision(&[("m.yaml", &y)]), &revision(&[("m.yaml", &wy)]), &opts)
                .expect("generated manifests are valid");
            let name = format!("NetworkPolicy {}/p{i}", NAMESPACES[c.policies[i].ns]);
            let reported = cmp.base_findings.iter().any(|f| {
                f.code() == Code::DeadPolicy && f.diagnostic.object.as_deref() == Some(name.as_str())
            });
            let unchanged = cmp.diff.opened.is_empty() && cmp.diff.closed.is_empty();
            prop_assert_eq!(reported, unchanged, "{}: reported {} but removing it changes {} rows\n{}",
                name, reported, cmp.diff.opened.len() + cmp.diff.closed.len(), y);
        }
    }
}
