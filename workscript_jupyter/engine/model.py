"""The parsed form of a workflow: what the executor walks. Built only by ``engine.parse``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from .state import Resolver, StatePath, compile_value, copy_json

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


_UNCOMPILED: Final[Any] = object()  # NodeStep._resolve before the step's first run


@dataclass(slots=True, eq=False)
class NodeStep:
    """One node as written in the document, located by its JSON pointer ``path``.

    Read-only by convention: not frozen, because a frozen dataclass costs three times as much
    to build, and a 1,000-step workflow builds a thousand of them at every load.

    The parameters are compiled into a resolver (``state.compile_value``) when the step first
    runs, not when the workflow is parsed: compiling costs more than the rest of the parse, and
    validating a workflow never needs it, nor does a run need it for the branches it does not
    take. Compiling cannot fail (a string that is not a reference is a literal; a test holds
    ``compile_value`` to that), so deferring it hides no error from validation.
    """

    key: str
    type: str
    path: str
    loop: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    edges: Mapping[str, Target] = field(default_factory=dict)
    timeout: float | None = None
    retry: RetryPolicy | None = None
    setter: StatePath | None = None
    _resolve: Any = field(default=_UNCOMPILED, init=False, repr=False)
    _literal_containers: bool = field(default=False, init=False, repr=False)

    @property
    def resolve(self) -> Resolver | None:
        """The resolver of the parameters; None when they hold no reference (literals)."""
        resolve = self._resolve
        if resolve is _UNCOMPILED:
            resolve = self._compile()
        return resolve  # type: ignore[no-any-return]

    @property
    def literal_containers(self) -> bool:
        """Whether literal parameters hold lists or objects (a run hands out copies of those)."""
        if self._resolve is _UNCOMPILED:
            self._compile()
        return self._literal_containers

    def resolved_params(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        resolve = self._resolve
        if resolve is _UNCOMPILED:
            resolve = self._compile()
        if resolve is None:
            if self._literal_containers:  # nodes may keep and change what they are given
                return copy_json(self.params)  # type: ignore[no-any-return]
            return dict(self.params)
        resolved: dict[str, Any] = resolve(scope)
        return resolved

    def _compile(self) -> Resolver | None:
        # two threads may both compile a step on its first run: the same resolver either way
        resolve = compile_value(self.params)
        self._literal_containers = any(isinstance(v, (dict, list)) for v in self.params.values())
        self._resolve = resolve
        return resolve


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
