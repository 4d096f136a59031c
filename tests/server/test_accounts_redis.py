"""The accounts layer across server processes: rate limits and sessions shared through Redis.

- Two real ``jupyter server`` processes on one MariaDB database and one Redis: a key with
  ``rateLimit=20`` gets 20 requests spread over both, and the 21st is a 429 with
  ``Retry-After`` on either. The same with the database limiter (no Redis) shared by the two.
- Without Redis, one server: the 21st is a 429 (the database limiter).
- A login survives a restart: its session lives in Redis, so a new server process on the same
  database and Redis takes its access token, its cookie and its refresh token; and taking the
  session out of Redis ends it (it was there, not in the database).

``JupyterProcess`` starts those servers (secrets through the environment, as in production,
never on the command line); the other account tests import it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest

from tests.scheduler.servers import free_port, scratch_database

from .conftest import Api, server_config

TOKEN = "accounts-test-token"
READY_SECONDS = 90.0
SECRETS_ENV = {
    "JWT_SECRET": "r" * 40,
    "JWT_REFRESH_SECRET": "s" * 40,
    "SESSION_SECRET": "t" * 40,
}
# what a test server must never inherit from the environment of the run
_SCRUBBED = (
    "REDIS_URL",
    "JWT_SECRET",
    "JWT_REFRESH_SECRET",
    "SESSION_SECRET",
    "WORKSCRIPT_DB_URL",
    "SMTP_HOST",
    "SMTP_PASS",
    "SMTP_USER",
    "EMAIL_FROM",
    "API_KEY_RATE_LIMIT",
)
PASSWORD = "Redis-Pass-42"


class JupyterProcess:
    """One ``jupyter server`` with the extension, its own port, data dir and log file.

    ``full``: every installed server extension (JupyterLab, terminals ...), as a user's
    server runs; otherwise only workscript_jupyter (a third of the start-up time).
    """

    def __init__(
        self,
        home: Path,
        *,
        env: dict[str, str] | None = None,
        full: bool = False,
        **options: Any,
    ) -> None:
        self.home = home
        self.env = env or {}
        self.full = full
        self.options = options
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = home / "server.log"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def launch(self) -> JupyterProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "root").mkdir(exist_ok=True)
        self.port = free_port()
        args = [
            sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
            f"--port={self.port}", "--ip=127.0.0.1",
            f"--ServerApp.root_dir={self.home / 'root'}",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.jpserver_extensions=workscript_jupyter=True",
            "--WorkscriptApp.kernel_pool_size=0",
        ]  # fmt: skip
        args += [f"--WorkscriptApp.{key}={value}" for key, value in self.options.items()]
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env.update(
            PYTHONUNBUFFERED="1",
            JUPYTER_DATA_DIR=str(self.data_dir),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            **self.env,
        )
        if not self.full:
            env["JUPYTER_NO_CONFIG"] = "1"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def start(self) -> JupyterProcess:
        return self.launch().ready()

    def ready(self) -> JupyterProcess:
        """Wait until the extension answers its health check."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; its log:\n{self.log()[-3000:]}")
            try:
                code = self.call("GET", "workscript/health").status_code
            except httpx.HTTPError:
                code = None
            if code == 200:
                return self
            if code == 404:
                raise RuntimeError(f"workscript is not serving; its log:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"no answer in {READY_SECONDS} s; its log:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        token: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """A request; with the Jupyter token unless ``token=False`` or headers carry another
        credential."""
        sent = {"Authorization": f"token {TOKEN}"} if token else {}
        sent.update(headers or {})
        return httpx.request(
            method, self.url(path), headers=sent, timeout=30, follow_redirects=False, **kwargs
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


@pytest.fixture
def processes() -> Iterator[list[JupyterProcess]]:
    """Servers a test starts; every one is stopped at the end, whatever happened."""
    started: list[JupyterProcess] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def redis_keys() -> Iterator[dict[str, set[str]]]:
    """Redis keys a test made (rate windows, sessions), by Redis URL: deleted at the end."""
    import redis

    made: dict[str, set[str]] = {}
    yield made
    for url, keys in made.items():
        client = redis.Redis.from_url(url)
        try:
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def session_keys(redis_url: str, user_id: str, session_id: str) -> set[str]:
    """The Redis keys of one session and of its user's set (auth/sessions.py)."""
    digest = hashlib.sha256(session_id.encode("ascii")).hexdigest()
    return {f"workscript:session:s:{digest}", f"workscript:session:u:{user_id}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_key(server: JupyterProcess, rate_limit: int) -> dict[str, Any]:
    reply = server.call("POST", "workscript/keys", json={"name": "shared", "rateLimit": rate_limit})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def spend_over(servers: list[JupyterProcess], key: str, limit: int) -> None:
    """``limit`` requests spread over ``servers`` all pass; the next is a 429 on each."""
    headers = {"X-API-Key": key, "Authorization": ""}
    for index in range(limit):
        server = servers[index % len(servers)]
        reply = server.call("GET", "workscript/workflows", headers=headers, token=False)
        assert reply.status_code == 200, (index, reply.text)
        assert reply.headers["X-RateLimit-Limit"] == str(limit)
        assert reply.headers["X-RateLimit-Remaining"] == str(limit - 1 - index), index
    for server in servers:
        refused = server.call("GET", "workscript/workflows", headers=headers, token=False)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert "rate limit" in refused.json()["error"]["message"]


@pytest.mark.slow
@pytest.mark.mysql
@pytest.mark.parametrize("limiter", [pytest.param("redis", marks=pytest.mark.redis), "database"])
def test_two_servers_share_a_keys_rate_limit(
    limiter: str,
    mysql_url: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    processes: list[JupyterProcess],
    redis_keys: dict[str, set[str]],
) -> None:
    env = dict(SECRETS_ENV)
    redis_url = request.getfixturevalue("redis_url") if limiter == "redis" else None
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    with scratch_database(mysql_url) as database:
        for name in ("a", "b"):  # one after the other: the first one migrates the database
            server = JupyterProcess(tmp_path / name, env=env, db_url=database)
            processes.append(server.start())
        key = make_key(processes[0], 20)
        window = f"workscript:rate:apikey:{key['id']}"
        if redis_url is not None:
            redis_keys[redis_url] = {window}
        spend_over(processes, key["key"], 20)
        if redis_url is not None:  # the window was Redis's, not the database's
            import redis

            with redis.Redis.from_url(redis_url) as client:
                assert client.zcard(window) == 20
        for server in processes:
            server.stop()


class TestOneServerWithoutRedis:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
        monkeypatch.delenv("REDIS_URL", raising=False)  # the database limiter, whatever CI sets
        return server_config(
            workscript_db_url,
            jwt_secret="u" * 40,
            jwt_refresh_secret="v" * 40,
            session_secret="w" * 40,
        )

    async def test_the_21st_request_is_a_429(
        self, api: Api, jp_fetch: Any, workscript: Any
    ) -> None:
        from workscript_jupyter.auth.rate_limit import StoreRateLimiter

        assert isinstance(workscript["accounts"]._limiter, StoreRateLimiter)
        made = await api.post("keys", json_body={"name": "one", "rateLimit": 20})
        assert made.code == 201, made.raw
        tool = api.as_user({"X-API-Key": made.body["key"], "Authorization": ""})
        for index in range(20):
            reply = await tool.get("workflows")
            assert reply.code == 200, (index, reply.raw)
            assert reply.headers["X-RateLimit-Remaining"] == str(19 - index)
        refused = await tool.get("workflows")
        assert refused.code == 429 and int(refused.headers["Retry-After"]) > 0


@pytest.mark.redis
def test_a_login_survives_a_restart_with_its_session_in_redis(
    redis_url: str, tmp_path: Path, processes: list[JupyterProcess], redis_keys: dict[str, set[str]]
) -> None:
    env = {**SECRETS_ENV, "REDIS_URL": redis_url}
    options: dict[str, Any] = {
        "db_url": f"sqlite:///{tmp_path / 'shared.sqlite'}",
        "credential_cache_seconds": 0,  # every request reads the session where it lives
    }
    first = JupyterProcess(tmp_path / "first", env=env, **options)
    processes.append(first.start())
    user = first.call(
        "POST", "workscript/users", json={"email": "rita@example.org", "password": PASSWORD}
    )
    assert user.status_code == 201, user.text
    login = first.call(
        "POST",
        "workscript/auth/login",
        token=False,
        json={"email": "rita@example.org", "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    cookie = login.cookies["workscript-session"]
    session_id = pyjwt.decode(tokens["accessToken"], options={"verify_signature": False})["sid"]
    keys = session_keys(redis_url, user.json()["id"], session_id)
    redis_keys[redis_url] = keys
    first.stop()

    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        assert client.exists(*keys) == 2, "the session is not in Redis"
        second = JupyterProcess(tmp_path / "second", env=env, **options)
        processes.append(second.start())
        me = second.call("GET", "workscript/auth/me", headers=bearer(tokens["accessToken"]))
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "rita@example.org"
        by_cookie = second.call(
            "GET", "workscript/auth/me", token=False, cookies={"workscript-session": cookie}
        )
        assert by_cookie.status_code == 200, by_cookie.text
        refreshed = second.call(
            "POST",
            "workscript/auth/refresh",
            token=False,
            json={"refreshToken": tokens["refreshToken"]},
        )
        assert refreshed.status_code == 200, refreshed.text

        # the session lived in Redis, not in the database: without it, the login is over
        client.delete(next(k for k in keys if ":s:" in k))
        gone = second.call("GET", "workscript/auth/me", headers=bearer(tokens["accessToken"]))
        assert gone.status_code == 401, gone.text
    finally:
        client.close()
