"""Resources: bytes with metadata, one per owner and path; public ones readable by all."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from workscript_jupyter.errors import ConflictError, RecordNotFoundError
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import Scope

from .conftest import walk

BINARY = bytes(range(256)) * 4  # every byte value: not UTF-8, NUL bytes included


def make(store: Store, scope: Scope, path: str, content: bytes = b"x", **fields):
    name = fields.pop("name", path)
    return store.resources.create(scope, path=path, name=name, content=content, **fields)


def test_resource_crud_with_bytes(store: Store, alice: Scope) -> None:
    text = ("ligne 1 — naïve ✓ 🚀\n" * 50_000).encode()  # ~1.3 MB of UTF-8
    created = store.resources.create(
        alice,
        path="data/notes.md",
        name="notes",
        content=text,
        type="prompt",
        mime_type="text/markdown",
        description="my notes",
        tags=["a", "b"],
    )
    assert created.owner_id == alice.user_id
    assert (created.size, created.checksum) == (len(text), hashlib.sha256(text).hexdigest())
    assert (created.type, created.mime_type, created.tags, created.is_public) == (
        "prompt",
        "text/markdown",
        ["a", "b"],
        False,
    )
    assert store.resources.get(alice, created.id) == created
    assert store.resources.get_by_path(alice, "data/notes.md") == created

    updated = store.resources.update(alice, created.id, content=BINARY, mime_type="app/x")
    assert updated.content == BINARY and isinstance(updated.content, bytes)
    assert (updated.size, updated.checksum) == (1024, hashlib.sha256(BINARY).hexdigest())
    assert (updated.name, updated.path, updated.tags) == ("notes", "data/notes.md", ["a", "b"])
    assert updated.updated_at >= created.updated_at
    assert store.resources.get(alice, created.id) == updated

    moved = store.resources.update(
        alice, created.id, path="archive/notes.md", tags=["z"], is_public=True, description=None
    )
    assert (moved.tags, moved.is_public, moved.description) == (["z"], True, None)
    assert moved.checksum == updated.checksum  # metadata changes keep the content's
    assert store.resources.get_by_path(alice, "archive/notes.md") == moved
    with pytest.raises(RecordNotFoundError):
        store.resources.get_by_path(alice, "data/notes.md")
    with pytest.raises(ValueError, match="owner_id"):
        store.resources.update(alice, created.id, content=b"x", owner_id="y")
    with pytest.raises(ValueError, match="checksum"):
        store.resources.update(alice, created.id, checksum="0" * 64)  # the store computes it
    with pytest.raises(ValueError, match="bytes"):
        store.resources.update(alice, created.id, content="text")
    with pytest.raises(ValueError, match="bytes"):
        make(store, alice, "text.txt", "text")  # type: ignore[arg-type]
    assert store.resources.get(alice, created.id) == moved
    store.resources.delete(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.resources.get(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.resources.delete(alice, created.id)


def test_empty_content_is_a_resource(store: Store, alice: Scope) -> None:
    empty = make(store, alice, "empty", b"")
    assert (empty.size, empty.checksum) == (0, hashlib.sha256(b"").hexdigest())
    assert store.resources.get(alice, empty.id).content == b""


def test_resource_paths_are_unique_per_owner(store: Store, alice: Scope, bob: Scope) -> None:
    first = make(store, alice, "a.txt", b"one")
    with pytest.raises(ConflictError, match=r"a\.txt"):
        make(store, alice, "a.txt", b"two")
    assert store.resources.get_by_path(alice, "a.txt") == first
    bobs = make(store, bob, "a.txt", b"bob's")  # another owner: fine
    assert store.resources.get_by_path(bob, "a.txt") == bobs
    second = make(store, alice, "b.txt", b"b")
    with pytest.raises(ConflictError):
        store.resources.update(alice, second.id, path="a.txt")
    assert store.resources.get(alice, second.id).path == "b.txt"


def test_resource_paths_are_case_sensitive_on_every_backend(store: Store, alice: Scope) -> None:
    upper = make(store, alice, "notes/Report.md", b"A")
    lower = make(store, alice, "notes/report.md", b"a")
    assert upper.id != lower.id
    assert store.resources.get_by_path(alice, "notes/Report.md").content == b"A"
    assert store.resources.get_by_path(alice, "notes/report.md").content == b"a"
    listed = store.resources.list(alice, path_prefix="notes/R").items
    assert [r.path for r in listed] == ["notes/Report.md"]


def test_private_resources_are_the_owners(
    store: Store, alice: Scope, bob: Scope, admin: Scope
) -> None:
    mine = make(store, alice, "docs/a", b"secret")
    for call in (
        lambda: store.resources.get(bob, mine.id),
        lambda: store.resources.update(bob, mine.id, content=b"hacked"),
        lambda: store.resources.delete(bob, mine.id),
        lambda: store.resources.get_by_path(bob, "docs/a"),
    ):
        with pytest.raises(RecordNotFoundError):
            call()
    assert store.resources.get(alice, mine.id).content == b"secret"
    for public in ("exclude", "include", "only"):
        assert store.resources.list(bob, public=public).items == ()
    assert store.resources.get(admin, mine.id).owner_id == alice.user_id
    assert store.resources.update(admin, mine.id, name="by admin").name == "by admin"
    with pytest.raises(RecordNotFoundError):  # paths are per owner, even for an admin
        store.resources.get_by_path(admin, "docs/a")


def test_public_resources_are_read_by_all_and_changed_by_their_owner(
    store: Store, alice: Scope, bob: Scope, admin: Scope
) -> None:
    shared = make(store, alice, "shared/prompt.md", b"hello", is_public=True)
    private = make(store, alice, "private.md", b"mine")
    bobs = make(store, bob, "bob.md", b"bob")
    assert store.resources.get(bob, shared.id).content == b"hello"
    with pytest.raises(RecordNotFoundError):
        store.resources.update(bob, shared.id, content=b"defaced")
    with pytest.raises(RecordNotFoundError):
        store.resources.delete(bob, shared.id)
    with pytest.raises(RecordNotFoundError):  # a path is looked up among one's own
        store.resources.get_by_path(bob, "shared/prompt.md")
    assert store.resources.get(alice, shared.id).content == b"hello"

    def ids(scope: Scope, public: str) -> set[str]:
        return {r.id for r in walk(store.resources.list, limit=2, scope=scope, public=public)}

    assert ids(bob, "exclude") == {bobs.id}
    assert ids(bob, "include") == {bobs.id, shared.id}
    assert ids(bob, "only") == {shared.id}
    assert ids(alice, "only") == {shared.id}
    assert ids(alice, "include") == {shared.id, private.id}
    assert ids(admin, "exclude") == {shared.id, private.id, bobs.id}
    with pytest.raises(ValueError, match="public"):
        store.resources.list(bob, public="everything")
    store.resources.update(admin, shared.id, is_public=False)
    with pytest.raises(RecordNotFoundError):
        store.resources.get(bob, shared.id)


def test_list_filters_and_pages_without_content(store: Store, alice: Scope, bob: Scope) -> None:
    greet = make(store, alice, "prompts/greet.md", b"Hi {{$.name}}", type="prompt",
                 tags=["email", "onboarding"], description="Welcome MAIL")  # fmt: skip
    promo = make(store, alice, "prompts/promo.md", b"Buy", type="prompt", tags=["email"])
    data = make(store, alice, "data/50%_off.json", b"{}", type="data", name="Sale",
                tags=['say "hi"', "été"])  # fmt: skip
    image = make(store, alice, "img/logo.png", BINARY, type="image", name="a_b logo")
    make(store, bob, "prompts/bob.md", b"bob", type="prompt", tags=["email"])

    def found(**filters) -> list[str]:
        return [r.id for r in walk(store.resources.list, limit=2, scope=alice, **filters)]

    assert found() == [image.id, data.id, promo.id, greet.id]
    assert found(type="prompt") == [promo.id, greet.id]
    assert found(type="audio") == []
    assert found(tags=["email"]) == [promo.id, greet.id]
    assert found(tags=["email", "onboarding"]) == [greet.id]  # all of them
    assert found(tags=["email", "nope"]) == []
    assert found(tags=['say "hi"']) == [data.id]  # quotes and accents inside JSON
    assert found(tags=["été"]) == [data.id]
    assert found(tags=["Email"]) == []  # tags match exactly
    assert found(search="mail") == [greet.id]  # the description, any case
    assert found(search="GREET") == [greet.id]  # the path
    assert found(search="sale") == [data.id]  # the name
    assert found(search="50%") == [data.id]  # % is a plain character
    assert found(search="%") == [data.id]
    assert found(search="a_b") == [image.id]  # so is _
    assert found(search="prompts/", type="prompt", tags=["email"]) == [promo.id, greet.id]
    assert found(path_prefix="prompts/") == [promo.id, greet.id]
    assert found(path_prefix="Prompts/") == []

    listed = store.resources.list(alice, limit=10).items
    assert all(r.content == b"" for r in listed)
    by_id = {r.id: r for r in listed}
    assert (by_id[image.id].size, by_id[image.id].checksum) == (image.size, image.checksum)
    assert by_id[greet.id].tags == ["email", "onboarding"]


def test_a_list_never_reads_the_content(store: Store, alice: Scope) -> None:
    """A page of 200 images must not cost gigabytes: SQL lists do not select the content."""
    make(store, alice, "img/big.png", b"x" * 100_000)
    engine = getattr(store, "engine", None)
    if engine is None:
        pytest.skip("ci-ok: the memory store keeps every row in memory anyway")
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        listed = store.resources.list(alice, tags=["a"]).items + store.resources.list(alice).items
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [r.content for r in listed] == [b""]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects and not any("resources.content" in s for s in selects), selects
