"""Resources (text files a workflow reads) in SQL: one per owner and path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update

from ...errors import RecordNotFoundError
from ..base import RESOURCE_FIELDS, ResourceStore
from ..records import Page, Resource, Scope, new_id, utcnow
from ..tables import resources
from .common import (
    Database,
    Duplicates,
    check_changes,
    delete_owned,
    get_owned,
    keyset,
    owned,
    row_values,
    to_page,
    to_record,
)

__all__ = ["SqlResourceStore"]

KIND = "resource"


def _duplicates(
    path: str | None, record_id: str | None = None, owner_id: str | None = None
) -> Duplicates:
    labels = {"path": f"a resource with the path {path!r} already exists"} if path else {}
    return Duplicates(KIND, "resources", labels, record_id, owner_id=owner_id)


class SqlResourceStore(ResourceStore):
    def __init__(self, db: Database) -> None:
        self._db = db

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
        values = row_values(record, resources)
        with self._db.begin(_duplicates(path, record.id, scope.user_id)) as connection:
            connection.execute(insert(resources).values(values))
        return record

    def get(self, scope: Scope, resource_id: str) -> Resource:
        with self._db.read() as connection:
            return get_owned(connection, resources, resource_id, scope, KIND, Resource)

    def get_by_path(self, scope: Scope, path: str) -> Resource:
        """The scope's own resource at ``path``: paths are a per-user namespace, so even an
        admin resolves a path among their own resources (other users' are reached by id)."""
        with self._db.read() as connection:
            row = connection.execute(
                select(resources).where(
                    resources.c.owner_id == scope.user_id, resources.c.path == path
                )
            ).first()
        if row is None:
            raise RecordNotFoundError(KIND, path)
        return to_record(Resource, row._mapping)

    def update(self, scope: Scope, resource_id: str, **changes: Any) -> Resource:
        check_changes(KIND, changes, RESOURCE_FIELDS)
        values = {**changes, "updated_at": utcnow()}
        with self._db.begin(_duplicates(changes.get("path"))) as connection:
            result = connection.execute(
                update(resources)
                .where(resources.c.id == resource_id, *owned(resources, scope))
                .values(values)
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, resource_id)
            row = connection.execute(select(resources).where(resources.c.id == resource_id)).one()
        return to_record(Resource, row._mapping)

    def delete(self, scope: Scope, resource_id: str) -> None:
        with self._db.begin() as connection:
            delete_owned(connection, resources, resource_id, scope, KIND)

    def list(
        self,
        scope: Scope,
        *,
        path_prefix: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        statement = select(resources).where(*owned(resources, scope))
        if path_prefix:
            # not LIKE: SQLite's LIKE ignores case, and paths are case-sensitive everywhere
            prefix = func.substr(resources.c.path, 1, len(path_prefix))
            statement = statement.where(prefix == path_prefix)
        statement = keyset(statement, resources.c.created_at, resources.c.id, cursor, limit)
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return to_page(rows, limit, lambda row: to_record(Resource, row))
