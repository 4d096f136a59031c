"""Resources in SQL: bytes with their metadata, one per owner and path.

Lists never select ``content``. The tag filter ("every given tag is on the resource") asks the
database to look inside the JSON list: ``json_each`` on SQLite, ``JSON_CONTAINS`` on
MySQL/MariaDB, so paging stays keyset paging on the index and no row is filtered in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    TextClause,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)

from ...errors import RecordNotFoundError
from ..interfaces.resources import RESOURCE_FIELDS, ResourceStore, check_public, content_digest
from ..records import Page, Resource, Scope, utcnow
from ..tables import resources
from .common import (
    Database,
    Duplicates,
    check_changes,
    delete_owned,
    keyset,
    owned,
    row_values,
    to_page,
    to_record,
)

__all__ = ["SqlResourceStore"]

KIND = "resource"
# every column but the content: what a list reads
_METADATA = tuple(column for column in resources.columns if column.name != "content")


def _duplicates(
    path: str | None, record_id: str | None = None, owner_id: str | None = None
) -> Duplicates:
    labels = {"path": f"a resource with the path {path!r} already exists"} if path else {}
    return Duplicates(KIND, "resources", labels, record_id, owner_id=owner_id)


def _readable(scope: Scope) -> list[ColumnElement[bool]]:
    """Own rows (all for an admin), or anyone's public one."""
    if scope.is_admin:
        return []
    return [or_(resources.c.owner_id == scope.user_id, resources.c.is_public == true())]


class SqlResourceStore(ResourceStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, record: Resource) -> Resource:
        values = row_values(record, resources)
        with self._db.begin(_duplicates(record.path, record.id, record.owner_id)) as connection:
            connection.execute(insert(resources).values(values))
        return record

    def get(self, scope: Scope, resource_id: str) -> Resource:
        with self._db.read() as connection:
            row = connection.execute(
                select(resources).where(resources.c.id == resource_id, *_readable(scope))
            ).first()
        if row is None:
            raise RecordNotFoundError(KIND, resource_id)
        return _record(row._mapping)

    def get_by_path(self, scope: Scope, path: str) -> Resource:
        with self._db.read() as connection:
            row = connection.execute(
                select(resources).where(
                    resources.c.owner_id == scope.user_id, resources.c.path == path
                )
            ).first()
        if row is None:
            raise RecordNotFoundError(KIND, path)
        return _record(row._mapping)

    def update(self, scope: Scope, resource_id: str, **changes: Any) -> Resource:
        check_changes(KIND, changes, RESOURCE_FIELDS)
        values = dict(changes)
        if "content" in values:
            values["size"], values["checksum"] = content_digest(values["content"])
            values["content"] = bytes(values["content"])
        if "tags" in values:
            values["tags"] = [str(tag) for tag in values["tags"] or ()]
        values["updated_at"] = utcnow()
        with self._db.begin(_duplicates(changes.get("path"))) as connection:
            result = connection.execute(
                update(resources)
                .where(resources.c.id == resource_id, *owned(resources, scope))
                .values(values)
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, resource_id)
            row = connection.execute(select(resources).where(resources.c.id == resource_id)).one()
        return _record(row._mapping)

    def delete(self, scope: Scope, resource_id: str) -> None:
        with self._db.begin() as connection:
            delete_owned(connection, resources, resource_id, scope, KIND)

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
        statement = select(*_METADATA).where(*_visible(scope, check_public(public)))
        if type is not None:
            statement = statement.where(resources.c.type == type)
        for index, tag in enumerate(dict.fromkeys(tags)):  # every one must be there
            statement = statement.where(self._has_tag(str(tag), index))
        if search:
            statement = statement.where(_search(search))
        if path_prefix:
            # not LIKE: SQLite's LIKE ignores case, and paths are case-sensitive everywhere
            prefix = func.substr(resources.c.path, 1, len(path_prefix))
            statement = statement.where(prefix == path_prefix)
        statement = keyset(statement, resources.c.created_at, resources.c.id, cursor, limit)
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return to_page(rows, limit, lambda row: _record(row, content=b""))

    def _has_tag(self, tag: str, index: int) -> ColumnElement[bool] | TextClause:
        """``tag`` is in the row's JSON list. The stored JSON escapes non-ASCII characters
        (``\\u00e9``), which MariaDB's ``JSON_CONTAINS`` compares undecoded: ``JSON_TABLE``
        decodes them (and compares bytes, as the memory store and SQLite do)."""
        if self._db.engine.dialect.name == "sqlite":
            each = func.json_each(resources.c.tags).table_valued("value")
            return exists(select(literal(1)).select_from(each).where(each.c.value == tag))
        name = f"resource_tag_{index}"
        return text(
            "EXISTS (SELECT 1 FROM JSON_TABLE(resources.tags, '$[*]' COLUMNS (tag VARCHAR(255) "
            "CHARACTER SET utf8mb4 PATH '$')) AS resource_tags "
            f"WHERE resource_tags.tag = :{name} COLLATE utf8mb4_bin)"
        ).bindparams(bindparam(name, tag))


def _visible(scope: Scope, public: str) -> list[ColumnElement[bool]]:
    """Which rows a list may return (``PUBLIC_CHOICES``)."""
    if public == "only":
        return [resources.c.is_public == true()]
    if public == "include":
        return _readable(scope)
    return owned(resources, scope)


def _search(text: str) -> ColumnElement[bool]:
    """A case-insensitive substring of the name, path or description; LIKE's wildcards in
    ``text`` are escaped, so ``50%`` finds "50%" and nothing else."""
    return or_(
        resources.c.name.icontains(text, autoescape=True),
        resources.c.path.icontains(text, autoescape=True),
        and_(
            resources.c.description.is_not(None),
            resources.c.description.icontains(text, autoescape=True),
        ),
    )


def _record(row: Any, **overrides: Any) -> Resource:
    """A row as a record: content as ``bytes`` whatever the driver hands back."""
    record = to_record(Resource, row, **overrides)
    if isinstance(record.content, bytes):
        return record
    return replace(record, content=bytes(record.content))
