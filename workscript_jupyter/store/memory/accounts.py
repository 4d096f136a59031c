"""The credentials of users (sessions, refresh tokens, API keys, logins, resets, rate
counters), in memory. The one lock of ``Tables`` makes each compound step atomic (a rotation,
a use of a reset, a counted hit), as the SQL backend's transactions do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import ConflictError, RecordNotFoundError
from ..base import CredentialStore
from ..interfaces.credentials import (
    API_KEY_FIELDS,
    check_api_key_changes,
    check_counter_hit,
    check_rate_limit,
)
from ..interfaces.users import string_tuple
from ..records import (
    ApiKey,
    LoginAttempt,
    PasswordReset,
    RefreshToken,
    Scope,
    Session,
    new_id,
    utcnow,
)
from ._state import Tables, check_changes, owned, utc
from .users import case_key

__all__ = ["MemoryCredentials"]


def _aware(value: datetime, name: str) -> datetime:
    at = utc(value, name)
    assert at is not None
    return at


class MemoryCredentials(CredentialStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    # -- sessions -------------------------------------------------------------------------

    def create_session(
        self,
        user_id: str,
        expires_at: datetime,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> Session:
        session = Session(
            id=new_id(),
            user_id=user_id,
            created_at=utcnow(),
            expires_at=_aware(expires_at, "expires_at"),
            user_agent=user_agent,
            ip=ip,
        )
        with self._t.lock:
            self._t.require_user(user_id)
            self._t.sessions[session.id] = session
        return session

    def get_session(self, session_id: str) -> Session | None:
        with self._t.lock:
            return self._t.sessions.get(session_id)

    def _set_session(self, session_id: str, **values: Any) -> None:
        with self._t.lock:
            session = self._t.sessions.get(session_id)
            if session is None:
                raise RecordNotFoundError("session", session_id)
            self._t.sessions[session_id] = replace(session, **values)

    def touch_session(self, session_id: str, at: datetime) -> None:
        self._set_session(session_id, last_seen_at=_aware(at, "at"))

    def revoke_session(self, session_id: str, at: datetime) -> None:
        self._set_session(session_id, revoked_at=_aware(at, "at"))

    def revoke_user_sessions(self, user_id: str, at: datetime) -> int:
        return _revoke_live(self._t, self._t.sessions, _aware(at, "at"), user_id=user_id)

    def delete_expired_sessions(self, now: datetime) -> int:
        at = _aware(now, "now")
        with self._t.lock:
            expired = [k for k, s in self._t.sessions.items() if s.expires_at <= at]
            for key in expired:
                del self._t.sessions[key]
            return len(expired)

    # -- refresh tokens -------------------------------------------------------------------

    def add_refresh_token(
        self,
        user_id: str,
        token_hash: str,
        expires_at: datetime,
        *,
        family_id: str | None = None,
        session_id: str | None = None,
    ) -> RefreshToken:
        token_id = new_id()
        token = RefreshToken(
            id=token_id,
            user_id=user_id,
            token_hash=token_hash,
            created_at=utcnow(),
            expires_at=_aware(expires_at, "expires_at"),
            family_id=family_id or token_id,
            session_id=session_id,
        )
        with self._t.lock:
            self._store_token(token)
        return token

    def _store_token(self, token: RefreshToken) -> None:
        """Insert a token (the caller holds the lock)."""
        self._t.require_user(token.user_id)
        if any(t.token_hash == token.token_hash for t in self._t.refresh_tokens.values()):
            raise ConflictError("this refresh token hash is already stored")
        self._t.refresh_tokens[token.id] = token

    def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        with self._t.lock:
            return next(
                (t for t in self._t.refresh_tokens.values() if t.token_hash == token_hash), None
            )

    def revoke_refresh_token(
        self, token_id: str, at: datetime, *, replaced_by: str | None = None
    ) -> None:
        when = _aware(at, "at")
        with self._t.lock:
            token = self._t.refresh_tokens.get(token_id)
            if token is None:
                raise RecordNotFoundError("refresh token", token_id)
            self._t.refresh_tokens[token_id] = replace(
                token, revoked_at=when, replaced_by=replaced_by
            )

    def rotate_refresh_token(
        self, token_id: str, new_hash: str, expires_at: datetime, at: datetime
    ) -> RefreshToken | None:
        when, expires = _aware(at, "at"), _aware(expires_at, "expires_at")
        with self._t.lock:
            old = self._t.refresh_tokens.get(token_id)
            if old is None or old.revoked_at is not None:
                return None
            new = RefreshToken(
                id=new_id(),
                user_id=old.user_id,
                token_hash=new_hash,
                created_at=utcnow(),
                expires_at=expires,
                family_id=old.family_id,
                session_id=old.session_id,
            )
            self._store_token(new)  # first: a duplicate hash leaves the old token live
            self._t.refresh_tokens[token_id] = replace(old, revoked_at=when, replaced_by=new.id)
            return new

    def revoke_refresh_family(self, family_id: str, at: datetime) -> int:
        return _revoke_live(self._t, self._t.refresh_tokens, _aware(at, "at"), family_id=family_id)

    def revoke_user_refresh_tokens(self, user_id: str, at: datetime) -> int:
        return _revoke_live(self._t, self._t.refresh_tokens, _aware(at, "at"), user_id=user_id)

    # -- API keys -------------------------------------------------------------------------

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
        key = ApiKey.new(
            scope.user_id, name=name, prefix=prefix, key_hash=key_hash,
            scopes=string_tuple(scopes, "scopes"), expires_at=utc(expires_at, "expires_at"),
            rate_limit=check_rate_limit(rate_limit),
        )  # fmt: skip
        with self._t.lock:
            self._t.require_user(scope.user_id)
            if any(k.key_hash == key_hash for k in self._t.api_keys.values()):
                raise ConflictError("this API key hash is already stored")
            self._t.api_keys[key.id] = key
        return key

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        with self._t.lock:
            return next((k for k in self._t.api_keys.values() if k.key_hash == key_hash), None)

    def get_api_key(self, scope: Scope, key_id: str) -> ApiKey:
        with self._t.lock:
            return owned(self._t.api_keys, scope, key_id, "api key")

    def list_api_keys(self, scope: Scope) -> list[ApiKey]:
        with self._t.lock:
            keys = [k for k in self._t.api_keys.values() if scope.allows(k.owner_id)]
        return sorted(keys, key=lambda k: (k.created_at, k.id), reverse=True)

    def update_api_key(self, scope: Scope, key_id: str, **changes: Any) -> ApiKey:
        values = check_changes("api key", check_api_key_changes(changes), API_KEY_FIELDS)
        with self._t.lock:
            key = owned(self._t.api_keys, scope, key_id, "api key")
            if key.revoked_at is not None:
                raise ConflictError(f"the api key {key_id!r} is revoked and cannot be changed")
            key = self._t.api_keys[key_id] = replace(key, **values)
            return key

    def revoke_api_key(self, scope: Scope, key_id: str, at: datetime) -> None:
        when = _aware(at, "at")
        with self._t.lock:
            key = owned(self._t.api_keys, scope, key_id, "api key")
            self._t.api_keys[key_id] = replace(key, revoked_at=when)

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        when = _aware(at, "at")
        with self._t.lock:
            key = self._t.api_keys.get(key_id)
            if key is None:
                raise RecordNotFoundError("api key", key_id)
            self._t.api_keys[key_id] = replace(key, last_used_at=when)

    # -- login attempts -------------------------------------------------------------------

    def record_login_attempt(
        self, username: str, succeeded: bool, at: datetime, *, ip: str | None = None
    ) -> None:
        attempt = LoginAttempt(
            id=new_id(), username=username, succeeded=succeeded, at=_aware(at, "at"), ip=ip
        )
        with self._t.lock:
            self._t.login_attempts[attempt.id] = attempt

    def count_failed_logins(self, username: str, since: datetime) -> int:
        key, start = case_key(username), _aware(since, "since")
        with self._t.lock:
            return sum(
                1
                for a in self._t.login_attempts.values()
                if not a.succeeded and case_key(a.username) == key and a.at >= start
            )

    def failed_logins_since(
        self, username: str, since: datetime, *, limit: int = 100
    ) -> list[datetime]:
        _check_limit(limit)
        key, start = case_key(username), _aware(since, "since")
        with self._t.lock:
            attempts = [
                a
                for a in self._t.login_attempts.values()
                if case_key(a.username) == key and a.at >= start
            ]
        successes = [a.at for a in attempts if a.succeeded]
        last_success = max(successes) if successes else None
        failures = sorted(
            (
                a.at
                for a in attempts
                if not a.succeeded and (last_success is None or a.at > last_success)
            ),
            reverse=True,
        )
        return failures[:limit]

    # -- password resets ------------------------------------------------------------------

    def create_password_reset(
        self, user_id: str, token_hash: str, expires_at: datetime
    ) -> PasswordReset:
        reset = PasswordReset(
            id=new_id(),
            user_id=user_id,
            token_hash=token_hash,
            created_at=utcnow(),
            expires_at=_aware(expires_at, "expires_at"),
        )
        with self._t.lock:
            self._t.require_user(user_id)
            if any(r.token_hash == token_hash for r in self._t.password_resets.values()):
                raise ConflictError("this password reset token hash is already stored")
            self._t.password_resets[reset.id] = reset
        return reset

    def find_password_reset(self, token_hash: str) -> PasswordReset | None:
        with self._t.lock:
            return next(
                (r for r in self._t.password_resets.values() if r.token_hash == token_hash), None
            )

    def use_password_reset(self, reset_id: str, at: datetime) -> bool:
        when = _aware(at, "at")
        with self._t.lock:
            reset = self._t.password_resets.get(reset_id)
            if reset is None:
                raise RecordNotFoundError("password reset", reset_id)
            if reset.used_at is not None:
                return False
            self._t.password_resets[reset_id] = replace(reset, used_at=when)
            return True

    def use_all_password_resets(self, user_id: str, at: datetime) -> int:
        when = _aware(at, "at")
        with self._t.lock:
            unused = [
                r for r in self._t.password_resets.values()
                if r.user_id == user_id and r.used_at is None
            ]  # fmt: skip
            for reset in unused:
                self._t.password_resets[reset.id] = replace(reset, used_at=when)
            return len(unused)

    # -- rate counters --------------------------------------------------------------------

    def hit_rate_counter(
        self, key: str, bucket: int, oldest_bucket: int, limit: int, *, wanted: int = 1
    ) -> tuple[int, int]:
        check_counter_hit(key, bucket, oldest_bucket, limit, wanted)
        counters = self._t.rate_counters
        with self._t.lock:
            hits = sum(n for (k, b), n in counters.items() if k == key and b >= oldest_bucket)
            granted = min(wanted, limit - hits)
            if granted <= 0:
                return hits, 0
            counters[(key, bucket)] = counters.get((key, bucket), 0) + granted
            return hits + granted, granted

    def prune_rate_counters(self, before_bucket: int) -> int:
        with self._t.lock:
            old = [k for k in self._t.rate_counters if k[1] < before_bucket]
            for counter in old:
                del self._t.rate_counters[counter]
            return len(old)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, not {limit!r}")


def _revoke_live(tables: Tables, table: dict[str, Any], at: datetime, **match: str) -> int:
    """Revoke the rows of ``table`` that match and are not revoked yet; how many."""
    with tables.lock:
        live = [
            row for row in table.values()
            if row.revoked_at is None and all(getattr(row, k) == v for k, v in match.items())
        ]  # fmt: skip
        for row in live:
            table[row.id] = replace(row, revoked_at=at)
        return len(live)
