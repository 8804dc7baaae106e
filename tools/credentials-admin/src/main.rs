//! `credentials-admin`: operator commands against the table named by `TABLE_NAME` (and, for
//! a local stack, the emulator at `AWS_ENDPOINT_URL`).
//!
//! API keys are printed once, on the last line of stdout, and never stored in clear.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use shared::auth::{self, is_workspace_id, Scope};
use shared::model::now_rfc3339;
use shared::settings::{self, Settings};
use shared::store::{self, Store};

#[derive(Parser)]
#[command(
    name = "credentials-admin",
    about = "Administer a Credentials API deployment"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table and the KMS keys (data keys behind `--alias`, fingerprints behind
    /// `<alias>-idempotency`) when missing; prints `KMS_KEY_ID=…` and `IDEMPOTENCY_KEY_ID=…`.
    /// For local stacks: on AWS, `template.yaml` creates all three.
    Setup {
        #[arg(long, default_value = "alias/credentials-api-local")]
        alias: String,
    },
    /// Mint an API key for a workspace; the key is printed alone on the last line.
    MintKey {
        #[arg(long)]
        workspace: String,
        /// Comma-separated: read, write, purge (or credentials:read, …).
        #[arg(long, default_value = "read,write")]
        scopes: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List a workspace's API keys (ids, scopes, status; never the keys).
    ListKeys {
        #[arg(long)]
        workspace: String,
    },
    /// Revoke an API key by its id (`key_…`).
    RevokeKey {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        key_id: String,
    },
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn parse_scopes(raw: &str) -> Result<Vec<Scope>, Error> {
    let mut scopes = Vec::new();
    for part in raw.split(',').filter(|p| !p.trim().is_empty()) {
        let scope = Scope::parse(part).ok_or("scopes must be read, write or purge")?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err("at least one scope is required".into());
    }
    Ok(scopes)
}

fn check_workspace(workspace: &str) -> Result<(), Error> {
    if is_workspace_id(workspace) {
        Ok(())
    } else {
        Err("workspace ids are 1-64 lowercase letters, digits, '-' or '_'".into())
    }
}

/// The ARN of the KMS key behind `alias`, creating key and alias when missing.
async fn ensure_key(
    kms: &aws_sdk_kms::Client,
    alias: &str,
    spec: KeySpec,
    usage: KeyUsageType,
) -> Result<String, Error> {
    if let Ok(found) = kms.describe_key().key_id(alias).send().await {
        if let Some(arn) = found.key_metadata().and_then(|m| m.arn()) {
            return Ok(arn.to_owned());
        }
    }
    let created = kms
        .create_key()
        .description("Credentials API (local)")
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .map_err(|e| {
            format!(
                "creating a KMS key failed: {}",
                e.code().unwrap_or("unknown")
            )
        })?;
    let metadata = created
        .key_metadata()
        .ok_or("KMS returned no key metadata")?;
    kms.create_alias()
        .alias_name(alias)
        .target_key_id(metadata.key_id())
        .send()
        .await
        .map_err(|e| {
            format!(
                "creating a KMS alias failed: {}",
                e.code().unwrap_or("unknown")
            )
        })?;
    Ok(metadata.arn().unwrap_or_default().to_owned())
}

async fn setup(store: &Store, kms: &aws_sdk_kms::Client, alias: &str) -> Result<(), Error> {
    let exists = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .is_ok();
    if exists {
        eprintln!("table {} exists", store.table());
    } else {
        store::create_table(store.client(), store.table())
            .await
            .map_err(|e| format!("creating the table failed: {e:?}"))?;
        eprintln!("table {} created", store.table());
    }
    let data_key = ensure_key(
        kms,
        alias,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    )
    .await?;
    let mac_alias = format!("{alias}-idempotency");
    let mac_key = ensure_key(
        kms,
        &mac_alias,
        KeySpec::Hmac256,
        KeyUsageType::GenerateVerifyMac,
    )
    .await?;
    println!("KMS_KEY_ID={data_key}");
    println!("IDEMPOTENCY_KEY_ID={mac_key}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    let sdk = settings::load_sdk_config(&settings).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), &settings.table_name);
    match cli.command {
        Command::Setup { alias } => setup(&store, &aws_sdk_kms::Client::new(&sdk), &alias).await?,
        Command::MintKey {
            workspace,
            scopes,
            description,
        } => {
            check_workspace(&workspace)?;
            let scopes = parse_scopes(&scopes)?;
            let minted = auth::create_key(&store, &workspace, &scopes, &description)
                .await
                .map_err(|e| format!("storing the key failed: {e:?}"))?;
            eprintln!(
                "minted {} for workspace {} with scopes {}",
                minted.record.key_id,
                workspace,
                minted.record.scopes.join(",")
            );
            println!("{}", minted.key.expose_secret());
        }
        Command::ListKeys { workspace } => {
            check_workspace(&workspace)?;
            let keys = store
                .list_api_keys(&workspace)
                .await
                .map_err(|e| format!("listing keys failed: {e:?}"))?;
            println!("KEY ID\tSTATUS\tSCOPES\tCREATED\tDESCRIPTION");
            for key in keys {
                let status = if key.is_active() { "active" } else { "revoked" };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    key.key_id,
                    status,
                    key.scopes.join(","),
                    key.created_at,
                    key.description
                );
            }
        }
        Command::RevokeKey { workspace, key_id } => {
            check_workspace(&workspace)?;
            store
                .revoke_api_key(&workspace, &key_id, &now_rfc3339())
                .await
                .map_err(|e| format!("revoking failed: {e:?}"))?;
            println!("revoked {key_id}");
        }
    }
    Ok(())
}
