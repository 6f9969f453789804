//! Loader tests through [`load`]: every NP-31 rejection reason with its
//! rendered diagnostic (file:line:col, object, field, message), the lenient
//! workload cases of C9, object bookkeeping (duplicates, lists, namespaces,
//! skipped kinds) and property tests that hostile text never panics.

use super::{Inventory, LoadOptions, load};
use crate::diag::{Code, Diagnostic, Severity};
use crate::revision::{Revision, SourceFile};
use proptest::prelude::*;

mod declarations;

fn revision(files: &[(&str, &str)]) -> Revision {
    Revision::new(
        "test",
        files
            .iter()
            .map(|(path, text)| SourceFile::new(*path, *text))
            .collect(),
    )
}

fn load_files(files: &[(&str, &str)]) -> (Inventory, Vec<Diagnostic>) {
    load(&revision(files), &LoadOptions::default())
}

/// Diagnostics of one severity, rendered as the CLI shows them after the
/// severity prefix, one a line.
fn render(diags: &[Diagnostic], severity: Severity) -> String {
    diags
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| format!("{}: {d}", d.code))
        .collect::<Vec<_>>()
        .join("\n")
}

const NP_HEAD: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: p
  namespace: shop
spec:
";

/// A NetworkPolicy `shop/p` whose spec is `lines`, each indented by two
/// spaces. The first spec line is line 7 of the file.
fn np(lines: &[&str]) -> String {
    let mut text = NP_HEAD.to_string();
    for line in lines {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// Warnings other than the namespace assumption (M-9), which nearly every
/// snippet here triggers.
fn warnings(diags: &[Diagnostic]) -> String {
    let rest: Vec<Diagnostic> = diags
        .iter()
        .filter(|d| d.code != Code::NamespaceAssumed)
        .cloned()
        .collect();
    render(&rest, Severity::Warning)
}

/// Loads `np.yaml`, asserts the policy was rejected, and returns the
/// rendered errors.
fn rejected(lines: &[&str]) -> String {
    let text = np(lines);
    let (inv, diags) = load_files(&[("np.yaml", &text)]);
    assert!(inv.policies.is_empty(), "policy accepted:\n{text}");
    let errors = render(&diags, Severity::Error);
    assert!(!errors.is_empty(), "no error for:\n{text}");
    errors
}

/// Loads `np.yaml`, asserts the policy was accepted without errors, and
/// returns the rendered warnings.
fn accepted(lines: &[&str]) -> String {
    let text = np(lines);
    let (inv, diags) = load_files(&[("np.yaml", &text)]);
    assert_eq!(
        render(&diags, Severity::Error),
        "",
        "unexpected error for:\n{text}"
    );
    assert_eq!(inv.policies.len(), 1, "policy not loaded:\n{text}");
    warnings(&diags)
}

// ---------------------------------------------------------------------------
// NP-3: policyTypes
// ---------------------------------------------------------------------------

#[test]
fn policy_types_bad_value() {
    insta::assert_snapshot!(rejected(&["podSelector: {}", "policyTypes: [ingress]"]), @r#"invalid-object: np.yaml:8:17: NetworkPolicy shop/p: spec.policyTypes[0]: unknown policy type "ingress" (expected Ingress or Egress)"#);
}

#[test]
fn policy_types_more_than_two() {
    insta::assert_snapshot!(
        rejected(&["podSelector: {}", "policyTypes: [Ingress, Egress, Ingress]"]),
        @"invalid-object: np.yaml:8:34: NetworkPolicy shop/p: spec.policyTypes: at most two policyTypes are allowed"
    );
}

#[test]
fn policy_types_not_a_list() {
    insta::assert_snapshot!(rejected(&["policyTypes: Ingress"]), @"invalid-object: np.yaml:7:16: NetworkPolicy shop/p: spec.policyTypes: expected a list, found string");
}

#[test]
fn policy_types_non_string() {
    insta::assert_snapshot!(rejected(&["policyTypes: [1]"]), @"invalid-object: np.yaml:7:17: NetworkPolicy shop/p: spec.policyTypes[0]: expected a string, found integer");
}

// ---------------------------------------------------------------------------
// NP-10, E-15: selector validation
// ---------------------------------------------------------------------------

#[test]
fn selector_operator_is_case_sensitive() {
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: app, operator: in, values: [x]}",
    ]), @r#"invalid-object: np.yaml:9:28: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0].operator: unknown operator "in" (expected In, NotIn, Exists or DoesNotExist)"#);
}

#[test]
fn selector_in_needs_values() {
    // Like every other field error, the position is the offending value
    // (`values: [...]`), not the start of the expression.
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: app, operator: In, values: []}",
    ]), @"invalid-object: np.yaml:9:40: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0].values: In needs at least one value");
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: app, operator: NotIn}",
    ]), @"invalid-object: np.yaml:9:7: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0].values: NotIn needs at least one value");
}

#[test]
fn selector_exists_takes_no_values() {
    // Like every other field error, the position is the offending value
    // (`values: [...]`), not the start of the expression.
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: app, operator: Exists, values: [x]}",
    ]), @"invalid-object: np.yaml:9:44: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0].values: Exists takes no values");
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: app, operator: DoesNotExist, values: [x]}",
    ]), @"invalid-object: np.yaml:9:50: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0].values: DoesNotExist takes no values");
}

#[test]
fn selector_expression_needs_key_and_operator() {
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {operator: Exists}",
    ]), @"invalid-object: np.yaml:9:7: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0]: key is required");
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: app}",
    ]), @"invalid-object: np.yaml:9:7: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0]: operator is required");
}

