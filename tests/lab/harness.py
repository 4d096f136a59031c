"""The parts of the JupyterLab browser tests, shared with ``bench/lab.py``: no pytest in here.

- the wheel (``python -m hatchling build``) and a venv it is installed in with its ``lab``
  extra, as a user would (``pip install "<wheel>[lab]"``);
- ``jupyter labextension list`` of that venv, parsed;
- ``jupyter lab`` from that venv on a free port with a random token, every Jupyter folder
  (settings, workspaces, runtime, data, HOME) and a SQLite store in a temporary folder, in a
  process group of its own that ``LabServer.stop`` ends;
- a REST client of the extension's API (httpx with the token) for setting up and checking;
- Playwright helpers: Debian's Chromium (never a downloaded browser), opening Lab and waiting
  for ``window.jupyterapp`` (``--LabApp.expose_app_in_browser``) and ``app.restored``, running
  Lab commands, console errors, numbered screenshots;
- the selectors of the Workscript panel (the ``data-testid`` and ``data-*`` attributes of
  ``labextension/src``), in one place.

Every failure is a ``LabError`` whose message says what was run and shows the output or log
that explains it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts" / "lab"
# the same in package.json, pyproject's shared-data and _jupyter_labextension_paths()
EXTENSION = "workscript-jupyter-labextension"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# docs: /work/shared/NOTES-jupyter.md "JupyterLab extension"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1400, "height": 900}
WHEEL_BUILD_TIMEOUT = 900.0  # seconds; includes npm when the extension is not built yet
PIP_TIMEOUT = 600.0
SERVER_START_TIMEOUT = 90.0
LAB_LOAD_TIMEOUT_MS = 60_000  # page load until app.restored (about 4 s here)
FINISHED = frozenset({"completed", "failed", "timed_out", "cancelled", "interrupted"})
# Variables of the caller's environment that would point Lab at another install, another
# store or another user's folders.
_DROPPED_ENV = (
    "JUPYTER_PATH",
    "JUPYTER_CONFIG_PATH",
    "JUPYTER_PREFER_ENV_PATH",
    "JUPYTERLAB_DIR",
    "PYTHONPATH",
    "PYTHONHOME",
    "VIRTUAL_ENV",
    "WORKSCRIPT_DB_URL",
    "DB_HOST",
    "DB_PORT",
    "DB_USER",
    "DB_PASSWORD",
    "DB_NAME",
    "REDIS_URL",
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class LabError(RuntimeError):
    """A step of the harness failed; the message carries the output that explains why."""


# -- the wheel and its venv ----------------------------------------------------------------------


def _run(
    command: Sequence[str | Path],
    *,
    what: str,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run ``command``; its stdout and stderr together, or a LabError that shows their tail."""
    try:
        done = subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        shown = " ".join(map(str, command))
        raise LabError(f"{what}: no end after {timeout:.0f} s ({shown})") from exc
    except OSError as exc:
        raise LabError(f"{what}: cannot run {command[0]}: {exc}") from exc
    if done.returncode != 0:
        raise LabError(
            f"{what} failed with exit code {done.returncode} "
            f"({' '.join(map(str, command))}):\n{done.stdout[-6000:]}"
        )
    return done.stdout


def build_wheel(out: Path) -> Path:
    """``python -m hatchling build -t wheel`` of the repository into ``out``; the wheel's path.

    The build hook (hatch-jupyter-builder) skips npm when
    ``workscript_jupyter/labextension/static/style.js`` exists, else runs ``npm run build:prod``.
    """
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):
        old.unlink()
    _run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", out],
        what="building the wheel",
        cwd=REPO,
        timeout=WHEEL_BUILD_TIMEOUT,
    )
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise LabError(f"building the wheel left {len(wheels)} wheels in {out}: {wheels}")
    return wheels[0]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without what points at another install or store."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(extra or {})
    return env


