//! Publishing a review on GitHub, for the Action and the App alike: the
//! one sticky comment, the review with inline comments (superseding the
//! previous one), and the lines it comments on. Every function returns
//! what happened; nothing here prints. Bodies are built from raw texts
//! through [`crate::report::escape`].

use super::{Comment, GitHubApi, GitHubError, NewReview, NewReviewComment, PrFile, Side};
use crate::review::lines::{LineSide, ResponsibleLine};
use crate::words::plural;

/// The hidden marker of reachdiff's review comments and reviews.
pub const REVIEW_MARKER: &str = "<!-- reachdiff-review -->";

/// At most this many inline comments per review; the rest are summarised
/// in the review body.
pub const REVIEW_COMMENT_LIMIT: usize = 20;

/// The body a superseded reachdiff review is given.
pub const SUPERSEDED: &str = "_Superseded by a newer reachdiff run; its comments were removed._";

/// Whether `c` is one of reachdiff's: written by a bot and starting with
/// `marker` (a reply quoting it starts with `>`).
pub fn is_ours(c: &Comment, marker: &str) -> bool {
    c.by_bot && c.body.trim_start().starts_with(marker)
}

/// The first of reachdiff's comments carrying `marker`.
pub fn find_sticky<'a>(comments: &'a [Comment], marker: &str) -> Option<&'a Comment> {
    comments.iter().find(|c| is_ours(c, marker))
}

/// What happened to the sticky comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sticky {
    Created(u64),
    Updated(u64),
    /// The existing comment already says exactly this.
    Unchanged(u64),
    /// There was none and none was wanted (nothing changed).
    NotNeeded,
}

impl Sticky {
    /// For logs: `created`, `updated`, `unchanged`, `not needed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Sticky::Created(_) => "created",
            Sticky::Updated(_) => "updated",
            Sticky::Unchanged(_) => "unchanged",
            Sticky::NotNeeded => "not needed",
        }
    }
}

/// Writes the one comment carrying `marker`: updated in place when it
/// exists (also to say a later push changed nothing), created only when
/// `create` (there is something to say).
pub fn publish_sticky(
    api: &dyn GitHubApi,
    repo: &str,
    number: u64,
    marker: &str,
    body: &str,
    create: bool,
) -> Result<Sticky, GitHubError> {
    let comments = api.list_comments(repo, number)?;
    match find_sticky(&comments, marker) {
        Some(c) if c.body == body => Ok(Sticky::Unchanged(c.id)),
        Some(c) => api
            .update_comment(repo, c.id, body)
            .map(|c| Sticky::Updated(c.id)),
        None if create => api
            .create_comment(repo, number, body)
            .map(|c| Sticky::Created(c.id)),
        None => Ok(Sticky::NotNeeded),
    }
}

/// The pull request a review is for.
#[derive(Clone, Copy, Debug)]
pub struct PullRef<'a> {
    pub repo: &'a str,
    pub number: u64,
    pub head_sha: &'a str,
}

/// What became of the review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// The previous run's comments deleted, this many posted.
    Posted { deleted: usize, posted: usize },
    /// The token may not write reviews (a fork's pull request).
    ReadOnly(String),
    /// GitHub refused the review it could not place (a line outside the
    /// diff after a force-push, a file too large to diff): the report
    /// stands without it.
    Refused(String),
}

fn side(s: LineSide) -> Side {
    match s {
        LineSide::Base => Side::Left,
        LineSide::Head => Side::Right,
    }
}

/// The review comment on one line.
fn comment_body(l: &ResponsibleLine) -> String {
    let env = l
        .environment
        .as_deref()
        .map(|e| format!(" in environment {}", escape_markdown(e)))
        .unwrap_or_default();
    format!(
        "{REVIEW_MARKER}\n**reachdiff**: this line {}{env}.\n\n{}; for example {}",
        l.what().join(" and "),
        escape_markdown(&l.text),
        escape_markdown(&l.example)
    )
}

