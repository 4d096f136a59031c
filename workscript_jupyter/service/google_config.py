"""``google_settings``: the connections' ``GoogleSettings`` from the Google settings, as the
server's traits (server/google_traits.py) and a ``workscript worker``'s environment
(cli_worker.py) give them. Both read the same names: ``google_client_id``,
``google_client_secret``, ``google_redirect_uri``, ``google_auth_uri`` / ``token_uri`` /
``revoke_uri`` / ``userinfo_uri``, ``google_api_root_url``, ``google_quota_retries``."""

from __future__ import annotations

from typing import Any

from ..auth.secret_box import SecretBox
from ..errors import ConfigurationError
from ..integrations.google_api import GoogleApiSettings
from ..integrations.google_oauth import GoogleOAuthConfig
from .connections import GoogleSettings

__all__ = ["CALLBACK_PATH", "google_settings"]

CALLBACK_PATH = "workscript/auth/google/callback"


def google_settings(
    traits: Any, *, box: SecretBox | None, server_url: str, log: Any
) -> GoogleSettings:
    """The service's ``GoogleSettings`` from ``traits``; ``server_url``: this server's absolute
    URL with its base path, for the default redirect URI."""
    client_id, secret = traits.google_client_id, traits.google_client_secret
    api = GoogleApiSettings(
        root_url=traits.google_api_root_url, quota_retries=traits.google_quota_retries
    )
    if not client_id and not secret:
        return GoogleSettings(box=box, api=api)
    if not client_id or not secret:
        missing = "GOOGLE_CLIENT_ID" if not client_id else "GOOGLE_CLIENT_SECRET"
        raise ConfigurationError(f"Google needs both the client id and secret: {missing} is unset")
    redirect = traits.google_redirect_uri or server_url.rstrip("/") + "/" + CALLBACK_PATH
    endpoints = {
        name: value
        for name in ("auth_uri", "token_uri", "revoke_uri", "userinfo_uri")
        if (value := getattr(traits, f"google_{name}"))
    }
    oauth = GoogleOAuthConfig(client_id, secret, redirect, **endpoints)
    if box is None:
        log.warning(
            "workscript: Google is configured but there is no secret_key to encrypt its tokens "
            "with: connections are off until WORKSCRIPT_SECRET_KEY is set"
        )
    return GoogleSettings(box=box, oauth=oauth, api=api)
