"""SecretBox: Fernet under rotatable keys; no key or token in a message or a repr."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from workscript_jupyter.auth.secret_box import MAX_KEYS, SecretBox
from workscript_jupyter.errors import ConfigurationError, SecretUnreadableError

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
PASSPHRASE = "correct-horse-battery-staple-well-past-32"


def test_round_trip() -> None:
    box = SecretBox.from_setting(NEW)
    token = box.encrypt("ya29.access-token")
    assert token != "ya29.access-token" and token.isascii()
    assert box.decrypt(token) == "ya29.access-token"


@pytest.mark.parametrize("text", ["", "héllo wörld ✓", "日本語のトークン", "emoji 🔐" * 100])
def test_unicode_and_empty_texts_round_trip(text: str) -> None:
    box = SecretBox.from_setting(NEW)
    assert box.decrypt(box.encrypt(text)) == text


def test_each_encryption_differs() -> None:
    box = SecretBox.from_setting(NEW)
    assert box.encrypt("same") != box.encrypt("same")


def test_a_passphrase_is_derived_the_same_way_every_time() -> None:
    token = SecretBox.from_setting(PASSPHRASE).encrypt("refresh-token")
    assert SecretBox.from_setting(PASSPHRASE).decrypt(token) == "refresh-token"
    # another passphrase derives another key
    with pytest.raises(SecretUnreadableError):
        SecretBox.from_setting(PASSPHRASE + "!").decrypt(token)


def test_an_old_token_opens_after_a_new_key_is_put_first() -> None:
    old_token = SecretBox.from_setting(OLD).encrypt("made under the old key")
    rotated_box = SecretBox.from_setting(f"{NEW}, {OLD}")
    assert rotated_box.decrypt(old_token) == "made under the old key"
    # new writes use the new key: the new key alone opens them, the old one does not
    fresh = rotated_box.encrypt("made under the new key")
    assert SecretBox.from_setting(NEW).decrypt(fresh) == "made under the new key"
    with pytest.raises(SecretUnreadableError):
        SecretBox.from_setting(OLD).decrypt(fresh)


def test_rotate_gives_a_token_only_the_new_key_needs() -> None:
    old_token = SecretBox.from_setting(OLD).encrypt("kept secret")
    both = SecretBox.from_setting(f"{NEW}\n{OLD}")
    rotated = both.rotate(old_token)
    assert rotated != old_token
    assert SecretBox.from_setting(NEW).decrypt(rotated) == "kept secret"
    with pytest.raises(SecretUnreadableError):
        SecretBox.from_setting(OLD).decrypt(rotated)


def test_keys_may_be_separated_by_commas_or_whitespace() -> None:
    for setting in (f"{NEW},{OLD}", f" {NEW}\t{OLD} ", f"{NEW} ,\n {OLD},"):
        assert SecretBox.from_setting(setting).key_count == 2


def test_a_tampered_token_is_refused_without_quoting_it() -> None:
    box = SecretBox.from_setting(NEW)
    token = box.encrypt("payload")
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[-40] ^= 1  # a bit of the ciphertext: the HMAC no longer matches
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(SecretUnreadableError) as caught:
        box.decrypt(tampered)
    assert tampered not in str(caught.value) and NEW not in str(caught.value)
    with pytest.raises(SecretUnreadableError):
        box.rotate(tampered)


@pytest.mark.parametrize("junk", ["", "not a token", "gAAAA" + "x" * 80, "ünïcode"])
def test_junk_is_refused_as_unreadable(junk: str) -> None:
    with pytest.raises(SecretUnreadableError):
        SecretBox.from_setting(NEW).decrypt(junk)


def test_a_wrong_key_is_refused_without_showing_anything() -> None:
    token = SecretBox.from_setting(OLD).encrypt("secret text")
    with pytest.raises(SecretUnreadableError) as caught:
        SecretBox.from_setting(NEW).decrypt(token)
    message = str(caught.value)
    assert caught.value.code == "SECRET_UNREADABLE"
    assert not any(value in message for value in (token, OLD, NEW, "secret text"))


BAD_SETTINGS = {
    "empty": "",
    "only separators": " , \n ",
    "short passphrase": "short-passphrase-31-characters!",
    "second key short": f"{NEW},tooshort-key-value",
    "not base64 and short": "%%%%",
    "too many keys": ",".join([NEW] * (MAX_KEYS + 1)),
}


@pytest.mark.parametrize("name", BAD_SETTINGS, ids=list(BAD_SETTINGS))
def test_bad_settings_are_refused_naming_the_setting_not_the_key(name: str) -> None:
    value = BAD_SETTINGS[name]
    with pytest.raises(ConfigurationError) as caught:
        SecretBox.from_setting(value)
    message = str(caught.value)
    assert "WORKSCRIPT_SECRET_KEY" in message and "c.WorkscriptApp.secret_key" in message
    for part in value.replace(",", " ").split():
        assert part not in message, f"the message echoes a key: {message}"


def test_a_short_key_error_says_which_key() -> None:
    with pytest.raises(ConfigurationError, match="key 2 of"):
        SecretBox.from_setting(f"{NEW} short")


def test_a_passphrase_of_exactly_32_characters_is_enough() -> None:
    box = SecretBox.from_setting("p" * 32)
    assert box.decrypt(box.encrypt("x")) == "x"


def test_repr_shows_no_key() -> None:
    box = SecretBox.from_setting(f"{NEW},{PASSPHRASE}")
    shown = f"{box!r} {box!s}"
    assert "2 keys" in shown
    assert NEW not in shown and PASSPHRASE not in shown
    assert not hasattr(box, "__dict__")  # nothing in vars() either