def venv_env(venv: Path, home: Path | None = None) -> dict[str, str]:
    """The environment of a program of ``venv``: its bin first on PATH; with ``home``, HOME and
    every Jupyter and IPython folder under it (created)."""
    extra = {
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    if home is not None:
        folders = {
            "HOME": home,
            "JUPYTER_DATA_DIR": home / ".local" / "share" / "jupyter",
            "JUPYTER_CONFIG_DIR": home / ".jupyter",
            "JUPYTER_RUNTIME_DIR": home / ".local" / "share" / "jupyter" / "runtime",
            "IPYTHONDIR": home / ".ipython",
            "JUPYTERLAB_SETTINGS_DIR": home / "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
        }
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        extra.update({name: str(folder) for name, folder in folders.items()})
    return clean_env(extra)


def prepare_venv(venv: Path, wheel: Path, *, reuse: bool = False) -> float:
    """A venv at ``venv`` holding ``wheel`` with its ``lab`` extra; the seconds it took.

    ``reuse``: keep a venv already there (its dependencies stay, so this takes seconds) but
    reinstall the package itself from ``wheel``, so that what is tested is always this build.
    """
    started = time.monotonic()
    python = venv / "bin" / "python"
    fresh = not python.exists()
    if fresh:
        if venv.exists() and any(venv.iterdir()):
            raise LabError(f"{venv} exists and is not a venv (no bin/python); remove it")
        _run([sys.executable, "-m", "venv", venv], what=f"creating the venv {venv}", timeout=120)
    env = venv_env(venv)
    _run(
        [python, "-m", "pip", "install", "--quiet", f"{wheel}[lab]"],
        what=f"pip install {wheel.name}[lab] into {venv}",
        timeout=PIP_TIMEOUT,
        env=env,
    )
    if not fresh:  # the same version number is "already satisfied": install this very wheel
        _run(
            [python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheel],
            what=f"reinstalling {wheel.name} into {venv}",
            timeout=PIP_TIMEOUT,
            env=env,
        )
    return time.monotonic() - started


def venv_module_file(venv: Path, module: str) -> Path:
    """Where ``module`` is imported from by the venv's Python (run outside the repository)."""
    out = _run(
        [venv / "bin" / "python", "-c", f"import {module}; print({module}.__file__)"],
        what=f"importing {module} in {venv}",
        timeout=60,
        cwd=venv,
        env=venv_env(venv),
    )
    return Path(out.strip().splitlines()[-1])


# -- jupyter labextension list --------------------------------------------------------------------


@dataclass(frozen=True)
class ExtensionEntry:
    """One line of ``jupyter labextension list``, and the folder it was listed under."""

    name: str
    version: str
    folder: str
    enabled: bool
    ok: bool
    line: str


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def labextension_list(venv: Path, env: Mapping[str, str]) -> str:
    """``<venv>/bin/jupyter labextension list``, colours removed."""
    out = _run(
        [venv / "bin" / "jupyter", "labextension", "list"],
        what="jupyter labextension list",
        timeout=120,
        cwd=venv,
        env=env,
    )
    return strip_ansi(out)


def find_extension(listing: str, name: str) -> ExtensionEntry | None:
    """The entry of ``name`` in a ``jupyter labextension list`` output, or None.

    The output lists folders (an unindented absolute path) each followed by indented lines
    ``<name> v<version> enabled|disabled OK|X (python, <package>)``.
    """
    folder = ""
    for raw in strip_ansi(listing).splitlines():
        line = raw.rstrip()
        if line.startswith("/"):
            folder = line.strip()
            continue
        words = line.split()
        if len(words) >= 2 and words[0] == name and raw[:1].isspace():
            return ExtensionEntry(
                name=name,
                version=words[1].removeprefix("v"),
                folder=folder,
                enabled="enabled" in words[2:] and "disabled" not in words[2:],
                ok="OK" in words[2:],
                line=line.strip(),
            )
    return None


# -- jupyter lab -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# No update check, no news: they would reach outside and pop up a toast over the panel.
_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}


