"""runWorkflow: run another saved workflow of the same owner as a run of its own.

The node reaches other workflows only through ``ctx.services.workflows`` (on the server:
``service/child_runs.py``, in-process, no HTTP and no token in the state). A front end without
it (a kernel, the CLI) makes the node take its error edge saying it needs the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..errors import WorkscriptError
from .common import error_edge

__all__ = ["NODES", "RunWorkflowNode"]

DEFAULT_TIMEOUT: Final = 300
MAX_DEPTH: Final = 10  # service/child_runs.py enforces it (nodes do not import the service)
MAX_TIMEOUT: Final = 3600.0
_UNAVAILABLE = (
    "runWorkflow needs the Workscript server: this front end (a kernel or the command line) "
    "cannot start other saved workflows"
)
# what the gateway raises for a refused request: its message is safe to show
_GATEWAY_ERRORS = (WorkscriptError, ValueError, LookupError)


class RunWorkflowNode(Node):
    metadata = NodeMetadata(
        id="runWorkflow",
        name="Run Workflow",
        description=(
            "Runs another saved workflow of the same owner (server only) as a run of its own, "
            "trigger 'workflow', linked to this one by parentExecutionId. With wait (the "
            "default) the child runs inline under this run's worker slot, so a user's "
            "concurrency limit cannot deadlock it; past timeout it is cancelled and the error "
            "edge taken. wait false queues the child like any run and goes on at once. Runs "
            f"nest at most {MAX_DEPTH} deep: a workflow calling itself fails clearly there."
        ),
        category="server",
        inputs=(
            ParamSpec(
                "workflowId",
                "string",
                "a saved workflow of yours: record id or definition id",
                True,
            ),
            ParamSpec(
                "initialState", "object", "keys set over the child's initialState", False, {}
            ),
            ParamSpec("wait", "boolean", "wait for the child to end", False, True),
            ParamSpec(
                "timeout",
                "number",
                f"seconds to wait before the child is cancelled (at most {MAX_TIMEOUT:g})",
                False,
                DEFAULT_TIMEOUT,
            ),
        ),
        outputs=("runWorkflowResult", "runWorkflowExecutionId", "runWorkflowFinalState"),
        edges=("success", "error"),
        example={
            "workflowId": "enrich-customer",
            "initialState": {"customerId": "$.customerId"},
            "timeout": 60,
            "success?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        workflow_id = params.get("workflowId")
        if not isinstance(workflow_id, str) or not workflow_id.strip():
            return error_edge(
                "Missing required parameter: workflowId (a saved workflow's id), "
                f"got {workflow_id!r}"
            )
        initial_state = params.get("initialState")
        if initial_state is None:
            initial_state = {}
        if not isinstance(initial_state, Mapping):
            return error_edge(
                f"initialState must be an object, got {type(initial_state).__name__}",
                workflowId=workflow_id,
            )
        wait = params.get("wait", True)
        if not isinstance(wait, bool):
            return error_edge(f"wait must be true or false, got {wait!r}", workflowId=workflow_id)
        timeout = params.get("timeout", DEFAULT_TIMEOUT)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= MAX_TIMEOUT
        ):
            return error_edge(
                f"timeout must be a number of seconds > 0 and <= {MAX_TIMEOUT:g}, got {timeout!r}",
                workflowId=workflow_id,
            )
        runner = getattr(ctx.services, "workflows", None)
        if runner is None or not ctx.execution_id:
            return error_edge(_UNAVAILABLE, workflowId=workflow_id, code="NEEDS_SERVER")
        try:
            result = await runner.run_workflow(
                ctx.execution_id,
                workflow_id,
                initial_state=dict(initial_state),
                wait=wait,
                timeout=float(timeout),
            )
        except _GATEWAY_ERRORS as exc:
            code = getattr(exc, "code", type(exc).__name__)
            message = getattr(exc, "message", None) or str(exc)
            return error_edge(message, workflowId=workflow_id, code=code)
        execution_id = result["executionId"]
        status = result["status"]
        final_state = result.get("finalState")
        summary = {"executionId": execution_id, "status": status, "finalState": final_state}
        ctx.state["runWorkflowResult"] = summary
        ctx.state["runWorkflowExecutionId"] = execution_id
        ctx.state["runWorkflowFinalState"] = final_state
        if wait and status != "completed":
            error = result.get("error") or {}
            message = error.get("message") if isinstance(error, Mapping) else None
            return error_edge(
                f"the child run {execution_id} ended {status}: {message or 'no reason given'}",
                workflowId=workflow_id,
                executionId=execution_id,
                status=status,
                code=(error.get("code") if isinstance(error, Mapping) else None) or status.upper(),
            )
        return Edge("success", summary)


NODES: tuple[type[Node], ...] = (RunWorkflowNode,)
