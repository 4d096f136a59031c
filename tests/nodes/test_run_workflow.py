"""runWorkflow outside the server (a kernel, the command line): a clear error edge."""

from __future__ import annotations

from workscript_jupyter.engine import Services


def flow(params):
    return {
        "id": "calls",
        "name": "calls",
        "version": "1.0.0",
        "workflow": [{"runWorkflow": {**params, "error?": {"$.why": "$._edgeContext.error"}}}],
    }


def test_without_the_server_the_node_says_it_needs_it(run):
    result = run(flow({"workflowId": "other"}), services=Services())
    assert result.status == "completed"
    assert "needs the Workscript server" in result.final_state["why"]
    assert "runWorkflowExecutionId" not in result.final_state


def test_without_services_at_all_the_node_says_it_needs_the_server(run):
    result = run(flow({"workflowId": "other"}))
    assert "needs the Workscript server" in result.final_state["why"]


def test_parameters_are_checked_before_the_server_is_asked(run):
    result = run(flow({"workflowId": 5}))
    assert "Missing required parameter: workflowId" in result.final_state["why"]
    result = run(flow({"workflowId": "x", "timeout": True}))
    assert "timeout must be a number" in result.final_state["why"]
