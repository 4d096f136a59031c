"""The browser tests of the JupyterLab extension, against a wheel installed in a fresh venv.

Once for this package (package-scoped fixtures: set up at its first test, torn down after its
last, so that Playwright's sync API stops its event loop before the worker runs other tests,
which need the thread's loop free): the wheel is built from the repository
(``python -m hatchling build``; the build hook runs npm only when
``workscript_jupyter/labextension`` holds no build), installed with its ``lab`` extra into a
new venv, and ``jupyter lab`` of that venv is started with its own folders and a SQLite store
in a temporary folder (``harness.start_lab``); its log is kept as
``tests/artifacts/lab/jupyterlab.log``. ``WORKSCRIPT_LAB_VENV=<path>`` keeps the venv at
``<path>`` between sessions (only the package itself is reinstalled: seconds instead of ~25).

Per test: a new browser context and page on Lab in a workspace of its own (the default layout,
nothing restored from another test), its console and uncaught errors collected, and any error
fails the test at teardown; ``shot(page, name)`` saves numbered screenshots into
``tests/artifacts/lab/<test>/``, a failing test adds ``failure.png``, and ``console.log`` keeps
every console line.

Every test here is ``slow``, those with a browser ``browser``, and all of them run in one
pytest-xdist group, ``lab`` (one worker: one wheel, one venv, one Lab per run). Chromium or
Playwright missing: the browser tests skip, and fail in CI (``tests/ci.py``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from ..ci import require
from ..standins.google_oauth import GoogleOAuthStandIn
from .harness import (
    ARTIFACTS,
    EXTENSION,
    VIEWPORT,
    ConsoleLog,
    LabError,
    LabServer,
    Rest,
    Shots,
    build_wheel,
    chromium_browser,
    find_extension,
    labextension_list,
    open_lab,
    prepare_venv,
    start_lab,
    venv_env,
)

LAB_DIR = Path(__file__).resolve().parent
XDIST_GROUP = "lab"
BROWSER_FIXTURES = frozenset({"browser", "page"})
EXPECT_TIMEOUT_MS = 10_000  # Playwright's expect(); its own default, 5 s, is tight on two cores
_PLUGIN = "workscript-lab-tests"
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


# -- markers and the xdist group --------------------------------------------------------------


class _LabTests:
    """Puts every test of tests/lab in the xdist group ``lab``, marks it ``slow``, and those
    with a browser ``browser``.

    tests/conftest.py gives each test a group of its own module (tryfirst), and pytest-xdist
    names a test after *all* its groups joined, so a second marker alone would make one group
    per module: this replaces the module's group. It must run after that tryfirst hook and
    before pytest-xdist's own (which renames the tests by group); registered at
    ``pytest_configure`` (after xdist's worker plugin) it does: pluggy calls later plugins
    first. ``test_harness.py::test_lab_tests_share_one_xdist_group`` checks it.
    """

    @pytest.hookimpl
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if not item.path.is_relative_to(LAB_DIR):
                continue
            item.own_markers[:] = [m for m in item.own_markers if m.name != "xdist_group"]
            item.add_marker(pytest.mark.xdist_group(XDIST_GROUP))
            item.add_marker(pytest.mark.slow)
            if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
                item.add_marker(pytest.mark.browser)


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(_PLUGIN):
        config.pluginmanager.register(_LabTests(), _PLUGIN)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, for the failure screenshot at teardown."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


# -- pytest-jupyter's autouse fixtures, turned off here ---------------------------------------


@pytest.fixture
def jp_asyncio_loop() -> None:
    """pytest-jupyter's autouse loop (tests/conftest.py loads its plugin) would be the loop
    that Playwright's sync API keeps running in this thread while these tests run, and closing
    it fails the teardown: no test here uses pytest-jupyter's in-process server."""
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    """Its cleanup of the in-process ServerApp none of these tests starts (see above)."""
    return None


# -- the package: wheel, venv, Lab -------------------------------------------------------------


def _harness(action: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a harness step; its LabError fails the test with the message alone."""
    try:
        return action(*args, **kwargs)
    except LabError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="package")
def lab_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout."""
    require(importlib.util.find_spec("hatchling") is not None, "hatchling is not installed")
    return Path(_harness(build_wheel, tmp_path_factory.mktemp("lab-wheel")))


@pytest.fixture(scope="package")
def lab_venv(lab_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with ``pip install "<wheel>[lab]"``: new, or WORKSCRIPT_LAB_VENV's."""
    kept = os.environ.get("WORKSCRIPT_LAB_VENV", "").strip()
    venv = Path(kept).resolve() if kept else tmp_path_factory.mktemp("lab-venv") / "venv"
    _harness(prepare_venv, venv, lab_wheel, reuse=bool(kept))
    return venv


@pytest.fixture(scope="package")
def lab_listing(lab_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``jupyter labextension list`` of the venv (colours removed), with private folders."""
    env = venv_env(lab_venv, tmp_path_factory.mktemp("lab-listing-home"))
    return str(_harness(labextension_list, lab_venv, env))


@pytest.fixture(scope="package")
def lab_google() -> Iterator[GoogleOAuthStandIn]:
    """Google's OAuth server (tests/standins/google_oauth.py) that Lab's connections use."""
    with GoogleOAuthStandIn() as stand_in:
        yield stand_in


def _google_settings(oauth: GoogleOAuthStandIn) -> dict[str, str]:
    """Lab's Google client is the stand-in's; the redirect is left to its default, Lab's own
    ``<url>/workscript/auth/google/callback`` (the port is chosen when Lab starts)."""
    return {
        "google_client_id": oauth.client_id,
        "google_client_secret": oauth.client_secret,
        "google_auth_uri": oauth.auth_uri,
        "google_token_uri": oauth.token_uri,
        "google_revoke_uri": oauth.revoke_uri,
        "google_userinfo_uri": oauth.userinfo_uri,
        "secret_key": Fernet.generate_key().decode(),
    }


@pytest.fixture(scope="package")
def lab(
    lab_venv: Path,
    lab_listing: str,
    lab_google: GoogleOAuthStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LabServer]:
    """``jupyter lab`` of the venv; the extension must be listed enabled and OK first. Its
    Google connections go to ``lab_google``."""
    entry = find_extension(lab_listing, EXTENSION)
    if entry is None or not (entry.enabled and entry.ok):
        pytest.fail(
            f"{EXTENSION} is not enabled and OK in the venv's jupyter labextension list:\n"
            f"{lab_listing}",
            pytrace=False,
        )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the stand-in is plain http
        server = _harness(
            start_lab,
            lab_venv,
            tmp_path_factory.mktemp("lab-server"),
            ARTIFACTS / "jupyterlab.log",
            workscript=_google_settings(lab_google),
        )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def rest(lab: LabServer) -> Iterator[Rest]:
    client = Rest(lab.url, lab.token)
    try:
        yield client
    finally:
        client.close()


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    home = tmp_path_factory.mktemp("chromium-home")
    with chromium_browser(home, expect_timeout_ms=EXPECT_TIMEOUT_MS) as chromium:
        yield chromium


def _test_folder(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return ARTIFACTS / name


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """``tests/artifacts/lab/<test>/``, emptied."""
    folder = _test_folder(request)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def shot(artifacts: Path) -> Shots:
    """``shot(page, "step")``: ``tests/artifacts/lab/<test>/<nn>-step.png``."""
    return Shots(artifacts)


@pytest.fixture
def console() -> ConsoleLog:
    """The page's console: ``console.errors`` fail the test at teardown."""
    return ConsoleLog()


@pytest.fixture
def page(
    browser: Any,
    lab: LabServer,
    console: ConsoleLog,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """A new page on Lab (a workspace of the test's own), restored; checked at teardown."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    console.attach(page)
    workspace = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[-60:].strip("-").lower()
    try:
        try:
            open_lab(page, lab, workspace)
        except Exception as exc:  # noqa: BLE001 (Playwright's errors): say what the page and server said
            page.screenshot(path=str(artifacts / "failure.png"))
            pytest.fail(
                f"Lab did not load: {exc}\nconsole:\n"
                + "\n".join(console.lines[-30:])
                + f"\nserver log:\n{lab.log_tail()}",
                pytrace=False,
            )
        yield page
        if _failed(request):
            page.screenshot(path=str(artifacts / "failure.png"))
    finally:
        console.save(artifacts / "console.log")
        context.close()
    if console.errors and not _failed(request):
        pytest.fail(
            f"{len(console.errors)} console error(s) in the page "
            f"(all lines in {artifacts / 'console.log'}):\n" + "\n".join(console.errors),
            pytrace=False,
        )
