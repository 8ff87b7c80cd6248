//! The home account: Cordon acts only on events of the account it protects.
//!
//! EventBridge names the account of every event in the envelope's `account`, and a
//! CloudTrail record names the account that received the call in `recipientAccountId`.
//! With an organisation-wide bus policy (or a forwarded or forged event) either can be
//! another account, whose `alice` is not this account's `alice`. The template's rules pin
//! `account` to the stack's account; this check is the classifier's half of the same rule,
//! and also catches a record whose `recipientAccountId` disagrees with its envelope.
//! Such an event is rejected (`Cordon.InvalidEvent`) and recorded as `REJECTED` with the
//! reason, never acted on and never dropped silently.
//!
//! `userIdentity.accountId` is deliberately not checked: a role from another account may
//! legitimately act in this one, and that call is still this account's event.
use crate::error::TaskError;
use crate::event::{CloudTrailRecord, Envelope, excerpt};
use crate::model::AccountId;

/// Where Cordon runs: the account it protects, and the CloudFormation stack whose name its
/// own resources carry (rules `<stack>-…`, the state machine `<stack>-incidents`, the
/// quarantine policy `<stack>-AutomatedSecurityQuarantine`), so that an attack on Cordon
/// itself is recognised. Without a stack name those attacks are not recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub account: AccountId,
    /// `CORDON_STACK_NAME` (`!Ref AWS::StackName`).
    pub stack_name: Option<String>,
}

impl Home {
    pub fn new(account: AccountId) -> Home {
        Home {
            account,
            stack_name: None,
        }
    }

    /// The stack whose resources are Cordon's own (an empty name is none).
    pub fn with_stack(mut self, stack_name: impl Into<String>) -> Home {
        let name = stack_name.into();
        self.stack_name = (!name.trim().is_empty()).then(|| name.trim().to_string());
        self
    }
}

/// The fields whose account is checked. A rejection naming one of them is a rejection for
/// the account, not for a malformed record ([`is_other_account`]).
pub const ACCOUNT_FIELDS: [&str; 2] = [ENVELOPE_ACCOUNT, RECIPIENT_ACCOUNT];

const ENVELOPE_ACCOUNT: &str = "account";
const RECIPIENT_ACCOUNT: &str = "detail.recipientAccountId";

/// The envelope names the home account. EventBridge always sets `account`, so an event
/// without one cannot be placed and is rejected too.
pub(super) fn check_envelope(env: &Envelope, home: &AccountId) -> Result<(), TaskError> {
    match env.account.as_deref() {
        Some(account) => same_account(ENVELOPE_ACCOUNT, account, home),
        None => Err(TaskError::invalid(
            ENVELOPE_ACCOUNT,
            format!(
                "is missing: EventBridge names the account of every event, and Cordon acts \
                 only on events of its home account {home}"
            ),
        )),
    }
}

/// The CloudTrail record, when it names the account that received the call, names the
/// home account.
pub(super) fn check_record(rec: &CloudTrailRecord, home: &AccountId) -> Result<(), TaskError> {
    match rec.recipient_account_id.as_deref() {
        Some(account) => same_account(RECIPIENT_ACCOUNT, account, home),
        None => Ok(()),
    }
}

fn same_account(field: &str, account: &str, home: &AccountId) -> Result<(), TaskError> {
    if home == account {
        return Ok(());
    }
    Err(TaskError::invalid(
        field,
        format!(
            "is {}, not this stack's home account {home}: Cordon acts only on events of its \
             own account (an organisation-wide event bus, a forwarded or a forged event \
             reached it); the event is recorded as rejected and nothing is contained",
            excerpt(account)
        ),
    ))
}

/// `error` rejected an event because of its account (another account, or none), not
/// because the record is malformed.
pub fn is_other_account(error: &TaskError) -> bool {
    matches!(error, TaskError::InvalidEvent { field, .. } if ACCOUNT_FIELDS.contains(&field.as_str()))
}
