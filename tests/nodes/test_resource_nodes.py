"""The four resource-* nodes on a real (SQLite) store: every edge and state key, through the
per-caller gateway and through a server run; NEEDS_SERVER without the server; interpolation
with missing keys, nested paths and values that are not text."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import pytest

from workscript_jupyter.engine import EngineLimits, NodeRegistry, Services
from workscript_jupyter.nodes.resource_interpolate import interpolate
from workscript_jupyter.service import WorkscriptService
from workscript_jupyter.service.resources import Resources
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.sql import SqlStore

EDGES = {
    "resource-read": ("success", "not_found", "error"),
    "resource-write": ("created", "updated", "error"),
    "resource-interpolate": ("success", "not_found", "error"),
    "resource-list": ("success", "empty", "error"),
}
MAX = 2000


@pytest.fixture
def store(sqlite_store: SqlStore) -> SqlStore:
    return sqlite_store


@pytest.fixture
def resources(store: SqlStore) -> Resources:
    return Resources(store, max_bytes=MAX)


@pytest.fixture
def alice(store: SqlStore) -> Caller:
    return Caller.of(store.users.create("alice"))


@pytest.fixture
def bob(store: SqlStore) -> Caller:
    return Caller.of(store.users.create("bob"))


def step(node: str, **params: Any) -> dict[str, Any]:
    """The node with every edge recorded: ``$.edge`` its name, ``$.data`` its data."""
    record = {f"{e}?": [{"$.data": "$._edgeContext"}, {"$.edge": e}] for e in EDGES[node]}
    return {node: {**params, **record}}


def flow(*steps: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "res", "name": "res", "version": "1.0.0", "workflow": list(steps), **extra}


@pytest.fixture
def as_user(run: Any, resources: Resources) -> Any:
    """``as_user(caller, node, initial=None, **params)`` → the final state of one node's run."""

    def go(caller: Caller | None, node: str, initial: Any = None, **params: Any) -> dict[str, Any]:
        services = Services(resources=resources.gateway(caller) if caller else None)
        result = run(flow(step(node, **params)), initial, services=services)
        assert result.status == "completed", result.error
        return dict(result.final_state)

    return go


def put(resources: Resources, caller: Caller, path: str, content: bytes, **fields: Any) -> Any:
    return asyncio.run(resources.create(caller, {"path": path, **fields}, content))


# -- without the server -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "params"),
    [
        ("resource-read", {"path": "a.txt"}),
        ("resource-write", {"mode": "create", "path": "a.txt", "content": "x"}),
        ("resource-interpolate", {"path": "a.txt"}),
        ("resource-list", {}),
    ],
)
def test_without_the_server_each_node_says_it_needs_it(as_user, node, params) -> None:
    state = as_user(None, node, **params)
    assert state["edge"] == "error"
    assert state["data"]["code"] == "NEEDS_SERVER"
    assert "needs the Workscript server" in state["data"]["error"]


def test_an_inline_template_needs_no_server(as_user) -> None:
    state = as_user(
        None, "resource-interpolate", {"tpl": "Hi {{$.who}}", "who": "Ada"}, template="$.tpl"
    )
    assert (state["edge"], state["interpolatedContent"]) == ("success", "Hi Ada")


# -- resource-write -------------------------------------------------------------------------------


