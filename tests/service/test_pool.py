"""The worker pool: global and per-user concurrency, fairness between users, stop."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.service.conftest import waiting
from workscript_jupyter.engine import Event
from workscript_jupyter.service import Job, RunLimits, RunPool, WorkscriptService

FINAL = ("workflow:completed", "workflow:failed", "workflow:cancelled")


class Concurrency:
    """Counts runs between workflow:started and their final event, overall and per owner."""

    def __init__(self) -> None:
        self.running: Counter[str] = Counter()
        self.peak_total = 0
        self.peak_by_owner: Counter[str] = Counter()
        self.order: list[tuple[str, str, str]] = []  # (type, owner, execution id)

    def __call__(self, event: Event) -> None:
        owner = event.payload["ownerId"]
        if event.type == "workflow:started":
            self.running[owner] += 1
        elif event.type in FINAL:
            self.running[owner] -= 1
        else:
            return
        self.order.append((event.type, owner, event.execution_id))
        self.peak_total = max(self.peak_total, sum(self.running.values()))
        self.peak_by_owner[owner] = max(self.peak_by_owner[owner], self.running[owner])


def test_never_more_than_max_concurrent_runs(serve):
    tracker = Concurrency()

    async def body(service: WorkscriptService) -> list[Any]:
        service.bus.subscribe(tracker)
        callers = [await service.identities.caller_for(name) for name in ("a", "b", "c")]
        runs = [
            (caller, await service.runs.start_run(caller, definition=waiting(0.1)))
            for caller in callers
            for _ in range(3)
        ]
        assert service.pool.running_count <= 2
        return [await service.runs.wait_for(caller, run.id, 10) for caller, run in runs]

    limits = RunLimits(max_concurrent_runs=2, max_concurrent_runs_per_user=2)
    done = serve(body, single_user=False, limits=limits)
    assert [r.status for r in done] == ["completed"] * 9
    assert tracker.peak_total == 2


def test_a_user_over_the_limit_waits_while_others_proceed(serve):
    tracker = Concurrency()

    async def body(service: WorkscriptService) -> tuple[str, str, list[str]]:
        service.bus.subscribe(tracker)
        alice = await service.identities.caller_for("alice")
        bob = await service.identities.caller_for("bob")
        alice_runs = [
            await service.runs.start_run(alice, definition=waiting(0.2)) for _ in range(3)
        ]
        bob_run = await service.runs.start_run(bob, definition=waiting(0.05))
        # bob's run, queued last, starts at once: alice's second and third wait for her slot
        for run in alice_runs:
            await service.runs.wait_for(alice, run.id, 10)
        await service.runs.wait_for(bob, bob_run.id, 10)
        return alice.user.id, bob.user.id, [r.id for r in alice_runs]

    limits = RunLimits(max_concurrent_runs=3, max_concurrent_runs_per_user=1)
    alice_id, bob_id, alice_runs = serve(body, single_user=False, limits=limits)
    assert tracker.peak_by_owner[alice_id] == 1
    assert tracker.peak_by_owner[bob_id] == 1
    started = [(t, o, e) for t, o, e in tracker.order if t == "workflow:started"]
    # bob's run, queued after all of alice's, started with her first, before her second
    assert {o for _, o, _ in started[:2]} == {alice_id, bob_id}
    assert [o for _, o, _ in started[2:]] == [alice_id, alice_id]
    assert [e for _, o, e in started if o == alice_id] == alice_runs  # her runs in order
    first_end = tracker.order.index(("workflow:completed", alice_id, alice_runs[0]))
    second_start = tracker.order.index(("workflow:started", alice_id, alice_runs[1]))
    assert first_end < second_start


def test_runs_of_one_user_keep_their_order(serve):
    tracker = Concurrency()

    async def body(service: WorkscriptService) -> list[str]:
        service.bus.subscribe(tracker)
        me = await service.identities.caller_for("me")
        runs = [await service.runs.start_run(me, definition=waiting(0.01)) for _ in range(5)]
        for run in runs:
            await service.runs.wait_for(me, run.id, 10)
        return [r.id for r in runs]

    ids = serve(body, limits=RunLimits(max_concurrent_runs=1, max_concurrent_runs_per_user=1))
    assert [e for t, _, e in tracker.order if t == "workflow:started"] == ids
    assert tracker.peak_total == 1


def test_pool_unit_submit_cancel_discard_stop():
    """The pool on its own, with stand-in execute/drop: the scheduling rules alone."""
    from workscript_jupyter.service import Caller
    from workscript_jupyter.store.records import User

    async def main() -> None:
        executed: list[str] = []
        dropped: list[tuple[str, str]] = []
        gates: dict[str, asyncio.Event] = {}

        async def execute(job: Job) -> None:
            executed.append(job.execution_id)
            gate = gates.setdefault(job.execution_id, asyncio.Event())
            await gate.wait()

        async def drop(job: Job, reason: str) -> None:
            dropped.append((job.execution_id, reason))

        limits = RunLimits(max_concurrent_runs=2, max_concurrent_runs_per_user=1)
        pool = RunPool(limits, execute, drop)  # type: ignore[arg-type]
        alice = Caller.of(User("alice", "alice"))
        bob = Caller.of(User("bob", "bob"))
        assert not pool.submit(Job("early", alice, "wf"))  # not started: refused
        pool.start()
        for i, caller in enumerate((alice, alice, alice, bob, bob)):
            pool.submit(Job(f"r{i}", caller, "wf"))
        await asyncio.sleep(0)
        assert executed == ["r0", "r3"] and pool.running_count == 2
        assert pool.running_for("alice") == 1 and pool.queued_count == 3
        assert pool.discard("r2") and not pool.discard("r0")
        assert await pool.cancel("r4")
        assert dropped == [("r4", "cancelled")]
        assert not await pool.cancel("unknown")
        gates["r0"].set()
        await asyncio.sleep(0.01)
        assert executed == ["r0", "r3", "r1"]
        await pool.stop(grace=0.05)  # the stand-ins ignore the request: cancelled outright
        assert pool.running_count == 0 and pool.queued_count == 0
        current = asyncio.current_task()
        assert [t for t in asyncio.all_tasks() if t is not current] == []

    asyncio.run(main())
