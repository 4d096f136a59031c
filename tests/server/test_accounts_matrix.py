"""The auth matrix: every route of the route table x every kind of credential, on one server.

Credentials: none, a malformed key, a garbage bearer, an expired JWT, an access token signed
with the refresh secret, a real refresh token used as an access token, a refresh-typed token
signed with the access secret, a revoked key, an
expired key, another user's key, an ``api``-role key without the route's permission, and
valid ones (a JWT and a key). Each gets the documented status: 401 for a bad credential, 403
for a missing permission, 404 for another user's rows, and for a valid one a 2xx or a 4xx
about the (empty) body — never a 5xx. Then: a workscript key or token never opens Jupyter's
own routes.

One server for the whole matrix: a server per cell would cost minutes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from jupyter_server.base.handlers import APIHandler
from tornado.httpclient import HTTPClientError

from workscript_jupyter.auth.permissions import ROLE_PERMISSIONS
from workscript_jupyter.auth.tokens import JwtSettings, TokenIssuer
from workscript_jupyter.server.routes import routes
from workscript_jupyter.store.records import Scope

from .conftest import Api, document, server_config
from .test_accounts_redis import SECRETS_ENV, JupyterProcess
from .test_auth_coverage import OPEN, ROUTE_VERBS

SECRETS: dict[str, Any] = {
    "jwt_secret": "m" * 40,
    "jwt_refresh_secret": "n" * 40,
    "session_secret": "o" * 40,
    "bcrypt_rounds": 4,
}
PASSWORD = "Matrix-Pass-42"
MISSING = "0" * 32
HANDLERS = {handler.__name__: handler for _, handler in routes()}
PERMISSION = {name: dict(getattr(h, "permissions", {}) or {}) for name, h in HANDLERS.items()}
API_ROLE = ROLE_PERMISSIONS["api"]


@pytest.fixture
def jp_server_config(workscript_db_url: str) -> Any:
    return server_config(workscript_db_url, **SECRETS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """Ann (admin) owns a workflow, a run, an automation, a (private) resource and keys; Bob
    (user) and Cy (api role) each have a key of their own."""

    ids: dict[str, str]  # resource kind -> one of Ann's ids
    credentials: dict[str, dict[str, str]]  # row name -> headers


async def login(public: Api, email: str) -> dict[str, Any]:
    reply = await public.post("auth", "login", json_body={"email": email, "password": PASSWORD})
    assert reply.code == 200, reply.raw
    return dict(reply.body)


async def new_key(as_user: Api, name: str, **body: Any) -> dict[str, Any]:
    reply = await as_user.post("keys", json_body={"name": name, **body})
    assert reply.code == 201, reply.raw
    return dict(reply.body)


async def build_world(api: Api, jp_fetch: Any, store: Any) -> World:
    users = {}
    for email, role in (("ann@m.org", "admin"), ("bob@m.org", "user"), ("cy@m.org", "api")):
        # the api role cannot make keys: Cy gets that one extra permission, not her key
        extra = ["apikey:create"] if role == "api" else []
        body = {"email": email, "password": PASSWORD, "roles": [role], "permissions": extra}
        made = await api.post("users", json_body=body)
        assert made.code == 201, made.raw
        users[email] = made.body["id"]
    public = Api(jp_fetch, {"Authorization": ""})
    ann_tokens = await login(public, "ann@m.org")
    ann = public.as_user(bearer(ann_tokens["accessToken"]))
    valid_key = await new_key(ann, "valid")
    revoked_key = await new_key(ann, "revoked")
    expired_key = await new_key(ann, "expired")
    target_key = await new_key(ann, "to delete")
    assert (await ann.delete("keys", revoked_key["id"])).code == 204
    # expired in the store itself, before it is ever used (nothing has cached it)
    await asyncio.to_thread(
        store.credentials.update_api_key,
        Scope(users["ann@m.org"], is_admin=True),
        expired_key["id"],
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    # a Google connection of Ann's, as the consent flow would have saved it
    connection = await asyncio.to_thread(
        store.integrations.create,
        Scope(users["ann@m.org"]),
        provider="google",
        account_id="ann-google",
        account_email="ann@gmail.example",
    )
    bob = public.as_user(bearer((await login(public, "bob@m.org"))["accessToken"]))
    bob_key = await new_key(bob, "bob's")
    cy = public.as_user(bearer((await login(public, "cy@m.org"))["accessToken"]))
    cy_key = await new_key(cy, "cy's", permissions=sorted(API_ROLE))
    assert set(cy_key["permissions"]) == API_ROLE

    with_key = public.as_user(bearer(valid_key["key"]))
    workflow = await with_key.post("workflows", json_body={"definition": document()})
    assert workflow.code == 201, workflow.raw
    run = await with_key.post("workflows", workflow.body["id"], "run", json_body={})
    assert run.code in (200, 202), run.raw
    await with_key.wait_for_status(run.body["id"], {"completed"})
    automation = await with_key.post(
        "automations",
        json_body={"name": "m", "workflowId": workflow.body["id"], "triggerType": "manual"},
    )
    assert automation.code == 201, automation.raw
    resource = await with_key.post("resources", json_body={"path": "m.txt", "content": "m"})
    assert resource.code == 201, resource.raw

    access = pyjwt.decode(ann_tokens["accessToken"], options={"verify_signature": False})
    settings = JwtSettings(SECRETS["jwt_secret"], SECRETS["jwt_refresh_secret"])
    an_hour_ago = TokenIssuer(settings, clock=lambda: time.time() - 3600)
    expired_jwt = an_hour_ago.issue_access(access["sub"], session_id=access["sid"]).token
    # an access token in every way but its signature, made with the refresh secret
    swapped = JwtSettings(SECRETS["jwt_refresh_secret"], SECRETS["jwt_secret"])
    refresh_signed = TokenIssuer(swapped).issue_access(access["sub"], session_id=access["sid"])
    # and a refresh-typed token signed with the access secret: its type alone refuses it
    retyped = JwtSettings("x" * 40, SECRETS["jwt_secret"])
    refresh_typed = TokenIssuer(retyped).issue_refresh(
        access["sub"], session_id=access["sid"], family_id=None
    )
    return World(
        ids={
            "workflows": workflow.body["id"],
            "executions": run.body["id"],
            "automations": automation.body["id"],
            "keys": target_key["id"],
            "users": users["bob@m.org"],
            "resources": resource.body["id"],
            "integrations": connection.id,
        },
        credentials={
            "none": {"Authorization": ""},
            "malformed key": {"X-API-Key": "wks_live_x", "Authorization": ""},
            "garbage bearer": bearer("eyJnYXJiYWdl.Z2FyYmFnZQ.Z2FyYmFnZQ"),
            "expired jwt": bearer(expired_jwt),
            "refresh-signed access": bearer(refresh_signed.token),
            "refresh token as access": bearer(ann_tokens["refreshToken"]),
            "refresh-typed access": bearer(refresh_typed.token),
            "revoked key": bearer(revoked_key["key"]),
            "expired key": {"X-API-Key": expired_key["key"], "Authorization": ""},
            "other user's key": bearer(bob_key["key"]),
            "api-role key": bearer(cy_key["key"]),
            "valid jwt": bearer(ann_tokens["accessToken"]),
            "valid key": bearer(valid_key["key"]),
        },
    )


def real_path(path: str, ids: dict[str, str]) -> str:
    """The sample path with Ann's ids in place of the sample id of each resource."""
    parts = path.strip("/").split("/")
    for index, part in enumerate(parts):
        if part == MISSING and index > 0 and parts[index - 1] in ids:
            parts[index] = ids[parts[index - 1]]
    return "/" + "/".join(parts)