def test_write_creates_updates_and_upserts(as_user, alice, resources) -> None:
    made = as_user(alice, "resource-write", mode="create", path="r/a.txt", content="v1",
                   tags=["t"], description="first")  # fmt: skip
    assert made["edge"] == "created"
    rid = made["writtenResourceId"]
    assert made["data"]["resourceId"] == rid == made["writtenResource"]["id"]
    assert made["writtenResource"]["tags"] == ["t"]

    again = as_user(alice, "resource-write", mode="create", path="r/a.txt", content="v2")
    assert (again["edge"], again["data"]["code"]) == ("error", "RESOURCE_EXISTS")
    assert "upsert" in again["data"]["suggestion"] and again["data"]["path"] == "r/a.txt"

    updated = as_user(alice, "resource-write", mode="update", path="r/a.txt", content="v2")
    assert updated["edge"] == "updated" and updated["writtenResourceId"] == rid
    assert updated["data"]["previousChecksum"] == hashlib.sha256(b"v1").hexdigest()
    by_id = as_user(alice, "resource-write", mode="update", resourceId=rid, content={"n": [1, 2.0]},
                    name="A")  # fmt: skip
    assert by_id["edge"] == "updated" and by_id["writtenResource"]["name"] == "A"
    assert asyncio.run(resources.get(alice, rid)).content == b'{"n":[1,2]}'

    upsert_old = as_user(alice, "resource-write", mode="upsert", path="r/a.txt", content=42)
    assert upsert_old["edge"] == "updated"
    assert asyncio.run(resources.get(alice, rid)).content == b"42"
    upsert_new = as_user(alice, "resource-write", mode="upsert", path="r/b.txt", content=True)
    assert upsert_new["edge"] == "created"
    assert asyncio.run(resources.get(alice, upsert_new["writtenResourceId"])).content == b"true"

    missing = as_user(alice, "resource-write", mode="update", path="r/none.txt", content="x")
    assert (missing["data"]["code"], missing["data"]["path"]) == (
        "RESOURCE_NOT_FOUND",
        "r/none.txt",
    )
    unknown_id = as_user(alice, "resource-write", mode="update", resourceId="0" * 32, content="x")
    assert unknown_id["data"]["code"] == "RESOURCE_NOT_FOUND"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"path": "a", "content": "x"}, "Missing required parameter: mode"),
        ({"mode": "replace", "path": "a", "content": "x"}, "Invalid mode"),
        ({"mode": "create", "path": "a"}, "Missing required parameter: content"),
        ({"mode": "create", "content": "x"}, "Path is required for create mode"),
        ({"mode": "upsert", "content": "x"}, "Path is required for upsert mode"),
        ({"mode": "update", "content": "x"}, "Either resourceId or path is required"),
        ({"mode": "create", "path": "a", "content": "x", "type": "video"}, "Invalid type"),
        ({"mode": "create", "path": "../a", "content": "x"}, "path: must not have"),
        ({"mode": "create", "path": "a", "content": "x", "tags": "t"}, "tags: must be a list"),
    ],
)
def test_write_refuses_bad_parameters(as_user, alice, params, message) -> None:
    state = as_user(alice, "resource-write", **params)
    assert state["edge"] == "error" and message in state["data"]["error"]
    assert "writtenResource" not in state


def test_write_limits_and_other_users(as_user, alice, bob, resources) -> None:
    big = as_user(alice, "resource-write", mode="create", path="big", content="x" * (MAX + 1))
    assert big["data"]["code"] == "PAYLOAD_TOO_LARGE"
    public = put(resources, alice, "shared.md", b"hi", isPublic=True)
    private = put(resources, alice, "secret.md", b"s")
    defaced = as_user(bob, "resource-write", mode="update", resourceId=public.id, content="x")
    assert defaced["data"]["code"] == "FORBIDDEN"
    hidden = as_user(bob, "resource-write", mode="update", resourceId=private.id, content="x")
    assert hidden["data"]["code"] == "RESOURCE_NOT_FOUND"
    own = as_user(bob, "resource-write", mode="upsert", path="shared.md", content="bob's")
    assert own["edge"] == "created"  # paths are per owner: bob's own shared.md
    assert asyncio.run(resources.get(alice, public.id)).content == b"hi"


# -- resource-read --------------------------------------------------------------------------------


def test_read_as_text_json_and_binary(as_user, alice, resources) -> None:
    doc = put(resources, alice, "data/doc.json", '{"a": [1, "é"]}'.encode())
    text = as_user(alice, "resource-read", path="data/doc.json")
    assert text["edge"] == "success" and text["resourceContent"] == '{"a": [1, "é"]}'
    assert text["resourceMetadata"]["id"] == doc.id
    assert text["data"]["mimeType"] == "application/json"
    assert text["data"]["size"] == doc.size and text["data"]["resource"]["checksum"] == doc.checksum
    parsed = as_user(alice, "resource-read", resourceId=doc.id, responseType="json")
    assert parsed["resourceContent"] == {"a": [1, "é"]}
    raw = bytes(range(256))
    blob = put(resources, alice, "img/raw.bin", raw)
    binary = as_user(alice, "resource-read", resourceId=blob.id, responseType="binary")
    assert base64.b64decode(binary["resourceContent"]) == raw
    not_json = as_user(alice, "resource-read", resourceId=blob.id, responseType="json")
    assert isinstance(not_json["resourceContent"], str)  # the text, as the original does


