//! A PostgreSQL server for the tests of the App's shared queue:
//! `REACHDIFF_TEST_DATABASE_URL` when set (an empty database the tests may
//! fill), otherwise a throwaway server started from the binaries on the
//! machine (Debian's `/usr/lib/postgresql/N/bin`): `initdb` into a
//! temporary directory, as the unprivileged `postgres` (or `nobody`) user
//! when the tests run as root, listening on a free port of 127.0.0.1.
//! Stopped and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Postgres {
    pub url: String,
    child: Option<Child>,
    dir: Option<PathBuf>,
    /// How to start the server again on the same data and port (none for
    /// `REACHDIFF_TEST_DATABASE_URL`).
    server: Option<ServerCommand>,
}

/// The `postgres` command of a throwaway server.
struct ServerCommand {
    bin: PathBuf,
    drop_to: Option<Vec<String>>,
    data: PathBuf,
    port: u16,
}

impl ServerCommand {
    fn spawn(&self, dir: &Path) -> Result<Child, String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("log"))
            .map_err(|e| e.to_string())?;
        command(&self.bin.join("postgres"), &self.drop_to)
            .arg("-D")
            .arg(&self.data)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-k"])
            .arg(dir)
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("postgres: {e}"))
    }
}

/// The directory with `initdb` and `postgres`, newest version first.
fn binaries() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|b| b.join("initdb").is_file() && b.join("postgres").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `setpriv` arguments that drop to an unprivileged user, when root
/// (PostgreSQL refuses to run as root).
fn as_unprivileged() -> Option<(Vec<String>, u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    for user in ["postgres", "nobody"] {
        let line = passwd.lines().find(|l| l.starts_with(&format!("{user}:")));
        let Some(fields) = line.map(|l| l.split(':').collect::<Vec<_>>()) else {
            continue;
        };
        let (Some(uid), Some(gid)) = (
            fields.get(2).and_then(|u| u.parse().ok()),
            fields.get(3).and_then(|g| g.parse().ok()),
        ) else {
            continue;
        };
        let args = vec![
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".to_string(),
        ];
        return Some((args, uid, gid));
    }
    None
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

fn command(bin: &Path, drop_to: &Option<Vec<String>>) -> Command {
    match drop_to {
        Some(args) => {
            let mut c = Command::new("setpriv");
            c.args(args).arg(bin);
            c
        }
        None => Command::new(bin),
    }
}

impl Postgres {
    /// A database for one test, or why there is none (the caller prints
    /// the SKIPPED line).
    pub fn start() -> Result<Postgres, String> {
        if let Ok(url) = std::env::var("REACHDIFF_TEST_DATABASE_URL")
            && !url.is_empty()
        {
            return Ok(Postgres {
                url,
                child: None,
                dir: None,
                server: None,
            });
        }
        let bin = binaries().ok_or(
            "no PostgreSQL binaries in /usr/lib/postgresql/*/bin (install postgresql, or set REACHDIFF_TEST_DATABASE_URL)",
        )?;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "pg-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let drop_to = if is_root() {
            let (args, uid, gid) =
                as_unprivileged().ok_or("running as root and no postgres or nobody user")?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
            // The user must be able to reach the directory.
            let mut p = dir.parent();
            while let Some(d) = p {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(m) = std::fs::metadata(d) {
                    let mode = m.permissions().mode();
                    if mode & 0o001 == 0 {
                        let _ = std::fs::set_permissions(
                            d,
                            std::fs::Permissions::from_mode(mode | 0o001),
                        );
                    }
                }
                p = d.parent();
            }
            Some(args)
        } else {
            None
        };
        let data = dir.join("data");
        let out = command(&bin.join("initdb"), &drop_to)
            .arg("-D")
            .arg(&data)
            .args(["-U", "reachdiff", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = free_port();
        let server = ServerCommand {
            bin,
            drop_to,
            data,
            port,
        };
        let child = server.spawn(&dir)?;
        let pg = Postgres {
            url: format!("postgres://reachdiff:not-a-secret@127.0.0.1:{port}/postgres"),
            child: Some(child),
            dir: Some(dir.clone()),
            server: Some(server),
        };
        pg.wait_up()?;
        Ok(pg)
    }

    /// Whether the server can be stopped and started again by the tests.
    pub fn restartable(&self) -> bool {
        self.server.is_some()
    }

    /// Stops the server at once (a fast shutdown: clients are cut off).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("sh")
                .args(["-c", &format!("kill -INT {}", c.id())])
                .status();
            let _ = c.wait();
        }
    }

    /// Starts the stopped server again, same data, same port.
    pub fn restart(&mut self) -> Result<(), String> {
        let (Some(server), Some(dir)) = (&self.server, &self.dir) else {
            return Err("not a throwaway server".into());
        };
        self.child = Some(server.spawn(dir)?);
        self.wait_up()
    }

    fn wait_up(&self) -> Result<(), String> {
        let (Some(server), Some(dir)) = (&self.server, &self.dir) else {
            return Ok(());
        };
        let port = server.port;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                return Err(format!("postgres did not start: {log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGINT: a fast shutdown (clients are cut off).
            let _ = Command::new("sh")
                .args(["-c", &format!("kill -INT {}", c.id())])
                .status();
            let _ = c.wait();
        }
        if let Some(d) = self.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
