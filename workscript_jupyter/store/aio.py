"""``run_off_loop``: await a blocking store call without blocking the event loop.

The store is synchronous (SQLAlchemy on a sync engine, DESIGN §3); the server and the engine are
asyncio. Store calls run on a small pool of their own rather than the loop's default executor:
a slow database (SQLite waiting on its busy timeout, a MySQL server that went away) then cannot
starve the other users of the default executor (file access, ``asyncio.to_thread``), and the
number of threads waiting on the database stays below the engine's connection pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["STORE_THREADS", "run_off_loop", "shutdown_store_threads"]

# Few threads: store calls are short, and every extra thread fights the event loop for the GIL.
# Measured with wrk, 16 connections, GET /workscript/workflows/{id} on SQLite: 8 threads 771
# req/s, 4 threads 1,007, 2 threads 1,030. Four keep some overlap for a MySQL round trip.
STORE_THREADS = 4

_P = ParamSpec("_P")
_T = TypeVar("_T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=STORE_THREADS, thread_name_prefix="workscript-store"
            )
        return _executor


async def run_off_loop(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run ``fn(*args, **kwargs)`` in a store thread and return (or raise) what it does.

    Context variables travel with the call, as with ``asyncio.to_thread``. Cancelling the
    awaiting task does not stop a call already running: the database finishes it.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await loop.run_in_executor(_get_executor(), call)


def shutdown_store_threads(*, wait: bool = True) -> None:
    """Stop the store threads (a later ``run_off_loop`` starts new ones): for a clean shutdown."""
    global _executor
    with _lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=wait)
