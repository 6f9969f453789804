//! Calico objects, written from shared/design/semantics-calico.md (CA-*,
//! E-CA-*, C-CA-*), never from the engine.
//!
//! The fixture is the one of section 9: namespace `a` {team: a} with `a/web`
//! {app: web} (port `http` 8080/TCP) and `a/db` {app: db} (port `pg`
//! 5432/TCP); namespace `b` {team: b} with `b/cli` {app: cli}.
//!
//! Calico policies are loaded and validated here; calico_eval.rs tests
//! their evaluation (closed world). In the open world an environment
//! holding an enforced one still fails with `calico-not-evaluated` instead
//! of answering as if it were absent.

use crate::support::{cs, revision, try_analyze};
use reachdiff::analysis::{Analyzed, Cni, Options};
use reachdiff::diag::{Code, Diagnostic};
use reachdiff::manifest::{CalicoBody, CalicoObject, CalicoPolicy, Inventory, LoadOptions};

pub(crate) const FIXTURE: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: b}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: a}
spec:
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        ports: [{name: pg, containerPort: 5432}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cli, namespace: b}
spec:
  template:
    metadata: {labels: {app: cli}}
    spec:
      containers: [{name: cli}]
";

/// A hostNetwork DaemonSet (E-CA-32).
const AGENT: &str = "
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: a}
spec:
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers: [{name: agent}]
";

fn indent(body: &str, by: usize) -> String {
    let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    let cut = lines
        .iter()
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| format!("{}{}\n", " ".repeat(by), &l[cut..]))
        .collect()
}

/// A `projectcalico.org/v3` object; `ns` empty for cluster-scoped kinds;
/// `body` is its `spec`.
pub(crate) fn calico(kind: &str, ns: &str, name: &str, body: &str) -> String {
    calico_in("projectcalico.org/v3", kind, ns, name, body)
}

fn calico_in(api: &str, kind: &str, ns: &str, name: &str, body: &str) -> String {
    let meta = if ns.is_empty() {
        format!("{{name: {name}}}")
    } else {
        format!("{{name: {name}, namespace: {ns}}}")
    };
    format!(
        "apiVersion: {api}\nkind: {kind}\nmetadata: {meta}\nspec:\n{}",
        indent(body, 2)
    )
}

/// The loader alone (no CNI decision): what validation says.
fn load(docs: &[String]) -> (Inventory, Vec<Diagnostic>) {
    let names: Vec<String> = (0..docs.len())
        .map(|i| format!("policy-{i}.yaml"))
        .collect();
    let mut files: Vec<(&str, &str)> = vec![("fixture.yaml", FIXTURE)];
    for (n, d) in names.iter().zip(docs) {
        files.push((n.as_str(), d.as_str()));
    }
    reachdiff::manifest::load(&revision(&files), &LoadOptions::default())
}

/// Loaded without errors; the Calico objects.
#[track_caller]
fn valid(docs: &[String]) -> Vec<CalicoObject> {
    let (inv, diags) = load(docs);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("  {d}\n"))
        .collect();
    assert!(
        errors.is_empty(),
        "valid input rejected:\n{}\n{}",
        errors.concat(),
        docs.join("---\n")
    );
    inv.calico
}

#[track_caller]
fn policy_of(docs: &[String]) -> CalicoPolicy {
    match valid(docs).into_iter().next().map(|o| o.body) {
        Some(CalicoBody::Policy(p)) => *p,
        other => panic!("not a policy: {other:?}"),
    }
}

/// Rejected with an `invalid-object` error at `field` (or inside it), in
/// the policy's file with a line; returns the message.
#[track_caller]
fn assert_invalid(doc: &str, field: &str) -> String {
    let (_, diags) = load(&[doc.to_string()]);
    let all: String = diags
        .iter()
        .map(|d| format!("  {:?} {d}\n", d.code))
        .collect();
    let hit = diags.iter().find(|d| {
        d.code == Code::InvalidObject
            && d.span
                .as_ref()
                .is_some_and(|s| s.file == "policy-0.yaml" && s.line > 0)
            && d.field.as_deref().is_some_and(|f| {
                f == field
                    || f.strip_prefix(field)
                        .is_some_and(|r| r.starts_with(['.', '[']))
            })
    });
    match hit {
        Some(d) => d.message.clone(),
        None => panic!("no invalid-object error at {field}; diagnostics:\n{all}doc:\n{doc}"),
    }
}

