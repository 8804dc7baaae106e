"""Resolve Credentials API credentials (secrets decrypted) from Python.

    from credentials_client import Resolver
    resolver = Resolver(os.environ["RESOLVE_FUNCTION_ARN"], os.environ["CREDENTIALS_API_KEY"])
    db = resolver.resolve("cred_01…", "pipeline:orders-nightly/run-42")
    password = db.secret("password").reveal()

docs/python-client.md has the rest: errors, versions, the cache, the Airflow backend.
"""

from .aio import AsyncResolver
from .cache import CacheStats
from .errors import (
    Deleted,
    Failed,
    Forbidden,
    Invalid,
    NoNewerVersion,
    NotFound,
    ReauthorizationRequired,
    ResolveError,
    Unauthorized,
    Unavailable,
    VersionDestroyed,
    VersionExpired,
)
from .model import ResolvedCredential, Target
from .resolver import DEFAULT_CONFIG, LambdaInvoker, Resolver, __version__
from .secret import Secret

__all__ = [
    "DEFAULT_CONFIG",
    "AsyncResolver",
    "CacheStats",
    "Deleted",
    "Failed",
    "Forbidden",
    "Invalid",
    "LambdaInvoker",
    "NoNewerVersion",
    "NotFound",
    "ReauthorizationRequired",
    "ResolveError",
    "ResolvedCredential",
    "Resolver",
    "Secret",
    "Target",
    "Unauthorized",
    "Unavailable",
    "VersionDestroyed",
    "VersionExpired",
    "__version__",
]
