"""listEmails and getEmail: reading Gmail (scope gmail.readonly or gmail.modify).

``listEmails`` lists a page of messages (a mailbox, Gmail search, labels) and reads each one's
headers (``format=metadata``) or whole message (``format=full``, with its text body).
``getEmail`` reads one message whole: its headers, text and HTML bodies and its attachments'
metadata; with ``saveAttachments`` it fetches each attachment (users.messages.attachments.get)
and writes it into a folder of the run root under a sanitized name, never over an existing file
(a `` (1)`` suffix is added) and never past the size bounds.
"""

from __future__ import annotations

import html as html_text
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, ParamSpec
from ..errors import GoogleError
from .google_common import GMAIL, bad_parameter, call_google, google_metadata, root_path
from .google_gmail_mime import (
    b64url_decode,
    decode_payload,
    header_map,
    inline_data,
    safe_file_name,
)
from .google_gmail_params import (
    READ_SCOPES,
    gmail_failure,
    gmail_id,
    label_ids,
    message_id,
)
from .google_params import flag, optional_string, whole_number
from .google_requests import execute, google_error

__all__ = ["GetEmailNode", "ListEmailsNode"]

# the mailboxes by the names a user gives them → Gmail's system label ids (ALL: no label)
MAILBOXES: Final = {
    name.lower(): name
    for name in ("INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "STARRED", "IMPORTANT", "UNREAD")
}
SUMMARY_HEADERS: Final = ("From", "To", "Subject", "Date")
MAX_SAVED_BYTES: Final = 25 * 1024 * 1024  # one attachment (Gmail's own message limit)
MAX_SAVED_TOTAL: Final = 50 * 1024 * 1024  # all the attachments of one message
MAX_NAME_TRIES: Final = 1000
# bodies in the state: a page of 500 emails must not carry 500 whole messages
LIST_BODY_CHARS: Final = 20_000
GET_BODY_CHARS: Final = 5_000_000
_TOO_LARGE: Final = (
    f"not saved: larger than {MAX_SAVED_BYTES // 2**20} MB, or past "
    f"{MAX_SAVED_TOTAL // 2**20} MB for the message"
)


def _header(headers: Any, name: str) -> str | None:
    for header in headers if isinstance(headers, list) else []:
        if str(header.get("name", "")).lower() == name.lower():
            return str(header.get("value", ""))
    return None


def _html_as_text(markup: str) -> str:
    without = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>|<[^>]+>", " ", markup)
    return " ".join(html_text.unescape(without).split())


def _summary(message: dict[str, Any], full: bool) -> dict[str, Any]:
    payload = message.get("payload") or {}
    headers = payload.get("headers")
    summary = {
        "id": message.get("id"),
        "threadId": message.get("threadId"),
        "snippet": message.get("snippet", ""),
        "labelIds": message.get("labelIds", []),
        **{name.lower(): _header(headers, name) for name in SUMMARY_HEADERS},
    }
    if full:
        body, cut = _bounded(_body_text(decode_payload(payload)), LIST_BODY_CHARS)
        summary["body"] = body
        if cut:
            summary["bodyTruncated"] = True
    return summary


def _body_text(decoded: dict[str, Any]) -> str:
    """The text body, or the HTML body's text when there is no text one."""
    text = decoded["text"]
    return str(text) if text is not None else _html_as_text(decoded["html"] or "")


def _bounded(text: str | None, limit: int) -> tuple[str | None, bool]:
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit], True


def _list(arguments: dict[str, Any], full: bool) -> Callable[[Any], dict[str, Any]]:
    def operation(service: Any) -> dict[str, Any]:
        messages = service.users().messages()
        listed = execute(messages.list(userId="me", **arguments))
        emails = []
        for item in (listed.get("messages") or [])[: arguments["maxResults"]]:
            shape: dict[str, Any] = {"format": "full"}
            if not full:
                shape = {"format": "metadata", "metadataHeaders": list(SUMMARY_HEADERS)}
            try:
                message = execute(messages.get(userId="me", id=item["id"], **shape))
            except Exception as exc:
                error = google_error(exc)
                if error is not None and error.code == "NOT_FOUND":
                    continue  # deleted since the list: not an error of the listing
                raise
            emails.append(_summary(message, full))
        return {
            "emails": emails,
            "nextPageToken": listed.get("nextPageToken"),
            "resultSizeEstimate": listed.get("resultSizeEstimate", len(emails)),
        }

    return operation