pub(crate) fn count(diags: &[Diagnostic], code: Code) -> usize {
    diags.iter().filter(|d| d.code == code).count()
}

fn with_cni(docs: &[String], cni: Cni) -> Result<Analyzed, reachdiff::analysis::Failed> {
    let names: Vec<String> = (0..docs.len())
        .map(|i| format!("policy-{i}.yaml"))
        .collect();
    let mut files: Vec<(&str, &str)> = vec![("fixture.yaml", FIXTURE)];
    for (n, d) in names.iter().zip(docs) {
        files.push((n.as_str(), d.as_str()));
    }
    let opts = Options {
        cni: Some((cni, "--cni".into())),
        ..Default::default()
    };
    reachdiff::analysis::analyze(&revision(&files), &opts)
}

// ---------------------------------------------------------------------------
// Loading (CA-1, CA-2, CA-4, CA-7, CA-9)
// ---------------------------------------------------------------------------

#[test]
fn ca_1_ca_2_every_kind_loads_in_both_api_groups() {
    for api in ["projectcalico.org/v3", "crd.projectcalico.org/v1"] {
        let docs = [
            calico_in(
                api,
                "NetworkPolicy",
                "a",
                "allow-web",
                "selector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, source: {selector: app == 'web'}}]",
            ),
            calico_in(
                api,
                "GlobalNetworkPolicy",
                "",
                "deny-all",
                "order: 2000\nselector: all()\ntypes: [Ingress, Egress]",
            ),
            calico_in(
                api,
                "StagedNetworkPolicy",
                "a",
                "staged",
                "stagedAction: Set\nselector: all()\ntypes: [Ingress]",
            ),
            calico_in(
                api,
                "StagedGlobalNetworkPolicy",
                "",
                "staged-g",
                "selector: all()\ntypes: [Egress]",
            ),
            calico_in(
                api,
                "Tier",
                "",
                "security",
                "order: 100\ndefaultAction: Pass",
            ),
            calico_in(api, "NetworkSet", "a", "local", "nets: [198.51.100.0/28]"),
            calico_in(
                api,
                "GlobalNetworkSet",
                "",
                "partners",
                "nets: [203.0.113.0/24, 203.0.113.9]",
            ),
            calico_in(api, "Profile", "", "p", "ingress: [{action: Deny}]"),
        ];
        let objs = valid(&docs);
        let kinds: Vec<&str> = objs.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds.len(), 8, "{api}: {kinds:?}");
        assert_eq!(
            objs.iter().filter(|o| o.crd_form).count(),
            if api.starts_with("crd.") { 8 } else { 0 }
        );
        // CA-3, CA-16: staged policies and profiles are never enforced.
        let enforced: Vec<&str> = objs
            .iter()
            .filter(|o| o.enforced_policy().is_some())
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(enforced, ["allow-web", "deny-all"], "{api}");
    }
}

#[test]
fn ca_2_a_calico_networkpolicy_is_not_the_kubernetes_one_of_the_same_name() {
    let k8s = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {podSelector: {}}\n".to_string();
    let cal = calico("NetworkPolicy", "a", "x", "selector: all()");
    let (inv, diags) = load(&[k8s, cal]);
    assert_eq!(inv.policies.len(), 1);
    assert_eq!(inv.calico.len(), 1);
    assert_eq!(count(&diags, Code::DuplicateObject), 0, "{diags:?}");
}

#[test]
fn ca_4_tiers_and_ca_7_network_sets() {
    let objs = valid(&[
        calico("Tier", "", "security", "order: 100.5"),
        calico("Tier", "", "devops", "defaultAction: Pass"),
        calico(
            "GlobalNetworkSet",
            "",
            "partners",
            "nets: [203.0.113.0/24, 203.0.113.9]",
        ),
    ]);
    match &objs[0].body {
        CalicoBody::Tier(t) => assert_eq!((t.order, t.pass), (Some(100.5), false)),
        b => panic!("{b:?}"),
    }
    match &objs[1].body {
        CalicoBody::Tier(t) => assert_eq!((t.order, t.pass), (None, true)),
        b => panic!("{b:?}"),
    }
    match &objs[2].body {
        CalicoBody::NetworkSet(s) => {
            let nets: Vec<String> = s.nets.iter().map(|c| c.to_string()).collect();
            assert_eq!(nets, ["203.0.113.0/24", "203.0.113.9/32"]);
        }
        b => panic!("{b:?}"),
    }
    // Built-in tiers keep their order and action (CA-4).
    assert_invalid(
        &calico("Tier", "", "default", "defaultAction: Pass"),
        "spec",
    );
    assert_invalid(
        &calico("Tier", "", "kube-admin", "order: 5\ndefaultAction: Pass"),
        "spec",
    );
    assert_invalid(
        &calico("Tier", "", "sec.urity", "order: 1"),
        "metadata.name",
    );
    assert_invalid(
        &calico("Tier", "", "t", "defaultAction: Allow"),
        "spec.defaultAction",
    );
}

