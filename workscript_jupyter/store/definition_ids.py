"""A workflow's definition id: the ``id`` written inside its definition.

The original's clients create ``{definition: {id: "daily-report", ...}}`` and later run
``{workflowId: "daily-report"}``, so a saved workflow is found by its record id or by its
owner's definition id. The store keeps that id in ``workflows.definition_id``, unique per owner.
Both backends take it from the definition with ``definition_id_of`` and look a workflow up by
one rule: the record id first (any workflow the scope may see), then the definition
id among the caller's *own* workflows (an admin's definition ids are their own too).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["DEFINITION_ID_MAX", "definition_id_of"]

DEFINITION_ID_MAX: Final = 200  # the column's width (migration 0002)


def definition_id_of(definition: Any) -> str | None:
    """The definition's ``id`` when it is a non-empty string that fits the column, else None
    (the service refuses a longer one before it gets here)."""
    value = definition.get("id") if isinstance(definition, dict) else None
    if isinstance(value, str) and 0 < len(value) <= DEFINITION_ID_MAX:
        return value
    return None
