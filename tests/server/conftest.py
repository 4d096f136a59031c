from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest

from .identity import TwoUsersIdentityProvider, auth


@pytest.fixture
def workscript_db_url(tmp_path) -> str:
    """A fresh SQLite store per test: the server never touches the user's real data dir."""
    return f"sqlite:///{tmp_path / 'workscript-db' / 'workscript.sqlite'}"


def server_config(db_url: str, *, server: dict[str, Any] | None = None, **workscript: Any):
    """The extension enabled, every handler required to declare its auth rule, the store at
    ``db_url``; ``server`` adds ServerApp traits, ``workscript`` WorkscriptApp traits. No warm
    kernels unless asked: most server tests run no notebook."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"workscript_jupyter": True},
            "allow_unauthenticated_access": False,
            **(server or {}),
        },
        "WorkscriptApp": {"db_url": db_url, "kernel_pool_size": 0, **workscript},
    }


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(workscript_db_url)


@pytest.fixture
def workscript(jp_serverapp, jp_asyncio_loop) -> dict[str, Any]:
    """The extension started as a running server starts it (service workers, hub, pruner).

    pytest-jupyter builds the server without ``_post_start``; its cleanup stops the extensions.
    """
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_all_extensions())
    return jp_serverapp.web_app.settings["workscript"]


@dataclass
class Reply:
    code: int
    headers: Any
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def error(self) -> dict[str, Any]:
        return self.body["error"]


class Api:
    """``await api.post("workflows", json={...})`` → Reply, whatever the status."""

    def __init__(
        self, jp_fetch: Any, headers: dict[str, str] | None = None, *, check_spec: bool = True
    ) -> None:
        self._fetch = jp_fetch
        self._headers = headers or {}
        self._check_spec = check_spec

    def as_user(self, headers: dict[str, str]) -> Api:
        return Api(self._fetch, headers, check_spec=self._check_spec)

    def unchecked(self) -> Api:
        """For the tests of responses the API never gives on purpose (an unmapped 500)."""
        return Api(self._fetch, self._headers, check_spec=False)

    async def call(
        self,
        method: str,
        *parts: str,
        json_body: Any = None,
        body: str | bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {**self._headers, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = ""
        response = await self._fetch(
            "workscript",
            *parts,
            method=method,
            body=body,
            params=params,
            headers=all_headers,
            raise_error=False,
            allow_nonstandard_methods=True,
        )
        reply = Reply(response.code, response.headers, response.body or b"")
        if self._check_spec:
            _check_against_spec(method, "/workscript/" + "/".join(parts), reply)
        return reply

    async def get(self, *parts: str, **kwargs: Any) -> Reply:
        return await self.call("GET", *parts, **kwargs)

    async def post(self, *parts: str, **kwargs: Any) -> Reply:
        return await self.call("POST", *parts, **kwargs)

    async def put(self, *parts: str, **kwargs: Any) -> Reply:
        return await self.call("PUT", *parts, **kwargs)

    async def delete(self, *parts: str, **kwargs: Any) -> Reply:
        return await self.call("DELETE", *parts, **kwargs)

    async def wait_for_status(
        self, execution_id: str, statuses: set[str], timeout: float = 15.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            reply = await self.get("executions", execution_id)
            assert reply.code == 200, reply.raw
            if reply.body["status"] in statuses:
                return reply.body
            if time.monotonic() > deadline:
                raise AssertionError(f"run still {reply.body['status']}, wanted {statuses}")
            await asyncio.sleep(0.05)


def _check_against_spec(method: str, path: str, reply: Reply) -> None:
    """Every response of the REST tests must match the OpenAPI document (status and body)."""
    from .openapi_check import check_response, find_operation

    try:
        find_operation(method, path)
    except AssertionError:
        return  # a route the API does not have (the tests of the catch-all 404)
    check_response(method, path, reply.code, reply.raw)


@pytest.fixture
def api(jp_fetch, workscript) -> Api:
    return Api(jp_fetch)


def document(*steps: Any, name: str = "Test flow", **extra: Any) -> dict[str, Any]:
    """A small valid workflow document. Its ``id`` (unless given) comes from its content, so
    different documents can be saved side by side (a definition id is unique per owner) and the
    same call gives the same document."""
    body = {
        "name": name,
        "version": "1.0.0",
        "initialState": {"who": "world"},
        "workflow": list(steps) or [{"$.greeting": "hello {{$.who}}"}],
        **extra,
    }
    if "id" not in body:
        digest = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]
        body = {"id": f"test-flow-{digest}", **body}
    return body


WAIT_30 = {"wait": {"seconds": 30}}


class TwoUsers:
    """A base for test classes on a shared server with two users, alice and bob, neither an
    admin: its fixtures configure the server and give each an ``Api``."""

    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        two_users = {"identity_provider_class": TwoUsersIdentityProvider}
        return server_config(workscript_db_url, server=two_users, single_user=False, admin_users=[])

    @pytest.fixture
    def alice(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, auth("alice"))

    @pytest.fixture
    def bob(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, auth("bob"))
