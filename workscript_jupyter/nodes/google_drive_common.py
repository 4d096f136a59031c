"""What the Drive nodes (google_drive.py, google_drive_transfer.py) share: their scopes, the
checks of their parameters, and a Drive file as the state holds it.

Drive ids go into requests as path parameters and, for ``listFiles``' folder, into the text of
a ``q`` query: ``drive_id`` admits only Drive's id alphabet (letters, digits, ``-`` and
``_``), so no quote or operator can slip into a query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from ..integrations.google_oauth import GOOGLE_SCOPES
from .google_common import bad_parameter

__all__ = [
    "DRIVE_SCOPES",
    "FILE_FIELDS",
    "FOLDER_MIME",
    "GOOGLE_APPS",
    "boolean",
    "drive_file",
    "drive_id",
    "integer",
    "text",
]

# every Drive node works with either: drive.file limits the connection to files it made or
# the user opened with it, which Google enforces on its side
DRIVE_SCOPES: Final = (GOOGLE_SCOPES["drive"], GOOGLE_SCOPES["drive.file"])
GOOGLE_APPS: Final = "application/vnd.google-apps."
FOLDER_MIME: Final = GOOGLE_APPS + "folder"
# the file fields the nodes ask Drive for and put in the state
FILE_FIELDS: Final = ("id", "name", "mimeType", "size", "modifiedTime", "parents", "webViewLink")
_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,200}")


def drive_id(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """A Drive file or folder id (``root`` included), or None when not given."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise bad_parameter(f'Missing required parameter: "{name}" (a Drive file id)')
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise bad_parameter(
            f'Parameter "{name}" must be a Drive id: 1 to 200 letters, digits, "-" or "_"'
        )
    return value


def text(params: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str | None:
    """A string of at most ``limit`` characters, or None when not given."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise bad_parameter(f'Missing required parameter: "{name}"')
        return None
    if not isinstance(value, str):
        raise bad_parameter(f'Parameter "{name}" must be a string')
    if len(value) > limit or "\x00" in value:
        raise bad_parameter(f'Parameter "{name}" must be at most {limit} characters, without NUL')
    return value


def integer(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_parameter(f'Parameter "{name}" must be a whole number from {low} to {high}')
    return value


def boolean(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_parameter(f'Parameter "{name}" must be true or false')
    return value


def drive_file(raw: dict[str, Any], fields: Sequence[str] = FILE_FIELDS) -> dict[str, Any]:
    """A file as Drive answered it, with ``fields`` (missing ones null, ``size`` a number)."""
    shaped = {field: raw.get(field) for field in fields}
    if "size" in shaped and shaped["size"] is not None:
        shaped["size"] = int(shaped["size"])
    return shaped
