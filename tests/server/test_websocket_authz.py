"""The WebSocket asks the Authorizer for ``execute`` on ``workscript:events`` before upgrading."""

from __future__ import annotations

import pytest
from jupyter_server.auth import Authorizer
from tornado.httpclient import HTTPClientError

from .conftest import server_config
from .identity import TwoUsersIdentityProvider, auth
from .test_websocket_e2e import _wired  # noqa: F401 - skips until the app wiring exists

ASKED: list[tuple[str, str, str]] = []


class NoEventsForBob(Authorizer):
    """Everything is allowed, except the event socket to bob."""

    def is_authorized(self, handler, user, action, resource):  # type: ignore[override]
        ASKED.append((user.username, action, resource))
        return not (user.username == "bob" and resource == "workscript:events")


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(
        workscript_db_url,
        server={
            "identity_provider_class": TwoUsersIdentityProvider,
            "authorizer_class": NoEventsForBob,
        },
        single_user=False,
    )


async def test_the_socket_needs_execute_on_workscript_events(jp_ws_fetch, workscript):
    ASKED.clear()
    connection = await jp_ws_fetch("workscript", "ws", headers=auth("alice"))
    connection.close()
    assert ("alice", "execute", "workscript:events") in ASKED

    with pytest.raises(HTTPClientError) as caught:
        await jp_ws_fetch("workscript", "ws", headers=auth("bob"))
    assert caught.value.code == 403
    assert ("bob", "execute", "workscript:events") in ASKED
