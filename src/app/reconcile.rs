//! Healing: every open pull request of every installed repository whose
//! head has no completed reachdiff check run is queued. Run at start (a
//! crash or restart lost the queue), periodically (a missed webhook), and
//! when the App is installed on new repositories.

use super::events::{CHECK_NAME, JobSpec, valid_clone_url, valid_repo_name};
use super::job::Ctx;
use crate::github::{GitHubError, is_sha};
use crate::ops::queue::{Job, Pushed};
use std::time::Instant;

/// What one pass found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub pulls_seen: usize,
    pub queued: usize,
    /// Installations whose listing failed (logged, retried next pass).
    pub failed: usize,
}

/// One pass over all installations, or only `only`.
pub fn reconcile(ctx: &Ctx, only: Option<u64>) -> Result<Reconciled, GitHubError> {
    let installations: Vec<u64> = match only {
        Some(i) => vec![i],
        None => ctx
            .tokens
            .app_client()
            .get_all("/app/installations?per_page=100")?
            .iter()
            .filter(|i| i.get("suspended_at").is_none_or(|s| s.is_null()))
            .filter_map(|i| i.get("id")?.as_u64())
            .collect(),
    };
    let mut r = Reconciled::default();
    for installation in installations {
        if let Err(e) = reconcile_installation(ctx, installation, &mut r) {
            tracing::warn!(installation, error = %e, "reconciliation of an installation failed");
            r.failed += 1;
        }
    }
    Ok(r)
}

fn reconcile_installation(
    ctx: &Ctx,
    installation: u64,
    r: &mut Reconciled,
) -> Result<(), GitHubError> {
    let client = ctx.tokens.installation_client(installation);
    let repos = client.get_all_in(
        "/installation/repositories?per_page=100",
        Some("repositories"),
    )?;
    for repo in repos {
        let (Some(name), Some(clone_url)) = (
            repo.get("full_name").and_then(|v| v.as_str()),
            repo.get("clone_url").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        if !valid_repo_name(name) || !valid_clone_url(clone_url) {
            continue;
        }
        if repo.get("archived").and_then(|a| a.as_bool()) == Some(true) {
            continue;
        }
        let pulls = client.get_all(&format!("/repos/{name}/pulls?state=open&per_page=100"))?;
        for p in pulls {
            let (Some(number), Some(base), Some(head)) = (
                p.get("number").and_then(|v| v.as_u64()),
                p.pointer("/base/sha").and_then(|v| v.as_str()),
                p.pointer("/head/sha").and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            if !is_sha(base) || !is_sha(head) {
                continue;
            }
            r.pulls_seen += 1;
            let runs = client.get_all_in(
                &format!(
                    "/repos/{name}/commits/{head}/check-runs?check_name={CHECK_NAME}&app_id={}&per_page=100",
                    ctx.app_id
                ),
                Some("check_runs"),
            )?;
            let completed = runs.iter().any(|c| {
                c.get("status").and_then(|s| s.as_str()) == Some("completed")
                    && c.get("name").and_then(|s| s.as_str()) == Some(CHECK_NAME)
            });
            if completed {
                continue;
            }
            let pushed = ctx
                .rt
                .block_on(ctx.store.push(
                    Job {
                        spec: JobSpec {
                            installation,
                            repo: name.to_string(),
                            clone_url: clone_url.to_string(),
                            number,
                            merge_group: None,
                            base_sha: base.to_ascii_lowercase(),
                            head_sha: head.to_ascii_lowercase(),
                            fresh: false,
                        },
                        received: Instant::now(),
                    },
                    true,
                ))
                .map_err(|e| GitHubError::Setup(format!("queueing: {e}")))?;
            if matches!(pushed, Some(Pushed::Queued | Pushed::Coalesced)) {
                r.queued += 1;
                tracing::info!(repo = name, number, "reconciliation queued a pull request");
            }
        }
    }
    Ok(())
}
