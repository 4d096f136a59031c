"""``SecretBox``: secrets kept encrypted at rest (OAuth access and refresh tokens, issue 18).

Fernet (AES-128-CBC + HMAC-SHA256, from PyCA's ``cryptography``) under one or more keys, as a
``MultiFernet``: the first key encrypts, every key decrypts. That is how a key is rotated
without a flag day: put the new key first and keep the old one after it; rows written before
still open, new writes use the new key, and ``rotate`` re-encrypts a row under the new key so
the old one can later be dropped.

The setting (``c.WorkscriptApp.secret_key`` / ``WORKSCRIPT_SECRET_KEY``) is a list of keys
separated by commas or whitespace. Each key is either

- a Fernet key: urlsafe base64 of 32 random bytes (``Fernet.generate_key()``), used as is; or
- a passphrase of at least 32 characters, turned into a Fernet key with HKDF-SHA256 (a fixed,
  versioned salt and label, so the same passphrase gives the same key on every server).
  HKDF, not a slow password hash: a passphrase here is a generated or admin-chosen secret of
  32+ characters, not a human password, and every server start derives it again.

A string that decodes as a Fernet key is a Fernet key, whatever else it looks like; a
passphrase cannot hold commas or whitespace (they separate the keys).

Nothing here ever shows a key or a token: not ``repr``, not an error's message.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import ConfigurationError, SecretUnreadableError

__all__ = ["PASSPHRASE_MIN_LENGTH", "SECRET_KEY_SETTING", "SecretBox"]

PASSPHRASE_MIN_LENGTH = 32
SECRET_KEY_SETTING = "c.WorkscriptApp.secret_key (WORKSCRIPT_SECRET_KEY)"
MAX_KEYS = 16  # a rotation needs two or three; more is a mistake, or hostile
_HKDF_SALT = b"workscript-jupyter secret box v1"
_HKDF_INFO = b"fernet key"
_SEPARATORS = re.compile(r"[\s,]+")


class SecretBox:
    """Encrypts text under the first key; decrypts text made under any of the keys."""

    __slots__ = ("_fernet", "_key_count")

    def __init__(self, keys: list[bytes]) -> None:
        """``keys``: Fernet keys (urlsafe base64 of 32 bytes), the encrypting one first."""
        if not keys:
            raise ConfigurationError("a SecretBox needs at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._key_count = len(keys)

    @classmethod
    def from_setting(cls, value: str, *, setting: str = SECRET_KEY_SETTING) -> SecretBox:
        """The box of a ``secret_key`` setting; a ConfigurationError naming ``setting`` (and
        the key's position, never the key) for an empty list or a key too short."""
        parts = [part for part in _SEPARATORS.split(value or "") if part]
        if not parts:
            raise ConfigurationError(f"{setting} holds no key")
        if len(parts) > MAX_KEYS:
            raise ConfigurationError(
                f"{setting} holds {len(parts)} keys; at most {MAX_KEYS} (drop the old ones "
                "once their rows are rotated)"
            )
        return cls([_fernet_key(part, setting, position) for position, part in enumerate(parts)])

    @property
    def key_count(self) -> int:
        return self._key_count

    def encrypt(self, text: str) -> str:
        """A Fernet token (ASCII) of ``text`` under the first key."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text of ``token``; SecretUnreadableError if no key opens it (tampered, or made
        under a key no longer configured)."""
        try:
            return self._fernet.decrypt(_token_bytes(token)).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            raise _unreadable() from None

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the first key (its time stamp kept)."""
        try:
            return self._fernet.rotate(_token_bytes(token)).decode("ascii")
        except InvalidToken:
            raise _unreadable() from None

    def __repr__(self) -> str:
        return f"SecretBox(<{self._key_count} key{'s' if self._key_count != 1 else ''}>)"


def _fernet_key(part: str, setting: str, position: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(part.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return part.encode("ascii")
    if len(part) < PASSPHRASE_MIN_LENGTH:
        raise ConfigurationError(
            f"key {position + 1} of {setting} is neither a Fernet key (urlsafe base64 of 32 "
            f"bytes) nor a passphrase of at least {PASSPHRASE_MIN_LENGTH} characters"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        part.encode("utf-8")
    )
    return base64.urlsafe_b64encode(derived)


def _token_bytes(token: str) -> bytes:
    if not isinstance(token, str):
        raise _unreadable()
    try:
        return token.encode("ascii")
    except UnicodeEncodeError:
        raise _unreadable() from None


def _unreadable() -> SecretUnreadableError:
    return SecretUnreadableError(
        "a stored secret cannot be decrypted with the configured secret_key: it was altered, "
        "or the key that encrypted it is no longer listed (reconnect, or add the old key back "
        "after the new one)"
    )
