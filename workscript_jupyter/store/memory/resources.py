"""Resources in memory: the rules of ``store/interfaces/resources.py``, the SQL backend's twin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...errors import ConflictError, RecordNotFoundError
from ..interfaces.resources import RESOURCE_FIELDS, ResourceStore, check_public, content_digest
from ..records import Page, Resource, Scope, utcnow
from ._state import Tables, check_changes, detach, paginate

__all__ = ["MemoryResources"]

KIND = "resource"


def _without_content(row: Resource) -> Resource:
    return detach(replace(row, content=b""))


class MemoryResources(ResourceStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _check_path(self, owner_id: str, path: str, resource_id: str) -> None:
        for other in self._t.resources.values():
            if other.owner_id == owner_id and other.path == path and other.id != resource_id:
                raise ConflictError(f"a resource with the path {path!r} already exists")

    def _writable(self, scope: Scope, resource_id: str) -> Resource:
        row = self._t.resources.get(resource_id)
        if row is None or not scope.allows(row.owner_id):
            raise RecordNotFoundError(KIND, resource_id)
        return row

    def insert(self, record: Resource) -> Resource:
        with self._t.lock:
            self._t.require_user(record.owner_id)
            self._check_path(record.owner_id, record.path, record.id)
            self._t.resources[record.id] = record
        return detach(record)

    def get(self, scope: Scope, resource_id: str) -> Resource:
        with self._t.lock:
            row = self._t.resources.get(resource_id)
            if row is None or not (row.is_public or scope.allows(row.owner_id)):
                raise RecordNotFoundError(KIND, resource_id)
            return detach(row)

    def get_by_path(self, scope: Scope, path: str) -> Resource:
        with self._t.lock:
            for row in self._t.resources.values():
                if row.owner_id == scope.user_id and row.path == path:
                    return detach(row)
        raise RecordNotFoundError(KIND, path)

    def update(self, scope: Scope, resource_id: str, **changes: Any) -> Resource:
        values = check_changes(KIND, changes, RESOURCE_FIELDS)
        if "content" in values:
            values["size"], values["checksum"] = content_digest(values["content"])
            values["content"] = bytes(values["content"])
        if "tags" in values:
            values["tags"] = [str(tag) for tag in values["tags"] or ()]
        with self._t.lock:
            row = self._writable(scope, resource_id)
            if "path" in values:
                self._check_path(row.owner_id, values["path"], resource_id)
            row = replace(row, **values, updated_at=utcnow())
            self._t.resources[resource_id] = row
            return detach(row)

    def delete(self, scope: Scope, resource_id: str) -> None:
        with self._t.lock:
            self._writable(scope, resource_id)
            del self._t.resources[resource_id]

    def list(
        self,
        scope: Scope,
        *,
        type: str | None = None,
        tags: Sequence[str] = (),
        search: str | None = None,
        path_prefix: str | None = None,
        public: str = "exclude",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        check_public(public)
        wanted_tags = set(tags)
        needle = search.lower() if search else None

        def visible(row: Resource) -> bool:
            if public == "only":
                return row.is_public
            return scope.allows(row.owner_id) or (public == "include" and row.is_public)

        def matches(row: Resource) -> bool:
            return (
                visible(row)
                and (type is None or row.type == type)
                and wanted_tags.issubset(row.tags)
                and (not path_prefix or row.path.startswith(path_prefix))
                and (needle is None or _found(needle, row))
            )

        with self._t.lock:
            rows = [row for row in self._t.resources.values() if matches(row)]
            return paginate(rows, limit=limit, cursor=cursor, view=_without_content)


def _found(needle: str, row: Resource) -> bool:
    return any(needle in (text or "").lower() for text in (row.name, row.path, row.description))
