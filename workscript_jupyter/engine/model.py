"""The parsed form of a workflow: what the executor walks. Built only by ``engine.parse``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from .state import Resolver, StatePath, copy_json

__all__ = [
    "SETTER",
    "Jump",
    "NodeStep",
    "RetryPolicy",
    "Target",
    "Workflow",
]

SETTER: Final = "__state_setter__"
"""The node type of a state setter step (``{"$.a.b": value}``)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    delay_seconds: float = 1.0
    backoff: float = 2.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2, 3, ...)."""
        return self.delay_seconds * self.backoff ** (attempt - 2)


@dataclass(frozen=True, slots=True)
class Jump:
    """A top-level edge target naming another top-level step: the walk goes on from there."""

    index: int
    name: str


@dataclass(slots=True, eq=False)
class NodeStep:
    """One node as written in the document, located by its JSON pointer ``path``.

    Read-only by convention: not frozen, because a frozen dataclass costs three times as much
    to build, and a 1,000-step workflow builds a thousand of them at every load.
    """

    key: str
    type: str
    path: str
    loop: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    resolve: Resolver | None = None
    edges: Mapping[str, Target] = field(default_factory=dict)
    timeout: float | None = None
    retry: RetryPolicy | None = None
    setter: StatePath | None = None
    literal_containers: bool = False

    def resolved_params(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        if self.resolve is None:
            if self.literal_containers:  # nodes may keep and change what they are given
                return copy_json(self.params)  # type: ignore[no-any-return]
            return dict(self.params)
        resolved: dict[str, Any] = self.resolve(scope)
        return resolved


Target: TypeAlias = "Jump | tuple[NodeStep, ...] | None"


@dataclass(frozen=True, slots=True, eq=False)
class Workflow:
    id: str
    name: str
    version: str
    steps: tuple[NodeStep, ...]
    description: str = ""
    initial_state: Mapping[str, Any] = field(default_factory=dict)
    max_loop_iterations: int = 1000
    timeout_seconds: float | None = None
    on_unhandled_error: Literal["continue", "fail"] = "continue"
    document: Mapping[str, Any] = field(default_factory=dict)
