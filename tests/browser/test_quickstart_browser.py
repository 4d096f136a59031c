"""Real-browser end-to-end test: JupyterLab + headless Chromium run the quickstart notebook.

Starts ``jupyter lab`` on a temporary copy of ``notebooks/``, opens ``01-quickstart.ipynb`` in
Debian's Chromium through Playwright, runs ``%load_ext workscript_jupyter`` and the first
``%%workflow`` cell, waits for the RunMonitor widget to show the completed run and its node rows,
and saves a screenshot under ``tests/artifacts/browser/``.

Never downloads a browser: Playwright drives ``/usr/bin/chromium`` (``CHROMIUM`` overrides it).
Skips when Chromium, Playwright or JupyterLab are missing; fails instead in CI (``tests/ci.py``).
The server runs with HOME and every Jupyter folder in a temporary folder: the user's real
``~/.local/share/jupyter`` (and its ``workscript.sqlite``) is never written.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..ci import require
from ..lab.harness import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
NOTEBOOK = "01-quickstart.ipynb"
ARTIFACTS = REPO / "tests" / "artifacts" / "browser"
SERVER_START_TIMEOUT = 60.0  # seconds until /api/status answers
KERNEL_TIMEOUT_MS = 60_000  # page load + kernel start + idle
RUN_TIMEOUT_MS = 90_000  # the two cells run and the widget shows the end (2 slow cores)
# The RunMonitor (a VBox widget view); the static text/html summary below it has no such class.
WIDGET_VIEW = ".jp-OutputArea-output .jupyter-widgets.widget-vbox"


def require_prerequisites() -> None:
    require(
        importlib.util.find_spec("playwright") is not None,
        "the playwright Python package is not installed",
    )
    require(
        os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK),
        f"Chromium is not installed at {CHROMIUM}",
    )
    require(importlib.util.find_spec("jupyterlab") is not None, "JupyterLab is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    home: Path  # HOME of the server and the browser; Jupyter's folders are under it
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError as exc:
            return f"(no server log: {exc})"


def wait_for_status(lab: Lab, timeout: float) -> None:
    """Poll /api/status with the token until the server answers 200."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        f"{lab.url}/api/status", headers={"Authorization": f"token {lab.token}"}
    )
    last: object = None
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            pytest.fail(
                f"jupyter lab exited with code {lab.process.returncode} before answering; "
                f"log {lab.log_path}:\n{lab.log_tail()}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    json.load(response)
                    return
                last = response.status
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = exc
        time.sleep(0.25)
    pytest.fail(
        f"jupyter lab did not answer /api/status within {timeout:.0f} s ({last!r}); "
        f"log {lab.log_path}:\n{lab.log_tail()}",
        pytrace=False,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def private_dirs(home: Path) -> dict[str, str]:
    """HOME and every folder Jupyter and IPython write by default, all under ``home``."""
    folders = {
        "HOME": home,
        "JUPYTER_DATA_DIR": home / ".local" / "share" / "jupyter",
        "JUPYTER_CONFIG_DIR": home / ".jupyter",
        "JUPYTER_RUNTIME_DIR": home / ".local" / "share" / "jupyter" / "runtime",
        "IPYTHONDIR": home / ".ipython",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {name: str(folder) for name, folder in folders.items()}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a free port, serving a temporary copy of notebooks/; always shut down."""
    require_prerequisites()
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root)  # includes notebooks/data/; the repo is never touched
    settings = base / "settings"
    # No news / update checks: they would fetch from outside and pop up toasts.
    notification = (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "jupyterlab.log"

    port = free_port()
    token = secrets.token_hex(16)
    home = base / "home"
    env = {**os.environ, **private_dirs(home), "PYTHONUNBUFFERED": "1"}
    for variable in ("WORKSCRIPT_DB_URL", "DB_HOST", "DB_NAME", "REDIS_URL"):
        env.pop(variable, None)  # the default store: a SQLite file in the private data folder
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        f"--LabApp.user_settings_dir={settings}",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    lab = Lab(f"http://127.0.0.1:{port}", token, root, home, log_path, process)
    try:
        wait_for_status(lab, SERVER_START_TIMEOUT)
        yield lab
    finally:
        stop(process)


# JavaScript run in the page (window.jupyterapp comes from --LabApp.expose_app_in_browser).
FIND_PANEL = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path) return w;
  }
  return null;
}
"""

KERNEL_IDLE = f"""
(path) => {{
  const panel = ({FIND_PANEL})(path);
  if (!panel || !panel.context.isReady || !panel.sessionContext.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}}
"""

CODE_CELLS = f"""
(path) => {{
  const panel = ({FIND_PANEL})(path);
  return panel.content.widgets
    .map((cell, index) => [cell.model.type, index])
    .filter(([type]) => type === 'code')
    .map(([, index]) => index);
}}
"""

RUN_CELL = f"""
async ([path, index]) => {{
  const app = window.jupyterapp;
  const panel = ({FIND_PANEL})(path);
  app.shell.activateById(panel.id);
  panel.content.activeCellIndex = index;
  panel.content.mode = 'command';
  await app.commands.execute('notebook:run-cell');
}}
"""

CELL_DONE = f"""
([path, index]) => {{
  const panel = ({FIND_PANEL})(path);
  const model = panel.content.widgets[index].model;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return model.executionCount !== null && !!kernel && kernel.status === 'idle';
}}
"""

CELL_OUTPUTS = f"""
([path, index]) => {{
  const panel = ({FIND_PANEL})(path);
  return panel.content.widgets[index].model.outputs.toJSON();
}}
"""


WIDGET_FINISHED = f"""
([path, index, view]) => {{
  // The RunMonitor of cell ``index`` shows "completed" and at least 3 node rows.
  const panel = ({FIND_PANEL})(path);
  const node = panel && panel.content.widgets[index].node.querySelector(view);
  if (!node) return false;
  const status = node.querySelector('.workscript-header .workscript-status');
  const rows = node.querySelectorAll('table.workscript-rows tr:not(:has(th))');
  return !!status && status.textContent.includes('completed') && rows.length >= 3;
}}
"""


def error_outputs(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in outputs if o.get("output_type") == "error" or o.get("name") == "stderr"]


def run_quickstart(page: Any, lab: Lab, screenshot: Path) -> None:
    """Open the notebook, run its first two code cells, check the widget, take the screenshot."""
    page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?token={lab.token}")
    page.wait_for_function(KERNEL_IDLE, arg=NOTEBOOK, timeout=KERNEL_TIMEOUT_MS, polling=250)
    load_ext, workflow = page.evaluate(CODE_CELLS, NOTEBOOK)[:2]

    # %load_ext workscript_jupyter
    page.evaluate(RUN_CELL, [NOTEBOOK, load_ext])
    page.wait_for_function(CELL_DONE, arg=[NOTEBOOK, load_ext], timeout=RUN_TIMEOUT_MS, polling=250)
    outputs = page.evaluate(CELL_OUTPUTS, [NOTEBOOK, load_ext])
    assert not error_outputs(outputs), f"%load_ext failed: {outputs}"

    # %%workflow --name counter: wait for the live widget to show the end of the run
    page.evaluate(RUN_CELL, [NOTEBOOK, workflow])
    page.wait_for_function(
        WIDGET_FINISHED,
        arg=[NOTEBOOK, workflow, WIDGET_VIEW],
        timeout=RUN_TIMEOUT_MS,
        polling=250,
    )
    page.wait_for_function(CELL_DONE, arg=[NOTEBOOK, workflow], timeout=RUN_TIMEOUT_MS, polling=250)
    outputs = page.evaluate(CELL_OUTPUTS, [NOTEBOOK, workflow])
    assert not error_outputs(outputs), f"%%workflow failed: {outputs}"

    cell = page.locator(".jp-Notebook .jp-Cell").filter(has_text="%%workflow --name counter")
    view = cell.locator(WIDGET_VIEW)
    status = view.locator(".workscript-header .workscript-status").inner_text()
    assert "✓ completed" in status, status
    count = view.locator(".workscript-count").inner_text()
    assert count.strip() == "32 node runs", count
    rows = view.locator("table.workscript-rows tr:not(:has(th))").all_inner_texts()
    assert len(rows) >= 3, rows
    assert all("✓" in row for row in rows), rows
    paths = view.locator("table.workscript-rows td code").all_inner_texts()
    assert "/workflow/0/range..." in paths, paths
    assert "/workflow/1/log" in paths, paths
    assert view.locator(".workscript-graph").count() >= 1, "no workflow graph in the widget"

    view.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot), full_page=True)


def test_quickstart_runs_in_jupyterlab(lab: Lab) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    screenshot = ARTIFACTS / "quickstart.png"
    screenshot.unlink(missing_ok=True)
    failure_png = ARTIFACTS / "quickstart-failure.png"
    failure_png.unlink(missing_ok=True)
    console_log = ARTIFACTS / "quickstart-console.log"
    page_errors: list[str] = []
    console: list[str] = []
    failure = ""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            env={**os.environ, "HOME": str(lab.home)},
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            page.on("pageerror", lambda exc: page_errors.append(f"{exc.name}: {exc.message}"))
            page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
            try:
                run_quickstart(page, lab, screenshot)
            except (AssertionError, PlaywrightError) as exc:
                failure = str(exc)
                with contextlib.suppress(PlaywrightError):
                    page.screenshot(path=str(failure_png), full_page=True)
        finally:
            console_log.write_text("\n".join(console) + "\n", encoding="utf-8")
            browser.close()

    if failure:
        pytest.fail(
            f"{failure}\nscreenshot: {failure_png}\npage errors: {page_errors}\n"
            f"console ({console_log}), last lines:\n" + "\n".join(console[-20:]) + "\n"
            f"server log {lab.log_path}, last lines:\n{lab.log_tail()}",
            pytrace=False,
        )
    assert screenshot.is_file() and screenshot.stat().st_size > 0
    assert not page_errors, f"uncaught errors in the page: {page_errors}"
    # the server's default store went to the test's private data folder, not the user's
    store = lab.home / ".local" / "share" / "jupyter" / "workscript.sqlite"
    assert store.is_file(), f"no {store}: the server wrote its store somewhere else"
