"""The leader lock's interface and the machinery its backends share (threads, timeouts, logging)."""

from __future__ import annotations

import asyncio
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from ..errors import ConfigurationError
from ..store.connection import parse_db_url

__all__ = [
    "DEFAULT_LOCK_NAME",
    "DEFAULT_TIMEOUT_SECONDS",
    "DEFAULT_TTL_SECONDS",
    "MYSQL_BACKENDS",
    "LeaderLock",
    "parse_db_url",
]

log = logging.getLogger(__name__)

DEFAULT_LOCK_NAME = "workscript-scheduler"
DEFAULT_TTL_SECONDS = 10.0
# per blocking call; a call waiting behind a stuck one waits at most as long again
DEFAULT_TIMEOUT_SECONDS = 3.0
MYSQL_LOCK_NAME_MAX = 64  # GET_LOCK refuses longer names
MYSQL_BACKENDS = ("mysql", "mariadb")


class _Busy(Exception):
    """A previous call of the same lock still runs in its thread (it outlived its timeout)."""


class LeaderLock(ABC):
    """A lock that at most one process holds; ``held`` is what the last call found."""

    backend: ClassVar[str]

    def __init__(self, name: str, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if timeout_seconds <= 0:
            raise ConfigurationError(f"timeout_seconds must be positive, not {timeout_seconds}")
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._held = False
        self._failing = False  # warned about a failure; quiet until a call succeeds again
        self._io = threading.Lock()  # the hard guarantee: one blocking call at a time
        self._pending: asyncio.Future[bool] | None = None

    @property
    def held(self) -> bool:
        return self._held

    async def try_acquire(self) -> bool:
        """Take the lock if it is free (never waits for it); True if we hold it now."""
        acquired = await self._call(self._acquire, "acquire")
        self._update(acquired)
        return acquired

    async def check(self) -> bool:
        """Is the lock still ours? Renews a TTL where there is one; False once it is lost."""
        if not self._held:
            return False
        still = await self._call(self._check, "check")
        self._update(still)
        return still

    async def release(self) -> None:
        """Give the lock up (if held) and close what holds it. Never raises; idempotent."""
        await self._call(self._release, "release")
        if self._held:
            log.info("released the leader lock %r (%s)", self.name, self.backend)
        self._held = False

    def describe(self) -> dict[str, Any]:
        """For status pages and logs: never a URL, so never a password."""
        return {"backend": self.backend, "name": self.name, "held": self._held, **self._details()}

    # -- what each backend does, blocking, in a worker thread -----------------------------------

    @abstractmethod
    def _acquire(self) -> bool: ...

    @abstractmethod
    def _check(self) -> bool: ...

    @abstractmethod
    def _release(self) -> bool: ...

    def _details(self) -> dict[str, Any]:
        return {}

    # -- plumbing -------------------------------------------------------------------------------

    async def _call(self, operation: Callable[[], bool], what: str) -> bool:
        """``operation()`` in a thread under the timeout; any failure is False (logged once).

        A call that outlives its timeout keeps running in its thread (a thread cannot be
        stopped); the next call waits for it rather than start a second thread on the same
        connection. The operations are written so that a late success is harmless: the next
        ``try_acquire`` finds the lock already ours.
        """
        loop = asyncio.get_running_loop()
        try:
            await self._wait_for_pending(loop)
            task: asyncio.Future[bool] = asyncio.ensure_future(
                asyncio.to_thread(self._one_at_a_time, operation)
            )
            task.add_done_callback(_consume)
            self._pending = task
            result = await asyncio.wait_for(asyncio.shield(task), self.timeout_seconds)
        except _Busy:
            self._failed(what, "a previous call is still running")
            return False
        except TimeoutError:
            self._failed(what, f"no answer within {self.timeout_seconds:g} s")
            return False
        except Exception as error:  # noqa: BLE001 - any failure means "not leader now"
            self._failed(what, f"{type(error).__name__}: {error}")
            return False
        if self._failing and what != "release":  # a release may not even reach the server
            self._failing = False
            log.info("leader lock %r (%s) works again", self.name, self.backend)
        return result

    async def _wait_for_pending(self, loop: asyncio.AbstractEventLoop) -> None:
        deadline = loop.time() + self.timeout_seconds
        while (pending := self._pending) is not None and not pending.done():
            if pending.get_loop() is not loop:
                return  # left by another event loop: the thread lock decides
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise _Busy
            await asyncio.wait({pending}, timeout=remaining)

    def _one_at_a_time(self, operation: Callable[[], bool]) -> bool:
        if not self._io.acquire(timeout=self.timeout_seconds):
            raise _Busy
        try:
            return operation()
        finally:
            self._io.release()

    def _failed(self, what: str, reason: str) -> None:
        level = logging.DEBUG if self._failing else logging.WARNING
        self._failing = True
        log.log(level, "leader lock %r (%s): %s failed: %s", self.name, self.backend, what, reason)

    def _update(self, now_held: bool) -> None:
        if self._held and not now_held:
            log.warning("lost the leader lock %r (%s)", self.name, self.backend)
        elif now_held and not self._held:
            log.info("acquired the leader lock %r (%s)", self.name, self.backend)
        self._held = now_held


def _consume(task: asyncio.Future[bool]) -> None:
    """Retrieve the outcome of a call nobody awaits any more (it timed out), so asyncio does
    not report "exception was never retrieved"."""
    if not task.cancelled():
        task.exception()