#[test]
fn selector_invalid_label_key() {
    // The position of a bad `key:` is its value, as for other fields.
    insta::assert_snapshot!(rejected(&["podSelector: {matchLabels: {-app: web}}"]), @"invalid-object: np.yaml:7:31: NetworkPolicy shop/p: spec.podSelector.matchLabels.-app: invalid label key");
    insta::assert_snapshot!(rejected(&["podSelector: {matchLabels: {Example.com/app: web}}"]), @"invalid-object: np.yaml:7:31: NetworkPolicy shop/p: spec.podSelector.matchLabels.Example.com/app: invalid label key");
    insta::assert_snapshot!(rejected(&["podSelector: {matchLabels: {a/b/c: web}}"]), @"invalid-object: np.yaml:7:31: NetworkPolicy shop/p: spec.podSelector.matchLabels.a/b/c: invalid label key");
    let long = format!("podSelector: {{matchLabels: {{{}: web}}}}", "k".repeat(64));
    insta::assert_snapshot!(rejected(&[&long]), @"invalid-object: np.yaml:7:31: NetworkPolicy shop/p: spec.podSelector.matchLabels.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk: invalid label key");
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: 'bad key', operator: Exists}",
    ]), @r#"invalid-object: np.yaml:9:13: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0].key: invalid label key "bad key""#);
}

#[test]
fn selector_invalid_label_value() {
    insta::assert_snapshot!(rejected(&["podSelector: {matchLabels: {app: -web}}"]), @r#"invalid-object: np.yaml:7:36: NetworkPolicy shop/p: spec.podSelector.matchLabels.app: invalid label value "-web""#);
    insta::assert_snapshot!(rejected(&["podSelector: {matchLabels: {app: 'a b'}}"]), @r#"invalid-object: np.yaml:7:36: NetworkPolicy shop/p: spec.podSelector.matchLabels.app: invalid label value "a b""#);
    let long = format!("podSelector: {{matchLabels: {{app: {}}}}}", "v".repeat(64));
    insta::assert_snapshot!(rejected(&[&long]), @r#"invalid-object: np.yaml:7:36: NetworkPolicy shop/p: spec.podSelector.matchLabels.app: invalid label value "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv""#);
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: app, operator: In, values: [web, 'no/slash']}",
    ]), @r#"invalid-object: np.yaml:9:46: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0].values[1]: invalid label value "no/slash""#);
}

#[test]
fn label_values_must_be_strings() {
    // E-37: booleans and numbers are not strings.
    insta::assert_snapshot!(rejected(&["podSelector: {matchLabels: {enabled: true}}"]), @"invalid-object: np.yaml:7:40: NetworkPolicy shop/p: spec.podSelector.matchLabels.enabled: label values must be strings, found boolean (quote it)");
    insta::assert_snapshot!(rejected(&["podSelector: {matchLabels: {version: 2}}"]), @"invalid-object: np.yaml:7:40: NetworkPolicy shop/p: spec.podSelector.matchLabels.version: label values must be strings, found integer (quote it)");
    insta::assert_snapshot!(rejected(&["podSelector: {matchLabels: {version: 1.5}}"]), @"invalid-object: np.yaml:7:40: NetworkPolicy shop/p: spec.podSelector.matchLabels.version: label values must be strings, found number (quote it)");
    insta::assert_snapshot!(rejected(&[
        "podSelector: {}",
        "ingress:",
        "- from:",
        "  - namespaceSelector: {matchLabels: {team: 7}}",
    ]), @"invalid-object: np.yaml:10:47: NetworkPolicy shop/p: spec.ingress[0].from[0].namespaceSelector.matchLabels.team: label values must be strings, found integer (quote it)");
    insta::assert_snapshot!(rejected(&[
        "podSelector:",
        "  matchExpressions:",
        "  - {key: version, operator: In, values: [1, 2]}",
    ]), @"invalid-object: np.yaml:9:45: NetworkPolicy shop/p: spec.podSelector.matchExpressions[0].values[0]: values must be strings, found integer");
}

