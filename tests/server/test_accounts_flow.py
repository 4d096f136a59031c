"""External tools end to end: an API key made by a user, then the key alone (no Jupyter token)
creates, runs and follows a workflow over REST and the WebSocket; logins with JWT rotation.

A real Jupyter server with the extension on a SQLite store; the database backends of sessions
and rate limits (no Redis here: test_accounts_redis.py covers it)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from .conftest import WAIT_30, Api, document, server_config

SECRETS = {
    "jwt_secret": "a" * 40,
    "jwt_refresh_secret": "b" * 40,
    "session_secret": "c" * 40,
    "bcrypt_rounds": 4,
}
PASSWORD = "Correct-Horse-9"


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(workscript_db_url, **SECRETS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_key(api: Api, **body: Any) -> dict[str, Any]:
    reply = await api.post("keys", json_body={"name": "ci", **body})
    assert reply.code == 201, reply.raw
    return reply.body


async def test_a_key_alone_creates_runs_and_follows_a_workflow(api, jp_fetch, jp_ws_fetch):
    created = await make_key(api)
    secret = created["key"]
    assert secret.startswith("wks_live_") and len(secret) >= 9 + 43
    assert created["prefix"] == secret[:13]
    # the key is shown once: listing it never shows the secret again
    listed = await api.get("keys")
    assert secret not in listed.raw.decode() and listed.body["items"][0]["id"] == created["id"]

    tool = Api(jp_fetch, {"Authorization": f"Bearer {secret}"})
    workflow = await tool.post("workflows", json_body={"definition": document()})
    assert workflow.code == 201, workflow.raw
    assert workflow.headers["X-RateLimit-Limit"] == "1000"
    run = await tool.post("workflows", workflow.body["id"], "run", json_body=WAIT_30)
    assert run.code in (200, 202), run.raw
    # X-API-Key works as well as the Bearer form
    by_header = Api(jp_fetch, {"X-API-Key": secret, "Authorization": ""})
    final = await by_header.wait_for_status(run.body["id"], {"completed"})
    assert final["finalState"]["greeting"] == "hello world"

    socket = await jp_ws_fetch("workscript", "ws", headers={"Authorization": f"Bearer {secret}"})
    socket.write_message(json.dumps({"type": "subscribe", "channel": "executions"}))
    subscribed = json.loads(await asyncio.wait_for(socket.read_message(), 10))
    assert subscribed["type"] == "subscribed"
    again = await tool.post("workflows", workflow.body["id"], "run")
    assert again.code == 202, again.raw
    seen = set()
    while "workflow:completed" not in seen:
        message = json.loads(await asyncio.wait_for(socket.read_message(), 15))
        seen.add(message["type"])
    socket.close()


async def test_a_key_never_opens_jupyters_own_routes(api, jp_fetch):
    secret = (await make_key(api))["key"]
    for parts in (("api", "contents"), ("api", "kernels"), ("api", "terminals"), ("lab",)):
        for headers in ({"Authorization": f"Bearer {secret}"}, {"X-API-Key": secret}):
            reply = await jp_fetch(
                *parts,
                headers={"Authorization": "", **headers},
                raise_error=False,
                follow_redirects=False,
            )
            assert reply.code in (302, 403, 404), (parts, reply.code)
            assert reply.code != 200


async def test_wrong_revoked_and_limited_keys(api, jp_fetch):
    key = await make_key(api, permissions=["workflow:read"])
    tool = Api(jp_fetch, {"Authorization": f"Bearer {key['key']}"})
    assert (await tool.get("workflows")).code == 200
    denied = await tool.post("workflows", json_body={"definition": document()})
    assert denied.code == 403 and "workflow:create" in denied.error["message"]
    bad = Api(jp_fetch, {"Authorization": "Bearer wks_live_nope"})
    assert (await bad.get("workflows")).code == 401
    assert (await api.delete("keys", key["id"])).code == 204
    revoked = await tool.get("workflows")
    assert revoked.code == 401 and "revoked" in revoked.error["message"]


async def test_the_rate_limit_answers_429_with_retry_after(api, jp_fetch):
    key = await make_key(api, rateLimit=3)
    tool = Api(jp_fetch, {"Authorization": f"Bearer {key['key']}"})
    remaining = [(await tool.get("workflows")).headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = await tool.get("workflows")
    assert refused.code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.headers["X-RateLimit-Remaining"] == "0"


async def test_login_refresh_rotation_reuse_and_logout(api, jp_fetch):
    user = await api.post("users", json_body={"email": "Ann@Example.org", "password": PASSWORD})
    assert user.code == 201, user.raw
    assert user.body["email"] == "ann@example.org"
    public = Api(jp_fetch, {"Authorization": ""})
    login = await public.post(
        "auth", "login", json_body={"email": "ann@example.org", "password": PASSWORD}
    )
    assert login.code == 200, login.raw
    tokens = login.body
    assert "workscript-session=" in login.headers.get("Set-Cookie", "")
    me = await Api(jp_fetch, bearer(tokens["accessToken"])).get("auth", "me")
    assert me.code == 200 and me.body["email"] == "ann@example.org"
    assert me.body["authenticatedBy"] == "jwt"

    first = await public.post("auth", "refresh", json_body={"refreshToken": tokens["refreshToken"]})
    assert first.code == 200, first.raw
    assert first.body["refreshToken"] != tokens["refreshToken"]
    # the old refresh token presented again: theft — the whole family and session end
    reuse = await public.post("auth", "refresh", json_body={"refreshToken": tokens["refreshToken"]})
    assert reuse.code == 401 and "already used" in reuse.error["message"]
    dead = await public.post(
        "auth", "refresh", json_body={"refreshToken": first.body["refreshToken"]}
    )
    assert dead.code == 401
    ended = await Api(jp_fetch, bearer(first.body["accessToken"])).get("auth", "me")
    assert ended.code == 401

    again = await public.post(
        "auth", "login", json_body={"email": "ann@example.org", "password": PASSWORD}
    )
    mine = Api(jp_fetch, bearer(again.body["accessToken"]))
    assert (await mine.post("auth", "logout", json_body={})).code == 204
    assert (await mine.get("auth", "me")).code == 401
    after = await public.post(
        "auth", "refresh", json_body={"refreshToken": again.body["refreshToken"]}
    )
    assert after.code == 401


async def test_change_password_ends_every_login(api, jp_fetch):
    await api.post("users", json_body={"email": "bo@example.org", "password": PASSWORD})
    public = Api(jp_fetch, {"Authorization": ""})
    body = {"email": "bo@example.org", "password": PASSWORD}
    one = (await public.post("auth", "login", json_body=body)).body
    two = (await public.post("auth", "login", json_body=body)).body
    change = await Api(jp_fetch, bearer(one["accessToken"])).post(
        "auth",
        "change-password",
        json_body={"currentPassword": PASSWORD, "newPassword": "Another-Good-7"},
    )
    assert change.code == 204, change.raw
    for tokens in (one, two):
        assert (await Api(jp_fetch, bearer(tokens["accessToken"])).get("auth", "me")).code == 401
        refresh = await public.post(
            "auth", "refresh", json_body={"refreshToken": tokens["refreshToken"]}
        )
        assert refresh.code == 401
    old = await public.post("auth", "login", json_body=body)
    assert old.code == 401
    new = await public.post(
        "auth", "login", json_body={"email": "bo@example.org", "password": "Another-Good-7"}
    )
    assert new.code == 200


async def test_bad_bodies_are_400_naming_the_field(api, jp_fetch):
    public = Api(jp_fetch, {"Authorization": ""})
    cases = [
        (public, "auth/login", {"password": "x"}, "email"),
        (public, "auth/login", {"email": "not-an-email", "password": "x"}, "email"),
        (public, "auth/refresh", {}, "refreshToken"),
        (public, "password-reset/validate", {}, "token"),
        (api, "keys", {"name": "k", "permissions": ["workflow:fly"]}, "permissions[0]"),
        (api, "keys", {"name": "k", "expiresInDays": -1}, "expiresInDays"),
        (api, "keys", {"name": ""}, "name"),
        (api, "users", {"email": "x@example.org", "role": "king"}, "roles"),
        (api, "users", {"email": "y@example.org", "password": "short"}, "password"),
    ]
    for client, path, body, field in cases:
        reply = await client.post(*path.split("/"), json_body=body)
        assert reply.code == 400, (path, body, reply.code, reply.raw)
        assert reply.error["details"]["field"] == field, (path, reply.error)


async def test_a_websocket_authenticated_by_its_first_message(api, jp_fetch, jp_ws_fetch):
    """For clients that cannot set headers: /workscript/ws/authenticate, then the key."""
    secret = (await make_key(api))["key"]
    socket = await jp_ws_fetch("workscript", "ws", "authenticate", headers={"Authorization": ""})
    socket.write_message(json.dumps({"type": "authenticate", "token": secret}))
    answer = json.loads(await asyncio.wait_for(socket.read_message(), 10))
    assert answer["type"] == "authenticated"
    socket.write_message(json.dumps({"type": "subscribe", "channel": "executions"}))
    assert json.loads(await asyncio.wait_for(socket.read_message(), 10))["type"] == "subscribed"
    socket.close()

    for first in (
        {"type": "subscribe", "channel": "executions"},
        {"type": "authenticate", "token": "wks_live_nope"},
    ):
        refused = await jp_ws_fetch(
            "workscript", "ws", "authenticate", headers={"Authorization": ""}
        )
        refused.write_message(json.dumps(first))
        assert await asyncio.wait_for(refused.read_message(), 10) is None  # closed
        assert refused.close_code == 4401


async def test_the_emailed_link_opens_a_page_without_credentials(jp_fetch):
    page = await jp_fetch(
        "workscript",
        "password-reset",
        params={"token": "ab" * 32},
        headers={"Authorization": ""},
        raise_error=False,
    )
    assert page.code == 200 and b"password-reset/complete" in page.body
    assert b"ab" * 32 not in page.body  # the page never echoes the token
    assert page.headers["Cache-Control"] == "no-store"


async def test_the_session_cookie_is_private_and_needs_xsrf_for_writes(api, jp_fetch):
    await api.post("users", json_body={"email": "cy@example.org", "password": PASSWORD})
    public = Api(jp_fetch, {"Authorization": ""})
    login = await public.post(
        "auth", "login", json_body={"email": "cy@example.org", "password": PASSWORD}
    )
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/a%40b/" in cookie  # the server's base_url (pytest-jupyter's)
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    value = cookie.split(";", 1)[0]
    with_cookie = Api(jp_fetch, {"Authorization": "", "Cookie": value})
    me = await with_cookie.get("auth", "me")
    assert me.code == 200 and me.body["authenticatedBy"] == "session"
    # a cookie is sent by browsers on their own: a write needs Jupyter's XSRF token as well
    write = await with_cookie.unchecked().post("workflows", json_body={"definition": document()})
    assert write.code == 403
    forged = Api(jp_fetch, {"Authorization": "", "Cookie": value[:-4] + "0000"})
    assert (await forged.get("auth", "me")).code == 401


async def test_a_key_records_when_it_was_last_used(api, jp_fetch):
    key = await make_key(api)
    assert key["lastUsedAt"] is None
    tool = Api(jp_fetch, {"Authorization": f"Bearer {key['key']}"})
    assert (await tool.get("workflows")).code == 200
    for _ in range(50):  # written in the background, off the request
        listed = await api.get("keys", key["id"])
        if listed.body["lastUsedAt"] is not None:
            break
        await asyncio.sleep(0.05)
    assert listed.body["lastUsedAt"] is not None


async def test_a_lone_surrogate_is_a_400_not_a_500(api, jp_fetch):
    """JSON may escape half a UTF-16 pair ("\\ud800"): no hash, JWT or database takes it."""
    public = Api(jp_fetch, {"Authorization": ""})
    for client, path, body in (
        (public, "auth/login", '{"email": "x\\ud800@a.b", "password": "x"}'),
        (public, "auth/refresh", '{"refreshToken": "\\udfff"}'),
        (api, "keys", '{"name": "k\\ud800"}'),
        (api, "workflows", '{"definition": {"\\ud800": 1}}'),
    ):
        reply = await client.post(
            *path.split("/"), body=body, headers={"Content-Type": "application/json"}
        )
        assert reply.code == 400, (path, reply.code, reply.raw)
        assert "UTF-16" in reply.error["message"]
    fine = await api.post("keys", json_body={"name": "smile \U0001f600"})  # a whole pair
    assert fine.code == 201


async def test_a_key_cannot_mint_or_extend_keys(api, jp_fetch):
    key = await make_key(api, rateLimit=3, expiresInDays=1)
    tool = Api(jp_fetch, {"Authorization": f"Bearer {key['key']}"})
    minted = await tool.post("keys", json_body={"name": "free", "expiresInDays": 0})
    assert minted.code == 403 and "sign in" in minted.error["message"]
    extended = await tool.call("PATCH", "keys", key["id"], json_body={"expiresInDays": 0})
    assert extended.code == 403


async def test_concurrent_guesses_never_pass_the_lockout(api, jp_fetch):
    """Guesses of one account are checked one at a time: past max_login_attempts (5) the
    rest are refused, however many arrive together."""
    await api.post("users", json_body={"email": "dee@example.org", "password": PASSWORD})
    public = Api(jp_fetch, {"Authorization": ""})
    guesses = [
        public.post("auth", "login", json_body={"email": "dee@example.org", "password": f"N{i}x"})
        for i in range(20)
    ]
    codes = sorted(reply.code for reply in await asyncio.gather(*guesses))
    assert codes.count(401) == 5 and codes.count(429) == 15, codes


async def test_guessing_the_current_password_counts_towards_the_lockout(api, jp_fetch):
    await api.post("users", json_body={"email": "eve@example.org", "password": PASSWORD})
    public = Api(jp_fetch, {"Authorization": ""})
    tokens = (
        await public.post(
            "auth", "login", json_body={"email": "eve@example.org", "password": PASSWORD}
        )
    ).body
    holder = Api(jp_fetch, bearer(tokens["accessToken"]))
    codes = []
    for i in range(7):
        reply = await holder.post(
            "auth",
            "change-password",
            json_body={"currentPassword": f"Guess-{i}", "newPassword": "Another-Good-7"},
        )
        codes.append(reply.code)
    assert codes == [400] * 5 + [429] * 2, codes


async def test_the_owner_cannot_be_disabled_by_another_admin(api, jp_fetch):
    owner = (await api.get("auth", "me")).body
    await api.post(
        "users", json_body={"email": "fay@example.org", "password": PASSWORD, "role": "admin"}
    )
    public = Api(jp_fetch, {"Authorization": ""})
    fay = (
        await public.post(
            "auth", "login", json_body={"email": "fay@example.org", "password": PASSWORD}
        )
    ).body
    other_admin = Api(jp_fetch, bearer(fay["accessToken"]))
    for change in ({"isActive": False}, {"role": "user"}):
        reply = await other_admin.call("PATCH", "users", owner["id"], json_body=change)
        assert reply.code == 409 and "owner" in reply.error["message"], reply.raw
    assert (await api.get("workflows")).code == 200


async def test_an_open_socket_closes_once_its_key_is_revoked(api, jp_ws_fetch, monkeypatch):
    from workscript_jupyter.server import websocket

    monkeypatch.setattr(websocket, "RECHECK_SECONDS", 0.2)
    key = await make_key(api)
    headers = {"Authorization": f"Bearer {key['key']}"}
    socket = await jp_ws_fetch("workscript", "ws", headers=headers)
    first = await jp_ws_fetch("workscript", "ws", "authenticate", headers={"Authorization": ""})
    first.write_message(json.dumps({"type": "authenticate", "token": key["key"]}))
    assert json.loads(await asyncio.wait_for(first.read_message(), 10))["type"] == "authenticated"
    assert (await api.delete("keys", key["id"])).code == 204
    for each in (socket, first):
        while (await asyncio.wait_for(each.read_message(), 10)) is not None:
            pass  # whatever was on its way, then the close
        assert each.close_code == 4401
