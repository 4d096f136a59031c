"""An admin manages Jupyter users of a shared server: a disabled or demoted user loses access
with their next request (the cached Jupyter identities are dropped), not at the next restart."""

from __future__ import annotations

import pytest

from .conftest import Api, server_config
from .identity import TwoUsersIdentityProvider, auth


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(
        workscript_db_url,
        server={"identity_provider_class": TwoUsersIdentityProvider},
        single_user=False,
        admin_users=["alice"],
        jwt_secret="a" * 40,
        jwt_refresh_secret="b" * 40,
        session_secret="c" * 40,
    )


async def test_a_disabled_jupyter_user_is_refused_at_once(jp_fetch, workscript):
    alice, bob = Api(jp_fetch, auth("alice")), Api(jp_fetch, auth("bob"))
    me = await bob.get("auth", "me")
    assert me.code == 200  # bob is mapped (and cached) now
    assert (await bob.get("users")).code == 403  # not an admin: user:manage is the admins'
    disabled = await alice.call("PATCH", "users", me.body["id"], json_body={"isActive": False})
    assert disabled.code == 200, disabled.raw
    refused = await bob.get("workflows")
    assert refused.code == 403 and "disabled" in refused.error["message"]
    narrowed = await alice.call(
        "PATCH", "users", me.body["id"], json_body={"isActive": True, "role": "api"}
    )
    assert narrowed.code == 200
    assert (await bob.get("workflows")).code == 200  # api: workflow:read
    denied = await bob.post("workflows", json_body={"definition": {"name": "x"}})
    assert denied.code == 403 and "workflow:create" in denied.error["message"]


async def test_an_admin_cannot_disable_or_demote_themselves(jp_fetch, workscript):
    alice = Api(jp_fetch, auth("alice"))
    me = (await alice.get("auth", "me")).body
    for change in ({"isActive": False}, {"role": "user"}):
        reply = await alice.call("PATCH", "users", me["id"], json_body=change)
        assert reply.code == 409, reply.raw
