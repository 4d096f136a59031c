"""downloadFile and uploadFile through the engine and the real Google gateway, against the
Drive stand-in: chunked downloads and resumable uploads, Docs exports, the size limit, and
paths outside the run root."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.google.drive_helpers import FOLDER, drive_requests, put_file
from tests.google.steps import step
from tests.standins.google_apis import GoogleApisStandIn
from workscript_jupyter.nodes import google_drive_transfer
from workscript_jupyter.service.values import Caller

Run = Callable[..., Any]
KIB = 1024
DOC = "application/vnd.google-apps.document"
SHEET = "application/vnd.google-apps.spreadsheet"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 256 KiB (Google's unit) and resumable uploads from 512 KiB."""
    monkeypatch.setattr(google_drive_transfer, "DOWNLOAD_CHUNK_BYTES", 256 * KIB)
    monkeypatch.setattr(google_drive_transfer, "UPLOAD_CHUNK_BYTES", 256 * KIB)
    monkeypatch.setattr(google_drive_transfer, "RESUMABLE_ABOVE_BYTES", 512 * KIB)


def media_requests(apis: GoogleApisStandIn, file_id: str) -> int:
    return sum(1 for r in apis.requests if r == ("GET", f"/drive/v3/files/{file_id}"))


def test_download_streams_a_file_in_chunks(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    root: Path,
    small_chunks: None,
) -> None:
    connect(alice)
    data = os.urandom(600 * KIB)
    file_id = put_file(google_apis, "photo.jpg", data, mime="image/jpeg")
    result = run_google(alice, step("downloadFile", fileId=file_id, path="in/photo.jpg"))
    assert result.final_state["took"] == "success", result.final_state.get("data")
    assert (root / "in" / "photo.jpg").read_bytes() == data
    assert result.final_state["downloadedFile"] == {
        "id": file_id,
        "name": "photo.jpg",
        "mimeType": "image/jpeg",
        "path": "in/photo.jpg",
        "size": len(data),
    }
    assert media_requests(google_apis, file_id) == 1 + 3  # the metadata, then three chunks
    assert sorted(p.name for p in (root / "in").iterdir()) == ["photo.jpg"]  # no temp left

    again = run_google(alice, step("downloadFile", fileId=file_id, path="in/photo.jpg"))
    assert again.final_state["took"] == "error"
    assert '"overwrite"' in again.final_state["data"]["error"]
    (root / "in" / "photo.jpg").write_bytes(b"mine")
    kept = run_google(alice, step("downloadFile", fileId=file_id, path="in/photo.jpg"))
    assert kept.final_state["took"] == "error"
    assert (root / "in" / "photo.jpg").read_bytes() == b"mine"
    replaced = run_google(
        alice, step("downloadFile", fileId=file_id, path="in/photo.jpg", overwrite=True)
    )
    assert replaced.final_state["took"] == "success"
    assert (root / "in" / "photo.jpg").read_bytes() == data


def test_download_over_max_bytes_is_refused_and_leaves_nothing(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    root: Path,
    small_chunks: None,
) -> None:
    connect(alice)
    data = os.urandom(700 * KIB)
    declared = put_file(google_apis, "big.bin", data, mime="application/octet-stream")
    refused = run_google(
        alice, step("downloadFile", fileId=declared, path="big.bin", maxBytes=300 * KIB)
    )
    assert refused.final_state["took"] == "error"
    assert refused.final_state["data"]["code"] == "FILE_TOO_LARGE"
    assert '"maxBytes"' in refused.final_state["data"]["error"]
    assert media_requests(google_apis, declared) == 1  # refused on the metadata alone

    # a file that grew after Drive gave its size: refused while streaming
    grown = put_file(google_apis, "grown.bin", data, mime="application/octet-stream", size="10")
    streamed = run_google(
        alice, step("downloadFile", fileId=grown, path="grown.bin", maxBytes=300 * KIB)
    )
    assert streamed.final_state["took"] == "error"
    assert streamed.final_state["data"]["code"] == "FILE_TOO_LARGE"
    assert media_requests(google_apis, grown) == 1 + 2  # stopped after the second chunk
    assert list(root.iterdir()) == []  # no partial file, no temporary file