def test_read_not_found_and_bad_parameters(as_user, alice, bob, resources) -> None:
    state = {"resourceContent": "old", "resourceMetadata": {"old": True}}
    missing = as_user(alice, "resource-read", state, path="nope.md")
    assert (missing["edge"], missing["data"]["path"]) == ("not_found", "nope.md")
    assert missing["resourceContent"] is None and missing["resourceMetadata"] is None
    secret = put(resources, bob, "secret.md", b"s")
    hidden = as_user(alice, "resource-read", resourceId=secret.id)
    assert (hidden["edge"], hidden["data"]["resourceId"]) == ("not_found", secret.id)
    shared = put(resources, bob, "shared.md", b"for all", isPublic=True)
    assert as_user(alice, "resource-read", resourceId=shared.id)["resourceContent"] == "for all"
    assert as_user(alice, "resource-read", path="shared.md")["edge"] == "not_found"  # not hers
    none = as_user(alice, "resource-read")
    assert "provide either resourceId or path" in none["data"]["error"]
    wrong = as_user(alice, "resource-read", path="a", responseType="xml")
    assert "Invalid responseType" in wrong["data"]["error"]
    bad_path = as_user(alice, "resource-read", path="../etc/passwd")
    assert (bad_path["edge"], bad_path["data"]["code"]) == ("error", "BAD_REQUEST")


# -- resource-interpolate -------------------------------------------------------------------------

TEMPLATE = (
    "Hi {{$.user.name}} ({{ $.user.age }}), items: {{$.items[1].id}}; ok={{$.ok}}; "
    "tags={{$.tags}}; none=[{{$.nothing}}]; missing={{$.user.email}} {{$.gone}} {{$.gone}}"
)
STATE = {
    "user": {"name": "Ada", "age": 36.0},
    "items": [{"id": "a"}, {"id": "b"}],
    "ok": True,
    "tags": ["x", 1.5],
    "nothing": None,
}


def test_interpolate_fills_from_the_state(as_user, alice, resources) -> None:
    put(resources, alice, "prompts/hi.md", TEMPLATE.encode(), type="prompt")
    state = as_user(alice, "resource-interpolate", STATE, path="prompts/hi.md")
    assert state["edge"] == "success"
    expected = (
        'Hi Ada (36), items: b; ok=true; tags=["x",1.5]; none=[]; '
        "missing={{$.user.email}} {{$.gone}} {{$.gone}}"
    )
    assert state["interpolatedContent"] == expected == state["data"]["content"]
    stats = state["interpolationStats"]
    assert stats == {"found": 8, "replaced": 6, "unresolved": ["user.email", "gone"]}
    assert state["data"]["placeholders"] == stats
    assert state["data"]["originalContent"] == TEMPLATE


def test_interpolate_state_parameter_and_include_all_state(as_user, alice, resources) -> None:
    made = put(resources, alice, "t.md", b"{{$.a}}-{{$.b}}-{{$._lastStateSet}}")
    over = as_user(alice, "resource-interpolate", {"a": 1, "b": 2}, resourceId=made.id,
                   state={"b": "B"})  # fmt: skip
    assert over["interpolatedContent"] == "1-B-{{$._lastStateSet}}"  # engine keys are hidden
    alone = as_user(alice, "resource-interpolate", {"a": 1}, resourceId=made.id,
                    state={"b": "B"}, includeAllState=False)  # fmt: skip
    assert alone["interpolatedContent"] == "{{$.a}}-B-{{$._lastStateSet}}"
    assert alone["interpolationStats"]["unresolved"] == ["a", "_lastStateSet"]


def test_interpolate_not_found_wrong_type_and_bad_parameters(as_user, alice, resources) -> None:
    before = {"interpolatedContent": "old", "interpolationStats": {}}
    missing = as_user(alice, "resource-interpolate", before, path="nope.md")
    assert missing["edge"] == "not_found"
    assert missing["interpolatedContent"] is None and missing["interpolationStats"] is None
    image = put(resources, alice, "img/a.png", b"\x89PNG")
    assert image.type == "image"
    refused = as_user(alice, "resource-interpolate", resourceId=image.id)
    assert refused["data"]["code"] == "INVALID_RESOURCE_TYPE"
    latin = put(resources, alice, "bad.txt", "café".encode("latin-1"))
    assert as_user(alice, "resource-interpolate", resourceId=latin.id)["data"]["code"] == (
        "INVALID_RESOURCE_TYPE"
    )
    nothing = as_user(alice, "resource-interpolate")
    assert "provide resourceId, path or template" in nothing["data"]["error"]
    bad_state = as_user(alice, "resource-interpolate", template="x", state=[1])
    assert "state must be an object" in bad_state["data"]["error"]


def test_interpolation_never_evaluates_and_keeps_odd_placeholders() -> None:
    text, stats = interpolate("{{$.a}} {{ 1+1 }} {{$.a.__class__}} {{x}} {{$.}}", {"a": 5})
    assert text == "5 {{ 1+1 }} {{$.a.__class__}} {{x}} {{$.}}"
    assert stats == {"found": 2, "replaced": 1, "unresolved": ["a.__class__"]}