@dataclass
class LabServer:
    """A running ``jupyter lab`` of a venv."""

    url: str
    token: str
    venv: Path
    base: Path  # the temporary folder holding root/, home/ and the store
    root: Path
    home: Path
    db_url: str
    log_path: Path
    env: dict[str, str] = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def lab_url(self, workspace: str | None = None) -> str:
        """The Lab page with the token; a named workspace starts from the default layout."""
        path = f"/lab/workspaces/{workspace}" if workspace else "/lab"
        return f"{self.url}{path}?token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError as exc:
            return f"(no server log: {exc})"

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the server's process group (Jupyter shuts its parts down), SIGKILL after
        ``timeout``."""
        if self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


def start_lab(
    venv: Path,
    base: Path,
    log_path: Path,
    *,
    db_url: str | None = None,
    workscript: Mapping[str, Any] | None = None,
    timeout: float = SERVER_START_TIMEOUT,
) -> LabServer:
    """``<venv>/bin/jupyter lab`` on a free port; returns once ``/api/status`` answers 200.

    Its HOME, Jupyter folders, Lab settings and workspaces are under ``base/home``, the notebook
    root is ``base/root``, the store ``db_url`` (default: ``base/workscript.sqlite``).
    ``workscript`` adds ``--WorkscriptApp.<name>=<value>`` settings. Always local: no kernel is
    kept warm (``kernel_pool_size=0``: the panel runs no notebook, and a kernel would cost a
    core); the scheduler is on (the default of role ``local``) and fires due cron ticks itself.
    """
    root = base / "root"
    home = base / "home"
    root.mkdir(parents=True, exist_ok=True)
    env = venv_env(venv, home)
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
    for name, value in _LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")
    db_url = db_url or f"sqlite:///{base / 'workscript.sqlite'}"
    port = free_port()
    token = secrets.token_hex(16)
    options = {"db_url": db_url, "kernel_pool_size": 0, "server_id": f"lab-tests-{port}"}
    options.update(workscript or {})
    command = [
        str(venv / "bin" / "jupyter"),
        "lab",
        "--allow-root",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
        *(f"--WorkscriptApp.{name}={value}" for name, value in options.items()),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        log.write(("$ " + " ".join(command).replace(token, "<token>") + "\n").encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=env,
            start_new_session=True,  # its own process group: stop() ends every child too
        )
    lab = LabServer(
        url=f"http://127.0.0.1:{port}",
        token=token,
        venv=venv,
        base=base,
        root=root,
        home=home,
        db_url=db_url,
        log_path=log_path,
        env=env,
        process=process,
    )
    try:
        _wait_for_status(lab, timeout)
    except BaseException:
        lab.stop()
        raise
    return lab


def _wait_for_status(lab: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise LabError(
                f"jupyter lab exited with code {lab.process.returncode} before answering; "
                f"log {lab.log_path}:\n{lab.log_tail()}"
            )
        try:
            reply = httpx.get(f"{lab.url}/api/status", headers=lab.headers, timeout=2.0)
            if reply.status_code == 200:
                return
            last = f"HTTP {reply.status_code}"
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.25)
    raise LabError(
        f"jupyter lab did not answer /api/status within {timeout:.0f} s ({last!r}); "
        f"log {lab.log_path}:\n{lab.log_tail()}"
    )


# -- the REST API --------------------------------------------------------------------------------


def workflow_document(name: str, steps: Iterable[Any] | None = None) -> dict[str, Any]:
    """A small valid workflow; its definition id is unique (one per owner is allowed)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "workflow"
    return {
        "id": f"{slug}-{secrets.token_hex(4)}",
        "name": name,
        "version": "1.0.0",
        "initialState": {"who": "world"},
        "workflow": list(steps) if steps is not None else [{"$.greeting": "hello {{$.who}}"}],
    }


