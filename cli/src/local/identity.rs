//! Who the local stack pretends to be: the account, region and stack name its ARNs and the
//! template's pseudo parameters carry, and the names its functions get.

/// The account the local stack pretends to be (moto's default account).
pub const LOCAL_ACCOUNT: &str = "123456789012";
/// The region the local stack pretends to be.
pub const LOCAL_REGION: &str = "us-east-1";
/// `AWS::Partition`.
pub const LOCAL_PARTITION: &str = "aws";
/// `AWS::StackName`: every role the template names `<stack>-...` is `cordon-local-...`.
pub const LOCAL_STACK_NAME: &str = "cordon-local";

/// The id of the local stack's stand-in for the template's KMS key. The emulator's
/// table and topic are not encrypted, but every call on them is still checked for the
/// `kms:*` permissions the template's encryption would need on AWS.
pub const LOCAL_KEY_ID: &str = "00000000-0000-4000-8000-00000000c0d0";

/// The name the local stack gives the incident state machine when the template names none
/// (the template names it `<stack>-incidents`).
pub const LOCAL_STATE_MACHINE: &str = "cordon-incident";

/// The ARN the local stack gives the function built from the cargo binary `binary`
/// (locally a function is named after its binary).
pub fn function_arn(binary: &str) -> String {
    format!("arn:{LOCAL_PARTITION}:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{binary}")
}

/// The ARN of the role the local stack pretends a function (or the state machine) runs
/// as: `<stack>-<LogicalId>Role`, as SAM names generated roles (without SAM's random
/// suffix).
pub fn role_arn(logical_id: &str) -> String {
    format!("arn:{LOCAL_PARTITION}:iam::{LOCAL_ACCOUNT}:role/{LOCAL_STACK_NAME}-{logical_id}Role")
}

/// The ARN of the local incident state machine.
pub fn state_machine_arn() -> String {
    state_machine_arn_named(LOCAL_STATE_MACHINE)
}

/// The ARN of the local state machine `name` (a machine the template names, such as the
/// release workflow, keeps its resolved `Name`).
pub fn state_machine_arn_named(name: &str) -> String {
    format!("arn:{LOCAL_PARTITION}:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}:stateMachine:{name}")
}
