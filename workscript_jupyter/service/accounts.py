"""``Accounts``: register, log in, refresh, log out, change a password — the JWT life cycle.

- A login checks the client address's limit (login, register and reset requests together),
  then the account's lockout (``max_login_attempts`` failures within ``lockout_seconds``, reset by
  a success: 429 with the time left), then the password. An unknown email costs the same bcrypt
  verification and gets the same answer as a wrong password, so neither the body nor the time
  tells whether an account exists. Attempts are recorded for unknown emails too: the lockout
  of an email that has no account behaves like that of one that has.
- A login opens a session (Redis or the database: a restart logs nobody out) and issues an
  access token for it and a refresh token, stored hashed, starting a new family.
- A refresh rotates: the presented token is revoked and replaced in its family. Presenting a
  token that was already rotated means it was copied: the whole family and its session are
  revoked (the thief and the user both have to log in again).
- Logout ends the session (every access token of it stops working) and revokes the presented
  refresh token's family; a password change ends every session and refresh token of the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..auth.passwords import PasswordHasher, check_password_rules
from ..auth.tokens import IssuedToken, token_hash
from ..errors import (
    AccountLockedError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    PermissionDeniedError,
)
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import User
from .account_settings import AccountSettings
from .authentication import Authenticator
from .values import Caller

if TYPE_CHECKING:
    from ..auth.rate_limit import RateLimiter
    from ..auth.sessions import SessionBackend
    from ..auth.tokens import TokenIssuer

__all__ = ["Accounts", "ClientInfo", "LoginResult", "normalize_email", "revoke_everything"]

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
_WRONG_LOGIN = "the email or password is wrong"


def normalize_email(value: object, *, field: str = "email") -> str:
    """The email lower-cased and trimmed; a BadRequestError naming ``field`` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequestError(f"{field} is required (an email address)", details={"field": field})
    email = value.strip().lower()
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise BadRequestError(f"{field} is not an email address", details={"field": field})
    return email


def _password(value: object, *, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"{field} is required", details={"field": field})
    if len(value) > 1024:  # never feed bcrypt (or anything) a megabyte
        raise BadRequestError(f"{field} is too long", details={"field": field})
    return value


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from (for the per-address limit, and kept with the session)."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User
    access: IssuedToken
    refresh: IssuedToken
    session_id: str
    session_expires_at: datetime


async def revoke_everything(
    store: Store, sessions: SessionBackend, authenticator: Authenticator, user_id: str
) -> None:
    """End every session and refresh token of a user (password changed or reset, disabled)."""
    now = datetime.now(UTC)
    await run_off_loop(store.credentials.revoke_user_refresh_tokens, user_id, now)
    await sessions.revoke_user(user_id)
    authenticator.forget_user(user_id)


