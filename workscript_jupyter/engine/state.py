"""State paths and parameter resolution (WORKFLOW-LANGUAGE.md §3).

Parameters are compiled once, when the workflow is parsed, into small resolver functions, so that a
node run costs a few dictionary look-ups and never a walk over, or a copy of, the whole state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final

from ..errors import StateReferenceError, StateTooLargeError
from .limits import format_mb

__all__ = [
    "MISSING",
    "Resolver",
    "compile_value",
    "copy_json",
    "format_path",
    "get_path",
    "parse_path",
    "set_path",
    "to_text",
]

PathSegment = str | int
StatePath = tuple[PathSegment, ...]
State = dict[str, Any]
Resolver = Callable[[Mapping[str, Any]], Any]


class _Missing:
    """The value of a path that leads nowhere; a parameter resolving to it is left out."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

_NAME = r"[A-Za-z0-9_\-]+"
_SEGMENT = rf"(?:\.{_NAME}|\[-?\d+\])"
PATH_PATTERN: Final = rf"\$\.{_NAME}{_SEGMENT}*"
_WHOLE_REF = re.compile(rf"^{PATH_PATTERN}$")
_TEMPLATE = re.compile(rf"\{{\{{\s*({PATH_PATTERN})\s*\}}\}}")
_SEGMENTS = re.compile(rf"\.({_NAME})|\[(-?\d+)\]")


def is_reference(text: str) -> bool:
    """True when the whole string is a state reference such as ``$.items[0].name``."""
    return _WHOLE_REF.match(text) is not None


def parse_path(text: str) -> StatePath:
    """``$.a.b[0]`` → ``("a", "b", 0)``. Raises StateReferenceError on bad syntax."""
    if not is_reference(text):
        raise StateReferenceError(
            f"{text!r} is not a state path: expected $.name, $.a.b or $.items[0].name"
        )
    parts: list[PathSegment] = []
    for name, index in _SEGMENTS.findall(text[1:]):
        parts.append(int(index) if index else name)
    return tuple(parts)


def format_path(path: StatePath) -> str:
    """``("a", 0, "b")`` → ``a[0].b`` (the form used in ``_lastStateSet.path``)."""
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


def get_path(state: Mapping[str, Any], path: StatePath) -> Any:
    """The value at ``path`` or MISSING. Digits also index lists when written as names."""
    value: Any = state
    for seg in path:
        if isinstance(value, Mapping):
            value = value.get(seg if isinstance(seg, str) else str(seg), MISSING)
        elif isinstance(value, list):
            try:
                value = value[seg if isinstance(seg, int) else int(seg)]
            except (ValueError, IndexError):
                return MISSING
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def set_path(state: State, path: StatePath, value: Any, *, replace_scalars: bool = False) -> None:
    """Write ``value`` at ``path``, creating objects on the way.

    A number or string in the way is an error, unless ``replace_scalars`` (the state setter's
    rule in the original, kept so existing workflows behave the same) replaces it with ``{}``.
    """
    target: Any = state
    for position, seg in enumerate(path[:-1]):
        nxt = _child(target, seg, path, position)
        if nxt is MISSING or nxt is None or (replace_scalars and not isinstance(nxt, (dict, list))):
            nxt = {}
            _assign(target, seg, nxt, path, position)
        target = nxt
    _assign(target, path[-1], value, path, len(path) - 1)


def _child(target: Any, seg: PathSegment, path: StatePath, position: int) -> Any:
    if isinstance(target, dict):
        return target.get(seg if isinstance(seg, str) else str(seg), MISSING)
    if isinstance(target, list) and isinstance(seg, int):
        try:
            return target[seg]
        except IndexError:
            raise _cannot_write(path, position, "the list has no such index") from None
    raise _cannot_write(path, position, f"found {type(target).__name__}, not an object")


def _assign(target: Any, seg: PathSegment, value: Any, path: StatePath, position: int) -> None:
    if isinstance(target, dict):
        target[seg if isinstance(seg, str) else str(seg)] = value
    elif isinstance(target, list) and isinstance(seg, int):
        if -len(target) <= seg < len(target):
            target[seg] = value
        elif seg == len(target):
            target.append(value)
        else:
            raise _cannot_write(path, position, "the list has no such index")
    else:
        raise _cannot_write(path, position, f"found {type(target).__name__}, not an object")


