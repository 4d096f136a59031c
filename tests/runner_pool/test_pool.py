"""The warm kernel pool: kernels started ahead, each handed out once, all stopped at the end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from jupyter_client.manager import AsyncKernelManager

from workscript_jupyter.runner.pool import KernelPool, KernelPoolClosedError

from ..kernel_processes import kernel_processes

READY = 45.0


def run_pool_test(body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body`` on a fresh loop; afterwards no kernel process of ours may remain."""
    before = kernel_processes()

    async def main() -> None:
        await body()
        others = asyncio.all_tasks() - {asyncio.current_task()}
        assert not others, f"tasks left behind: {others}"

    asyncio.run(main())
    assert kernel_processes() <= before, "kernel processes left running"


async def evaluate(km: AsyncKernelManager, code: str, expression: str) -> Any:
    """Run ``code`` in the kernel, then return the repr of ``expression``."""
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=READY)
        reply = await client.execute(
            code, user_expressions={"v": expression}, reply=True, timeout=READY
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        return reply["content"]["user_expressions"]["v"]["data"]["text/plain"]
    finally:
        client.stop_channels()


async def wait_until(predicate: Callable[[], bool], timeout: float = READY) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def test_acquire_hands_out_fresh_kernels_and_refills() -> None:
    async def body() -> None:
        pool = KernelPool(2)
        await pool.start()
        try:
            await pool.wait_ready(READY)
            first = await pool.acquire()
            assert await first.is_alive()
            assert pool.handed_out == 1
            await pool.wait_ready(READY)  # refilled in the background
            assert pool.ready_count() == 2

            assert await evaluate(first, "leak = 42", "leak") == "42"
            second = await pool.acquire()
            assert second is not first
            assert await evaluate(second, "", "'leak' in globals()") == "False"

            await pool.discard(first)
            await pool.discard(second)
            assert pool.handed_out == 0
        finally:
            await pool.stop()

    run_pool_test(body)


def test_dead_idle_kernel_is_replaced_not_handed_out() -> None:
    async def body() -> None:
        pool = KernelPool(1)
        pool.health_interval = 3600  # leave the check to acquire()
        await pool.start()
        try:
            await pool.wait_ready(READY)
            victim = pool._ready["python3"][0]
            assert victim.provisioner is not None
            pid = victim.provisioner.pid  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
            for _ in range(200):  # until the process is really gone, not just leaving /proc
                if not await victim.is_alive():
                    break
                await asyncio.sleep(0.05)

            km = await pool.acquire()
            assert km is not victim
            assert await km.is_alive()
            assert await evaluate(km, "", "1 + 1") == "2"
            await pool.wait_ready(READY)  # and the pool refilled
            await pool.discard(km)
        finally:
            await pool.stop()

    run_pool_test(body)


def _is_zombie(pid: int) -> bool:
    out = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    return out.stdout.strip().startswith("Z")


def test_size_zero_starts_on_demand() -> None:
    async def body() -> None:
        before = kernel_processes()
        pool = KernelPool(0)
        await pool.start()
        try:
            assert pool.ready_count() == 0
            km = await pool.acquire()
            assert await km.is_alive()
            await asyncio.sleep(0.3)
            assert pool.ready_count() == 0
            assert len(kernel_processes() - before) == 1
            await pool.discard(km)
        finally:
            await pool.stop()

    run_pool_test(body)


def test_kernel_name_not_pooled_starts_on_demand() -> None:
    async def body() -> None:
        pool = KernelPool(1, kernel_names=())  # nothing pooled
        await pool.start()
        try:
            km = await pool.acquire("python3")
            assert await km.is_alive()
            assert pool.ready_count("python3") == 0
            await pool.discard(km)
        finally:
            await pool.stop()

    run_pool_test(body)


def test_stop_shuts_down_held_handed_out_and_starting_kernels() -> None:
    async def body() -> None:
        before = kernel_processes()
        pool = KernelPool(2)
        await pool.start()
        await pool.wait_ready(READY)
        kept = await pool.acquire()  # handed out and never discarded
        await asyncio.sleep(0.1)  # a refill start is now in flight
        assert len(kernel_processes() - before) >= 3
        await pool.stop()
        assert not await kept.is_alive()
        assert kernel_processes() <= before

        with pytest.raises(KernelPoolClosedError, match="stopped"):
            await pool.acquire()
        with pytest.raises(KernelPoolClosedError):
            await pool.start()

    run_pool_test(body)


def test_stop_right_after_start_leaves_nothing() -> None:
    async def body() -> None:
        before = kernel_processes()
        pool = KernelPool(2)
        await pool.start()
        await asyncio.sleep(0.2)  # first kernel mid-start
        await pool.stop()
        assert kernel_processes() <= before

    run_pool_test(body)


def test_dead_idle_kernel_is_replaced_in_the_background() -> None:
    async def body() -> None:
        pool = KernelPool(1)
        pool.health_interval = 0.2
        await pool.start()
        try:
            await pool.wait_ready(READY)
            victim = pool._ready["python3"][0]
            os.kill(victim.provisioner.pid, signal.SIGKILL)  # type: ignore[union-attr]
            await wait_until(
                lambda: pool.ready_count() == 1 and pool._ready["python3"][0] is not victim
            )
            assert await pool._ready["python3"][0].is_alive()
        finally:
            await pool.stop()

    run_pool_test(body)
