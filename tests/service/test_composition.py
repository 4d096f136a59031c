"""The service is a set of use-case objects that a composition builds, not one class of mixins.

Each use case works on its own, built from only what it needs; ``WorkscriptService`` builds and
holds them; the server's handlers use the one they need; and an import-linter contract keeps
the use cases from reaching back for the composition (no import cycle).
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workscript_jupyter.engine import DEFAULT_LIMITS, EventBus, NodeRegistry
from workscript_jupyter.service import (
    AutomationHistory,
    Identities,
    RunLimits,
    RunPool,
    Runs,
    Workflows,
    WorkscriptService,
)
from workscript_jupyter.service.cache import ReadCache
from workscript_jupyter.service.execute import RunExecutor
from workscript_jupyter.service.run_queue import RunQueue
from workscript_jupyter.store.memory import MemoryStore

from .conftest import document

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "Service: the composition (core) sits above the use cases, which never import it"


def test_the_service_is_a_composition_not_a_class_of_mixins(registry: NodeRegistry):
    assert WorkscriptService.__mro__ == (WorkscriptService, object)
    service = WorkscriptService(MemoryStore(), registry, server_id="composed")
    parts = [
        service.workflows,
        service.runs,
        service.automations,
        service.history,
        service.recovery,
        service.identities,
    ]
    assert len({id(part) for part in parts}) == len(parts)
    for part in parts:
        assert type(part).__mro__ == (type(part), object), f"{type(part).__name__} inherits"


def test_a_use_case_works_alone_with_only_what_it_needs(registry: NodeRegistry):
    """Workflows and runs built by hand, on a store and a pool, with no WorkscriptService."""
    store = MemoryStore()

    async def main() -> None:
        caller = await Identities(store).caller_for("ada")
        workflows = Workflows(store, registry, DEFAULT_LIMITS, ReadCache(0))
        saved = await workflows.create_workflow(caller, document({"$.done": True}, id="alone"))
        assert (await workflows.get_workflow(caller, "alone")).id == saved.id

        executor = RunExecutor(store, registry, EventBus(), lambda caller: None, "alone-server")
        pool = RunPool(RunLimits(), executor.execute, executor.drop)
        runs = Runs(
            store,
            registry,
            engine_limits=DEFAULT_LIMITS,
            limits=RunLimits(),
            queue=RunQueue(pool, "alone-server"),
            executor=executor,
        )
        pool.start()
        try:
            record = await runs.start_run(caller, workflow_id=saved.id)
            ended = await runs.wait_for(caller, record.id, 10)
        finally:
            await pool.stop()
        assert ended.status == "completed"
        assert ended.final_state is not None and ended.final_state["done"] is True

    asyncio.run(main())
    assert AutomationHistory(store).validate_cron("*/5 * * * *")["valid"] is True


def test_no_server_handler_reaches_for_the_whole_service():
    """Handlers use ``self.workflows``, ``self.runs``... (base.py), never ``self.service``."""
    from workscript_jupyter.server import base, handlers, websocket
    from workscript_jupyter.server.handlers import (
        aliases,
        automations,
        executions,
        health,
        nodes,
        workflows,
    )

    modules = (base, handlers, websocket, aliases, automations, executions, health, nodes)
    offenders = [
        m.__name__ for m in (*modules, workflows) if "self.service" in inspect.getsource(m)
    ]
    assert offenders == []


@pytest.mark.lint
@pytest.mark.slow
def test_the_contract_catches_a_use_case_importing_the_composition(tmp_path: Path):
    """Even a type-only import of service.core from worker.py breaks the layers contract."""
    tool = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if tool is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    package = tmp_path / "workscript_jupyter"
    shutil.copytree(ROOT / "workscript_jupyter", package)
    worker = package / "service" / "worker.py"
    text = worker.read_text()
    worker.write_text(
        text.replace(
            "from typing import Final\n",
            "from typing import TYPE_CHECKING, Final\n\nif TYPE_CHECKING:\n"
            "    from .core import WorkscriptService\n",
            1,
        )
    )
    assert worker.read_text() != text
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    out = subprocess.run(
        [tool, "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode != 0
    assert f"{CONTRACT} BROKEN" in " ".join(out.stdout.split())
    assert "workscript_jupyter.service.worker is not allowed to import" in " ".join(
        out.stdout.split()
    )
