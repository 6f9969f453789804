//! Several `reachdiff serve` replicas on one PostgreSQL queue
//! (`--queue-url`, tests/it/pg.rs) and the one fake GitHub: redeliveries
//! to another replica, an out-of-order push, a replica SIGKILLed mid-job,
//! every replica killed with jobs pending, the database lost mid-run, and
//! the fleet-wide no-retry record.

use crate::app::{
    CREATE_CHECK_RUN, Origin, REPO, Server, deliver, http, pr_payload, public_key, sticky,
};
use crate::app_fake::{CheckRun, FakeApp, Scripted};
use crate::pg::Postgres;
use crate::support::{self, commit, git, scenario};
use std::path::Path;
use std::time::{Duration, Instant};

const APP_ID: u64 = crate::app::APP_ID;
/// Above the tests' `--github-timeout 10`, as the server demands.
const RECOVERY: &str = "12";

fn database(test: &str) -> Option<Postgres> {
    match Postgres::start() {
        Ok(pg) => Some(pg),
        Err(why) => {
            support::skip(test, &why);
            None
        }
    }
}

/// A replica with its own cache directory under `root/NAME`.
fn replica(root: &Path, name: &str, gh: &FakeApp, pg: &Postgres, extra: &[&str]) -> Server {
    replica_wrapped(root, name, gh, pg, extra, &[])
}

/// A replica started through `wrap` (e.g. `env PATH=…`).
fn replica_wrapped(
    root: &Path,
    name: &str,
    gh: &FakeApp,
    pg: &Postgres,
    extra: &[&str],
    wrap: &[String],
) -> Server {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut args = vec![
        "--queue-url",
        pg.url.as_str(),
        "--queue-recovery-seconds",
        RECOVERY,
        "--workers",
        "1",
    ];
    args.extend_from_slice(extra);
    Server::start_wrapped(&dir, &gh.url, &args, wrap)
}

/// A commit on `branch` with `tree`; distinct per branch.
fn head_on(o: &Origin, branch: &str, tree: &str) -> String {
    git(&o.dir, &["checkout", "-q", "-B", branch, &o.base]);
    let h = commit(
        &o.dir,
        &scenario("shop-multi-namespace", tree),
        &[],
        &format!("{branch} {tree}"),
    );
    git(&o.dir, &["checkout", "-q", "main"]);
    h
}

fn runs_of(gh: &FakeApp, head: &str) -> Vec<CheckRun> {
    gh.check_runs()
        .into_iter()
        .filter(|c| c.head_sha == head)
        .collect()
}

fn wait(
    gh: &FakeApp,
    within: Duration,
    what: &str,
    logs: &[&Server],
    f: impl Fn(&crate::app_fake::State) -> bool,
) {
    if !gh.wait_until(within, f) {
        let logs: Vec<String> = logs.iter().map(|s| s.log()).collect();
        panic!(
            "{what}; check runs {:?}\nlogs:\n{}",
            gh.check_runs(),
            logs.join("\n----\n")
        );
    }
}

fn no_password_in(server: &Server) {
    assert!(
        !server.log().contains("not-a-secret"),
        "the database password was logged"
    );
}