class Rest:
    """The extension's REST API as the server's owner (the token's identity)."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.client = httpx.Client(
            base_url=f"{url}/workscript/",
            headers={"Authorization": f"token {token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        expect: Iterable[int] = (200, 201, 202, 204),
        **kwargs: Any,
    ) -> Any:
        """The decoded JSON answer (None when empty); a LabError on any other status."""
        reply = self.client.request(method, path, **kwargs)
        if reply.status_code not in set(expect):
            raise LabError(
                f"{method} /workscript/{path}: HTTP {reply.status_code}: {reply.text[:2000]}"
            )
        return reply.json() if reply.content else None

    def create_workflow(self, name: str, steps: Iterable[Any] | None = None) -> dict[str, Any]:
        body = {"definition": workflow_document(name, steps)}
        return dict(self.call("POST", "workflows", json=body, expect=(201,)))

    def run_workflow(
        self, workflow_id: str, *, wait: float = 0, initial_state: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = {"initialState": initial_state} if initial_state else {}
        params = {"wait": wait} if wait else None
        return dict(
            self.call(
                "POST", f"workflows/{workflow_id}/run", json=body, params=params, expect=(200, 202)
            )
        )

    def execution(self, execution_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"executions/{execution_id}", expect=(200,)))

    def executions(self, **params: Any) -> dict[str, Any]:
        """One page of runs, newest first (``limit``, ``cursor``, ``status``, ``workflowId``...)."""
        return dict(self.call("GET", "executions", params=params, expect=(200,)))

    def wait_for_status(
        self, execution_id: str, statuses: Iterable[str] = FINISHED, timeout: float = 30.0
    ) -> dict[str, Any]:
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        while True:
            run = self.execution(execution_id)
            if run["status"] in wanted:
                return run
            if time.monotonic() > deadline:
                raise LabError(
                    f"run {execution_id} still {run['status']} after {timeout:.0f} s, "
                    f"wanted {sorted(wanted)}"
                )
            time.sleep(0.1)

    def create_automation(self, workflow_id: str, name: str, **fields: Any) -> dict[str, Any]:
        body = {"name": name, "workflowId": workflow_id, "triggerType": "manual", **fields}
        return dict(self.call("POST", "automations", json=body, expect=(201,)))

    def automation(self, automation_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"automations/{automation_id}", expect=(200,)))

    def toggle_automation(self, automation_id: str, enabled: bool) -> dict[str, Any]:
        body = {"enabled": enabled}
        return dict(
            self.call("PATCH", f"automations/{automation_id}/toggle", json=body, expect=(200,))
        )

    def automation_runs(self, automation_id: str) -> list[dict[str, Any]]:
        page = self.call("GET", f"automations/{automation_id}/executions", expect=(200,))
        return list(page["items"])


# -- the browser ----------------------------------------------------------------------------------


def chromium_present() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


@contextlib.contextmanager
def chromium_browser(home: Path, *, expect_timeout_ms: int) -> Iterator[Any]:
    """Debian's Chromium through Playwright's sync API for a module or package of tests, with
    ``expect()``'s timeout; closed afterwards. Skips (CI: fails) without Playwright or Chromium."""
    from ..ci import require  # pytest's: the benchmarks import this module without it

    require(
        importlib.util.find_spec("playwright") is not None,
        "the playwright Python package is not installed",
    )
    require(chromium_present(), "Chromium is not installed (no executable /usr/bin/chromium)")
    from playwright.sync_api import expect as playwright_expect
    from playwright.sync_api import sync_playwright

    playwright_expect.set_options(timeout=expect_timeout_ms)
    with sync_playwright() as playwright:
        chromium = launch_browser(playwright, home)
        try:
            yield chromium
        finally:
            chromium.close()


def launch_browser(playwright: Any, home: Path | None = None) -> Any:
    """Debian's Chromium through Playwright, headless with the NOTES flags."""
    env = clean_env({"HOME": str(home)} if home is not None else None)
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True, env=env
    )


# Known noise of JupyterLab itself, not of our extension: (pattern, why it is harmless). Empty:
# JupyterLab 4.6 with start_lab's settings (no news, no update check, the read-only extension
# manager) logs no error, so every console error and uncaught error fails the test.
LAB_NOISE: tuple[tuple[re.Pattern[str], str], ...] = ()


