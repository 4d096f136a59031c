"""The Google settings of ``WorkscriptApp``: the OAuth client (``GOOGLE_CLIENT_ID``,
``GOOGLE_CLIENT_SECRET``, ``GOOGLE_REDIRECT_URI``), Google's endpoints (to reach them through
a proxy, or stand-ins in tests) and the API client's retries. ``google_settings`` builds the
service's ``GoogleSettings``; a bad value stops the server with the setting's name (never the
secret's value).

Without a client id and secret Google is off: the connection routes answer 503
GOOGLE_NOT_CONFIGURED and the Google nodes take their error edge. The redirect URI defaults to
the server's own ``<url>/workscript/auth/google/callback``; it must be registered, exactly, as
an authorized redirect URI of the client in the Google Cloud console (docs/google.md).
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import HasTraits, Int, Unicode, default

from ..auth.secret_box import SecretBox
from ..service.connections import GoogleSettings
from ..service.google_config import CALLBACK_PATH, google_settings
from .bad_settings import built_or_stop

__all__ = ["CALLBACK_PATH", "GoogleTraits"]


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _url_trait(env: str, what: str) -> Any:
    return Unicode(None, allow_none=True, help=f"{what} ({env}; Google's own when unset).").tag(
        config=True
    )


class GoogleTraits(HasTraits):
    google_client_id = Unicode(
        None,
        allow_none=True,
        help="The OAuth client id of the server's Google Cloud web client (GOOGLE_CLIENT_ID).",
    ).tag(config=True)

    @default("google_client_id")
    def _google_client_id(self) -> str | None:
        return _env("GOOGLE_CLIENT_ID")

    google_client_secret = Unicode(
        None,
        allow_none=True,
        help="That client's secret (GOOGLE_CLIENT_SECRET). Never logged or shown.",
    ).tag(config=True)

    @default("google_client_secret")
    def _google_client_secret(self) -> str | None:
        return _env("GOOGLE_CLIENT_SECRET")

    google_redirect_uri = Unicode(
        None,
        allow_none=True,
        help=(
            "Where Google sends the browser back (GOOGLE_REDIRECT_URI; default: this server's "
            "<url>/workscript/auth/google/callback). Register it exactly in the Cloud console."
        ),
    ).tag(config=True)

    @default("google_redirect_uri")
    def _google_redirect_uri(self) -> str | None:
        return _env("GOOGLE_REDIRECT_URI")

    google_auth_uri = _url_trait("GOOGLE_AUTH_URI", "Google's consent page")
    google_token_uri = _url_trait("GOOGLE_TOKEN_URI", "The token endpoint")
    google_revoke_uri = _url_trait("GOOGLE_REVOKE_URI", "The revocation endpoint")
    google_userinfo_uri = _url_trait("GOOGLE_USERINFO_URI", "The userinfo endpoint")
    google_api_root_url = _url_trait(
        "GOOGLE_API_ROOT_URL",
        "The root of Gmail, Calendar and Drive's REST APIs, e.g. a proxy",
    )

    @default("google_auth_uri")
    def _google_auth_uri(self) -> str | None:
        return _env("GOOGLE_AUTH_URI")

    @default("google_token_uri")
    def _google_token_uri(self) -> str | None:
        return _env("GOOGLE_TOKEN_URI")

    @default("google_revoke_uri")
    def _google_revoke_uri(self) -> str | None:
        return _env("GOOGLE_REVOKE_URI")

    @default("google_userinfo_uri")
    def _google_userinfo_uri(self) -> str | None:
        return _env("GOOGLE_USERINFO_URI")

    @default("google_api_root_url")
    def _google_api_root_url(self) -> str | None:
        return _env("GOOGLE_API_ROOT_URL")

    google_quota_retries = Int(
        4,
        help="How many times a Google API call is retried on a quota error or a 5xx, with "
        "exponential backoff (0 to 10).",
    ).tag(config=True)

    def _google_settings(self, secret_box: SecretBox | None) -> GoogleSettings:
        """The service's settings from these traits (``WorkscriptApp``: ``public_url``,
        ``serverapp`` and ``log`` are its own); a bad one stops the server with its name."""
        app: Any = self
        serverapp = getattr(app, "serverapp", None)
        server_url = app.public_url or str(getattr(serverapp, "connection_url", "") or "")
        return built_or_stop(
            app.log,
            lambda: google_settings(self, box=secret_box, server_url=server_url, log=app.log),
        )
