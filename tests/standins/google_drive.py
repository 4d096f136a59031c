"""Drive v3 of the Google API stand-in: files list / get (metadata, or the bytes with
``alt=media``, ``Range`` honoured) / export / create (metadata only, multipart, or a resumable
upload in chunks) and permissions.create, answering as Google does.

- ``files.list``: ``q`` in Drive's query language (``name = / != / contains``, ``mimeType =
  / !=``, ``'<id>' in parents``, ``trashed = true|false``, ``fullText contains``, joined by
  ``and`` / ``or`` / ``not`` and parentheses; ``\\'`` and ``\\\\`` escape in strings); anything
  else is Google's 400 ``invalid`` on ``q``. Trashed files are listed unless ``q`` says not.
  ``pageSize`` (1..1000) / ``pageToken`` page.
- ``fields`` picks what comes back (``id,name``; ``nextPageToken,files(id,name)``; ``*``);
  without it a file is only ``kind, id, name, mimeType``, as Google answers.
- Google Docs files (``application/vnd.google-apps.*``) have no ``size`` and cannot be
  downloaded, only exported, each kind to its own formats (Google's 403s otherwise); a new
  file's ``parents`` must exist (404).
- A resumable upload opens a session (``Location``); each ``PUT`` chunk answers 308 with
  ``Range`` until the last, which answers the file.
- ``permissions.create``: role ``owner`` needs ``transferOwnership``; ``emailMessage`` needs
  the notification; ``notifications_sent(stand_in)`` lists the emails Google would have sent.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import re
import weakref
from datetime import UTC, datetime
from typing import Any

from .google_apis import ApiHandler, GoogleApisStandIn
from .google_drive_query import QueryError, parse_query

__all__ = ["drive_routes", "notifications_sent"]

DRIVE_SCOPES = ("https://www.googleapis.com/auth/drive",)
GOOGLE_APPS = "application/vnd.google-apps."
FOLDER = GOOGLE_APPS + "folder"
_OFFICE = "application/vnd.openxmlformats-officedocument."
# what each Google Docs kind exports to (Google's about.exportFormats, abridged)
EXPORTS = {
    GOOGLE_APPS + "document": {
        "text/plain",
        "text/html",
        "application/pdf",
        _OFFICE + "wordprocessingml.document",
    },
    GOOGLE_APPS + "spreadsheet": {
        "text/csv",
        "application/pdf",
        _OFFICE + "spreadsheetml.sheet",
    },
    GOOGLE_APPS + "presentation": {
        "text/plain",
        "application/pdf",
        _OFFICE + "presentationml.presentation",
    },
    GOOGLE_APPS + "drawing": {"application/pdf", "image/png"},
}
ROLES = {"owner", "organizer", "fileOrganizer", "writer", "commenter", "reader"}
GRANTEES = {"user", "group", "domain", "anyone"}
DEFAULT_FIELDS = ("kind", "id", "name", "mimeType")

_NOTIFIED: weakref.WeakKeyDictionary[GoogleApisStandIn, list[dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def notifications_sent(stand_in: GoogleApisStandIn) -> list[dict[str, Any]]:
    """``{fileId, emailAddress, role, emailMessage}`` of each share Google emailed about."""
    return _NOTIFIED.setdefault(stand_in, [])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _metadata(stored: dict[str, Any], fields: str | None = None) -> dict[str, Any]:
    """The file as Google answers it: the ``fields`` asked for (``*``: all)."""
    shown = {k: v for k, v in stored.items() if k != "content"}
    if fields is None:
        return {k: v for k, v in shown.items() if k in DEFAULT_FIELDS}
    wanted = {f.strip() for f in fields.split(",")}
    return shown if "*" in wanted else {k: v for k, v in shown.items() if k in wanted}


def _list_fields(fields: str | None) -> str | None:
    """The file fields inside ``files(...)`` of a list's ``fields``."""
    if fields is None or fields.strip() == "*":
        return None if fields is None else "*"
    match = re.search(r"files\(([^)]*)\)", fields)
    return match.group(1) if match else ("*" if re.search(r"\bfiles\b", fields) else "")


