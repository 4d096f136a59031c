"""What ``GET /workscript/health`` checks: the store, Redis, the scheduler and the worker pool.

Each check answers ``{"ok": bool, ...}`` with figures and, when not ok, a ``reason`` written
here: never an exception's text, which may hold a host, a port, a URL or a password.

- ``store``: ``SELECT 1`` on a connection of the store's engine, in a store thread, within
  ``STORE_TIMEOUT`` seconds (one probe at a time: a hung database does not pile up threads).
- ``redis`` (only when a Redis URL is configured): ``PING`` within ``REDIS_TIMEOUT`` seconds.
- ``scheduler``: ``leader``, ``follower`` or ``off``; its loop alive; the leader's last pass not
  older than ``STALE_PASSES`` poll periods (at least ``STALE_MIN_SECONDS``).
- ``pool``: running and queued runs, whether it takes runs, final records waiting for the store.
- ``plugins`` (only when plugins are installed): each plugin's status and its own health check,
  within ``plugins.HEALTH_TIMEOUT`` seconds; a plugin that failed or is not ``ok`` makes it
  not ok. Its ``reason`` is the plugin's message, masked (``plugins.model.public_message``).

The store and the pool are essential: one of them failing makes the status ``down``; another
check failing makes it ``degraded``. Either answers 503.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any, Final

from ..store.aio import run_off_loop
from ..store.connection import check_connection

__all__ = ["STORE_TIMEOUT", "run_checks"]

STORE_TIMEOUT: Final = 2.0
REDIS_TIMEOUT: Final = 1.5
STALE_PASSES: Final = 3
STALE_MIN_SECONDS: Final = 60.0
_ESSENTIAL: Final = ("store", "pool")
_PROBE: Final = "health_store_probe"  # the in-flight store probe, kept in the extension dict


async def run_checks(extension: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    """``(status, checks)``: status ``ok``, ``degraded`` or ``down``."""
    store, redis, scheduler, pool, plugins = await asyncio.gather(
        _store(extension),
        _redis(extension),
        _scheduler(extension),
        _pool(extension),
        _plugins(extension),
    )
    checks = {"store": store, "scheduler": scheduler, "pool": pool}
    if redis is not None:
        checks["redis"] = redis
    if plugins is not None:
        checks["plugins"] = plugins
    failing = [name for name, check in checks.items() if not check["ok"]]
    if any(name in _ESSENTIAL for name in failing):
        return "down", checks
    return ("degraded" if failing else "ok"), checks


async def _store(extension: dict[str, Any]) -> dict[str, Any]:
    engine = extension.get("engine")
    if engine is None:
        return {"ok": True, "backend": "memory"}
    probe: asyncio.Future[None] | None = extension.get(_PROBE)
    if probe is None or probe.done():
        probe = asyncio.ensure_future(run_off_loop(check_connection, engine))
        extension[_PROBE] = probe
    backend = engine.dialect.name
    try:
        await asyncio.wait_for(asyncio.shield(probe), STORE_TIMEOUT)
    except TimeoutError:
        return {"ok": False, "backend": backend, "reason": f"no answer in {STORE_TIMEOUT:g} s"}
    except Exception:  # noqa: BLE001 - its text may name the host: not repeated here
        return {"ok": False, "backend": backend, "reason": "the database cannot be reached"}
    return {"ok": True, "backend": backend}


async def _redis(extension: dict[str, Any]) -> dict[str, Any] | None:
    hub = extension.get("hub")
    url = getattr(hub, "redis_url", None)
    if not url:
        return None
    import redis.asyncio as aioredis

    client: Any = None
    try:
        client = aioredis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
        await asyncio.wait_for(client.ping(), REDIS_TIMEOUT)
    except TimeoutError:
        return {"ok": False, "reason": f"no answer in {REDIS_TIMEOUT:g} s"}
    except Exception:  # noqa: BLE001 - its text may hold the URL and its password
        return {"ok": False, "reason": "Redis cannot be reached"}
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()
    return {"ok": True}


async def _scheduler(extension: dict[str, Any]) -> dict[str, Any]:
    scheduler = extension.get("scheduler")
    if scheduler is None:
        return {"ok": True, "state": "off"}
    state = "leader" if scheduler.leading else "follower"
    last: datetime | None = scheduler.counters.last_pass_at
    check: dict[str, Any] = {
        "ok": True,
        "state": state,
        "running": scheduler.running,
        "lastPassAt": last.isoformat() if last else None,
    }
    if not scheduler.running:
        check.update(ok=False, reason="the scheduler is not running")
    elif state == "leader" and last is not None:
        stale = max(STALE_PASSES * scheduler.settings.poll_seconds, STALE_MIN_SECONDS)
        age = (scheduler.clock() - last).total_seconds()
        if age > stale:
            check.update(ok=False, reason=f"the leader's last pass was {age:.0f} s ago")
    return check


async def _pool(extension: dict[str, Any]) -> dict[str, Any]:
    service = extension.get("service")
    if service is None:
        return {"ok": False, "reason": "the service is not built"}
    pool = service.pool
    stranded = getattr(service, "stranded", None)
    check: dict[str, Any] = {
        "ok": True,
        "running": pool.running_count,
        "queued": pool.queued_count,
        "accepting": pool.accepting,
        "pendingFinalRecords": stranded.pending if stranded is not None else 0,
    }
    if not service.run_workers:
        check["workers"] = "external"  # runs are left to `workscript worker` processes
    elif not service.started:
        check.update(ok=False, reason="the service has not started")
    elif not pool.accepting:
        check.update(ok=False, reason="the worker pool does not take runs")
    elif check["pendingFinalRecords"]:
        check.update(ok=False, reason="final records wait for the store")
    return check


async def _plugins(extension: dict[str, Any]) -> dict[str, Any] | None:
    host = extension.get("plugins")
    if host is None or not host.records:
        return None
    plugins = await host.health()
    check: dict[str, Any] = {"ok": True, "plugins": plugins}
    failing = [plugin["name"] for plugin in plugins if plugin["status"] != "ok"]
    if failing:
        check.update(ok=False, reason=f"plugins not ok: {', '.join(sorted(set(failing)))}")
    return check
