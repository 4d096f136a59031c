"""The client role in a real Jupyter server, without a hub: what it holds, how it finds its role,
what it refuses. Forwarding through a real hub is tests/hub/test_hub_users.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from workscript_jupyter.errors import ConfigurationError
from workscript_jupyter.server.client_role import ClientSettings, detect_role

from .conftest import server_config

SERVICE_URL = "http://127.0.0.1:9"  # the discard port: nothing answers there


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(workscript_db_url, role="client", service_url=SERVICE_URL)


async def call(jp_fetch: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    try:
        reply = await jp_fetch(
            *path.split("/"),
            method=method,
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
        )
    except HTTPClientError as error:
        assert error.response is not None
        return error.code, json.loads(error.response.body or b"null")
    return reply.code, json.loads(reply.body or b"null")


def test_a_client_holds_no_store_no_scheduler_and_opens_no_database(
    workscript: dict[str, Any], workscript_db_url: str
) -> None:
    assert workscript["role"] == "client"
    assert {"store", "scheduler", "service", "engine"}.isdisjoint(workscript)
    assert not Path(workscript_db_url.removeprefix("sqlite:///")).exists()


async def test_a_request_without_a_hub_token_is_refused_with_a_reason(
    jp_fetch: Any, workscript: dict[str, Any]
) -> None:
    code, body = await call(jp_fetch, "GET", "workscript/workflows")
    assert code == 401
    assert "hub token" in body["message"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"path": "../outside.ipynb"}, "NOTEBOOK_PATH_ERROR"),
        ({"path": ""}, "path: expected a non-empty string"),
        ({"path": "x.ipynb", "timeout": -1}, "timeout: expected seconds"),
        ({"path": "x.ipynb", "parameters": [1]}, "parameters: expected an object"),
        ([1, 2], "the body must be a JSON object"),
    ],
)
async def test_a_bad_notebook_step_is_a_400_naming_the_field(
    jp_fetch: Any, workscript: dict[str, Any], body: Any, expected: str
) -> None:
    code, answer = await call(jp_fetch, "POST", "workscript/client/notebook-runs", body)
    assert code == 400, answer
    assert expected in json.dumps(answer), answer


async def test_a_bad_python_step_is_a_400(jp_fetch: Any, workscript: dict[str, Any]) -> None:
    code, answer = await call(
        jp_fetch, "POST", "workscript/client/python-runs", {"runKey": "k", "code": 1, "state": {}}
    )
    assert code == 400 and "code: expected a string" in answer["message"], answer


@pytest.mark.parametrize(
    ("environ", "role"),
    [
        ({}, "local"),
        ({"WORKSCRIPT_ROLE": "service"}, "service"),
        ({"JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_USER": "alice"}, "local"),
        (
            {"JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_USER": "a", "WORKSCRIPT_SERVICE_URL": "u"},
            "client",
        ),
        (
            {
                "JUPYTERHUB_API_TOKEN": "t",
                "JUPYTERHUB_USER": "a",
                "JUPYTERHUB_SERVICE_NAME": "workscript",
                "WORKSCRIPT_SERVICE_URL": "u",
            },
            "local",  # the service itself: its role comes from its command line
        ),
    ],
)
def test_the_role_comes_from_the_hubs_environment(environ: dict[str, str], role: str) -> None:
    assert detect_role(environ) == role


def test_the_service_url_is_checked_and_the_prefix_follows_the_hubs_base_url() -> None:
    settings = ClientSettings.from_environ(
        {"WORKSCRIPT_SERVICE_URL": "http://svc:10101/", "JUPYTERHUB_BASE_URL": "/jhub/"}
    )
    assert settings.target("workflows", "a=1") == (
        "http://svc:10101/jhub/services/workscript/workscript/workflows?a=1"
    )
    assert settings.ws_target("ws").startswith("ws://svc:10101/jhub/services/workscript/")
    with pytest.raises(ConfigurationError, match="WORKSCRIPT_SERVICE_URL"):
        ClientSettings.from_environ({"WORKSCRIPT_SERVICE_URL": "svc:10101"})
