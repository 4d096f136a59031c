"""User passwords: the rules a new password must follow, and bcrypt hashing that never blocks.

Rules are the original's (at least 8 characters, an upper-case letter, a lower-case letter, a
digit) plus two of ours: at most 72 bytes in UTF-8, because bcrypt reads no further (bcrypt 5
raises rather than silently truncating), and not one of the 1,000 most common leaked
passwords (:mod:`.common_passwords`). A refusal lists every broken rule at once, so a user
fixes a password in one go.

``PasswordHasher`` hashes with ``BCRYPT_ROUNDS`` (default 12, ~0.25 s of CPU) and has async
forms that run on a small pool of threads of their own: on the event loop a login would freeze
the server for a quarter of a second; on the store's pool it would hold up database calls, and
on the loop's default pool a burst of logins would queue ahead of file access. Verification
never raises on bad input and costs one bcrypt check whatever happens (unknown user, over-long
password, malformed hash), so its timing cannot tell an attacker which emails have accounts.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import bcrypt

from ..errors import BadRequestError, ConfigurationError, TooManyRequestsError
from .common_passwords import is_common_password

__all__ = [
    "BCRYPT_MAX_ROUNDS",
    "BCRYPT_MIN_ROUNDS",
    "PASSWORD_MAX_BYTES",
    "PASSWORD_MIN_LENGTH",
    "PasswordHasher",
    "check_password_rules",
    "shutdown_hash_threads",
]

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_BYTES = 72  # bcrypt's limit; bcrypt 5 raises past it
BCRYPT_MIN_ROUNDS = 4
BCRYPT_MAX_ROUNDS = 31

# a modular-crypt bcrypt hash: $2b$12$ + 22 characters of salt + 31 of hash
_BCRYPT_HASH = re.compile(r"\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}", re.ASCII)


def check_password_rules(password: object, *, field: str = "password") -> None:
    """Raise ``BadRequestError`` listing every rule ``password`` breaks; return if it follows all.

    ``details`` is ``{"field": field, "rules": [each broken rule]}``. The password itself is
    never repeated.
    """
    if not isinstance(password, str):
        raise BadRequestError(
            f"{field} must be a string", details={"field": field, "rules": ["a string"]}
        )
    broken: list[str] = []
    if len(password) < PASSWORD_MIN_LENGTH:
        broken.append(f"at least {PASSWORD_MIN_LENGTH} characters")
    if not any(c.isupper() for c in password):
        broken.append("an upper-case letter")
    if not any(c.islower() for c in password):
        broken.append("a lower-case letter")
    if not any(c.isdigit() for c in password):
        broken.append("a digit")
    # surrogatepass: JSON can carry lone surrogates ("\ud800"); hash_sync encodes them so too
    if len(password.encode("utf-8", errors="surrogatepass")) > PASSWORD_MAX_BYTES:
        broken.append(f"at most {PASSWORD_MAX_BYTES} bytes in UTF-8")
    if is_common_password(password):
        broken.append("not one of the 1,000 most common passwords")
    if broken:
        raise BadRequestError(
            f"{field} must have: {'; '.join(broken)}",
            details={"field": field, "rules": broken},
        )


_P = ParamSpec("_P")
_T = TypeVar("_T")

# bcrypt is CPU-bound and releases the GIL. One core is left to the event loop: with a thread
# per core, a burst of logins took both cores of a 2-core server and the p99 of a plain
# GET /api/status polled meanwhile went from 12 ms to 117 ms (bench/auth.py). Logins beyond
# what the threads can hash wait in line (and the per-address limit bounds the line).
_HASH_THREADS = max(1, min(8, (os.cpu_count() or 2) - 1))
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _hash_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=_HASH_THREADS, thread_name_prefix="workscript-bcrypt"
            )
        return _executor


def shutdown_hash_threads(*, wait: bool = True) -> None:
    """Stop the hashing threads (a later async call starts new ones): for a clean shutdown."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=wait)


