//! Several `reachdiff serve` replicas on one PostgreSQL queue
//! (`--queue-url`, tests/it/pg.rs) and the one fake GitHub: redeliveries
//! to another replica, an out-of-order push, a replica SIGKILLed mid-job,
//! every replica killed with jobs pending.

use crate::app::{CREATE_CHECK_RUN, Origin, REPO, Server, deliver, pr_payload, public_key, sticky};
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
    Server::start(&dir, &gh.url, &args)
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
