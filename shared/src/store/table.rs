//! The table definition, for local stacks and tests. `template.yaml` declares the same
//! table for AWS; a test keeps the two in step.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::{unavailable, StoreError};

pub const GSI_BY_STATUS: &str = "gsi1-by-status";
pub const GSI_BY_TYPE: &str = "gsi2-by-type";
/// Items with this attribute (epoch seconds) are expired by DynamoDB TTL.
pub const TTL_ATTRIBUTE: &str = "expires_at";

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .expect("name and type are set")
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

fn index(name: &str, pk: &str, sk: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash))
        .key_schema(key(sk, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .expect("name, keys and projection are set")
}

/// Creates the table (on-demand) with both indexes and TTL enabled.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(index(GSI_BY_STATUS, "gsi1pk", "gsi1sk"))
        .global_secondary_indexes(index(GSI_BY_TYPE, "gsi2pk", "gsi2sk"));
    for name in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        request = request.attribute_definitions(string_attribute(name));
    }
    request
        .send()
        .await
        .map_err(|e| unavailable("CreateTable", &e.into_service_error()))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .expect("enabled and attribute are set"),
        )
        .send()
        .await
        .map_err(|e| unavailable("UpdateTimeToLive", &e.into_service_error()))?;
    Ok(())
}
