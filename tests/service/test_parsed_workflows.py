"""ParsedWorkflows: a saved workflow is parsed once per version, by runs and automations."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.service.conftest import document
from workscript_jupyter.engine import DEFAULT_LIMITS
from workscript_jupyter.nodes import builtin_registry
from workscript_jupyter.service import parsed_workflows as module
from workscript_jupyter.service.parsed_workflows import ParsedWorkflows


def _counting(monkeypatch: Any) -> list[str]:
    parsed: list[str] = []
    real = module.parse_definition

    async def counting(definition: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(definition["id"])
        return await real(definition, *args, **kwargs)

    monkeypatch.setattr(module, "parse_definition", counting)
    return parsed


def test_once_per_version_the_oldest_forgotten_first(monkeypatch: Any) -> None:
    parsed = _counting(monkeypatch)
    cache = ParsedWorkflows(builtin_registry(plugins=False), DEFAULT_LIMITS, kept=2)

    async def main() -> None:
        a, b, c = (document({"$.n": 1}, id=name) for name in "abc")
        first = await cache.parse(a, "a1")
        assert await cache.parse(a, "a1") is first  # the same Workflow, shared
        await cache.parse(b, "b1")
        await cache.parse(c, "c1")  # two kept: "a1" goes
        await cache.parse(a, "a1")
        await cache.parse(a, None)  # no version: every time
        await cache.parse(a, None)

    asyncio.run(main())
    assert parsed == ["a", "b", "c", "a", "a", "a"]


def test_runs_of_a_saved_workflow_parse_it_once_per_version(serve: Any, monkeypatch: Any) -> None:
    parsed = _counting(monkeypatch)

    async def body(service: Any) -> list[Any]:
        caller = await service.identities.caller_for("owner")
        saved = await service.workflows.create_workflow(caller, document({"$.v": 1}, id="w"))
        runs = [await service.runs.start_run(caller, workflow_id=saved.id) for _ in range(3)]
        await service.workflows.update_workflow(
            caller, saved.id, {"definition": document({"$.v": 2}, id="w")}
        )
        runs.append(await service.runs.start_run(caller, workflow_id=saved.id))
        inline = document({"$.v": 3}, id="inline")
        runs += [await service.runs.start_run(caller, definition=inline) for _ in range(2)]
        return [await service.runs.wait_for(caller, r.id, 10) for r in runs]

    runs = serve(body)
    assert [r.final_state["v"] for r in runs] == [1, 1, 1, 2, 3, 3]
    assert parsed == ["w", "w", "inline", "inline"]
