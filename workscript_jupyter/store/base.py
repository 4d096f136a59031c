"""The store's interfaces: one small abstract class per entity family, and the ``Store`` facade.

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

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import FireAlreadyClaimedError, RecordNotFoundError
from .records import (
    AiModel,
    AiUsage,
    ApiKey,
    Automation,
    ExecutionRecord,
    FireClaim,
    Integration,
    OAuthState,
    Page,
    PasswordReset,
    RefreshToken,
    Resource,
    ScheduleFire,
    Scope,
    Session,
    User,
    WorkflowRecord,
)

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

_List = list  # classes below define a method named list

WORKFLOW_FIELDS = frozenset({"name", "description", "version", "definition"})
EXECUTION_FIELDS = frozenset(
    {
        "status", "final_state", "error", "timeline", "node_runs", "attempt", "claimed_by",
        "started_at", "ended_at", "duration_ms", "trigger_data", "warnings",
    }
)  # fmt: skip
AUTOMATION_FIELDS = frozenset(
    {
        "name", "trigger_type", "workflow_id", "notebook_path", "parameters", "cron_expression",
        "timezone", "webhook_token_hash", "enabled", "misfire_policy", "misfire_grace_seconds",
        "overlap_policy", "retry_count", "retry_delay_seconds", "retry_backoff",
        "timeout_seconds", "next_run_at", "last_run_at",
    }
)  # fmt: skip
USER_FIELDS = frozenset(
    {"username", "email", "display_name", "roles", "is_active", "external_id", "last_login_at"}
)
RESOURCE_FIELDS = frozenset({"path", "content", "content_type"})
INTEGRATION_FIELDS = frozenset({"account_email", "scopes", "token_encrypted", "expires_at"})


class WorkflowStore(ABC):
    @abstractmethod
    def create(
        self,
        scope: Scope,
        *,
        name: str,
        definition: dict[str, Any],
        description: str = "",
        version: str = "1.0.0",
        id: str | None = None,
    ) -> WorkflowRecord:
        """Owned by ``scope.user_id``. An ``id`` already taken is a ConflictError."""

    @abstractmethod
    def get(self, scope: Scope, workflow_id: str) -> WorkflowRecord: ...

    @abstractmethod
    def update(self, scope: Scope, workflow_id: str, **changes: Any) -> WorkflowRecord:
        """Changes among WORKFLOW_FIELDS; ``updated_at`` is set."""

    @abstractmethod
    def delete(self, scope: Scope, workflow_id: str) -> None: ...

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        limit: int = 50,
        cursor: str | None = None,
        name_contains: str | None = None,
    ) -> Page: ...


class ExecutionStore(ABC):
    @abstractmethod
    def create(
        self,
        scope: Scope,
        *,
        status: str = "queued",
        trigger: str = "manual",
        workflow_id: str | None = None,
        automation_id: str | None = None,
        initial_state: dict[str, Any] | None = None,
        trigger_data: dict[str, Any] | None = None,
        id: str | None = None,
    ) -> ExecutionRecord: ...

    @abstractmethod
    def create_many(self, records: Sequence[ExecutionRecord]) -> None:
        """Insert finished records in one batch (imports, benchmarks); owners as given."""

    @abstractmethod
    def get(self, scope: Scope, execution_id: str) -> ExecutionRecord:
        """The whole record, timeline and states included."""

    @abstractmethod
    def update(self, scope: Scope, execution_id: str, **changes: Any) -> ExecutionRecord:
        """Changes among EXECUTION_FIELDS."""

    @abstractmethod
    def delete(self, scope: Scope, execution_id: str) -> None: ...

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        workflow_id: str | None = None,
        automation_id: str | None = None,
        status: str | Sequence[str] | None = None,
        trigger: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        has_warnings: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Summaries, newest first: ``timeline``, ``initial_state`` and ``final_state`` are
        left empty (``get`` has them), so a page stays small however big the runs were.
        ``has_warnings`` keeps only the runs with (True) or without (False) warnings."""

    def start(self, execution_id: str, claimed_by: str, started_at: datetime) -> bool:
        """``queued`` → ``running`` (with ``claimed_by`` and ``started_at``) if the run is still
        queued; False if it is not (cancelled, deleted, or started by another worker). The one
        compare-and-set that makes a run start once, however many workers race for it."""
        return execution_id in self.start_many([execution_id], claimed_by, started_at)

    @abstractmethod
    def start_many(
        self, execution_ids: Sequence[str], claimed_by: str, started_at: datetime
    ) -> set[str]:
        """``start`` for many runs in one transaction; the ids that were started."""

    @abstractmethod
    def finish_many(self, results: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """The final records of many runs, ``(execution_id, changes)`` each with the same
        fields (among EXECUTION_FIELDS), in one statement; gone runs are skipped. A value the
        store cannot hold fails the whole call (callers then record one by one)."""

    @abstractmethod
    def claim_queued(self, claimed_by: str, *, limit: int = 10) -> _List[ExecutionRecord]:
        """Up to ``limit`` of the oldest queued runs nobody has claimed, now claimed by
        ``claimed_by`` (still ``queued``: ``start`` runs them). On MySQL the rows are picked
        with ``FOR UPDATE SKIP LOCKED`` so workers never wait on each other; each run is
        claimed by one worker only."""

    @abstractmethod
    def reclaim(self, execution_id: str, *, expected: str | None, claimed_by: str | None) -> bool:
        """A queued run claimed by ``expected`` (None: nobody) now claimed by ``claimed_by``;
        False, and nothing changed, if it is not queued or someone else holds it. The
        compare-and-set by which a run of a dead server reaches exactly one pool."""

    @abstractmethod
    def active_for_automations(self, automation_ids: Iterable[str]) -> dict[str, str]:
        """For each of these automations with a queued or running run (all owners): the id of
        one such run. The overlap check of a whole scheduler pass in one query."""

    @abstractmethod
    def count(self, *, status: str | Sequence[str], owner_id: str | None = None) -> int:
        """How many runs are in ``status`` (all owners, or one): for concurrency limits."""

    @abstractmethod
    def prune(
        self,
        *,
        older_than: datetime | None = None,
        keep_per_workflow: int | None = None,
        batch_size: int = 500,
    ) -> int:
        """Delete finished runs created before ``older_than`` and, per workflow, all but the
        newest ``keep_per_workflow``, in batches of at most ``batch_size`` rows per
        transaction; return how many were deleted. Queued and running runs are never pruned."""


class AutomationStore(ABC):
    @abstractmethod
    def create(self, scope: Scope, *, name: str, trigger_type: str, **fields: Any) -> Automation:
        """Other fields among AUTOMATION_FIELDS."""

    @abstractmethod
    def get(self, scope: Scope, automation_id: str) -> Automation: ...

    @abstractmethod
    def update(self, scope: Scope, automation_id: str, **changes: Any) -> Automation: ...

    @abstractmethod
    def delete(self, scope: Scope, automation_id: str) -> None:
        """Also deletes its fires."""

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        enabled: bool | None = None,
        trigger_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page: ...

    @abstractmethod
    def due(self, now: datetime, *, limit: int = 100) -> _List[Automation]:
        """Enabled automations whose ``next_run_at`` is at or before ``now`` (all owners),
        soonest first."""

    @abstractmethod
    def find_by_webhook_hash(self, token_hash: str) -> Automation | None: ...

    @abstractmethod
    def set_run_times(self, times: Sequence[tuple[str, datetime | None, datetime | None]]) -> None:
        """The scheduler's bookkeeping, ``(automation_id, next_run_at, last_run_at)`` each, in
        one go; ``updated_at`` is left alone (it dates the owner's edits). Gone ids are
        ignored."""


class FireStore(ABC):
    @abstractmethod
    def claim(
        self,
        automation_id: str,
        scheduled_for: datetime,
        claimed_by: str,
        *,
        outcome: str = "claimed",
        reason: str | None = None,
        run: ExecutionRecord | None = None,
    ) -> ScheduleFire:
        """Claim one tick. Raises FireAlreadyClaimedError if any server claimed it before.

        ``outcome``/``reason`` record at once what became of the tick, and ``run`` (a new
        record, usually ``queued``) is inserted in the same transaction: a tick is never
        claimed without its outcome, so a server dying after the claim loses nothing."""

    def claim_many(
        self, claims: Sequence[FireClaim], claimed_by: str
    ) -> _List[ScheduleFire | None]:
        """Claim many ticks (with their outcomes and runs) at once; for each, the fire, or None
        when another server had claimed that tick (or its automation is gone). Backends do it in
        one transaction when no tick is taken; this default claims one by one."""
        fires: _List[ScheduleFire | None] = []
        for claim in claims:
            try:
                fires.append(
                    self.claim(
                        claim.automation_id,
                        claim.scheduled_for,
                        claimed_by,
                        outcome=claim.outcome,
                        reason=claim.reason,
                        run=claim.run,
                    )
                )
            except (FireAlreadyClaimedError, RecordNotFoundError):
                fires.append(None)
        return fires

    @abstractmethod
    def record(
        self,
        fire_id: str,
        outcome: str,
        *,
        reason: str | None = None,
        execution_id: str | None = None,
    ) -> ScheduleFire: ...

    @abstractmethod
    def list(
        self, scope: Scope, automation_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """Newest tick first. An automation the scope cannot see is RecordNotFoundError."""


class UserStore(ABC):
    """Users are not owned; the service layer decides who may call what."""

    @abstractmethod
    def create(
        self,
        username: str,
        *,
        email: str | None = None,
        password_hash: str | None = None,
        roles: Iterable[str] = ("user",),
        display_name: str | None = None,
        source: str = "local",
        external_id: str | None = None,
    ) -> User:
        """A username or email already taken (case-insensitive) is a ConflictError."""

    @abstractmethod
    def get(self, user_id: str) -> User: ...

    @abstractmethod
    def find(
        self,
        *,
        username: str | None = None,
        email: str | None = None,
        source: str | None = None,
        external_id: str | None = None,
    ) -> User | None:
        """By username or email (case-insensitive), or by (source, external_id)."""

    @abstractmethod
    def update(self, user_id: str, **changes: Any) -> User:
        """Changes among USER_FIELDS."""

    @abstractmethod
    def delete(self, user_id: str) -> None:
        """Also deletes the user's sessions, tokens, keys and resets."""

    @abstractmethod
    def list(self, *, limit: int = 50, cursor: str | None = None) -> Page: ...

    @abstractmethod
    def get_password_hash(self, user_id: str) -> str | None: ...

    @abstractmethod
    def set_password_hash(self, user_id: str, password_hash: str | None) -> None: ...


class CredentialStore(ABC):
    """Sessions, refresh tokens, API keys, login attempts and password resets."""

    @abstractmethod
    def create_session(
        self,
        user_id: str,
        expires_at: datetime,
        *,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> Session: ...

    @abstractmethod
    def get_session(self, session_id: str) -> Session | None: ...

    @abstractmethod
    def touch_session(self, session_id: str, at: datetime) -> None: ...

    @abstractmethod
    def revoke_session(self, session_id: str, at: datetime) -> None: ...

    @abstractmethod
    def delete_expired_sessions(self, now: datetime) -> int: ...

    @abstractmethod
    def add_refresh_token(
        self, user_id: str, token_hash: str, expires_at: datetime
    ) -> RefreshToken: ...

    @abstractmethod
    def find_refresh_token(self, token_hash: str) -> RefreshToken | None: ...

    @abstractmethod
    def revoke_refresh_token(
        self, token_id: str, at: datetime, *, replaced_by: str | None = None
    ) -> None: ...

    @abstractmethod
    def create_api_key(
        self,
        scope: Scope,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
    ) -> ApiKey: ...

    @abstractmethod
    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """For authentication: any owner's key, revoked ones included (the caller checks)."""

    @abstractmethod
    def list_api_keys(self, scope: Scope) -> _List[ApiKey]: ...

    @abstractmethod
    def revoke_api_key(self, scope: Scope, key_id: str, at: datetime) -> None: ...

    @abstractmethod
    def touch_api_key(self, key_id: str, at: datetime) -> None: ...

    @abstractmethod
    def record_login_attempt(
        self, username: str, succeeded: bool, at: datetime, *, ip: str | None = None
    ) -> None: ...

    @abstractmethod
    def count_failed_logins(self, username: str, since: datetime) -> int:
        """Failed attempts for ``username`` (case-insensitive) at or after ``since``."""

    @abstractmethod
    def create_password_reset(
        self, user_id: str, token_hash: str, expires_at: datetime
    ) -> PasswordReset: ...

    @abstractmethod
    def find_password_reset(self, token_hash: str) -> PasswordReset | None: ...

    @abstractmethod
    def use_password_reset(self, reset_id: str, at: datetime) -> None: ...


class ResourceStore(ABC):
    @abstractmethod
    def create(
        self, scope: Scope, *, path: str, content: str, content_type: str = "text/plain"
    ) -> Resource:
        """One resource per owner and path: a second is a ConflictError."""

    @abstractmethod
    def get(self, scope: Scope, resource_id: str) -> Resource: ...

    @abstractmethod
    def get_by_path(self, scope: Scope, path: str) -> Resource: ...

    @abstractmethod
    def update(self, scope: Scope, resource_id: str, **changes: Any) -> Resource: ...

    @abstractmethod
    def delete(self, scope: Scope, resource_id: str) -> None: ...

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        path_prefix: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page: ...


class IntegrationStore(ABC):
    @abstractmethod
    def create(self, scope: Scope, *, provider: str, **fields: Any) -> Integration: ...

    @abstractmethod
    def get(self, scope: Scope, integration_id: str) -> Integration: ...

    @abstractmethod
    def update(self, scope: Scope, integration_id: str, **changes: Any) -> Integration: ...

    @abstractmethod
    def delete(self, scope: Scope, integration_id: str) -> None: ...

    @abstractmethod
    def list(self, scope: Scope, *, provider: str | None = None) -> _List[Integration]: ...

    @abstractmethod
    def save_oauth_state(self, state: OAuthState) -> None: ...

    @abstractmethod
    def pop_oauth_state(self, state: str, now: datetime) -> OAuthState | None:
        """The state, removed so it can be used once; None if unknown or expired."""


class AiStore(ABC):
    @abstractmethod
    def upsert_models(self, models: Iterable[AiModel]) -> int: ...

    @abstractmethod
    def list_models(self) -> _List[AiModel]: ...

    @abstractmethod
    def add_usage(
        self,
        scope: Scope,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        execution_id: str | None = None,
    ) -> AiUsage: ...

    @abstractmethod
    def list_usage(
        self,
        scope: Scope,
        *,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page: ...

    @abstractmethod
    def usage_totals(self, scope: Scope, *, since: datetime | None = None) -> dict[str, Any]:
        """``{"requests", "prompt_tokens", "completion_tokens", "cost", "by_model": {...}}``."""


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
