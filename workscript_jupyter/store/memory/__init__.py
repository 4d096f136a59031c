"""The in-memory store: a complete ``Store`` that doubles as the test double.

It keeps every rule of ``store.base`` (owner scoping, keyset paging, unique rules, validated
updates, cascades, batched pruning) so code tested against it behaves the same on SQL. Nothing
survives the process; all families share one ``RLock``, so it is safe from any thread.
"""

from __future__ import annotations

from ..base import Store
from ._state import Tables
from .accounts import MemoryCredentials
from .ai import MemoryAi
from .integrations import MemoryIntegrations
from .resources import MemoryResources
from .runs import MemoryExecutions
from .schedules import MemoryAutomations, MemoryFires
from .users import MemoryUsers
from .workflows import MemoryWorkflows

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """All families over one shared set of tables."""

    def __init__(self) -> None:
        tables = Tables()
        self._tables = tables
        self.workflows = MemoryWorkflows(tables)
        self.executions = MemoryExecutions(tables)
        self.automations = MemoryAutomations(tables)
        self.fires = MemoryFires(tables)
        self.users = MemoryUsers(tables)
        self.credentials = MemoryCredentials(tables)
        self.resources = MemoryResources(tables)
        self.integrations = MemoryIntegrations(tables)
        self.ai = MemoryAi(tables)
