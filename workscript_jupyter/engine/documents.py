"""The one bounded reader and writer of JSON and YAML text.

Everything that comes in as text — REST bodies, webhooks, workflow files, ``--state``, a
``%%workflow`` cell, automation inputs — is read here, so one set of limits holds everywhere:

- nesting deeper than ``MAX_DEPTH`` (128) is refused *before* a recursive parser sees it (a
  linear scan of the brackets outside strings), so a 10,000-deep body is a 400, not a
  ``RecursionError``;
- ``NaN``, ``Infinity``, ``-Infinity`` and numbers that overflow to infinity (``1e400``) are
  refused: they are not JSON, and a store cannot keep them;
- YAML is read with the safe loader, with the same depth limit, non-finite floats refused,
  and aliases bounded: a recursive alias is refused and the expanded document may hold at
  most ``MAX_YAML_NODES`` nodes, so a "billion laughs" document is refused when read.

Every refusal is a ``DocumentError`` (a ``BadRequestError``: HTTP 400; ``DocumentLimitError``
when a limit refused text that parses) whose message names the source and the place, with
``details`` ``{"line", "column", "position"}`` (1-based line and column, 0-based offset).

Writing: ``dump_json`` writes what the engine produced (a run's state, an answer) as valid JSON
by JavaScript's rule — a non-finite float becomes ``null`` as ``JSON.stringify`` does — and a
value nested deeper than ``MAX_WRITE_DEPTH`` is a ``ValueTooDeepError`` rather than a
``RecursionError``. ``plain_json`` is the same walk returning the copy instead of the text.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any, Final

from ..errors import DocumentError, DocumentLimitError, ValueTooDeepError

__all__ = [
    "MAX_DEPTH",
    "MAX_WRITE_DEPTH",
    "MAX_YAML_NODES",
    "check_json_depth",
    "compose_yaml",
    "dump_json",
    "load_json",
    "load_yaml",
    "plain_json",
]

MAX_DEPTH: Final = 128
MAX_WRITE_DEPTH: Final = 512
MAX_YAML_NODES: Final = 1_000_000

# a JSON string (unrolled, linear), or one bracket
_STRING_OR_BRACKET: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_STRING_OR_CONSTANT: Final = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"|-?Infinity|NaN|-?\d+(?:\.\d+)?[eE][+-]?\d+', re.DOTALL
)
_OPENERS: Final = frozenset("[{")


def _where(text: str, position: int) -> dict[str, int]:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return {"line": line, "column": column, "position": position}


def _error(source: str, text: str, position: int, what: str) -> DocumentLimitError:
    place = _where(text, position)
    return DocumentLimitError(
        f"{source}: {what} at line {place['line']} column {place['column']} (char {position})",
        details=place,
    )


# -- JSON -----------------------------------------------------------------------------------------


def load_json(text: str | bytes, *, source: str = "the body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text`` as JSON within the limits of this module. Raises ``DocumentError``."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise DocumentError(
                f"{source} is not JSON: not UTF-8 text (byte {error.start})",
                details={"position": error.start},
            ) from None
    check_json_depth(text, source=source, max_depth=max_depth)
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise DocumentError(
            f"{source} is not JSON: {error.msg} at line {error.lineno} column {error.colno} "
            f"(char {error.pos})",
            details={"line": error.lineno, "column": error.colno, "position": error.pos},
        ) from error  # the JSONDecodeError stays the cause: a YAML fallback words it
    except _NonFinite:
        raise _non_finite_error(text, source) from None
    except ValueError:  # an integer longer than sys.get_int_max_str_digits()
        limit = sys.get_int_max_str_digits()
        raise DocumentLimitError(f"{source}: a number has more than {limit} digits") from None
    except RecursionError:  # the scan above makes this unreachable; never a 500 all the same
        raise DocumentLimitError(
            f"{source}: nested more than {max_depth} levels deep",
            details={"line": None, "column": None, "position": None},
        ) from None
    surrogate = _LONE_SURROGATE_ESCAPE.search(text)
    if surrogate is not None and _has_lone_surrogate(value):
        # "\ud800" decodes to a str that no UTF-8 encoder (hash, database, JWT) accepts
        raise _error(source, text, surrogate.start(), "a \\u escape of half a UTF-16 pair")
    return value


# an escaped UTF-16 surrogate: legal in JSON text as one half of a pair, a lone one is not text
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a decoded value holds a string (key or value) that is not encodable text."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def check_json_depth(text: str, *, source: str = "the body", max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON text nested deeper than ``max_depth`` (arrays and objects), without
    recursion: one pass over the strings and brackets. Text with fewer brackets than the limit
    cannot be too deep and is not scanned."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise _error(
                    source, text, match.start(), f"nested more than {max_depth} levels deep"
                )
        elif token in "]}":
            depth -= 1


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NonFinite(literal)
    return value


def _non_finite_error(text: str, source: str) -> DocumentLimitError:
    for match in _STRING_OR_CONSTANT.finditer(text):
        token = match.group()
        if token.startswith('"'):
            continue
        if token in ("NaN", "Infinity", "-Infinity") or not math.isfinite(float(token)):
            return _error(
                source,
                text,
                match.start(),
                f"{token} is not a JSON number (NaN and infinities cannot be stored)",
            )
    return DocumentLimitError(f"{source}: NaN or an infinite number is not JSON")


# -- YAML -----------------------------------------------------------------------------------------


def load_yaml(
    text: str,
    *,
    source: str = "the document",
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_YAML_NODES,
) -> Any:
    """Parse ``text`` as YAML (safe tags only) within the limits of this module.

    Raises ``DocumentLimitError`` for what the limits refuse, and ``yaml.YAMLError`` for text
    that is not YAML (the caller words that one: it knows whether JSON was meant).
    """
    loader = _open_loader(text, source, max_depth)
    try:
        root = _compose(loader, source, max_depth, max_nodes)
        return None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()


def compose_yaml(
    text: str,
    *,
    source: str = "the document",
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_YAML_NODES,
) -> Any:
    """The YAML node graph of ``text`` (for line numbers), within the same limits."""
    loader = _open_loader(text, source, max_depth)
    try:
        return _compose(loader, source, max_depth, max_nodes)
    finally:
        loader.dispose()


def _open_loader(text: str, source: str, max_depth: int) -> Any:
    import yaml  # only hand-written input needs it

    loader = _bounded_loader(yaml)(text)
    loader.workscript_limits = (source, max_depth)
    return loader


def _compose(loader: Any, source: str, max_depth: int, max_nodes: int) -> Any:
    root = loader.get_single_node()
    if root is not None:
        _measure(root, source=source, max_depth=max_depth, max_nodes=max_nodes)
    return root


_LOADER: Any = None


def _bounded_loader(yaml: Any) -> Any:
    """A SafeLoader that counts its nesting while composing (composing is recursive) and
    refuses non-finite floats. Built once, on first use."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER

    class BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
        workscript_limits: tuple[str, int] = ("the document", MAX_DEPTH)
        workscript_depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            source, max_depth = self.workscript_limits
            self.workscript_depth += 1
            try:
                if self.workscript_depth > max_depth:
                    mark = self.peek_event().start_mark
                    raise _mark_error(source, mark, f"nested more than {max_depth} levels deep")
                return super().compose_node(parent, index)
            finally:
                self.workscript_depth -= 1

        def construct_yaml_float(self, node: Any) -> Any:
            value = super().construct_yaml_float(node)
            if not math.isfinite(value):
                source = self.workscript_limits[0]
                raise _mark_error(
                    source,
                    node.start_mark,
                    f"{node.value} is not a JSON number (NaN and infinities cannot be stored)",
                )
            return value

    BoundedLoader.add_constructor("tag:yaml.org,2002:float", BoundedLoader.construct_yaml_float)
    _LOADER = BoundedLoader
    return BoundedLoader


