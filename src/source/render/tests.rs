use super::*;
use proptest::prelude::*;

#[test]
fn resolve_stays_inside() {
    assert_eq!(resolve("o/p", "../../b").as_deref(), Some("b"));
    assert_eq!(resolve("o", "../../b"), None);
}

#[test]
fn release_names_and_namespaces_are_dns_1123() {
    for ok in ["web", "shop-front", "a.b", "x1", &"a".repeat(53)] {
        assert!(valid_release(ok), "{ok}");
    }
    for bad in [
        "",
        "-x",
        "--post-renderer=sh",
        "Web",
        "a_b",
        "a..b",
        "x-",
        "a\nb",
        "a b",
        &"a".repeat(54),
    ] {
        assert!(!valid_release(bad), "{bad:?}");
    }
    assert_eq!(default_release("--post-renderer=sh"), "post-renderer-sh");
    assert_eq!(default_release("My_Chart"), "my-chart");
    assert_eq!(default_release("---"), "release");
    assert_eq!(default_release(""), "release");
    let bad_ns = ChartOptions {
        release: "web".into(),
        namespace: Some("--kubeconfig=/x".into()),
        values: vec![],
    };
    assert!(
        bad_ns
            .validate()
            .unwrap_err()
            .contains("not a valid namespace")
    );
    let bad_values = ChartOptions {
        release: "web".into(),
        namespace: None,
        values: vec!["../../etc/passwd".into()],
    };
    assert!(
        bad_values
            .validate()
            .unwrap_err()
            .contains("must be a repository path")
    );
    let bad_release = ChartOptions {
        release: "--post-renderer=sh".into(),
        ..ChartOptions::default()
    };
    assert!(Helm::args("charts/web", &bad_release).is_err());
}

/// How a cobra command line (kubectl, kustomize, helm) reads `args`: the
/// options before `--` (names only) and the positional arguments.
fn cobra_parse(args: &[OsString]) -> (Vec<String>, Vec<String>) {
    let mut options = Vec::new();
    let mut positional = Vec::new();
    let mut after_dashes = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].to_string_lossy().into_owned();
        i += 1;
        if after_dashes {
            positional.push(a);
        } else if a == "--" {
            after_dashes = true;
        } else if let Some(opt) = a.strip_prefix('-') {
            let name = opt.trim_start_matches('-');
            let name = name.split('=').next().unwrap_or(name).to_string();
            // The one option reachdiff gives a separate value.
            if name == "load-restrictor" && !a.contains('=') {
                i += 1;
            }
            options.push(name);
        } else {
            positional.push(a);
        }
    }
    (options, positional)
}

/// Names a repository can give a directory: every character a file name
/// may hold, weighted towards the dangerous ones.
fn hostile_name() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("-".to_string()),
        Just("--".to_string()),
        Just("=".to_string()),
        Just("\n".to_string()),
        Just("://".to_string()),
        Just("@".to_string()),
        Just("post-renderer".to_string()),
        Just("values".to_string()),
        Just(" ".to_string()),
        "[a-zA-Z0-9._]{1,6}",
        "[^/\u{0}]{1,4}",
    ];
    prop::collection::vec(piece, 1..6).prop_map(|v| v.concat())
}

