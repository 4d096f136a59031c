"""``Connections``: a user's Google connections: the consent flow that makes them, and list,
get, rename, test and delete. ``gateway(caller)`` is the ``ctx.services.google`` of the
caller's runs (google_gateway.py); tokens come from ``ConnectionTokens``.

Needs the store, a ``SecretBox`` (tokens are encrypted before they reach the store) and the
OAuth client (integrations/google_oauth.py). Without either, every use case answers 503
GOOGLE_NOT_CONFIGURED, saying which setting is missing.

The consent flow: ``start`` saves a state row (random, single-use, bound to the caller, gone
after ``STATE_TTL``) with the PKCE verifier and the scopes asked for, and answers Google's
consent URL. Google sends the browser back to the callback with ``code`` and ``state``;
``finish`` consumes the state (refused when unknown, used, expired, or another logged-in
user's), exchanges the code with the verifier, asks Google who the account is, and saves the
connection: one per owner and Google account (connecting an account again updates its tokens
and scopes, and clears ``needs_consent``).

Connections are personal: every query is scoped to the caller's own user, admins included
(an admin manages users, not their Google accounts). No use case returns a token.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from ..auth.secret_box import SECRET_KEY_SETTING, SecretBox
from ..errors import (
    BadRequestError,
    GoogleError,
    GoogleNotConfiguredError,
    SecretUnreadableError,
)
from ..integrations.google_api import GoogleApiSettings, in_google_thread
from ..integrations.google_oauth import GoogleOAuthClient, GoogleOAuthConfig, make_code_verifier
from ..nodes.google_requests import GOOGLE_SCOPES, IDENTITY_SCOPES
from ..store.base import Store
from ..store.records import Integration, OAuthState, Scope, utcnow
from .common import store_call
from .connection_tokens import (
    PROVIDER,
    ConnectionTokens,
    TokenTiming,
    encrypted_tokens,
    own_scope,
)
from .values import Caller

__all__ = [
    "STATE_TTL",
    "ConnectionTest",
    "Connections",
    "FinishedConsent",
    "GoogleSettings",
    "check_scopes",
]

STATE_TTL: Final = timedelta(minutes=10)
MAX_NAME: Final = 200
MAX_RETURN_TO: Final = 2000
_CALLS: Final = GoogleApiSettings()
_TIMING: Final = TokenTiming()


@dataclass(frozen=True, slots=True)
class GoogleSettings:
    """What the server gives the connections: the box that encrypts tokens, the OAuth client's
    configuration (None: Google is off), the API client's settings and the token timing."""

    box: SecretBox | None = None
    oauth: GoogleOAuthConfig | None = None
    api: GoogleApiSettings = _CALLS
    timing: TokenTiming = _TIMING


@dataclass(frozen=True, slots=True)
class FinishedConsent:
    connection: Integration
    return_to: str | None
    created: bool


@dataclass(frozen=True, slots=True)
class ConnectionTest:
    ok: bool
    connection: Integration
    email: str | None = None
    error: str | None = None
    code: str | None = None


def check_scopes(values: Any) -> tuple[str, ...]:
    """The Google scopes of ``values`` (short names like ``gmail.send`` or full scope URLs),
    with the identity scopes added; at least one that is not an identity scope."""
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    if not isinstance(values, list | tuple) or not values:
        raise BadRequestError(
            'scopes must be a non-empty list, e.g. ["gmail.send", "calendar.readonly"]',
            details=[{"field": "scopes", "message": "one or more of " + ", ".join(GOOGLE_SCOPES)}],
        )
    known = set(GOOGLE_SCOPES.values())
    chosen: list[str] = list(IDENTITY_SCOPES)
    for index, value in enumerate(values):
        scope = GOOGLE_SCOPES.get(value) if isinstance(value, str) else None
        if scope is None and isinstance(value, str) and value in known:
            scope = value
        if scope is None:
            raise BadRequestError(
                f"scopes[{index}] {str(value)[:100]!r} is not a scope a connection may ask "
                "for: one of " + ", ".join(GOOGLE_SCOPES),
                details=[{"field": f"scopes[{index}]", "message": "unknown scope"}],
            )
        if scope not in chosen:
            chosen.append(scope)
    if len(chosen) == len(IDENTITY_SCOPES):
        raise BadRequestError(
            "scopes must ask for some access (Gmail, Calendar or Drive), not only who the "
            "account is",
            details=[{"field": "scopes", "message": "only identity scopes"}],
        )
    return tuple(chosen)


