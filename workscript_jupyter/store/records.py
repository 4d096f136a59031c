"""The values the store keeps and returns: frozen dataclasses, never ORM rows.

Ids are 32 hex characters everywhere: ``uuid4().hex`` (``new_id``), or a time-ordered UUIDv7 for
the rows a history piles up by the thousand, runs and fires (``new_ordered_id``). Times are
timezone-aware UTC ``datetime`` with microseconds (``utcnow``). JSON-shaped fields are plain
dicts and lists.
Secrets are stored only as hashes (or encrypted, for integration tokens) and never appear in the
records a list or get returns, except the fields explicitly named ``*_hash`` / ``*_encrypted``,
which callers use to verify and never send out.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "AiModel",
    "AiUsage",
    "ApiKey",
    "Automation",
    "ExecutionRecord",
    "Integration",
    "LoginAttempt",
    "OAuthState",
    "Page",
    "PasswordReset",
    "RefreshToken",
    "Resource",
    "ScheduleFire",
    "Scope",
    "Session",
    "User",
    "WorkflowRecord",
    "new_id",
    "new_ordered_id",
    "utcnow",
]


def new_id() -> str:
    """The store's id: 32 random hex characters (a uuid4), collision-free and unguessable."""
    return uuid.uuid4().hex


def new_ordered_id() -> str:
    """An id for rows written in time order by the thousand (runs, fires): a UUIDv7 (RFC 9562)
    as 32 hex characters, its first 12 the creation time in milliseconds, then 74 random bits.

    Ids that grow with time go in at the right edge of the primary key. MariaDB stores a table's
    rows in primary-key order, so a random key makes every insert read and dirty a page picked at
    random in a table much larger than memory: with a million runs, a scheduler pass claiming
    1,000 ticks spent most of its time on those pages (docs/storage.md). Not for values that
    must be secret or unguessable (sessions, tokens): part of it is a timestamp.
    """
    millis = time.time_ns() // 1_000_000
    value = (millis & (1 << 48) - 1) << 80 | secrets.randbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC 4122 variant
    return f"{value:032x}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Scope:
    """Who is asking. A non-admin sees and changes only rows they own; an admin sees all."""

    user_id: str
    is_admin: bool = False

    def allows(self, owner_id: str | None) -> bool:
        return self.is_admin or owner_id == self.user_id


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list, and the opaque cursor of the next page (None at the end)."""

    items: tuple[Any, ...]
    next_cursor: str | None = None


# -- users and credentials ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    email: str | None = None
    display_name: str | None = None
    roles: tuple[str, ...] = ("user",)
    is_active: bool = True
    source: str = "local"  # local | jupyter | hub | google
    external_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    last_login_at: datetime | None = None
    # extra permission strings granted to this user beyond those of their roles
    permissions: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @classmethod
    def new(
        cls,
        username: str,
        *,
        email: str | None = None,
        roles: Iterable[str] = ("user",),
        display_name: str | None = None,
        source: str = "local",
        external_id: str | None = None,
        permissions: Iterable[str] = (),
    ) -> User:
        """A user about to be stored: a fresh id, created and updated now (every backend)."""
        now = utcnow()
        return cls(
            id=new_id(), username=username, email=email, display_name=display_name,
            roles=tuple(roles), source=source, external_id=external_id,
            created_at=now, updated_at=now, permissions=tuple(permissions),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None = None
    user_agent: str | None = None
    ip: str | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A stored refresh token (its hash). Every rotation replaces a token by a new one of the
    same ``family_id`` (the id of the family's first token): presenting a token that was
    already rotated means it was stolen or replayed, and the whole family is revoked.
    ``session_id`` is the login session the family belongs to, if any (a database or Redis
    session id)."""

    id: str
    user_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    family_id: str
    revoked_at: datetime | None = None
    replaced_by: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    owner_id: str
    name: str
    prefix: str  # the first characters of the key, shown to recognise it
    key_hash: str
    scopes: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=utcnow)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    rate_limit: int | None = None  # requests per hour for this key; None: the server's default

    @classmethod
    def new(
        cls,
        owner_id: str,
        *,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
        rate_limit: int | None = None,
    ) -> ApiKey:
        """A key about to be stored: a fresh id, created now (every backend)."""
        return cls(
            id=new_id(), owner_id=owner_id, name=name, prefix=prefix, key_hash=key_hash,
            scopes=tuple(scopes), created_at=utcnow(), expires_at=expires_at,
            rate_limit=rate_limit,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    id: str
    username: str
    succeeded: bool
    at: datetime
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class PasswordReset:
    id: str
    user_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


# -- workflows and runs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkflowRecord:
    id: str
    owner_id: str
    name: str
    definition: dict[str, Any]
    version: str = "1.0.0"
    description: str = ""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    # the definition's own "id" (unique per owner; None: none, or an old duplicate)
    definition_id: str | None = None

    @classmethod
    def new(
        cls,
        owner_id: str,
        *,
        name: str,
        definition: dict[str, Any],
        description: str = "",
        version: str = "1.0.0",
        id: str | None = None,
    ) -> WorkflowRecord:
        """A workflow about to be stored (``definition`` already copied): a fresh id unless
        given, created and updated now, its definition id read from the definition."""
        from .definition_ids import definition_id_of

        now = utcnow()
        return cls(
            id=id or new_id(),
            owner_id=owner_id,
            name=name,
            definition=definition,
            version=version,
            description=description,
            created_at=now,
            updated_at=now,
            definition_id=definition_id_of(definition),
        )


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One run. Automations' runs live here too (``automation_id``): one table for every run."""

    id: str
    owner_id: str
    status: str  # queued | running | completed | failed | timed_out | cancelled | interrupted
    trigger: str = "manual"  # manual | api | cron | webhook | notebook
    workflow_id: str | None = None
    automation_id: str | None = None
    initial_state: dict[str, Any] = field(default_factory=dict)
    final_state: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    trigger_data: dict[str, Any] = field(default_factory=dict)
    node_runs: int = 0
    attempt: int = 1
    claimed_by: str | None = None  # the server or worker running it
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: float | None = None
    # what went wrong without failing the run: ``{code, message, nodePath, nodeType}`` each
    # (an ``error`` edge that found no handler, ...)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_warnings(self) -> bool:
        """The flag lists filter on (a column of its own in SQL, kept from ``warnings``)."""
        return bool(self.warnings)


@dataclass(frozen=True, slots=True)
class Automation:
    id: str
    owner_id: str
    name: str
    trigger_type: str  # cron | webhook | manual
    workflow_id: str | None = None
    notebook_path: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    cron_expression: str | None = None
    timezone: str = "UTC"
    webhook_token_hash: str | None = None
    enabled: bool = True
    misfire_policy: str = "run_once"  # skip | run_once | run_all
    misfire_grace_seconds: int = 3600
    overlap_policy: str = "skip"  # skip | queue | allow
    retry_count: int = 0
    retry_delay_seconds: float = 60.0
    retry_backoff: float = 2.0
    timeout_seconds: float | None = None
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class ScheduleFire:
    """One tick of an automation: claimed once, whatever happened to it afterwards."""

    id: str
    automation_id: str
    scheduled_for: datetime
    claimed_by: str
    claimed_at: datetime
    outcome: str = "claimed"  # claimed | fired | skipped | failed
    reason: str | None = None
    execution_id: str | None = None


@dataclass(frozen=True, slots=True)
class FireClaim:
    """One tick to claim in a batch (``FireStore.claim_many``), with what became of it."""

    automation_id: str
    scheduled_for: datetime
    outcome: str = "claimed"
    reason: str | None = None
    run: ExecutionRecord | None = None


# -- integrations, resources, AI ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Integration:
    """A connection to an outside account (issue 18). The store keeps only the ciphertext of
    its tokens (a SecretBox encrypts them above the store). ``refreshing_until`` is a lease:
    while it is in the future one process is refreshing the tokens and the others wait."""

    id: str
    owner_id: str
    provider: str  # google
    name: str = ""  # the user's label; the store defaults it to the account email
    account_id: str | None = None  # the provider's subject id; unique per owner and provider
    account_email: str | None = None
    account_name: str | None = None
    scopes: tuple[str, ...] = ()
    access_token_encrypted: str | None = None  # ciphertext; never plain
    refresh_token_encrypted: str | None = None  # ciphertext; never plain
    expires_at: datetime | None = None
    status: str = "active"  # active | needs_consent | error
    last_used_at: datetime | None = None
    last_refreshed_at: datetime | None = None
    last_error: str | None = None
    refreshing_until: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class OAuthState:
    state: str
    user_id: str
    provider: str
    code_verifier: str
    redirect_uri: str
    created_at: datetime
    expires_at: datetime
    scopes: tuple[str, ...] = ()  # the scopes asked for
    return_to: str | None = None  # where the browser goes once the flow is done


@dataclass(frozen=True, slots=True)
class Resource:
    """A user's resource: bytes with the original's metadata. ``content`` is the bytes (text is
    UTF-8); ``size`` and ``checksum`` (SHA-256, hex) are computed by the store on every write.
    A public resource is readable by every user; only its owner (or an admin) changes it."""

    id: str
    owner_id: str
    path: str
    name: str
    type: str = "document"  # prompt | document | data | image | audio
    mime_type: str = "text/plain"
    content: bytes = b""
    size: int = 0
    checksum: str = ""
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    is_public: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class AiModel:
    """A model of the provider's catalogue. Prices are USD per token (``None``: unknown);
    ``provider`` is the vendor part of the id ("openai" of "openai/gpt-4o-mini")."""

    id: str  # the provider's model id, e.g. "openai/gpt-4o-mini"
    name: str
    provider: str = "openrouter"
    description: str | None = None
    context_length: int | None = None
    max_completion_tokens: int | None = None
    input_modalities: list[str] = field(default_factory=list)
    output_modalities: list[str] = field(default_factory=list)
    prompt_price: float | None = None
    completion_price: float | None = None
    pricing: dict[str, Any] = field(default_factory=dict)
    is_active: bool = True
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class AiUsage:
    """One completion: who paid (the run's owner), for which run and node, and what it cost."""

    id: str
    owner_id: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    execution_id: str | None = None
    workflow_id: str | None = None
    node_path: str | None = None
    duration_ms: float | None = None
    created_at: datetime = field(default_factory=utcnow)
