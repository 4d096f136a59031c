"""caller_for: Jupyter identities mapped to workscript users on first sight."""

from __future__ import annotations

import pytest

from workscript_jupyter.errors import BadRequestError, PermissionDeniedError
from workscript_jupyter.service import Caller, WorkscriptService


def test_single_user_every_identity_is_the_owner(serve, store):
    async def body(service: WorkscriptService) -> tuple[Caller, Caller, Caller]:
        first = await service.identities.caller_for("alice", display_name="Alice")
        second = await service.identities.caller_for("bob")
        again = await service.identities.caller_for("alice")
        return first, second, again

    first, second, again = serve(body)
    assert first.user.id == second.user.id == again.user.id
    assert first is again  # cached
    assert first.user.username == "owner"
    assert first.user.roles == ("admin",)
    assert first.scope.is_admin and first.scope.user_id == first.user.id
    assert first.user.source == "jupyter" and first.user.external_id == "owner"

    # a second server on the same store finds the same user
    later = serve(lambda service: service.identities.caller_for("carol"))
    assert later.user.id == first.user.id


def test_single_user_custom_owner_name(serve):
    caller = serve(lambda service: service.identities.caller_for("x"), owner_username="jovyan")
    assert caller.user.username == "jovyan" and caller.is_admin


def test_multi_user_one_user_per_username_and_admins(serve, store):
    async def body(service: WorkscriptService) -> list[Caller]:
        return [
            await service.identities.caller_for("alice"),
            await service.identities.caller_for("bob", display_name="Bob B."),
            await service.identities.caller_for("root"),
            await service.identities.caller_for("ops-person", hub_groups=["ops"]),
            await service.identities.caller_for("alice"),
        ]

    alice, bob, root, ops, alice_again = serve(
        body, single_user=False, admin_users={"root", "group:ops"}
    )
    assert len({alice.user.id, bob.user.id, root.user.id, ops.user.id}) == 4
    assert alice_again.user.id == alice.user.id
    assert alice.user.username == "alice" and not alice.is_admin
    assert alice.user.roles == ("user",)
    assert bob.user.display_name == "Bob B."
    assert root.is_admin and root.user.roles == ("admin",)
    assert ops.is_admin
    assert store.users.find(source="jupyter", external_id="bob").id == bob.user.id

    # admin_users changed: the next server start gives and takes the role accordingly
    async def again(service: WorkscriptService) -> tuple[Caller, Caller]:
        return await service.identities.caller_for("alice"), await service.identities.caller_for(
            "root"
        )

    alice2, root2 = serve(again, single_user=False, admin_users={"alice"})
    assert alice2.user.id == alice.user.id and alice2.is_admin
    assert root2.user.id == root.user.id and not root2.is_admin


def test_a_local_account_with_the_same_name_is_not_taken_over(serve, store):
    local = store.users.create("carol", source="local")
    caller = serve(lambda service: service.identities.caller_for("carol"), single_user=False)
    assert caller.user.id != local.id
    assert caller.user.username == "carol@jupyter"
    assert caller.user.external_id == "carol"


def test_bad_and_disabled_identities(serve, store):
    with pytest.raises(BadRequestError):
        serve(lambda service: service.identities.caller_for("  "), single_user=False)
    user = serve(lambda service: service.identities.caller_for("dave"), single_user=False).user
    store.users.update(user.id, is_active=False)
    with pytest.raises(PermissionDeniedError):
        serve(lambda service: service.identities.caller_for("dave"), single_user=False)


def test_a_change_made_elsewhere_shows_once_the_cached_caller_is_old(serve, store, monkeypatch):
    """Another server (here: the store directly) disables a user: this server's cached caller
    is trusted only CALLER_CACHE_SECONDS, then the store is read again."""
    from workscript_jupyter.service import identity

    async def body(service: WorkscriptService) -> None:
        bob = await service.identities.caller_for("bob")
        store.users.update(bob.user_id, is_active=False)
        assert (await service.identities.caller_for("bob")) is bob  # still fresh: cached
        monkeypatch.setattr(identity, "CALLER_CACHE_SECONDS", 0.0)
        with pytest.raises(PermissionDeniedError, match="disabled"):
            await service.identities.caller_for("bob")

    serve(body, single_user=False)