/// Escapes text from the manifests (attacker-controlled) for Markdown:
/// no HTML, no links, no emphasis, no mentions, on one line.
fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '~' | '@' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The review to post: the lines inside the pull request's diff, at most
/// [`REVIEW_COMMENT_LIMIT`]; the rest are counted in the body. `path` maps
/// a report's file to the pull request's (a working-directory prefix).
/// `None` when no line is commentable.
pub fn build_review(
    lines: &[ResponsibleLine],
    files: &[PrFile],
    head_sha: &str,
    path: &dyn Fn(&str) -> String,
) -> Option<NewReview> {
    let commentable: std::collections::BTreeMap<&str, super::Commentable> = files
        .iter()
        .filter_map(|f| {
            Some((
                f.filename.as_str(),
                super::commentable_lines(f.patch.as_deref()?),
            ))
        })
        .collect();
    let placed: Vec<(String, &ResponsibleLine)> =
        lines.iter().map(|l| (path(&l.file), l)).collect();
    let (inside, outside): (Vec<&(String, &ResponsibleLine)>, Vec<_>) =
        placed.iter().partition(|(p, l)| {
            commentable
                .get(p.as_str())
                .is_some_and(|c| c.contains(side(l.side), l.line))
        });
    if inside.is_empty() {
        return None;
    }
    let comments: Vec<NewReviewComment> = inside
        .iter()
        .take(REVIEW_COMMENT_LIMIT)
        .map(|(p, l)| NewReviewComment {
            path: p.clone(),
            line: l.line,
            side: side(l.side),
            body: comment_body(l),
        })
        .collect();
    let mut body = format!(
        "{REVIEW_MARKER}\n**reachdiff**: {} on the lines of this pull request that change reachability.",
        plural(comments.len(), "comment", "comments")
    );
    let more = inside.len() - comments.len();
    if more > 0 {
        body.push_str(&format!(
            "\n\n{more} more line(s) in the diff change reachability (at most {REVIEW_COMMENT_LIMIT} are commented); the sticky comment and the job summary have the full report."
        ));
    }
    if !outside.is_empty() {
        body.push_str(&format!(
            "\n\n{} responsible line(s) lie outside the diff of this pull request and are not commented.",
            outside.len()
        ));
    }
    Some(NewReview {
        commit_id: head_sha.to_string(),
        body,
        comments,
    })
}

/// Deletes the previous run's review comments (found by the marker) and
/// marks its reviews superseded (a submitted review cannot be deleted),
/// then posts the new review. Returns (deleted, posted).
pub fn replace_review(
    api: &dyn GitHubApi,
    repo: &str,
    number: u64,
    review: Option<&NewReview>,
) -> Result<(usize, usize), GitHubError> {
    let superseded = format!("{REVIEW_MARKER}\n{SUPERSEDED}");
    for r in api.list_reviews(repo, number)? {
        if is_ours(&r, REVIEW_MARKER) && r.body != superseded {
            api.update_review(repo, number, r.id, &superseded)?;
        }
    }
    let old = api.list_review_comments(repo, number)?;
    let mut deleted = 0;
    for c in old.iter().filter(|c| is_ours(c, REVIEW_MARKER)) {
        api.delete_review_comment(repo, c.id)?;
        deleted += 1;
    }
    let posted = match review {
        Some(r) => {
            api.create_review(repo, number, r)?;
            r.comments.len()
        }
        None => 0,
    };
    Ok((deleted, posted))
}

