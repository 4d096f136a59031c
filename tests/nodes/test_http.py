"""fetchApi against a real HTTP server on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from workscript_jupyter.engine import Edge, NodeContext, Services
from workscript_jupyter.nodes.http import (
    MAX_RESPONSE_BYTES,
    FetchApiNode,
    HostNotAllowed,
    check_host,
)

BIG = MAX_RESPONSE_BYTES + 1024


class Handler(BaseHTTPRequestHandler):
    """Routes: /users/<id>, /echo, /text, /status/<code>, /slow, /redirect?to=, /big..."""

    seen: list[str]

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            # the client may refuse a body over the cap and hang up
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    def _json(self, status: int, value: Any, **headers: str) -> None:
        self._send(status, json.dumps(value).encode(), "application/json", **headers)

    def _handle(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if parts[0] == "users":
            self._json(200, {"id": int(parts[1]), "name": f"user{parts[1]}"})
        elif parts[0] == "echo":
            self._json(
                200,
                {
                    "method": self.command,
                    "contentType": self.headers.get("Content-Type"),
                    "custom": self.headers.get("X-Custom"),
                    "body": body,
                },
            )
        elif parts[0] == "text":
            self._send(200, "plain text: ünïcode".encode(), "text/plain; charset=utf-8")
        elif parts[0] == "notjson":
            self._send(200, b"<html>hi</html>", "text/html")
        elif parts[0] == "empty":
            self._send(204, b"", "text/plain")
        elif parts[0] == "binary":
            self._send(200, bytes([0, 1, 2, 255]), "application/octet-stream")
        elif parts[0] == "status":
            self._json(int(parts[1]), {"code": int(parts[1])})
        elif parts[0] == "cookie":
            self._json(200, {"ok": True}, Set_Cookie="session=s3cr3t; HttpOnly")
        elif parts[0] == "slow":
            time.sleep(1.0)
            self._json(200, {"slow": True})
        elif parts[0] == "redirect":
            target = parse_qs(url.query)["to"][0]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts[0] == "big":
            self._send(200, b"x" * BIG, "text/plain")
        elif parts[0] == "big-unsized":  # no Content-Length: the body ends when the socket closes
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"y" * (1024 * 1024)
            try:
                for _ in range(BIG // len(chunk) + 1):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stops reading at the cap and hangs up: expected
        else:
            self._json(404, {"error": "no route"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class Server:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.seen = []  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def seen(self) -> list[str]:
        return self.httpd.seen  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture(autouse=True)
def _fresh_log(request: pytest.FixtureRequest) -> None:
    if "server" in request.fixturenames:
        request.getfixturevalue("server").seen.clear()


def call(params: dict[str, Any], services: Services | None = None) -> tuple[Edge, dict[str, Any]]:
    state: dict[str, Any] = {}
    ctx = NodeContext(
        state,
        node_id="fetchApi",
        node_type="fetchApi",
        node_path="/workflow/0/fetchApi",
        services=services,
    )
    edge = asyncio.run(FetchApiNode().execute(ctx, params))
    assert edge is not None
    return edge, state


# -- success and bodies -------------------------------------------------------------------------


def test_get_json_writes_response_status_headers(server):
    edge, state = call({"url": f"{server.base}/users/7"})
    assert edge.name == "success"
    assert edge.data["data"] == {"id": 7, "name": "user7"}
    assert edge.data["status"] == 200
    assert edge.data["statusText"] == "OK"
    assert edge.data["url"] == f"{server.base}/users/7"
    assert edge.data["redirected"] is False
    assert state["fetchResponse"] == {"id": 7, "name": "user7"}
    assert state["fetchStatus"] == 200
    assert state["fetchHeaders"]["content-type"] == "application/json"
    assert set(state) == {"fetchResponse", "fetchStatus", "fetchHeaders"}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "post"])
def test_object_body_is_sent_as_json(server, method):
    edge, _ = call(
        {
            "url": f"{server.base}/echo",
            "method": method,
            "body": {"name": "Ann", "tags": [1, 2]},
            "headers": {"X-Custom": "yes"},
        }
    )
    echoed = edge.data["data"]
    assert echoed["method"] == method.upper()
    assert echoed["contentType"] == "application/json"
    assert json.loads(echoed["body"]) == {"name": "Ann", "tags": [1, 2]}
    assert echoed["custom"] == "yes"


def test_string_body_is_sent_as_is_with_the_given_content_type(server):
    edge, _ = call(
        {
            "url": f"{server.base}/echo",
            "method": "POST",
            "body": "a=1&b=2",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        }
    )
    assert edge.data["data"]["body"] == "a=1&b=2"
    assert edge.data["data"]["contentType"] == "application/x-www-form-urlencoded"


def test_body_is_not_sent_with_get_or_delete(server):
    for method in ("GET", "DELETE"):
        edge, _ = call({"url": f"{server.base}/echo", "method": method, "body": {"x": 1}})
        assert edge.data["data"] == {
            "method": method,
            "contentType": None,
            "custom": None,
            "body": "",
        }


def test_head_and_options(server):
    edge, state = call({"url": f"{server.base}/users/1", "method": "HEAD"})
    assert (edge.name, state["fetchStatus"], state["fetchResponse"]) == ("success", 200, None)
    edge, _ = call({"url": f"{server.base}/echo", "method": "OPTIONS"})
    assert edge.data["data"]["method"] == "OPTIONS"


def test_response_types(server):
    edge, _ = call({"url": f"{server.base}/text", "responseType": "text"})
    assert edge.data["data"] == "plain text: ünïcode"
    edge, _ = call({"url": f"{server.base}/users/2", "responseType": "text"})
    assert edge.data["data"] == '{"id": 2, "name": "user2"}'
    edge, _ = call({"url": f"{server.base}/notjson"})
    assert edge.data["data"] == "<html>hi</html>", "json falls back to the text"
    edge, _ = call({"url": f"{server.base}/empty"})
    assert (edge.name, edge.data["status"], edge.data["data"]) == ("success", 204, None)
    for kind in ("blob", "arrayBuffer"):
        edge, _ = call({"url": f"{server.base}/binary", "responseType": kind})
        assert edge.data["data"] == "AAEC/w=="


# -- status edges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "edge_name", "text"),
    [
        (404, "clientError", "Not Found"),
        (422, "clientError", "Unprocessable Entity"),
        (500, "serverError", "Internal Server Error"),
        (503, "serverError", "Service Unavailable"),
    ],
)
def test_status_edges(server, code, edge_name, text):
    edge, state = call({"url": f"{server.base}/status/{code}"})
    assert edge.name == edge_name
    assert edge.data == {
        "error": f"HTTP {code}: {text}",
        "status": code,
        "statusText": text,
        "data": {"code": code},
        "url": f"{server.base}/status/{code}",
        "nodeId": "fetchApi",
    }
    assert state["fetchStatus"] == code
    assert state["fetchResponse"] == {"code": code}


def test_other_status_takes_error(server):
    edge, state = call({"url": f"{server.base}/status/304"})
    assert edge.name == "error"
    assert edge.data["error"] == "Unexpected HTTP status: 304"
    assert state["fetchStatus"] == 304


# -- failures -----------------------------------------------------------------------------------


def test_timeout(server):
    started = time.monotonic()
    edge, state = call({"url": f"{server.base}/slow", "timeout": 200})
    assert time.monotonic() - started < 0.9
    assert edge.name == "error"
    assert edge.data == {
        "error": "Request timeout after 200ms",
        "url": f"{server.base}/slow",
        "timeout": 200,
        "nodeId": "fetchApi",
    }
    assert state == {}


def test_services_timeout_is_the_default(server):
    edge, _ = call({"url": f"{server.base}/slow"}, Services(http_timeout_seconds=0.2))
    assert edge.data["error"] == "Request timeout after 200ms"


def test_connection_refused_is_an_error(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    edge, state = call({"url": f"http://127.0.0.1:{port}/x"})
    assert edge.name == "error"
    assert edge.data["errorType"] == "ConnectError"
    assert edge.data["url"] == f"http://127.0.0.1:{port}/x"
    assert state == {}


def test_response_over_the_cap_is_refused(server):
    for path in ("big", "big-unsized"):
        edge, state = call({"url": f"{server.base}/{path}", "responseType": "text"})
        assert edge.name == "error", path
        assert edge.data["errorType"] == "ResponseTooLarge"
        assert "larger than the 20 MB limit" in edge.data["error"]
        assert state == {}


# -- host policy --------------------------------------------------------------------------------


def test_denied_host_is_refused_before_any_request(server):
    edge, state = call({"url": f"{server.base}/users/1"}, Services(http_deny=("127.0.0.1",)))
    assert edge.name == "error"
    assert edge.data["errorType"] == "HostNotAllowed"
    assert 'host "127.0.0.1" is denied' in edge.data["error"]
    assert server.seen == []
    assert state == {}


def test_host_missing_from_the_allow_list_is_refused(server):
    edge, _ = call({"url": f"{server.base}/users/1"}, Services(http_allow=("example.com",)))
    assert edge.name == "error"
    assert "not in the HTTP allow list" in edge.data["error"]
    assert server.seen == []


def test_allowed_host_goes_through_and_deny_wins(server):
    edge, _ = call({"url": f"{server.base}/users/1"}, Services(http_allow=("127.0.0.1",)))
    assert edge.name == "success"
    both = Services(http_allow=("127.0.0.1",), http_deny=("127.0.0.0/8",))
    edge, _ = call({"url": f"{server.base}/users/1"}, both)
    assert edge.data["errorType"] == "HostNotAllowed"


def test_denied_address_also_refuses_names_and_odd_spellings_of_it(server):
    deny = Services(http_deny=("127.0.0.1",))
    for host in ("localhost", "2130706433", "127.1", "0x7f.0.0.1"):
        edge, _ = call({"url": f"http://{host}:{server.port}/users/1"}, deny)
        assert edge.data.get("errorType") == "HostNotAllowed", host
    assert server.seen == []


def test_redirect_is_followed_to_an_allowed_host(server):
    target = f"{server.base}/users/3"
    edge, _ = call({"url": f"{server.base}/redirect?to={target}"})
    assert edge.name == "success"
    assert edge.data["data"] == {"id": 3, "name": "user3"}
    assert edge.data["redirected"] is True
    assert edge.data["url"] == target


@pytest.mark.parametrize(
    "services",
    [Services(http_deny=("localhost",)), Services(http_allow=("127.0.0.1",))],
    ids=["deny", "allow"],
)
def test_redirect_to_a_refused_host_is_not_followed(server, services):
    target = f"http://localhost:{server.port}/users/9"
    edge, state = call({"url": f"{server.base}/redirect?to={target}"}, services)
    assert edge.name == "error"
    assert edge.data["errorType"] == "HostNotAllowed"
    assert 'host "localhost"' in edge.data["error"]
    assert server.seen == [f"GET /redirect?to={target}"], "the denied hop is never requested"
    assert state == {}


@pytest.mark.parametrize(
    ("host", "allow", "deny", "allowed"),
    [
        ("api.example.com", ("*.example.com",), (), True),
        ("a.b.example.com", ("*.example.com",), (), True),
        ("example.com", ("*.example.com",), (), False),
        ("evilexample.com", ("*.example.com",), (), False),
        ("EXAMPLE.com.", ("example.com",), (), True),
        ("example.org", (), ("*.example.com",), True),
        ("x.example.com", (), ("*.example.com",), False),
        ("10.1.2.3", (), ("10.0.0.0/8",), False),
        ("[::1]", (), ("::1",), False),
    ],
)
def test_host_patterns(host, allow, deny, allowed):
    url = httpx.URL(f"http://{host}/")
    if allowed:
        asyncio.run(check_host(url, allow, deny))
    else:
        with pytest.raises(HostNotAllowed):
            asyncio.run(check_host(url, allow, deny))


# -- no credentials in the state ----------------------------------------------------------------


def test_credentials_never_reach_the_state(server):
    edge, state = call(
        {
            "url": f"http://alice:pa55word@127.0.0.1:{server.port}/cookie",
            "headers": {"Authorization": "Bearer tok-123"},
        }
    )
    assert edge.name == "success"
    dumped = json.dumps([state, edge.data])
    for secret in ("pa55word", "tok-123", "s3cr3t"):
        assert secret not in dumped
    assert state["fetchHeaders"]["set-cookie"] == "[redacted]"
    assert edge.data["url"] == f"http://alice:***@127.0.0.1:{server.port}/cookie"


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "Missing required parameter: url"),
        ({"url": 5}, 'Parameter "url" must be a string'),
        ({"url": "not a url"}, 'Parameter "url" must be an absolute http'),
        ({"url": "file:///etc/passwd"}, 'Parameter "url" must be an absolute http'),
        ({"url": "http://x.test", "method": "FETCH"}, 'Parameter "method" must be one of'),
        ({"url": "http://x.test", "responseType": "xml"}, 'Parameter "responseType"'),
        ({"url": "http://x.test", "timeout": -1}, 'Parameter "timeout"'),
        ({"url": "http://x.test", "timeout": "5"}, 'Parameter "timeout"'),
        ({"url": "http://x.test", "headers": ["a"]}, 'Parameter "headers"'),
        ({"url": "http://x.test", "headers": {"X": "é"}}, 'Parameter "headers"'),
    ],
)
def test_bad_input_takes_the_error_edge(params, fragment):
    edge, state = call(params, Services(http_allow=("x.test",)))
    assert edge.name == "error"
    assert fragment in edge.data["error"]
    assert state == {}


# -- in a workflow ------------------------------------------------------------------------------


def test_iterate_fetch_collect(run, server, registry):
    """every-array-item over ids, fetchApi each, collect the answers, aggregate them.

    No node appends to a list, so each answer is appended to a JSON text with a state setter
    and the text parsed at the end (the trailing ``{}`` closes the list); ``aggregate`` then
    collects the names.
    """
    document = {
        "id": "fetch-all",
        "name": "Fetch every user",
        "version": "1.0.0",
        "initialState": {"ids": [4, 5, 6], "collected": ""},
        "workflow": [
            {
                "every-array-item...": {
                    "items": "$.ids",
                    "current-item?": [
                        {"fetchApi": {"url": f"{server.base}/users/{{{{$.currentItem}}}}"}},
                        {"$.collected": "{{$.collected}}{{$.fetchResponse}},"},
                    ],
                }
            },
            {"$.json": "[{{$.collected}}{}]"},
            {"transform": {"operation": "parse", "data": "$.json"}},
            {"$.items": "$.transformResult"},
            {
                "aggregate": {
                    "mode": "individual_fields",
                    "fields": [{"inputFieldName": "name", "outputFieldName": "names"}],
                }
            },
        ],
    }
    result = run(document, services=Services(http_allow=("127.0.0.1",)))
    assert result.status == "completed", result.error
    assert result.final_state["transformResult"] == [
        {"id": 4, "name": "user4"},
        {"id": 5, "name": "user5"},
        {"id": 6, "name": "user6"},
        {},
    ]
    assert result.final_state["aggregatedData"] == {"names": ["user4", "user5", "user6"]}
    assert server.seen == ["GET /users/4", "GET /users/5", "GET /users/6"]


def test_example_runs_against_a_local_server(run, server):
    """The catalogue example, with its URL pointed at the local server."""
    example = dict(FetchApiNode.metadata.example)
    example["url"] = f"{server.base}/users/{{{{$.userId}}}}"
    document = {
        "id": "example",
        "name": "example",
        "version": "1.0.0",
        "initialState": {"userId": 12},
        "workflow": [{"fetchApi": example}],
    }
    result = run(document)
    assert result.status == "completed", result.error
    assert result.final_state["lastLoggedMessage"] == "got user12"
