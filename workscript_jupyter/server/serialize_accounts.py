"""The JSON of users and API keys in answers: never a password hash, a key's hash or its secret
(a new key's secret is added by the creation answer alone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..auth.permissions import permissions_of
from ..store.records import ApiKey, User
from .serialize import iso

__all__ = ["key_json", "user_json"]


def _time(value: datetime | None) -> str | None:
    return iso(value)


def user_json(user: User) -> dict[str, Any]:
    roles = list(user.roles)
    return {
        "id": user.id,
        "email": user.email,
        "username": user.username,
        "name": user.display_name,
        "role": roles[0] if roles else "user",
        "roles": roles,
        "extraPermissions": list(user.permissions),
        "permissions": sorted(permissions_of(user.roles, user.permissions)),
        "isActive": user.is_active,
        "source": user.source,
        "createdAt": _time(user.created_at),
        "lastLoginAt": _time(user.last_login_at),
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "ownerId": key.owner_id,
        "name": key.name,
        "prefix": key.prefix,
        "permissions": list(key.scopes),
        "rateLimit": key.rate_limit,
        "createdAt": _time(key.created_at),
        "expiresAt": _time(key.expires_at),
        "lastUsedAt": _time(key.last_used_at),
        "revokedAt": _time(key.revoked_at),
        "active": key.revoked_at is None,
    }
