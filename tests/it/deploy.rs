//! The Kubernetes manifests in `deploy/` (`reachdiff serve`), checked with
//! reachdiff itself: `deploy/base/` (one replica) and `deploy/fleet/`
//! (three replicas on a PostgreSQL queue, an overlay of the base).
//!
//! `deploy/` does not hold the workloads it talks to, so
//! `fixtures/deploy-peers/` stands in for them: the ingress-nginx
//! controller, Prometheus, kube-dns, and two bystanders that must get
//! nothing (`monitoring/grafana`, `default/web`). The assertions are on
//! the `reachdiff/reach/v1` and `reachdiff/lint/v1` JSON.

use crate::support::repo_root;
use serde_json::Value;
use std::collections::BTreeSet;

const SERVER: &str = "reachdiff/reachdiff[Deployment]";
const INGRESS_NGINX: &str = "ingress-nginx/ingress-nginx-controller[Deployment]";
const PROMETHEUS: &str = "monitoring/prometheus[StatefulSet]";
const KUBE_DNS: &str = "kube-system/coredns[Deployment]";

/// RFC 1918 and RFC 6598: the ranges the HTTPS egress rule excepts.
const PRIVATE: [(u32, u32); 4] = [
    (0x0A00_0000, 0x0AFF_FFFF), // 10.0.0.0/8
    (0x6440_0000, 0x647F_FFFF), // 100.64.0.0/10
    (0xAC10_0000, 0xAC1F_FFFF), // 172.16.0.0/12
    (0xC0A8_0000, 0xC0A8_FFFF), // 192.168.0.0/16
];

/// Runs `reachdiff ARGS` from the repository root (so the paths in the
/// output are repository-relative), expects exit 0, parses stdout.
fn json(args: &[&str]) -> Value {
    let out = crate::support::bin()
        .current_dir(repo_root())
        .args(args)
        .output()
        .expect("run reachdiff");
    assert!(
        out.status.success(),
        "reachdiff {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn reach() -> Value {
    let v = json(&[
        "reach",
        "deploy/base",
        "fixtures/deploy-peers",
        "--format",
        "json",
    ]);
    assert_eq!(v["schema"], "reachdiff/reach/v1");
    v
}

/// The fleet's objects with the base's, read file by file (the overlay's
/// patch of the Deployment changes no label, so no verdict).
fn reach_fleet() -> Value {
    let v = json(&[
        "reach",
        "deploy/base",
        "deploy/fleet",
        "fixtures/deploy-peers",
        "--format",
        "json",
    ]);
    assert_eq!(v["schema"], "reachdiff/reach/v1");
    v
}

/// (src, dst, protocol, ports) of every connection row.
type Row = (String, String, String, Vec<(u16, u16)>);

fn rows(v: &Value) -> Vec<Row> {
    v["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| {
            let ports = c["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .map(|p| {
                    (
                        p[0].as_u64().expect("port") as u16,
                        p[1].as_u64().expect("port") as u16,
                    )
                })
                .collect();
            (
                c["src"].as_str().expect("src").to_string(),
                c["dst"].as_str().expect("dst").to_string(),
                c["protocol"].as_str().expect("protocol").to_string(),
                ports,
            )
        })
        .collect()
}

fn endpoint<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no endpoint {id}"))
}

fn ipv4(s: &str) -> u32 {
    let a: std::net::Ipv4Addr = s.parse().unwrap_or_else(|_| panic!("IPv4: {s}"));
    u32::from(a)
}

/// The inclusive IPv4 ranges of an IPBlock endpoint.
fn ranges(v: &Value, id: &str) -> Vec<(u32, u32)> {
    let e = endpoint(v, id);
    assert_eq!(e["kind"], "IPBlock", "{id} is not an address block");
    e["ranges"]
        .as_array()
        .expect("ranges")
        .iter()
        .map(|r| {
            let (lo, hi) = r.as_str().expect("range").split_once('-').expect("a-b");
            (ipv4(lo), ipv4(hi))
        })
        .collect()
}

