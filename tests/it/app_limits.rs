//! The App's limits end to end (issue "security", items 4 and 5): one pull
//! request cannot take the server down, and neither can unauthenticated
//! traffic. The server runs under a 2 GiB limit (a cgroup v2 `memory.max`
//! where the test can create one, else `prlimit --as`), with the fake
//! GitHub of `app_fake.rs`.

use crate::app::{
    APP_ID, REPO, Server, completed, completed_within, deliver, http, metrics_with, pr_payload,
    setup,
};
use crate::support::{self, scenario};
use std::fmt::Write as _;
use std::time::Duration;

const LIMIT: u64 = 2 << 30;

/// How the server is held to 2 GiB: a wrapper for its command line and
/// what it is, or `None` (the test is skipped, visibly).
fn two_gib(root: &std::path::Path) -> Option<(Vec<String>, String)> {
    for mount in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        let base = std::path::Path::new(mount);
        let controllers =
            std::fs::read_to_string(base.join("cgroup.controllers")).unwrap_or_default();
        if !controllers.split_whitespace().any(|c| c == "memory") {
            continue;
        }
        let _ = std::fs::write(base.join("cgroup.subtree_control"), "+memory");
        let dir = base.join(format!(
            "reachdiff-test-{}-{}",
            std::process::id(),
            root.file_name().and_then(|n| n.to_str()).unwrap_or("x")
        ));
        if std::fs::create_dir(&dir).is_err() {
            continue;
        }
        if std::fs::write(dir.join("memory.max"), LIMIT.to_string()).is_err() {
            let _ = std::fs::remove_dir(&dir);
            continue;
        }
        let _ = std::fs::write(dir.join("memory.swap.max"), "0");
        let procs = dir.join("cgroup.procs");
        return Some((
            vec![
                "sh".into(),
                "-c".into(),
                format!("echo $$ > '{}' && exec \"$@\"", procs.display()),
                "sh".into(),
            ],
            format!("cgroup v2 memory.max {LIMIT} ({})", dir.display()),
        ));
    }
    let prlimit = std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    prlimit.then(|| {
        (
            vec!["prlimit".into(), format!("--as={LIMIT}"), "--".into()],
            format!("prlimit --as={LIMIT}"),
        )
    })
}

/// `VmHWM` of a process, in MiB.
fn peak_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

/// 5,000 new Pods in a namespace no policy isolates.
fn five_thousand_pods() -> String {
    let mut y = String::from("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: load\n");
    for i in 0..5000 {
        write!(
            y,
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n  namespace: load\n  labels:\n    app: p{i}\n    tier: t{}\nspec:\n  containers:\n  - name: c\n    image: x\n",
            i % 7
        )
        .unwrap();
    }
    y
}

/// About 1 KB of YAML whose aliases expand to 10^9 scalars.
fn alias_bomb() -> String {
    let mut y = String::from(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bomb\n  namespace: shop\n",
    );
    y.push_str("x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        let refs = vec![format!("*{prev}"); 10].join(",");
        writeln!(y, "x-{name}: &{name} [{refs}]").unwrap();
    }
    y.push_str("spec:\n  selector: {matchLabels: {app: bomb}}\n  template:\n    metadata: {labels: {app: bomb}}\n    spec:\n      containers:\n      - name: c\n        image: x\n        args: *i\n");
    y
}

/// A titled conclusion that says why nothing is known.
fn clear_failure(run: &crate::app_fake::CheckRun) -> String {
    assert_eq!(run.status, "completed");
    assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:?}");
    let title = run.output["title"].as_str().unwrap_or_default().to_string();
    assert!(
        title.starts_with("Not analysed: over the per-job")
            || title == "Manifests could not be analysed",
        "not a clear title: {title:?}"
    );
    title
}

