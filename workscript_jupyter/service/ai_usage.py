"""``BilledAIGateway``: the server's ``AIGateway`` for one caller (``ctx.services.ai`` of their
runs): permission, budget (``ai_budget.py``) and price (``ai_prices.py``) → the provider
(``DirectAIGateway``) → one ``ai_usage`` row (owner, workflow, run, node path, model, tokens,
cost, duration), written in a group with the rows of the calls that end at the same time
(``ai_usage_writer.py``) → the answer with its cost.

A streamed answer interrupted after text arrived (the run cancelled, a broken stream) is billed
too, from the characters sent and received: the provider bills it, and its text reached the
run's watchers.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from ..store.records import AiUsage, new_id, utcnow
from .ai_budget import MonthlyBudget
from .ai_prices import UsagePricing
from .ai_usage_writer import UsageWriter
from .values import Caller

__all__ = ["CHARS_PER_TOKEN", "BilledAIGateway", "ChatGateway"]

log = logging.getLogger(__name__)

_EXECUTION_ID_LENGTH: Final = 32
_WORKFLOW_ID_LENGTH: Final = 200
_NODE_PATH_LENGTH: Final = 500
_MODEL_LENGTH: Final = 200
# the rule of thumb for English text, used only to bill a stream that was interrupted
CHARS_PER_TOKEN: Final = 4


class ChatGateway(Protocol):
    """What ``BilledAIGateway`` wraps: ``integrations.ai_gateway.DirectAIGateway``."""

    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        options: Mapping[str, Any],
        execution_id: str = "",
        workflow_id: str = "",
        node_path: str = "",
        on_text: Callable[[str], None] | None = None,
    ) -> dict[str, Any]: ...


# -- the gateway of one caller ----------------------------------------------------------------


class BilledAIGateway:
    """``ctx.services.ai`` of ``caller``'s runs (see the module docstring)."""

    def __init__(
        self,
        caller: Caller,
        direct: ChatGateway,
        *,
        writer: UsageWriter,
        budget: MonthlyBudget,
        pricing: UsagePricing,
    ) -> None:
        self._caller = caller
        self._direct = direct
        self._writer = writer
        self._budget = budget
        self._rows: list[asyncio.Future[None]] = []  # this run's usage rows, until settled
        self._pricing = pricing

    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        options: Mapping[str, Any],
        execution_id: str = "",
        workflow_id: str = "",
        node_path: str = "",
        on_text: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        self._caller.require("ai:use")  # a key made without it may not spend its owner's money
        await self._budget.check(self._caller.user_id)  # before any request
        if self._budget.enabled:
            await self._pricing.require_price(model)
        where = {"execution_id": execution_id, "workflow_id": workflow_id, "node_path": node_path}
        received = _Received(on_text)
        try:
            answer = await self._direct.chat(
                model=model,
                messages=messages,
                options=options,
                on_text=received.on_text if on_text is not None else None,
                **where,
            )
        except BaseException:
            # a stream that broke or was cancelled (the run cancelled, a timeout) after text
            # arrived: the provider bills what it generated, and the text reached whoever
            # watched the run. Billed from an estimate, so cancelling just before the end is
            # not a way around the budget.
            if received.chars:
                await asyncio.shield(self._bill_interrupted(model, messages, received.chars, where))
            raise
        raw_usage = answer.get("usage")
        usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, Mapping) else {}
        prompt = _tokens(usage.get("promptTokens"))
        completion = _tokens(usage.get("completionTokens"))
        answered = str(answer.get("model") or model)
        priced, cost = await self._pricing.cost([answered, model], prompt, completion)
        self._record(
            model=priced or answered,
            prompt=prompt,
            completion=completion,
            cost=cost,
            duration_ms=answer.get("durationMs"),
            **where,
        )
        return {**answer, "cost": cost}

    async def settle(self) -> None:
        """Wait until the usage rows of this run's calls are stored (the executor calls it
        before it records the run's end: a run seen ended has its cost in ``ai/usage``)."""
        rows, self._rows = self._rows, []
        await self._writer.settle(rows)

    async def _bill_interrupted(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        chars: int,
        where: Mapping[str, str],
    ) -> None:
        """The usage row of an interrupted stream: tokens estimated from the characters sent
        and received (about ``CHARS_PER_TOKEN`` each). Never raises: the call's own error
        is what the run sees."""
        try:
            prompt = _estimated_tokens(sum(_chars(m.get("content")) for m in messages))
            completion = _estimated_tokens(chars)
            priced, cost = await self._pricing.cost([model], prompt, completion)
            self._record(
                model=priced or model,
                prompt=prompt,
                completion=completion,
                cost=cost,
                duration_ms=None,
                **where,
            )
        except Exception:  # the interruption, not this, is the run's error
            log.exception("AI usage of an interrupted stream of user %s", self._caller.user_id)

    def _record(
        self,
        *,
        model: str,
        prompt: int,
        completion: int,
        cost: float,
        execution_id: str,
        workflow_id: str,
        node_path: str,
        duration_ms: Any,
    ) -> None:
        """The usage row, queued for the next group commit. The answer is paid for: a row the
        store refuses is logged, and the run keeps its answer (its own writes will meet the
        same outage)."""
        duration = (
            float(duration_ms)
            if isinstance(duration_ms, int | float) and not isinstance(duration_ms, bool)
            else None
        )
        usage = AiUsage(
            id=new_id(),
            owner_id=self._caller.user_id,
            model=model[:_MODEL_LENGTH],
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost=cost,
            execution_id=(execution_id or None) and execution_id[:_EXECUTION_ID_LENGTH],
            workflow_id=(workflow_id or None) and workflow_id[:_WORKFLOW_ID_LENGTH],
            node_path=(node_path or None) and node_path[:_NODE_PATH_LENGTH],
            duration_ms=duration,
            created_at=utcnow(),
        )
        # not awaited: the answer does not wait for the accounting commit (ai_usage_writer.py);
        # the budget counts the cost now, and a row that cannot be stored is logged
        row = self._writer.submit(usage)
        row.add_done_callback(functools.partial(_log_unrecorded, self._caller.user_id, model, cost))
        self._rows.append(row)
        self._budget.spent(self._caller.user_id, cost)


def _log_unrecorded(user_id: str, model: str, cost: float, done: asyncio.Future[None]) -> None:
    if done.cancelled() or done.exception() is None:
        return
    error = done.exception()
    log.error(
        "AI usage of user %s (%s, $%.6f) could not be recorded: %s",
        user_id,
        model,
        cost,
        getattr(error, "message", None) or error,
    )


class _Received:
    """How many characters of a streamed answer have reached ``on_text`` so far."""

    __slots__ = ("_on_text", "chars")

    def __init__(self, on_text: Callable[[str], None] | None) -> None:
        self._on_text = on_text
        self.chars = 0

    def on_text(self, text: str) -> None:
        self.chars = len(text)
        if self._on_text is not None:
            self._on_text(text)


def _chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    try:
        return len(json.dumps(content, default=str))  # a list of parts
    except (TypeError, ValueError):
        return 0


def _estimated_tokens(chars: int) -> int:
    return min(-(-chars // CHARS_PER_TOKEN), 2**31 - 1)


def _tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return min(value, 2**31 - 1)  # the column is an INT