class Accounts:
    """The login use cases; one per server."""

    def __init__(
        self,
        store: Store,
        *,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        sessions: SessionBackend,
        limiter: RateLimiter,
        authenticator: Authenticator,
        settings: AccountSettings,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._tokens = tokens
        self._sessions = sessions
        self._limiter = limiter
        self._authenticator = authenticator
        self.settings = settings
        # password checks of one account run one at a time on this server: the lockout is
        # read, the password checked and the failure recorded before the next attempt is read
        # (40 concurrent guesses were all checked against a limit of 5)
        self._account_locks: dict[str, asyncio.Lock] = {}
        self._account_waiting: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, account: str) -> AsyncIterator[None]:
        lock = self._account_locks.setdefault(account, asyncio.Lock())
        self._account_waiting[account] = self._account_waiting.get(account, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._account_waiting[account] -= 1
            if not self._account_waiting[account]:
                del self._account_waiting[account]
                self._account_locks.pop(account, None)

    async def limit_client(self, client: ClientInfo, what: str) -> None:
        """The per-address limit of login, register and reset requests (429 past it)."""
        settings = self.settings
        decision = await self._limiter.hit(
            f"ip:{client.ip or 'unknown'}", settings.auth_ip_limit, settings.auth_ip_window_seconds
        )
        decision.raise_if_refused(f"too many {what} requests from this address")

    # -- register and log in -----------------------------------------------------------------

    async def register(self, body: dict[str, Any], client: ClientInfo) -> LoginResult:
        if not self.settings.allow_registration:
            raise PermissionDeniedError(
                "registration is off on this server: an admin creates accounts "
                "(POST /workscript/users, or `workscript users create EMAIL`)"
            )
        await self.limit_client(client, "registration")
        self._tokens.require_enabled()  # logins off: refuse before creating the account
        email = normalize_email(body.get("email"))
        password = _password(body.get("password"), field="password")
        check_password_rules(password)
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise BadRequestError(
                "name must be a string of at most 200 characters", details={"field": "name"}
            )
        password_hash = await self._hasher.hash(password)
        try:
            user = await run_off_loop(
                self._store.users.create,
                email,
                email=email,
                password_hash=password_hash,
                roles=("user",),
                display_name=name or None,
            )
        except ConflictError:
            raise ConflictError("an account with this email already exists") from None
        return await self._open_session(user, client)

    async def login(self, body: dict[str, Any], client: ClientInfo) -> LoginResult:
        await self.limit_client(client, "login")
        email = normalize_email(body.get("email"))
        password = _password(body.get("password"), field="password")
        async with self._one_at_a_time(email):
            user = await self._check_password(email, password, client)
        return await self._open_session(user, client)

    async def _check_password(self, email: str, password: str, client: ClientInfo) -> User:
        await self._check_lockout(email)
        users = self._store.users
        user = await run_off_loop(users.find, email=email)
        hashed = await run_off_loop(users.get_password_hash, user.id) if user else None
        valid = await self._hasher.verify(password, hashed)  # the same cost without a user
        now = datetime.now(UTC)
        record = self._store.credentials.record_login_attempt
        if not valid or user is None:
            await run_off_loop(record, email, False, now, ip=client.ip)
            raise AuthenticationError(_WRONG_LOGIN)
        if not user.is_active:
            raise PermissionDeniedError("this account is disabled; ask an admin")
        await run_off_loop(record, email, True, now, ip=client.ip)
        return await run_off_loop(users.update, user.id, last_login_at=now)

    async def _check_lockout(self, email: str) -> None:
        settings = self.settings
        now = datetime.now(UTC)
        window = timedelta(seconds=settings.lockout_seconds)
        failures = await run_off_loop(
            self._store.credentials.failed_logins_since,
            email,
            now - window,
            limit=settings.max_login_attempts,
        )
        if len(failures) < settings.max_login_attempts:
            return
        # locked until the oldest of the last max_login_attempts failures leaves the window
        unlock_at = min(failures) + window
        left = max(1.0, (unlock_at - now).total_seconds())
        raise AccountLockedError(
            f"too many failed logins: this account is locked for {int(left // 60)} min "
            f"{int(left % 60)} s",
            retry_after=left,
            details={"retryAfter": int(left)},
        )

    async def _open_session(self, user: User, client: ClientInfo) -> LoginResult:
        session = await self._sessions.create(
            user.id,
            ttl_seconds=self.settings.session_seconds,
            user_agent=(client.user_agent or "")[:512] or None,
            ip=client.ip,
        )
        access = self._tokens.issue_access(user.id, session_id=session.id)
        refresh = self._tokens.issue_refresh(user.id, session_id=session.id, family_id=None)
        await run_off_loop(
            self._store.credentials.add_refresh_token,
            user.id,
            token_hash(refresh.token),
            refresh.expires_at,
            session_id=session.id,
        )
        return LoginResult(user, access, refresh, session.id, session.expires_at)

    # -- refresh and log out -----------------------------------------------------------------

    async def refresh(self, body: dict[str, Any]) -> LoginResult:
        token = body.get("refreshToken")
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise BadRequestError("refreshToken is required", details={"field": "refreshToken"})
        claims = self._tokens.verify_refresh(token)
        credentials = self._store.credentials
        row = await run_off_loop(credentials.find_refresh_token, token_hash(token))
        if row is None or row.user_id != claims.user_id:
            raise AuthenticationError("the refresh token is not recognised")
        now = datetime.now(UTC)
        if row.revoked_at is not None:
            await self._revoke_family(row.family_id, row.session_id)
            raise AuthenticationError(
                "this refresh token was already used: every token of its login is now revoked; "
                "log in again"
            )
        if row.expires_at <= now:
            raise AuthenticationError("the refresh token has expired; log in again")
        session = await self._sessions.get(row.session_id) if row.session_id else None
        if row.session_id and session is None:
            raise AuthenticationError("the session has ended; log in again")
        user = await run_off_loop(self._store.users.get, row.user_id)
        if not user.is_active:
            raise PermissionDeniedError("this account is disabled; ask an admin")
        fresh = self._tokens.issue_refresh(
            user.id, session_id=row.session_id, family_id=row.family_id
        )
        rotated = await run_off_loop(
            credentials.rotate_refresh_token, row.id, token_hash(fresh.token), fresh.expires_at, now
        )
        if rotated is None:  # another request rotated it first: the same token presented twice
            await self._revoke_family(row.family_id, row.session_id)
            raise AuthenticationError(
                "this refresh token was already used: every token of its login is now revoked"
            )
        access = self._tokens.issue_access(user.id, session_id=row.session_id)
        expires = session.expires_at if session is not None else fresh.expires_at
        return LoginResult(user, access, fresh, row.session_id or "", expires)

    async def _revoke_family(self, family_id: str, session_id: str | None) -> None:
        await run_off_loop(
            self._store.credentials.revoke_refresh_family, family_id, datetime.now(UTC)
        )
        if session_id:
            await self._sessions.revoke(session_id)
            self._authenticator.forget_session(session_id)

    async def logout(self, caller: Caller, session_id: str | None, body: dict[str, Any]) -> None:
        token = body.get("refreshToken")
        if token is not None:
            if not isinstance(token, str) or len(token) > 4096:
                raise BadRequestError(
                    "refreshToken must be a string", details={"field": "refreshToken"}
                )
            row = await run_off_loop(self._store.credentials.find_refresh_token, token_hash(token))
            if row is not None and row.user_id == caller.user_id:
                await self._revoke_family(row.family_id, row.session_id)
        if session_id:
            await self._sessions.revoke(session_id)
            self._authenticator.forget_session(session_id)

    # -- passwords ---------------------------------------------------------------------------

    async def change_password(self, caller: Caller, body: dict[str, Any]) -> None:
        if caller.via == "api_key":
            raise PermissionDeniedError("an API key cannot change its user's password")
        current = _password(body.get("currentPassword"), field="currentPassword")
        new = _password(body.get("newPassword"), field="newPassword")
        users = self._store.users
        hashed = await run_off_loop(users.get_password_hash, caller.user_id)
        if hashed is None:
            raise BadRequestError(
                "this account has no workscript password (it signs in through Jupyter)"
            )
        # wrong current passwords count towards the account's lockout, like failed logins:
        # a stolen token must not let its holder guess the password without end
        account = caller.user.email or caller.user.username
        record = self._store.credentials.record_login_attempt
        async with self._one_at_a_time(account):
            await self._check_lockout(account)
            if not await self._hasher.verify(current, hashed):
                await run_off_loop(record, account, False, datetime.now(UTC))
                raise BadRequestError(
                    "currentPassword is wrong", details={"field": "currentPassword"}
                )
            await run_off_loop(record, account, True, datetime.now(UTC))
        check_password_rules(new, field="newPassword")
        await run_off_loop(users.set_password_hash, caller.user_id, await self._hasher.hash(new))
        await revoke_everything(self._store, self._sessions, self._authenticator, caller.user_id)