/// Issue "security" item 4: under a 2 GiB limit, a pull request of 5,000
/// new Pods and one with a 1 KB alias bomb each end in a failed check run
/// with a clear title, the server stays up, and neither is analysed again
/// after a restart (the no-retry record in the cache directory).
#[test]
fn a_huge_pull_request_and_an_alias_bomb_do_not_take_the_app_down() {
    let (tmp, o, gh) = setup(&[]);
    let Some((wrap, how)) = two_gib(tmp.path()) else {
        support::skip(
            "app_limits::a_huge_pull_request_and_an_alias_bomb_do_not_take_the_app_down",
            "neither a cgroup v2 memory controller nor prlimit is available",
        );
        return;
    };
    let pods = five_thousand_pods();
    let bomb = alias_bomb();
    assert!(bomb.len() < 1100, "{} bytes", bomb.len());
    let tree = scenario("shop-multi-namespace", "base");
    let pods_head = o.head("pr-7", &tree, &[("load.yaml", &pods)]);
    let bomb_head = o.head("pr-8", &tree, &[("bomb.yaml", &bomb)]);
    gh.add_pull(REPO, 7, &o.base, &pods_head, Vec::new());
    gh.add_pull(REPO, 8, &o.base, &bomb_head, Vec::new());
    let extra = ["--reconcile-interval", "3600", "--job-timeout", "120"];
    let mut server = Server::start_wrapped(tmp.path(), &gh.url, &extra, &wrap).settled();
    // The start-up reconciliation queued both already; the deliveries find
    // them pending or running.
    let _ = deliver(
        &server,
        "pull_request",
        "d-7",
        &pr_payload(&o, "opened", 7, &pods_head),
    );
    let _ = deliver(
        &server,
        "pull_request",
        "d-8",
        &pr_payload(&o, "opened", 8, &bomb_head),
    );
    // Up to the time budget (120 s) and a margin on a loaded machine.
    let pods_run = completed_within(&gh, &pods_head, &server, Duration::from_secs(200));
    let bomb_run = completed_within(&gh, &bomb_head, &server, Duration::from_secs(200));
    let titles = [clear_failure(&pods_run), clear_failure(&bomb_run)];
    assert_eq!(http(&server.url, "GET", "/healthz", &[], b"").0, 200);
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server died"
    );
    let server_peak = peak_mib(server.child.id());
    let log = server.log();
    let child_peaks: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("analysis process ended"))
        .collect();
    eprintln!(
        "limit: {how}\nserver VmHWM: {server_peak} MiB\ntitles: {titles:?}\nanalyses: {child_peaks:#?}"
    );
    assert!(server_peak < 2048);
    assert_eq!(child_peaks.len(), 2, "{log}");

    metrics_with(&server, "reachdiff_jobs_total{outcome=\"over-budget\"} 1");

    // A restart, then each head delivered again and a re-run of the one
    // over budget: nothing is analysed again. The deliveries are answered
    // by the heads' completed check runs; the re-run gets a new check run
    // (GitHub expects one) concluded at once from the no-retry record.
    assert!(server.terminate().success());
    let server = Server::start_wrapped(tmp.path(), &gh.url, &extra, &wrap).settled();
    for (n, head) in [(7, &pods_head), (8, &bomb_head)] {
        let (status, _) = deliver(
            &server,
            "pull_request",
            &format!("again-{n}"),
            &pr_payload(&o, "synchronize", n, head),
        );
        assert_eq!(status, 202);
    }
    metrics_with(
        &server,
        "reachdiff_jobs_total{outcome=\"already-reported\"} 2",
    );
    assert_eq!(gh.check_runs().len(), 2);
    let rerun = crate::app_fake::check_run_rerequested_payload(
        REPO,
        &o.url(),
        &pods_head,
        &[(7, o.base.as_str())],
        1,
        APP_ID,
    );
    assert_eq!(deliver(&server, "check_run", "rerun-7", &rerun).0, 202);
    metrics_with(&server, "reachdiff_jobs_total{outcome=\"over-budget\"} 1");
    let runs = gh.check_runs();
    assert_eq!(runs.len(), 3);
    assert_eq!(clear_failure(&runs[2]), titles[0]);
    // The server's stderr is read by a thread of its own: on a loaded
    // machine the refusal's line may reach the test a moment after the
    // metric that counts the job.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !server.log().contains("not analysed again") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log();
    assert!(
        !log.contains("analysis process ended"),
        "analysed again after a restart:\n{log}"
    );
    assert!(log.contains("not analysed again"), "{log}");
}

