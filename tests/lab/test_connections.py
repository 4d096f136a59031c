"""Connecting a Google account from the Workscript sidebar, in a real JupyterLab and Chromium.

Lab's Google client is the OAuth stand-in's (``lab_google``, tests/lab/conftest.py): the
popup the panel opens goes to the stand-in's consent page, which approves at once and sends
it back to Lab's own callback; the callback page tells the panel and closes, and the panel
lists the account. Then the row's Test and Delete (after Lab's confirmation dialog), checked
over REST and at the stand-in (the grant revoked). Screenshots: ``tests/artifacts/lab/<test>/``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..standins.google_oauth import GoogleOAuthStandIn
from .harness import Rest, Sel, Shots, expect, open_panel

pytestmark = pytest.mark.timeout(600)  # the first test of a run also builds the wheel and venv

G = "https://www.googleapis.com/auth/"
CONNECTIONS = '[data-testid="workscript-connections"]'
CONNECT = '[data-testid="workscript-connect-google"]'
FORM = '[data-testid="workscript-connect-form"]'
CONTINUE = '[data-testid="workscript-connect-continue"]'
NOTICE = '[data-testid="workscript-connections-notice"]'


def scope_box(name: str) -> str:
    return f'{FORM} input[data-scope="{name}"]'


def test_connect_google_in_a_popup_then_test_and_delete(
    page: Any, rest: Rest, lab_google: GoogleOAuthStandIn, shot: Shots
) -> None:
    for old in rest.call("GET", "integrations")["items"]:  # a clean list (the store is shared)
        rest.call("DELETE", f"integrations/{old['id']}")
    open_panel(page)
    section = page.locator(CONNECTIONS)
    section.scroll_into_view_if_needed()
    expect(section).to_contain_text("No Google account connected yet.")
    page.locator(CONNECT).click()
    expect(page.locator(FORM)).to_be_visible()
    expect(page.locator(scope_box("gmail.send"))).to_be_checked()  # the defaults
    page.locator(scope_box("gmail.compose")).check()
    page.locator(scope_box("drive.file")).uncheck()
    shot(page, "scopes-ticked")

    asked_before = len(lab_google.authorizations)
    with page.expect_popup() as opened:
        page.locator(CONTINUE).click()
    popup = opened.value
    popup.wait_for_event("close", timeout=30_000)  # the callback page closes itself

    row = section.locator("[data-connection-id]").filter(has_text="ada@example.com")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "active")
    expect(page.locator(NOTICE)).to_have_text("Connected ada@example.com.")
    expect(row.locator(".jp-Workscript-scope")).to_have_text(
        ["gmail.readonly", "gmail.send", "gmail.compose", "calendar"]
    )
    shot(page, "connected")
    # what the panel asked Google for, and what the server keeps
    assert len(lab_google.authorizations) == asked_before + 1
    asked = set(lab_google.authorizations[-1]["scope"].split())
    assert {f"{G}gmail.compose", f"{G}gmail.send", f"{G}calendar"} <= asked
    assert f"{G}drive.file" not in asked
    [stored] = rest.call("GET", "integrations")["items"]
    assert stored["email"] == "ada@example.com"
    assert row.get_attribute("data-connection-id") == stored["id"]

    row.locator('[data-testid="workscript-connection-test"]').click()
    outcome = row.locator('[data-testid="workscript-connection-outcome"]')
    expect(outcome).to_have_attribute("data-ok", "true")
    expect(outcome).to_contain_text("ada@example.com")
    shot(page, "tested")

    revoked_before = len(lab_google.revoked)
    row.locator('[data-testid="workscript-connection-delete"]').click()
    expect(page.locator(Sel.DIALOG)).to_contain_text("Delete the connection")
    shot(page, "delete-asked")
    page.locator(Sel.DIALOG_ACCEPT).click()
    expect(row).to_have_count(0)
    expect(page.locator(NOTICE)).to_contain_text("Google revoked its access")
    shot(page, "deleted")
    assert rest.call("GET", "integrations")["items"] == []
    assert len(lab_google.revoked) > revoked_before
