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

/// The ARN the local stack gives the function built from the cargo binary `binary`
/// (locally a function is named after its binary).
pub fn function_arn(binary: &str) -> String {
    format!("arn:{LOCAL_PARTITION}:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{binary}")
}