fn row(src: &str, dst: &str, proto: &str, port: u16) -> Row {
    (src.into(), dst.into(), proto.into(), vec![(port, port)])
}

#[test]
fn the_peer_fixtures_and_the_server_are_all_there() {
    let v = reach();
    for id in [SERVER, INGRESS_NGINX, PROMETHEUS, KUBE_DNS] {
        endpoint(&v, id);
    }
    // Bystanders the assertions below rely on.
    endpoint(&v, "monitoring/grafana[Deployment]");
    endpoint(&v, "default/web[Deployment]");
}

#[test]
fn only_the_ingress_controller_and_prometheus_reach_the_server_on_8080() {
    let v = reach();
    let into: BTreeSet<Row> = rows(&v).into_iter().filter(|r| r.1 == SERVER).collect();
    let want: BTreeSet<Row> = [
        row(INGRESS_NGINX, SERVER, "TCP", 8080),
        row(PROMETHEUS, SERVER, "TCP", 8080),
        // The open world (OW-1): any other pod with the controller's or
        // Prometheus's label in their namespaces is admitted too.
        row(
            "ingress-nginx/{app.kubernetes.io/name=ingress-nginx}[any]",
            SERVER,
            "TCP",
            8080,
        ),
        row(
            "monitoring/{app.kubernetes.io/name=prometheus}[any]",
            SERVER,
            "TCP",
            8080,
        ),
    ]
    .into();
    // Nothing else: not grafana next to Prometheus, not a pod of `default`,
    // not an external address, not another replica of the server, no pod
    // of any other namespace.
    assert_eq!(into, want);
}

#[test]
fn the_server_reaches_dns_and_external_https_only() {
    let v = reach();
    let out: Vec<Row> = rows(&v).into_iter().filter(|r| r.0 == SERVER).collect();
    let mut external = Vec::new();
    for r in &out {
        // The cluster's DNS: the repository's CoreDNS, and any other pod
        // labelled like it in kube-system (OW-1).
        if r.1 == KUBE_DNS || r.1 == "kube-system/{k8s-app=kube-dns}[any]" {
            assert!(r.2 == "UDP" || r.2 == "TCP", "DNS on {}: {r:?}", r.2);
            assert_eq!(r.3, vec![(53, 53)], "DNS on another port: {r:?}");
        } else {
            // Every other destination is an address block, on TCP 443 only:
            // no pod of another namespace, no other port or protocol.
            assert_eq!(
                endpoint(&v, &r.1)["kind"],
                "IPBlock",
                "egress to a workload: {r:?}"
            );
            assert_eq!(
                (r.2.as_str(), r.3.clone()),
                ("TCP", vec![(443, 443)]),
                "{r:?}"
            );
            external.extend(ranges(&v, &r.1));
        }
    }
    let dns: BTreeSet<&str> = out
        .iter()
        .filter(|r| r.1 == KUBE_DNS)
        .map(|r| r.2.as_str())
        .collect();
    assert_eq!(dns, ["TCP", "UDP"].into(), "DNS needs both UDP and TCP 53");

    // The HTTPS destinations are exactly the IPv4 space minus PRIVATE.
    external.sort();
    let mut want = Vec::new();
    let mut next = 0u32;
    for (lo, hi) in PRIVATE {
        want.push((next, lo - 1));
        next = hi + 1;
    }
    want.push((next, u32::MAX));
    assert_eq!(
        external, want,
        "TCP 443 to exactly the non-private addresses"
    );
    for (lo, hi) in &external {
        for (plo, phi) in PRIVATE {
            assert!(*hi < plo || *lo > phi, "443 reaches a private range");
        }
    }
}

