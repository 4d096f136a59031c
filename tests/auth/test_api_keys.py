"""API key material (format, entropy, hash) and which credential a request's headers carry."""

from __future__ import annotations

import base64
import hashlib

import pytest

from workscript_jupyter.auth import (
    API_KEY_PREFIX,
    Credential,
    generate_api_key,
    hash_api_key,
    read_credential,
)
from workscript_jupyter.errors import AuthenticationError, BadRequestError

KEY = "wks_live_" + "k" * 43
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
JUPYTER_TOKEN = "0f3a9c2e4b5d6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"


def test_a_new_key_has_256_random_bits_and_its_hash() -> None:
    key = generate_api_key()
    assert key.secret.startswith(API_KEY_PREFIX) and API_KEY_PREFIX == "wks_live_"
    random_part = key.secret[len(API_KEY_PREFIX) :]
    assert len(base64.urlsafe_b64decode(random_part + "=")) == 32  # 256 bits
    assert len(key.secret) == 52
    assert key.key_hash == hashlib.sha256(key.secret.encode()).hexdigest()
    assert key.key_hash == hash_api_key(key.secret)
    assert key.prefix == key.secret[:13] and len(key.prefix) == 13
    assert key.secret not in repr(key) and random_part not in repr(key)


def test_keys_never_repeat() -> None:
    keys = {generate_api_key().secret for _ in range(2000)}
    assert len(keys) == 2000
    # the shown prefixes carry 4 random characters: they recognise, they do not identify
    assert len({k[:13] for k in keys}) > 1000


def test_hash_api_key() -> None:
    assert hash_api_key(KEY) == hash_api_key(KEY)
    assert hash_api_key(KEY) != hash_api_key(KEY + "x")
    assert len(hash_api_key(KEY)) == 64


@pytest.mark.parametrize(
    ("x_api_key", "authorization", "expected"),
    [
        (None, None, None),
        (KEY, None, Credential("api_key", KEY)),
        (f"  {KEY} ", None, Credential("api_key", KEY)),
        ("garbage", None, Credential("api_key", "garbage")),  # fails later, never falls through
        ("", None, Credential("api_key", "")),
        (None, f"Bearer {KEY}", Credential("api_key", KEY)),
        (None, f"bearer   {KEY}  ", Credential("api_key", KEY)),
        (None, "Bearer wks_test_something", Credential("api_key", "wks_test_something")),
        (None, f"Bearer {JWT}", Credential("jwt", JWT)),
        (None, f"BEARER {JWT}", Credential("jwt", JWT)),
        (None, f"token {JUPYTER_TOKEN}", None),
        (None, f"Bearer {JUPYTER_TOKEN}", None),
        (None, f"token {KEY}", None),  # Jupyter's scheme: not ours
        (None, f"Basic {base64.b64encode(b'u:p').decode()}", None),
        (None, "Bearer", None),
        (None, "Bearer ", None),
        (None, "", None),
        (KEY, f"Bearer {KEY}", Credential("api_key", KEY)),  # the same key twice
        (KEY, f"token {JUPYTER_TOKEN}", Credential("api_key", KEY)),  # the key comes first
    ],
)
def test_read_credential(
    x_api_key: str | None, authorization: str | None, expected: Credential | None
) -> None:
    assert read_credential(x_api_key, authorization) == expected


@pytest.mark.parametrize(
    ("x_api_key", "authorization"),
    [(KEY, f"Bearer {KEY}x"), (KEY, f"Bearer {JWT}"), ("garbage", f"Bearer {KEY}")],
)
def test_two_different_credentials_are_a_bad_request(x_api_key: str, authorization: str) -> None:
    with pytest.raises(BadRequestError, match="different credentials") as caught:
        read_credential(x_api_key, authorization)
    assert KEY not in str(caught.value) and JWT not in str(caught.value)


def test_a_header_over_4_kb_is_refused() -> None:
    long = "wks_live_" + "a" * 4088  # 4,097 characters
    for headers in ((long, None), (None, f"Bearer {long[:4090]}")):
        with pytest.raises(AuthenticationError, match="longer than 4096") as caught:
            read_credential(*headers)
        assert "a" * 100 not in str(caught.value)
    ok = "wks_live_" + "a" * 4087  # 4,096
    assert read_credential(ok, None) == Credential("api_key", ok)


def test_a_credential_hides_its_value() -> None:
    credential = Credential("api_key", KEY)
    assert KEY not in repr(credential) and "api_key" in repr(credential)