@pytest.mark.parametrize(
    ("kind", "wanted", "expected_mime", "starts"),
    [
        (DOC, None, "application/pdf", b"%PDF"),
        (DOC, "pdf", "application/pdf", b"%PDF"),
        (DOC, "txt", "text/plain", b"Meeting notes"),
        (
            DOC,
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK",
        ),
        (SHEET, "csv", "text/csv", b"Meeting notes"),
    ],
)
def test_google_docs_are_exported(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    root: Path,
    kind: str,
    wanted: str | None,
    expected_mime: str,
    starts: bytes,
) -> None:
    connect(alice)
    file_id = put_file(google_apis, "Notes", b"Meeting notes", mime=kind)
    params = {"exportFormat": wanted} if wanted else {}
    result = run_google(alice, step("downloadFile", fileId=file_id, path="notes.out", **params))
    assert result.final_state["took"] == "success", result.final_state.get("data")
    saved = (root / "notes.out").read_bytes()
    assert saved.startswith(starts)
    assert result.final_state["downloadedFile"]["mimeType"] == expected_mime
    assert result.final_state["downloadedFile"]["size"] == len(saved)


def test_unsupported_exports_and_missing_files(
    connect: Run, alice: Caller, run_google: Run, google_apis: GoogleApisStandIn, root: Path
) -> None:
    connect(alice)
    doc = put_file(google_apis, "Notes", b"Meeting notes", mime=DOC)
    as_csv = run_google(alice, step("downloadFile", fileId=doc, path="a.csv", exportFormat="csv"))
    assert as_csv.final_state["took"] == "error"
    assert '"exportFormat"' in as_csv.final_state["data"]["error"]
    assert "pdf, docx, txt" in as_csv.final_state["data"]["error"]

    plain = put_file(google_apis, "plain.txt", b"text")
    exported = run_google(
        alice, step("downloadFile", fileId=plain, path="p.pdf", exportFormat="pdf")
    )
    assert '"exportFormat"' in exported.final_state["data"]["error"]

    folder = put_file(google_apis, "A folder", mime=FOLDER)
    not_a_file = run_google(alice, step("downloadFile", fileId=folder, path="f"))
    assert not_a_file.final_state["data"]["code"] == "NOT_DOWNLOADABLE"

    missing = run_google(alice, step("downloadFile", fileId="nosuchfile", path="x"))
    assert missing.final_state["took"] == "not_found"
    assert list(root.iterdir()) == []


@pytest.mark.parametrize("node", ["downloadFile", "uploadFile"])
@pytest.mark.parametrize(
    "path", ["../outside.txt", "../fresh.txt", "/etc/hostname", "link/escape.txt"]
)
def test_paths_outside_the_run_root_are_refused(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    root: Path,
    tmp_path: Path,
    node: str,
    path: str,
) -> None:
    connect(alice)
    (tmp_path / "outside.txt").write_text("not yours")
    (root / "link").symlink_to(tmp_path)
    file_id = put_file(google_apis, "x.txt", b"x")
    before = len(drive_requests(google_apis))
    params = {"fileId": file_id, "path": path} if node == "downloadFile" else {"path": path}
    result = run_google(alice, step(node, **params))
    assert result.final_state["took"] == "error"
    assert result.final_state["data"]["code"] == "INVALID_PARAMETER"
    assert '"path" is outside the root' in result.final_state["data"]["error"]
    assert len(drive_requests(google_apis)) == before
    assert (tmp_path / "outside.txt").read_text() == "not yours"
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "fresh.txt").exists()


def test_a_small_upload_is_one_request(
    connect: Run, alice: Caller, run_google: Run, google_apis: GoogleApisStandIn, root: Path
) -> None:
    connect(alice)
    (root / "notes.txt").write_text("hello Drive")
    folder = put_file(google_apis, "Uploads", mime=FOLDER)
    result = run_google(alice, step("uploadFile", path="notes.txt", folderId=folder))
    uploaded = result.final_state["uploadedFile"]
    assert result.final_state["took"] == "success", result.final_state.get("data")
    assert uploaded == {
        "id": uploaded["id"],
        "name": "notes.txt",
        "mimeType": "text/plain",
        "size": 11,
        "webViewLink": f"https://drive.google.com/file/d/{uploaded['id']}/view?usp=drivesdk",
    }
    stored = google_apis.files[uploaded["id"]]
    assert stored["content"] == b"hello Drive" and stored["parents"] == [folder]

    missing_folder = run_google(alice, step("uploadFile", path="notes.txt", folderId="nosuch"))
    assert missing_folder.final_state["took"] == "not_found"


