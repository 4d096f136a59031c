"""The environment the kernels of ``notebook`` and ``python`` nodes start with.

- Single-user server: Jupyter's own rule (the kernel inherits the server's environment) minus
  the secrets Workscript itself reads (``SECRET_ENV_NAMES``: the database URL and password, the
  Redis URL, the JWT/session/encryption secrets, the SMTP password, the OpenRouter and Google
  secrets), so a workflow's code cannot read the store's credentials.
- Shared server: nothing of the server's environment but the names in ``allow`` (default
  ``DEFAULT_ENV_ALLOW``: the search path, locale and time zone), plus the admin's ``extra``
  values. A secret name is dropped even when the allow list names it.

The list of secret names lives here and only here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

__all__ = ["DEFAULT_ENV_ALLOW", "SECRET_ENV_NAMES", "is_secret_name", "kernel_env"]

SECRET_ENV_NAMES: frozenset[str] = frozenset(
    {
        "WORKSCRIPT_DB_URL",
        "DB_PASSWORD",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "JWT_REFRESH_SECRET",
        "SESSION_SECRET",
        "ENCRYPTION_KEY",
        "SECRET_KEY",  # WORKSCRIPT_SECRET_KEY: opens the OAuth tokens kept at rest
        "SMTP_PASSWORD",
        "OPENROUTER_API_KEY",
        "GOOGLE_CLIENT_SECRET",
        "GATEWAY_AUTH_TOKEN",  # WORKSCRIPT_/JUPYTER_GATEWAY_AUTH_TOKEN: opens the kernel gateway
    }
)
# the same families, whatever the exact name (SESSION_KEY, WORKSCRIPT_ENCRYPTION_KEY...)
_SECRET_PREFIXES = ("JWT_", "SESSION_", "ENCRYPTION_", "SMTP_PASS", "OPENROUTER_", "GOOGLE_CLIENT")

DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_NUMERIC",
    "LC_TIME",
    "TZ",
)


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    stripped = upper.removeprefix("WORKSCRIPT_")
    return (
        upper in SECRET_ENV_NAMES
        or stripped in SECRET_ENV_NAMES
        or stripped.startswith(_SECRET_PREFIXES)
    )


def kernel_env(
    *,
    shared: bool,
    allow: Iterable[str] = DEFAULT_ENV_ALLOW,
    extra: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The kernel environment (see the module docstring); ``environ`` defaults to os.environ."""
    source = os.environ if environ is None else environ
    if shared:
        allowed = set(allow)
        env = {k: v for k, v in source.items() if k in allowed and not is_secret_name(k)}
        env.update({str(k): str(v) for k, v in (extra or {}).items()})
        return env
    env = {k: v for k, v in source.items() if not is_secret_name(k)}
    env.update({str(k): str(v) for k, v in (extra or {}).items()})
    return env
