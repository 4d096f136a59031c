"""Google's OAuth 2.0 for a web server, through google-auth-oauthlib and google-auth.

- ``consent_url``: the authorization URL of a ``Flow`` with PKCE (S256, a verifier we make and
  keep in the ``oauth_states`` row), ``access_type=offline`` (a refresh token),
  ``include_granted_scopes`` (incremental consent: a new grant keeps the scopes given before)
  and ``prompt=consent`` (Google only sends a refresh token again when consent is shown).
- ``exchange``: the code for tokens (``Flow.fetch_token`` with the verifier), then the account
  from the userinfo endpoint.
- ``refresh``: a new access token from the refresh token (google-auth ``Credentials``);
  a revoked or expired grant raises ``GrantRevokedError`` (Google's ``invalid_grant``).
- ``revoke``: Google's revocation endpoint.

The token and userinfo calls block (requests under google-auth): callers run them in
``google_threads`` (google_api.py). Endpoints are settings, so an admin can point them at a
proxy and the tests at stand-ins on 127.0.0.1; oauthlib refuses plain http unless the
environment says ``OAUTHLIB_INSECURE_TRANSPORT=1`` (the tests do; a server never should).

Google answers with every scope the account has granted this client (incremental consent),
not just those asked for now: ``OAUTHLIB_RELAX_TOKEN_SCOPE`` is set so that oauthlib takes
that as the normal answer it is instead of raising.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import ConfigurationError, GoogleError

__all__ = [
    "GoogleOAuthClient",
    "GoogleOAuthConfig",
    "GrantRevokedError",
    "TokenSet",
    "make_code_verifier",
]

os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


@dataclass(frozen=True, slots=True)
class GoogleOAuthConfig:
    """The server's OAuth client (a "Web application" client of a Google Cloud project) and
    Google's endpoints. ``client_secret`` is left out of repr."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    auth_uri: str = "https://accounts.google.com/o/oauth2/auth"
    token_uri: str = "https://oauth2.googleapis.com/token"
    revoke_uri: str = "https://oauth2.googleapis.com/revoke"
    userinfo_uri: str = "https://openidconnect.googleapis.com/v1/userinfo"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        for name in ("client_id", "client_secret", "redirect_uri"):
            if not str(getattr(self, name) or "").strip():
                raise ConfigurationError(f"the Google OAuth client needs {name}")
        for name in ("redirect_uri", "auth_uri", "token_uri", "revoke_uri", "userinfo_uri"):
            value = getattr(self, name)
            if not value.startswith(("https://", "http://")):
                raise ConfigurationError(f"google {name} must be an http(s) URL, not {value!r}")

    def client_config(self) -> dict[str, Any]:
        """google-auth-oauthlib's client configuration (the JSON a Cloud console download has)."""
        return {
            "web": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "auth_uri": self.auth_uri,
                "token_uri": self.token_uri,
                "redirect_uris": [self.redirect_uri],
            }
        }


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a grant or a refresh gave. Never logged: repr leaves the tokens out."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scopes: tuple[str, ...]


class GrantRevokedError(GoogleError):
    """Google refused the refresh token (``invalid_grant``): the user revoked the access, or the
    grant expired. The connection needs the user's consent again."""

    code = "NEEDS_CONSENT"


def make_code_verifier() -> str:
    """A PKCE code verifier: 86 characters of the unreserved alphabet (RFC 7636: 43 to 128)."""
    return secrets.token_urlsafe(64)


