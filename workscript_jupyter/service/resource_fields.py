"""The fields of a resource as the REST API and the nodes send them: checked, defaulted, and
turned into store values; and a resource as they read it (``resource_json``, camelCase).

Every refusal is a ``BadRequestError`` whose ``details`` name the field
(``[{"field", "message"}]``), or a ``PayloadTooLargeError`` (413) for content over the limit.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ..errors import BadRequestError, PayloadTooLargeError
from ..store.interfaces.resources import PUBLIC_CHOICES, RESOURCE_TYPES
from ..store.records import Resource

__all__ = [
    "DESCRIPTION_MAX",
    "FIELD_NAMES",
    "NAME_MAX",
    "PATH_MAX",
    "TAGS_MAX",
    "TAG_MAX",
    "check_content",
    "check_path",
    "check_public",
    "check_tags",
    "check_type",
    "content_from",
    "create_values",
    "resource_json",
    "servable_mime_type",
    "update_values",
]

PATH_MAX: Final = 512
NAME_MAX: Final = 255
DESCRIPTION_MAX: Final = 2000
TAGS_MAX: Final = 20
TAG_MAX: Final = 50
MIME_MAX: Final = 200
# what a client may send: the metadata (camelCase), and the content as text or base64
FIELD_NAMES: Final = (
    "path",
    "name",
    "type",
    "mimeType",
    "description",
    "tags",
    "isPublic",
    "content",
    "contentBase64",
)
_STORE_NAMES: Final = {
    "path": "path",
    "name": "name",
    "type": "type",
    "mimeType": "mime_type",
    "description": "description",
    "tags": "tags",
    "isPublic": "is_public",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# parameters in printable ASCII only: the type is served as a Content-Type header, which
# HTTP carries as Latin-1 and tornado refuses with any non-ASCII or control character
_MIME = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+( *;[\x20-\x7e]*)?\Z")
# a fixed table (not the machine's /etc/mime.types), so a path gets the same type everywhere
_MIME_TYPES = mimetypes.MimeTypes()
for _type, _suffix in (
    ("text/markdown", ".md"),
    ("text/markdown", ".markdown"),
    ("application/yaml", ".yaml"),
    ("application/yaml", ".yml"),
    ("application/jsonl", ".jsonl"),
    ("image/webp", ".webp"),
    ("audio/ogg", ".ogg"),
    ("audio/mp4", ".m4a"),
    ("audio/flac", ".flac"),
):
    _MIME_TYPES.add_type(_type, _suffix)
_DATA_TYPES: Final = frozenset(
    {"application/json", "application/jsonl", "application/yaml", "application/xml", "text/csv"}
)


def _bad(field: str, message: str) -> BadRequestError:
    return BadRequestError(f"{field}: {message}", details=[{"field": field, "message": message}])


def _string(field: str, value: Any, *, max_length: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _bad(field, "must be a string")
    if not allow_empty and not value.strip():
        raise _bad(field, "must not be empty")
    if len(value) > max_length:
        raise _bad(field, f"must be at most {max_length} characters")
    _utf8(field, value)
    return value


def _utf8(field: str, text: str) -> bytes:
    """``text`` as UTF-8; JSON may carry a lone surrogate (``"\\ud800"``), which no UTF-8
    column or file can hold: a 400 here rather than a driver's error later."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(field, "is not valid Unicode (it holds a lone surrogate)") from None


def check_path(value: Any, field: str = "path") -> str:
    """A relative path of ``/``-separated names: no leading ``/``, no ``.`` or ``..`` or empty
    segment, no backslash or control character, at most ``PATH_MAX`` characters."""
    path = _string(field, value, max_length=PATH_MAX)
    if _CONTROL.search(path):
        raise _bad(field, "must not contain control characters")
    if "\\" in path:
        raise _bad(field, "must use / between names, not a backslash")
    if path.startswith("/"):
        raise _bad(field, "must be relative (no leading /)")
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise _bad(field, "must not have empty, '.' or '..' segments")
    return path


def check_type(value: Any, field: str = "type") -> str:
    if value not in RESOURCE_TYPES:
        raise _bad(field, f"must be one of {', '.join(RESOURCE_TYPES)}")
    return str(value)


def check_public(value: Any, field: str = "public") -> str:
    if value not in PUBLIC_CHOICES:
        raise _bad(field, f"must be one of {', '.join(PUBLIC_CHOICES)}")
    return str(value)


def check_tags(value: Any, field: str = "tags") -> list[str]:
    """At most ``TAGS_MAX`` distinct strings of 1 to ``TAG_MAX`` characters (order kept)."""
    if not isinstance(value, list | tuple):
        raise _bad(field, "must be a list of strings")
    if len(value) > TAGS_MAX:
        raise _bad(field, f"must hold at most {TAGS_MAX} tags")
    tags: list[str] = []
    for index, tag in enumerate(value):
        where = f"{field}[{index}]"
        tag = _string(where, tag, max_length=TAG_MAX)
        if _CONTROL.search(tag):
            raise _bad(where, "must not contain control characters")
        if tag not in tags:
            tags.append(tag)
    return tags


