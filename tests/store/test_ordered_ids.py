"""Runs and fires get time-ordered ids (UUIDv7 hex), every other row a random uuid4.

A run's primary key then grows at its right edge, so inserting a scheduler pass's 1,000 runs
touches a few pages of the key instead of 1,000 random ones (bench/history.py, docs/storage.md).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from workscript_jupyter.store.base import Store
from workscript_jupyter.store.memory import MemoryStore
from workscript_jupyter.store.records import FireClaim, Scope, new_id, new_ordered_id


def _millis(hex_id: str) -> int:
    return int(hex_id[:12], 16)


def test_an_ordered_id_is_a_uuid7_that_starts_with_its_time() -> None:
    before = time.time_ns() // 1_000_000
    made = new_ordered_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(made)
    assert len(made) == 32 and parsed.hex == made
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert before <= _millis(made) <= after
    assert len({new_ordered_id() for _ in range(10_000)}) == 10_000  # random below the time


def test_ids_made_later_sort_later() -> None:
    first = new_ordered_id()
    time.sleep(0.002)
    assert new_ordered_id() > first


def test_plain_ids_stay_random() -> None:
    """``new_id`` is used where a prefix must be random (a username suffix) or a value secret."""
    made = new_id()
    assert uuid.UUID(made).version == 4
    assert len({new_id()[:6] for _ in range(200)}) > 190


def _check_store(store: Store) -> None:
    admin = Scope(store.users.create("ids-admin", roles=("admin",)).id, is_admin=True)
    run = store.executions.create(admin)
    automation = store.automations.create(admin, name="a", trigger_type="cron")
    fire = store.fires.claim(automation.id, datetime(2026, 1, 1, tzinfo=UTC), "server")
    many = store.fires.claim_many(
        [FireClaim(automation.id, datetime(2026, 1, 1, 0, n, tzinfo=UTC)) for n in (1, 2)], "s"
    )
    for made in (run.id, fire.id, *(f.id for f in many if f is not None)):
        assert uuid.UUID(made).version == 7, made
    assert uuid.UUID(automation.id).version == 4


def test_the_memory_store_orders_run_and_fire_ids() -> None:
    _check_store(MemoryStore())


def test_the_sql_store_orders_run_and_fire_ids(tmp_path) -> None:
    from workscript_jupyter.store import migrate
    from workscript_jupyter.store.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'ids.sqlite'}"
    migrate.upgrade(url)
    store = SqlStore.from_url(url)
    try:
        _check_store(store)
    finally:
        store.close()
