"""``AccountSettings``: the limits and lifetimes of the accounts layer, as plain values.

The server reads them from ``WorkscriptApp`` traits (and the original's environment variables);
the CLI from the same environment. Each is checked here once, with the setting's name in the
message, so a bad value stops the server at start instead of failing a login later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from ..errors import ConfigurationError

__all__ = ["AccountSettings", "env_int"]


@dataclass(frozen=True, slots=True)
class AccountSettings:
    bcrypt_rounds: int = 12
    max_login_attempts: int = 5
    lockout_seconds: int = 900
    session_seconds: int = 86_400
    api_key_expiry_days: int = 30  # 0: keys never expire unless given an expiry
    api_key_rate_limit: int = 1000  # requests per hour and key
    allow_registration: bool = False
    reset_expiry_seconds: int = 1800
    reset_token_length: int = 64  # hex characters (64 = 256 bits)
    # login, register and reset requests per client address and window (all three together)
    auth_ip_limit: int = 100
    auth_ip_window_seconds: int = 900
    # how long a server trusts what it read of a key, a user or a session (another server's
    # revocation shows here after at most this long; this server's own at once)
    credential_cache_seconds: float = 2.0

    def __post_init__(self) -> None:
        minimums = {
            "bcrypt_rounds": 4,
            "max_login_attempts": 1,
            "lockout_seconds": 1,
            "session_seconds": 60,
            "api_key_expiry_days": 0,
            "api_key_rate_limit": 1,
            "reset_expiry_seconds": 60,
            "reset_token_length": 32,
            "auth_ip_limit": 1,
            "auth_ip_window_seconds": 1,
        }
        for item in fields(self):
            value = getattr(self, item.name)
            low = minimums.get(item.name)
            if low is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigurationError(
                    f"WorkscriptApp.{item.name} must be an integer >= {low}, not {value!r}"
                )
        if self.bcrypt_rounds > 31:
            raise ConfigurationError(
                "WorkscriptApp.bcrypt_rounds (BCRYPT_ROUNDS) must be 4..31, "
                f"not {self.bcrypt_rounds}"
            )
        if self.reset_token_length % 2 or self.reset_token_length > 128:
            raise ConfigurationError(
                "WorkscriptApp.password_reset_token_length (PASSWORD_RESET_TOKEN_LENGTH) must be "
                f"an even number of hex characters from 32 to 128, not {self.reset_token_length}"
            )
        if self.credential_cache_seconds < 0:
            raise ConfigurationError("WorkscriptApp.credential_cache_seconds must be >= 0")


def env_int(name: str, fallback: int) -> int:
    """A whole number from the environment variable ``name`` (the original's settings), or
    ``fallback`` when it is unset; anything else is a ConfigurationError naming the variable."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return fallback
    text = raw.strip().lower()
    if name == "API_KEY_EXPIRY" and text.endswith("d"):
        text = text[:-1]  # the original writes "30d"
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(
            f"the environment variable {name} must be a whole number, not {raw!r}"
        ) from None
