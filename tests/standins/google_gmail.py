"""Gmail v1 of the Google API stand-in: users.getProfile, users.messages list / get / send /
modify and users.messages.attachments.get, answering as Gmail does.

A message is stored as Gmail shows it: id, threadId, labelIds, snippet, historyId,
internalDate, sizeEstimate and a ``payload`` that is the MIME tree (``partId``, ``mimeType``,
``filename``, ``headers``, ``body`` with base64url ``data``, ``parts``). An attachment's body
carries an ``attachmentId`` and its size instead of the data, fetched with attachments.get.
``send`` takes ``{"raw": base64url RFC 2822}`` as the client sends it; ``deliver`` puts a
received message in the mailbox for a test. Each route checks the scopes Gmail asks for it
(reading: gmail.readonly or gmail.modify; sending: gmail.send, gmail.compose or gmail.modify;
labels: gmail.modify; mail.google.com allows all) and answers 403 insufficientPermissions."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import time
from email.message import EmailMessage
from typing import Any

from .google_apis import ApiHandler, GoogleApisStandIn

__all__ = ["deliver", "gmail_routes", "message_from_raw"]

_AUTH = "https://www.googleapis.com/auth/"
GMAIL_SCOPES = ("https://mail.google.com/", _AUTH + "gmail.")
_FULL = "https://mail.google.com/"
READ_SCOPES = frozenset({_FULL, _AUTH + "gmail.readonly", _AUTH + "gmail.modify"})
PROFILE_SCOPES = READ_SCOPES | {_AUTH + "gmail.compose", _AUTH + "gmail.metadata"}
SEND_SCOPES = frozenset(
    {_FULL, _AUTH + "gmail.send", _AUTH + "gmail.compose", _AUTH + "gmail.modify"}
)
MODIFY_SCOPES = frozenset({_FULL, _AUTH + "gmail.modify"})
SYSTEM_LABELS = frozenset(
    {
        "INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT", "CHAT",
        "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES",
        "CATEGORY_FORUMS",
    }
)  # fmt: skip
USER = r"/gmail/v1/users/([^/]+)"
_history = [1000]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _next_history() -> str:
    _history[0] += 1
    return str(_history[0])


def _part(part: EmailMessage, part_id: str, attachments: dict[str, bytes]) -> dict[str, Any]:
    """One MIME part as Gmail's ``MessagePart``; attachments' bytes go to ``attachments``."""
    shown: dict[str, Any] = {
        "partId": part_id,
        "mimeType": part.get_content_type(),
        "filename": part.get_filename() or "",
        "headers": [{"name": k, "value": str(v)} for k, v in part.items()],
    }
    if part.is_multipart():
        children = list(part.iter_parts())
        shown["body"] = {"size": 0}
        shown["parts"] = [
            _part(child, f"{part_id}.{n}" if part_id else str(n), attachments)  # type: ignore[arg-type]
            for n, child in enumerate(children)
        ]
        return shown
    data = part.get_payload(decode=True) or b""
    if shown["filename"] or part.get_content_disposition() == "attachment":
        attachment_id = "ANGjdJ" + _b64url(part_id.encode() + bytes(8)) + str(len(attachments))
        attachments[attachment_id] = data
        shown["body"] = {"attachmentId": attachment_id, "size": len(data)}
    else:
        shown["body"] = {"size": len(data), "data": _b64url(data)} if data else {"size": 0}
    return shown


def message_from_raw(message_id: str, raw: bytes, labels: list[str]) -> dict[str, Any]:
    """Gmail's view of an RFC 2822 message (a text message's body in ``payload.body.data``)."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    body = parsed.get_body(("plain", "html"))  # type: ignore[attr-defined]
    text = body.get_content() if body is not None else ""
    attachments: dict[str, bytes] = {}
    payload = _part(parsed, "", attachments)  # type: ignore[arg-type]
    return {
        "id": message_id,
        "threadId": message_id,
        "labelIds": labels,
        "snippet": " ".join(str(text).split())[:200],
        "historyId": _next_history(),
        "internalDate": str(int(time.time() * 1000)),
        "sizeEstimate": len(raw),
        "payload": payload,
        "raw": _b64url(raw),
        "_attachments": attachments,
    }