#[test]
fn replicas_share_one_queue_redeliveries_and_late_pushes_change_nothing() {
    let Some(pg) = database("replicas_share_one_queue_redeliveries_and_late_pushes_change_nothing")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let o = Origin::new(tmp.path(), &[]);
    let gh = FakeApp::start(APP_ID, &public_key());
    gh.add_repo(REPO, &o.url());
    let a = replica(tmp.path(), "a", &gh, &pg, &[]).settled();
    let b = replica(tmp.path(), "b", &gh, &pg, &[]);
    let pulls = [7u64, 8, 9];
    let mut heads = Vec::new();
    for n in pulls {
        // The first push changes nothing; the second opens paths.
        let old = head_on(&o, &format!("pr-{n}-old"), "base");
        let new = head_on(&o, &format!("pr-{n}"), "head");
        gh.add_pull(REPO, n, &o.base, &new, Vec::new());
        heads.push((n, old, new));
    }
    for (n, old, new) in &heads {
        let d = |i: u32| format!("d-{n}-{i}");
        assert_eq!(
            deliver(
                &a,
                "pull_request",
                &d(1),
                &pr_payload(&o, "opened", *n, old)
            )
            .0,
            202
        );
        assert_eq!(
            deliver(
                &b,
                "pull_request",
                &d(2),
                &pr_payload(&o, "synchronize", *n, new)
            )
            .0,
            202
        );
        // GitHub's manual redelivery keeps the id; it reaches the other
        // replica.
        let (status, body) = deliver(
            &a,
            "pull_request",
            &d(2),
            &pr_payload(&o, "synchronize", *n, new),
        );
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("duplicate"), "{body}");
        // A late delivery of the older push (GitHub may deliver out of
        // order): GitHub's head decides, not arrival order.
        assert_eq!(
            deliver(
                &b,
                "pull_request",
                &d(3),
                &pr_payload(&o, "synchronize", *n, old)
            )
            .0,
            202
        );
    }
    for (_, _, new) in &heads {
        wait(
            &gh,
            Duration::from_secs(90),
            "the newest head was not reported",
            &[&a, &b],
            |s| {
                s.check_runs
                    .iter()
                    .any(|c| &c.head_sha == new && c.status == "completed")
            },
        );
    }
    wait(
        &gh,
        Duration::from_secs(30),
        "not one sticky comment per pull request",
        &[&a, &b],
        |s| {
            pulls
                .iter()
                .all(|n| s.comments.iter().filter(|c| c.number == *n).count() == 1)
        },
    );
    // Give a straggler time to (wrongly) write.
    std::thread::sleep(Duration::from_secs(3));
    for (n, old, new) in &heads {
        let runs = runs_of(&gh, new);
        assert_eq!(runs.len(), 1, "one check run per head: {runs:?}");
        assert_eq!(runs[0].status, "completed");
        assert_ne!(
            runs[0].output["title"], "No change in reachability",
            "{runs:?}"
        );
        for c in runs_of(&gh, old) {
            assert_eq!(
                c.conclusion.as_deref(),
                Some("cancelled"),
                "an older head got a result: {c:?}"
            );
        }
        let comments: Vec<_> = sticky(&gh).into_iter().filter(|c| c.number == *n).collect();
        assert_eq!(comments.len(), 1, "{comments:?}");
        assert!(
            !comments[0].body.contains("No change in reachability"),
            "{}",
            comments[0].body
        );
    }
    let logs = format!("{}{}", a.log(), b.log());
    assert!(logs.contains("redelivery ignored"), "{logs}");
    no_password_in(&a);
    no_password_in(&b);
}

#[test]
fn a_replica_killed_mid_job_is_taken_over_and_its_check_run_adopted() {
    let Some(pg) = database("a_replica_killed_mid_job_is_taken_over_and_its_check_run_adopted")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let o = Origin::new(tmp.path(), &[]);
    let gh = FakeApp::start(APP_ID, &public_key());
    gh.add_repo(REPO, &o.url());
    let head = head_on(&o, "pr-7", "head");
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    // The check run's completion never answers: the replica that took the
    // job is then killed with its check run `in_progress`.
    gh.script(Scripted::Hang, Some("/check-runs/"));
    let mut a = replica(tmp.path(), "a", &gh, &pg, &[]).settled();
    let mut b = replica(tmp.path(), "b", &gh, &pg, &[]);
    assert_eq!(
        deliver(
            &a,
            "pull_request",
            "d-1",
            &pr_payload(&o, "opened", 7, &head)
        )
        .0,
        202
    );
    wait(
        &gh,
        Duration::from_secs(60),
        "no check run completion was attempted",
        &[&a, &b],
        |s| {
            s.requests
                .iter()
                .any(|r| r.method == "PATCH" && r.path.contains("/check-runs/"))
        },
    );
    let holder_is_a = a.log().contains("analysis process ended");
    let (dead, survivor) = if holder_is_a {
        (&mut a, &b)
    } else {
        (&mut b, &a)
    };
    dead.child.kill().unwrap();
    dead.child.wait().unwrap();
    let killed = Instant::now();
    assert_eq!(runs_of(&gh, &head).len(), 1);
    assert_eq!(runs_of(&gh, &head)[0].status, "in_progress");
    wait(
        &gh,
        Duration::from_secs(90),
        "the job was not taken over",
        &[survivor],
        |s| {
            s.check_runs
                .iter()
                .any(|c| c.head_sha == head && c.status == "completed")
        },
    );
    let takeover = killed.elapsed();
    eprintln!(
        "takeover after SIGKILL: {:.1} s (recovery {RECOVERY} s)",
        takeover.as_secs_f64()
    );
    assert!(takeover < Duration::from_secs(45), "{takeover:?}");
    let runs = runs_of(&gh, &head);
    assert_eq!(
        runs.len(),
        1,
        "the run left in progress was adopted: {runs:?}"
    );
    assert_eq!(runs[0].conclusion.as_deref(), Some("success"));
    assert!(
        survivor.log().contains("adopting the check run"),
        "{}",
        survivor.log()
    );
    wait(
        &gh,
        Duration::from_secs(30),
        "no comment",
        &[survivor],
        |s| !s.comments.is_empty(),
    );
    assert_eq!(sticky(&gh).len(), 1);
}

