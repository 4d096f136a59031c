"""How ``output(name, value)`` in a kernel reaches the runner.

The helper (``workscript_jupyter/output.py``) publishes a ``display_data`` whose bundle carries
:data:`OUTPUT_MIME_TYPE` → ``{"name": ..., "value": ...}``. The runner reads every IOPub message as
it arrives (see ``execute._RunnerClient.process_message``) and feeds it to an
:class:`OutputCollector`, so a later ``clear_output()`` in the cell cannot lose a value. The last
value recorded for a name wins. The MIME type is repeated here, not imported, because the runner
may not import the kernel-side helper's package module (layers, DESIGN §2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbformat import NotebookNode

__all__ = ["OUTPUT_MIME_TYPE", "OutputCollector", "collect_from_notebook"]

OUTPUT_MIME_TYPE = "application/vnd.workscript.output+json"

_DISPLAY_TYPES = frozenset({"display_data", "update_display_data", "execute_result"})


def _entry(data: Any) -> tuple[str, Any] | None:
    if not isinstance(data, Mapping):
        return None
    payload = data.get(OUTPUT_MIME_TYPE)
    if not isinstance(payload, Mapping):
        return None
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        return None
    return name, payload.get("value")


class OutputCollector:
    """Collects ``output()`` values from IOPub messages, in arrival order."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def feed_message(self, msg: Mapping[str, Any]) -> None:
        if msg.get("msg_type") not in _DISPLAY_TYPES:
            return
        content = msg.get("content") or {}
        entry = _entry(content.get("data"))
        if entry is not None:
            self.values[entry[0]] = entry[1]


def collect_from_notebook(nb: NotebookNode) -> dict[str, Any]:
    """The outputs left in a saved notebook's cells (for notebooks executed elsewhere)."""
    values: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") in _DISPLAY_TYPES:
                entry = _entry(out.get("data"))
                if entry is not None:
                    values[entry[0]] = entry[1]
    return values
