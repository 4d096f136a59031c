from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tornado.httpclient import HTTPClientError

from workscript_jupyter import __version__


async def test_health_answers_for_an_authenticated_user(jp_fetch, workscript):
    # `workscript`: the extension started, as a running server has it (the health checks the
    # worker pool, which takes runs only once the extension has started)
    response = await jp_fetch("workscript", "health")
    assert response.code == 200
    body = json.loads(response.body)
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["role"] == "local"
    assert body["nodes"] >= 10
    assert body["user"]["admin"] is True  # a single-user server's owner
    assert body["user"]["id"] and body["user"]["username"]


async def test_health_refuses_a_request_without_credentials(jp_fetch):
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("workscript", "health", headers={"Authorization": ""})
    assert caught.value.code in (401, 403)


async def test_health_refuses_a_wrong_token(jp_fetch):
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("workscript", "health", headers={"Authorization": "token not-the-token"})
    assert caught.value.code in (401, 403)


# The auth of every route and verb: tests/server/test_auth_coverage.py


def test_extension_is_listed_as_ok():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_server.extension.serverextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    text = out.stdout + out.stderr
    assert "workscript_jupyter" in text
    line = next(line for line in text.splitlines() if "workscript_jupyter" in line and "OK" in line)
    assert __version__ in line


async def test_the_server_opens_a_migrated_store_and_prunes(jp_serverapp):
    from workscript_jupyter.store.sql import SqlStore

    extension = jp_serverapp.web_app.settings["workscript"]
    assert isinstance(extension["store"], SqlStore)
    user = extension["store"].users.create("probe")  # the schema is there: migrated at start
    assert extension["store"].users.get(user.id).username == "probe"
    app = next(
        a
        for a in jp_serverapp.extension_manager.extension_apps["workscript_jupyter"]
        if a.name == "workscript"
    )
    await jp_serverapp.extension_manager.start_all_extensions()  # what a started server does
    assert app._pruner is not None and not app._pruner.done()
    await app.stop_extension()
    assert app._pruner is None
