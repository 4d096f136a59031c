"""The outbound network policy of a shared server (``Services.network``), checked on the address
each connection is actually opened to.

Only 127.0.0.1 is ever connected to: every other address is tested as a value (the classifier),
never by sending traffic to it.
"""

from __future__ import annotations

import pytest

from workscript_jupyter.engine import Services
from workscript_jupyter.engine.net_policy import NetworkPolicy, address_category

from .test_http import _fresh_log, call, server  # noqa: F401  (its local HTTP server fixtures)

SHARED = NetworkPolicy(deny_private=True)


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local (cloud metadata)"),
        ("fe80::1", "link-local (cloud metadata)"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback, embedded in IPv6"),
        ("::ffff:169.254.169.254", "link-local (cloud metadata), embedded in IPv6"),
        ("::ffff:10.0.0.1", "private, embedded in IPv6"),
        ("2002:a9fe:a9fe::1", "link-local (cloud metadata), embedded in IPv6"),  # 6to4
        ("64:ff9b::7f00:1", "loopback, embedded in IPv6"),  # NAT64
        ("240.0.0.1", "private"),
    ],
)
def test_non_public_addresses_are_classified(address, category):
    assert address_category(address) == category
    assert SHARED.refusal("example.com", address) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"])
def test_public_addresses_pass(address):
    assert address_category(address) is None
    assert SHARED.refusal("example.com", address) is None


def test_single_user_policy_allows_everything():
    assert NetworkPolicy().refusal("localhost", "127.0.0.1") is None
    assert NetworkPolicy().refusal("metadata", "169.254.169.254") is None


def test_allow_list_takes_ips_networks_and_host_names():
    policy = NetworkPolicy(deny_private=True, allow=("10.1.0.0/16", "::1", "db.internal", "*.corp"))
    assert policy.refusal("x", "10.1.2.3") is None
    assert policy.refusal("x", "10.2.0.1") is not None
    assert policy.refusal("x", "::1") is None
    assert policy.refusal("db.internal", "192.168.1.4") is None
    assert policy.refusal("api.corp", "192.168.1.5") is None
    assert policy.refusal("corp", "192.168.1.5") is not None
    assert policy.refusal("x", "169.254.169.254") is not None


def test_refusal_names_the_host_the_address_and_the_setting():
    message = SHARED.refusal("metadata.google.internal", "169.254.169.254")
    assert message is not None
    assert "metadata.google.internal (169.254.169.254)" in message
    assert "link-local" in message
    assert "c.WorkscriptApp.http_allow_private" in message


# -- through fetchApi, against 127.0.0.1 only ---------------------------------------------------


def test_shared_policy_refuses_loopback_before_any_request(server):  # noqa: F811
    edge, state = call({"url": f"{server.base}/users/1"}, Services(network=SHARED))
    assert edge.name == "error"
    assert edge.data["errorType"] == "HostNotAllowed"
    assert "127.0.0.1 is loopback" in edge.data["error"]
    assert server.seen == []
    assert state == {}


def test_a_name_resolving_to_loopback_is_refused(server):  # noqa: F811
    edge, _ = call({"url": f"http://localhost:{server.port}/users/1"}, Services(network=SHARED))
    assert edge.name == "error"
    assert edge.data["errorType"] == "HostNotAllowed"
    assert "localhost (" in edge.data["error"] and "loopback" in edge.data["error"]
    assert server.seen == []


def test_odd_spellings_of_loopback_are_refused(server):  # noqa: F811
    for host in ("2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"):
        edge, _ = call({"url": f"http://{host}:{server.port}/users/1"}, Services(network=SHARED))
        assert edge.name == "error", host
        assert edge.data["errorType"] in ("HostNotAllowed", "ConnectError"), host
    assert server.seen == []


def test_allow_listed_address_goes_through(server):  # noqa: F811
    policy = NetworkPolicy(deny_private=True, allow=("127.0.0.1",))
    edge, state = call({"url": f"{server.base}/users/3"}, Services(network=policy))
    assert edge.name == "success"
    assert state["fetchResponse"] == {"id": 3, "name": "user3"}


def test_redirect_from_an_allowed_host_to_a_denied_address_is_refused(server):  # noqa: F811
    # "localhost" is allowed by name; the redirect goes to 127.0.0.1, which is not
    policy = NetworkPolicy(deny_private=True, allow=("localhost",))
    target = f"{server.base}/users/9"
    url = f"http://localhost:{server.port}/redirect?to={target}"
    edge, state = call({"url": url}, Services(network=policy))
    assert edge.name == "error"
    assert edge.data["errorType"] == "HostNotAllowed"
    assert "127.0.0.1 is loopback" in edge.data["error"]
    assert server.seen == [f"GET /redirect?to={target}"]  # the first hop only
    assert state == {}


def test_timeout_over_the_server_ceiling_is_refused(server):  # noqa: F811
    services = Services(http_max_timeout_seconds=60)
    edge, _ = call({"url": f"{server.base}/users/1", "timeout": 120_000}, services)
    assert edge.name == "error"
    assert edge.data["error"] == (
        'Parameter "timeout" is 120000 ms; requests on this server may take at most 60000 ms'
    )
    assert server.seen == []
