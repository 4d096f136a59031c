"""Connections to outside accounts (issue 18: Google) and the OAuth states of sign-ins in
progress.

The store keeps only ciphertext: a SecretBox above it encrypts the tokens. Two rules here keep
concurrent servers honest: ``take_refresh_lease`` is a compare-and-set, so one process at a time
refreshes a connection's tokens, and ``pop_oauth_state`` consumes a state exactly once, and only
for the user who started the flow (a foreign state is refused and consumed all the same, so it
cannot be tried again).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..records import Integration, OAuthState, Scope

__all__ = [
    "INTEGRATION_FIELDS",
    "INTEGRATION_STATUSES",
    "IntegrationStore",
    "check_integration_values",
    "default_name",
]

_List = list  # the classes below define a method named list

INTEGRATION_FIELDS = frozenset(
    {
        "name",
        "account_id",
        "account_email",
        "account_name",
        "scopes",
        "access_token_encrypted",
        "refresh_token_encrypted",
        "expires_at",
        "status",
        "last_used_at",
        "last_refreshed_at",
        "last_error",
    }
)
INTEGRATION_STATUSES = frozenset({"active", "needs_consent", "error"})
_LENGTHS = {"name": 255, "account_id": 255, "account_email": 320, "account_name": 255}
LAST_ERROR_LENGTH = 1000


def check_integration_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a create or update, checked the same way on every backend: a known
    status, labels within their column, a non-empty name. ``last_error`` is a diagnostic (a
    provider's message), so it is cut to its column rather than refused."""
    checked = dict(values)
    if "status" in checked and checked["status"] not in INTEGRATION_STATUSES:
        raise ValueError(
            f"integration status {checked['status']!r} is not one of "
            f"{', '.join(sorted(INTEGRATION_STATUSES))}"
        )
    for name, limit in _LENGTHS.items():
        value = checked.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise ValueError(f"integration {name} must be a string of at most {limit} characters")
    if "name" in checked and not (checked["name"] or "").strip():
        raise ValueError("integration name must not be empty")
    error = checked.get("last_error")
    if error is not None:
        checked["last_error"] = str(error)[:LAST_ERROR_LENGTH]
    return checked


def default_name(provider: str, fields: Mapping[str, Any]) -> str:
    """A new connection's label when the user gave none: its account's email, else provider."""
    return str(fields.get("name") or fields.get("account_email") or provider)


class IntegrationStore(ABC):
    @abstractmethod
    def create(self, scope: Scope, *, provider: str, **fields: Any) -> Integration:
        """A new connection owned by ``scope.user_id``; ConflictError when this owner already
        has one for the same provider account."""

    @abstractmethod
    def get(self, scope: Scope, integration_id: str) -> Integration: ...

    @abstractmethod
    def get_by_account(self, scope: Scope, provider: str, account_id: str) -> Integration | None:
        """The caller's own connection to that provider account (an account is unique per
        owner, so this looks among ``scope.user_id``'s connections even for an admin)."""

    @abstractmethod
    def update(self, scope: Scope, integration_id: str, **changes: Any) -> Integration: ...

    @abstractmethod
    def delete(self, scope: Scope, integration_id: str) -> None: ...

    @abstractmethod
    def list(self, scope: Scope, *, provider: str | None = None) -> _List[Integration]: ...

    @abstractmethod
    def touch_used(self, integration_id: str, at: datetime) -> None:
        """Record a use of the connection (no error when it was deleted meanwhile)."""

    @abstractmethod
    def take_refresh_lease(self, integration_id: str, until: datetime, now: datetime) -> bool:
        """Hold the refresh lease until ``until``: True only when no lease is held (none, or
        one that ended before ``now``). Atomic: of two takers exactly one wins. False for an
        unknown connection."""

    @abstractmethod
    def release_refresh_lease(self, integration_id: str) -> None: ...

    @abstractmethod
    def save_oauth_state(self, state: OAuthState) -> None: ...

    @abstractmethod
    def pop_oauth_state(self, state: str, user_id: str | None, now: datetime) -> OAuthState | None:
        """The state, removed so it can be used once; None when unknown, already used,
        expired, or started by another user (that state is consumed too). ``user_id`` None:
        the state alone identifies the flow (the OAuth callback reached without a login)."""

    @abstractmethod
    def prune_oauth_states(self, now: datetime) -> int:
        """Remove the states expired at ``now``; how many were removed."""
