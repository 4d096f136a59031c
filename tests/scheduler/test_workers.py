"""``workscript worker``: two worker processes and 200 queued runs on MariaDB — each run is
executed once — and a server with ``run_workers = False`` whose runs a worker takes."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workscript_jupyter.store import migrate
from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id, utcnow
from workscript_jupyter.store.sql import SqlStore

from .servers import Server, scratch_database, wait_until

QUICK = {"id": "quick", "name": "quick", "version": "1.0.0", "workflow": [{"$.done": True}]}


@pytest.fixture
def database(mysql_url: str):
    with scratch_database(mysql_url) as url:
        migrate.upgrade(url)
        yield url


def worker(url: str, root: Path, name: str) -> subprocess.Popen[str]:
    args = [
        sys.executable, "-m", "workscript_jupyter.cli", "worker", "--db-url", url,
        "--root", str(root), "--id", name, "--concurrency", "4", "--poll", "0.2",
        "--exit-when-idle", "3",
    ]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def executed(process: subprocess.Popen[str]) -> int:
    _, err = process.communicate(timeout=180)
    assert process.returncode == 0, err[-2000:]
    found = re.search(r"executed (\d+) runs", err)
    assert found, err[-2000:]
    return int(found.group(1))


def test_two_workers_execute_200_queued_runs_once_each(database: str, tmp_path: Path) -> None:
    store = SqlStore.from_url(database)
    try:
        owner = store.users.create("batch")
        runs = [
            ExecutionRecord(
                id=new_id(),
                owner_id=owner.id,
                status="queued",
                trigger="api",
                initial_state={"n": i},
                trigger_data={"definition": QUICK},
                created_at=utcnow(),
            )
            for i in range(200)
        ]
        store.executions.create_many(runs)
        first, second = worker(database, tmp_path, "w1"), worker(database, tmp_path, "w2")
        counts = {"w1": executed(first), "w2": executed(second)}
        assert sum(counts.values()) == 200, counts
        assert all(count > 0 for count in counts.values()), f"one worker did nothing: {counts}"
        admin = Scope("admin", is_admin=True)
        by_worker: dict[str, int] = {}
        for run in runs:
            done = store.executions.get(admin, run.id)
            assert done.status == "completed", (run.id, done.status, done.error)
            assert done.final_state and done.final_state["n"] == run.initial_state["n"]
            by_worker[done.claimed_by or ""] = by_worker.get(done.claimed_by or "", 0) + 1
        assert by_worker == counts, "each run was started by the worker that claimed it"
    finally:
        store.close()


def test_a_server_without_workers_leaves_its_runs_to_a_worker(database: str, tmp_path: Path):
    logs = tmp_path / "logs"
    logs.mkdir()
    server = Server("nw", database, tmp_path, logs, run_workers=False).start()
    try:
        saved = server.post("workflows", json={"definition": QUICK})
        assert saved.status_code == 201, saved.text
        started = server.post("workflows", saved.json()["id"], "run")
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        time.sleep(1.5)
        waiting = server.get("executions", run_id).json()
        assert waiting["status"] == "queued", "the server ran it although run_workers is off"
        process = worker(database, tmp_path, "w-solo")
        done = wait_until(
            lambda: server.get("executions", run_id).json()["status"] == "completed", 60
        )
        assert done
        process.terminate()
        assert executed(process) == 1
    finally:
        server.kill()


def test_a_worker_runs_ask_ai_with_the_servers_key_and_bills_the_owner(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker reads the AI settings the server reads (OPENROUTER_*): its ask-ai runs reach the
    provider and write the owner's usage row, as the same run on the server would."""
    from tests.standins.openrouter import OpenRouterStandIn

    asking = {
        "id": "asking",
        "name": "asking",
        "version": "1.0.0",
        "workflow": [{"ask-ai": {"userPrompt": "hello", "model": "openai/gpt-4o-mini"}}],
    }
    store = SqlStore.from_url(database)
    try:
        with OpenRouterStandIn() as stand_in:
            monkeypatch.setenv("OPENROUTER_API_KEY", stand_in.key)
            monkeypatch.setenv("OPENROUTER_BASE_URL", stand_in.base_url)
            owner = store.users.create("asker")
            run = ExecutionRecord(
                id=new_id(),
                owner_id=owner.id,
                status="queued",
                trigger="api",
                initial_state={},
                trigger_data={"definition": asking},
                created_at=utcnow(),
            )
            # the same run started by a key without ai:use (the record keeps the key's
            # permissions): the worker runs it as that key, and it spends nothing
            by_key = ExecutionRecord(
                id=new_id(),
                owner_id=owner.id,
                status="queued",
                trigger="api",
                initial_state={},
                trigger_data={
                    "definition": asking,
                    "actingKey": {"id": "k1", "permissions": ["workflow:execute"]},
                },
                created_at=utcnow(),
            )
            store.executions.create_many([run, by_key])
            assert executed(worker(database, tmp_path, "w-ai")) == 2
            admin = Scope("admin", is_admin=True)
            done = store.executions.get(admin, run.id)
            assert done.status == "completed", done.error
            assert done.final_state["aiResponse"] == "Hello, world"  # streamed
            usage = store.ai.list_usage(Scope(owner.id), limit=10).items
            assert [(u.model, u.execution_id) for u in usage] == [("openai/gpt-4o-mini", run.id)]
            refused = store.executions.get(admin, by_key.id)
            assert "aiResponse" not in (refused.final_state or {}), refused.final_state
    finally:
        store.close()
