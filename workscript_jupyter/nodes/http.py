"""fetchApi: HTTP requests through httpx, with a host allow/deny list.

Every hop is checked against ``ctx.services.http_allow`` / ``http_deny`` before it is sent:
redirects are followed here, one at a time, not by httpx, so a redirect to a denied host is
refused like a direct request. ``ctx.services.network`` (a shared server: no loopback, private,
link-local or metadata addresses) is enforced on the address each connection is opened to, by
the transport of ``http_guard.py``. Responses are read while streaming up to
``services.http_max_response_bytes``; the whole exchange, redirects included, is bounded by the
node's ``timeout``, itself at most ``services.http_max_timeout_seconds``. Nothing that
carries a credential reaches the state: request headers are never copied, ``Set-Cookie`` and
similar response headers are redacted, and a ``user:password@`` in a URL is masked.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import re
import socket
from collections.abc import Iterable
from typing import Any

import httpx

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.net_policy import NetworkPolicy
from ..engine.state import to_text
from .http_guard import AddressRefused, guarded_transport

__all__ = ["MAX_RESPONSE_BYTES", "NODES", "FetchApiNode", "HostNotAllowed", "check_host"]

MAX_RESPONSE_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 10
DEFAULT_TIMEOUT_MS = 30_000
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_BODY_METHODS = ("POST", "PUT", "PATCH")
_RESPONSE_TYPES = ("json", "text", "blob", "arrayBuffer")
_SECRET_HEADERS = frozenset({"set-cookie", "set-cookie2", "authorization", "proxy-authorization"})
_LEGACY_IPV4 = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)


class HostNotAllowed(Exception):
    """The host policy refuses a URL."""


class _ResponseTooLarge(Exception):
    pass


# -- host policy ------------------------------------------------------------------------------


def _canonical_host(host: str) -> str:
    """Lower case, no trailing dot, and IPv4 in dotted form (``2130706433`` is ``127.0.0.1``)."""
    host = host.strip().lower().rstrip(".")
    if _LEGACY_IPV4.match(host) and not host.replace(".", "").isalpha():
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return host
    return host


def _as_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _matches(host: str, pattern: str) -> bool:
    """``example.com`` exactly, ``*.example.com`` any subdomain, an IP, or a CIDR network."""
    pattern = pattern.strip().lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    address = _as_ip(host)
    if "/" in pattern and address is not None:
        try:
            return address in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    pattern_ip = _as_ip(pattern)
    if pattern_ip is not None and address is not None:
        return address == pattern_ip
    return host == _canonical_host(pattern)


def _ip_patterns(patterns: Iterable[str]) -> list[str]:
    return [p for p in patterns if _as_ip(p.split("/")[0]) is not None]


async def check_host(url: httpx.URL, allow: Iterable[str], deny: Iterable[str]) -> None:
    """Raise ``HostNotAllowed`` unless the policy lets ``url`` through. Deny wins.

    A name is also resolved when the deny list holds addresses, so denying ``127.0.0.1``
    refuses ``localhost`` too.
    """
    allow, deny = tuple(allow), tuple(deny)
    host = _canonical_host(url.host)
    if not host:
        raise HostNotAllowed(f"URL {url} has no host")
    denied = next((p for p in deny if _matches(host, p)), None)
    if denied is None and _as_ip(host) is None and _ip_patterns(deny):
        for address in await _resolve(host, url.port):
            denied = next((p for p in _ip_patterns(deny) if _matches(address, p)), None)
            if denied:
                break
    if denied is not None:
        raise HostNotAllowed(f'host "{host}" is denied by the HTTP host policy ({denied})')
    if allow and not any(_matches(host, p) for p in allow):
        raise HostNotAllowed(f'host "{host}" is not in the HTTP allow list')


async def _resolve(host: str, port: int | None) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port or 80)
    except OSError:
        return []  # the request itself will fail to connect and say so
    return [str(info[4][0]) for info in infos]


# -- request and response ---------------------------------------------------------------------


def _masked(url: httpx.URL | str) -> str:
    """The URL without its password."""
    url = httpx.URL(str(url))
    if url.password:
        url = url.copy_with(username=url.username, password="***")
    return str(url)


def _build_request(
    client: httpx.AsyncClient, method: str, url: httpx.URL, headers: dict[str, str], body: Any
) -> httpx.Request:
    content: str | None = None
    if body is not None and method in _BODY_METHODS:
        if isinstance(body, str):
            content = body
        else:
            content = json.dumps(body, ensure_ascii=False)
            if isinstance(body, (dict, list)) and not any(
                k.lower() == "content-type" for k in headers
            ):
                headers = {**headers, "Content-Type": "application/json"}
    return client.build_request(method, url, headers=headers, content=content)


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _ResponseTooLarge(declared)
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _ResponseTooLarge(str(size))
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, response: httpx.Response, response_type: str) -> Any:
    if response_type in ("blob", "arrayBuffer"):
        return base64.b64encode(raw).decode("ascii")  # the state is JSON: binary as base64
    text = raw.decode(response.charset_encoding or "utf-8", errors="replace")
    if response_type == "text":
        return text
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # as the original: not JSON, so the text itself


def _public_headers(response: httpx.Response) -> dict[str, str]:
    return {
        key: "[redacted]" if key in _SECRET_HEADERS else value
        for key, value in response.headers.items()
    }


async def _exchange(
    request: httpx.Request,
    client: httpx.AsyncClient,
    policy: tuple[tuple[str, ...], tuple[str, ...]],
    response_type: str,
    limit: int,
) -> dict[str, Any]:
    """Send, following redirects one checked hop at a time; the response as the original's."""
    redirected = False
    for _ in range(MAX_REDIRECTS + 1):
        await check_host(request.url, *policy)
        response = await client.send(request, stream=True)
        try:
            if response.next_request is None:
                raw = await _read_capped(response, limit)
                return {
                    "data": _decode(raw, response, response_type),
                    "status": response.status_code,
                    "statusText": response.reason_phrase,
                    "headers": _public_headers(response),
                    "url": _masked(response.url),
                    "redirected": redirected,
                }
            request, redirected = response.next_request, True
        finally:
            await response.aclose()
    raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)


