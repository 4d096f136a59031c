"""Review of resources on a shared server, as an attacker and a demanding user would try them:
the media type a client stores must stay a servable header, an API key's permissions hold inside
the runs it starts, the resource-* nodes and runWorkflow never reach another user's private
things, and resource-interpolate cannot be made to build a text past the run's state limit."""

from __future__ import annotations

import asyncio
import threading
import tracemalloc
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from workscript_jupyter.auth.permissions import ROLE_PERMISSIONS
from workscript_jupyter.engine import Edge
from workscript_jupyter.engine.state_size import RunState
from workscript_jupyter.nodes import resource_interpolate
from workscript_jupyter.nodes.resource_interpolate import ResourceInterpolateNode
from workscript_jupyter.store.records import Scope

from .conftest import Api, TwoUsers, document, server_config
from .identity import TwoUsersIdentityProvider

SECRETS: dict[str, Any] = {
    "jwt_secret": "a" * 40,
    "jwt_refresh_secret": "b" * 40,
    "session_secret": "c" * 40,
}
MAX_STATE_MB = 1
EDGES = ("success", "not_found", "created", "updated", "empty", "error")


def probe(name: str, node: str, **params: Any) -> dict[str, Any]:
    """``node`` with every edge it may take writing ``{edge, context}`` to ``$.<name>``."""
    edges = {
        f"{edge}?": {f"$.{name}": {"edge": edge, "context": "$._edgeContext"}} for edge in EDGES
    }
    return {node: {**params, **edges}}


def upload(content_type: str, file_type: str, name: str = "up.txt") -> tuple[bytes, dict[str, str]]:
    boundary = f"ws{uuid.uuid4().hex}"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {file_type}\r\n\r\nhello\r\n--{boundary}--\r\n"
    ).encode()
    return body, {"Content-Type": content_type.format(boundary=boundary)}


async def run_inline(api: Api, *steps: Any, **state: Any) -> dict[str, Any]:
    definition = document(*steps, initialState=state or {"who": "world"})
    reply = await api.post("workflows", "run", json_body={"definition": definition})
    assert reply.code == 200, reply.raw
    assert reply.body["status"] == "completed", reply.body
    return dict(reply.body["finalState"])


async def create(api: Api, path: str, content: str = "hello", **fields: Any) -> dict[str, Any]:
    reply = await api.post("resources", json_body={"path": path, "content": content, **fields})
    assert reply.code == 201, reply.raw
    return dict(reply.body)


