"""The shared state of the in-memory store and the helpers every family uses.

One ``RLock`` guards every table: the families share it, so a call that spans tables (deleting a
user and everything it owns) is atomic, and reads never see half a write. Records are frozen
dataclasses kept as they are; JSON-shaped fields are copied through ``json`` on the way in and
out, so a caller can never mutate the store's data, and a value the SQL backend could not store
(a set, an object) is refused here too, which keeps the memory store an honest test double.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from ...errors import RecordNotFoundError
from ..records import (
    AiModel,
    AiUsage,
    ApiKey,
    Automation,
    ExecutionRecord,
    Integration,
    LoginAttempt,
    OAuthState,
    Page,
    PasswordReset,
    RefreshToken,
    Resource,
    ScheduleFire,
    Scope,
    Session,
    User,
    WorkflowRecord,
)

__all__ = [
    "Tables",
    "check_changes",
    "detach",
    "json_copy",
    "owned",
    "paginate",
    "utc",
]

R = TypeVar("R")
SortKey = tuple[datetime, str]
_TUPLE_FIELDS = frozenset({"roles", "scopes", "permissions"})


class Tables:
    """Every table of the store as a dict keyed by id, behind one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.password_hashes: dict[str, str | None] = {}
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.api_keys: dict[str, ApiKey] = {}
        self.login_attempts: dict[str, LoginAttempt] = {}
        self.password_resets: dict[str, PasswordReset] = {}
        self.rate_counters: dict[tuple[str, int], int] = {}  # (key, bucket) -> hits
        self.workflows: dict[str, WorkflowRecord] = {}
        self.executions: dict[str, ExecutionRecord] = {}
        self.automations: dict[str, Automation] = {}
        self.fires: dict[str, ScheduleFire] = {}
        self.fire_keys: dict[tuple[str, datetime], str] = {}  # the unique (automation, tick)
        self.integrations: dict[str, Integration] = {}
        self.oauth_states: dict[str, OAuthState] = {}
        self.resources: dict[str, Resource] = {}
        self.ai_models: dict[str, AiModel] = {}
        self.ai_usage: dict[str, AiUsage] = {}

    def require_user(self, user_id: str) -> None:
        """Every owned row points at a user (a foreign key in SQL): refuse an unknown owner."""
        if user_id not in self.users:
            raise RecordNotFoundError("user", user_id)

    def drop_automation(self, automation_id: str) -> None:
        """Remove an automation and its fires (the caller holds the lock)."""
        self.automations.pop(automation_id, None)
        for fire_id in [f.id for f in self.fires.values() if f.automation_id == automation_id]:
            fire = self.fires.pop(fire_id)
            self.fire_keys.pop((fire.automation_id, fire.scheduled_for), None)


def utc(value: datetime | None, name: str = "time") -> datetime | None:
    """An aware time converted to UTC; a naive one is refused, as the SQL backend refuses it."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} for {name}: the store takes UTC-aware times")
    return value.astimezone(UTC)


def json_copy(value: Any, name: str = "value") -> Any:
    """A deep copy made through JSON: exactly what a JSON column would give back."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not JSON-serialisable: {exc}") from exc


def _normalise(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value, name)
    if name in _TUPLE_FIELDS and value is not None:
        return tuple(str(v) for v in value)
    if isinstance(value, dict | list | tuple):
        return json_copy(value, name)
    return value


def normalise_record(record: R) -> R:
    """A record as the store keeps it: UTC times, copied JSON, tuples for role/scope lists."""
    changes = {f.name: _normalise(f.name, getattr(record, f.name)) for f in fields(record)}  # type: ignore[arg-type]
    return replace(record, **changes)  # type: ignore[type-var]


def detach(record: R) -> R:
    """A copy of ``record`` whose dicts and lists the caller may change freely."""
    copies = {
        f.name: json_copy(value)
        for f in fields(record)  # type: ignore[arg-type]
        if isinstance(value := getattr(record, f.name), dict | list)
    }
    return replace(record, **copies) if copies else record  # type: ignore[type-var]


def check_changes(kind: str, changes: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """Validate ``update(**changes)`` before anything is written; return normalised values."""
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValueError(f"cannot set {', '.join(unknown)} on a {kind}")
    return {name: _normalise(name, value) for name, value in changes.items()}


def owned(table: Mapping[str, R], scope: Scope, record_id: str, kind: str) -> R:
    """The row if the scope may see it; otherwise not found, exactly like a missing row."""
    row = table.get(record_id)
    if row is None or not scope.allows(getattr(row, "owner_id", None)):
        raise RecordNotFoundError(kind, record_id)
    return row


def created_key(row: Any) -> SortKey:
    return (row.created_at, row.id)


def encode_cursor(key: SortKey) -> str:
    raw = json.dumps([key[0].isoformat(), key[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at = datetime.fromisoformat(when)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid cursor {cursor!r}") from exc
    if at.tzinfo is None or not isinstance(row_id, str):
        raise ValueError(f"invalid cursor {cursor!r}")
    return (at.astimezone(UTC), row_id)


def paginate(
    rows: Iterable[R],
    *,
    limit: int,
    cursor: str | None,
    key: Callable[[Any], SortKey] = created_key,
    view: Callable[[R], R] = detach,
) -> Page:
    """Keyset paging, newest first: a page holds the rows strictly after the cursor's key, so
    rows inserted meanwhile (newer ones before the cursor) never shift what comes next."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    ordered = sorted(rows, key=key, reverse=True)
    if cursor is not None:
        after = decode_cursor(cursor)
        ordered = [row for row in ordered if key(row) < after]
    items = ordered[:limit]
    next_cursor = encode_cursor(key(items[-1])) if len(ordered) > limit else None
    return Page(items=tuple(view(row) for row in items), next_cursor=next_cursor)
