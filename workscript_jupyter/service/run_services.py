"""What a run on the server gets in ``ctx.services``: the factory's ``Services`` plus gateways
bound to the run's caller.

Nodes reach the outside world only through their services (DESIGN §2). On the server, three
of them are use cases of their own, each bound to the caller whose run it is:

- ``workflows``: child runs (runWorkflow; ``child_runs.WorkflowRunner``);
- ``resources``: the caller's resources (resource-*; ``resources.ResourceGateway``);
- ``ai``: completions billed to the caller (ask-ai; ``ai.AIGateway``);
- ``google``: the caller's Google connections (the Google nodes; ``google_gateway.py``).

``resources``, ``ai`` and ``google`` are fields of ``Services`` itself (a kernel can fill them too);
``workflows`` only exists here. ``RunServices`` holds one builder per name; the use cases
register theirs when they are composed (core.py), and ``wrap(factory)`` is the executor's
services factory. A builder that is not registered leaves its field as the factory set it
(None by default): the nodes that need it take their error edge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..engine import Services
from .values import Caller, ServicesFactory

__all__ = ["GATEWAYS", "RunServices", "ServerServices"]

GATEWAYS = ("workflows", "resources", "ai", "google")


@dataclasses.dataclass
class ServerServices(Services):
    """``Services`` of a run on the server (see the module docstring)."""

    workflows: Any = None

    async def settle(self) -> None:
        """What the run's gateways still owe before its end is recorded: the AI usage rows
        of its calls (written in groups, not awaited by each call: service/ai_usage.py)."""
        settle = getattr(self.ai, "settle", None)
        if settle is not None:
            await settle()


class RunServices:
    """Gateway builders by name, and the services factory that applies them."""

    def __init__(self) -> None:
        self._builders: dict[str, Callable[[Caller], Any]] = {}

    def register(self, name: str, build: Callable[[Caller], Any]) -> None:
        if name not in GATEWAYS:
            raise ValueError(f"unknown run gateway {name!r}: one of {', '.join(GATEWAYS)}")
        self._builders[name] = build

    def wrap(self, factory: ServicesFactory) -> ServicesFactory:
        """``factory`` with the registered gateways added to the ``Services`` it builds
        (anything else it returns is left alone)."""

        def build(caller: Caller) -> Any:
            services = factory(caller)
            if not isinstance(services, Services):
                return services
            values = {f.name: getattr(services, f.name) for f in dataclasses.fields(Services)}
            values.update({name: make(caller) for name, make in self._builders.items()})
            return ServerServices(**values)

        return build