def _mime_type(value: Any, field: str = "mimeType") -> str:
    mime = _string(field, value, max_length=MIME_MAX)
    if not _MIME.match(mime):
        raise _bad(field, "must be a media type like text/plain (parameters in printable ASCII)")
    return mime


def servable_mime_type(mime: str) -> str:
    """``mime`` if it can be sent as a Content-Type header, else application/octet-stream
    (a row written before media types were limited to printable ASCII)."""
    return mime if _MIME.match(mime) else "application/octet-stream"


def guess_mime_type(path: str) -> str:
    return _MIME_TYPES.guess_type(path, strict=False)[0] or "application/octet-stream"


def guess_type(mime_type: str) -> str:
    """The resource type a media type suggests (the original's rule of thumb)."""
    media = mime_type.split(";", 1)[0].strip().lower()
    if media.startswith("image/"):
        return "image"
    if media.startswith("audio/"):
        return "audio"
    if media in _DATA_TYPES or media.endswith("+json"):
        return "data"
    return "document"


def check_content(content: bytes, max_bytes: int) -> bytes:
    if len(content) > max_bytes:
        raise PayloadTooLargeError(
            f"the content is {len(content)} bytes; a resource holds at most {max_bytes}",
            details={"field": "content", "limit": max_bytes, "size": len(content)},
        )
    return content


def content_from(body: Mapping[str, Any], *, required: bool) -> bytes | None:
    """The content a JSON body carries: ``content`` (text, stored as UTF-8) or
    ``contentBase64`` (any bytes); None when neither is there and it is not ``required``."""
    text, encoded = body.get("content"), body.get("contentBase64")
    if text is not None and encoded is not None:
        raise _bad("content", "send content or contentBase64, not both")
    if text is not None:
        if not isinstance(text, str):
            raise _bad("content", "must be a string (send bytes as contentBase64)")
        return _utf8("content", text)
    if encoded is not None:
        if not isinstance(encoded, str):
            raise _bad("contentBase64", "must be a base64 string")
        try:
            return base64.b64decode(encoded.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise _bad("contentBase64", "is not valid base64") from None
    if required:
        raise _bad("content", "is required (content as text, or contentBase64)")
    return None


def _unknown(body: Mapping[str, Any]) -> None:
    unknown = sorted(set(body) - set(FIELD_NAMES))
    if unknown:
        raise BadRequestError(
            f"unknown field(s) {', '.join(unknown)}; a resource has {', '.join(FIELD_NAMES)}",
            details=[{"field": name, "message": "unknown field"} for name in unknown],
        )


def _metadata(body: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata fields present in ``body``, checked, by their store names."""
    values: dict[str, Any] = {}
    for name, store_name in _STORE_NAMES.items():
        if name not in body:
            continue
        value = body[name]
        if name == "path":
            values[store_name] = check_path(value)
        elif name == "name":
            text = _string(name, value, max_length=NAME_MAX).strip()
            if _CONTROL.search(text):
                raise _bad(name, "must not contain control characters")
            values[store_name] = text
        elif name == "type":
            values[store_name] = check_type(value)
        elif name == "mimeType":
            values[store_name] = _mime_type(value)
        elif name == "description":
            if value is not None:
                value = _string(name, value, max_length=DESCRIPTION_MAX, allow_empty=True)
            values[store_name] = value
        elif name == "tags":
            values[store_name] = check_tags(value)
        elif not isinstance(value, bool):
            raise _bad(name, "must be true or false")
        else:
            values[store_name] = value
    return values


def create_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """The store's ``create`` keywords (without content) from a client's fields: ``path`` is
    required; ``name`` defaults to the path's last name, ``mimeType`` to the path's suffix's,
    ``type`` to what the media type suggests."""
    _unknown(body)
    if "path" not in body:
        raise _bad("path", "is required")
    values = _metadata(body)
    values.setdefault("name", values["path"].rsplit("/", 1)[-1][:NAME_MAX])
    values.setdefault("mime_type", guess_mime_type(values["path"]))
    values.setdefault("type", guess_type(values["mime_type"]))
    return values


def update_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """The store's ``update`` changes (without content) among a client's fields."""
    _unknown(body)
    return _metadata(body)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def resource_json(record: Resource) -> dict[str, Any]:
    """A resource's metadata as the REST API and the nodes show it (never its content)."""
    return {
        "id": record.id,
        "name": record.name,
        "path": record.path,
        "type": record.type,
        "mimeType": record.mime_type,
        "size": record.size,
        "checksum": record.checksum,
        "description": record.description,
        "tags": list(record.tags),
        "isPublic": record.is_public,
        "ownerId": record.owner_id,
        "createdAt": _iso(record.created_at),
        "updatedAt": _iso(record.updated_at),
    }
