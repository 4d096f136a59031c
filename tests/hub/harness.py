"""A real JupyterHub with the Workscript service behind it (tests/hub/ and bench/hub.py).

The hub (``jupyterhub`` and npm's ``configurable-http-proxy``) runs on 127.0.0.1 on free ports,
with its SQLite database and cookie secret in a temporary folder. Its configuration loads the
deployment example ``jupyter-config/jupyterhub_config.py`` unchanged and adds only what a test
needs: a shared-password authenticator (the dummy one with a password),
``SimpleLocalProcessSpawner``, the users alice, bob and ann (ann in the admin group
``workscript-admins``) and a ``test-admin`` service whose token asks the hub for each user's
API token. The Workscript service it starts uses a fresh MariaDB database, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "jupyter-config" / "jupyterhub_config.py"
# the default users; start_hub(users=...) for more. carol's servers never start (UNSPAWNABLE)
USERS = ("alice", "bob", "ann", "carol")
UNSPAWNABLE = "carol"
ADMIN_GROUP = "workscript-admins"
READY_SECONDS = 60.0
# what every user token may do: the service, their own servers, and reading their own name
USER_TOKEN_SCOPES = [
    "access:services!service=workscript",
    "access:servers!user",
    "read:users:name!user",
]
#: a variable every user server gets from the spawner, different per user
SPAWNER_VARIABLE = "WORKSCRIPT_TEST_SPAWNED_FOR"

TEST_OVERRIDES = """
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {public_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = {pid_file!r}
c.JupyterHub.db_url = {hub_db!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {home_template!r}
c.Spawner.environment.update(
    {{{spawner_variable!r}: lambda spawner: "spawned-for-" + spawner.user.name}}
)
c.Spawner.start_timeout = 90
def _refuse_unspawnable(spawner):
    if spawner.user.name == {unspawnable!r}:
        raise RuntimeError("this test hub never starts a server of " + spawner.user.name)
c.Spawner.pre_spawn_hook = _refuse_unspawnable
# the browser test reads window.jupyterapp, as tests/lab/ do
c.Spawner.args = ["--LabApp.expose_app_in_browser=True"]
if __import__("os").geteuid() == 0:  # CI runs as root; SimpleLocalProcessSpawner keeps the uid
    c.Spawner.args.append("--allow-root")
c.Spawner.http_timeout = 90
c.JupyterHub.load_groups = {{{admin_group!r}: {{"users": ["ann"]}}}}
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {admin_token!r}}})
c.JupyterHub.load_roles.append(
    {{
        "name": "test-admin",
        "services": ["test-admin"],
        "scopes": ["admin:users", "tokens", "read:services", "servers", "admin:server_state"],
    }}
)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mysql_admin_url() -> str:
    """The server of tests/conftest.py's ``mysql_url`` (module scope needs its own copy)."""
    host = os.environ.get("DB_HOST", "127.0.0.1")
    port = int(os.environ.get("DB_PORT", "3306"))
    user = os.environ.get("DB_USER", "root")
    password = os.environ.get("DB_PASSWORD", "")
    return f"mysql+pymysql://{user}:{password}@{host}:{port}/{os.environ.get('DB_NAME', 'test')}"


@dataclass
class Reply:
    code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 302 to the login page is an answer, not something to follow


_opener = urllib.request.build_opener(NoRedirect)


def http(
    method: str, url: str, *, token: str | None = None, body: Any = None, timeout: float = 15.0
) -> Reply:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"token {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            raw, code, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, code, got = error.read(), error.code, dict(error.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(code, parsed, got)


@dataclass
class Hub:
    process: subprocess.Popen[bytes]
    url: str  # the proxy's public URL: what users reach
    log_path: Path
    runtime_dir: Path  # the service's Jupyter runtime folder
    admin_token: str = field(default="", repr=False)  # the test-admin service's
    home: Path = Path()  # users' home folders: <home>/<user>
    env: dict[str, str] = field(default_factory=dict, repr=False)  # the hub's environment
    tokens: dict[str, str] = field(default_factory=dict)  # user → hub API token
    token_without_access: str = ""  # bob's, without access:services!service=workscript
    service_pid: int = 0
    api_url: str = ""  # the hub's REST API on its own port, as a service's JUPYTERHUB_API_URL
    password: str = field(default="", repr=False)  # every user's, at the hub's login page

    def stop(self) -> None:
        """SIGTERM to the hub, which stops its proxy and its service; SIGKILL to what lingers
        (the service runs in a session of its own: it is killed by its pid)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):  # the proxy, had it outlived the hub
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.service_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.service_pid, signal.SIGKILL)

    @property
    def service_url(self) -> str:
        return f"{self.url}/services/workscript"

    def new_token(self, user: str, scopes: list[str]) -> str:
        """A new hub API token of ``user`` with ``scopes`` (the test-admin service asks)."""
        created = http(
            "POST",
            f"{self.url}/hub/api/users/{user}/tokens",
            token=self.admin_token,
            body={"scopes": scopes, "note": "tests/hub", "expires_in": 3600},
        )
        assert created.code == 201, (created.code, created.body)
        return str(created.body["token"])

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _wait_until(ready: Any, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the hub exited ({process.returncode}) before {what}:\n{tail}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{what}: not within {READY_SECONDS} s:\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def scratch_database(admin_url: str, prefix: str = "workscript_hub") -> Iterator[str]:
    """A fresh MariaDB database; dropped afterwards. Yields its SQLAlchemy URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    url = sa.make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    try:
        yield f"{url}?charset=utf8mb4"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@contextlib.contextmanager
