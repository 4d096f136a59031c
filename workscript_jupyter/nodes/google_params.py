"""The parameter checks every Google node family (Gmail, Calendar, Drive) makes before anything
is sent to Google: one version of each, so that a refusal reads the same in every node.

Each check reads ``params[name]`` and either answers the value or raises ``bad_parameter`` (the
node's ``error`` edge) with a message naming the parameter: ``Parameter "name" ...``, or
``Missing required parameter: "name" (what it is)``. An unset parameter is ``None`` or ``""``
(an empty list for the list parameters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ..errors import GoogleError
from .google_common import bad_parameter

__all__ = [
    "checked_id",
    "flag",
    "is_email",
    "listed",
    "missing",
    "one_of",
    "optional_id",
    "optional_string",
    "refused",
    "required_id",
    "whole_number",
]

# Google's ids (Gmail messages and labels, Calendar events, Drive files) are URL-safe: anything
# else is a mistake (an RFC 822 Message-ID, a path, a whole object) or an attempt to put a quote
# or an operator into a Drive query
_ID: Final = re.compile(r"[A-Za-z0-9_\-]+")
_EMAIL: Final = re.compile(r"[^@\s,;<>\"']{1,64}@[^@\s,;<>\"']+\.[^@\s,;<>\"']+")
MAX_EMAIL: Final = 320


def refused(name: str, message: str) -> GoogleError:
    """The refusal of parameter ``name``: ``Parameter "name" <message>``."""
    return bad_parameter(f'Parameter "{name}" {message}')


def missing(name: str, what: str) -> GoogleError:
    """The refusal of a required parameter not given: ``what`` says what it is."""
    return bad_parameter(f'Missing required parameter: "{name}" ({what})')


def _shown(value: Any) -> str:
    """A refused value as a message shows it: short, whatever it is."""
    return repr(value)[:80]


def flag(params: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """A boolean parameter (``default`` when not given)."""
    value = params.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise refused(name, f"must be true or false, not {_shown(value)}")
    return value


def whole_number(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` (``3.0`` counts, ``true`` does not)."""
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise refused(name, f"must be a whole number from {low} to {high}")
    return value


def optional_string(
    params: Mapping[str, Any],
    name: str,
    limit: int,
    *,
    required: str | None = None,
    keep_empty: bool = False,
) -> str | None:
    """A string of at most ``limit`` characters without NUL, or None when not given.

    ``required``: what the parameter is, for the refusal when it is not given. ``keep_empty``:
    ``""`` is a value (an update clearing a field), not "not given"."""
    value = params.get(name)
    if value is None or (value == "" and not keep_empty):
        if required is not None:
            raise missing(name, required)
        return None
    if not isinstance(value, str):
        raise refused(name, "must be a string")
    if len(value) > limit:
        raise refused(name, f"must be at most {limit} characters")
    if "\x00" in value:
        raise refused(name, "must not contain NUL characters")
    return value


def one_of(params: Mapping[str, Any], name: str, choices: Sequence[str]) -> str | None:
    """One of ``choices``, or None when not given."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in choices:
        raise refused(name, f"must be one of {', '.join(choices)}")
    return str(value)


def checked_id(value: Any, name: str, kind: str, limit: int) -> str:
    """``value`` as a ``kind`` id (``Gmail``, ``Drive``...): 1 to ``limit`` of Google's id
    characters."""
    if not isinstance(value, str) or len(value) > limit or not _ID.fullmatch(value):
        raise refused(
            name,
            f'must be a {kind} id: 1 to {limit} letters, digits, "_" or "-", not {_shown(value)}',
        )
    return value


def optional_id(params: Mapping[str, Any], name: str, kind: str, limit: int) -> str | None:
    """Parameter ``name`` as a ``kind`` id, or None when not given."""
    value = params.get(name)
    if value is None or value == "":
        return None
    return checked_id(value, name, kind, limit)


def required_id(params: Mapping[str, Any], name: str, kind: str, limit: int, what: str) -> str:
    """Parameter ``name`` as a ``kind`` id; ``what`` it is says the refusal when not given."""
    found = optional_id(params, name, kind, limit)
    if found is None:
        raise missing(name, what)
    return found


def listed(
    params: Mapping[str, Any], name: str, what: str, most: int, separators: str = ","
) -> list[Any]:
    """A list parameter, or one string of its items split at ``separators`` (each stripped,
    empty pieces left out: ``"a, b,"``); at most ``most`` items. Each item is the caller's to
    check."""
    value = params.get(name)
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        items: Any = [piece.strip() for piece in re.split(f"[{re.escape(separators)}]", value)]
        items = [piece for piece in items if piece]
    else:
        items = value
    if not isinstance(items, list):
        raise refused(name, f"must be a list of {what} or a string of them separated by commas")
    if len(items) > most:
        raise refused(name, f"may list at most {most} {what}, not {len(items)}")
    return items


def is_email(value: Any) -> bool:
    """Whether ``value`` is one plain email address (``bob@example.org``: no name, no list)."""
    return isinstance(value, str) and len(value) <= MAX_EMAIL and bool(_EMAIL.fullmatch(value))