@dataclass
class ConsoleLog:
    """The console messages and uncaught errors of one page."""

    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console.error and uncaught errors
    ignored: list[str] = field(default_factory=list)  # errors matching LAB_NOISE

    def attach(self, page: Any) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def _on_console(self, message: Any) -> None:
        location = message.location or {}
        where = location.get("url", "")
        if where:
            where = f" ({where}:{location.get('lineNumber', '?')})"
        text = f"[{message.type}] {message.text}{where}"
        self.lines.append(text)
        if message.type == "error":
            self._error(text)

    def _on_page_error(self, error: Any) -> None:
        stack = getattr(error, "stack", None) or ""
        text = f"[pageerror] {getattr(error, 'name', 'Error')}: {getattr(error, 'message', error)}"
        self.lines.append(f"{text}\n{stack}".rstrip())
        self._error(f"{text}\n{stack}".rstrip())

    def _error(self, text: str) -> None:
        if any(pattern.search(text) for pattern, _ in LAB_NOISE):
            self.ignored.append(text)
        else:
            self.errors.append(text)

    def clear(self) -> None:
        self.errors.clear()
        self.ignored.clear()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


class Shots:
    """``shots(page, "panel-open")`` saves ``<folder>/<nn>-panel-open.png``, numbered in order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.paths: list[Path] = []

    def __call__(self, page: Any, name: str, *, full_page: bool = False) -> Path:
        self.count += 1
        step = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "step"
        path = self.folder / f"{self.count:02d}-{step}.png"
        self.folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page)
        self.paths.append(path)
        return path


def open_lab(page: Any, lab: LabServer, workspace: str | None = None) -> float:
    """Load Lab (a named workspace: the default layout, nothing restored from another test)
    and wait for ``window.jupyterapp`` and ``app.restored``; the seconds it took."""
    started = time.monotonic()
    page.goto(lab.lab_url(workspace))
    page.wait_for_function("() => !!window.jupyterapp", timeout=LAB_LOAD_TIMEOUT_MS)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    # After `restored` Lab opens the launcher in an empty main area and activates it, which
    # moves the focus there: a test that focused something in the meantime would lose it.
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        "  return !!w && w.node.contains(document.activeElement); }",
        timeout=LAB_LOAD_TIMEOUT_MS,
    )
    return time.monotonic() - started


def execute(page: Any, command: str, args: Mapping[str, Any] | None = None) -> None:
    """Run a Lab command in the page and wait for it (its result is not brought back)."""
    page.evaluate(
        "async ([id, args]) => {"
        "  if (!window.jupyterapp.commands.hasCommand(id)) throw new Error('no command ' + id);"
        "  await window.jupyterapp.commands.execute(id, args);"
        "}",
        [command, dict(args or {})],
    )


def has_command(page: Any, command: str) -> bool:
    return bool(page.evaluate("(id) => window.jupyterapp.commands.hasCommand(id)", command))


def expect(target: Any) -> Any:
    """Playwright's ``expect`` (its timeout is set by tests/lab/conftest.py's ``browser``),
    imported late: without Playwright the tests skip (fail in CI) instead of failing to import."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def unique(label: str) -> str:
    """A name no other test of the session uses (the store is shared by the session)."""
    return f"{label} {secrets.token_hex(3)}"


def open_panel(page: Any) -> None:
    """The Workscript sidebar through its command, and wait until it shows."""
    execute(page, Sel.OPEN_PANEL)
    expect(page.locator(Sel.PANEL)).to_be_visible()


def wait_for_live_runs(page: Any) -> None:
    """The Runs section has read its first page and its WebSocket is open."""
    expect(page.locator(Sel.RUNS_LIVE)).to_have_count(1, timeout=15_000)
    expect(page.locator(f"{Sel.RUNS} .jp-Workscript-state[role=status]")).to_have_count(0)


# -- the Workscript panel's selectors ----------------------------------------------------------