#[test]
fn jobs_pending_when_every_replica_dies_survive_without_reconciliation() {
    let Some(pg) = database("jobs_pending_when_every_replica_dies_survive_without_reconciliation")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let o = Origin::new(tmp.path(), &[]);
    let gh = FakeApp::start(APP_ID, &public_key());
    gh.add_repo(REPO, &o.url());
    // The pull requests are not listed by the fake: reconciliation cannot
    // find them, only the queue remembers them.
    let heads: Vec<(u64, String)> = (7..11)
        .map(|n| (n, head_on(&o, &format!("pr-{n}"), "base")))
        .collect();
    // Each replica's one worker hangs on its first check run.
    gh.script(Scripted::Hang, Some(CREATE_CHECK_RUN));
    gh.script(Scripted::Hang, Some(CREATE_CHECK_RUN));
    {
        let mut a = replica(tmp.path(), "a", &gh, &pg, &[]).settled();
        let mut b = replica(tmp.path(), "b", &gh, &pg, &[]);
        for (i, (n, h)) in heads.iter().enumerate() {
            let to = if i % 2 == 0 { &a } else { &b };
            assert_eq!(
                deliver(
                    to,
                    "pull_request",
                    &format!("d-{n}"),
                    &pr_payload(&o, "opened", *n, h)
                )
                .0,
                202
            );
        }
        wait(
            &gh,
            Duration::from_secs(60),
            "the workers did not start",
            &[&a, &b],
            |s| {
                s.requests
                    .iter()
                    .filter(|r| r.method == "POST" && r.path.ends_with("/check-runs"))
                    .count()
                    == 2
            },
        );
        for s in [&mut a, &mut b] {
            s.child.kill().unwrap();
            s.child.wait().unwrap();
        }
    }
    assert!(gh.check_runs().is_empty());
    let c = replica(tmp.path(), "c", &gh, &pg, &[]);
    let d = replica(tmp.path(), "d", &gh, &pg, &[]);
    for (_, h) in &heads {
        wait(
            &gh,
            Duration::from_secs(120),
            "a pending job was lost",
            &[&c, &d],
            |s| {
                s.check_runs
                    .iter()
                    .any(|r| &r.head_sha == h && r.status == "completed")
            },
        );
    }
    for (_, h) in &heads {
        let runs = runs_of(&gh, h);
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs[0].conclusion.as_deref(), Some("success"));
    }
    let logs = format!("{}{}", c.log(), d.log());
    assert!(!logs.contains("reconciliation queued"), "{logs}");
}

