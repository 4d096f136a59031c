"""Run events and a small in-process bus (WORKFLOW-LANGUAGE.md §5).

The executor calls one ``on_event`` callable, or nothing at all: with no listener no event object
is ever built, so an unobserved run pays nothing for events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["EVENT_TYPES", "Event", "EventBus", "Listener"]

EVENT_TYPES: Final = (
    "workflow:started",
    "node:started",
    "node:completed",
    "node:failed",
    "workflow:completed",
    "workflow:failed",
    "workflow:cancelled",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    execution_id: str
    workflow_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)

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
