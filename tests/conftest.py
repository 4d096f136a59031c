"""Shared fixtures. Services (MariaDB, Redis, Chromium) skip when absent, but fail when CI=true."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import pytest

from workscript_jupyter.engine import NodeRegistry, RunResult, load_workflow, run_workflow
from workscript_jupyter.nodes import builtin_registry

pytest_plugins = ("pytest_jupyter.jupyter_server",)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test when ``name`` is not listening; in CI a missing service is a failure."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as exc:
        message = f"{name} is not reachable on {host}:{port} ({exc})"
        if IN_CI:
            pytest.fail(f"{message}; .ci/run must start it", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def registry() -> NodeRegistry:
    return builtin_registry(plugins=False)


@pytest.fixture
def run(registry: NodeRegistry):
    """``run(document, state=None, **options)`` → RunResult, on a fresh event loop."""

    def _run(document: Any, state: dict[str, Any] | None = None, **options: Any) -> RunResult:
        workflow = load_workflow(document, registry)
        return asyncio.run(run_workflow(workflow, registry, state, **options))

    return _run


@pytest.fixture
def mysql_url() -> str:
    host = os.environ.get("DB_HOST", "127.0.0.1")
    port = int(os.environ.get("DB_PORT", "3306"))
    require_service("MariaDB/MySQL", host, port)
    user = os.environ.get("DB_USER", "root")
    password = os.environ.get("DB_PASSWORD", "")
    name = os.environ.get("DB_NAME", "test")
    return f"mysql+pymysql://{user}:{password}@{host}:{port}/{name}?charset=utf8mb4"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    require_service("Redis", "127.0.0.1", 6379)
    return url
