"""UserAdmin: the last active admin stays one, whoever holds user:manage."""

from __future__ import annotations

import asyncio

import pytest

from workscript_jupyter.auth.passwords import PasswordHasher
from workscript_jupyter.errors import ConflictError
from workscript_jupyter.service.account_settings import AccountSettings
from workscript_jupyter.service.authentication import Authenticator
from workscript_jupyter.service.user_admin import UserAdmin
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.memory import MemoryStore


class NoSessions:
    async def revoke_user(self, user_id: str) -> int:
        return 0


def admin_of(store: MemoryStore) -> UserAdmin:
    authenticator = Authenticator(
        store, tokens=None, sessions=NoSessions(), limiter=None, settings=AccountSettings()
    )  # type: ignore[arg-type]
    return UserAdmin(
        store, hasher=PasswordHasher(4), sessions=NoSessions(), authenticator=authenticator
    )


def test_the_last_active_admin_cannot_be_disabled_or_demoted() -> None:
    store = MemoryStore()
    only_admin = store.users.create("ann", roles=("admin",))
    manager = store.users.create("mo", roles=("user",), permissions=("user:manage",))
    users = admin_of(store)
    caller = Caller.of(manager)

    async def main() -> None:
        for change in ({"isActive": False}, {"role": "user"}):
            with pytest.raises(ConflictError, match="last active admin"):
                await users.update(caller, only_admin.id, change)
        second = store.users.create("bo", roles=("admin",))
        demoted = await users.update(caller, only_admin.id, {"role": "user"})  # bo remains
        assert demoted.roles == ("user",)
        with pytest.raises(ConflictError, match="last active admin"):
            await users.update(caller, second.id, {"isActive": False})

    asyncio.run(main())
