"""A stand-in for Google's OAuth 2.0 server (accounts.google.com / oauth2.googleapis.com) on
127.0.0.1: the authorization-code grant with PKCE, refresh, revoke and userinfo, enough for the
real google-auth-oauthlib ``Flow`` and google-auth ``Credentials`` pointed at it through the
client config (``client_config()``: ``auth_uri``, ``token_uri``).

- ``GET /o/oauth2/auth``: "the user approves" at once: 302 to ``redirect_uri`` with ``code``
  and ``state`` (``consent = "deny"`` redirects with ``error=access_denied``); records the
  ``code_challenge`` and its method (only S256 is accepted) in ``authorizations``.
- ``POST /token``: ``authorization_code`` (client_id + secret, by HTTP Basic or in the form; the
  same ``redirect_uri``; the PKCE ``code_verifier`` against the challenge; a code works once)
  and ``refresh_token``. Errors are OAuth's JSON: ``{"error": "invalid_grant", ...}``.
- ``POST /revoke``, ``GET /v1/userinfo`` (sub, email, name), and the OpenID discovery document.

Scripted switches: ``revoke(token)`` (a refresh token then gets ``invalid_grant``),
``access_token_lifetime`` (``expires_in``), ``expire_access_tokens()`` (every access token so far
is refused from now on: the API stand-in then answers 401 and a client must refresh).
``scopes_of(token)`` is what the API stand-in (google_apis.py) asks of a bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode

import tornado.web

from .google_server import ThreadedApp, new_id

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "GoogleOAuthStandIn"]

CLIENT_ID = "1234567890-standin.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-stand-in-secret"


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None


@dataclass
class _Access:
    scopes: tuple[str, ...]
    expires_at: float
    refresh_token: str | None


class GoogleOAuthStandIn(ThreadedApp):
    """The OAuth server and what it saw: ``authorizations`` (the authorize requests' query),
    ``grants`` (grant_type per token request), ``revoked`` (tokens revoked)."""

    thread_name = "google-oauth-stand-in"

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        email: str = "ada@example.com",
        name: str = "Ada Lovelace",
        access_token_lifetime: int = 3599,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.account = {"sub": "110248495921238986420", "email": email, "name": name}
        self.access_token_lifetime = access_token_lifetime
        self.consent = "approve"
        self.authorizations: list[dict[str, str]] = []
        self.grants: list[str] = []
        self.revoked: set[str] = set()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, tuple[str, ...]] = {}

    def routes(self) -> list[Any]:
        given = {"stand_in": self}
        return [
            (r"/o/oauth2/auth", _Authorize, given),
            (r"/token", _Token, given),
            (r"/revoke", _Revoke, given),
            (r"/v1/userinfo", _UserInfo, given),
            (r"/\.well-known/openid-configuration", _Discovery, given),
        ]

    # -- the addresses a client is given

    @property
    def auth_uri(self) -> str:
        return f"{self.root}/o/oauth2/auth"

    @property
    def token_uri(self) -> str:
        return f"{self.root}/token"

    @property
    def revoke_uri(self) -> str:
        return f"{self.root}/revoke"

    @property
    def userinfo_uri(self) -> str:
        return f"{self.root}/v1/userinfo"

    def client_config(self, redirect_uri: str) -> dict[str, Any]:
        """The ``{"web": ...}`` client config google-auth-oauthlib's ``Flow`` is built from."""
        return {
            "web": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "auth_uri": self.auth_uri,
                "token_uri": self.token_uri,
                "redirect_uris": [redirect_uri],
            }
        }

    # -- scripted switches and what the API stand-in asks

    def scopes_of(self, token: str) -> tuple[str, ...] | None:
        """The scopes a live access token carries; None when unknown, expired or revoked."""
        with self.lock:
            grant = self._access.get(token)
        if grant is None or grant.expires_at <= time.time() or token in self.revoked:
            return None
        return grant.scopes

    def expire_access_tokens(self) -> None:
        with self.lock:
            for grant in self._access.values():
                grant.expires_at = 0.0

    def revoke(self, token: str) -> bool:
        """Revoke an access or refresh token (a refresh token takes its access tokens along)."""
        with self.lock:
            if token not in self._access and token not in self._refresh:
                return False
            self.revoked.add(token)
            if token in self._refresh:
                self.revoked.update(t for t, g in self._access.items() if g.refresh_token == token)
            return True

    # -- what the handlers call

    def issue_code(
        self, client_id: str, redirect_uri: str, scopes: tuple[str, ...], challenge: str | None
    ) -> str:
        code = new_id("4/0A")
        with self.lock:
            self._codes[code] = _Code(client_id, redirect_uri, scopes, challenge)
        return code

    def take_code(self, code: str) -> _Code | None:
        """The code's grant, once: a code is single-use."""
        with self.lock:
            return self._codes.pop(code, None)

    def refresh_scopes(self, refresh_token: str) -> tuple[str, ...] | None:
        with self.lock:
            if refresh_token in self.revoked:
                return None
            return self._refresh.get(refresh_token)

    def issue_tokens(self, scopes: tuple[str, ...], refresh_token: str | None) -> dict[str, Any]:
        """A token response; a new refresh token when ``refresh_token`` is None (code grant)."""
        fresh = refresh_token is None
        refresh = refresh_token or new_id("1//0g")
        access = new_id("ya29.")
        with self.lock:
            self._access[access] = _Access(
                scopes, time.time() + self.access_token_lifetime, refresh
            )
            if fresh:
                self._refresh[refresh] = scopes
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_token_lifetime,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        if fresh:
            answer["refresh_token"] = refresh
        return answer


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class _Handler(tornado.web.RequestHandler):
    def initialize(self, stand_in: GoogleOAuthStandIn) -> None:
        self.stand_in = stand_in

    def check_xsrf_cookie(self) -> None:  # an API, not a form site
        return None

    def oauth_error(self, status: int, error: str, description: str) -> None:
        self.set_status(status)
        self.finish({"error": error, "error_description": description})


