//! Cordon's own resources, recognised by the stack's name (`CORDON_STACK_NAME`), exactly
//! as `infra/template.yaml` names them and its tamper patterns match them:
//!
//! - the quarantine policy `<stack>-AutomatedSecurityQuarantine` and the force-MFA policy
//!   `<stack>-CordonForceMFA` (customer-managed, in the home account), and AWS's
//!   `AWSDenyAll`, which containment may attach as well;
//! - the inline `CordonRevokeOlderSessions` policy quarantine puts on a role;
//! - the EventBridge rules (CloudFormation names them `<stack>-<LogicalId>-<suffix>`);
//! - the state machine `<stack>-incidents` and its executions.
use super::home::Home;
use crate::policy_document::{aws_managed_policy_name, customer_policy};
use crate::quarantine::{
    FORCE_MFA_POLICY_NAME, QUARANTINE_POLICY_NAME, REVOKE_SESSIONS_POLICY_NAME,
};

/// The name the template gives the incident state machine after the stack's.
pub const STATE_MACHINE_SUFFIX: &str = "incidents";

/// Which of Cordon's policies an ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnPolicy {
    Quarantine,
    ForceMfa,
    /// AWS's `AWSDenyAll`, attached by containment besides Cordon's own.
    AwsDenyAll,
}

impl OwnPolicy {
    pub(super) fn describe(self) -> &'static str {
        match self {
            OwnPolicy::Quarantine => "Cordon's quarantine policy",
            OwnPolicy::ForceMfa => "Cordon's force-MFA policy",
            OwnPolicy::AwsDenyAll => "the AWSDenyAll policy containment attaches",
        }
    }
}

/// The policy `arn` names, if it is one of Cordon's (or `AWSDenyAll`).
pub(super) fn own_policy(arn: &str, home: &Home) -> Option<OwnPolicy> {
    if aws_managed_policy_name(arn) == Some("AWSDenyAll") {
        return Some(OwnPolicy::AwsDenyAll);
    }
    let stack = home.stack_name.as_deref()?;
    let (account, name) = customer_policy(arn)?;
    if account != home.account.as_str() {
        return None;
    }
    if name == format!("{stack}-{QUARANTINE_POLICY_NAME}") {
        Some(OwnPolicy::Quarantine)
    } else if name == format!("{stack}-{FORCE_MFA_POLICY_NAME}") {
        Some(OwnPolicy::ForceMfa)
    } else {
        None
    }
}

/// `name` is the inline policy Cordon puts on a role to revoke its older sessions.
pub(super) fn is_revocation_policy(name: &str) -> bool {
    name == REVOKE_SESSIONS_POLICY_NAME
}

/// `name` (a rule name, or a rule ARN `arn:…:rule/[bus/]name`) is one of the stack's rules.
pub(super) fn is_own_rule(name: &str, home: &Home) -> bool {
    let Some(stack) = home.stack_name.as_deref() else {
        return false;
    };
    let name = match name.strip_prefix("arn:") {
        Some(_) => name.rsplit('/').next().unwrap_or(name),
        None => name,
    };
    name.starts_with(&format!("{stack}-"))
}

/// `arn` is the stack's state machine (`…:stateMachine:<stack>-incidents`) or one of its
/// executions (`…:execution:<stack>-incidents:<name>`), in the home account.
pub(super) fn is_own_workflow(arn: &str, home: &Home) -> bool {
    let Some(stack) = home.stack_name.as_deref() else {
        return false;
    };
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    let machine = format!("{stack}-{STATE_MACHINE_SUFFIX}");
    matches!(
        parts.as_slice(),
        ["arn", _, "states", _, account, "stateMachine", name]
            if *account == home.account.as_str() && *name == machine
    ) || matches!(
        parts.as_slice(),
        ["arn", _, "states", _, account, "execution", name, _]
            if *account == home.account.as_str() && *name == machine
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountId;

    fn home() -> Home {
        Home::new(AccountId::parse("111122223333").expect("account")).with_stack("cordon")
    }

    #[test]
    fn policies() {
        let h = home();
        assert_eq!(
            own_policy(
                "arn:aws:iam::111122223333:policy/cordon-AutomatedSecurityQuarantine",
                &h
            ),
            Some(OwnPolicy::Quarantine)
        );
        assert_eq!(
            own_policy("arn:aws:iam::111122223333:policy/cordon-CordonForceMFA", &h),
            Some(OwnPolicy::ForceMfa)
        );
        assert_eq!(
            own_policy("arn:aws:iam::aws:policy/AWSDenyAll", &h),
            Some(OwnPolicy::AwsDenyAll)
        );
        // Another account's policy of the same name, or another stack's, is not Cordon's.
        assert_eq!(
            own_policy(
                "arn:aws:iam::444455556666:policy/cordon-AutomatedSecurityQuarantine",
                &h
            ),
            None
        );
        assert_eq!(
            own_policy(
                "arn:aws:iam::111122223333:policy/other-AutomatedSecurityQuarantine",
                &h
            ),
            None
        );
        let nameless = Home::new(AccountId::parse("111122223333").expect("account"));
        assert_eq!(
            own_policy(
                "arn:aws:iam::111122223333:policy/cordon-AutomatedSecurityQuarantine",
                &nameless
            ),
            None
        );
    }

    #[test]
    fn rules_and_workflow() {
        let h = home();
        assert!(is_own_rule("cordon-IamChangeRule-1A2B3C", &h));
        assert!(is_own_rule(
            "arn:aws:events:us-east-1:111122223333:rule/cordon-IamChangeRule-1A2B3C",
            &h
        ));
        assert!(!is_own_rule("billing-alerts", &h));
        assert!(is_own_workflow(
            "arn:aws:states:us-east-1:111122223333:execution:cordon-incidents:8f1e",
            &h
        ));
        assert!(is_own_workflow(
            "arn:aws:states:us-east-1:111122223333:stateMachine:cordon-incidents",
            &h
        ));
        assert!(!is_own_workflow(
            "arn:aws:states:us-east-1:111122223333:execution:etl:8f1e",
            &h
        ));
        assert!(!is_own_workflow(
            "arn:aws:states:us-east-1:444455556666:stateMachine:cordon-incidents",
            &h
        ));
    }
}
