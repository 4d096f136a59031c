"""Google connections over REST (issue 18): connect, list, get, rename, test, delete, and the
OAuth callback Google sends the browser back to.

- ``GET /workscript/integrations`` (``integration:read``) — the caller's connections, whether
  Google is configured, and the scopes a connection may ask for (short name → scope URL)
- ``POST /workscript/integrations/google/connect`` (``integration:create``) — ``{scopes,
  returnTo?, loginHint?}`` → ``{url, state, expiresAt, scopes}``: the client opens ``url``
- ``GET /workscript/auth/google/callback`` — public: the flow's single-use state authenticates
  it (a browser logged in as someone else is refused); answers an HTML page
- ``GET|PATCH|DELETE /workscript/integrations/{id}`` and ``POST …/{id}/test``

A connection's JSON never holds a token, nor says whether one is held. Connections are
personal: another user's is a 404, admins included (service/connections.py).
"""

from __future__ import annotations

import html
import json
import secrets
from typing import TYPE_CHECKING, Any, Final

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from ...errors import AuthenticationError, GoogleError, GoogleNotConfiguredError, WorkscriptError
from ...nodes.google_requests import GOOGLE_SCOPES
from ...service.google_gateway import describe
from ...service.identity import is_anonymous_identity
from ..base import PUBLIC, WorkscriptHandler, bad_request, error_payload, status_for
from ..credentials import principal_of
from ..routes import ID
from ..serialize import iso

if TYPE_CHECKING:
    from ...service.connections import Connections
    from ...store.records import Integration

__all__ = [
    "ROUTES",
    "ConnectHandler",
    "GoogleCallbackHandler",
    "IntegrationHandler",
    "IntegrationTestHandler",
    "IntegrationsHandler",
    "connection_json",
]

_CONNECT_FIELDS: Final = frozenset({"scopes", "returnTo", "loginHint"})
# Google's answer that the user (or the request) is at fault; anything else is Google failing
_REFUSALS: Final = frozenset({"CONSENT_REFUSED", "INVALID_GRANT"})


