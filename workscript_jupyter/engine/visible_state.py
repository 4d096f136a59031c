"""The state a user sees: a run's state without the engine's bookkeeping keys.

The engine keeps two keys in the state for the original's workflows to read: ``_edgeContext``
(the data of the edge that led to the current node, executor.py) and ``_lastStateSet`` (the last
state setter's write, setter.py). They stay in the state while a run goes (a node or a later
step may read them), but they are not results: every output a user sees — the CLI, the REST run
records and answers, the ``%%workflow`` handle's ``state`` and summary — shows
``visible_state(state)``, as the original's API did. Other keys starting with ``_`` are the
user's own and are kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final, overload

__all__ = ["INTERNAL_KEYS", "VisibleStateView", "visible_state"]

INTERNAL_KEYS: Final = frozenset({"_edgeContext", "_lastStateSet"})


@overload
def visible_state(state: Mapping[str, Any]) -> dict[str, Any]: ...
@overload
def visible_state(state: None) -> None: ...


def visible_state(state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A shallow copy of ``state`` without the internal keys. None (no state yet) and a state
    that is not an object (one stored as text because it was not JSON) come back as they are."""
    if not isinstance(state, Mapping):
        return state
    return {key: value for key, value in state.items() if key not in INTERNAL_KEYS}


class VisibleStateView(Mapping[str, Any]):
    """A live, read-only view of a run's state without the internal keys: it follows the run
    (a monitor attached to it redraws what the run has written since), unlike a copy."""

    __slots__ = ("_state",)

    def __init__(self, state: Mapping[str, Any]) -> None:
        self._state = state

    def __getitem__(self, key: str) -> Any:
        if key in INTERNAL_KEYS:
            raise KeyError(key)
        return self._state[key]

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._state if key not in INTERNAL_KEYS)

    def __len__(self) -> int:
        return sum(1 for key in self._state if key not in INTERNAL_KEYS)

    def __repr__(self) -> str:
        return repr(dict(self))
