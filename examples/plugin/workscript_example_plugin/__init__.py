"""workscript's example plugin: a node, a route, a table, start/stop hooks and a health check.

``plugin`` is what the entry point ``workscript_jupyter.plugins: example`` names
(pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

from workscript_jupyter.plugins import Plugin

from .handlers import GreetingsHandler
from .hooks import health, on_start, on_stop
from .nodes import GreetNode

__all__ = ["__version__", "plugin"]
__version__ = "0.1.0"

plugin = Plugin(
    name="example",
    version=__version__,
    description="Greetings: a node, a route and a table of its own.",
    nodes=(GreetNode,),
    routes=((r"greetings", GreetingsHandler),),
    migrations=Path(__file__).with_name("migrations"),
    on_start=on_start,
    on_stop=on_stop,
    health=health,
)
