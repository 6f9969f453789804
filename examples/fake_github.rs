//! The fake GitHub App API (tests/it/app_fake.rs) as a process, for benches
//! and manual runs of `reachdiff serve`:
//!
//! ```text
//! cargo run --release --example fake_github -- --port 0 --app-id 4242 \
//!     --public-key fixtures/app/test-app-key.pub.pem \
//!     --repo acme/gitops=file:///path/to/origin \
//!     --pull acme/gitops#7=BASESHA..HEADSHA [--latency-ms 150]
//! ```
//!
//! `--latency-ms` delays every API answer (not git's, not `/_fake/`) by
//! that much, as real GitHub's round trips do. `--unlisted` answers the
//! pull requests one by one but lists none (reconciliation finds nothing).
//!
//! The first line on stdout is `listening on http://127.0.0.1:PORT`; it then
//! serves until killed. `GET /_fake/requests` and `GET /_fake/state` report
//! what the App did, so a script can poll instead of parsing logs.

#[path = "../tests/it/app_fake.rs"]
mod app_fake;

use std::io::Write;
use std::process::ExitCode;

struct Args {
    port: u16,
    app_id: u64,
    public_key: String,
    repos: Vec<(String, String)>,
    /// (repo, number, base, head)
    pulls: Vec<(String, u64, String, String)>,
    installations: Vec<u64>,
    latency_ms: u64,
    unlisted: bool,
}

const USAGE: &str = "usage: fake_github [--port N] [--app-id ID] --public-key PEM \
[--repo OWNER/NAME=CLONE_URL]... [--pull OWNER/NAME#N=BASE..HEAD]... [--installation ID]... \
[--latency-ms MS] [--unlisted]";

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        port: 0,
        app_id: 4242,
        public_key: String::new(),
        repos: Vec::new(),
        pulls: Vec::new(),
        installations: Vec::new(),
        latency_ms: 0,
        unlisted: false,
    };
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        if flag == "--unlisted" {
            a.unlisted = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag} {value:?}: {what}");
        match flag.as_str() {
            "--port" => a.port = value.parse().map_err(|_| bad("not a port"))?,
            "--latency-ms" => a.latency_ms = value.parse().map_err(|_| bad("not a number"))?,
            "--app-id" => a.app_id = value.parse().map_err(|_| bad("not a number"))?,
            "--public-key" => a.public_key = value,
            "--installation" => a
                .installations
                .push(value.parse().map_err(|_| bad("not a number"))?),
            "--repo" => {
                let (name, url) = value
                    .split_once('=')
                    .ok_or_else(|| bad("expected OWNER/NAME=CLONE_URL"))?;
                a.repos.push((name.to_string(), url.to_string()));
            }
            "--pull" => {
                let parsed = value.split_once('#').and_then(|(repo, rest)| {
                    let (n, shas) = rest.split_once('=')?;
                    let (base, head) = shas.split_once("..")?;
                    Some((repo.to_string(), n.parse().ok()?, base.into(), head.into()))
                });
                a.pulls
                    .push(parsed.ok_or_else(|| bad("expected OWNER/NAME#N=BASE..HEAD"))?);
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if a.public_key.is_empty() {
        return Err(format!("--public-key is required\n{USAGE}"));
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let pem = match std::fs::read_to_string(&args.public_key) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}: {e}", args.public_key);
            return ExitCode::from(2);
        }
    };
    let fake = app_fake::FakeApp::start_on(&format!("127.0.0.1:{}", args.port), args.app_id, &pem);
    for (name, url) in &args.repos {
        fake.add_repo(name, url);
    }
    for (repo, n, base, head) in &args.pulls {
        fake.add_pull(repo, *n, base, head, Vec::new());
    }
    fake.lock().latency = std::time::Duration::from_millis(args.latency_ms);
    fake.lock().unlisted = args.unlisted;
    if !args.installations.is_empty() {
        fake.lock().installations = args.installations.clone();
    }
    let mut out = std::io::stdout();
    // Flushed explicitly: a script reads this line through a pipe.
    let _ = writeln!(out, "listening on {}", fake.url);
    let _ = out.flush();
    // Not tied to stdin: a bench usually starts this with stdin at EOF.
    loop {
        std::thread::park();
    }
}
