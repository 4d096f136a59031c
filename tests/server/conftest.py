from __future__ import annotations

import pytest


@pytest.fixture
def workscript_db_url(tmp_path) -> str:
    """A fresh SQLite store per test: the server never touches the user's real data dir."""
    return f"sqlite:///{tmp_path / 'workscript-db' / 'workscript.sqlite'}"


@pytest.fixture
def jp_server_config(workscript_db_url):
    """The extension enabled, every handler required to declare its auth rule, a temporary store."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"workscript_jupyter": True},
            "allow_unauthenticated_access": False,
        },
        "WorkscriptApp": {"db_url": workscript_db_url},
    }
