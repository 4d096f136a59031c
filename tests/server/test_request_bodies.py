"""What comes in over HTTP (issue 13, items 3 and 4), through a real server on 127.0.0.1.

- a body over the limit is a 413 from its ``Content-Length``, before it is sent; a chunked one
  as soon as it crosses the limit (raw sockets: the test sends only part of the body and waits
  for the answer, which would never come if the server waited for the rest);
- the public webhook has its own, smaller limit;
- a 10,000-deep body and a ``NaN`` are 400s naming the position, on an authenticated route and
  on the webhook;
- a run whose state holds NaN/Infinity is answered and stored as valid JSON (``null``);
- a store failure reaches the client without a host, a port, a path or the driver's words.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from .conftest import Api, document, server_config
from .openapi_check import check_response

REST_LIMIT = 50 * 1024  # max_request_body_mb below
HOOK_LIMIT = 10 * 1024  # max_webhook_body_mb below
ANSWER_TIMEOUT = 30  # generous: only reached when the server waits for a body it should refuse


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(
        workscript_db_url,
        max_request_body_mb=REST_LIMIT / (1024 * 1024),
        max_webhook_body_mb=HOOK_LIMIT / (1024 * 1024),
    )


@pytest.fixture
def api(jp_fetch, workscript) -> Api:
    return Api(jp_fetch)


async def _webhook_token(api: Api) -> str:
    created = await api.post("workflows", json_body={"definition": document()})
    assert created.code == 201, created.raw
    body = {"name": "hook", "workflowId": created.body["id"], "triggerType": "webhook"}
    reply = await api.post("automations", json_body=body)
    assert reply.code == 201, reply.raw
    return str(reply.body["webhookToken"])


class Raw:
    """One HTTP/1.1 request over a plain socket, the body sent (or not) by hand."""

    def __init__(self, port: int, base_url: str, auth: dict[str, str]) -> None:
        self.port = port
        self.base_url = base_url.rstrip("/")
        self.auth = auth

    async def send(
        self,
        path: str,
        *,
        headers: dict[str, str],
        body: bytes = b"",
        authenticated: bool = True,
    ) -> tuple[int, dict[str, Any]]:
        """Send the head and ``body`` (only part of it, when the head declares more), then
        read the answer: (status, JSON body)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            lines = [f"POST {self.base_url}{path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
            every = {**(self.auth if authenticated else {}), **headers}
            lines += [f"{name}: {value}" for name, value in every.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), ANSWER_TIMEOUT)
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            raw = await asyncio.wait_for(reader.readexactly(length), ANSWER_TIMEOUT)
            return status, json.loads(raw) if raw else {}
        finally:
            writer.close()


@pytest.fixture
def raw(http_server_client, jp_http_port, jp_base_url, jp_auth_header, workscript) -> Raw:
    """(``http_server_client`` makes the server accept on ``jp_http_port``.)"""
    return Raw(jp_http_port, jp_base_url, dict(jp_auth_header))


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# -- size, before the body is held --------------------------------------------------------------


async def test_a_declared_length_over_the_limit_is_413_before_the_body_is_sent(raw, api):
    json_type = {"Content-Type": "application/json"}
    fifty_mb = str(50 * 1024 * 1024)
    status, body = await raw.send(
        "/workscript/workflows", headers={**json_type, "Content-Length": fifty_mb}, body=b"{"
    )
    assert status == 413, body
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert body["error"]["message"] == (
        f"the request body is {fifty_mb} bytes; the limit is {REST_LIMIT} bytes"
    )
    check_response("POST", "/workscript/workflows", status, json.dumps(body).encode())

    token = await _webhook_token(api)
    status, body = await raw.send(
        f"/workscript/hooks/{token}",
        headers={**json_type, "Content-Length": fifty_mb},
        authenticated=False,
    )
    assert status == 413, body
    assert body["error"]["message"].endswith(f"the limit is {HOOK_LIMIT} bytes")


async def test_the_webhook_has_its_own_smaller_limit(raw, api):
    token = await _webhook_token(api)
    payload = json.dumps({"blob": "x" * (HOOK_LIMIT + 100)}).encode()
    assert HOOK_LIMIT < len(payload) < REST_LIMIT
    headers = {"Content-Type": "application/json", "Content-Length": str(len(payload))}
    status, body = await raw.send(
        f"/workscript/hooks/{token}", headers=headers, body=payload, authenticated=False
    )
    assert status == 413, body
    # the same size is read on an authenticated route (and found no valid workflow)
    status, body = await raw.send("/workscript/workflows/validate", headers=headers, body=payload)
    assert status == 200, body
    assert body["valid"] is False


