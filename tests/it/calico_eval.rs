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
