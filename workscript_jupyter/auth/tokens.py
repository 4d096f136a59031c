"""Access and refresh tokens: JWTs signed with HS256 (PyJWT), each kind with its own secret.

An access token (``JWT_ACCESS_EXPIRY``, 15 minutes) opens the REST API; a refresh token
(``JWT_REFRESH_EXPIRY``, 7 days) only buys a new pair at ``auth/refresh``. The two are signed
with different secrets *and* carry a ``typ`` claim, so one can never stand in for the other even
if someone set both secrets equal. Verification accepts HS256 only (no ``alg: none``, no RS256
key confusion), requires ``exp iat sub iss aud jti typ``, checks issuer and audience, and allows
at most 30 s of clock skew.

Time comes from an injectable clock rather than PyJWT's own ``time.time()`` calls, so tests can
move it: PyJWT checks signature, presence, issuer and audience, and this module checks
``exp``/``iat``/``nbf`` against the clock. Every failure is an ``AuthenticationError`` whose
message says why and never repeats the token. What is stored about a token is ``token_hash``
(SHA-256), never the token itself.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import jwt

from ..errors import AuthenticationError, ConfigurationError

__all__ = [
    "JWT_ALGORITHM",
    "JWT_MAX_LEEWAY",
    "JWT_MIN_SECRET_LENGTH",
    "MAX_TOKEN_LENGTH",
    "AccessClaims",
    "IssuedToken",
    "JwtSettings",
    "RefreshClaims",
    "TokenIssuer",
    "looks_like_jwt",
    "token_hash",
]

JWT_ALGORITHM = "HS256"
JWT_MIN_SECRET_LENGTH = 32
JWT_MAX_LEEWAY = 30
# far above any token this module issues (~400 bytes); refused before any parsing
MAX_TOKEN_LENGTH = 4096

_REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud", "jti", "typ"]
# the third segment may be empty: an "alg: none" token still reads as a JWT, and is then
# refused as one instead of being handed to Jupyter's identity
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", re.ASCII)
_GENERATE_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"

_Kind = Literal["access", "refresh"]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class JwtSettings:
    """The secrets and lifetimes of tokens; checked when made, so a bad setting stops the start.

    Messages name the setting (``JWT_SECRET`` / ``c.WorkscriptApp.jwt_secret``...), never a
    secret's value, and the repr hides both secrets.
    """

    access_secret: str = field(repr=False)
    refresh_secret: str = field(repr=False)
    access_expiry: int = 900
    refresh_expiry: int = 604_800
    issuer: str = "workscript-jupyter"
    audience: str = "workscript"
    leeway: int = 30

    def __post_init__(self) -> None:
        for value, env, trait in (
            (self.access_secret, "JWT_SECRET", "jwt_secret"),
            (self.refresh_secret, "JWT_REFRESH_SECRET", "jwt_refresh_secret"),
        ):
            if not isinstance(value, str) or len(value) < JWT_MIN_SECRET_LENGTH:
                raise ConfigurationError(
                    f"{env} (c.WorkscriptApp.{trait}) must be a string of at least "
                    f"{JWT_MIN_SECRET_LENGTH} characters; {_GENERATE_HINT}"
                )
        if secrets.compare_digest(self.access_secret.encode(), self.refresh_secret.encode()):
            raise ConfigurationError(
                "JWT_REFRESH_SECRET (c.WorkscriptApp.jwt_refresh_secret) must differ from "
                "JWT_SECRET (c.WorkscriptApp.jwt_secret): with one secret, a stolen refresh "
                f"token would also sign access tokens; {_GENERATE_HINT}"
            )
        for seconds, env, trait in (
            (self.access_expiry, "JWT_ACCESS_EXPIRY", "jwt_access_expiry"),
            (self.refresh_expiry, "JWT_REFRESH_EXPIRY", "jwt_refresh_expiry"),
        ):
            if not _is_whole(seconds) or seconds < 1:
                raise ConfigurationError(
                    f"{env} (c.WorkscriptApp.{trait}) must be a whole number of seconds, at "
                    f"least 1, got {seconds!r}"
                )
        if not _is_whole(self.leeway) or not 0 <= self.leeway <= JWT_MAX_LEEWAY:
            raise ConfigurationError(
                f"c.WorkscriptApp.jwt_leeway must be a whole number of seconds from 0 to "
                f"{JWT_MAX_LEEWAY}, got {self.leeway!r}"
            )
        for text, name in ((self.issuer, "issuer"), (self.audience, "audience")):
            if not isinstance(text, str) or not text:
                raise ConfigurationError(f"the JWT {name} must be a non-empty string")


@dataclass(frozen=True)
class IssuedToken:
    """A freshly signed token (hidden from repr), its ``jti`` and when it expires (UTC)."""

    token: str = field(repr=False)
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str | None
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class RefreshClaims:
    user_id: str
    session_id: str | None
    family_id: str | None
    jti: str
    expires_at: datetime


class TokenIssuer:
    """Signs and verifies workscript tokens with ``settings``; ``clock`` is ``time.time``."""

    def require_enabled(self) -> None:
        """Nothing: an issuer with secrets can always sign (its stand-in without secrets
        raises here, so a registration is refused before anything is created)."""

    def __init__(self, settings: JwtSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock

    def __repr__(self) -> str:
        return f"TokenIssuer({self.settings!r})"

    # -- issuing ------------------------------------------------------------------------------

    def issue_access(self, user_id: str, *, session_id: str | None) -> IssuedToken:
        return self._issue("access", user_id, {"sid": session_id})

    def issue_refresh(
        self, user_id: str, *, session_id: str | None, family_id: str | None
    ) -> IssuedToken:
        return self._issue("refresh", user_id, {"sid": session_id, "fam": family_id})

    def _issue(self, kind: _Kind, user_id: str, extra: Mapping[str, str | None]) -> IssuedToken:
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("a token needs a user id (a non-empty string)")
        settings = self.settings
        now = int(self._clock())
        expiry = settings.access_expiry if kind == "access" else settings.refresh_expiry
        jti = secrets.token_hex(16)
        claims: dict[str, Any] = {
            "sub": user_id,
            "iat": now,
            "exp": now + expiry,
            "iss": settings.issuer,
            "aud": settings.audience,
            "jti": jti,
            "typ": kind,
        }
        claims.update({name: value for name, value in extra.items() if value is not None})
        token = jwt.encode(claims, self._secret(kind), algorithm=JWT_ALGORITHM)
        return IssuedToken(token=token, jti=jti, expires_at=_utc(now + expiry))

    # -- verifying ----------------------------------------------------------------------------

    def verify_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token; ``AuthenticationError`` saying why otherwise."""
        claims = self._verify("access", token)
        return AccessClaims(
            user_id=claims["sub"],
            session_id=_optional_text(claims, "sid", "access"),
            jti=claims["jti"],
            expires_at=_utc(claims["exp"]),
        )

    def verify_refresh(self, token: str) -> RefreshClaims:
        """The claims of a valid refresh token; ``AuthenticationError`` saying why otherwise."""
        claims = self._verify("refresh", token)
        return RefreshClaims(
            user_id=claims["sub"],
            session_id=_optional_text(claims, "sid", "refresh"),
            family_id=_optional_text(claims, "fam", "refresh"),
            jti=claims["jti"],
            expires_at=_utc(claims["exp"]),
        )

    def _secret(self, kind: _Kind) -> str:
        s = self.settings
        return s.access_secret if kind == "access" else s.refresh_secret

    def _verify(self, kind: _Kind, token: str) -> dict[str, Any]:
        the = f"the {kind} token"
        if not isinstance(token, str) or not token:
            raise AuthenticationError(f"{the} is missing")
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationError(f"{the} is longer than {MAX_TOKEN_LENGTH} characters")
        settings = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret(kind),
                algorithms=[JWT_ALGORITHM],
                audience=settings.audience,
                issuer=settings.issuer,
                # exp, iat and nbf are checked below, against our clock rather than PyJWT's
                options={
                    "require": _REQUIRED_CLAIMS,
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": True,
                    "verify_iss": True,
                },
            )
        except jwt.InvalidAlgorithmError:
            raise AuthenticationError(f"{the} is not signed with {JWT_ALGORITHM}") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationError(f"{the}'s signature does not match") from None
        except jwt.MissingRequiredClaimError as e:
            raise AuthenticationError(f"{the} has no {e.claim!r} claim") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError(
                f"{the} is not a workscript {kind} token (it was issued by someone else)"
            ) from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError(
                f"{the} is not a workscript {kind} token (it is meant for another audience)"
            ) from None
        except jwt.DecodeError:
            raise AuthenticationError(f"{the} is malformed (not a readable JWT)") from None
        except jwt.InvalidTokenError as e:
            # e.g. a non-string sub or jti; PyJWT's messages name claims, never the token
            raise AuthenticationError(f"{the} is invalid: {e}") from None
        if claims.get("typ") != kind:
            raise AuthenticationError(f"{the} is not a workscript {kind} token")
        for name in ("sub", "jti"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise AuthenticationError(f"{the} has a malformed {name!r} claim")
        self._check_times(the, claims)
        return claims

    def _check_times(self, the: str, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        leeway = self.settings.leeway
        for name in ("exp", "iat", "nbf"):
            if name in claims and not _is_number(claims[name]):
                raise AuthenticationError(f"{the} has a malformed {name!r} claim")
        if now > claims["exp"] + leeway:
            raise AuthenticationError(f"{the} has expired")
        if claims["iat"] > now + leeway:
            raise AuthenticationError(f"{the} was issued in the future (are the clocks right?)")
        if "nbf" in claims and claims["nbf"] > now + leeway:
            raise AuthenticationError(f"{the} is not valid yet")


def _optional_text(claims: Mapping[str, Any], name: str, kind: str) -> str | None:
    value = claims.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise AuthenticationError(f"the {kind} token has a malformed {name!r} claim")
    return value


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def token_hash(token: str) -> str:
    """SHA-256 (hex) of ``token``: how refresh and reset tokens are stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_jwt(value: str) -> bool:
    """True when ``value`` has a JWT's shape: three base64url segments separated by dots."""
    return isinstance(value, str) and _JWT_SHAPE.fullmatch(value) is not None
