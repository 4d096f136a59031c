"""Is this a CI run, and which skips CI accepts: one answer for every test and fixture.

``CI`` (set by GitHub Actions, GitLab and ``.ci/run``) counts as on when it is ``1``, ``true``
or ``yes``, in any case. In CI a missing service or tool is a failure, not a skip, and every
skip fails the run unless its reason starts with ``CI_OK`` ("ci-ok: ..."), a skip that means
the same in CI as anywhere (the environment lacks something on purpose). ``xfail`` stays
allowed. This module is also the pytest plugin (``tests/conftest.py`` loads it) that applies
the rule, to tests and to modules skipped at import.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

__all__ = ["CI_OK", "in_ci", "require", "unaccepted_skip"]

CI_OK = "ci-ok:"
"""The prefix of a skip reason that CI accepts."""

_TRUE = frozenset({"1", "true", "yes"})


def in_ci(environ: dict[str, str] | None = None) -> bool:
    """True when ``CI`` is 1, true or yes (any case, surrounding spaces ignored)."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() in _TRUE


def require(ok: bool, message: str, *, fix: str = ".ci/run must provide it") -> None:
    """Skip the test when a prerequisite is missing; in CI that is a failure naming the fix."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{message}; {fix}", pytrace=False)
    pytest.skip(message)


def unaccepted_skip(reason: str) -> str | None:
    """The failure message for a skip that CI does not accept, or None when it does."""
    text = reason.strip()
    text = text.removeprefix("Skipped:").strip()
    if text.startswith(CI_OK):
        return None
    return (
        f"skipped in CI: {text!r}. A CI run may skip only for a reason starting with "
        f"{CI_OK!r}; make the prerequisite available (.ci/run) or fix the test"
    )


def _reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: why")
        return str(longrepr[2])
    return str(longrepr)


def _enforce(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    message = unaccepted_skip(_reason(report.longrepr))
    if message is not None:
        report.outcome = "failed"
        report.longrepr = message


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    """In CI a skipped test fails unless its reason starts with ``ci-ok:``."""
    outcome = yield
    _enforce(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None]:
    """The same for a module skipped at import (``pytest.skip(..., allow_module_level=True)``)."""
    outcome = yield
    _enforce(outcome.get_result())