class _Authorize(_Handler):
    def get(self) -> None:
        query = {k: self.get_argument(k) for k in self.request.arguments}
        self.stand_in.authorizations.append(query)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.stand_in.client_id:  # Google shows a page: no redirect
            return self.oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if not redirect_uri.startswith(("http://", "https://")):
            return self.oauth_error(
                400, "redirect_uri_mismatch", "Missing or invalid redirect_uri."
            )
        back: dict[str, str] = {"state": query.get("state", "")}
        method = query.get("code_challenge_method")
        challenge = query.get("code_challenge")
        if query.get("response_type") != "code":
            back.update(error="unsupported_response_type")
        elif challenge is not None and method != "S256":
            back.update(error="invalid_request", error_description="Only S256 is supported.")
        elif self.stand_in.consent != "approve":
            back.update(error="access_denied")
        else:
            scopes = tuple(query.get("scope", "").split())
            back["code"] = self.stand_in.issue_code(
                query["client_id"], redirect_uri, scopes, challenge
            )
            back["scope"] = " ".join(scopes)
        separator = "&" if "?" in redirect_uri else "?"
        self.redirect(redirect_uri + separator + urlencode(back), status=302)
        return None


class _Token(_Handler):
    def post(self) -> None:
        form = {k: self.get_body_argument(k) for k in self.request.body_arguments}
        grant_type = form.get("grant_type", "")
        self.stand_in.grants.append(grant_type)
        client_id, secret = self._client(form)
        if client_id != self.stand_in.client_id or secret != self.stand_in.client_secret:
            return self.oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if grant_type == "authorization_code":
            return self._code(form)
        if grant_type == "refresh_token":
            scopes = self.stand_in.refresh_scopes(form.get("refresh_token", ""))
            if scopes is None:
                return self.oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            self.finish(self.stand_in.issue_tokens(scopes, form["refresh_token"]))
            return None
        return self.oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _client(self, form: dict[str, str]) -> tuple[str, str]:
        """client_id and secret from HTTP Basic (requests-oauthlib) or the form (google-auth)."""
        header = self.request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return unquote(user), unquote(password)
        return form.get("client_id", ""), form.get("client_secret", "")

    def _code(self, form: dict[str, str]) -> None:
        grant = self.stand_in.take_code(form.get("code", ""))
        if grant is None:
            return self.oauth_error(400, "invalid_grant", "Malformed auth code.")
        if grant.client_id != self.stand_in.client_id or grant.redirect_uri != form.get(
            "redirect_uri"
        ):
            return self.oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        if grant.challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                return self.oauth_error(400, "invalid_grant", "Missing code verifier.")
            if pkce_challenge(verifier) != grant.challenge:
                return self.oauth_error(400, "invalid_grant", "Invalid code verifier.")
        self.finish(self.stand_in.issue_tokens(grant.scopes, None))
        return None


class _Revoke(_Handler):
    def post(self) -> None:
        token = self.get_argument("token", "")
        if not self.stand_in.revoke(token):
            return self.oauth_error(400, "invalid_token", "Token expired or revoked")
        self.finish({})
        return None


class _UserInfo(_Handler):
    def get(self) -> None:
        header = self.request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        if not header.startswith("Bearer ") or self.stand_in.scopes_of(token) is None:
            self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            return self.oauth_error(401, "invalid_request", "Invalid Credentials")
        self.finish({**self.stand_in.account, "email_verified": True})
        return None


class _Discovery(_Handler):
    def get(self) -> None:
        stand_in = self.stand_in
        self.finish(
            {
                "issuer": stand_in.root,
                "authorization_endpoint": stand_in.auth_uri,
                "token_endpoint": stand_in.token_uri,
                "revocation_endpoint": stand_in.revoke_uri,
                "userinfo_endpoint": stand_in.userinfo_uri,
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "email", "profile"],
            }
        )
