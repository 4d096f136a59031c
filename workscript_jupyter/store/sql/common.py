"""What every SQL repository shares: transactions with error translation, row conversion,
owner scoping, keyset paging and the validation of ``update(**changes)``.

Errors are translated once, here, so every repository keeps the same promises: a unique rule
broken is a ``ConflictError`` naming what was duplicated (the constraint is found in the
driver's message, for SQLite and MySQL alike), a lost or refused connection is a
``StoreUnavailableError`` naming the URL with its password masked, and a value a column cannot
take is a plain ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import Field, dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, Row, Select, Table, delete, or_, select
from sqlalchemy import exc as sa_exc

from ...errors import ConflictError, RecordNotFoundError, StoreError, StoreUnavailableError
from ..connection import driver_message
from ..records import Page, Scope

__all__ = [
    "Database",
    "Duplicates",
    "check_changes",
    "decode_cursor",
    "encode_cursor",
    "json_copy",
    "json_value",
    "keyset",
    "owned",
    "row_values",
    "to_page",
    "to_record",
]

T = TypeVar("T")

# Record fields that are tuples in the dataclasses and JSON lists in the tables.
_TUPLE_FIELDS = frozenset({"roles", "scopes"})


@dataclass(frozen=True, slots=True)
class Duplicates:
    """How to name a broken unique rule of one statement.

    ``labels`` maps a marker (a column or constraint name as the drivers spell it: SQLite says
    ``UNIQUE constraint failed: users.username_key``, MySQL ``Duplicate entry ... for key
    'uq_users_username_key'``) to the message to raise; the first marker found wins. A
    duplicated primary key is named with ``record_id``. A foreign key broken by an insert
    means its user (``owner_id``) does not exist: RecordNotFoundError, as the memory backend.
    """

    kind: str
    table: str
    labels: Mapping[str, str] = field(default_factory=dict)
    record_id: str | None = None
    error: type[ConflictError] = ConflictError
    owner_id: str | None = None

    def translate(self, error: sa_exc.IntegrityError) -> StoreError:
        text = str(error.orig)
        if "foreign key" in text.lower():
            if self.owner_id is not None:
                return RecordNotFoundError("user", self.owner_id)
            return ConflictError(f"the {self.kind} refers to a row that does not exist")
        key = _constraint_part(text)
        for marker, message in dict(self.labels).items():
            if marker in key:
                return self.error(message)
        if "PRIMARY" in key or f"{self.table}.id" in key:
            shown = f" {self.record_id!r}" if self.record_id else ""
            return self.error(f"a {self.kind} with id{shown} already exists")
        return self.error(f"the {self.kind} breaks a unique rule of {self.table}: {key.strip()}")


def _constraint_part(text: str) -> str:
    """The part of a driver's integrity message that names the constraint, not the values."""
    if "for key" in text:  # MySQL/MariaDB: Duplicate entry 'value' for key 'name'
        return text.rsplit("for key", 1)[1]
    if "failed:" in text:  # SQLite: UNIQUE constraint failed: table.column, ...
        return text.split("failed:", 1)[1]
    return text


class Database:
    """An engine and the translation of its failures into the store's errors."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.masked_url = engine.url.render_as_string(hide_password=True)
        self._joined = threading.local()  # this thread's one_transaction connection, if any

    @contextmanager
    def begin(self, duplicates: Duplicates | None = None) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises. Inside
        ``one_transaction`` (same thread), the statements join that transaction instead."""
        joined: Connection | None = getattr(self._joined, "connection", None)
        if joined is not None:
            with self._translated(duplicates):
                yield joined
            return
        with self._translated(duplicates), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads only (no write lock is ever taken, so SQLite readers never
        have to upgrade a lock, and MySQL readers see committed rows). Inside
        ``one_transaction``, that transaction's connection: its reads see its writes."""
        joined: Connection | None = getattr(self._joined, "connection", None)
        if joined is not None:
            with self._translated(None):
                yield joined
            return
        with self._translated(None), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def one_transaction(self) -> Iterator[None]:
        """Every store call this thread makes in the block is one transaction, committed once
        at its end (one disk flush for many writes: group commit) and rolled back whole if
        anything in it raises. A nested block joins the outer one."""
        if getattr(self._joined, "connection", None) is not None:
            yield
            return
        with self._translated(None), self.engine.begin() as connection:
            self._joined.connection = connection
            try:
                yield
            finally:
                self._joined.connection = None

    @contextmanager
    def _translated(self, duplicates: Duplicates | None) -> Iterator[None]:
        try:
            yield
        except sa_exc.IntegrityError as error:
            if duplicates is None:
                message = f"a unique rule of the store was broken: {driver_message(error)}"
                raise ConflictError(message) from error
            raise duplicates.translate(error) from error
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as error:
            raise self._unavailable(driver_message(error)) from error
        except sa_exc.DBAPIError as error:
            reason = driver_message(error)
            if error.connection_invalidated or _missing_schema(reason):
                raise self._unavailable(reason) from error
            raise StoreError(
                f"the store database {self.masked_url} refused a statement: {reason}"
            ) from error
        except (sa_exc.DisconnectionError, sa_exc.TimeoutError) as error:
            raise self._unavailable(str(error)) from error
        except sa_exc.StatementError as error:  # a bind value a column type rejected
            if isinstance(error.orig, ValueError | TypeError):
                raise ValueError(str(error.orig)) from error
            raise StoreError(f"the store could not run a statement: {error.orig}") from error

    def _unavailable(self, reason: str) -> StoreUnavailableError:
        hint = ""
        if _missing_schema(reason):
            hint = " (is the schema created? run `workscript db upgrade`)"
        return StoreUnavailableError(
            f"the store database {self.masked_url} is unavailable: {reason}{hint}"
        )


