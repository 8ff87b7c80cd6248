//! The actions Cordon's functions, state machine and rules call, as AWS's service
//! authorization reference describes them: which resource types each takes (and the ARN
//! each type has), and the service condition keys a call carries.
//!
//! It is a small copy on purpose, so the local stack can check calls without Python: the
//! data comes from AWS's service authorization data as parliament ships it
//! (`iam_definition.json`), and `tests/tests/iam_catalogue.rs` compares every entry with
//! that file (`cargo xtask lint` and `cargo xtask test` install parliament), so the copy
//! cannot drift from AWS's.
//!
//! Some answers are not what one would guess, which is why this table exists:
//! - `states:SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat` take **no**
//!   resource type: a policy must grant them on `*`; a statement scoped to the state
//!   machine does not match them in the documented model.
//! - `iam:ListMFADevices` takes the user as an optional resource (it lists the caller's own
//!   devices without `UserName`).
//! - `dynamodb:Query` on a global secondary index is a request on the index's ARN
//!   (`table/<name>/index/<index>`), which a statement on the table's ARN alone does not
//!   cover.
//! - `sts:GetCallerIdentity` needs no permission at all (IAM documents that even an
//!   explicit deny does not stop it); [`ActionInfo::needs_no_permission`] says so.

/// One resource type an action takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    /// The type's name in the reference (`table`, `user`, `key`).
    pub name: &'static str,
    /// Marked `*` in the reference: a request of this action always names one.
    pub required: bool,
    /// The ARN format, with `${Partition}`, `${Region}`, `${Account}` and the type's own
    /// placeholders (`${TableName}`).
    pub arn: &'static str,
}

/// One action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionInfo {
    /// `service:Action`.
    pub action: &'static str,
    /// Empty: the action takes no resource type, so the request's resource is `*`.
    pub resource_types: &'static [ResourceType],
    /// The service condition keys Cordon's calls of it carry (each one the reference lists
    /// for the action; `${...}` parts are filled per call). Global `aws:` keys aside.
    pub condition_keys: &'static [&'static str],
}

impl ActionInfo {
    /// Whether IAM authorizes this action at all (it does not for `sts:GetCallerIdentity`).
    pub fn needs_no_permission(&self) -> bool {
        self.action == "sts:GetCallerIdentity"
    }

    /// The resource type called `name`.
    pub fn resource_type(&self, name: &str) -> Option<&'static ResourceType> {
        self.resource_types.iter().find(|t| t.name == name)
    }
}

