"""downloadFile and uploadFile: files between Google Drive and the run's root folder.

- Paths are the run root's (``root_path``: ``..``, absolute paths and symlinks out of it are
  refused). A download never overwrites a file unless ``overwrite: true``.
- A download streams in chunks (``MediaIoBaseDownload``, retrying as the settings say) into a
  temporary file beside the destination, counted against ``maxBytes`` as it comes; only a
  whole file takes the destination's name, so a refused or failed download leaves nothing.
  Google Docs, Sheets and Slides have no bytes of their own: they are exported
  (``exportFormat``, pdf by default).
- An upload over ``RESUMABLE_ABOVE_BYTES`` is resumable, sent in chunks of
  ``UPLOAD_CHUNK_BYTES`` (a multiple of 256 KiB, Google's unit); a smaller one is one multipart
  request. ``convert`` makes Drive turn it into a Google Docs file.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, ParamSpec
from ..errors import GoogleError
from .google_common import (
    DRIVE,
    bad_parameter,
    call_google,
    failure_edge,
    google_metadata,
    root_path,
)
from .google_drive_common import (
    DRIVE_SCOPES,
    GOOGLE_APPS,
    drive_file,
    drive_id,
    required_drive_id,
)
from .google_params import flag, one_of, optional_string, whole_number
from .google_requests import execute, retries

__all__ = [
    "DOWNLOAD_CHUNK_BYTES",
    "EXPORT_FORMATS",
    "RESUMABLE_ABOVE_BYTES",
    "UPLOAD_CHUNK_BYTES",
    "DownloadFileNode",
    "UploadFileNode",
]

MB: Final = 1024 * 1024
DEFAULT_MAX_BYTES: Final = 100 * MB
MAX_BYTES_LIMIT: Final = 1024 * MB
MAX_UPLOAD_BYTES: Final = 5 * 1024 * MB
# module constants (not Final) so a test can make them small
DOWNLOAD_CHUNK_BYTES = 8 * MB
RESUMABLE_ABOVE_BYTES = 5 * MB
UPLOAD_CHUNK_BYTES = 8 * MB  # a multiple of 256 KiB

_OFFICE: Final = "application/vnd.openxmlformats-officedocument."
_EXPORT_TYPES: Final = {
    "pdf": "application/pdf",
    "docx": _OFFICE + "wordprocessingml.document",
    "txt": "text/plain",
    "csv": "text/csv",
    "xlsx": _OFFICE + "spreadsheetml.sheet",
    "pptx": _OFFICE + "presentationml.presentation",
}
# what each kind of Google Docs file exports to (csv: the first sheet)
EXPORT_FORMATS: Final = {
    GOOGLE_APPS + "document": ("pdf", "docx", "txt"),
    GOOGLE_APPS + "spreadsheet": ("pdf", "xlsx", "csv"),
    GOOGLE_APPS + "presentation": ("pdf", "pptx", "txt"),
    GOOGLE_APPS + "drawing": ("pdf",),
}
# what convert turns an upload into, by its type
_CONVERSIONS: Final = {
    **dict.fromkeys(
        (
            "text/plain",
            "text/html",
            "application/rtf",
            "application/msword",
            _OFFICE + "wordprocessingml.document",
            "application/vnd.oasis.opendocument.text",
        ),
        GOOGLE_APPS + "document",
    ),
    **dict.fromkeys(
        (
            "text/csv",
            "text/tab-separated-values",
            "application/vnd.ms-excel",
            _OFFICE + "spreadsheetml.sheet",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        GOOGLE_APPS + "spreadsheet",
    ),
    **dict.fromkeys(
        (
            "application/vnd.ms-powerpoint",
            _OFFICE + "presentationml.presentation",
            "application/vnd.oasis.opendocument.presentation",
        ),
        GOOGLE_APPS + "presentation",
    ),
}
_MIME: Final = re.compile(r"[\w.+-]+/[\w.+-]+")


def _too_large(limit: int) -> GoogleError:
    return GoogleError(
        f'The file is larger than "maxBytes" ({limit} bytes): raise maxBytes (at most '
        f"{MAX_BYTES_LIMIT}) to download it",
        code="FILE_TOO_LARGE",
    )


def _export_type(metadata: dict[str, Any], wanted: str | None) -> str | None:
    """The export MIME type of a Google Docs file (pdf unless ``wanted``); None for a file with
    bytes of its own, which ``exportFormat`` does not apply to."""
    kind, name = metadata.get("mimeType", ""), metadata.get("name")
    if not kind.startswith(GOOGLE_APPS):
        if wanted is not None:
            raise bad_parameter(
                f'Parameter "exportFormat" is only for Google Docs, Sheets and Slides: {name!r} '
                f"is {kind}; leave exportFormat out to download it as it is"
            )
        return None
    formats = EXPORT_FORMATS.get(kind)
    if formats is None:
        raise GoogleError(
            f"{name!r} is a {kind}: Google Drive can neither download nor export it",
            code="NOT_DOWNLOADABLE",
        )
    chosen = wanted or "pdf"
    if chosen not in formats:
        raise bad_parameter(
            f'Parameter "exportFormat": a {kind.removeprefix(GOOGLE_APPS)} exports to '
            f"{', '.join(formats)}, not {chosen}"
        )
    return _EXPORT_TYPES[chosen]


def _stream(request: Any, target: Path, limit: int, overwrite: bool) -> int:
    """``request``'s bytes into ``target``, in chunks; the size written."""
    from googleapiclient.http import MediaIoBaseDownload

    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            downloader = MediaIoBaseDownload(handle, request, chunksize=DOWNLOAD_CHUNK_BYTES)
            done = False
            while not done:
                _progress, done = downloader.next_chunk(num_retries=retries())
                if handle.tell() > limit:
                    raise _too_large(limit)
            size = handle.tell()
        os.chmod(temporary, 0o644)
        if overwrite:
            os.replace(temporary, target)
        else:
            _place_new(Path(temporary), target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return size


def _place_new(temporary: Path, target: Path) -> None:
    """``temporary`` named ``target`` unless a file took that name meanwhile (a hard link
    fails rather than replace it)."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise _exists(target.name) from None
    temporary.unlink()


def _exists(name: str) -> GoogleError:
    return bad_parameter(
        f'Parameter "path": {name} already exists (set "overwrite": true to replace it)'
    )


class DownloadFileNode(Node):
    metadata = google_metadata(
        id="downloadFile",
        name="Download Drive File",
        description=(
            "Downloads a Google Drive file into the run's folder (needs the drive or "
            "drive.file scope), streaming it and refusing one over maxBytes (100 MB by "
            "default). Google Docs, Sheets and Slides are exported: exportFormat pdf (the "
            "default), docx, txt, csv, xlsx or pptx as the kind allows. An existing file is "
            "kept unless overwrite is true. Sets downloadedFile."
        ),
        inputs=(
            ParamSpec("fileId", "string", "the Drive file to download", True),
            ParamSpec("path", "string", "where to save it, relative to the run's folder", True),
            ParamSpec(
                "exportFormat",
                "string",
                "the format of an exported Google Docs file",
                False,
                None,
                tuple(_EXPORT_TYPES),
            ),
            ParamSpec("overwrite", "boolean", "replace a file already at path", False, False),
            ParamSpec(
                "maxBytes",
                "number",
                "refuse a larger file (at most 1 GB)",
                False,
                DEFAULT_MAX_BYTES,
            ),
        ),
        outputs=("downloadedFile",),
        example={
            "fileId": "1a2b3c4d5e",
            "path": "downloads/report.pdf",
            "exportFormat": "pdf",
            "success?": {"$.report": "$.downloadedFile.path"},
            "error?": {"$.failed": "$._edgeContext"},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            file_id = required_drive_id(params, "fileId")
            raw_path = params.get("path")
            target = root_path(ctx, raw_path, "path")
            overwrite = flag(params, "overwrite")
            if target.is_dir():
                raise bad_parameter(f'Parameter "path" is a folder: {raw_path}')
            if target.exists() and not overwrite:
                raise _exists(str(raw_path))
            wanted = one_of(params, "exportFormat", tuple(_EXPORT_TYPES))
            limit = whole_number(params, "maxBytes", DEFAULT_MAX_BYTES, 1, MAX_BYTES_LIMIT)

            def download(service: Any) -> dict[str, Any]:
                fields = "id,name,mimeType,size"
                metadata = execute(service.files().get(fileId=file_id, fields=fields))
                export_type = _export_type(metadata, wanted)
                if export_type is not None:
                    request = service.files().export_media(fileId=file_id, mimeType=export_type)
                else:
                    if int(metadata.get("size") or 0) > limit:
                        raise _too_large(limit)  # before a byte comes
                    request = service.files().get_media(fileId=file_id)
                size = _stream(request, target, limit, overwrite)
                return {
                    "id": metadata.get("id", file_id),
                    "name": metadata.get("name"),
                    "mimeType": export_type or metadata.get("mimeType"),
                    "path": raw_path,
                    "size": size,
                }

            saved = await call_google(ctx, params, DRIVE, download, DRIVE_SCOPES)
        except GoogleError as error:
            return failure_edge(error)
        ctx.state["downloadedFile"] = saved
        return Edge("success", saved)


def _upload_type(params: dict[str, Any], source: Path) -> str:
    given = optional_string(params, "mimeType", 255)
    if given is not None:
        if not _MIME.fullmatch(given):
            raise bad_parameter('Parameter "mimeType" must be a MIME type such as text/csv')
        return given
    return mimetypes.guess_type(source.name)[0] or "application/octet-stream"


def _upload(service: Any, source: Path, raw: str, body: dict[str, Any], kind: str) -> Any:
    """Blocking: ``source`` to Drive, resumable above RESUMABLE_ABOVE_BYTES."""
    from googleapiclient.http import MediaFileUpload

    found = os.stat(source)
    if not stat.S_ISREG(found.st_mode):
        raise bad_parameter(f'Parameter "path" is not a file: {raw}')
    if found.st_size > MAX_UPLOAD_BYTES:
        raise bad_parameter(f'Parameter "path": {raw} is larger than {MAX_UPLOAD_BYTES} bytes')
    resumable = found.st_size > RESUMABLE_ABOVE_BYTES
    media = MediaFileUpload(
        str(source), mimetype=kind, resumable=resumable, chunksize=UPLOAD_CHUNK_BYTES
    )
    try:
        fields = "id,name,mimeType,size,webViewLink"
        request = service.files().create(body=body, media_body=media, fields=fields)
        # for a resumable upload, execute drives request.next_chunk(num_retries=retries())
        # until the last chunk, with the settings' backoff between retries
        return execute(request)
    finally:
        media.stream().close()


class UploadFileNode(Node):
    metadata = google_metadata(
        id="uploadFile",
        name="Upload File to Drive",
        description=(
            "Uploads a file of the run's folder to Google Drive (needs the drive or drive.file "
            "scope), into My Drive or folderId, as name (default: the file's name). A file over "
            "5 MB goes up in resumable chunks. convert makes Drive turn it into a Google Docs, "
            "Sheets or Slides file. Sets uploadedFile (id, name, mimeType, size, webViewLink)."
        ),
        inputs=(
            ParamSpec("path", "string", "the file to upload, relative to the run's folder", True),
            ParamSpec("name", "string", "its name in Drive (default: the file's name)"),
            ParamSpec("folderId", "string", "the Drive folder to put it in (default: My Drive)"),
            ParamSpec("mimeType", "string", "its type (default: guessed from its name)"),
            ParamSpec(
                "convert", "boolean", "make it a Google Docs/Sheets/Slides file", False, False
            ),
        ),
        outputs=("uploadedFile",),
        example={
            "path": "reports/summary.csv",
            "folderId": "root",
            "convert": True,
            "success?": {"$.link": "$.uploadedFile.webViewLink"},
            "error?": {"$.failed": "$._edgeContext"},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            raw_path = str(params.get("path") or "")
            source = root_path(ctx, params.get("path"), "path")
            if not source.is_file():
                raise bad_parameter(f'Parameter "path" is not a file of the run: {raw_path}')
            body: dict[str, Any] = {"name": optional_string(params, "name", 1024) or source.name}
            if (folder := drive_id(params, "folderId")) is not None:
                body["parents"] = [folder]
            kind = _upload_type(params, source)
            if flag(params, "convert"):
                if (google_kind := _CONVERSIONS.get(kind)) is None:
                    raise bad_parameter(
                        f'Parameter "convert": Drive cannot turn {kind} into a Google Docs file'
                    )
                body["mimeType"] = google_kind

            def upload(service: Any) -> Any:
                return _upload(service, source, raw_path, body, kind)

            made = await call_google(ctx, params, DRIVE, upload, DRIVE_SCOPES)
        except GoogleError as error:
            return failure_edge(error)
        uploaded = drive_file(made, ("id", "name", "mimeType", "size", "webViewLink"))
        ctx.state["uploadedFile"] = uploaded
        return Edge("success", uploaded)
