"""googleConnect, sendEmail and modifyEmail through the engine, with the real gateway and the
real google-api-python-client against the Gmail stand-in (tests/standins/google_gmail.py):
each node's success, its failure edges (not_found, permission_denied for a missing scope,
quota retried then persisting, config_error and its fallback to error) and the refusals of
bad parameters, header injection and attachments outside the run root or past the limits."""

from __future__ import annotations

import base64
import email
import email.policy
from typing import Any

import pytest

from tests.google.steps import EDGES, step, taken
from tests.standins.google_gmail import deliver
from workscript_jupyter.nodes import google_gmail_mime


def sent_mime(google_apis: Any, message_id: str) -> email.message.EmailMessage:
    raw = google_apis.messages[message_id]["raw"]
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def sends(google_apis: Any) -> int:
    return sum(1 for _m, path in google_apis.requests if path.endswith("/messages/send"))


# -- googleConnect


def test_connect_describes_the_connection_and_reads_the_profile(
    alice, connect, run_google, google_apis
):
    saved = connect(alice)
    result = run_google(alice, step("googleConnect", email=saved.account_email))
    edge, data = taken(result.final_state)
    assert edge == "success", data
    described = result.final_state["google_connection"]
    assert described["id"] == saved.id and described["email"] == google_apis.email
    assert set(described) == {"id", "name", "email", "accountName", "scopes", "status"}
    profile = result.final_state["gmail_profile"]
    assert profile["emailAddress"] == google_apis.email
    assert profile["messagesTotal"] == len(google_apis.messages)
    assert set(profile) == {"emailAddress", "messagesTotal", "threadsTotal", "historyId"}


def test_connect_without_a_gmail_scope_has_no_profile(alice, connect, run_google):
    connect(alice, ["calendar"])
    result = run_google(alice, step("googleConnect"))
    assert taken(result.final_state)[0] == "success"
    assert result.final_state["gmail_profile"] is None


def test_connect_to_an_unknown_connection_takes_error(alice, connect, run_google):
    connect(alice)
    result = run_google(alice, step("googleConnect", connectionId="nobody@example.org"))
    edge, data = taken(result.final_state)
    assert edge == "error" and data["code"] == "CONNECTION_NOT_FOUND", data


# -- sendEmail


def test_send_text_html_and_attachments(alice, connect, run_google, google_apis, tmp_path):
    connect(alice)
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "report.pdf").write_bytes(b"%PDF-1.4 numbers")
    (root / "notes.txt").write_text("see the report")
    result = run_google(
        alice,
        step(
            "sendEmail",
            to="Bob Stone <bob@example.com>, carol@example.com",
            cc=["dave@example.com"],
            bcc="eve@example.com",
            replyTo="replies@example.com",
            subject="Quarterly report",
            body="The numbers are in.",
            html="<p>The <b>numbers</b> are in.</p>",
            attachments=["docs/report.pdf", "notes.txt"],
        ),
        root=root,
    )
    edge, data = taken(result.final_state)
    assert edge == "success", data
    last = result.final_state["lastEmailSent"]
    assert set(last) == {"id", "threadId", "to", "subject", "sentAt"}
    assert last["to"] == ["Bob Stone <bob@example.com>", "carol@example.com"]
    assert data["labelIds"] == ["SENT"] and data["attachments"] == ["docs/report.pdf", "notes.txt"]
    mime = sent_mime(google_apis, last["id"])
    assert mime["To"] == "Bob Stone <bob@example.com>, carol@example.com"
    assert (mime["Cc"], mime["Bcc"], mime["Reply-To"]) == (
        "dave@example.com",
        "eve@example.com",
        "replies@example.com",
    )
    assert mime.get_body(("plain",)).get_content().strip() == "The numbers are in."  # type: ignore[union-attr]
    assert "<b>numbers</b>" in mime.get_body(("html",)).get_content()  # type: ignore[union-attr]
    files = {part.get_filename(): part.get_content() for part in mime.iter_attachments()}
    assert files == {"report.pdf": b"%PDF-1.4 numbers", "notes.txt": "see the report"}
    payload = google_apis.messages[last["id"]]["payload"]
    assert payload["mimeType"] == "multipart/mixed"


