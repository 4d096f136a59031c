"""Run events and a small in-process bus (WORKFLOW-LANGUAGE.md §5).

The executor calls one ``on_event`` callable, or nothing at all: with no listener no event object
is ever built, so an unobserved run pays nothing for events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

__all__ = ["EVENT_TYPES", "Event", "EventBus", "Listener"]

EVENT_TYPES: Final = (
    "workflow:started",
    "node:started",
    "node:completed",
    "node:failed",
    "node:progress",
    "workflow:completed",
    "workflow:failed",
    "workflow:cancelled",
)

log = logging.getLogger(__name__)


class Event:
    """One thing that happened in a run. Built only when somebody listens.

    A plain slotted class rather than a frozen dataclass: a 4,000-node loop builds 8,000 of
    them, and a frozen dataclass costs several times as much to construct.
    """

    __slots__ = ("execution_id", "payload", "timestamp", "type", "workflow_id")

    def __init__(
        self,
        type: str,
        execution_id: str,
        workflow_id: str,
        payload: dict[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> None:
        self.type = type
        self.execution_id = execution_id
        self.workflow_id = workflow_id
        self.payload = payload if payload is not None else {}
        self.timestamp = time.time() if timestamp is None else timestamp

    def __repr__(self) -> str:
        return f"Event({self.type!r}, {self.payload!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.type, self.execution_id, self.workflow_id, self.payload) == (
            other.type,
            other.execution_id,
            other.workflow_id,
            other.payload,
        )

    __hash__ = None  # type: ignore[assignment]

    def to_message(self) -> dict[str, Any]:
        """The wire shape of the original: ``{type, payload, timestamp}`` (ms since epoch)."""
        payload = {"executionId": self.execution_id, "workflowId": self.workflow_id}
        payload.update(self.payload)
        return {"type": self.type, "payload": payload, "timestamp": int(self.timestamp * 1000)}


Listener = Callable[[Event], None]


class EventBus:
    """Fan-out of events to subscribers. A failing subscriber is logged, never fatal to a run."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self.unsubscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def publish(self, event: Event) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %s", listener, event.type)
