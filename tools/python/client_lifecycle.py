"""A whole credential lifecycle through the Python client that openapi-python-client
generates from openapi.yaml (make test generates it into target/python-client first).

    python tools/python/client_lifecycle.py BASE_URL API_KEY

It uses the typed create models (one per credential type, with `name`, `type` and that
type's config fields), If-Match from each answer's ETag, and the typed `Error` answers.
Exits non-zero on the first step that does not go as the contract says.
"""

import datetime
import sys
import uuid

from credentials_api_client import AuthenticatedClient
from credentials_api_client.api.audit import list_audit_events
from credentials_api_client.api.credentials import (
    create_credential,
    delete_credential,
    get_credential,
    get_credential_usage,
    list_credentials,
    purge_credential,
    restore_credential,
    update_credential,
)
from credentials_api_client.models import (
    CreateDatabaseCredential,
    CreateDatabaseCredentialType,
    CreateOauthCredential,
    CreateOauthCredentialType,
    CredentialEnvelope,
    CredentialType,
    CredentialUsageEnvelope,
    DatabaseConfig,
    DatabaseConfigEngine,
    Error,
    ErrorErrorCode,
    LifecycleEnvelope,
    OauthConfig,
    PurgedEnvelope,
    Status,
    UpdateCredential,
    UpdateCredentialConfig,
)


def expect(condition, what):
    if not condition:
        sys.exit(f"client lifecycle: {what}")
    print(f"ok: {what}")


def main(base_url, api_key):
    client = AuthenticatedClient(base_url=base_url, token=api_key, raise_on_unexpected_status=True)
    run = uuid.uuid4().hex[:8]
    password = f"pw-{uuid.uuid4()}"

    created = create_credential.sync_detailed(
        client=client,
        idempotency_key=f"client-{run}",
        body=CreateDatabaseCredential(
            name=f"client-db-{run}",
            type_=CreateDatabaseCredentialType.DATABASE,
            config=DatabaseConfig(
                host="db.internal.example.com",
                engine=DatabaseConfigEngine.POSTGRESQL,
                port=5432,
                username="etl",
                password=password,
            ),
        ),
    )
    expect(created.status_code == 201 and isinstance(created.parsed, CredentialEnvelope), "create answers 201")
    credential = created.parsed.data
    expect(credential.type_ == CredentialType.DATABASE, "the answer is typed")
    expect(credential.secret_fields == ["password"], "the secret is listed by name")
    expect(password.encode() not in created.content, "the secret does not come back")
    etag = created.headers["etag"]

    got = get_credential.sync(credential.id, client=client)
    expect(isinstance(got, CredentialEnvelope) and got.data.version == 1, "get answers the credential")

    stale = update_credential.sync_detailed(
        credential.id, client=client, if_match='"99"', body=UpdateCredential(name=f"client-db2-{run}")
    )
    expect(
        stale.status_code == 412
        and isinstance(stale.parsed, Error)
        and stale.parsed.error.code == ErrorErrorCode.PRECONDITION_FAILED,
        "a stale If-Match is a typed 412",
    )
    config = UpdateCredentialConfig()
    config["database"] = "analytics"
    updated = update_credential.sync_detailed(
        credential.id, client=client, if_match=etag, body=UpdateCredential(name=f"client-db2-{run}", config=config)
    )
    expect(updated.status_code == 200 and updated.parsed.data.version == 2, "update with If-Match applies")
    expect(updated.parsed.data.config["database"] == "analytics", "the new setting is visible")

    page = list_credentials.sync(client=client, type_=CredentialType.DATABASE, limit=100)
    expect(any(c.id == credential.id for c in page.data), "list finds it")

    deleted = delete_credential.sync_detailed(credential.id, client=client, if_match=updated.headers["etag"])
    expect(
        isinstance(deleted.parsed, LifecycleEnvelope) and deleted.parsed.data.status == Status.DELETED,
        "soft delete",
    )
    restored = restore_credential.sync_detailed(credential.id, client=client, if_match=deleted.headers["etag"])
    expect(restored.parsed.data.status == Status.ACTIVE, "restore")
    again = restore_credential.sync(credential.id, client=client)
    expect(isinstance(again, Error) and again.error.code == ErrorErrorCode.INVALID_STATE, "restoring twice is a typed 409")
    usage = get_credential_usage.sync(credential.id, client=client)
    expect(
        isinstance(usage, CredentialUsageEnvelope) and usage.data.resolves_24h == 0 and usage.data.consumers == []
        and usage.data.last_resolved_at is None,
        "the usage ledger of a credential never resolved",
    )
    idle = list_credentials.sync(client=client, unused_since=datetime.date(2100, 1, 1), limit=100)
    expect(any(c.id == credential.id for c in idle.data), "unused_since lists it")
    purged = purge_credential.sync(credential.id, client=client, if_match=restored.headers["etag"])
    expect(isinstance(purged, PurgedEnvelope) and purged.data.purged, "purge")
    gone = get_credential.sync(credential.id, client=client)
    expect(isinstance(gone, Error) and gone.error.code == ErrorErrorCode.NOT_FOUND, "after purge get is a typed 404")

    oauth = create_credential.sync(
        client=client,
        body=CreateOauthCredential(
            name=f"client-oauth-{run}",
            type_=CreateOauthCredentialType.OAUTH,
            config=OauthConfig(
                client_id="app", client_secret=f"cs-{uuid.uuid4()}", token_url="https://auth.example.com/token",
                scopes=["read", "write"],
            ),
        ),
    )
    expect(
        isinstance(oauth, CredentialEnvelope) and oauth.data.secret_fields == ["client_secret"]
        and oauth.data.config["token_url"] == "https://auth.example.com/token",
        "another type's model: token_url visible, client_secret sealed",
    )

    events = list_audit_events.sync(client=client, credential_id=credential.id)
    actions = [e.action.value for e in events.data]
    expect(
        actions == ["credential.purged", "credential.restored", "credential.deleted", "credential.updated",
                    "credential.created"],
        "the audit trail lists every change, newest first",
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
