"""googleConnect, sendEmail, listEmails, getEmail, modifyEmail: Gmail from a workflow, as the
run's owner's Google connection (issue 18).

Every call goes through the run's ``GoogleGateway`` (``google_common.call_google``): the nodes
never see a token and put none in the state. ``googleConnect`` checks a connection and reads the
mailbox's profile; ``sendEmail`` builds the message with the standard library
(``google_gmail_mime``) and sends it as ``{"raw": base64url}``; ``modifyEmail`` changes a
message's labels. The reading nodes (``listEmails``, ``getEmail``) live in
``google_gmail_read.py``; the parameters' checks and the scopes in ``google_gmail_params.py``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..errors import GoogleError
from ..integrations.google_api import execute
from .google_common import (
    CONNECTION_PARAM,
    bad_parameter,
    call_google,
    describe_connection,
    failure_edge,
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
    MODIFY_SCOPES,
    PROFILE_SCOPES,
    SEND_SCOPES,
    flag,
    gmail_failure,
    gmail_id,
    label_ids,
    message_id,
)
from .google_gmail_read import GetEmailNode, ListEmailsNode

__all__ = [
    "NODES",
    "GetEmailNode",
    "GoogleConnectNode",
    "ListEmailsNode",
    "ModifyEmailNode",
    "SendEmailNode",
]

FAILURES: Final = ("not_found", "permission_denied", "quota_exceeded", "error")


def _chosen_connection(params: dict[str, Any]) -> dict[str, Any]:
    """``connection``, or the original's ``connectionId`` / ``email`` for it."""
    for name in ("connection", "connectionId", "email"):
        value = params.get(name)
        if value is not None and value != "":
            if not isinstance(value, str) or len(value) > 320:
                raise bad_parameter(f'Parameter "{name}" must be a connection id or an email')
            return {"connection": value}
    return {}


def _profile(service: Any) -> dict[str, Any]:
    answer = execute(service.users().getProfile(userId="me"))
    keys = ("emailAddress", "messagesTotal", "threadsTotal", "historyId")
    return {key: answer.get(key) for key in keys}


class GoogleConnectNode(Node):
    metadata = NodeMetadata(
        id="googleConnect",
        name="Google Connect",
        description=(
            "Checks one of your Google connections and reads its Gmail profile: sets "
            "google_connection (id, name, email, accountName, scopes, status: never a token) "
            "and gmail_profile (emailAddress, messagesTotal, threadsTotal, historyId; null when "
            "the connection holds no Gmail scope that reads it: gmail.readonly, gmail.modify or "
            "gmail.compose)."
        ),
        category="google",
        inputs=(
            CONNECTION_PARAM,
            ParamSpec("connectionId", "string", "the original's name for connection"),
            ParamSpec("email", "string", "the connection's account email (for connection)"),
        ),
        outputs=("google_connection", "gmail_profile"),
        edges=("success", *FAILURES),
        example={
            "connection": "me@example.com",
            "success?": {"$.account": "$.google_connection.email"},
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            chosen = _chosen_connection(params)
            connection = await describe_connection(ctx, chosen)
            profile = None
            if set(connection.get("scopes") or ()) & set(PROFILE_SCOPES):
                profile = await call_google(
                    ctx, chosen, "gmail", "v1", _profile, scopes=PROFILE_SCOPES
                )
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


def _text_param(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_parameter(f'Parameter "{name}" must be a string')
    if len(value) > MAX_BODY_CHARS:
        raise bad_parameter(f'Parameter "{name}" is longer than {MAX_BODY_CHARS} characters')
    return value


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
    metadata = NodeMetadata(
        id="sendEmail",
        name="Send Email",
        description=(
            "Sends an email from your Gmail account (scope gmail.send, gmail.compose or "
            "gmail.modify): text body, optional HTML alternative, attachments from the run's "
            "root folder (at most 20 files, 20 MB together). Addresses are checked and line "
            "breaks in headers refused. Sets lastEmailSent {id, threadId, to, subject, sentAt}."
        ),
        category="google",
        inputs=(
            CONNECTION_PARAM,
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
        edges=("success", "config_error", *FAILURES),
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
                raise bad_parameter("Missing required parameter: to (the recipients' addresses)")
            fields: dict[str, Any] = {
                "to": to,
                "cc": parse_addresses(params.get("cc"), "cc"),
                "bcc": parse_addresses(params.get("bcc"), "bcc"),
                "reply_to": parse_addresses(params.get("replyTo"), "replyTo"),
                "subject": single_line(_or_empty(params.get("subject")), "subject", MAX_SUBJECT),
                "body": _text_param(params, "body") or "",
                "html": _text_param(params, "html"),
            }
            if len(to) + len(fields["cc"]) + len(fields["bcc"]) > MAX_RECIPIENTS:
                raise bad_parameter(
                    f'Parameters "to", "cc" and "bcc": more than {MAX_RECIPIENTS} recipients'
                )
            thread = params.get("threadId")
            thread_id = gmail_id(thread, "threadId") if thread not in (None, "") else None
            paths = _attachment_paths(ctx, params)
            raw = await asyncio.to_thread(
                lambda: build_message(**fields, attachments=read_attachments(paths))
            )
            sent = await call_google(
                ctx, params, "gmail", "v1", _send(raw, thread_id), scopes=SEND_SCOPES
            )
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
    metadata = NodeMetadata(
        id="modifyEmail",
        name="Modify Email",
        description=(
            "Changes a Gmail message's labels (scope gmail.modify): adds and removes label ids, "
            "marks it read or unread (the UNREAD label), archives it (removes INBOX). Sets "
            "modifiedEmail {id, labelIds}."
        ),
        category="google",
        inputs=(
            CONNECTION_PARAM,
            ParamSpec("messageId", "string", "the Gmail message's id", True),
            ParamSpec("addLabelIds", "string|string[]", "label ids to add (STARRED, Label_12)"),
            ParamSpec("removeLabelIds", "string|string[]", "label ids to remove"),
            ParamSpec("markRead", "boolean", "mark the message read", False, False),
            ParamSpec("markUnread", "boolean", "mark the message unread", False, False),
            ParamSpec("archive", "boolean", "archive it: remove it from the inbox", False, False),
        ),
        outputs=("modifiedEmail",),
        edges=("success", *FAILURES),
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
            changed = await call_google(
                ctx, params, "gmail", "v1", _modify(message, body), scopes=MODIFY_SCOPES
            )
        except GoogleError as error:
            return gmail_failure(error)
        ctx.state["modifiedEmail"] = {"id": changed["id"], "labelIds": changed["labelIds"]}
        added, removed = body["addLabelIds"], body["removeLabelIds"]
        return Edge("success", {**changed, "added": added, "removed": removed})


NODES = (GoogleConnectNode, SendEmailNode, ListEmailsNode, GetEmailNode, ModifyEmailNode)