def test_send_in_a_thread(alice, connect, run_google, google_apis):
    connect(alice)
    first = run_google(alice, step("sendEmail", to="bob@example.com", subject="Hi", body="1"))
    thread = first.final_state["lastEmailSent"]["threadId"]
    second = run_google(
        alice, step("sendEmail", to="bob@example.com", subject="Re: Hi", body="2", threadId=thread)
    )
    assert second.final_state["lastEmailSent"]["threadId"] == thread
    unknown = run_google(alice, step("sendEmail", to="bob@example.com", threadId="nothread1"))
    assert taken(unknown.final_state)[0] == "not_found"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"subject": "no recipient"}, "to"),
        ({"to": "not-an-address"}, "to"),
        ({"to": "bob@"}, "to"),
        ({"to": "carol@example.com, bob@"}, "to"),
        ({"to": "carol@example.com dave@example.com"}, "to"),
        ({"to": ["bob@example.com", 42]}, "to"),
        ({"to": "bob@example.com", "cc": "a@b.c, broken"}, "cc"),
        ({"to": "bob@example.com", "subject": "Hi\r\nBcc: evil@example.com"}, "subject"),
        ({"to": "bob@example.com\r\nBcc: evil@example.com"}, "to"),
        ({"to": "bob@example.com", "replyTo": "a@b.c\nX-Evil: 1"}, "replyTo"),
        ({"to": "bob@example.com", "subject": "x" * 999}, "subject"),
        ({"to": "bob@example.com", "body": {"text": "no"}}, "body"),
        ({"to": "bob@example.com", "threadId": "../other"}, "threadId"),
        ({"to": [f"u{n}@example.com" for n in range(101)]}, "to"),
        ({"to": "bob@example.com", "attachments": "../outside.txt"}, "attachments"),
        ({"to": "bob@example.com", "attachments": "/etc/passwd"}, "attachments"),
        ({"to": "bob@example.com", "attachments": ["missing.pdf"]}, "attachments"),
    ],
)
def test_send_refuses_bad_parameters_before_google(
    alice, connect, run_google, google_apis, params, named
):
    connect(alice)
    before = sends(google_apis)
    result = run_google(alice, step("sendEmail", **params))
    edge, data = taken(result.final_state)
    assert edge == "config_error", data
    assert data["code"] == "INVALID_PARAMETER", data
    assert f'"{named}"' in data["error"] or f"parameter: {named} " in data["error"], data
    assert sends(google_apis) == before


def test_send_refuses_more_than_20_attachments(alice, connect, run_google, google_apis, tmp_path):
    connect(alice)
    root = tmp_path / "root"
    root.mkdir()
    names = [f"f{n}.txt" for n in range(21)]
    for name in names:
        (root / name).write_text(name)
    before = sends(google_apis)
    refused = run_google(
        alice, step("sendEmail", to="bob@example.com", attachments=names), root=root
    )
    edge, data = taken(refused.final_state)
    assert edge == "config_error" and "more than 20 files" in data["error"], data
    assert sends(google_apis) == before
    twenty = run_google(
        alice, step("sendEmail", to="bob@example.com", attachments=names[:20]), root=root
    )
    assert taken(twenty.final_state)[0] == "success"


def test_send_refuses_attachments_over_the_total_size(
    alice, connect, run_google, google_apis, tmp_path, monkeypatch
):
    connect(alice)
    monkeypatch.setattr(google_gmail_mime, "MAX_ATTACHMENT_BYTES", 1000)
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.bin").write_bytes(b"a" * 600)
    (root / "b.bin").write_bytes(b"b" * 600)
    before = sends(google_apis)
    refused = run_google(
        alice, step("sendEmail", to="bob@example.com", attachments=["a.bin", "b.bin"]), root=root
    )
    edge, data = taken(refused.final_state)
    assert edge == "config_error" and "larger than" in data["error"], data
    assert sends(google_apis) == before
    one = run_google(
        alice, step("sendEmail", to="bob@example.com", attachments=["a.bin"]), root=root
    )
    assert taken(one.final_state)[0] == "success"


def test_an_attachment_through_a_symlink_out_of_the_root_is_refused(
    alice, connect, run_google, tmp_path
):
    connect(alice)
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    result = run_google(
        alice, step("sendEmail", to="bob@example.com", attachments="link.txt"), root=root
    )
    edge, data = taken(result.final_state)
    assert edge == "config_error" and "outside the root" in data["error"], data


def test_config_error_falls_back_to_error(alice, connect, run_google):
    connect(alice)
    result = run_google(alice, step("sendEmail", edges=("success", "error"), to="nobody"))
    edge, data = taken(result.final_state)
    assert edge == "error" and data["code"] == "INVALID_PARAMETER"


def test_send_without_a_send_scope_is_permission_denied(alice, connect, run_google, google_apis):
    connect(alice, ["gmail.readonly"])
    before = sends(google_apis)
    result = run_google(alice, step("sendEmail", to="bob@example.com", body="hi"))
    edge, data = taken(result.final_state)
    assert edge == "permission_denied" and data["code"] == "MISSING_SCOPE", data
    assert sends(google_apis) == before


def test_google_refusing_the_send_is_permission_denied(alice, connect, run_google, google_apis):
    connect(alice)
    google_apis.fail_next(403, "insufficientPermissions", "Request had insufficient scopes.")
    result = run_google(alice, step("sendEmail", to="bob@example.com"))
    edge, data = taken(result.final_state)
    assert edge == "permission_denied" and data["status"] == 403, data


