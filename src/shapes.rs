//! Inputs of extreme shape, generated to a size: the budget harness
//! (`examples/shapes.rs`), the parser benchmarks (`benches/parser.rs`) and
//! the bad-input tests load them to check that work stays proportional to
//! the input and that hostile input is refused early.
//!
//! Pure and deterministic: the same shape and size give the same bytes.

use std::fmt::Write as _;

/// One shape of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One mapping of many keys (a ConfigMap's data).
    ManyKeys,
    /// Pods with huge label sets, 100,000 labels each (the most an object
    /// within the API server's size limit can carry; the loader and the
    /// label index).
    HugeLabels,
    /// One long sequence (a container's args).
    LongList,
    /// Block mappings nested 100 deep, repeated.
    DeepNesting,
    /// Flow sequences nested 100 deep, repeated.
    DeepFlow,
    /// Few keys with long string values (quoted and block scalars).
    LongStrings,
    /// Many small documents: Deployments and Services of many namespaces.
    ManyDocuments,
    /// NetworkPolicies whose selectors have many requirements and values.
    HugeSelectors,
    /// Thousands of NetworkPolicies that select every pod and admit every
    /// pod, over a few hundred workloads.
    PoliciesSelectingEverything,
    /// A large anchored list referenced again and again (refused).
    AliasFanOut,
    /// Nested aliases, ten of each level ("billion laughs", refused).
    BillionLaughs,
    /// A long string anchored once and referenced many times: few nodes,
    /// many bytes (refused).
    AliasLongString,
    /// Merge keys (`<<`) pulling a large mapping into many mappings
    /// (refused).
    MergeKeyFanOut,
    /// Aliases nesting deeper than the depth limit (refused).
    AliasTooDeep,
}

impl Shape {
    pub const ALL: [Shape; 14] = [
        Shape::ManyKeys,
        Shape::HugeLabels,
        Shape::LongList,
        Shape::DeepNesting,
        Shape::DeepFlow,
        Shape::LongStrings,
        Shape::ManyDocuments,
        Shape::HugeSelectors,
        Shape::PoliciesSelectingEverything,
        Shape::AliasFanOut,
        Shape::BillionLaughs,
        Shape::AliasLongString,
        Shape::MergeKeyFanOut,
        Shape::AliasTooDeep,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Shape::ManyKeys => "many-keys",
            Shape::HugeLabels => "huge-labels",
            Shape::LongList => "long-list",
            Shape::DeepNesting => "deep-nesting",
            Shape::DeepFlow => "deep-flow",
            Shape::LongStrings => "long-strings",
            Shape::ManyDocuments => "many-documents",
            Shape::HugeSelectors => "huge-selectors",
            Shape::PoliciesSelectingEverything => "policies-select-all",
            Shape::AliasFanOut => "alias-fan-out",
            Shape::BillionLaughs => "billion-laughs",
            Shape::AliasLongString => "alias-long-string",
            Shape::MergeKeyFanOut => "merge-key-fan-out",
            Shape::AliasTooDeep => "alias-too-deep",
        }
    }

    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the loader must refuse this shape (an input limit).
    pub fn refused(self) -> bool {
        matches!(
            self,
            Shape::AliasFanOut
                | Shape::BillionLaughs
                | Shape::AliasLongString
                | Shape::MergeKeyFanOut
                | Shape::AliasTooDeep
        )
    }

    /// About `bytes` bytes of this shape (never more; bombs are as small
    /// as they can be and ignore `bytes` beyond that).
    pub fn generate(self, bytes: usize) -> String {
        let mut g = Gen {
            out: String::with_capacity(bytes + 256),
            limit: bytes,
        };
        match self {
            Shape::ManyKeys => g.many_keys(),
            Shape::HugeLabels => g.huge_labels(),
            Shape::LongList => g.long_list(),
            Shape::DeepNesting => g.deep_nesting(),
            Shape::DeepFlow => g.deep_flow(),
            Shape::LongStrings => g.long_strings(),
            Shape::ManyDocuments => g.many_documents(),
            Shape::HugeSelectors => g.huge_selectors(),
            Shape::PoliciesSelectingEverything => g.policies_selecting_everything(),
            Shape::AliasFanOut => g.alias_fan_out(),
            Shape::BillionLaughs => g.billion_laughs(),
            Shape::AliasLongString => g.alias_long_string(),
            Shape::MergeKeyFanOut => g.merge_key_fan_out(),
            Shape::AliasTooDeep => g.alias_too_deep(),
        }
        g.out
    }
}

