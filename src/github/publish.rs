//! Publishing a review on GitHub, for the Action and the App alike: the
//! one sticky comment, the review with inline comments (superseding the
//! previous one), and the lines it comments on. Every function returns
//! what happened; nothing here prints. Bodies are built from raw texts
//! through [`crate::report::escape`].

use super::{
    CheckAnnotation, CheckOutput, CheckRunUpdate, Comment, GitHubApi, GitHubError, NewReview,
    NewReviewComment, PrFile, Side,
};
use crate::report::escape::md;
use crate::review::lines::{Annotation, Level, LineSide, ResponsibleLine};
use crate::words::plural;
use std::cell::OnceCell;

/// The hidden marker of reachdiff's review comments and reviews.
pub const REVIEW_MARKER: &str = "<!-- reachdiff-review -->";

/// At most this many inline comments per review; the rest are summarised
/// in the review body.
pub const REVIEW_COMMENT_LIMIT: usize = 20;

/// The body a superseded reachdiff review is given.
pub const SUPERSEDED: &str = "_Superseded by a newer reachdiff run; its comments were removed._";

/// Who reachdiff writes as: only comments by this login are ever taken
/// for its own (another bot, or a person pasting the marker, keeps theirs).
pub enum Bot {
    /// Known: the App's `{slug}[bot]`.
    Login(String),
    /// The token's own user, asked of GitHub once and only when a comment
    /// carrying a marker has to be told apart (`GET /user`); an
    /// integration token that may not ask is `github-actions[bot]`, the
    /// author of what `GITHUB_TOKEN` writes.
    TokenOwner(OnceCell<String>),
}

/// The login comments written with `GITHUB_TOKEN` carry.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

impl Bot {
    /// The token's own user, found out when first needed.
    pub fn token_owner() -> Bot {
        Bot::TokenOwner(OnceCell::new())
    }

    fn login(&self, api: &dyn GitHubApi) -> Result<&str, GitHubError> {
        match self {
            Bot::Login(l) => Ok(l),
            Bot::TokenOwner(cell) => {
                if cell.get().is_none() {
                    let login = api
                        .authenticated_login()?
                        .unwrap_or_else(|| ACTIONS_BOT.to_string());
                    let _ = cell.set(login);
                }
                Ok(cell.get().map_or(ACTIONS_BOT, String::as_str))
            }
        }
    }
}

/// Whether `c` starts with `marker` (a reply quoting it starts with `>`).
fn marked(c: &Comment, marker: &str) -> bool {
    c.body.trim_start().starts_with(marker)
}

