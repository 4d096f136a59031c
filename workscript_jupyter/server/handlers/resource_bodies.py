"""What a resource request's body holds: a JSON object, or a ``multipart/form-data`` upload.

Both come out as the same pair, the client's fields (camelCase, as ``service/resource_fields``
reads them) and the content bytes (None when the body sends none), so the handlers and the
use case never care how the content travelled.
"""

from __future__ import annotations

from typing import Any, Final

from tornado.httputil import HTTPFile, HTTPInputError, parse_body_arguments

from ...errors import BadRequestError, UnsupportedMediaTypeError

__all__ = [
    "FORM_FIELDS",
    "media_type",
    "multipart_fields",
    "refuse_media_type",
    "split_tags",
]

# the form fields of an upload besides its ``file`` part (the JSON body's names)
FORM_FIELDS: Final = ("path", "name", "type", "mimeType", "description", "tags", "isPublic")
_VAGUE_TYPES: Final = frozenset({"", "application/octet-stream", "application/unknown"})


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def split_tags(text: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]`` (the query's and the form's comma list)."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def _bad(field: str, message: str) -> BadRequestError:
    return BadRequestError(f"{field}: {message}", details=[{"field": field, "message": message}])


def multipart_fields(content_type: str, body: bytes, headers: Any) -> tuple[dict[str, Any], bytes]:
    """The fields and content of a ``multipart/form-data`` upload: one ``file`` part (its
    bytes are the content; its filename the default path, its Content-Type the default
    media type) and at most one of each ``FORM_FIELDS``; ``tags`` is a comma list and
    ``isPublic`` ``true`` or ``false``."""
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    # media types are case-insensitive; tornado's parser only knows the lower-case name
    _media, _, parameters = content_type.partition(";")
    try:
        parse_body_arguments(f"multipart/form-data;{parameters}", body, arguments, files, headers)
    except HTTPInputError as error:
        raise _bad("body", f"is not a readable multipart/form-data upload ({error})") from None
    unknown = sorted((set(arguments) | set(files)) - {*FORM_FIELDS, "file"})
    if unknown:
        raise BadRequestError(
            f"unknown form field(s) {', '.join(unknown)}; an upload has a file part and "
            f"{', '.join(FORM_FIELDS)}",
            details=[{"field": name, "message": "unknown field"} for name in unknown],
        )
    uploads = files.get("file", [])
    if len(uploads) != 1 or "file" in arguments:
        raise _bad("file", "send exactly one file part named 'file'")
    upload = uploads[0]
    fields: dict[str, Any] = {}
    for name, values in arguments.items():
        if len(values) != 1:
            raise _bad(name, "must be sent once")
        try:
            text = values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(name, "must be UTF-8 text") from None
        fields[name] = _form_value(name, text)
    if "path" not in fields:
        filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
        fields["path"] = filename
    if "mimeType" not in fields and media_type(upload.content_type) not in _VAGUE_TYPES:
        fields["mimeType"] = upload.content_type
    return fields, bytes(upload.body)


def _form_value(name: str, text: str) -> Any:
    if name == "tags":
        return split_tags(text)
    if name == "isPublic":
        if text.strip().lower() not in ("true", "false"):
            raise _bad(name, "must be true or false")
        return text.strip().lower() == "true"
    return text


def refuse_media_type(found: str) -> UnsupportedMediaTypeError:
    return UnsupportedMediaTypeError(
        f"send the body as application/json or multipart/form-data, not {found or 'no type'}"
    )