def deliver(
    stand_in: GoogleApisStandIn, message: EmailMessage | bytes, labels: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A message received in the mailbox (INBOX, UNREAD unless ``labels`` say otherwise)."""
    raw = message if isinstance(message, bytes) else message.as_bytes()
    stored = message_from_raw(stand_in.new_id(), raw, list(labels or ("INBOX", "UNREAD")))
    stand_in.messages[stored["id"]] = stored
    return stored


def _header(message: dict[str, Any], name: str) -> str:
    for header in message["payload"]["headers"]:
        if header["name"].lower() == name:
            return str(header["value"]).lower()
    return ""


def _matches(message: dict[str, Any], query: str) -> bool:
    """Gmail's search, the part the tests use: from: to: subject: is:unread/read/starred
    in:/label: and plain words (in the snippet or the headers)."""
    for term in query.lower().split():
        field, _, value = term.partition(":")
        labels = {x.lower() for x in message["labelIds"]}
        if value and field in ("from", "to", "subject"):
            found = value in _header(message, field)
        elif value and field == "is":
            found = value in labels if value != "read" else "unread" not in labels
        elif value and field in ("in", "label"):
            found = value in labels
        else:
            found = term in message["snippet"].lower() + str(message["payload"]["headers"]).lower()
        if not found:
            return False
    return True


class _GmailHandler(ApiHandler):
    scope_prefixes = GMAIL_SCOPES

    def allowed(self, scopes: frozenset[str]) -> bool:
        """The token holds one of ``scopes``, or 403 as Gmail answers."""
        token = self.request.headers.get("Authorization", "").removeprefix("Bearer ")
        if set(self.stand_in.scopes_of(token) or ()) & scopes:
            return True
        self.fail(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
        return False

    def user_ok(self, user_id: str, scopes: frozenset[str] = READ_SCOPES) -> bool:
        if user_id not in ("me", self.stand_in.email):
            self.fail(403, "forbidden", "Delegation denied for " + self.stand_in.email)
            return False
        return self.allowed(scopes)

    def message(self, message_id: str) -> dict[str, Any] | None:
        found = self.stand_in.messages.get(message_id)
        if found is None:
            self.fail(404, "notFound", "Requested entity was not found.")
        return found


class _Profile(_GmailHandler):
    def get(self, user_id: str) -> None:
        if not self.user_ok(user_id, PROFILE_SCOPES):
            return
        messages = list(self.stand_in.messages.values())
        self.finish(
            {
                "emailAddress": self.stand_in.email,
                "messagesTotal": len(messages),
                "threadsTotal": len({m["threadId"] for m in messages}),
                "historyId": str(_history[0]),
            }
        )


class _Messages(_GmailHandler):
    def get(self, user_id: str) -> None:
        if not self.user_ok(user_id):
            return
        labels = set(self.get_arguments("labelIds"))
        query = self.get_argument("q", "")
        hidden = (
            set() if self.get_argument("includeSpamTrash", "false") == "true" else {"SPAM", "TRASH"}
        )
        found = [
            {"id": m["id"], "threadId": m["threadId"]}
            for m in reversed(list(self.stand_in.messages.values()))
            if labels <= set(m["labelIds"])
            and not (hidden - labels) & set(m["labelIds"])
            and _matches(m, query)
        ]
        size = min(500, max(1, int(self.get_argument("maxResults", "100"))))
        token = self.get_argument("pageToken", "") or "0"
        if not token.isdigit():
            self.fail(400, "invalidArgument", "Invalid pageToken", "pageToken")
            return
        start = int(token)
        answer: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if found[start : start + size]:
            answer["messages"] = found[start : start + size]
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        self.finish(answer)


def _metadata(message: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    names = {x.lower() for x in wanted}
    headers = message["payload"]["headers"]
    return {
        "partId": "",
        "mimeType": message["payload"]["mimeType"],
        "filename": "",
        "headers": [h for h in headers if not names or h["name"].lower() in names],
        "body": {"size": 0},
    }


class _Message(_GmailHandler):
    def get(self, user_id: str, message_id: str) -> None:
        if not self.user_ok(user_id) or (found := self.message(message_id)) is None:
            return
        form = self.get_argument("format", "full")
        if form not in ("full", "metadata", "minimal", "raw"):
            self.fail(400, "invalidArgument", f"Invalid value for format: {form}", "format")
            return
        shown = {k: v for k, v in found.items() if not k.startswith("_") and k != "raw"}
        if form == "raw":
            shown["raw"] = found["raw"]
        if form in ("raw", "minimal"):
            shown.pop("payload")
        elif form == "metadata":
            shown["payload"] = _metadata(found, self.get_arguments("metadataHeaders"))
        self.finish(shown)


class _Attachment(_GmailHandler):
    def get(self, user_id: str, message_id: str, attachment_id: str) -> None:
        if not self.user_ok(user_id) or (found := self.message(message_id)) is None:
            return
        data = found["_attachments"].get(attachment_id)
        if data is None:
            self.fail(400, "invalidArgument", "Invalid attachment token")
            return
        self.finish({"attachmentId": attachment_id, "size": len(data), "data": _b64url(data)})


class _Send(_GmailHandler):
    def post(self, user_id: str) -> None:
        if not self.user_ok(user_id, SEND_SCOPES) or (body := self.json_body()) is None:
            return
        raw = str(body.get("raw", ""))
        if not raw:
            self.fail(400, "invalidArgument", "'raw' RFC822 payload message string required.")
            return
        try:
            data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            self.fail(400, "invalidArgument", "Invalid value for ByteString: raw")
            return
        message = message_from_raw(self.stand_in.new_id(), data, ["SENT"])
        headers = {h["name"].lower() for h in message["payload"]["headers"]}
        if not headers & {"to", "cc", "bcc"}:
            self.fail(400, "invalidArgument", "Recipient address required")
            return
        thread = body.get("threadId")
        if thread:
            if thread not in {m["threadId"] for m in self.stand_in.messages.values()}:
                self.fail(404, "notFound", "Requested entity was not found.")
                return
            message["threadId"] = thread
        self.stand_in.messages[message["id"]] = message
        self.finish({k: message[k] for k in ("id", "threadId", "labelIds")})


class _Modify(_GmailHandler):
    def post(self, user_id: str, message_id: str) -> None:
        if not self.user_ok(user_id, MODIFY_SCOPES) or (body := self.json_body()) is None:
            return
        if (found := self.message(message_id)) is None:
            return
        adding, removing = body.get("addLabelIds", []), body.get("removeLabelIds", [])
        for label in adding + removing:
            if label not in SYSTEM_LABELS and not re.fullmatch(r"Label_\d+", str(label)):
                self.fail(400, "invalidArgument", f"Invalid label: {label}")
                return
        labels = [x for x in found["labelIds"] if x not in removing]
        labels += [x for x in adding if x not in labels]
        found["labelIds"] = labels
        found["historyId"] = _next_history()
        self.finish({k: found[k] for k in ("id", "threadId", "labelIds")})


gmail_routes: list[tuple[str, type[ApiHandler]]] = [
    (USER + r"/profile", _Profile),
    (USER + r"/messages", _Messages),
    (USER + r"/messages/send", _Send),
    (USER + r"/messages/([^/]+)/modify", _Modify),
    (USER + r"/messages/([^/]+)/attachments/([^/]+)", _Attachment),
    (USER + r"/messages/([^/]+)", _Message),
]