def _utc(value: datetime | None) -> datetime | None:
    """google-auth's expiry is a naive UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _scopes(value: Any, asked: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list | tuple):
        return tuple(str(s) for s in value)
    return asked


class GoogleOAuthClient:
    """The OAuth calls of one server's client configuration."""

    def __init__(self, config: GoogleOAuthConfig) -> None:
        self.config = config

    def _flow(self, scopes: tuple[str, ...], code_verifier: str) -> Any:
        from google_auth_oauthlib.flow import Flow

        return Flow.from_client_config(
            self.config.client_config(),
            scopes=list(scopes),
            redirect_uri=self.config.redirect_uri,
            code_verifier=code_verifier,
            autogenerate_code_verifier=False,
        )

    def consent_url(
        self, scopes: tuple[str, ...], state: str, code_verifier: str, *, login_hint: str = ""
    ) -> str:
        """Where the browser goes to grant ``scopes`` (pure computation: no request)."""
        extra = {"login_hint": login_hint} if login_hint else {}
        url, _ = self._flow(scopes, code_verifier).authorization_url(
            state=state,
            access_type="offline",
            include_granted_scopes="true",
            prompt="consent",
            **extra,
        )
        return str(url)

    def exchange(self, code: str, code_verifier: str, scopes: tuple[str, ...]) -> TokenSet:
        """Blocking: the authorization code for tokens. A refused code (wrong verifier, used
        before, expired) raises ``GoogleError`` INVALID_GRANT."""
        from oauthlib.oauth2.rfc6749.errors import OAuth2Error

        flow = self._flow(scopes, code_verifier)
        try:
            token = flow.fetch_token(code=code, timeout=self.config.timeout)
        except OAuth2Error as exc:
            raise GoogleError(
                f"Google refused the authorization code: {exc.error}"
                + (f" ({exc.description})" if exc.description else ""),
                code="INVALID_GRANT",
                reason=exc.error,
                status=exc.status_code,
            ) from None
        except OSError as exc:  # requests' connection errors are OSErrors
            raise _unreachable("the token endpoint", exc) from None
        credentials = flow.credentials
        return TokenSet(
            access_token=credentials.token,
            refresh_token=credentials.refresh_token,
            expires_at=_utc(credentials.expiry),
            scopes=_scopes(token.get("scope"), scopes),
        )

    def refresh(self, refresh_token: str, scopes: tuple[str, ...]) -> TokenSet:
        """Blocking: a new access token. ``GrantRevokedError`` when Google says invalid_grant."""
        import google.auth.exceptions
        import google.auth.transport.requests
        from google.oauth2.credentials import Credentials

        credentials = Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh_token,
            token_uri=self.config.token_uri,
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
        )
        try:
            credentials.refresh(google.auth.transport.requests.Request())  # type: ignore[no-untyped-call]
        except google.auth.exceptions.RefreshError as exc:
            if "invalid_grant" in str(exc):
                raise GrantRevokedError(
                    "Google refused this connection's refresh token (the access was revoked or "
                    "has expired): connect the account again",
                    reason="invalid_grant",
                    status=400,
                ) from None
            raise GoogleError(
                "Google refused to refresh the access token", code="REFRESH_FAILED"
            ) from None
        except google.auth.exceptions.TransportError as exc:
            raise _unreachable("the token endpoint", exc) from None
        granted = credentials.granted_scopes
        return TokenSet(
            access_token=str(credentials.token),
            # Google rarely sends a new refresh token; when it does, it replaces the old one
            refresh_token=credentials.refresh_token or refresh_token,
            expires_at=_utc(credentials.expiry),
            scopes=_scopes(granted, scopes),
        )

    def userinfo(self, access_token: str) -> dict[str, Any]:
        """Blocking: ``{sub, email, name, ...}`` of the account the token is for."""
        import httpx

        try:
            answer = httpx.get(
                self.config.userinfo_uri,
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=self.config.timeout,
            )
        except httpx.HTTPError as exc:
            raise _unreachable("the userinfo endpoint", exc) from None
        if answer.status_code != 200:
            raise GoogleError(
                f"Google's userinfo endpoint answered {answer.status_code}",
                code="GOOGLE_ERROR",
                status=answer.status_code,
            )
        try:
            info = answer.json()
        except ValueError:
            info = None
        if not isinstance(info, dict) or not info.get("sub"):
            raise GoogleError("Google's userinfo answer has no account id", code="GOOGLE_ERROR")
        return info

    def revoke(self, token: str) -> bool:
        """Blocking: revoke the grant at Google (a refresh token revokes it all). False when
        Google refused (already revoked, unknown) or could not be reached."""
        import httpx

        try:
            answer = httpx.post(
                self.config.revoke_uri, data={"token": token}, timeout=self.config.timeout
            )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200


def _unreachable(what: str, exc: BaseException) -> GoogleError:
    # the exception's text may hold a URL with a code or token in it: only its type is shown
    return GoogleError(
        f"could not reach Google's {what.removeprefix('the ')} ({type(exc).__name__})",
        code="GOOGLE_UNAVAILABLE",
    )
