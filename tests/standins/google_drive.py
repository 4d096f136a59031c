"""Drive v3 of the Google API stand-in: files list / get (metadata, or the bytes with
``alt=media``) / export / create (metadata only, multipart, or a resumable upload in chunks) and
permissions.create.

Google Docs files (``application/vnd.google-apps.*``) cannot be downloaded, only exported;
other files cannot be exported: both refusals are Google's 403s."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import re
from typing import Any

from .google_apis import ApiHandler

DRIVE_SCOPES = ("https://www.googleapis.com/auth/drive",)
GOOGLE_APPS = "application/vnd.google-apps."
EXPORTS = {"text/plain", "text/html", "application/pdf"}
ROLES = {"owner", "organizer", "fileOrganizer", "writer", "commenter", "reader"}
GRANTEES = {"user", "group", "domain", "anyone"}


def _metadata(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k != "content"}


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

    def store(
        self, metadata: dict[str, Any], content: bytes | None, mime_type: str | None
    ) -> dict[str, Any]:
        file_id = self.stand_in.new_id()
        stored = {
            "kind": "drive#file",
            "id": file_id,
            "name": str(metadata.get("name", "Untitled")),
            "mimeType": str(metadata.get("mimeType") or mime_type or "application/octet-stream"),
            **{k: v for k, v in metadata.items() if k in ("parents", "description")},
        }
        if content is not None:
            stored["size"] = str(len(content))
            stored["content"] = content
        self.stand_in.files[file_id] = stored
        return stored


class _Files(_DriveHandler):
    def get(self) -> None:
        query = self.get_argument("q", "")
        files = list(self.stand_in.files.values())
        for op, value in re.findall(r"name\s*(=|contains)\s*'([^']*)'", query):
            files = [f for f in files if (f["name"] == value if op == "=" else value in f["name"])]
        for parent in re.findall(r"'([^']+)'\s+in\s+parents", query):
            files = [f for f in files if parent in f.get("parents", [])]
        chunk, next_token = self.page(files, "pageSize", 100)
        answer: dict[str, Any] = {"kind": "drive#fileList", "files": [_metadata(f) for f in chunk]}
        if next_token:
            answer["nextPageToken"] = next_token
        self.finish(answer)

    def post(self) -> None:  # metadata only: a folder, an empty file, a Google Doc
        if (body := self.json_body()) is not None:
            self.finish(_metadata(self.store(body, None, None)))


class _File(_DriveHandler):
    def get(self, file_id: str) -> None:
        if (found := self.file(file_id)) is None:
            return
        if self.get_argument("alt", "json") != "media":
            self.finish(_metadata(found))
            return
        if found["mimeType"].startswith(GOOGLE_APPS) or "content" not in found:
            message = "Only files with binary content can be downloaded. Use Export for Docs."
            self.fail(403, "fileNotDownloadable", message, "alt")
            return
        self.set_header("Content-Type", found["mimeType"])
        self.finish(found["content"])


class _Export(_DriveHandler):
    def get(self, file_id: str) -> None:
        if (found := self.file(file_id)) is None:
            return
        wanted = self.get_argument("mimeType", "")
        if not found["mimeType"].startswith(GOOGLE_APPS):
            self.fail(
                403, "fileNotExportable", "Export only supports Docs Editors files.", "fileId"
            )
            return
        if wanted not in EXPORTS:
            self.fail(
                400,
                "badRequest",
                f"The requested conversion is not supported: {wanted}",
                "mimeType",
            )
            return
        text = found.get("content", b"").decode()
        exported = {
            "text/plain": text.encode(),
            "text/html": f"<html><body><p>{text}</p></body></html>".encode(),
            "application/pdf": b"%PDF-1.4\n% stand-in\n" + text.encode(),
        }[wanted]
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
            self.finish(_metadata(self.store({}, self.request.body, content_type)))
        elif kind == "multipart":
            head = f"Content-Type: {content_type}\r\n\r\n".encode()
            parsed = email.message_from_bytes(head + self.request.body, policy=email.policy.HTTP)
            parts = list(parsed.iter_parts()) if parsed.is_multipart() else []
            if len(parts) != 2:
                self.fail(400, "badContent", "Multipart upload needs metadata and media parts.")
                return
            metadata = json.loads(_payload(parts[0]) or b"{}")
            media = _payload(parts[1])
            self.finish(_metadata(self.store(metadata, media, parts[1].get_content_type())))
        elif kind == "resumable":
            if (body := self.json_body()) is None:
                return
            session = self.stand_in.new_id()
            total = self.request.headers.get("X-Upload-Content-Length")
            self.stand_in.uploads[session] = {
                "metadata": body,
                "mime": self.request.headers.get("X-Upload-Content-Type"),
                "total": int(total) if total else None,
                "data": bytearray(),
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
        self.finish(_metadata(self.store(session["metadata"], bytes(data), session["mime"])))


class _Permissions(_DriveHandler):
    def post(self, file_id: str) -> None:
        if (body := self.json_body()) is None or self.file(file_id) is None:
            return
        role, grantee = body.get("role"), body.get("type")
        if role not in ROLES:
            self.fail(
                400,
                "invalid",
                f"The provided value for 'role' is invalid: {role!r}",
                "permission.role",
            )
            return
        if grantee not in GRANTEES:
            self.fail(
                400,
                "invalid",
                f"The provided value for 'type' is invalid: {grantee!r}",
                "permission.type",
            )
            return
        if grantee in ("user", "group") and not body.get("emailAddress"):
            self.fail(
                400, "required", "An email address must be supplied.", "permission.emailAddress"
            )
            return
        permission = {"kind": "drive#permission", "id": self.stand_in.new_id(), **body}
        self.stand_in.permissions.setdefault(file_id, []).append(permission)
        self.finish(permission)


drive_routes: list[tuple[str, type[ApiHandler]]] = [
    (r"/drive/v3/files", _Files),
    (r"/drive/v3/files/([^/]+)/export", _Export),
    (r"/drive/v3/files/([^/]+)/permissions", _Permissions),
    (r"/drive/v3/files/([^/]+)", _File),
    (r"/upload/drive/v3/files", _Upload),
]
