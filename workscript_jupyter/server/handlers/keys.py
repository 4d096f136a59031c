"""API keys and users over REST.

- ``GET|POST /workscript/keys`` — one's keys; a new key's secret is in the 201 answer, once
- ``GET|PATCH|DELETE /workscript/keys/{id}`` — DELETE revokes (204)
- ``GET|POST /workscript/users`` and ``GET|PATCH /workscript/users/{id}`` — admins
  (``user:manage``): list, create, disable (``isActive``), set roles and extra permissions
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...service.api_keys import require_signed_in
from ..base import WorkscriptHandler
from ..serialize import page_json
from ..serialize_accounts import key_json, user_json

if TYPE_CHECKING:
    from ...service.api_keys import ApiKeys
    from ...service.user_admin import UserAdmin

__all__ = ["KeyHandler", "KeysHandler", "UserHandler", "UsersHandler"]


class _KeysBase(WorkscriptHandler):
    auth_resource = "workscript:keys"

    @property
    def keys(self) -> ApiKeys:
        return self.workscript["api_keys"]  # type: ignore[no-any-return]


class KeysHandler(_KeysBase):
    permissions = {"GET": "apikey:read", "POST": "apikey:create"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        keys = await self.keys.list(await self.caller())
        self.write_json({"items": [key_json(key) for key in keys]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        caller = await self.caller()
        require_signed_in(caller, "create")  # before the body: a key's answer is this 403
        created = await self.keys.create(caller, self.json_object())
        body = key_json(created.key)
        body["key"] = created.secret
        self.set_header("Cache-Control", "no-store")
        self.set_header("Location", self.location("keys", created.key.id))
        self.write_json(body, 201)


class KeyHandler(_KeysBase):
    permissions = {"GET": "apikey:read", "PATCH": "apikey:update", "DELETE": "apikey:delete"}

    @web.authenticated
    @authorized
    async def get(self, key_id: str) -> None:
        self.write_json(key_json(await self.keys.get(await self.caller(), key_id)))

    @web.authenticated
    @authorized
    async def patch(self, key_id: str) -> None:
        caller = await self.caller()
        require_signed_in(caller, "change")
        key = await self.keys.update(caller, key_id, self.json_object())
        self.write_json(key_json(key))

    @web.authenticated
    @authorized
    async def delete(self, key_id: str) -> None:
        await self.keys.revoke(await self.caller(), key_id)
        self.write_json(None, 204)


class _UsersBase(WorkscriptHandler):
    auth_resource = "workscript:users"

    @property
    def users(self) -> UserAdmin:
        return self.workscript["user_admin"]  # type: ignore[no-any-return]


class UsersHandler(_UsersBase):
    permissions = {"GET": "user:manage", "POST": "user:manage"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        page = await self.users.list(
            await self.caller(),
            limit=self.query_int("limit", 50, low=1, high=200),
            cursor=self.query_str("cursor"),
        )
        self.write_json(page_json(page, user_json))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        user = await self.users.create(await self.caller(), self.json_object())
        self.set_header("Location", self.location("users", user.id))
        self.write_json(user_json(user), 201)


class UserHandler(_UsersBase):
    permissions = {"GET": "user:manage", "PATCH": "user:manage"}

    @web.authenticated
    @authorized
    async def get(self, user_id: str) -> None:
        self.write_json(user_json(await self.users.get(await self.caller(), user_id)))

    @web.authenticated
    @authorized
    async def patch(self, user_id: str) -> None:
        user = await self.users.update(await self.caller(), user_id, self.json_object())
        self.write_json(user_json(user))
