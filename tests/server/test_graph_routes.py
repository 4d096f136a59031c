"""The workflow graph over REST, through a real server: ``GET /workscript/workflows/{id}/graph``
and ``POST /workscript/workflows/graph`` answer the RunMonitor's own SVG.

Error answers are checked against the OpenAPI contract by ``Api``; an SVG answer is not JSON,
so those go through ``api.unchecked()`` and ``svg_of`` checks their headers instead.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, Node, NodeMetadata, load_workflow
from workscript_jupyter.engine.graph_svg import DARK, LIGHT, MAX_STEPS, workflow_svg

from .conftest import Api, Reply, TwoUsers, document, server_config

MISSING = "0" * 32
EVIL = "<script>alert(1)</script>"
SECRETS = {
    "jwt_secret": "g" * 40,
    "jwt_refresh_secret": "h" * 40,
    "session_secret": "i" * 40,
    "bcrypt_rounds": 4,
}

LOOP = document(
    {
        "range...": {
            "stop": 3,
            "current_step?": [{"math": {"operation": "add", "values": [1, 2]}}],
        }
    },
    {"logic": {"operation": "equal", "values": [1, 1], "false?": "range...", "true?": "log"}},
    {"$.done": True},
    name="Loop",
)


class EvilNode(Node):
    metadata = NodeMetadata(id=EVIL, name="evil", description="a node whose id is markup")

    async def execute(self, ctx: Any, params: dict[str, Any]) -> Edge | None:
        return Edge("success")


def svg_of(reply: Reply) -> str:
    """The SVG of a 200 answer, after checking the headers every drawing carries."""
    assert reply.code == 200, reply.raw[:500]
    assert reply.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
    text = reply.raw.decode("utf-8")
    assert text.startswith("<svg xmlns='http://www.w3.org/2000/svg'") and text.endswith("</svg>")
    return text


def step_paths(svg: str) -> list[str]:
    return re.findall(r"<g data-path='([^']*)' class='ws-node ws-step", svg)


async def save(api: Api, definition: dict[str, Any]) -> dict[str, Any]:
    reply = await api.post("workflows", json_body={"definition": definition})
    assert reply.code == 201, reply.raw
    return dict(reply.body)


# -- the drawings ---------------------------------------------------------------------------


async def test_post_draws_a_definition_wrapped_or_bare(api, workscript):
    wrapped = svg_of(
        await api.unchecked().post("workflows", "graph", json_body={"definition": LOOP})
    )
    bare = svg_of(await api.unchecked().post("workflows", "graph", json_body=LOOP))
    assert wrapped == bare
    assert step_paths(wrapped) == [
        "/workflow/0/range...",
        "/workflow/1/logic",
        "/workflow/2/$.done",
    ]
    assert ">↻ range</text>" in wrapped
    assert "<title>false? jumps to range...</title>" in wrapped
    assert "ws-running" not in wrapped, "nothing runs in a stored drawing"
    # the very drawing the RunMonitor shows for the same definition
    registry = workscript["workflows"].registry
    assert wrapped == workflow_svg(load_workflow(LOOP, registry))


async def test_get_draws_the_stored_workflow_by_record_or_definition_id(api):
    record = await save(api, LOOP)
    by_record = svg_of(await api.unchecked().get("workflows", record["id"], "graph"))
    by_definition = svg_of(await api.unchecked().get("workflows", LOOP["id"], "graph"))
    drawn = svg_of(await api.unchecked().post("workflows", "graph", json_body=LOOP))
    assert by_record == by_definition == drawn


async def test_the_theme_picks_the_palette(api):
    record = await save(api, LOOP)
    light = svg_of(await api.unchecked().get("workflows", record["id"], "graph"))
    dark = svg_of(
        await api.unchecked().get("workflows", record["id"], "graph", params={"theme": "dark"})
    )
    posted = svg_of(
        await api.unchecked().post("workflows", "graph", json_body=LOOP, params={"theme": "dark"})
    )
    assert dark == posted
    assert f"fill='{LIGHT.box_fill}'" in light and f"fill='{DARK.box_fill}'" not in light
    assert f"fill='{DARK.box_fill}'" in dark and f"fill='{LIGHT.box_fill}'" not in dark
    for reply in (
        await api.get("workflows", record["id"], "graph", params={"theme": "blue"}),
        await api.post("workflows", "graph", json_body=LOOP, params={"theme": "blue"}),
    ):
        assert reply.code == 400, reply.raw
        assert reply.error["code"] == "BAD_REQUEST"
        assert reply.error["details"] == {"field": "theme"}
        assert "light, dark" in reply.error["message"]


# -- what is refused ------------------------------------------------------------------------


async def test_an_invalid_definition_is_400_listing_its_issues(api):
    bad = document({"no-such-node": {}}, {"logic": {"operation": "equal", "values": "nope"}})
    reply = await api.post("workflows", "graph", json_body={"definition": bad})
    assert reply.code == 400, reply.raw
    assert reply.error["code"] == "WORKFLOW_VALIDATION_ERROR"
    issues = reply.error["details"]
    assert {i["path"] for i in issues} >= {"/workflow/0"}
    assert all(set(i) == {"path", "message", "code"} for i in issues)
    # the same issues validate lists
    validated = await api.post("workflows", "validate", json_body={"definition": bad})
    assert validated.body["errors"] == issues
    for body in ([1], "text", {"definition": None}):
        not_a_workflow = await api.post("workflows", "graph", json_body=body)
        assert not_a_workflow.code == 400, (body, not_a_workflow.raw)
        assert not_a_workflow.error["code"] == "WORKFLOW_VALIDATION_ERROR"


async def test_body_errors(api):
    assert (await api.post("workflows", "graph")).code == 400
    broken = await api.post(
        "workflows", "graph", body="{", headers={"Content-Type": "application/json"}
    )
    assert broken.code == 400 and broken.error["code"] == "BAD_REQUEST"
    wrong = await api.post("workflows", "graph", body="{}", headers={"Content-Type": "text/x"})
    assert wrong.code == 415


async def test_unknown_ids_are_404(api):
    for workflow_id in (MISSING, "no-such-definition"):
        reply = await api.get("workflows", workflow_id, "graph")
        assert reply.code == 404, reply.raw
        assert reply.error["code"] == "NOT_FOUND"


async def test_without_credentials_both_routes_are_refused(api, jp_fetch):
    record = await save(api, LOOP)
    nobody = Api(jp_fetch, {"Authorization": "token nobody"})
    for reply in (
        await nobody.get("workflows", record["id"], "graph"),
        await nobody.post("workflows", "graph", json_body=LOOP),
    ):
        assert reply.code in (401, 403), reply.raw
        assert b"<svg" not in reply.raw


# -- safety -----------------------------------------------------------------------------------


async def test_markup_in_node_names_and_edge_names_is_text(api, workscript):
    registry = workscript["workflows"].registry
    if EVIL not in registry:
        registry.register(EvilNode)
    hostile = document(
        {EVIL: {f"{EVIL}?": {"log": {"message": "x"}}}},
        {"log": {"message": "y", "<img src=x onerror=alert(1)>?": EVIL}},
    )
    record = await save(api, hostile)
    for reply in (
        await api.unchecked().post("workflows", "graph", json_body=hostile),
        await api.unchecked().get("workflows", record["id"], "graph"),
    ):
        svg = svg_of(reply)
        raw_markup = "<script" in svg.lower() or "<img" in svg.lower()
        assert not raw_markup
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
        assert "&lt;img src=x onerror=alert(1)&gt;?" in svg
        assert "data-path='/workflow/0/&lt;script&gt;alert(1)&lt;~1script&gt;'" in svg
        # the only elements are the drawing's own
        tags = set(re.findall(r"<([a-zA-Z]+)", svg))
        assert tags <= {"svg", "defs", "marker", "path", "g", "rect", "text", "line", "title"}


async def test_a_huge_definition_draws_a_bounded_picture(api):
    """As many steps as a definition may have, with long names escaping swells: the answer
    stays under 700 KB and says how many steps it left out."""
    swelling = "'\"<>&" * 60
    edges = {f"{swelling}{n}?": [{"log": {"message": "m"}}] * 2 for n in range(10)}
    steps = [{"log": {"message": "x", **edges}} for _ in range(MAX_STEPS + 150)]
    huge = document(*steps, name="Huge")
    reply = await api.unchecked().post("workflows", "graph", json_body=huge)
    svg = svg_of(reply)
    assert len(reply.raw) < 700_000, len(reply.raw)
    hidden = int(re.search(r">… (\d+) more steps</text>", svg).group(1))
    assert hidden + len(step_paths(svg)) == MAX_STEPS + 150
    assert (">+2 more edges</text>" in svg) is True
    width = float(re.match(r"<svg [^>]*width='([\d.]+)'", svg).group(1))
    assert width < 1200, "edge names are clipped, so the picture stays narrow"
    plain = document(*[{f"$.v{n}": n} for n in range(MAX_STEPS + 5)], name="Plain")
    drawn = svg_of(await api.unchecked().post("workflows", "graph", json_body=plain))
    assert len(step_paths(drawn)) == MAX_STEPS
    assert ">… 5 more steps</text>" in drawn


class TestBodyLimit:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(workscript_db_url, max_request_body_mb=0.002)

    async def test_a_body_over_the_limit_is_413_as_for_validate(self, api):
        big = document(description="x" * 4000)
        for route in ("graph", "validate"):
            reply = await api.post("workflows", route, json_body={"definition": big})
            assert reply.code == 413, (route, reply.raw)
            assert reply.error["code"] == "PAYLOAD_TOO_LARGE"
        assert (await api.unchecked().post("workflows", "graph", json_body=document())).code == 200


# -- who may see what -----------------------------------------------------------------------


class TestTwoUsers(TwoUsers):
    async def test_somebody_elses_workflow_is_404(self, alice, bob):
        record = await save(alice, LOOP)
        assert svg_of(await alice.unchecked().get("workflows", record["id"], "graph"))
        for workflow_id in (record["id"], LOOP["id"]):
            reply = await bob.get("workflows", workflow_id, "graph")
            assert reply.code == 404, reply.raw
            assert reply.error["code"] == "NOT_FOUND"
            assert b"<svg" not in reply.raw


class TestKeys:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(workscript_db_url, **SECRETS)

    async def test_a_key_needs_workflow_read_for_a_stored_one_but_not_to_draw(self, api, jp_fetch):
        record = await save(api, LOOP)
        made = await api.post(
            "keys", json_body={"name": "runner", "permissions": ["execution:read"]}
        )
        assert made.code == 201, made.raw
        tool = Api(jp_fetch, {"Authorization": f"Bearer {made.body['key']}"})
        denied = await tool.get("workflows", record["id"], "graph")
        assert denied.code == 403, denied.raw
        assert "workflow:read" in denied.error["message"]
        assert svg_of(await tool.unchecked().post("workflows", "graph", json_body=LOOP))
        reader = await api.post(
            "keys", json_body={"name": "reader", "permissions": ["workflow:read"]}
        )
        reading = Api(jp_fetch, {"Authorization": f"Bearer {reader.body['key']}"})
        assert svg_of(await reading.unchecked().get("workflows", record["id"], "graph"))