#[test]
fn ca_9_unknown_policy_fields_are_input_errors() {
    // `type:` for `types:` would silently change what the policy governs.
    assert_invalid(
        &calico("NetworkPolicy", "a", "x", "selector: all()\ntype: [Egress]"),
        "spec.type",
    );
    // namespaceSelector exists on GlobalNetworkPolicy only.
    assert_invalid(
        &calico("NetworkPolicy", "a", "x", "namespaceSelector: all()"),
        "spec.namespaceSelector",
    );
    assert_invalid(
        &calico(
            "NetworkPolicy",
            "a",
            "x",
            "ingress: [{action: Allow, source: {selectors: all()}}]",
        ),
        "spec.ingress[0].source.selectors",
    );
    assert_invalid(
        &calico(
            "NetworkPolicy",
            "a",
            "x",
            "ingress: [{action: Allow, port: 80}]",
        ),
        "spec.ingress[0].port",
    );
}

#[test]
fn ca_5_policy_names() {
    valid(&[calico(
        "NetworkPolicy",
        "a",
        "default.allow-web",
        "selector: all()",
    )]);
    valid(&[calico(
        "NetworkPolicy",
        "a",
        "knp.default.x.y",
        "selector: all()",
    )]);
    assert_invalid(
        &calico("NetworkPolicy", "a", "Allow_Web", "selector: all()"),
        "metadata.name",
    );
    assert_invalid(
        &calico("GlobalNetworkPolicy", "", "a.b.c", "selector: all()"),
        "metadata.name",
    );
}

// ---------------------------------------------------------------------------
// types (CA-13, C-CA-3), dead sections (CA-14), host-only (CA-16)
// ---------------------------------------------------------------------------

#[test]
fn ca_13_types_default_by_the_api_server_rule_for_v3() {
    let egress_only = "selector: app == 'db'\negress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]";
    // E-CA-1: egress rules only → [Egress].
    assert_eq!(
        policy_of(&[calico("NetworkPolicy", "a", "x", egress_only)]).governs,
        [false, true]
    );
    // No rules at all → [Ingress].
    assert_eq!(
        policy_of(&[calico("NetworkPolicy", "a", "x", "selector: all()")]).governs,
        [true, false]
    );
    let both = "ingress: [{action: Allow}]\negress: [{action: Allow}]";
    assert_eq!(
        policy_of(&[calico("NetworkPolicy", "a", "x", both)]).governs,
        [true, true]
    );
    // E-CA-2: `egress: []` without types → [Ingress], with a warning.
    let (_, diags) = load(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "selector: all()\negress: []",
    )]);
    assert_eq!(count(&diags, Code::CalicoTypesDefaulted), 1);
    // E-CA-31: the crd.projectcalico.org/v1 form governs both directions.
    let crd = calico_in(
        "crd.projectcalico.org/v1",
        "NetworkPolicy",
        "a",
        "x",
        egress_only,
    );
    assert_eq!(policy_of(std::slice::from_ref(&crd)).governs, [true, true]);
    let (_, diags) = load(&[crd]);
    assert_eq!(count(&diags, Code::CalicoTypesDefaulted), 1);
}

#[test]
fn ca_13_ca_14_explicit_types_and_dead_sections() {
    let p = policy_of(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "types: [Egress]\ningress: [{action: Allow}]",
    )]);
    assert_eq!(p.governs, [false, true]);
    let (_, diags) = load(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "types: [Egress]\ningress: [{action: Allow}]",
    )]);
    assert_eq!(count(&diags, Code::CalicoDeadSection), 1);
    assert_invalid(
        &calico("NetworkPolicy", "a", "x", "types: [ingress]"),
        "spec.types[0]",
    );
    assert_invalid(
        &calico("NetworkPolicy", "a", "x", "types: [Ingress, Ingress]"),
        "spec.types[1]",
    );
}

