"""UsageWriter: usage rows of completions that end together go to the store in groups, each
caller still awaiting its own row; a bad row fails its own caller only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.errors import RecordNotFoundError
from workscript_jupyter.service.ai_usage_writer import UsageWriter
from workscript_jupyter.store import migrate
from workscript_jupyter.store.records import AiUsage, Scope, new_id
from workscript_jupyter.store.sql import SqlStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    url = f"sqlite:///{tmp_path / 'usage.sqlite'}"
    migrate.upgrade(url)
    store = SqlStore.from_url(url)
    yield store
    store.close()


class CountingAi:
    """The real AI store, counting its transactions of usage rows."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.groups: list[int] = []

    def add_usages(self, usages: list[AiUsage]) -> None:
        self.groups.append(len(usages))
        self._real.add_usages(usages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class Counting:
    def __init__(self, store: SqlStore) -> None:
        self.ai = CountingAi(store.ai)


def usage(owner_id: str) -> AiUsage:
    return AiUsage(new_id(), owner_id, "openai/gpt-4o", 10, 5, 0.001)


def test_rows_ending_together_are_written_in_groups(store: SqlStore) -> None:
    alice = store.users.create("alice")
    counting = Counting(store)
    writer = UsageWriter(counting)  # type: ignore[arg-type]

    async def main() -> None:
        await asyncio.gather(*(writer.add(usage(alice.id)) for _ in range(50)))
        await writer.close()

    asyncio.run(main())
    assert len(store.ai.list_usage(Scope(alice.id), limit=100).items) == 50
    assert sum(counting.ai.groups) == 50
    assert len(counting.ai.groups) < 50, counting.ai.groups  # at most one commit per call


def test_a_bad_row_fails_its_own_caller_only(store: SqlStore) -> None:
    alice = store.users.create("alice")
    writer = UsageWriter(store)

    async def main() -> list[Any]:
        rows = [usage(alice.id), usage("no-such-user"), usage(alice.id)]
        return await asyncio.gather(*(writer.add(r) for r in rows), return_exceptions=True)

    first, bad, third = asyncio.run(main())
    assert first is None and third is None
    assert isinstance(bad, RecordNotFoundError)
    assert len(store.ai.list_usage(Scope(alice.id)).items) == 2
