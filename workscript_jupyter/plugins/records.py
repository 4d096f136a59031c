"""``PluginRecord``: what the server knows of one installed plugin, and its status.

``loaded``: everything of it is in use. ``degraded``: loaded, but a hook failed (its routes and
nodes stay). ``failed``: nothing of it is used (it did not load, a route or node was refused, or
its migration failed); ``error`` says why. A failed plugin stays failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .model import Plugin, PluginContext

__all__ = ["PluginRecord", "PluginStatus"]

PluginStatus = Literal["loaded", "degraded", "failed"]


@dataclass(slots=True)
class PluginRecord:
    name: str
    version: str = ""
    distribution: str = ""
    plugin: Plugin | None = None
    status: PluginStatus = "loaded"
    error: str | None = None
    context: PluginContext | None = None
    nodes: list[str] = field(default_factory=list)  # the node ids registered
    routes: list[str] = field(default_factory=list)  # the paths mounted
    migration: tuple[str, ...] | None = None  # the revision(s) after the plugin's upgrade
    started: bool = False

    @property
    def usable(self) -> bool:
        """Loaded (possibly degraded): its parts may be registered and its hooks run."""
        return self.plugin is not None and self.status != "failed"

    def fail(self, error: str) -> None:
        self.status = "failed"
        self.error = error

    def degrade(self, error: str) -> None:
        if self.status != "failed":
            self.status = "degraded"
            self.error = error

    def describe(self) -> dict[str, Any]:
        """The record as ``GET /workscript/plugins`` lists it (health is added there)."""
        plugin = self.plugin
        return {
            "name": self.name,
            "version": self.version,
            "description": plugin.description if plugin is not None else "",
            "status": self.status,
            "error": self.error,
            "nodes": list(self.nodes),
            "routes": list(self.routes),
            "migrations": None if self.migration is None else list(self.migration),
        }