# bodies that get a PUT or PATCH of someone else's row past the body checks to the lookup
BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "workflows"): {"definition": document()},
    ("PATCH", "automations"): {"name": "renamed"},
    ("PATCH", "keys"): {"name": "renamed"},
    ("PATCH", "integrations"): {"name": "renamed"},
    ("PATCH", "users"): {"name": "Bob"},
    ("PUT", "resources"): {"name": "renamed"},
    ("PATCH", "resources"): {"name": "renamed"},
    ("PUT", "content"): {"content": "replaced"},  # /resources/{id}/content
}
BAD = {
    "malformed key": "not valid",
    "garbage bearer": "malformed",
    "expired jwt": "expired",
    "refresh-signed access": "signature",
    "refresh token as access": "signature",
    "refresh-typed access": "not a workscript access token",
    "revoked key": "revoked",
    "expired key": "expired",
}
VALID = ("valid jwt", "valid key")
# a key never makes or changes keys (a leaked key would mint keys without its limit or expiry)
KEYS_BY_SIGNED_IN_USERS = {("KeysHandler", "POST"), ("KeyHandler", "PATCH")}
NO_SUCH_ROUTE = {"WebhookHandler", "NotFoundHandler"}  # a 404 whoever asks
SKIPPED = {"OpenApiHandler"}  # test_a_key_opens_the_openapi_document
# a service this server does not configure (no OpenRouter key, no Google client): its
# documented 503 and code (the Google callback answers a page that says so)
NOT_CONFIGURED = {
    ("AiModelsSyncHandler", "POST"): b'"MISSING_API_KEY"',
    ("IntegrationTestHandler", "POST"): b'"GOOGLE_NOT_CONFIGURED"',
    ("GoogleCallbackHandler", "GET"): b"Google account not connected",
}


