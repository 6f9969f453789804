use super::*;
use std::collections::BTreeMap;

/// A revision held in memory: files by path; directories are implied.
pub(crate) struct MemTree(pub BTreeMap<String, String>);

impl MemTree {
    pub(crate) fn new(files: &[(&str, &str)]) -> MemTree {
        MemTree(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        )
    }
}

impl TreeView for MemTree {
    fn node(&self, path: &str) -> Node {
        if let Some(t) = self.0.get(path) {
            return Node::File(t.len() as u64);
        }
        let prefix = format!("{path}/");
        if path.is_empty() || self.0.keys().any(|k| k.starts_with(&prefix)) {
            Node::Dir
        } else {
            Node::Missing
        }
    }

    fn bytes(&self, path: &str) -> Result<Vec<u8>, String> {
        self.0
            .get(path)
            .map(|t| t.clone().into_bytes())
            .ok_or_else(|| format!("{path}: missing"))
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        names.dedup();
        names
    }
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n";

/// The remote spellings every path field is tried with: what kustomize
/// fetches over HTTP, what it clones, and local names it would clone.
const REMOTE: [&str; 8] = [
    "https://example.com/x.yaml",
    "HTTP://10.0.0.1/secret",
    "github.com/o/r",
    "GitHub.com:o/r",
    "x@host:path",
    "git::https://example.com/r.git",
    "ssh:host/r",
    "base?ref=v1",
];

fn refused(tree: &MemTree, needle: &str) -> String {
    let e = check(tree, "app").expect_err("must be refused");
    assert!(e.contains(needle), "{e}\nshould contain {needle:?}");
    e
}

#[test]
fn a_realistic_overlay_closure() {
    let tree = MemTree::new(&[
        (
            "base/kustomization.yaml",
            "resources: [deploy.yaml, np.yaml]\n",
        ),
        ("base/deploy.yaml", DEPLOY),
        ("base/np.yaml", "kind: NetworkPolicy\n"),
        ("base/unused.yaml", "kind: ConfigMap\n"),
        (
            "app/kustomization.yaml",
            "Resources: [../base]\n\
             components: [../comp]\n\
             patches: [{path: patch.yaml}, {patch: 'kind: Deployment', target: {kind: Deployment}}]\n\
             patchesStrategicMerge: [smp.yaml, \"kind: Deployment\\nmetadata: {name: web}\"]\n\
             configMapGenerator: [{name: c, files: [key=conf.txt], envs: [app.env], literals: [a=b]}]\n\
             transformers: [labels.yaml, \"apiVersion: builtin\\nkind: NamespaceTransformer\\nmetadata: {name: n, namespace: prod}\"]\n\
             replacements: [{path: repl.yaml}]\n\
             openapi: {path: schema.json}\n\
             crds: [crd.yaml]\n\
             namespace: prod\n\
             commonLabels: {env: prod}\n",
        ),
        ("app/patch.yaml", "kind: Deployment\n"),
        ("app/smp.yaml", "kind: Deployment\n"),
        ("app/conf.txt", "x"),
        ("app/app.env", "A=1\n"),
        (
            "app/labels.yaml",
            "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {a: b}\n---\n\
             apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: p2.yaml\n",
        ),
        ("app/p2.yaml", "kind: Deployment\n"),
        ("app/repl.yaml", "source: {kind: Deployment}\n"),
        ("app/schema.json", "{}"),
        ("app/crd.yaml", "kind: CustomResourceDefinition\n"),
        ("app/unrelated.yaml", "kind: Secret\n"),
        (
            "comp/kustomization.yaml",
            "kind: Component\nresources: [np2.yaml]\n",
        ),
        ("comp/np2.yaml", "kind: NetworkPolicy\n"),
        ("elsewhere/big.bin", "not exported"),
    ]);
    let c = check(&tree, "app").unwrap();
    let files: Vec<&str> = c.files.iter().map(String::as_str).collect();
    assert_eq!(
        files,
        [
            "app/app.env",
            "app/conf.txt",
            "app/crd.yaml",
            "app/kustomization.yaml",
            "app/labels.yaml",
            "app/p2.yaml",
            "app/patch.yaml",
            "app/repl.yaml",
            "app/schema.json",
            "app/smp.yaml",
            "base/deploy.yaml",
            "base/kustomization.yaml",
            "base/np.yaml",
            "comp/kustomization.yaml",
            "comp/np2.yaml",
        ]
    );
    assert_eq!(c.root_file, "app/kustomization.yaml");
    let patch_files: Vec<&str> = c.patches.iter().map(|p| p.file.as_str()).collect();
    assert_eq!(
        patch_files,
        [
            "app/patch.yaml",
            "app/kustomization.yaml",
            "app/smp.yaml",
            "app/kustomization.yaml",
            "app/p2.yaml"
        ]
    );
}

/// Every field kustomize loads a path or URL through, each with every
/// remote spelling: refused, naming the file and the field.
#[test]
fn every_path_field_refuses_remote_entries() {
    let fields: [(&str, &str); 22] = [
        ("resources: [{}]", "resources[0]"),
        ("bases: [{}]", "bases[0]"),
        ("components: [{}]", "components[0]"),
        ("crds: [{}]", "crds[0]"),
        ("configurations: [{}]", "configurations[0]"),
        ("openapi: {{path: '{}'}}", "openapi.path"),
        ("patchesStrategicMerge: ['{}']", "patchesStrategicMerge[0]"),
        ("patches: [{{path: '{}'}}]", "patches[0].path"),
        (
            "patchesJson6902: [{{path: '{}', target: {{kind: X}}}}]",
            "patchesJson6902[0].path",
        ),
        ("replacements: [{{path: '{}'}}]", "replacements[0].path"),
        (
            "configMapGenerator: [{{name: c, files: ['{}']}}]",
            "configMapGenerator[0].files[0]",
        ),
        (
            "configMapGenerator: [{{name: c, files: ['k={}']}}]",
            "configMapGenerator[0].files[0]",
        ),
        (
            "configMapGenerator: [{{name: c, envs: ['{}']}}]",
            "configMapGenerator[0].envs[0]",
        ),
        (
            "configMapGenerator: [{{name: c, env: '{}'}}]",
            "configMapGenerator[0].env",
        ),
        (
            "secretGenerator: [{{name: s, files: ['{}']}}]",
            "secretGenerator[0].files[0]",
        ),
        (
            "secretGenerator: [{{name: s, envs: ['{}']}}]",
            "secretGenerator[0].envs[0]",
        ),
        (
            "secretGenerator: [{{name: s, env: '{}'}}]",
            "secretGenerator[0].env",
        ),
        ("generators: ['{}']", "generators[0]"),
        ("transformers: ['{}']", "transformers[0]"),
        ("validators: ['{}']", "validators[0]"),
        // Keys match case-insensitively, as in Go's encoding/json.
        ("RESOURCES: ['{}']", "RESOURCES[0]"),
        ("Patches: [{{Path: '{}'}}]", "Patches[0].Path"),
    ];
    for (template, field) in fields {
        for remote in REMOTE {
            let k = template
                .replace("{}", remote)
                .replace("{{", "{")
                .replace("}}", "}");
            let tree = MemTree::new(&[("app/kustomization.yaml", &k)]);
            let e = refused(&tree, "is remote");
            assert!(
                e.starts_with(&format!("app/kustomization.yaml: {field}: ")),
                "{k}: {e}"
            );
            assert!(e.contains("reachdiff never fetches"), "{e}");
        }
    }
}

/// The path fields of built-in plugin configurations, in a file and
/// inline.
#[test]
fn builtin_configuration_paths_refuse_remote_entries() {
    let configs: [(&str, &str); 9] = [
        ("kind: PatchTransformer\npath: '{}'", "path"),
        (
            "kind: PatchJson6902Transformer\npath: '{}'\ntarget: {kind: X}",
            "path",
        ),
        (
            "kind: PatchStrategicMergeTransformer\npaths: ['{}']",
            "paths[0]",
        ),
        (
            "kind: ReplacementTransformer\nreplacements: [{path: '{}'}]",
            "replacements[0].path",
        ),
        (
            "kind: ValueAddTransformer\ntargetFilePath: '{}'",
            "targetFilePath",
        ),
        ("kind: ConfigMapGenerator\nfiles: ['{}']", "files[0]"),
        ("kind: ConfigMapGenerator\nenvs: ['{}']", "envs[0]"),
        ("kind: SecretGenerator\nenv: '{}'", "env"),
        ("kind: SecretGenerator\nfiles: ['k={}']", "files[0]"),
    ];
    for (config, field) in configs {
        for remote in REMOTE {
            let config = format!(
                "apiVersion: builtin\nmetadata: {{name: x}}\n{}\n",
                config.replace("{}", remote)
            );
            let tree = MemTree::new(&[
                ("app/kustomization.yaml", "transformers: [t.yaml]\n"),
                ("app/t.yaml", &config),
            ]);
            let e = refused(&tree, "is remote");
            assert!(
                e.starts_with(&format!("app/t.yaml: document 1.{field}: ")),
                "{e}"
            );
            let inline = format!(
                "transformers:\n- |\n{}",
                config
                    .lines()
                    .map(|l| format!("  {l}\n"))
                    .collect::<String>()
            );
            let tree = MemTree::new(&[("app/kustomization.yaml", &inline)]);
            let e = refused(&tree, "is remote");
            assert!(
                e.starts_with(&format!(
                    "app/kustomization.yaml: transformers[0].{field}: "
                )),
                "{e}"
            );
        }
    }
}

#[test]
fn plugins_helm_and_unknown_fields_are_refused_with_a_remedy() {
    for (k, needle) in [
        (
            "helmCharts: [{name: x, repo: 'https://charts.example.com'}]",
            "kustomize would run helm",
        ),
        (
            "helmGlobals: {chartHome: charts}",
            "kustomize would run helm",
        ),
        (
            "helmChartInflationGenerator: [{chartName: x}]",
            "kustomize would run helm",
        ),
        ("frobnicate: [x]", "unknown field"),
        ("resource: [x.yaml]", "unknown field"),
        (
            "patches: [{path: p.yaml, fetch: 'https://x'}]",
            "unknown field",
        ),
        (
            "configMapGenerator: [{name: c, urls: ['https://x']}]",
            "unknown field",
        ),
        ("replacements: [{url: 'https://x'}]", "unknown field"),
        ("openapi: {url: 'https://x'}", "unknown field"),
        // A merge key that would hide a field is applied first.
        (
            "<<: {resources: ['https://example.com/x.yaml']}",
            "is remote",
        ),
    ] {
        let tree = MemTree::new(&[("app/kustomization.yaml", k), ("app/p.yaml", "kind: X\n")]);
        refused(&tree, needle);
    }
    for (config, needle) in [
        (
            "apiVersion: example.com/v1\nkind: MyTransformer",
            "is a plugin, not one of kustomize's built-ins",
        ),
        (
            "apiVersion: builtin\nkind: MyTransformer",
            "not one of kustomize's built-in plugins",
        ),
        (
            "apiVersion: v1\nkind: LabelTransformer\nmetadata:\n  annotations:\n    config.kubernetes.io/function: 'container: {image: x}'",
            "is a plugin",
        ),
        (
            "apiVersion: builtin\nkind: HelmChartInflationGenerator\nchartName: x",
            "kustomize would run helm",
        ),
        (
            "apiVersion: builtin\nkind: LabelTransformer\nlabels: {a: b}\nexec: x",
            "unknown field",
        ),
    ] {
        for field in ["generators", "transformers", "validators"] {
            let tree = MemTree::new(&[
                ("app/kustomization.yaml", &format!("{field}: [c.yaml]\n")),
                ("app/c.yaml", config),
            ]);
            let e = refused(&tree, needle);
            assert!(e.contains("commit the rendered output"), "{e}");
        }
    }
}

#[test]
fn missing_escaping_and_misplaced_entries_say_what_is_wrong() {
    for (k, needle) in [
        (
            "resources: [gone.yaml]",
            "\"gone.yaml\" is missing: no such file or directory \"app/gone.yaml\"",
        ),
        ("resources: [../gone]", "is missing"),
        ("resources: [../../../etc]", "leaves the repository"),
        ("resources: [/etc/passwd]", "absolute path"),
        (
            "components: [p.yaml]",
            "is a file; components are directories",
        ),
        ("crds: [sub]", "is a directory, where a file is expected"),
        (
            "resources: [sub]",
            "is a directory without a kustomization.yaml",
        ),
        ("transformers: [sub]", "list the files themselves"),
        ("resources: x.yaml", "expected a list"),
        ("patches: [p.yaml]", "expected a mapping"),
        ("resources: [1]", "expected a string"),
        ("- a\n- b", "a kustomization must be a mapping"),
    ] {
        let tree = MemTree::new(&[
            ("app/kustomization.yaml", k),
            ("app/p.yaml", "kind: X\n"),
            ("app/sub/x.yaml", "kind: X\n"),
        ]);
        refused(&tree, needle);
    }
}

#[test]
fn nesting_cycles_and_sizes_are_bounded() {
    let tree = MemTree::new(&[
        ("a/kustomization.yaml", "resources: [../b]\n"),
        ("b/kustomization.yaml", "resources: [../a]\n"),
    ]);
    // A cycle is checked once (kustomize reports the cycle itself).
    let c = check(&tree, "a").unwrap();
    assert_eq!(c.files.len(), 2);
    let mut files: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("d{i}/kustomization.yaml"),
                format!("resources: [../d{}]\n", i + 1),
            )
        })
        .collect();
    files.push(("d40/kustomization.yaml".into(), String::new()));
    let tree = MemTree(files.into_iter().collect());
    let e = check(&tree, "d0").unwrap_err();
    assert!(e.contains("nested more than 32 deep"), "{e}");
    let mut closure = Closure::default();
    closure.add("a", MAX_CLOSURE_BYTES).unwrap();
    let e = closure.add("b", 1).unwrap_err();
    assert!(e.contains("exceed"), "{e}");
}

