//! Webhook deliveries → what to do: analyse a pull request's head, forget
//! a closed one, answer a ping, or ignore. Pure: bytes in, a decision out.

use crate::github::is_sha;
use serde_json::Value;

pub use crate::ops::queue::{JobSpec, PullKey, valid_clone_url, valid_repo_name};

/// What a delivery asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    Analyse(Vec<JobSpec>),
    /// The pull request was closed: drop its pending analysis.
    Closed(PullKey),
    /// The App was installed on (more) repositories: reconcile it now.
    Installed {
        installation: u64,
    },
    Ping,
    /// Accepted and deliberately not acted on (why, for the log).
    Ignored(String),
}

/// A delivery that is signed but not what GitHub sends.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventError(pub String);

/// The name of the check run reachdiff creates (and answers re-runs of).
pub const CHECK_NAME: &str = "reachdiff";

/// The events reachdiff acts on (or logs).
pub const KNOWN_EVENTS: [&str; 7] = [
    "pull_request",
    "merge_group",
    "check_run",
    "check_suite",
    "installation",
    "installation_repositories",
    "ping",
];

/// Routes one delivery of event `event` (`X-GitHub-Event`).
pub fn route(event: &str, body: &[u8]) -> Result<Routed, EventError> {
    if !KNOWN_EVENTS.contains(&event) {
        return Ok(Routed::Ignored(format!("event {event:?} is not used")));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| EventError(format!("the {event} payload is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(EventError(format!(
            "the {event} payload is not a JSON object"
        )));
    }
    let action = str_at(&v, "/action").unwrap_or_default();
    match event {
        "ping" => Ok(Routed::Ping),
        "installation" | "installation_repositories" => installation(event, &v, action),
        "pull_request" => pull_request(&v, action),
        "merge_group" => merge_group(&v, action),
        "check_run" => {
            if action != "rerequested" {
                return Ok(Routed::Ignored(format!("check_run {action}")));
            }
            let name = str_at(&v, "/check_run/name").unwrap_or_default();
            if name != CHECK_NAME {
                return Ok(Routed::Ignored(format!(
                    "check_run {name:?} is not reachdiff's"
                )));
            }
            let head = sha_at(&v, "/check_run/head_sha")?;
            fresh(jobs_for_pulls(&v, "/check_run/pull_requests", &head), true)
        }
        "check_suite" => {
            if action != "requested" && action != "rerequested" {
                return Ok(Routed::Ignored(format!("check_suite {action}")));
            }
            let head = sha_at(&v, "/check_suite/head_sha")?;
            fresh(
                jobs_for_pulls(&v, "/check_suite/pull_requests", &head),
                action == "rerequested",
            )
        }
        _ => Ok(Routed::Ignored(format!("event {event:?} is not used"))),
    }
}

fn installation(event: &str, v: &Value, action: &str) -> Result<Routed, EventError> {
    let installation = u64_at(v, "/installation/id")
        .ok_or_else(|| EventError(format!("{event}: no installation.id")))?;
    Ok(match action {
        "created" | "added" | "unsuspend" | "new_permissions_accepted" => {
            Routed::Installed { installation }
        }
        other => Routed::Ignored(format!("{event} {other}")),
    })
}

fn pull_request(v: &Value, action: &str) -> Result<Routed, EventError> {
    let number = || {
        u64_at(v, "/pull_request/number")
            .or_else(|| u64_at(v, "/number"))
            .ok_or_else(|| EventError("pull_request: no number".into()))
    };
    let relevant = match action {
        "opened" | "synchronize" | "reopened" | "ready_for_review" => true,
        // Only a new base changes the answer; a new title does not.
        "edited" => v.pointer("/changes/base").is_some(),
        "closed" => {
            let repo = repo_name(v)?;
            return Ok(Routed::Closed(PullKey {
                repo,
                number: number()?,
                merge_group: None,
            }));
        }
        _ => false,
    };
    if !relevant {
        return Ok(Routed::Ignored(format!("pull_request {action}")));
    }
    let mut j = job(
        v,
        number()?,
        sha_at(v, "/pull_request/base/sha")?,
        sha_at(v, "/pull_request/head/sha")?,
    )?;
    // A new base is a new question about the same head.
    j.fresh = action == "edited";
    Ok(Routed::Analyse(vec![j]))
}

/// A merge queue checks the group's commit before merging it: a required
/// check must report there too, or the queue waits.
fn merge_group(v: &Value, action: &str) -> Result<Routed, EventError> {
    let head_ref = str_at(v, "/merge_group/head_ref")
        .filter(|r| r.starts_with("refs/") && r.len() <= 1024)
        .ok_or_else(|| EventError("merge_group: no head_ref".into()))?
        .to_string();
    match action {
        "checks_requested" => {
            let mut j = job(
                v,
                0,
                sha_at(v, "/merge_group/base_sha")?,
                sha_at(v, "/merge_group/head_sha")?,
            )?;
            j.merge_group = Some(head_ref);
            Ok(Routed::Analyse(vec![j]))
        }
        "destroyed" => Ok(Routed::Closed(PullKey {
            repo: repo_name(v)?,
            number: 0,
            merge_group: Some(head_ref),
        })),
        other => Ok(Routed::Ignored(format!("merge_group {other}"))),
    }
}

