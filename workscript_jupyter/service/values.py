"""The service layer's values: who is calling, the run limits, and the run statuses."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Final

from ..auth.permissions import check_permission, permissions_of
from ..errors import ConfigurationError
from ..store.records import Scope, User

__all__ = [
    "ACTIVE_STATUSES",
    "ALL_STATUSES",
    "FINAL_STATUSES",
    "Caller",
    "RunLimits",
    "ServicesFactory",
]

ACTIVE_STATUSES: Final = ("queued", "running")
FINAL_STATUSES: Final = ("completed", "failed", "timed_out", "cancelled", "interrupted")
ALL_STATUSES: Final = frozenset((*ACTIVE_STATUSES, *FINAL_STATUSES))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the workscript user, the scope every store call of theirs uses, what
    they may do (``permissions``) and how they proved it (``via``: ``jupyter``, ``jwt``,
    ``session`` or ``api_key``, with ``key_id`` for a key)."""

    user: User
    scope: Scope
    permissions: frozenset[str] = frozenset()
    via: str = "jupyter"
    key_id: str | None = None

    @classmethod
    def of(cls, user: User, *, via: str = "jupyter") -> Caller:
        """The caller acting as ``user`` with every permission of their roles and extras
        (admin scope when the user has the admin role)."""
        return cls(
            user,
            Scope(user.id, is_admin=user.is_admin),
            permissions_of(user.roles, user.permissions),
            via,
        )

    @classmethod
    def of_key(cls, user: User, key_id: str, key_permissions: Collection[str]) -> Caller:
        """The caller of an API key: the key's permissions that its owner still has. It sees
        every user's rows only when its owner is an admin and it holds ``user:manage``."""
        granted = permissions_of(user.roles, user.permissions) & frozenset(key_permissions)
        admin = user.is_admin and "user:manage" in granted
        return cls(user, Scope(user.id, is_admin=admin), granted, "api_key", key_id)

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.scope.is_admin

    def require(self, permission: str) -> None:
        """PermissionDeniedError (403) unless this caller holds ``permission``."""
        holder = "this API key" if self.via == "api_key" else f"the user {self.user.username!r}"
        check_permission(self.permissions, permission, holder=holder)


@dataclass(frozen=True, slots=True)
class RunLimits:
    """How many runs execute at once (per server and per user), and how many a user may queue.

    A run over its owner's concurrency limit waits in the queue while other users' runs proceed;
    a ``start_run`` over ``max_queued_runs_per_user`` (queued + running) is refused at once.
    """

    max_concurrent_runs: int = 4
    max_concurrent_runs_per_user: int = 2
    max_queued_runs_per_user: int = 100

    def __post_init__(self) -> None:
        for name in (
            "max_concurrent_runs",
            "max_concurrent_runs_per_user",
            "max_queued_runs_per_user",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"RunLimits.{name} must be an integer >= 1, not {value!r}")


# ``services_factory(caller)`` builds the ``engine.Services`` a run's nodes get (root_dir...).
ServicesFactory = Callable[[Caller], Any]