def _payload(part: email.message.Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


class _DriveHandler(ApiHandler):
    scope_prefixes = DRIVE_SCOPES

    def file(self, file_id: str) -> dict[str, Any] | None:
        found = self.stand_in.files.get(file_id)
        if found is None:
            self.fail(404, "notFound", f"File not found: {file_id}.", "fileId")
        return found

    def fields(self) -> str | None:
        return self.get_argument("fields", None)

    def parents_exist(self, metadata: dict[str, Any]) -> bool:
        """Every parent named is a folder of ours ("root" included), or a 404 answered."""
        for parent in metadata.get("parents") or []:
            if parent != "root" and self.stand_in.files.get(parent, {}).get("mimeType") != FOLDER:
                self.fail(404, "notFound", f"File not found: {parent}.", "parents")
                return False
        return True

    def store(
        self, metadata: dict[str, Any], content: bytes | None, mime_type: str | None
    ) -> dict[str, Any]:
        file_id = self.stand_in.new_id()
        kind = str(metadata.get("mimeType") or mime_type or "application/octet-stream")
        now = _now()
        stored: dict[str, Any] = {
            "kind": "drive#file",
            "id": file_id,
            "name": str(metadata.get("name", "Untitled")),
            "mimeType": kind,
            "parents": list(metadata.get("parents") or ["root"]),
            "trashed": False,
            "createdTime": now,
            "modifiedTime": now,
            "webViewLink": f"https://drive.google.com/file/d/{file_id}/view?usp=drivesdk",
            **{k: v for k, v in metadata.items() if k == "description"},
        }
        if content is not None:
            if not kind.startswith(GOOGLE_APPS):
                stored["size"] = str(len(content))
            stored["content"] = content
        self.stand_in.files[file_id] = stored
        return stored


class _Files(_DriveHandler):
    def get(self) -> None:
        try:
            matches = parse_query(self.get_argument("q", ""))
        except QueryError as refused:
            self.fail(400, "invalid", f"Invalid Value: {refused}", "q")
            return
        size = int(self.get_argument("pageSize", "100"))
        if not 1 <= size <= 1000:
            self.fail(400, "invalid", f"Invalid value for pageSize: {size}", "pageSize")
            return
        files = [f for f in self.stand_in.files.values() if matches(f)]
        chunk, next_token = self.page(files, "pageSize", 100)
        file_fields = _list_fields(self.fields())
        answer: dict[str, Any] = {
            "kind": "drive#fileList",
            "incompleteSearch": False,
            "files": [_metadata(f, file_fields) for f in chunk],
        }
        if next_token:
            answer["nextPageToken"] = next_token
        self.finish(answer)

    def post(self) -> None:  # metadata only: a folder, an empty file, a Google Doc
        if (body := self.json_body()) is not None and self.parents_exist(body):
            self.finish(_metadata(self.store(body, None, None), self.fields()))


class _File(_DriveHandler):
    def get(self, file_id: str) -> None:
        if (found := self.file(file_id)) is None:
            return
        if self.get_argument("alt", "json") != "media":
            self.finish(_metadata(found, self.fields()))
            return
        if found["mimeType"].startswith(GOOGLE_APPS) or "content" not in found:
            message = "Only files with binary content can be downloaded. Use Export for Docs."
            self.fail(403, "fileNotDownloadable", message, "alt")
            return
        content: bytes = found["content"]
        self.set_header("Content-Type", found["mimeType"])
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.request.headers.get("Range", ""))
        if wanted is None or not content:
            self.finish(content)
            return
        first = int(wanted.group(1))
        last = min(int(wanted.group(2) or len(content) - 1), len(content) - 1)
        if first >= len(content):
            self.set_status(416)
            self.set_header("Content-Range", f"bytes */{len(content)}")
            self.finish()
            return
        self.set_status(206)
        self.set_header("Content-Range", f"bytes {first}-{last}/{len(content)}")
        self.finish(content[first : last + 1])


class _Export(_DriveHandler):
    def get(self, file_id: str) -> None:
        if (found := self.file(file_id)) is None:
            return
        wanted = self.get_argument("mimeType", "")
        formats = EXPORTS.get(found["mimeType"])
        if formats is None:
            message = "Export only supports Docs Editors files."
            self.fail(403, "fileNotExportable", message, "fileId")
            return
        if wanted not in formats:
            message = f"The requested conversion is not supported: {wanted}"
            self.fail(400, "badRequest", message, "mimeType")
            return
        text = found.get("content", b"").decode()
        if wanted == "text/html":
            exported = f"<html><body><p>{text}</p></body></html>".encode()
        elif wanted == "application/pdf":
            exported = b"%PDF-1.4\n% stand-in\n" + text.encode()
        elif wanted.startswith(_OFFICE) or wanted == "image/png":
            exported = b"PK\x03\x04 stand-in " + text.encode()  # a zip's magic number
        else:
            exported = text.encode()
        self.set_header("Content-Type", wanted)
        self.finish(exported)


