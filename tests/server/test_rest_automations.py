"""Automations through a real server: CRUD, validation, manual runs, cron validation, the
scheduler's status and its fires, and per-user scoping.

Every answer is checked against the OpenAPI contract by ``Api``. The webhook receiver has its
own module (test_webhooks.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from .conftest import Api, TwoUsers, document
from .openapi_check import validate_schema

MISSING = "0" * 32
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FINISHED = {"completed", "failed", "timed_out", "cancelled", "interrupted"}
YEARLY = "0 0 1 1 *"  # never fires while a test runs


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _workflow(api: Api, **extra: Any) -> str:
    reply = await api.post("workflows", json_body={"definition": document(**extra)})
    assert reply.code == 201, reply.raw
    return str(reply.body["id"])


async def _automation(api: Api, workflow_id: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "nightly", "workflowId": workflow_id, "triggerType": "manual", **fields}
    reply = await api.post("automations", json_body=body)
    assert reply.code == 201, reply.raw
    return dict(reply.body)


async def _patch(api: Api, *parts: str, json_body: Any = None) -> Any:
    return await api.call("PATCH", *parts, json_body=json_body)


def _next_local(hour: int, minute: int, zone: str, after: datetime) -> datetime:
    """The first ``hour:minute`` in ``zone`` strictly after ``after`` (UTC)."""
    tz = ZoneInfo(zone)
    day = after.astimezone(tz).date()
    for offset in range(3):
        candidate = datetime.combine(day + timedelta(days=offset), dt_time(hour, minute), tz)
        if candidate.astimezone(UTC) > after:
            return candidate.astimezone(UTC)
    raise AssertionError("no next run within three days")


# -- CRUD -------------------------------------------------------------------------------------


async def test_create_get_and_the_shape(api):
    wid = await _workflow(api)
    created = await api.post(
        "automations",
        json_body={
            "name": "  Nightly report ",
            "workflowId": wid,
            "triggerType": "cron",
            "cron": "30 2 * * *",
            "timezone": "UTC",
            "misfirePolicy": "skip",
            "overlapPolicy": "queue",
            "retries": {"count": 2, "delaySeconds": 5, "backoff": 3},
            "timeoutSeconds": 60,
        },
    )
    assert created.code == 201, created.raw
    automation = created.body
    assert re.fullmatch(r"[a-f0-9]{32}", automation["id"])
    assert created.headers["Location"].endswith(f"/workscript/automations/{automation['id']}")
    assert automation["name"] == "Nightly report"
    assert automation["workflowId"] == wid and automation["notebookPath"] is None
    assert automation["triggerType"] == "cron" and automation["cron"] == "30 2 * * *"
    assert automation["triggerConfig"] == {"cronExpression": "30 2 * * *", "timezone": "UTC"}
    assert automation["enabled"] is True
    assert (automation["misfirePolicy"], automation["overlapPolicy"]) == ("skip", "queue")
    assert automation["retries"] == {"count": 2, "delaySeconds": 5, "backoff": 3}
    assert automation["timeoutSeconds"] == 60
    assert automation["hasWebhookToken"] is False and "webhookToken" not in automation
    assert automation["lastRunAt"] is None
    assert ISO_Z.match(automation["createdAt"]) and ISO_Z.match(automation["nextRunAt"])
    expected = _next_local(2, 30, "UTC", _time(automation["createdAt"]))
    assert _time(automation["nextRunAt"]) == expected

    got = await api.get("automations", automation["id"])
    assert got.code == 200 and got.body == automation


async def test_the_request_schemas_describe_what_the_server_accepts(api):
    """The contract's request schemas (not checked by ``Api``) match the server: every body it
    accepts validates, and the mistakes the schema can see are refused by both."""
    wid = await _workflow(api)
    accepted: list[dict[str, Any]] = [
        {"name": "ours", "workflowId": wid, "triggerType": "cron", "cron": "0 9 * * 1-5",
         "timezone": "Europe/Paris", "enabled": False, "misfirePolicy": "run_all",
         "misfireGraceSeconds": 60, "overlapPolicy": "allow",
         "retries": {"count": 1, "delaySeconds": 0.5, "backoff": 1}, "timeoutSeconds": 30},
        {"name": "original", "workflowId": wid, "triggerType": "immediate", "triggerConfig": {},
         "enabled": True},
        {"name": "original cron", "workflowId": wid, "triggerType": "cron",
         "triggerConfig": {"cronExpression": "*/5 * * * *", "timezone": "UTC",
                           "webhookUrl": None}, "enabled": True, "description": "x"},
        {"name": "hook", "workflowId": wid, "triggerType": "webhook"},
        {"name": "flat retries", "workflowId": wid, "triggerType": "manual",
         "cronExpression": "0 0 * * *", "retryCount": 2, "retryDelaySeconds": 1,
         "retryBackoff": 2, "parameters": None},
    ]  # fmt: skip
    for body in accepted:
        validate_schema("AutomationCreate", body)
        reply = await api.post("automations", json_body=body)
        assert reply.code == 201, (body, reply.raw)
    created = (await api.get("automations")).body["items"]
    for automation in created:
        update = {k: v for k, v in automation.items() if k in ("name", "enabled", "timezone")}
        validate_schema("AutomationUpdate", update)

    refused = [
        {"workflowId": wid, "triggerType": "manual"},
        {"name": "n", "workflowId": wid, "triggerType": "manual", "colour": "red"},
        {"name": "n", "workflowId": wid, "triggerType": "hourly"},
        {"name": "n", "workflowId": wid, "triggerType": "manual", "retries": {"count": 11}},
    ]
    for body in refused:
        with pytest.raises(AssertionError):
            validate_schema("AutomationCreate", body)
        assert (await api.post("automations", json_body=body)).code == 400, body
    assert len((await api.get("automations")).body["items"]) == len(accepted)

    for body in ({"expression": "0 9 * * *"}, {"cronExpression": "* * * * * *", "count": 3}):
        validate_schema("CronValidateRequest", body)
        assert (await api.post("cron", "validate", json_body=body)).code == 200


async def test_defaults_of_a_minimal_body(api):
    wid = await _workflow(api)
    automation = await _automation(api, wid)
    assert automation["triggerType"] == "manual"
    assert automation["cron"] is None and automation["nextRunAt"] is None
    assert automation["timezone"] == "UTC" and automation["parameters"] == {}
    assert automation["misfirePolicy"] == "run_once"
    assert automation["overlapPolicy"] == "skip"
    assert automation["retries"]["count"] == 0
    assert automation["timeoutSeconds"] is None


async def test_the_original_body_is_accepted_as_is(api):
    wid = await _workflow(api)
    immediate = await api.post(
        "automations",
        json_body={
            "name": "Run me",
            "workflowId": wid,
            "triggerType": "immediate",
            "triggerConfig": {},
            "enabled": True,
        },
    )
    assert immediate.code == 201, immediate.raw
    assert immediate.body["triggerType"] == "manual"
    assert immediate.body["nextRunAt"] is None

    cron = await api.post(
        "automations",
        json_body={
            "name": "Every morning",
            "workflowId": wid,
            "triggerType": "cron",
            "triggerConfig": {"cronExpression": "0 9 * * *", "timezone": "Europe/Paris"},
            "enabled": True,
        },
    )
    assert cron.code == 201, cron.raw
    assert cron.body["cron"] == "0 9 * * *" and cron.body["timezone"] == "Europe/Paris"
    assert cron.body["triggerConfig"] == {
        "cronExpression": "0 9 * * *",
        "timezone": "Europe/Paris",
    }
    expected = _next_local(9, 0, "Europe/Paris", _time(cron.body["createdAt"]))
    assert _time(cron.body["nextRunAt"]) == expected

    alias = await api.post(
        "automations",
        json_body={
            "name": "alias",
            "workflowId": wid,
            "triggerType": "cron",
            "cronExpression": "15 3 * * *",
            "retryCount": 3,
        },
    )
    assert alias.code == 201, alias.raw
    assert alias.body["cron"] == "15 3 * * *" and alias.body["retries"]["count"] == 3


async def test_list_filters_and_pages(api):
    wid = await _workflow(api)
    ids = []
    for i in range(5):
        ids.append((await _automation(api, wid, name=f"a{i}", enabled=i != 2))["id"])
    await _automation(api, wid, name="cron", triggerType="cron", cron=YEARLY)

    everything = await api.get("automations")
    assert everything.code == 200 and len(everything.body["items"]) == 6
    assert everything.body["nextCursor"] is None

    enabled = await api.get("automations", params={"enabled": "true"})
    assert len(enabled.body["items"]) == 5
    assert all(a["enabled"] for a in enabled.body["items"])
    disabled = await api.get("automations", params={"enabled": "false"})
    assert [a["id"] for a in disabled.body["items"]] == [ids[2]]
    bad = await api.get("automations", params={"enabled": "maybe"})
    assert bad.code == 400 and bad.error["code"] == "BAD_REQUEST"

    crons = await api.get("automations", params={"triggerType": "cron"})
    assert [a["name"] for a in crons.body["items"]] == ["cron"]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = await api.get("automations", params=params)
        assert page.code == 200
        seen += [a["id"] for a in page.body["items"]]
        pages += 1
        cursor = page.body["nextCursor"]
        if cursor is None:
            break
    assert pages == 2 and len(seen) == 6 and len(set(seen)) == 6
    assert set(ids) <= set(seen)

    for limit in ("0", "201", "x"):
        assert (await api.get("automations", params={"limit": limit})).code == 400


async def test_put_and_patch_change_only_what_is_given(api):
    wid = await _workflow(api)
    automation = await _automation(api, wid, triggerType="cron", cron=YEARLY)
    year_start = _time(automation["nextRunAt"])
    assert (year_start.month, year_start.day, year_start.hour) == (1, 1, 0)

    renamed = await api.put("automations", automation["id"], json_body={"name": "renamed"})
    assert renamed.code == 200, renamed.raw
    assert renamed.body["name"] == "renamed"
    assert renamed.body["cron"] == YEARLY and renamed.body["workflowId"] == wid

    recron = await _patch(api, "automations", automation["id"], json_body={"cron": "45 4 * * *"})
    assert recron.code == 200, recron.raw
    assert recron.body["name"] == "renamed" and recron.body["cron"] == "45 4 * * *"
    assert _time(recron.body["nextRunAt"]) == _next_local(
        4, 45, "UTC", _time(recron.body["updatedAt"])
    )

    zoned = await _patch(
        api,
        "automations",
        automation["id"],
        json_body={"cron": "0 9 * * *", "timezone": "America/New_York"},
    )
    assert zoned.code == 200, zoned.raw
    assert zoned.body["timezone"] == "America/New_York"
    assert zoned.body["triggerConfig"]["timezone"] == "America/New_York"
    expected = _next_local(9, 0, "America/New_York", _time(zoned.body["updatedAt"]))
    assert _time(zoned.body["nextRunAt"]) == expected
    assert expected.hour in (13, 14)  # 09:00 in New York is 13:00 or 14:00 UTC

    # the zone alone: the cron is read in the new zone
    tokyo = await _patch(api, "automations", automation["id"], json_body={"timezone": "Asia/Tokyo"})
    assert tokyo.code == 200
    assert _time(tokyo.body["nextRunAt"]) == _next_local(
        9, 0, "Asia/Tokyo", _time(tokyo.body["updatedAt"])
    )

    policies = await api.put(
        "automations",
        automation["id"],
        json_body={"misfirePolicy": "run_all", "retries": {"count": 1}, "timeoutSeconds": None},
    )
    assert policies.code == 200, policies.raw
    assert policies.body["misfirePolicy"] == "run_all"
    assert policies.body["retries"]["count"] == 1
    assert policies.body["cron"] == "0 9 * * *"

    manual = await _patch(api, "automations", automation["id"], json_body={"triggerType": "manual"})
    assert manual.code == 200
    assert manual.body["triggerType"] == "manual" and manual.body["nextRunAt"] is None

    got = await api.get("automations", automation["id"])
    assert got.body == manual.body


async def test_a_bad_update_changes_nothing(api):
    wid = await _workflow(api)
    automation = await _automation(api, wid, triggerType="cron", cron=YEARLY)
    for body, field in (
        ({"cron": "61 * * * *"}, "cron"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"overlapPolicy": "sometimes"}, "overlapPolicy"),
        ({"name": ""}, "name"),
        ({"workflowId": MISSING}, "workflowId"),
        ({"colour": "red"}, "colour"),
    ):
        reply = await api.put("automations", automation["id"], json_body=body)
        assert reply.code == 400, (body, reply.raw)
        assert field in [d["field"] for d in reply.error["details"]], (body, reply.error)
    got = await api.get("automations", automation["id"])
    assert got.body == automation


async def test_toggle_flips_or_sets(api):
    wid = await _workflow(api)
    automation = await _automation(api, wid, triggerType="cron", cron=YEARLY)
    assert automation["nextRunAt"] is not None

    off = await _patch(api, "automations", automation["id"], "toggle")
    assert off.code == 200, off.raw
    assert off.body["enabled"] is False and off.body["nextRunAt"] is None
    on = await _patch(api, "automations", automation["id"], "toggle")
    assert on.body["enabled"] is True and on.body["nextRunAt"] == automation["nextRunAt"]

    still_on = await _patch(
        api, "automations", automation["id"], "toggle", json_body={"enabled": True}
    )
    assert still_on.code == 200 and still_on.body["enabled"] is True
    set_off = await _patch(
        api, "automations", automation["id"], "toggle", json_body={"enabled": False}
    )
    assert set_off.body["enabled"] is False and set_off.body["nextRunAt"] is None
    assert (await api.get("automations", automation["id"])).body["enabled"] is False

    for body in ({"enabled": "yes"}, {"colour": 1}):
        bad = await _patch(api, "automations", automation["id"], "toggle", json_body=body)
        assert bad.code == 400, body
    missing = await _patch(api, "automations", MISSING, "toggle")
    assert missing.code == 404


async def test_delete_then_404(api):
    wid = await _workflow(api)
    automation = await _automation(api, wid)
    deleted = await api.delete("automations", automation["id"])
    assert deleted.code == 204 and deleted.raw == b""
    for call in (
        api.get("automations", automation["id"]),
        api.delete("automations", automation["id"]),
        api.put("automations", automation["id"], json_body={"name": "x"}),
        api.post("automations", automation["id"], "execute"),
        api.get("automations", automation["id"], "stats"),
        api.get("automations", automation["id"], "fires"),
        api.get("automations", automation["id"], "executions"),
    ):
        reply = await call
        assert reply.code == 404, reply.raw
        assert reply.error["code"] == "NOT_FOUND"
    assert (await api.get("automations")).body["items"] == []


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"misfirePolicy": "sometimes"}, "misfirePolicy"),
        ({"overlapPolicy": 3}, "overlapPolicy"),
        ({"retries": {"count": 99}}, "retries.count"),
        ({"retryBackoff": 0}, "retryBackoff"),
        ({"misfireGraceSeconds": -1}, "misfireGraceSeconds"),
        ({"timeoutSeconds": 0}, "timeoutSeconds"),
        ({"enabled": "yes"}, "enabled"),
        ({"triggerType": "hourly"}, "triggerType"),
        ({"colour": "red"}, "colour"),
        ({"name": None}, "name"),
        ({"cron": None}, "cron"),  # a cron automation without a cron expression
        ({"workflowId": None, "notebookPath": "../x.ipynb"}, "notebookPath"),
        ({"workflowId": None, "notebookPath": "/abs/x.ipynb"}, "notebookPath"),
        ({"workflowId": None, "notebookPath": "report.py"}, "notebookPath"),
        ({"workflowId": None}, "workflowId"),
        ({"workflowId": MISSING}, "workflowId"),
        ({"parameters": [1, 2]}, "parameters"),
    ],
)
async def test_each_bad_field_is_a_400_naming_it(api, change, field):
    wid = await _workflow(api)
    body = {"name": "n", "workflowId": wid, "triggerType": "cron", "cron": YEARLY}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None or k not in ("name", "cron")}
    if change.get("workflowId", "") is None:
        del body["workflowId"]
    reply = await api.post("automations", json_body=body)
    assert reply.code == 400, reply.raw
    error = reply.error
    assert error["code"] == "BAD_REQUEST"
    fields = [d["field"] for d in error["details"]]
    assert field in fields, error
    assert all(set(d) == {"field", "message"} and d["message"] for d in error["details"])
    assert field.split(".")[0] in error["message"]
    listed = await api.get("automations")
    assert listed.body["items"] == [], "a refused request created nothing"


async def test_every_mistake_is_listed_at_once(api):
    reply = await api.post(
        "automations",
        json_body={
            "triggerType": "cron",
            "cron": "61 * * * *",
            "misfirePolicy": "never",
            "retries": {"count": 99},
            "shape": "round",
        },
    )
    assert reply.code == 400, reply.raw
    fields = {d["field"] for d in reply.error["details"]}
    assert {"name", "workflowId", "cron", "misfirePolicy", "retries.count", "shape"} <= fields
    assert (await api.get("automations")).body["items"] == []


async def test_bodies_that_are_not_objects(api):
    for body, content_type, code in (
        ("[]", "application/json", 400),
        ('{"name": ', "application/json", 400),
        ("", "application/json", 400),
        ('{"name": "x"}', "text/plain", 415),
    ):
        reply = await api.post("automations", body=body, headers={"Content-Type": content_type})
        assert reply.code == code, (body, reply.raw)
    assert (await api.get("automations")).body["items"] == []


# -- runs -------------------------------------------------------------------------------------


async def test_execute_runs_the_workflow_with_its_initial_state(api):
    wid = await _workflow(api)
    automation = await _automation(api, wid, name="by hand")
    started = await api.post("automations", automation["id"], "execute")
    assert started.code == 202, started.raw
    summary = started.body
    assert summary["trigger"] == "manual" and summary["automationId"] == automation["id"]
    assert summary["workflowId"] == wid and summary["status"] in ("queued", "running")
    assert started.headers["Location"].endswith(f"/workscript/executions/{summary['id']}")

    run = await api.wait_for_status(summary["id"], FINISHED)
    assert run["status"] == "completed", run
    state = run["initialState"]
    assert state["who"] == "world", "the workflow's initialState is there"
    trigger = state["trigger"]
    assert trigger["type"] == "manual"
    assert trigger["automationId"] == automation["id"]
    assert trigger["automationName"] == "by hand"
    assert run["finalState"]["greeting"] == "hello world"
    assert run["scheduledFor"] is None

    runs = await api.get("automations", automation["id"], "executions")
    assert runs.code == 200
    assert [r["id"] for r in runs.body["items"]] == [summary["id"]]
    assert runs.body["items"][0]["automationId"] == automation["id"]


async def test_execute_runs_even_a_disabled_automation(api):
    wid = await _workflow(api)
    automation = await _automation(api, wid, enabled=False)
    started = await api.post("automations", automation["id"], "execute")
    assert started.code == 202, started.raw
    run = await api.wait_for_status(started.body["id"], FINISHED)
    assert run["status"] == "completed"


async def test_stats_after_a_few_runs(api):
    wid = await _workflow(api)
    automation = await _automation(api, wid)
    empty = await api.get("automations", automation["id"], "stats")
    assert empty.code == 200, empty.raw
    assert empty.body == {
        "automationId": automation["id"],
        "runs": 0,
        "byStatus": {},
        "fires": {},
        "successRate": None,
        "medianDurationMs": None,
        "lastRunAt": None,
        "nextRunAt": None,
        "lastStatus": None,
    }

    for _ in range(3):
        started = await api.post("automations", automation["id"], "execute")
        assert started.code == 202
        await api.wait_for_status(started.body["id"], FINISHED)

    stats = (await api.get("automations", automation["id"], "stats")).body
    assert stats["runs"] == 3
    assert stats["byStatus"] == {"completed": 3}
    assert stats["successRate"] == 1.0
    assert stats["lastStatus"] == "completed"
    assert stats["medianDurationMs"] is not None and stats["medianDurationMs"] >= 0
    assert stats["fires"] == {}

    paged = await api.get("automations", automation["id"], "executions", params={"limit": 2})
    assert len(paged.body["items"]) == 2 and paged.body["nextCursor"]
    rest = await api.get(
        "automations",
        automation["id"],
        "executions",
        params={"limit": 2, "cursor": paged.body["nextCursor"]},
    )
    assert len(rest.body["items"]) == 1 and rest.body["nextCursor"] is None


# -- cron validation --------------------------------------------------------------------------


async def test_cron_validate_five_fields(api):
    reply = await api.post("cron", "validate", json_body={"expression": "0 9 * * 1-5"})
    assert reply.code == 200, reply.raw
    result = reply.body
    assert result["valid"] is True and result["hasSeconds"] is False
    assert result["expression"] == "0 9 * * 1-5" and result["timezone"] == "UTC"
    assert isinstance(result["description"], str) and result["description"]
    runs = [_time(t) for t in result["nextRuns"]]
    assert len(runs) == 5
    assert all(a < b for a, b in pairwise(runs))
    assert runs[0] > datetime.now(UTC) - timedelta(seconds=1)
    assert all(t.weekday() < 5 and (t.hour, t.minute, t.second) == (9, 0, 0) for t in runs)


async def test_cron_validate_six_fields_in_a_zone(api):
    reply = await api.post(
        "cron",
        "validate",
        json_body={"cronExpression": "30 0 8 * * *", "timezone": "Asia/Kolkata", "count": 3},
    )
    assert reply.code == 200, reply.raw
    result = reply.body
    assert result["valid"] is True and result["hasSeconds"] is True
    assert result["timezone"] == "Asia/Kolkata"
    runs = [_time(t) for t in result["nextRuns"]]
    assert len(runs) == 3
    assert all(a < b for a, b in pairwise(runs))
    # 08:00:30 in India (UTC+05:30, no daylight saving) is 02:30:30 UTC
    assert all((t.hour, t.minute, t.second) == (2, 30, 30) for t in runs)
    assert [b - a for a, b in pairwise(runs)] == [timedelta(days=1)] * 2
    # and in the zone's own time, with its offset
    assert result["nextRunsLocal"][0].endswith("T08:00:30+05:30")
    assert [datetime.fromisoformat(t) for t in result["nextRunsLocal"]] == runs


async def test_cron_validate_every_second(api):
    reply = await api.post("cron", "validate", json_body={"expression": "* * * * * *"})
    runs = [_time(t) for t in reply.body["nextRuns"]]
    assert [b - a for a, b in pairwise(runs)] == [timedelta(seconds=1)] * 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expression": "61 * * * *"}, None),
        ({"expression": "* * *"}, None),
        ({"expression": "0 9 * * *", "timezone": "Mars/Olympus_Mons"}, "timezone"),
    ],
)
async def test_cron_validate_invalid_is_a_200(api, body, field):
    reply = await api.post("cron", "validate", json_body=body)
    assert reply.code == 200, reply.raw
    result = reply.body
    assert result["valid"] is False
    assert isinstance(result["error"], str) and result["error"]
    assert "field" in result
    if field is not None:
        assert result["field"] == field


async def test_cron_validate_names_the_wrong_cron_field(api):
    result = (await api.post("cron", "validate", json_body={"expression": "61 * * * *"})).body
    assert result["valid"] is False
    assert isinstance(result["field"], str) and result["field"], result


@pytest.mark.parametrize(
    "body",
    [
        {"expression": 5},
        {},
        {"expression": "* * * * *", "count": 0},
        {"expression": "* * * * *", "count": 51},
        {"expression": "* * * * *", "count": True},
        {"expression": "* * * * *", "timezone": 3},
        {"expression": "* * * * *", "colour": "red"},
    ],
)
async def test_cron_validate_bad_types_are_400(api, body):
    reply = await api.post("cron", "validate", json_body=body)
    assert reply.code == 400, reply.raw
    assert reply.error["code"] == "BAD_REQUEST"


# -- the scheduler ----------------------------------------------------------------------------


async def _leader_status(api: Api, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        reply = await api.get("scheduler", "status")
        assert reply.code == 200, reply.raw
        if reply.body["leader"] or time.monotonic() > deadline:
            return dict(reply.body)
        await asyncio.sleep(0.1)


async def test_scheduler_status(api, workscript, workscript_db_url):
    status = await _leader_status(api)
    assert status["enabled"] is True
    assert status["role"] == "local"
    assert status["leader"] is True, status
    assert status["serverId"]
    assert status["lock"]["held"] is True
    backend = "redis" if os.environ.get("REDIS_URL") else "file"
    if workscript_db_url.startswith(("mysql", "mariadb")) and backend != "redis":
        backend = "mysql"
    assert status["lock"]["backend"] == backend
    assert status["leaderSince"] is not None and ISO_Z.match(status["leaderSince"])
    assert status["recentErrors"] == []
    assert status["pollSeconds"] > 0


class TestSchedulingOff:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        config = {**jp_server_config}
        config["WorkscriptApp"] = {**config["WorkscriptApp"], "run_scheduler": False}
        return config

    async def test_status_says_disabled(self, api):
        reply = await api.get("scheduler", "status")
        assert reply.code == 200, reply.raw
        assert reply.body == {"enabled": False, "role": "local"}


async def test_a_cron_automation_fires_every_second(api):
    status = await _leader_status(api)
    assert status["leader"] is True, status
    wid = await _workflow(api)
    automation = await _automation(
        api, wid, name="tick", triggerType="cron", cron="*/1 * * * * *", overlapPolicy="allow"
    )

    deadline = time.monotonic() + 10
    fired: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        page = await api.get("automations", automation["id"], "fires")
        assert page.code == 200, page.raw
        fired = [f for f in page.body["items"] if f["outcome"] == "fired"]
        if len(fired) >= 3:
            break
        await asyncio.sleep(0.2)
    assert len(fired) >= 3, page.body

    ticks = [f["scheduledFor"] for f in fired]
    assert len(set(ticks)) == len(ticks), "each tick is fired once"
    for fire in fired:
        assert fire["automationId"] == automation["id"]
        assert fire["claimedBy"] == status["serverId"]
        assert fire["executionId"] and fire["reason"] is None
        assert _time(fire["scheduledFor"]).microsecond == 0
        assert _time(fire["scheduledFor"]) >= _time(automation["createdAt"]) - timedelta(seconds=1)

    disabled = await _patch(
        api, "automations", automation["id"], "toggle", json_body={"enabled": False}
    )
    assert disabled.body["enabled"] is False and disabled.body["nextRunAt"] is None

    runs = (await api.get("automations", automation["id"], "executions")).body["items"]
    by_id = {r["id"]: r for r in runs}
    for fire in fired:
        run = by_id[fire["executionId"]]
        assert run["trigger"] == "cron" and run["automationId"] == automation["id"]
        assert run["scheduledFor"] is not None
        assert _time(run["scheduledFor"]) == _time(fire["scheduledFor"])
    one = await api.wait_for_status(fired[0]["executionId"], FINISHED)
    assert one["status"] == "completed"
    assert one["initialState"]["trigger"]["type"] == "cron"
    assert one["initialState"]["who"] == "world"

    # once disabled, no new tick (a pass already going may still finish one)
    await asyncio.sleep(1.5)
    settled = len((await api.get("automations", automation["id"], "fires")).body["items"])
    await asyncio.sleep(2.0)
    after = len((await api.get("automations", automation["id"], "fires")).body["items"])
    assert after == settled

    stats = (await api.get("automations", automation["id"], "stats")).body
    assert stats["fires"].get("fired", 0) >= 3
    assert stats["nextRunAt"] is None
    assert stats["lastRunAt"] is not None


async def test_a_cron_run_names_its_tick_as_the_fire_does(api):
    await _leader_status(api)
    wid = await _workflow(api)
    automation = await _automation(
        api, wid, name="tick", triggerType="cron", cron="*/1 * * * * *", overlapPolicy="allow"
    )
    deadline = time.monotonic() + 10
    fired: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not fired:
        page = await api.get("automations", automation["id"], "fires")
        fired = [f for f in page.body["items"] if f["outcome"] == "fired"]
        await asyncio.sleep(0.2)
    await _patch(api, "automations", automation["id"], "toggle", json_body={"enabled": False})
    assert fired
    run = (await api.get("executions", fired[0]["executionId"])).body
    assert run["scheduledFor"] == fired[0]["scheduledFor"]
    assert ISO_Z.match(run["scheduledFor"])


# -- two users --------------------------------------------------------------------------------


class TestScoping(TwoUsers):
    async def test_somebody_elses_automation_is_404(self, alice, bob):
        wid = await _workflow(alice)
        automation = await _automation(alice, wid, triggerType="cron", cron=YEARLY)
        aid = automation["id"]
        run = await alice.post("automations", aid, "execute")
        assert run.code == 202

        for reply in (
            await bob.get("automations", aid),
            await bob.put("automations", aid, json_body={"name": "mine"}),
            await _patch(bob, "automations", aid, json_body={"name": "mine"}),
            await _patch(bob, "automations", aid, "toggle"),
            await bob.post("automations", aid, "execute"),
            await bob.post("automations", aid, "webhook", "rotate"),
            await bob.get("automations", aid, "executions"),
            await bob.get("automations", aid, "fires"),
            await bob.get("automations", aid, "stats"),
            await bob.delete("automations", aid),
        ):
            assert reply.code == 404, reply.raw
            assert reply.error["code"] == "NOT_FOUND"

        unchanged = await alice.get("automations", aid)
        assert unchanged.code == 200
        assert unchanged.body["name"] == "nightly" and unchanged.body["enabled"] is True
        assert (await alice.get("automations", aid, "stats")).body["runs"] == 1

    async def test_lists_are_per_user(self, alice, bob):
        alice_wid = await _workflow(alice)
        bob_wid = await _workflow(bob)
        mine = await _automation(alice, alice_wid, name="alice's")
        theirs = await _automation(bob, bob_wid, name="bob's")
        assert mine["ownerId"] != theirs["ownerId"]
        alice_list = (await alice.get("automations")).body["items"]
        bob_list = (await bob.get("automations")).body["items"]
        assert [a["id"] for a in alice_list] == [mine["id"]]
        assert [a["id"] for a in bob_list] == [theirs["id"]]

    async def test_nobody_automates_somebody_elses_workflow(self, alice, bob):
        alice_wid = await _workflow(alice)
        reply = await bob.post(
            "automations",
            json_body={"name": "steal", "workflowId": alice_wid, "triggerType": "manual"},
        )
        assert reply.code == 400, reply.raw
        assert [d["field"] for d in reply.error["details"]] == ["workflowId"]
        bob_wid = await _workflow(bob)
        own = await _automation(bob, bob_wid)
        moved = await bob.put("automations", own["id"], json_body={"workflowId": alice_wid})
        assert moved.code == 400
        assert (await bob.get("automations", own["id"])).body["workflowId"] == bob_wid
