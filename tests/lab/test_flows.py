"""The tabs of the Lab extension, driven end to end in a real JupyterLab and Chromium: the
workflow editor (a typo marked at its line, fixed, saved, run), the run view (live status,
timeline, final state, cancel, rerun), the automation form (cron preview, fires, toggle), the
notification of a failed run and "Schedule this notebook".

Each test is one Lab page; it sets up over REST what it does not test, drives the page as a
user would (clicks, the keyboard, Lab commands) and checks the outcome both in the page and
over REST. Screenshots of every step: ``tests/artifacts/lab/<test>/``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from .harness import (
    LabServer,
    Rest,
    Sel,
    Shots,
    execute,
    expect,
    open_panel,
    unique,
    wait_for_live_runs,
)

pytestmark = pytest.mark.timeout(300)

EVERY_2S = "*/2 * * * * *"  # 6 fields: seconds first
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    """``probe()``'s first answer that is not None (or False), polled every 0.1 s."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer is not None and answer is not False:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def definition_text(name: str, node: str) -> tuple[str, int]:
    """A workflow as the editor shows it (two-space JSON), one step of node type ``node``;
    the text and the line of that step."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    lines = [
        "{",
        f'  "id": "{slug}",',
        f'  "name": "{name}",',
        '  "version": "1.0.0",',
        '  "initialState": {"who": "world"},',
        '  "workflow": [',
        '    {"$.result": {"greeting": "hello {{$.who}}", "count": 2}},',
        f'    {{"{node}": {{"message": "done for {{{{$.who}}}}"}}}}',
        "  ]",
        "}",
    ]
    return "\n".join(lines) + "\n", len(lines) - 2


def replace_editor_text(page: Any, text: str) -> None:
    """Select all of the editor's text and put ``text`` in its place, as a paste does (typed
    key by key, CodeMirror would close the brackets and indent on its own)."""
    content = page.locator(Sel.EDITOR_CONTENT)
    content.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    expect(content).to_contain_text(text.splitlines()[1].strip())


def retype_word(page: Any, line: int, old: str, new: str) -> None:
    """Double-click the word ``old`` on editor line ``line`` (it selects the word) and type
    ``new`` over it."""
    row = page.locator(Sel.EDITOR_LINES).nth(line - 1)
    row.get_by_text(f'"{old}"', exact=True).dblclick()
    page.keyboard.type(new)
    expect(row).to_contain_text(f'"{new}"')


IMAGE_LOADED = (
    "(sel) => { const i = document.querySelector(sel);"
    "  return !!i && i.complete && i.naturalWidth > 0; }"
)


def run_view_id(page: Any, other_than: str | None = None) -> str:
    """The execution id of the run view in the main area's current tab (not ``other_than``)."""
    return str(
        eventually(
            lambda: page.evaluate(
                "(other) => { const w = window.jupyterapp.shell.currentWidget;"
                "  const v = w && w.node.querySelector('.jp-Workscript-runView');"
                "  const id = v && v.getAttribute('data-execution-id');"
                "  return id && id !== other ? id : null; }",
                other_than,
            ),
            "a run view tab in front",
        )
    )


# -- 1. the editor ------------------------------------------------------------------------------