async def request(jp_fetch: Any, verb: str, path: str, headers: dict[str, str], body: Any) -> Any:
    return await jp_fetch(
        *path.strip("/").split("/"),
        method=verb,
        body=json.dumps(body) if body is not None else ("" if verb != "GET" else None),
        headers={"Content-Type": "application/json", **headers},
        raise_error=False,
        allow_nonstandard_methods=True,
        follow_redirects=False,
    )


def body_for(verb: str, path: str, ids: dict[str, str]) -> Any:
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[2] in ids.values():  # /resources/{id}/content
        return BODIES.get((verb, parts[3]))
    if len(parts) == 3 and parts[2] in ids.values():
        body = BODIES.get((verb, parts[1]))
        if body is None and (verb, parts[1]) == ("PUT", "automations"):
            body = {"name": "m", "workflowId": ids["workflows"], "triggerType": "manual"}
        return body
    return None


def credential_of(headers: dict[str, str]) -> str:
    """The key or token these headers carry ('' for none)."""
    return headers.get("X-API-Key") or headers["Authorization"].removeprefix("Bearer ")


def is_socket(handler: str) -> bool:
    return not issubclass(HANDLERS[handler], APIHandler)


def judge(row: str, handler: str, verb: str, path: str, code: int, raw: bytes, world: World) -> str:
    """What is wrong with this answer ('' when it is the documented one)."""
    permission = PERMISSION[handler].get(verb)
    kinds = ("workflows", "executions", "automations", "keys", "resources", "integrations")
    others = [world.ids[kind] for kind in kinds]
    names_a_row = any(row_id in path for row_id in others)
    if code == 503 and NOT_CONFIGURED.get((handler, verb), b"\0") in raw:
        return ""
    if code >= 500:
        return "a server error"
    if row in BAD:
        secret = credential_of(world.credentials[row])
        if secret and secret.encode() in raw:
            return "the refusal repeats the credential"
        return "" if code == 401 else "not 401"
    if row == "none":
        if (handler, verb) in OPEN:  # a static page, a 400 about the body, an unknown webhook
            return "a public verb refused an anonymous call" if code in (401, 403) else ""
        return "" if code in (401, 403) else "answered without credentials"
    if handler in NO_SUCH_ROUTE:
        return "" if code == 404 else "not 404"
    if (handler, verb) in KEYS_BY_SIGNED_IN_USERS and "key" in row:
        return "" if code == 403 else "a key made or changed a key"
    if row in ("other user's key", "api-role key"):
        held = ROLE_PERMISSIONS["user"] if row == "other user's key" else API_ROLE
        if permission not in (None, "public") and permission not in held:
            return "" if code == 403 else "not 403 without the permission"
        if names_a_row:
            return "" if code == 404 else "someone else's row is not a 404"
        if any(row_id.encode() in raw for row_id in others):
            return "shows someone else's row"
    if code in (401, 403, 404):
        return "a valid credential refused"
    return ""