def connection_json(row: Integration) -> dict[str, Any]:
    """A connection as every route shows it: never a token, nor whether one is held."""
    return {
        **describe(row),  # what a node may see of it: id, name, email, accountName, scopes, status
        "provider": row.provider,
        "accountId": row.account_id,
        "expiresAt": iso(row.expires_at),
        "lastUsedAt": iso(row.last_used_at),
        "lastRefreshedAt": iso(row.last_refreshed_at),
        "lastError": row.last_error,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def google_status(error: GoogleError) -> int:
    """400 when Google refused what the user or the request gave, 502 when Google failed."""
    return 400 if error.code in _REFUSALS else 502


class _ConnectionsBase(WorkscriptHandler):
    auth_resource = "workscript:integrations"

    @property
    def connections(self) -> Connections:
        service = self.workscript.get("connections")
        if service is None:
            raise GoogleNotConfiguredError("Google connections are not available on this server")
        return service  # type: ignore[no-any-return]

    def _handle_request_exception(self, e: BaseException) -> None:
        """A GoogleError that reaches a verb is Google's failure (502), or its refusal (400),
        not a bug of ours: the base mapping would make it a 500."""
        if not isinstance(e, GoogleError) or self._finished:
            super()._handle_request_exception(e)
            return
        self.log.warning(
            "workscript: %s %s → Google %s", self.request.method, self.request.path, e.code
        )
        self.clear()
        self._set_rate_headers()
        self.set_status(google_status(e))
        self.finish(json.dumps(error_payload(e)))


class IntegrationsHandler(_ConnectionsBase):
    """``GET /workscript/integrations``."""

    permissions = {"GET": "integration:read"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        service = self.workscript.get("connections")
        rows = await service.list(await self.caller()) if service is not None else []
        items = [connection_json(row) for row in rows]
        self.write_json(
            {
                "items": items,
                "count": len(items),
                "configured": bool(service is not None and service.configured),
                "scopes": dict(GOOGLE_SCOPES),
            }
        )


class ConnectHandler(_ConnectionsBase):
    """``POST /workscript/integrations/google/connect``: where to send the browser."""

    permissions = {"POST": "integration:create"}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_object()
        unknown = sorted(set(body) - _CONNECT_FIELDS)
        if unknown:
            raise bad_request(
                f"unknown field {unknown[0][:100]!r}: a connect request takes scopes, returnTo "
                "and loginHint",
                [{"field": name[:100], "message": "unknown field"} for name in unknown],
            )
        started = await self.connections.start(
            await self.caller(),
            body.get("scopes"),
            return_to=body.get("returnTo"),
            login_hint=body.get("loginHint"),
        )
        self.set_header("Cache-Control", "no-store")
        self.write_json({**started, "expiresAt": iso(started["expiresAt"])})


class IntegrationHandler(_ConnectionsBase):
    """``GET|PATCH|DELETE /workscript/integrations/{id}``."""

    permissions = {
        "GET": "integration:read",
        "PATCH": "integration:update",
        "DELETE": "integration:delete",
    }

    @web.authenticated
    @authorized
    async def get(self, connection_id: str) -> None:
        row = await self.connections.get(await self.caller(), connection_id)
        self.write_json(connection_json(row))

    @web.authenticated
    @authorized
    async def patch(self, connection_id: str) -> None:
        fields = self.json_object()
        row = await self.connections.rename(await self.caller(), connection_id, fields)
        self.write_json(connection_json(row))

    @web.authenticated
    @authorized
    async def delete(self, connection_id: str) -> None:
        revoked = await self.connections.delete(await self.caller(), connection_id)
        self.write_json({"deleted": True, "revoked": revoked})


class IntegrationTestHandler(_ConnectionsBase):
    """``POST /workscript/integrations/{id}/test``: refresh if due, ask Google who it is."""

    permissions = {"POST": "integration:read"}

    @web.authenticated
    @authorized
    async def post(self, connection_id: str) -> None:
        tested = await self.connections.test(await self.caller(), connection_id)
        body: dict[str, Any] = {"ok": tested.ok, "connection": connection_json(tested.connection)}
        if tested.email is not None:
            body["email"] = tested.email
        if tested.error is not None:
            body["error"] = tested.error
        if tested.code is not None:
            body["code"] = tested.code
        self.write_json(body)


class _LoginIfValid:
    """The server's identity provider, with a credential that is no longer valid (an ended
    session's cookie) taken as no login: the callback is authenticated by its state."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def get_user(self, handler: Any) -> Any:
        try:
            user = self._inner.get_user(handler)
            return await user if hasattr(user, "__await__") else user
        except AuthenticationError:
            return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class GoogleCallbackHandler(_ConnectionsBase):
    """``GET /workscript/auth/google/callback?code=&state=`` (or ``?error=&state=``): Google's
    answer, as an HTML page that tells the opener (the Lab's popup) and closes itself."""

    auth_exempt = (
        "Google sends the browser back here; the flow's single-use state, bound to the user "
        "who started it and gone after ten minutes, authenticates the request"
    )
    permissions = {"GET": PUBLIC}

    @property
    def identity_provider(self) -> Any:
        return _LoginIfValid(super().identity_provider)

    @allow_unauthenticated
    async def get(self) -> None:
        finished = await self.connections.finish(
            self.get_query_argument("state", ""),
            self.get_query_argument("code", None),
            self.get_query_argument("error", None),
            user_id=await self._browser_user_id(),
        )
        row = finished.connection
        who = row.account_email or row.name
        self._write_page(
            200,
            title="Google account connected",
            text=f"{who} is connected to Workscript. You can close this window.",
            message={
                "type": "workscript:google-connected",
                "connection": {"id": row.id, "email": row.account_email, "name": row.name},
            },
            return_to=finished.return_to,
        )

    async def _browser_user_id(self) -> str | None:
        """The logged-in user of the browser that came back (the state must then be theirs);
        None without a login. An anonymous Jupyter identity is no login: no user is made."""
        user = self.current_user
        if user is None:
            return None
        if principal_of(self) is None:
            username = str(getattr(user, "username", "") or "")
            if is_anonymous_identity(username, getattr(user, "display_name", None)):
                return None
        return (await self.caller()).user.id

    def _handle_request_exception(self, e: BaseException) -> None:
        """Every refusal is a page that says what happened (never JSON, never a 500)."""
        if not isinstance(e, WorkscriptError) or self._finished:
            super()._handle_request_exception(e)
            return
        status = google_status(e) if isinstance(e, GoogleError) else status_for(e)
        self.log.info(
            "workscript: Google's callback refused (%d %s): %s", status, e.code, e.message
        )
        shown = e.message
        if status >= 500 and not isinstance(e, GoogleError | GoogleNotConfiguredError):
            # a store's or driver's words may name hosts and paths: the log has them
            shown = "the server could not complete the connection; its log has the details"
        self.clear()
        self._write_page(
            status,
            title="Google account not connected",
            text=shown,
            message={"type": "workscript:google-failed", "error": shown},
            return_to=None,
        )

    def _write_page(
        self,
        status: int,
        *,
        title: str,
        text: str,
        message: dict[str, Any],
        return_to: str | None,
    ) -> None:
        nonce = secrets.token_urlsafe(16)
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")  # the address holds the code
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header(
            "Content-Security-Policy",
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        )
        self.finish(
            _page(nonce, title, text, {"message": message, "returnTo": return_to}, return_to),
            set_content_type="text/html; charset=utf-8",
        )


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script>: no ``</script>``, no HTML comment, no U+2028."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(nonce: str, title: str, text: str, data: dict[str, Any], return_to: str | None) -> str:
    link = (
        f'<p><a href="{html.escape(return_to, quote=True)}">Continue</a></p>' if return_to else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width">
<style nonce="{nonce}">body{{font:16px system-ui,sans-serif;max-width:32rem;margin:4rem auto;
padding:0 1rem}}</style></head><body>
<h1>{html.escape(title)}</h1><p id="m" role="status">{html.escape(text)}</p>{link}
<script nonce="{nonce}">
const result = {_script_json(data)};
if (window.opener) {{
  window.opener.postMessage(result.message, window.location.origin);
  window.close();
}} else if (result.returnTo) {{
  window.location.replace(result.returnTo);
}}
</script></body></html>
"""


ROUTES: Final = [
    (r"/workscript/integrations", IntegrationsHandler),
    (r"/workscript/integrations/google/connect", ConnectHandler),
    (rf"/workscript/integrations/{ID}", IntegrationHandler),
    (rf"/workscript/integrations/{ID}/test", IntegrationTestHandler),
    (r"/workscript/auth/google/callback", GoogleCallbackHandler),
]
