"""What the Drive nodes (google_drive.py, google_drive_transfer.py) share: their scopes and
call to Drive v3, the check of a Drive id, and a Drive file as the state holds it.

Drive ids go into requests as path parameters and, for ``listFiles``' folder, into the text of
a ``q`` query: ``drive_id`` admits only Drive's id alphabet (letters, digits, ``-`` and
``_``), so no quote or operator can slip into a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from .google_params import optional_id, required_id
from .google_requests import GOOGLE_SCOPES

__all__ = [
    "DRIVE_SCOPES",
    "FILE_FIELDS",
    "FOLDER_MIME",
    "GOOGLE_APPS",
    "drive_file",
    "drive_id",
    "required_drive_id",
]

# every Drive node works with either: drive.file limits the connection to files it made or
# the user opened with it, which Google enforces on its side
DRIVE_SCOPES: Final = (GOOGLE_SCOPES["drive"], GOOGLE_SCOPES["drive.file"])
GOOGLE_APPS: Final = "application/vnd.google-apps."
FOLDER_MIME: Final = GOOGLE_APPS + "folder"
# the file fields the nodes ask Drive for and put in the state
FILE_FIELDS: Final = ("id", "name", "mimeType", "size", "modifiedTime", "parents", "webViewLink")
MAX_ID: Final = 200


def drive_id(params: dict[str, Any], name: str) -> str | None:
    """A Drive file or folder id (``root`` included), or None when not given."""
    return optional_id(params, name, "Drive", MAX_ID)


def required_drive_id(params: dict[str, Any], name: str) -> str:
    return required_id(params, name, "Drive", MAX_ID, "a Drive file id")


def drive_file(raw: dict[str, Any], fields: Sequence[str] = FILE_FIELDS) -> dict[str, Any]:
    """A file as Drive answered it, with ``fields`` (missing ones null, ``size`` a number)."""
    shaped = {field: raw.get(field) for field in fields}
    if "size" in shaped and shaped["size"] is not None:
        shaped["size"] = int(shaped["size"])
    return shaped