#[test]
fn remote_reasons_follow_kustomize() {
    for local in [
        "base",
        "../base",
        "overlays/prod",
        "deploy.yaml",
        "gitlab.com.yaml",
        "a=b",
    ] {
        assert_eq!(remote_reason(local), None, "{local}");
    }
    for remote in REMOTE {
        assert!(remote_reason(remote).is_some(), "{remote}");
    }
}

#[test]
fn the_builtins_reachdiff_runs() {
    let kinds: Vec<&str> = builtin_kinds().collect();
    assert!(kinds.contains(&"LabelTransformer"));
    assert!(kinds.contains(&"PatchTransformer"));
    assert!(!kinds.contains(&"HelmChartInflationGenerator"));
}

#[test]
fn long_entries_are_clipped_in_messages() {
    let short = "resources[0]: \"a.yaml\" is missing";
    assert_eq!(clip(short), short);
    let entry = "é".repeat(100_000);
    let message = format!("{entry:?} is missing");
    let clipped = clip(&message);
    assert!(clipped.chars().count() < 600, "{}", clipped.len());
    assert!(clipped.ends_with(" is missing"), "{clipped}");
    // 100,000 + 2 quotes + " is missing", less 240 kept at each end.
    assert!(clipped.contains("(99533 characters left out)"), "{clipped}");
}
