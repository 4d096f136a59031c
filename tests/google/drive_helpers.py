"""What the Drive node tests share: files put straight into the Drive stand-in, and the
requests that went to Drive."""

from __future__ import annotations

import uuid
from typing import Any

from tests.standins.google_apis import GoogleApisStandIn

FOLDER = "application/vnd.google-apps.folder"


def put_file(
    apis: GoogleApisStandIn,
    name: str,
    content: bytes | None = None,
    *,
    mime: str = "text/plain",
    parents: list[str] | None = None,
    **extra: Any,
) -> str:
    """A file in the stand-in's Drive, as Google keeps it; its id."""
    file_id = "t" + uuid.uuid4().hex[:15]
    stored: dict[str, Any] = {
        "kind": "drive#file",
        "id": file_id,
        "name": name,
        "mimeType": mime,
        "parents": parents or ["root"],
        "trashed": False,
        "createdTime": "2026-12-01T10:00:00.000Z",
        "modifiedTime": "2026-12-02T10:00:00.000Z",
        "webViewLink": f"https://drive.google.com/file/d/{file_id}/view?usp=drivesdk",
    }
    if content is not None:
        stored["content"] = content
        if not mime.startswith("application/vnd.google-apps."):
            stored["size"] = str(len(content))
    stored.update(extra)
    apis.files[file_id] = stored
    return file_id


def drive_requests(apis: GoogleApisStandIn) -> list[tuple[str, str]]:
    return [r for r in apis.requests if "/drive/" in r[1]]