def _cannot_write(path: StatePath, position: int, why: str) -> StateReferenceError:
    where = format_path(path[:position]) or "the top of the state"
    return StateReferenceError(f"cannot write $.{format_path(path)}: at {where} {why}")


def to_text(value: Any) -> str:
    """How a value reads inside a ``{{$.x}}`` template (JavaScript's conventions)."""
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int:  # not a bool: bool is a class of its own
        return str(value)
    if value is None or value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(
            _js_numbers(value), separators=(",", ":"), ensure_ascii=False, default=str
        )
    return str(value)


def _js_numbers(value: Any) -> Any:
    """A copy where whole floats are ints, so that JSON reads as JavaScript writes it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts and lists), several times faster than deepcopy."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def _literal(value: Any) -> Resolver:
    if isinstance(value, (dict, list)):  # a node may store it in the state and change it there
        return lambda _state: copy_json(value)
    return lambda _state: value


def compile_value(value: Any) -> Resolver | None:
    """A resolver for a parameter value, or None when it contains no reference (a literal).

    The literal case matters for speed: most parameters are constants and are passed through
    untouched, without a call per node run.
    """
    if isinstance(value, str):
        return _compile_string(value)
    if isinstance(value, list):
        items = [compile_value(v) for v in value]
        if not any(items):
            return None
        parts = [r if r is not None else _literal(v) for r, v in zip(items, value, strict=True)]

        def resolve_list(state: Mapping[str, Any]) -> list[Any]:
            out = [p(state) for p in parts]
            return [None if v is MISSING else v for v in out]

        return resolve_list
    if isinstance(value, dict):
        compiled = {k: compile_value(v) for k, v in value.items()}
        if not any(compiled.values()):
            return None
        # (key, resolver, None) or, for a literal scalar, (key, None, value): no call for it
        fields: list[tuple[str, Resolver | None, Any]] = []
        for key, resolver in compiled.items():
            literal = value[key]
            if resolver is None and isinstance(literal, (dict, list)):
                resolver = _literal(literal)
            fields.append((key, resolver, None if resolver is not None else literal))

        def resolve_dict(state: Mapping[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, resolve, literal in fields:
                if resolve is None:
                    out[key] = literal
                    continue
                v = resolve(state)
                if v is not MISSING:
                    out[key] = v
            return out

        return resolve_dict
    return None


@lru_cache(maxsize=4096)  # the same "$.x" recurs across steps; a resolver is pure, so share it
def _compile_string(text: str) -> Resolver | None:
    if "$." not in text:
        return None
    if _WHOLE_REF.match(text):
        path = parse_path(text)
        if len(path) == 1:
            key = path[0]
            return lambda state: state.get(key, MISSING)  # type: ignore[arg-type]
        return lambda state: get_path(state, path)
    if "{{" not in text:
        return None
    pieces: list[str | Resolver] = []  # the text between references, and their resolvers
    last = 0
    for match in _TEMPLATE.finditer(text):
        if match.start() > last:
            pieces.append(text[last : match.start()])
        resolver = _compile_string(match.group(1))
        assert resolver is not None  # the group is a whole reference
        pieces.append(resolver)
        last = match.end()
    if last == 0:
        return None
    if last < len(text):
        pieces.append(text[last:])

    def render(state: Mapping[str, Any]) -> str:
        cap = getattr(state, "max_text", None)  # a run's RunState (state_size.py) has one
        texts: list[str] = []
        size = 0
        shown: dict[int, str] = {}  # an object or array placed many times is written once
        for piece in pieces:
            if isinstance(piece, str):
                piece_text = piece
            else:
                value = piece(state)
                if isinstance(value, (dict, list)):
                    piece_text = shown.get(id(value)) or shown.setdefault(id(value), to_text(value))
                else:
                    piece_text = to_text(value)
            size += len(piece_text)
            if cap is not None and size > cap:  # stop before the next piece is even made
                raise _text_too_long(text, size, cap)
            texts.append(piece_text)
        return "".join(texts)

    return render


def _text_too_long(template: str, size: int, cap: int) -> StateTooLargeError:
    shown = template if len(template) <= 60 else template[:57] + "..."
    return StateTooLargeError(
        f"the template {shown!r} would build a text of over {format_mb(size)}, more than "
        f"{format_mb(cap)}, the limit of a run's state (max_state_mb)",
        limit_bytes=cap,
    )