def _missing_schema(reason: str) -> bool:
    """SQLite's "no such table", MySQL's 1146 "Table ... doesn't exist": not migrated yet."""
    return "no such table" in reason or ("(1146)" in reason and "doesn't exist" in reason)


# -- records -----------------------------------------------------------------------------------


def to_record(cls: type[T], row: Mapping[Any, Any], **overrides: Any) -> T:
    """Build a record dataclass from a row: every field the row has, JSON lists made tuples
    where the record wants tuples, then ``overrides`` (e.g. the empty timeline of a summary)."""
    values: dict[str, Any] = {}
    for name, kind in _fields_of(cls):
        if name in overrides:
            values[name] = overrides[name]
            continue
        try:
            value = row[name]
        except KeyError:  # a column the query did not select: the field keeps its default
            continue
        if value is None:
            if kind is _LIST:  # a NULL JSON list
                value = []
        elif kind is _TUPLE:
            value = tuple(value)
        values[name] = value
    return cls(**values)


_PLAIN, _TUPLE, _LIST = "plain", "tuple", "list"
_FIELD_KINDS: dict[type[Any], tuple[tuple[str, str], ...]] = {}


def _fields_of(cls: type[Any]) -> tuple[tuple[str, str], ...]:
    """A record class's fields and how a column value becomes each, worked out once per class
    (``dataclasses.fields`` on every row was most of the cost of a page of 1,000 rows)."""
    kinds = _FIELD_KINDS.get(cls)
    if kinds is None:
        kinds = _FIELD_KINDS[cls] = tuple((spec.name, _field_kind(spec)) for spec in fields(cls))
    return kinds


def _field_kind(spec: Field[Any]) -> str:
    if spec.name in _TUPLE_FIELDS:
        return _TUPLE
    return _LIST if spec.default_factory is list else _PLAIN


def json_copy(value: Any) -> Any:
    """What a JSON column gives back for ``value``: a detached copy (tuples become lists, keys
    strings), so a record returned by ``create`` equals the one ``get`` reads later and does
    not change when the caller mutates what it passed in."""
    if value is None:
        return None
    return json.loads(json.dumps(value))


def json_value(value: Any) -> Any:
    """A value ready for a JSON column: tuples (roles, scopes) become lists."""
    if isinstance(value, tuple):
        return list(value)
    return value


def row_values(record: Any, table: Table) -> dict[str, Any]:
    """The column values of a record: every column the record has a field for, JSON-ready."""
    return {
        column.name: json_value(getattr(record, column.name))
        for column in table.columns
        if hasattr(record, column.name)
    }


def check_changes(kind: str, changes: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Refuse, before anything is written, any field ``update`` does not accept."""
    allowed = frozenset(allowed)
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValueError(
            f"cannot update {kind} field(s) {', '.join(unknown)}: "
            f"the fields that can change are {', '.join(sorted(allowed))}"
        )


def owned(table: Table, scope: Scope) -> list[ColumnElement[bool]]:
    """The owner filter of a scope: nothing for an admin, ``owner_id = user`` otherwise."""
    if scope.is_admin:
        return []
    return [table.c.owner_id == scope.user_id]


# -- keyset paging -----------------------------------------------------------------------------


def get_owned(
    connection: Connection, table: Table, record_id: str, scope: Scope, kind: str, cls: type[T]
) -> T:
    """One row the scope may see, as a record; a missing or someone else's row is not found."""
    row = connection.execute(
        select(table).where(table.c.id == record_id, *owned(table, scope))
    ).first()
    if row is None:
        raise RecordNotFoundError(kind, record_id)
    return to_record(cls, row._mapping)


def delete_owned(
    connection: Connection, table: Table, record_id: str, scope: Scope, kind: str
) -> None:
    """Delete one row the scope may see; a missing or someone else's row is not found."""
    result = connection.execute(delete(table).where(table.c.id == record_id, *owned(table, scope)))
    if result.rowcount == 0:
        raise RecordNotFoundError(kind, record_id)


def encode_cursor(at: datetime, record_id: str) -> str:
    raw = json.dumps([at.isoformat(), record_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (time, id) key a cursor stands for; anything else is a ValueError saying so."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        at_text, record_id = json.loads(raw)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not isinstance(record_id, str):
            raise ValueError("naive time or non-string id")
    except (ValueError, TypeError, UnicodeError, binascii.Error) as error:
        raise ValueError(f"malformed cursor {cursor[:80]!r}: {error}") from None
    return at, record_id


def keyset(
    statement: Select[Any],
    key: ColumnElement[Any],
    id_column: ColumnElement[Any],
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    """Newest first by (key, id); after a cursor, only rows strictly after its key.

    A page is defined by the last row's key rather than an offset, so rows inserted while a
    client pages (newer ones land before the cursor) never shift the next page: no duplicate,
    no gap. The condition is written ``key <= at AND (key < at OR id < last)`` so both MySQL
    and SQLite use the (key, id) index as a range.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be a positive integer, not {limit!r}")
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        statement = statement.where(key <= at, or_(key < at, id_column < last_id))
    return statement.order_by(key.desc(), id_column.desc()).limit(limit + 1)


def to_page(
    rows: Sequence[Row[Any]],
    limit: int,
    convert: Callable[[Mapping[Any, Any]], Any],
    key_name: str = "created_at",
) -> Page:
    """A page from ``limit + 1`` fetched rows: the extra row only says that more follow."""
    more = len(rows) > limit
    kept = rows[:limit]
    items = tuple(convert(row._mapping) for row in kept)
    next_cursor = None
    if more and kept:
        last = kept[-1]._mapping
        next_cursor = encode_cursor(last[key_name], last["id"])
    return Page(items=items, next_cursor=next_cursor)