def test_the_editor_marks_a_typo_then_saves_and_runs_the_fixed_workflow(
    page: Any, rest: Rest, shot: Shots
) -> None:
    name = unique("Edited flow")
    open_panel(page)
    wait_for_live_runs(page)
    page.evaluate("() => { window.__workscriptNoReload = true; }")

    page.locator(Sel.NEW_WORKFLOW).click()
    editor = page.locator(Sel.EDITOR)
    expect(editor).to_be_visible()
    status = page.locator(Sel.EDITOR_STATUS)
    graph_image = page.locator(f"{Sel.EDITOR_GRAPH} img")
    expect(status).to_have_attribute("data-phase", "valid")  # the template of a new workflow
    expect(graph_image).to_be_visible()
    shot(page, "new-workflow")

    # pasted: valid and drawn
    text, line = definition_text(name, "log")
    replace_editor_text(page, text)
    expect(status).to_have_attribute("data-phase", "valid")
    expect(page.locator(Sel.EDITOR_GRAPH)).to_have_attribute("data-current", "true")
    expect(graph_image).to_be_visible()
    drawn = str(graph_image.get_attribute("src"))
    assert page.evaluate(IMAGE_LOADED, f"{Sel.EDITOR_GRAPH} img"), "the graph did not load"
    shot(page, "pasted-and-drawn")

    # a typo in a node type, typed: the problem is listed and marked at its line
    retype_word(page, line, "log", "lgo")
    problem = page.locator(f'{Sel.EDITOR_ERRORS} li[data-line="{line}"]')
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("lgo")
    expect(status).to_have_attribute("data-phase", "invalid")
    marked = page.locator(Sel.EDITOR_LINES).nth(line - 1)
    expect(marked).to_have_class(re.compile(rf"\b{Sel.EDITOR_ERROR_LINE}\b"))
    expect(marked).to_contain_text('"lgo"')
    assert page.locator(f"{Sel.EDITOR_LINES}.{Sel.EDITOR_ERROR_LINE}").count() == 1
    # the last valid drawing stays, marked stale
    expect(page.locator(Sel.EDITOR_GRAPH)).to_have_attribute("data-current", "false")
    expect(graph_image).to_have_attribute("src", drawn)
    shot(page, "typo-marked-at-its-line")

    # fixed: valid, no mark, a current drawing
    retype_word(page, line, "lgo", "log")
    expect(status).to_have_attribute("data-phase", "valid")
    expect(page.locator(Sel.EDITOR_ERRORS)).to_have_count(0)
    expect(page.locator(f"{Sel.EDITOR_LINES}.{Sel.EDITOR_ERROR_LINE}")).to_have_count(0)
    expect(page.locator(Sel.EDITOR_GRAPH)).to_have_attribute("data-current", "true")
    expect(graph_image).to_be_visible()
    assert page.evaluate(IMAGE_LOADED, f"{Sel.EDITOR_GRAPH} img"), "the graph did not load"
    fixed = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.editor.model.sharedModel.getSource()"
    )
    assert fixed == text
    shot(page, "fixed-and-drawn")

    page.locator(Sel.EDITOR_SAVE).click()
    stored = eventually(
        lambda: next(iter(rest.call("GET", "workflows", params={"name": name})["items"]), None),
        f"workflow {name!r} stored",
    )
    assert stored["name"] == name
    assert stored["definition"] == json.loads(fixed)
    expect(page.locator(f"#workscript-workflow-{stored['id']}")).to_have_count(1)
    # the sidebar's Workflows list reads itself again after the save
    expect(page.locator(Sel.workflow(stored["id"]))).to_be_visible()
    shot(page, "saved")

    page.locator(Sel.EDITOR_RUN).click()
    state = page.locator(Sel.EDITOR_RUN_STATE)
    expect(state).to_be_visible()
    assert json.loads(state.input_value()) == {"who": "world"}
    state.fill('{"who": "Lab"}')
    shot(page, "run-dialog")
    page.locator(Sel.DIALOG_ACCEPT).click()
    expect(page.locator(Sel.DIALOG)).to_have_count(0)

    run_id = run_view_id(page)
    view = page.locator(Sel.run_view(run_id))
    row = page.locator(Sel.run(run_id))
    expect(row).to_be_visible()  # in the sidebar's Runs, without a reload
    expect(row).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(view.locator(Sel.RUN_STATUS)).to_have_text("completed")
    expect(view.locator(f"{Sel.RUN_TIMELINE} {Sel.GANTT_BAR}")).to_have_count(2)
    final_state = view.locator(Sel.RUN_STATE)
    result = final_state.locator(Sel.JSON_TOGGLE, has_text="result")
    expect(result).to_have_attribute("aria-expanded", "false")
    result.click()
    expect(result).to_have_attribute("aria-expanded", "true")
    expect(final_state).to_contain_text('"hello Lab"')
    shot(page, "run-completed")

    run = rest.execution(run_id)
    assert run["status"] == "completed"
    assert run["workflowId"] == stored["id"]
    assert run["finalState"]["result"] == {"greeting": "hello Lab", "count": 2}
    assert page.evaluate("() => window.__workscriptNoReload === true"), "the page reloaded"


# -- 2. the automation form ---------------------------------------------------------------------


def _fire_ids(rest: Rest, automation_id: str) -> set[str]:
    page = rest.call("GET", f"automations/{automation_id}/fires", params={"limit": 200})
    return {fire["id"] for fire in page["items"]}


