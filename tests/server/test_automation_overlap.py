"""Overlap policies with a slow workflow: a run takes 2.5 s, the automation fires every second."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

import pytest

from .conftest import Api, server_config

SLOW = {
    "id": "slow",
    "name": "slow",
    "version": "1.0.0",
    "workflow": [{"wait": {"seconds": 2.5}}, {"$.done": True}],
}


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(
        workscript_db_url,
        scheduler_lock_check_seconds=0.2,
        max_concurrent_runs=8,
        max_concurrent_runs_per_user=8,
    )


async def _leader(api: Api) -> None:
    for _ in range(100):
        status = (await api.get("scheduler", "status")).body
        if status.get("leader"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("this server never became the scheduler's leader")


async def _run_for(api: Api, policy: str, seconds: float) -> tuple[list[Any], list[Any]]:
    saved = await api.post("workflows", json_body={"definition": SLOW})
    assert saved.code == 201, saved.raw
    created = await api.post(
        "automations",
        json_body={
            "name": f"overlap {policy}",
            "workflowId": saved.body["id"],
            "triggerType": "cron",
            "cron": "* * * * * *",
            "overlapPolicy": policy,
        },
    )
    assert created.code == 201, created.raw
    automation_id = created.body["id"]
    await asyncio.sleep(seconds)
    off = await api.call(
        "PATCH", "automations", automation_id, "toggle", json_body={"enabled": False}
    )
    assert off.code == 200, off.raw
    for _ in range(100):  # until every run has ended
        runs = (await api.get("automations", automation_id, "executions")).body["items"]
        if all(run["status"] not in ("queued", "running") for run in runs):
            break
        await asyncio.sleep(0.1)
    fires = (await api.get("automations", automation_id, "fires", params={"limit": 200})).body
    return runs, fires["items"]


def _spans(runs: list[Any]) -> list[tuple[datetime, datetime]]:
    spans = [
        (datetime.fromisoformat(r["startedAt"]), datetime.fromisoformat(r["endedAt"]))
        for r in runs
        if r["startedAt"] and r["endedAt"]
    ]
    return sorted(spans)


def _overlaps(runs: list[Any]) -> int:
    spans = _spans(runs)
    return sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1])


async def test_skip_records_the_ticks_that_found_a_run_going(api):
    await _leader(api)
    runs, fires = await _run_for(api, "skip", 6)
    assert all(run["status"] == "completed" for run in runs), runs
    skipped = [f for f in fires if f["outcome"] == "skipped"]
    assert skipped and all(f["reason"].startswith("overlap: run ") for f in skipped)
    assert len(runs) == len([f for f in fires if f["outcome"] == "fired"])
    assert 2 <= len(runs) <= 4
    assert _overlaps(runs) == 0


async def test_queue_runs_every_tick_one_after_the_other(api):
    await _leader(api)
    runs, fires = await _run_for(api, "queue", 5)
    assert {f["outcome"] for f in fires} == {"fired"}
    assert len(runs) == len(fires) >= 4
    assert all(run["status"] == "completed" for run in runs), runs
    assert _overlaps(runs) == 0, "queued runs of one automation never run at once"


async def test_allow_lets_runs_overlap(api):
    await _leader(api)
    runs, fires = await _run_for(api, "allow", 4)
    assert {f["outcome"] for f in fires} == {"fired"}
    assert len(runs) == len(fires) >= 3
    assert _overlaps(runs) >= 2
