"""The settings of the accounts layer, as ``WorkscriptApp`` traits (``workscript settings``).

Kept apart from app.py only so that a reader finds them together; ``WorkscriptApp`` inherits
them and they are configured as ``c.WorkscriptApp.<name>``. When a trait is not configured,
the original's environment variable fills it (``JWT_SECRET``, ``BCRYPT_ROUNDS``, ``SMTP_HOST`` …);
an environment value that is not a number where one is needed stops the server with the
variable's name.
"""

from __future__ import annotations

import os

from traitlets import Bool, CaselessStrEnum, Float, HasTraits, Integer, Unicode, default

from ..service.account_settings import env_int as _env_int

__all__ = ["AccountTraits"]


def _env_str(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


class AccountTraits(HasTraits):
    jwt_secret = Unicode(
        None,
        allow_none=True,
        help=(
            "Signs access tokens (HS256), >= 32 characters. Unset: JWT_SECRET; on a local "
            "server, generated once and kept in the Jupyter data dir (mode 0600)."
        ),
    ).tag(config=True)

    @default("jwt_secret")
    def _jwt_secret(self) -> str | None:
        return _env_str("JWT_SECRET")

    jwt_refresh_secret = Unicode(
        None,
        allow_none=True,
        help=(
            "Signs refresh tokens; >= 32 characters and not jwt_secret. Unset: JWT_REFRESH_SECRET."
        ),
    ).tag(config=True)

    @default("jwt_refresh_secret")
    def _jwt_refresh_secret(self) -> str | None:
        return _env_str("JWT_REFRESH_SECRET")

    session_secret = Unicode(
        None,
        allow_none=True,
        help="Signs the workscript-session cookie, >= 32 characters. Unset: SESSION_SECRET.",
    ).tag(config=True)

    @default("session_secret")
    def _session_secret(self) -> str | None:
        return _env_str("SESSION_SECRET")

    jwt_access_expiry = Integer(help="Access token lifetime in seconds (JWT_ACCESS_EXPIRY).").tag(
        config=True
    )

    @default("jwt_access_expiry")
    def _jwt_access_expiry(self) -> int:
        return _env_int("JWT_ACCESS_EXPIRY", 900)

    jwt_refresh_expiry = Integer(
        help="Refresh token lifetime in seconds (JWT_REFRESH_EXPIRY; 7 days)."
    ).tag(config=True)

    @default("jwt_refresh_expiry")
    def _jwt_refresh_expiry(self) -> int:
        return _env_int("JWT_REFRESH_EXPIRY", 604_800)

    bcrypt_rounds = Integer(help="bcrypt cost of password hashes (BCRYPT_ROUNDS; 12).").tag(
        config=True
    )

    @default("bcrypt_rounds")
    def _bcrypt_rounds(self) -> int:
        return _env_int("BCRYPT_ROUNDS", 12)

    max_login_attempts = Integer(
        help="Failed logins within lockout_duration that lock an account (MAX_LOGIN_ATTEMPTS; 5)."
    ).tag(config=True)

    @default("max_login_attempts")
    def _max_login_attempts(self) -> int:
        return _env_int("MAX_LOGIN_ATTEMPTS", 5)

    lockout_duration = Integer(
        help="Seconds a locked account stays locked (LOCKOUT_DURATION; 900)."
    ).tag(config=True)

    @default("lockout_duration")
    def _lockout_duration(self) -> int:
        return _env_int("LOCKOUT_DURATION", 900)

    session_expiry = Integer(help="Login session lifetime in seconds (SESSION_EXPIRY; 86400).").tag(
        config=True
    )

    @default("session_expiry")
    def _session_expiry(self) -> int:
        return _env_int("SESSION_EXPIRY", 86_400)

    api_key_expiry = Integer(
        help="Days a new API key lives unless given another expiry; 0: never (API_KEY_EXPIRY; 30)."
    ).tag(config=True)

    @default("api_key_expiry")
    def _api_key_expiry(self) -> int:
        return _env_int("API_KEY_EXPIRY", 30)

    api_key_rate_limit = Integer(
        help=(
            "Requests per hour and API key (API_KEY_RATE_LIMIT; 1000); a sliding window in "
            "Redis when redis_url is set (shared by every server), else in the database."
        )
    ).tag(config=True)

    @default("api_key_rate_limit")
    def _api_key_rate_limit(self) -> int:
        return _env_int("API_KEY_RATE_LIMIT", 1000)

    password_reset_expiry = Integer(
        help="Seconds a password reset link works (PASSWORD_RESET_EXPIRY; 1800)."
    ).tag(config=True)

    @default("password_reset_expiry")
    def _password_reset_expiry(self) -> int:
        return _env_int("PASSWORD_RESET_EXPIRY", 1800)

    password_reset_token_length = Integer(
        help="Hex characters of a reset token (PASSWORD_RESET_TOKEN_LENGTH; 64 = 256 bits)."
    ).tag(config=True)

    @default("password_reset_token_length")
    def _password_reset_token_length(self) -> int:
        return _env_int("PASSWORD_RESET_TOKEN_LENGTH", 64)

    allow_registration = Bool(
        False,
        help=(
            "Whether anyone who reaches the server may create an account (POST "
            "/workscript/auth/register). Off by default on every server: an account runs "
            "workflows, and on a single-user server those reach the owner's files and kernels. "
            "Admins create users (POST /workscript/users, `workscript users create`)."
        ),
    ).tag(config=True)

    auth_ip_limit = Integer(
        100,
        help="Login, register and reset requests per client address and auth_ip_window_seconds.",
    ).tag(config=True)

    auth_ip_window_seconds = Integer(900, help="The window of auth_ip_limit, in seconds.").tag(
        config=True
    )

    credential_cache_seconds = Float(
        2.0,
        help=(
            "How long a server trusts what it read of an API key, a user or a session; another "
            "server's revocation shows here after at most this long (this server's at once)."
        ),
    ).tag(config=True)

    public_url = Unicode(
        "",
        help=(
            "The server's address as users reach it (https://host/prefix/), for links in "
            "emails. Never taken from a request's Host header (a forged one would send reset "
            "links elsewhere). Default: the Jupyter server's own URL."
        ),
    ).tag(config=True)

    email_backend = CaselessStrEnum(
        ["smtp", "console", "none"],
        default_value=None,
        allow_none=True,
        help=(
            "How mail (password resets) is sent: smtp; console (logs the message with its "
            "link — development only, chosen explicitly); none (resets answer 503). Default: "
            "smtp when smtp_host is set, else none."
        ),
    ).tag(config=True)

    smtp_host = Unicode(None, allow_none=True, help="SMTP server (SMTP_HOST).").tag(config=True)

    @default("smtp_host")
    def _smtp_host(self) -> str | None:
        return _env_str("SMTP_HOST")

    smtp_port = Integer(help="SMTP port (SMTP_PORT; 587).").tag(config=True)

    @default("smtp_port")
    def _smtp_port(self) -> int:
        return _env_int("SMTP_PORT", 587)

    smtp_secure = Unicode(help="starttls, ssl or none (SMTP_SECURE; starttls).").tag(config=True)

    @default("smtp_secure")
    def _smtp_secure(self) -> str:
        raw = (_env_str("SMTP_SECURE") or "starttls").lower()
        # the original's SMTP_SECURE=true means implicit TLS, false means STARTTLS
        return {"true": "ssl", "false": "starttls"}.get(raw, raw)

    smtp_user = Unicode(None, allow_none=True, help="SMTP login (SMTP_USER).").tag(config=True)

    @default("smtp_user")
    def _smtp_user(self) -> str | None:
        return _env_str("SMTP_USER")

    smtp_password = Unicode(None, allow_none=True, help="SMTP password (SMTP_PASS).").tag(
        config=True
    )

    @default("smtp_password")
    def _smtp_password(self) -> str | None:
        return _env_str("SMTP_PASS")

    email_from = Unicode(None, allow_none=True, help="The sender of mail (EMAIL_FROM).").tag(
        config=True
    )

    @default("email_from")
    def _email_from(self) -> str | None:
        return _env_str("EMAIL_FROM")
