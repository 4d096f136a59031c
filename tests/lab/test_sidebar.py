"""The Workscript sidebar in a real JupyterLab (installed from the wheel) and Chromium.

Each test sets up what it needs over REST, drives the page as a user would (commands, the
keyboard shortcut, clicks, the keyboard) and checks the result both in the page and over
REST. Screenshots of every step: ``tests/artifacts/lab/<test>/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import (
    EXTENSION,
    LabServer,
    Rest,
    Sel,
    Shots,
    execute,
    expect,
    find_extension,
    open_panel,
    unique,
    venv_module_file,
    wait_for_live_runs,
)

# the first test also builds the wheel (npm too when the extension is not built) and the venv
pytestmark = pytest.mark.timeout(600)

DARK = "JupyterLab Dark"
LIGHT = "JupyterLab Light"
EVERY_2S = "*/2 * * * * *"  # 6 fields: seconds first
PLUGIN = "workscript-jupyter-labextension:plugin"


# -- the install ---------------------------------------------------------------------------------


def test_wheel_install_lists_the_extension(lab_venv: Path, lab_listing: str) -> None:
    """The "Done when" of the issue: a pip install of the wheel in a fresh venv has the panel
    enabled in Lab, served from the venv's share/jupyter/labextensions."""
    entry = find_extension(lab_listing, EXTENSION)
    assert entry is not None, f"{EXTENSION} not in jupyter labextension list:\n{lab_listing}"
    assert entry.enabled, entry.line
    assert entry.ok, entry.line
    assert Path(entry.folder) == lab_venv / "share" / "jupyter" / "labextensions", entry
    assert (Path(entry.folder) / EXTENSION / "static" / "style.js").is_file()
    # the server extension comes from the wheel too, not from this checkout
    module = venv_module_file(lab_venv, "workscript_jupyter")
    assert module.is_relative_to(lab_venv), module


def test_lab_runs_from_the_venv_with_both_extensions(page: Any, lab: LabServer, rest: Rest) -> None:
    """The Lab in the page is the venv's; the front-end plugin is active and the server
    extension answers."""
    assert f"JupyterLab extension loaded from {lab.venv}" in lab.log_path.read_text()
    assert page.evaluate(f"() => window.jupyterapp.isPluginActivated('{PLUGIN}')"), PLUGIN
    health = rest.call("GET", "health", expect=(200,))
    assert health["status"] == "ok", health


# -- the panel -------------------------------------------------------------------------------------


def test_the_panel_opens_by_command_and_lists_a_workflow(
    page: Any, rest: Rest, shot: Shots
) -> None:
    name = unique("Listed workflow")
    workflow = rest.create_workflow(name)
    panel = page.locator(Sel.PANEL)
    expect(panel).to_be_hidden()
    shot(page, "lab-restored")

    execute(page, Sel.OPEN_PANEL)
    expect(panel).to_be_visible()
    expect(page.locator(Sel.PANEL_TAB)).to_have_attribute("aria-selected", "true")
    row = page.locator(Sel.workflow(workflow["id"]))
    expect(row).to_be_visible()
    expect(row).to_contain_text(name)
    for section in (Sel.WORKFLOWS, Sel.RUNS, Sel.AUTOMATIONS):
        expect(page.locator(section)).to_be_visible()
    shot(page, "panel-lists-the-workflow")


def test_the_keyboard_shortcut_opens_the_panel(page: Any, shot: Shots) -> None:
    panel = page.locator(Sel.PANEL)
    expect(panel).to_be_hidden()
    page.keyboard.press(Sel.SHORTCUT)
    expect(panel).to_be_visible()
    expect(page.locator(Sel.PANEL_TAB)).to_have_attribute("aria-selected", "true")
    expect(page.locator(Sel.WORKFLOWS)).to_be_visible()
    shot(page, "opened-by-shortcut")


def test_a_run_started_over_rest_appears_live_and_completes(
    page: Any, rest: Rest, shot: Shots
) -> None:
    workflow = rest.create_workflow(
        unique("Live run"), [{"wait": {"seconds": 3}}, {"$.done": True}]
    )
    open_panel(page)
    wait_for_live_runs(page)
    page.evaluate("() => { window.__workscriptNoReload = true; }")
    shot(page, "before-the-run")

    run = rest.run_workflow(workflow["id"])
    row = page.locator(Sel.run(run["id"]))
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-status", re.compile("^(queued|running)$"))
    shot(page, "run-listed-while-going")
    expect(row).to_have_attribute("data-status", "completed", timeout=30_000)
    shot(page, "run-completed")

    assert rest.execution(run["id"])["status"] == "completed"
    # newest first: the new run heads the list
    assert page.locator(Sel.RUN_ROWS).first.get_attribute("data-run-id") == run["id"]
    assert page.evaluate("() => window.__workscriptNoReload === true"), "the page reloaded"


def test_the_status_bar_counts_running_runs_and_opens_the_runs(
    page: Any, rest: Rest, shot: Shots
) -> None:
    workflow = rest.create_workflow(unique("Counted"), [{"wait": {"seconds": 3}}])
    item = page.locator(Sel.STATUS_RUNNING)
    expect(item).to_have_attribute("data-count", "0")
    expect(page.locator(Sel.PANEL)).to_be_hidden()

    run = rest.run_workflow(workflow["id"])
    expect(item).to_have_attribute("data-count", "1")
    shot(page, "one-running")
    item.click()  # opens the sidebar on its Runs
    expect(page.locator(Sel.PANEL)).to_be_visible()
    expect(page.locator(Sel.RUNS)).to_be_in_viewport()
    expect(page.locator(Sel.run(run["id"]))).to_be_visible()
    shot(page, "opened-from-the-status-bar")

    expect(item).to_have_attribute("data-count", "0", timeout=30_000)
    assert rest.execution(run["id"])["status"] == "completed"
    shot(page, "none-running")


