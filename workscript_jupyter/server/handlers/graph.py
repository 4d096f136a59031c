"""The drawing of a workflow, as SVG: the RunMonitor's own (``engine/graph_svg.py``).

- ``GET /workscript/workflows/{id}/graph`` — a stored workflow (``workflow:read``; another
  user's is a 404, as for ``GET /workscript/workflows/{id}``);
- ``POST /workscript/workflows/graph`` — a definition not stored: ``{"definition": {...}}`` or
  the bare definition, as ``/workscript/workflows/validate`` takes it; an invalid one is a 400
  listing its issues (``WORKFLOW_VALIDATION_ERROR``).

Both take ``?theme=light|dark`` (the palette of the presentation attributes; every shape also
has a class a page can restyle) and answer ``image/svg+xml`` with ``Cache-Control: no-store``
and ``X-Content-Type-Options: nosniff``; Jupyter's API CSP (``default-src 'none'``) comes with
every answer. A big definition is parsed in a worker thread, as validation does
(``service/definition_limits.py``), and the drawing itself is bounded (at most 200 top-level
steps, about 400 KB), so neither stalls the event loop. Text from the definition is escaped.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine.graph_svg import THEMES, workflow_svg
from ...service.definition_limits import parse_definition
from ..base import WorkscriptHandler, bad_request

__all__ = ["DefinitionGraphHandler", "WorkflowGraphHandler"]

SVG_TYPE = "image/svg+xml; charset=utf-8"


class _GraphHandler(WorkscriptHandler):
    auth_resource = "workscript:workflows"

    def theme(self) -> str:
        theme = self.get_query_argument("theme", None) or "light"
        if theme not in THEMES:
            raise bad_request(
                f"theme must be one of {', '.join(THEMES)}, not {theme!r}", {"field": "theme"}
            )
        return theme

    async def write_svg(self, definition: Any, theme: str) -> None:
        """Parse ``definition`` (WorkflowValidationError → 400) and answer its drawing."""
        workflows = self.workflows
        workflow = await parse_definition(definition, workflows.registry, workflows.engine_limits)
        svg = workflow_svg(workflow, theme=theme)
        self.set_status(200)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(svg, set_content_type=SVG_TYPE)


class WorkflowGraphHandler(_GraphHandler):
    """``GET /workscript/workflows/{id}/graph``: the drawing of a stored workflow."""

    permissions = {"GET": "workflow:read"}

    @web.authenticated
    @authorized
    async def get(self, workflow_id: str) -> None:
        theme = self.theme()
        record = await self.workflows.get_workflow(await self.caller(), workflow_id)
        await self.write_svg(record.definition, theme)


class DefinitionGraphHandler(_GraphHandler):
    """``POST /workscript/workflows/graph`` with ``{definition}`` or the bare definition."""

    permissions = {"POST": None}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        theme = self.theme()
        body: Any = self.json_body()
        definition = body
        if isinstance(body, dict) and "definition" in body and "workflow" not in body:
            definition = body["definition"]
        await self.write_svg(definition, theme)
