"""Secrets never show, and bad secrets stop the accounts layer at start.

- A server with its log captured at DEBUG goes through login, refresh, a key's creation and
  use, a password reset by a real SMTP server that asks for a login, the reset's completion,
  change-password and logout. Then every secret used — passwords, access and refresh tokens,
  session cookies, the key, the reset token, their hashes, the JWT and session secrets, the
  SMTP password — is looked for in the log and in every response's body and headers. None may
  appear, except a token in the response that issued it (login, refresh, the key's 201).
- ``JWT_SECRET`` shorter than 32 characters, ``JWT_REFRESH_SECRET`` equal to it...: a clear
  error that names the setting (and not the secret), and no workscript route is served.
- A local server without secrets generates them into the Jupyter data dir (mode 0600); a
  restart reuses them, so a token issued before it still works.

The secrets come through the environment, as in production: Jupyter logs its configuration
(``c.WorkscriptApp.*``) at DEBUG, so a secret put there would show in that line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.scheduler.servers import free_port

from .conftest import server_config
from .test_accounts_redis import JupyterProcess
from .test_accounts_reset import Inbox

ENV_SECRETS = {
    "JWT_SECRET": "jwt-access-secret-" + "A1" * 16,
    "JWT_REFRESH_SECRET": "jwt-refresh-secret-" + "B2" * 16,
    "SESSION_SECRET": "session-cookie-secret-" + "C3" * 16,
    "SMTP_PASS": "smtp-password-D4e5F6",
}
SMTP_USER = "workscript-mailer"
PASSWORDS = ("First-Secret-11", "Second-Secret-22", "Third-Secret-33")
WRONG_PASSWORD = "Wrong-Secret-44"
TOKEN_IN_MAIL = re.compile(r"token=([0-9a-f]{64})")


class LoginChecker:
    """aiosmtpd's authenticator: the one login the server is configured with."""

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            ENV_SECRETS["SMTP_PASS"].encode(),
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=LoginChecker(),
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    yield inbox, port
    controller.stop()


class Recorder:
    """Every answer of the flow, with the secrets it may legitimately carry."""

    def __init__(self, jp_fetch: Any) -> None:
        self._fetch = jp_fetch
        self.answers: list[tuple[str, Any, frozenset[str]]] = []

    async def __call__(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any = None,
        issues: tuple[str, ...] = (),
    ) -> Any:
        reply = await self._fetch(
            *path.split("/"),
            method=method,
            body=json.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json", **headers},
            raise_error=False,
        )
        answer = json.loads(reply.body) if reply.body else None
        allowed = set(issues)
        if isinstance(answer, dict):  # what this response hands out is its own to show
            allowed.update(
                str(answer[name])
                for name in ("accessToken", "refreshToken", "key")
                if name in answer
            )
        for cookie in reply.headers.get_list("Set-Cookie"):
            allowed.add(cookie.split(";", 1)[0].split("=", 1)[1])
        self.answers.append((f"{method} {path} → {reply.code}", reply, frozenset(allowed)))
        return reply, answer


def cookie_of(reply: Any) -> str:
    for cookie in reply.headers.get_list("Set-Cookie"):
        name, _, value = cookie.split(";", 1)[0].partition("=")
        if name == "workscript-session":
            return str(value)
    raise AssertionError("no session cookie")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ANON = {"Authorization": ""}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