/// A Pod with `n` labels (issue 16: a million must load, or be refused,
/// in under 5 s and 1 GB).
pub fn pod_with_labels(n: usize) -> String {
    let mut out = String::with_capacity(n * 32 + 256);
    out.push_str(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: labelled\n  namespace: shapes\n  labels:\n",
    );
    for i in 0..n {
        let _ = writeln!(out, "    label-{i}: value-{i}");
    }
    out.push_str("spec:\n  containers: [{name: c, image: busybox}]\n");
    out
}

struct Gen {
    out: String,
    limit: usize,
}

impl Gen {
    /// Appends `unit` if it fits in the size limit.
    fn fits(&mut self, unit: &str) -> bool {
        if self.out.len() + unit.len() > self.limit {
            return false;
        }
        self.out.push_str(unit);
        true
    }

    /// Appends `make(i)` for i = 0, 1, ... while it fits, leaving `reserve`
    /// bytes for what follows.
    fn repeat(&mut self, reserve: usize, mut make: impl FnMut(usize, &mut String)) {
        let mut unit = String::new();
        for i in 0.. {
            unit.clear();
            make(i, &mut unit);
            if self.out.len() + unit.len() + reserve > self.limit {
                break;
            }
            self.out.push_str(&unit);
        }
    }

    fn many_keys(&mut self) {
        self.out.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: many-keys, namespace: shapes}\ndata:\n");
        self.repeat(0, |i, u| {
            let _ = writeln!(u, "  key-{i}: \"value {i}\"");
        });
    }

    fn huge_labels(&mut self) {
        let head = |pod: usize| {
            format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: labelled-{pod}\n  namespace: shapes\n  labels:\n"
            )
        };
        let tail = "spec:\n  containers: [{name: c, image: busybox, ports: [{name: http, containerPort: 80}]}]\n";
        let mut pod = 0;
        self.out.push_str(&head(pod));
        self.repeat(tail.len() + 128, |i, u| {
            if i > 0 && i % 100_000 == 0 {
                pod += 1;
                u.push_str(tail);
                u.push_str(&head(pod));
            }
            let _ = writeln!(u, "    label-{i}: value-{i}");
        });
        self.out.push_str(tail);
    }

    fn long_list(&mut self) {
        self.out.push_str("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: long-list, namespace: shapes}\nspec:\n  template:\n    metadata: {labels: {app: long-list}}\n    spec:\n      containers:\n      - name: c\n        args:\n");
        self.repeat(0, |i, u| {
            let _ = writeln!(u, "        - --flag-{i}");
        });
    }

    fn deep_nesting(&mut self) {
        self.out.push_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep, namespace: shapes}\nitems:\n",
        );
        self.repeat(0, |_, u| {
            for level in 0..100 {
                let indent = if level == 0 {
                    "- ".to_string()
                } else {
                    " ".repeat(2 * level + 2)
                };
                let _ = writeln!(u, "{indent}k{level}:");
            }
            let _ = writeln!(u, "{}leaf", " ".repeat(204));
        });
    }

    fn deep_flow(&mut self) {
        self.out.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep-flow, namespace: shapes}\nitems:\n");
        self.repeat(0, |i, u| {
            let _ = writeln!(u, "- {}{i}{}", "[".repeat(100), "]".repeat(100));
        });
    }

    fn long_strings(&mut self) {
        self.out.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: long-strings, namespace: shapes}\ndata:\n");
        let line = "the quick brown fox jumps over the lazy dog 0123456789 ".repeat(4);
        self.repeat(0, |i, u| {
            // 64 KiB values, alternately quoted and block scalars.
            if i % 2 == 0 {
                let _ = write!(u, "  quoted-{i}: \"");
                while u.len() < 65_536 {
                    u.push_str(&line);
                }
                u.push_str("\"\n");
            } else {
                let _ = writeln!(u, "  block-{i}: |");
                while u.len() < 65_536 {
                    let _ = writeln!(u, "    {line}");
                }
            }
        });
    }

    fn many_documents(&mut self) {
        self.repeat(0, |i, u| {
            let ns = i % 97;
            let _ = write!(
                u,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ns-{ns}\nspec:\n  template:\n    metadata:\n      labels: {{app: app-{i}, tier: t{}}}\n    spec:\n      containers:\n      - name: app\n        image: registry.example/app:{i}\n        ports: [{{name: http, containerPort: 8080}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: app-{i}, namespace: ns-{ns}}}\nspec:\n  selector: {{app: app-{i}}}\n  ports: [{{port: 80, targetPort: http}}]\n",
                i % 7
            );
        });
    }

    fn huge_selectors(&mut self) {
        let _ = write!(
            self.out,
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: target, namespace: shapes, labels: {{app: target}}}}\nspec: {{containers: [{{name: c}}]}}\n"
        );
        self.repeat(0, |i, u| {
            let _ = write!(
                u,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: sel-{i}, namespace: shapes}}\nspec:\n  podSelector:\n    matchExpressions:\n    - key: app\n      operator: In\n      values: [target"
            );
            for v in 0..200 {
                let _ = write!(u, ", v{i}-{v}");
            }
            u.push_str("]\n  ingress:\n  - from:\n    - podSelector:\n        matchExpressions:\n");
            for k in 0..20 {
                let _ = writeln!(u, "        - {{key: k{k}, operator: NotIn, values: [a{i}, b{i}, c{i}]}}");
            }
        });
    }

    fn policies_selecting_everything(&mut self) {
        for w in 0..300 {
            let _ = write!(
                self.out,
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: w-{w}, namespace: ns-{}, labels: {{app: w-{w}}}}}\nspec: {{containers: [{{name: c, ports: [{{name: http, containerPort: 80}}]}}]}}\n",
                w % 10
            );
        }
        self.repeat(0, |i, u| {
            let _ = write!(
                u,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: all-{i}, namespace: ns-{}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from: [{{namespaceSelector: {{}}}}]\n    ports: [{{port: http}}]\n  egress:\n  - to: [{{namespaceSelector: {{}}, podSelector: {{}}}}]\n",
                i % 10
            );
        });
    }

    fn alias_fan_out(&mut self) {
        // 20,000 items, referenced until the size is reached (100,000
        // references need about 400 KB).
        self.out
            .push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fan-out}\nbase: &b [");
        self.out.push_str(&vec!["x"; 20_000].join(","));
        self.out.push_str("]\nrefs: [*b");
        self.repeat(2, |_, u| u.push_str(",*b"));
        self.out.push_str("]\n");
    }

    fn billion_laughs(&mut self) {
        self.out.push_str("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: lol}\nspec:\n  template:\n    metadata:\n      annotations:\n        a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            let _ = writeln!(self.out, "        a{i}: &a{i} [{refs}]");
        }
        self.fits("    spec: {containers: [{name: c}]}\n");
    }

    fn alias_long_string(&mut self) {
        // Few nodes, many bytes: 8^6 references to a 4 KiB string are 1 GiB
        // of text in 262,144 nodes, under any node limit.
        self.out
            .push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: long}\ndata:\n  s: &s \"");
        self.out.push_str(&"0123456789abcdef".repeat(256));
        self.out
            .push_str("\"\n  l0: &l0 [*s, *s, *s, *s, *s, *s, *s, *s]\n");
        for i in 1..6 {
            let refs = vec![format!("*l{}", i - 1); 8].join(", ");
            let _ = writeln!(self.out, "  l{i}: &l{i} [{refs}]");
        }
    }

    fn merge_key_fan_out(&mut self) {
        self.out
            .push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: merge}\nbase: &b {");
        let keys: Vec<String> = (0..20_000).map(|i| format!("k{i}: v")).collect();
        self.out.push_str(&keys.join(", "));
        self.out.push_str("}\nmerged:\n");
        self.repeat(0, |_, u| u.push_str("- {<<: *b}\n"));
    }

    fn alias_too_deep(&mut self) {
        self.out
            .push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\nd0: &d0 [x]\n");
        for i in 1..10 {
            let _ = writeln!(
                self.out,
                "d{i}: &d{i} {}*d{}{}",
                "[".repeat(30),
                i - 1,
                "]".repeat(30)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_reach_their_size_and_no_more() {
        for shape in Shape::ALL {
            let text = shape.generate(1 << 20);
            assert!(
                text.len() <= (1 << 20) + 512 * 1024,
                "{}: {}",
                shape.name(),
                text.len()
            );
            if !shape.refused() {
                assert!(
                    text.len() > (1 << 20) * 9 / 10,
                    "{}: {}",
                    shape.name(),
                    text.len()
                );
            }
            assert_eq!(Shape::from_name(shape.name()), Some(shape));
        }
        assert_eq!(
            Shape::ManyKeys.generate(4096),
            Shape::ManyKeys.generate(4096)
        );
    }
}
