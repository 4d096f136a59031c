"""``Connections`` with the real Google client libraries against the OAuth and API stand-ins:
the consent flow and its refusals (replayed, foreign, expired state; refused consent), tokens
encrypted at rest (the raw rows hold no token), refresh before expiry, one refresh for two
racing runs (two servers on one database), a revoked grant, a 401 answered by one refresh,
key rotation, and how a node's ``connection`` picks a connection."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.google.conftest import ALL_SCOPES, consent, google_settings
from tests.standins.google_apis import GoogleApisStandIn
from tests.standins.google_oauth import GoogleOAuthStandIn
from workscript_jupyter.auth.secret_box import SecretBox
from workscript_jupyter.errors import (
    BadRequestError,
    GoogleError,
    GoogleNotConfiguredError,
    PermissionDeniedError,
)
from workscript_jupyter.nodes.google_requests import execute
from workscript_jupyter.service.connections import Connections, GoogleSettings
from workscript_jupyter.service.secret_rotation import rotate_connection_secrets
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.records import Integration, Scope, utcnow
from workscript_jupyter.store.sql import SqlStore

GMAIL = "https://www.googleapis.com/auth/gmail."


def _list_messages(service: Any) -> Any:
    return execute(service.users().messages().list(userId="me"))


def _tokens(connections: Connections, row: Integration) -> tuple[str, str]:
    assert connections.box is not None
    assert row.access_token_encrypted and row.refresh_token_encrypted
    return (
        connections.box.decrypt(row.access_token_encrypted),
        connections.box.decrypt(row.refresh_token_encrypted),
    )


def _row(store: SqlStore, caller: Caller, row: Integration) -> Integration:
    return store.integrations.get(Scope(caller.user.id), row.id)


# -- the consent flow -------------------------------------------------------------------------


def test_the_flow_saves_one_connection_per_account_with_its_identity(
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
) -> None:
    row = connect(alice, ["gmail.readonly"])
    assert (row.account_email, row.account_name) == ("ada@example.com", "Ada Lovelace")
    assert row.account_id == google_oauth.account["sub"] and row.status == "active"
    assert GMAIL + "readonly" in row.scopes and "openid" in row.scopes
    asked = google_oauth.authorizations[-1]
    assert asked["code_challenge_method"] == "S256" and asked["access_type"] == "offline"
    assert asked["include_granted_scopes"] == "true" and asked["prompt"] == "consent"
    # connecting the same account again updates it (more scopes), never a second row
    again = connect(alice, ["gmail.send"])
    assert again.id == row.id and GMAIL + "send" in again.scopes
    assert [r.id for r in asyncio.run(connections.list(alice))] == [row.id]


def test_a_state_works_once_and_only_for_its_user_and_in_time(
    connections: Connections, alice: Caller, bob: Caller
) -> None:
    async def body() -> None:
        start = await connections.start(alice, ["drive.file"])
        code, state = await asyncio.to_thread(consent, start)
        with pytest.raises(BadRequestError, match="another user"):
            await connections.finish(state, code, None, user_id=bob.user.id)
        # the foreign attempt consumed it: not even its owner can use it now
        with pytest.raises(BadRequestError):
            await connections.finish(state, code, None, user_id=alice.user.id)

        start = await connections.start(alice, ["drive.file"])
        code, state = await asyncio.to_thread(consent, start)
        await connections.finish(state, code, None, user_id=None)  # no login: the state is enough
        with pytest.raises(BadRequestError, match="already used"):
            await connections.finish(state, code, None, user_id=None)

    asyncio.run(body())


def test_an_expired_state_is_refused(
    store: SqlStore, connections: Connections, alice: Caller
) -> None:
    later = [utcnow()]
    assert connections.oauth is not None
    settings = GoogleSettings(box=connections.box, oauth=connections.oauth.config)
    late = Connections(store, settings, clock=lambda: later[0])

    async def body() -> None:
        start = await connections.start(alice, ["calendar"])
        code, state = await asyncio.to_thread(consent, start)
        later[0] = utcnow() + timedelta(minutes=10, seconds=1)
        with pytest.raises(BadRequestError, match="expired"):
            await late.finish(state, code, None, user_id=alice.user.id)

    asyncio.run(body())
    assert store.integrations.list(Scope(alice.user.id)) == []


def test_a_refused_consent_saves_nothing(
    connections: Connections, alice: Caller, google_oauth: GoogleOAuthStandIn, store: SqlStore
) -> None:
    google_oauth.consent = "deny"
    try:

        async def body() -> None:
            start = await connections.start(alice, ["calendar"])
            answer = await asyncio.to_thread(httpx.get, start["url"])
            params = httpx.URL(answer.headers["location"]).params
            assert params["error"] == "access_denied"
            with pytest.raises(GoogleError, match="refused") as refused:
                await connections.finish(params["state"], None, "access_denied", user_id=None)
            assert refused.value.code == "CONSENT_REFUSED"

        asyncio.run(body())
    finally:
        google_oauth.consent = "approve"
    assert store.integrations.list(Scope(alice.user.id)) == []


def test_a_wrong_code_verifier_is_refused_by_google(
    connections: Connections, alice: Caller, store: SqlStore
) -> None:
    async def body() -> None:
        start = await connections.start(alice, ["calendar"])
        code, state = await asyncio.to_thread(consent, start)
        with store._db.begin() as db:
            from sqlalchemy import text

            db.execute(
                text("UPDATE oauth_states SET code_verifier = :v WHERE state = :s"),
                {"v": "x" * 64, "s": state},
            )
        with pytest.raises(GoogleError, match="verifier") as refused:
            await connections.finish(state, code, None, user_id=alice.user.id)
        assert refused.value.code == "INVALID_GRANT"

    asyncio.run(body())


@pytest.mark.parametrize(
    ("scopes", "where"),
    [
        ([], "scopes"),
        (["gmail.everything"], "scopes[0]"),
        (["openid", "email"], "scopes"),
        (7, "scopes"),
    ],
)
def test_scopes_are_checked(
    connections: Connections, alice: Caller, scopes: Any, where: str
) -> None:
    with pytest.raises(BadRequestError) as refused:
        asyncio.run(connections.start(alice, scopes))
    assert refused.value.details[0]["field"] == where


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/x", "/\\evil", "lab"])
def test_return_to_stays_on_this_server(connections: Connections, alice: Caller, back: str) -> None:
    with pytest.raises(BadRequestError, match="returnTo"):
        asyncio.run(connections.start(alice, ["drive"], return_to=back))


def test_without_a_client_or_a_key_google_is_not_configured(
    store: SqlStore, connections: Connections, alice: Caller
) -> None:
    assert connections.oauth is not None
    for settings in (
        GoogleSettings(box=connections.box),
        GoogleSettings(oauth=connections.oauth.config),
    ):
        off = Connections(store, settings)
        assert off.gateway(alice) is None
        with pytest.raises(GoogleNotConfiguredError):
            asyncio.run(off.start(alice, ["drive"]))


# -- tokens at rest -------------------------------------------------------------------------


def test_the_database_holds_no_token_in_plain_text(
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
    tmp_path: Path,
) -> None:
    row = connect(alice)
    access, refresh = _tokens(connections, row)
    assert google_oauth.scopes_of(access) is not None  # the real, live token
    raw = sqlite3.connect(tmp_path / "store.sqlite")
    try:
        cells = [str(c) for r in raw.execute("SELECT * FROM integrations").fetchall() for c in r]
    finally:
        raw.close()
    assert cells and not any(access in c or refresh in c for c in cells)
    stored = (tmp_path / "store.sqlite").read_bytes()
    assert access.encode() not in stored and refresh.encode() not in stored


def test_key_rotation_keeps_every_connection_working(
    store: SqlStore,
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    bob: Caller,
    secret_key: str,
    google_oauth: GoogleOAuthStandIn,
    google_apis: GoogleApisStandIn,
) -> None:
    rows = [connect(alice), connect(bob)]
    before = [_tokens(connections, r) for r in rows]
    new_key = Fernet.generate_key().decode()

    def with_keys(keys: str) -> Connections:
        return Connections(store, google_settings(google_oauth, google_apis, keys))

    both = with_keys(f"{new_key},{secret_key}")
    # old rows still open with the old key second; a run works
    asyncio.run(both.gateway(alice).call(None, "gmail", "v1", _list_messages))
    report = rotate_connection_secrets(store, SecretBox.from_setting(f"{new_key},{secret_key}"))
    assert (report.rotated, report.busy, report.unreadable) == (2, [], [])
    only_new = with_keys(new_key)
    for caller, row, tokens in zip((alice, bob), rows, before, strict=True):
        assert _tokens(only_new, _row(store, caller, row)) == tokens
        asyncio.run(only_new.gateway(caller).call(None, "gmail", "v1", _list_messages))
    # and the old key alone opens nothing any more
    old_only = with_keys(secret_key)
    assert old_only.box is not None
    with pytest.raises(Exception, match="cannot be decrypted"):
        old_only.box.decrypt(_row(store, alice, rows[0]).access_token_encrypted or "")


def test_rotation_skips_a_connection_being_refreshed(
    store: SqlStore, connect: Callable[..., Integration], alice: Caller, secret_key: str
) -> None:
    row = connect(alice)
    now = utcnow()
    assert store.integrations.take_refresh_lease(row.id, now + timedelta(seconds=30), now)
    report = rotate_connection_secrets(store, SecretBox.from_setting(secret_key))
    assert report.busy == [row.id] and report.rotated == 0
    assert _row(store, alice, row).access_token_encrypted == row.access_token_encrypted


# -- refresh ----------------------------------------------------------------------------------


def _expire_row(store: SqlStore, caller: Caller, row: Integration) -> None:
    store.integrations.update(
        Scope(caller.user.id), row.id, expires_at=utcnow() + timedelta(seconds=30)
    )


def test_a_token_about_to_expire_is_refreshed_first(
    store: SqlStore,
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
) -> None:
    row = connect(alice)
    old_access, refresh = _tokens(connections, row)
    _expire_row(store, alice, row)
    refreshes = google_oauth.grants.count("refresh_token")
    asyncio.run(connections.gateway(alice).call(None, "gmail", "v1", _list_messages))
    assert google_oauth.grants.count("refresh_token") == refreshes + 1
    after = _row(store, alice, row)
    new_access, same_refresh = _tokens(connections, after)
    assert new_access != old_access and same_refresh == refresh
    assert after.last_refreshed_at is not None and after.last_used_at is not None
    assert after.expires_at is not None and after.expires_at > utcnow() + timedelta(minutes=30)


def test_racing_runs_on_two_servers_refresh_once(
    store: SqlStore,
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
    google_apis: GoogleApisStandIn,
    secret_key: str,
) -> None:
    row = connect(alice)
    _expire_row(store, alice, row)
    other_server = Connections(store, google_settings(google_oauth, google_apis, secret_key))
    refreshes = google_oauth.grants.count("refresh_token")

    async def body() -> list[Any]:
        gateways = [c.gateway(alice) for c in (connections, other_server) for _ in range(3)]
        return await asyncio.gather(
            *(g.call(None, "gmail", "v1", _list_messages) for g in gateways)
        )

    results = asyncio.run(body())
    assert len(results) == 6 and all("resultSizeEstimate" in r for r in results)
    assert google_oauth.grants.count("refresh_token") == refreshes + 1
    assert _row(store, alice, row).refreshing_until is None


def test_a_revoked_grant_needs_consent_and_stops_asking_google(
    store: SqlStore,
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
) -> None:
    row = connect(alice)
    _access, refresh = _tokens(connections, row)
    google_oauth.revoke(refresh)
    _expire_row(store, alice, row)
    gateway = connections.gateway(alice)
    with pytest.raises(GoogleError, match="connected again") as first:
        asyncio.run(gateway.call(None, "gmail", "v1", _list_messages))
    assert first.value.code == "NEEDS_CONSENT"
    saved = _row(store, alice, row)
    assert saved.status == "needs_consent" and "revoked" in (saved.last_error or "")
    asked = len(google_oauth.grants)
    with pytest.raises(GoogleError) as second:
        asyncio.run(gateway.call(None, "gmail", "v1", _list_messages))
    assert second.value.code == "NEEDS_CONSENT" and len(google_oauth.grants) == asked
    # connecting again heals it
    assert connect(alice).status == "active"


def test_a_token_google_refuses_is_refreshed_once_and_the_call_retried(
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
    google_apis: GoogleApisStandIn,
) -> None:
    connect(alice)
    google_oauth.expire_access_tokens()  # our row still thinks the token is good for an hour
    refreshes = google_oauth.grants.count("refresh_token")
    seen = len(google_apis.requests)
    result = asyncio.run(connections.gateway(alice).call(None, "gmail", "v1", _list_messages))
    assert "resultSizeEstimate" in result
    assert google_oauth.grants.count("refresh_token") == refreshes + 1
    assert len(google_apis.requests) == seen + 2  # the 401, then the retry


# -- which connection, and who may use it ------------------------------------------------------


def test_a_node_names_its_connection_by_id_or_email(
    store: SqlStore, connect: Callable[..., Integration], connections: Connections, alice: Caller
) -> None:
    gateway = connections.gateway(alice)
    with pytest.raises(GoogleError) as none:
        asyncio.run(gateway.describe(None))
    assert none.value.code == "NO_CONNECTION"
    row = connect(alice)
    assert asyncio.run(gateway.describe(None))["id"] == row.id
    assert asyncio.run(gateway.describe("ADA@example.com"))["id"] == row.id
    assert asyncio.run(gateway.describe(row.id))["email"] == "ada@example.com"
    described = asyncio.run(gateway.describe(row.id))
    assert not any("token" in key.lower() for key in described)
    with pytest.raises(GoogleError) as unknown:
        asyncio.run(gateway.describe("someone@else.example"))
    assert unknown.value.code == "CONNECTION_NOT_FOUND"
    # a second account makes "the only one" ambiguous
    store.integrations.create(
        Scope(alice.user.id), provider="google", account_id="2", account_email="b@example.com"
    )
    with pytest.raises(GoogleError) as ambiguous:
        asyncio.run(gateway.describe(None))
    assert ambiguous.value.code == "AMBIGUOUS_CONNECTION"


def test_one_users_connection_is_invisible_to_another(
    connect: Callable[..., Integration], connections: Connections, alice: Caller, bob: Caller
) -> None:
    row = connect(alice)
    with pytest.raises(GoogleError) as refused:
        asyncio.run(connections.gateway(bob).describe(row.id))
    assert refused.value.code == "CONNECTION_NOT_FOUND"


def test_a_missing_scope_is_refused_before_any_request(
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_apis: GoogleApisStandIn,
) -> None:
    connect(alice, ["calendar.readonly"])
    seen = len(google_apis.requests)
    with pytest.raises(GoogleError, match=r"gmail\.send") as refused:
        asyncio.run(
            connections.gateway(alice).call(
                None, "gmail", "v1", _list_messages, scopes=(GMAIL + "send",)
            )
        )
    assert refused.value.code == "MISSING_SCOPE" and len(google_apis.requests) == seen


def test_the_gateway_needs_integration_use(
    connect: Callable[..., Integration], connections: Connections, alice: Caller
) -> None:
    connect(alice)
    limited = Caller(alice.user, alice.scope, alice.permissions - {"integration:use"})
    with pytest.raises(PermissionDeniedError, match="integration:use"):
        asyncio.run(connections.gateway(limited).call(None, "gmail", "v1", _list_messages))


def test_google_errors_carry_the_reason_and_quota_is_retried(
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_apis: GoogleApisStandIn,
) -> None:
    connect(alice)
    gateway = connections.gateway(alice)
    google_apis.fail_next(429, "rateLimitExceeded")
    assert "resultSizeEstimate" in asyncio.run(gateway.call(None, "gmail", "v1", _list_messages))
    for _ in range(5):  # the first try and four retries
        google_apis.fail_next(403, "userRateLimitExceeded")
    with pytest.raises(GoogleError) as quota:
        asyncio.run(gateway.call(None, "gmail", "v1", _list_messages))
    assert (quota.value.code, quota.value.reason) == ("QUOTA_EXCEEDED", "userRateLimitExceeded")

    def missing(service: Any) -> Any:
        return execute(service.users().messages().get(userId="me", id="nope"))

    with pytest.raises(GoogleError) as gone:
        asyncio.run(gateway.call(None, "gmail", "v1", missing))
    assert (gone.value.code, gone.value.status, gone.value.reason) == ("NOT_FOUND", 404, "notFound")


def test_a_connection_can_be_listed_renamed_tested_and_deleted_with_revocation(
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
) -> None:
    row = connect(alice)
    _access, refresh = _tokens(connections, row)
    renamed = asyncio.run(connections.rename(alice, row.id, {"name": "  Work mail "}))
    assert renamed.name == "Work mail"
    with pytest.raises(BadRequestError, match="only name"):
        asyncio.run(connections.rename(alice, row.id, {"scopes": []}))
    tested = asyncio.run(connections.test(alice, row.id))
    assert tested.ok and tested.email == "ada@example.com"
    assert asyncio.run(connections.delete(alice, row.id)) is True
    assert refresh in google_oauth.revoked
    assert asyncio.run(connections.list(alice)) == []


def test_start_answers_googles_consent_url(connections: Connections, alice: Caller) -> None:
    start = asyncio.run(connections.start(alice, ALL_SCOPES, return_to="/lab/tree"))
    url = httpx.URL(start["url"])
    assert url.params["state"] == start["state"] and url.params["code_challenge_method"] == "S256"
    assert "code_verifier" not in str(url) and isinstance(start["expiresAt"], datetime)
    assert set(start["scopes"]) >= {"openid", GMAIL + "modify"}


def test_after_a_refused_refresh_no_request_goes_out_with_the_dead_token(
    connect: Callable[..., Integration],
    connections: Connections,
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
    google_apis: GoogleApisStandIn,
) -> None:
    row = connect(alice)
    _access, refresh = _tokens(connections, row)
    google_oauth.revoke(refresh)  # takes the access tokens along: Google answers 401
    gateway = connections.gateway(alice)
    with pytest.raises(GoogleError) as first:
        asyncio.run(gateway.call(None, "gmail", "v1", _list_messages))
    assert first.value.code == "NEEDS_CONSENT"
    seen, asked = len(google_apis.requests), len(google_oauth.grants)
    with pytest.raises(GoogleError) as second:
        asyncio.run(gateway.call(None, "gmail", "v1", _list_messages))
    assert second.value.code == "NEEDS_CONSENT"
    assert (len(google_apis.requests), len(google_oauth.grants)) == (seen, asked)


def test_the_servers_retry_policy_reaches_the_nodes_requests(
    store: SqlStore,
    connect: Callable[..., Integration],
    alice: Caller,
    google_oauth: GoogleOAuthStandIn,
    google_apis: GoogleApisStandIn,
    secret_key: str,
) -> None:
    connect(alice)
    once = Connections(
        store, google_settings(google_oauth, google_apis, secret_key, quota_retries=1)
    )
    for _ in range(2):  # the first try and one retry: the default policy would retry 4 times
        google_apis.fail_next(429, "rateLimitExceeded")
    with pytest.raises(GoogleError) as quota:
        asyncio.run(once.gateway(alice).call(None, "gmail", "v1", _list_messages))
    assert quota.value.code == "QUOTA_EXCEEDED"
