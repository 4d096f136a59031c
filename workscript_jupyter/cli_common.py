"""What the ``workscript`` command's modules share: exit codes, the usage error, JSON output."""

from __future__ import annotations

from typing import Any

from .errors import WorkscriptError

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "UsageError", "print_json"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class UsageError(WorkscriptError):
    code = "USAGE_ERROR"


def print_json(value: Any) -> None:
    from .engine.documents import dump_json

    # valid JSON whatever a run left: NaN/Infinity as null, as the server answers them
    print(dump_json(value, indent=2, ensure_ascii=False, default=str))
