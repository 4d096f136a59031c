"""Accounts over REST: register, login, refresh, logout, me, change-password, password resets.

- ``POST /workscript/auth/register`` (201; off unless ``allow_registration``)
- ``POST /workscript/auth/login`` → tokens and the ``workscript-session`` cookie
- ``POST /workscript/auth/refresh`` → a new access token and a rotated refresh token
- ``POST /workscript/auth/logout`` (204) · ``GET /workscript/auth/me``
- ``POST /workscript/auth/change-password`` (204; every session and refresh token ends)
- ``POST /workscript/password-reset/request|validate|complete``

The public verbs (login, register, refresh, resets) take JSON only: a cross-site form cannot
send ``application/json`` without a CORS preflight, which is why they skip Jupyter's XSRF
cookie check (an external tool has no XSRF cookie to send).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from ..base import PUBLIC, WorkscriptHandler
from ..credentials import SESSION_COOKIE, principal_of, sign_session
from ..serialize import iso
from ..serialize_accounts import user_json

if TYPE_CHECKING:
    from ...service.accounts import Accounts, ClientInfo, LoginResult
    from ...service.password_reset import PasswordResets

__all__ = [
    "ChangePasswordHandler",
    "LoginHandler",
    "LogoutHandler",
    "MeHandler",
    "PasswordResetHandler",
    "PasswordResetPageHandler",
    "RefreshHandler",
    "RegisterHandler",
]


class _AccountsHandler(WorkscriptHandler):
    auth_resource = "workscript:auth"

    @property
    def accounts(self) -> Accounts:
        return self.workscript["accounts"]  # type: ignore[no-any-return]

    def client(self) -> ClientInfo:
        from ...service.accounts import ClientInfo

        return ClientInfo(self.request.remote_ip, self.request.headers.get("User-Agent"))

    def check_xsrf_cookie(self) -> None:
        if self.permissions.get((self.request.method or "").upper()) == PUBLIC:
            return None  # JSON only (json_object): see the module's docstring
        return super().check_xsrf_cookie()

    def write_login(self, result: LoginResult, status: int = 200) -> None:
        settings = self.workscript
        if settings["session_secret"] and result.session_id:
            self.set_cookie(
                SESSION_COOKIE,
                sign_session(result.session_id, settings["session_secret"]),
                path=self.base_url,
                expires=result.session_expires_at,
                httponly=True,
                samesite="Lax",
                secure=self.request.protocol == "https",
            )
        self.set_header("Cache-Control", "no-store")
        self.write_json(
            {
                "user": user_json(result.user),
                "accessToken": result.access.token,
                "refreshToken": result.refresh.token,
                "tokenType": "Bearer",
                "expiresIn": settings["jwt_access_expiry"],
                "accessTokenExpiresAt": iso(result.access.expires_at),
                "refreshTokenExpiresAt": iso(result.refresh.expires_at),
            },
            status,
        )


class RegisterHandler(_AccountsHandler):
    auth_exempt = "anyone may create an account when allow_registration is on; limited per address"
    permissions = {"POST": PUBLIC}

    @allow_unauthenticated
    async def post(self) -> None:
        result = await self.accounts.register(self.json_object(), self.client())
        self.write_login(result, 201)


class LoginHandler(_AccountsHandler):
    auth_exempt = "a login proves itself with its password; limited per address and account"
    permissions = {"POST": PUBLIC}

    @allow_unauthenticated
    async def post(self) -> None:
        result = await self.accounts.login(self.json_object(), self.client())
        self.write_login(result)


class RefreshHandler(_AccountsHandler):
    auth_exempt = "a refresh proves itself with its refresh token"
    permissions = {"POST": PUBLIC}

    @allow_unauthenticated
    async def post(self) -> None:
        result = await self.accounts.refresh(self.json_object())
        self.write_login(result)


class LogoutHandler(_AccountsHandler):
    permissions = {"POST": None}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        principal = principal_of(self)
        session_id = principal.session_id if principal is not None else None
        await self.accounts.logout(
            await self.caller(), session_id, self.json_object(required=False)
        )
        self.clear_cookie(SESSION_COOKIE, path=self.base_url)
        self.write_json(None, 204)


class MeHandler(_AccountsHandler):
    permissions = {"GET": None}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        caller = await self.caller()
        body: dict[str, Any] = user_json(caller.user)
        body["permissions"] = sorted(caller.permissions)  # what this credential may do
        body["authenticatedBy"] = caller.via
        self.write_json(body)


class ChangePasswordHandler(_AccountsHandler):
    permissions = {"POST": None}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.accounts.change_password(await self.caller(), self.json_object())
        self.clear_cookie(SESSION_COOKIE, path=self.base_url)
        self.write_json(None, 204)


_RESET_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reset your Workscript password</title>
<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width">
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
input,button{font:inherit;width:100%;margin:.4rem 0;padding:.5rem}</style></head><body>
<h1>Choose a new password</h1>
<p>At least 8 characters, with an upper-case letter, a lower-case letter and a digit.</p>
<form id="f"><input id="p" type="password" autocomplete="new-password" required
placeholder="New password"><button>Set the password</button></form><p id="m" role="status"></p>
<script>
const token = new URLSearchParams(location.search).get("token") || "";
history.replaceState(null, "", location.pathname);  // the token leaves the address bar
document.getElementById("f").onsubmit = async (event) => {
  event.preventDefault();
  const reply = await fetch("password-reset/complete", {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({token, password: document.getElementById("p").value})});
  const body = await reply.json();
  document.getElementById("m").textContent = reply.ok ? body.message : body.error.message;
};
</script></body></html>
"""


class PasswordResetPageHandler(_AccountsHandler):
    """``GET /workscript/password-reset?token=…``: the page an emailed link opens. It holds no
    data; its form sends the token and the new password to ``password-reset/complete``."""

    auth_exempt = "a static form; the reset token it posts is checked by password-reset/complete"
    permissions = {"GET": PUBLIC}

    @allow_unauthenticated
    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        # APIHandler.finish would label it application/json: the browser must render it
        self.finish(_RESET_PAGE, set_content_type="text/html; charset=utf-8")


class PasswordResetHandler(_AccountsHandler):
    auth_exempt = "a reset proves itself with the emailed token; limited per address"
    """``POST /workscript/password-reset/(request|validate|complete)``."""

    permissions = {"POST": PUBLIC}

    @property
    def resets(self) -> PasswordResets:
        return self.workscript["password_resets"]  # type: ignore[no-any-return]

    @allow_unauthenticated
    async def post(self, step: str) -> None:
        body = self.json_object()
        if step == "request":
            await self.resets.request(body, self.client())
            self.write_json(
                {
                    "message": "if an account has this email, a reset link is on its way; "
                    "it works once and expires"
                },
                202,
            )
        elif step == "validate":
            await self.resets.validate(body)
            self.write_json({"valid": True})
        else:
            await self.resets.complete(body)
            self.write_json({"message": "the password is changed; log in with it"})
