"""The Google connection routes through a real Jupyter server, with the real google-auth
libraries against the OAuth stand-in (tests/standins/google_oauth.py): the whole consent flow
as a browser makes it (connect, Google's page, the redirect to our callback without a login,
the page), then list, rename, test and delete; and the callback's refusals (a replayed,
expired or tampered state, a refused consent). The access rules are in
test_rest_connections_access.py.

Every response body is checked for the stand-in's token prefixes: no route shows a token."""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.standins.google_fixtures import google_oauth_fixture  # noqa: F401  (the fixture)
from tests.standins.google_oauth import GoogleOAuthStandIn
from workscript_jupyter.integrations.google_oauth import make_code_verifier
from workscript_jupyter.store.records import OAuthState, Scope, utcnow

from .conftest import Api, server_config

SECRET_KEY = Fernet.generate_key().decode()
G = "https://www.googleapis.com/auth/"
TOKEN_PREFIXES = ("ya29.", "1//0g")  # the stand-in's access and refresh tokens


def google_config(
    db_url: str, oauth: GoogleOAuthStandIn, port: int, base_url: str, **extra: Any
) -> dict[str, Any]:
    """A server whose Google client is the stand-in's and whose redirect is its own callback."""
    callback = f"http://127.0.0.1:{port}{base_url}workscript/auth/google/callback"
    traits = {
        "google_client_id": oauth.client_id,
        "google_client_secret": oauth.client_secret,
        "google_redirect_uri": callback,
        "google_auth_uri": oauth.auth_uri,
        "google_token_uri": oauth.token_uri,
        "google_revoke_uri": oauth.revoke_uri,
        "google_userinfo_uri": oauth.userinfo_uri,
        "secret_key": SECRET_KEY,
    }
    return server_config(db_url, **traits, **extra)


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib refuses http:// endpoints unless told: the stand-in is plain http."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def no_token_in(*bodies: bytes | str) -> None:
    for body in bodies:
        text = body.decode() if isinstance(body, bytes) else body
        for prefix in TOKEN_PREFIXES:
            assert prefix not in text, f"a token ({prefix}…) in a response: {text[:300]}"


