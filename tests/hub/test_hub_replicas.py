"""Two replicas of the Workscript service, run with ``workscript service`` beside a real hub, and
a leader killed with SIGKILL (issue 19).

The hub has ``WORKSCRIPT_SERVICE_API_TOKEN``, so the example configuration only registers the
service (its URL and that token) and starts nothing. Replica 1 listens where the hub's proxy
sends ``/services/workscript/``; replica 2 on a port of its own; both on the same MariaDB
database, with the environment a hub-started service gets. alice schedules a workflow every
2 s through the proxy; once it fires, whichever replica leads the scheduler is killed with
SIGKILL (its MariaDB connection, and with it the ``GET_LOCK`` leader lock, dies with it), and the
other one takes over: every tick from the first to the last fires exactly once, none lost.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .conftest import require_hub_tools
from .harness import Hub, assert_each_tick_fired_once, free_port, http, scratch_database, start_hub

# MariaDB: a database of its own, but GET_LOCK names are the machine's (the services group)
pytestmark = pytest.mark.mysql

SERVICE_NAME = "workscript"
TICK_SECONDS = 2
MISSED_TICKS = 2  # while the leader is dead and the survivor paused: no one fires them
TICKS_AFTER_THE_PAUSE = 2  # fired on time by the new leader before the automation is turned off
READY_SECONDS = 60.0
FIRES_SECONDS = 40.0  # the longest a wait for fires may take (a failure, not a figure)
WORKSCRIPT = Path(sys.executable).with_name("workscript")  # the console script, as installed
# the replicas start once the hub answers: it need not wait for them first (30 s by default)
HUB_CONFIG = """
c.JupyterHub.services = [
    {**service, "timeout": 1} if service["name"] == "workscript" else service
    for service in c.JupyterHub.services.get_value([])
]
"""


@dataclass
class Replica:
    server_id: str
    url: str  # where it listens: its JUPYTERHUB_SERVICE_URL
    process: subprocess.Popen[bytes]
    log_path: Path

    def api(self, path: str) -> str:
        return f"{self.url}/services/{SERVICE_NAME}/workscript/{path}"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.server_id} ---\n" + "\n".join(text)


def start_replica(hub: Hub, folder: Path, token: str, server_id: str, url: str) -> Replica:
    """``workscript service`` with what a service the hub started would get from it (the
    prefix, OAuth client and callback are the command's own defaults, as the hub sets them)."""
    env = {name: value for name, value in os.environ.items() if name != "REDIS_URL"}
    env.update(
        {  # the same database and settings as the hub's (REDIS_URL off: the MariaDB lock)
            name: hub.env[name]
            for name in (
                "PATH",
                "JUPYTER_CONFIG_DIR",
                "WORKSCRIPT_DB_URL",
                "WORKSCRIPT_SECRET_KEY",
                "WORKSCRIPT_HUB_URL",
            )
        }
    )
    env.update(
        JUPYTER_RUNTIME_DIR=str(folder / f"runtime-{server_id}"),
        JUPYTERHUB_API_TOKEN=token,
        JUPYTERHUB_API_URL=hub.api_url,
        JUPYTERHUB_SERVICE_NAME=SERVICE_NAME,
        JUPYTERHUB_SERVICE_URL=url,
    )
    arguments = [
        f"--ServerApp.root_dir={hub.env['WORKSCRIPT_SERVICE_DIR']}",
        f"--WorkscriptApp.server_id={server_id}",
        "--WorkscriptApp.kernel_pool_size=0",
        # a dead leader's successor within half a second; automations seen as quickly
        "--WorkscriptApp.scheduler_lock_check_seconds=0.5",
        "--WorkscriptApp.scheduler_poll_seconds=0.5",
    ]
    if os.geteuid() == 0:
        arguments.append("--allow-root")
    log_path = folder / f"{server_id}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(WORKSCRIPT), "service", *arguments],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, killed as one
        )
    return Replica(server_id, url, process, log_path)


def wait_until_ready(replica: Replica) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise AssertionError(f"exited ({replica.process.returncode}):\n{replica.log_tail()}")
        with contextlib.suppress(OSError):  # jupyter_server's /api needs no login
            if http("GET", f"{replica.url}/services/{SERVICE_NAME}/api", timeout=2).code == 200:
                return
        time.sleep(0.25)
    raise AssertionError(f"not ready within {READY_SECONDS} s:\n{replica.log_tail()}")


