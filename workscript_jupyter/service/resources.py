"""``Resources``: a user's resources (bytes with metadata), scoped to the caller, and the
``ResourceGateway`` the ``resource-*`` nodes of a run get (``gateway(caller)``).

Needs the store and the largest content it accepts (``WorkscriptApp.resource_max_bytes``).
Reads see the caller's own resources and everyone's public ones; writes only the caller's own
(an admin's: all). Another user's private resource is ``RecordNotFoundError`` exactly like a
missing one; another user's *public* one, which the caller can see anyway, answers a write
with ``PermissionDeniedError`` (403) saying only its owner may change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..errors import BadRequestError, ConflictError, PermissionDeniedError, RecordNotFoundError
from ..store.base import Store
from ..store.records import Page, Resource
from .common import check_limit, optional_str, store_call
from .resource_fields import (
    check_content,
    check_path,
    check_public,
    check_tags,
    check_type,
    create_values,
    resource_json,
    update_values,
)
from .values import Caller

__all__ = ["DEFAULT_MAX_BYTES", "CallerResources", "Resources"]

DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
SEARCH_MAX: Final = 200
WRITE_MODES: Final = ("create", "update", "upsert")
# what each write mode of the nodes' gateway needs (an upsert may do either)
_WRITE_PERMISSIONS: Final = {
    "create": ("resource:create",),
    "update": ("resource:update",),
    "upsert": ("resource:create", "resource:update"),
}


class Resources:
    """The resource use cases."""

    def __init__(self, store: Store, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"resource_max_bytes must be a positive integer, not {max_bytes!r}")
        self.store = store
        self.max_bytes = max_bytes

    # -- reads ----------------------------------------------------------------------------

    async def list(
        self,
        caller: Caller,
        *,
        type: str | None = None,
        tags: Any = (),
        search: str | None = None,
        path_prefix: str | None = None,
        public: str = "include",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """A page of metadata, newest first (see ``ResourceStore.list`` for the filters)."""
        return await store_call(
            self.store.resources.list,
            caller.scope,
            type=check_type(type) if type is not None else None,
            tags=check_tags(tags),
            search=optional_str("search", search, max_length=SEARCH_MAX) or None,
            path_prefix=optional_str("pathPrefix", path_prefix, max_length=512) or None,
            public=check_public(public),
            limit=check_limit(limit),
            cursor=optional_str("cursor", cursor),
        )

    async def get(self, caller: Caller, resource_id: str) -> Resource:
        return await store_call(self.store.resources.get, caller.scope, resource_id)

    async def get_by_path(self, caller: Caller, path: str) -> Resource:
        return await store_call(self.store.resources.get_by_path, caller.scope, check_path(path))

    # -- writes ---------------------------------------------------------------------------

    async def create(self, caller: Caller, fields: Mapping[str, Any], content: bytes) -> Resource:
        """A new resource at ``fields["path"]``: a ConflictError (409) if the caller has one."""
        values = create_values(fields)
        check_content(content, self.max_bytes)
        return await store_call(
            self.store.resources.create, caller.scope, content=content, **values
        )

    async def update(
        self,
        caller: Caller,
        resource_id: str,
        fields: Mapping[str, Any],
        content: bytes | None = None,
    ) -> tuple[Resource, str]:
        """Change the metadata in ``fields`` and/or the content; returns the resource and its
        checksum before the change (the original's ``previousChecksum``)."""
        changes = update_values(fields)
        if content is not None:
            changes["content"] = check_content(content, self.max_bytes)
        if not changes:
            raise _nothing_to_change()
        return await store_call(self._update, caller, resource_id, changes)

    def _update(
        self, caller: Caller, resource_id: str, changes: dict[str, Any]
    ) -> tuple[Resource, str]:
        """In a store thread: the checksum before, then the change."""
        resources = self.store.resources
        try:
            previous = resources.get(caller.scope, resource_id).checksum
            return resources.update(caller.scope, resource_id, **changes), previous
        except RecordNotFoundError:
            raise self._write_refused(caller, resource_id) from None

    async def delete(self, caller: Caller, resource_id: str) -> None:
        await store_call(self._delete, caller, resource_id)

    def _delete(self, caller: Caller, resource_id: str) -> None:
        try:
            self.store.resources.delete(caller.scope, resource_id)
        except RecordNotFoundError:
            raise self._write_refused(caller, resource_id) from None

    def _write_refused(self, caller: Caller, resource_id: str) -> Exception:
        """Why a write found nothing: another user's public resource (which the caller can
        read anyway) is a 403; anything else stays the 404 it was (no existence leak)."""
        try:
            self.store.resources.get(caller.scope, resource_id)
        except RecordNotFoundError as missing:
            return missing
        return PermissionDeniedError(
            "this resource is public but not yours: only its owner may change or delete it",
            details={"resourceId": resource_id},
        )

    # -- the nodes' gateway ---------------------------------------------------------------

    def gateway(self, caller: Caller) -> CallerResources:
        """The ``ResourceGateway`` of a run owned by ``caller`` (run_services.py)."""
        return CallerResources(self, caller)


class CallerResources:
    """``engine.services.ResourceGateway`` for one caller: what ``resource-*`` nodes use.

    The caller's permissions hold here as on the REST routes: a run started with an API key
    acts with that key's permissions, so a key made with ``resource:read`` only (the ``api``
    role) cannot write resources by running a workflow (``PermissionDeniedError``, 403, the
    node's error edge with code FORBIDDEN), as a key without ``ai:use`` cannot spend money.
    """

    def __init__(self, resources: Resources, caller: Caller) -> None:
        self._resources = resources
        self._caller = caller

    async def _find(self, resource_id: str | None, path: str | None) -> Resource:
        if resource_id:
            return await self._resources.get(self._caller, resource_id)
        if path:
            return await self._resources.get_by_path(self._caller, path)
        raise RecordNotFoundError("resource", "")

    async def read(
        self, *, resource_id: str | None = None, path: str | None = None
    ) -> tuple[dict[str, Any], bytes]:
        self._caller.require("resource:read")
        record = await self._find(resource_id, path)
        return resource_json(record), record.content

    async def write(
        self,
        mode: str,
        *,
        content: bytes,
        resource_id: str | None = None,
        path: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        if mode not in WRITE_MODES:
            raise ValueError(f"mode must be one of {', '.join(WRITE_MODES)}, not {mode!r}")
        for permission in _WRITE_PERMISSIONS[mode]:
            self._caller.require(permission)
        given = dict(fields or {})
        if mode == "create":
            return _written("created", await self._create(path, given, content))
        if mode == "upsert":
            try:
                return _written("created", await self._create(path, given, content))
            except ConflictError:
                pass  # it exists (or was just made by someone else): update it
        target = resource_id or (await self._find(None, path)).id
        record, previous = await self._resources.update(self._caller, target, given, content)
        return _written("updated", record, previous)

    async def _create(self, path: str | None, given: dict[str, Any], content: bytes) -> Resource:
        return await self._resources.create(self._caller, {**given, "path": path}, content)

    async def list(self, **filters: Any) -> dict[str, Any]:
        self._caller.require("resource:read")
        page = await self._resources.list(self._caller, **filters)
        items = [resource_json(record) for record in page.items]
        return {"items": items, "count": len(items), "nextCursor": page.next_cursor}


def _written(result: str, record: Resource, previous: str | None = None) -> dict[str, Any]:
    return {"result": result, "resource": resource_json(record), "previousChecksum": previous}


def _nothing_to_change() -> BadRequestError:
    return BadRequestError(
        "nothing to change: send any of path, name, type, mimeType, description, tags, "
        "isPublic, content or contentBase64",
        details=[{"field": "body", "message": "no field to change"}],
    )
