"""``Resources`` on a real (SQLite) store: validation, defaults, limits, scoping between two
users including public resources, and the per-caller gateway the nodes use."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from workscript_jupyter.errors import (
    BadRequestError,
    ConflictError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RecordNotFoundError,
)
from workscript_jupyter.service.resource_fields import check_path, resource_json
from workscript_jupyter.service.resources import Resources
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.sql import SqlStore

MAX = 1000


@pytest.fixture
def store(sqlite_store: SqlStore) -> SqlStore:
    return sqlite_store


@pytest.fixture
def resources(store: SqlStore) -> Resources:
    return Resources(store, max_bytes=MAX)


@pytest.fixture
def alice(store: SqlStore) -> Caller:
    return Caller.of(store.users.create("alice", email="alice@example.org"))


@pytest.fixture
def bob(store: SqlStore) -> Caller:
    return Caller.of(store.users.create("bob", email="bob@example.org"))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_create_defaults_name_mime_type_and_type(resources: Resources, alice: Caller) -> None:
    made = run(resources.create(alice, {"path": "img/logo.png"}, b"\x89PNG"))
    shown = resource_json(made)
    assert (shown["name"], shown["mimeType"], shown["type"]) == ("logo.png", "image/png", "image")
    assert shown["checksum"] == hashlib.sha256(b"\x89PNG").hexdigest() and shown["size"] == 4
    assert shown["createdAt"].endswith("Z") and "content" not in shown
    for path, mime, kind in (
        ("a/notes.md", "text/markdown", "document"),
        ("a/data.json", "application/json", "data"),
        ("a/conf.yaml", "application/yaml", "data"),
        ("a/song.mp3", "audio/mpeg", "audio"),
        ("a/blob", "application/octet-stream", "document"),
    ):
        made = run(resources.create(alice, {"path": path}, b"x"))
        assert (made.mime_type, made.type) == (mime, kind), path
    given = run(
        resources.create(
            alice, {"path": "p/x.md", "type": "prompt", "mimeType": "text/x-tmpl"}, b""
        )
    )
    assert (given.type, given.mime_type) == ("prompt", "text/x-tmpl")


@pytest.mark.parametrize(
    "path",
    [
        *("", " ", "/abs", "../up", "a/../b", "a/./b", "a//b", "a/", "a\\b", "a\x00b", "a\tb"),
        pytest.param("p" * 513, id="too-long"),
    ],
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        check_path(path)
    assert [detail["field"] for detail in caught.value.details] == ["path"]


def test_good_paths_pass() -> None:
    for path in ("a", "prompts/greeting.md", "x/y/z.v1.json", "é/日本.txt", "p" * 512, "a..b"):
        assert check_path(path) == path


def test_limits_and_lone_surrogates(resources: Resources, alice: Caller) -> None:
    run(resources.create(alice, {"path": "full"}, b"x" * MAX))
    with pytest.raises(PayloadTooLargeError) as caught:
        run(resources.create(alice, {"path": "over"}, b"x" * (MAX + 1)))
    assert caught.value.details["limit"] == MAX
    made = run(resources.create(alice, {"path": "small"}, b"x"))
    with pytest.raises(PayloadTooLargeError):
        run(resources.update(alice, made.id, {}, b"x" * (MAX + 1)))
    with pytest.raises(BadRequestError, match="surrogate"):
        run(resources.create(alice, {"path": "bad", "name": "\ud800"}, b"x"))
    with pytest.raises(BadRequestError, match="nothing to change"):
        run(resources.update(alice, made.id, {}))
    with pytest.raises(ValueError, match="positive"):
        Resources(resources.store, max_bytes=0)


def test_update_reports_the_previous_checksum(resources: Resources, alice: Caller) -> None:
    made = run(resources.create(alice, {"path": "a.txt"}, b"one"))
    changed, previous = run(resources.update(alice, made.id, {"name": "A"}, b"two"))
    assert previous == hashlib.sha256(b"one").hexdigest()
    assert (changed.name, changed.content) == ("A", b"two")
    again, previous = run(resources.update(alice, made.id, {"tags": ["x"]}))
    assert previous == changed.checksum == again.checksum


def test_scoping_between_users(resources: Resources, alice: Caller, bob: Caller) -> None:
    private = run(resources.create(alice, {"path": "secret"}, b"s"))
    public = run(resources.create(alice, {"path": "shared", "isPublic": True}, b"p"))
    for call in (
        resources.get(bob, private.id),
        resources.update(bob, private.id, {"name": "x"}),
        resources.delete(bob, private.id),
        resources.get_by_path(bob, "secret"),
    ):
        with pytest.raises(RecordNotFoundError):
            run(call)
    assert run(resources.get(bob, public.id)).content == b"p"
    with pytest.raises(PermissionDeniedError, match="only its owner"):
        run(resources.update(bob, public.id, {}, b"defaced"))
    with pytest.raises(PermissionDeniedError):
        run(resources.delete(bob, public.id))
    assert run(resources.get(alice, public.id)).content == b"p"
    listed = run(resources.list(bob))
    assert [r.id for r in listed.items] == [public.id]
    assert run(resources.list(bob, public="exclude")).items == ()
    with pytest.raises(BadRequestError):
        run(resources.list(bob, public="all"))
    with pytest.raises(BadRequestError):
        run(resources.list(bob, type="video"))


def test_the_gateway_reads_writes_and_lists(
    resources: Resources, alice: Caller, bob: Caller
) -> None:
    gateway = resources.gateway(alice)
    created = run(gateway.write("create", content=b"v1", path="r/a.txt", fields={"tags": ["t"]}))
    assert created["result"] == "created" and created["previousChecksum"] is None
    rid = created["resource"]["id"]
    with pytest.raises(ConflictError):
        run(gateway.write("create", content=b"again", path="r/a.txt"))
    updated = run(gateway.write("update", content=b"v2", path="r/a.txt", fields={"name": "A"}))
    assert updated["result"] == "updated" and updated["resource"]["name"] == "A"
    assert updated["previousChecksum"] == hashlib.sha256(b"v1").hexdigest()
    upserted = run(gateway.write("upsert", content=b"v3", path="r/a.txt"))
    assert upserted["result"] == "updated" and upserted["resource"]["id"] == rid
    fresh = run(gateway.write("upsert", content=b"new", path="r/b.txt"))
    assert fresh["result"] == "created"
    with pytest.raises(RecordNotFoundError):
        run(gateway.write("update", content=b"x", path="r/missing.txt"))
    with pytest.raises(ValueError, match="mode"):
        run(gateway.write("replace", content=b"x", path="r/a.txt"))
    metadata, content = run(gateway.read(path="r/a.txt"))
    assert (metadata["id"], content) == (rid, b"v3")
    assert run(gateway.read(resource_id=rid))[1] == b"v3"
    with pytest.raises(RecordNotFoundError):
        run(resources.gateway(bob).read(resource_id=rid))
    page = run(gateway.list(tags=["t"], limit=10))
    assert page["count"] == 1 and page["items"][0]["id"] == rid and page["nextCursor"] is None