def test_an_automation_made_in_the_form_fires_and_stops_when_toggled_off(
    page: Any, rest: Rest, shot: Shots
) -> None:
    workflow = rest.create_workflow(unique("Fired by the form"), [{"$.tick": True}])
    name = unique("Form automation")
    open_panel(page)
    page.locator(Sel.NEW_AUTOMATION).click()
    form = page.locator(Sel.AUTOMATION_FORM)
    expect(form).to_be_visible()

    form.locator(Sel.field("name")).fill(name)
    form.locator(Sel.field("target-workflow")).check()
    form.locator(Sel.field("workflowId")).select_option(workflow["id"])
    form.locator(Sel.field("triggerType")).select_option("cron")
    form.locator(Sel.field("overlapPolicy")).select_option("allow")
    cron = form.locator(Sel.field("cron"))
    cron.fill("61 * * * *")
    expect(form.locator(Sel.CRON_ERROR)).to_be_visible()
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(form.locator(Sel.CRON_PREVIEW)).to_have_count(0)
    shot(page, "invalid-cron")

    cron.fill(EVERY_2S)
    expect(form.locator(f"{Sel.CRON_PREVIEW} li")).to_have_count(5)
    expect(form.locator(Sel.CRON_WORDS)).to_have_text(re.compile(r"\w"))
    expect(form.locator(Sel.CRON_ERROR)).to_have_count(0)
    shot(page, "cron-preview")

    automation_id = ""
    try:
        form.locator(Sel.AUTOMATION_SAVE).click()
        expect(form.locator(Sel.AUTOMATION_NOTICE)).not_to_be_empty()
        expect(form).not_to_have_attribute("data-automation-id", "")
        automation_id = str(form.get_attribute("data-automation-id"))
        stored = rest.automation(automation_id)
        assert stored["name"] == name
        assert stored["workflowId"] == workflow["id"]
        assert stored["triggerType"] == "cron"
        assert stored["cron"] == EVERY_2S
        assert stored["enabled"] is True
        # the sidebar's Automations list reads itself again after the create
        expect(page.locator(Sel.automation(automation_id))).to_be_visible()

        # a tick every 2 s, the history read every 5 s
        expect(form.locator(Sel.FIRED).first).to_be_visible(timeout=20_000)
        form.locator(Sel.FIRES).scroll_into_view_if_needed()
        shot(page, "fires")

        enabled = form.locator(Sel.AUTOMATION_ENABLED)
        expect(enabled).to_be_checked()
        enabled.click()
        expect(enabled).not_to_be_checked()
        eventually(
            lambda: rest.automation(automation_id)["enabled"] is False,
            "enabled=false over REST",
        )
        assert rest.automation(automation_id)["nextRunAt"] is None
        shot(page, "toggled-off")
    finally:
        if automation_id:
            rest.toggle_automation(automation_id, False)

    time.sleep(0.5)  # a tick claimed just as it was turned off is recorded by now
    before = _fire_ids(rest, automation_id)
    assert before, "no fire was recorded while it was enabled"
    time.sleep(5)  # two ticks and more
    assert _fire_ids(rest, automation_id) == before, "it fired after it was turned off"


# -- 3. the notification of a failed run --------------------------------------------------------


DARK = "JupyterLab Dark"
LIGHT = "JupyterLab Light"
# the element's own background, or its nearest painted ancestor's, is dark
DARK_BACKGROUND = """
(sel) => {
  for (let e = document.querySelector(sel); e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor.match(/[\\d.]+/g).map(Number);
    if (c.length > 3 && c[3] === 0) continue;
    return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255 < 0.3;
  }
  return false;
}
"""


@pytest.fixture
def light_again(page: Any) -> Iterator[None]:
    """The theme is a user setting, shared by every page of the session: back to light."""
    yield
    execute(page, "apputils:change-theme", {"theme": LIGHT})


def test_a_failed_run_raises_a_notification_that_opens_it(
    page: Any, rest: Rest, shot: Shots, light_again: None
) -> None:
    message = f"planned failure {secrets.token_hex(3)}"
    workflow = rest.create_workflow(
        unique("Failing"), [{"end": {"status": "failed", "message": message}}]
    )
    open_panel(page)
    wait_for_live_runs(page)  # the shared WebSocket is open

    run = rest.run_workflow(workflow["id"])
    toast = page.locator(Sel.TOAST, has_text="Workscript run failed")
    expect(toast).to_be_visible(timeout=15_000)
    expect(toast).to_contain_text(message)
    expect(toast).to_be_in_viewport(ratio=1)  # slid in
    shot(page, "notified")
    assert rest.execution(run["id"])["status"] == "failed"

    toast.get_by_role("button", name="Open run").click()
    view = page.locator(Sel.run_view(run["id"]))
    expect(view).to_be_visible()
    assert run_view_id(page) == run["id"]
    expect(view.locator(Sel.RUN_STATUS)).to_have_text("failed")
    expect(view.locator(Sel.RUN_ERROR)).to_contain_text(message)
    expect(toast).to_have_count(0)  # an action closes its notification
    shot(page, "run-opened-from-the-notification")

    execute(page, "apputils:change-theme", {"theme": DARK})
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
    expect(page.locator("#jupyterlab-splash")).to_have_count(0)
    page.wait_for_function(DARK_BACKGROUND, arg=Sel.run_view(run["id"]), timeout=10_000)
    shot(page, "dark")


# -- 4. schedule this notebook ------------------------------------------------------------------


