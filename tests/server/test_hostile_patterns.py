"""A catastrophic user pattern must not freeze the server (issue 13, item 1).

``^(a|a)+$`` against 27 ``a`` and a ``!`` in a ``validateData`` JSON Schema ``pattern`` once
blocked every request for 10.6 s, and in a ``filter`` regex condition for 2 s. Now the match runs
in the pattern threads, with the default limit of 2 s: while it runs, a GET is answered; then the
run fails with a message naming the node, the parameter and the limit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workscript_jupyter.nodes import patterns

from .conftest import document

EVIL = "^(a|a)+$"
VICTIM = "a" * 27 + "!"

SCHEMA_STEP = {
    "validateData": {
        "validationType": "json_schema",
        "data": {"name": VICTIM},
        "schema": {"type": "object", "properties": {"name": {"type": "string", "pattern": EVIL}}},
    }
}
FILTER_STEP = {
    "filter": {
        "items": [{"name": VICTIM}],
        "conditions": [
            {"field": "name", "dataType": "string", "operation": "regex", "value": EVIL}
        ],
    }
}


async def until_pattern_work_runs() -> None:
    """Polls on the event loop: it only sees the match in progress if the loop is free meanwhile."""
    for _ in range(1000):
        if patterns.in_progress():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the loop never got a turn while the pattern was being matched")


@pytest.mark.parametrize(
    ("step", "where"),
    [
        pytest.param(
            SCHEMA_STEP,
            'validateData node "validateData": schema.properties.name.pattern',
            id="validateData-json-schema",
        ),
        pytest.param(FILTER_STEP, 'filter node "filter": conditions[0].value', id="filter"),
    ],
)
async def test_a_get_is_answered_while_a_catastrophic_pattern_runs(
    api: Any, step: dict[str, Any], where: str
) -> None:
    definition = document(step, onUnhandledError="fail")
    saved = await api.post("workflows", json_body={"definition": definition})
    assert saved.code == 201, saved.raw
    run = asyncio.ensure_future(api.post("workflows", saved.body["id"], "run", params={"wait": 60}))
    await until_pattern_work_runs()
    health = await api.get("health")
    assert health.code == 200, health.raw
    assert not run.done()  # the GET finished first...
    assert patterns.in_progress() == 1  # ...while the match was still running
    reply = await run
    assert reply.code == 200, reply.raw
    assert reply.body["status"] == "failed"
    message = reply.body["error"]["message"]
    assert where in message
    assert "took longer than 2 s" in message
