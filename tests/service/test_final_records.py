"""Final records of runs that end together go to the store in one batch; a run whose final
state the store cannot hold as JSON is kept as text, without costing the others theirs."""

from __future__ import annotations

import asyncio
from typing import Any

from workscript_jupyter.engine import Edge, Node, NodeContext, NodeMetadata
from workscript_jupyter.nodes import builtin_registry
from workscript_jupyter.service import RunLimits, WorkscriptService
from workscript_jupyter.store.memory import MemoryStore
from workscript_jupyter.store.records import Scope

from .conftest import document

ADMIN = Scope("admin", is_admin=True)


class RawBytes(Node):
    metadata = NodeMetadata(id="rawBytes", name="raw bytes", description="sets $.raw to bytes")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        ctx.state["raw"] = b"\x00\x01"
        return Edge("success")


def test_runs_ending_together_are_all_recorded_even_when_one_is_not_json() -> None:
    registry = builtin_registry()
    registry.register(RawBytes)
    store = MemoryStore()

    async def main() -> list[Any]:
        service = WorkscriptService(store, registry, limits=RunLimits(8, 8, 100))
        await service.start()
        try:
            caller = await service.identities.caller_for("owner")
            runs = [
                await service.runs.start_run(caller, definition=document({"$.n": i}, id=f"p{i}"))
                for i in range(5)
            ]
            odd = document({"$.n": 5}, {"rawBytes": {}}, id="odd")
            runs.append(await service.runs.start_run(caller, definition=odd))
            for run in runs:
                await service.runs.wait_for(caller, run.id, 10)
            return [store.executions.get(ADMIN, r.id) for r in runs]
        finally:
            await service.stop()

    *plain, odd = asyncio.run(main())
    assert [(r.status, r.final_state["n"]) for r in plain] == [("completed", i) for i in range(5)]
    assert odd.status == "completed" and odd.final_state["n"] == 5
    assert isinstance(odd.final_state["raw"], str), "kept as text"
    assert odd.timeline, "the timeline is kept too"