/// The jobs of `routed`, marked as wanting a new check run (a re-run).
fn fresh(routed: Result<Routed, EventError>, fresh: bool) -> Result<Routed, EventError> {
    match routed {
        Ok(Routed::Analyse(mut jobs)) => {
            for j in &mut jobs {
                j.fresh = fresh;
            }
            Ok(Routed::Analyse(jobs))
        }
        other => other,
    }
}

/// One job per pull request listed (`pull_requests` of a check run or
/// suite: those of the same repository whose head is `head`).
fn jobs_for_pulls(v: &Value, pointer: &str, head: &str) -> Result<Routed, EventError> {
    let mut jobs = Vec::new();
    for p in v
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(number) = p.get("number").and_then(Value::as_u64) else {
            continue;
        };
        let base = sha_at(p, "/base/sha")?;
        jobs.push(job(v, number, base, head.to_string())?);
    }
    if jobs.is_empty() {
        return Ok(Routed::Ignored(
            "no pull request of this repository has this commit as head".into(),
        ));
    }
    Ok(Routed::Analyse(jobs))
}

fn job(v: &Value, number: u64, base_sha: String, head_sha: String) -> Result<JobSpec, EventError> {
    let installation = u64_at(v, "/installation/id").ok_or_else(|| {
        EventError("no installation.id: is this delivery for a GitHub App?".into())
    })?;
    let clone_url = str_at(v, "/repository/clone_url")
        .ok_or_else(|| EventError("no repository.clone_url".into()))?;
    if !valid_clone_url(clone_url) {
        return Err(EventError(format!(
            "repository.clone_url {clone_url:?} is not an https://, http:// or file:// URL"
        )));
    }
    Ok(JobSpec {
        installation,
        repo: repo_name(v)?,
        clone_url: clone_url.to_string(),
        number,
        merge_group: None,
        base_sha,
        head_sha,
        fresh: false,
    })
}

fn repo_name(v: &Value) -> Result<String, EventError> {
    let name = str_at(v, "/repository/full_name")
        .ok_or_else(|| EventError("no repository.full_name".into()))?;
    if !valid_repo_name(name) {
        return Err(EventError(format!(
            "repository.full_name {name:?} is not owner/name"
        )));
    }
    Ok(name.to_string())
}

fn sha_at(v: &Value, p: &str) -> Result<String, EventError> {
    match str_at(v, p) {
        Some(s) if is_sha(s) => Ok(s.to_ascii_lowercase()),
        Some(s) => Err(EventError(format!("{p}: {s:?} is not a commit id"))),
        None => Err(EventError(format!("{p}: missing"))),
    }
}

fn str_at<'a>(v: &'a Value, p: &str) -> Option<&'a str> {
    v.pointer(p).and_then(Value::as_str)
}

