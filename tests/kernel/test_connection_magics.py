"""``%workscript connect google`` and ``%workscript connections`` against real servers.

Two real ``jupyter server`` processes (tests/scheduler/servers.py): one whose Google client is
the OAuth stand-in's (tests/standins/google_oauth.py) with a secret key, one without Google.
The consent is given as a browser gives it: the link the magic shows is followed to the
stand-in's page, which sends the browser back to the server's callback (no login: the state
authenticates it); the connection is then in ``%workscript connections``. No output may hold a
token (the stand-in's access and refresh tokens start ``ya29.`` and ``1//0g``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from IPython.core.error import UsageError

from tests.standins.google_fixtures import google_oauth_fixture  # noqa: F401  (the fixture)
from tests.standins.google_oauth import GoogleOAuthStandIn

from ..scheduler.servers import TOKEN, Server

ENV_KEYS = ("WORKSCRIPT_SERVER_URL", "WORKSCRIPT_TOKEN", "JUPYTERHUB_SERVICE_URL")
TOKEN_PREFIXES = ("ya29.", "1//0g")
G = "https://www.googleapis.com/auth/"


@pytest.fixture(scope="module")
def servers(
    google_oauth: GoogleOAuthStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """``google``: Google configured with the stand-in; ``plain``: Google not configured."""
    base = tmp_path_factory.mktemp("connection-magics")
    google = {
        "google_client_id": google_oauth.client_id,
        "google_client_secret": google_oauth.client_secret,
        "google_auth_uri": google_oauth.auth_uri,
        "google_token_uri": google_oauth.token_uri,
        "google_revoke_uri": google_oauth.revoke_uri,
        "google_userinfo_uri": google_oauth.userinfo_uri,
        "secret_key": Fernet.generate_key().decode(),
    }
    made: dict[str, Server] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the stand-in is plain http
        patch.setenv("JUPYTER_RUNTIME_DIR", str(base / "runtime"))
        for name, options in (("google", google), ("plain", {})):
            (base / name).mkdir()
            db = f"sqlite:///{base / name / 'workscript.sqlite'}"
            made[name] = Server(f"conn-{name}", db, base / name, base, **options).launch()
    try:
        for server in made.values():
            server.ready()
        yield made
    finally:
        for server in made.values():
            server.stop()


def point_at(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WORKSCRIPT_SERVER_URL", f"http://127.0.0.1:{server.port}/")
    monkeypatch.setenv("WORKSCRIPT_TOKEN", TOKEN)


def html(result: Any) -> str:
    return str(result.data)


def no_token_in(text: str) -> None:
    for prefix in TOKEN_PREFIXES:
        assert prefix not in text, f"a token ({prefix}…) in the output: {text[:300]}"


def consent_link(page: str) -> str:
    match = re.search(r"<a href='([^']+)' target='_blank'", page)
    assert match, page
    return unescape(match.group(1))


def test_connect_shows_the_consent_link_and_connections_lists_the_account(
    shell: Any,
    servers: dict[str, Server],
    google_oauth: GoogleOAuthStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_at(servers["google"], monkeypatch)
    empty = html(shell.run_line_magic("workscript", "connections"))
    assert "No Google account connected yet" in empty
    assert "%workscript connect google" in empty

    page = html(shell.run_line_magic("workscript", "connect google gmail.send,calendar.readonly"))
    assert "come back here and run <code>%workscript connections</code>" in page
    assert "<code>gmail.send</code>, <code>calendar.readonly</code>" in page
    link = consent_link(page)
    assert link.startswith(google_oauth.auth_uri + "?")
    asked = google_oauth.authorizations  # nothing asked yet: the link is only shown
    seen = len(asked)

    # the browser: Google's page (the stand-in approves at once), then our callback, no login
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        landed = browser.get(link)
    assert len(asked) == seen + 1
    assert set(asked[-1]["scope"].split()) >= {f"{G}gmail.send", f"{G}calendar.readonly"}
    assert landed.status_code == 200, landed.text
    assert landed.url.path == "/workscript/auth/google/callback"
    no_token_in(landed.text)

    table = html(shell.run_line_magic("workscript", "connections"))
    assert "ada@example.com" in table
    assert ">active<" in table
    assert "gmail.send calendar.readonly" in table  # short names, identity scopes left out
    assert "userinfo" not in table and "openid" not in table
    no_token_in(page + table)

    # the defaults when no scope is named
    page = html(shell.run_line_magic("workscript", "connect google"))
    assert set(google_oauth_scopes(consent_link(page))) >= {
        f"{G}gmail.readonly",
        f"{G}gmail.send",
        f"{G}calendar",
        f"{G}drive.file",
    }


def google_oauth_scopes(link: str) -> list[str]:
    query = httpx.URL(link).params
    return str(query.get("scope", "")).split()


def test_bad_input_is_a_usage_error_naming_it(
    shell: Any, servers: dict[str, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(servers["google"], monkeypatch)
    with pytest.raises(UsageError, match="provider 'dropbox': only google"):
        shell.run_line_magic("workscript", "connect dropbox")
    with pytest.raises(UsageError, match="provider none: only google"):
        shell.run_line_magic("workscript", "connect")
    with pytest.raises(UsageError) as raised:
        shell.run_line_magic("workscript", "connect google gmail.everything")
    assert "scopes" in str(raised.value)
    assert "gmail.everything" in str(raised.value)
    with pytest.raises(UsageError, match="unknown command"):
        shell.run_line_magic("workscript", "connections extra")


def test_without_google_the_magics_say_what_the_admin_sets(
    shell: Any, servers: dict[str, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(servers["plain"], monkeypatch)
    listing = html(shell.run_line_magic("workscript", "connections"))
    assert "Google is not configured on this server" in listing
    assert "GOOGLE_CLIENT_ID" in listing and "GOOGLE_CLIENT_SECRET" in listing
    with pytest.raises(UsageError) as raised:
        shell.run_line_magic("workscript", "connect google")
    assert "not configured" in str(raised.value)
    assert "GOOGLE_CLIENT_ID" in str(raised.value)


def test_without_a_server_the_magics_say_so(
    shell: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "empty"))
    for line in ("connect google", "connections"):
        with pytest.raises(UsageError, match="no workscript server found"):
            shell.run_line_magic("workscript", line)
