"""googleConnect, sendEmail, listEmails, getEmail, modifyEmail: Gmail from a workflow, as the
run's owner's Google connection (issue 18).

Every call goes through the run's ``GoogleGateway`` (``google_common.call_google``): the nodes
never see a token and put none in the state. ``googleConnect`` checks a connection and reads the
mailbox's profile; ``sendEmail`` builds the message with the standard library
(``google_gmail_mime``) and sends it as ``{"raw": base64url}``; ``modifyEmail`` changes a
message's labels. The reading nodes (``listEmails``, ``getEmail``) live in
``google_gmail_read.py``; the scopes, Gmail ids and labels in ``google_gmail_params.py``,
the checks every Google node shares in ``google_params.py``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, ParamSpec
from ..errors import GoogleError
from .google_common import (
    GMAIL,
    bad_parameter,
    call_google,
    chosen_connection,
    describe_connection,
    failure_edge,
    google_metadata,
    root_path,
)
from .google_gmail_mime import (
    MAX_ATTACHMENTS,
    MAX_BODY_CHARS,
    MAX_RECIPIENTS,
    MAX_SUBJECT,
    build_message,
    parse_addresses,
    read_attachments,
    single_line,
)
from .google_gmail_params import (
    MAX_ID,
    MODIFY_SCOPES,
    PROFILE_SCOPES,
    SEND_SCOPES,
    gmail_failure,
    label_ids,
    message_id,
)
from .google_gmail_read import GetEmailNode, ListEmailsNode
from .google_params import flag, missing, optional_id, optional_string
from .google_requests import execute

__all__ = [
    "NODES",
    "GetEmailNode",
    "GoogleConnectNode",
    "ListEmailsNode",
    "ModifyEmailNode",
    "SendEmailNode",
]

# googleConnect also takes the original's names for ``connection``
CONNECTION_NAMES: Final = ("connection", "connectionId", "email")


def _profile(service: Any) -> dict[str, Any]:
    answer = execute(service.users().getProfile(userId="me"))
    keys = ("emailAddress", "messagesTotal", "threadsTotal", "historyId")
    return {key: answer.get(key) for key in keys}


class GoogleConnectNode(Node):
    metadata = google_metadata(
        id="googleConnect",
        name="Google Connect",
        description=(
            "Checks one of your Google connections and reads its Gmail profile: sets "
            "google_connection (id, name, email, accountName, scopes, status: never a token) "
            "and gmail_profile (emailAddress, messagesTotal, threadsTotal, historyId; null when "
            "the connection holds no Gmail scope that reads it: gmail.readonly, gmail.modify or "
            "gmail.compose)."
        ),
        inputs=(
            ParamSpec("connectionId", "string", "the original's name for connection"),
            ParamSpec("email", "string", "the connection's account email (for connection)"),
        ),
        outputs=("google_connection", "gmail_profile"),
        example={
            "connection": "me@example.com",
            "success?": {"$.account": "$.google_connection.email"},
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            name = chosen_connection(params, CONNECTION_NAMES)
            chosen = {"connection": name} if name is not None else {}
            connection = await describe_connection(ctx, chosen)
            profile = None
            if set(connection.get("scopes") or ()) & set(PROFILE_SCOPES):
                profile = await call_google(ctx, chosen, GMAIL, _profile, PROFILE_SCOPES)
        except GoogleError as error:
            return failure_edge(error)
        ctx.state["google_connection"] = connection
        ctx.state["gmail_profile"] = profile
        return Edge("success", {"connection": connection, "profile": profile})


def _send(raw: bytes, thread_id: str | None) -> Callable[[Any], dict[str, Any]]:
    body: dict[str, Any] = {"raw": base64.urlsafe_b64encode(raw).decode("ascii")}
    if thread_id:
        body["threadId"] = thread_id

    def operation(service: Any) -> dict[str, Any]:
        answer = execute(service.users().messages().send(userId="me", body=body))
        return {key: answer.get(key) for key in ("id", "threadId", "labelIds")}

    return operation


def _or_empty(value: Any) -> Any:
    return "" if value is None else value


def _attachment_paths(ctx: NodeContext, params: dict[str, Any]) -> list[tuple[Path, str]]:
    value = params.get("attachments")
    if value is None or value == "" or value == []:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise bad_parameter('Parameter "attachments" must be a list of file paths in the root')
    if len(items) > MAX_ATTACHMENTS:
        raise bad_parameter(f'Parameter "attachments" has more than {MAX_ATTACHMENTS} files')
    return [(root_path(ctx, item, "attachments"), item) for item in items]


class SendEmailNode(Node):
    metadata = google_metadata(
        id="sendEmail",
        name="Send Email",
        description=(
            "Sends an email from your Gmail account (scope gmail.send, gmail.compose or "
            "gmail.modify): text body, optional HTML alternative, attachments from the run's "
            "root folder (at most 20 files, 20 MB together). Addresses are checked and line "
            "breaks in headers refused. Sets lastEmailSent {id, threadId, to, subject, sentAt}."
        ),
        inputs=(
            ParamSpec("to", "string|string[]", "recipients: a, b@x.org or a list", True),
            ParamSpec("cc", "string|string[]", "copy recipients"),
            ParamSpec("bcc", "string|string[]", "blind copy recipients"),
            ParamSpec("subject", "string", "the subject line (one line)", False, ""),
            ParamSpec("body", "string", "the text body", False, ""),
            ParamSpec("html", "string", "an HTML body, sent as the alternative to the text"),
            ParamSpec("attachments", "string|string[]", "file paths in the run's root folder"),
            ParamSpec("replyTo", "string|string[]", "the Reply-To address(es)"),
            ParamSpec("threadId", "string", "send as a reply in this Gmail thread"),
        ),
        outputs=("lastEmailSent",),
        edges=("config_error",),
        example={
            "to": "bob@example.org",
            "subject": "Weekly report",
            "body": "The numbers are in.",
            "success?": {"$.sentId": "$.lastEmailSent.id"},
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            to = parse_addresses(params.get("to"), "to")
            if not to:
                raise missing("to", "the recipients' addresses")
            fields: dict[str, Any] = {
                "to": to,
                "cc": parse_addresses(params.get("cc"), "cc"),
                "bcc": parse_addresses(params.get("bcc"), "bcc"),
                "reply_to": parse_addresses(params.get("replyTo"), "replyTo"),
                "subject": single_line(_or_empty(params.get("subject")), "subject", MAX_SUBJECT),
                "body": optional_string(params, "body", MAX_BODY_CHARS) or "",
                "html": optional_string(params, "html", MAX_BODY_CHARS),
            }
            if len(to) + len(fields["cc"]) + len(fields["bcc"]) > MAX_RECIPIENTS:
                raise bad_parameter(
                    f'Parameters "to", "cc" and "bcc": more than {MAX_RECIPIENTS} recipients'
                )
            thread_id = optional_id(params, "threadId", "Gmail", MAX_ID)
            paths = _attachment_paths(ctx, params)
            raw = await asyncio.to_thread(
                lambda: build_message(**fields, attachments=read_attachments(paths))
            )
            sent = await call_google(ctx, params, GMAIL, _send(raw, thread_id), SEND_SCOPES)
        except GoogleError as error:
            return gmail_failure(error, config_error=True)
        record = {
            "id": sent["id"],
            "threadId": sent["threadId"],
            "to": to,
            "subject": fields["subject"],
            "sentAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        ctx.state["lastEmailSent"] = record
        attached = [given for _path, given in paths]
        return Edge("success", {**record, "labelIds": sent["labelIds"], "attachments": attached})


def _modify(message: str, body: dict[str, list[str]]) -> Callable[[Any], dict[str, Any]]:
    def operation(service: Any) -> dict[str, Any]:
        request = service.users().messages().modify(userId="me", id=message, body=body)
        answer = execute(request)
        return {key: answer.get(key) for key in ("id", "threadId", "labelIds")}

    return operation


def _label_changes(params: dict[str, Any]) -> dict[str, list[str]]:
    add, remove = label_ids(params, "addLabelIds"), label_ids(params, "removeLabelIds")
    read, unread, archive = (
        flag(params, "markRead"),
        flag(params, "markUnread"),
        flag(params, "archive"),
    )
    if read and unread:
        raise bad_parameter('Parameters "markRead" and "markUnread" cannot both be true')
    for wanted, into in ((read, remove), (unread, add)):
        if wanted and "UNREAD" not in into:
            into.append("UNREAD")
    if archive and "INBOX" not in remove:
        remove.append("INBOX")
    both = sorted(set(add) & set(remove))
    if both:
        raise bad_parameter(f"Labels both added and removed: {', '.join(both)}")
    if not add and not remove:
        raise bad_parameter(
            "Nothing to change: give addLabelIds, removeLabelIds, markRead, markUnread or archive"
        )
    return {"addLabelIds": add, "removeLabelIds": remove}


class ModifyEmailNode(Node):
    metadata = google_metadata(
        id="modifyEmail",
        name="Modify Email",
        description=(
            "Changes a Gmail message's labels (scope gmail.modify): adds and removes label ids, "
            "marks it read or unread (the UNREAD label), archives it (removes INBOX). Sets "
            "modifiedEmail {id, labelIds}."
        ),
        inputs=(
            ParamSpec("messageId", "string", "the Gmail message's id", True),
            ParamSpec("addLabelIds", "string|string[]", "label ids to add (STARRED, Label_12)"),
            ParamSpec("removeLabelIds", "string|string[]", "label ids to remove"),
            ParamSpec("markRead", "boolean", "mark the message read", False, False),
            ParamSpec("markUnread", "boolean", "mark the message unread", False, False),
            ParamSpec("archive", "boolean", "archive it: remove it from the inbox", False, False),
        ),
        outputs=("modifiedEmail",),
        example={
            "messageId": "18c2f1a9e0b3d4c5",
            "markRead": True,
            "archive": True,
            "success?": {"$.labels": "$.modifiedEmail.labelIds"},
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            message = message_id(params)
            body = _label_changes(params)
            changed = await call_google(ctx, params, GMAIL, _modify(message, body), MODIFY_SCOPES)
        except GoogleError as error:
            return gmail_failure(error)
        ctx.state["modifiedEmail"] = {"id": changed["id"], "labelIds": changed["labelIds"]}
        added, removed = body["addLabelIds"], body["removeLabelIds"]
        return Edge("success", {**changed, "added": added, "removed": removed})


NODES = (GoogleConnectNode, SendEmailNode, ListEmailsNode, GetEmailNode, ModifyEmailNode)