#[test]
fn ca_16_e_ca_28_host_only_policies_are_never_enforced_on_pods() {
    let body = "selector: all()\ndoNotTrack: true\napplyOnForward: true\ningress: [{action: Deny}]";
    let objs = valid(&[calico("GlobalNetworkPolicy", "", "untracked", body)]);
    assert!(objs[0].enforced_policy().is_none());
    assert_invalid(
        &calico(
            "GlobalNetworkPolicy",
            "",
            "x",
            "doNotTrack: true\ningress: [{action: Deny}]",
        ),
        "spec",
    );
    assert_invalid(
        &calico(
            "GlobalNetworkPolicy",
            "",
            "x",
            "doNotTrack: true\npreDNAT: true\napplyOnForward: true",
        ),
        "spec",
    );
    assert_invalid(
        &calico(
            "GlobalNetworkPolicy",
            "",
            "x",
            "preDNAT: true\napplyOnForward: true\negress: [{action: Deny}]",
        ),
        "spec",
    );
}

#[test]
fn ca_32_ca_83_order_is_a_number_and_absent_is_not_zero() {
    assert_eq!(
        policy_of(&[calico("NetworkPolicy", "a", "x", "order: -2.5")]).order,
        Some(-2.5)
    );
    assert_eq!(
        policy_of(&[calico("NetworkPolicy", "a", "x", "order: 100")]).order,
        Some(100.0)
    );
    assert_eq!(
        policy_of(&[calico("NetworkPolicy", "a", "x", "selector: all()")]).order,
        None
    );
    assert_invalid(
        &calico("NetworkPolicy", "a", "x", "order: '10'"),
        "spec.order",
    );
    assert_eq!(
        policy_of(&[calico("NetworkPolicy", "a", "x", "tier: security")]).tier,
        "security"
    );
    assert_eq!(
        policy_of(&[calico("NetworkPolicy", "a", "x", "order: 1")]).tier,
        "default"
    );
}

// ---------------------------------------------------------------------------
// Selectors in policies (CA-40 … CA-50, E-CA-11)
// ---------------------------------------------------------------------------

#[test]
fn ca_50_e_ca_11_invalid_selectors_name_the_column_and_the_line() {
    let m = assert_invalid(
        &calico("NetworkPolicy", "a", "x", "selector: app = 'db'"),
        "spec.selector",
    );
    assert!(m.contains("column 5"), "{m}");
    let m = assert_invalid(
        &calico(
            "NetworkPolicy",
            "a",
            "x",
            "ingress: [{action: Allow, source: {selector: \"has (app)\"}}]",
        ),
        "spec.ingress[0].source.selector",
    );
    assert!(m.contains("column 5"), "{m}");
    assert_invalid(
        &calico("NetworkPolicy", "a", "x", "selector: app == db"),
        "spec.selector",
    );
    // A `|` block keeps its newline, which the tokenizer refuses (CA-41).
    assert_invalid(
        &calico(
            "NetworkPolicy",
            "a",
            "x",
            "selector: |\n  app == 'db'\n  && has(x)",
        ),
        "spec.selector",
    );
    // `>` folds lines into spaces and is fine.
    valid(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "selector: >-\n  app == 'db'\n  && has(x)",
    )]);
}

#[test]
fn ca_47_global_only_alone_in_a_rule_namespace_selector() {
    valid(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "egress: [{action: Allow, destination: {namespaceSelector: global()}}]",
    )]);
    assert_invalid(
        &calico("GlobalNetworkPolicy", "", "x", "selector: global()"),
        "spec.selector",
    );
    assert_invalid(
        &calico(
            "NetworkPolicy",
            "a",
            "x",
            "egress: [{action: Allow, destination: {namespaceSelector: global() || has(x)}}]",
        ),
        "spec.egress[0].destination.namespaceSelector",
    );
    assert_invalid(
        &calico(
            "NetworkPolicy",
            "a",
            "x",
            "egress: [{action: Allow, destination: {selector: global()}}]",
        ),
        "spec.egress[0].destination.selector",
    );
}

#[test]
fn ca_46_an_empty_rule_selector_adds_no_criterion() {
    let p = policy_of(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "ingress: [{action: Allow, source: {selector: ''}}]",
    )]);
    assert_eq!(p.ingress[0].value.source.selector, None);
    let p = policy_of(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "ingress: [{action: Allow, source: {selector: all()}}]",
    )]);
    assert!(p.ingress[0].value.source.selector.is_some());
}

