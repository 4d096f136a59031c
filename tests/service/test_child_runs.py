"""runWorkflow through the service: child records linked to their parent, wait false, timeout,
the depth limit, another owner's workflow, a missing workflowId, no deadlock at the user's limit."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.service.conftest import document
from workscript_jupyter.engine import Services
from workscript_jupyter.service import RunLimits, WorkscriptService
from workscript_jupyter.service.child_runs import MAX_DEPTH
from workscript_jupyter.service.run_services import ServerServices
from workscript_jupyter.store.records import Scope

ADMIN = Scope("test", is_admin=True)


def child_doc(**extra: Any) -> dict[str, Any]:
    return document(
        {"math": {"operation": "add", "values": ["$.a", 1]}},
        id="child",
        initialState={"a": 1, "fromChild": True},
        **extra,
    )


def caller_doc(params: dict[str, Any], *, id: str = "parent") -> dict[str, Any]:
    return document(
        {"runWorkflow": {**params, "error?": {"$.childError": "$._edgeContext.error"}}},
        id=id,
    )


_parents = iter(range(10**6))


async def run_parent(service: WorkscriptService, caller: Any, params: dict[str, Any]) -> Any:
    definition = caller_doc(params, id=f"parent-{next(_parents)}")
    saved = await service.workflows.create_workflow(caller, definition)
    queued = await service.runs.start_run(caller, workflow_id=saved.id)
    return await service.runs.wait_for(caller, queued.id, 10)


def all_runs(service: WorkscriptService) -> list[Any]:
    return list(service.store.executions.list(ADMIN, limit=200).items)


def test_the_child_has_its_own_record_linked_to_the_parent(serve):
    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        child = await service.workflows.create_workflow(caller, child_doc())
        by_record = await run_parent(
            service, caller, {"workflowId": child.id, "initialState": {"a": 41}}
        )
        by_definition = await run_parent(service, caller, {"workflowId": "child"})
        return child, by_record, by_definition, all_runs(service)

    child, parent, second, runs = serve(body)
    assert parent.status == "completed", parent.error
    state = parent.final_state
    child_id = state["runWorkflowExecutionId"]
    assert state["runWorkflowFinalState"]["mathResult"] == 42
    assert state["runWorkflowFinalState"]["fromChild"] is True
    assert state["runWorkflowResult"]["status"] == "completed"
    record = next(r for r in runs if r.id == child_id)
    assert record.trigger == "workflow" and record.workflow_id == child.id
    assert record.trigger_data["parentExecutionId"] == parent.id
    assert record.trigger_data["depth"] == 2
    assert record.status == "completed" and record.owner_id == parent.owner_id
    # a definition id finds the same saved workflow
    assert second.status == "completed"
    assert second.final_state["runWorkflowFinalState"]["mathResult"] == 2
    assert len(runs) == 4


def test_wait_false_continues_at_once_with_the_childs_id(serve):
    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        await service.workflows.create_workflow(
            caller, document({"wait": {"seconds": 0.3}}, {"$.done": True}, id="slow")
        )
        parent = await run_parent(service, caller, {"workflowId": "slow", "wait": False})
        child_id = parent.final_state["runWorkflowExecutionId"]
        early = await service.runs.get_execution(caller, child_id)
        child = await service.runs.wait_for(caller, child_id, 5)
        return parent, early, child

    parent, early, child = serve(body)
    assert parent.status == "completed"
    assert parent.final_state["runWorkflowResult"]["status"] == "queued"
    assert parent.final_state["runWorkflowFinalState"] is None
    assert early.status in ("queued", "running")
    assert child.status == "completed" and child.final_state["done"] is True
    assert child.trigger_data["parentExecutionId"] == parent.id


def test_a_child_past_its_timeout_is_cancelled_and_the_error_edge_taken(serve):
    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        await service.workflows.create_workflow(
            caller, document({"wait": {"seconds": 30}}, {"$.done": True}, id="slow")
        )
        started = asyncio.get_running_loop().time()
        parent = await run_parent(service, caller, {"workflowId": "slow", "timeout": 0.5})
        took = asyncio.get_running_loop().time() - started
        return parent, took, all_runs(service)

    parent, took, runs = serve(body)
    assert took < 5
    error = parent.final_state["childError"]
    assert "did not end within 0.5 s" in error
    child = next(r for r in runs if r.id != parent.id)
    assert child.status == "cancelled"
    assert parent.final_state["runWorkflowResult"]["status"] == "timed_out"


def test_a_workflow_calling_itself_fails_clearly_at_depth_10(serve):
    looping = document(
        {
            "runWorkflow": {
                "workflowId": "loop",
                "error?": [
                    {"$.loopError": "$._edgeContext.error"},
                    {"end": {"status": "failed", "message": "$.loopError"}},
                ],
            }
        },
        id="loop",
    )

    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        saved = await service.workflows.create_workflow(caller, looping)
        queued = await service.runs.start_run(caller, workflow_id=saved.id)
        top = await service.runs.wait_for(caller, queued.id, 20)
        return top, all_runs(service)

    top, runs = serve(body)
    assert len(runs) == MAX_DEPTH
    assert top.status == "failed"
    deepest = max(runs, key=lambda r: r.trigger_data.get("depth", 1))
    assert deepest.trigger_data["depth"] == MAX_DEPTH
    assert "depth limit of 10" in deepest.error["message"], deepest.error
    assert "child was not started" in deepest.error["message"]
    assert all(r.status == "failed" for r in runs)
    # every level links to the one above it
    by_depth = {r.trigger_data.get("depth", 1): r for r in runs}
    for depth in range(2, MAX_DEPTH + 1):
        assert by_depth[depth].trigger_data["parentExecutionId"] == by_depth[depth - 1].id


def test_another_owners_workflow_is_refused_as_not_found(serve):
    async def body(service: WorkscriptService) -> Any:
        alice = await service.identities.caller_for("alice")
        bob = await service.identities.caller_for("bob")
        theirs = await service.workflows.create_workflow(alice, child_doc())
        by_id = await run_parent(service, bob, {"workflowId": theirs.id})
        by_definition = await run_parent(service, bob, {"workflowId": "child"})
        return by_id, by_definition, all_runs(service)

    by_id, by_definition, runs = serve(body, single_user=False)
    for parent in (by_id, by_definition):
        assert (
            "not found" in parent.final_state["childError"]
            or "no workflow" in parent.final_state["childError"]
        )
        assert "runWorkflowExecutionId" not in parent.final_state
    assert len(runs) == 2  # no child started


def test_a_missing_or_bad_parameter_is_refused(serve):
    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        out = []
        for params in (
            {},
            {"workflowId": ""},
            {"workflowId": "child", "initialState": [1]},
            {"workflowId": "child", "wait": "yes"},
            {"workflowId": "child", "timeout": 0},
            {"workflowId": "child", "timeout": 100000},
        ):
            out.append((await run_parent(service, caller, params)).final_state["childError"])
        return out, all_runs(service)

    errors, runs = serve(body)
    assert "Missing required parameter: workflowId" in errors[0]
    assert "Missing required parameter: workflowId" in errors[1]
    assert "initialState must be an object" in errors[2]
    assert "wait must be true or false" in errors[3]
    assert "timeout must be a number" in errors[4] and "timeout must be" in errors[5]
    assert len(runs) == 6


def test_waiting_parents_at_the_users_limit_do_not_deadlock(serve):
    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        await service.workflows.create_workflow(
            caller, document({"wait": {"seconds": 0.1}}, {"$.done": True}, id="slow")
        )
        saved = await service.workflows.create_workflow(caller, caller_doc({"workflowId": "slow"}))
        queued = [await service.runs.start_run(caller, workflow_id=saved.id) for _ in range(2)]
        return [await service.runs.wait_for(caller, q.id, 5) for q in queued]

    parents = serve(body, limits=RunLimits(max_concurrent_runs=1, max_concurrent_runs_per_user=1))
    for parent in parents:
        assert parent.status == "completed"
        assert parent.final_state["runWorkflowFinalState"]["done"] is True


def test_the_services_of_a_run_offer_workflows_only_on_the_server(serve):
    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        return service.executor.services_factory(caller)

    services = serve(body)
    assert isinstance(services, ServerServices) and services.workflows is not None
    assert not hasattr(Services(), "workflows")


def test_even_an_admin_runs_only_their_own_workflows(serve):
    async def body(service: WorkscriptService) -> Any:
        alice = await service.identities.caller_for("alice")
        root = await service.identities.caller_for("root")
        assert root.is_admin
        theirs = await service.workflows.create_workflow(alice, child_doc())
        by_id = await run_parent(service, root, {"workflowId": theirs.id})
        by_definition = await run_parent(service, root, {"workflowId": "child"})
        return by_id, by_definition, all_runs(service)

    by_id, by_definition, runs = serve(body, single_user=False, admin_users={"root"})
    for parent in (by_id, by_definition):
        assert "no workflow of yours with id" in parent.final_state["childError"]
    assert len(runs) == 2


async def parent_waiting_for_a_slow_child(service: WorkscriptService, caller: Any) -> Any:
    """A parent run, and its child (30 s of waiting) once that child is running."""
    await service.workflows.create_workflow(
        caller, document({"wait": {"seconds": 30}}, {"$.done": True}, id="slow")
    )
    saved = await service.workflows.create_workflow(caller, caller_doc({"workflowId": "slow"}))
    queued = await service.runs.start_run(caller, workflow_id=saved.id)
    for _ in range(200):
        children = [r for r in all_runs(service) if r.trigger == "workflow"]
        if children and children[0].status == "running":
            break
        await asyncio.sleep(0.01)
    return queued, children


def test_cancelling_the_parent_cancels_its_waited_for_child(serve):
    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        queued, children = await parent_waiting_for_a_slow_child(service, caller)
        parent = await service.runs.cancel_execution(caller, queued.id)
        child = await service.runs.get_execution(caller, children[0].id)
        return parent, child

    parent, child = serve(body)
    assert parent.status == "cancelled"
    assert child.status == "cancelled"
    assert child.trigger_data["parentExecutionId"] == parent.id


def test_cancelling_a_waited_for_child_stops_it_and_the_parent_goes_on(serve):
    """The child runs inline, outside the pool's slots: a cancel of the child itself (the REST
    cancel) still reaches it, it ends cancelled at once, and its parent takes the error edge."""

    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        queued, children = await parent_waiting_for_a_slow_child(service, caller)
        timeline = await service.runs.get_timeline(caller, children[0].id)
        # not reached, cancel would wait out the child's 30 s and find it completed
        child = await service.runs.cancel_execution(caller, children[0].id)
        parent = await service.runs.wait_for(caller, queued.id, 10)
        return timeline, child, parent

    (entries, live), child, parent = serve(body)
    assert live is True
    assert any(entry.get("running") and entry["type"] == "wait" for entry in entries), entries
    assert child.status == "cancelled"
    assert parent.status == "completed"
    assert "ended cancelled" in parent.final_state["childError"]
