"""Plugins in a real Jupyter server: the example plugin (installed by pip, tests/test_plugins.py)
beside broken ones, on a shared server with two users.

What must hold: the example's node runs in a workflow, its route answers only signed-in callers
with the verb's permission and each user's own rows, its table was made at start
(``auto_migrate``), its start and stop hooks ran, and ``/workscript/plugins`` and
``/workscript/health`` show it; the plugins that raise on load, or bring a handler that is not
ours or is not decorated, are listed as failed and the server serves all the same.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from tornado.routing import URLSpec

from tests.test_plugins import FakeSite, example_site  # noqa: F401 - the session fixture
from workscript_jupyter.server.handlers.plugins import plugin_routes

from .conftest import WAIT_30, Api, document, server_config
from .identity import TwoUsersIdentityProvider, auth

pytestmark = pytest.mark.slow  # pip installs the example; each test starts a server

SECRETS = {"jwt_secret": "a" * 40, "jwt_refresh_secret": "b" * 40, "session_secret": "c" * 40}

HANDLERS = """
    from jupyter_server.auth.decorator import authorized
    from jupyter_server.base.handlers import APIHandler
    from tornado import web

    from workscript_jupyter.plugins import Plugin
    from workscript_jupyter.server.handlers.plugins import PluginHandler

    class Foreign(APIHandler):  # authenticated, but not a workscript handler
        auth_resource = "workscript:plugins"
        permissions = {"GET": None}

        @web.authenticated
        @authorized
        async def get(self):
            self.finish("{}")

    class Loose(PluginHandler):  # a workscript handler whose verb is not decorated
        permissions = {"GET": None}

        async def get(self):
            self.finish("{}")

    class Unlisted(PluginHandler):  # a verb without a declared permission
        permissions = {"GET": None}

        @web.authenticated
        @authorized
        async def delete(self):
            self.finish("{}")

    class Escaping(PluginHandler):
        permissions = {"GET": None}

        @web.authenticated
        @authorized
        async def get(self):
            self.write_json({"escaped": True})

    foreign = Plugin(name="foreign", routes=(("x", Foreign),))
    loose = Plugin(name="loose", routes=(("x", Loose),))
    unlisted = Plugin(name="unlisted", routes=(("x", Unlisted),))
    # an alternation must not reach outside /workscript/plugins/escape/
    escape = Plugin(name="escape", routes=(("x|/workscript/nodes", Escaping),))
