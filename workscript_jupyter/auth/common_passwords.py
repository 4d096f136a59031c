"""The 1,000 most common passwords, which registration and password changes refuse.

The list is the head of zxcvbn's ``FREQUENCY_LISTS["passwords"]`` (``zxcvbn.frequency_lists``,
the Python port of Dropbox's zxcvbn): 30,000 passwords ranked by how often they appeared in
leaked password dumps, most frequent first, all lower-case. Taking it from the package rather
than copying it keeps the source visible and the list updatable with a dependency bump.

It is loaded on first use (importing zxcvbn's lists costs ~30 ms and ~3 MB) and kept as a
frozenset; the comparison is case-insensitive, so ``Password1`` counts as ``password1``.
"""

from __future__ import annotations

import functools

__all__ = ["COMMON_PASSWORD_COUNT", "is_common_password"]

COMMON_PASSWORD_COUNT = 1_000


@functools.cache
def _common_passwords() -> frozenset[str]:
    # functools.cache: two threads racing on the first call may both build the set; harmless,
    # and cheaper than a lock on every later call
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    ranked: list[str] = FREQUENCY_LISTS["passwords"]
    return frozenset(word.lower() for word in ranked[:COMMON_PASSWORD_COUNT])


def is_common_password(password: str) -> bool:
    """True when ``password``, lower-cased, is one of the 1,000 most common leaked passwords."""
    return password.lower() in _common_passwords()
