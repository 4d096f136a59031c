"""Credentials of users: sessions, refresh tokens, API keys, login attempts, password resets,
and the rate counters of API keys.

The methods that decide something under concurrency are atomic in every backend, because two
servers (or two threads) may race on one row: ``rotate_refresh_token`` lets exactly one of two
rotations of a token win (the loser sees a reused token), ``use_password_reset`` lets a reset
link work once, and ``hit_rate_counter`` never lets more than ``limit`` hits through however
many servers share the database. The SQL backend does each in one transaction whose first
statement is the conditional write or the row lock; the memory backend under its lock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..records import ApiKey, PasswordReset, RefreshToken, Scope, Session
from .users import string_tuple

__all__ = [
    "API_KEY_FIELDS",
    "RATE_COUNTER_KEY_LENGTH",
    "CredentialStore",
    "check_api_key_changes",
    "check_counter_hit",
    "check_rate_limit",
]

# What ``update_api_key`` may change: the secret, owner and times of creation or use never do.
API_KEY_FIELDS = frozenset({"name", "scopes", "rate_limit", "expires_at"})
# A counter key fits an index on MySQL with utf8mb4 (191 x 4 bytes < 767); longer keys are
# refused, so the rate limiter hashes them first.
RATE_COUNTER_KEY_LENGTH = 191


def check_rate_limit(value: Any) -> int | None:
    """A key's rate limit: a positive number of requests per hour, or None (the default)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"rate_limit must be a positive integer or None, not {value!r}")
    return value


