"""``output(name, value)``: hand a value from a notebook back to the workflow that ran it.

Used inside a kernel::

    from workscript_jupyter import output
    output("rows", 42)

The value must be JSON-serialisable. It is published as a ``display_data`` message whose bundle
carries the MIME type ``application/vnd.workscript.output+json`` (``{"name", "value"}``) next to a
short ``text/plain`` line. The headless runner picks these messages up as they arrive (before any
``clear_output`` can remove them), and the last value for a name wins. Outside a kernel the call
only records the value in :data:`recorded`.

This module imports nothing heavy: it runs inside user kernels.
"""

from __future__ import annotations

import json
import sys
import types
from typing import Any

__all__ = ["OUTPUT_MIME_TYPE", "output", "recorded"]

OUTPUT_MIME_TYPE = "application/vnd.workscript.output+json"

#: Every value recorded in this process, by name (the last one wins).
recorded: dict[str, Any] = {}


def _check_json(name: str, value: Any) -> Any:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"output {name!r}: the value must be JSON-serialisable "
            f"(str, number, bool, None, list, dict with str keys): {exc}"
        ) from None
    return json.loads(text)  # a copy: tuples become lists, as the runner will see it


def output(name: str, value: Any) -> None:
    """Record ``value`` under ``name`` as an output of this notebook run."""
    if not isinstance(name, str) or not name:
        raise ValueError("output name must be a non-empty string")
    plain = _check_json(name, value)
    recorded[name] = plain
    try:
        from IPython.core.getipython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python, no IPython: recorded only
        return
    current_shell: Any = get_ipython  # typed in IPython 9, not in 8: no version-bound ignore
    if current_shell() is None:
        return
    preview = json.dumps(plain)
    if len(preview) > 200:
        preview = preview[:197] + "..."
    bundle = {
        OUTPUT_MIME_TYPE: {"name": name, "value": plain},
        "text/plain": f"workscript output {name!r} = {preview}",
    }
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


class _CallableModule(types.ModuleType):
    """``import workscript_jupyter.output`` binds this module as the package's ``output``
    attribute, which shadows the function: make the module callable so that
    ``from workscript_jupyter import output; output("n", 1)`` works in every import order."""

    def __call__(self, name: str, value: Any) -> None:
        output(name, value)


sys.modules[__name__].__class__ = _CallableModule
