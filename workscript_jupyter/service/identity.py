"""``caller_for``: a Jupyter (or JupyterHub) identity mapped to a workscript user on first sight.

- single-user server (``single_user=True``): whoever Jupyter let in is the server's owner, one
  stable user (username ``owner_username``, role ``admin``), whatever name Jupyter gives them.
- shared server (``single_user=False``): one workscript user per Jupyter username, found by
  ``(source="jupyter", external_id=username)``; admin iff the username is in ``admin_users``
  (or one of its hub groups is, written ``group:<name>``).

A shared server refuses (403) the identities that name nobody: jupyter_server's own token and
password logins (no identity provider that knows users) give every request, or every browser
session, a random anonymous user (``generate_anonymous_user``: a uuid4 hex username and the
name ``Anonymous <moon>``); mapping those would create a new workscript user per request. Such
a server needs JupyterHub or an identity provider that names its users (or ``single_user``).

Callers are cached in memory for ``CALLER_CACHE_SECONDS``: the store is asked about twice a
minute per active user and process. The hub groups
last seen for each user are kept in memory too (``groups_of``), for the code-node policy.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Collection, Sequence

from ..errors import BadRequestError, ConflictError, PermissionDeniedError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import User, new_id
from .values import Caller

__all__ = ["ANONYMOUS_REFUSED", "JUPYTER_SOURCE", "Identities", "is_anonymous_identity"]

JUPYTER_SOURCE = "jupyter"
_USERNAME_MAX = 100
# how long a mapped caller is trusted without reading the store: this server's own admin
# changes drop it at once (forget_user_id); another server's show after at most this long
CALLER_CACHE_SECONDS = 30.0
_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")

ANONYMOUS_REFUSED = (
    "this is a shared Workscript server (single_user = False) and the request's Jupyter "
    "identity names no user (a plain Jupyter token or password login gives a random anonymous "
    "identity per request); sign in through JupyterHub or an identity provider that names "
    "users, or run the server with c.WorkscriptApp.single_user = True"
)


def is_anonymous_identity(username: str, display_name: str | None) -> bool:
    """What jupyter_server's ``IdentityProvider.generate_anonymous_user`` gives a token login."""
    return bool(_ANONYMOUS_ID.fullmatch(username)) and (display_name or "").startswith("Anonymous ")


class Identities:
    """Maps Jupyter identities to callers; one per service."""

    def __init__(
        self,
        store: Store,
        *,
        single_user: bool = True,
        admin_users: Collection[str] = frozenset(),
        owner_username: str = "owner",
    ) -> None:
        self._store = store
        self.single_user = single_user
        self.admin_users = frozenset(admin_users)
        self.owner_username = owner_username
        self._cache: dict[str, tuple[float, Caller]] = {}  # key -> (read at, caller)
        self._groups: dict[str, tuple[str, ...]] = {}
        self._lock = asyncio.Lock()

    def groups_of(self, user_id: str) -> tuple[str, ...]:
        """The hub groups last seen for ``user_id`` in this process (empty when unknown)."""
        return self._groups.get(user_id, ())

    async def caller_for(
        self,
        username: str,
        *,
        display_name: str | None = None,
        hub_groups: Sequence[str] = (),
    ) -> Caller:
        if not isinstance(username, str) or not username.strip():
            raise BadRequestError("a Jupyter identity needs a non-empty username")
        if not self.single_user and is_anonymous_identity(username, display_name):
            raise PermissionDeniedError(ANONYMOUS_REFUSED)
        key = self.owner_username if self.single_user else username
        cached = self._fresh(key)
        if cached is not None:
            self._groups[cached.user_id] = tuple(hub_groups)
            return cached
        async with self._lock:  # two first requests of one user must not both create it
            cached = self._fresh(key)
            if cached is not None:
                return cached
            roles: tuple[str, ...]
            name: str | None
            if self.single_user:
                roles = ("admin",)
                name = display_name if display_name else username
            else:
                admin = username in self.admin_users or any(
                    f"group:{group}" in self.admin_users for group in hub_groups
                )
                roles = ("admin",) if admin else ("user",)
                name = display_name
            user = await run_off_loop(self._resolve, key, roles, name)
            if not user.is_active:
                raise PermissionDeniedError(f"the workscript user {user.username!r} is disabled")
            caller = Caller.of(user)
            self._cache[key] = (time.monotonic(), caller)
            self._groups[caller.user_id] = tuple(hub_groups)
            return caller

    def _fresh(self, key: str) -> Caller | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry[0] >= CALLER_CACHE_SECONDS:
            del self._cache[key]  # another server may have disabled or changed the user
            return None
        return entry[1]

    def forget_user_id(self, user_id: str) -> None:
        """Drop the cached caller of a workscript user (an admin changed or disabled them): the
        next request of that Jupyter identity reads the store again."""
        for key in [k for k, (_, caller) in self._cache.items() if caller.user_id == user_id]:
            del self._cache[key]

    def forget(self, username: str | None = None) -> None:
        """Drop cached callers (one, or all): the next call reads the store again."""
        if username is None:
            self._cache.clear()
        else:
            self._cache.pop(self.owner_username if self.single_user else username, None)

    # -- in a store thread ------------------------------------------------------------------

    def _resolve(self, external_id: str, roles: tuple[str, ...], display_name: str | None) -> User:
        users = self._store.users
        user = users.find(source=JUPYTER_SOURCE, external_id=external_id)
        if user is None:
            user = self._create(external_id, roles, display_name)
        changes: dict[str, object] = {}
        if self.single_user:
            if "admin" not in user.roles:
                changes["roles"] = (*user.roles, "admin")
        else:
            wanted = "admin" in roles
            if wanted and "admin" not in user.roles:
                changes["roles"] = (*user.roles, "admin")
            elif not wanted and "admin" in user.roles:
                changes["roles"] = tuple(r for r in user.roles if r != "admin") or ("user",)
        if display_name and display_name != user.display_name:
            changes["display_name"] = display_name
        return users.update(user.id, **changes) if changes else user

    def _create(self, external_id: str, roles: tuple[str, ...], display_name: str | None) -> User:
        users = self._store.users
        base = external_id[:_USERNAME_MAX]
        # a local account may already hold the name: the Jupyter user gets a suffixed one
        candidates = (base, f"{base[: _USERNAME_MAX - 8]}@jupyter")
        for attempt in range(4):
            username = (
                candidates[attempt]
                if attempt < len(candidates)
                else f"{base[: _USERNAME_MAX - 7]}-{new_id()[:6]}"
            )
            try:
                return users.create(
                    username,
                    roles=roles,
                    display_name=display_name,
                    source=JUPYTER_SOURCE,
                    external_id=external_id,
                )
            except ConflictError:
                found = users.find(source=JUPYTER_SOURCE, external_id=external_id)
                if found is not None:  # another server created it meanwhile
                    return found
        raise ConflictError(f"no free workscript username for the Jupyter user {external_id!r}")
