"""listEmails and getEmail through the engine against the Gmail stand-in: paging with
pageToken, no_results, mailbox/labels/search, full details; a multipart message's text, HTML and
attachments, saved into the run root under sanitized names (``../../evil`` stays in the folder),
never over an existing file and never past the size bound; not_found, a missing scope, quota."""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from typing import Any

import pytest

from tests.google.steps import step, taken
from tests.standins.google_gmail import deliver
from workscript_jupyter.nodes import google_gmail_read


def received(google_apis: Any, subject: str, labels: tuple[str, ...] = ()) -> str:
    message = EmailMessage()
    message["From"], message["To"] = "Bob <bob@example.com>", google_apis.email
    message["Subject"], message["Date"] = subject, "Thu, 03 Dec 2026 10:00:00 +0000"
    message.set_content(f"Body of {subject}")
    return str(deliver(google_apis, message, labels)["id"])


def with_attachments(google_apis: Any) -> str:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "bob@example.com",
        google_apis.email,
        "Files",
    )
    message.set_content("Plain text here.")
    message.add_alternative("<p>HTML <i>here</i>.</p>", subtype="html")
    message.add_attachment(
        b"%PDF report", maintype="application", subtype="pdf", filename="report.pdf"
    )
    message.add_attachment(
        b"owned", maintype="application", subtype="octet-stream", filename="../../evil"
    )
    return str(deliver(google_apis, message)["id"])


# -- listEmails


def test_list_pages_with_page_token(alice, connect, run_google, google_apis):
    connect(alice)
    tag = "tag" + secrets.token_hex(4)
    ids = [received(google_apis, f"{tag} number {n}") for n in range(3)]
    first = run_google(alice, step("listEmails", query=tag, maxResults=2))
    edge, data = taken(first.final_state)
    assert edge == "success", data
    state = first.final_state
    assert state["emailsCount"] == 2 and state["emailsNextPageToken"]
    assert [e["id"] for e in state["emails"]] == ids[::-1][:2]
    email = state["emails"][0]
    assert email["subject"] == f"{tag} number 2" and email["from"] == "Bob <bob@example.com>"
    assert email["labelIds"] == ["INBOX", "UNREAD"] and email["date"].startswith("Thu, 03 Dec")
    assert "body" not in email
    second = run_google(
        alice,
        step("listEmails", query=tag, maxResults=2, pageToken=state["emailsNextPageToken"]),
    )
    assert [e["id"] for e in second.final_state["emails"]] == [ids[0]]
    assert second.final_state["emailsNextPageToken"] is None


def test_list_full_details_mailbox_and_labels(alice, connect, run_google, google_apis, monkeypatch):
    connect(alice)
    tag = "tag" + secrets.token_hex(4)
    inbox = received(google_apis, f"{tag} inbox")
    starred = received(google_apis, f"{tag} starred", ("INBOX", "STARRED"))
    sent = received(google_apis, f"{tag} sent", ("SENT",))
    full = run_google(alice, step("listEmails", query=tag, getFullDetails=True))
    emails = full.final_state["emails"]
    assert [e["id"] for e in emails] == [starred, inbox]
    assert emails[1]["body"].strip() == f"Body of {tag} inbox" and "bodyTruncated" not in emails[1]
    monkeypatch.setattr(google_gmail_read, "LIST_BODY_CHARS", 7)
    cut = run_google(alice, step("listEmails", query=tag, getFullDetails=True, maxResults=1))
    assert cut.final_state["emails"][0]["body"] == "Body of"
    assert cut.final_state["emails"][0]["bodyTruncated"] is True
    in_sent = run_google(alice, step("listEmails", query=tag, mailbox="sent"))
    assert [e["id"] for e in in_sent.final_state["emails"]] == [sent]
    labelled = run_google(alice, step("listEmails", query=tag, labelIds="STARRED", mailbox="ALL"))
    assert [e["id"] for e in labelled.final_state["emails"]] == [starred]


def test_list_no_results(alice, connect, run_google):
    connect(alice)
    result = run_google(alice, step("listEmails", query="nothing-matches-" + secrets.token_hex(4)))
    edge, data = taken(result.final_state)
    assert edge == "no_results" and data["count"] == 0, data
    assert result.final_state["emails"] == [] and result.final_state["emailsCount"] == 0


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"maxResults": 0}, "maxResults"),
        ({"maxResults": 501}, "maxResults"),
        ({"maxResults": "10"}, "maxResults"),
        ({"maxResults": True}, "maxResults"),
        ({"labelIds": ["INBOX", "../x"]}, "labelIds"),
        ({"mailbox": "in box"}, "mailbox"),
        ({"query": "x" * 2001}, "query"),
        ({"query": "from:a\x00"}, "query"),
        ({"getFullDetails": "yes"}, "getFullDetails"),
        ({"pageToken": 7}, "pageToken"),
    ],
)
def test_list_refuses_bad_parameters(alice, connect, run_google, google_apis, params, named):
    connect(alice)
    before = len(google_apis.requests)
    result = run_google(alice, step("listEmails", **params))
    edge, data = taken(result.final_state)
    assert edge == "config_error" and f'"{named}"' in data["error"], data
    assert len(google_apis.requests) == before


