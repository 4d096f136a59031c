"""notebook and python: run a Jupyter notebook headless, or Python code in the run's kernel.

Both go through ``ctx.services.notebooks`` (a ``NotebookGateway``); without one (a front end
that offers no kernels, or a shared server where this user may not run code:
``services.notebooks_refusal`` says so) they take their error edge. ``notebook`` runs a
notebook inside the run root with parameters injected into its ``parameters`` cell and
collects its ``output()`` values. ``python`` runs code in one kernel per workflow run, shared by
every ``python`` step of that run, with the workflow state bound as a dict named ``state``; what
the code leaves in ``state`` becomes the workflow state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..errors import OwnerServerError, WorkscriptError
from .common import error_edge

__all__ = ["NODES", "NotebookNode", "PythonNode"]

_UNAVAILABLE = "notebooks are not available here"
# what a gateway raises for a refused request: its message is safe to show
_GATEWAY_ERRORS = (WorkscriptError, ValueError, LookupError, OSError)


def _gateway(ctx: NodeContext) -> Any:
    return getattr(ctx.services, "notebooks", None)


def _unavailable(ctx: NodeContext, **extra: Any) -> Edge:
    """The error edge of a run without kernels: the services' reason (a shared server's code
    policy) or the generic one."""
    refusal = getattr(ctx.services, "notebooks_refusal", None)
    if refusal:
        return error_edge(str(refusal), code="CODE_NODES_DISABLED", **extra)
    return error_edge(_UNAVAILABLE, **extra)


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


class NotebookNode(Node):
    metadata = NodeMetadata(
        id="notebook",
        name="Run Notebook",
        description=(
            "Runs a Jupyter notebook inside the run root headless, with parameters injected "
            "into its cell tagged 'parameters', and collects its output() values."
        ),
        category="jupyter",
        inputs=(
            ParamSpec("path", "string", "the notebook, relative to the run root", True),
            ParamSpec("parameters", "object", "name: JSON value, set before the notebook runs"),
            ParamSpec("kernel", "string", "kernel name; default: the notebook's own kernelspec"),
            ParamSpec("timeout", "number", "seconds the whole notebook may run"),
        ),
        outputs=("notebookOutputs", "notebookResult"),
        edges=("success", "error"),
        example={
            "path": "notebooks/report.ipynb",
            "parameters": {"region": "north", "limit": 10},
            "timeout": 120,
            "success?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        path = params.get("path")
        if not isinstance(path, str) or not path:
            return error_edge("Missing required parameter: path (a notebook path)")
        parameters = params.get("parameters")
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, Mapping):
            return error_edge(
                f"parameters must be an object, got {type(parameters).__name__}", path=path
            )
        kernel = params.get("kernel")
        if kernel is not None and (not isinstance(kernel, str) or not kernel):
            return error_edge(f"kernel must be a kernel name, got {kernel!r}", path=path)
        timeout = params.get("timeout")
        if timeout is not None and not _number(timeout):
            return error_edge(f"timeout must be a number > 0, got {timeout!r}", path=path)
        gateway = _gateway(ctx)
        if gateway is None:
            return _unavailable(ctx, path=path)

        def on_progress(cell: dict[str, Any]) -> None:
            ctx.progress(
                cell["cellsDone"],
                cell["cellsTotal"],
                unit="cells",
                cellIndex=cell["cellIndex"],
                cellStatus=cell["status"],
                cellMs=cell["durationMs"],
            )

        try:
            report = await gateway.run_notebook(
                path,
                parameters=dict(parameters),
                kernel=kernel,
                timeout=timeout,
                on_progress=on_progress,
            )
        except OwnerServerError:
            raise  # the run fails: the server is away, not the step wrong
        except _GATEWAY_ERRORS as exc:
            code = getattr(exc, "code", type(exc).__name__)
            return error_edge(str(exc), path=path, code=code)
        outputs = dict(report.get("outputs") or {})
        summary = {k: v for k, v in report.items() if k != "outputs"}
        summary["path"] = path
        ctx.state["notebookOutputs"] = outputs
        ctx.state["notebookResult"] = summary
        if report.get("status") != "completed":
            failure = dict(report.get("error") or {})
            message = failure.pop("message", None) or "the notebook failed"
            ctx.log(f"notebook {path} failed: {message}")
            return error_edge(
                message, path=path, executedPath=report.get("executedPath"), **failure
            )
        ctx.log(f"notebook {path} completed ({len(outputs)} outputs)")
        return Edge("success", {"outputs": outputs, "executedPath": report.get("executedPath")})


class PythonNode(Node):
    metadata = NodeMetadata(
        id="python",
        name="Python Code",
        description=(
            "Runs Python code in this run's own Jupyter kernel (shared by the run's python "
            "steps) with the workflow state as a dict named state; what the code leaves in "
            "state becomes the workflow state."
        ),
        category="jupyter",
        inputs=(
            ParamSpec(
                "code",
                "string",
                "Python code; reads and changes `state` (JSON values only)",
                True,
            ),
        ),
        outputs=("<the keys the code leaves in state>",),
        edges=("success", "error"),
        example={"code": "state['total'] = sum(state.get('values', []))", "success?": "log"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        code = params.get("code")
        if not isinstance(code, str) or not code.strip():
            return error_edge("Missing required parameter: code (Python source)")
        gateway = _gateway(ctx)
        if gateway is None:
            return _unavailable(ctx)
        state = ctx.state
        visible = {k: v for k, v in state.items() if not k.startswith("_")}
        try:
            after = await gateway.run_python(ctx.execution_id, code, visible)
        except OwnerServerError:
            raise  # the run fails: the server is away, not the step wrong
        except _GATEWAY_ERRORS as exc:
            return error_edge(
                str(exc),
                code=getattr(exc, "code", type(exc).__name__),
                ename=getattr(exc, "ename", None),
                evalue=getattr(exc, "evalue", None),
                traceback=getattr(exc, "traceback", None),
            )
        removed = [k for k in visible if k not in after]
        for key in removed:
            del state[key]
        changed = []
        for key, value in after.items():
            if key.startswith("_"):
                continue  # engine bookkeeping is not the code's to set
            if key not in visible or visible[key] != value:
                changed.append(key)
            state[key] = value
        return Edge("success", {"changed": changed, "removed": removed})


NODES: tuple[type[Node], ...] = (NotebookNode, PythonNode)