#[test]
fn quoted_label_values_are_strings() {
    insta::assert_snapshot!(accepted(&[
        "podSelector: {matchLabels: {enabled: \"true\", version: '2', empty: ''}}",
    ]), @"");
    // YAML 1.1 booleans read as strings, with a warning (E-37).
    insta::assert_snapshot!(accepted(&["podSelector: {matchLabels: {enabled: yes}}"]), @r#"boolean-like-label: np.yaml:7:40: NetworkPolicy shop/p: spec.podSelector.matchLabels.enabled: unquoted "yes" may be read as a boolean by YAML 1.1 parsers; quote it"#);
}

// ---------------------------------------------------------------------------
// NP-11, E-31: peer shape
// ---------------------------------------------------------------------------

#[test]
fn peer_without_fields() {
    insta::assert_snapshot!(rejected(&["podSelector: {}", "ingress:", "- from: [{}]"]), @"invalid-object: np.yaml:9:12: NetworkPolicy shop/p: spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock (a null selector counts as absent, NP-11)");
}

#[test]
fn peer_with_null_pod_selector_alone() {
    // E-31: `podSelector:` with nothing after it is a null, the peer has no field.
    insta::assert_snapshot!(rejected(&[
        "podSelector: {}",
        "ingress:",
        "- from:",
        "  - podSelector:",
    ]), @"invalid-object: np.yaml:10:7: NetworkPolicy shop/p: spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock (a null selector counts as absent, NP-11)");
    insta::assert_snapshot!(rejected(&[
        "podSelector: {}",
        "egress:",
        "- to:",
        "  - podSelector: null",
        "    namespaceSelector: ~",
    ]), @"invalid-object: np.yaml:10:7: NetworkPolicy shop/p: spec.egress[0].to[0]: a peer needs podSelector, namespaceSelector or ipBlock (a null selector counts as absent, NP-11)");
}

#[test]
fn null_list_item_peer() {
    insta::assert_snapshot!(rejected(&["podSelector: {}", "ingress:", "- from:", "  -"]), @"invalid-object: np.yaml:10:6: NetworkPolicy shop/p: spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock");
}

#[test]
fn ip_block_combined_with_selectors() {
    insta::assert_snapshot!(rejected(&[
        "podSelector: {}",
        "ingress:",
        "- from:",
        "  - ipBlock: {cidr: 10.0.0.0/8}",
        "    podSelector: {}",
    ]), @"invalid-object: np.yaml:10:7: NetworkPolicy shop/p: spec.ingress[0].from[0]: ipBlock cannot be combined with podSelector or namespaceSelector");
    insta::assert_snapshot!(rejected(&[
        "podSelector: {}",
        "egress:",
        "- to:",
        "  - namespaceSelector: {matchLabels: {team: a}}",
        "    ipBlock: {cidr: 10.0.0.0/8}",
    ]), @"invalid-object: np.yaml:10:7: NetworkPolicy shop/p: spec.egress[0].to[0]: ipBlock cannot be combined with podSelector or namespaceSelector");
}

#[test]
fn unknown_peer_field_alone() {
    // A misspelt selector leaves a peer without any field: still invalid.
    let text = np(&[
        "podSelector: {}",
        "ingress:",
        "- from:",
        "  - podSelecter: {matchLabels: {app: web}}",
    ]);
    let (inv, diags) = load_files(&[("np.yaml", &text)]);
    assert!(inv.policies.is_empty());
    insta::assert_snapshot!(
        format!("{}\n{}", warnings(&diags), render(&diags, Severity::Error)),
        @r#"
        unknown-field: np.yaml:10:7: NetworkPolicy shop/p: spec.ingress[0].from[0].podSelecter: unknown field
        invalid-object: np.yaml:10:7: NetworkPolicy shop/p: spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock (a null selector counts as absent, NP-11)
        "#
    );
}

#[test]
fn valid_peers_and_null_selectors() {
    // E-31: spec {} and a null podSelector are valid and select every pod.
    let (inv, diags) = load_files(&[("np.yaml", &format!("{NP_HEAD}  {{}}\n"))]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.policies.len(), 1);
    let (inv, diags) = load_files(&[(
        "np.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\n",
    )]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.policies.len(), 1);
    assert!(inv.policies[0].ingress_isolates && !inv.policies[0].egress_isolates);
    insta::assert_snapshot!(accepted(&[
        "podSelector: null",
        "policyTypes: [Ingress, Egress]",
        "ingress:",
        "- {}",
        "-",
        "- from: []",
        "- from:",
        "  - podSelector: {}",
        "  - namespaceSelector: {}",
        "    podSelector: {matchLabels: {app: web}}",
        "  - ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.0/25]}",
        "egress:",
        "- to: null",
        "  ports: null",
    ]), @"");
}

// ---------------------------------------------------------------------------
// NP-13, E-19: ipBlock
// ---------------------------------------------------------------------------

#[test]
fn bad_cidr() {
    let peer = |cidr: &str| {
        rejected(&[
            "podSelector: {}",
            "egress:",
            "- to:",
            &format!("  - ipBlock: {{cidr: {cidr}}}"),
        ])
    };
    insta::assert_snapshot!(peer("10.0.0.0/33"), @r#"invalid-object: np.yaml:10:23: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.cidr: invalid CIDR "10.0.0.0/33""#);
    insta::assert_snapshot!(peer("10.0.0/8"), @r#"invalid-object: np.yaml:10:23: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.cidr: invalid CIDR "10.0.0/8""#);
    insta::assert_snapshot!(peer("10.0.0.0"), @r#"invalid-object: np.yaml:10:23: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.cidr: invalid CIDR "10.0.0.0""#);
    insta::assert_snapshot!(peer("banana"), @r#"invalid-object: np.yaml:10:23: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.cidr: invalid CIDR "banana""#);
    insta::assert_snapshot!(peer("'::1/129'"), @r#"invalid-object: np.yaml:10:23: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.cidr: invalid CIDR "::1/129""#);
    insta::assert_snapshot!(peer("10"), @"invalid-object: np.yaml:10:23: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.cidr: expected a string, found integer");
}

#[test]
fn ip_block_needs_cidr() {
    insta::assert_snapshot!(rejected(&[
        "podSelector: {}",
        "egress:",
        "- to:",
        "  - ipBlock: {except: [10.0.0.0/8]}",
    ]), @"invalid-object: np.yaml:10:16: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock: cidr is required");
}

#[test]
fn except_must_be_a_strict_subset() {
    let peer = |cidr: &str, except: &str| {
        rejected(&[
            "podSelector: {}",
            "egress:",
            "- to:",
            "  - ipBlock:",
            &format!("      cidr: {cidr}"),
            &format!("      except: [{except}]"),
        ])
    };
    // Equal to the cidr.
    insta::assert_snapshot!(peer("10.0.0.0/16", "10.0.0.0/16"), @"invalid-object: np.yaml:12:18: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.except[0]: except 10.0.0.0/16 is not a strict subset of cidr 10.0.0.0/16");
    // Outside the cidr.
    insta::assert_snapshot!(peer("10.0.0.0/16", "10.1.0.0/24"), @"invalid-object: np.yaml:12:18: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.except[0]: except 10.1.0.0/24 is not a strict subset of cidr 10.0.0.0/16");
    // Larger than the cidr.
    insta::assert_snapshot!(peer("10.0.0.0/16", "10.0.0.0/8"), @"invalid-object: np.yaml:12:18: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.except[0]: except 10.0.0.0/8 is not a strict subset of cidr 10.0.0.0/16");
    // Another address family.
    insta::assert_snapshot!(peer("10.0.0.0/8", "'::/100'"), @"invalid-object: np.yaml:12:18: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.except[0]: except ::/100 is not a strict subset of cidr 10.0.0.0/8");
    // Invalid syntax in an except.
    insta::assert_snapshot!(peer("10.0.0.0/16", "10.0.0.0/99"), @r#"invalid-object: np.yaml:12:18: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.except[0]: invalid CIDR "10.0.0.0/99""#);
}

#[test]
fn host_bits_are_masked_with_a_warning() {
    insta::assert_snapshot!(accepted(&[
        "podSelector: {}",
        "egress:",
        "- to:",
        "  - ipBlock: {cidr: 10.0.0.7/16, except: [10.0.1.0/24]}",
    ]), @r#"
        cidr-host-bits: np.yaml:10:23: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock.cidr: 10.0.0.7/16 has host bits set; it means 10.0.0.0/16
        ipblock-cluster-range: np.yaml:10:16: NetworkPolicy shop/p: spec.egress[0].to[0].ipBlock: 10.0.0.0/16 covers 10.0.0.0/8, a typical pod range; reachdiff matches ipBlocks against external addresses only, but IP-matching CNIs (Calico, the upstream e2e tests) also admit pods there (NP-14)
        "#);
}

// ---------------------------------------------------------------------------
// NP-16, NP-17, E-25, E-26, E-28: ports and protocols
// ---------------------------------------------------------------------------

/// An ingress rule with one port entry.
fn port(entry: &str) -> Vec<String> {
    vec![
        "podSelector: {}".into(),
        "ingress:".into(),
        "- ports:".into(),
        format!("  - {entry}"),
    ]
}

fn rejected_port(entry: &str) -> String {
    let lines = port(entry);
    rejected(&lines.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn port_zero() {
    insta::assert_snapshot!(rejected_port("{port: 0}"), @"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: port 0 is outside 1-65535");
}

#[test]
fn port_above_65535() {
    insta::assert_snapshot!(rejected_port("{port: 70000}"), @"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: port 70000 is outside 1-65535");
    insta::assert_snapshot!(rejected_port("{port: -1}"), @"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: port -1 is outside 1-65535");
}

#[test]
fn quoted_port_number_is_an_invalid_name() {
    insta::assert_snapshot!(rejected_port("{port: \"8080\"}"), @r#"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: invalid port name "8080" (a quoted number is a port name, and names need a letter; write it unquoted)"#);
}

#[test]
fn invalid_port_names() {
    insta::assert_snapshot!(rejected_port("{port: HTTP}"), @r#"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: invalid port name "HTTP""#);
    insta::assert_snapshot!(rejected_port("{port: my--port}"), @r#"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: invalid port name "my--port""#);
    insta::assert_snapshot!(rejected_port("{port: a-very-long-port-name}"), @r#"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: invalid port name "a-very-long-port-name""#);
    insta::assert_snapshot!(rejected_port("{port: -http}"), @r#"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: invalid port name "-http""#);
}

#[test]
fn port_of_wrong_type() {
    insta::assert_snapshot!(rejected_port("{port: [80]}"), @"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: expected integer or string, found list");
    insta::assert_snapshot!(rejected_port("{port: 80.5}"), @"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: expected integer or string, found number");
    insta::assert_snapshot!(rejected_port("{port: true}"), @"invalid-object: np.yaml:10:14: NetworkPolicy shop/p: spec.ingress[0].ports[0].port: expected integer or string, found boolean");
}

#[test]
fn end_port_below_port() {
    insta::assert_snapshot!(rejected_port("{port: 9100, endPort: 9000}"), @"invalid-object: np.yaml:10:29: NetworkPolicy shop/p: spec.ingress[0].ports[0].endPort: endPort 9000 is below port 9100");
}

#[test]
fn end_port_with_named_port() {
    insta::assert_snapshot!(rejected_port("{port: http, endPort: 9000}"), @"invalid-object: np.yaml:10:29: NetworkPolicy shop/p: spec.ingress[0].ports[0].endPort: endPort cannot be used with a named port");
}

#[test]
fn end_port_without_port() {
    insta::assert_snapshot!(rejected_port("{endPort: 9000}"), @"invalid-object: np.yaml:10:17: NetworkPolicy shop/p: spec.ingress[0].ports[0].endPort: endPort requires port");
}

#[test]
fn end_port_out_of_range() {
    insta::assert_snapshot!(rejected_port("{port: 80, endPort: 70000}"), @"invalid-object: np.yaml:10:27: NetworkPolicy shop/p: spec.ingress[0].ports[0].endPort: port 70000 is outside 1-65535");
    insta::assert_snapshot!(rejected_port("{port: 80, endPort: \"90\"}"), @"invalid-object: np.yaml:10:27: NetworkPolicy shop/p: spec.ingress[0].ports[0].endPort: expected an integer, found string");
}

#[test]
fn protocol_is_case_sensitive() {
    insta::assert_snapshot!(rejected_port("{protocol: tcp, port: 80}"), @r#"invalid-object: np.yaml:10:18: NetworkPolicy shop/p: spec.ingress[0].ports[0].protocol: unsupported protocol "tcp" (expected TCP, UDP or SCTP, upper case)"#);
    insta::assert_snapshot!(rejected_port("{protocol: ICMP}"), @r#"invalid-object: np.yaml:10:18: NetworkPolicy shop/p: spec.ingress[0].ports[0].protocol: unsupported protocol "ICMP" (expected TCP, UDP or SCTP, upper case)"#);
    insta::assert_snapshot!(rejected_port("{protocol: 6}"), @"invalid-object: np.yaml:10:18: NetworkPolicy shop/p: spec.ingress[0].ports[0].protocol: expected a string, found integer");
}

#[test]
fn valid_ports() {
    let lines = [
        "podSelector: {}",
        "ingress:",
        "- ports:",
        "  - {protocol: TCP, port: 32000, endPort: 32768}",
        "  - {port: 9000, endPort: 9000}",
        "  - {port: 1}",
        "  - {port: 65535, endPort: 65535}",
        "  - {protocol: UDP}",
        "  - {protocol: SCTP, port: http}",
        "  - {port: dns-tcp, protocol: null}",
        "- ports: []",
    ];
    insta::assert_snapshot!(accepted(&lines), @"");
    let (inv, _) = load_files(&[("np.yaml", &np(&lines))]);
    let rules = &inv.policies[0].ingress;
    insta::assert_snapshot!(format!("{:?}\n{:?}", rules[0].ports, rules[1].ports), @r#"
        Some([Range(Tcp, 32000, 32768), Range(Tcp, 9000, 9000), Range(Tcp, 1, 1), Range(Tcp, 65535, 65535), Any(Udp), Named(Some(Sctp), "http"), Named(Some(Tcp), "dns-tcp")])
        None
        "#);
}

// ---------------------------------------------------------------------------
// Wrong shapes
// ---------------------------------------------------------------------------

#[test]
fn wrong_shapes() {
    insta::assert_snapshot!(rejected(&["ingress: {from: []}"]), @"invalid-object: np.yaml:7:12: NetworkPolicy shop/p: spec.ingress: expected a list, found mapping");
    insta::assert_snapshot!(rejected(&["ingress:", "- from: {podSelector: {}}"]), @"invalid-object: np.yaml:8:11: NetworkPolicy shop/p: spec.ingress[0].from: expected a list, found mapping");
    insta::assert_snapshot!(rejected(&["ingress:", "- ports: 80"]), @"invalid-object: np.yaml:8:12: NetworkPolicy shop/p: spec.ingress[0].ports: expected a list, found integer");
    insta::assert_snapshot!(rejected(&["podSelector: [app]"]), @"invalid-object: np.yaml:7:16: NetworkPolicy shop/p: spec.podSelector: expected a mapping, found list");
    insta::assert_snapshot!(rejected(&["ingress:", "- 42"]), @"invalid-object: np.yaml:8:5: NetworkPolicy shop/p: spec.ingress[0]: expected a mapping, found integer");
    let text = format!("{NP_HEAD}  - not a mapping\n");
    let (inv, diags) = load_files(&[("np.yaml", &text)]);
    assert!(inv.policies.is_empty());
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: np.yaml:7:3: NetworkPolicy shop/p: spec: expected a mapping, found list");
}

#[test]
fn unknown_field_in_spec_is_a_warning() {
    insta::assert_snapshot!(accepted(&[
        "podSelector: {}",
        "podSelecter: {matchLabels: {app: web}}",
        "ingress:",
        "- from: [{podSelector: {}}]",
        "  port: [{port: 80}]",
    ]), @r#"
        unknown-field: np.yaml:8:3: NetworkPolicy shop/p: spec.podSelecter: unknown field
        unknown-field: np.yaml:11:5: NetworkPolicy shop/p: spec.ingress[0].port: unknown field
        "#);
}

// ---------------------------------------------------------------------------
// C9: lenient workloads
// ---------------------------------------------------------------------------

/// Loads `w.yaml`, asserts no errors and one workload, returns warnings.
fn lenient(text: &str) -> (Inventory, String) {
    let (inv, diags) = load_files(&[("w.yaml", text)]);
    assert_eq!(
        render(&diags, Severity::Error),
        "",
        "unexpected error for:\n{text}"
    );
    assert_eq!(inv.workloads.len(), 1, "workload not loaded:\n{text}");
    (inv, warnings(&diags))
}

#[test]
fn container_without_name_is_lenient() {
    let (inv, warnings) = lenient(
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - image: nginx
        ports:
        - {name: http, containerPort: 8080}
",
    );
    insta::assert_snapshot!(warnings, @"lenient-workload: w.yaml:9:9: Deployment shop/web: spec.template.spec.containers[0]: container without a name (accepted; it cannot change reachability)");
    assert_eq!(inv.workloads[0].ports.len(), 1);
}

#[test]
fn statefulset_without_service_name_is_lenient() {
    let text = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: pg
        image: postgres
";
    let (inv, warnings) = lenient(text);
    assert_eq!(inv.workloads[0].id(), "shop/db[StatefulSet]");
    // C9: analysed *with a warning*.
    insta::assert_snapshot!(warnings, @"lenient-workload: w.yaml:1:1: StatefulSet shop/db: spec.serviceName: StatefulSet without serviceName (accepted; it cannot change reachability)");
}

#[test]
fn misspelt_container_port_is_lenient() {
    let (inv, warnings) = lenient(
        "apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers:
  - name: web
    ports:
    - containerport: 8080
      name: http
    - containerPort: 9090
      name: metrics
",
    );
    insta::assert_snapshot!(warnings, @"lenient-workload: w.yaml:8:7: Pod shop/web: spec.containers[0].ports[0]: container port without a valid containerPort is ignored");
    insta::assert_snapshot!(format!("{:?}", inv.workloads[0].ports), @r#"[ContainerPort { name: Some("metrics"), port: 9090, protocol: Tcp }]"#);
}

#[test]
fn workload_label_values_must_be_strings() {
    let (inv, diags) = load_files(&[(
        "w.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels:
        app: web
        version: 2
    spec:
      containers: [{name: web}]
",
    )]);
    assert!(inv.workloads.is_empty());
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: w.yaml:9:18: Deployment shop/web: spec.template.metadata.labels.version: label values must be strings, found integer (quote it)");
}

// ---------------------------------------------------------------------------
// Objects: duplicates, lists, namespaces, skipped kinds
// ---------------------------------------------------------------------------

#[test]
fn duplicate_objects_name_both_places() {
    let policy = np(&["podSelector: {}"]);
    let other = np(&["podSelector: {matchLabels: {app: web}}"]);
    let (inv, diags) = load_files(&[("b.yaml", &other), ("a.yaml", &policy)]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"duplicate-object: b.yaml:1:1: NetworkPolicy shop/p: declared twice with different content (first at a.yaml:1:1); which one the cluster keeps decides the verdict; if these are separate environments (base and overlays, one folder per cluster), list them under `environments:` in .reachdiff.yaml");
    // The later declaration (in path order) is the one kept, as `kubectl
    // apply` of the tree would leave it.
    assert_eq!(inv.policies.len(), 1);
    assert_eq!(inv.policies[0].span.file, "b.yaml");
    // The same policy twice cannot change a verdict: a warning.
    let (inv, diags) = load_files(&[("b.yaml", &policy), ("a.yaml", &policy)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.policies.len(), 1);
    insta::assert_snapshot!(warnings(&diags), @"duplicate-object: b.yaml:1:1: NetworkPolicy shop/p: declared again with the same content (first at a.yaml:1:1); the later declaration is used");
    let deployment = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: web}]
";
    let relabelled = deployment.replace(
        "    spec:\n",
        "    metadata: {labels: {app: web}}\n    spec:\n",
    );
    let two = format!("{deployment}---\n{relabelled}");
    let (inv, diags) = load_files(&[("k8s/web.yaml", &two)]);
    assert_eq!(inv.workloads.len(), 1);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"duplicate-object: k8s/web.yaml:9:1: Deployment shop/web: declared twice with different content (first at k8s/web.yaml:1:1); which one the cluster keeps decides the verdict; if these are separate environments (base and overlays, one folder per cluster), list them under `environments:` in .reachdiff.yaml");
    // A different image does not change what the analysis reads.
    let reimaged = deployment.replace("{name: web}", "{name: web, image: web:2}");
    let (_, diags) = load_files(&[("k8s/web.yaml", &format!("{deployment}---\n{reimaged}"))]);
    assert_eq!(render(&diags, Severity::Error), "");
}

#[test]
fn same_name_different_kind_or_namespace_is_not_duplicate() {
    let text = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {spec: {containers: [{name: web}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: shop}
spec: {serviceName: web, template: {spec: {containers: [{name: web}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: other}
spec: {template: {spec: {containers: [{name: web}]}}}
";
    let (inv, diags) = load_files(&[("w.yaml", text)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.workloads.len(), 3);
}

#[test]
fn list_items_take_their_kind_from_the_list() {
    let text = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
- metadata: {name: a, namespace: shop}
  spec: {podSelector: {}}
- metadata: {name: b, namespace: shop}
  spec:
    ingress:
    - ports: [{port: 0}]
";
    let (inv, diags) = load_files(&[("list.yaml", text)]);
    assert_eq!(
        inv.policies
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["a"]
    );
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: list.yaml:9:22: NetworkPolicy shop/b: spec.ingress[0].ports[0].port: port 0 is outside 1-65535");
}

#[test]
fn generic_list_items_need_a_kind() {
    let text = "apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: a, namespace: shop}
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: shop}
";
    let (inv, diags) = load_files(&[("list.yaml", text)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.policies.len(), 1);
    assert_eq!(inv.namespaces.len(), 1);
    insta::assert_snapshot!(render(&diags, Severity::Info), @"policy-types-defaulted: list.yaml:4:3: NetworkPolicy shop/a: policyTypes defaulted to [Ingress]");
    // kubectl infers an item's kind only for typed lists (`PodList`); an item
    // of a plain `List` without kind is rejected ("Object 'Kind' is
    // missing"). Skipping it quietly would drop a policy from the analysis.
    let text = "apiVersion: v1
kind: List
items:
- metadata: {name: b, namespace: shop}
  spec: {podSelector: {}, policyTypes: [Ingress]}
";
    let (_, diags) = load_files(&[("list.yaml", text)]);
    assert!(
        diags
            .iter()
            .any(|d| d.is_error() && d.span.as_ref().is_some_and(|s| (s.line, s.col) == (4, 3))),
        "an item without kind in a List must be an error at list.yaml:4:3, got:\n{}",
        render(&diags, Severity::Info)
    );
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: list.yaml:4:3: a List item needs apiVersion and kind (only typed lists such as PodList imply them)");
}

#[test]
fn list_items_must_be_a_list() {
    let (_, diags) = load_files(&[("list.yaml", "apiVersion: v1\nkind: List\nitems: {a: 1}\n")]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: list.yaml:3:8: List: items: expected a list, found mapping");
}

#[test]
fn namespace_defaulting() {
    let text = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: none}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: empty, namespace: ''}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: given, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {containers: [{name: web}]}
";
    let ns_of = |inv: &Inventory| {
        let mut v: Vec<String> = inv
            .policies
            .iter()
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .chain(inv.workloads.iter().map(|w| w.id()))
            .collect();
        v.sort();
        v.join(" ")
    };
    let (inv, diags) = load_files(&[("np.yaml", text)]);
    assert_eq!(render(&diags, Severity::Error), "");
    insta::assert_snapshot!(ns_of(&inv), @"default/empty default/none default/web[Pod] shop/given");
    let opts = LoadOptions {
        default_namespace: "rendered".into(),
        ..LoadOptions::default()
    };
    let (inv, diags) = load(&revision(&[("np.yaml", text)]), &opts);
    assert_eq!(render(&diags, Severity::Error), "");
    insta::assert_snapshot!(ns_of(&inv), @"rendered/empty rendered/none rendered/web[Pod] shop/given");
    // M-9: namespaces without a manifest are assumed, with a warning.
    insta::assert_snapshot!(render(&diags, Severity::Warning), @r#"
        namespace-assumed: np.yaml:13:1: namespace "rendered" has no manifest; assumed to carry only kubernetes.io/metadata.name=rendered
        namespace-assumed: np.yaml:9:1: namespace "shop" has no manifest; assumed to carry only kubernetes.io/metadata.name=shop
        "#);
    let names: Vec<&str> = inv.namespaces.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["rendered", "shop"]);
}

#[test]
fn namespace_of_wrong_type_is_an_error() {
    // A namespace the API server would refuse must not silently become
    // `default`: the policy would protect the wrong pods.
    let (inv, diags) = load_files(&[(
        "np.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: 42}\n",
    )]);
    assert!(
        inv.policies.is_empty() && diags.iter().any(Diagnostic::is_error),
        "metadata.namespace: 42 was accepted as {:?}",
        inv.policies.first().map(|p| &p.namespace)
    );
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: np.yaml:3:32: NetworkPolicy p: metadata.namespace: expected a string, found integer");
}

#[test]
fn unknown_kinds_are_skipped_and_counted() {
    let text = "apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
---
apiVersion: v1
kind: Secret
metadata: {name: c}
---
replicaCount: 3
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicyy
metadata: {name: d}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: e}
";
    let (inv, diags) = load_files(&[("misc.yaml", text)]);
    assert_eq!(render(&diags, Severity::Error), "");
    insta::assert_snapshot!(format!("{:?}", inv.skipped), @r#"{"(no kind)": 1, "ConfigMap": 3, "NetworkPolicyy": 1, "Secret": 1}"#);
    insta::assert_snapshot!(warnings(&diags), @r#"skipped-kind: misc.yaml:15:1: unknown kind "NetworkPolicyy" looks like a misspelt policy kind; skipped, so its rules are ignored"#);
    insta::assert_snapshot!(render(&diags, Severity::Info), @r#"
        skipped-kind: misc.yaml:1:1: ConfigMap does not affect reachability; skipped
        skipped-kind: misc.yaml:5:1: ConfigMap does not affect reachability; skipped
        skipped-kind: misc.yaml:9:1: Secret does not affect reachability; skipped
        skipped-kind: misc.yaml:13:1: a document without apiVersion and kind is not a Kubernetes object; skipped
        skipped-kind: misc.yaml:19:1: ConfigMap does not affect reachability; skipped
        skipped: 6 documents not analysed, of kinds reachdiff does not read ((no kind) 1, ConfigMap 3, NetworkPolicyy 1, Secret 1; -v lists them)
        "#);
}

#[test]
fn well_known_networking_kinds_are_not_typos() {
    // Ingress and IngressClass are real kinds of networking.k8s.io; they
    // cannot change reachability and are no typo of a policy kind.
    let text = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {rules: [{host: example.com}]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
";
    let (inv, diags) = load_files(&[("ingress.yaml", text)]);
    assert_eq!(inv.skipped.get("Ingress"), Some(&1));
    assert_eq!(inv.skipped.get("IngressClass"), Some(&1));
    assert_eq!(
        warnings(&diags),
        "",
        "real kinds reported as possible typos"
    );
}

#[test]
fn object_without_name_is_an_error() {
    let (_, diags) = load_files(&[(
        "np.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nspec: {}\n",
    )]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: np.yaml:1:1: NetworkPolicy: metadata.name (or metadata.generateName) is required");
}

#[test]
fn document_that_is_not_a_mapping() {
    // A top-level list (an Ansible playbook) is skipped; a scalar document
    // is nothing kubectl would apply.
    let playbook = "- hosts: all\n  tasks:\n  - name: ping\n    ping: {}\n";
    let text = format!("---\n{playbook}---\njust text\n");
    let (inv, diags) = load_files(&[("x.yaml", &text)]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: x.yaml:7:1: expected a Kubernetes object (a mapping), found string");
    insta::assert_snapshot!(render(&diags, Severity::Info), @r"
        skipped-kind: x.yaml:2:1: a YAML list is not a Kubernetes object (an Ansible playbook?); skipped
        skipped: 1 document not analysed, of kinds reachdiff does not read ((list) 1; -v lists them)
        ");
    assert_eq!(inv.skipped.get("(list)"), Some(&1));
    // A bare list of objects was meant to be applied; kubectl refuses it,
    // and skipping it could drop a policy unseen.
    let (_, diags) = load_files(&[(
        "x.yaml",
        "- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n",
    )]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"invalid-object: x.yaml:1:1: a YAML list of Kubernetes objects: kubectl applies a list only as `kind: List` with `items:`");
}

// ---------------------------------------------------------------------------
// YAML syntax and limits
// ---------------------------------------------------------------------------

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let (inv, diags) = load_files(&[(
        "bad.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web, db\nspec: {}\n",
    )]);
    assert!(inv.workloads.is_empty());
    insta::assert_snapshot!(render(&diags, Severity::Error), @"yaml-syntax: bad.yaml:5:5: illegal placement of ':' indicator");
    let (_, diags) = load_files(&[("bad.yaml", "a: b: c\n")]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"yaml-syntax: bad.yaml:1:5: mapping values are not allowed in this context");
    let (_, diags) = load_files(&[("bad.yaml", "kind: Pod\nmetadata:\n\tname: web\n")]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"yaml-syntax: bad.yaml:3:2: tabs disallowed within this context (block indentation)");
    let (_, diags) = load_files(&[(
        "bad.yaml",
        "kind: Pod\nmetadata: {name: a}\nkind: Service\n",
    )]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @r#"
    invalid-object: bad.yaml:1:1: Service: apiVersion: missing (kubectl refuses an object without one)
    duplicate-key: bad.yaml:3:1: duplicate key "kind" with a different value (first at line 1); what this object is depends on which one the API server keeps
    "#);
    let (_, diags) = load_files(&[("bad.yaml", "kind: Pod\nspec: *nowhere\n")]);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"yaml-syntax: bad.yaml:2:7: while parsing node, found unknown anchor");
}

#[test]
fn merge_keys_let_explicit_keys_win() {
    // YAML merge keys (supported by the Go YAML library behind kubectl):
    // explicit keys override merged ones, whatever their order.
    let text = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels:
        <<: &common {app: base, tier: web}
        app: web
    spec:
      containers: [{name: web}]
";
    let (inv, diags) = load_files(&[("w.yaml", text)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.workloads.len(), 1);
    insta::assert_snapshot!(format!("{:?}", inv.workloads[0].labels), @r#"{"app": "web", "tier": "web"}"#);
}

#[test]
fn deep_nesting_is_an_input_limit() {
    let flow = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let block = format!("{}x\n", "- ".repeat(100_000));
    let keys: String = (0..300)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    for text in [&flow, &block, &keys] {
        let (_, diags) = load_files(&[("deep.yaml", text)]);
        let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].code,
            Code::InputLimit,
            "deep nesting should be an input limit: {}",
            errors[0]
        );
    }
}

#[test]
fn a_bad_file_does_not_hide_good_ones() {
    let good = np(&["podSelector: {}"]);
    let (inv, diags) = load_files(&[("good.yaml", &good), ("bad.yaml", "a: [\n")]);
    assert_eq!(inv.policies.len(), 1);
    insta::assert_snapshot!(render(&diags, Severity::Error), @"yaml-syntax: bad.yaml:2:1: while parsing a node, did not find expected node content");
}

#[test]
fn limits_are_errors() {
    let opts = LoadOptions {
        limits: super::yaml::Limits {
            max_bytes: 100,
            max_depth: 4,
            max_expansion: 50 * super::yaml::NODE_WEIGHT,
            ..super::yaml::Limits::default()
        },
        ..LoadOptions::default()
    };
    let errors = |text: &str| {
        let (_, diags) = load(&revision(&[("x.yaml", text)]), &opts);
        diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {d}", d.code))
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(errors(&"#".repeat(101)), @"input-limit: x.yaml:1:1: file is 101 bytes, more than the limit of 100 bytes");
    insta::assert_snapshot!(errors("a: [[[[[1]]]]]\n"), @"input-limit: x.yaml:1:7: nesting deeper than 4 levels");
    insta::assert_snapshot!(errors("a: &a [1, 2, 3, 4, 5, 6, 7, 8]\nb: [*a, *a, *a, *a, *a, *a, *a]\n"), @"input-limit: x.yaml:2:25: aliases expand this file by more than 1600 bytes (a YAML bomb?)");
    insta::assert_snapshot!(errors("\0"), @"yaml-syntax: x.yaml:1:1: binary data (NUL byte) in a text file");
}

// ---------------------------------------------------------------------------
// Property tests: hostile input never panics
// ---------------------------------------------------------------------------

const VALID_POLICY: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: shop
  labels: {team: a}
spec:
  podSelector:
    matchLabels: {app: web}
    matchExpressions:
    - {key: tier, operator: In, values: [frontend, edge]}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: b}}
      podSelector: {matchLabels: {app: cli}}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports:
    - {protocol: TCP, port: 8080, endPort: 8090}
    - port: http
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{protocol: UDP, port: 53}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: &l {app: web, tier: frontend}}
    spec:
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
";

/// Loads one file and checks the invariants every result must keep.
fn load_never_panics(text: &str) {
    let (_, diags) = load_files(&[("f.yaml", text)]);
    // A file of n lines ends on line n (or n + 1 after a final newline);
    // end-of-file errors may point one line further.
    // Line breaks as YAML counts them: LF, CRLF and a lone CR.
    let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count() as u32 + 1;
    for d in &diags {
        if let Some(span) = &d.span {
            assert_eq!(span.file, "f.yaml");
            assert!(
                span.line >= 1 && span.col >= 1 && span.line <= lines,
                "bad position in {d} for {text:?}"
            );
        }
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn valid_policy_loads_cleanly() {
    let (inv, diags) = load_files(&[("f.yaml", VALID_POLICY)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!((inv.policies.len(), inv.workloads.len()), (1, 1));
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        load_never_panics(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_strings_never_panic(text in "\\PC{0,128}") {
        load_never_panics(&text);
    }

    #[test]
    fn yaml_like_strings_never_panic(
        text in "([-:{}\\[\\],&*!|>'\"#%@?~ \t\n]|[a-z0-9]{1,6}|\n  |\n- |: ){0,64}"
    ) {
        load_never_panics(&text);
    }

    #[test]
    fn mutated_policy_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = VALID_POLICY.as_bytes().to_vec();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        load_never_panics(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn spliced_policy_lines_never_panic(
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        // Lines of a valid manifest in random order and multiplicity: keeps
        // the YAML mostly well formed, so decoding (not just parsing) runs.
        let lines: Vec<&str> = VALID_POLICY.lines().collect();
        let text: String = picks
            .iter()
            .map(|i| format!("{}\n", lines[i.index(lines.len())]))
            .collect();
        load_never_panics(&text);
    }
}

/// Namespaces from configuration (outside the repository) replace the M-9
/// assumption for undeclared namespaces; a declared Namespace wins.
#[test]
fn external_namespaces_replace_the_assumption() {
    let text = "\
apiVersion: v1
kind: Pod
metadata: {name: dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
";
    let mut opts = LoadOptions::default();
    opts.external_namespaces.insert(
        "kube-system".into(),
        [("tier".to_string(), "platform".to_string())].into(),
    );
    opts.external_namespaces.insert(
        "shop".into(),
        [("team".to_string(), "not-this".to_string())].into(),
    );
    let (inv, diags) = load(&revision(&[("x.yaml", text)]), &opts);
    assert!(
        !diags.iter().any(|d| d.code == Code::NamespaceAssumed),
        "{}",
        render(&diags, Severity::Warning)
    );
    let labels = |n: &str| {
        let ns = inv.namespaces.iter().find(|x| x.name == n).unwrap();
        ns.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(
        labels("kube-system"),
        "kubernetes.io/metadata.name=kube-system,tier=platform"
    );
    assert_eq!(labels("shop"), "kubernetes.io/metadata.name=shop,team=shop");
    // Without configuration the assumption (and its warning) is back.
    let (_, diags) = load(&revision(&[("x.yaml", text)]), &LoadOptions::default());
    assert!(diags.iter().any(|d| d.code == Code::NamespaceAssumed));
}
