"""How the accounts layer is built: secrets, tokens, sessions, rate limits, mail, use cases.

- Secrets: configured (traits or JWT_SECRET, JWT_REFRESH_SECRET, SESSION_SECRET) or, on a
  ``local`` server, generated once and kept in the Jupyter data dir (mode 0600). On a
  ``service`` or ``client`` server — several processes that must agree — missing JWT secrets
  turn logins off (the auth routes answer 503 naming the settings); API keys keep working.
  A secret that is set but short, or equal access and refresh secrets, stop the server.
- Sessions and the rate limit live in Redis when ``redis_url`` (or REDIS_URL) is set, shared by
  every server; otherwise in the database — never in memory only, so a restart logs nobody
  out and a limit cannot be reset by restarting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..auth.passwords import PasswordHasher
from ..auth.secrets_file import load_or_create_secrets
from ..auth.tokens import JwtSettings, TokenIssuer
from ..errors import ConfigurationError
from ..service.account_settings import AccountSettings
from ..store.base import Store

if TYPE_CHECKING:
    from ..auth.mail import MailSettings
    from .account_traits import AccountTraits

__all__ = [
    "AccountParts",
    "AccountSecrets",
    "account_config",
    "build_accounts",
    "resolve_secrets",
]


@dataclass(frozen=True)
class AccountSecrets:
    jwt_secret: str | None = field(default=None, repr=False)
    jwt_refresh_secret: str | None = field(default=None, repr=False)
    session_secret: str | None = field(default=None, repr=False)


@dataclass
class AccountParts:
    """What ``build_accounts`` made: the handlers' settings and what to close at stop."""

    settings: dict[str, Any]
    closers: list[Callable[[], Any]]


def resolve_secrets(
    configured: AccountSecrets, *, role: str, data_dir: str | None, log: logging.Logger
) -> AccountSecrets:
    """The configured secrets, completed from the data dir's file on a local server."""
    values = {
        "jwt_secret": configured.jwt_secret,
        "jwt_refresh_secret": configured.jwt_refresh_secret,
        "session_secret": configured.session_secret,
    }
    missing = [name for name, value in values.items() if not value]
    if missing and role == "local" and data_dir:
        generated = load_or_create_secrets(Path(data_dir))
        for name in missing:
            values[name] = generated[name]
        log.info("workscript: using the generated %s kept in %s", ", ".join(missing), data_dir)
    for name, value in values.items():
        if value is not None and len(value) < 32:
            env = name.upper()
            raise ConfigurationError(
                f"c.WorkscriptApp.{name} ({env}) must be at least 32 characters long"
            )
    if values["jwt_secret"] and values["jwt_secret"] == values["jwt_refresh_secret"]:
        raise ConfigurationError(
            "c.WorkscriptApp.jwt_refresh_secret (JWT_REFRESH_SECRET) must differ from "
            "jwt_secret (JWT_SECRET): a refresh token must never pass for an access token"
        )
    return AccountSecrets(**values)


def account_config(
    traits: AccountTraits, *, role: str, data_dir: str | None, log: logging.Logger
) -> tuple[AccountSettings, AccountSecrets, MailSettings]:
    """The accounts' settings, secrets and mail settings from the app's traits, each checked
    (a ConfigurationError names the setting)."""
    from ..auth.mail import MailSettings

    settings = AccountSettings(
        bcrypt_rounds=traits.bcrypt_rounds,
        max_login_attempts=traits.max_login_attempts,
        lockout_seconds=traits.lockout_duration,
        session_seconds=traits.session_expiry,
        api_key_expiry_days=traits.api_key_expiry,
        api_key_rate_limit=traits.api_key_rate_limit,
        allow_registration=bool(traits.allow_registration),
        reset_expiry_seconds=traits.password_reset_expiry,
        reset_token_length=traits.password_reset_token_length,
        auth_ip_limit=traits.auth_ip_limit,
        auth_ip_window_seconds=traits.auth_ip_window_seconds,
        credential_cache_seconds=traits.credential_cache_seconds,
    )
    secrets = resolve_secrets(
        AccountSecrets(traits.jwt_secret, traits.jwt_refresh_secret, traits.session_secret),
        role=role,
        data_dir=data_dir,
        log=log,
    )
    mail = MailSettings(
        backend=traits.email_backend or ("smtp" if traits.smtp_host else "none"),
        host=traits.smtp_host,
        port=traits.smtp_port,
        secure=traits.smtp_secure,  # type: ignore[arg-type]
        user=traits.smtp_user,
        password=traits.smtp_password,
        sender=traits.email_from,
    )
    return settings, secrets, mail