def _encode(password: object) -> bytes | None:
    """The bytes bcrypt will hash, or None when it cannot (not a string, over 72 bytes)."""
    if not isinstance(password, str):
        return None
    data = password.encode("utf-8", errors="surrogatepass")
    return data if len(data) <= PASSWORD_MAX_BYTES else None


def _parse(hashed: object) -> bytes | None:
    if not isinstance(hashed, str) or not _BCRYPT_HASH.fullmatch(hashed):
        return None
    return hashed.encode("ascii")


class PasswordHasher:
    """bcrypt with ``rounds`` (``BCRYPT_ROUNDS``): hash, verify, and tell old hashes apart."""

    def __init__(self, rounds: int = 12) -> None:
        if (
            isinstance(rounds, bool)
            or not isinstance(rounds, int)
            or not BCRYPT_MIN_ROUNDS <= rounds <= BCRYPT_MAX_ROUNDS
        ):
            raise ConfigurationError(
                f"BCRYPT_ROUNDS (c.WorkscriptApp.bcrypt_rounds) must be a whole number from "
                f"{BCRYPT_MIN_ROUNDS} to {BCRYPT_MAX_ROUNDS}, got {rounds!r}"
            )
        self.rounds = rounds
        self._dummy: bytes | None = None
        self._dummy_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PasswordHasher(rounds={self.rounds})"

    def _dummy_hash(self) -> bytes:
        """A hash of a random password, made once with ``rounds``: what unknown users check."""
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = bcrypt.hashpw(
                    secrets.token_urlsafe(32).encode(), bcrypt.gensalt(self.rounds)
                )
            return self._dummy

    def hash_sync(self, password: str) -> str:
        """The bcrypt hash of ``password`` (``BadRequestError`` if over 72 bytes: never cut)."""
        if not isinstance(password, str):
            raise BadRequestError("password must be a string", details={"field": "password"})
        data = _encode(password)
        if data is None:
            raise BadRequestError(
                f"password must be at most {PASSWORD_MAX_BYTES} bytes in UTF-8",
                details={"field": "password"},
            )
        return bcrypt.hashpw(data, bcrypt.gensalt(self.rounds)).decode("ascii")

    def verify_sync(self, password: str, hashed: str | None) -> bool:
        """True when ``password`` matches ``hashed``; False otherwise, never an exception.

        ``hashed=None`` is an unknown user: the password is still checked, against a dummy
        hash of the same cost, so that answer takes as long as a wrong password.
        """
        data = _encode(password)
        target = _parse(hashed)
        if data is None or target is None:
            # same work as a real check, whatever was wrong with the input
            bcrypt.checkpw(data if data is not None else b"-", self._dummy_hash())
            return False
        try:
            return bcrypt.checkpw(data, target)
        except ValueError:  # a hash that looked right but bcrypt cannot read (bad salt)
            return False

    async def hash(self, password: str) -> str:
        """``hash_sync`` on the hashing threads: the event loop keeps running meanwhile."""
        return await _off_loop(self.hash_sync, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """``verify_sync`` on the hashing threads: the event loop keeps running meanwhile."""
        return await _off_loop(self.verify_sync, password, hashed)

    def needs_rehash(self, hashed: str) -> bool:
        """True when ``hashed`` was made with other rounds than ours (or cannot be read)."""
        match = _BCRYPT_HASH.fullmatch(hashed) if isinstance(hashed, str) else None
        return match is None or int(match.group(1)) != self.rounds


# hashes waiting or running at once; past it a login is refused at once (429) instead of
# joining a line that would outlast any client's timeout (a burst of logins, or an attacker)
MAX_PENDING_HASHES = 64
_pending = 0


async def _off_loop(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    global _pending
    if _pending >= MAX_PENDING_HASHES:
        raise TooManyRequestsError(
            "the server is busy checking passwords; retry in a few seconds", retry_after=5
        )
    _pending += 1
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_hash_executor(), functools.partial(fn, *args, **kwargs))
    finally:
        _pending -= 1