def check_return_to(value: Any) -> str | None:
    """A path on this server to go back to after the consent, never another site."""
    if value is None or value == "":
        return None
    if (
        not isinstance(value, str)
        or len(value) > MAX_RETURN_TO
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 for c in value)
    ):
        raise BadRequestError(
            "returnTo must be a path on this server starting with a single /",
            details=[{"field": "returnTo", "message": "not a local path"}],
        )
    return value


class Connections:
    """The Google connection use cases (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: GoogleSettings = GoogleSettings(),
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.box = box = settings.box
        self.oauth = oauth = GoogleOAuthClient(settings.oauth) if settings.oauth else None
        self.api = settings.api
        self.clock = clock
        self.tokens = (
            ConnectionTokens(store, box, oauth, timing=settings.timing, clock=clock)
            if box is not None and oauth is not None
            else None
        )

    @property
    def configured(self) -> bool:
        return self.tokens is not None

    def _require_configured(self) -> ConnectionTokens:
        if self.oauth is None:
            raise GoogleNotConfiguredError(
                "Google is not configured on this server: its admin sets GOOGLE_CLIENT_ID and "
                "GOOGLE_CLIENT_SECRET (c.WorkscriptApp.google_client_id / google_client_secret)"
            )
        if self.tokens is None:
            raise GoogleNotConfiguredError(
                "Google connections need a key to encrypt their tokens with: the server's "
                f"admin sets {SECRET_KEY_SETTING}"
            )
        return self.tokens

    # -- the consent flow -------------------------------------------------------------------

    async def start(
        self,
        caller: Caller,
        scopes: Any,
        *,
        return_to: Any = None,
        login_hint: Any = None,
    ) -> dict[str, Any]:
        """``{"url", "state", "expiresAt", "scopes"}``: where to send the browser."""
        caller.require("integration:create")
        self._require_configured()
        assert self.oauth is not None
        chosen = check_scopes(scopes)
        back = check_return_to(return_to)
        hint = login_hint if isinstance(login_hint, str) and len(login_hint) <= 320 else ""
        now = self.clock()
        record = OAuthState(
            state=secrets.token_urlsafe(32),
            user_id=caller.user.id,
            provider=PROVIDER,
            code_verifier=make_code_verifier(),
            redirect_uri=self.oauth.config.redirect_uri,
            created_at=now,
            expires_at=now + STATE_TTL,
            scopes=chosen,
            return_to=back,
        )
        integrations = self.store.integrations
        await store_call(integrations.prune_oauth_states, now)
        await store_call(integrations.save_oauth_state, record)
        url = self.oauth.consent_url(chosen, record.state, record.code_verifier, login_hint=hint)
        return {
            "url": url,
            "state": record.state,
            "expiresAt": record.expires_at,
            "scopes": list(chosen),
        }

    async def finish(
        self, state: str, code: str | None, error: str | None, *, user_id: str | None
    ) -> FinishedConsent:
        """Google's answer at the callback. ``user_id``: the logged-in user of the browser
        that came back, if any: the state must then be theirs. Refusals raise
        ``BadRequestError`` (a bad state) or ``GoogleError`` (consent refused, code refused)."""
        self._require_configured()
        assert self.oauth is not None and self.box is not None
        if not isinstance(state, str) or not 10 <= len(state) <= 200:
            raise _bad_state()
        record = await store_call(
            self.store.integrations.pop_oauth_state, state, user_id, self.clock()
        )
        if record is None:
            raise _bad_state()
        if error:
            why = "the consent was refused" if error == "access_denied" else error[:100]
            raise GoogleError(
                f"Google did not grant the access ({why})",
                code="CONSENT_REFUSED",
                reason=error[:100],
            )
        if not code or len(code) > 2000:
            raise BadRequestError("Google's answer has no authorization code")
        tokens = await in_google_thread(
            self.api, self.oauth.exchange, code, record.code_verifier, record.scopes
        )
        info = await in_google_thread(self.api, self.oauth.userinfo, tokens.access_token)
        scope = Scope(record.user_id, is_admin=False)
        values: dict[str, Any] = {
            **encrypted_tokens(self.box, tokens),
            "account_email": str(info.get("email") or "")[:320] or None,
            "account_name": str(info.get("name") or "")[:MAX_NAME] or None,
            "status": "active",
            "last_error": None,
            "last_refreshed_at": self.clock(),
        }
        integrations = self.store.integrations
        account_id = str(info["sub"])[:255]
        existing = await store_call(integrations.get_by_account, scope, PROVIDER, account_id)
        if existing is not None:
            row = await store_call(integrations.update, scope, existing.id, **values)
        else:
            row = await store_call(
                integrations.create, scope, provider=PROVIDER, account_id=account_id, **values
            )
        return FinishedConsent(row, record.return_to, existing is None)

    # -- the connections --------------------------------------------------------------------

    async def list(self, caller: Caller) -> Sequence[Integration]:
        caller.require("integration:read")
        return await store_call(self.store.integrations.list, own_scope(caller), provider=PROVIDER)

    async def get(self, caller: Caller, connection_id: str) -> Integration:
        caller.require("integration:read")
        return await store_call(self.store.integrations.get, own_scope(caller), connection_id)

    async def rename(
        self, caller: Caller, connection_id: str, fields: Mapping[str, Any]
    ) -> Integration:
        caller.require("integration:update")
        unknown = sorted(set(fields) - {"name"})
        if unknown:
            raise BadRequestError(
                f"only name can be changed, not {', '.join(unknown)}",
                details=[{"field": k, "message": "not changeable"} for k in unknown],
            )
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise BadRequestError(
                f"name must be text of 1 to {MAX_NAME} characters",
                details=[{"field": "name", "message": "1..200 characters"}],
            )
        return await store_call(
            self.store.integrations.update, own_scope(caller), connection_id, name=name.strip()
        )

    async def test(self, caller: Caller, connection_id: str) -> ConnectionTest:
        """Refresh the token if due and ask Google who the account is: ``ok`` or why not."""
        caller.require("integration:read")
        tokens = self._require_configured()
        assert self.oauth is not None
        scope = own_scope(caller)
        row = await store_call(self.store.integrations.get, scope, connection_id)
        try:
            row, token = await tokens.fresh(scope, row)
            try:
                info = await in_google_thread(self.api, self.oauth.userinfo, token)
            except GoogleError as exc:
                if exc.status != 401:
                    raise
                row, token = await tokens.fresh(scope, row, stale=token)
                info = await in_google_thread(self.api, self.oauth.userinfo, token)
        except GoogleError as exc:
            row = await store_call(self.store.integrations.get, scope, connection_id)
            return ConnectionTest(False, row, error=exc.message, code=exc.code)
        now = self.clock()
        await store_call(self.store.integrations.touch_used, row.id, now)
        row = await store_call(self.store.integrations.update, scope, row.id, last_error=None)
        return ConnectionTest(True, row, email=str(info.get("email") or "") or None)

    async def delete(self, caller: Caller, connection_id: str) -> bool:
        """Delete the connection and revoke its grant at Google; True when Google confirmed
        the revocation (the row goes either way: the user asked for it gone)."""
        caller.require("integration:delete")
        scope = own_scope(caller)
        row = await store_call(self.store.integrations.get, scope, connection_id)
        revoked = False
        if self.oauth is not None and self.box is not None:
            secret = row.refresh_token_encrypted or row.access_token_encrypted
            if secret is not None:
                try:
                    token: str | None = self.box.decrypt(secret)
                except SecretUnreadableError:  # made under a key no longer configured
                    token = None
                if token is not None:
                    revoked = await in_google_thread(self.api, self.oauth.revoke, token)
        await store_call(self.store.integrations.delete, scope, connection_id)
        return revoked

    def gateway(self, caller: Caller) -> Any:
        """``ctx.services.google`` of ``caller``'s runs (None when Google is not configured)."""
        if self.tokens is None:
            return None
        from .google_gateway import ConnectionGateway

        return ConnectionGateway(caller, self.tokens, self.api, clock=self.clock)


def _bad_state() -> BadRequestError:
    return BadRequestError(
        "this Google sign-in has expired, was already used, or was started by another user: "
        "start connecting again",
        details=[{"field": "state", "message": "unknown, used, expired or foreign"}],
    )