def test_list_failures(alice, connect, run_google, google_apis):
    connect(alice, ["gmail.send"])
    denied = run_google(alice, step("listEmails"))
    edge, data = taken(denied.final_state)
    assert edge == "permission_denied" and data["code"] == "MISSING_SCOPE", data
    connect(alice, ["gmail.readonly"])
    received(google_apis, "listed after a retry")
    google_apis.fail_next(429, "rateLimitExceeded")
    retried = run_google(alice, step("listEmails", connection=google_apis.email, maxResults=1))
    assert taken(retried.final_state)[0] == "success"
    bad_token = run_google(alice, step("listEmails", connection=google_apis.email, pageToken="zz"))
    edge, data = taken(bad_token.final_state)
    assert edge == "error" and data["code"] == "INVALID_REQUEST", data


# -- getEmail


def test_get_decodes_the_message(alice, connect, run_google, google_apis):
    connect(alice, ["gmail.readonly"])
    message = with_attachments(google_apis)
    result = run_google(alice, step("getEmail", messageId=message))
    edge, data = taken(result.final_state)
    assert edge == "success", data
    email = result.final_state["email"]
    assert (email["subject"], email["from"]) == ("Files", "bob@example.com")
    assert email["body"].strip() == "Plain text here." and "<i>here</i>" in email["html"]
    assert email["headers"]["Subject"] == "Files" and "payload" not in email
    shown = [(a["filename"], a["mimeType"], a["size"]) for a in email["attachments"]]
    assert shown == [
        ("report.pdf", "application/pdf", 11),
        ("../../evil", "application/octet-stream", 5),
    ]
    assert "savedAttachments" not in email


def test_get_saves_attachments_inside_the_folder(alice, connect, run_google, google_apis, tmp_path):
    connect(alice)
    message = with_attachments(google_apis)
    root = tmp_path / "root"
    (root / "inbox").mkdir(parents=True)
    (root / "inbox" / "report.pdf").write_bytes(b"older, kept")
    result = run_google(
        alice,
        step("getEmail", messageId=message, saveAttachments=True, attachmentsFolder="inbox"),
        root=root,
    )
    edge, data = taken(result.final_state)
    assert edge == "success", data
    assert data["savedAttachments"] == ["inbox/report (1).pdf", "inbox/evil"]
    assert (root / "inbox" / "report.pdf").read_bytes() == b"older, kept"
    assert (root / "inbox" / "report (1).pdf").read_bytes() == b"%PDF report"
    assert (root / "inbox" / "evil").read_bytes() == b"owned"
    assert sorted(p.name for p in tmp_path.rglob("evil*")) == ["evil"]
    assert not list((root / "inbox").glob(".attachment.*")), "no temporary file left"
    again = run_google(alice, step("getEmail", messageId=message, saveAttachments=True), root=root)
    assert again.final_state["email"]["savedAttachments"] == [
        "attachments/report.pdf",
        "attachments/evil",
    ]


def test_get_into_a_folder_that_is_a_file_is_refused(
    alice, connect, run_google, google_apis, tmp_path
):
    connect(alice)
    message = with_attachments(google_apis)
    root = tmp_path / "root"
    root.mkdir()
    (root / "taken").write_text("a file, not a folder")
    result = run_google(
        alice,
        step("getEmail", messageId=message, saveAttachments=True, attachmentsFolder="taken"),
        root=root,
    )
    edge, data = taken(result.final_state)
    assert edge == "error" and data["code"] == "INVALID_PARAMETER", data
    assert '"attachmentsFolder": cannot create the folder taken' in data["error"]


def test_get_leaves_out_an_attachment_past_the_size_bound(
    alice, connect, run_google, google_apis, tmp_path, monkeypatch
):
    connect(alice)
    monkeypatch.setattr(google_gmail_read, "MAX_SAVED_BYTES", 8)
    message = with_attachments(google_apis)
    result = run_google(alice, step("getEmail", messageId=message, saveAttachments=True))
    email = result.final_state["email"]
    assert email["savedAttachments"] == ["attachments/evil"]
    assert "not saved" in email["attachments"][0]["saveError"]
    assert not (tmp_path / "root" / "attachments" / "report.pdf").exists()


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "messageId"),
        ({"messageId": "a/b"}, "messageId"),
        ({"messageId": "abc", "saveAttachments": "true"}, "saveAttachments"),
        (
            {"messageId": "abc", "saveAttachments": True, "attachmentsFolder": "../out"},
            "attachmentsFolder",
        ),
        (
            {"messageId": "abc", "saveAttachments": True, "attachmentsFolder": "/tmp"},
            "attachmentsFolder",
        ),
    ],
)
def test_get_refuses_bad_parameters(alice, connect, run_google, google_apis, params, named):
    connect(alice)
    before = len(google_apis.requests)
    result = run_google(alice, step("getEmail", **params))
    edge, data = taken(result.final_state)
    assert edge == "error" and data["code"] == "INVALID_PARAMETER", data
    assert named in data["error"]
    assert len(google_apis.requests) == before


def test_get_failures(alice, connect, run_google, google_apis):
    connect(alice)
    missing = run_google(alice, step("getEmail", messageId="nosuchmessage"))
    edge, data = taken(missing.final_state)
    assert edge == "not_found" and data["status"] == 404, data
    fallback = run_google(
        alice, step("getEmail", edges=("success", "error"), messageId="nosuchmessage")
    )
    assert taken(fallback.final_state)[0] == "error"
    message = received(google_apis, "quota")
    for _ in range(5):
        google_apis.fail_next(429, "rateLimitExceeded")
    limited = run_google(alice, step("getEmail", messageId=message))
    assert taken(limited.final_state)[0] == "quota_exceeded"
    connect(alice, ["calendar"])
    denied = run_google(alice, step("getEmail", messageId=message, connection=google_apis.email))
    edge, data = taken(denied.final_state)
    assert edge == "permission_denied" and data["code"] == "MISSING_SCOPE", data
