"""Headless notebooks: run one with nbclient, inject parameters, collect ``output()`` values and
report failures. Imports only ``workscript_jupyter.engine`` and ``errors`` from the package."""

from __future__ import annotations

from .execute import NotebookProgress, NotebookRun, run_notebook
from .gateway import RunnerGateway
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
