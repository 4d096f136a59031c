"""Gmail v1 of the Google API stand-in: users.messages list / get / send / modify.

A message is stored as Gmail shows it (id, threadId, labelIds, snippet, payload with headers and
a base64url body); ``send`` takes ``{"raw": base64url RFC 2822}`` as the client sends it."""

from __future__ import annotations

import base64
import email
import email.policy
from typing import Any

from .google_apis import ApiHandler

GMAIL_SCOPES = ("https://mail.google.com/", "https://www.googleapis.com/auth/gmail.")
USER = r"/gmail/v1/users/([^/]+)"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def message_from_raw(message_id: str, raw: bytes, labels: list[str]) -> dict[str, Any]:
    """Gmail's view of an RFC 2822 message (its text body in ``payload.body.data``)."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    body = parsed.get_body(("plain", "html"))
    text = body.get_content() if body is not None else ""
    headers = [{"name": k, "value": str(v)} for k, v in parsed.items()]
    return {
        "id": message_id,
        "threadId": message_id,
        "labelIds": labels,
        "snippet": " ".join(str(text).split())[:200],
        "sizeEstimate": len(raw),
        "payload": {
            "mimeType": parsed.get_content_type(),
            "headers": headers,
            "body": {"size": len(str(text)), "data": _b64url(str(text).encode())},
        },
        "raw": _b64url(raw),
    }


class _GmailHandler(ApiHandler):
    scope_prefixes = GMAIL_SCOPES

    def user_ok(self, user_id: str) -> bool:
        if user_id in ("me", self.stand_in.email):
            return True
        self.fail(403, "forbidden", "Delegation denied for " + self.stand_in.email)
        return False

    def message(self, message_id: str) -> dict[str, Any] | None:
        found = self.stand_in.messages.get(message_id)
        if found is None:
            self.fail(404, "notFound", "Requested entity was not found.")
        return found


class _Messages(_GmailHandler):
    def get(self, user_id: str) -> None:
        if not self.user_ok(user_id):
            return
        labels = set(self.get_arguments("labelIds"))
        query = self.get_argument("q", "").lower()
        found = [
            {"id": m["id"], "threadId": m["threadId"]}
            for m in reversed(list(self.stand_in.messages.values()))
            if labels <= set(m["labelIds"])
            and query in m["snippet"].lower() + str(m["payload"]["headers"]).lower()
        ]
        chunk, next_token = self.page(found, "maxResults", 100)
        answer: dict[str, Any] = {"messages": chunk, "resultSizeEstimate": len(found)}
        if next_token:
            answer["nextPageToken"] = next_token
        self.finish(answer)


class _Message(_GmailHandler):
    def get(self, user_id: str, message_id: str) -> None:
        if not self.user_ok(user_id) or (found := self.message(message_id)) is None:
            return
        shown = dict(found)
        if self.get_argument("format", "full") != "raw":
            shown.pop("raw")
        self.finish(shown)


class _Send(_GmailHandler):
    def post(self, user_id: str) -> None:
        if not self.user_ok(user_id) or (body := self.json_body()) is None:
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
        self.stand_in.messages[message["id"]] = message
        self.finish({k: message[k] for k in ("id", "threadId", "labelIds")})


class _Modify(_GmailHandler):
    def post(self, user_id: str, message_id: str) -> None:
        if not self.user_ok(user_id) or (body := self.json_body()) is None:
            return
        if (found := self.message(message_id)) is None:
            return
        labels = [x for x in found["labelIds"] if x not in body.get("removeLabelIds", [])]
        labels += [x for x in body.get("addLabelIds", []) if x not in labels]
        found["labelIds"] = labels
        self.finish({k: found[k] for k in ("id", "threadId", "labelIds")})


gmail_routes: list[tuple[str, type[ApiHandler]]] = [
    (USER + r"/messages", _Messages),
    (USER + r"/messages/send", _Send),
    (USER + r"/messages/([^/]+)/modify", _Modify),
    (USER + r"/messages/([^/]+)", _Message),
]