// ---------------------------------------------------------------------------
// Rules (CA-33, CA-67 … CA-82, E-CA-23, E-CA-24, E-CA-37)
// ---------------------------------------------------------------------------

fn rule_doc(rule: &str) -> String {
    calico("NetworkPolicy", "a", "x", &format!("egress:\n- {rule}"))
}

#[test]
fn ca_81_actions_are_case_sensitive_and_required() {
    assert_invalid(&rule_doc("{action: allow}"), "spec.egress[0].action");
    assert_invalid(&rule_doc("{protocol: TCP}"), "spec.egress[0].action");
    for a in ["Allow", "Deny", "Log", "Pass"] {
        valid(&[rule_doc(&format!("{{action: {a}}}"))]);
    }
}

#[test]
fn ca_73_ca_74_e_ca_24_protocols() {
    let p = policy_of(&[rule_doc("{action: Allow, protocol: 6, notProtocol: UDP}")]);
    assert_eq!(p.egress[0].value.protocol.map(|p| p.0), Some(6));
    assert_eq!(p.egress[0].value.not_protocol.map(|p| p.0), Some(17));
    assert_eq!(
        policy_of(&[rule_doc("{action: Allow, protocol: '132'}")]).egress[0]
            .value
            .protocol
            .map(|p| p.0),
        Some(132)
    );
    valid(&[rule_doc("{action: Allow, protocol: UDPLite}")]);
    assert_invalid(
        &rule_doc("{action: Allow, protocol: tcp}"),
        "spec.egress[0].protocol",
    );
    assert_invalid(
        &rule_doc("{action: Allow, protocol: 0}"),
        "spec.egress[0].protocol",
    );
    assert_invalid(
        &rule_doc("{action: Allow, protocol: 256}"),
        "spec.egress[0].protocol",
    );
}

#[test]
fn ca_75_e_ca_23_ports() {
    use reachdiff::manifest::CalicoPort::{Named, Range};
    let p = policy_of(&[rule_doc(
        "{action: Allow, protocol: TCP, destination: {ports: [80, '81', '8080:8090', http]}}",
    )]);
    assert_eq!(
        p.egress[0].value.destination.ports,
        [
            Range(80, 80),
            Range(81, 81),
            Range(8080, 8090),
            Named("http".into())
        ]
    );
    // A list of only named ports may omit the protocol.
    valid(&[rule_doc("{action: Allow, destination: {ports: [dns]}}")]);
    for (bad, field) in [
        (
            "{action: Allow, destination: {ports: [80]}}",
            "spec.egress[0]",
        ),
        (
            "{action: Allow, protocol: TCP, destination: {ports: [0]}}",
            "spec.egress[0].destination.ports[0]",
        ),
        (
            "{action: Allow, protocol: TCP, destination: {ports: [65536]}}",
            "spec.egress[0].destination.ports[0]",
        ),
        (
            "{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}",
            "spec.egress[0].destination.ports[0]",
        ),
        (
            "{action: Allow, protocol: ICMP, destination: {ports: [80]}}",
            "spec.egress[0]",
        ),
        (
            "{action: Allow, protocol: ICMP, destination: {ports: [dns]}}",
            "spec.egress[0]",
        ),
        (
            "{action: Allow, protocol: TCP, destination: {notPorts: [Http_Port]}}",
            "spec.egress[0].destination.notPorts[0]",
        ),
    ] {
        assert_invalid(&rule_doc(bad), field);
    }
}

#[test]
fn ca_67_ca_82_e_ca_37_networks() {
    let p = policy_of(&[rule_doc(
        "{action: Allow, destination: {nets: [10.0.0.7, 10.1.0.0/16]}}",
    )]);
    let nets: Vec<String> = p.egress[0]
        .value
        .destination
        .nets
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(nets, ["10.0.0.7/32", "10.1.0.0/16"]);
    let m = assert_invalid(
        &rule_doc("{action: Allow, destination: {nets: [10.0.0.7/8]}}"),
        "spec.egress[0].destination.nets[0]",
    );
    assert!(m.contains("strictly masked"), "{m}");
    assert_invalid(
        &rule_doc("{action: Allow, destination: {notNets: [0.0.0.0/0]}}"),
        "spec.egress[0].destination.notNets",
    );
    assert_invalid(
        &rule_doc("{action: Allow, destination: {nets: [10.0.0.0/8, 'fd00::/8']}}"),
        "spec.egress[0]",
    );
    assert_invalid(
        &rule_doc("{action: Allow, ipVersion: 6, destination: {nets: [10.0.0.0/8]}}"),
        "spec.egress[0]",
    );
    assert_invalid(
        &rule_doc("{action: Allow, ipVersion: 5}"),
        "spec.egress[0].ipVersion",
    );
}