#[test]
fn an_unreachable_database_is_a_clear_error_without_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, "s").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = support::bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--app-id",
            "1",
            "--private-key",
        ])
        .arg(support::repo_root().join("fixtures/app/test-app-key.pkcs1.pem"))
        .arg("--webhook-secret")
        .arg(&secret)
        .arg("--cache-dir")
        .arg(tmp.path().join("cache"))
        .arg("--queue-url")
        .arg(format!("postgres://app:hunter2@127.0.0.1:{port}/reachdiff"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("postgres://app:***@127.0.0.1:{port}/reachdiff")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

fn readyz(server: &Server) -> u16 {
    http(&server.url, "GET", "/readyz", &[], b"").0
}

/// Waits until `/readyz` of every server answers `status`.
fn ready_becomes(servers: &[&Server], status: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while !servers.iter().all(|s| readyz(s) == status) {
        assert!(
            Instant::now() < deadline,
            "/readyz never answered {status}:\n{}",
            servers
                .iter()
                .map(|s| s.log())
                .collect::<Vec<_>>()
                .join("\n----\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 21, faults: PostgreSQL stopped while a replica is in the middle of
/// a job and both replicas are alive. Nobody crashes; `/readyz` fails and a
/// delivery answers 503 while it is down; the job is neither concluded by
/// the replica that could not confirm its lease nor lost: once the database
/// is back its lease runs out, another take adopts its check run, and the
/// head ends with exactly one completed run. GitHub's redelivery of the
/// refused delivery is then acted on.
#[test]
fn the_database_lost_mid_run_loses_and_duplicates_nothing() {
    let Some(mut pg) = database("the_database_lost_mid_run_loses_and_duplicates_nothing") else {
        return;
    };
    if !pg.restartable() {
        support::skip(
            "the_database_lost_mid_run_loses_and_duplicates_nothing",
            "REACHDIFF_TEST_DATABASE_URL's server cannot be stopped by the test",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = Origin::new(tmp.path(), &[]);
    let gh = FakeApp::start(APP_ID, &public_key());
    gh.add_repo(REPO, &o.url());
    let h7 = head_on(&o, "pr-7", "head");
    let h8 = head_on(&o, "pr-8", "head");
    let extra = ["--reconcile-interval", "3600"];
    let mut a = replica(tmp.path(), "a", &gh, &pg, &extra).settled();
    let mut b = replica(tmp.path(), "b", &gh, &pg, &extra);
    // Only webhooks bring these (the start-up reconciliation is over).
    gh.add_pull(REPO, 7, &o.base, &h7, Vec::new());
    gh.add_pull(REPO, 8, &o.base, &h8, Vec::new());
    // The check run's creation takes 4 s: the database goes away while
    // the job waits for it.
    gh.script(
        Scripted::Delay(Duration::from_secs(4)),
        Some(CREATE_CHECK_RUN),
    );
    let d7 = pr_payload(&o, "opened", 7, &h7);
    assert_eq!(deliver(&a, "pull_request", "d-7", &d7).0, 202);
    wait(
        &gh,
        Duration::from_secs(60),
        "the job did not start",
        &[&a, &b],
        |s| {
            s.requests
                .iter()
                .any(|r| r.method == "GET" && r.path.contains(&format!("/commits/{h7}/check-runs")))
        },
    );
    pg.stop();
    let d8 = pr_payload(&o, "opened", 8, &h8);
    let (status, body) = deliver(&b, "pull_request", "d-8", &d8);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("queue database is unavailable"), "{body}");
    ready_becomes(&[&a, &b], 503, Duration::from_secs(30));
    // Down for a while: the running job meets the outage at its next
    // write, and the workers' retries grow.
    std::thread::sleep(Duration::from_secs(6));
    for s in [&mut a, &mut b] {
        assert!(
            s.child.try_wait().unwrap().is_none(),
            "a replica died: {}",
            s.log()
        );
    }
    assert!(
        runs_of(&gh, &h7).iter().all(|c| c.status == "in_progress"),
        "concluded without the database: {:?}",
        gh.check_runs()
    );
    pg.restart().unwrap();
    ready_becomes(&[&a, &b], 200, Duration::from_secs(60));
    // GitHub's redelivery of the refused delivery keeps its id.
    assert_eq!(deliver(&a, "pull_request", "d-8", &d8).0, 202);
    for h in [&h7, &h8] {
        wait(
            &gh,
            Duration::from_secs(120),
            "a head was never reported after the database came back",
            &[&a, &b],
            |s| {
                s.check_runs
                    .iter()
                    .any(|c| &c.head_sha == h && c.status == "completed")
            },
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    for h in [&h7, &h8] {
        let runs = runs_of(&gh, h);
        assert_eq!(runs.len(), 1, "one check run per head: {runs:?}");
        assert_eq!(runs[0].conclusion.as_deref(), Some("success"), "{runs:?}");
    }
    wait(
        &gh,
        Duration::from_secs(30),
        "not one sticky comment per pull request",
        &[&a, &b],
        |s| {
            [7u64, 8]
                .iter()
                .all(|n| s.comments.iter().filter(|c| c.number == *n).count() == 1)
        },
    );
    let logs = format!("{}{}", a.log(), b.log());
    assert!(logs.contains("the queue database is unreachable"), "{logs}");
    // The running job met the outage: it stopped before writing, or left
    // itself for a retry when its no-retry record could not be read.
    assert!(
        logs.contains("left for a retry") || logs.contains("not writing to GitHub"),
        "{logs}"
    );
    assert!(!logs.contains("panicked"), "{logs}");
    no_password_in(&a);
    no_password_in(&b);
}

/// The pid of the replica among `servers` that is an ancestor of `pid`.
fn holder_of(pid: u32, servers: &[&Server]) -> Option<usize> {
    let mut p = pid;
    for _ in 0..8 {
        if let Some(i) = servers.iter().position(|s| s.child.id() == p) {
            return Some(i);
        }
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).ok()?;
        p = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))?
            .trim()
            .parse()
            .ok()?;
    }
    None
}

/// The settled no-retry rule, fleet-wide: a commit whose analysis was
/// running when its replica died, twice, on two different replicas, is not
/// analysed a third time by a third replica; it is concluded `failure` with
/// a clear title, and the check run of the first attempt is adopted each
/// time (one run). The analysis is held in rendering by a stand-in
/// `kubectl` that records its process and sleeps.
#[test]
fn a_commit_that_killed_two_replicas_is_not_tried_by_a_third() {
    let Some(pg) = database("a_commit_that_killed_two_replicas_is_not_tried_by_a_third") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let o = Origin::new(tmp.path(), &[]);
    let gh = FakeApp::start(APP_ID, &public_key());
    gh.add_repo(REPO, &o.url());
    let bin = tmp.path().join("bin");
    let marks = tmp.path().join("marks");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&marks).unwrap();
    let kubectl = bin.join("kubectl");
    std::fs::write(
        &kubectl,
        format!("#!/bin/sh\ntouch '{}/'$$\nexec sleep 60\n", marks.display()),
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
    let wrap = vec![
        "env".to_string(),
        format!(
            "PATH={}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    ];
    let extra = ["--reconcile-interval", "3600"];
    let mut alive = vec![
        replica_wrapped(tmp.path(), "a", &gh, &pg, &extra, &wrap),
        replica_wrapped(tmp.path(), "b", &gh, &pg, &extra, &wrap),
    ];
    let attempt = |n: usize, alive: &[Server]| -> u32 {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let pids: Vec<u32> = std::fs::read_dir(&marks)
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect();
            if pids.len() >= n {
                return pids
                    .into_iter()
                    .max_by_key(|p| {
                        std::fs::metadata(marks.join(p.to_string()))
                            .and_then(|m| m.modified())
                            .ok()
                    })
                    .unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "attempt {n} never started:\n{}",
                alive
                    .iter()
                    .map(|s| s.log())
                    .collect::<Vec<_>>()
                    .join("\n----\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    for n in 1..=2 {
        // The start-up reconciliation (or the takeover of the dead
        // replica's job) starts attempt n; its replica is killed.
        let kubectl_pid = attempt(n, &alive);
        let refs: Vec<&Server> = alive.iter().collect();
        let i = holder_of(kubectl_pid, &refs).expect("the analysing replica");
        let mut dead = alive.remove(i);
        dead.child.kill().unwrap();
        dead.child.wait().unwrap();
        assert_eq!(gh.check_runs().len(), 1, "attempt {n}: {}", dead.log());
        if alive.is_empty() {
            alive.push(replica_wrapped(tmp.path(), "c", &gh, &pg, &extra, &wrap));
        }
    }
    let survivor = &alive[0];
    let run = crate::app::completed_within(&gh, &head, survivor, Duration::from_secs(90));
    assert_eq!(
        run.output["title"],
        "Not analysed: reachdiff stopped while analysing this commit",
        "{}",
        survivor.log()
    );
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(gh.check_runs().len(), 1, "the run was adopted each time");
    assert_eq!(
        std::fs::read_dir(&marks).unwrap().count(),
        2,
        "tried a third time"
    );
    assert!(
        survivor.log().contains("not analysed again"),
        "{}",
        survivor.log()
    );
}
