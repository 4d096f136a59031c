"""``ParsedWorkflows``: a saved workflow parsed once per version, not once per run.

A webhook called a hundred times a second, or a script posting runs of one workflow, would
otherwise parse (validate and compile) the same definition at every call. A parsed ``Workflow``
is never changed by its runs (each run has a state of its own), so runs of one version share
it. The version is what identifies the definition's content — the saved workflow's id and
update time, plus whatever a caller adds to the definition (an automation's timeout) — and a
definition without one (sent inline with a run) is parsed every time.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Final

from ..engine import EngineLimits, NodeRegistry, Workflow
from .definition_limits import parse_definition

__all__ = ["ParsedWorkflows"]

KEPT: Final = 256  # parsed workflows kept; the oldest goes first


class ParsedWorkflows:
    def __init__(self, registry: NodeRegistry, limits: EngineLimits, *, kept: int = KEPT) -> None:
        self.registry = registry
        self.limits = limits
        self.kept = max(1, kept)
        self._parsed: dict[Hashable, Workflow] = {}

    async def parse(self, definition: Any, version: Hashable | None = None) -> Workflow:
        """``definition`` parsed (WorkflowValidationError if invalid), once per ``version``."""
        if version is not None:
            known = self._parsed.get(version)
            if known is not None:
                return known
        workflow = await parse_definition(definition, self.registry, self.limits)
        if version is not None:
            if len(self._parsed) >= self.kept:
                del self._parsed[next(iter(self._parsed))]  # the oldest
            self._parsed[version] = workflow
        return workflow