@pytest.mark.parametrize("route", ["rest", "webhook"])
async def test_a_chunked_body_stops_at_the_limit(raw, api, route):
    """Two chunks that together cross the limit, and no end: the answer comes all the same."""
    if route == "rest":
        path, limit, authenticated = "/workscript/workflows", REST_LIMIT, True
    else:
        token = await _webhook_token(api)
        path, limit, authenticated = f"/workscript/hooks/{token}", HOOK_LIMIT, False
    half = b" " * (limit // 2 + 10)
    status, body = await raw.send(
        path,
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        body=_chunk(b"{" + half) + _chunk(half),
        authenticated=authenticated,
    )
    assert status == 413, body
    assert body["error"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": f"the request body is longer than that; the limit is {limit} bytes",
        "details": {"limit": limit},
    }


async def test_a_chunked_body_under_the_limit_is_read(raw):
    definition = json.dumps({"definition": document()}).encode()
    status, body = await raw.send(
        "/workscript/workflows",
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        body=_chunk(definition[:20]) + _chunk(definition[20:]) + b"0\r\n\r\n",
    )
    assert status == 201, body
    assert body["definition"] == document()


# -- deep or odd JSON ---------------------------------------------------------------------------


async def test_deep_json_is_a_400_with_the_position(api):
    deep = "[" * 10_000 + "]" * 10_000
    reply = await api.post("workflows", body=deep, headers={"Content-Type": "application/json"})
    assert reply.code == 400, reply.raw
    assert reply.error == {
        "code": "BAD_REQUEST",
        "message": "the body: nested more than 128 levels deep at line 1 column 129 (char 128)",
        "details": {"line": 1, "column": 129, "position": 128},
    }
    # 128 levels are fine (a 400 for what the body is, not for its depth)
    ok = await api.post(
        "workflows", body="[" * 128 + "]" * 128, headers={"Content-Type": "application/json"}
    )
    assert ok.code == 400 and "must be a JSON object" in ok.error["message"]


async def test_deep_json_and_nan_on_the_webhook(api, raw):
    token = await _webhook_token(api)
    for sent, where in [
        ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", 133),
        ('{"ratio": NaN}', 10),
        ('{"big": 1e400}', 8),
    ]:
        payload = sent.encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(payload))}
        status, body = await raw.send(
            f"/workscript/hooks/{token}", headers=headers, body=payload, authenticated=False
        )
        assert status == 400, (sent[:20], body)
        assert body["error"]["details"]["position"] == where, body


async def test_nan_in_a_body_is_refused_at_the_door(api):
    reply = await api.post(
        "workflows/validate",
        body='{"definition": {"initialState": {"x": -Infinity}}}',
        headers={"Content-Type": "application/json"},
    )
    assert reply.code == 400, reply.raw
    assert reply.error["message"].startswith("the body: -Infinity is not a JSON number")
    assert reply.error["details"] == {"line": 1, "column": 39, "position": 38}


def _strict_json(raw: bytes) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in an answer: {raw[:300]!r}")

    return json.loads(raw, parse_constant=refuse)


async def test_a_state_with_nan_is_answered_and_stored_as_null(api):
    definition = document(
        {"math": {"operation": "multiply", "values": [1e308, 10]}},  # Infinity
        {"$.inf": "$.mathResult"},
        {"math": {"operation": "subtract", "values": ["$.inf", "$.inf"]}},  # NaN
        {"$.nan": "$.mathResult"},
    )
    reply = await api.post("workflows", "run", json_body={"definition": definition})
    assert reply.code == 200, reply.raw
    answered = _strict_json(reply.raw)
    assert answered["status"] == "completed", answered
    assert answered["finalState"]["inf"] is None and answered["finalState"]["nan"] is None
    stored = await api.get("executions", answered["executionId"])
    assert stored.code == 200
    state = _strict_json(stored.raw)["finalState"]
    assert state["inf"] is None and state["nan"] is None


# -- errors that leak ---------------------------------------------------------------------------


async def test_a_store_failure_names_no_host_path_or_driver(api, workscript_db_url):
    created = await api.post("workflows", json_body={"definition": document()})
    assert created.code == 201
    broken = create_engine(workscript_db_url)  # the server's own SQLite file, under /tmp
    with broken.begin() as connection:
        connection.execute(text("DROP TABLE workflows"))
    broken.dispose()
    reply = await api.get("workflows")
    assert reply.code == 503, reply.raw
    assert reply.error == {
        "code": "STORE_UNAVAILABLE",
        "message": "the workscript store is unavailable; try again later",
        "details": None,
    }
    text_sent = reply.raw.decode()
    for secret in ("/tmp", "sqlite", "workflows", "no such table", "127.0.0.1"):
        assert secret not in text_sent


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("[" * 10_000 + "]" * 10_000, "the message: nested more than 128 levels deep at line 1"),
        ('{"type": "ping", "x": NaN}', "the message: NaN is not a JSON number"),
    ],
)
def test_a_deep_or_odd_websocket_message_is_an_error_frame(raw, fragment):
    from .test_websocket import caller, connect, settle, with_hub

    async def test(bus, service, hub):
        client, socket = await connect(hub, caller("alice"))
        await hub.handle(client, raw)
        await hub.handle(client, '{"type": "ping"}')
        await settle()
        assert socket.types() == ["error", "pong"]
        assert fragment in socket.received[0]["payload"]["message"]
        assert client in hub.clients

    with_hub(test)