def test_interpolation_is_bounded_by_the_state_limit(run, resources, alice) -> None:
    put(resources, alice, "boom.md", b"{{$.big}}" * 200)
    services = Services(resources=resources.gateway(alice))
    document = flow(step("resource-interpolate", path="boom.md"), initialState={"big": "x" * 2000})
    result = run(document, services=services, limits=EngineLimits.of(max_state_mb=0.2))
    assert result.final_state["edge"] == "error"
    assert result.final_state["data"]["code"] == "STATE_TOO_LARGE"


# -- resource-list -------------------------------------------------------------------------------


def test_list_edges_filters_and_paging(as_user, alice, bob, resources) -> None:
    empty = as_user(alice, "resource-list", type="prompt")
    assert (empty["edge"], empty["resourceList"], empty["resourceCount"]) == ("empty", [], 0)
    assert empty["data"]["filters"]["type"] == "prompt"
    greet = put(resources, alice, "prompts/greet.md", b"g", type="prompt", tags=["email", "x"])
    promo = put(resources, alice, "prompts/promo.md", b"p", type="prompt", tags=["email"])
    put(resources, alice, "data/sale.json", b"{}", description="Big SALE")
    shared = put(resources, bob, "shared.md", b"s", type="prompt", isPublic=True)

    found = as_user(alice, "resource-list", type="prompt")
    assert found["edge"] == "success" and found["resourceCount"] == 3
    assert [r["id"] for r in found["resourceList"]] == [shared.id, promo.id, greet.id]
    assert found["data"]["pagination"] == {"limit": 50, "nextCursor": None, "hasMore": False}
    mine = as_user(alice, "resource-list", type="prompt", public="exclude")
    assert [r["id"] for r in mine["resourceList"]] == [promo.id, greet.id]
    tagged = as_user(alice, "resource-list", tags=["email", "x"])
    assert [r["id"] for r in tagged["resourceList"]] == [greet.id]
    assert as_user(alice, "resource-list", search="sale")["resourceCount"] == 1
    assert as_user(alice, "resource-list", pathPrefix="prompts/p")["resourceCount"] == 1

    first = as_user(alice, "resource-list", type="prompt", limit=2)
    assert first["resourceCount"] == 2 and first["data"]["pagination"]["hasMore"] is True
    cursor = first["data"]["pagination"]["nextCursor"]
    rest = as_user(alice, "resource-list", type="prompt", limit=2, cursor=cursor)
    assert [r["id"] for r in rest["resourceList"]] == [greet.id]

    for params, message in (
        ({"type": "video"}, "Invalid type"),
        ({"limit": 0}, "Invalid limit"),
        ({"limit": True}, "Invalid limit"),
        ({"tags": "email"}, "tags must be an array"),
        ({"public": "all"}, "public: must be one of"),
        ({"cursor": "nonsense"}, "cursor"),
    ):
        refused = as_user(alice, "resource-list", **params)
        assert refused["edge"] == "error" and message in refused["data"]["error"], params


# -- through a server run ------------------------------------------------------------------------


def test_a_server_run_gets_its_owners_resources(
    store: SqlStore, registry: NodeRegistry, alice: Caller, bob: Caller
) -> None:
    """The service registers the gateway: a run's nodes act as the run's owner."""

    async def body() -> tuple[Any, Any]:
        service = WorkscriptService(store, registry, server_id="t", resource_max_bytes=MAX)
        await service.start()
        try:
            write = flow(
                step("resource-write", mode="create", path="notes.md", content="{{$.who}}!"),
                {
                    "resource-read": {
                        "path": "notes.md",
                        "success?": {"$.read": "$.resourceContent"},
                    }
                },
                initialState={"who": "alice"},
            )
            first = await service.runs.start_run(alice, definition=write)
            mine = await service.runs.wait_for(alice, first.id, 20)
            peek = flow(step("resource-read", path="notes.md"), id="peek")
            second = await service.runs.start_run(bob, definition=peek)
            theirs = await service.runs.wait_for(bob, second.id, 20)
            return mine, theirs
        finally:
            await service.stop()

    mine, theirs = asyncio.run(body())
    assert mine.status == "completed", mine.error
    assert mine.final_state["edge"] == "created" and mine.final_state["read"] == "alice!"
    assert theirs.final_state["edge"] == "not_found"  # bob's run reads bob's resources
