"""Fixtures of the Google tests: the real ``Connections`` use case on a SQLite store, with the
real google-auth-oauthlib / google-auth / google-api-python-client pointed at the stand-ins of
tests/standins/google_*.py (OAuth and the Gmail/Calendar/Drive APIs on 127.0.0.1).

- ``connections``: the use case, configured (a SecretBox, the stand-in's client, the API
  root at the API stand-in, quota backoff scaled down to milliseconds);
- ``alice`` / ``bob``: callers with their own users;
- ``connect(caller, scopes)``: the whole consent flow (start, the browser's visit to the
  consent page, the callback's ``finish``) → the saved connection;
- ``google_services(caller, root)``: engine ``Services`` whose ``google`` is the caller's
  gateway and whose ``root_dir`` is ``root``: what a run on the server gets;
- ``run_google(caller, *steps, state=..., root=...)``: run a workflow of ``steps`` with them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.standins.google_apis import GoogleApisStandIn
from tests.standins.google_fixtures import google_apis_fixture, google_oauth_fixture  # noqa: F401
from tests.standins.google_oauth import GoogleOAuthStandIn
from workscript_jupyter.auth.secret_box import SecretBox
from workscript_jupyter.engine import NodeRegistry, RunResult, Services, load_workflow, run_workflow
from workscript_jupyter.integrations.google_api import GoogleApiSettings
from workscript_jupyter.integrations.google_oauth import GoogleOAuthConfig
from workscript_jupyter.service.connections import Connections, GoogleSettings
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.records import Integration
from workscript_jupyter.store.sql import SqlStore

REDIRECT = "http://127.0.0.1:8888/workscript/auth/google/callback"
ALL_SCOPES = ["gmail.modify", "gmail.send", "calendar", "drive"]


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib refuses http:// endpoints unless told: the stand-ins are plain http."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def store(sqlite_store: SqlStore) -> SqlStore:
    """A fresh copy of the migrated SQLite file (tests/conftest.py), at tmp_path/store.sqlite."""
    return sqlite_store


@pytest.fixture
def alice(store: SqlStore) -> Caller:
    return Caller.of(store.users.create("alice", email="alice@example.org"))


@pytest.fixture
def bob(store: SqlStore) -> Caller:
    return Caller.of(store.users.create("bob", email="bob@example.org"))


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


def google_settings(
    oauth: GoogleOAuthStandIn, apis: GoogleApisStandIn, key: str, **api: Any
) -> GoogleSettings:
    config = GoogleOAuthConfig(
        oauth.client_id,
        oauth.client_secret,
        REDIRECT,
        auth_uri=oauth.auth_uri,
        token_uri=oauth.token_uri,
        revoke_uri=oauth.revoke_uri,
        userinfo_uri=oauth.userinfo_uri,
    )
    api.setdefault("backoff_seconds", 0.01)
    return GoogleSettings(
        box=SecretBox.from_setting(key),
        oauth=config,
        api=GoogleApiSettings(root_url=apis.root + "/", **api),
    )


@pytest.fixture
def connections(
    store: SqlStore,
    google_oauth: GoogleOAuthStandIn,
    google_apis: GoogleApisStandIn,
    secret_key: str,
) -> Connections:
    return Connections(store, google_settings(google_oauth, google_apis, secret_key))


def consent(start: dict[str, Any]) -> tuple[str, str]:
    """The browser at Google's consent page: (code, state) of the redirect it gets back."""
    answer = httpx.get(start["url"], follow_redirects=False)
    assert answer.status_code == 302, answer.text
    params = httpx.URL(answer.headers["location"]).params
    return params["code"], params["state"]


async def connect_async(
    connections: Connections, caller: Caller, scopes: list[str] | None = None
) -> Integration:
    start = await connections.start(caller, scopes or ALL_SCOPES)
    code, state = await asyncio.to_thread(consent, start)
    finished = await connections.finish(state, code, None, user_id=caller.user.id)
    return finished.connection


@pytest.fixture
def connect(connections: Connections) -> Callable[..., Integration]:
    """``connect(caller, scopes=None)``: the consent flow, on a fresh loop."""

    def _connect(caller: Caller, scopes: list[str] | None = None) -> Integration:
        return asyncio.run(connect_async(connections, caller, scopes))

    return _connect


@pytest.fixture
def google_services(connections: Connections) -> Callable[..., Services]:
    def make(caller: Caller, root: Path | None = None) -> Services:
        return Services(google=connections.gateway(caller), root_dir=root)

    return make


@pytest.fixture
def run_google(
    registry: NodeRegistry, google_services: Callable[..., Services], tmp_path: Path
) -> Callable[..., RunResult]:
    """``run_google(caller, *steps, state=None, root=tmp_path/"root")`` → RunResult."""

    def _run(
        caller: Caller, *steps: Any, state: dict[str, Any] | None = None, root: Path | None = None
    ) -> RunResult:
        folder = root if root is not None else tmp_path / "root"
        folder.mkdir(parents=True, exist_ok=True)
        document = {"id": "google", "name": "google", "version": "1.0.0", "workflow": list(steps)}
        workflow = load_workflow(document, registry)
        services = google_services(caller, folder)
        return asyncio.run(run_workflow(workflow, registry, state, services=services))

    return _run
