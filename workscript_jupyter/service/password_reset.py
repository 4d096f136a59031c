"""``PasswordResets``: forgotten passwords, by a single-use link sent by email.

- ``request``: always the same answer, whether the email has an account or not. The token is
  ``reset_token_length`` hex characters (256 bits by default), only its SHA-256 is stored, and
  it expires after ``reset_expiry_seconds``. With no mail backend configured the request is a
  503 that says so — never a silent success that sends nothing.
- ``validate`` tells whether a token can still be used; ``complete`` uses it exactly once (two
  concurrent uses: one wins), sets the new password, marks every other open reset of the user
  used and ends all their sessions and refresh tokens.

Mail goes out through the ``Mailer`` (SMTP off the loop, with a timeout and retries). If the
mail server is down, the request fails with a 503 for every address alike: for an email without
an account the mail server is still checked (a connection and ``NOOP``), so a failure does not
reveal which addresses have accounts.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..auth.passwords import PasswordHasher, check_password_rules
from ..auth.tokens import token_hash
from ..errors import BadRequestError, MailUnavailableError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import PasswordReset
from .account_settings import AccountSettings
from .accounts import Accounts, ClientInfo, normalize_email, revoke_everything
from .authentication import Authenticator

if TYPE_CHECKING:
    from ..auth.mail import Mailer
    from ..auth.sessions import SessionBackend

__all__ = ["PasswordResets"]

_INVALID = "the reset link is not valid or has expired; ask for a new one"
_MAIL_OFF = (
    "password reset by email is not available: this server has no email configured "
    "(an admin sets SMTP_HOST and EMAIL_FROM, or c.WorkscriptApp.email_backend)"
)


class PasswordResets:
    def __init__(
        self,
        store: Store,
        *,
        accounts: Accounts,
        hasher: PasswordHasher,
        sessions: SessionBackend,
        authenticator: Authenticator,
        mailer: Mailer | None,
        settings: AccountSettings,
        reset_link: Callable[[str], str],
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._hasher = hasher
        self._sessions = sessions
        self._authenticator = authenticator
        self._mailer = mailer
        self._settings = settings
        self._reset_link = reset_link

    async def request(self, body: dict[str, Any], client: ClientInfo) -> None:
        await self._accounts.limit_client(client, "password reset")
        email = normalize_email(body.get("email"))
        if self._mailer is None:
            raise MailUnavailableError(_MAIL_OFF)
        from ..auth.mail import MailMessage

        user = await run_off_loop(self._store.users.find, email=email)
        if user is None or not user.is_active or user.email is None:
            await self._mailer.check()  # the same failure as a send when the server is down
            return
        token = secrets.token_hex(self._settings.reset_token_length // 2)
        expires = datetime.now(UTC) + timedelta(seconds=self._settings.reset_expiry_seconds)
        await run_off_loop(
            self._store.credentials.create_password_reset, user.id, token_hash(token), expires
        )
        minutes = self._settings.reset_expiry_seconds // 60
        await self._mailer.send(
            MailMessage(
                to=user.email,
                subject="Reset your Workscript password",
                text=(
                    "Someone (hopefully you) asked to reset the password of the Workscript "
                    f"account {user.email}.\n\nOpen this link within {minutes} minutes to "
                    f"choose a new password:\n\n{self._reset_link(token)}\n\n"
                    f"Or send the token with POST /workscript/password-reset/complete:\n{token}\n\n"
                    "If you did not ask for this, ignore this message: your password stays."
                ),
            )
        )

    async def validate(self, body: dict[str, Any]) -> None:
        await self._usable(body)

    async def complete(self, body: dict[str, Any]) -> None:
        reset = await self._usable(body)
        password = body.get("password")
        if not isinstance(password, str) or not password or len(password) > 1024:
            raise BadRequestError("password is required", details={"field": "password"})
        check_password_rules(password)
        password_hash = await self._hasher.hash(password)
        now = datetime.now(UTC)
        credentials = self._store.credentials
        if not await run_off_loop(credentials.use_password_reset, reset.id, now):
            raise BadRequestError(_INVALID, details={"field": "token"})  # used meanwhile
        await run_off_loop(self._store.users.set_password_hash, reset.user_id, password_hash)
        await run_off_loop(credentials.use_all_password_resets, reset.user_id, now)
        await revoke_everything(self._store, self._sessions, self._authenticator, reset.user_id)

    async def _usable(self, body: dict[str, Any]) -> PasswordReset:
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise BadRequestError("token is required", details={"field": "token"})
        if len(token) > 256:
            raise BadRequestError(_INVALID, details={"field": "token"})
        reset = await run_off_loop(
            self._store.credentials.find_password_reset, token_hash(token.strip())
        )
        if reset is None or reset.used_at is not None or reset.expires_at <= datetime.now(UTC):
            raise BadRequestError(_INVALID, details={"field": "token"})
        return reset
