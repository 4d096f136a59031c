"""How large a run's state is: a running estimate, checked as values are written.

A run's state is bounded by ``EngineLimits.max_state_bytes`` (``max_state_mb``), so that a tiny
workflow that doubles a string or a list in a loop fails in a moment instead of eating the
server's memory. The check must cost next to nothing on the hot path, so nothing ever walks the
whole state:

- ``RunState`` is the run's state: a dict that notes which top-level keys were written (a node's
  ``ctx.state[key] = value``, ``update``, ``pop``...);
- every 5 ms of a run (and at its end), ``StateBudget.settle`` measures only those keys' new
  values and keeps a total (replacing a key subtracts its old estimate). ``measure`` is a
  bounded walk: it estimates the size and stops as soon as it passes the budget left, so a 1 GB
  value costs no more than the limit; a value seen twice in one walk (``[$.l, $.l]``) is walked
  once (and counted each time it appears);
- before a state setter copies and writes its value, and before a ``{{$.x}}`` template joins its
  parts (``state.py``), the size is checked first, so the over-large value is never built;
- the rows of the initial state's long lists, when a node puts them in a list of its own (a
  filter's passed rows, a sort's sorted ones), are counted at an estimate instead of walked
  (``InitialRows``): walking 10,000 rows costs more than filtering them.

The engine's bookkeeping keys (``_edgeContext``, ``_lastStateSet``) are not counted: they hold
values already counted, and they are not part of what is stored or shown (``visible_state``).
The edge data a node returns (its output) is measured on its own against the same limit.
What a node changes in place deep inside a value it did not write is not seen until that key is
written again; the initial state is bounded by the size of the request that brought it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..errors import StateTooLargeError, ValueTooDeepError
from .limits import format_mb
from .model import SETTER, NodeStep
from .visible_state import INTERNAL_KEYS

__all__ = ["MAX_MEASURE_DEPTH", "InitialRows", "RunState", "StateBudget", "describe", "measure"]

_set_item = dict.__setitem__
MAX_MEASURE_DEPTH: Final = 512
REMOVED: Final = "[removed: this value took the run's state past max_state_mb]"
_EDGE_KEY: Final = "_edgeContext"
SAMPLES: Final = 32
LONG: Final = 4 * SAMPLES  # a list longer than this may be estimated from samples of it
_BIG: Final = 10**15  # ints within this are one small object; beyond, digits are counted
# estimated bytes (CPython 64-bit, rounded): a str's header, a number, a list's and a dict's
# header, a list item (a pointer), a dict entry (hash, key and value pointers, spare room)
_STR, _NUM, _LIST, _DICT, _ITEM, _ENTRY = 50, 32, 56, 64, 8, 40


class RunState(dict[str, Any]):
    """A run's state. A plain dict to nodes; notes each top-level key written, and by which
    step (``writer``, set by the executor before each node), in ``written``.

    ``max_text`` is the longest text a ``{{$.x}}`` template may build (None: no limit).
    """

    __slots__ = ("max_text", "writer", "written")

    def __init__(self, data: Mapping[str, Any] = {}, *, max_text: int | None = None) -> None:
        dict.__init__(self, data)
        self.written: dict[str, Any] = {}
        self.writer: NodeStep | None = None
        self.max_text = max_text

    def __setitem__(self, key: str, value: Any) -> None:  # the one hook on the hot path
        _set_item(self, key, value)
        self.written[key] = self.writer

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self.written[key] = self.writer

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> RunState:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def pop(self, key: str, *default: Any) -> Any:
        self.written[key] = self.writer
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Any]:
        key, value = dict.popitem(self)
        self.written[key] = self.writer
        return key, value

    def clear(self) -> None:
        self.written.update(dict.fromkeys(self, self.writer))
        dict.clear(self)


def measure(value: Any, budget: int, memo: dict[int, int] | None = None) -> int:
    """The estimated size of ``value`` in bytes, or a number over ``budget`` as soon as the walk
    passes it. ``memo`` (id → size of a container measured in this walk) makes a value that
    appears many times cost one walk. A value nested deeper than ``MAX_MEASURE_DEPTH`` (or
    containing itself) raises ValueTooDeepError.

    The estimate is of the memory the value takes in Python (a string its length plus its
    header, a list 8 bytes an item plus its header...), which is also more than its JSON text:
    so a state within the limit stays within it in memory and when stored."""
    kind = type(value)
    if kind is str:
        return len(value) + _STR
    if kind is dict or kind is list:
        return _container(value, budget, {} if memo is None else memo, 0)
    if kind is int:
        return _NUM if -_BIG < value < _BIG else _scalar(value)
    if kind is float or kind is bool or value is None:
        return _NUM
    if isinstance(value, (dict, list, tuple)):
        return _container(value, budget, {} if memo is None else memo, 0)
    return _scalar(value)


def _scalar(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + _STR
    if isinstance(value, int) and not isinstance(value, bool) and not -_BIG < value < _BIG:
        return (value.bit_length() * 77 >> 8) + _NUM  # log10(2) ≈ 77/256: its decimal digits
    if isinstance(value, (bytes, bytearray)):
        return len(value) + _STR
    return _NUM  # numbers, booleans, null; other objects are written with str()


def _container(value: Any, budget: int, memo: dict[int, int], depth: int) -> int:
    known = memo.get(id(value))
    if known is not None:
        return known
    if depth >= MAX_MEASURE_DEPTH:
        raise ValueTooDeepError(
            f"a value is nested more than {MAX_MEASURE_DEPTH} levels deep (or contains itself)"
        )
    if isinstance(value, dict):
        total = _DICT
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                total += len(item) + _STR + _ENTRY
            elif kind is dict or kind is list or kind is tuple:
                total += _ENTRY + _container(item, budget - total, memo, depth + 1)
            elif (
                (kind is int and -_BIG < item < _BIG)
                or kind is float
                or kind is bool
                or item is None
            ):
                total += _NUM + _ENTRY
            else:
                total += _ENTRY + (
                    _container(item, budget - total, memo, depth + 1)
                    if isinstance(item, (dict, list, tuple))
                    else _scalar(item)
                )
            total += len(key) if type(key) is str else _NUM
            if total > budget:
                return total
    else:
        if len(value) > LONG and id(value[0]) in memo and id(value[-1]) in memo:
            # rows all known already (the initial state's, or measured in this walk): summed
            # without a step of Python per row (the ends are looked at first: a list of new
            # rows is not passed over twice)
            try:
                total = _LIST + len(value) * _ITEM + sum(map(memo.get, map(id, value)))  # type: ignore[arg-type]
            except TypeError:  # a row not known (None): walked below
                pass
            else:
                memo[id(value)] = total
                return total
        total = _LIST
        for item in value:
            kind = type(item)
            if kind is str:
                total += len(item) + _STR + _ITEM
            elif kind is dict or kind is list or kind is tuple:
                known = memo.get(id(item))  # looked up here: a call per row costs as much
                if known is None:
                    known = (
                        _flat_dict(item, budget - total, memo, depth + 1)
                        if kind is dict and depth + 1 < MAX_MEASURE_DEPTH
                        else _container(item, budget - total, memo, depth + 1)
                    )
                total += _ITEM + known
            elif (
                (kind is int and -_BIG < item < _BIG)
                or kind is float
                or kind is bool
                or item is None
            ):
                total += _NUM + _ITEM
            else:
                total += _ITEM + (
                    _container(item, budget - total, memo, depth + 1)
                    if isinstance(item, (dict, list, tuple))
                    else _scalar(item)
                )
            if total > budget:
                return total
    memo[id(value)] = total
    return total


def _flat_dict(value: dict[Any, Any], budget: int, memo: dict[int, int], depth: int) -> int:
    """A row of a table (a dict of scalars, the common case) measured without a call per
    field; a nested container goes back to ``_container``."""
    total = _DICT
    for key, item in value.items():
        kind = type(item)
        if kind is str:
            total += len(item) + _STR + _ENTRY
        elif (kind is int and -_BIG < item < _BIG) or kind is float or kind is bool or item is None:
            total += _NUM + _ENTRY
        elif isinstance(item, (dict, list, tuple)):
            total += _ENTRY + _container(item, budget - total, memo, depth + 1)
        else:
            total += _ENTRY + _scalar(item)
        total += len(key) if type(key) is str else _NUM
    if total <= budget:
        memo[id(value)] = total
    return total


def sampled_size(value: Any, budget: int, memo: dict[int, int], depth: int = 0) -> int:
    """Like ``measure``, but a long list is estimated from ``SAMPLES`` of its items spread
    over it: for a node's output (edge data), which is neither stored nor shown, and whose
    rows are usually the state's own rows again."""
    if depth >= MAX_MEASURE_DEPTH:
        raise ValueTooDeepError(
            f"a value is nested more than {MAX_MEASURE_DEPTH} levels deep (or contains itself)"
        )
    if type(value) is dict:
        total = _DICT
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                total += len(item) + _STR + _ENTRY
            elif kind is dict or kind is list:
                total += _ENTRY + sampled_size(item, budget - total, memo, depth + 1)
            else:
                total += _ENTRY + measure(item, budget - total, memo)
            total += len(key) if type(key) is str else _NUM
            if total > budget:
                break
        return total
    if type(value) is list and len(value) > LONG:
        count = len(value)
        step = count / SAMPLES
        seen = sum(
            sampled_size(value[int(i * step)], budget, memo, depth + 1) for i in range(SAMPLES)
        )
        return _LIST + count * _ITEM + seen * count // SAMPLES
    return measure(value, budget, memo)


