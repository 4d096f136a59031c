"""Two Jupyter users on one shared server: neither sees the other's workflows or runs."""

from __future__ import annotations

import pytest

from .conftest import Api, document, server_config
from .identity import TwoUsersIdentityProvider, auth


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(
        workscript_db_url,
        server={"identity_provider_class": TwoUsersIdentityProvider},
        single_user=False,
        admin_users=[],
    )


@pytest.fixture
def alice(jp_fetch, workscript) -> Api:
    return Api(jp_fetch, auth("alice"))


@pytest.fixture
def bob(jp_fetch, workscript) -> Api:
    return Api(jp_fetch, auth("bob"))


async def test_an_unknown_token_is_refused(alice):
    reply = await alice.get("workflows", headers={"Authorization": "token mallory-token"})
    assert reply.code in (401, 403)


async def test_users_see_only_their_own_workflows(alice, bob):
    mine = await alice.post("workflows", json_body={"definition": document(name="alice's")})
    assert mine.code == 201
    theirs = await bob.post("workflows", json_body={"definition": document(name="bob's")})
    assert theirs.code == 201
    assert mine.body["ownerId"] != theirs.body["ownerId"]

    alice_list = await alice.get("workflows")
    assert [w["name"] for w in alice_list.body["items"]] == ["alice's"]
    bob_list = await bob.get("workflows")
    assert [w["name"] for w in bob_list.body["items"]] == ["bob's"]

    alice_id = mine.body["id"]
    assert (await bob.get("workflows", alice_id)).code == 404
    assert (await bob.put("workflows", alice_id, json_body={"name": "mine now"})).code == 404
    assert (await bob.delete("workflows", alice_id)).code == 404
    assert (await bob.post("workflows", alice_id, "run")).code == 404
    assert (await bob.post("workflows", "run", json_body={"workflowId": alice_id})).code == 404
    still = await alice.get("workflows", alice_id)
    assert still.code == 200 and still.body["name"] == "alice's"


async def test_users_see_only_their_own_runs(alice, bob):
    workflow_id = (await alice.post("workflows", json_body={"definition": document()})).body["id"]
    run = await alice.post("workflows", workflow_id, "run", params={"wait": 5})
    assert run.code == 200
    run_id = run.body["id"]
    bob_run = await bob.post("workflows", "run", json_body={"definition": document()})
    assert bob_run.code == 200

    assert [r["id"] for r in (await alice.get("executions")).body["items"]] == [run_id]
    assert [r["id"] for r in (await bob.get("executions")).body["items"]] == [
        bob_run.body["executionId"]
    ]
    assert (await bob.get("executions", params={"workflowId": workflow_id})).body["items"] == []
    for reply in (
        await bob.get("executions", run_id),
        await bob.get("executions", run_id, "timeline"),
        await bob.post("executions", run_id, "cancel"),
        await bob.post("executions", run_id, "rerun"),
        await bob.delete("executions", run_id),
    ):
        assert reply.code == 404
        assert reply.error["code"] == "NOT_FOUND"
    assert (await alice.get("executions", run_id)).code == 200


async def test_a_hub_user_is_mapped_by_its_hub_name(jp_fetch, workscript, alice):
    carol = Api(jp_fetch, {"Authorization": "token hub-carol-token"})
    made = await carol.post("workflows", json_body={"definition": document(name="carol's")})
    assert made.code == 201
    owner = workscript["store"].users.get(made.body["ownerId"])
    assert (owner.username, owner.external_id) == ("carol", "carol")
    assert (await alice.get("workflows", made.body["id"])).code == 404