/// Replaces reachdiff's review on the pull request with one on `lines`.
/// A read-only token and a refused review are outcomes, not errors.
pub fn publish_review(
    api: &dyn GitHubApi,
    pull: PullRef<'_>,
    lines: &[ResponsibleLine],
    path: &dyn Fn(&str) -> String,
) -> Result<ReviewOutcome, GitHubError> {
    let result = api.list_pr_files(pull.repo, pull.number).and_then(|files| {
        let review = build_review(lines, &files, pull.head_sha, path);
        replace_review(api, pull.repo, pull.number, review.as_ref())
    });
    match result {
        Ok((deleted, posted)) => Ok(ReviewOutcome::Posted { deleted, posted }),
        Err(e @ GitHubError::Forbidden { .. }) => Ok(ReviewOutcome::ReadOnly(e.to_string())),
        Err(e @ GitHubError::Status { status: 422, .. }) => {
            Ok(ReviewOutcome::Refused(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::fake::Fake;

    #[test]
    fn quoted_markers_are_not_ours() {
        let m = "<!-- reachdiff -->";
        let cs = vec![
            Comment {
                id: 1,
                body: format!("> {m}\n> quoted"),
                by_bot: true,
            },
            Comment {
                id: 2,
                body: format!("{m}\nours"),
                by_bot: true,
            },
        ];
        assert_eq!(find_sticky(&cs, m).map(|c| c.id), Some(2));
    }

    #[test]
    fn one_sticky_comment() {
        let f = Fake::default();
        f.0.borrow_mut().comments.push(Comment {
            id: 1,
            body: "LGTM".into(),
            by_bot: true,
        });
        let m = "<!-- reachdiff -->";
        // Nothing to say and no comment yet: none is created.
        let none = publish_sticky(&f, "o/r", 1, m, &format!("{m}\nzero"), false).unwrap();
        assert_eq!(none, Sticky::NotNeeded);
        let a = publish_sticky(&f, "o/r", 1, m, &format!("{m}\none"), true).unwrap();
        let Sticky::Created(id) = a else {
            panic!("{a:?}")
        };
        let b = publish_sticky(&f, "o/r", 1, m, &format!("{m}\ntwo"), false).unwrap();
        assert_eq!(b, Sticky::Updated(id));
        let c = publish_sticky(&f, "o/r", 1, m, &format!("{m}\ntwo"), true).unwrap();
        assert_eq!(c, Sticky::Unchanged(id));
        assert_eq!(f.state().comments.len(), 2);
    }

    fn line(file: &str, line: u64, side: LineSide, text: &str) -> ResponsibleLine {
        ResponsibleLine {
            file: file.into(),
            line,
            side,
            opened: usize::from(side == LineSide::Head),
            closed: usize::from(side == LineSide::Base),
            environment: None,
            text: text.into(),
            example: "a → b TCP".into(),
        }
    }

    #[test]
    fn review_lines_sides_cap_and_escaping() {
        let lines = vec![
            line(
                "a.yaml",
                5,
                LineSide::Head,
                "policy <b>x</b> [y](http://e) @team",
            ),
            line("a.yaml", 3, LineSide::Base, "removed"),
            line("a.yaml", 90, LineSide::Head, "far away"),
        ];
        let files = vec![
            PrFile {
                filename: "deploy/a.yaml".into(),
                patch: Some("@@ -2,3 +2,4 @@\n x\n-old\n+new\n+new2\n y".into()),
            },
            PrFile {
                filename: "deploy/b.bin".into(),
                patch: None,
            },
        ];
        let deploy = |f: &str| format!("deploy/{f}");
        let r = build_review(&lines, &files, "h", &deploy).unwrap();
        let got: Vec<(&str, u64, Side)> = r
            .comments
            .iter()
            .map(|c| (c.path.as_str(), c.line, c.side))
            .collect();
        assert_eq!(
            got,
            vec![
                ("deploy/a.yaml", 5, Side::Right),
                ("deploy/a.yaml", 3, Side::Left)
            ]
        );
        assert!(
            r.body
                .contains("1 responsible line(s) lie outside the diff")
        );
        let b = &r.comments[0].body;
        assert!(b.starts_with(REVIEW_MARKER));
        assert!(b.contains("this line opens 1 path."), "{b}");
        assert!(!b.contains("<b>"), "{b}");
        // The cap: 25 commentable lines give 20 comments and a note.
        let many: Vec<ResponsibleLine> = (1..=25)
            .map(|n| line("a.yaml", n, LineSide::Head, "x"))
            .collect();
        let patch = format!("@@ -0,0 +1,25 @@\n{}", "+x\n".repeat(25));
        let files = vec![PrFile {
            filename: "deploy/a.yaml".into(),
            patch: Some(patch),
        }];
        let r = build_review(&many, &files, "h", &deploy).unwrap();
        assert_eq!(r.comments.len(), REVIEW_COMMENT_LIMIT);
        assert!(r.body.contains("5 more line(s)"), "{}", r.body);
        assert!(build_review(&many, &[], "h", &deploy).is_none());
    }

    #[test]
    fn a_refused_review_is_an_outcome() {
        let f = Fake::default();
        f.0.borrow_mut().files = vec![PrFile {
            filename: "a.yaml".into(),
            patch: Some("@@ -0,0 +1,2 @@\n+x\n+y".into()),
        }];
        let pull = PullRef {
            repo: "o/r",
            number: 1,
            head_sha: "h",
        };
        let lines = [line("a.yaml", 1, LineSide::Head, "x")];
        let same = |f: &str| f.to_string();
        let posted = publish_review(&f, pull, &lines, &same).unwrap();
        assert_eq!(
            posted,
            ReviewOutcome::Posted {
                deleted: 0,
                posted: 1
            }
        );
        // The next run supersedes the review and deletes its comment.
        let again = publish_review(&f, pull, &lines, &same).unwrap();
        assert_eq!(
            again,
            ReviewOutcome::Posted {
                deleted: 1,
                posted: 1
            }
        );
        assert!(f.state().reviews[0].body.ends_with(SUPERSEDED));
        f.0.borrow_mut().refuse_writes = Some(422);
        let refused = publish_review(&f, pull, &lines, &same).unwrap();
        assert!(
            matches!(refused, ReviewOutcome::Refused(ref m) if m.contains("422")),
            "{refused:?}"
        );
        f.0.borrow_mut().refuse_writes = Some(403);
        let read_only = publish_review(&f, pull, &lines, &same).unwrap();
        assert!(
            matches!(read_only, ReviewOutcome::ReadOnly(_)),
            "{read_only:?}"
        );
    }
}
