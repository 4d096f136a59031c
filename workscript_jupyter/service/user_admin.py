"""``UserAdmin``: what admins do to accounts — list, create, disable, set roles and permissions.

``user:manage`` is as strong as the admin role: its holder may make any account an admin.

Every call needs ``user:manage``. Disabling a user (or taking their admin role away) ends their
sessions and refresh tokens at once, and their API keys stop working with the next request
(keys check their owner on each use). An admin cannot disable or demote themselves, nobody can
disable or demote a single-user server's owner, and the last active admin stays one: a server
must never lose its last way in through a slip of the API. (Two admins demoting each other at
the same instant on two servers could still both succeed: the check is not in the store's
transaction.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..auth.passwords import PasswordHasher, check_password_rules
from ..auth.permissions import validate_permissions, validate_roles
from ..errors import BadRequestError, ConflictError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import Page, User
from .accounts import normalize_email, revoke_everything
from .authentication import Authenticator
from .values import Caller

__all__ = ["UserAdmin"]

_UPDATABLE = ("role", "roles", "isActive", "permissions", "name")


class UserAdmin:
    def __init__(
        self,
        store: Store,
        *,
        hasher: PasswordHasher,
        sessions: Any,
        authenticator: Authenticator,
        on_user_changed: Callable[[str], None] = lambda _user_id: None,
        owner_external_id: str | None = None,
    ) -> None:
        """``on_user_changed(user_id)``: other caches of callers to drop (the Jupyter
        identities' own), so a disabled or demoted user loses access with the next request."""
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._authenticator = authenticator
        self._on_user_changed = on_user_changed
        # a single-user server's owner (the Jupyter identity that started it): never disabled
        # nor demoted through the API, or the server's own user would be locked out of it
        self._owner_external_id = owner_external_id

    async def list(self, caller: Caller, *, limit: int, cursor: str | None) -> Page:
        caller.require("user:manage")
        return await run_off_loop(self._store.users.list, limit=limit, cursor=cursor)

    async def get(self, caller: Caller, user_id: str) -> User:
        caller.require("user:manage")
        return await run_off_loop(self._store.users.get, user_id)

    async def create(self, caller: Caller, body: dict[str, Any]) -> User:
        caller.require("user:manage")
        email = normalize_email(body.get("email"))
        roles = validate_roles(body.get("roles", body.get("role", "user")))
        permissions = validate_permissions(body.get("permissions", []))
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise BadRequestError(
                "name must be a string of at most 200 characters", details={"field": "name"}
            )
        password = body.get("password")
        password_hash = None
        if password is not None:  # without one, the user signs in after a password reset
            if not isinstance(password, str) or len(password) > 1024:
                raise BadRequestError("password must be a string", details={"field": "password"})
            check_password_rules(password)
            password_hash = await self._hasher.hash(password)
        return await create_local_user(
            self._store, email, password_hash, roles=roles, permissions=permissions, name=name
        )

    async def update(self, caller: Caller, user_id: str, body: dict[str, Any]) -> User:
        caller.require("user:manage")
        unknown = sorted(set(body) - set(_UPDATABLE))
        if unknown:
            raise BadRequestError(
                f"unknown field {unknown[0]!r}; " + ", ".join(_UPDATABLE) + " can change",
                details={"field": unknown[0]},
            )
        changes: dict[str, Any] = {}
        if "role" in body or "roles" in body:
            changes["roles"] = validate_roles(body.get("roles", body.get("role")))
        if "permissions" in body:
            changes["permissions"] = validate_permissions(body["permissions"])
        if "isActive" in body:
            if not isinstance(body["isActive"], bool):
                raise BadRequestError(
                    "isActive must be true or false", details={"field": "isActive"}
                )
            changes["is_active"] = body["isActive"]
        if "name" in body:
            if not isinstance(body["name"], str) or len(body["name"]) > 200:
                raise BadRequestError("name must be a string", details={"field": "name"})
            changes["display_name"] = body["name"]
        takes_admin_away = changes.get("is_active") is False or (
            "roles" in changes and "admin" not in changes["roles"]
        )
        if takes_admin_away:
            await self._keep_an_admin(caller, user_id)
        user = await run_off_loop(self._store.users.update, user_id, **changes)
        if not user.is_active or "roles" in changes or "permissions" in changes:
            self._authenticator.forget_user(user_id)
            self._on_user_changed(user_id)
        if not user.is_active:
            await revoke_everything(self._store, self._sessions, self._authenticator, user_id)
        return user

    async def _keep_an_admin(self, caller: Caller, user_id: str) -> None:
        if user_id == caller.user_id:
            raise ConflictError("an admin cannot disable or demote themselves")
        target = await run_off_loop(self._store.users.get, user_id)
        if (
            self._owner_external_id is not None
            and target.source == "jupyter"
            and target.external_id == self._owner_external_id
        ):
            raise ConflictError(
                "the owner of this single-user server cannot be disabled or demoted"
            )
        last = target.is_admin and target.is_active
        if last and not await run_off_loop(self._another_active_admin, user_id):
            raise ConflictError("this is the last active admin: make another admin first")

    def _another_active_admin(self, user_id: str) -> bool:
        cursor: str | None = None
        while True:
            page = self._store.users.list(limit=200, cursor=cursor)
            if any(u.is_admin and u.is_active and u.id != user_id for u in page.items):
                return True
            cursor = page.next_cursor
            if cursor is None:
                return False


async def create_local_user(
    store: Store,
    email: str,
    password_hash: str | None,
    *,
    roles: tuple[str, ...],
    permissions: tuple[str, ...] = (),
    name: str | None = None,
) -> User:
    """A local account: its username is its (lower-cased) email."""
    try:
        return await run_off_loop(
            store.users.create,
            email,
            email=email,
            password_hash=password_hash,
            roles=roles,
            permissions=permissions,
            display_name=name or None,
        )
    except ConflictError:
        raise ConflictError(f"an account with the email {email!r} already exists") from None
