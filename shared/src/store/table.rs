//! The table definition, for local stacks and tests. `template.yaml` declares the same
//! table for AWS; `tests/api/template.rs` keeps the two in step.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::{unavailable, StoreError};

pub const GSI_BY_STATUS: &str = "gsi1-by-status";
pub const GSI_BY_TYPE: &str = "gsi2-by-type";
/// A workspace's API keys, by key id (their own index: never mixed with credentials).
pub const GSI_API_KEYS: &str = "gsi3-api-keys";

/// A workspace's credentials of one status by when they were last resolved, never first:
/// the `unused_since` list filter.
pub const GSI_BY_LAST_USE: &str = "gsi6-by-last-use";

/// A credential's audit events, newest first (events outlive the credential).
pub const GSI_AUDIT_BY_CREDENTIAL: &str = "gsi4-audit-by-credential";

/// What the audit index carries: the whole event (events never hold a value).
pub const AUDIT_ATTRIBUTES: &[&str] = &[
    "id",
    "workspace_id",
    "at",
    "action",
    "credential_id",
    "credential_name",
    "key_id",
    "version",
    "actor_type",
    "actor_id",
    "lambda_request_id",
    "request_id",
    "source_ip",
    "user_agent",
    "purpose",
    "secret_version",
    "changes",
    "forced",
    "expires_at",
];

/// What the credential indexes carry besides their keys: exactly what a list entry shows.
/// Sealed secrets, the name key and the idempotency reference stay in the base table.
pub const LIST_ATTRIBUTES: &[&str] = &[
    "id",
    "name",
    "type",
    "status",
    "config",
    "secret_fields",
    "visible_fields",
    "secret_version",
    "pending_version",
    "rotation_grace_seconds",
    "auth_status",
    "max_versions",
    "created_at",
    "updated_at",
    "deleted_at",
    "created_by",
    "version",
];

/// What the API-key index carries: the record without anything else (`key_hash` is the
/// SHA-256 of a 256-bit key, needed to revoke by key id).
pub const API_KEY_ATTRIBUTES: &[&str] = &[
    "key_id",
    "key_hash",
    "workspace_id",
    "scopes",
    "description",
    "created_at",
    "revoked_at",
];
/// What the keep-alive index carries: which credential a due token belongs to.
pub const TOKEN_REFRESH_ATTRIBUTES: &[&str] = &["workspace_id", "credential_id"];

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

fn index(name: &str, pk: &str, sk: &str, attributes: &[&str]) -> GlobalSecondaryIndex {
    let projection = Projection::builder()
        .projection_type(ProjectionType::Include)
        .set_non_key_attributes(Some(attributes.iter().map(|a| (*a).to_owned()).collect()))
        .build();
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash))
        .key_schema(key(sk, KeyType::Range))
        .projection(projection)
        .build()
        .expect("name, keys and projection are set")
}

/// Creates the table (on-demand) with its six indexes and TTL enabled.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(index(GSI_BY_STATUS, "gsi1pk", "gsi1sk", LIST_ATTRIBUTES))
        .global_secondary_indexes(index(GSI_BY_TYPE, "gsi2pk", "gsi2sk", LIST_ATTRIBUTES))
        .global_secondary_indexes(index(GSI_API_KEYS, "gsi3pk", "gsi3sk", API_KEY_ATTRIBUTES))
        .global_secondary_indexes(index(
            GSI_AUDIT_BY_CREDENTIAL,
            "gsi4pk",
            "gsi4sk",
            AUDIT_ATTRIBUTES,
        ))
        .global_secondary_indexes(index(
            super::GSI_TOKEN_REFRESH,
            "gsi5pk",
            "gsi5sk",
            TOKEN_REFRESH_ATTRIBUTES,
        ))
        .global_secondary_indexes(index(GSI_BY_LAST_USE, "gsi6pk", "gsi6sk", LIST_ATTRIBUTES));
    for name in [
        "pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk",
        "gsi5pk", "gsi5sk", "gsi6pk", "gsi6sk",
    ] {
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