proptest! {
    /// No repository-controlled string ever becomes an option: whatever a
    /// directory, a release, a namespace or a values file is called, the
    /// tools see only reachdiff's own options, and the directory as the
    /// last positional argument.
    #[test]
    fn repository_names_never_become_options(
        dirs in prop::collection::vec(hostile_name(), 1..4),
        release in hostile_name(),
        namespace in prop::option::of(hostile_name()),
        values in prop::collection::vec(hostile_name(), 0..3),
    ) {
        let dir = dirs.join("/");
        let k = Kustomize {
            program: "/bin/true".into(),
            subcommand: vec!["kustomize".into()],
            timeout: Duration::from_secs(1),
            max_output: 1,
            isolation: Isolation::Environment,
        };
        let (options, positional) = cobra_parse(&k.args(&dir));
        prop_assert_eq!(options, vec!["load-restrictor".to_string()]);
        prop_assert_eq!(positional, vec!["kustomize".to_string(), format!("./{dir}")]);

        // A directory's default release is always accepted.
        let default = ChartOptions::for_dir(&dir);
        prop_assert!(valid_release(&default.release), "{:?}", default.release);
        let given = ChartOptions { release, namespace, values };
        for opts in [default, given] {
            let Ok(args) = Helm::args(&dir, &opts) else {
                // Refused before anything runs.
                prop_assert!(opts.validate().is_err());
                continue;
            };
            let (options, positional) = cobra_parse(&args);
            for o in &options {
                prop_assert!(
                o == "namespace" || o == "values" || o == "skip-tests",
                "option {o:?} in {args:?}"
            );
            }
            prop_assert_eq!(
                positional,
                vec!["template".to_string(), opts.release.clone(), format!("./{dir}")]
            );
            for a in &args {
                let a = a.to_string_lossy();
                if let Some(v) = a.strip_prefix("--values=") {
                    prop_assert!(v.starts_with("./"));
                }
            }
        }
    }
}

/// A stand-in program that records its arguments (a newline inside an
/// argument shows as `\n`), then prints `output`.
pub(crate) struct StandIn {
    pub _dir: TempDir,
    pub program: PathBuf,
    pub record: PathBuf,
}

impl StandIn {
    pub(crate) fn new(name: &str, output: &str) -> StandIn {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("reachdiff-standin").unwrap();
        let program = dir.path.join(name);
        let record = dir.path.join("args");
        let out = dir.path.join("out");
        std::fs::write(&out, output).unwrap();
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{}'\ncat '{}'\n",
                record.display(),
                out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        StandIn {
            _dir: dir,
            program,
            record,
        }
    }

    pub(crate) fn args(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        let mut args: Vec<String> = text.split('\0').map(|a| a.replace('\n', "\\n")).collect();
        args.pop(); // after the last NUL
        args
    }
}

fn export_with(files: &[(&str, &str)]) -> Export {
    let e = Export::new().unwrap();
    for (p, t) in files {
        e.write(p, t.as_bytes()).unwrap();
    }
    e
}

/// Issue 12 item 1: a chart directory named `--post-renderer=sh` made
/// reachdiff run `helm template --post-renderer=sh …`. Now the stand-in
/// helm sees the directory as `./…` after `--`, under a valid release.
#[test]
fn a_chart_named_like_an_option_reaches_helm_as_a_path() {
    let stand_in = StandIn::new("helm", "kind: ConfigMap\n");
    let dir = "charts/--post-renderer=sh";
    let export = export_with(&[
        (&format!("{dir}/Chart.yaml"), "name: x\nversion: 0.1.0\n"),
        ("envs/--set=x.yaml", "a: 1\n"),
    ]);
    let helm = Helm {
        program: stand_in.program.clone(),
        timeout: Duration::from_secs(20),
        max_output: 1 << 20,
        isolation: Isolation::Environment,
    };
    let mut opts = ChartOptions::for_dir(dir);
    opts.values = vec!["envs/--set=x.yaml".into()];
    opts.namespace = Some("shop".into());
    let out = helm.render(&export, dir, &opts).unwrap();
    assert_eq!(out, "kind: ConfigMap\n");
    assert_eq!(
        stand_in.args(),
        [
            "template",
            "--skip-tests",
            "--namespace=shop",
            "--values=./envs/--set=x.yaml",
            "--",
            "post-renderer-sh",
            "./charts/--post-renderer=sh",
        ]
    );
    // A configured release that is an option never runs.
    let stand_in = StandIn::new("helm", "");
    let helm = Helm {
        program: stand_in.program.clone(),
        ..helm
    };
    let opts = ChartOptions {
        release: "--post-renderer=sh".into(),
        ..ChartOptions::default()
    };
    let e = helm.render(&export, dir, &opts).unwrap_err();
    assert!(e.contains("not a valid Helm release name"), "{e}");
    assert!(stand_in.args().is_empty());
}

