"""Automation runs in the service: retries by policy, runs a dead server left, manual runs."""

from __future__ import annotations

import asyncio
from typing import Any

from workscript_jupyter.store.records import Scope, utcnow

from .conftest import document

ADMIN = Scope("admin", is_admin=True)


async def _settle(service: Any, automation_id: str, count: int) -> list[Any]:
    """The automation's runs once ``count`` of them have ended (newest first)."""
    for _ in range(200):
        runs = service.store.executions.list(ADMIN, automation_id=automation_id).items
        ended = [r for r in runs if r.status not in ("queued", "running")]
        if len(ended) >= count:
            return runs
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} runs ended: {runs}")


def test_a_failing_run_is_retried_by_its_policy(serve) -> None:
    async def body(service: Any) -> list[Any]:
        caller = await service.identities.caller_for("owner")
        failing = document({"wait": {"seconds": 1}}, timeoutSeconds=0.05)  # times out
        saved = await service.workflows.create_workflow(caller, failing)
        automation, _ = await service.automations.create_automation(
            caller,
            {"name": "flaky", "workflowId": saved.id, "triggerType": "manual",
             "retries": {"count": 2, "delaySeconds": 0.01, "backoff": 2}},
        )  # fmt: skip
        await service.automations.execute_automation(caller, automation.id)
        return await _settle(service, automation.id, 3)

    runs = serve(body)
    assert sorted(r.attempt for r in runs) == [1, 2, 3], "the first run and two retries"
    assert all(r.status == "timed_out" for r in runs)
    by_attempt = {r.attempt: r for r in runs}
    assert by_attempt[2].trigger_data["retryOf"] == by_attempt[1].id
    assert by_attempt[3].trigger_data["retryOf"] == by_attempt[2].id


def test_a_run_left_running_by_this_server_is_interrupted_and_retried(serve, store) -> None:
    async def prepare(service: Any) -> tuple[str, str]:
        caller = await service.identities.caller_for("owner")
        saved = await service.workflows.create_workflow(caller, document({"$.done": True}))
        automation, _ = await service.automations.create_automation(
            caller,
            {"name": "nightly", "workflowId": saved.id, "triggerType": "manual",
             "retries": {"count": 1, "delaySeconds": 0}},
        )  # fmt: skip
        return automation.id, caller.user.id

    automation_id, owner_id = serve(prepare)
    owner = Scope(owner_id, is_admin=False)
    left = store.executions.create(
        owner,
        status="queued",
        trigger="cron",
        automation_id=automation_id,
        trigger_data={"definition": document({"$.done": True})},
    )
    store.executions.update(
        owner, left.id, status="running", claimed_by="test-server", started_at=utcnow()
    )  # as a server killed mid-run leaves it

    async def restart(service: Any) -> list[Any]:
        return await _settle(service, automation_id, 2)

    runs = serve(restart)  # the same server id starts again
    by_attempt = {r.attempt: r for r in runs}
    assert by_attempt[1].id == left.id and by_attempt[1].status == "interrupted"
    assert by_attempt[2].status == "completed"
    assert by_attempt[2].trigger_data["retryOf"] == left.id


def test_a_webhook_parses_its_workflow_once_per_version(serve, monkeypatch) -> None:
    from workscript_jupyter.service import parsed_workflows as module

    parsed: list[str] = []
    real = module.parse_definition

    async def counting(definition: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(definition["id"])
        return await real(definition, *args, **kwargs)

    monkeypatch.setattr(module, "parse_definition", counting)

    async def body(service: Any) -> list[Any]:
        caller = await service.identities.caller_for("owner")
        saved = await service.workflows.create_workflow(caller, document({"$.v": 1}, id="w"))
        _automation, token = await service.automations.create_automation(
            caller, {"name": "hook", "workflowId": saved.id, "triggerType": "webhook"}
        )
        runs = [await service.automations.trigger_webhook(token, {}, {}) for _ in range(3)]
        await service.workflows.update_workflow(
            caller, saved.id, {"definition": document({"$.v": 2}, id="w")}
        )
        runs.append(await service.automations.trigger_webhook(token, {}, {}))
        return [await service.runs.wait_for(caller, r.id, 10) for r in runs]

    runs = serve(body)
    assert [r.final_state["v"] for r in runs] == [1, 1, 1, 2]  # the new version once saved
    assert parsed == ["w", "w"]  # once for each version, not once per call
