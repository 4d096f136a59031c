"""The one bounded matcher: every place a user's regular expression meets text goes through here.

A pattern of eight characters (``^(a|a)+$``) against 28 characters backtracks for minutes, and
Python's ``re`` can neither be interrupted nor release the GIL meanwhile: one such match froze a
whole server. So a user pattern is never matched with ``re``, and:

- **Length limits.** A pattern longer than ``LIMITS.pattern_length`` and a text longer than
  ``LIMITS.text_length`` are refused (``PatternLimitError`` naming the parameter).
- **Compile limit.** ``regex`` expands a counted repeat (``a{1000}``) when it compiles, in C,
  holding the GIL: ``((((a{50}){50}){50}){50})`` froze the process for 21 s before any match.
  The copies a pattern's counted repeats expand to (the minimum counts, multiplied through
  nesting, added along a sequence) may not exceed ``LIMITS.repetitions``.
- **Time limits.** Every match runs on the ``regex`` package with ``timeout`` (at most
  ``LIMITS.match_seconds`` per match) and ``concurrent=True`` (it releases the GIL). All the
  matches of one node run share a budget of ``LIMITS.node_seconds``, so 10,000 rows of slow
  matches cannot take hours. The first limit hit *trips* the budget: every later match of that
  node run fails at once, and the node takes its ``error`` edge.
- **Off the event loop.** A node that matches user patterns does that work through
  ``off_loop(ctx, work)``: ``work`` runs in a small dedicated thread pool while the server's
  event loop keeps serving requests. Nodes that match no user pattern never pay for the hop.
  A thread cannot be killed: a cancelled run's pattern work still ends within the budget.

A limit error names the node (type and id), the parameter (``conditions[0].value``,
``schema.properties.name.pattern``...) and the limit it hit. ``text_regex`` adds JavaScript
syntax (flags, named groups, ``$1`` replacements) on top of this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import regex as _engine  # re has no timeout and holds the GIL; regex has both answers

from ..engine import NodeContext
from ..errors import WorkscriptError

__all__ = [
    "LIMITS",
    "BoundedPattern",
    "PatternBudget",
    "PatternError",
    "PatternLimitError",
    "PatternLimits",
    "PatternSyntaxError",
    "bounded_compile",
    "in_progress",
    "off_loop",
    "pattern_too_long",
    "repetitions",
    "text_too_long",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PatternLimits:
    match_seconds: float = 2.0  # one search / finditer / sub
    node_seconds: float = 10.0  # every match of one node run together
    pattern_length: int = 500  # characters of a pattern
    text_length: int = 100_000  # characters of a text a pattern runs on
    repetitions: int = 100_000  # copies that counted repeats ({n}) expand to when compiled
    threads: int = 4  # the pattern thread pool


LIMITS = PatternLimits()
"""Read at every use (tests replace it with smaller limits)."""


class PatternError(WorkscriptError, ValueError):
    """A pattern, its flags or its text cannot be used; the message names the parameter."""

    code = "PATTERN_ERROR"


class PatternSyntaxError(PatternError):
    """The pattern does not compile (some nodes read that as "matches nothing", as the original)."""


class PatternLimitError(PatternError):
    """A length or time limit was hit; the message names the parameter and the limit."""

    code = "PATTERN_LIMIT"

    def __init__(self, param: str, reason: str) -> None:
        super().__init__(f"{param}: {reason}")
        self.param = param
        self.reason = reason

    def at(self, param: str) -> PatternLimitError:
        """The same limit, for a parameter named more precisely."""
        return PatternLimitError(param, self.reason)


class PatternBudget:
    """The time left to one node run's matches; tripped by the first limit it hits."""

    __slots__ = ("deadline", "failure")

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.failure: PatternLimitError | None = None

    def timeout(self, param: str) -> tuple[float, bool]:
        """The timeout of the next match, and whether it is the per-match limit (else the rest
        of the node's budget); raises when the budget is spent or tripped."""
        if self.failure is not None:
            raise self.failure
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.trip(_budget_spent(param))
        per_match = LIMITS.match_seconds
        return (per_match, True) if per_match <= left else (left, False)

    def trip(self, failure: PatternLimitError) -> PatternLimitError:
        if self.failure is None:
            self.failure = failure
        return self.failure


_BUDGET: contextvars.ContextVar[PatternBudget | None] = contextvars.ContextVar(
    "workscript_pattern_budget", default=None
)


def current_budget() -> PatternBudget:
    """The budget of the node run in progress; outside ``off_loop``, a fresh one per match."""
    budget = _BUDGET.get()
    return PatternBudget(LIMITS.node_seconds) if budget is None else budget


def _budget_spent(param: str) -> PatternLimitError:
    return PatternLimitError(
        param,
        f"the node's regular expressions took longer than {LIMITS.node_seconds:g} s in total "
        "(the limit per node run)",
    )


def _too_slow(param: str, seconds: float) -> PatternLimitError:
    return PatternLimitError(
        param,
        f"the regular expression took longer than {seconds:g} s on one text (the limit per "
        "match; catastrophic backtracking?); simplify the pattern",
    )