impl ResourceType {
    /// The ARN of one resource of this type: `${Partition}`, `${Region}` and `${Account}`
    /// from the caller's identity, the type's own placeholders from `names`. `None` if a
    /// placeholder has no value.
    pub fn render(
        &self,
        partition: &str,
        region: &str,
        account: &str,
        names: &[(&str, &str)],
    ) -> Option<String> {
        let mut out = String::with_capacity(self.arn.len() + 32);
        let mut rest = self.arn;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            let name = &rest[start + 2..end];
            let value = match name {
                "Partition" => partition,
                "Region" => region,
                "Account" => account,
                other => names.iter().find(|(k, _)| *k == other).map(|(_, v)| *v)?,
            };
            out.push_str(value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

const TABLE: ResourceType = ResourceType {
    name: "table",
    required: true,
    arn: "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}",
};
const INDEX: ResourceType = ResourceType {
    name: "index",
    required: false,
    arn: "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/index/${IndexName}",
};
const USER_ARN: &str = "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}";
const USER: ResourceType = ResourceType {
    name: "user",
    required: true,
    arn: USER_ARN,
};
const ROLE: ResourceType = ResourceType {
    name: "role",
    required: true,
    arn: "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",
};
const GROUP: ResourceType = ResourceType {
    name: "group",
    required: true,
    arn: "arn:${Partition}:iam::${Account}:group/${GroupNameWithPath}",
};
const POLICY: ResourceType = ResourceType {
    name: "policy",
    required: true,
    arn: "arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}",
};
const KEY: ResourceType = ResourceType {
    name: "key",
    required: true,
    arn: "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}",
};

/// The condition keys a KMS request made on a caller's behalf by another service carries.
const KMS_VIA_SERVICE_KEYS: &[&str] = &[
    "kms:CallerAccount",
    "kms:ViaService",
    "kms:EncryptionContext:${EncryptionContextKey}",
];

const fn iam_user(action: &'static str, condition_keys: &'static [&'static str]) -> ActionInfo {
    ActionInfo {
        action,
        resource_types: &[USER],
        condition_keys,
    }
}

const fn iam_on(action: &'static str, resource: &'static [ResourceType]) -> ActionInfo {
    ActionInfo {
        action,
        resource_types: resource,
        condition_keys: &[],
    }
}

/// Every action Cordon calls.
pub const ACTIONS: &[ActionInfo] = &[
    ActionInfo {
        action: "dynamodb:GetItem",
        resource_types: &[TABLE],
        condition_keys: &["dynamodb:LeadingKeys"],
    },
    ActionInfo {
        action: "dynamodb:PutItem",
        resource_types: &[TABLE],
        condition_keys: &["dynamodb:LeadingKeys"],
    },
    ActionInfo {
        action: "dynamodb:UpdateItem",
        resource_types: &[TABLE],
        condition_keys: &["dynamodb:LeadingKeys"],
    },
    ActionInfo {
        action: "dynamodb:Query",
        resource_types: &[TABLE, INDEX],
        condition_keys: &[],
    },
    iam_user("iam:GetUser", &[]),
    iam_user("iam:ListUserTags", &[]),
    iam_user("iam:ListGroupsForUser", &[]),
    iam_user("iam:ListAttachedUserPolicies", &[]),
    iam_user("iam:ListUserPolicies", &[]),
    iam_user("iam:ListAccessKeys", &[]),
    ActionInfo {
        action: "iam:ListMFADevices",
        resource_types: &[ResourceType {
            name: "user",
            required: false,
            arn: USER_ARN,
        }],
        condition_keys: &[],
    },
    iam_user("iam:GetLoginProfile", &[]),
    iam_user("iam:AttachUserPolicy", &["iam:PolicyARN"]),
    iam_user("iam:DetachUserPolicy", &["iam:PolicyARN"]),
    iam_user("iam:UpdateAccessKey", &[]),
    iam_user("iam:DeleteLoginProfile", &[]),
    iam_user("iam:TagUser", &["aws:TagKeys", "aws:RequestTag/${TagKey}"]),
    iam_user("iam:UntagUser", &["aws:TagKeys"]),
    iam_on("iam:GetRole", &[ROLE]),
    iam_on("iam:GetRolePolicy", &[ROLE]),
    iam_on("iam:PutRolePolicy", &[ROLE]),
    iam_on("iam:DeleteRolePolicy", &[ROLE]),
    iam_on("iam:GetPolicy", &[POLICY]),
    iam_on("iam:GetPolicyVersion", &[POLICY]),
    iam_on("iam:ListAttachedGroupPolicies", &[GROUP]),
    iam_on("iam:ListGroupPolicies", &[GROUP]),
    iam_on("iam:GetGroupPolicy", &[GROUP]),
    // The credential report is the account's: no resource type.
    iam_on("iam:GenerateCredentialReport", &[]),
    iam_on("iam:GetCredentialReport", &[]),
    ActionInfo {
        action: "kms:Decrypt",
        resource_types: &[KEY],
        condition_keys: KMS_VIA_SERVICE_KEYS,
    },
    ActionInfo {
        action: "kms:GenerateDataKey",
        resource_types: &[KEY],
        condition_keys: KMS_VIA_SERVICE_KEYS,
    },
    ActionInfo {
        action: "lambda:InvokeFunction",
        resource_types: &[ResourceType {
            name: "function",
            required: true,
            arn: "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}",
        }],
        condition_keys: &[],
    },
    ActionInfo {
        action: "sns:Publish",
        resource_types: &[ResourceType {
            name: "topic",
            required: true,
            arn: "arn:${Partition}:sns:${Region}:${Account}:${TopicName}",
        }],
        condition_keys: &[],
    },
    ActionInfo {
        action: "states:SendTaskSuccess",
        resource_types: &[],
        condition_keys: &[],
    },
    ActionInfo {
        action: "states:SendTaskFailure",
        resource_types: &[],
        condition_keys: &[],
    },
    ActionInfo {
        action: "states:SendTaskHeartbeat",
        resource_types: &[],
        condition_keys: &[],
    },
    ActionInfo {
        action: "states:StartExecution",
        resource_types: &[ResourceType {
            name: "statemachine",
            required: true,
            arn: "arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}",
        }],
        condition_keys: &[],
    },
    ActionInfo {
        action: "sts:GetCallerIdentity",
        resource_types: &[],
        condition_keys: &[],
    },
];

/// The entry for `action` (`service:Action`, compared case-insensitively).
pub fn lookup(action: &str) -> Option<&'static ActionInfo> {
    ACTIONS
        .iter()
        .find(|a| a.action.eq_ignore_ascii_case(action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_arns() {
        let query = lookup("dynamodb:query").expect("known");
        let index = query.resource_type("index").expect("index");
        assert_eq!(
            index.render(
                "aws",
                "eu-west-1",
                "111122223333",
                &[("TableName", "t"), ("IndexName", "gsi1")]
            ),
            Some("arn:aws:dynamodb:eu-west-1:111122223333:table/t/index/gsi1".into())
        );
        assert_eq!(index.render("aws", "r", "a", &[("TableName", "t")]), None);
        let user = lookup("iam:GetUser").expect("known").resource_types[0];
        assert_eq!(
            user.render("aws-us-gov", "", "1", &[("UserNameWithPath", "ops/bob")]),
            Some("arn:aws-us-gov:iam::1:user/ops/bob".into())
        );
    }

    #[test]
    fn entries_are_unique_and_well_formed() {
        for (i, a) in ACTIONS.iter().enumerate() {
            assert!(a.action.contains(':'), "{}", a.action);
            assert!(
                ACTIONS[i + 1..].iter().all(|b| b.action != a.action),
                "{} twice",
                a.action
            );
            for t in a.resource_types {
                assert!(t.arn.starts_with("arn:${Partition}:"), "{}", t.arn);
            }
        }
        assert!(
            lookup("states:SendTaskSuccess")
                .expect("known")
                .resource_types
                .is_empty()
        );
        assert!(
            lookup("sts:GetCallerIdentity")
                .expect("known")
                .needs_no_permission()
        );
    }
}
