"""JWT access and refresh tokens: round trips, the clock and its leeway, and every refusal —
wrong secret, the other kind of token, alg none, foreign issuer or audience, missing claims —
each with a message that says why and never repeats the token or a secret."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from workscript_jupyter.auth import (
    AccessClaims,
    JwtSettings,
    RefreshClaims,
    TokenIssuer,
    looks_like_jwt,
    token_hash,
)
from workscript_jupyter.errors import AuthenticationError, ConfigurationError

ACCESS_SECRET = "a" * 31 + "-access-secret-for-tests"
REFRESH_SECRET = "r" * 31 + "-refresh-secret-for-tests"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(**overrides: Any) -> tuple[TokenIssuer, Clock]:
    clock = Clock()
    settings = JwtSettings(
        access_secret=overrides.pop("access_secret", ACCESS_SECRET),
        refresh_secret=overrides.pop("refresh_secret", REFRESH_SECRET),
        **overrides,
    )
    return TokenIssuer(settings, clock=clock), clock


def refused(verify: Any, token: str, match: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError, match=match) as caught:
        verify(token)
    text = str(caught.value) + repr(caught.value.details)
    assert token not in text
    for secret in (ACCESS_SECRET, REFRESH_SECRET):
        assert secret not in text
    return caught.value


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "user-1",
        "iat": int(T0),
        "exp": int(T0) + 900,
        "iss": "workscript-jupyter",
        "aud": "workscript",
        "jti": "j1",
        "typ": "access",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# -- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"access_secret": "short-secret"}, ["JWT_SECRET", "c.WorkscriptApp.jwt_secret"]),
        ({"access_secret": "x" * 31}, ["JWT_SECRET", "jwt_secret"]),
        (
            {"refresh_secret": "short-refresh"},
            ["JWT_REFRESH_SECRET", "c.WorkscriptApp.jwt_refresh_secret"],
        ),
        ({"refresh_secret": ACCESS_SECRET}, ["JWT_REFRESH_SECRET", "must differ", "JWT_SECRET"]),
        ({"access_expiry": 0}, ["JWT_ACCESS_EXPIRY", "jwt_access_expiry"]),
        ({"refresh_expiry": -5}, ["JWT_REFRESH_EXPIRY", "jwt_refresh_expiry"]),
        ({"access_expiry": 9.5}, ["JWT_ACCESS_EXPIRY"]),
        ({"leeway": 31}, ["jwt_leeway"]),
        ({"leeway": -1}, ["jwt_leeway"]),
        ({"issuer": ""}, ["issuer"]),
    ],
)
def test_bad_settings_name_the_setting_and_not_the_value(
    changes: dict[str, Any], names: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make(**changes)
    for name in names:
        assert name in caught.value.message
    for value in (ACCESS_SECRET, REFRESH_SECRET, "short-secret", "short-refresh", "x" * 31):
        assert value not in caught.value.message


def test_settings_accept_32_characters_and_hide_secrets() -> None:
    settings = JwtSettings(access_secret="x" * 32, refresh_secret="y" * 32, leeway=0)
    assert "x" * 32 not in repr(settings) and "y" * 32 not in repr(settings)
    assert "x" * 32 not in repr(TokenIssuer(settings))


# -- round trips --------------------------------------------------------------------------------


def test_access_round_trip() -> None:
    issuer, _ = make()
    issued = issuer.issue_access("user-1", session_id="s-1")
    assert issued.token not in repr(issued)
    assert issued.expires_at == datetime.fromtimestamp(T0 + 900, UTC)
    got = issuer.verify_access(issued.token)
    assert got == AccessClaims(
        user_id="user-1", session_id="s-1", jti=issued.jti, expires_at=issued.expires_at
    )
    assert issuer.verify_access(issuer.issue_access("u", session_id=None).token).session_id is None


def test_refresh_round_trip() -> None:
    issuer, _ = make()
    issued = issuer.issue_refresh("user-1", session_id="s-1", family_id="f-1")
    assert issued.expires_at == datetime.fromtimestamp(T0 + 604_800, UTC)
    assert issuer.verify_refresh(issued.token) == RefreshClaims(
        user_id="user-1",
        session_id="s-1",
        family_id="f-1",
        jti=issued.jti,
        expires_at=issued.expires_at,
    )


def test_every_token_has_its_own_jti() -> None:
    issuer, _ = make()
    jtis = {issuer.issue_access("u", session_id=None).jti for _ in range(100)}
    assert len(jtis) == 100


def test_the_signed_claims() -> None:
    issuer, _ = make()
    token = issuer.issue_refresh("u", session_id=None, family_id="f").token
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    body = jwt.decode(token, options={"verify_signature": False})
    assert set(body) == {"sub", "iat", "exp", "iss", "aud", "jti", "typ", "fam"}
    assert body["typ"] == "refresh" and body["iss"] == "workscript-jupyter"


# -- the clock ----------------------------------------------------------------------------------


def test_expired_past_exp_plus_leeway() -> None:
    issuer, clock = make()
    token = issuer.issue_access("u", session_id=None).token
    clock.now = T0 + 900 + 30  # within the leeway
    issuer.verify_access(token)
    clock.now = T0 + 900 + 31
    refused(issuer.verify_access, token, "the access token has expired")
    refresh = issuer.issue_refresh("u", session_id=None, family_id=None).token
    clock.now += 604_800 + 31
    refused(issuer.verify_refresh, refresh, "the refresh token has expired")


def test_no_leeway_means_none() -> None:
    issuer, clock = make(leeway=0)
    token = issuer.issue_access("u", session_id=None).token
    clock.now = T0 + 900
    issuer.verify_access(token)
    clock.now = T0 + 901
    refused(issuer.verify_access, token, "has expired")


def test_issued_in_the_future_beyond_the_leeway() -> None:
    issuer, clock = make(leeway=10)
    clock.now = T0 + 100
    token = issuer.issue_access("u", session_id=None).token
    clock.now = T0 + 95
    issuer.verify_access(token)  # 5 s of skew: allowed
    clock.now = T0
    refused(issuer.verify_access, token, "issued in the future")


# -- refusals -----------------------------------------------------------------------------------


def test_a_token_signed_with_another_secret() -> None:
    issuer, _ = make()
    other, _ = make(access_secret="o" * 40, refresh_secret="p" * 40)
    token = other.issue_access("u", session_id=None).token
    refused(issuer.verify_access, token, "the access token's signature does not match")
    refresh = other.issue_refresh("u", session_id=None, family_id=None).token
    refused(issuer.verify_refresh, refresh, "the refresh token's signature does not match")


def test_refresh_as_access_and_access_as_refresh_are_refused() -> None:
    issuer, _ = make()
    refresh = issuer.issue_refresh("u", session_id=None, family_id="f").token
    access = issuer.issue_access("u", session_id=None).token
    refused(issuer.verify_access, refresh, "access token")
    refused(issuer.verify_refresh, access, "refresh token")


def test_the_kinds_stay_apart_even_with_one_secret() -> None:
    issuer, _ = make()
    # JwtSettings refuses equal secrets; the typ claim must hold even if they were equal
    same = dataclasses.replace(issuer.settings, refresh_secret=REFRESH_SECRET + "x")
    object.__setattr__(same, "refresh_secret", same.access_secret)
    lax = TokenIssuer(same, clock=Clock())
    refresh = lax.issue_refresh("u", session_id=None, family_id="f").token
    access = lax.issue_access("u", session_id=None).token
    refused(lax.verify_access, refresh, "is not a workscript access token")
    refused(lax.verify_refresh, access, "is not a workscript refresh token")


def test_alg_none_is_refused() -> None:
    issuer, _ = make()
    token = jwt.encode(claims(), None, algorithm="none")
    assert looks_like_jwt(token)
    refused(issuer.verify_access, token, "not signed with HS256")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("alg", ["RS256", "HS512", "none", "None"])
def test_only_hs256_is_accepted(alg: str) -> None:
    issuer, _ = make()
    if alg == "HS512":
        token = jwt.encode(claims(), ACCESS_SECRET, algorithm="HS512")
    else:  # a forged header over a valid body; the signature is not even looked at
        token = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims())}.c2lnbmF0dXJl"
    refused(issuer.verify_access, token, "not signed with HS256")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"iss": "someone-else"}, "issued by someone else"),
        ({"aud": "another-app"}, "meant for another audience"),
        ({"aud": ["another-app", "more"]}, "meant for another audience"),
        ({"typ": "id"}, "is not a workscript access token"),
        ({"sub": ""}, "malformed 'sub'"),
        ({"sid": 7}, "malformed 'sid'"),
        ({"exp": "tomorrow"}, "'exp'"),
        ({"nbf": int(T0) + 100}, "not valid yet"),
    ],
)
def test_foreign_or_malformed_claims_are_refused(changes: dict[str, Any], match: str) -> None:
    issuer, _ = make()
    token = jwt.encode(claims(**changes), ACCESS_SECRET, algorithm="HS256")
    refused(issuer.verify_access, token, match)


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud", "jti", "typ"])
def test_every_required_claim_is_required(claim: str) -> None:
    issuer, _ = make()
    token = jwt.encode(claims(**{claim: None}), ACCESS_SECRET, algorithm="HS256")
    refused(issuer.verify_access, token, f"has no '{claim}' claim")


def test_the_claims_helper_makes_a_token_that_verifies() -> None:
    # the refusals above differ from this only by the claim they change
    issuer, _ = make()
    token = jwt.encode(claims(), ACCESS_SECRET, algorithm="HS256")
    assert issuer.verify_access(token).user_id == "user-1"


@pytest.mark.parametrize(
    ("token", "match"),
    [
        ("", "missing"),
        ("not-a-jwt", "malformed"),
        ("a.b.c", "malformed"),
        pytest.param("x" * 5000, "longer than 4096", id="too-long"),
    ],
)
def test_garbage_is_refused(token: str, match: str) -> None:
    issuer, _ = make()
    for verify in (issuer.verify_access, issuer.verify_refresh):
        with pytest.raises(AuthenticationError, match=match) as caught:
            verify(token)
        assert not token or token not in str(caught.value)


def test_a_non_string_is_refused() -> None:
    issuer, _ = make()
    with pytest.raises(AuthenticationError, match="missing"):
        issuer.verify_access(None)  # type: ignore[arg-type]


# -- helpers ------------------------------------------------------------------------------------


def test_token_hash_is_sha256_hex() -> None:
    assert token_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(token_hash("x")) == 64 and token_hash("x") != token_hash("y")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("eyJh.eyJz.c2ln", True),
        ("eyJh.eyJz.", True),  # alg none: refused later, as a JWT
        ("a.b", False),
        ("a.b.c.d", False),
        (".b.c", False),
        ("a b.c.d", False),
        ("wks_live_abc", False),
        ("0123456789abcdef0123456789abcdef0123456789abcdef", False),  # a Jupyter token
        ("a+b.c/d.e=", False),  # base64, not base64url
        ("", False),
    ],
)
def test_looks_like_jwt(value: str, expected: bool) -> None:
    assert looks_like_jwt(value) is expected


def test_a_real_token_looks_like_a_jwt() -> None:
    issuer, _ = make()
    assert looks_like_jwt(issuer.issue_access("u", session_id=None).token)
