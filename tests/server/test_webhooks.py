"""The webhook receiver ``POST /workscript/hooks/{token}`` through a real server.

The receiver is called by external systems: these tests send its requests with tornado's
client directly (``http_server_client``), never through ``jp_fetch`` (which adds the Jupyter
token), so they prove that the token in the path is the only credential needed. Every answer is
still checked against the OpenAPI contract.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jupyter_server.utils import url_path_join

from .conftest import Api, Reply, document
from .openapi_check import check_response

FINISHED = {"completed", "failed", "timed_out", "cancelled", "interrupted"}
NO_WEBHOOK = "no webhook at this address"


@pytest.fixture
def hook(http_server_client, jp_base_url, workscript):
    """``await hook(path_or_token, body=..., headers=...)`` → Reply, without any credential."""

    async def post(
        target: str,
        *,
        body: bytes | str | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        path = target if target.startswith("/") else f"/workscript/hooks/{target}"
        all_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        assert "Authorization" not in all_headers and "Cookie" not in all_headers
        response = await http_server_client.fetch(
            url_path_join(jp_base_url, path.lstrip("/")),
            method="POST",
            body=body if body is not None else b"",
            headers=all_headers,
            raise_error=False,
            request_timeout=20,
        )
        reply = Reply(response.code, response.headers, response.body or b"")
        check_response("POST", path, reply.code, reply.raw)
        return reply

    return post


async def _webhook_automation(api: Api, **fields: Any) -> dict[str, Any]:
    created = await api.post("workflows", json_body={"definition": document()})
    assert created.code == 201, created.raw
    body = {
        "name": "on push",
        "workflowId": created.body["id"],
        "triggerType": "webhook",
        **fields,
    }
    reply = await api.post("automations", json_body=body)
    assert reply.code == 201, reply.raw
    return dict(reply.body)


async def test_the_token_is_shown_once(api):
    automation = await _webhook_automation(api)
    token = automation["webhookToken"]
    assert 16 <= len(token) <= 128
    assert automation["webhookPath"] == f"/workscript/hooks/{token}"
    assert automation["triggerConfig"]["webhookUrl"] == automation["webhookPath"]
    assert automation["hasWebhookToken"] is True
    assert automation["nextRunAt"] is None

    got = await api.get("automations", automation["id"])
    assert got.body["hasWebhookToken"] is True
    assert "webhookToken" not in got.body and "webhookPath" not in got.body
    assert "webhookUrl" not in got.body["triggerConfig"]
    assert token not in got.raw.decode()
    listed = await api.get("automations")
    assert token not in listed.raw.decode()
    renamed = await api.put("automations", automation["id"], json_body={"name": "renamed"})
    assert "webhookToken" not in renamed.body and token not in renamed.raw.decode()


async def test_the_original_body_with_a_webhook_url(api):
    created = await api.post("workflows", json_body={"definition": document()})
    reply = await api.post(
        "automations",
        json_body={
            "name": "hook",
            "workflowId": created.body["id"],
            "triggerType": "webhook",
            "triggerConfig": {"webhookUrl": "/somewhere/else"},
            "enabled": True,
        },
    )
    assert reply.code == 201, reply.raw
    assert reply.body["triggerConfig"]["webhookUrl"] == reply.body["webhookPath"]


async def test_a_post_without_jupyter_credentials_starts_a_run(api, hook):
    automation = await _webhook_automation(api, name="deploy hook")
    # the same client without credentials is refused anywhere else
    refused = await hook("/workscript/automations/" + automation["id"] + "/execute")
    assert refused.code in (401, 403)

    payload = {"ref": "refs/heads/main", "commits": [{"id": "abc"}], "n": 1.5, "ok": None}
    reply = await hook(
        automation["webhookToken"],
        json_body=payload,
        headers={
            "User-Agent": "test-sender/1.0",
            "X-Request-Id": "req-42",
            "X-GitHub-Event": "push",
            "X-Secret-Header": "not for the run",
        },
    )
    assert reply.code == 202, reply.raw
    assert reply.body["status"] == "queued"
    execution_id = reply.body["executionId"]
    assert reply.headers["Location"].endswith(f"/workscript/executions/{execution_id}")

    run = await api.wait_for_status(execution_id, FINISHED)
    assert run["status"] == "completed", run
    assert run["trigger"] == "webhook" and run["automationId"] == automation["id"]
    state = run["initialState"]
    assert state["who"] == "world", "the workflow's initialState is kept"
    assert state["webhook"]["body"] == payload
    headers = state["webhook"]["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "test-sender/1.0"
    assert headers["x-request-id"] == "req-42"
    assert headers["x-github-event"] == "push"
    assert set(headers) <= {"content-type", "user-agent", "x-request-id", "x-github-event"}
    trigger = state["trigger"]
    assert trigger["type"] == "webhook"
    assert trigger["automationId"] == automation["id"]
    assert trigger["automationName"] == "deploy hook"
    assert trigger["receivedAt"]

    runs = await api.get("automations", automation["id"], "executions")
    assert [r["id"] for r in runs.body["items"]] == [execution_id]


async def test_an_empty_body_is_fine(api, hook):
    automation = await _webhook_automation(api)
    reply = await hook(automation["webhookToken"])
    assert reply.code == 202, reply.raw
    run = await api.wait_for_status(reply.body["executionId"], FINISHED)
    assert run["initialState"]["webhook"]["body"] is None


async def test_a_json_array_body_is_passed_as_is(api, hook):
    automation = await _webhook_automation(api)
    reply = await hook(automation["webhookToken"], json_body=[1, "two", {"three": 3}])
    assert reply.code == 202, reply.raw
    run = await api.wait_for_status(reply.body["executionId"], FINISHED)
    assert run["initialState"]["webhook"]["body"] == [1, "two", {"three": 3}]


async def test_unknown_rotated_and_disabled_tokens_are_the_same_404(api, hook):
    automation = await _webhook_automation(api)
    old = automation["webhookToken"]

    unknown = await hook("x" * 40, json_body={})
    assert unknown.code == 404
    assert unknown.error["code"] == "NOT_FOUND"
    assert unknown.error["message"] == NO_WEBHOOK

    rotated = await api.post("automations", automation["id"], "webhook", "rotate")
    assert rotated.code == 200, rotated.raw
    new = rotated.body["webhookToken"]
    assert new != old and rotated.body["webhookPath"] == f"/workscript/hooks/{new}"
    assert rotated.body["hasWebhookToken"] is True

    stale = await hook(old, json_body={})
    assert stale.code == 404
    assert stale.body == unknown.body, "a rotated token tells nothing more than an unknown one"
    fresh = await hook(new, json_body={"after": "rotation"})
    assert fresh.code == 202, fresh.raw

    off = await api.call(
        "PATCH", "automations", automation["id"], "toggle", json_body={"enabled": False}
    )
    assert off.code == 200
    disabled = await hook(new, json_body={})
    assert disabled.code == 404 and disabled.body == unknown.body
    on = await api.call("PATCH", "automations", automation["id"], "toggle")
    assert on.body["enabled"] is True
    assert (await hook(new, json_body={})).code == 202

    await api.delete("automations", automation["id"])
    deleted = await hook(new, json_body={})
    assert deleted.code == 404 and deleted.body == unknown.body


async def test_a_malformed_token_is_not_the_receiver(hook, workscript):
    """A path whose token is not of the token's form is not the webhook route: the catch-all
    answers it, and without credentials Jupyter refuses the POST first."""
    for target in ("short", "has.dots.in.it.and.more.than.16", "x" * 129):
        reply = await hook(target, json_body={})
        assert reply.code == 403, (target, reply.raw)


async def test_leaving_the_webhook_trigger_drops_the_token(api, hook):
    automation = await _webhook_automation(api)
    token = automation["webhookToken"]
    manual = await api.put("automations", automation["id"], json_body={"triggerType": "manual"})
    assert manual.code == 200, manual.raw
    assert manual.body["hasWebhookToken"] is False and "webhookToken" not in manual.body
    assert (await hook(token, json_body={})).code == 404
    not_a_webhook = await api.post("automations", automation["id"], "webhook", "rotate")
    assert not_a_webhook.code == 400
    assert not_a_webhook.error["code"] == "BAD_REQUEST"

    back = await api.put("automations", automation["id"], json_body={"triggerType": "webhook"})
    assert back.code == 200, back.raw
    new = back.body["webhookToken"]
    assert new != token and back.body["hasWebhookToken"] is True
    assert (await hook(new, json_body={})).code == 202
    assert (await hook(token, json_body={})).code == 404


async def test_body_limits_and_types(api, hook):
    automation = await _webhook_automation(api)
    token = automation["webhookToken"]

    big = json.dumps({"blob": "x" * (1024 * 1024)})
    too_large = await hook(token, body=big, headers={"Content-Type": "application/json"})
    assert too_large.code == 413, too_large.raw
    assert too_large.error["code"] == "PAYLOAD_TOO_LARGE"

    text = await hook(token, body="hello", headers={"Content-Type": "text/plain"})
    assert text.code == 415, text.raw
    assert text.error["code"] == "UNSUPPORTED_MEDIA_TYPE"

    broken = await hook(token, body='{"a": ', headers={"Content-Type": "application/json"})
    assert broken.code == 400, broken.raw
    assert broken.error["code"] == "BAD_REQUEST"

    vendor = await hook(
        token, body='{"a": 1}', headers={"Content-Type": "application/vnd.github+json"}
    )
    assert vendor.code == 202, vendor.raw

    assert (await api.get("automations", automation["id"], "stats")).body["runs"] == 1


async def test_the_token_never_reaches_the_logs(api, hook, caplog):
    """A refused call with the right token is logged (Jupyter's access log, our own error line)
    with the token masked: logs are read by more people than the automation's owner."""
    import logging

    automation = await _webhook_automation(api)
    token = automation["webhookToken"]
    with caplog.at_level(logging.DEBUG):
        broken = await hook(token, body='{"a": ', headers={"Content-Type": "application/json"})
        too_large = await hook(
            token,
            body=json.dumps({"blob": "x" * (1024 * 1024)}),
            headers={"Content-Type": "application/json"},
        )
    assert (broken.code, too_large.code) == (400, 413)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/workscript/hooks/***" in logged
    assert token not in logged