class _Upload(_DriveHandler):
    """``POST /upload/drive/v3/files``: ``uploadType`` media, multipart or resumable (opens a
    session at ``Location``); ``PUT`` on that session takes the chunks (``Content-Range``),
    308 with ``Range`` until the last, then the file."""

    def post(self) -> None:
        kind = self.get_argument("uploadType", "")
        content_type = self.request.headers.get("Content-Type", "")
        if kind == "media":
            self.finish(_metadata(self.store({}, self.request.body, content_type), self.fields()))
        elif kind == "multipart":
            head = f"Content-Type: {content_type}\r\n\r\n".encode()
            parsed = email.message_from_bytes(head + self.request.body, policy=email.policy.HTTP)
            parts = list(parsed.iter_parts()) if parsed.is_multipart() else []
            if len(parts) != 2:
                self.fail(400, "badContent", "Multipart upload needs metadata and media parts.")
                return
            metadata = json.loads(_payload(parts[0]) or b"{}")
            if not self.parents_exist(metadata):
                return
            media = _payload(parts[1])
            stored = self.store(metadata, media, parts[1].get_content_type())
            self.finish(_metadata(stored, self.fields()))
        elif kind == "resumable":
            if (body := self.json_body()) is None or not self.parents_exist(body):
                return
            session = self.stand_in.new_id()
            total = self.request.headers.get("X-Upload-Content-Length")
            self.stand_in.uploads[session] = {
                "metadata": body,
                "mime": self.request.headers.get("X-Upload-Content-Type"),
                "total": int(total) if total else None,
                "data": bytearray(),
                "fields": self.fields(),
            }
            self.set_header(
                "Location",
                f"{self.stand_in.root}/upload/drive/v3/files?uploadType=resumable&upload_id={session}",
            )
            self.finish()
        else:
            self.fail(400, "invalid", f"Invalid value for uploadType: {kind!r}", "uploadType")

    def put(self) -> None:
        session = self.stand_in.uploads.get(self.get_argument("upload_id", ""))
        if session is None:
            self.fail(404, "notFound", "No such upload session.", "upload_id")
            return
        match = re.fullmatch(
            r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", self.request.headers.get("Content-Range", "")
        )
        if match is None:
            self.fail(400, "badContent", "Invalid Content-Range.")
            return
        first, _, total = match.groups()
        data: bytearray = session["data"]
        if first is not None:
            if int(first) != len(data):
                self.fail(400, "badContent", f"Chunk starts at {first}, expected {len(data)}.")
                return
            data.extend(self.request.body)
        if total != "*":
            session["total"] = int(total)
        if session["total"] is None or len(data) < session["total"]:
            self.set_status(308)
            if data:
                self.set_header("Range", f"bytes=0-{len(data) - 1}")
            self.finish()
            return
        del self.stand_in.uploads[self.get_argument("upload_id")]
        stored = self.store(session["metadata"], bytes(data), session["mime"])
        self.finish(_metadata(stored, session["fields"]))


class _Permissions(_DriveHandler):
    def post(self, file_id: str) -> None:
        if (body := self.json_body()) is None or self.file(file_id) is None:
            return
        role, grantee = body.get("role"), body.get("type")
        notify = self.get_argument("sendNotificationEmail", "true") == "true"
        message = self.get_argument("emailMessage", None)
        if role not in ROLES:
            self.fail(
                400,
                "invalid",
                f"The provided value for 'role' is invalid: {role!r}",
                "permission.role",
            )
        elif grantee not in GRANTEES:
            self.fail(
                400,
                "invalid",
                f"The provided value for 'type' is invalid: {grantee!r}",
                "permission.type",
            )
        elif grantee in ("user", "group") and not body.get("emailAddress"):
            self.fail(
                400, "required", "An email address must be supplied.", "permission.emailAddress"
            )
        elif role == "owner" and self.get_argument("transferOwnership", "false") != "true":
            self.fail(
                403,
                "forbidden",
                "The transferOwnership parameter must be enabled when the permission role is "
                "'owner'.",
                "transferOwnership",
            )
        elif message is not None and not notify:
            self.fail(
                400,
                "badRequest",
                "An email message cannot be sent when notifications are disabled.",
                "emailMessage",
            )
        else:
            permission = {"kind": "drive#permission", "id": self.stand_in.new_id(), **body}
            self.stand_in.permissions.setdefault(file_id, []).append(permission)
            if notify and grantee in ("user", "group"):
                sent = {"fileId": file_id, "emailAddress": body["emailAddress"], "role": role}
                notifications_sent(self.stand_in).append({**sent, "emailMessage": message})
            self.finish(permission)


drive_routes: list[tuple[str, type[ApiHandler]]] = [
    (r"/drive/v3/files", _Files),
    (r"/drive/v3/files/([^/]+)/export", _Export),
    (r"/drive/v3/files/([^/]+)/permissions", _Permissions),
    (r"/drive/v3/files/([^/]+)", _File),
    (r"/upload/drive/v3/files", _Upload),
]
