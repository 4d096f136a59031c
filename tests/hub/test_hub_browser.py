"""The Lab panel in a hub user's own server (client role), in Chromium: alice signs in at the
hub, her server starts, and the Workscript panel lists the workflows the service keeps for her,
through her server, with the OAuth cookie the hub gave her browser (never a service secret);
its live runs WebSocket opens through her server too, and a request the browser makes with that
cookie creates a workflow in the service as hers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ..lab.harness import Sel, chromium_browser, expect, open_panel
from ..lab.harness import wait_for_live_runs as wait_for_live_panel
from .harness import Hub, http

pytestmark = [pytest.mark.mysql, pytest.mark.browser]

LAB_READY_MS = 120_000  # the hub spawns her server after the login: a cold start of Lab


@pytest.fixture
def jp_asyncio_loop() -> None:
    """pytest-jupyter's autouse loop would be the one Playwright's sync API keeps running in
    this thread, and closing it would fail the teardown (as in tests/lab/conftest.py)."""
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    """Its cleanup of the in-process ServerApp no test here starts."""
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("chromium-home")
    with chromium_browser(home, expect_timeout_ms=30_000) as chromium:
        yield chromium


def signed_in_lab(browser: Any, hub: Hub, user: str) -> Any:
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", hub.password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=LAB_READY_MS)
    page.wait_for_function("() => !!window.jupyterapp", timeout=LAB_READY_MS)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    # after `restored` Lab opens the launcher and moves the focus there (tests/lab/harness.py)
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        "  return !!w && w.node.contains(document.activeElement); }",
        timeout=LAB_READY_MS,
    )
    return page


def test_the_panel_in_alices_server_shows_her_workflows_from_the_service(
    hub: Hub, browser: Any
) -> None:
    name = f"hers {uuid.uuid4().hex[:6]}"
    definition = {"id": f"panel-{uuid.uuid4().hex[:6]}", "name": name, "version": "1.0.0"}
    definition["workflow"] = [{"$.n": 1}]
    created = http(
        "POST",
        f"{hub.service_url}/workscript/workflows",
        token=hub.tokens["alice"],
        body={"definition": definition},
    )
    assert created.code == 201, created.body
    page = signed_in_lab(browser, hub, "alice")
    try:
        open_panel(page)
        row = page.locator(Sel.workflow(created.body["id"]))
        expect(row).to_be_visible()
        expect(row).to_contain_text(name)
        wait_for_live_panel(page)  # the runs WebSocket, through her server, with her cookie

        # what the panel does to save: a POST with her cookie and Jupyter's XSRF token
        answer = page.evaluate(
            """async (definition) => {
                const xsrf = document.cookie.split('; ')
                    .find(c => c.startsWith('_xsrf='))?.split('=')[1];
                const reply = await fetch('/user/alice/workscript/workflows', {
                    method: 'POST',
                    headers: {'Content-Type': 'application/json', 'X-XSRFToken': xsrf},
                    body: JSON.stringify({definition}),
                });
                return {status: reply.status, body: await reply.json()};
            }""",
            {**definition, "id": f"saved-{uuid.uuid4().hex[:6]}", "name": f"{name} (saved)"},
        )
        assert answer["status"] == 201, answer
        listed = http("GET", f"{hub.service_url}/workscript/workflows", token=hub.tokens["alice"])
        assert answer["body"]["id"] in {item["id"] for item in listed.body["items"]}
        theirs = http("GET", f"{hub.service_url}/workscript/workflows", token=hub.tokens["bob"])
        assert answer["body"]["id"] not in {item["id"] for item in theirs.body["items"]}
    finally:
        page.close()
