"""Which network addresses a run's outbound requests may connect to (``Services.network``).

A single-user server allows every address (``NetworkPolicy()``). A shared server denies every
address that is not public unicast (``NetworkPolicy(deny_private=True)``): loopback
(127.0.0.0/8, ::1), link-local and the cloud metadata address (169.254.0.0/16, fe80::/10),
private networks (RFC 1918, fc00::/7), carrier-grade NAT (100.64.0.0/10), unspecified
(0.0.0.0, ::), multicast, reserved and documentation ranges, and the IPv6 forms that embed one
of those (IPv4-mapped ``::ffff:127.0.0.1``, 6to4, Teredo, NAT64 ``64:ff9b::/96``). ``allow``
lists what the admin lets through anyway: IPs, CIDR networks, host names (``db.internal``) or
``*.suffix`` patterns.

The check is made on the address a connection is actually opened to (the caller resolves the
name once and connects to the checked address: no DNS rebinding), not on the URL's text.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["IPAddress", "NetworkPolicy", "address_category"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _own_category(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata)"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "carrier-grade NAT"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def address_category(address: IPAddress | str) -> str | None:
    """Why ``address`` is not public (``"loopback"``, ``"private"``...), or None when it is."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address.strip("[]").split("%")[0])
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            category = _own_category(inner)
            if category is not None:
                return f"{category}, embedded in IPv6"
    return _own_category(address)


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """``deny_private``: refuse non-public addresses unless ``allow`` names them."""

    deny_private: bool = False
    allow: tuple[str, ...] = ()

    @property
    def restricts(self) -> bool:
        return self.deny_private

    def refusal(self, host: str, address: IPAddress | str) -> str | None:
        """The reason a connection to ``address`` (resolved from ``host``) is refused, or None."""
        if not self.deny_private:
            return None
        ip = (
            ipaddress.ip_address(address.strip("[]").split("%")[0])
            if isinstance(address, str)
            else address
        )
        category = address_category(ip)
        if category is None or self._allowed(host, ip):
            return None
        shown = host if host == str(ip) else f"{host} ({ip})"
        return (
            f"the address of {shown} is {category}: this shared server refuses outbound "
            "requests to loopback, link-local, private and metadata addresses (an admin can "
            "allow a host or network with c.WorkscriptApp.http_allow_private)"
        )

    def _allowed(self, host: str, address: IPAddress) -> bool:
        host = host.strip("[]").lower().rstrip(".")
        for raw in self.allow:
            pattern = raw.strip().lower().rstrip(".")
            if not pattern:
                continue
            try:
                if address in ipaddress.ip_network(pattern, strict=False):
                    return True
                continue
            except ValueError:
                pass
            if _host_matches(host, pattern):
                return True
        return False
