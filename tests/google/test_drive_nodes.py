"""listFiles, createFolder and shareFile through the engine and the real Google gateway,
against the Drive stand-in (tests/standins/google_drive.py); the scope and quota edges of
every Drive node. Downloads and uploads: test_google_drive_transfer.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.google.drive_helpers import FOLDER, drive_requests, put_file
from tests.google.steps import step
from tests.standins.google_apis import GoogleApisStandIn
from tests.standins.google_drive import notifications_sent
from workscript_jupyter.service.values import Caller

Run = Callable[..., Any]


@pytest.fixture
def folder(google_apis: GoogleApisStandIn) -> str:
    """A folder of its own for the test, with three files and a trashed one in it."""
    folder_id = put_file(google_apis, "Reports", mime=FOLDER)
    for name in ("budget 2026.xlsx", "budget 2025.xlsx", "notes.txt"):
        put_file(google_apis, name, b"data of " + name.encode(), parents=[folder_id])
    put_file(google_apis, "old budget.xlsx", b"old", parents=[folder_id], trashed=True)
    return folder_id


def test_list_files_pages_through_a_folder(
    connect: Run, alice: Caller, run_google: Run, folder: str
) -> None:
    connect(alice)
    first = run_google(alice, step("listFiles", folderId=folder, pageSize=2))
    assert first.status == "completed", first.error
    state = first.final_state
    assert state["took"] == "success" and state["filesCount"] == 2
    assert set(state["files"][0]) == {
        "id",
        "name",
        "mimeType",
        "size",
        "modifiedTime",
        "parents",
        "webViewLink",
    }
    assert state["files"][0]["parents"] == [folder] and isinstance(state["files"][0]["size"], int)
    token = state["filesNextPageToken"]
    assert token and state["data"]["nextPageToken"] == token

    second = run_google(alice, step("listFiles", folderId=folder, pageSize=2, pageToken=token))
    rest = second.final_state
    assert rest["took"] == "success" and rest["filesCount"] == 1
    assert rest["filesNextPageToken"] is None
    names = {f["name"] for f in state["files"] + rest["files"]}
    assert names == {"budget 2026.xlsx", "budget 2025.xlsx", "notes.txt"}  # not the trashed one

    with_trash = run_google(alice, step("listFiles", folderId=folder, includeTrashed=True))
    assert with_trash.final_state["filesCount"] == 4


def test_list_files_query_fields_and_no_results(
    connect: Run, alice: Caller, run_google: Run, folder: str
) -> None:
    connect(alice)
    query = "name contains 'budget' and not name contains '2025'"
    found = run_google(
        alice, step("listFiles", folderId=folder, query=query, fields=["name", "md5Checksum"])
    )
    state = found.final_state
    assert state["took"] == "success", state.get("data")
    assert state["files"] == [
        {"id": state["files"][0]["id"], "name": "budget 2026.xlsx", "md5Checksum": None}
    ]

    nothing = run_google(alice, step("listFiles", folderId=folder, query="name = 'absent'"))
    assert nothing.final_state["took"] == "no_results"
    assert nothing.final_state["files"] == [] and nothing.final_state["filesCount"] == 0

    unreadable = run_google(alice, step("listFiles", query="name = unquoted"))
    assert unreadable.final_state["took"] == "error"
    assert unreadable.final_state["data"]["code"] == "INVALID_REQUEST"
    assert unreadable.final_state["data"]["status"] == 400


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"folderId": "x' in parents or name != '"}, "folderId"),
        ({"folderId": "root') or ('a' in parents"}, "folderId"),
        ({"pageSize": 0}, "pageSize"),
        ({"pageSize": 1001}, "pageSize"),
        ({"fields": ["name", "owners(emailAddress)"]}, "fields"),
        ({"query": "x" * 2001}, "query"),
        ({"query": "name = 'a\x00'"}, "query"),
        ({"includeTrashed": "yes"}, "includeTrashed"),
    ],
)
def test_list_files_refuses_bad_parameters_before_asking_google(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    params: dict[str, Any],
    named: str,
) -> None:
    connect(alice)
    before = len(drive_requests(google_apis))
    result = run_google(alice, step("listFiles", **params))
    assert result.status == "completed", result.error
    data = result.final_state["data"]
    assert result.final_state["took"] == "error" and data["code"] == "INVALID_PARAMETER"
    assert f'"{named}"' in data["error"]
    assert len(drive_requests(google_apis)) == before  # nothing went to Drive


def test_create_folder_in_my_drive_and_in_a_folder(
    connect: Run, alice: Caller, run_google: Run, google_apis: GoogleApisStandIn
) -> None:
    connect(alice)
    name = f"Reports {uuid.uuid4().hex[:6]}"
    made = run_google(alice, step("createFolder", name=name))
    folder = made.final_state["createdFolder"]
    assert made.final_state["took"] == "success" and folder["name"] == name
    assert folder["webViewLink"].startswith("https://drive.google.com/")
    assert google_apis.files[folder["id"]]["mimeType"] == FOLDER

    inner = run_google(alice, step("createFolder", name="2026", parentId=folder["id"]))
    assert inner.final_state["createdFolder"]["parents"] == [folder["id"]]

    missing = run_google(alice, step("createFolder", name="x", parentId="nosuchfolder"))
    assert missing.final_state["took"] == "not_found"
    assert missing.final_state["data"]["code"] == "NOT_FOUND"

    unnamed = run_google(alice, step("createFolder"))
    assert unnamed.final_state["took"] == "error"
    assert '"name"' in unnamed.final_state["data"]["error"]


def test_share_file_with_a_user_and_with_anyone(
    connect: Run, alice: Caller, run_google: Run, google_apis: GoogleApisStandIn
) -> None:
    connect(alice)
    file_id = put_file(google_apis, "plan.txt", b"the plan")
    shared = run_google(
        alice,
        step(
            "shareFile",
            fileId=file_id,
            email="bob@example.org",
            role="commenter",
            message="Your comments, please",
        ),
    )
    state = shared.final_state
    assert state["took"] == "success", state.get("data")
    assert state["sharedFile"] == {
        "fileId": file_id,
        "permissionId": state["sharedFile"]["permissionId"],
        "role": "commenter",
        "type": "user",
        "email": "bob@example.org",
    }
    [permission] = google_apis.permissions[file_id]
    assert permission["emailAddress"] == "bob@example.org" and permission["role"] == "commenter"
    assert {
        "fileId": file_id,
        "emailAddress": "bob@example.org",
        "role": "commenter",
        "emailMessage": "Your comments, please",
    } in notifications_sent(google_apis)

    quiet = run_google(
        alice, step("shareFile", fileId=file_id, email="carol@example.org", sendNotification=False)
    )
    assert quiet.final_state["sharedFile"]["role"] == "reader"
    assert all(n["emailAddress"] != "carol@example.org" for n in notifications_sent(google_apis))

    public = run_google(alice, step("shareFile", fileId=file_id, type="anyone"))
    assert public.final_state["sharedFile"]["type"] == "anyone"
    assert public.final_state["sharedFile"]["email"] is None
    assert google_apis.permissions[file_id][-1]["type"] == "anyone"

    missing = run_google(alice, step("shareFile", fileId="nosuchfile", email="bob@example.org"))
    assert missing.final_state["took"] == "not_found"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"email": "bob@example.org", "role": "owner"}, "role"),
        ({"email": "bob@example.org", "role": "admin"}, "role"),
        ({"email": "not an email"}, "email"),
        ({}, "type"),
        ({"type": "anyone", "email": "bob@example.org"}, "email"),
        ({"type": "anyone", "message": "hi"}, "message"),
        ({"email": "bob@example.org", "sendNotification": False, "message": "hi"}, "message"),
        ({"email": "bob@example.org", "message": "x" * 2001}, "message"),
        ({"fileId": "a/../b", "email": "bob@example.org"}, "fileId"),
    ],
)
def test_share_file_refuses_bad_parameters(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    params: dict[str, Any],
    named: str,
) -> None:
    connect(alice)
    params.setdefault("fileId", put_file(google_apis, "shared.txt", b"x"))
    before = len(drive_requests(google_apis))
    result = run_google(alice, step("shareFile", **params))
    data = result.final_state["data"]
    assert result.final_state["took"] == "error" and data["code"] == "INVALID_PARAMETER"
    assert f'"{named}"' in data["error"]
    assert len(drive_requests(google_apis)) == before


DRIVE_STEPS = [
    ("listFiles", {}),
    ("downloadFile", {"fileId": "abc", "path": "out.bin"}),
    ("uploadFile", {"path": "up.txt"}),
    ("createFolder", {"name": "New"}),
    ("shareFile", {"fileId": "abc", "type": "anyone"}),
]


@pytest.mark.parametrize(("node", "params"), DRIVE_STEPS, ids=[n for n, _ in DRIVE_STEPS])
def test_a_connection_without_drive_is_permission_denied(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    tmp_path: Any,
    node: str,
    params: dict[str, Any],
) -> None:
    connect(alice, ["gmail.readonly", "gmail.send"])
    (tmp_path / "root").mkdir(exist_ok=True)
    (tmp_path / "root" / "up.txt").write_text("hello")
    before = len(drive_requests(google_apis))
    result = run_google(alice, step(node, **params))
    assert result.status == "completed", result.error
    assert result.final_state["took"] == "permission_denied"
    assert result.final_state["data"]["code"] == "MISSING_SCOPE"
    assert "drive" in result.final_state["data"]["error"]
    assert len(drive_requests(google_apis)) == before

    only_error = run_google(alice, step(node, edges=("success", "error"), **params))
    assert only_error.final_state["took"] == "error"  # a fallback edge, never silent
    assert only_error.final_state["data"]["code"] == "MISSING_SCOPE"


def test_quota_errors_are_retried_then_given_as_quota_exceeded(
    connect: Run, alice: Caller, run_google: Run, google_apis: GoogleApisStandIn, folder: str
) -> None:
    connect(alice)
    google_apis.fail_next(429, "rateLimitExceeded")
    google_apis.fail_next(403, "userRateLimitExceeded")
    retried = run_google(alice, step("listFiles", folderId=folder))
    assert retried.final_state["took"] == "success"  # the third try
    assert retried.final_state["filesCount"] == 3

    for _ in range(5):  # the first try and the four retries of the settings
        google_apis.fail_next(429, "rateLimitExceeded")
    exhausted = run_google(alice, step("listFiles", folderId=folder))
    assert exhausted.final_state["took"] == "quota_exceeded"
    data = exhausted.final_state["data"]
    assert data["code"] == "QUOTA_EXCEEDED" and data["reason"] == "rateLimitExceeded"
    assert google_apis.take_failure() is None  # every scripted failure was met
    assert "files" not in exhausted.final_state
