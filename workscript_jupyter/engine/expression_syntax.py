"""JavaScript spellings of the expression language, rewritten into Python source.

Existing workflows wrote JavaScript: ``a && b``, ``x === 1``, ``c ? a : b``, ``{unit price}``.
The rewrite works on the text outside string literals (masked first), so ``'a && b'`` stays a
string. What comes out is only parsed by ``ast`` and checked by the whitelist in expressions.py.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["to_python"]

_STRING: Final = re.compile(r"""("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')""")
_MASK: Final = re.compile(r"\x01(\d+)\x01")
_PLACEHOLDER: Final = re.compile(r"\{\s*([A-Za-z_][\w \-]*(?:\.[\w \-]+)*?)\s*\}")
_OPENERS: Final = {"(": ")", "[": "]", "{": "}"}
_CLOSERS: Final = {")", "]", "}"}


def to_python(text: str) -> str:
    """The Python spelling of an expression written with JavaScript operators."""
    strings: list[str] = []

    def mask(match: re.Match[str]) -> str:
        strings.append(match.group(0))
        return f"\x01{len(strings) - 1}\x01"

    code = _STRING.sub(mask, text)
    code = _operators(code)
    code = _PLACEHOLDER.sub(lambda m: f'field("{m.group(1).strip()}")', code)
    code = _ternaries(code)
    return _MASK.sub(lambda m: strings[int(m.group(1))], code)


def _operators(code: str) -> str:
    code = code.replace("!==", "\x02ne\x02").replace("===", "\x02eq\x02")
    code = code.replace("!=", "\x02ne\x02").replace("==", "\x02eq\x02")
    code = code.replace("&&", " and ").replace("||", " or ")
    code = re.sub(r"!", " not ", code)
    return code.replace("\x02ne\x02", " != ").replace("\x02eq\x02", " == ")


def _ternaries(code: str, *, dict_like: bool = False) -> str:
    """``c ? a : b`` → ``((a) if (c) else (b))``, inside brackets too, right-associative."""
    if "?" not in code:
        return code
    out: list[str] = []
    index = 0
    while index < len(code):
        char = code[index]
        end = _matching(code, index) if char in _OPENERS else -1
        if end < 0:
            out.append(char)
            index += 1
            continue
        out.append(char + _ternaries(code[index + 1 : end], dict_like=char == "{") + code[end])
        index = end + 1
    pieces = []
    for piece in _split_top("".join(out), ","):
        key, sep, value = _partition_top(piece, ":") if dict_like else (piece, "", "")
        if sep and "?" not in key:
            pieces.append(key + sep + _ternary_top(value))
        else:
            pieces.append(_ternary_top(piece))
    return ",".join(pieces)


def _ternary_top(piece: str) -> str:
    condition, sep, rest = _partition_top(piece, "?")
    if not sep:
        return piece
    depth, cut = 0, -1
    for position, char in _top_chars(rest):
        if char == "?":
            depth += 1
        elif char == ":":
            if depth == 0:
                cut = position
                break
            depth -= 1
    if cut < 0:
        return piece  # no ':' — leave it for the parser to report
    then, otherwise = rest[:cut], rest[cut + 1 :]
    return f"(({_ternary_top(then)}) if ({condition}) else ({_ternary_top(otherwise)}))"


def _top_chars(code: str) -> list[tuple[int, str]]:
    """Positions and characters of ``code`` that are outside any bracket."""
    depth, found = 0, []
    for position, char in enumerate(code):
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
        elif depth == 0:
            found.append((position, char))
    return found


def _partition_top(code: str, separator: str) -> tuple[str, str, str]:
    for position, char in _top_chars(code):
        if char == separator:
            return code[:position], separator, code[position + 1 :]
    return code, "", ""


def _split_top(code: str, separator: str) -> list[str]:
    pieces, start = [], 0
    for position, char in _top_chars(code):
        if char == separator:
            pieces.append(code[start:position])
            start = position + 1
    pieces.append(code[start:])
    return pieces


def _matching(code: str, start: int) -> int:
    depth = 0
    for position in range(start, len(code)):
        if code[position] in _OPENERS:
            depth += 1
        elif code[position] in _CLOSERS:
            depth -= 1
            if depth == 0:
                return position
    return -1  # unbalanced: left as it is, for the parser to report
