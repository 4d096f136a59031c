"""Resources over REST: a user's prompts, documents, data, images and sounds (bytes + metadata).

- ``GET|POST /workscript/resources`` — list (filters, keyset paging) | create from JSON
  (``content`` text or ``contentBase64``) or a ``multipart/form-data`` upload (``file`` part)
- ``POST /workscript/resources/create`` — the original's name of the create route
- ``GET|PUT|PATCH|DELETE /workscript/resources/{id}`` — metadata; PUT and PATCH change the
  metadata and/or the content (both are partial)
- ``GET|PUT /workscript/resources/{id}/content`` — the raw bytes (``ETag`` = checksum);
  PUT takes the raw body, or JSON ``{content | contentBase64}``, and answers with the
  resource and its ``previousChecksum``

Another user's private resource is a 404, as one that does not exist; another user's public
one is readable, and a write to it a 403. The served content never runs in the page's origin:
it is an attachment, with ``nosniff`` and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import BadRequestError
from ...service.resource_fields import content_from, resource_json, servable_mime_type
from ..base import WorkscriptHandler
from ..routes import ID
from .resource_bodies import media_type, multipart_fields, refuse_media_type, split_tags

if TYPE_CHECKING:
    from ...service.resources import Resources

__all__ = [
    "ROUTES",
    "ResourceContentHandler",
    "ResourceCreateHandler",
    "ResourceHandler",
    "ResourcesHandler",
]

# room for a full-size resource sent as base64 JSON or as a multipart upload
_ENVELOPE_BYTES: Final = 64 * 1024


class _ResourcesBase(WorkscriptHandler):
    auth_resource = "workscript:resources"

    @property
    def resources(self) -> Resources:
        return self.workscript["resources"]  # type: ignore[no-any-return]

    @property
    def body_limit_bytes(self) -> int:
        """The REST limit, or more: a resource of ``resource_max_bytes`` must fit in a body
        even as base64 (4/3 of it); the use case refuses content over the limit (413)."""
        encoded = -(-self.resources.max_bytes // 3) * 4
        return max(self.max_body_bytes, encoded + _ENVELOPE_BYTES)

    def _content_type(self) -> str:
        return media_type(self.request.headers.get("Content-Type", ""))

    async def fields_and_content(
        self, *, content_required: bool
    ) -> tuple[dict[str, Any], bytes | None]:
        """A JSON object's, or (for a create) a multipart upload's, fields and content."""
        kind = self._content_type()
        if kind == "multipart/form-data" and content_required:
            return multipart_fields(
                self.request.headers.get("Content-Type", ""),
                self.request_body(),
                self.request.headers,
            )
        if (
            self.request_body().strip()
            and kind != "application/json"
            and not kind.endswith("+json")
        ):
            raise refuse_media_type(kind)
        body = await self.json_object_off_loop()
        return body, content_from(body, required=content_required)

    async def create(self) -> None:
        fields, content = await self.fields_and_content(content_required=True)
        assert content is not None  # required above
        record = await self.resources.create(await self.caller(), fields, content)
        self.set_header("Location", self.location("resources", record.id))
        self.write_json(resource_json(record), 201)


class ResourcesHandler(_ResourcesBase):
    """``GET /workscript/resources`` (a page) and ``POST`` (create, 201)."""

    permissions = {"GET": "resource:read", "POST": "resource:create"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        tags = self.query_str("tags")
        page = await self.resources.list(
            await self.caller(),
            type=self.query_str("type"),
            tags=split_tags(tags) if tags else [],
            search=self.query_str("search"),
            path_prefix=self.query_str("pathPrefix"),
            public=self.query_str("public") or "include",
            limit=self.query_int("limit", 50, low=1, high=200),
            cursor=self.query_str("cursor"),
        )
        items = [resource_json(record) for record in page.items]
        self.write_json({"items": items, "count": len(items), "nextCursor": page.next_cursor})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.create()


class ResourceCreateHandler(_ResourcesBase):
    """``POST /workscript/resources/create``: the original's create route."""

    permissions = {"POST": "resource:create"}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.create()


class ResourceHandler(_ResourcesBase):
    """``GET|PUT|PATCH|DELETE /workscript/resources/{id}``."""

    permissions = {
        "GET": "resource:read",
        "PUT": "resource:update",
        "PATCH": "resource:update",
        "DELETE": "resource:delete",
    }

    @web.authenticated
    @authorized
    async def get(self, resource_id: str) -> None:
        record = await self.resources.get(await self.caller(), resource_id)
        self.write_json(resource_json(record))

    async def _update(self, resource_id: str) -> None:
        fields, content = await self.fields_and_content(content_required=False)
        record, _previous = await self.resources.update(
            await self.caller(), resource_id, fields, content
        )
        self.write_json(resource_json(record))

    @web.authenticated
    @authorized
    async def put(self, resource_id: str) -> None:
        await self._update(resource_id)

    @web.authenticated
    @authorized
    async def patch(self, resource_id: str) -> None:
        await self._update(resource_id)

    @web.authenticated
    @authorized
    async def delete(self, resource_id: str) -> None:
        await self.resources.delete(await self.caller(), resource_id)
        self.write_json(None, 204)


class ResourceContentHandler(_ResourcesBase):
    """``GET|PUT /workscript/resources/{id}/content``: the bytes themselves."""

    permissions = {"GET": "resource:read", "PUT": "resource:update"}

    @web.authenticated
    @authorized
    async def get(self, resource_id: str) -> None:
        record = await self.resources.get(await self.caller(), resource_id)
        self.set_header("ETag", f'"{record.checksum}"')
        self.set_header("Cache-Control", "private, no-cache")
        if self.check_etag_header():  # the client's copy is current
            self.set_status(304)
            self.finish()
            return
        self.set_header("Content-Disposition", _attachment(record.name))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
        self.finish(record.content, set_content_type=servable_mime_type(record.mime_type))

    @web.authenticated
    @authorized
    async def put(self, resource_id: str) -> None:
        kind = self._content_type()
        if kind == "application/json" or kind.endswith("+json"):
            body = await self.json_object_off_loop()
            unknown = sorted(set(body) - {"content", "contentBase64"})
            if unknown:
                raise BadRequestError(
                    f"unknown field(s) {', '.join(unknown)}: send content or contentBase64 "
                    "(change the metadata with PUT /workscript/resources/{id})",
                    details=[{"field": name, "message": "unknown field"} for name in unknown],
                )
            content = content_from(body, required=True)
        else:
            content = self.request_body()  # the raw bytes, whatever their type
        assert content is not None
        record, previous = await self.resources.update(
            await self.caller(), resource_id, {}, content
        )
        self.write_json({"resource": resource_json(record), "previousChecksum": previous})


def _attachment(name: str) -> str:
    """``attachment`` with the name as RFC 6266 wants it (ASCII fallback, UTF-8 form)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


ROUTES: list[tuple[str, Any]] = [
    (r"/workscript/resources", ResourcesHandler),
    (r"/workscript/resources/create", ResourceCreateHandler),
    (rf"/workscript/resources/{ID}", ResourceHandler),
    (rf"/workscript/resources/{ID}/content", ResourceContentHandler),
]
