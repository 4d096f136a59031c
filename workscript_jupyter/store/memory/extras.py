"""Resources, integrations with their OAuth states, and AI models and usage, in memory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import ConflictError, RecordNotFoundError
from ..base import INTEGRATION_FIELDS, RESOURCE_FIELDS, AiStore, IntegrationStore, ResourceStore
from ..records import (
    AiModel,
    AiUsage,
    Integration,
    OAuthState,
    Page,
    Resource,
    Scope,
    new_id,
    utcnow,
)
from ._state import Tables, check_changes, detach, normalise_record, owned, paginate, utc

__all__ = ["MemoryAi", "MemoryIntegrations", "MemoryResources"]


class MemoryResources(ResourceStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _check_path(self, owner_id: str, path: str, resource_id: str) -> None:
        for other in self._t.resources.values():
            if other.owner_id == owner_id and other.path == path and other.id != resource_id:
                raise ConflictError(f"a resource already exists at {path!r}")

    def create(
        self, scope: Scope, *, path: str, content: str, content_type: str = "text/plain"
    ) -> Resource:
        now = utcnow()
        record = Resource(
            id=new_id(),
            owner_id=scope.user_id,
            path=path,
            content=content,
            content_type=content_type,
            created_at=now,
            updated_at=now,
        )
        with self._t.lock:
            self._t.require_user(scope.user_id)
            self._check_path(scope.user_id, path, record.id)
            self._t.resources[record.id] = record
        return record

    def get(self, scope: Scope, resource_id: str) -> Resource:
        with self._t.lock:
            return owned(self._t.resources, scope, resource_id, "resource")

    def get_by_path(self, scope: Scope, path: str) -> Resource:
        """The scope's own resource at ``path`` (paths are unique per owner, not globally)."""
        with self._t.lock:
            for row in self._t.resources.values():
                if row.owner_id == scope.user_id and row.path == path:
                    return row
        raise RecordNotFoundError("resource", path)

    def update(self, scope: Scope, resource_id: str, **changes: Any) -> Resource:
        values = check_changes("resource", changes, RESOURCE_FIELDS)
        with self._t.lock:
            row = owned(self._t.resources, scope, resource_id, "resource")
            if "path" in values:
                self._check_path(row.owner_id, values["path"], resource_id)
            row = replace(row, **values, updated_at=utcnow())
            self._t.resources[resource_id] = row
            return row

    def delete(self, scope: Scope, resource_id: str) -> None:
        with self._t.lock:
            owned(self._t.resources, scope, resource_id, "resource")
            del self._t.resources[resource_id]

    def list(
        self,
        scope: Scope,
        *,
        path_prefix: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        with self._t.lock:
            rows = [
                r
                for r in self._t.resources.values()
                if scope.allows(r.owner_id)
                and (path_prefix is None or r.path.startswith(path_prefix))
            ]
            return paginate(rows, limit=limit, cursor=cursor)


class MemoryIntegrations(IntegrationStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def create(self, scope: Scope, *, provider: str, **fields: Any) -> Integration:
        values = check_changes("integration", fields, INTEGRATION_FIELDS)
        now = utcnow()
        record = Integration(
            id=new_id(),
            owner_id=scope.user_id,
            provider=provider,
            created_at=now,
            updated_at=now,
            **values,
        )
        with self._t.lock:
            self._t.require_user(scope.user_id)
            self._t.integrations[record.id] = record
        return record

    def get(self, scope: Scope, integration_id: str) -> Integration:
        with self._t.lock:
            return owned(self._t.integrations, scope, integration_id, "integration")

    def update(self, scope: Scope, integration_id: str, **changes: Any) -> Integration:
        values = check_changes("integration", changes, INTEGRATION_FIELDS)
        with self._t.lock:
            row = owned(self._t.integrations, scope, integration_id, "integration")
            row = replace(row, **values, updated_at=utcnow())
            self._t.integrations[integration_id] = row
            return row

    def delete(self, scope: Scope, integration_id: str) -> None:
        with self._t.lock:
            owned(self._t.integrations, scope, integration_id, "integration")
            del self._t.integrations[integration_id]

    def list(self, scope: Scope, *, provider: str | None = None) -> list[Integration]:
        with self._t.lock:
            rows = [
                r
                for r in self._t.integrations.values()
                if scope.allows(r.owner_id) and (provider is None or r.provider == provider)
            ]
        return sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)

    def save_oauth_state(self, state: OAuthState) -> None:
        record = normalise_record(state)
        with self._t.lock:
            self._t.require_user(record.user_id)
            if record.state in self._t.oauth_states:
                raise ConflictError("this OAuth state is already stored")
            self._t.oauth_states[record.state] = record

    def pop_oauth_state(self, state: str, now: datetime) -> OAuthState | None:
        at = utc(now, "now")
        assert at is not None
        with self._t.lock:
            record = self._t.oauth_states.pop(state, None)
        if record is None or record.expires_at <= at:
            return None
        return record


class MemoryAi(AiStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def upsert_models(self, models: Iterable[AiModel]) -> int:
        rows = [normalise_record(m) for m in models]
        with self._t.lock:
            for row in rows:
                self._t.ai_models[row.id] = row
        return len(rows)

    def list_models(self) -> list[AiModel]:
        with self._t.lock:
            return [detach(m) for _, m in sorted(self._t.ai_models.items())]

    def add_usage(
        self,
        scope: Scope,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        execution_id: str | None = None,
    ) -> AiUsage:
        usage = AiUsage(
            id=new_id(),
            owner_id=scope.user_id,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            execution_id=execution_id,
            created_at=utcnow(),
        )
        with self._t.lock:
            self._t.require_user(scope.user_id)
            self._t.ai_usage[usage.id] = usage
        return usage

    def _usage(self, scope: Scope, since: datetime | None) -> list[AiUsage]:
        start = utc(since, "since")
        return [
            u
            for u in self._t.ai_usage.values()
            if scope.allows(u.owner_id) and (start is None or u.created_at >= start)
        ]

    def list_usage(
        self,
        scope: Scope,
        *,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        with self._t.lock:
            return paginate(self._usage(scope, since), limit=limit, cursor=cursor)

    def usage_totals(self, scope: Scope, *, since: datetime | None = None) -> dict[str, Any]:
        """Totals, and per model the same four figures."""
        with self._t.lock:
            rows = self._usage(scope, since)
        totals: dict[str, Any] = _zero()
        by_model: dict[str, dict[str, Any]] = {}
        for u in rows:
            for bucket in (totals, by_model.setdefault(u.model, _zero())):
                bucket["requests"] += 1
                bucket["prompt_tokens"] += u.prompt_tokens
                bucket["completion_tokens"] += u.completion_tokens
                bucket["cost"] += u.cost
        totals["by_model"] = by_model
        return totals


def _zero() -> dict[str, Any]:
    return {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
