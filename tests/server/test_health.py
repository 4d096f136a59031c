from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
from tornado.httpclient import HTTPClientError

from workscript_jupyter import __version__


async def test_health_answers_for_an_authenticated_user(jp_fetch):
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


async def test_every_workscript_handler_declares_auth(jp_serverapp):
    """Each handler of the extension has an auth resource and authenticated, authorized verbs."""
    from workscript_jupyter.server.app import WorkscriptApp

    app = WorkscriptApp()
    app.initialize_handlers()
    assert app.handlers, "the extension registers no handler"
    exempt = []
    for _pattern, handler, *_ in app.handlers:
        assert getattr(handler, "auth_resource", "").startswith("workscript:"), handler
        open_verbs = []
        for verb in ("get", "post", "put", "patch", "delete"):
            method = handler.__dict__.get(verb)
            if method is None:
                continue
            # jupyter_server marks decorated methods; an undecorated verb would be flagged at
            # start-up by allow_unauthenticated_access=False (a warning this suite makes an error)
            if getattr(method, "__allow_unauthenticated", None) is True:
                open_verbs.append(verb)
        if open_verbs:
            # the only way to skip Jupyter's login: say why, on the handler
            assert isinstance(getattr(handler, "auth_exempt", None), str), (handler, open_verbs)
            exempt.append((handler.__name__, open_verbs))
    assert exempt == [("WebhookHandler", ["post"])], "only the webhook receiver skips the login"


def test_no_auth_warning_at_start(jp_serverapp):
    """pyproject turns JupyterServerAuthWarning into an error; starting the app must not warn."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        jp_serverapp.web_app  # noqa: B018 - the app and its handlers are built by the fixture
    assert not [w for w in seen if "auth" in str(w.message).lower()]


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