async def start(api: Api, scopes: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    body = {"scopes": scopes or ["gmail.send", "calendar.readonly"], **extra}
    reply = await api.post("integrations", "google", "connect", json_body=body)
    assert reply.code == 200, reply.raw
    no_token_in(reply.raw)
    return dict(reply.body)


async def google_redirect(url: str) -> str:
    """The browser at Google's consent page: where Google sends it back (not followed)."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def visit(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """A browser without cookies (or with ``headers``) opening ``url``, redirects followed."""
    async with httpx.AsyncClient(headers=headers) as browser:
        page = await browser.get(url, follow_redirects=True)
    no_token_in(page.text)
    return page


def csp_nonce(page: httpx.Response) -> str:
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy, policy
    found = re.search(r"script-src 'nonce-([A-Za-z0-9_-]+)'", policy)
    assert found, policy
    return found.group(1)


def check_page(page: httpx.Response, status: int) -> None:
    assert page.status_code == status, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    nonce = csp_nonce(page)
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts == [f' nonce="{nonce}"'], scripts  # the one script, allowed by its nonce


def store_of(workscript: dict[str, Any]) -> Any:
    return workscript["connections"].store


def resave_state(workscript: dict[str, Any], state: str, **changes: Any) -> OAuthState:
    """Take the saved state out and put it back with ``changes`` (a tampered row)."""
    integrations = store_of(workscript).integrations
    record = integrations.pop_oauth_state(state, None, utcnow())
    assert record is not None
    changed = dataclasses.replace(record, **changes)
    integrations.save_oauth_state(changed)
    return changed


async def connect(api: Api, scopes: list[str] | None = None) -> dict[str, Any]:
    """The whole flow; the connection as the list shows it."""
    started = await start(api, scopes)
    page = await visit(started["url"])
    check_page(page, 200)
    listed = await api.get("integrations")
    return next(c for c in listed.body["items"] if c["email"] == "ada@example.com")


class TestTheFlow:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url, google_oauth, jp_http_port, jp_base_url):
        return google_config(workscript_db_url, google_oauth, jp_http_port, jp_base_url)

    async def test_connect_consent_callback_then_list(
        self, api: Api, google_oauth: GoogleOAuthStandIn, jp_base_url: str
    ) -> None:
        empty = await api.get("integrations")
        assert empty.code == 200, empty.raw
        assert (empty.body["items"], empty.body["count"], empty.body["configured"]) == (
            [],
            0,
            True,
        )
        assert empty.body["scopes"]["gmail.send"] == G + "gmail.send"

        started = await start(api, returnTo=f"{jp_base_url}lab/tree")
        assert started["url"].startswith(google_oauth.auth_uri + "?")
        assert started["state"] in started["url"] and started["expiresAt"].endswith("Z")
        assert {G + "gmail.send", G + "calendar.readonly", "openid"} <= set(started["scopes"])

        page = await visit(started["url"])  # no Jupyter login: the state authenticates it
        check_page(page, 200)
        assert page.url.path.endswith("/workscript/auth/google/callback")
        assert "ada@example.com is connected" in page.text
        assert "workscript:google-connected" in page.text
        assert f'href="{jp_base_url}lab/tree"' in page.text  # where a page without opener goes

        asked = google_oauth.authorizations[-1]  # what our consent URL asked Google for
        assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
        assert asked["access_type"] == "offline" and asked["include_granted_scopes"] == "true"
        assert asked["state"] == started["state"]

        listed = await api.get("integrations")
        assert listed.code == 200 and listed.body["count"] == 1, listed.raw
        connection = listed.body["items"][0]
        assert (connection["email"], connection["accountName"]) == (
            "ada@example.com",
            "Ada Lovelace",
        )
        assert connection["name"] == "ada@example.com" and connection["status"] == "active"
        assert connection["accountId"] == google_oauth.account["sub"]
        assert {G + "gmail.send", G + "calendar.readonly"} <= set(connection["scopes"])
        assert connection["expiresAt"].endswith("Z") and connection["lastError"] is None
        one = await api.get("integrations", connection["id"])
        assert one.code == 200 and one.body == connection
        no_token_in(listed.raw, one.raw)

    async def test_a_state_works_once(self, api: Api, caplog: pytest.LogCaptureFixture) -> None:
        started = await start(api)
        back = await google_redirect(started["url"])
        check_page(await visit(back), 200)
        with caplog.at_level(logging.DEBUG):
            again = await visit(back)
        check_page(again, 400)
        assert "already used" in again.text and "workscript:google-failed" in again.text
        # the 400 is logged (a warning, with the URI): Jupyter's request log scrubs the code
        # and the state (its list of secret parameters): this says so if that ever changes
        code = httpx.URL(back).params["code"]
        messages = [r.getMessage() for r in caplog.records if r.name != "httpx"]  # ours only
        logged = [line for line in messages if "auth/google/callback" in line]
        assert logged, messages
        assert not [line for line in logged if code in line or started["state"] in line]

    async def test_an_expired_state_is_refused(self, api: Api, workscript: dict[str, Any]) -> None:
        started = await start(api)
        resave_state(workscript, started["state"], expires_at=utcnow() - timedelta(seconds=1))
        page = await visit(started["url"])
        check_page(page, 400)
        assert "has expired" in page.text
        assert (await api.get("integrations")).body["items"] == []

    async def test_a_refused_consent_makes_no_connection(
        self, api: Api, google_oauth: GoogleOAuthStandIn
    ) -> None:
        started = await start(api)
        google_oauth.consent = "deny"
        try:
            page = await visit(started["url"])
        finally:
            google_oauth.consent = "approve"
        check_page(page, 400)
        assert "the consent was refused" in page.text
        assert (await api.get("integrations")).body["items"] == []

    async def test_the_code_needs_the_states_verifier(
        self, api: Api, workscript: dict[str, Any]
    ) -> None:
        started = await start(api)
        resave_state(workscript, started["state"], code_verifier=make_code_verifier())
        page = await visit(started["url"])
        check_page(page, 400)
        assert "Invalid code verifier" in page.text  # Google's words (PKCE)
        assert (await api.get("integrations")).body["items"] == []

    async def test_the_page_escapes_what_google_sends(self, api: Api) -> None:
        started = await start(api)
        back = httpx.URL(await google_redirect(started["url"]))
        hostile = "<img src=x onerror=alert(1)></script>"
        page = await visit(
            str(
                back.copy_with(params={"state": back.params["state"]}).copy_add_param(
                    "error", hostile
                )
            )
        )
        check_page(page, 400)
        assert "<img" not in page.text and "</script></script>" not in page.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in page.text  # the text, escaped
        assert "\\u003cimg" in page.text  # and the script's JSON

    async def test_a_callback_without_a_state_is_a_page(self, jp_fetch: Any) -> None:
        reply = await jp_fetch(
            "workscript",
            "auth",
            "google",
            "callback",
            headers={"Authorization": ""},
            raise_error=False,
        )
        assert reply.code == 400 and b"start connecting again" in reply.body

    async def test_rename_test_and_delete(
        self, api: Api, google_oauth: GoogleOAuthStandIn, workscript: dict[str, Any]
    ) -> None:
        connection = await connect(api, ["gmail.readonly"])
        renamed = await api.call(
            "PATCH", "integrations", connection["id"], json_body={"name": "  Work mail "}
        )
        assert renamed.code == 200 and renamed.body["name"] == "Work mail", renamed.raw
        for body, field in (({"name": ""}, "name"), ({"token": "x"}, "token")):
            refused = await api.call("PATCH", "integrations", connection["id"], json_body=body)
            assert refused.code == 400, refused.raw
            assert refused.error["details"][0]["field"] == field

        tested = await api.post("integrations", connection["id"], "test")
        assert tested.code == 200 and tested.body["ok"] is True, tested.raw
        assert tested.body["email"] == "ada@example.com"
        assert tested.body["connection"]["lastUsedAt"] is not None
        no_token_in(renamed.raw, tested.raw)

        box = workscript["connections"].box
        row = stored_row(workscript, connection["id"])
        refresh_token = box.decrypt(row.refresh_token_encrypted)
        google_oauth.revoke(refresh_token)
        google_oauth.expire_access_tokens()
        failed = await api.post("integrations", connection["id"], "test")
        assert failed.code == 200, failed.raw
        assert (failed.body["ok"], failed.body["code"]) == (False, "NEEDS_CONSENT")
        assert failed.body["connection"]["status"] == "needs_consent"
        listed = await api.get("integrations")
        assert listed.body["items"][0]["status"] == "needs_consent"

        fresh = await connect(api, ["gmail.readonly"])  # connecting again: active once more
        assert fresh["id"] == connection["id"] and fresh["status"] == "active"
        row = stored_row(workscript, connection["id"])
        refresh_token = box.decrypt(row.refresh_token_encrypted)
        deleted = await api.delete("integrations", connection["id"])
        assert deleted.code == 200 and deleted.body == {"deleted": True, "revoked": True}
        assert refresh_token in google_oauth.revoked
        gone = await api.get("integrations", connection["id"])
        assert gone.code == 404 and gone.error["code"] == "NOT_FOUND"
        assert (await api.get("integrations")).body["items"] == []


def stored_row(workscript: dict[str, Any], connection_id: str) -> Any:
    """The connection's row as the store keeps it (tokens encrypted)."""
    return store_of(workscript).integrations.get(Scope("", is_admin=True), connection_id)
