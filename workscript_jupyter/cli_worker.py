"""``workscript worker``: a process that executes queued runs taken from the database.

Scale-out: servers with ``c.WorkscriptApp.run_workers = False`` (or whose runs were left
unclaimed) queue runs in the shared database; any number of workers on any machine that reaches
it claim them (``FOR UPDATE SKIP LOCKED`` on MySQL; on SQLite one worker is the sensible
number) and run them with the same engine, nodes and limits as a server. A worker holds its
liveness lock while it lives, so the scheduler's leader never takes a live worker's runs for a
dead server's. SIGTERM or Ctrl-C: no new runs are taken, running ones are cancelled and
recorded, and the worker says how many runs it executed.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["add_db_url_argument", "add_worker_parser", "run_worker"]

log = logging.getLogger("workscript.worker")


def add_db_url_argument(parser: argparse.ArgumentParser) -> None:
    """``--db-url``, as every command that opens the workscript database reads it."""
    parser.add_argument(
        "--db-url",
        metavar="URL",
        help="the database (default: WORKSCRIPT_DB_URL, else DB_HOST/DB_PORT/DB_USER/"
        "DB_PASSWORD/DB_NAME, else sqlite:///<jupyter data dir>/workscript.sqlite)",
    )


def add_worker_parser(commands: Any) -> None:
    worker = commands.add_parser(
        "worker",
        help="execute queued runs taken from the shared database (scale-out)",
        description="Claim queued runs that no server runs itself and execute them, until "
        "SIGTERM or Ctrl-C.",
    )
    add_db_url_argument(worker)
    worker.add_argument(
        "--root", metavar="DIR", default=".", help="the only folder runs may read and write"
    )
    worker.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="runs at once (default 4)"
    )
    worker.add_argument(
        "--id", dest="worker_id", metavar="NAME", help="how runs name this worker (host:pid)"
    )
    worker.add_argument(
        "--poll", type=float, default=1.0, metavar="S", help="seconds between idle polls"
    )
    worker.add_argument(
        "--exit-when-idle",
        type=float,
        metavar="S",
        help="stop once nothing was queued or running for S seconds (batch jobs, tests)",
    )
    worker.add_argument("--redis-url", metavar="URL", help="liveness lock in Redis (REDIS_URL)")
    worker.add_argument(
        "--gateway-url",
        metavar="URL",
        help="start the kernels of notebook/python nodes on this Jupyter Kernel/Enterprise "
        "Gateway (WORKSCRIPT_GATEWAY_URL; token: WORKSCRIPT_GATEWAY_AUTH_TOKEN)",
    )
    worker.add_argument(
        "--shared",
        action="store_true",
        help="the database belongs to a shared server (single_user = False): each user's runs "
        "get their own root (ROOT/<user>), code nodes only for --code-user, no private networks",
    )
    worker.add_argument(
        "--code-user",
        action="append",
        default=[],
        metavar="NAME",
        help="with --shared: a user whose python/notebook nodes may run (repeatable)",
    )
    worker.add_argument(
        "--http-allow-private",
        action="append",
        default=[],
        metavar="HOST_OR_CIDR",
        help="with --shared: a private host or network fetchApi may reach (repeatable)",
    )


def run_worker(args: argparse.Namespace) -> int:
    # asyncio, signal and socket here, not at the top: every command builds this parser, and
    # `workscript validate` should not pay for them
    import asyncio

    from .errors import ConfigurationError

    if args.concurrency < 1:
        raise ConfigurationError("--concurrency must be 1 or more")
    root = Path(args.root)
    if not root.is_dir():
        raise ConfigurationError(f"--root {args.root}: not a folder")
    from .runner.remote_kernels import gateway_settings

    gateway = gateway_settings(args.gateway_url, os.environ)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    executed = asyncio.run(_serve(args, root.resolve(), gateway))
    print(f"workscript worker: executed {executed} runs", file=sys.stderr)
    return 0


def _ai_settings(environ: Mapping[str, str]) -> Any:
    """The AI of the runs this worker executes, from the environment the server reads
    (OPENROUTER_API_KEY, OPENROUTER_BASE_URL, AI_REQUEST_TIMEOUT, OPENROUTER_SITE_URL/NAME,
    AI_MONTHLY_BUDGET_USD): the same key and budget as the server, or ask-ai takes its error
    edge. A worker never syncs the model catalogue (the servers do)."""
    from .errors import ConfigurationError
    from .integrations.openrouter_types import AIConfig
    from .service.ai import AiSettings

    config = AIConfig.from_env(environ)
    raw_budget = (environ.get("AI_MONTHLY_BUDGET_USD") or "").strip() or "0"
    try:
        budget = float(raw_budget)
    except ValueError:
        raise ConfigurationError(
            f"AI_MONTHLY_BUDGET_USD must be a number of USD, not {raw_budget!r}"
        ) from None
    if not math.isfinite(budget) or budget < 0:
        raise ConfigurationError(f"AI_MONTHLY_BUDGET_USD must be >= 0, not {raw_budget!r}")
    return AiSettings(
        config=config if config.has_key else None,
        model_sync_interval=0.0,
        monthly_budget_usd=budget,
    )


def _google_settings(environ: Mapping[str, str]) -> Any:
    """The Google connections of the runs this worker executes, from the environment the
    server reads (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, WORKSCRIPT_SECRET_KEY, GOOGLE_*_URI,
    GOOGLE_API_ROOT_URL): the same client and key as the servers, or the Google nodes take
    their error edge. A worker never starts a consent, so the redirect URI is never sent."""
    from types import SimpleNamespace

    from .auth.secret_box import SecretBox
    from .service.google_config import google_settings

    def env(name: str) -> str | None:
        return (environ.get(name) or "").strip() or None

    from .errors import ConfigurationError

    key = env("WORKSCRIPT_SECRET_KEY")
    retries = env("GOOGLE_QUOTA_RETRIES") or "4"
    if not retries.isdigit():
        raise ConfigurationError(f"GOOGLE_QUOTA_RETRIES must be a whole number, not {retries!r}")
    names = "client_id client_secret redirect_uri auth_uri token_uri revoke_uri userinfo_uri"
    names += " api_root_url"
    traits = SimpleNamespace(
        **{f"google_{name}": env(f"GOOGLE_{name.upper()}") for name in names.split()},
        google_quota_retries=int(retries),
    )
    box = SecretBox.from_setting(key, setting="WORKSCRIPT_SECRET_KEY") if key else None
    return google_settings(traits, box=box, server_url="http://localhost/", log=log)


async def _serve(args: argparse.Namespace, root: Path, gateway: Any = None) -> int:
    import asyncio
    import contextlib
    import signal
    import socket

    from .nodes import builtin_registry
    from .scheduler.leader import leader_lock_for
    from .service import RunLimits, WorkscriptService
    from .service.user_isolation import IsolationSettings, UserServices
    from .store.connection import create_store_engine, resolve_db_url
    from .store.sql import SqlStore

    url = resolve_db_url(args.db_url, data_dir=None)
    engine = create_store_engine(url)
    worker_id = args.worker_id or f"worker:{socket.gethostname()}:{os.getpid()}"
    kernels = None  # local kernels, one per run; with a gateway, the gateway's
    if gateway is not None:
        from .runner.remote_kernels import RemoteKernelPool, configure_gateway

        configure_gateway(gateway)
        kernels = RemoteKernelPool(size=0)  # size 0: each run's kernel started on demand
        await kernels.start()
    # the same isolation as the server whose runs this worker takes (see docs/security.md)
    services = UserServices(
        IsolationSettings(
            shared=bool(args.shared),
            root=root,
            code_users=frozenset(args.code_user),
            http_allow_private=tuple(args.http_allow_private),
        ),
        pool=kernels,
    )

    from .plugins import register_plugin_nodes

    registry = builtin_registry()
    register_plugin_nodes(registry)  # a worker runs what the servers run: plugins' nodes too
    service = WorkscriptService(
        SqlStore(engine),
        registry,
        services_factory=services,
        limits=RunLimits(
            max_concurrent_runs=args.concurrency,
            max_concurrent_runs_per_user=args.concurrency,
        ),
        server_id=worker_id,
        single_user=False,
        run_workers=True,
        ai=_ai_settings(os.environ),
        google=_google_settings(os.environ),
    )
    service.interrupt_all_leftovers = False
    service.queue_worker.poll_seconds = args.poll
    redis_url = args.redis_url or os.environ.get("REDIS_URL") or None
    liveness = leader_lock_for(url, redis_url=redis_url, name=f"workscript-server-{worker_id}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not await liveness.try_acquire():
        log.warning("worker %s: could not take its liveness lock", worker_id)
    await service.start()
    log.info("worker %s: taking runs from %s", worker_id, engine.url.render_as_string())
    idle_since = loop.time()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(args.poll, 1.0))
            await liveness.check()
            pool = service.pool
            if pool.running_count or pool.queued_count:
                idle_since = loop.time()
            idle_since = max(idle_since, service.queue_worker.last_claim_at)
            limit = args.exit_when_idle
            if limit is not None and loop.time() - idle_since > limit:
                break
    finally:
        await service.stop()
        await services.close()
        if kernels is not None:
            await kernels.stop()
        await liveness.release()
        engine.dispose()
    return service.runs_started
