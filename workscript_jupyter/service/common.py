"""What the use-case modules share: store calls off the loop, and argument checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final, ParamSpec, TypeVar

from ..errors import BadRequestError, WorkscriptError
from ..store.aio import run_off_loop

__all__ = [
    "MAX_PAGE_SIZE",
    "check_limit",
    "optional_mapping",
    "optional_str",
    "store_call",
]

MAX_PAGE_SIZE: Final = 200
VERSION: Final = re.compile(r"^\d+\.\d+\.\d+$")

_P = ParamSpec("_P")
_T = TypeVar("_T")


async def store_call(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``fn(...)`` in a store thread. A plain ``ValueError`` of the store (a bad cursor, a value
    that is not JSON) is the caller's mistake: it comes out as ``BadRequestError``."""
    try:
        return await run_off_loop(fn, *args, **kwargs)
    except WorkscriptError:
        raise
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequestError(
            f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, not {limit!r}",
            details=[{"field": "limit", "message": f"1..{MAX_PAGE_SIZE}"}],
        )
    return limit


def optional_str(name: str, value: Any, *, max_length: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError(
            f"{name} must be a string, not {_kind(value)}",
            details=[{"field": name, "message": "must be a string"}],
        )
    if max_length is not None and len(value) > max_length:
        raise BadRequestError(
            f"{name} is longer than {max_length} characters",
            details=[{"field": name, "message": f"at most {max_length} characters"}],
        )
    return value


def optional_mapping(name: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequestError(
            f"{name} must be a JSON object, not {_kind(value)}",
            details=[{"field": name, "message": "must be an object"}],
        )
    return value


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)