class TestNoSecretShows:
    @pytest.fixture
    def jp_server_config(
        self,
        workscript_db_url: str,
        smtp: tuple[Inbox, int],
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> Any:
        caplog.set_level(logging.DEBUG)  # from the server's start on
        for name, value in ENV_SECRETS.items():
            monkeypatch.setenv(name, value)
        return server_config(
            workscript_db_url,
            bcrypt_rounds=4,
            smtp_host="127.0.0.1",
            smtp_port=smtp[1],
            smtp_secure="none",
            smtp_user=SMTP_USER,
            email_from="workscript@example.org",
        )

    async def test_the_log_and_the_answers_hold_no_secret(
        self,
        jp_fetch: Any,
        workscript: Any,
        smtp: tuple[Inbox, int],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        inbox, _ = smtp
        call = Recorder(jp_fetch)
        first, second, third = PASSWORDS
        email = "xena@example.org"
        made, user = await call("POST", "workscript/users", {}, {"email": email, "password": first})
        assert made.code == 201, made.body
        credentials = {"email": email, "password": first}
        wrong, _ = await call(
            "POST", "workscript/auth/login", ANON, {"email": email, "password": WRONG_PASSWORD}
        )
        assert wrong.code == 401
        login, tokens = await call("POST", "workscript/auth/login", ANON, credentials)
        assert login.code == 200, login.body
        cookies = [cookie_of(login)]
        refreshed, rotated = await call(
            "POST", "workscript/auth/refresh", ANON, {"refreshToken": tokens["refreshToken"]}
        )
        assert refreshed.code == 200, refreshed.body
        cookies.append(cookie_of(refreshed))
        created, key = await call(
            "POST", "workscript/keys", bearer(rotated["accessToken"]), {"name": "ci"}
        )
        assert created.code == 201, created.body
        with_key = {"X-API-Key": key["key"], "Authorization": ""}
        for method, path in (("GET", "workscript/keys"), ("GET", "workscript/auth/me")):
            assert (await call(method, path, with_key))[0].code == 200
        wrong_key, _ = await call(
            "GET", "workscript/workflows", {"X-API-Key": key["key"] + "x", "Authorization": ""}
        )
        assert wrong_key.code == 401

        asked, _ = await call("POST", "workscript/password-reset/request", ANON, {"email": email})
        assert asked.code == 202, asked.body
        mailed = TOKEN_IN_MAIL.search(inbox.messages[-1].get_content())
        assert mailed is not None
        reset_token = mailed.group(1)
        page = await jp_fetch(  # the user opens the link: the access log has its address
            "workscript", "password-reset", params={"token": reset_token}, headers=ANON
        )
        assert page.code == 200
        reset = {"token": reset_token, "password": second}
        assert (await call("POST", "workscript/password-reset/validate", ANON, reset))[
            0
        ].code == 200
        assert (await call("POST", "workscript/password-reset/complete", ANON, reset))[
            0
        ].code == 200
        again, _ = await call("POST", "workscript/password-reset/complete", ANON, reset)
        assert again.code == 400
        reused, _ = await call(
            "POST", "workscript/auth/refresh", ANON, {"refreshToken": rotated["refreshToken"]}
        )
        assert reused.code == 401

        login2, tokens2 = await call(
            "POST", "workscript/auth/login", ANON, {"email": email, "password": second}
        )
        assert login2.code == 200
        cookies.append(cookie_of(login2))
        mine = bearer(tokens2["accessToken"])
        bad_change = {"currentPassword": WRONG_PASSWORD, "newPassword": third}
        assert (await call("POST", "workscript/auth/change-password", mine, bad_change))[
            0
        ].code == 400
        change = {"currentPassword": second, "newPassword": third}
        changed, _ = await call("POST", "workscript/auth/change-password", mine, change)
        assert changed.code == 204, changed.body
        login3, tokens3 = await call(
            "POST", "workscript/auth/login", ANON, {"email": email, "password": third}
        )
        assert login3.code == 200
        cookies.append(cookie_of(login3))
        out, _ = await call(
            "POST",
            "workscript/auth/logout",
            bearer(tokens3["accessToken"]),
            {"refreshToken": tokens3["refreshToken"]},
        )
        assert out.code == 204

        store = workscript["store"]
        password_hash = store.users.get_password_hash(user["id"])
        issued = [tokens, rotated, tokens2, tokens3]
        refresh_tokens = [t["refreshToken"] for t in issued]
        secrets = {
            **{f"env {name}": value for name, value in ENV_SECRETS.items()},
            **{f"password {i}": p for i, p in enumerate((*PASSWORDS, WRONG_PASSWORD))},
            **{f"access token {i}": t["accessToken"] for i, t in enumerate(issued)},
            **{f"refresh token {i}": t for i, t in enumerate(refresh_tokens)},
            **{f"refresh hash {i}": sha256(t) for i, t in enumerate(refresh_tokens)},
            **{f"session cookie {i}": c for i, c in enumerate(cookies)},
            **{f"session id {i}": c.rpartition(".")[0] for i, c in enumerate(cookies)},
            "api key": key["key"],
            "api key hash": sha256(key["key"]),
            "reset token": reset_token,
            "reset token hash": sha256(reset_token),
            "password hash": password_hash,
            "password hash body": password_hash[7:],  # without the $2b$04$ prefix
        }
        log = server_log(caplog)
        assert "workscript" in log and "Config changed" in log  # it did capture at DEBUG
        found = [name for name, value in secrets.items() if value in log]
        assert found == [], f"in the server log: {found}"
        for what, reply, allowed in call.answers:
            shown = reply.body.decode(errors="replace") + "\n" + str(reply.headers)
            # a cookie carries its session's id: a part of what is allowed is allowed
            leaked = [
                n for n, v in secrets.items() if v in shown and not any(v in a for a in allowed)
            ]
            assert leaked == [], f"{what} shows {leaked}"
        assert len(call.answers) >= 18


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged since the server's start, tracebacks included, but for the stand-in
    SMTP server's own log (aiosmtpd's ``mail.log`` shows what it receives, as it should)."""
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    return "\n".join(caplog.handler.format(r) for r in records if not r.name.startswith("mail."))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- bad secrets and generated ones: real server processes ---------------------------------

GOOD = {"JWT_SECRET": "k" * 40, "JWT_REFRESH_SECRET": "l" * 40, "SESSION_SECRET": "q" * 40}
BAD_SECRETS = {
    "short access secret": ({"JWT_SECRET": "too-short-secret-0001"}, "jwt_secret"),
    "short refresh secret": ({"JWT_REFRESH_SECRET": "too-short-secret-0002"}, "jwt_refresh_secret"),
    "equal secrets": ({"JWT_REFRESH_SECRET": GOOD["JWT_SECRET"]}, "jwt_refresh_secret"),
    "short session secret": ({"SESSION_SECRET": "too-short-secret-0003"}, "session_secret"),
}


def wait_for_verdict(server: JupyterProcess, timeout: float = 60.0) -> None:
    """Until the process has exited or Jupyter answers (with or without workscript)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            return
        try:
            if server.call("GET", "api/status").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no verdict in {timeout} s; the log:\n{server.log()[-3000:]}")


@pytest.mark.slow  # server processes
@pytest.mark.parametrize("case", BAD_SECRETS, ids=list(BAD_SECRETS))
def test_a_bad_secret_stops_the_server_naming_the_setting(case: str, tmp_path: Path) -> None:
    changes, setting = BAD_SECRETS[case]
    env = {**GOOD, **changes}
    server = JupyterProcess(tmp_path, env=env, db_url=f"sqlite:///{tmp_path / 'w.sqlite'}")
    server.launch()
    try:
        wait_for_verdict(server)
        log = server.log()
        assert f"c.WorkscriptApp.{setting}" in log, log[-3000:]
        assert setting.upper() in log  # the environment variable's name too
        for value in changes.values():
            assert value not in log, "the error repeats the secret"
        assert server.process is not None and server.process.poll() is not None, "still up"
        assert server.process is not None and server.process.returncode != 0
    finally:
        server.stop()


@pytest.mark.slow  # two server processes, one after the other
def test_generated_secrets_are_private_and_survive_a_restart(tmp_path: Path) -> None:
    options: dict[str, Any] = {"db_url": f"sqlite:///{tmp_path / 'w.sqlite'}", "bcrypt_rounds": 4}
    first = JupyterProcess(tmp_path, **options).start()  # no secret in its environment
    try:
        path = first.data_dir / "workscript_secrets.json"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        kept = json.loads(path.read_text())
        names = ("jwt_secret", "jwt_refresh_secret", "session_secret")
        assert all(len(kept[name]) >= 32 for name in names), sorted(kept)
        assert len({kept[name] for name in names}) == 3
        user = {"email": "yan@example.org", "password": PASSWORDS[0]}
        assert first.call("POST", "workscript/users", json=user).status_code == 201
        login = first.call("POST", "workscript/auth/login", token=False, json=user)
        assert login.status_code == 200, login.text
        tokens = login.json()
    finally:
        first.stop()
    second = JupyterProcess(tmp_path, **options).start()
    try:
        me = second.call(
            "GET", "workscript/auth/me", token=False, headers=bearer(tokens["accessToken"])
        )
        assert me.status_code == 200, me.text
        refresh = second.call(
            "POST",
            "workscript/auth/refresh",
            token=False,
            json={"refreshToken": tokens["refreshToken"]},
        )
        assert refresh.status_code == 200, refresh.text
        assert json.loads(path.read_text()) == kept
        log = second.log()
        assert not any(kept[name] in log for name in names), "a generated secret is in the log"
    finally:
        second.stop()
