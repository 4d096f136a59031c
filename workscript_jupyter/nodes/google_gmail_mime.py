"""MIME for the Gmail nodes: building the message ``sendEmail`` sends, and reading the
``payload`` Gmail gives back (``getEmail``, ``listEmails``).

Building uses the standard library's ``EmailMessage``: recipients are parsed and checked
(``email.utils`` / ``email.headerregistry``), a CR or LF in a header value is refused before
anything is parsed (header injection), and attachments are files of the run root, bounded in
number and total size (Gmail refuses a message over 25 MB).

Reading walks the MIME tree of ``format=full`` (``payload.parts``), decodes the base64url bodies
to text, and lists the attachments (the parts with a file name or an ``attachmentId``);
``safe_file_name`` makes an attachment's name a plain file name for saving it.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import stat
import unicodedata
from collections.abc import Sequence
from email.errors import HeaderParseError, InvalidHeaderDefect
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Final

from .google_common import bad_parameter

__all__ = [
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_RECIPIENTS",
    "b64url_decode",
    "build_message",
    "decode_payload",
    "header_map",
    "inline_data",
    "parse_addresses",
    "read_attachments",
    "safe_file_name",
    "single_line",
]

MAX_RECIPIENTS: Final = 100  # to + cc + bcc together
MAX_ATTACHMENTS: Final = 20
MAX_ATTACHMENT_BYTES: Final = 20 * 1024 * 1024  # all attachments together
MAX_SUBJECT: Final = 998  # RFC 5322's line limit
MAX_BODY_CHARS: Final = 5_000_000
MAX_FILE_NAME: Final = 150
_LINE_BREAKS: Final = re.compile(r"[\r\n\x00]")
_UNSAFE_NAME: Final = re.compile(r"[^\w.\- ()\[\]+,@=]")
_HEADERS: Final = HeaderRegistry()


def single_line(value: Any, param: str, limit: int) -> str:
    """A header value: a string with no CR, LF or NUL (header injection), at most ``limit``."""
    if not isinstance(value, str):
        raise bad_parameter(f'Parameter "{param}" must be a string')
    if _LINE_BREAKS.search(value):
        raise bad_parameter(f'Parameter "{param}" must not contain line breaks (CR/LF)')
    if len(value) > limit:
        raise bad_parameter(f'Parameter "{param}" is longer than {limit} characters')
    return value


def parse_addresses(value: Any, param: str) -> list[str]:
    """``"a@x.org, Bo <b@y.org>"`` or a list of such strings → the addresses, formatted."""
    if value is None or value == "" or value == []:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise bad_parameter(f'Parameter "{param}" must be an address string or a list of them')
    if len(items) > MAX_RECIPIENTS:
        raise bad_parameter(f'Parameter "{param}" has more than {MAX_RECIPIENTS} addresses')
    found: list[str] = []
    for item in items:
        found.extend(_addresses(item, param))
    if len(found) > MAX_RECIPIENTS:
        raise bad_parameter(f'Parameter "{param}" has more than {MAX_RECIPIENTS} addresses')
    return found


def _addresses(item: str, param: str) -> list[str]:
    """One header's worth of addresses, parsed as the email package parses a To header: any
    invalid part refuses the whole (``getaddresses`` would silently drop it)."""
    # refused before parsing: "a@x.org\r\nBcc: c@y.org" must never become a header of its own
    single_line(item, param, 10_000)
    try:
        header = _HEADERS("To", item)
    except (ValueError, IndexError, HeaderParseError):  # the parser's kinds ("a@": IndexError)
        header = None
    invalid = header is None or any(isinstance(d, InvalidHeaderDefect) for d in header.defects)
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if invalid or any(not a.username or not a.domain or len(a.addr_spec) > 320 for a in addresses):
        raise bad_parameter(f'Parameter "{param}": not a valid email address: {item[:100]!r}')
    return [str(address) for address in addresses]


def build_message(
    *,
    to: Sequence[str],
    cc: Sequence[str],
    bcc: Sequence[str],
    reply_to: Sequence[str],
    subject: str,
    body: str,
    html: str | None,
    attachments: Sequence[tuple[str, bytes]],
) -> bytes:
    """The RFC 5322 bytes: text (and HTML as multipart/alternative), then the attachments."""
    message = EmailMessage()
    for header, addresses in (("To", to), ("Cc", cc), ("Bcc", bcc), ("Reply-To", reply_to)):
        if addresses:
            message[header] = ", ".join(addresses)
    message["Subject"] = subject
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, data in attachments:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def read_attachments(paths: Sequence[tuple[Path, str]]) -> list[tuple[str, bytes]]:
    """Blocking: each (resolved path, as given) read as (file name, bytes), within the bounds:
    a regular file, all of them together at most ``MAX_ATTACHMENT_BYTES``."""
    read: list[tuple[str, bytes]] = []
    total = 0
    for path, given in paths:
        try:
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise bad_parameter(f'Parameter "attachments": no such file: {given}') from None
        except OSError as exc:
            raise bad_parameter(
                f'Parameter "attachments": cannot read {given} ({exc.strerror})'
            ) from None
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise bad_parameter(f'Parameter "attachments": not a file: {given}')
            data = handle.read(MAX_ATTACHMENT_BYTES - total + 1)
        total += len(data)
        if total > MAX_ATTACHMENT_BYTES:
            raise bad_parameter(
                f'Parameter "attachments": the files are larger than '
                f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB together (Gmail's limit is 25 MB)"
            )
        read.append((path.name, data))
    return read


def b64url_decode(data: str) -> bytes:
    """Gmail's base64url (its padding left out) → the bytes."""
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def header_map(headers: Any) -> dict[str, Any]:
    """Gmail's ``[{name, value}]`` as ``{name: value}`` (a list where a name repeats)."""
    found: dict[str, Any] = {}
    for header in headers if isinstance(headers, list) else []:
        name, value = str(header.get("name", "")), str(header.get("value", ""))
        if name in found:
            previous = found[name]
            found[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            found[name] = value
    return found


def _text(part: dict[str, Any]) -> str:
    data = (part.get("body") or {}).get("data")
    if not data:
        return ""
    charset = "utf-8"
    for header in part.get("headers") or []:
        if str(header.get("name", "")).lower() == "content-type":
            match = re.search(r'charset="?([\w.:-]+)', str(header.get("value", "")), re.I)
            charset = match.group(1) if match else charset
    raw = b64url_decode(data)
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", errors="replace")


def decode_payload(payload: Any) -> dict[str, Any]:
    """``{"text", "html", "attachments"}`` of a ``format=full`` payload: the first text/plain
    and text/html bodies that are not attachments, and each attachment's metadata."""
    found: dict[str, Any] = {"text": None, "html": None, "attachments": []}
    stack = [payload] if isinstance(payload, dict) else []
    while stack:
        part = stack.pop(0)
        children = part.get("parts")
        if isinstance(children, list):
            stack[0:0] = [c for c in children if isinstance(c, dict)]
            continue
        body = part.get("body") or {}
        mime = str(part.get("mimeType", ""))
        if part.get("filename") or body.get("attachmentId"):
            found["attachments"].append(
                {
                    "partId": part.get("partId"),
                    "filename": str(part.get("filename") or ""),
                    "mimeType": mime,
                    "size": int(body.get("size") or 0),
                    "attachmentId": body.get("attachmentId"),
                }
            )
        elif mime in ("text/plain", "text/html"):
            key = "text" if mime == "text/plain" else "html"
            if found[key] is None:
                found[key] = _text(part)
    return found


def inline_data(payload: Any, part_id: Any) -> bytes | None:
    """The bytes of a part whose data came inline (no ``attachmentId``), by its ``partId``."""
    stack = [payload] if isinstance(payload, dict) else []
    while stack:
        part = stack.pop()
        if part.get("partId") == part_id and (part.get("body") or {}).get("data"):
            return b64url_decode(part["body"]["data"])
        stack.extend(c for c in part.get("parts") or [] if isinstance(c, dict))
    return None


def safe_file_name(name: str, fallback: str = "attachment") -> str:
    """A plain file name from an attachment's: its last path component only (``../../evil``
    → ``evil``), no control or unusual characters, no leading dot, at most ``MAX_FILE_NAME``."""
    last = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    cleaned = _UNSAFE_NAME.sub("_", "".join(c for c in last if c.isprintable()))
    cleaned = cleaned.strip(" .")
    if not cleaned or cleaned.strip("_") == "":
        cleaned = fallback
    if len(cleaned) > MAX_FILE_NAME:
        stem, dot, extension = cleaned.rpartition(".")
        extension = extension if dot and len(extension) <= 10 else ""
        keep = MAX_FILE_NAME - len(extension) - (1 if extension else 0)
        cleaned = (stem if extension else cleaned)[:keep] + (f".{extension}" if extension else "")
    return cleaned
