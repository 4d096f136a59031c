"""The RunMonitor's picture of a workflow: ``workflow_svg``, drawn in ``engine/graph_svg.py``
so the server's graph routes answer the same drawing. Kept here under its old name."""

from __future__ import annotations

from ..engine.graph_svg import workflow_svg

__all__ = ["workflow_svg"]
