"""``automation:fired`` on the WebSocket's ``automations`` channel, for the owner only."""

from __future__ import annotations

import pytest

from .conftest import Api, document, server_config
from .test_websocket_e2e import Socket


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(workscript_db_url, scheduler_lock_check_seconds=0.2)


async def test_each_fire_is_announced_on_the_automations_channel(api: Api, jp_ws_fetch):
    socket = Socket(await jp_ws_fetch("workscript", "ws"))
    try:
        assert (await socket.subscribe("automations"))["type"] == "subscribed"
        saved = await api.post("workflows", json_body={"definition": document()})
        created = await api.post(
            "automations",
            json_body={
                "name": "every second",
                "workflowId": saved.body["id"],
                "triggerType": "cron",
                "cron": "* * * * * *",
            },
        )
        assert created.code == 201, created.raw
        automation_id = created.body["id"]
        fired = []
        while len(fired) < 2:
            message = await socket.receive(15)
            if message["type"] == "automation:fired":
                fired.append(message["payload"])
        await api.call(
            "PATCH", "automations", automation_id, "toggle", json_body={"enabled": False}
        )
    finally:
        socket.close()
    assert {p["automationId"] for p in fired} == {automation_id}
    assert all(p["outcome"] in ("fired", "skipped") for p in fired)
    assert fired[0]["scheduledFor"] < fired[1]["scheduledFor"]
    runs = [p["executionId"] for p in fired if p["outcome"] == "fired"]
    assert runs and all(runs)
