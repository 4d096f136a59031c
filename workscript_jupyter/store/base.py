"""The store's interface: the ``Store`` facade over one abstract class per entity family.

The families live in ``store/interfaces/`` (one module each, named like the SQL backend's:
workflows, executions, automations and fires, users, credentials, resources, integrations, AI);
every name is re-exported here, so ``from workscript_jupyter.store.base import X`` keeps working.

Every backend (``memory``, ``sql``) implements all of them, and one contract test suite runs
against each. Methods are synchronous: the SQL backend talks to a synchronous SQLAlchemy engine,
and the server calls the store through ``store.aio`` (``run_off_loop``), never on its event loop.

Rules every backend keeps:

- Rows a user creates have an owner. Methods taking a ``Scope`` see and change only the scope's
  rows unless ``scope.is_admin``; another user's row is ``RecordNotFoundError``, exactly as a row
  that does not exist (no existence leak).
- Lists return a ``Page``: newest first (``created_at`` then ``id``, both descending) and an
  opaque cursor; rows inserted while a client pages never make it see a row twice or skip one.
- ``update(**changes)`` accepts only the fields the method documents; anything else is a
  ``ValueError`` naming the field, and nothing is written.
- Unique rules (a username, an email, one fire per automation and tick) raise ``ConflictError``
  (``FireAlreadyClaimedError`` for fires), and leave the store unchanged.
"""

from __future__ import annotations

from abc import ABC

from .interfaces.ai import AiStore
from .interfaces.automations import AUTOMATION_FIELDS, AutomationStore, FireStore
from .interfaces.credentials import CredentialStore
from .interfaces.executions import EXECUTION_FIELDS, ExecutionStore
from .interfaces.integrations import INTEGRATION_FIELDS, IntegrationStore
from .interfaces.resources import RESOURCE_FIELDS, ResourceStore
from .interfaces.users import USER_FIELDS, UserStore
from .interfaces.workflows import WORKFLOW_FIELDS, WorkflowStore

__all__ = [
    "AUTOMATION_FIELDS",
    "EXECUTION_FIELDS",
    "INTEGRATION_FIELDS",
    "RESOURCE_FIELDS",
    "USER_FIELDS",
    "WORKFLOW_FIELDS",
    "AiStore",
    "AutomationStore",
    "CredentialStore",
    "ExecutionStore",
    "FireStore",
    "IntegrationStore",
    "ResourceStore",
    "Store",
    "UserStore",
    "WorkflowStore",
]


class Store(ABC):
    """Everything the service layer persists, one attribute per family."""

    workflows: WorkflowStore
    executions: ExecutionStore
    automations: AutomationStore
    fires: FireStore
    users: UserStore
    credentials: CredentialStore
    resources: ResourceStore
    integrations: IntegrationStore
    ai: AiStore

    def close(self) -> None:  # noqa: B027 - backends with nothing to close need not override
        """Release connections."""
