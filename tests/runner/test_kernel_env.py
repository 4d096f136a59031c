"""The environment of the python/notebook nodes' kernels: a single-user server's minus
Workscript's secrets, a shared server's allow-list plus the admin's extras, on real kernels
(started on demand, from the pool, and for a notebook)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from workscript_jupyter.engine import NodeRegistry, Services, load_workflow, run_workflow
from workscript_jupyter.nodes import builtin_registry
from workscript_jupyter.runner import KernelPool, RunnerGateway
from workscript_jupyter.runner.kernel_env import SECRET_ENV_NAMES, is_secret_name, kernel_env

from ..kernel_processes import kernel_processes

SECRETS = {
    "WORKSCRIPT_DB_URL": "mysql+pymysql://root:pw@db/workscript",
    "DB_PASSWORD": "pw",
    "REDIS_URL": "redis://:pw@cache:6379/0",
    "JWT_SECRET": "jwt",
    "JWT_REFRESH_SECRET": "refresh",
    "SESSION_SECRET": "session",
    "ENCRYPTION_KEY": "key",
    "SMTP_PASSWORD": "smtp",
    "OPENROUTER_API_KEY": "or",
    "GOOGLE_CLIENT_SECRET": "google",
}
ENV_CODE = "import os\nstate['env'] = dict(os.environ)\nstate['cwd'] = os.getcwd()"


@pytest.fixture
def root(tmp_path: Path):
    before = kernel_processes()
    yield tmp_path
    assert kernel_processes() == before, "a kernel process survived the run"


@pytest.fixture
def server_env(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WORKSCRIPT_HARMLESS", "kept")


def test_every_listed_secret_is_a_secret():
    assert set(SECRETS) <= SECRET_ENV_NAMES
    assert is_secret_name("WORKSCRIPT_JWT_SECRET") and is_secret_name("session_key")
    assert not is_secret_name("PATH") and not is_secret_name("DB_HOST")


def test_single_user_env_is_the_servers_minus_the_secrets():
    environ = {**SECRETS, "PATH": "/bin", "MY_VAR": "1", "JUPYTERHUB_API_URL": "http://hub"}
    env = kernel_env(shared=False, environ=environ)
    assert env == {"PATH": "/bin", "MY_VAR": "1", "JUPYTERHUB_API_URL": "http://hub"}


def test_shared_env_is_the_allow_list_plus_the_extras():
    environ = {**SECRETS, "PATH": "/bin", "LANG": "C.UTF-8", "HOME": "/root", "MY_VAR": "1"}
    env = kernel_env(shared=True, environ=environ, extra={"API_BASE": "https://x"})
    assert env == {"PATH": "/bin", "LANG": "C.UTF-8", "API_BASE": "https://x"}
    env = kernel_env(shared=True, allow=("PATH", "JWT_SECRET", "MY_VAR"), environ=environ)
    assert env == {"PATH": "/bin", "MY_VAR": "1"}, "a secret never passes the allow list"


def _run(root: Path, services: Services, steps: list[Any]) -> dict[str, Any]:
    registry: NodeRegistry = builtin_registry()
    document = {"id": "env", "name": "env", "version": "1.0.0", "workflow": steps}

    async def go() -> dict[str, Any]:
        result = await run_workflow(load_workflow(document, registry), registry, services=services)
        assert result.status == "completed", result.error
        return dict(result.final_state)

    return asyncio.run(go())


def test_a_python_node_sees_no_server_secret_single_user(root, server_env):
    gateway = RunnerGateway(root)  # the default: the server's env minus the secrets
    state = _run(root, Services(root_dir=root, notebooks=gateway), [{"python": {"code": ENV_CODE}}])
    assert not set(SECRETS) & set(state["env"])
    assert state["env"]["WORKSCRIPT_HARMLESS"] == "kept"
    assert Path(state["cwd"]) == root.resolve()


def test_a_pooled_kernel_of_a_shared_server_gets_the_allow_list_only(root, server_env):
    env = kernel_env(shared=True, extra={"EXTRA_FROM_ADMIN": "yes"})
    user_root = root / "alice"
    user_root.mkdir()

    async def go() -> dict[str, Any]:
        async with KernelPool(1, cwd=str(root), env=env) as pool:
            gateway = RunnerGateway(user_root, pool, env=env)
            services = Services(root_dir=user_root, notebooks=gateway)
            registry = builtin_registry()
            document = {
                "id": "env",
                "name": "env",
                "version": "1.0.0",
                "workflow": [{"python": {"code": ENV_CODE}}],
            }
            result = await run_workflow(
                load_workflow(document, registry), registry, services=services
            )
            assert result.status == "completed", result.error
            return dict(result.final_state)

    state = asyncio.run(go())
    assert not set(SECRETS) & set(state["env"])
    assert "WORKSCRIPT_HARMLESS" not in state["env"]
    assert state["env"]["EXTRA_FROM_ADMIN"] == "yes"
    assert Path(state["cwd"]) == user_root.resolve()


def test_a_notebook_kernel_gets_the_gateways_env(root, server_env):
    nb = new_notebook(
        cells=[
            new_code_cell("", metadata={"tags": ["parameters"]}),
            new_code_cell(
                "import os\nfrom workscript_jupyter import output\n"
                "output('names', sorted(os.environ))\noutput('cwd', os.getcwd())"
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, root / "env.ipynb")
    env = kernel_env(shared=True)
    gateway = RunnerGateway(root, env=env)
    state = _run(
        root, Services(root_dir=root, notebooks=gateway), [{"notebook": {"path": "env.ipynb"}}]
    )
    outputs = state["notebookOutputs"]
    assert outputs, state
    assert not set(SECRETS) & set(outputs["names"])
    assert "WORKSCRIPT_HARMLESS" not in outputs["names"]
    assert Path(outputs["cwd"]) == root.resolve()
