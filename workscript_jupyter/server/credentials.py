"""The identity order of ``/workscript/*``: API key → JWT → workscript session → Jupyter.

``WorkscriptIdentity`` stands in for Jupyter's identity provider on the extension's own
handlers only (``WorkscriptHandler.identity_provider``): it tries the workscript credentials
first and hands every other request to Jupyter's provider unchanged. Jupyter's own routes
(``/api/contents``, ``/api/kernels``, ``/lab`` …) never see it, so a workscript key or token
opens nothing there — Jupyter's provider compares it with its own token and refuses it.

- ``X-API-Key: wks_…`` or ``Authorization: Bearer wks_…`` → the API key;
- ``Authorization: Bearer <a JWT>`` → a workscript access token;
- the ``workscript-session`` cookie (set by ``auth/login``, signed with ``session_secret``),
  unless the request carries another ``Authorization`` header (a Jupyter token: explicit
  credentials beat a cookie the client happens to hold);
- anything else → Jupyter (its token, its cookie, JupyterHub's OAuth).

A request that names a workscript credential is decided by it: a wrong key is a 401, never a
fall-through to another identity. Header credentials are not cookies, so such requests are
exempt from Jupyter's XSRF check (as Jupyter exempts its own token); cookie sessions are not.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.identity import User as JupyterUser

from ..auth.api_keys import Credential, read_credential
from ..errors import AuthenticationError

if TYPE_CHECKING:
    from jupyter_server.auth.identity import IdentityProvider
    from tornado.web import RequestHandler

    from ..service.authentication import Authenticator, Principal

__all__ = [
    "SESSION_COOKIE",
    "WorkscriptIdentity",
    "credential_of",
    "principal_of",
    "sign_session",
]

SESSION_COOKIE = "workscript-session"
_PRINCIPAL = "_workscript_principal"
_HEADER_CREDENTIAL = "_workscript_header_credential"


def sign_session(session_id: str, secret: str) -> str:
    """The cookie value of a session: its id and an HMAC of it (ids of the database backend
    are not secret-random, so the cookie must be unforgeable by its signature)."""
    mac = hmac.new(secret.encode(), session_id.encode(), hashlib.sha256).hexdigest()
    return f"{session_id}.{mac}"


def _session_of(cookie: str, secret: str) -> str | None:
    session_id, _, mac = cookie.rpartition(".")
    if not session_id or len(cookie) > 300:
        return None
    expected = hmac.new(secret.encode(), session_id.encode(), hashlib.sha256).hexdigest()
    return session_id if hmac.compare_digest(mac, expected) else None


def credential_of(handler: Any) -> Credential | None:
    """The workscript credential a request's headers carried (None: none, or a cookie)."""
    credential = getattr(handler, _HEADER_CREDENTIAL, None)
    return credential if isinstance(credential, Credential) else None


def principal_of(handler: Any) -> Principal | None:
    """The workscript principal a request was authenticated as (None: Jupyter's identity)."""
    return getattr(handler, _PRINCIPAL, None)


class WorkscriptIdentity:
    """Jupyter's identity provider with the workscript credentials tried first."""

    def __init__(
        self,
        jupyter: IdentityProvider,
        authenticator: Authenticator,
        *,
        session_secret: str | None,
    ) -> None:
        self.jupyter = jupyter
        self._authenticator = authenticator
        self._session_secret = session_secret

    async def get_user(self, handler: RequestHandler) -> JupyterUser | None:
        headers = handler.request.headers
        credential = read_credential(headers.get("X-API-Key"), headers.get("Authorization"))
        if credential is not None:
            setattr(handler, _HEADER_CREDENTIAL, credential)
            return self._as_user(handler, await self._authenticator.authenticate(credential))
        # an explicit header (a Jupyter token) beats any cookie the client happens to carry
        explicit = bool(headers.get("Authorization", "").strip())
        cookie = None if explicit else handler.get_cookie(SESSION_COOKIE)
        if cookie and self._session_secret:
            session_id = _session_of(cookie, self._session_secret)
            if session_id is None:
                raise AuthenticationError("the workscript session cookie is not valid")
            return self._as_user(handler, await self._authenticator.session(session_id))
        user = await ensure_async(self.jupyter.get_user(handler))
        return user

    @staticmethod
    def _as_user(handler: RequestHandler, principal: Principal) -> JupyterUser:
        setattr(handler, _PRINCIPAL, principal)
        user = principal.caller.user
        # a name that no Jupyter identity can have: nothing maps it to a Jupyter user
        return JupyterUser(
            username=f"workscript:{user.id}",
            name=user.display_name or user.username,
            display_name=user.display_name or user.username,
        )

    def is_token_authenticated(self, handler: RequestHandler) -> bool:
        if getattr(handler, _HEADER_CREDENTIAL, False):
            return True
        if principal_of(handler) is not None:  # a session cookie: XSRF applies
            return False
        return bool(self.jupyter.is_token_authenticated(handler))

    def should_check_origin(self, handler: RequestHandler) -> bool:
        if getattr(handler, _HEADER_CREDENTIAL, False):
            return False
        return bool(self.jupyter.should_check_origin(handler))

    def __getattr__(self, name: str) -> Any:
        # everything else (login handler, cookie names, token …) is Jupyter's
        return getattr(self.jupyter, name)