"""


@pytest.fixture
def plugin_sites(example_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.syspath_prepend(str(example_site))
    site = FakeSite(tmp_path / "site")
    site.path.mkdir()
    monkeypatch.syspath_prepend(str(site.path))
    site.add("explodes", {"explodes": ":plugin"}, "raise ImportError('no module named gone')\n")
    names = ("foreign", "loose", "unlisted", "escape")
    site.add("handlers", {name: f":{name}" for name in names}, HANDLERS)


@pytest.fixture
def stop_file(tmp_path: Path) -> Path:
    return tmp_path / "stopped.log"


@pytest.fixture
def jp_server_config(workscript_db_url: str, plugin_sites: None, stop_file: Path):
    return server_config(
        workscript_db_url,
        server={"identity_provider_class": TwoUsersIdentityProvider},
        single_user=False,
        admin_users=[],
        plugin_settings={"example": {"stop_file": str(stop_file)}},
        **SECRETS,
    )


@pytest.fixture
def alice(jp_fetch: Any, workscript: dict[str, Any]) -> Api:
    return Api(jp_fetch, auth("alice"))


@pytest.fixture
def bob(jp_fetch: Any, workscript: dict[str, Any]) -> Api:
    return Api(jp_fetch, auth("bob"))


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {plugin["name"]: plugin for plugin in body["plugins"]}


async def test_plugins_are_listed_with_their_status_and_health(alice: Api) -> None:
    reply = await alice.get("plugins")  # checked against the OpenAPI document
    assert reply.code == 200, reply.raw
    plugins = by_name(reply.body)
    example = plugins["example"]
    assert example == {
        "name": "example",
        "version": "0.1.0",
        "description": "Greetings: a node, a route and a table of its own.",
        "status": "loaded",
        "error": None,
        "nodes": ["example-greet"],
        "routes": ["/workscript/plugins/example/greetings"],
        "migrations": ["example_0001"],
        "health": {"name": "example", "status": "ok", "greetings": 1},  # on_start's row
    }
    assert plugins["explodes"]["status"] == "failed"
    assert plugins["explodes"]["error"] == "ImportError: no module named gone"
    assert (
        "must subclass workscript_jupyter.server.handlers.plugins.PluginHandler"
        in (plugins["foreign"]["error"])
    )
    assert "must be decorated @web.authenticated then @authorized" in plugins["loose"]["error"]
    assert "permissions has no entry for DELETE" in plugins["unlisted"]["error"]
    failed = {name for name, plugin in plugins.items() if plugin["status"] == "failed"}
    assert failed == {"explodes", "foreign", "loose", "unlisted"}
    assert plugins["escape"]["status"] == "loaded"


async def test_the_server_serves_despite_the_broken_plugins(alice: Api, workscript) -> None:
    nodes = await alice.get("nodes")
    assert nodes.code == 200
    assert "example-greet" in {node["id"] for node in nodes.body["nodes"]}
    for name in ("foreign", "loose", "unlisted"):  # refused: not mounted, the JSON 404
        assert (await alice.get("plugins", name, "x")).code == 404
    assert "plugin_example_greetings" in inspect(workscript["engine"]).get_table_names()


async def test_a_route_pattern_cannot_reach_outside_its_prefix(alice: Api, workscript) -> None:
    nodes = await alice.get("nodes")
    assert "nodes" in nodes.body, nodes.raw  # the catalogue, not the plugin's answer
    inside = await alice.get("plugins", "escape", "x")
    assert inside.body == {"escaped": True}
    (pattern, *_), *_ = [r for r in plugin_routes(workscript["plugins"]) if "escape" in r[0]]
    assert URLSpec(pattern, object).regex.match("/workscript/nodes") is None


async def test_the_example_node_runs_in_a_workflow(alice: Api) -> None:
    body = document({"example-greet": {"name": "Ada"}})
    saved = await alice.post("workflows", json_body={"definition": body})
    assert saved.code == 201, saved.raw
    run = await alice.post("workflows", saved.body["id"], "run", json_body=WAIT_30)
    assert run.code in (200, 202), run.raw
    final = await alice.wait_for_status(run.body["id"], {"completed", "failed"})
    assert final["status"] == "completed", final
    assert final["finalState"]["greeting"] == "Hello, Ada!"


async def test_the_example_route_is_guarded_and_scoped(alice: Api, bob: Api, jp_fetch: Any) -> None:
    path = ("plugins", "example", "greetings")
    nobody = Api(jp_fetch, {"Authorization": ""})
    assert (await nobody.get(*path)).code in (401, 403)
    assert (await nobody.post(*path, json_body={"text": "hi"})).code in (401, 403)

    added = await alice.post(*path, json_body={"text": "hi from alice"})
    assert added.code == 201, added.raw
    mine = [g["text"] for g in (await alice.get(*path)).body["greetings"]]
    assert mine == ["hi from alice", "hello from on_start"]
    theirs = [g["text"] for g in (await bob.get(*path)).body["greetings"]]
    assert theirs == ["hello from on_start"]  # not alice's

    for bad in ({}, {"text": ""}, {"text": "x" * 201}, {"text": 3}):
        refused = await alice.post(*path, json_body=bad)
        assert (refused.code, refused.error["details"]) == (400, {"field": "text"}), bad
    assert (await alice.post(*path, body="[", headers={"Content-Type": "text/plain"})).code == 415


async def test_a_key_without_the_verbs_permission_is_refused(alice: Api, jp_fetch: Any) -> None:
    made = await alice.post("keys", json_body={"name": "ro", "permissions": ["workflow:read"]})
    assert made.code == 201, made.raw
    tool = Api(jp_fetch, {"X-API-Key": made.body["key"], "Authorization": ""})
    assert (await tool.get("plugins", "example", "greetings")).code == 200  # GET: anyone in
    refused = await tool.post("plugins", "example", "greetings", json_body={"text": "hi"})
    assert refused.code == 403, refused.raw  # POST needs resource:create


async def test_health_has_a_plugins_part(alice: Api) -> None:
    reply = await alice.get("health")
    assert reply.code == 503, reply.raw  # four plugins failed: degraded
    assert reply.body["status"] == "degraded"
    part = reply.body["checks"]["plugins"]
    assert part["ok"] is False
    assert part["reason"] == "plugins not ok: explodes, foreign, loose, unlisted"
    statuses = {p["name"]: p["status"] for p in part["plugins"]}
    assert statuses["example"] == "ok" and statuses["explodes"] == "down"


async def test_the_stop_hook_runs_when_the_server_stops(
    alice: Api, jp_serverapp: Any, stop_file: Path
) -> None:
    assert (await alice.get("plugins")).code == 200
    assert not stop_file.exists()
    await jp_serverapp.extension_manager.stop_all_extensions()
    await jp_serverapp.extension_manager.stop_all_extensions()  # twice: on_stop runs once
    assert re.fullmatch(r"example plugin stopped at \S+\n", stop_file.read_text())


def test_a_handler_declaring_an_unknown_permission_is_refused() -> None:
    from jupyter_server.auth.decorator import authorized
    from tornado import web

    from workscript_jupyter.plugins import Plugin, PluginHost, PluginRecord
    from workscript_jupyter.server.handlers.plugins import PluginHandler, check_routes

    def handler(permission: Any) -> type:
        @web.authenticated
        @authorized
        async def get(self: Any) -> None:
            self.finish("{}")

        return type("H", (PluginHandler,), {"permissions": {"GET": permission}, "get": get})

    cases = {"fly": "workflow:fly", "list": ["workflow:read"], "public": "public", "ok": None}
    records = [
        PluginRecord(name=name, plugin=Plugin(name=name, routes=(("x", handler(permission)),)))
        for name, permission in cases.items()
    ]
    check_routes(PluginHost(records))
    assert [record.status for record in records] == ["failed", "failed", "failed", "loaded"]
    assert "neither None (any signed-in caller) nor a workscript permission" in records[1].error
    assert records[3].routes == ["/workscript/plugins/ok/x"]