async def test_every_route_gives_each_credential_its_documented_status(
    api: Api, jp_fetch: Any, jp_ws_fetch: Any, workscript: Any
) -> None:
    world = await build_world(api, jp_fetch, workscript["store"])
    wrong = []
    for row, headers in world.credentials.items():
        for handler, verb, sample in ROUTE_VERBS:
            if handler in SKIPPED or is_socket(handler):
                continue  # the sockets: below
            if row in VALID and (verb == "DELETE" or sample.endswith("/logout")):
                continue  # the last phase: they end what the other cells use
            path = real_path(sample, world.ids)
            reply = await request(jp_fetch, verb, path, headers, body_for(verb, path, world.ids))
            problem = judge(row, handler, verb, path, reply.code, reply.body or b"", world)
            if problem:
                wrong.append(
                    f"{row}: {verb} {path} → {reply.code} ({problem}) {reply.body[:100]!r}"
                )
    assert wrong == [], f"{len(wrong)} cells wrong:\n" + "\n".join(wrong)

    # each bad credential is refused for its own reason
    for row, reason in BAD.items():
        reply = await request(
            jp_fetch, "GET", "/workscript/workflows", world.credentials[row], None
        )
        assert reason in json.loads(reply.body)["error"]["message"], (row, reply.body)

    # the WebSocket: an upgrade with each credential
    for row, headers in world.credentials.items():
        try:
            socket = await jp_ws_fetch("workscript", "ws", headers=headers)
        except HTTPClientError as error:
            code = error.code
        else:
            socket.close()
            code = 101
        expected = {401} if row in BAD else {401, 403} if row == "none" else {101}
        assert code in expected, (row, code)
    # ... and with it in the first message, for clients that cannot set headers
    for row, headers in world.credentials.items():
        if row == "none":
            continue
        socket = await jp_ws_fetch(
            "workscript", "ws", "authenticate", headers={"Authorization": ""}
        )
        socket.write_message(json.dumps({"type": "authenticate", "token": credential_of(headers)}))
        answer = await asyncio.wait_for(socket.read_message(), 10)
        if row in BAD:
            assert answer is None and socket.close_code == 4401, (row, answer)
        else:
            assert json.loads(answer)["type"] == "authenticated", (row, answer)
            socket.close()

    # last: what ends things. A key deletes Ann's rows; a JWT's logout ends its session
    key = world.credentials["valid key"]
    for kind in ("executions", "automations", "workflows", "keys", "resources"):
        path = f"/workscript/{kind}/{world.ids[kind]}"
        assert (await request(jp_fetch, "DELETE", path, key, None)).code == 204, path
        after = await request(jp_fetch, "GET", path, key, None)
        if kind == "keys":  # a revoked key stays listed, marked revoked
            assert json.loads(after.body)["revokedAt"] is not None
        else:
            assert after.code == 404, path
    path = f"/workscript/integrations/{world.ids['integrations']}"  # answers {deleted, revoked}
    assert (await request(jp_fetch, "DELETE", path, key, None)).code == 200, path
    assert (await request(jp_fetch, "GET", path, key, None)).code == 404, path
    assert (await request(jp_fetch, "POST", "/workscript/auth/logout", key, {})).code == 204
    jwt_headers = world.credentials["valid jwt"]
    logout = await request(jp_fetch, "POST", "/workscript/auth/logout", jwt_headers, {})
    assert logout.code == 204
    assert (await request(jp_fetch, "GET", "/workscript/auth/me", jwt_headers, None)).code == 401


async def test_a_key_opens_the_openapi_document(api: Api, jp_fetch: Any, workscript: Any) -> None:
    key = (await api.post("keys", json_body={"name": "spec"})).body["key"]
    good = await request(jp_fetch, "GET", "/workscript/openapi.json", bearer(key), None)
    bad = await request(jp_fetch, "GET", "/workscript/openapi.json", bearer("wks_live_x"), None)
    assert (good.code, bad.code) == (200, 401)


async def test_a_refused_socket_is_a_clean_401(
    jp_ws_fetch: Any, workscript: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("workscript", "ws", headers=bearer("wks_live_x"))
    assert refused.value.code == 401
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


JUPYTER_ROUTES = ("api/contents", "api/kernels", "api/sessions", "api/terminals", "lab")


@pytest.mark.slow  # a full Jupyter server process (JupyterLab, terminals)
def test_a_key_or_token_never_opens_jupyters_own_routes(tmp_path: Path) -> None:
    """On a full server (JupyterLab, terminals): the Jupyter token opens each route, and a
    workscript key or access token, in either header, opens none."""
    server = JupyterProcess(tmp_path / "full", env=dict(SECRETS_ENV), full=True).start()
    try:
        for path in JUPYTER_ROUTES:
            assert server.call("GET", path).status_code == 200, path  # the routes are there
        key = server.call("POST", "workscript/keys", json={"name": "tool"}).json()["key"]
        user = {"email": "kim@example.org", "password": PASSWORD, "roles": ["admin"]}
        assert server.call("POST", "workscript/users", json=user).status_code == 201
        login = server.call(
            "POST",
            "workscript/auth/login",
            token=False,
            json={k: user[k] for k in ("email", "password")},
        )
        access = login.json()["accessToken"]
        for credential in (key, access):
            assert server.call("GET", "workscript/auth/me", headers=bearer(credential)).is_success
            for headers in (bearer(credential), {"X-API-Key": credential}):
                for path in JUPYTER_ROUTES:
                    reply = server.call("GET", path, headers=headers, token=False)
                    assert reply.status_code in (302, 401, 403), (path, reply.status_code)
                    if reply.status_code == 302:  # to the login page, not into Jupyter
                        assert "/login" in reply.headers["Location"], reply.headers
                # the websocket of a terminal or kernel neither
                started = server.call("POST", "api/terminals", headers=headers, token=False)
                assert started.status_code in (401, 403), started.status_code
    finally:
        server.stop()