@pytest.mark.parametrize(
    ("status", "reason"), [(429, "rateLimitExceeded"), (403, "userRateLimitExceeded")]
)
def test_a_quota_error_is_retried(alice, connect, run_google, google_apis, status, reason):
    connect(alice)
    before = sends(google_apis)
    google_apis.fail_next(status, reason, "Rate Limit Exceeded")
    result = run_google(alice, step("sendEmail", to="bob@example.com", subject="retried"))
    assert taken(result.final_state)[0] == "success"
    assert sends(google_apis) == before + 2


def test_a_persistent_quota_error_takes_quota_exceeded_or_error(
    alice, connect, run_google, google_apis
):
    connect(alice)
    for edges, expected in ((EDGES, "quota_exceeded"), (("success", "error"), "error")):
        for _ in range(5):  # the first try and the 4 retries of the settings
            google_apis.fail_next(429, "rateLimitExceeded", "Rate Limit Exceeded")
        result = run_google(alice, step("sendEmail", edges=edges, to="bob@example.com"))
        edge, data = taken(result.final_state)
        assert edge == expected and data["code"] == "QUOTA_EXCEEDED", data
        assert data["reason"] == "rateLimitExceeded"
        assert google_apis.take_failure() is None


# -- modifyEmail


def inbox_message(google_apis: Any, subject: str = "Hello") -> str:
    message = email.message.EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "bob@example.com",
        google_apis.email,
        subject,
    )
    message.set_content("Hi there")
    return str(deliver(google_apis, message)["id"])


def test_modify_marks_read_archives_and_labels(alice, connect, run_google, google_apis):
    connect(alice)
    message = inbox_message(google_apis)
    result = run_google(
        alice,
        step(
            "modifyEmail",
            messageId=message,
            markRead=True,
            archive=True,
            addLabelIds="STARRED, Label_7",
        ),
    )
    edge, data = taken(result.final_state)
    assert edge == "success", data
    assert result.final_state["modifiedEmail"] == {
        "id": message,
        "labelIds": ["STARRED", "Label_7"],
    }
    assert google_apis.messages[message]["labelIds"] == ["STARRED", "Label_7"]
    again = run_google(
        alice, step("modifyEmail", messageId=message, markUnread=True, removeLabelIds=["Label_7"])
    )
    assert again.final_state["modifiedEmail"]["labelIds"] == ["STARRED", "UNREAD"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, 'Missing required parameter: "messageId"'),
        ({"messageId": "abc/../x", "markRead": True}, '"messageId" must be a Gmail id'),
        ({"messageId": "abc"}, "Nothing to change"),
        ({"messageId": "abc", "markRead": True, "markUnread": True}, "cannot both be true"),
        ({"messageId": "abc", "markRead": "yes"}, '"markRead" must be true or false'),
        (
            {"messageId": "abc", "addLabelIds": ["STARRED"], "removeLabelIds": "STARRED"},
            "both added and removed: STARRED",
        ),
        ({"messageId": "abc", "addLabelIds": [{"id": 1}]}, '"addLabelIds" must be a Gmail id'),
    ],
)
def test_modify_refuses_bad_parameters(alice, connect, run_google, google_apis, params, message):
    connect(alice)
    before = len(google_apis.requests)
    result = run_google(alice, step("modifyEmail", **params))
    edge, data = taken(result.final_state)
    assert edge == "error" and data["code"] == "INVALID_PARAMETER", data
    assert message in data["error"]
    assert len(google_apis.requests) == before


def test_modify_failures(alice, connect, run_google, google_apis):
    connect(alice)
    missing = run_google(alice, step("modifyEmail", messageId="nosuchmessage", markRead=True))
    assert taken(missing.final_state)[0] == "not_found"
    fallback = run_google(
        alice,
        step("modifyEmail", edges=("success", "error"), messageId="nosuchmessage", archive=True),
    )
    edge, data = taken(fallback.final_state)
    assert edge == "error" and data["code"] == "NOT_FOUND" and data["reason"] == "notFound"
    message = inbox_message(google_apis)
    invalid = run_google(alice, step("modifyEmail", messageId=message, addLabelIds="NOT_A_LABEL"))
    edge, data = taken(invalid.final_state)
    assert (
        edge == "error" and data["code"] == "INVALID_REQUEST" and "Invalid label" in data["error"]
    )


def test_modify_needs_gmail_modify(alice, connect, run_google, google_apis):
    connect(alice, ["gmail.readonly", "gmail.send"])
    message = inbox_message(google_apis)
    result = run_google(alice, step("modifyEmail", messageId=message, markRead=True))
    edge, data = taken(result.final_state)
    assert edge == "permission_denied" and data["code"] == "MISSING_SCOPE", data
    assert "UNREAD" in google_apis.messages[message]["labelIds"]
