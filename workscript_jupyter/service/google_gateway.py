"""``ConnectionGateway``: the engine's ``GoogleGateway`` for one caller's runs (the Google
nodes' ``ctx.services.google``).

Every call checks ``integration:use`` (a run started with an API key acts with that key's
permissions), picks the connection (``connection_tokens.resolve_connection``), gets a fresh
access token, and runs the node's operation in the Google thread pool with a client built
from the static discovery document. A 401 from Google (the token was revoked or expired
early) refreshes the token once, serialized like any refresh, and runs the operation again.
The connection's ``last_used_at`` is stamped after each call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..errors import GoogleError
from ..integrations.google_api import GoogleApiSettings, build_service, in_google_thread
from ..nodes.google_requests import RequestPolicy, google_error, policy_for_operation
from ..store.records import Integration, utcnow
from .common import store_call
from .connection_tokens import ConnectionTokens, own_scope
from .values import Caller

__all__ = ["ConnectionGateway", "describe"]


def describe(row: Integration) -> dict[str, Any]:
    """What a node may put in the state about a connection: never a token."""
    return {
        "id": row.id,
        "name": row.name,
        "email": row.account_email,
        "accountName": row.account_name,
        "scopes": list(row.scopes),
        "status": row.status,
    }


def _run(
    api: str, version: str, token: str, settings: GoogleApiSettings, operation: Callable[[Any], Any]
) -> Any:
    """In a Google thread: the client, then the node's operation (with the server's retry
    policy for its requests); failures as GoogleError."""
    policy_for_operation(RequestPolicy(settings.quota_retries, settings.backoff_seconds))
    try:
        return operation(build_service(api, version, token, settings))
    except GoogleError:
        raise
    except Exception as exc:
        error = google_error(exc)
        if error is None:
            raise
        raise error from None


class ConnectionGateway:
    """The caller's Google connections, for the Google nodes of their runs."""

    def __init__(
        self,
        caller: Caller,
        tokens: ConnectionTokens,
        settings: GoogleApiSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.caller = caller
        self.tokens = tokens
        self.settings = settings
        self.clock = clock

    async def describe(self, connection: str | None) -> dict[str, Any]:
        self.caller.require("integration:use")
        row, _token = await self.tokens.token(own_scope(self.caller), connection)
        return describe(row)

    async def call(
        self,
        connection: str | None,
        api: str,
        version: str,
        operation: Callable[[Any], Any],
        *,
        scopes: Sequence[str] = (),
    ) -> Any:
        self.caller.require("integration:use")
        scope = own_scope(self.caller)
        row, token = await self.tokens.token(scope, connection)
        _check_scopes(row, scopes)
        try:
            result = await in_google_thread(
                self.settings, _run, api, version, token, self.settings, operation
            )
        except GoogleError as exc:
            if exc.code != "UNAUTHENTICATED":
                raise
            row, token = await self.tokens.fresh(scope, row, stale=token)
            result = await in_google_thread(
                self.settings, _run, api, version, token, self.settings, operation
            )
        await store_call(self.tokens.store.integrations.touch_used, row.id, self.clock())
        return result


def _check_scopes(row: Integration, wanted: Sequence[str]) -> None:
    """The connection holds one of ``wanted`` (full scope URLs), or MISSING_SCOPE."""
    if not wanted or set(wanted) & set(row.scopes):
        return
    names = ", ".join(s.rsplit("/", 1)[-1] for s in wanted)
    raise GoogleError(
        f"the Google connection {row.account_email or row.id} was not granted {names}: "
        "connect it again and tick that access",
        code="MISSING_SCOPE",
    )