def check_api_key_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes of ``update_api_key`` checked before anything is written (both backends
    refuse alike): only API_KEY_FIELDS, a non-empty name, a list of scope strings, a valid
    rate limit, an aware expiry or None."""
    unknown = sorted(set(changes) - API_KEY_FIELDS)
    if unknown:
        raise ValueError(
            f"cannot update api key field(s) {', '.join(unknown)}: "
            f"the fields that can change are {', '.join(sorted(API_KEY_FIELDS))}"
        )
    values = dict(changes)
    if "name" in values and (not isinstance(values["name"], str) or not values["name"]):
        raise ValueError(f"an api key's name must be a non-empty string, not {values['name']!r}")
    if "scopes" in values:
        values["scopes"] = string_tuple(values["scopes"], "scopes")
    if "rate_limit" in values:
        values["rate_limit"] = check_rate_limit(values["rate_limit"])
    expires_at = values.get("expires_at")
    if expires_at is not None and (
        not isinstance(expires_at, datetime) or expires_at.utcoffset() is None
    ):
        raise ValueError(f"expires_at must be an aware datetime or None, not {expires_at!r}")
    return values


def check_counter_hit(
    key: Any, bucket: Any, oldest_bucket: Any, limit: Any, wanted: Any = 1
) -> None:
    """The arguments of ``hit_rate_counter``, refused alike by every backend."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"a rate counter key must be a non-empty string, not {key!r}")
    if len(key) > RATE_COUNTER_KEY_LENGTH:
        raise ValueError(
            f"a rate counter key has at most {RATE_COUNTER_KEY_LENGTH} characters, "
            f"not {len(key)} (hash longer keys first)"
        )
    for name, value in (("bucket", bucket), ("oldest_bucket", oldest_bucket), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, not {value!r}")
    if oldest_bucket > bucket:
        raise ValueError(f"oldest_bucket {oldest_bucket} is after the bucket {bucket}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
        raise ValueError(f"wanted must be a positive integer, not {wanted!r}")


class CredentialStore(ABC):
    """Sessions, refresh tokens, API keys, login attempts, password resets, rate counters.

    Times are timezone-aware UTC datetimes; a naive one is a ValueError.
    """

    # -- sessions ------------------------------------------------------------------------------

    @abstractmethod
    def create_session(
        self,
        user_id: str,
        expires_at: datetime,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> Session: ...

    @abstractmethod
    def get_session(self, session_id: str) -> Session | None: ...

    @abstractmethod
    def touch_session(self, session_id: str, at: datetime) -> None: ...

    @abstractmethod
    def revoke_session(self, session_id: str, at: datetime) -> None: ...

    @abstractmethod
    def revoke_user_sessions(self, user_id: str, at: datetime) -> int:
        """Revoke every session of the user not revoked yet; how many were revoked now."""

    @abstractmethod
    def delete_expired_sessions(self, now: datetime) -> int: ...

    # -- refresh tokens ------------------------------------------------------------------------

    @abstractmethod
    def add_refresh_token(
        self,
        user_id: str,
        token_hash: str,
        expires_at: datetime,
        *,
        family_id: str | None = None,
        session_id: str | None = None,
    ) -> RefreshToken:
        """Store a token; ``family_id`` None starts a family whose id is the new token's id."""

    @abstractmethod
    def find_refresh_token(self, token_hash: str) -> RefreshToken | None: ...

    @abstractmethod
    def revoke_refresh_token(
        self, token_id: str, at: datetime, *, replaced_by: str | None = None
    ) -> None: ...

    @abstractmethod
    def rotate_refresh_token(
        self, token_id: str, new_hash: str, expires_at: datetime, at: datetime
    ) -> RefreshToken | None:
        """Atomically replace a live token by a new one of the same family and session.

        If the token is not revoked: revoke it (``revoked_at=at``, ``replaced_by`` the new id)
        and store the new token, returned. If it is revoked already, or missing: write nothing
        and return None (a rotated token presented again is a reuse: the caller revokes the
        family). Of two concurrent rotations of one token, exactly one gets a token. A
        ``new_hash`` already stored is a ConflictError and the old token stays live.
        """

    @abstractmethod
    def revoke_refresh_family(self, family_id: str, at: datetime) -> int:
        """Revoke every live token of the family; how many were revoked now."""

    @abstractmethod
    def revoke_user_refresh_tokens(self, user_id: str, at: datetime) -> int:
        """Revoke every live token of the user, in every family; how many were revoked now."""

    # -- API keys ------------------------------------------------------------------------------

    @abstractmethod
    def create_api_key(
        self,
        scope: Scope,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
        rate_limit: int | None = None,
    ) -> ApiKey:
        """A key owned by ``scope.user_id``; ``rate_limit`` requests per hour (None: the
        server's default)."""

    @abstractmethod
    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """For authentication: any owner's key, revoked ones included (the caller checks)."""

    @abstractmethod
    def get_api_key(self, scope: Scope, key_id: str) -> ApiKey:
        """One key of the scope (any key for an admin); RecordNotFoundError otherwise."""

    @abstractmethod
    def list_api_keys(self, scope: Scope) -> list[ApiKey]: ...

    @abstractmethod
    def update_api_key(self, scope: Scope, key_id: str, **changes: Any) -> ApiKey:
        """Change fields among API_KEY_FIELDS; anything else is a ValueError naming the field
        and nothing is written. Another user's or a missing key is RecordNotFoundError; a
        revoked key cannot change (ConflictError)."""

    @abstractmethod
    def revoke_api_key(self, scope: Scope, key_id: str, at: datetime) -> None: ...

    @abstractmethod
    def touch_api_key(self, key_id: str, at: datetime) -> None: ...

    # -- login attempts ------------------------------------------------------------------------

    @abstractmethod
    def record_login_attempt(
        self, username: str, succeeded: bool, at: datetime, *, ip: str | None = None
    ) -> None: ...

    @abstractmethod
    def count_failed_logins(self, username: str, since: datetime) -> int:
        """Failed attempts for ``username`` (case-insensitive) at or after ``since``."""

    @abstractmethod
    def failed_logins_since(
        self, username: str, since: datetime, *, limit: int = 100
    ) -> list[datetime]:
        """The times of failed attempts for ``username`` (case-insensitive) at or after
        ``since`` and after the username's last successful attempt (a success resets the
        count; a failure at the very time of a success counts as before it), newest first, at
        most ``limit``."""

    # -- password resets -----------------------------------------------------------------------

    @abstractmethod
    def create_password_reset(
        self, user_id: str, token_hash: str, expires_at: datetime
    ) -> PasswordReset: ...

    @abstractmethod
    def find_password_reset(self, token_hash: str) -> PasswordReset | None: ...

    @abstractmethod
    def use_password_reset(self, reset_id: str, at: datetime) -> bool:
        """Mark a reset used: True when it was unused (this call used it), False when it had
        been used already (of two concurrent uses, exactly one gets True). A missing reset is
        RecordNotFoundError."""

    @abstractmethod
    def use_all_password_resets(self, user_id: str, at: datetime) -> int:
        """Mark every unused reset of the user used; how many were marked."""

    # -- rate counters -------------------------------------------------------------------------

    @abstractmethod
    def hit_rate_counter(
        self, key: str, bucket: int, oldest_bucket: int, limit: int, *, wanted: int = 1
    ) -> tuple[int, int]:
        """Count up to ``wanted`` hits of ``key`` in ``bucket`` as the window allows, atomically.

        The window is the key's buckets from ``oldest_bucket`` on. When their hits sum below
        ``limit``, ``min(wanted, limit - sum)`` hits are added to ``bucket`` and ``(hits,
        granted)`` returned, the new hits included; otherwise nothing is written and ``(sum,
        0)`` returned (a refused request does not count, so a client that keeps calling gets
        in again as the window slides). With ``wanted=1`` the second value reads as a bool:
        ``(hits, True)`` / ``(sum, False)``. Hits from every store on one database are counted
        together, and never more than ``limit`` get through. Keys have at most
        RATE_COUNTER_KEY_LENGTH characters.
        """

    @abstractmethod
    def prune_rate_counters(self, before_bucket: int) -> int:
        """Delete the counters of buckets before ``before_bucket``; how many rows went."""