@pytest.fixture
def cron_automation(rest: Rest) -> Iterator[dict[str, Any]]:
    """A disabled automation that would fire every 2 s; disabled again after the test."""
    workflow = rest.create_workflow(unique("Ticking"))
    automation = rest.create_automation(
        workflow["id"],
        unique("Every two seconds"),
        triggerType="cron",
        cron=EVERY_2S,
        overlapPolicy="allow",
        enabled=False,
    )
    yield automation
    rest.toggle_automation(automation["id"], False)


def _wait_enabled(rest: Rest, automation_id: str, wanted: bool, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        automation = rest.automation(automation_id)
        if automation["enabled"] is wanted:
            return automation
        if time.monotonic() > deadline:
            raise AssertionError(f"automation still enabled={automation['enabled']}")
        time.sleep(0.1)


def test_the_enabled_checkbox_toggles_an_automation(
    page: Any, rest: Rest, shot: Shots, cron_automation: dict[str, Any]
) -> None:
    automation_id = cron_automation["id"]
    open_panel(page)
    wait_for_live_runs(page)
    row = page.locator(Sel.automation(automation_id))
    checkbox = row.get_by_role("checkbox", name=f"Enable {cron_automation['name']}")
    expect(checkbox).not_to_be_checked()
    shot(page, "disabled")

    checkbox.click()  # on: the scheduler fires it every 2 s
    expect(checkbox).to_be_checked()
    enabled = _wait_enabled(rest, automation_id, True)
    assert enabled["nextRunAt"] is not None
    deadline = time.monotonic() + 15
    while not (fired := rest.automation_runs(automation_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert fired, "the enabled automation did not fire within 15 s"
    tick = page.locator(Sel.run(fired[-1]["id"]))
    expect(tick).to_be_visible()  # its run reached the list live
    shot(page, "enabled-and-fired")

    checkbox.focus()  # off again, from the keyboard
    page.keyboard.press("Space")
    expect(checkbox).not_to_be_checked()
    disabled = _wait_enabled(rest, automation_id, False)
    assert disabled["nextRunAt"] is None
    shot(page, "disabled-from-the-keyboard")


@pytest.fixture
def light_again(page: Any) -> Iterator[None]:
    """The theme is a user setting, shared by every page of the session: back to light."""
    yield
    execute(page, "apputils:change-theme", {"theme": LIGHT})


# Every visible element of the panel: its background (when not transparent) and, when it
# holds text itself, its text colour, as the page computes them.
COLOURS = """
(sel) => [...document.querySelectorAll(sel + ' *')]
  .filter(e => e.offsetParent !== null)
  .map(e => {
    const style = getComputedStyle(e);
    const text = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const name = e.tagName.toLowerCase() + '.' + String(e.className.baseVal ?? e.className)
      .trim().split(/\\s+/).join('.');
    return [name, style.backgroundColor, text ? style.color : null];
  })
"""
# Colours that mean something (a run's status, the live dot) keep their hue in both themes.
SEMANTIC = re.compile(r"jp-Workscript-(status|live)")


def _rgba(value: str) -> tuple[float, float, float, float]:
    parts = [float(p) for p in re.findall(r"[\d.]+", value)]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0)


def _luminance(value: str) -> float:
    red, green, blue, _ = _rgba(value)
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def _on(value: str, backdrop: float) -> float:
    """The luminance of ``value`` drawn over a backdrop of luminance ``backdrop``."""
    alpha = _rgba(value)[3]
    return alpha * _luminance(value) + (1 - alpha) * backdrop


def colour_problems(page: Any, *, dark: bool) -> list[str]:
    """Elements whose colours do not follow the theme: a light background or dark text in the
    dark theme, and the other way round (a colour hard-coded instead of a --jp-* variable)."""
    backdrop = 0.05 if dark else 1.0
    problems = []
    for name, background, text in page.evaluate(COLOURS, Sel.PANEL):
        if SEMANTIC.search(name):
            continue
        if _rgba(background)[3] > 0:
            shade = _on(background, backdrop)
            if (shade > 0.5) if dark else (shade < 0.5):
                problems.append(f"{name}: background {background}")
        if text is not None:
            shade = _on(text, backdrop)
            if (shade < 0.4) if dark else (shade > 0.6):
                problems.append(f"{name}: text {text}")
    return problems


def test_the_dark_theme_renders(page: Any, rest: Rest, shot: Shots, light_again: None) -> None:
    workflow = rest.create_workflow(unique("Dark theme"))
    rest.run_workflow(workflow["id"], wait=10)
    rest.create_automation(workflow["id"], unique("Dark theme automation"))
    open_panel(page)
    expect(page.locator(Sel.workflow(workflow["id"]))).to_be_visible()
    expect(page.locator(Sel.RUN_ROWS).first).to_be_visible()
    expect(page.locator(f"{Sel.AUTOMATIONS} [data-automation-id]").first).to_be_visible()
    assert colour_problems(page, dark=False) == []
    shot(page, "light")

    execute(page, "apputils:change-theme", {"theme": DARK})
    expect(page.locator("body")).to_have_attribute("data-jp-theme-name", DARK)
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    # the theme's CSS is loaded after the attribute changes: wait for the panel to turn dark
    page.wait_for_function(
        "(sel) => { const c = getComputedStyle(document.querySelector(sel)).backgroundColor;"
        "  const [r, g, b] = c.match(/\\d+/g).map(Number);"
        "  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 < 0.3; }",
        arg=Sel.PANEL,
        timeout=10_000,
    )
    assert colour_problems(page, dark=True) == []
    shot(page, "dark")