def test_a_large_upload_goes_in_resumable_chunks(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    root: Path,
    small_chunks: None,
) -> None:
    connect(alice)
    data = os.urandom(1000 * KIB)  # four chunks of 256 KiB, the last one short
    (root / "data.bin").write_bytes(data)
    puts = sum(1 for method, _path in google_apis.requests if method == "PUT")
    google_apis.fail_next(429, "rateLimitExceeded")  # the session's start, retried
    result = run_google(alice, step("uploadFile", path="data.bin", name="backup.bin"))
    assert result.final_state["took"] == "success", result.final_state.get("data")
    uploaded = result.final_state["uploadedFile"]
    assert uploaded["name"] == "backup.bin" and uploaded["size"] == len(data)
    assert google_apis.files[uploaded["id"]]["content"] == data
    chunks = sum(1 for method, _path in google_apis.requests if method == "PUT") - puts
    assert chunks == 4
    assert google_apis.take_failure() is None  # the scripted 429 was met


def test_an_upload_converted_to_a_sheet_exports_back_to_csv(
    connect: Run, alice: Caller, run_google: Run, google_apis: GoogleApisStandIn, root: Path
) -> None:
    connect(alice)
    (root / "sales.csv").write_text("month,total\njan,3\n")
    made = run_google(alice, step("uploadFile", path="sales.csv", convert=True))
    uploaded = made.final_state["uploadedFile"]
    assert uploaded["mimeType"] == SHEET and uploaded["size"] is None  # Docs have no size
    back = run_google(
        alice, step("downloadFile", fileId=uploaded["id"], path="back.csv", exportFormat="csv")
    )
    assert back.final_state["took"] == "success", back.final_state.get("data")
    assert (root / "back.csv").read_text() == "month,total\njan,3\n"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"path": "missing.txt"}, "path"),
        ({"path": "folder"}, "path"),
        ({"path": "notes.txt", "folderId": "a' or 'b"}, "folderId"),
        ({"path": "notes.txt", "mimeType": "not a type"}, "mimeType"),
        ({"path": "photo.jpg", "convert": True}, "convert"),
        ({"path": "notes.txt", "name": "x" * 1025}, "name"),
    ],
)
def test_upload_refuses_bad_parameters(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    root: Path,
    params: dict[str, Any],
    named: str,
) -> None:
    connect(alice)
    (root / "notes.txt").write_text("hello")
    (root / "photo.jpg").write_bytes(b"\xff\xd8")
    (root / "folder").mkdir()
    before = len(drive_requests(google_apis))
    result = run_google(alice, step("uploadFile", **params))
    assert result.final_state["took"] == "error"
    assert result.final_state["data"]["code"] == "INVALID_PARAMETER"
    assert named in result.final_state["data"]["error"]
    assert len(drive_requests(google_apis)) == before


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"fileId": "x", "path": "a", "maxBytes": 0}, "maxBytes"),
        ({"fileId": "x", "path": "a", "maxBytes": 1024**3 + 1}, "maxBytes"),
        ({"fileId": "x", "path": "a", "exportFormat": "odt"}, "exportFormat"),
        ({"fileId": "x/../y", "path": "a"}, "fileId"),
        ({"fileId": "x", "path": "here"}, "path"),
        ({"fileId": "x"}, "path"),
    ],
)
def test_download_refuses_bad_parameters(
    connect: Run,
    alice: Caller,
    run_google: Run,
    google_apis: GoogleApisStandIn,
    root: Path,
    params: dict[str, Any],
    named: str,
) -> None:
    connect(alice)
    (root / "here").mkdir()
    before = len(drive_requests(google_apis))
    result = run_google(alice, step("downloadFile", **params))
    assert result.final_state["took"] == "error"
    assert result.final_state["data"]["code"] == "INVALID_PARAMETER"
    assert named in result.final_state["data"]["error"]
    assert len(drive_requests(google_apis)) == before


def test_a_download_after_a_quota_error_is_retried(
    connect: Run, alice: Caller, run_google: Run, google_apis: GoogleApisStandIn, root: Path
) -> None:
    connect(alice)
    file_id = put_file(google_apis, "r.txt", b"report")
    google_apis.fail_next(429, "rateLimitExceeded")
    retried = run_google(alice, step("downloadFile", fileId=file_id, path="r.txt"))
    assert retried.final_state["took"] == "success"
    assert (root / "r.txt").read_bytes() == b"report"

    for _ in range(5):
        google_apis.fail_next(403, "userRateLimitExceeded")
    exhausted = run_google(alice, step("downloadFile", fileId=file_id, path="r2.txt"))
    assert exhausted.final_state["took"] == "quota_exceeded"
    assert not (root / "r2.txt").exists()