def text_too_long(param: str, length: int) -> PatternLimitError:
    return PatternLimitError(
        param,
        f"the text is {length} characters; regular expressions run on at most {LIMITS.text_length}",
    )


def pattern_too_long(param: str, length: int) -> PatternLimitError:
    return PatternLimitError(
        param,
        f"the pattern is {length} characters; at most {LIMITS.pattern_length} are allowed",
    )


@dataclass(frozen=True, slots=True)
class BoundedPattern:
    """A compiled user pattern whose every match is bounded in time and text length."""

    compiled: Any
    param: str

    def search(self, text: str) -> Any:
        """The first match in ``text``, or None."""
        return self._bounded(lambda timeout: self.compiled.search(text, **timeout), text)

    def finditer(self, text: str) -> Iterator[Any]:
        """Every match in ``text``, in order (the whole scan shares one time limit)."""
        found: list[Any] = self._bounded(
            lambda timeout: list(self.compiled.finditer(text, **timeout)), text
        )
        return iter(found)

    def sub(self, replace: Callable[[Any], str], text: str, count: int = 0) -> str:
        result: str = self._bounded(
            lambda timeout: self.compiled.sub(replace, text, count=count, **timeout), text
        )
        return result

    def _bounded(self, match: Callable[[dict[str, Any]], T], text: str) -> T:
        if len(text) > LIMITS.text_length:
            raise text_too_long(self.param, len(text))
        budget = current_budget()
        seconds, per_match = budget.timeout(self.param)
        try:
            return match({"timeout": seconds, "concurrent": True})
        except TimeoutError:
            failure = _too_slow(self.param, seconds) if per_match else _budget_spent(self.param)
            raise budget.trip(failure) from None


def bounded_compile(source: str, bits: int = 0, *, param: str, shown: str = "") -> BoundedPattern:
    """Compile ``source`` (Python/regex syntax) with ``bits``; ``shown`` is what the user wrote
    (when it was translated) and is what the length limit and error messages refer to."""
    shown = shown or source
    if len(shown) > LIMITS.pattern_length:
        raise pattern_too_long(param, len(shown))
    copies = repetitions(source)
    if copies > LIMITS.repetitions:
        raise PatternLimitError(
            param,
            f"the pattern's counted repeats ({{n}}) expand to {copies} copies; at most "
            f"{LIMITS.repetitions} are allowed",
        )
    try:
        compiled = _engine.compile(source, bits)
    except (_engine.error, ValueError, OverflowError) as exc:  # ValueError: bad flag mixes
        raise PatternSyntaxError(f"Invalid regex pattern in {param}: {shown!r} ({exc})") from None
    return BoundedPattern(compiled, param)


_COUNT = re.compile(r"\{(\d+)(?:,\d*)?\}")


def repetitions(source: str) -> int:
    """How many copies of its atoms ``source`` expands to: each counted repeat multiplies what it
    repeats by its minimum count (what ``regex`` expands), a sequence adds up."""
    stack = [0]  # the copies in each open group so far
    index, size = 0, len(source)
    while index < size:
        char = source[index]
        if char == "(":
            stack.append(0)
            index += 1
            continue
        if char == ")" and len(stack) > 1:
            copies, index = max(stack.pop(), 1), index + 1
        else:
            copies, index = 1, _atom_end(source, index)
        count = _COUNT.match(source, index)
        if count is not None:
            copies *= max(int(count.group(1)), 1)
            index = count.end()
        stack[-1] += copies
    return sum(stack)


def _atom_end(source: str, index: int) -> int:
    """Where the atom at ``index`` ends: an escape, a character class, or one character."""
    if source[index] == "\\":
        return index + 2
    if source[index] != "[":
        return index + 1
    index += 1
    if index < len(source) and source[index] == "^":
        index += 1
    if index < len(source) and source[index] == "]":
        index += 1
    while index < len(source) and source[index] != "]":
        index += 2 if source[index] == "\\" else 1
    return index + 1


# -- off the event loop ----------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_running = 0  # pattern works in progress (changed under _pool_lock)


def in_progress() -> int:
    """How many node runs are matching user patterns right now (for tests and diagnostics)."""
    return _running


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(LIMITS.threads, thread_name_prefix="workscript-patterns")
        return _pool


def _with_budget(work: Callable[[], T]) -> T:
    global _running
    with _pool_lock:
        _running += 1
    token = _BUDGET.set(PatternBudget(LIMITS.node_seconds))
    try:
        return work()
    finally:
        _BUDGET.reset(token)
        with _pool_lock:
            _running -= 1


async def off_loop(ctx: NodeContext, work: Callable[[], T]) -> T:
    """Run ``work`` (which matches user patterns) in the pattern threads under a fresh budget.

    The event loop serves other requests meanwhile. A limit error comes back naming the node.
    """
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), _with_budget, work)
    except PatternLimitError as exc:
        raise exc.at(f'{ctx.node_type} node "{ctx.node_id}": {exc.param}') from None
