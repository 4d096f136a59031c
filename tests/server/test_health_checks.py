"""``GET /workscript/health`` checks what a server needs (issue 13, item 15): the store, Redis
when configured, the scheduler and the worker pool; 503 naming what is down; never a host, a
port, a URL or a secret."""

from __future__ import annotations

import socket
import sys

import pytest

from workscript_jupyter.store.connection import create_store_engine

from .conftest import Api, server_config

SECRET = "hunter2-not-to-be-seen"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed once the probe is: nothing listens


def _no_leak(raw: bytes, *words: str) -> None:
    text = raw.decode()
    for word in (SECRET, "127.0.0.1", "localhost", "redis://", "pymysql", "sqlite:///", *words):
        assert word not in text, f"{word!r} leaked into {text}"


async def test_a_healthy_server_answers_200_with_every_check(api: Api) -> None:
    reply = await api.get("health")
    assert reply.code == 200, reply.raw
    body = reply.body
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["store"] == {"ok": True, "backend": "sqlite"}
    assert checks["scheduler"]["ok"] and checks["scheduler"]["running"] is True
    assert checks["scheduler"]["state"] in ("leader", "follower")
    pool = checks["pool"]
    assert pool["ok"] and pool["accepting"] is True
    assert (pool["running"], pool["queued"], pool["pendingFinalRecords"]) == (0, 0, 0)
    assert "redis" not in checks  # none configured
    # the process's figures, which bench/soak.py follows: at least this request's task
    assert body["process"]["tasks"] >= 1 and body["process"]["threads"] >= 1
    # thread_switch_ms (0.5 by default) is applied at start: store threads get the GIL back soon
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    assert body["version"] and body["user"]["admin"] is True  # the fields clients rely on


async def test_a_store_that_cannot_be_reached_is_down_without_naming_it(api: Api, workscript):
    port = _closed_port()
    unreachable = create_store_engine(f"mysql+pymysql://root:{SECRET}@127.0.0.1:{port}/nowhere")
    workscript["engine"], real = unreachable, workscript["engine"]
    try:
        reply = await api.get("health")
    finally:
        workscript["engine"] = real
        unreachable.dispose()
    assert reply.code == 503, reply.raw
    assert reply.body["status"] == "down"
    store = reply.body["checks"]["store"]
    assert store["ok"] is False and store["reason"] == "the database cannot be reached"
    assert reply.body["checks"]["pool"]["ok"]  # the rest is still reported
    _no_leak(reply.raw, str(port), "nowhere", "root")


async def test_a_stopped_worker_pool_is_down(api: Api, workscript):
    await workscript["service"].stop()
    reply = await api.get("health")
    assert reply.code == 503, reply.raw
    assert reply.body["status"] == "down"
    pool = reply.body["checks"]["pool"]
    assert pool["ok"] is False and pool["accepting"] is False
    assert pool["reason"] == "the service has not started"


async def test_a_stopped_scheduler_is_degraded(api: Api, workscript):
    await workscript["scheduler"].stop()
    reply = await api.get("health")
    assert reply.code == 503, reply.raw
    assert reply.body["status"] == "degraded"
    scheduler = reply.body["checks"]["scheduler"]
    assert scheduler["ok"] is False and scheduler["running"] is False
    assert scheduler["reason"] == "the scheduler is not running"


class TestUnreachableRedis:
    PORT = _closed_port()

    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        url = f"redis://:{SECRET}@127.0.0.1:{self.PORT}/0"
        return server_config(workscript_db_url, redis_url=url, run_scheduler=False)

    async def test_it_is_degraded_and_neither_url_nor_password_shows(self, api: Api) -> None:
        reply = await api.get("health")
        assert reply.code == 503, reply.raw
        assert reply.body["status"] == "degraded"
        assert reply.body["checks"]["redis"] == {"ok": False, "reason": "Redis cannot be reached"}
        assert reply.body["checks"]["store"]["ok"] and reply.body["checks"]["pool"]["ok"]
        assert reply.body["checks"]["scheduler"] == {"ok": True, "state": "off"}
        _no_leak(reply.raw, str(self.PORT))