def _mark_error(source: str, mark: Any, what: str) -> DocumentLimitError:
    line, column, position = mark.line + 1, mark.column + 1, mark.index
    return DocumentLimitError(
        f"{source}: {what} at line {line} column {column} (char {position})",
        details={"line": line, "column": column, "position": position},
    )


def _children(node: Any) -> list[Any]:
    value = node.value
    if not isinstance(value, list):
        return []  # a scalar
    children: list[Any] = []
    for item in value:
        if isinstance(item, tuple):  # a mapping's (key, value)
            children.extend(item)
        else:
            children.append(item)
    return children


def _measure(root: Any, *, source: str, max_depth: int, max_nodes: int) -> None:
    """Refuse a composed YAML graph whose aliases make it recursive, deeper than
    ``max_depth`` or larger than ``max_nodes`` once expanded. Iterative, each node once."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        key = id(node)
        if closing:
            open_nodes.discard(key)
            children = _children(node)
            size = 1 + sum(sizes[id(c)] for c in children)
            depth = (1 if children or isinstance(node.value, list) else 0) + max(
                (depths[id(c)] for c in children), default=0
            )
            if size > max_nodes:
                raise _mark_error(
                    source,
                    node.start_mark,
                    f"its aliases expand to more than {max_nodes:,} values",
                )
            if depth > max_depth:
                raise _mark_error(
                    source,
                    node.start_mark,
                    f"nested more than {max_depth} levels deep (through an alias)",
                )
            sizes[key], depths[key] = size, depth
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _mark_error(source, node.start_mark, "an alias refers to itself")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


# -- writing --------------------------------------------------------------------------------------


def dump_json(
    value: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    max_depth: int = MAX_WRITE_DEPTH,
    **options: Any,
) -> str:
    """``json.dumps`` that always writes valid JSON: non-finite floats become ``null``
    (JavaScript's ``JSON.stringify``), and a value nested deeper than ``max_depth`` raises
    ``ValueTooDeepError`` instead of ``RecursionError``. ``options`` go to ``json.dumps``."""
    try:
        return json.dumps(value, allow_nan=False, default=default, **options)
    except (ValueError, RecursionError):
        pass  # a non-finite float, a circular or too deep value: the careful walk says which
    return json.dumps(
        plain_json(value, default=default, max_depth=max_depth),
        allow_nan=False,
        default=default,
        **options,
    )


_RAISE: Final[Any] = object()


def plain_json(
    value: Any,
    *,
    default: Callable[[Any], Any] | None = None,
    max_depth: int = MAX_WRITE_DEPTH,
    too_deep: Any = _RAISE,
) -> Any:
    """A copy of ``value`` made of dicts with string keys, lists, strings, finite numbers,
    booleans and None; non-finite floats become None, tuples lists, and anything else goes
    through ``default`` (kept as is without one, for ``json.dumps`` to refuse). Iterative:
    a container nested deeper than ``max_depth``, or that contains itself, raises
    ``ValueTooDeepError`` — or is replaced by ``too_deep`` when given (a last-resort copy
    that always serializes, e.g. ``too_deep="(nested too deeply)"``)."""
    root: list[Any] = [None]
    open_ids: set[int] = set()
    # (value, container to fill, key in it, depth, closing id)
    stack: list[tuple[Any, Any, Any, int, int | None]] = [(value, root, 0, 0, None)]
    while stack:
        item, parent, slot, depth, closing = stack.pop()
        if closing is not None:
            open_ids.discard(closing)
            continue
        if isinstance(item, float) and not math.isfinite(item):
            parent[slot] = None
            continue
        if item is None or isinstance(item, str | int | float | bool):
            parent[slot] = item
            continue
        if isinstance(item, dict | list | tuple):
            if depth >= max_depth or id(item) in open_ids:
                if too_deep is not _RAISE:
                    parent[slot] = too_deep
                    continue
                if depth >= max_depth:
                    raise ValueTooDeepError(
                        f"a value nested more than {max_depth} levels deep cannot be written "
                        "as JSON"
                    )
                raise ValueTooDeepError("a value that contains itself cannot be written as JSON")
            open_ids.add(id(item))
            stack.append((None, None, None, depth, id(item)))
            if isinstance(item, dict):
                copy: Any = {}
                for key, child in item.items():
                    name = key if isinstance(key, str) else _json_key(key)
                    copy[name] = None
                    stack.append((child, copy, name, depth + 1, None))
            else:
                copy = [None] * len(item)
                stack.extend((child, copy, i, depth + 1, None) for i, child in enumerate(item))
            parent[slot] = copy
            continue
        if default is None:
            parent[slot] = item
            continue
        stack.append((default(item), parent, slot, depth, None))
    return root[0]


def _json_key(key: Any) -> str:
    """The key ``json.dumps`` would write for a non-string dict key."""
    if isinstance(key, float) and not math.isfinite(key):
        return "null"
    text: str = json.dumps(key, allow_nan=False) if key is not None else "null"
    return text.strip('"')


# one decoder for every call: json.loads with hooks builds a new JSONDecoder each time (2 % of
# the event loop under a flood of webhook calls)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
