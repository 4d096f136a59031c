from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest


@pytest.fixture
def workscript_db_url(tmp_path) -> str:
    """A fresh SQLite store per test: the server never touches the user's real data dir."""
    return f"sqlite:///{tmp_path / 'workscript-db' / 'workscript.sqlite'}"


@pytest.fixture
def jp_server_config(workscript_db_url):
    """The extension enabled, every handler required to declare its auth rule, a temporary store."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"workscript_jupyter": True},
            "allow_unauthenticated_access": False,
        },
        "WorkscriptApp": {"db_url": workscript_db_url},
    }


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

    def __init__(self, jp_fetch: Any, headers: dict[str, str] | None = None) -> None:
        self._fetch = jp_fetch
        self._headers = headers or {}

    def as_user(self, headers: dict[str, str]) -> Api:
        return Api(self._fetch, headers)

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
        return Reply(response.code, response.headers, response.body or b"")

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


@pytest.fixture
def api(jp_fetch, workscript) -> Api:
    return Api(jp_fetch)


def document(*steps: Any, name: str = "Test flow", **extra: Any) -> dict[str, Any]:
    """A small valid workflow document."""
    return {
        "id": "test-flow",
        "name": name,
        "version": "1.0.0",
        "initialState": {"who": "world"},
        "workflow": list(steps) or [{"$.greeting": "hello {{$.who}}"}],
        **extra,
    }


WAIT_30 = {"wait": {"seconds": 30}}
