//! An in-memory GitHub for unit tests of the publishers: comments,
//! reviews, review comments and pull-request files, with writes that can
//! be refused. Every method of [`GitHubApi`] is implemented (the trait has
//! no defaults), so a test always knows what the fake answered.

use super::{
    CheckRunRef, CheckRunUpdate, Comment, GitHubApi, GitHubError, NewCheckRun, NewReview, PrFile,
    PullRequest,
};
use std::cell::RefCell;

/// What the fake holds.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub comments: Vec<Comment>,
    pub reviews: Vec<Comment>,
    pub review_comments: Vec<Comment>,
    pub files: Vec<PrFile>,
    pub pull: Option<PullRequest>,
    /// Writes answer this (403 for a read-only token, 422 for a refused
    /// review), reads still work.
    pub refuse_writes: Option<u16>,
    /// `GET /user`'s login; `None`: the token may not ask (as
    /// `GITHUB_TOKEN`).
    pub login: Option<String>,
    /// The author of what the fake writes (`github-actions[bot]` unless
    /// set).
    pub writes_as: Option<String>,
    /// Check runs: (id, head, updates received).
    pub check_runs: Vec<(u64, String, Vec<CheckRunUpdate>)>,
    /// Every call, as `METHOD what`.
    pub calls: Vec<String>,
    next_id: u64,
}

impl State {
    fn author(&self) -> String {
        self.writes_as
            .clone()
            .unwrap_or_else(|| super::publish::ACTIONS_BOT.to_string())
    }
}

#[derive(Default)]
pub struct Fake(pub RefCell<State>);

impl Fake {
    pub fn state(&self) -> State {
        self.0.borrow().clone()
    }

    fn call(&self, what: String) {
        self.0.borrow_mut().calls.push(what);
    }

    fn write(&self, method: &'static str, what: String) -> Result<u64, GitHubError> {
        self.call(format!("{method} {what}"));
        let mut s = self.0.borrow_mut();
        if let Some(status) = s.refuse_writes {
            let message = "Resource not accessible by integration".to_string();
            return Err(if status == 403 {
                GitHubError::Forbidden {
                    method,
                    path: what,
                    status,
                    message,
                }
            } else {
                GitHubError::Status {
                    method,
                    path: what,
                    status,
                    message: "Unprocessable Entity".into(),
                }
            });
        }
        s.next_id += 1;
        Ok(s.next_id)
    }
}

impl GitHubApi for Fake {
    fn list_comments(&self, _: &str, _: u64) -> Result<Vec<Comment>, GitHubError> {
        self.call("GET comments".into());
        Ok(self.0.borrow().comments.clone())
    }

    fn create_comment(&self, _: &str, _: u64, body: &str) -> Result<Comment, GitHubError> {
        let id = self.write("POST", "comment".into())?;
        let c = Comment {
            id,
            body: body.into(),
            author: self.0.borrow().author(),
        };
        self.0.borrow_mut().comments.push(c.clone());
        Ok(c)
    }

    fn update_comment(&self, _: &str, id: u64, body: &str) -> Result<Comment, GitHubError> {
        self.write("PATCH", format!("comment {id}"))?;
        let mut s = self.0.borrow_mut();
        match s.comments.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                c.body = body.into();
                Ok(c.clone())
            }
            None => Err(GitHubError::Forbidden {
                method: "PATCH",
                path: format!("comment {id}"),
                status: 404,
                message: "Not Found".into(),
            }),
        }
    }

    fn list_pr_files(&self, _: &str, _: u64) -> Result<Vec<PrFile>, GitHubError> {
        self.call("GET files".into());
        Ok(self.0.borrow().files.clone())
    }

    fn pull_request(&self, _: &str, number: u64) -> Result<PullRequest, GitHubError> {
        self.call(format!("GET pull {number}"));
        self.0
            .borrow()
            .pull
            .clone()
            .ok_or_else(|| GitHubError::Status {
                method: "GET",
                path: format!("pull {number}"),
                status: 404,
                message: "Not Found".into(),
            })
    }

    fn list_review_comments(&self, _: &str, _: u64) -> Result<Vec<Comment>, GitHubError> {
        self.call("GET review comments".into());
        Ok(self.0.borrow().review_comments.clone())
    }

    fn list_reviews(&self, _: &str, _: u64) -> Result<Vec<Comment>, GitHubError> {
        self.call("GET reviews".into());
        Ok(self.0.borrow().reviews.clone())
    }

    fn update_review(&self, _: &str, _: u64, id: u64, body: &str) -> Result<(), GitHubError> {
        self.write("PUT", format!("review {id}"))?;
        if let Some(r) = self.0.borrow_mut().reviews.iter_mut().find(|r| r.id == id) {
            r.body = body.into();
        }
        Ok(())
    }

    fn delete_review_comment(&self, _: &str, id: u64) -> Result<(), GitHubError> {
        self.write("DELETE", format!("review comment {id}"))?;
        self.0.borrow_mut().review_comments.retain(|c| c.id != id);
        Ok(())
    }

    fn create_review(&self, _: &str, _: u64, review: &NewReview) -> Result<u64, GitHubError> {
        let id = self.write("POST", "review".into())?;
        let mut s = self.0.borrow_mut();
        let author = s.author();
        s.reviews.push(Comment {
            id,
            body: review.body.clone(),
            author: author.clone(),
        });
        for c in &review.comments {
            s.next_id += 1;
            let cid = s.next_id;
            s.review_comments.push(Comment {
                id: cid,
                body: c.body.clone(),
                author: author.clone(),
            });
        }
        Ok(id)
    }

    fn authenticated_login(&self) -> Result<Option<String>, GitHubError> {
        self.call("GET user".into());
        Ok(self.0.borrow().login.clone())
    }

    fn create_check_run(&self, _: &str, run: &NewCheckRun) -> Result<CheckRunRef, GitHubError> {
        let id = self.write("POST", "check run".into())?;
        self.0
            .borrow_mut()
            .check_runs
            .push((id, run.head_sha.clone(), Vec::new()));
        Ok(CheckRunRef { id, html_url: None })
    }

    fn update_check_run(
        &self,
        _: &str,
        id: u64,
        update: &CheckRunUpdate,
    ) -> Result<(), GitHubError> {
        self.write("PATCH", format!("check run {id}"))?;
        match self
            .0
            .borrow_mut()
            .check_runs
            .iter_mut()
            .find(|r| r.0 == id)
        {
            Some(r) => {
                r.2.push(update.clone());
                Ok(())
            }
            None => Err(GitHubError::Status {
                method: "PATCH",
                path: format!("check run {id}"),
                status: 404,
                message: "Not Found".into(),
            }),
        }
    }
}
