"""Fixtures of the service tests: a ``WorkscriptService`` on a ``MemoryStore``.

Tests are plain functions that call ``serve(body)``: it runs ``await body(service)`` on a fresh
event loop with a started service, stops the service afterwards and checks that no task of it is
left behind. The store outlives the loop, so a test can start a second service on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from workscript_jupyter.engine import Event, EventBus, NodeRegistry
from workscript_jupyter.service import RunLimits, WorkscriptService
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.memory import MemoryStore
from workscript_jupyter.store.records import Scope

Body = Callable[[WorkscriptService], Awaitable[Any]]


def document(*steps: Any, id: str = "wf", **extra: Any) -> dict[str, Any]:
    """A workflow document: ``document({"$.a": 1}, initialState={...})``."""
    return {
        "id": id,
        "name": f"workflow {id}",
        "version": "1.0.0",
        "workflow": list(steps),
        **extra,
    }


def waiting(seconds: float, *, id: str = "wait") -> dict[str, Any]:
    """A workflow that sleeps ``seconds`` then sets ``$.done``."""
    return document({"wait": {"seconds": seconds}}, {"$.done": True}, id=id)


class Recorder:
    """A bus listener keeping every event, and what the store said when it arrived."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.events: list[Event] = []
        self.status_at_event: list[tuple[str, str]] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if event.type.startswith("workflow:"):
            record = self.store.executions.get(Scope("x", is_admin=True), event.execution_id)
            self.status_at_event.append((event.type, record.status))

    def of(self, execution_id: str) -> list[Event]:
        return [e for e in self.events if e.execution_id == execution_id]

    def types(self, execution_id: str) -> list[str]:
        return [e.type for e in self.of(execution_id)]


@pytest.fixture
def store() -> Store:
    return MemoryStore()


@pytest.fixture
def make_service(store: Store, registry: NodeRegistry) -> Callable[..., WorkscriptService]:
    def make(**options: Any) -> WorkscriptService:
        options.setdefault("server_id", "test-server")
        options.setdefault("limits", RunLimits())
        options.setdefault("bus", EventBus())
        return WorkscriptService(options.pop("store", store), registry, **options)

    return make


@pytest.fixture
def serve(make_service: Callable[..., WorkscriptService]) -> Callable[..., Any]:
    """``serve(body, **service_options)`` → what ``body(service)`` returned."""

    def _serve(body: Body, **options: Any) -> Any:
        async def main() -> Any:
            service = make_service(**options)
            await service.start()
            try:
                return await body(service)
            finally:
                await service.stop()
                left = [
                    t
                    for t in asyncio.all_tasks()
                    if t is not asyncio.current_task() and not t.done()
                ]
                assert left == [], f"tasks left behind: {left}"

        return asyncio.run(main())

    return _serve
