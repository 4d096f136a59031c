"""Sessions, refresh tokens, API keys, login attempts and password resets in SQL.

Tokens and keys are looked up by their hash only (the unique indexes on ``token_hash`` and
``key_hash``); the plain values never reach the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update

from ...errors import RecordNotFoundError
from ..base import CredentialStore
from ..records import (
    ApiKey,
    PasswordReset,
    RefreshToken,
    Scope,
    Session,
    new_id,
    utcnow,
)
from ..tables import api_keys, login_attempts, password_resets, refresh_tokens, sessions
from .common import Database, Duplicates, owned, row_values, to_record

__all__ = ["SqlCredentialStore"]


class SqlCredentialStore(CredentialStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- helpers ---------------------------------------------------------------------------

    def _insert(self, table: Table, record: Any, duplicates: Duplicates) -> None:
        values = row_values(record, table)
        with self._db.begin(duplicates) as connection:
            connection.execute(insert(table).values(values))

    def _find(self, table: Table, cls: type[Any], *conditions: Any) -> Any:
        with self._db.read() as connection:
            row = connection.execute(select(table).where(*conditions)).first()
        return None if row is None else to_record(cls, row._mapping)

    def _set(self, table: Table, kind: str, row_id: str, **values: Any) -> None:
        with self._db.begin() as connection:
            result = connection.execute(update(table).where(table.c.id == row_id).values(values))
            if result.rowcount == 0:
                raise RecordNotFoundError(kind, row_id)

    # -- sessions --------------------------------------------------------------------------

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
            expires_at=expires_at,
            user_agent=user_agent,
            ip=ip,
        )
        self._insert(
            sessions,
            session,
            Duplicates("session", "sessions", record_id=session.id, owner_id=user_id),
        )
        return session

    def get_session(self, session_id: str) -> Session | None:
        return self._find(sessions, Session, sessions.c.id == session_id)  # type: ignore[no-any-return]

    def touch_session(self, session_id: str, at: datetime) -> None:
        self._set(sessions, "session", session_id, last_seen_at=at)

    def revoke_session(self, session_id: str, at: datetime) -> None:
        self._set(sessions, "session", session_id, revoked_at=at)

    def delete_expired_sessions(self, now: datetime) -> int:
        with self._db.begin() as connection:
            result = connection.execute(delete(sessions).where(sessions.c.expires_at <= now))
        return int(result.rowcount)

    # -- refresh tokens --------------------------------------------------------------------

    def add_refresh_token(
        self, user_id: str, token_hash: str, expires_at: datetime
    ) -> RefreshToken:
        token = RefreshToken(
            id=new_id(),
            user_id=user_id,
            token_hash=token_hash,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        labels = {"token_hash": "this refresh token is already stored"}
        self._insert(
            refresh_tokens,
            token,
            Duplicates("refresh token", "refresh_tokens", labels, owner_id=user_id),
        )
        return token

    def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self._find(  # type: ignore[no-any-return]
            refresh_tokens, RefreshToken, refresh_tokens.c.token_hash == token_hash
        )

    def revoke_refresh_token(
        self, token_id: str, at: datetime, *, replaced_by: str | None = None
    ) -> None:
        self._set(refresh_tokens, "refresh token", token_id, revoked_at=at, replaced_by=replaced_by)

    # -- API keys --------------------------------------------------------------------------

    def create_api_key(
        self,
        scope: Scope,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
    ) -> ApiKey:
        key = ApiKey.new(
            scope.user_id, name=name, prefix=prefix, key_hash=key_hash, scopes=scopes,
            expires_at=expires_at,
        )  # fmt: skip
        labels = {"key_hash": "this API key is already stored"}
        self._insert(
            api_keys, key, Duplicates("API key", "api_keys", labels, key.id, owner_id=scope.user_id)
        )
        return key

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        return self._find(api_keys, ApiKey, api_keys.c.key_hash == key_hash)  # type: ignore[no-any-return]

    def list_api_keys(self, scope: Scope) -> list[ApiKey]:
        statement = (
            select(api_keys)
            .where(*owned(api_keys, scope))
            .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return [to_record(ApiKey, row._mapping) for row in rows]

    def revoke_api_key(self, scope: Scope, key_id: str, at: datetime) -> None:
        with self._db.begin() as connection:
            result = connection.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, *owned(api_keys, scope))
                .values(revoked_at=at)
            )
            if result.rowcount == 0:
                raise RecordNotFoundError("api key", key_id)

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        self._set(api_keys, "api key", key_id, last_used_at=at)

    # -- login attempts --------------------------------------------------------------------

    def record_login_attempt(
        self, username: str, succeeded: bool, at: datetime, *, ip: str | None = None
    ) -> None:
        values = {
            "id": new_id(),
            "username_key": username.lower(),
            "succeeded": succeeded,
            "at": at,
            "ip": ip,
        }
        with self._db.begin() as connection:
            connection.execute(insert(login_attempts).values(values))

    def count_failed_logins(self, username: str, since: datetime) -> int:
        statement = (
            select(func.count())
            .select_from(login_attempts)
            .where(
                login_attempts.c.username_key == username.lower(),
                login_attempts.c.succeeded.is_(False),
                login_attempts.c.at >= since,
            )
        )
        with self._db.read() as connection:
            return int(connection.execute(statement).scalar_one())

    # -- password resets -------------------------------------------------------------------

    def create_password_reset(
        self, user_id: str, token_hash: str, expires_at: datetime
    ) -> PasswordReset:
        reset = PasswordReset(
            id=new_id(),
            user_id=user_id,
            token_hash=token_hash,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        labels = {"token_hash": "this password reset token is already stored"}
        duplicates = Duplicates(
            "password reset", "password_resets", labels, reset.id, owner_id=user_id
        )
        self._insert(password_resets, reset, duplicates)
        return reset

    def find_password_reset(self, token_hash: str) -> PasswordReset | None:
        return self._find(  # type: ignore[no-any-return]
            password_resets, PasswordReset, password_resets.c.token_hash == token_hash
        )

    def use_password_reset(self, reset_id: str, at: datetime) -> None:
        self._set(password_resets, "password reset", reset_id, used_at=at)