class TestResourceReview(TwoUsers):
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str) -> Any:
        return server_config(
            workscript_db_url,
            server={"identity_provider_class": TwoUsersIdentityProvider},
            single_user=False,
            admin_users=[],
            max_state_mb=MAX_STATE_MB,
            **SECRETS,
        )

    # -- media types --------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "mime", ["text/plain; name=中", "text/plain; x=\u2028", "text/plain\n", "text/html\r"]
    )
    async def test_a_media_type_that_is_no_header_is_400(self, alice: Api, mime: str) -> None:
        reply = await alice.post(
            "resources", json_body={"path": "m.txt", "content": "x", "mimeType": mime}
        )
        assert reply.code == 400, reply.raw
        assert reply.error["details"][0]["field"] == "mimeType"

    async def test_an_uploads_media_type_is_checked_and_its_case_ignored(self, alice: Api) -> None:
        body, headers = upload("multipart/form-data; boundary={boundary}", "image/svg+xml; a=中")
        refused = await alice.post("resources", body=body, headers=headers)
        assert refused.code == 400, refused.raw
        assert refused.error["details"][0]["field"] == "mimeType"
        body, headers = upload("Multipart/Form-Data; boundary={boundary}", "text/plain")
        made = await alice.post("resources", body=body, headers=headers)
        assert made.code == 201, made.raw
        assert (made.body["path"], made.body["mimeType"]) == ("up.txt", "text/plain")

    async def test_a_stored_unservable_media_type_is_served_as_bytes(
        self, alice: Api, workscript: dict[str, Any]
    ) -> None:
        made = await create(alice, "old.txt")
        store = workscript["store"]
        scope = Scope(made["ownerId"])
        store.resources.update(scope, made["id"], mime_type="text/plain; name=中")  # an old row
        served = await alice.unchecked().get("resources", made["id"], "content")
        assert served.code == 200, served.raw
        assert served.headers["Content-Type"] == "application/octet-stream"
        assert served.raw == b"hello"

    # -- an API key's permissions inside the runs it starts -----------------------------------

    async def test_a_read_only_key_cannot_write_resources_through_a_run(
        self, alice: Api, jp_fetch: Any
    ) -> None:
        kept = await create(alice, "notes/kept.txt", "original")
        made = await alice.post(
            "keys", json_body={"name": "robot", "permissions": sorted(ROLE_PERMISSIONS["api"])}
        )
        assert made.code == 201, made.raw
        robot = Api(jp_fetch, {"X-API-Key": made.body["key"], "Authorization": ""})

        state = await run_inline(
            robot,
            probe("read", "resource-read", path="notes/kept.txt"),
            probe("listed", "resource-list"),
            probe("created", "resource-write", mode="create", path="new.txt", content="x"),
            probe("upserted", "resource-write", mode="upsert", path="notes/kept.txt", content="x"),
            probe("updated", "resource-write", mode="update", resourceId=kept["id"], content="x"),
        )
        assert state["read"]["edge"] == "success" and state["resourceContent"] == "original"
        assert state["listed"]["edge"] == "success"
        for name in ("created", "upserted", "updated"):
            assert state[name]["edge"] == "error", state[name]
            assert state[name]["context"]["code"] == "FORBIDDEN", state[name]
        listed = await alice.get("resources")
        assert [item["path"] for item in listed.body["items"]] == ["notes/kept.txt"]
        content = await alice.unchecked().get("resources", kept["id"], "content")
        assert content.raw == b"original"

    # -- another user's things ----------------------------------------------------------------

    async def test_the_nodes_never_reach_another_users_private_things(
        self, alice: Api, bob: Api
    ) -> None:
        secret = await create(alice, "secret.txt", "alice's secret {{$.who}}", type="prompt")
        shared = await create(alice, "shared.txt", "for everyone", isPublic=True)
        saved = await alice.post(
            "workflows", json_body={"definition": document({"$.x": 1}, id="alice-only")}
        )
        assert saved.code == 201, saved.raw

        state = await run_inline(
            bob,
            probe("by_id", "resource-read", resourceId=secret["id"]),
            probe("by_path", "resource-read", path="secret.txt"),
            probe("template", "resource-interpolate", resourceId=secret["id"]),
            probe(
                "overwrite", "resource-write", mode="update", resourceId=secret["id"], content="x"
            ),
            probe("deface", "resource-write", mode="update", resourceId=shared["id"], content="x"),
            probe("mine", "resource-list", public="exclude"),
            probe("public", "resource-list", public="include"),
            probe("child", "runWorkflow", workflowId=saved.body["id"]),
            probe("child_by_name", "runWorkflow", workflowId="alice-only"),
            probe("shared", "resource-read", resourceId=shared["id"]),
        )
        assert state["by_id"]["edge"] == "not_found"
        assert state["by_path"]["edge"] == "not_found"
        assert state["template"]["edge"] == "not_found"
        assert state["overwrite"]["context"]["code"] == "RESOURCE_NOT_FOUND"
        assert state["deface"]["context"]["code"] == "FORBIDDEN"
        assert state["mine"]["edge"] == "empty"
        items = state["public"]["context"]["items"]
        assert [item["id"] for item in items] == [shared["id"]]
        for name in ("child", "child_by_name"):
            assert state[name]["edge"] == "error" and state[name]["context"]["code"] == (
                "NOT_FOUND"
            ), state[name]
        assert state["shared"]["edge"] == "success"
        assert state["resourceContent"] == "for everyone"
        assert "alice's secret" not in str(state)
        for made in (secret, shared):  # untouched
            assert (await alice.get("resources", made["id"])).body["checksum"] == made["checksum"]

    # -- resource-interpolate -----------------------------------------------------------------

    async def test_a_placeholder_bomb_stops_at_the_state_limit_without_building_it(
        self, alice: Api
    ) -> None:
        # 50,000 placeholders of a 2,000-character value: 100 MB of text, against 1 MB of state
        bomb = await create(alice, "bomb.md", "{{$.big}}" * 50_000, type="prompt")
        tracemalloc.start()
        try:
            state = await run_inline(
                alice,
                probe("filled", "resource-interpolate", resourceId=bomb["id"]),
                big="x" * 2_000,
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert state["filled"]["edge"] == "error", state["filled"]
        assert state["filled"]["context"]["code"] == "STATE_TOO_LARGE"
        assert peak < 30 * 1024 * 1024, f"{peak / 1e6:.0f} MB allocated for a refused text"

    async def test_a_repeated_placeholder_fills_within_the_limit(self, alice: Api) -> None:
        template = await create(
            alice, "t.md", "{{$.user}}|" * 1_000 + "{{$.nobody}}", type="prompt"
        )
        state = await run_inline(
            alice,
            probe("filled", "resource-interpolate", resourceId=template["id"]),
            user={"name": "Ada"},
        )
        assert state["filled"]["edge"] == "success", state["filled"]
        assert state["interpolatedContent"] == '{"name":"Ada"}|' * 1_000 + "{{$.nobody}}"
        assert state["interpolationStats"] == {
            "found": 2,
            "replaced": 1,
            "unresolved": ["nobody"],
        }


def test_a_large_template_is_filled_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    template = "{{$.a}}" * 700_000  # 4.9 MB of placeholders, far past OFF_LOOP_CHARS
    assert len(template) > resource_interpolate.OFF_LOOP_CHARS
    state = RunState({"a": "x"}, max_text=10_000_000)
    ctx = SimpleNamespace(state=state, services=None)
    fillers: list[int] = []  # the thread each fill ran in
    interpolate = resource_interpolate.interpolate

    def recorded(*args: Any, **kwargs: Any) -> Any:
        fillers.append(threading.get_ident())
        return interpolate(*args, **kwargs)

    monkeypatch.setattr(resource_interpolate, "interpolate", recorded)

    async def fill() -> tuple[Edge, int]:
        node = ResourceInterpolateNode()
        edge = await node.execute(ctx, {"template": template})  # type: ignore[arg-type]
        return edge, threading.get_ident()

    edge, loop_thread = asyncio.run(fill())
    assert edge.name == "success" and state["interpolatedContent"] == "x" * 700_000
    assert len(fillers) == 1, fillers  # the template was filled once, through interpolate
    assert fillers[0] != loop_thread, "the template was filled on the event loop's thread"


@pytest.mark.parametrize(
    "params",
    [{"createdAfter": "0001-01-01T00:00:00+05:00"}, {"createdBefore": "9999-12-31T23:00-05:00"}],
)
async def test_run_time_filters_at_the_calendars_edges_are_400(
    api: Api, params: dict[str, str]
) -> None:
    reply = await api.get("executions", params=params)
    assert reply.code == 400, reply.raw
    assert next(iter(params)) in reply.error["message"]