def describe(step: NodeStep) -> str:
    """How a step is named in a message: ``node 'math' at /workflow/0/math``."""
    if step.type == SETTER:
        return f"the state setter {step.key!r} at {step.path}"
    return f"node {step.type!r} at {step.path}"


class InitialRows:
    """The rows of the initial state's long lists, each with an estimate of its size.

    The initial state is not counted: it is bounded by the request that brought it. A node that
    puts its rows in a new list (a filter, a sort) makes the state grow by them again, and they
    count again, but at the average size of ``SAMPLES`` rows of their list instead of walked
    one by one. The averages are sampled again at each use, so rows changed in place are seen
    (on average). What the run builds itself is always walked.
    """

    __slots__ = ("_averages", "_lists", "sizes")

    def __init__(self, state: Mapping[str, Any]) -> None:
        # shallow copies keep the rows alive: no other object can take one's id meanwhile
        self._lists = [list(v) for v in state.values() if type(v) is list and len(v) > LONG]
        self._averages = [-1] * len(self._lists)
        self.sizes: dict[int, int] = {}  # id of a row -> its estimated size

    def __bool__(self) -> bool:
        return bool(self._lists)

    def refresh(self, budget: int) -> dict[int, int]:
        """``sizes``, with each list's average sampled again (a list whose average moved by
        more than an eighth has its rows' estimates replaced)."""
        for index, rows in enumerate(self._lists):
            step = len(rows) / SAMPLES
            memo: dict[int, int] = {}
            try:
                average = sum(measure(rows[int(i * step)], budget, memo) for i in range(SAMPLES))
            except ValueTooDeepError:  # not estimated: such rows are walked (and refused) as any
                continue
            average //= SAMPLES
            known = self._averages[index]
            if known < 0 or abs(average - known) * 8 > known:
                self._averages[index] = average
                if self.sizes:
                    self.sizes.update(dict.fromkeys(map(id, rows), average))
                else:
                    self.sizes = dict.fromkeys(map(id, rows), average)
        return self.sizes


