"""``ConnectionTokens``: a connection's access token, fresh, for a run, and its refresh
serialized across runs, threads and servers.

Tokens are kept encrypted (a ``SecretBox``); only this module and the consent flow
(connections.py) ever hold them in plain text, and only in memory for the call at hand.

A token expiring within ``refresh_margin`` is refreshed first. Two runs wanting the same
connection at once must not both refresh (each refresh makes the other's token stale, and
Google limits how many live tokens a grant has): the store's ``take_refresh_lease`` is a
compare-and-set on the row, so exactly one caller wins. It refreshes and clears the lease;
the others wait for the lease to clear (polling the row), then read the new token. A lease
left by a process that died expires after ``lease``. A revoked grant (``invalid_grant``) marks
the connection ``needs_consent``, records why, and every later use fails at once with that
message until the user connects the account again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ..auth.secret_box import SecretBox
from ..errors import GoogleError
from ..integrations.google_api import GoogleApiSettings, in_google_thread
from ..integrations.google_oauth import GoogleOAuthClient, GrantRevokedError, TokenSet
from ..store.base import Store
from ..store.records import Integration, Scope, utcnow
from .common import store_call
from .values import Caller

__all__ = [
    "ConnectionTokens",
    "TokenTiming",
    "encrypted_tokens",
    "own_scope",
    "resolve_connection",
]

PROVIDER: Final = "google"
_POLL_SECONDS: Final = 0.1
_OAUTH_CALLS: Final = GoogleApiSettings()  # OAuth calls use none of it but the thread pool


def own_scope(caller: Caller) -> Scope:
    """The caller's own connections only, whatever their role: an admin manages users, not
    their Google accounts."""
    return Scope(caller.user.id, is_admin=False)


def encrypted_tokens(box: SecretBox, tokens: TokenSet) -> dict[str, object]:
    """The row values of ``tokens``: ciphertexts, expiry and scopes (a missing refresh token
    is left out, so that the one kept from an earlier grant stays)."""
    values: dict[str, object] = {
        "access_token_encrypted": box.encrypt(tokens.access_token),
        "expires_at": tokens.expires_at,
        "scopes": tokens.scopes,
    }
    if tokens.refresh_token:
        values["refresh_token_encrypted"] = box.encrypt(tokens.refresh_token)
    return values


def resolve_connection(rows: Sequence[Integration], ref: str | None) -> Integration:
    """The connection ``ref`` names among the owner's ``rows``: by id, or by the account's
    email (any case); None: the only one."""
    if ref is None or not str(ref).strip():
        if not rows:
            raise GoogleError(
                "no Google account is connected: connect one first (the Connections section "
                "of the Workscript panel, or %workscript connect google)",
                code="NO_CONNECTION",
            )
        if len(rows) > 1:
            emails = ", ".join(sorted(r.account_email or r.id for r in rows))
            raise GoogleError(
                f"several Google accounts are connected ({emails}): set connection to the "
                "one to use (its id or email)",
                code="AMBIGUOUS_CONNECTION",
            )
        return rows[0]
    wanted = str(ref).strip()
    for row in rows:
        if row.id == wanted or (row.account_email or "").lower() == wanted.lower():
            return row
    raise GoogleError(
        f"no Google connection {wanted[:200]!r}: use a connection id or the email of a "
        "connected account",
        code="CONNECTION_NOT_FOUND",
    )


@dataclass(frozen=True, slots=True)
class TokenTiming:
    """``refresh_margin``: refresh a token expiring sooner than this; ``lease``: how long a
    refresh may hold the connection before another process may take over; ``wait``: the
    longest a caller waits for another's refresh."""

    refresh_margin: timedelta = timedelta(minutes=5)
    lease: timedelta = timedelta(seconds=60)
    wait: timedelta = timedelta(seconds=65)