#[test]
fn ca_69_ca_70_ca_72_services_http_icmp() {
    valid(&[rule_doc(
        "{action: Allow, destination: {services: {name: db, namespace: a}}}",
    )]);
    assert_invalid(
        &rule_doc("{action: Allow, destination: {services: {name: db}, ports: [pg]}}"),
        "spec.egress[0]",
    );
    assert_invalid(
        &rule_doc("{action: Allow, source: {services: {name: db}}}"),
        "spec.egress[0]",
    );
    // http: ingress Allow rules only.
    assert_invalid(
        &rule_doc("{action: Allow, http: {methods: [GET]}}"),
        "spec.egress[0].http",
    );
    valid(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "ingress: [{action: Allow, protocol: TCP, http: {methods: [GET]}}]",
    )]);
    valid(&[rule_doc(
        "{action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}",
    )]);
    assert_invalid(
        &rule_doc("{action: Allow, protocol: TCP, icmp: {type: 8}}"),
        "spec.egress[0].icmp",
    );
    assert_invalid(
        &rule_doc("{action: Allow, protocol: ICMP, icmp: {code: 0}}"),
        "spec.egress[0].icmp",
    );
    assert_invalid(
        &rule_doc("{action: Allow, protocol: ICMP, icmp: {type: 255}}"),
        "spec.egress[0].icmp.type",
    );
}

#[test]
fn ca_68_service_accounts() {
    let p = policy_of(&[calico(
        "NetworkPolicy",
        "a",
        "x",
        "ingress: [{action: Allow, source: {serviceAccounts: {names: [robot, api, robot], selector: kind == 'robot'}}}]",
    )]);
    let (names, selector) = p.ingress[0]
        .value
        .source
        .service_accounts
        .clone()
        .expect("serviceAccounts");
    assert_eq!(names, ["api", "robot"]);
    assert!(selector.is_some());
}

// ---------------------------------------------------------------------------
// Calico mode (issue 19's settlement; C-CA-8)
// ---------------------------------------------------------------------------

#[test]
fn calico_mode_is_decided_from_the_objects_and_said() {
    let a =
        with_cni(&[calico("Tier", "", "security", "order: 100")], Cni::Calico).expect("analysed");
    assert!(
        a.inventory
            .calico_mode
            .as_deref()
            .is_some_and(|r| r.contains("--cni"))
    );
    assert_eq!(count(&a.diagnostics, Code::CalicoMode), 1);
    // From the objects alone (a Tier changes no verdict by itself).
    let a =
        try_analyze(FIXTURE, &[calico("Tier", "", "security", "order: 100")]).expect("analysed");
    let why = a.inventory.calico_mode.clone().expect("Calico mode");
    assert!(
        why.contains("Tier security") && why.contains("policy-0.yaml"),
        "{why}"
    );
    // Kubernetes-only input stays out of Calico mode.
    let a = try_analyze(FIXTURE, &[]).expect("analysed");
    assert!(a.inventory.calico_mode.is_none());
    assert_eq!(count(&a.diagnostics, Code::CalicoMode), 0);
}

