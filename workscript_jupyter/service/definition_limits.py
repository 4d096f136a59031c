"""Parsing and validating workflow definitions without stalling the server's event loop.

Compiling a workflow costs about 20 µs a step: 10,000 steps hold the loop for a fifth of a
second, during which no other request is answered. A definition with more than ``BIG_STEPS``
steps is therefore parsed in a worker thread (counting stops there, so the check itself is
cheap), and every parse applies the service's ``EngineLimits`` (``max_workflow_steps``: a
definition over it is refused before anything that costs per step).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from ..engine import DEFAULT_LIMITS, EngineLimits, NodeRegistry, Workflow
from ..engine import parse_workflow as _parse
from ..engine import validate_workflow as _validate
from ..engine.parse import count_steps
from ..errors import ValidationIssue

__all__ = ["BIG_STEPS", "is_big", "parse_definition", "validate_definition"]

BIG_STEPS: Final = 200


def is_big(definition: Any) -> bool:
    """More than ``BIG_STEPS`` steps (nested included): worth a thread."""
    return isinstance(definition, dict) and (
        count_steps(definition.get("workflow"), BIG_STEPS) > BIG_STEPS
    )


async def parse_definition(
    definition: Any, registry: NodeRegistry, limits: EngineLimits = DEFAULT_LIMITS
) -> Workflow:
    """``parse_workflow`` with ``limits``, in a thread when the definition is big."""
    if is_big(definition):
        return await asyncio.to_thread(_parse, definition, registry, limits=limits)
    return _parse(definition, registry, limits=limits)


async def validate_definition(
    definition: Any, registry: NodeRegistry, limits: EngineLimits = DEFAULT_LIMITS
) -> list[ValidationIssue]:
    """``validate_workflow`` with ``limits``, in a thread when the definition is big."""
    if is_big(definition):
        return await asyncio.to_thread(_validate, definition, registry, limits=limits)
    return _validate(definition, registry, limits=limits)
