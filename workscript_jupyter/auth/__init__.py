"""The auth layer's building blocks: passwords, tokens, API keys, and generated secrets.

DESIGN §2: ``auth`` sits above ``engine``/``store`` and below ``service``; it may import
``errors``, ``store`` and libraries, never ``service``, ``server``, ``kernel`` or ``cli``. These
modules are pure (no store access): the service's account use cases combine them with the
credential store, and the server's handlers only call the service.
"""

from __future__ import annotations

from .api_keys import (
    API_KEY_PREFIX,
    Credential,
    NewApiKey,
    generate_api_key,
    hash_api_key,
    read_credential,
)
from .common_passwords import is_common_password
from .passwords import (
    PASSWORD_MAX_BYTES,
    PASSWORD_MIN_LENGTH,
    PasswordHasher,
    check_password_rules,
)
from .secrets_file import SECRET_NAMES, load_or_create_secrets
from .tokens import (
    AccessClaims,
    IssuedToken,
    JwtSettings,
    RefreshClaims,
    TokenIssuer,
    looks_like_jwt,
    token_hash,
)

# permissions: added by the lead

__all__ = [
    "API_KEY_PREFIX",
    "PASSWORD_MAX_BYTES",
    "PASSWORD_MIN_LENGTH",
    "SECRET_NAMES",
    "AccessClaims",
    "Credential",
    "IssuedToken",
    "JwtSettings",
    "NewApiKey",
    "PasswordHasher",
    "RefreshClaims",
    "TokenIssuer",
    "check_password_rules",
    "generate_api_key",
    "hash_api_key",
    "is_common_password",
    "load_or_create_secrets",
    "looks_like_jwt",
    "read_credential",
    "token_hash",
]