def start_hub(
    folder: Path,
    database_url: str,
    *,
    users: tuple[str, ...] = USERS,
    extra_env: dict[str, str] | None = None,
    extra_config: str = "",
    service_config: dict[str, Any] | None = None,
    wait_for_service: bool = True,
) -> Iterator[Hub]:
    """Start a hub in ``folder`` whose configuration loads the example file unchanged, then
    the test overrides and ``extra_config``; yields it once the hub (and, unless told not to,
    the service behind the proxy) answers; stops it afterwards.

    ``extra_env`` goes to the hub's environment (the example reads its settings there);
    ``service_config`` is the service's ``WorkscriptApp`` settings (jupyter_server_config.json).
    """
    service_dir = folder / "service"
    service_dir.mkdir(exist_ok=True)
    public_port, hub_port, proxy_api_port, service_port = (free_port() for _ in range(4))
    admin_token = secrets.token_hex(16)
    password = secrets.token_hex(12)
    config = folder / "jupyterhub_config.py"
    config.write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(EXAMPLE_CONFIG)!r})  # noqa: F821\n"
        + TEST_OVERRIDES.format(
            public_port=public_port,
            hub_port=hub_port,
            proxy_api_port=proxy_api_port,
            pid_file=str(folder / "proxy.pid"),
            hub_db=f"sqlite:///{folder / 'jupyterhub.sqlite'}",
            cookie_secret=str(folder / "cookie_secret"),
            password=password,
            users=set(users),
            admin_group=ADMIN_GROUP,
            admin_token=admin_token,
            home_template=str(folder / "home" / "{username}"),
            spawner_variable=SPAWNER_VARIABLE,
            unspawnable=UNSPAWNABLE,
        )
        + extra_config
    )
    # the service's Jupyter config (passed on by the example): no warm kernel, which would
    # start with every hub and compete for ports with the kernel tests of another worker
    jupyter_config = folder / "jupyter-config"
    jupyter_config.mkdir(exist_ok=True)
    (jupyter_config / "jupyter_server_config.json").write_text(
        json.dumps({"WorkscriptApp": {"kernel_pool_size": 0, **(service_config or {})}})
    )
    runtime_dir = folder / "runtime"
    env = {
        # no REDIS_URL: the leader lock is then MariaDB's GET_LOCK, whose name includes the
        # database (each hub has its own), so hubs never share a lock with other tests
        **{name: value for name, value in os.environ.items() if name != "REDIS_URL"},
        "JUPYTER_CONFIG_DIR": str(jupyter_config),
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "WORKSCRIPT_DB_URL": database_url,
        "WORKSCRIPT_SECRET_KEY": secrets.token_urlsafe(32),
        "WORKSCRIPT_SERVICE_URL": f"http://127.0.0.1:{service_port}",
        "WORKSCRIPT_SERVICE_DIR": str(service_dir),
        "WORKSCRIPT_ADMIN_GROUPS": ADMIN_GROUP,
        "WORKSCRIPT_HUB_URL": f"http://127.0.0.1:{public_port}",
        **(extra_env or {}),
    }
    log_path = folder / "hub.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=folder,
            env=env,
            # no terminal: the service (jupyter_server) would ask "Shut down?" on the hub's SIGINT
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the hub and its proxy: one process group to stop
        )
    hub = Hub(
        process,
        f"http://127.0.0.1:{public_port}",
        log_path,
        runtime_dir,
        admin_token=admin_token,
        home=folder / "home",
        env=env,
        api_url=f"http://127.0.0.1:{hub_port}/hub/api",
        password=password,
    )
    url = hub.url
    try:
        _wait_until(
            lambda: http("GET", f"{url}/hub/api/", timeout=2).code == 200,
            "the hub answered",
            process,
            log_path,
        )
        if wait_for_service:
            _wait_until(  # jupyter_server's /api needs no login: the service is up behind it
                lambda: http("GET", f"{url}/services/workscript/api", timeout=2).code == 200,
                "the workscript service answered",
                process,
                log_path,
            )
        for user in users:
            hub.tokens[user] = hub.new_token(user, USER_TOKEN_SCOPES)
        hub.token_without_access = hub.new_token("bob", ["read:users:name!user"])
        service = http("GET", f"{url}/hub/api/services/workscript", token=admin_token)
        hub.service_pid = int(service.body.get("pid") or 0)
        yield hub
    finally:
        hub.stop()


def assert_each_tick_fired_once(fires: list[dict[str, Any]], tick_seconds: int) -> list[datetime]:
    """An automation's fires (its ``/fires`` items): contiguous ticks ``tick_seconds`` apart from
    the first to the last (none lost, none twice), each fired with a run of its own. Returns
    the ticks, in order."""
    ticks = sorted(datetime.fromisoformat(fire["scheduledFor"]) for fire in fires)
    gaps = {(later - earlier).total_seconds() for earlier, later in itertools.pairwise(ticks)}
    assert gaps == {float(tick_seconds)}, ticks
    assert {fire["outcome"] for fire in fires} == {"fired"}, fires
    runs = [fire["executionId"] for fire in fires]
    assert None not in runs and len(set(runs)) == len(ticks), fires  # one run per tick
    return ticks