/// Issue "security" item 4, the crash half: a commit whose analysis was
/// running when the server died, twice, is not analysed a third time (the
/// record survives in the cache directory), and each new process adopts the
/// check run the dead one left in progress (one check run per head). The
/// analysis is held in rendering by a stand-in `kubectl` that sleeps.
#[test]
fn a_commit_that_was_running_when_the_server_died_twice_is_not_tried_again() {
    let (tmp, o, gh) = setup(&[]);
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let marks = tmp.path().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let kubectl = bin.join("kubectl");
    std::fs::write(
        &kubectl,
        format!("#!/bin/sh\ntouch '{}/'$$\nexec sleep 30\n", marks.display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let head = o.head(
        "pr-7",
        &scenario("shop-multi-namespace", "head"),
        &[("kustomization.yaml", "resources: []\n")],
    );
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    let path = format!(
        "PATH={}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let wrap = vec!["env".to_string(), path];
    let extra = ["--reconcile-interval", "3600"];
    let started = |n: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::fs::read_dir(&marks).unwrap().count() < n {
            assert!(std::time::Instant::now() < deadline, "kubectl never ran");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    for attempt in 1..=2 {
        // The start-up reconciliation finds the head without a completed
        // run and analyses it; the process dies mid-analysis.
        let mut server = Server::start_wrapped(tmp.path(), &gh.url, &extra, &wrap);
        started(attempt);
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        assert_eq!(
            gh.check_runs().len(),
            1,
            "attempt {attempt}: {}",
            server.log()
        );
    }
    let server = Server::start_wrapped(tmp.path(), &gh.url, &extra, &wrap);
    let run = completed(&gh, &head, &server);
    assert_eq!(
        run.output["title"],
        "Not analysed: reachdiff stopped while analysing this commit",
        "{}",
        server.log()
    );
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(gh.check_runs().len(), 1, "the run was adopted each time");
    assert_eq!(
        std::fs::read_dir(&marks).unwrap().count(),
        2,
        "tried a third time"
    );
    assert!(
        server.log().contains("adopting the check run"),
        "{}",
        server.log()
    );
}

/// One request of `len` bytes with a well-formed signature that does not
/// match (the server must read the body to find out); the status, or 0
/// when the server closed the connection before answering.
fn wrongly_signed(url: &str, len: usize) -> u16 {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let head = format!(
        "POST /webhook HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {len}\r\nx-github-event: pull_request\r\nx-github-delivery: flood\r\nx-hub-signature-256: sha256={}\r\nconnection: close\r\n\r\n",
        "0".repeat(64)
    );
    if s.write_all(head.as_bytes()).is_err() {
        return 0;
    }
    let chunk = vec![b'x'; 64 << 10];
    let mut sent = 0;
    while sent < len {
        let n = chunk.len().min(len - sent);
        if s.write_all(&chunk[..n]).is_err() {
            break;
        }
        sent += n;
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Issue "security" item 5: 200 concurrent requests of 10 MB each with a
/// signature that does not match leave the server under 300 MB, and
/// `/healthz` answers throughout: bodies are paid for from a global byte
/// budget as they stream (503 beyond it), deliveries are capped in number,
/// and a request without a well-formed signature header is refused before
/// its body is read.
#[test]
fn a_flood_of_unsigned_megabytes_leaves_the_server_small_and_healthy() {
    let (tmp, _o, gh) = setup(&[]);
    let server = Server::start(tmp.path(), &gh.url, &[]);
    let url = server.url.clone();
    let flood: Vec<_> = (0..200)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || wrongly_signed(&url, 10 << 20))
        })
        .collect();
    // Health answers while the flood is on.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let t = std::time::Instant::now();
        assert_eq!(http(&url, "GET", "/healthz", &[], b"").0, 200);
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let statuses: Vec<u16> = flood.into_iter().map(|t| t.join().unwrap()).collect();
    let count = |c: u16| statuses.iter().filter(|s| **s == c).count();
    let peak = peak_mib(server.child.id());
    eprintln!(
        "200 × 10 MB wrongly signed: 401 {}, 503 {}, 408 {}, closed {}; server VmHWM {peak} MiB; slowest /healthz {slowest:?}",
        count(401),
        count(503),
        count(408),
        count(0)
    );
    // 408: a body still arriving after 10 s (200 senders share loopback).
    assert_eq!(
        count(401) + count(503) + count(408) + count(0),
        200,
        "{statuses:?}"
    );
    assert!(peak < 300, "server VmHWM {peak} MiB");
    assert!(slowest < Duration::from_secs(5), "{slowest:?}");
    assert_eq!(http(&url, "GET", "/healthz", &[], b"").0, 200);
    // Once the flood is over, a body is read and checked again.
    assert_eq!(wrongly_signed(&url, 10 << 20), 401);
    // Without a signature header, not even the body is read: refused at
    // once however large the body says it is.
    let (status, _) = http(
        &url,
        "POST",
        "/webhook",
        &[
            ("x-github-event", "pull_request"),
            ("x-github-delivery", "u"),
        ],
        &vec![b'x'; 1 << 20],
    );
    assert_eq!(status, 401);
    assert!(gh.check_runs().is_empty());
}
