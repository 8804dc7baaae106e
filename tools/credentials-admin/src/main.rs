//! `credentials-admin`: operator commands against the table named by `TABLE_NAME` (and, for
//! a local stack, the emulator at `AWS_ENDPOINT_URL`).
//!
//! API keys are printed once, on the last line of stdout, and never stored in clear.

use clap::{Parser, Subcommand};
use credentials_core::auth::{is_workspace_id, Scope};
use credentials_core::clock::WallClock;
use credentials_core::service::api_keys;
use credentials_core::settings::Settings;
use credentials_core::store::Store;
use secrecy::ExposeSecret;

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
        /// Comma-separated: read, write, purge, resolve (or credentials:read, …). `resolve`
        /// (secrets decrypted, by direct invocation) is only granted when named.
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
    /// Bring items written by earlier versions to the current shape (idempotent): adds
    /// `secret_fields` to credentials, moves API keys to their own index. With
    /// `--seal-undeclared`, instead seals the undeclared fields that credentials written
    /// before `visible_fields` still show (needs KMS_KEY_ID); `--dry-run` only counts them.
    Migrate {
        #[arg(long)]
        seal_undeclared: bool,
        #[arg(long, requires = "seal_undeclared")]
        dry_run: bool,
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
        let scope =
            Scope::parse_operator(part).ok_or("scopes must be read, write, purge or resolve")?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err("at least one scope is required".into());
    }
    Ok(scopes)
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn check_workspace(workspace: &str) -> Result<(), Error> {
    if is_workspace_id(workspace) {
        Ok(())
    } else {
        Err("workspace ids are 1-64 lowercase letters, digits, '-' or '_'".into())
    }
}

async fn setup(sdk: &aws_config::SdkConfig, table: &str, alias: &str) -> Result<(), Error> {
    let stack = local_stack::ensure(sdk, table, Some(alias)).await?;
    eprintln!("table {} ready", stack.table);
    println!("KMS_KEY_ID={}", stack.kms_key_arn);
    println!("IDEMPOTENCY_KEY_ID={}", stack.mac_key_arn);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    let sdk = local_stack::workstation_sdk_config(&settings).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), &settings.table_name);
    match cli.command {
        Command::Setup { alias } => setup(&sdk, &settings.table_name, &alias).await?,
        Command::MintKey {
            workspace,
            scopes,
            description,
        } => {
            check_workspace(&workspace)?;
            let scopes = parse_scopes(&scopes)?;
            let minted = api_keys::mint(
                &store,
                &WallClock,
                &workspace,
                &scopes,
                &description,
                settings.audit_retention,
            )
            .await
            .map_err(|e| format!("storing the key failed: {e:?}"))?;
            eprintln!(
                "minted {} for workspace {} with scopes {}",
                minted.record.key_id,
                workspace,
                scope_list(&minted.record.scopes)
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
                    scope_list(&key.scopes),
                    key.created_at,
                    key.description
                );
            }
        }
        Command::Migrate {
            seal_undeclared: true,
            dry_run,
        } => {
            let state = credentials_core::AppState::new(&sdk, &settings)?;
            let report = credentials_core::service::maintenance::seal_undeclared(&state, dry_run)
                .await
                .map_err(|e| format!("sealing failed: {}", e.code.as_str()))?;
            if dry_run {
                println!(
                    "{} credentials show undeclared fields (dry run: nothing written)",
                    report.candidates
                );
            } else {
                println!(
                    "sealed the undeclared fields of {} of {} credentials; {} changed meanwhile (run again)",
                    report.sealed, report.candidates, report.skipped
                );
            }
        }
        Command::Migrate {
            seal_undeclared: false,
            ..
        } => {
            let report = store
                .migrate_items()
                .await
                .map_err(|e| format!("migrating failed: {e:?}"))?;
            println!(
                "migrated {} credentials and {} API keys; added {} API-key id items; entered {} credentials in the last-use index; {} changed meanwhile (run again)",
                report.credentials, report.api_keys, report.key_ids, report.last_use, report.skipped
            );
        }
        Command::RevokeKey { workspace, key_id } => {
            check_workspace(&workspace)?;
            api_keys::revoke(
                &store,
                &WallClock,
                &workspace,
                &key_id,
                settings.audit_retention,
            )
            .await
            .map_err(|e| format!("revoking failed: {e:?}"))?;
            println!("revoked {key_id}");
        }
    }
    Ok(())
}
