"""Kernels on a Jupyter Kernel Gateway: a real ``jupyter kernelgateway`` process on another port.

``workscript run-notebook --gateway-url`` and ``workscript worker --gateway-url`` run their code
on a kernel the gateway started (the kernel's parent is the gateway, not our process); a wrong
token or a bad URL is a clear error that names the setting and never shows the token.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from jupyter_server.gateway.gateway_client import GatewayClient

from workscript_jupyter.errors import ConfigurationError
from workscript_jupyter.server.kernel_gateway_traits import KernelGatewayTraits
from workscript_jupyter.store import migrate
from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id, utcnow
from workscript_jupyter.store.sql import SqlStore

pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True)
class Gateway:
    url: str
    token: str = field(repr=False)
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(gateway: Gateway, process: subprocess.Popen[bytes], log: Path) -> None:
    request = urllib.request.Request(
        f"{gateway.url}/api/kernelspecs", headers={"Authorization": f"token {gateway.token}"}
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the kernel gateway exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    pytest.fail(f"the kernel gateway did not answer: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = tmp_path_factory.mktemp("kernel-gateway")
    port, token = free_port(), secrets.token_hex(16)
    log = home / "gateway.log"
    command = [
        sys.executable, "-m", "kernel_gateway", "--KernelGatewayApp.ip=127.0.0.1",
        f"--KernelGatewayApp.port={port}", "--KernelGatewayApp.port_retries=0",
        f"--KernelGatewayApp.auth_token={token}",
        # the gateway would pass this name on: only Workscript keeps it from being sent
        "--JupyterWebsocketPersonality.env_whitelist=WS_TEST_SECRET",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime")},
        )
    found = Gateway(f"http://127.0.0.1:{port}", token, process.pid)
    try:
        wait_listening(found, process, log)
        yield found
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def workscript(
    *args: str, cwd: Path, token: str | None, **extra_env: str
) -> tuple[subprocess.CompletedProcess[str], int]:
    """The command's result and its pid (the kernel must not be its child)."""
    env = {k: v for k, v in os.environ.items() if "GATEWAY" not in k}
    env.update(extra_env)
    if token is not None:
        env["WORKSCRIPT_GATEWAY_AUTH_TOKEN"] = token
    process = subprocess.Popen(
        [sys.executable, "-m", "workscript_jupyter.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=50)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), process.pid


PIDS = (
    "import os\nfrom workscript_jupyter import output\n"
    "output('pid', os.getpid())\noutput('ppid', os.getppid())\n"
    "output('env', {k: os.environ.get(k) for k in ('KERNEL_GREETING', 'WS_TEST_SECRET')})"
)


def write_notebook(path: Path, source: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, path)


def test_run_notebook_runs_its_kernel_on_the_gateway(gateway: Gateway, tmp_path: Path) -> None:
    write_notebook(tmp_path / "pids.ipynb", PIDS)
    out, cli_pid = workscript(
        "run-notebook", "pids.ipynb", "--gateway-url", gateway.url, cwd=tmp_path,
        token=gateway.token, KERNEL_GREETING="hello", WS_TEST_SECRET="leaked",
        JUPYTER_GATEWAY_ENV_WHITELIST="WS_TEST_SECRET",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["status"] == "completed", report
    assert report["outputs"]["ppid"] == gateway.pid, "the kernel is the gateway's child"
    assert report["outputs"]["pid"] not in (cli_pid, gateway.pid)
    # KERNEL_* variables reach the kernel, nothing else of our environment does
    assert report["outputs"]["env"] == {"KERNEL_GREETING": "hello", "WS_TEST_SECRET": None}
    executed = nbformat.read(tmp_path / report["executedPath"], as_version=4)
    assert executed.metadata["workscript"]["status"] == "completed"


def test_a_kernel_that_dies_on_the_gateway_fails_the_run(gateway: Gateway, tmp_path: Path):
    write_notebook(
        tmp_path / "die.ipynb", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    )
    started = time.monotonic()
    out, _ = workscript(
        "run-notebook", "die.ipynb", "--gateway-url", gateway.url, "--timeout", "40",
        cwd=tmp_path, token=gateway.token,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr[-2000:]
    assert json.loads(out.stdout)["error"]["kind"] == "kernel_died"
    # the gateway restarts the kernel under the same id: the run does not wait for --timeout
    assert time.monotonic() - started < 20


def test_a_wrong_token_is_refused_without_showing_it(gateway: Gateway, tmp_path: Path) -> None:
    write_notebook(tmp_path / "pids.ipynb", PIDS)
    wrong = "not-the-token-" + secrets.token_hex(4)
    out, _ = workscript(
        "run-notebook", "pids.ipynb", "--gateway-url", gateway.url, cwd=tmp_path, token=wrong
    )
    assert out.returncode != 0
    assert "refused the auth token" in out.stderr, out.stderr[-2000:]
    assert gateway.url in out.stderr
    assert wrong not in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1:1", "127.0.0.1:8888", "http://user:pw@127.0.0.1:1"]
)
def test_a_bad_gateway_url_names_the_option(url: str, tmp_path: Path) -> None:
    write_notebook(tmp_path / "pids.ipynb", PIDS)
    out, _ = workscript(
        "run-notebook", "pids.ipynb", "--gateway-url", url, cwd=tmp_path, token=None
    )
    assert out.returncode == 2
    assert "--gateway-url" in out.stderr, out.stderr
    assert "pw" not in out.stderr and "Traceback" not in out.stderr


def test_the_worker_runs_notebooks_and_python_steps_on_the_gateway(
    gateway: Gateway, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    migrate.upgrade(url)
    write_notebook(tmp_path / "pids.ipynb", PIDS)
    definition = {
        "id": "pids",
        "name": "pids",
        "version": "1.0.0",
        "workflow": [
            {"notebook": {"path": "pids.ipynb", "timeout": 40}},
            {"python": {"code": "import os\nstate['pid'] = os.getpid()"}},
            {"python": {"code": "import os\nstate['ppid'] = os.getppid()"}},
        ],
    }
    store = SqlStore.from_url(url)
    try:
        owner = store.users.create("batch")
        run = ExecutionRecord(
            id=new_id(),
            owner_id=owner.id,
            status="queued",
            trigger="api",
            initial_state={},
            trigger_data={"definition": definition},
            created_at=utcnow(),
        )
        store.executions.create_many([run])
        out, worker_pid = workscript(
            "worker", "--db-url", url, "--root", str(tmp_path), "--poll", "0.2",
            "--exit-when-idle", "2", "--gateway-url", gateway.url, cwd=tmp_path,
            token=gateway.token,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        done = store.executions.get(Scope("admin", is_admin=True), run.id)
        assert done.status == "completed", (done.status, done.error)
        state = done.final_state or {}
        assert state["ppid"] == gateway.pid, "the python steps ran on the gateway's kernel"
        assert state["pid"] != worker_pid
        notebook = state["notebookOutputs"]
        assert notebook["ppid"] == gateway.pid, "the notebook ran on a kernel of the gateway"
        assert notebook["pid"] != worker_pid
    finally:
        store.close()


def test_the_server_traits_check_the_gateway_and_keep_the_token_out_of_errors(monkeypatch):
    monkeypatch.setenv("WORKSCRIPT_GATEWAY_URL", "")
    assert KernelGatewayTraits().kernel_gateway() is None, "no gateway: local kernels"
    monkeypatch.setenv("WORKSCRIPT_GATEWAY_AUTH_TOKEN", "tok-from-env")
    for bad in ("ftp://h:1", "ftp://h:1/?token=tok-from-env", "http://u:tok-from-env@h:1"):
        with pytest.raises(ConfigurationError, match=r"WorkscriptApp\.gateway_url") as caught:
            KernelGatewayTraits(gateway_url=bad).kernel_gateway()
        assert "tok-from-env" not in str(caught.value)
    try:
        settings = KernelGatewayTraits(gateway_url="http://127.0.0.1:9/").kernel_gateway()
        assert settings.auth_token == "tok-from-env" and "tok-from-env" not in repr(settings)
        client = GatewayClient.instance()
        assert (client.url, client.ws_url) == ("http://127.0.0.1:9", "ws://127.0.0.1:9")
        with pytest.raises(ConfigurationError, match="one gateway per process"):
            KernelGatewayTraits(gateway_url="http://127.0.0.1:10").kernel_gateway()
    finally:  # the singleton would turn a later Jupyter server of this process into a proxy
        GatewayClient.clear_instance()


def test_a_server_with_a_gateway_gets_a_remote_pool_even_of_size_zero(tmp_path: Path) -> None:
    """composition.run_services: with ``gateway_url`` set, the runs' kernels come from a pool
    whose kernels live on the gateway (size 0: each started there on demand); without it, no
    pool at size 0 (local kernels per run)."""
    from workscript_jupyter.runner.remote_kernels import RemoteKernelPool
    from workscript_jupyter.server.composition import run_services
    from workscript_jupyter.service.user_isolation import IsolationSettings

    isolation = IsolationSettings(root=tmp_path)
    _services, remote = run_services(
        isolation, kernel_pool_size=0, kernel_pool_kernels=["python3"], remote_kernels=True
    )
    assert isinstance(remote, RemoteKernelPool)
    _services, local = run_services(isolation, kernel_pool_size=0, kernel_pool_kernels=["python3"])
    assert local is None
