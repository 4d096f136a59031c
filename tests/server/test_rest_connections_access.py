"""Who may use the Google connection routes, through a real Jupyter server: connections are
personal (another user's is a 404 on every route, and a browser logged in as another user
cannot finish someone's flow), a connect request's refusals (scopes, returnTo), an API key
without the integration permissions, and a server without Google (list works, connect 503)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.standins.google_fixtures import google_oauth_fixture  # noqa: F401  (the fixture)

from .conftest import Api, server_config
from .identity import TwoUsersIdentityProvider, auth
from .test_rest_connections import (
    _plain_http,  # noqa: F401  (the autouse fixture)
    check_page,
    connect,
    google_config,
    google_redirect,
    start,
    visit,
)


class TestTwoUsers:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url, google_oauth, jp_http_port, jp_base_url):
        two_users = {"identity_provider_class": TwoUsersIdentityProvider}
        return google_config(
            workscript_db_url,
            google_oauth,
            jp_http_port,
            jp_base_url,
            server=two_users,
            single_user=False,
            admin_users=[],
            jwt_secret="a" * 40,
            jwt_refresh_secret="b" * 40,
            session_secret="c" * 40,
        )

    @pytest.fixture
    def alice(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, auth("alice"))

    @pytest.fixture
    def bob(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, auth("bob"))

    async def test_a_browser_logged_in_as_another_user_cannot_finish_the_flow(
        self, alice: Api, bob: Api
    ) -> None:
        started = await start(alice)
        back = await google_redirect(started["url"])
        refused = await visit(back, auth("bob"))
        check_page(refused, 400)
        assert "started by another user" in refused.text
        spent = await visit(back, auth("alice"))  # the refusal spent the state
        check_page(spent, 400)
        assert (await alice.get("integrations")).body["items"] == []
        assert (await bob.get("integrations")).body["items"] == []

        again = await google_redirect((await start(alice))["url"])
        check_page(await visit(again, auth("alice")), 200)  # logged in as its user: connected
        assert (await alice.get("integrations")).body["count"] == 1
        assert (await bob.get("integrations")).body["count"] == 0

    async def test_a_stale_session_cookie_is_no_login(self, alice: Api) -> None:
        """A forged or ended workscript session cookie in the browser does not stop the flow
        (it would be a 401 anywhere else): the state authenticates the callback."""
        back = await google_redirect((await start(alice))["url"])
        page = await visit(back, {"Cookie": "workscript-session=ended.c2lnbmF0dXJl"})
        check_page(page, 200)

    async def test_another_users_connection_is_not_found(self, alice: Api, bob: Api) -> None:
        connection = await connect(alice)
        cid = connection["id"]
        replies = {
            "get": await bob.get("integrations", cid),
            "patch": await bob.call("PATCH", "integrations", cid, json_body={"name": "mine"}),
            "test": await bob.post("integrations", cid, "test"),
            "delete": await bob.delete("integrations", cid),
        }
        for verb, reply in replies.items():
            assert reply.code == 404, (verb, reply.raw)
            assert reply.error["code"] == "NOT_FOUND", (verb, reply.raw)
        assert (await bob.get("integrations")).body["items"] == []
        kept = await alice.get("integrations", cid)
        assert kept.code == 200 and kept.body["name"] == connection["name"]

    async def test_a_connect_request_is_checked(self, alice: Api) -> None:
        cases = [
            ({"scopes": ["gmail.everything"]}, "scopes[0]"),
            ({"scopes": []}, "scopes"),
            ({"scopes": ["openid", "email"]}, "scopes"),
            ({"scopes": "not a list of scopes"}, "scopes[0]"),
            ({"scopes": ["gmail.send"], "returnTo": "https://evil.example"}, "returnTo"),
            ({"scopes": ["gmail.send"], "returnTo": "//evil.example/lab"}, "returnTo"),
            ({"scopes": ["gmail.send"], "redirectUri": "https://evil.example"}, "redirectUri"),
        ]
        for body, field in cases:
            reply = await alice.post("integrations", "google", "connect", json_body=body)
            assert reply.code == 400, (body, reply.raw)
            fields = [d["field"] for d in reply.error["details"]]
            assert fields == [field], (body, reply.raw)
        not_json = await alice.post(
            "integrations",
            "google",
            "connect",
            body="scopes=gmail.send",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert not_json.code == 415, not_json.raw

    async def test_a_key_without_the_integration_permissions_is_refused(
        self, alice: Api, jp_fetch: Any
    ) -> None:
        created = await alice.post(
            "keys", json_body={"name": "ci", "permissions": ["workflow:read"]}
        )
        assert created.code == 201, created.raw
        key = Api(jp_fetch, {"X-API-Key": created.body["key"], "Authorization": ""})
        cid = "0" * 32
        replies = [
            await key.get("integrations"),
            await key.post("integrations", "google", "connect", json_body={"scopes": ["drive"]}),
            await key.get("integrations", cid),
            await key.call("PATCH", "integrations", cid, json_body={"name": "x"}),
            await key.post("integrations", cid, "test"),
            await key.delete("integrations", cid),
        ]
        for reply in replies:
            assert reply.code == 403, reply.raw
            assert reply.error["details"]["permission"].startswith("integration:"), reply.raw

        reader = await alice.post(
            "keys", json_body={"name": "reader", "permissions": ["integration:read"]}
        )
        assert reader.code == 201, reader.raw
        readonly = Api(jp_fetch, {"X-API-Key": reader.body["key"], "Authorization": ""})
        assert (await readonly.get("integrations")).code == 200
        refused = await readonly.post(
            "integrations", "google", "connect", json_body={"scopes": ["drive"]}
        )
        assert refused.code == 403 and refused.error["details"]["permission"] == (
            "integration:create"
        )


class TestWithoutGoogle:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(workscript_db_url)

    async def test_the_list_works_and_connecting_is_503(self, api: Api, jp_fetch: Any) -> None:
        listed = await api.get("integrations")
        assert listed.code == 200, listed.raw
        assert (listed.body["items"], listed.body["configured"]) == ([], False)
        reply = await api.post("integrations", "google", "connect", json_body={"scopes": ["drive"]})
        assert reply.code == 503 and reply.error["code"] == "GOOGLE_NOT_CONFIGURED", reply.raw
        assert "GOOGLE_CLIENT_ID" in reply.error["message"]
        page = await jp_fetch(
            "workscript",
            "auth",
            "google",
            "callback",
            params={"state": "s" * 43, "code": "4/0A-x"},
            headers={"Authorization": ""},
            raise_error=False,
        )
        assert page.code == 503 and page.headers["Content-Type"].startswith("text/html")
        assert b"not configured" in page.body
