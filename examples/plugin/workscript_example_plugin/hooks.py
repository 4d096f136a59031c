"""The plugin's start and stop hooks and its health check.

``on_start`` writes the plugin's own greeting into its table; ``on_stop`` appends a line to the
file named by the setting ``stop_file`` (``c.WorkscriptApp.plugin_settings =
{"example": {"stop_file": "..."}}``), so one can see it ran. ``health`` counts the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workscript_jupyter.plugins import PluginContext

from .greetings import add_greeting, count_greetings

__all__ = ["health", "on_start", "on_stop"]


async def on_start(context: PluginContext) -> None:
    if context.engine is not None:
        hello = "hello from on_start"
        await context.run_off_loop(add_greeting, context.engine, hello, owner_id=None)
    context.log.info("example plugin started")


async def on_stop(context: PluginContext) -> None:
    stop_file = context.settings.get("stop_file")
    if isinstance(stop_file, str) and stop_file:
        line = f"example plugin stopped at {datetime.now(UTC).isoformat()}\n"
        await context.run_off_loop(_append, Path(stop_file), line)
    context.log.info("example plugin stopped")


async def health(context: PluginContext) -> dict[str, Any]:
    if context.engine is None:
        return {"status": "degraded", "reason": "no database"}
    count = await context.run_off_loop(count_greetings, context.engine)
    return {"status": "ok", "greetings": count}


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(line)