def build_accounts(
    store: Store,
    *,
    settings: AccountSettings,
    secrets: AccountSecrets,
    jwt_access_expiry: int,
    jwt_refresh_expiry: int,
    redis_url: str | None,
    mail: Any,
    public_url: str,
    log: logging.Logger,
    on_user_changed: Callable[[str], None] = lambda _user_id: None,
    owner_external_id: str | None = None,
) -> AccountParts:
    from ..auth.mail import mailer_for
    from ..service.accounts import Accounts
    from ..service.api_keys import ApiKeys
    from ..service.authentication import Authenticator
    from ..service.password_reset import PasswordResets
    from ..service.user_admin import UserAdmin

    closers: list[Callable[[], Any]] = []
    if secrets.jwt_secret and secrets.jwt_refresh_secret:
        tokens: Any = TokenIssuer(
            JwtSettings(
                secrets.jwt_secret,
                secrets.jwt_refresh_secret,
                access_expiry=jwt_access_expiry,
                refresh_expiry=jwt_refresh_expiry,
            )
        )
    else:
        tokens = _NoTokens()
        log.warning(
            "workscript: no JWT_SECRET / JWT_REFRESH_SECRET: logins are off "
            "(API keys and Jupyter identities still work)"
        )
    if redis_url:
        import redis.asyncio as aioredis

        from ..auth.rate_limit import RedisRateLimiter
        from ..auth.sessions import RedisSessions

        # a Redis that stalls must cost a request 2 s and a 503, never hang it
        client = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        limiter: Any = RedisRateLimiter(client)
        sessions: Any = RedisSessions(client)
        closers.append(client.aclose)
    else:
        from ..auth.rate_limit import StoreRateLimiter
        from ..auth.sessions import StoreSessions

        limiter = StoreRateLimiter(store)
        sessions = StoreSessions(store)
    hasher = PasswordHasher(settings.bcrypt_rounds)
    authenticator = Authenticator(
        store, tokens=tokens, sessions=sessions, limiter=limiter, settings=settings
    )
    closers.append(authenticator.close)
    accounts = Accounts(
        store,
        hasher=hasher,
        tokens=tokens,
        sessions=sessions,
        limiter=limiter,
        authenticator=authenticator,
        settings=settings,
    )
    base = public_url if public_url.endswith("/") else public_url + "/"
    resets = PasswordResets(
        store,
        accounts=accounts,
        hasher=hasher,
        sessions=sessions,
        authenticator=authenticator,
        mailer=mailer_for(mail, log),
        settings=settings,
        reset_link=lambda token: f"{base}workscript/password-reset?token={quote(token)}",
    )
    return AccountParts(
        {
            "authenticator": authenticator,
            "accounts": accounts,
            "password_resets": resets,
            "api_keys": ApiKeys(store, authenticator=authenticator, settings=settings),
            "user_admin": UserAdmin(
                store,
                hasher=hasher,
                sessions=sessions,
                authenticator=authenticator,
                on_user_changed=on_user_changed,
                owner_external_id=owner_external_id,
            ),
            "session_secret": secrets.session_secret or "",
            "jwt_access_expiry": jwt_access_expiry,
        },
        closers,
    )


class _NoTokens:
    """Stands in for ``TokenIssuer`` when no JWT secrets are configured: logins are a 503."""

    def _off(self, *_args: Any, **_kwargs: Any) -> Any:
        from ..errors import ServiceUnavailableError

        raise ServiceUnavailableError(
            "logins are off on this server: set c.WorkscriptApp.jwt_secret and "
            "jwt_refresh_secret (JWT_SECRET, JWT_REFRESH_SECRET), 32+ characters each"
        )

    issue_access = issue_refresh = verify_access = verify_refresh = require_enabled = _off
