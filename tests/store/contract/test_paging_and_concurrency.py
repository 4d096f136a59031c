"""Keyset paging that stays exact while rows are inserted, and calls from many threads."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workscript_jupyter.errors import ConflictError
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import ExecutionRecord, Page, Scope, new_id

from .conftest import walk

Maker = Callable[[Store, Scope, int], Any]
Lister = Callable[..., Page]

FAMILIES: dict[str, tuple[Maker, Callable[[Store, Scope], Lister]]] = {
    "workflows": (
        lambda s, sc, i: s.workflows.create(sc, name=f"w{i}", definition={"i": i}),
        lambda s, sc: lambda **kw: s.workflows.list(sc, **kw),
    ),
    "executions": (
        lambda s, sc, i: s.executions.create(sc, workflow_id="wf", trigger_data={"i": i}),
        lambda s, sc: lambda **kw: s.executions.list(sc, **kw),
    ),
    "executions-by-workflow": (
        lambda s, sc, i: s.executions.create(sc, workflow_id="wf", status="completed"),
        lambda s, sc: (
            lambda **kw: s.executions.list(sc, workflow_id="wf", status="completed", **kw)
        ),
    ),
    "automations": (
        lambda s, sc, i: s.automations.create(sc, name=f"a{i}", trigger_type="manual"),
        lambda s, sc: lambda **kw: s.automations.list(sc, **kw),
    ),
    "resources": (
        lambda s, sc, i: s.resources.create(
            sc, path=f"r/{i}-{new_id()}", name=f"r{i}", content=str(i).encode()
        ),
        lambda s, sc: lambda **kw: s.resources.list(sc, **kw),
    ),
    "ai-usage": (
        lambda s, sc, i: s.ai.add_usage(
            sc, model="m", prompt_tokens=i, completion_tokens=0, cost=0
        ),
        lambda s, sc: lambda **kw: s.ai.list_usage(sc, **kw),
    ),
    "users": (
        lambda s, sc, i: s.users.create(f"user-{i}-{new_id()}"),
        lambda s, sc: lambda **kw: s.users.list(**kw),
    ),
}


def _check_walk(seen: list[Any], initial: set[str], inserted: set[str]) -> None:
    ids = [row.id for row in seen]
    assert len(ids) == len(set(ids)), "a row was returned twice"
    missing = initial - set(ids)
    assert not missing, f"{len(missing)} rows that existed at the start were skipped"
    assert set(ids) <= initial | inserted
    keys = [(row.created_at, row.id) for row in seen]
    assert keys == sorted(keys, reverse=True), "not newest first"


@pytest.mark.parametrize("family", FAMILIES)
def test_paging_while_rows_are_inserted(store: Store, alice: Scope, family: str) -> None:
    make, lister = FAMILIES[family]
    initial = {make(store, alice, i).id for i in range(23)}
    if family == "users":
        initial |= {alice.user_id}
    list_page = lister(store, alice)

    inserted: set[str] = set()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        i = 1000
        try:
            while not stop.is_set() and i < 1060:
                inserted.add(make(store, alice, i).id)
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[Any] = []
    cursor: str | None = None
    try:
        for step in range(200):
            page = list_page(limit=4, cursor=cursor)
            assert len(page.items) <= 4
            seen.extend(page.items)
            inserted.add(make(store, alice, 2000 + step).id)  # interleaved, between pages
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    assert cursor is None
    _check_walk(seen, initial, inserted)


def test_paging_through_equal_timestamps(store: Store, alice: Scope) -> None:
    same = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        ExecutionRecord(id=new_id(), owner_id=alice.user_id, status="completed", created_at=same)
        for _ in range(30)
    ]
    store.executions.create_many(rows)
    seen = walk(store.executions.list, limit=7, scope=alice)
    assert [r.id for r in seen] == sorted((r.id for r in rows), reverse=True)


def test_paging_while_older_and_newer_rows_arrive(store: Store, alice: Scope) -> None:
    """Rows inserted with any timestamp, even behind the cursor, never cause a repeat or a gap."""
    rng = random.Random(5)
    base = datetime(2024, 2, 1, tzinfo=UTC)

    def batch(n: int) -> list[ExecutionRecord]:
        return [
            ExecutionRecord(
                id=new_id(),
                owner_id=alice.user_id,
                status="completed",
                created_at=base + timedelta(seconds=rng.randrange(0, 40)),  # many ties
            )
            for _ in range(n)
        ]

    start = batch(40)
    store.executions.create_many(start)
    seen: list[ExecutionRecord] = []
    inserted: set[str] = set()
    cursor: str | None = None
    while True:
        page = store.executions.list(alice, limit=6, cursor=cursor)
        seen.extend(page.items)
        more = batch(5)
        store.executions.create_many(more)
        inserted |= {r.id for r in more}
        cursor = page.next_cursor
        if cursor is None:
            break
    _check_walk(seen, {r.id for r in start}, inserted)


def test_page_shape(store: Store, alice: Scope) -> None:
    for i in range(5):
        store.workflows.create(alice, name=f"w{i}", definition={})
    first = store.workflows.list(alice, limit=5)
    assert len(first.items) == 5 and isinstance(first.items, tuple)
    last = store.workflows.list(
        alice, limit=2, cursor=store.workflows.list(alice, limit=3).next_cursor
    )
    assert len(last.items) == 2 and last.next_cursor is None
    assert store.workflows.list(alice, limit=10).next_cursor is None
    empty = store.executions.list(alice)
    assert empty.items == () and empty.next_cursor is None


def test_other_owners_rows_inserted_while_paging_stay_invisible(
    store: Store, alice: Scope, bob: Scope
) -> None:
    mine = {store.executions.create(alice).id for _ in range(9)}
    seen: list[ExecutionRecord] = []
    cursor: str | None = None
    while True:
        page = store.executions.list(alice, limit=2, cursor=cursor)
        seen.extend(page.items)
        store.executions.create(bob)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [r.id for r in seen if r.id in mine] == [r.id for r in seen]
    assert {r.id for r in seen} == mine and len(seen) == len(mine)


def test_creates_from_many_threads(store: Store, alice: Scope) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create(n: int) -> None:
        try:
            barrier.wait()
            for i in range(15):
                store.executions.create(alice, trigger_data={"thread": n, "i": i})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(walk(store.executions.list, limit=25, scope=alice)) == 60


def test_racing_for_one_username(store: Store) -> None:
    barrier = threading.Barrier(5)
    won: list[str] = []
    lost: list[str] = []
    other: list[BaseException] = []

    def register(n: int) -> None:
        barrier.wait()
        try:
            won.append(store.users.create("Racer" if n % 2 else "racer").id)
        except ConflictError:
            lost.append(str(n))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            other.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not other, other
    assert len(won) == 1 and len(lost) == 4
    found = store.users.find(username="RACER")
    assert found is not None and found.id == won[0]