fn u64_at(v: &Value, p: &str) -> Option<u64> {
    v.pointer(p).and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(action: &str, extra: &str) -> Vec<u8> {
        format!(
            r#"{{"action":"{action}","number":7,{extra}
            "pull_request":{{"number":7,"head":{{"sha":"{h}"}},"base":{{"sha":"{b}"}}}},
            "repository":{{"full_name":"acme/gitops","clone_url":"https://github.com/acme/gitops.git"}},
            "installation":{{"id":3}}}}"#,
            h = "b".repeat(40),
            b = "a".repeat(40)
        )
        .into_bytes()
    }

    #[test]
    fn pull_request_actions() {
        let Routed::Analyse(jobs) = route("pull_request", &pr("synchronize", "")).unwrap() else {
            panic!("not analysed")
        };
        assert_eq!(
            jobs,
            vec![JobSpec {
                installation: 3,
                repo: "acme/gitops".into(),
                clone_url: "https://github.com/acme/gitops.git".into(),
                number: 7,
                merge_group: None,
                base_sha: "a".repeat(40),
                head_sha: "b".repeat(40),
                fresh: false,
            }]
        );
        for a in ["opened", "reopened", "ready_for_review"] {
            assert!(matches!(
                route("pull_request", &pr(a, "")),
                Ok(Routed::Analyse(_))
            ));
        }
        assert!(matches!(
            route(
                "pull_request",
                &pr("edited", r#""changes":{"title":{"from":"x"}},"#)
            ),
            Ok(Routed::Ignored(_))
        ));
        // A new base wants a new check run on the same head.
        assert!(matches!(
            route(
                "pull_request",
                &pr("edited", r#""changes":{"base":{"ref":{"from":"dev"}}},"#)
            ),
            Ok(Routed::Analyse(j)) if j[0].fresh
        ));
        assert_eq!(
            route("pull_request", &pr("closed", "")),
            Ok(Routed::Closed(PullKey {
                repo: "acme/gitops".into(),
                number: 7,
                merge_group: None,
            }))
        );
        assert!(matches!(
            route("pull_request", &pr("labeled", "")),
            Ok(Routed::Ignored(_))
        ));
    }

    #[test]
    fn merge_groups() {
        let body = |action: &str| {
            format!(
                r#"{{"action":"{action}","merge_group":{{"head_sha":"{h}","base_sha":"{b}",
                "head_ref":"refs/heads/gh-readonly-queue/main/pr-7-{b}","base_ref":"refs/heads/main"}},
                "repository":{{"full_name":"acme/gitops","clone_url":"https://github.com/acme/gitops.git"}},
                "installation":{{"id":3}}}}"#,
                h = "e".repeat(40),
                b = "f".repeat(40)
            )
        };
        let Ok(Routed::Analyse(j)) = route("merge_group", body("checks_requested").as_bytes())
        else {
            panic!()
        };
        assert_eq!(j[0].number, 0);
        assert_eq!(j[0].head_sha, "e".repeat(40));
        let group = j[0].merge_group.clone().unwrap();
        assert!(group.starts_with("refs/heads/gh-readonly-queue/"));
        assert_eq!(
            route("merge_group", body("destroyed").as_bytes()),
            Ok(Routed::Closed(j[0].key()))
        );
        assert!(
            j[0].key()
                .to_string()
                .contains("@refs/heads/gh-readonly-queue/")
        );
    }

    #[test]
    fn check_runs_and_suites() {
        let body = |event: &str, name: &str| {
            format!(
                r#"{{"action":"rerequested","{event}":{{"name":"{name}","head_sha":"{h}",
                "pull_requests":[{{"number":4,"head":{{"sha":"{h}"}},"base":{{"sha":"{b}"}}}}]}},
                "repository":{{"full_name":"acme/gitops","clone_url":"https://github.com/acme/gitops.git"}},
                "installation":{{"id":3}}}}"#,
                h = "c".repeat(40),
                b = "d".repeat(40)
            )
        };
        let Ok(Routed::Analyse(j)) = route("check_run", body("check_run", "reachdiff").as_bytes())
        else {
            panic!()
        };
        assert_eq!(
            (j[0].number, j[0].base_sha.as_str()),
            (4, "d".repeat(40).as_str())
        );
        assert!(matches!(
            route("check_run", body("check_run", "lint").as_bytes()),
            Ok(Routed::Ignored(_))
        ));
        assert!(matches!(
            route("check_suite", body("check_suite", "").as_bytes()),
            Ok(Routed::Analyse(_))
        ));
    }

    proptest::proptest! {
        /// Hostile payloads (signed by a leaked secret, say) never panic
        /// the router: any bytes, any JSON shape, every event name.
        #[test]
        fn any_payload_is_routed_or_refused(
            event in proptest::sample::select(vec![
                "pull_request", "check_run", "check_suite", "installation",
                "installation_repositories", "ping", "push",
            ]),
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let _ = route(event, &bytes);
        }

        #[test]
        fn mutated_real_payloads_never_panic(
            cut in 0usize..400,
            junk in "[\\[\\]{}:,\"0-9a-z ]{0,12}",
        ) {
            let good = String::from_utf8(pr("synchronize", "")).unwrap();
            let at = cut.min(good.len());
            let bad = format!("{}{junk}{}", &good[..at], &good[at..]);
            for event in ["pull_request", "check_run", "check_suite"] {
                if let Ok(Routed::Analyse(jobs)) = route(event, bad.as_bytes()) {
                    for j in jobs {
                        proptest::prop_assert!(valid_repo_name(&j.repo));
                        proptest::prop_assert!(is_sha(&j.head_sha) && is_sha(&j.base_sha));
                        proptest::prop_assert!(valid_clone_url(&j.clone_url));
                    }
                }
            }
        }
    }

    #[test]
    fn refusals_and_ignores() {
        assert!(matches!(
            route("push", b"not even json"),
            Ok(Routed::Ignored(_))
        ));
        assert_eq!(route("ping", b"{\"zen\":\"x\"}"), Ok(Routed::Ping));
        assert!(route("pull_request", b"{").is_err());
        assert!(route("pull_request", b"[]").is_err());
        let bad = String::from_utf8(pr("opened", ""))
            .unwrap()
            .replace("acme/gitops\"", "../../etc\"");
        assert!(route("pull_request", bad.as_bytes()).is_err());
        let ext = String::from_utf8(pr("opened", "")).unwrap().replace(
            "https://github.com/acme/gitops.git",
            "ext::sh -c touch% /tmp/pwned",
        );
        assert!(route("pull_request", ext.as_bytes()).is_err());
        let sha = String::from_utf8(pr("opened", ""))
            .unwrap()
            .replace(&"b".repeat(40), "--upload-pack=evil");
        assert!(route("pull_request", sha.as_bytes()).is_err());
        assert!(
            valid_repo_name("a-b/c.d_e") && !valid_repo_name("a/b/c") && !valid_repo_name("-x/y")
        );
    }
}