#[test]
fn a_kustomization_named_like_an_option_reaches_kubectl_as_a_path() {
    let stand_in = StandIn::new("kubectl", "kind: ConfigMap\n");
    let dir = "apps/--enable-helm\n--x";
    let export = export_with(&[(&format!("{dir}/kustomization.yaml"), "resources: []\n")]);
    let k = Kustomize {
        program: stand_in.program.clone(),
        subcommand: vec!["kustomize".into()],
        timeout: Duration::from_secs(20),
        max_output: 1 << 20,
        isolation: Isolation::Environment,
    };
    k.render(&export, dir).unwrap();
    assert_eq!(
        stand_in.args(),
        [
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsRootOnly",
            "--",
            "./apps/--enable-helm\\n--x",
        ]
    );
}

#[test]
fn tool_failures_are_scrubbed_of_the_export_location() {
    let export = export_with(&[]);
    let root = export.root();
    let failing = Kustomize {
        program: "/bin/sh".into(),
        subcommand: vec![
            "-c".into(),
            "echo \"error: $PWD/x/kustomization.yaml: boom\" >&2; exit 3".into(),
        ],
        timeout: Duration::from_secs(20),
        max_output: 1000,
        isolation: Isolation::Environment,
    };
    let e = failing.render(&export, "x").unwrap_err();
    assert!(e.ends_with("error: x/kustomization.yaml: boom"), "{e}");
    assert!(!e.contains(&root.display().to_string()), "{e}");
}

/// The real programs, where installed (CI installs helm; see .ci/run).
pub(crate) fn real(program: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os(format!("REACHDIFF_TEST_{}", program.to_uppercase()))
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    from_env
        .or_else(|| sandbox::find_program(program))
        .or_else(|| {
            let p = PathBuf::from(format!("/tmp/helmdl/layer/{program}/{program}"));
            p.is_file().then_some(p)
        })
}

pub(crate) fn skipped(test: &str, why: &str) {
    // Straight to stderr, not through the harness's capture, which hides
    // what a passing test prints: a test that did not run says so.
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
}

#[test]
fn real_helm_renders_a_chart_named_like_an_option() {
    let Some(program) = real("helm") else {
        return skipped(
            "real_helm_renders_a_chart_named_like_an_option",
            "helm not installed",
        );
    };
    let dir = "charts/--post-renderer=sh";
    let export = export_with(&[
        (
            &format!("{dir}/Chart.yaml"),
            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        ),
        (
            &format!("{dir}/templates/np.yaml"),
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\nspec:\n  podSelector: {}\n",
        ),
    ]);
    let helm = Helm {
        program,
        timeout: Duration::from_secs(60),
        max_output: 1 << 20,
        isolation: Isolation::detect(),
    };
    let mut opts = ChartOptions::for_dir(dir);
    opts.namespace = Some("shop".into());
    let out = helm.render(&export, dir, &opts).unwrap();
    assert!(out.contains("# Source: web/templates/np.yaml"), "{out}");
    assert!(out.contains("name: post-renderer-sh"), "{out}");
    assert!(out.contains("namespace: shop"), "{out}");
}

#[test]
fn real_kubectl_renders_a_kustomization_named_like_an_option() {
    let Some(program) = real("kubectl") else {
        return skipped(
            "real_kubectl_renders_a_kustomization_named_like_an_option",
            "kubectl not installed",
        );
    };
    let dir = "--enable-helm";
    let export = export_with(&[
        (
            &format!("{dir}/kustomization.yaml"),
            "resources: [cm.yaml]\nnamespace: shop\n",
        ),
        (
            &format!("{dir}/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        ),
    ]);
    let k = Kustomize {
        program,
        subcommand: vec!["kustomize".into()],
        timeout: Duration::from_secs(60),
        max_output: 1 << 20,
        isolation: Isolation::detect(),
    };
    let out = k.render(&export, dir).unwrap();
    assert!(out.contains("namespace: shop"), "{out}");
}
