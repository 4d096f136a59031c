"""A warm kernel pool: kernels started ahead of time, each handed out exactly once.

Starting a kernel costs 0.5-0.7 s here, running a small notebook on a started one ~0.02 s. The
pool keeps ``size`` kernels per pooled kernel name started *and ready* (the kernel answered a
``kernel_info`` request), so a run does not pay the start. The rules:

- ``acquire(name)`` hands out one kernel, never twice. Nothing is shared between runs: the run
  uses the kernel once and gives it back with ``discard(km)``, which shuts it down (``now=True``)
  in the background. Nothing leaks from one run to the next.
- Before handing a pooled kernel out, ``acquire`` checks ``await km.is_alive()``; a dead one is
  dropped and replaced. Idle kernels are also checked every ``health_interval`` seconds.
- When no kernel is ready (pool empty, ``size == 0``, or a kernel name that is not pooled),
  ``acquire`` starts one on demand.
- The pool refills in the background, one start at a time per kernel name, so a 2-core machine
  is not flooded.
- ``stop()`` stops refilling and shuts down every kernel it holds, every kernel being started, and
  every kernel handed out and not yet discarded; it leaves no asyncio task behind.

Working directory: a kernel's working directory is fixed when its process starts, so the pool's
``cwd`` is the start directory of all its kernels. A run that needs another directory changes it
inside the kernel itself (``os.chdir(...)`` / ``%cd`` as its first code) -- the runner does that,
not the pool (a shared server's per-user roots work this way).

Environment: every kernel starts with ``env`` (default: ``kernel_env(shared=False)``, the
server's environment minus Workscript's secrets; a shared server passes its allow-list
environment), never the server's environment as is. See ``kernel_env.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from workscript_jupyter.errors import WorkscriptError

from .kernel_env import kernel_env

__all__ = ["KernelPool", "KernelPoolClosedError"]

log = logging.getLogger(__name__)


class KernelPoolClosedError(WorkscriptError, RuntimeError):
    """The kernel pool was stopped (or never started) and hands out no kernel."""

    code = "KERNEL_POOL_CLOSED"


class KernelPool:
    """Per kernel name, ``size`` kernels started ahead of time; ``size == 0`` turns pooling off."""

    #: seconds between liveness checks of the idle kernels
    health_interval: float = 5.0
    #: first pause after a failed background start; doubles up to ``max_retry_delay``
    retry_delay: float = 1.0
    max_retry_delay: float = 30.0

    def __init__(
        self,
        size: int = 2,
        *,
        kernel_names: Sequence[str] = ("python3",),
        start_timeout: float = 60.0,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if size < 0:
            raise ValueError(f"kernel pool size must be >= 0, not {size}")
        self.size = size
        self.kernel_names: tuple[str, ...] = tuple(dict.fromkeys(kernel_names))
        self.start_timeout = start_timeout
        self.cwd = cwd
        self.env = None if env is None else dict(env)
        self._ready: dict[str, deque[AsyncKernelManager]] = {n: deque() for n in self.kernel_names}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._refillers: dict[str, asyncio.Task[None]] = {}
        self._starting: set[AsyncKernelManager] = set()  # being started (pool or on demand)
        self._handed_out: set[AsyncKernelManager] = set()
        self._background: set[asyncio.Task[None]] = set()  # shutdowns in flight
        self._started = False
        self._closed = False

    # -- public API ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def ready_count(self, kernel_name: str = "python3") -> int:
        """How many started kernels of ``kernel_name`` wait in the pool."""
        return len(self._ready.get(kernel_name, ()))

    @property
    def handed_out(self) -> int:
        """How many kernels were acquired and not discarded yet."""
        return len(self._handed_out)

    async def start(self) -> None:
        """Begin filling the pool in the background; returns at once. Idempotent."""
        if self._closed:
            raise KernelPoolClosedError("the kernel pool was stopped; create a new one")
        if self._started:
            return
        self._started = True
        if self.size == 0:
            return
        for name in self.kernel_names:
            self._wakeups[name] = asyncio.Event()
            self._refillers[name] = asyncio.create_task(
                self._refill_loop(name), name=f"kernel-pool-refill-{name}"
            )

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until every pooled name has ``size`` ready kernels (handy for tests, warm-up)."""

        async def _poll() -> None:
            while not all(len(q) >= self.size for q in self._ready.values()):
                if self._closed:
                    raise KernelPoolClosedError("the kernel pool was stopped")
                await asyncio.sleep(0.05)

        await asyncio.wait_for(_poll(), timeout)

    async def acquire(
        self, kernel_name: str = "python3", *, timeout: float | None = None
    ) -> AsyncKernelManager:
        """A started, alive kernel, handed out exactly once. Give it back with ``discard``.

        Takes a ready kernel from the pool when there is one (checking it is alive first; a dead
        one is dropped and replaced), else starts one on demand within ``timeout`` seconds
        (default: ``start_timeout``).
        """
        self._check_open()
        queue = self._ready.get(kernel_name)
        while queue:
            km = queue.popleft()
            self._wake(kernel_name)
            if await self._alive(km):
                return await self._hand_out(km)
            log.warning("kernel pool: idle %s kernel died; replacing it", kernel_name)
            self._shutdown_in_background(km)
        km = await self._start_kernel(
            kernel_name, self.start_timeout if timeout is None else timeout
        )
        return await self._hand_out(km)

    async def discard(self, km: AsyncKernelManager) -> None:
        """Shut ``km`` down (``now=True``) in the background; the pool refills."""
        self._handed_out.discard(km)
        self._shutdown_in_background(km)
        for name, queue in self._ready.items():
            if km in queue:  # discarding a kernel still in the pool: drop it from there too
                queue.remove(km)
                self._wake(name)

    async def stop(self) -> None:
        """Stop refilling; shut down every kernel held, being started, or handed out."""
        self._closed = True
        refillers = list(self._refillers.values())
        self._refillers.clear()
        for task in refillers:
            task.cancel()
        await asyncio.gather(*refillers, return_exceptions=True)
        kms: list[AsyncKernelManager] = [km for q in self._ready.values() for km in q]
        for queue in self._ready.values():
            queue.clear()
        kms += list(self._handed_out) + list(self._starting)
        self._handed_out.clear()
        self._starting.clear()
        for km in kms:
            self._shutdown_in_background(km)
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def __aenter__(self) -> KernelPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise KernelPoolClosedError("the kernel pool was stopped; no kernel can be acquired")

    async def _hand_out(self, km: AsyncKernelManager) -> AsyncKernelManager:
        if self._closed:  # stop() ran while we waited: this kernel is ours to shut down
            await self._shutdown(km)
            self._check_open()
        self._handed_out.add(km)
        return km

    def _wake(self, kernel_name: str) -> None:
        event = self._wakeups.get(kernel_name)
        if event is not None:
            event.set()

    async def _refill_loop(self, name: str) -> None:
        queue = self._ready[name]
        wakeup = self._wakeups[name]
        delay = self.retry_delay
        while not self._closed:
            # health check of idle kernels
            for km in list(queue):
                if not await self._alive(km):
                    log.warning("kernel pool: idle %s kernel died; replacing it", name)
                    with contextlib.suppress(ValueError):
                        queue.remove(km)
                    self._shutdown_in_background(km)
            if len(queue) < self.size:
                try:
                    km = await self._start_kernel(name, self.start_timeout)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("kernel pool: could not start a %s kernel", name)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_retry_delay)
                    continue
                delay = self.retry_delay
                if self._closed:
                    self._shutdown_in_background(km)
                    return
                queue.append(km)
                continue
            wakeup.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wakeup.wait(), self.health_interval)

    def _new_kernel_manager(self, name: str) -> AsyncKernelManager:
        """The manager of a new kernel: a local process here (remote_kernels.py: a gateway's)."""
        return AsyncKernelManager(kernel_name=name)

    async def _start_kernel(self, name: str, timeout: float) -> AsyncKernelManager:
        """Start a kernel and wait until it answers; on any failure it is shut down."""
        km = self._new_kernel_manager(name)
        self._starting.add(km)
        try:
            await asyncio.wait_for(self._launch(km), timeout)
        except BaseException:
            if km in self._starting:  # else stop() already took it over
                self._starting.discard(km)
                self._shutdown_in_background(km)
            raise
        self._starting.discard(km)
        return km

    async def _launch(self, km: AsyncKernelManager) -> None:
        kwargs: dict[str, Any] = {} if self.cwd is None else {"cwd": self.cwd}
        kwargs["env"] = dict(self.env) if self.env is not None else kernel_env(shared=False)
        await km.start_kernel(**kwargs)
        client = km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=self.start_timeout)
        finally:
            client.stop_channels()

    @staticmethod
    async def _alive(km: AsyncKernelManager) -> bool:
        try:
            return bool(await km.is_alive())
        except Exception:
            log.debug("kernel pool: liveness check failed", exc_info=True)
            return False

    def _shutdown_in_background(self, km: AsyncKernelManager) -> None:
        self._spawn(self._shutdown(km))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _shutdown(km: AsyncKernelManager) -> None:
        try:
            if km.has_kernel:
                await km.shutdown_kernel(now=True)
            else:
                km.cleanup_resources()
        except Exception:
            log.warning("kernel pool: shutting a kernel down failed", exc_info=True)
