"""The harness of the Lab tests checks what it claims: one xdist group, console errors caught,
``jupyter labextension list`` parsed. The console test needs Chromium but not Lab."""

from __future__ import annotations

import os
from typing import Any

import pytest

from .harness import EXTENSION, ConsoleLog, find_extension

GREEN, RED, RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"
LISTING = f"""JupyterLab v4.6.6
/venv/share/jupyter/labextensions
        jupyterlab_pygments v0.3.0 {GREEN}enabled{RESET} {GREEN}OK{RESET} (python, pygments)
        {EXTENSION} v0.1.0 {GREEN}enabled{RESET} {GREEN}OK{RESET} (python, workscript-jupyter)
/home/.local/share/jupyter/labextensions
        other v1.0.0 {RED}disabled{RESET} {RED}X{RESET}
"""


def test_lab_tests_share_one_xdist_group(request: pytest.FixtureRequest) -> None:
    """Under pytest-xdist every test here is renamed ``<id>@lab``: one group, one worker, one
    wheel, venv and Lab (conftest.py's ``_LabTests``)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("ci-ok: not running under pytest-xdist, nothing to group")
    assert request.node.nodeid.endswith("@lab"), request.node.nodeid
    assert request.node.get_closest_marker("slow") is not None


def test_the_listing_is_parsed() -> None:
    entry = find_extension(LISTING, EXTENSION)
    assert entry is not None
    assert (entry.version, entry.folder, entry.enabled, entry.ok) == (
        "0.1.0",
        "/venv/share/jupyter/labextensions",
        True,
        True,
    )
    other = find_extension(LISTING, "other")
    assert other is not None and not other.enabled and not other.ok
    assert find_extension(LISTING, "workscript") is None  # whole names only
    assert find_extension("", EXTENSION) is None


def test_console_errors_and_uncaught_errors_are_caught(browser: Any) -> None:
    """What the ``page`` fixture fails a test on: console.error and an uncaught exception;
    a warning or a log line is kept but is no error."""
    context = browser.new_context()
    try:
        page = context.new_page()
        console = ConsoleLog()
        console.attach(page)
        page.set_content(
            "<script>console.log('fine'); console.warn('careful'); console.error('boom');"
            "setTimeout(() => { throw new TypeError('uncaught'); });</script>"
        )
        page.wait_for_timeout(200)
    finally:
        context.close()
    assert len(console.errors) == 2, console.lines
    assert "[error] boom" in console.errors[0]
    assert "[pageerror] TypeError: uncaught" in console.errors[1]
    assert any("[warning] careful" in line for line in console.lines)
    assert any("[log] fine" in line for line in console.lines)
