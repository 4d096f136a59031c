"""The suite's CI rules: one reading of ``CI``, and a skip in CI fails unless CI accepts it."""

from __future__ import annotations

import os

import pytest

from .ci import CI_OK, in_ci

SKIPS = f"""
import pytest

pytest.importorskip("json")  # importable: no module-level skip

def test_passes():
    pass

def test_skips_without_a_reason_ci_accepts():
    pytest.skip("MariaDB is not reachable")

def test_skips_with_an_accepted_reason():
    pytest.skip("{CI_OK} this machine has mysqlclient installed")

@pytest.mark.skipif(True, reason="a skipif marker")
def test_skipif_marker():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_xfail_stays_allowed():
    assert False
"""

MODULE_SKIP = """
import pytest

pytest.skip("the whole module needs Chromium", allow_module_level=True)

def test_never_runs():
    pass
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("TRUE", True), ("yes", True), (" True ", True),
     ("", False), ("0", False), ("false", False), ("no", False), ("off", False)],
)  # fmt: skip
def test_ci_is_read_one_way(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected


def test_without_ci_is_off() -> None:
    assert in_ci({}) is False


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str) -> pytest.RunResult:
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest('pytest_plugins = ("tests.ci",)')
    pytester.makepyfile(test_skips=SKIPS, test_module_skip=MODULE_SKIP)
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-rA", "--continue-on-collection-errors",
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
    )  # fmt: skip


def test_in_ci_a_skip_fails_unless_its_reason_starts_with_ci_ok(pytester, monkeypatch) -> None:
    result = _run(pytester, monkeypatch, "true")
    result.assert_outcomes(passed=1, failed=1, errors=2, skipped=1, xfailed=1)
    text = result.stdout.str()
    assert "skipped in CI: 'MariaDB is not reachable'" in text
    assert "skipped in CI: 'a skipif marker'" in text
    assert "skipped in CI: 'the whole module needs Chromium'" in text
    assert "this machine has mysqlclient installed" in text  # reported as an accepted skip


def test_outside_ci_a_skip_is_a_skip(pytester, monkeypatch) -> None:
    result = _run(pytester, monkeypatch, "")
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)


def test_only_tests_ci_reads_the_ci_variable() -> None:
    """One reading of ``CI``: every other module asks ``tests.ci.in_ci()``."""
    import re
    from pathlib import Path

    here = Path(__file__).resolve().parent
    reads = re.compile(r"""environ(\.get\(|\[)\s*["']CI["']|getenv\(\s*["']CI["']""")
    offenders = [
        str(path.relative_to(here.parent))
        for path in sorted(here.rglob("*.py"))
        if path.name != "ci.py" and path != Path(__file__).resolve()
        and reads.search(path.read_text(encoding="utf-8"))
    ]  # fmt: skip
    assert offenders == [], f"read CI through tests.ci.in_ci(), not directly: {offenders}"


def test_the_session_keeps_jupyter_out_of_the_real_home() -> None:
    """tests/conftest.py points Jupyter's and IPython's folders into a temporary folder, so a
    test (or a subprocess it starts) that falls back on a default never writes the user's."""
    import os
    import tempfile
    from pathlib import Path

    from jupyter_core.paths import jupyter_config_dir, jupyter_data_dir, jupyter_runtime_dir

    temp = Path(tempfile.gettempdir()).resolve()
    for folder in (jupyter_data_dir(), jupyter_config_dir(), jupyter_runtime_dir()):
        assert temp in Path(folder).resolve().parents, folder
    assert temp in Path(os.environ["IPYTHONDIR"]).resolve().parents


def test_every_slow_entry_names_a_test() -> None:
    """A renamed or deleted test must leave SLOW_TESTS / SLOW_MODULES too."""
    import re
    from pathlib import Path

    from .conftest import SLOW_MODULES, SLOW_TESTS

    root = Path(__file__).resolve().parent.parent
    for module in SLOW_MODULES:
        assert (root / module).is_file(), f"SLOW_MODULES: no {module}"
    for test in SLOW_TESTS:
        module, _, name = test.partition("::")
        source = (root / module).read_text(encoding="utf-8") if (root / module).is_file() else ""
        function = name.split("::")[-1]
        assert re.search(rf"def {re.escape(function)}\b", source), f"SLOW_TESTS: no {test}"


@pytest.mark.redis  # grouped with the tests that touch MariaDB or Redis (tests/conftest.py)
def test_service_tests_share_one_xdist_worker(request: pytest.FixtureRequest) -> None:
    """Under pytest-xdist the tests of a group must really run in one worker: xdist renames
    them ``<id>@<group>``. A pytest that ignores the rename (pytest 9 with xdist 3.8) lets the
    MariaDB tests of one run collide across workers."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("ci-ok: not running under pytest-xdist, nothing to group")
    assert request.node.nodeid.endswith("@services"), request.node.nodeid
