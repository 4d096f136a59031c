"""An httpx transport that checks the address it actually connects to (``Services.network``).

httpx resolves and connects inside httpcore, so a check of the URL's host before the request
would leave a gap: the name may resolve to another address when the connection is made (DNS
rebinding), or a public-looking name may point at 127.0.0.1. Here httpcore's network backend is
wrapped: ``connect_tcp`` resolves the host itself (``loop.getaddrinfo``, off the event loop),
checks *every* address against the policy (one refused address refuses the host), connects to
a checked address by IP, and checks the socket's peer once more. TLS still verifies the
certificate for, and sends SNI with, the URL's host name, since httpcore passes that name to
``start_tls`` separately. Every redirect hop opens its connection through the same backend.

A transport given to httpx turns off its environment proxies (``HTTP_PROXY``...), which would
otherwise be the address connected to.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from ..engine.net_policy import NetworkPolicy

__all__ = ["AddressRefused", "guarded_transport"]


class AddressRefused(Exception):
    """The network policy refuses the address a host resolves to."""


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: NetworkPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
        addresses: list[str] = []
        for info in infos:
            address = str(info[4][0])
            if address not in addresses:
                addresses.append(address)
        return addresses

    def _check(self, host: str, address: str) -> None:
        reason = self._policy.refusal(host, address)
        if reason is not None:
            raise AddressRefused(reason)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port)
        for address in addresses:  # every address first: one refused refuses the host
            self._check(host, address)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
                continue
            peer = stream.get_extra_info("server_addr")
            if peer:
                try:
                    self._check(host, str(peer[0]))
                except AddressRefused:
                    await stream.aclose()
                    raise
            return stream
        raise failure or httpcore.ConnectError(f"no address found for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are not allowed for outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: NetworkPolicy) -> None:
        super().__init__()
        # the same pool httpx builds, with the checking backend underneath
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_CheckedBackend(policy),
        )


def guarded_transport(policy: NetworkPolicy) -> httpx.AsyncBaseTransport | None:
    """A transport enforcing ``policy``, or None when the policy allows every address."""
    return _GuardedTransport(policy) if policy.restricts else None
