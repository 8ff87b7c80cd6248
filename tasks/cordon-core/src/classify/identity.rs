//! Who made a call, and what a valid IAM user name looks like.
use crate::error::TaskError;
use crate::event::{CloudTrailRecord, excerpt};
use crate::model::{Actor, PrincipalKind};

/// The user name CloudTrail writes for failed sign-ins to users that do not exist.
pub const HIDDEN_USER_NAME: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Checks an IAM user name: ASCII `[A-Za-z0-9+=,.@_-]{1,64}`.
pub fn validate_iam_user_name(name: &str, field: &str) -> Result<(), TaskError> {
    let len = name.chars().count();
    if len == 0 {
        return Err(TaskError::invalid(field, "is empty"));
    }
    if len > 64 {
        return Err(TaskError::invalid(
            field,
            format!(
                "is {len} characters long, but IAM user names are at most 64; \
                 IAM cannot produce this record, so it is forged or corrupted"
            ),
        ));
    }
    if let Some((pos, c)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        let what = if c.is_ascii() {
            "a character IAM does not allow"
        } else {
            "a non-ASCII character (possible homoglyph)"
        };
        return Err(TaskError::invalid(
            field,
            format!(
                "contains {what} U+{:04X} at position {pos} in \"{}\"; IAM user names match \
                 [A-Za-z0-9+=,.@_-]{{1,64}}, so the record is forged or corrupted",
                c as u32,
                excerpt(name)
            ),
        ));
    }
    Ok(())
}

/// [`validate_iam_user_name`] as a yes/no, for names that are evidence rather than input.
pub(super) fn is_valid_iam_name(name: &str) -> bool {
    validate_iam_user_name(name, "").is_ok()
}

/// Builds the actor from `userIdentity`.
pub fn actor_from_record(rec: &CloudTrailRecord) -> Actor {
    let ui = &rec.user_identity;
    let issuer = ui
        .session_context
        .as_ref()
        .and_then(|s| s.session_issuer.as_ref());
    let name = match ui.kind {
        PrincipalKind::Root => None,
        PrincipalKind::AssumedRole => issuer
            .and_then(|i| i.user_name.clone())
            .or_else(|| role_name_from_session_arn(ui.arn.as_deref())),
        _ => ui.user_name.clone().filter(|n| n != HIDDEN_USER_NAME),
    };
    Actor {
        kind: ui.kind,
        arn: ui.arn.clone(),
        name,
        principal_id: ui.principal_id.clone(),
        account_id: ui.account_id.clone(),
        access_key_id: ui.access_key_id.clone(),
        session_issuer_arn: issuer.and_then(|i| i.arn.clone()),
        mfa_authenticated: ui
            .session_context
            .as_ref()
            .and_then(|s| s.mfa_authenticated),
    }
}

/// `arn:aws:sts::123:assumed-role/NAME/SESSION` → `NAME`.
fn role_name_from_session_arn(arn: Option<&str>) -> Option<String> {
    let rest = arn?.split_once(":assumed-role/")?.1;
    rest.split('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_name_validation() {
        assert!(validate_iam_user_name("ops+bot=ci,eu.deploy@example.com_2-x", "f").is_ok());
        assert!(validate_iam_user_name(&"a".repeat(64), "f").is_ok());
        let e = validate_iam_user_name(&"a".repeat(65), "f").unwrap_err();
        assert!(e.to_string().contains("65 characters"), "{e}");
        let e = validate_iam_user_name("\u{430}dministrator", "f").unwrap_err();
        assert!(e.to_string().contains("non-ASCII"), "{e}");
        assert!(validate_iam_user_name("a b", "f").is_err());
        assert!(validate_iam_user_name("", "f").is_err());
    }
}