class Sel:
    """CSS selectors of the Workscript front end (labextension/src)."""

    OPEN_PANEL = "workscript:open-panel"
    SHORTCUT = "Control+Alt+Shift+KeyW"  # Accel Alt Shift W on Linux
    PANEL = "#workscript-panel"
    PANEL_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="workscript-panel"]'
    WORKFLOWS = '[data-testid="workscript-workflows"]'
    RUNS = '[data-testid="workscript-runs"]'
    AUTOMATIONS = '[data-testid="workscript-automations"]'
    RUNS_LIVE = f"{RUNS} .jp-Workscript-live-open"
    RUNS_STATUS_FILTER = '[data-testid="workscript-runs-filter-status"]'
    RUNS_WORKFLOW_FILTER = '[data-testid="workscript-runs-filter-workflow"]'
    RUN_ROWS = f"{RUNS} [data-run-id]"
    STATUS_RUNNING = '[data-testid="workscript-status-running"]'

    @staticmethod
    def workflow(workflow_id: str) -> str:
        return f'{Sel.WORKFLOWS} [data-workflow-id="{workflow_id}"]'

    @staticmethod
    def run(execution_id: str) -> str:
        return f'{Sel.RUNS} [data-run-id="{execution_id}"]'

    @staticmethod
    def automation(automation_id: str) -> str:
        return f'{Sel.AUTOMATIONS} [data-automation-id="{automation_id}"]'

    # -- the tabs: editor, run view, automation form, notebook toolbar ------------------------

    OPEN_RUN = "workscript:open-run"
    NEW_WORKFLOW = '[data-testid="workscript-new-workflow"]'
    NEW_AUTOMATION = '[data-testid="workscript-new-automation"]'
    EDITOR = ".jp-Workscript-editor"
    EDITOR_TEXT = '[data-testid="workscript-editor-text"]'
    EDITOR_CONTENT = f"{EDITOR_TEXT} .cm-content"
    EDITOR_LINES = f"{EDITOR_CONTENT} .cm-line"
    EDITOR_ERROR_LINE = "jp-Workscript-errorLine"  # a class of an editor line (.cm-line)
    EDITOR_ERRORS = '[data-testid="workscript-editor-errors"]'
    EDITOR_STATUS = '[data-testid="workscript-editor-status"]'
    EDITOR_GRAPH = '[data-testid="workscript-editor-graph"]'
    EDITOR_SAVE = '[data-testid="workscript-editor-save"]'
    EDITOR_RUN = '[data-testid="workscript-editor-run"]'
    EDITOR_RUN_STATE = '[data-testid="workscript-editor-run-state"]'  # the Run dialog's text
    DIALOG = ".jp-Dialog"
    DIALOG_ACCEPT = ".jp-Dialog .jp-Dialog-button.jp-mod-accept"
    RUN_VIEW = ".jp-Workscript-runView[data-execution-id]"
    RUN_STATUS = '[data-testid="workscript-run-status"]'
    RUN_TIMELINE = '[data-testid="workscript-run-timeline"]'
    RUN_STATE = '[data-testid="workscript-run-state"]'
    RUN_ERROR = '[data-testid="workscript-run-error"]'
    RUN_CANCEL = '[data-testid="workscript-run-cancel"]'
    RUN_RERUN = '[data-testid="workscript-run-rerun"]'
    GANTT_BAR = ".jp-Workscript-ganttBar"
    JSON_TOGGLE = ".jp-Workscript-jsonToggle"
    AUTOMATION_FORM = ".jp-Workscript-automation"
    AUTOMATION_SAVE = '[data-testid="workscript-automation-save"]'
    AUTOMATION_NOTICE = '[data-testid="workscript-automation-notice"]'
    AUTOMATION_ENABLED = '[data-testid="workscript-automation-enabled"]'
    CRON_ERROR = '[data-testid="workscript-cron-error"]'
    CRON_WORDS = '[data-testid="workscript-cron-words"]'
    CRON_PREVIEW = '[data-testid="workscript-cron-preview"]'
    FIRES = '[data-testid="workscript-fires"]'
    FIRED = f'{FIRES} .jp-Workscript-fire[data-outcome="fired"]'
    SCHEDULE_NOTEBOOK = '[data-testid="workscript-schedule-notebook"]'
    TOAST = ".Toastify__toast"

    @staticmethod
    def run_view(execution_id: str) -> str:
        return f'.jp-Workscript-runView[data-execution-id="{execution_id}"]'

    @staticmethod
    def field(name: str) -> str:
        """A control of the automation form (``workscript-automation-<name>``)."""
        return f'[data-testid="workscript-automation-{name}"]'
