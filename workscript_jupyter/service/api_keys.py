"""``ApiKeys``: a user's keys for external tools — create (shown once), list, update, revoke.

A key is ``wks_live_`` and 256 random bits; only its SHA-256 is stored. Keys are created and
changed by a signed-in user, never by another key (a key may still list keys and revoke them).
Its permissions are a subset of its creator's (all of them by default).
It expires after ``api_key_expiry_days`` unless given another expiry (0 days: never). Its rate
limit is the server's ``api_key_rate_limit`` unless set lower — only an admin may set it higher,
or a user could lift their own limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..auth.api_keys import generate_api_key
from ..auth.permissions import validate_permissions
from ..errors import BadRequestError, PermissionDeniedError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import ApiKey
from .account_settings import AccountSettings
from .authentication import Authenticator
from .values import Caller

__all__ = ["ApiKeys", "CreatedKey", "require_signed_in"]

_MAX_RATE_LIMIT = 10_000_000
_MAX_DAYS = 3650


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once, in the creation's answer; never stored

    def __repr__(self) -> str:
        return f"CreatedKey(key={self.key.id!r}, secret=***)"


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise BadRequestError(
            "name must be a non-empty string of at most 200 characters", details={"field": "name"}
        )
    return value.strip()


def require_signed_in(caller: Caller, what: str) -> None:
    """Keys are made and changed by a signed-in user, never by a key: a leaked key could
    otherwise mint keys without its own limit or expiry, or extend its own life."""
    if caller.via == "api_key":
        raise PermissionDeniedError(
            f"an API key cannot {what} API keys; sign in (JWT, session or Jupyter) to do it"
        )


class ApiKeys:
    def __init__(
        self, store: Store, *, authenticator: Authenticator | None, settings: AccountSettings
    ) -> None:
        """``authenticator``: the server's, whose caches forget a changed key at once (None in
        the CLI, which has no cache)."""
        self._store = store
        self._authenticator = authenticator
        self._settings = settings

    async def create(self, caller: Caller, body: dict[str, Any]) -> CreatedKey:
        caller.require("apikey:create")
        require_signed_in(caller, "create")
        name = _name(body.get("name"))
        if body.get("permissions") is None:
            permissions = tuple(sorted(caller.permissions))
        else:
            permissions = self._subset(caller, body.get("permissions"))
        expires_at = self._expiry(body, default_days=self._settings.api_key_expiry_days)
        rate_limit = self._rate_limit(caller, body.get("rateLimit"))
        material = generate_api_key()
        key = await run_off_loop(
            self._store.credentials.create_api_key,
            caller.scope,
            name=name,
            prefix=material.prefix,
            key_hash=material.key_hash,
            scopes=permissions,
            expires_at=expires_at,
            rate_limit=rate_limit,
        )
        return CreatedKey(key, material.secret)

    async def list(self, caller: Caller) -> list[ApiKey]:
        caller.require("apikey:read")
        return await run_off_loop(self._store.credentials.list_api_keys, caller.scope)

    async def get(self, caller: Caller, key_id: str) -> ApiKey:
        caller.require("apikey:read")
        return await run_off_loop(self._store.credentials.get_api_key, caller.scope, key_id)

    async def update(self, caller: Caller, key_id: str, body: dict[str, Any]) -> ApiKey:
        caller.require("apikey:update")
        require_signed_in(caller, "change")
        unknown = sorted(set(body) - {"name", "permissions", "rateLimit", "expiresInDays"})
        if unknown:
            raise BadRequestError(
                f"unknown field {unknown[0]!r}; a key's name, permissions, rateLimit and "
                "expiresInDays can change",
                details={"field": unknown[0]},
            )
        changes: dict[str, Any] = {}
        if "name" in body:
            changes["name"] = _name(body["name"])
        if "permissions" in body:
            changes["scopes"] = self._subset(caller, body["permissions"])
        if "rateLimit" in body:
            changes["rate_limit"] = self._rate_limit(caller, body["rateLimit"])
        if "expiresInDays" in body:
            changes["expires_at"] = self._expiry(body, default_days=0)
        key = await run_off_loop(
            self._store.credentials.update_api_key, caller.scope, key_id, **changes
        )
        if self._authenticator is not None:
            self._authenticator.forget_key(key_id)
        return key

    async def revoke(self, caller: Caller, key_id: str) -> None:
        caller.require("apikey:delete")
        await run_off_loop(
            self._store.credentials.revoke_api_key, caller.scope, key_id, datetime.now(UTC)
        )
        if self._authenticator is not None:
            self._authenticator.forget_key(key_id)

    # -- checks ------------------------------------------------------------------------------

    @staticmethod
    def _subset(caller: Caller, value: object) -> tuple[str, ...]:
        permissions = validate_permissions(value)
        missing = sorted(set(permissions) - caller.permissions)
        if missing:
            raise PermissionDeniedError(
                "a key can only get permissions its creator holds; missing: " + ", ".join(missing),
                details={"field": "permissions", "missing": missing},
            )
        return permissions

    @staticmethod
    def _expiry(body: dict[str, Any], *, default_days: int) -> datetime | None:
        days = body.get("expiresInDays", default_days)
        if days is None:
            days = default_days
        if (
            isinstance(days, bool)
            or not isinstance(days, int | float)
            or not math.isfinite(days)
            or not 0 <= days <= _MAX_DAYS
        ):
            raise BadRequestError(
                f"expiresInDays must be a number of days from 0 (never) to {_MAX_DAYS}",
                details={"field": "expiresInDays"},
            )
        return None if days == 0 else datetime.now(UTC) + timedelta(days=days)

    def _rate_limit(self, caller: Caller, value: object) -> int | None:
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= _MAX_RATE_LIMIT
        ):
            raise BadRequestError(
                f"rateLimit must be a number of requests per hour from 1 to {_MAX_RATE_LIMIT}",
                details={"field": "rateLimit"},
            )
        if value > self._settings.api_key_rate_limit and not caller.is_admin:
            raise PermissionDeniedError(
                f"only an admin may set a key's rateLimit above the server's "
                f"{self._settings.api_key_rate_limit} requests per hour",
                details={"field": "rateLimit"},
            )
        return value
