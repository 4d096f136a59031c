"""Sessions, refresh tokens, API keys, login attempts, password resets and rate counters in SQL.

Tokens and keys are looked up by their hash only (the unique indexes on ``token_hash`` and
``key_hash``); the plain values never reach the store. What must hold under concurrency (a
token rotated once, a reset used once, a rate limit never exceeded across servers) is one
transaction that starts with its conditional write or its lock, never with a plain read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, delete, func, insert, select, update
from sqlalchemy.dialects import mysql, sqlite

from ...errors import ConflictError, RecordNotFoundError, StoreUnavailableError
from ..base import CredentialStore
from ..interfaces.credentials import check_api_key_changes, check_counter_hit, check_rate_limit
from ..interfaces.users import string_tuple
from ..records import (
    ApiKey,
    PasswordReset,
    RefreshToken,
    Scope,
    Session,
    new_id,
    utcnow,
)
from ..tables import (
    api_keys,
    login_attempts,
    password_resets,
    rate_counters,
    refresh_tokens,
    sessions,
)
from .common import Database, Duplicates, get_owned, json_value, owned, row_values, to_record

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

    def revoke_user_sessions(self, user_id: str, at: datetime) -> int:
        return self._revoke_live(sessions, sessions.c.user_id == user_id, at)

    def delete_expired_sessions(self, now: datetime) -> int:
        with self._db.begin() as connection:
            result = connection.execute(delete(sessions).where(sessions.c.expires_at <= now))
        return int(result.rowcount)

    # -- refresh tokens --------------------------------------------------------------------

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
            expires_at=expires_at,
            family_id=family_id or token_id,
            session_id=session_id,
        )
        self._insert(refresh_tokens, token, _token_duplicates(user_id))
        return token

    def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self._find(  # type: ignore[no-any-return]
            refresh_tokens, RefreshToken, refresh_tokens.c.token_hash == token_hash
        )

    def revoke_refresh_token(
        self, token_id: str, at: datetime, *, replaced_by: str | None = None
    ) -> None:
        self._set(refresh_tokens, "refresh token", token_id, revoked_at=at, replaced_by=replaced_by)

    def rotate_refresh_token(
        self, token_id: str, new_hash: str, expires_at: datetime, at: datetime
    ) -> RefreshToken | None:
        new_token_id = new_id()
        with self._db.begin(_token_duplicates(None)) as connection:
            # The conditional write comes first: it takes the row's lock (MySQL) or the
            # database's write lock (SQLite) before anything is read, so of two rotations of
            # one token exactly one finds it live; the other matches no row and writes nothing.
            revoked = connection.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.id == token_id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=at, replaced_by=new_token_id)
            )
            if revoked.rowcount != 1:
                return None
            old = connection.execute(
                select(refresh_tokens).where(refresh_tokens.c.id == token_id)
            ).one()
            token = RefreshToken(
                id=new_token_id,
                user_id=old.user_id,
                token_hash=new_hash,
                created_at=utcnow(),
                expires_at=expires_at,
                family_id=old.family_id,
                session_id=old.session_id,
            )
            # a duplicate hash fails here and rolls the revocation back with it
            connection.execute(insert(refresh_tokens).values(row_values(token, refresh_tokens)))
        return token

    def revoke_refresh_family(self, family_id: str, at: datetime) -> int:
        return self._revoke_live(refresh_tokens, refresh_tokens.c.family_id == family_id, at)

    def revoke_user_refresh_tokens(self, user_id: str, at: datetime) -> int:
        return self._revoke_live(refresh_tokens, refresh_tokens.c.user_id == user_id, at)

    def _revoke_live(self, table: Table, condition: ColumnElement[bool], at: datetime) -> int:
        with self._db.begin() as connection:
            result = connection.execute(
                update(table).where(condition, table.c.revoked_at.is_(None)).values(revoked_at=at)
            )
        return int(result.rowcount)

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
        rate_limit: int | None = None,
    ) -> ApiKey:
        key = ApiKey.new(
            scope.user_id, name=name, prefix=prefix, key_hash=key_hash,
            scopes=string_tuple(scopes, "scopes"), expires_at=expires_at,
            rate_limit=check_rate_limit(rate_limit),
        )  # fmt: skip
        labels = {"key_hash": "this API key is already stored"}
        self._insert(
            api_keys, key, Duplicates("API key", "api_keys", labels, key.id, owner_id=scope.user_id)
        )
        return key

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        return self._find(api_keys, ApiKey, api_keys.c.key_hash == key_hash)  # type: ignore[no-any-return]

    def get_api_key(self, scope: Scope, key_id: str) -> ApiKey:
        with self._db.read() as connection:
            return get_owned(connection, api_keys, key_id, scope, "api key", ApiKey)

    def list_api_keys(self, scope: Scope) -> list[ApiKey]:
        statement = (
            select(api_keys)
            .where(*owned(api_keys, scope))
            .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return [to_record(ApiKey, row._mapping) for row in rows]

    def update_api_key(self, scope: Scope, key_id: str, **changes: Any) -> ApiKey:
        values = {name: json_value(value) for name, value in check_api_key_changes(changes).items()}
        with self._db.begin() as connection:
            changed = 0
            if values:
                changed = connection.execute(
                    update(api_keys)
                    .where(
                        api_keys.c.id == key_id,
                        api_keys.c.revoked_at.is_(None),
                        *owned(api_keys, scope),
                    )
                    .values(values)
                ).rowcount
            key = get_owned(connection, api_keys, key_id, scope, "api key", ApiKey)
            if not changed and key.revoked_at is not None:
                raise ConflictError(f"the api key {key_id!r} is revoked and cannot be changed")
        return key

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

    def failed_logins_since(
        self, username: str, since: datetime, *, limit: int = 100
    ) -> list[datetime]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        attempts = login_attempts.c
        mine = (attempts.username_key == username.lower(), attempts.at >= since)
        # Only a success inside the window can reset it: both reads use (username_key, at).
        last_success = (
            select(attempts.at)
            .where(*mine, attempts.succeeded.is_(True))
            .order_by(attempts.at.desc())
            .limit(1)
        )
        with self._db.read() as connection:
            reset_at = connection.execute(last_success).scalar()
            failures = select(attempts.at).where(*mine, attempts.succeeded.is_(False))
            if reset_at is not None:
                failures = failures.where(attempts.at > reset_at)
            rows = connection.execute(failures.order_by(attempts.at.desc()).limit(limit))
            return list(rows.scalars())

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

    def use_password_reset(self, reset_id: str, at: datetime) -> bool:
        with self._db.begin() as connection:
            # conditional: of two concurrent uses, one matches the unused row, the other none
            used = connection.execute(
                update(password_resets)
                .where(password_resets.c.id == reset_id, password_resets.c.used_at.is_(None))
                .values(used_at=at)
            )
            if used.rowcount == 1:
                return True
            exists = connection.execute(
                select(password_resets.c.id).where(password_resets.c.id == reset_id)
            ).first()
        if exists is None:
            raise RecordNotFoundError("password reset", reset_id)
        return False

    def use_all_password_resets(self, user_id: str, at: datetime) -> int:
        with self._db.begin() as connection:
            result = connection.execute(
                update(password_resets)
                .where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
                .values(used_at=at)
            )
        return int(result.rowcount)

    # -- rate counters ---------------------------------------------------------------------

    def hit_rate_counter(
        self, key: str, bucket: int, oldest_bucket: int, limit: int, *, wanted: int = 1
    ) -> tuple[int, int]:
        check_counter_hit(key, bucket, oldest_bucket, limit, wanted)
        for attempt in range(_DEADLOCK_RETRIES):
            try:
                with self._db.begin() as connection:
                    return _hit(connection, key, bucket, oldest_bucket, limit, wanted)
            except StoreUnavailableError as error:
                if not _deadlocked(error) or attempt == _DEADLOCK_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def prune_rate_counters(self, before_bucket: int) -> int:
        with self._db.begin() as connection:
            result = connection.execute(
                delete(rate_counters).where(rate_counters.c.bucket < before_bucket)
            )
        return int(result.rowcount)


# InnoDB resolves a lock cycle by rolling one transaction back: two first hits of a key (their
# gap locks are compatible, their inserts are not) or two hits across a bucket boundary.
# The loser runs again and then sees the winner's hit.
_DEADLOCK_RETRIES = 5
_MYSQL_DEADLOCK = 1213


def _deadlocked(error: StoreUnavailableError) -> bool:
    args: tuple[Any, ...] = tuple(getattr(getattr(error.__cause__, "orig", None), "args", ()))
    return bool(args) and args[0] == _MYSQL_DEADLOCK


def _hit(
    connection: Connection, key: str, bucket: int, oldest_bucket: int, limit: int, wanted: int
) -> tuple[int, int]:
    """One ``hit_rate_counter`` in the caller's transaction.

    The key's window is locked before it is summed, so concurrent hits (any server on the
    database) are counted one after the other: MySQL locks the rows and the gaps of the range
    (``SELECT … FOR UPDATE``); SQLite takes its database write lock with a first write that
    changes nothing (a read first would hold a snapshot that a later write cannot upgrade).
    """
    counters = rate_counters.c
    window = (counters.counter_key == key, counters.bucket >= oldest_bucket)
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.execute(update(rate_counters).where(*window).values(hits=counters.hits))
    hits = sum(connection.execute(select(counters.hits).where(*window).with_for_update()).scalars())
    granted = min(wanted, limit - hits)
    if granted <= 0:
        return hits, 0
    row = {"counter_key": key, "bucket": bucket, "hits": granted}
    statement: Any
    if dialect in ("mysql", "mariadb"):
        statement = mysql.insert(rate_counters).values(row)
        statement = statement.on_duplicate_key_update(hits=counters.hits + granted)
    else:
        statement = sqlite.insert(rate_counters).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[counters.counter_key, counters.bucket],
            set_={"hits": counters.hits + granted},
        )
    connection.execute(statement)
    return hits + granted, granted


def _token_duplicates(user_id: str | None) -> Duplicates:
    labels = {"token_hash": "this refresh token is already stored"}
    return Duplicates("refresh token", "refresh_tokens", labels, owner_id=user_id)