def _list_arguments(params: dict[str, Any]) -> dict[str, Any]:
    mailbox = params.get("mailbox", "INBOX")
    labels = label_ids(params, "labelIds")
    if mailbox not in (None, "") and not (isinstance(mailbox, str) and mailbox.upper() == "ALL"):
        if not isinstance(mailbox, str):
            raise bad_parameter('Parameter "mailbox" must be a string')
        box = MAILBOXES.get(mailbox.lower()) or gmail_id(mailbox.strip(), "mailbox")
        labels = [box, *(x for x in labels if x != box)]
    arguments: dict[str, Any] = {"maxResults": whole_number(params, "maxResults", 10, 1, 500)}
    query = optional_string(params, "query", 2000)
    token = optional_string(params, "pageToken", 1000)
    for key, value in (("labelIds", labels), ("q", query), ("pageToken", token)):
        if value:
            arguments[key] = value
    return arguments


class ListEmailsNode(Node):
    metadata = google_metadata(
        id="listEmails",
        name="List Emails",
        description=(
            "Lists a page of Gmail messages (scope gmail.readonly or gmail.modify): a mailbox "
            "(INBOX, SENT, ... or ALL), Gmail search (query: from:x is:unread ...), label ids. "
            "Each email gives id, threadId, snippet, labelIds, from, to, subject, date (and "
            "body with getFullDetails). Sets emails, emailsCount and emailsNextPageToken (give "
            "it as pageToken for the next page); no_results when the page is empty."
        ),
        inputs=(
            ParamSpec(
                "mailbox", "string", "INBOX, SENT, DRAFT, SPAM, TRASH, ... or ALL", False, "INBOX"
            ),
            ParamSpec("query", "string", "Gmail search, e.g. from:bob@example.org is:unread"),
            ParamSpec("labelIds", "string|string[]", "only messages with all these labels"),
            ParamSpec("maxResults", "number", "messages per page, 1 to 500", False, 10),
            ParamSpec("pageToken", "string", "the emailsNextPageToken of the previous page"),
            ParamSpec(
                "getFullDetails", "boolean", "read each whole message (its body)", False, False
            ),
        ),
        outputs=("emails", "emailsCount", "emailsNextPageToken"),
        edges=("no_results", "config_error"),
        example={
            "mailbox": "INBOX",
            "query": "is:unread",
            "maxResults": 20,
            "success?": {"$.unread": "$.emailsCount"},
            "no_results?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            arguments = _list_arguments(params)
            full = flag(params, "getFullDetails")
            listed = await call_google(ctx, params, GMAIL, _list(arguments, full), READ_SCOPES)
        except GoogleError as error:
            return gmail_failure(error, config_error=True)
        emails = listed["emails"]
        ctx.state["emails"] = emails
        ctx.state["emailsCount"] = len(emails)
        ctx.state["emailsNextPageToken"] = listed["nextPageToken"]
        data = {**listed, "count": len(emails)}
        return Edge("success" if emails else "no_results", data)


def _write_new(folder: Path, name: str, data: bytes) -> str:
    """Blocking: ``data`` into ``folder`` as ``name`` or ``name (n)`` (never over a file),
    written to a temporary file first so that no half-written file has the final name."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".attachment.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        for attempt in range(MAX_NAME_TRIES):
            candidate = (
                name
                if attempt == 0
                else f"{stem} ({attempt}){'.' + extension if extension else ''}"
            )
            try:
                # claim the name (O_EXCL: fails if it exists), then move the data over the claim
                os.close(os.open(folder / candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except FileExistsError:
                continue
            os.replace(temporary, folder / candidate)
            return candidate
    finally:
        Path(temporary).unlink(missing_ok=True)
    raise GoogleError(f"too many files named like {name} in the folder", code="INVALID_PARAMETER")


def _attachment_bytes(service: Any, message: dict[str, Any], attachment: dict[str, Any]) -> bytes:
    if not attachment["attachmentId"]:
        return inline_data(message.get("payload"), attachment["partId"]) or b""
    request = (
        service.users()
        .messages()
        .attachments()
        .get(userId="me", messageId=message["id"], id=attachment["attachmentId"])
    )
    return b64url_decode(str(execute(request).get("data") or ""))


def _save(service: Any, message: dict[str, Any], folder: Path, given: str) -> list[str]:
    """Blocking: each attachment fetched and written into ``folder`` (``given``: the folder as
    the workflow named it); one past the size bounds is left out with a ``saveError``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # not Google's failure: say so (google_error would call it one)
        raise bad_parameter(
            f'Parameter "attachmentsFolder": cannot create the folder {given} ({exc.strerror})'
        ) from None
    saved: list[str] = []
    total = 0
    for attachment in message["attachments"]:
        if attachment["size"] > MAX_SAVED_BYTES or total + attachment["size"] > MAX_SAVED_TOTAL:
            attachment["saveError"] = _TOO_LARGE
            continue
        data = _attachment_bytes(service, message, attachment)
        if len(data) > MAX_SAVED_BYTES or total + len(data) > MAX_SAVED_TOTAL:
            attachment["saveError"] = _TOO_LARGE
            continue
        total += len(data)
        try:
            name = _write_new(folder, safe_file_name(attachment["filename"]), data)
        except OSError as exc:
            raise bad_parameter(
                f'Parameter "attachmentsFolder": cannot write in {given} ({exc.strerror})'
            ) from None
        attachment["savedPath"] = str(PurePosixPath(given) / name)
        saved.append(attachment["savedPath"])
    return saved


def _get(message_id: str, save_into: tuple[Path, str] | None) -> Callable[[Any], dict[str, Any]]:
    def operation(service: Any) -> dict[str, Any]:
        request = service.users().messages().get(userId="me", id=message_id, format="full")
        message = execute(request)
        payload = message.get("payload") or {}
        headers = payload.get("headers")
        decoded = decode_payload(payload)
        email = {
            key: message.get(key)
            for key in ("id", "threadId", "labelIds", "snippet", "historyId", "internalDate")
        }
        email.update(
            {
                name.lower(): _header(headers, name)
                for name in ("From", "To", "Cc", "Subject", "Date")
            }
        )
        body, body_cut = _bounded(_body_text(decoded), GET_BODY_CHARS)
        html, html_cut = _bounded(decoded["html"], GET_BODY_CHARS)
        email.update(
            headers=header_map(headers),
            body=body,
            html=html,
            truncated=body_cut or html_cut,
            sizeEstimate=message.get("sizeEstimate"),
            attachments=decoded["attachments"],
            payload=payload,
        )
        if save_into is not None:
            email["savedAttachments"] = _save(service, email, *save_into)
        del email["payload"]  # the raw MIME tree: decoded above, too big for the state
        return email

    return operation


class GetEmailNode(Node):
    metadata = google_metadata(
        id="getEmail",
        name="Get Email",
        description=(
            "Reads one Gmail message whole (scope gmail.readonly or gmail.modify): headers, "
            "text body (body) and HTML body (html), attachments' metadata. With "
            "saveAttachments, writes each attachment into attachmentsFolder in the run root "
            "(sanitized names, never over an existing file, 25 MB each at most). Sets email "
            "(with savedAttachments: the paths written)."
        ),
        inputs=(
            ParamSpec("messageId", "string", "the Gmail message's id", True),
            ParamSpec(
                "saveAttachments", "boolean", "save the attachments in the run root", False, False
            ),
            ParamSpec(
                "attachmentsFolder",
                "string",
                "the folder (run root) to save them in",
                False,
                "attachments",
            ),
        ),
        outputs=("email",),
        example={
            "messageId": "18c2f1a9e0b3d4c5",
            "saveAttachments": True,
            "attachmentsFolder": "attachments",
            "success?": {"$.subject": "$.email.subject"},
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            message = message_id(params)
            save_into = None
            if flag(params, "saveAttachments"):
                given = params.get("attachmentsFolder") or "attachments"
                save_into = (root_path(ctx, given, "attachmentsFolder"), str(given))
            email = await call_google(ctx, params, GMAIL, _get(message, save_into), READ_SCOPES)
        except GoogleError as error:
            return gmail_failure(error)
        ctx.state["email"] = email
        return Edge(
            "success", {"email": email, "savedAttachments": email.get("savedAttachments", [])}
        )