@pytest.fixture
def notebook(lab: LabServer) -> Iterator[str]:
    """A notebook with a ``parameters`` cell, made over the contents API; at the end (after the
    page is closed) its kernel is shut down and the file deleted."""
    path = f"flow-{secrets.token_hex(4)}.ipynb"
    content = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "cells": [
            {
                "id": "params",
                "cell_type": "code",
                "metadata": {"tags": ["parameters"]},
                "source": 'alpha = 1\nname = "x"',
                "outputs": [],
                "execution_count": None,
            },
            {
                "id": "work",
                "cell_type": "code",
                "metadata": {},
                "source": "print(alpha, name)",
                "outputs": [],
                "execution_count": None,
            },
        ],
    }
    with httpx.Client(base_url=lab.url, headers=lab.headers, timeout=30) as client:
        reply = client.put(
            f"/api/contents/{path}", json={"type": "notebook", "format": "json", "content": content}
        )
        assert reply.status_code in (200, 201), reply.text
        yield path
        for session in client.get("/api/sessions").json():
            if session.get("path") == path:
                client.delete(f"/api/sessions/{session['id']}")
        client.delete(f"/api/contents/{path}")


def test_schedule_this_notebook_prefills_the_form(notebook: str, page: Any, shot: Shots) -> None:
    execute(page, "docmanager:open", {"path": notebook})
    button = page.locator(f".jp-NotebookPanel {Sel.SCHEDULE_NOTEBOOK}")
    expect(button).to_be_visible()
    shot(page, "notebook-open")

    button.click()
    form = page.locator(Sel.AUTOMATION_FORM)
    expect(form).to_be_visible()
    expect(form.locator(Sel.field("target-notebook"))).to_be_checked()
    expect(form.locator(Sel.field("notebookPath"))).to_have_value(notebook)
    parameters = form.locator(Sel.field("parameters"))
    expect(parameters).to_have_value(re.compile(r'"alpha": 1[\s\S]*"name": "x"'))
    assert json.loads(parameters.input_value()) == {"alpha": 1, "name": "x"}
    shot(page, "form-prefilled")


# -- 5. cancel and rerun in the run view --------------------------------------------------------


def test_the_run_view_cancels_a_run_and_reruns_it_in_a_new_tab(
    page: Any, rest: Rest, shot: Shots
) -> None:
    workflow = rest.create_workflow(unique("Slow"), [{"wait": {"seconds": 30}}, {"$.done": True}])
    run = rest.run_workflow(workflow["id"])
    started: list[str] = [run["id"]]
    try:
        rest.wait_for_status(run["id"], {"running"}, timeout=15)
        execute(page, Sel.OPEN_RUN, {"id": run["id"]})
        view = page.locator(Sel.run_view(run["id"]))
        expect(view.locator(Sel.RUN_STATUS)).to_have_text("running")
        # the server's live timeline: the wait node, running, though its start event came
        # before the view was opened
        expect(view.locator(f"{Sel.RUN_TIMELINE} {Sel.GANTT_BAR}-running")).to_have_count(1)
        shot(page, "running")

        view.locator(Sel.RUN_CANCEL).click()
        expect(view.locator(Sel.RUN_STATUS)).to_have_text("cancelled")
        expect(view.locator(Sel.RUN_CANCEL)).to_have_count(0)
        # the stored timeline: the wait node, ended by the cancel
        expect(view.locator(f"{Sel.RUN_TIMELINE} {Sel.GANTT_BAR}-failed")).to_have_count(1)
        expect(view.locator(Sel.RUN_ERROR)).to_contain_text("CANCELLED")
        assert rest.wait_for_status(run["id"], timeout=10)["status"] == "cancelled"
        shot(page, "cancelled")

        view.locator(Sel.RUN_RERUN).click()
        rerun_id = run_view_id(page, other_than=run["id"])
        started.append(rerun_id)
        rerun = page.locator(Sel.run_view(rerun_id))
        expect(rerun).to_be_visible()
        expect(rerun.locator(Sel.RUN_STATUS)).to_have_text(re.compile("^(queued|running)$"))
        expect(page.locator(f".jp-MainAreaWidget {Sel.RUN_VIEW}")).to_have_count(2)
        again = rest.execution(rerun_id)
        assert again["workflowId"] == workflow["id"]
        assert again["status"] in ("queued", "running")
        open_panel(page)  # both runs in the sidebar: the rerun going on, the first cancelled
        expect(page.locator(Sel.run(rerun_id))).to_have_attribute(
            "data-status", re.compile("^(queued|running)$")
        )
        expect(page.locator(Sel.run(run["id"]))).to_have_attribute("data-status", "cancelled")
        shot(page, "rerun-in-a-new-tab")
    finally:
        for execution_id in started:  # no 30 s run left going on in the session
            if rest.execution(execution_id)["status"] in ("queued", "running"):
                rest.call("POST", f"executions/{execution_id}/cancel")
