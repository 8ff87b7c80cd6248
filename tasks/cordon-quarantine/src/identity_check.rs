//! Is the user that bears the name now the user the incident is about?
//!
//! Quarantine acts on a user name, and a name can change hands: the user of the event may
//! have been deleted and another created under the same name while a human took an hour
//! to approve. IAM gives every user a unique id (`AIDA…`) that is never reused, so the
//! check compares ids: the one the event carries for the target (`responseElements.user
//! .userId` of a `CreateUser`), else the one enrich read when the incident was assessed.
//! A mismatch is recorded on the incident's timeline and refused; nothing is changed.
use chrono::{DateTime, Utc};
use cordon_aws::incidents::{IncidentStore, TimelineEntry};
use cordon_core::TaskError;
use cordon_core::model::{Principal, UserFacts};
use tracing::warn;

/// The timeline step of a refused containment.
pub const REFUSED_STEP: &str = "QuarantineRefused";

/// `Ok` when `current` (the user bearing the name now) is the user of the event, or when
/// nothing says which user that was; otherwise the mismatch is recorded and refused with
/// `Cordon.PrincipalNotFound` (the event's user is gone).
pub(crate) async fn same_user(
    incident_id: &str,
    principal: &Principal,
    enriched: Option<&UserFacts>,
    current: &UserFacts,
    at: DateTime<Utc>,
    store: &dyn IncidentStore,
) -> Result<(), TaskError> {
    let expected = principal.unique_id().map(String::from).or_else(|| {
        enriched
            .map(|f| f.user_id.clone())
            .filter(|id| !id.is_empty())
    });
    let Some(expected) = expected else {
        warn!(
            incident_id,
            step = "quarantine",
            user = %current.user_name,
            "neither the event nor enrich identified the user by id; containing the user that bears the name"
        );
        return Ok(());
    };
    if expected == current.user_id {
        return Ok(());
    }
    let message = format!(
        "user {} is not the user of this incident: its unique id is now {}, the incident's \
         was {expected} (the user was deleted and re-created under the same name); nothing \
         was done. Investigate the new user separately.",
        current.user_name, current.user_id
    );
    store
        .append(
            incident_id,
            &TimelineEntry {
                at,
                step: REFUSED_STEP.into(),
                message: message.clone(),
                details: Some(serde_json::json!({
                    "identityMismatch": {
                        "userName": current.user_name,
                        "expectedUserId": expected,
                        "foundUserId": current.user_id,
                    }
                })),
            },
        )
        .await?;
    warn!(
        incident_id,
        step = "quarantine",
        outcome = "identity_mismatch",
        user = %current.user_name,
        expected_user_id = %expected,
        found_user_id = %current.user_id,
    );
    Err(TaskError::PrincipalNotFound(message))
}