@pytest.fixture(scope="module")
def replicated_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, list[Replica]]]:
    folder = tmp_path_factory.mktemp("replicas")
    token = secrets.token_hex(24)
    with (
        scratch_database(require_hub_tools()) as database_url,
        start_hub(
            folder,
            database_url,
            extra_env={"WORKSCRIPT_SERVICE_API_TOKEN": token},
            extra_config=HUB_CONFIG,
            wait_for_service=False,
        ) as hub,
    ):
        replicas: list[Replica] = []
        try:
            for server_id, url in (
                ("replica-1", hub.env["WORKSCRIPT_SERVICE_URL"]),  # the URL the hub registered
                ("replica-2", f"http://127.0.0.1:{free_port()}"),
            ):
                replicas.append(start_replica(hub, folder, token, server_id, url))
            for replica in replicas:
                wait_until_ready(replica)
            yield hub, replicas
        finally:
            for replica in replicas:
                replica.kill()


def fires_of(url: str, token: str) -> list[dict[str, Any]]:
    reply = http("GET", f"{url}/fires?limit=100", token=token)
    assert reply.code == 200, (reply.code, reply.body)
    return list(reply.body["items"])


def wait_for_fires(
    url: str, token: str, enough: Any, what: str, replicas: list[Replica]
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + FIRES_SECONDS
    while time.monotonic() < deadline:
        fires = fires_of(url, token)
        if enough(fires):
            return fires
        time.sleep(0.5)
    logs = "\n".join(replica.log_tail() for replica in replicas)
    raise AssertionError(f"{what}: not within {FIRES_SECONDS} s: {fires}\n{logs}")


def tick(fire: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(fire["scheduledFor"])


def test_a_killed_leaders_ticks_are_fired_once_by_the_other_replica(
    replicated_hub: tuple[Hub, list[Replica]],
) -> None:
    hub, replicas = replicated_hub
    alice = hub.tokens["alice"]
    flow_id = f"every-two-{uuid.uuid4().hex[:6]}"
    document = {"id": flow_id, "name": flow_id, "version": "1.0.0", "workflow": [{"$.n": 1}]}
    created = http(
        "POST",
        f"{hub.service_url}/workscript/workflows",
        token=alice,
        body={"definition": document},
    )
    assert created.code == 201, (created.code, created.body)
    automation = http(
        "POST",
        f"{hub.service_url}/workscript/automations",
        token=alice,
        body={
            "workflowId": created.body["id"],
            "name": flow_id,
            "triggerType": "cron",
            "cron": f"*/{TICK_SECONDS} * * * * *",
            "timezone": "UTC",
            "enabled": True,
        },
    )
    assert automation.code == 201, (automation.code, automation.body)
    automation_id = automation.body["id"]
    through_proxy = f"{hub.service_url}/workscript/automations/{automation_id}"
    before = wait_for_fires(
        through_proxy, alice, lambda fires: len(fires) >= 2, "two fires", replicas
    )

    [leader_id] = {fire["claimedBy"] for fire in before}  # one leader fires them all
    [leader] = [replica for replica in replicas if replica.server_id == leader_id]
    [survivor] = [replica for replica in replicas if replica is not leader]
    # exec, not a child process: the pid the signals go to is the server's own
    assert b"jupyterhub.singleuser" in Path(f"/proc/{leader.process.pid}/cmdline").read_bytes()
    # pause the survivor across a few ticks before the kill, so that some ticks really are
    # missed (it would otherwise take over within its half-second lock check, between ticks)
    # and the new leader must fire them late, at takeover
    os.kill(survivor.process.pid, signal.SIGSTOP)
    leader.kill()
    killed_at = datetime.now(UTC)
    time.sleep(MISSED_TICKS * TICK_SECONDS + 0.5)
    resumed_at = datetime.now(UTC)
    os.kill(survivor.process.pid, signal.SIGCONT)

    # the proxy may point at the dead one: ask the survivor itself (it knows alice's token too)
    direct = survivor.api(f"automations/{automation_id}")
    wait_for_fires(
        direct,
        alice,
        lambda fires: sum(tick(fire) > resumed_at for fire in fires) >= TICKS_AFTER_THE_PAUSE,
        f"{TICKS_AFTER_THE_PAUSE} ticks after {survivor.server_id} resumed, {leader_id} killed",
        replicas,
    )
    disabled = http("PUT", direct, token=alice, body={"enabled": False})
    assert disabled.code == 200, (disabled.code, disabled.body)
    fires = fires_of(direct, alice)

    assert_each_tick_fired_once(fires, TICK_SECONDS)
    claimers = {fire["claimedBy"] for fire in fires}
    assert claimers == {leader.server_id, survivor.server_id}, fires  # the survivor took over
    assert all(fire["claimedBy"] == survivor.server_id for fire in fires if tick(fire) > killed_at)
    missed = [fire for fire in fires if killed_at < tick(fire) < resumed_at]
    assert len(missed) >= MISSED_TICKS, fires
    # fired at takeover, after the pause: no one could have fired them on time
    assert all(datetime.fromisoformat(fire["claimedAt"]) >= resumed_at for fire in missed), fires