/// reachdiff's own comments among `comments`: carrying `marker` and
/// written by `bot` (asked of GitHub only when a marked comment exists).
fn ours<'a>(
    api: &dyn GitHubApi,
    bot: &Bot,
    comments: &'a [Comment],
    marker: &str,
) -> Result<Vec<&'a Comment>, GitHubError> {
    let marked: Vec<&Comment> = comments.iter().filter(|c| marked(c, marker)).collect();
    if marked.is_empty() {
        return Ok(marked);
    }
    let login = bot.login(api)?;
    Ok(marked
        .into_iter()
        .filter(|c| c.author.eq_ignore_ascii_case(login))
        .collect())
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
    bot: &Bot,
    pull: PullRef<'_>,
    marker: &str,
    body: &str,
    create: bool,
) -> Result<Sticky, GitHubError> {
    let (repo, number) = (pull.repo, pull.number);
    let comments = api.list_comments(repo, number)?;
    match ours(api, bot, &comments, marker)?.first() {
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

/// The review comment on one line; text from the manifests passes the one
/// strict escaper. On a line the pull request removes (the left side of
/// its diff), what the line does is what removing it does.
fn comment_body(l: &ResponsibleLine, removed: bool) -> String {
    let env = l
        .environment
        .as_deref()
        .map(|e| format!(" in environment {}", md(e)))
        .unwrap_or_default();
    let subject = if removed {
        "removing this line"
    } else {
        "this line"
    };
    format!(
        "{REVIEW_MARKER}\n**reachdiff**: {subject} {}{env}.\n\n{}; for example {}",
        l.what().join(" and "),
        md(&l.text),
        md(&l.example)
    )
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
    // A line outside the diff cannot carry a comment: the comment goes on
    // the nearest line of the diff in the same object (else the same
    // file), on the same side, and says where the cause is.
    let mut inside: Vec<NewReviewComment> = Vec::new();
    let (mut moved, mut outside) = (0, 0);
    for l in lines {
        let p = path(&l.file);
        let s = side(l.side);
        let Some(c) = commentable.get(p.as_str()) else {
            outside += 1;
            continue;
        };
        let (line, body) = if c.contains(s, l.line) {
            let removed = s == Side::Left && c.removed.contains(&l.line);
            (l.line, comment_body(l, removed))
        } else if let Some(n) = nearest_line(c, s, l.line, l.object) {
            moved += 1;
            // A line outside the diff was not removed by it.
            let body = format!(
                "{}\n\n(The cause is line {} of this file{}, outside this pull request's diff; this is the nearest changed line{}.)",
                comment_body(l, false),
                l.line,
                if l.side == LineSide::Base {
                    " in the base"
                } else {
                    ""
                },
                match l.object {
                    Some((lo, hi)) if (lo..=hi).contains(&n) => " of the same object",
                    _ => " of the same file",
                }
            );
            (n, body)
        } else {
            outside += 1;
            continue;
        };
        inside.push(NewReviewComment {
            path: p,
            line,
            side: s,
            body,
        });
    }
    if inside.is_empty() {
        return None;
    }
    let total = inside.len();
    let comments: Vec<NewReviewComment> = inside.into_iter().take(REVIEW_COMMENT_LIMIT).collect();
    let mut body = format!(
        "{REVIEW_MARKER}\n**reachdiff**: {} on the lines of this pull request that change reachability.",
        plural(comments.len(), "comment", "comments")
    );
    let more = total - comments.len();
    if moved > 0 {
        body.push_str(&format!(
            "\n\n{moved} responsible line(s) lie outside the diff; their comments sit on the nearest changed line of the same object or file and say where the cause is."
        ));
    }
    if more > 0 {
        body.push_str(&format!(
            "\n\n{more} more line(s) in the diff change reachability (at most {REVIEW_COMMENT_LIMIT} are commented); the sticky comment and the job summary have the full report."
        ));
    }
    if outside > 0 {
        body.push_str(&format!(
            "\n\n{outside} responsible line(s) lie in files without a diff in this pull request and are not commented."
        ));
    }
    Some(NewReview {
        commit_id: head_sha.to_string(),
        body,
        comments,
    })
}

/// The line of the diff nearest to `line` on `side`: inside `object` if
/// one is there, else anywhere in the file (None: the file has no line on
/// that side).
fn nearest_line(
    c: &super::Commentable,
    side: Side,
    line: u64,
    object: Option<(u64, u64)>,
) -> Option<u64> {
    let set = match side {
        Side::Left => &c.left,
        Side::Right => &c.right,
    };
    let near = |it: &mut dyn Iterator<Item = u64>| it.min_by_key(|&x| (x.abs_diff(line), x));
    object
        .and_then(|(lo, hi)| near(&mut set.range(lo..=hi).copied()))
        .or_else(|| near(&mut set.iter().copied()))
}

/// Deletes the previous run's review comments (found by the marker) and
/// marks its reviews superseded (a submitted review cannot be deleted),
/// then posts the new review. Returns (deleted, posted).
pub fn replace_review(
    api: &dyn GitHubApi,
    bot: &Bot,
    pull: PullRef<'_>,
    review: Option<&NewReview>,
) -> Result<(usize, usize), GitHubError> {
    let (repo, number) = (pull.repo, pull.number);
    let superseded = format!("{REVIEW_MARKER}\n{SUPERSEDED}");
    let reviews = api.list_reviews(repo, number)?;
    for r in ours(api, bot, &reviews, REVIEW_MARKER)? {
        if r.body != superseded {
            api.update_review(repo, number, r.id, &superseded)?;
        }
    }
    let old = api.list_review_comments(repo, number)?;
    let mut deleted = 0;
    for c in ours(api, bot, &old, REVIEW_MARKER)? {
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
    bot: &Bot,
    pull: PullRef<'_>,
    lines: &[ResponsibleLine],
    path: &dyn Fn(&str) -> String,
) -> Result<ReviewOutcome, GitHubError> {
    let result = api.list_pr_files(pull.repo, pull.number).and_then(|files| {
        let review = build_review(lines, &files, pull.head_sha, path);
        replace_review(api, bot, pull, review.as_ref())
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

/// GitHub's limits on a check run's output.
pub const MAX_OUTPUT_CHARS: usize = 65_535;
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

/// Cuts `s` to GitHub's output limit, saying so.
pub fn fit(s: &str, what: &str) -> String {
    if s.chars().count() <= MAX_OUTPUT_CHARS {
        return s.to_string();
    }
    let note = format!("\n\n… {what} cut at GitHub's limit of {MAX_OUTPUT_CHARS} characters.");
    let keep = MAX_OUTPUT_CHARS - note.chars().count();
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(&note);
    out
}

/// A check-run annotation (GitHub's fields and limits); only annotations
/// on a line of a file can be sent.
fn check_annotation(a: &Annotation) -> Option<CheckAnnotation> {
    Some(CheckAnnotation {
        path: a.file.clone()?,
        line: a.line?,
        level: match a.level {
            Level::Error => "failure",
            Level::Warning => "warning",
        },
        title: a.title.chars().take(255).collect(),
        message: a.message.chars().take(60_000).collect(),
    })
}

/// Completes check run `id`: the output cut to GitHub's limits, the
/// annotations in batches of 50 (GitHub's limit per request), the last
/// batch with the conclusion.
pub fn complete_check_run(
    api: &dyn GitHubApi,
    repo: &str,
    id: u64,
    conclusion: &'static str,
    output: &CheckOutput,
    annotations: &[Annotation],
) -> Result<(), GitHubError> {
    let output = CheckOutput {
        title: output.title.chars().take(250).collect(),
        summary: fit(&output.summary, "The summary was"),
        text: output.text.as_deref().map(|t| fit(t, "The report was")),
    };
    let annotations: Vec<CheckAnnotation> =
        annotations.iter().filter_map(check_annotation).collect();
    let mut batches: Vec<&[CheckAnnotation]> =
        annotations.chunks(ANNOTATIONS_PER_REQUEST).collect();
    let last = batches.pop().unwrap_or(&[]);
    for batch in batches {
        api.update_check_run(
            repo,
            id,
            &CheckRunUpdate {
                output: output.clone(),
                annotations: batch.to_vec(),
                conclusion: None,
            },
        )?;
    }
    api.update_check_run(
        repo,
        id,
        &CheckRunUpdate {
            output,
            annotations: last.to_vec(),
            conclusion: Some(conclusion),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::fake::Fake;

    fn pull() -> PullRef<'static> {
        PullRef {
            repo: "o/r",
            number: 1,
            head_sha: "h",
        }
    }

    fn comment(id: u64, body: &str, author: &str) -> Comment {
        Comment {
            id,
            body: body.into(),
            author: author.into(),
        }
    }

    #[test]
    fn quoted_markers_and_other_bots_are_not_ours() {
        let m = "<!-- reachdiff -->";
        let f = Fake::default();
        let cs = vec![
            comment(1, &format!("> {m}\n> quoted"), ACTIONS_BOT),
            comment(2, &format!("{m}\nanother bot's"), "other-app[bot]"),
            comment(3, &format!("{m}\na person's"), "mallory"),
            comment(4, &format!("{m}\nours"), ACTIONS_BOT),
        ];
        let found = ours(&f, &Bot::token_owner(), &cs, m).unwrap();
        assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [4]);
        // The token's own login, asked once: a personal token's user.
        f.0.borrow_mut().login = Some("mallory".into());
        let bot = Bot::token_owner();
        assert_eq!(ours(&f, &bot, &cs, m).unwrap()[0].id, 3);
        assert_eq!(ours(&f, &bot, &cs, m).unwrap()[0].id, 3);
        let asked = f.state().calls.iter().filter(|c| *c == "GET user").count();
        assert_eq!(asked, 2, "once per Bot, and not for unmarked comments");
        let app = Bot::Login("other-app[bot]".into());
        assert_eq!(ours(&f, &app, &cs, m).unwrap()[0].id, 2);
        // No marked comment: nobody is asked who we are.
        let before = f.state().calls.len();
        assert!(
            ours(&f, &Bot::token_owner(), &cs[..0], m)
                .unwrap()
                .is_empty()
        );
        assert_eq!(f.state().calls.len(), before);
    }

    #[test]
    fn one_sticky_comment() {
        let f = Fake::default();
        let m = "<!-- reachdiff -->";
        f.0.borrow_mut().comments = vec![
            comment(1, "LGTM", ACTIONS_BOT),
            // Another App's comment that starts with our marker is left alone.
            comment(2, &format!("{m}\nforged"), "evil[bot]"),
        ];
        let bot = Bot::token_owner();
        // Nothing to say and no comment yet: none is created.
        let none = publish_sticky(&f, &bot, pull(), m, &format!("{m}\nzero"), false).unwrap();
        assert_eq!(none, Sticky::NotNeeded);
        let a = publish_sticky(&f, &bot, pull(), m, &format!("{m}\none"), true).unwrap();
        let Sticky::Created(id) = a else {
            panic!("{a:?}")
        };
        let b = publish_sticky(&f, &bot, pull(), m, &format!("{m}\ntwo"), false).unwrap();
        assert_eq!(b, Sticky::Updated(id));
        let c = publish_sticky(&f, &bot, pull(), m, &format!("{m}\ntwo"), true).unwrap();
        assert_eq!(c, Sticky::Unchanged(id));
        let s = f.state();
        assert_eq!(s.comments.len(), 3);
        assert_eq!(s.comments[1].body, format!("{m}\nforged"));
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
            object: None,
            head_line: None,
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
            line(
                "c.yaml",
                1,
                LineSide::Head,
                "a file the pull request leaves",
            ),
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
                ("deploy/a.yaml", 3, Side::Left),
                ("deploy/a.yaml", 5, Side::Right)
            ]
        );
        assert!(r.body.contains("1 responsible line(s) lie outside the diff; their comments sit on the nearest changed line"), "{}", r.body);
        assert!(
            r.body
                .contains("1 responsible line(s) lie in files without a diff"),
            "{}",
            r.body
        );
        assert!(
            r.comments[2].body.ends_with("(The cause is line 90 of this file, outside this pull request's diff; this is the nearest changed line of the same file.)"),
            "{}",
            r.comments[2].body
        );
        // Inside the object first, even when another line of the file is
        // nearer; a base line moves along the base side.
        let mut in_object = line("a.yaml", 10, LineSide::Head, "x");
        in_object.object = Some((1, 3));
        let mut base = line("a.yaml", 9, LineSide::Base, "y");
        base.object = Some((8, 12));
        let moved = build_review(&[in_object, base], &files, "h", &deploy).unwrap();
        let got: Vec<(u64, Side)> = moved.comments.iter().map(|c| (c.line, c.side)).collect();
        assert_eq!(got, vec![(3, Side::Right), (4, Side::Left)]);
        assert!(
            moved.comments[0]
                .body
                .contains("nearest changed line of the same object")
        );
        assert!(
            moved.comments[1]
                .body
                .contains("line 9 of this file in the base")
        );
        assert!(moved.comments[1].body.contains("of the same file"));
        let b = &r.comments[0].body;
        assert!(b.starts_with(REVIEW_MARKER));
        assert!(b.contains("**reachdiff**: this line opens 1 path."), "{b}");
        // Line 3 of the base is removed by the patch: its comment says what
        // removing it does.
        let removed = &r.comments[1].body;
        assert!(
            removed.contains("**reachdiff**: removing this line closes 1 path."),
            "{removed}"
        );
        // The one strict escaper: no HTML, no link, no mention.
        assert!(
            b.contains("policy &lt;b&gt;x&lt;/b&gt; \\[y\\](http\\://e) @\u{200d}team"),
            "{b}"
        );
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
        let lines = [line("a.yaml", 1, LineSide::Head, "x")];
        let same = |f: &str| f.to_string();
        let bot = Bot::token_owner();
        let posted = publish_review(&f, &bot, pull(), &lines, &same).unwrap();
        assert_eq!(
            posted,
            ReviewOutcome::Posted {
                deleted: 0,
                posted: 1
            }
        );
        // Another bot's review comment with our marker stays.
        f.0.borrow_mut().review_comments.push(comment(
            99,
            &format!("{REVIEW_MARKER}\nnot ours"),
            "other[bot]",
        ));
        // The next run supersedes the review and deletes its comment.
        let again = publish_review(&f, &bot, pull(), &lines, &same).unwrap();
        assert_eq!(
            again,
            ReviewOutcome::Posted {
                deleted: 1,
                posted: 1
            }
        );
        assert!(f.state().reviews[0].body.ends_with(SUPERSEDED));
        assert!(f.state().review_comments.iter().any(|c| c.id == 99));
        f.0.borrow_mut().refuse_writes = Some(422);
        let refused = publish_review(&f, &bot, pull(), &lines, &same).unwrap();
        assert!(
            matches!(refused, ReviewOutcome::Refused(ref m) if m.contains("422")),
            "{refused:?}"
        );
        f.0.borrow_mut().refuse_writes = Some(403);
        let read_only = publish_review(&f, &bot, pull(), &lines, &same).unwrap();
        assert!(
            matches!(read_only, ReviewOutcome::ReadOnly(_)),
            "{read_only:?}"
        );
    }

    #[test]
    fn check_runs_complete_in_batches_within_limits() {
        let f = Fake::default();
        let run = f
            .create_check_run(
                "o/r",
                &super::super::NewCheckRun {
                    name: "reachdiff".into(),
                    head_sha: "h".into(),
                    external_id: "1".into(),
                    output: CheckOutput {
                        title: "Computing".into(),
                        summary: "…".into(),
                        text: None,
                    },
                },
            )
            .unwrap();
        let note = |line| Annotation {
            level: Level::Warning,
            file: Some("a.yaml".into()),
            line: Some(line),
            title: "t".repeat(300),
            message: "m".into(),
        };
        let mut all: Vec<Annotation> = (1..=120).map(note).collect();
        // A gate's annotation has no line: not sent with the check run.
        all.push(Annotation {
            file: None,
            line: None,
            ..note(0)
        });
        let output = CheckOutput {
            title: "x".repeat(300),
            summary: "s".repeat(70_000),
            text: Some("report".into()),
        };
        complete_check_run(&f, "o/r", run.id, "success", &output, &all).unwrap();
        let updates = f.state().check_runs[0].2.clone();
        let sizes: Vec<usize> = updates.iter().map(|u| u.annotations.len()).collect();
        assert_eq!(sizes, [50, 50, 20]);
        let conclusions: Vec<Option<&str>> = updates.iter().map(|u| u.conclusion).collect();
        assert_eq!(conclusions, [None, None, Some("success")]);
        let o = &updates[2].output;
        assert_eq!(o.title.chars().count(), 250);
        assert_eq!(o.summary.chars().count(), MAX_OUTPUT_CHARS);
        assert!(o.summary.ends_with("characters."));
        assert_eq!(updates[0].annotations[0].title.chars().count(), 255);
    }
}
