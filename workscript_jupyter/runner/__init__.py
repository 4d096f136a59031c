"""Headless notebooks: run one with nbclient, inject parameters, collect ``output()`` values and
report failures. Imports only ``workscript_jupyter.engine`` and ``errors`` from the package.

Names load on first use (PEP 562): ``from workscript_jupyter.runner.lazy_gateway import ...``
must not pay for nbclient, jupyter_client and zmq, which a workflow without a ``notebook`` or
``python`` node never needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .execute import NotebookProgress, NotebookRun, run_notebook
    from .gateway import RunnerGateway
    from .lazy_gateway import LazyNotebookGateway
    from .outputs import OUTPUT_MIME_TYPE, OutputCollector, collect_from_notebook
    from .parameters import INJECTED_TAG, PARAMETERS_TAG, inject, render_parameters
    from .paths import DEFAULT_OUTPUT_TEMPLATE, resolve_inside
    from .pool import KernelPool, KernelPoolClosedError
    from .report import FailureKind, NotebookFailure, strip_ansi

__all__ = [
    "DEFAULT_OUTPUT_TEMPLATE",
    "INJECTED_TAG",
    "OUTPUT_MIME_TYPE",
    "PARAMETERS_TAG",
    "FailureKind",
    "KernelPool",
    "KernelPoolClosedError",
    "LazyNotebookGateway",
    "NotebookFailure",
    "NotebookProgress",
    "NotebookRun",
    "OutputCollector",
    "RunnerGateway",
    "collect_from_notebook",
    "inject",
    "render_parameters",
    "resolve_inside",
    "run_notebook",
    "strip_ansi",
]

_HOMES = {
    **dict.fromkeys(("NotebookProgress", "NotebookRun", "run_notebook"), "execute"),
    "RunnerGateway": "gateway",
    "LazyNotebookGateway": "lazy_gateway",
    **dict.fromkeys(("OUTPUT_MIME_TYPE", "OutputCollector", "collect_from_notebook"), "outputs"),
    **dict.fromkeys(
        ("INJECTED_TAG", "PARAMETERS_TAG", "inject", "render_parameters"), "parameters"
    ),
    **dict.fromkeys(("DEFAULT_OUTPUT_TEMPLATE", "resolve_inside"), "paths"),
    **dict.fromkeys(("KernelPool", "KernelPoolClosedError"), "pool"),
    **dict.fromkeys(("FailureKind", "NotebookFailure", "strip_ansi"), "report"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found once; later look-ups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