class StateBudget:
    """The running size estimate of one run's state, against ``limit`` bytes. ``initial``: the
    run's state before any node ran (whose long lists' rows are estimated, ``InitialRows``)."""

    __slots__ = ("_initial", "limit", "sizes", "total")

    def __init__(self, limit: int, initial: Mapping[str, Any] | None = None) -> None:
        self.limit = limit
        self.sizes: dict[str, int] = {}
        self.total = 0
        self._initial = InitialRows(initial) if initial else None

    def _memo(self, state: RunState, keys: Iterable[str]) -> dict[int, int]:
        """The memo a settle starts with: the initial rows' estimates when one of ``keys`` holds
        a list or an object (a copy: what the walk adds holds for this settle only)."""
        initial = self._initial
        if initial:
            for key in keys:
                kind = type(state.get(key))
                if (kind is list or kind is dict) and key not in INTERNAL_KEYS:
                    return initial.refresh(self.limit).copy()
        return {}

    def failure(self, step: NodeStep, key: str) -> StateTooLargeError:
        return StateTooLargeError(
            f"the run's state reached {format_mb(self.limit)}, the limit (max_state_mb): "
            f"{describe(step)} wrote $.{key}",
            key=key,
            limit_bytes=self.limit,
        )

    def check_write(self, key: str, value: Any, step: NodeStep) -> None:
        """Before ``value`` is written under ``key`` (a state setter): refuse it if it cannot
        fit, so that it is never copied or stored."""
        allowance = self.limit - self.total + self.sizes.get(key, 0)
        if measure(value, allowance) > allowance:
            raise self.failure(step, key)

    def settle(self, state: RunState, last: NodeStep) -> None:
        """Measure the keys written since the last call. Past the limit, each key that does not
        fit is replaced by a short note (so the state that is kept stays within the limit), the
        bookkeeping keys are dropped, and StateTooLargeError names the first such key and the
        step that wrote it (``last`` when unknown)."""
        written = state.written
        if not written:
            return
        state.written = {}
        sizes = self.sizes
        memo = self._memo(state, written)
        over: list[str] = []
        for key in written:
            if key in INTERNAL_KEYS or key not in state:
                self.total -= sizes.pop(key, 0)
                continue
            self.total -= sizes.pop(key, 0)
            value = dict.__getitem__(state, key)
            try:
                size = measure(value, self.limit - self.total, memo)
            except ValueTooDeepError as exc:
                step = written[key] or last
                raise ValueTooDeepError(f"{describe(step)} wrote $.{key}: {exc.message}") from None
            if self.total + size > self.limit:
                over.append(key)
                continue
            sizes[key] = size
            self.total += size
        if over:
            self._remove(state, over)
            raise self.failure(written[over[0]] or last, over[0])
        # last, with the memo of the state's values: a node's output often holds them again
        edge = dict.get(state, _EDGE_KEY) if _EDGE_KEY in written else None
        if edge is not None and sampled_size(edge, self.limit, memo) > self.limit:
            dict.pop(state, _EDGE_KEY)
            who = describe(written[_EDGE_KEY] or last)
            raise StateTooLargeError(
                f"the output of {who} is larger than {format_mb(self.limit)}, the limit of a "
                "run's state (max_state_mb)",
                key=_EDGE_KEY,
                limit_bytes=self.limit,
            )

    def _remove(self, state: RunState, keys: Iterable[str]) -> None:
        for key in keys:
            dict.__setitem__(state, key, REMOVED)
            self.sizes[key] = len(REMOVED) + _STR
            self.total += len(REMOVED) + _STR
        for key in INTERNAL_KEYS:
            dict.pop(state, key, None)
        state.written = {}