#[test]
fn calico_policies_in_the_open_world_fail_the_environment_loudly() {
    // The open world evaluates Calico selectors by splitting the
    // representatives by each leaf (calico_eval.rs); `contains` cannot be
    // split exactly, so that policy fails the environment there, and is
    // evaluated in the closed world.
    let deny = calico(
        "GlobalNetworkPolicy",
        "",
        "default-deny",
        "selector: app contains 'we'\ntypes: [Ingress, Egress]",
    );
    try_analyze(FIXTURE, std::slice::from_ref(&deny)).expect("evaluated in the closed world");
    let files = [("fixture.yaml", FIXTURE), ("policy-0.yaml", deny.as_str())];
    let opts = Options {
        open_world: Some(reachdiff::reach::open_world::ClusterSpec::default()),
        ..Default::default()
    };
    let failed = reachdiff::analysis::analyze(&revision(&files), &opts)
        .expect_err("not evaluated in the open world");
    let e = failed
        .errors()
        .find(|d| d.code == Code::CalicoNotEvaluated)
        .expect("calico-not-evaluated");
    assert!(
        e.message.contains("GlobalNetworkPolicy default-deny") && e.message.contains("contains"),
        "{}",
        e.message
    );
    assert!(
        e.span
            .as_ref()
            .is_some_and(|s| s.file == "policy-0.yaml" && s.line > 0)
    );
    // Staged and host-only policies are never enforced: nothing to fail for.
    let staged = calico(
        "StagedGlobalNetworkPolicy",
        "",
        "s",
        "selector: all()\ntypes: [Ingress]",
    );
    let a = try_analyze(FIXTURE, &[staged]).expect("a staged policy changes nothing (CA-3)");
    assert_eq!(count(&a.diagnostics, Code::CalicoStaged), 1);
    assert_eq!(
        a.analysis.reach(sel(&a, "b/cli"), sel(&a, "a/db")),
        cs("all")
    );
}

#[test]
fn calico_objects_are_ignored_when_the_cni_is_set_to_another() {
    let deny = calico("GlobalNetworkPolicy", "", "default-deny", "selector: all()");
    let a = with_cni(&[deny], Cni::Other).expect("ignored, not failed");
    assert_eq!(count(&a.diagnostics, Code::CalicoIgnored), 1);
    assert!(a.inventory.calico.is_empty() && a.inventory.calico_mode.is_none());
}

pub(crate) fn sel(a: &Analyzed, name: &str) -> reachdiff::reach::Endpoint {
    let found = a.analysis.select(name);
    assert_eq!(found.len(), 1, "{name} names {} endpoints", found.len());
    found[0]
}

#[test]
fn c_ca_8_e_ca_32_host_network_pods_are_not_endpoints_for_kubernetes_policies() {
    let isolate_all = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: iso, namespace: a}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n".to_string();
    let from_agent = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-agent, namespace: a}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: agent}}}]}]\n".to_string();
    let docs = [AGENT.to_string(), isolate_all, from_agent];
    // Kubernetes semantics (C2): the agent is an ordinary pod.
    let k8s = with_cni(&docs, Cni::Other).expect("analysed");
    assert_eq!(
        k8s.analysis.reach(sel(&k8s, "b/cli"), sel(&k8s, "a/agent")),
        cs("none")
    );
    assert_eq!(
        k8s.analysis.reach(sel(&k8s, "a/agent"), sel(&k8s, "a/db")),
        cs("all")
    );
    // Calico: not selected (its side is open), not matched as a peer.
    let cal = with_cni(&docs, Cni::Calico).expect("analysed");
    assert_eq!(
        cal.analysis.reach(sel(&cal, "b/cli"), sel(&cal, "a/agent")),
        cs("all")
    );
    assert_eq!(
        cal.analysis.reach(sel(&cal, "a/agent"), sel(&cal, "a/db")),
        cs("none")
    );
    assert_eq!(count(&cal.diagnostics, Code::CalicoHostNetwork), 1);
    assert_eq!(count(&cal.diagnostics, Code::HostNetwork), 0);
}

#[test]
fn c_ca_9_e_ca_33_named_ports_of_init_containers_count_in_calico_mode() {
    // a/migrate declares `pg` only on a (non-restartable) init container.
    let migrate = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: migrate, namespace: a}\nspec:\n  template:\n    metadata: {labels: {app: migrate}}\n    spec:\n      initContainers: [{name: init, ports: [{name: pg, containerPort: 5432}]}]\n      containers: [{name: main}]\n".to_string();
    let pg_only = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: pg-only, namespace: a}\nspec:\n  podSelector: {matchLabels: {app: migrate}}\n  ingress: [{ports: [{port: pg}]}]\n".to_string();
    let docs = [migrate, pg_only];
    // M-5: restartable init containers only, so `pg` names nothing.
    let k8s = with_cni(&docs, Cni::Other).expect("analysed");
    assert_eq!(
        k8s.analysis
            .reach(sel(&k8s, "b/cli"), sel(&k8s, "a/migrate")),
        cs("none")
    );
    // Calico: every init container's ports (CA-26).
    let cal = with_cni(&docs, Cni::Calico).expect("analysed");
    assert_eq!(
        cal.analysis
            .reach(sel(&cal, "b/cli"), sel(&cal, "a/migrate")),
        cs("TCP 5432")
    );
}