# -- the node ---------------------------------------------------------------------------------


def _check_params(params: dict[str, Any]) -> str | None:
    """The first problem with the parameters, as a message naming the parameter."""
    url, method = params.get("url"), params.get("method", "GET")
    if not url:
        return "Missing required parameter: url"
    if not isinstance(url, str):
        return f'Parameter "url" must be a string, got {type(url).__name__}'
    if not isinstance(method, str) or method.upper() not in _METHODS:
        return f'Parameter "method" must be one of {", ".join(_METHODS)}, got {method!r}'
    if params.get("responseType", "json") not in _RESPONSE_TYPES:
        return (
            f'Parameter "responseType" must be one of {", ".join(_RESPONSE_TYPES)}, '
            f"got {params['responseType']!r}"
        )
    timeout = params.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        return f'Parameter "timeout" must be a positive number of milliseconds, got {timeout!r}'
    if not isinstance(params.get("headers", {}), dict):
        return 'Parameter "headers" must be an object of name: value'
    return None


def _parse_url(url: str) -> httpx.URL | str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as problem:
        return f'Parameter "url" is not a valid URL: {problem}'
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f'Parameter "url" must be an absolute http:// or https:// URL, got {_masked(url)}'
    return parsed


class FetchApiNode(Node):
    metadata = NodeMetadata(
        id="fetchApi",
        name="Fetch API",
        category="data",
        description=(
            "Makes an HTTP request. 2xx takes success, 4xx clientError, 5xx serverError; a "
            "network failure, a timeout or a host refused by the services' allow/deny lists "
            "takes error. Objects in body are sent as JSON."
        ),
        inputs=(
            ParamSpec("url", "string", "absolute http(s) URL", True),
            ParamSpec("method", "string", "HTTP method", default="GET", choices=_METHODS),
            ParamSpec("body", "any", "POST/PUT/PATCH body: objects and lists as JSON"),
            ParamSpec("headers", "object", "request headers (never copied into the state)"),
            ParamSpec(
                "timeout",
                "number",
                "whole-request limit in milliseconds (default: services.http_timeout_seconds)",
                default=DEFAULT_TIMEOUT_MS,
            ),
            ParamSpec(
                "responseType",
                "string",
                "json (falls back to text), text, or blob/arrayBuffer (base64 text)",
                default="json",
                choices=_RESPONSE_TYPES,
            ),
        ),
        outputs=("fetchResponse", "fetchStatus", "fetchHeaders"),
        edges=("success", "clientError", "serverError", "error"),
        example={
            "url": "https://api.example.com/users/{{$.userId}}",
            "method": "GET",
            "timeout": 5000,
            "success?": {"log": {"message": "got {{$.fetchResponse.name}}"}},
            "clientError?": {"log": {"message": "not found: {{$.fetchStatus}}"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        problem = _check_params(params)
        if problem:
            return Edge("error", {"error": problem, "nodeId": ctx.node_id})
        url = _parse_url(params["url"])
        if isinstance(url, str):
            return Edge("error", {"error": url, "nodeId": ctx.node_id})
        services = ctx.services
        timeout_ms = params.get("timeout") or 1000 * getattr(
            services, "http_timeout_seconds", DEFAULT_TIMEOUT_MS / 1000
        )
        ceiling = getattr(services, "http_max_timeout_seconds", None)
        if ceiling is not None and timeout_ms > ceiling * 1000:
            message = (
                f'Parameter "timeout" is {_number(timeout_ms)} ms; requests on this server may '
                f"take at most {_number(ceiling * 1000)} ms"
            )
            return Edge("error", {"error": message, "nodeId": ctx.node_id})
        network = getattr(services, "network", None) or NetworkPolicy()
        policy = (
            tuple(getattr(services, "http_allow", ())),
            tuple(getattr(services, "http_deny", ())),
        )
        limit = getattr(services, "http_max_response_bytes", MAX_RESPONSE_BYTES)
        shown = _masked(url)
        headers = {
            str(k): to_text(v) for k, v in params.get("headers", {}).items() if v is not None
        }
        try:
            async with httpx.AsyncClient(
                follow_redirects=False,
                timeout=timeout_ms / 1000,
                transport=guarded_transport(network),
            ) as client:
                request = _build_request(
                    client, params.get("method", "GET").upper(), url, headers, params.get("body")
                )
                response = await asyncio.wait_for(
                    _exchange(request, client, policy, params.get("responseType", "json"), limit),
                    timeout_ms / 1000,
                )
        except UnicodeEncodeError:
            message = 'Parameter "headers": header names and values must be ASCII text'
            return Edge("error", {"error": message, "nodeId": ctx.node_id})
        except (HostNotAllowed, AddressRefused) as refused:
            return self._failure(ctx, str(refused), shown, "HostNotAllowed")
        except (TimeoutError, httpx.TimeoutException):
            return Edge(
                "error",
                {
                    "error": f"Request timeout after {_number(timeout_ms)}ms",
                    "url": shown,
                    "timeout": _number(timeout_ms),
                    "nodeId": ctx.node_id,
                },
            )
        except _ResponseTooLarge:
            message = (
                f"response body is larger than the {limit // (1024 * 1024)} MB limit "
                f"({limit} bytes)"
            )
            return self._failure(ctx, message, shown, "ResponseTooLarge")
        except httpx.HTTPError as failure:
            return self._failure(ctx, str(failure) or type(failure).__name__, shown, failure)
        return self._route(ctx, response, shown)

    @staticmethod
    def _failure(ctx: NodeContext, message: str, url: str, kind: Exception | str) -> Edge:
        error_type = kind if isinstance(kind, str) else type(kind).__name__
        return Edge(
            "error", {"error": message, "url": url, "errorType": error_type, "nodeId": ctx.node_id}
        )

    @staticmethod
    def _route(ctx: NodeContext, response: dict[str, Any], url: str) -> Edge:
        status = response["status"]
        ctx.state["fetchResponse"] = response["data"]
        ctx.state["fetchStatus"] = status
        ctx.state["fetchHeaders"] = response["headers"]
        if 200 <= status < 300:
            return Edge("success", response)
        if 400 <= status < 500:
            edge, message = "clientError", f"HTTP {status}: {response['statusText']}"
        elif status >= 500:
            edge, message = "serverError", f"HTTP {status}: {response['statusText']}"
        else:
            edge, message = "error", f"Unexpected HTTP status: {status}"
        return Edge(
            edge,
            {
                "error": message,
                "status": status,
                "statusText": response["statusText"],
                "data": response["data"],
                "url": url,
                "nodeId": ctx.node_id,
            },
        )


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


NODES: tuple[type[Node], ...] = (FetchApiNode,)
