//! Load for `reachdiff serve`'s webhook endpoint: N signed `pull_request`
//! `synchronize` deliveries from K threads, each timed from the first byte
//! sent to the last byte of the answer.
//!
//! ```text
//! cargo run --release --example webhook_load -- --url http://127.0.0.1:8080/webhook \
//!     --secret-file secret --deliveries 1000 --concurrency 16 --repo acme/gitops \
//!     --pull 7 --pulls 4 --base SHA --head SHA --clone-url URL --installation 1
//! ```
//!
//! Exits 1 if any delivery was not acknowledged (2xx) or the p99 latency
//! exceeds `--max-p99-ms`: a webhook receiver must answer fast and do the
//! work later, or GitHub times the delivery out after ten seconds.

#[path = "../tests/it/app_fake.rs"]
mod app_fake;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Args {
    /// host:port and path of `--url`.
    addr: String,
    path: String,
    secret: Vec<u8>,
    deliveries: usize,
    concurrency: usize,
    repo: String,
    pull: u64,
    pulls: u64,
    base: String,
    head: String,
    clone_url: String,
    installation: u64,
    max_p99_ms: f64,
}

const USAGE: &str = "usage: webhook_load --url http://HOST:PORT/PATH --secret-file FILE \
[--deliveries N] [--concurrency N] --repo OWNER/NAME [--pull N] [--pulls K] --base SHA \
--head SHA --clone-url URL [--installation ID] [--max-p99-ms MS]";

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        addr: String::new(),
        path: String::new(),
        secret: Vec::new(),
        deliveries: 1000,
        concurrency: 16,
        repo: String::new(),
        pull: 1,
        pulls: 1,
        base: String::new(),
        head: String::new(),
        clone_url: String::new(),
        installation: 1,
        max_p99_ms: 50.0,
    };
    let mut secret_file = None;
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag} {value:?}: {what}");
        match flag.as_str() {
            "--url" => {
                let rest = value
                    .strip_prefix("http://")
                    .ok_or_else(|| bad("only http:// URLs are supported"))?;
                let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
                a.addr = addr.to_string();
                a.path = format!("/{path}");
            }
            "--secret-file" => secret_file = Some(value),
            "--deliveries" => a.deliveries = value.parse().map_err(|_| bad("not a number"))?,
            "--concurrency" => {
                a.concurrency = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad("not a positive number"))?
            }
            "--repo" => a.repo = value,
            "--pull" => a.pull = value.parse().map_err(|_| bad("not a number"))?,
            "--pulls" => {
                a.pulls = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad("not a positive number"))?
            }
            "--base" => a.base = value,
            "--head" => a.head = value,
            "--clone-url" => a.clone_url = value,
            "--installation" => a.installation = value.parse().map_err(|_| bad("not a number"))?,
            "--max-p99-ms" => a.max_p99_ms = value.parse().map_err(|_| bad("not a number"))?,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    for (flag, v) in [
        ("--url", &a.addr),
        ("--repo", &a.repo),
        ("--base", &a.base),
        ("--head", &a.head),
        ("--clone-url", &a.clone_url),
    ] {
        if v.is_empty() {
            return Err(format!("{flag} is required\n{USAGE}"));
        }
    }
    let file = secret_file.ok_or_else(|| format!("--secret-file is required\n{USAGE}"))?;
    let secret = std::fs::read(&file).map_err(|e| format!("{file}: {e}"))?;
    // Secret files usually end with a newline the server does not see either.
    a.secret = secret.trim_ascii_end().to_vec();
    Ok(a)
}

/// The outcome of one delivery: its status (or the transport error) and
/// how long the round trip took.
type Outcome = (Result<u16, String>, Duration);

fn deliver(a: &Args, i: usize) -> Outcome {
    let number = a.pull + i as u64 % a.pulls;
    let payload = app_fake::pull_request_payload(
        "synchronize",
        &a.repo,
        &a.clone_url,
        number,
        &a.base,
        &a.head,
        a.installation,
    );
    let body = payload.to_string();
    let signature = app_fake::hmac_sha256_hex(&a.secret, body.as_bytes());
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\nuser-agent: GitHub-Hookshot/webhook-load\r\n\
content-type: application/json\r\nx-github-event: pull_request\r\nx-github-delivery: {}\r\n\
x-github-hook-id: 123456789\r\nx-github-hook-installation-target-type: integration\r\n\
x-github-hook-installation-target-id: 4242\r\nx-hub-signature-256: sha256={signature}\r\n\
content-length: {}\r\nconnection: close\r\n\r\n{body}",
        a.path,
        a.addr,
        delivery_id(),
        body.len()
    );
    let start = Instant::now();
    let status = exchange(&a.addr, request.as_bytes());
    (status, start.elapsed())
}

/// Sends `request` and reads the whole answer (by content-length, else to
/// EOF); returns the status code.
fn exchange(addr: &str, request: &[u8]) -> Result<u16, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    let _ = s.set_nodelay(true);
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    s.write_all(request).map_err(|e| format!("send: {e}"))?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let mut len = None;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).map_err(|e| format!("read: {e}"))? == 0 {
            return Err("headers cut short".into());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim();
            if k.eq_ignore_ascii_case("content-length") {
                len = v.parse::<u64>().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.eq_ignore_ascii_case("chunked");
            }
        }
    }
    // The full response counts towards the latency, body included.
    match len {
        Some(n) if !chunked => {
            std::io::copy(&mut r.take(n), &mut std::io::sink())
                .map_err(|e| format!("read body: {e}"))?;
        }
        _ => {
            std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| format!("read body: {e}"))?;
        }
    }
    Ok(status)
}

/// A v4-shaped UUID, as GitHub uses for `X-GitHub-Delivery`.
fn delivery_id() -> String {
    let (a, b) = (app_fake::random_u64(), app_fake::random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Nearest-rank percentile of sorted `v`.
fn percentile(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    let a = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Outcome>> = Mutex::new(Vec::with_capacity(a.deliveries));
    let wall = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.concurrency.min(a.deliveries.max(1)) {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= a.deliveries {
                        break;
                    }
                    mine.push(deliver(&a, i));
                }
                outcomes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(mine);
            });
        }
    });
    let wall = wall.elapsed();
    let outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());

    let mut acked = 0;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut latencies: Vec<Duration> = Vec::with_capacity(outcomes.len());
    for (status, took) in &outcomes {
        latencies.push(*took);
        match status {
            Ok(s) if (200..300).contains(s) => acked += 1,
            Ok(s) => *by_status.entry(*s).or_default() += 1,
            Err(e) => *errors.entry(e.clone()).or_default() += 1,
        }
    }
    latencies.sort();
    let p99 = percentile(&latencies, 99.0);
    println!("sent          {}", outcomes.len());
    println!("acknowledged  {acked}");
    for (s, n) in &by_status {
        println!("status {s}    {n}");
    }
    for (e, n) in &errors {
        println!("error         {n} x {e}");
    }
    println!(
        "latency ms    p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(p99),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "throughput    {:.0} deliveries/s over {:.2} s",
        outcomes.len() as f64 / wall.as_secs_f64().max(1e-9),
        wall.as_secs_f64()
    );
    let mut ok = true;
    if acked < a.deliveries {
        eprintln!(
            "FAIL: {} of {} deliveries not acknowledged",
            a.deliveries - acked,
            a.deliveries
        );
        ok = false;
    }
    if ms(p99) > a.max_p99_ms {
        eprintln!(
            "FAIL: p99 {:.2} ms exceeds --max-p99-ms {}",
            ms(p99),
            a.max_p99_ms
        );
        ok = false;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
