"""API key material, and reading which workscript credential a request carries.

A key is ``wks_live_`` + 256 random bits (``secrets.token_urlsafe(32)``). It is shown once, at
creation; the store keeps only its SHA-256 — a fast hash is right here, unlike for passwords,
because 256 random bits cannot be guessed, and every request looks a key up by it. The first
13 characters (``wks_live_`` + 4) are kept in clear so that a user can recognise a key in a
list.

``read_credential`` sorts a request's headers into the first two steps of the identity order
(DESIGN §3): an API key (``X-API-Key: …`` or ``Authorization: Bearer wks_…``), then a
workscript JWT (``Authorization: Bearer <jwt>``). Anything else is left to Jupyter's identity.
A malformed value in ``X-API-Key`` is still an API key: it must fail authentication, not fall
through to another identity.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Literal

from ..errors import AuthenticationError, BadRequestError
from .tokens import looks_like_jwt

__all__ = [
    "API_KEY_PREFIX",
    "API_KEY_SHOWN_PREFIX_LENGTH",
    "MAX_CREDENTIAL_HEADER_LENGTH",
    "Credential",
    "NewApiKey",
    "generate_api_key",
    "hash_api_key",
    "read_credential",
]

API_KEY_PREFIX = "wks_live_"
API_KEY_SHOWN_PREFIX_LENGTH = 13
# any workscript credential fits with room to spare; a longer header is refused unread
MAX_CREDENTIAL_HEADER_LENGTH = 4096
# what marks a bearer value as a workscript key (any environment: wks_live_, a later wks_test_)
_KEY_MARK = "wks_"


@dataclass(frozen=True)
class NewApiKey:
    """A key just made: ``secret`` (shown once, hidden from repr), its hash and shown prefix."""

    secret: str = field(repr=False)
    key_hash: str
    prefix: str


def hash_api_key(secret: str) -> str:
    """SHA-256 (hex) of the whole key, as stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_api_key() -> NewApiKey:
    """A fresh key: ``wks_live_`` + 256 random bits in base64url (52 characters in all)."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return NewApiKey(
        secret=secret,
        key_hash=hash_api_key(secret),
        prefix=secret[:API_KEY_SHOWN_PREFIX_LENGTH],
    )


@dataclass(frozen=True)
class Credential:
    """A workscript credential read from a request; ``value`` is hidden from repr."""

    kind: Literal["api_key", "jwt"]
    value: str = field(repr=False)


def _bearer(authorization: str) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (scheme case-insensitive), else None."""
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = rest.strip()
    return token or None


def read_credential(x_api_key: str | None, authorization: str | None) -> Credential | None:
    """The workscript credential in these headers, or None to leave the request to Jupyter.

    - ``X-API-Key: v`` is an API key, whatever ``v`` is;
    - ``Authorization: Bearer wks_…`` is an API key, ``Authorization: Bearer <jwt>`` a JWT;
    - anything else (``token abc``, ``Bearer <a Jupyter token>``) is not ours: None.

    Two different workscript credentials in the two headers are a ``BadRequestError`` (which
    one was meant?); a header over 4 KB is an ``AuthenticationError``.
    """
    for name, value in (("X-API-Key", x_api_key), ("Authorization", authorization)):
        if value is not None and len(value) > MAX_CREDENTIAL_HEADER_LENGTH:
            raise AuthenticationError(
                f"the {name} header is longer than {MAX_CREDENTIAL_HEADER_LENGTH} characters"
            )
    from_key = Credential("api_key", x_api_key.strip()) if x_api_key is not None else None
    from_auth: Credential | None = None
    token = _bearer(authorization) if authorization is not None else None
    if token is not None:
        if token.startswith(_KEY_MARK):
            from_auth = Credential("api_key", token)
        elif looks_like_jwt(token):
            from_auth = Credential("jwt", token)
    if from_key is not None and from_auth is not None and from_key != from_auth:
        raise BadRequestError(
            "the X-API-Key and Authorization headers carry different credentials: send one",
            details={"headers": ["X-API-Key", "Authorization"]},
        )
    return from_key or from_auth
