from __future__ import annotations

import pytest


@pytest.fixture
def jp_server_config():
    """The extension enabled, and every handler required to declare its auth rule."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"workscript_jupyter": True},
            "allow_unauthenticated_access": False,
        }
    }