class ConnectionTokens:
    """Fresh access tokens of the owner's connections."""

    def __init__(
        self,
        store: Store,
        box: SecretBox,
        oauth: GoogleOAuthClient,
        *,
        timing: TokenTiming = TokenTiming(),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.box = box
        self.oauth = oauth
        self.timing = timing
        self.clock = clock

    async def _in_thread(self, fn: Callable[..., TokenSet], *args: object) -> TokenSet:
        return await in_google_thread(_OAUTH_CALLS, fn, *args)

    async def token(
        self, scope: Scope, ref: str | None, *, stale: str | None = None
    ) -> tuple[Integration, str]:
        """The connection ``ref`` names and its access token, refreshed when it expires
        within the margin, or (``stale``) when Google refused that very token."""
        rows = await store_call(self.store.integrations.list, scope, provider=PROVIDER)
        row = resolve_connection(rows, ref)
        return await self.fresh(scope, row, stale=stale)

    async def fresh(
        self, scope: Scope, row: Integration, *, stale: str | None = None
    ) -> tuple[Integration, str]:
        _usable(row)
        token = self._access(row)
        if token is not None and token != stale and not self._expiring(row):
            return row, token
        return await self._refresh(scope, row, stale)

    def _access(self, row: Integration) -> str | None:
        if row.access_token_encrypted is None:
            return None
        return self.box.decrypt(row.access_token_encrypted)

    def _expiring(self, row: Integration) -> bool:
        if row.expires_at is None:
            return False
        return row.expires_at - self.clock() <= self.timing.refresh_margin

    async def _refresh(
        self, scope: Scope, row: Integration, stale: str | None
    ) -> tuple[Integration, str]:
        integrations = self.store.integrations
        deadline = self.clock() + self.timing.wait
        while True:
            now = self.clock()
            if await store_call(
                integrations.take_refresh_lease, row.id, now + self.timing.lease, now
            ):
                try:
                    return await self._refresh_holding_lease(scope, row.id, stale)
                finally:
                    await store_call(integrations.release_refresh_lease, row.id)
            # another run or server refreshes it: wait for its lease to clear, then reread
            await asyncio.sleep(_POLL_SECONDS)
            row = await store_call(integrations.get, scope, row.id)
            _usable(row)
            token = self._access(row)
            settled = row.refreshing_until is None and token is not None and token != stale
            if settled and not self._expiring(row):
                assert token is not None
                return row, token
            if self.clock() > deadline:
                raise GoogleError(
                    "another run has been refreshing this Google connection for too long; "
                    "try again",
                    code="GOOGLE_UNAVAILABLE",
                )

    async def _refresh_holding_lease(
        self, scope: Scope, integration_id: str, stale: str | None
    ) -> tuple[Integration, str]:
        integrations = self.store.integrations
        # reread under the lease: another holder may have refreshed it a moment ago
        row = await store_call(integrations.get, scope, integration_id)
        _usable(row)
        token = self._access(row)
        if token is not None and token != stale and not self._expiring(row):
            return row, token
        if row.refresh_token_encrypted is None:
            raise await self._needs_consent(
                scope, row, "this Google connection has no refresh token: connect it again"
            )
        refresh_token = self.box.decrypt(row.refresh_token_encrypted)
        try:
            tokens = await self._in_thread(self.oauth.refresh, refresh_token, row.scopes)
        except GrantRevokedError as exc:
            raise await self._needs_consent(scope, row, exc.message) from None
        except GoogleError as exc:
            await store_call(integrations.update, scope, row.id, last_error=exc.message[:500])
            raise
        now = self.clock()
        row = await store_call(
            integrations.update,
            scope,
            row.id,
            **encrypted_tokens(self.box, tokens),
            status="active",
            last_error=None,
            last_refreshed_at=now,
        )
        return row, tokens.access_token

    async def _needs_consent(self, scope: Scope, row: Integration, message: str) -> GoogleError:
        await store_call(
            self.store.integrations.update,
            scope,
            row.id,
            status="needs_consent",
            last_error=message[:500],
        )
        return GoogleError(_consent_message(row, message), code="NEEDS_CONSENT")


def _consent_message(row: Integration, why: str) -> str:
    who = row.account_email or row.name or row.id
    return f"the Google connection {who} needs to be connected again: {why}"


def _usable(row: Integration) -> None:
    if row.status == "needs_consent":
        raise GoogleError(
            _consent_message(row, row.last_error or "its access was revoked"),
            code="NEEDS_CONSENT",
        )
