"""User-supplied regular expressions that cannot hang a run.

Workflows carry JavaScript patterns (``pattern`` + ``flags`` such as ``"gi"``). Python's ``re``
has no timeout, and a pattern like ``a*a*b`` takes minutes on 10,000 characters. So:

- patterns longer than ``MAX_PATTERN_LENGTH`` and texts longer than ``MAX_TEXT_LENGTH`` are
  refused (the error names the parameter);
- every match runs on the ``regex`` package with a ``MATCH_TIMEOUT_SECONDS`` limit, and a
  pattern that exceeds it is reported as an error instead of blocking the run.

JavaScript syntax that Python spells differently is translated: named groups ``(?<name>...)``,
back-references ``\\k<name>``, and ``$1``/``$&``/``$<name>`` in replacement strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import regex as _engine  # a dependency: re has no timeout (see the module docstring)

__all__ = [
    "MATCH_TIMEOUT_SECONDS",
    "MAX_PATTERN_LENGTH",
    "MAX_TEXT_LENGTH",
    "PatternError",
    "UserRegex",
    "check_text",
    "compile_user_regex",
    "js_replacement",
]

MAX_PATTERN_LENGTH = 500
MAX_TEXT_LENGTH = 100_000
MATCH_TIMEOUT_SECONDS = 2.0

_FLAG_BITS = {"i": _engine.IGNORECASE, "m": _engine.MULTILINE, "s": _engine.DOTALL}
_IGNORED_FLAGS = frozenset("gud")  # g is kept apart; u and d change nothing for Python str
_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?![=!])")
_BACKREF = re.compile(r"\\k<([A-Za-z_]\w*)>")
_REPLACEMENT_TOKEN = re.compile(r"\$(\$|&|`|'|\d{1,2}|<[^>]*>)")


class PatternError(ValueError):
    """A pattern, its flags or its text cannot be used; the message names the parameter."""


@dataclass(frozen=True, slots=True)
class UserRegex:
    compiled: Any
    is_global: bool
    param: str

    def matches(self, text: str) -> list[Any]:
        """Every match (only the first without the g flag), within the time limit."""
        found: list[Any] = []
        for match in self._finditer(text):
            found.append(match)
            if not self.is_global:
                break
        return found

    def sub(self, replace: Callable[[Any], str], text: str) -> str:
        try:
            result: str = self.compiled.sub(
                replace, text, count=0 if self.is_global else 1, timeout=MATCH_TIMEOUT_SECONDS
            )
        except TimeoutError:
            raise self._too_slow() from None
        return result

    def _finditer(self, text: str) -> Iterator[Any]:
        try:
            yield from self.compiled.finditer(text, timeout=MATCH_TIMEOUT_SECONDS)
        except TimeoutError:
            raise self._too_slow() from None

    def search(self, text: str) -> bool:
        """Whether the pattern occurs in ``text``, within the time limit."""
        try:
            return self.compiled.search(text, timeout=MATCH_TIMEOUT_SECONDS) is not None
        except TimeoutError:
            raise self._too_slow() from None

    def _too_slow(self) -> PatternError:
        return PatternError(
            f"{self.param}: the pattern took longer than {MATCH_TIMEOUT_SECONDS:g}s "
            "(catastrophic backtracking?); simplify it"
        )


def check_text(text: str, param: str) -> None:
    if len(text) > MAX_TEXT_LENGTH:
        raise PatternError(
            f"{param}: the text is {len(text)} characters; "
            f"regular expressions run on at most {MAX_TEXT_LENGTH}"
        )


def compile_user_regex(
    pattern: Any, flags: Any = "g", *, param: str = "pattern", flags_param: str = "flags"
) -> UserRegex:
    """Compile a JavaScript-style pattern; PatternError names ``param`` or ``flags_param``."""
    if not isinstance(pattern, str) or not pattern:
        raise PatternError(f"{param} must be a non-empty string, got {pattern!r}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"{param} is {len(pattern)} characters; at most {MAX_PATTERN_LENGTH} are allowed"
        )
    bits, is_global = _flag_bits(flags, flags_param)
    source = _BACKREF.sub(r"(?P=\1)", _NAMED_GROUP.sub("(?P<", pattern))
    try:
        compiled = _engine.compile(source, bits)
    except (re.error, _engine.error) as exc:
        raise PatternError(f"Invalid regex pattern in {param}: {pattern!r} ({exc})") from None
    return UserRegex(compiled, is_global, param)


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
