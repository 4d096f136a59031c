"""JavaScript regular expressions on top of the bounded matcher (``patterns.py``).

Workflows carry JavaScript patterns (``pattern`` + ``flags`` such as ``"gi"``). Every match runs
through ``patterns.BoundedPattern`` (length limits, a time limit per match and per node run; see
that module), never on Python's ``re``.

JavaScript syntax that Python spells differently is translated: named groups ``(?<name>...)``,
back-references ``\\k<name>``, and ``$1``/``$&``/``$<name>`` in replacement strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex as _engine

from .patterns import (
    LIMITS,
    BoundedPattern,
    PatternError,
    PatternLimitError,
    PatternSyntaxError,
    bounded_compile,
    text_too_long,
)

__all__ = [
    "MATCH_TIMEOUT_SECONDS",
    "MAX_PATTERN_LENGTH",
    "MAX_TEXT_LENGTH",
    "PATTERN_RULES",
    "PatternError",
    "PatternLimitError",
    "PatternSyntaxError",
    "UserRegex",
    "check_text",
    "compile_user_regex",
    "js_replacement",
]

# the default limits, for node descriptions (patterns.LIMITS is what is enforced)
MAX_PATTERN_LENGTH = LIMITS.pattern_length
MAX_TEXT_LENGTH = LIMITS.text_length
MATCH_TIMEOUT_SECONDS = LIMITS.match_seconds
PATTERN_RULES = (
    f"JavaScript syntax, at most {LIMITS.pattern_length} characters, on texts of at most "
    f"{LIMITS.text_length} characters; {LIMITS.match_seconds:g} s per match and "
    f"{LIMITS.node_seconds:g} s per node run, else the error edge"
)
"""The limits of user patterns, for node descriptions."""

_FLAG_BITS = {"i": _engine.IGNORECASE, "m": _engine.MULTILINE, "s": _engine.DOTALL}
_IGNORED_FLAGS = frozenset("gud")  # g is kept apart; u and d change nothing for Python str
_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?![=!])")
_BACKREF = re.compile(r"\\k<([A-Za-z_]\w*)>")
_REPLACEMENT_TOKEN = re.compile(r"\$(\$|&|`|'|\d{1,2}|<[^>]*>)")


@dataclass(frozen=True, slots=True)
class UserRegex:
    pattern: BoundedPattern
    is_global: bool

    @property
    def param(self) -> str:
        return self.pattern.param

    def matches(self, text: str) -> list[Any]:
        """Every match (only the first without the g flag), within the limits."""
        if not self.is_global:
            first = self.pattern.search(text)
            return [] if first is None else [first]
        return list(self.pattern.finditer(text))

    def sub(self, replace: Callable[[Any], str], text: str) -> str:
        return self.pattern.sub(replace, text, count=0 if self.is_global else 1)

    def search(self, text: str) -> bool:
        """Whether the pattern occurs in ``text``, within the limits."""
        return self.pattern.search(text) is not None


def check_text(text: str, param: str) -> None:
    if len(text) > LIMITS.text_length:
        raise text_too_long(param, len(text))


def compile_user_regex(
    pattern: Any, flags: Any = "g", *, param: str = "pattern", flags_param: str = "flags"
) -> UserRegex:
    """Compile a JavaScript-style pattern; PatternError names ``param`` or ``flags_param``."""
    if not isinstance(pattern, str) or not pattern:
        raise PatternError(f"{param} must be a non-empty string, got {pattern!r}")
    bits, is_global = _flag_bits(flags, flags_param)
    return _compiled(pattern, bits, is_global, param)


@lru_cache(maxsize=512)
def _compiled(pattern: str, bits: int, is_global: bool, param: str) -> UserRegex:
    """Compiled once per pattern (a filter compiles per run, jsonschema per value)."""
    source = _BACKREF.sub(r"(?P=\1)", _NAMED_GROUP.sub("(?P<", pattern))
    return UserRegex(bounded_compile(source, bits, param=param, shown=pattern), is_global)


def _flag_bits(flags: Any, flags_param: str) -> tuple[int, bool]:
    if flags is None or flags == "":
        flags = "g"
    if not isinstance(flags, str):
        raise PatternError(f"{flags_param} must be a string such as 'gi', got {flags!r}")
    bits = 0
    for flag in flags:
        if flag in _FLAG_BITS:
            bits |= _FLAG_BITS[flag]
        elif flag not in _IGNORED_FLAGS:
            raise PatternError(
                f"{flags_param}: unsupported regular expression flag {flag!r} (use g, i, m, s, u)"
            )
    return bits, "g" in flags


def js_replacement(template: str) -> Callable[[Any], str]:
    """A replacement function for JavaScript's ``String.replace`` template syntax."""

    def replace(match: Any) -> str:
        def token(found: re.Match[str]) -> str:
            code = found.group(1)
            if code == "$":
                return "$"
            if code == "&":
                return str(match.group(0))
            if code == "`":
                return str(match.string[: match.start()])
            if code == "'":
                return str(match.string[match.end() :])
            if code.startswith("<"):
                return _group_text(match, code[1:-1], found.group(0))
            return _numbered_group(match, code, found.group(0))

        return _REPLACEMENT_TOKEN.sub(token, template)

    return replace


def _group_text(match: Any, name: str, literal: str) -> str:
    try:
        value = match.group(name)
    except (IndexError, KeyError):
        return literal
    return "" if value is None else str(value)


def _numbered_group(match: Any, digits: str, literal: str) -> str:
    """``$12`` is group 12 when it exists, else group 1 followed by "2" (as JavaScript)."""
    groups = match.re.groups
    if len(digits) == 2 and 0 < int(digits) <= groups:
        value = match.group(int(digits))
        return "" if value is None else str(value)
    if 0 < int(digits[0]) <= groups:
        value = match.group(int(digits[0]))
        return ("" if value is None else str(value)) + digits[1:]
    return literal