#[test]
fn without_the_peers_nothing_reaches_the_server() {
    // deploy/ alone (no peers): no workload of the input may reach the
    // server (closed world), and it still reaches no workload. In the open
    // world only representatives of pods outside the repository may.
    let open = json(&["reach", "deploy/base", "--format", "json"]);
    for r in rows(&open).into_iter().filter(|r| r.1 == SERVER) {
        assert_eq!(endpoint(&open, &r.0)["kind"], "Representative", "{r:?}");
    }
    let v = json(&["reach", "deploy/base", "--format", "json", "--closed-world"]);
    for r in rows(&v) {
        assert!(r.1 != SERVER, "reached without the peers: {r:?}");
        if r.0 == SERVER {
            assert_eq!(endpoint(&v, &r.1)["kind"], "IPBlock", "{r:?}");
        }
    }
}

#[test]
fn lint_finds_nothing_in_the_reachdiff_namespace() {
    let v = json(&[
        "lint",
        "deploy/base",
        "fixtures/deploy-peers",
        "--format",
        "json",
    ]);
    assert_eq!(v["schema"], "reachdiff/lint/v1");
    let findings = v["findings"].as_array().expect("findings");
    // The fixture peers are deliberately unguarded and have findings of
    // their own; deploy/ must have none, of any severity.
    let ours: Vec<&Value> = findings
        .iter()
        .filter(|f| f["namespace"] == "reachdiff")
        .collect();
    assert!(ours.is_empty(), "findings in reachdiff: {ours:#?}");
    assert_eq!(v["summary"]["errors"], 0, "{findings:#?}");

    // No warnings either: the HTTPS rule excepts 100.64.0.0/10 too, which
    // `ipblock-cluster-range` would otherwise point out.
    let warnings: Vec<(&str, &str)> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] != "info")
        .map(|d| {
            (
                d["code"].as_str().expect("code"),
                d["file"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        warnings.is_empty(),
        "unexpected warnings or errors: {warnings:?}"
    );
}

#[test]
fn the_kustomization_lists_every_manifest_but_the_example_secret() {
    for (dir, example) in [
        ("deploy/base", "secret.example.yaml"),
        ("deploy/fleet", "secret.example.yaml"),
    ] {
        kustomization_lists_every_manifest_but(dir, example);
    }
}

fn kustomization_lists_every_manifest_but(dir: &str, example: &str) {
    let dir = repo_root().join(dir);
    let k: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(dir.join("kustomization.yaml")).expect("kustomization"),
    )
    .expect("YAML");
    assert_eq!(k["namespace"].as_str(), Some("reachdiff"));
    let listed: BTreeSet<String> = k["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("name").to_string())
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("deploy/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .filter(|n| n != "kustomization.yaml" && n != example)
        .collect();
    let listed: BTreeSet<String> = listed
        .into_iter()
        .filter(|r| r.ends_with(".yaml"))
        .collect();
    assert_eq!(listed, on_disk, "{}", dir.display());
}

#[test]
fn the_deployment_is_hardened_and_runs_serve() {
    let text = std::fs::read_to_string(repo_root().join("deploy/base/deployment.yaml"))
        .expect("deployment.yaml");
    let d: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let strs = |v: &serde_yaml::Value| -> Vec<String> {
        v.as_sequence()
            .expect("sequence")
            .iter()
            .map(|s| s.as_str().expect("string").to_string())
            .collect()
    };
    assert_eq!(strs(&c["command"]), ["reachdiff", "serve"]);
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    let drain: u64 = strs(&c["args"])
        .iter()
        .find_map(|a| a.strip_prefix("--shutdown-timeout="))
        .expect("--shutdown-timeout")
        .parse()
        .expect("seconds");
    assert!(
        grace > drain,
        "grace {grace} s must exceed the drain {drain} s"
    );
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(sc["runAsUser"].as_u64(), Some(1001));
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(strs(&sc["capabilities"]["drop"]), ["ALL"]);
    assert_eq!(
        sc["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );
    // The Secret's files: 0400. Kubernetes reads `0400` as octal (YAML
    // 1.1) and serde_yaml as decimal 400, so the text is checked.
    assert!(text.contains("defaultMode: 0400"), "defaultMode 0400");
    assert_eq!(c["ports"][0]["containerPort"].as_u64(), Some(8080));
}

const POSTGRES: &str = "reachdiff/postgresql[StatefulSet]";

#[test]
fn in_the_fleet_only_the_replicas_reach_postgresql_and_it_reaches_nothing() {
    let v = reach_fleet();
    let all = rows(&v);
    let into: BTreeSet<Row> = all
        .iter()
        .filter(|r| r.1 == POSTGRES || r.1.contains("name=postgresql"))
        .cloned()
        .collect();
    let want: BTreeSet<Row> = [
        row(SERVER, POSTGRES, "TCP", 5432),
        row(
            SERVER,
            "reachdiff/{app.kubernetes.io/name=postgresql}[any]",
            "TCP",
            5432,
        ),
        // The open world (OW-1): another pod labelled like the App in its
        // namespace is admitted too; nothing else is.
        row(
            "reachdiff/{app.kubernetes.io/name=reachdiff}[any]",
            POSTGRES,
            "TCP",
            5432,
        ),
        row(
            "reachdiff/{app.kubernetes.io/name=reachdiff}[any]",
            "reachdiff/{app.kubernetes.io/name=postgresql}[any]",
            "TCP",
            5432,
        ),
    ]
    .into();
    assert_eq!(into, want);
    // The database reaches nothing: no DNS, no GitHub, no other pod.
    let out: Vec<&Row> = all.iter().filter(|r| r.0 == POSTGRES).collect();
    assert!(out.is_empty(), "{out:?}");
    // The replicas still reach nothing else of the cluster but DNS and
    // the database, and never each other.
    for r in all.iter().filter(|r| r.0 == SERVER) {
        let kind = endpoint(&v, &r.1)["kind"].as_str().unwrap_or_default();
        let allowed = r.1 == POSTGRES
            || r.1.contains("name=postgresql")
            || r.1 == KUBE_DNS
            || r.1.starts_with("kube-system/{k8s-app=kube-dns}")
            || kind == "IPBlock";
        assert!(allowed, "{r:?}");
        assert_ne!(r.1, SERVER, "replicas reach each other: {r:?}");
    }
}

#[test]
fn the_fleet_overlay_renders_three_replicas_on_the_queue() {
    let Some(kubectl) = crate::support::real_tool("kubectl") else {
        crate::support::skip(
            "the_fleet_overlay_renders_three_replicas_on_the_queue",
            "no kubectl",
        );
        return;
    };
    let out = std::process::Command::new(kubectl)
        .arg("kustomize")
        .arg(repo_root().join("deploy/fleet"))
        .output()
        .expect("run kubectl kustomize");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML"))
        .collect();
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| {
                d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name)
            })
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let d = find("Deployment", "reachdiff");
    assert_eq!(d["spec"]["replicas"].as_u64(), Some(3));
    let env = d["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_sequence()
        .expect("env");
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no {name}"))
    };
    // The base's variables survive the patch.
    var("REACHDIFF_WEBHOOK_SECRET_PATH");
    let url = &var("REACHDIFF_QUEUE_URL")["valueFrom"]["secretKeyRef"];
    assert_eq!(url["name"].as_str(), Some("reachdiff-queue"));
    assert_eq!(url["key"].as_str(), Some("url"));
    // The recovery time must exceed the GitHub timeout (30 s by default),
    // or serve refuses to start.
    let recovery: u64 = var("REACHDIFF_QUEUE_RECOVERY_SECONDS")["value"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("seconds");
    assert!(recovery > 30, "{recovery}");
    for (kind, name) in [
        ("StatefulSet", "postgresql"),
        ("Service", "postgresql"),
        ("NetworkPolicy", "allow-queue-egress"),
        ("NetworkPolicy", "postgresql-ingress"),
        ("NetworkPolicy", "default-deny"),
        ("PodDisruptionBudget", "reachdiff"),
    ] {
        assert_eq!(
            find(kind, name)["metadata"]["namespace"].as_str(),
            Some("reachdiff")
        );
    }
    assert!(
        !text.contains("REPLACE-WITH"),
        "an example Secret was rendered"
    );
}
