//! The incident table's keys and indexes: the create-table request, which
//! `infra/template.yaml` must match (see `TABLE.md`).
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use cordon_core::TaskError;

use crate::error::SdkResultExt;

/// Index by status and last update: `gsi1pk = STATUS#<status>`, `gsi1sk = <updated_at>#<id>`.
pub const GSI_BY_STATUS: &str = "gsi1";
/// Index by principal: `gsi2pk = PRINCIPAL#<arn or name>`, `gsi2sk = <opened_at>#<id>`.
pub const GSI_BY_PRINCIPAL: &str = "gsi2";
/// Index by the month an incident was opened: `gsi3pk = OPENED#<yyyy-mm>`,
/// `gsi3sk = <opened_at>#<id>` (every incident; what `cordon incidents list` and
/// `export` walk when no status or principal narrows them).
pub const GSI_BY_OPENED: &str = "gsi3";

fn attr(name: &str) -> Result<AttributeDefinition, BuildError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BuildError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
}

fn gsi(name: &str, pk: &str, sk: &str) -> Result<GlobalSecondaryIndex, BuildError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash)?)
        .key_schema(key(sk, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
}

/// The create-table request for the incident table: `pk`/`sk`, GSIs `gsi1` (by status),
/// `gsi2` (by principal) and `gsi3` (by month opened), on-demand billing. `infra/template.yaml` must declare the same.
pub fn table_definition(
    client: &Client,
    table_name: &str,
) -> Result<CreateTableFluentBuilder, TaskError> {
    let build = || -> Result<_, BuildError> {
        Ok(client
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .attribute_definitions(attr("gsi1pk")?)
            .attribute_definitions(attr("gsi1sk")?)
            .attribute_definitions(attr("gsi2pk")?)
            .attribute_definitions(attr("gsi2sk")?)
            .attribute_definitions(attr("gsi3pk")?)
            .attribute_definitions(attr("gsi3sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi(GSI_BY_STATUS, "gsi1pk", "gsi1sk")?)
            .global_secondary_indexes(gsi(GSI_BY_PRINCIPAL, "gsi2pk", "gsi2sk")?)
            .global_secondary_indexes(gsi(GSI_BY_OPENED, "gsi3pk", "gsi3sk")?))
    };
    build().map_err(|e| TaskError::Aws {
        operation: "dynamodb:CreateTable".into(),
        code: "BuildError".into(),
        message: e.to_string(),
    })
}

/// Create the incident table if it does not exist, and wait until it is active.
/// Returns `true` if this call created it.
pub async fn create_table(client: &Client, table_name: &str) -> Result<bool, TaskError> {
    use aws_sdk_dynamodb::client::Waiters;
    let created = table_definition(client, table_name)?
        .send()
        .await
        .or_none_on("dynamodb:CreateTable", "ResourceInUseException")?
        .is_some();
    client
        .wait_until_table_exists()
        .table_name(table_name)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|e| {
            TaskError::transient(
                "dynamodb:DescribeTable",
                format!("table {table_name} did not become active: {e}"),
            )
        })?;
    Ok(created)
}
