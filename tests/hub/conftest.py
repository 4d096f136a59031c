"""A real JupyterHub with the Workscript service behind it, started once per module.

The hub (``jupyterhub`` and npm's ``configurable-http-proxy``) runs on 127.0.0.1 on free ports,
with its SQLite database and cookie secret in a temporary folder (harness.py starts it). Its
configuration loads the deployment example ``jupyter-config/jupyterhub_config.py`` unchanged and
adds only what a test needs: a shared-password authenticator, ``SimpleLocalProcessSpawner``, the
users alice, bob and ann (ann in the admin group ``workscript-admins``) and a ``test-admin``
service whose token asks the hub for each user's API token. The Workscript service it starts
uses a fresh MariaDB database, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator

import pytest

from ..ci import require
from .harness import Hub, mysql_admin_url, scratch_database, start_hub

__all__ = ["hub", "hub_database", "require_hub_tools"]


def require_hub_tools() -> str:
    """MariaDB's admin URL, once MariaDB and configurable-http-proxy are known to be there."""
    host = os.environ.get("DB_HOST", "127.0.0.1")
    port = int(os.environ.get("DB_PORT", "3306"))
    try:
        socket.create_connection((host, port), timeout=1.0).close()
    except OSError as exc:
        require(False, f"MariaDB/MySQL is not reachable on {host}:{port} ({exc})", fix=".ci/run")
    require(
        shutil.which("configurable-http-proxy") is not None,
        "configurable-http-proxy (npm) is not on PATH",
        fix="npm install -g configurable-http-proxy (.ci/run does it)",
    )
    return mysql_admin_url()


@pytest.fixture(scope="module")
def hub_database() -> Iterator[str]:
    """A fresh MariaDB database for the service; dropped afterwards."""
    with scratch_database(require_hub_tools()) as url:
        yield url


@pytest.fixture(scope="module")
def hub(hub_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with start_hub(tmp_path_factory.mktemp("hub"), hub_database) as started:
        yield started
