"""Real ``jupyter server`` processes sharing one MariaDB database, for the scheduler's tests."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

TOKEN = "scheduler-test-token"
READY_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scratch_database(mysql_url: str) -> Iterator[str]:
    """A new MariaDB database for one test, dropped afterwards; yields its URL."""
    name = f"workscript_sched_{secrets.token_hex(4)}"
    admin = sa.create_engine(mysql_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    url = sa.make_url(mysql_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


class Server:
    """One ``jupyter server`` with the extension, on its own port, logging to a file."""

    def __init__(self, name: str, db_url: str, root: Path, logs: Path, **options: Any) -> None:
        self.name = name
        self.db_url = db_url
        self.root = root
        self.log_path = logs / f"{name}.log"
        self.options = options
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def server_id(self) -> str:
        return f"server-{self.name}"

    def start(self) -> Server:
        return self.launch().ready()

    def launch(self) -> Server:
        """Start the process without waiting: servers launched together boot in parallel."""
        self.port = free_port()
        args = [
            sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
            f"--port={self.port}", "--ip=127.0.0.1",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.jpserver_extensions=workscript_jupyter=True",
            f"--WorkscriptApp.db_url={self.db_url}",
            f"--WorkscriptApp.server_id={self.server_id}",
            "--WorkscriptApp.kernel_pool_size=0",
            "--WorkscriptApp.scheduler_lock_check_seconds=0.5",
            "--WorkscriptApp.max_concurrent_runs=8",
            "--WorkscriptApp.max_concurrent_runs_per_user=8",
        ]  # fmt: skip
        args += [f"--WorkscriptApp.{key}={value}" for key, value in self.options.items()]
        log = self.log_path.open("ab")
        # only this extension: no JupyterLab, terminals, LSP (a third of the start-up time)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "JUPYTER_NO_CONFIG": "1"}
        env.pop("REDIS_URL", None)
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        return self

    def ready(self) -> Server:
        """Wait until the launched server answers its health check."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                code = self.get("health").status_code
            except httpx.HTTPError:
                code = None
            if code == 200:
                return self
            if code == 404:  # Jupyter answers, without the extension: no use waiting
                raise RuntimeError(
                    f"{self.name} runs without workscript_jupyter; see {self.log_path}"
                )
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer in {READY_SECONDS} s; see {self.log_path}")

    def url(self, *parts: str) -> str:
        return f"http://127.0.0.1:{self.port}/workscript/" + "/".join(parts)

    def request(self, method: str, *parts: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"token {TOKEN}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.url(*parts), headers=headers, timeout=30, **kwargs)

    def get(self, *parts: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", *parts, **kwargs)

    def post(self, *parts: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", *parts, **kwargs)

    def status(self) -> dict[str, Any]:
        reply = self.get("scheduler", "status")
        reply.raise_for_status()
        return dict(reply.json())

    def kill(self) -> None:
        """kill -9: no shutdown handler runs, no lock is released by the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def wait_until(predicate: Any, timeout: float, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(step)


def leader_of(servers: list[Server]) -> Server | None:
    leaders = [s for s in servers if s.alive and s.status().get("leader")]
    assert len(leaders) <= 1, f"two leaders at once: {[s.name for s in leaders]}"
    return leaders[0] if leaders else None
