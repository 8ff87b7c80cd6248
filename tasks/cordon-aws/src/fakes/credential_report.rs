//! The credential report fake: a script of what `GenerateCredentialReport` and
//! `GetCredentialReport` answer, one answer per call (the last one repeats).
use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use cordon_core::TaskError;

use super::calls::{Calls, call_log_api, lock};
use crate::credential_report::{CredentialReports, Fetched, Generation};

#[derive(Debug)]
pub struct FakeCredentialReports {
    generations: Mutex<VecDeque<Result<Generation, TaskError>>>,
    fetches: Mutex<VecDeque<Result<Fetched, TaskError>>>,
    calls: Mutex<Calls>,
}

impl FakeCredentialReports {
    /// A report that is ready at once.
    pub fn ready(csv: &str) -> Self {
        Self::scripted(
            vec![Ok(Generation::Complete)],
            vec![Ok(Fetched::Report {
                csv: csv.to_string(),
                generated_at: None,
            })],
        )
    }

    /// Answers in order; the last answer of each repeats.
    pub fn scripted(
        generations: Vec<Result<Generation, TaskError>>,
        fetches: Vec<Result<Fetched, TaskError>>,
    ) -> Self {
        Self {
            generations: Mutex::new(generations.into()),
            fetches: Mutex::new(fetches.into()),
            calls: Mutex::new(Calls::default()),
        }
    }

    call_log_api!();
}

fn next<T: Clone>(queue: &Mutex<VecDeque<T>>) -> Option<T> {
    let mut q = lock(queue);
    if q.len() > 1 {
        q.pop_front()
    } else {
        q.front().cloned()
    }
}

#[async_trait]
impl CredentialReports for FakeCredentialReports {
    async fn generate(&self) -> Result<Generation, TaskError> {
        lock(&self.calls).enter("iam:GenerateCredentialReport")?;
        next(&self.generations).unwrap_or(Ok(Generation::Complete))
    }

    async fn fetch(&self) -> Result<Fetched, TaskError> {
        lock(&self.calls).enter("iam:GetCredentialReport")?;
        next(&self.fetches).unwrap_or(Ok(Fetched::NotPresent))
    }
}
