"""``workscript run --max-state-mb`` and ``--max-steps`` (issue 13, items 2 and 5), as a user runs
them: the CLI in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import doc, workscript, write

DOUBLING = doc(
    {"range...": {"stop": 40, "current_step?": [{"$.s": "{{$.s}}{{$.s}}"}]}},
    initialState={"s": "x"},
)


def test_run_fails_at_the_state_limit_given(tmp_path: Path) -> None:
    path = write(tmp_path, "double.json", DOUBLING)
    done = workscript("run", path, "--max-state-mb", "0.5", "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "failed"
    assert result["error"]["code"] == "STATE_TOO_LARGE"
    assert "0.5 MB" in result["error"]["message"] and "max_state_mb" in result["error"]["message"]
    assert len(result["finalState"]["s"]) <= 512 * 1024
    plain = workscript("run", path, "--max-state-mb", "0.5", "--quiet")
    assert plain.returncode == 1 and "STATE_TOO_LARGE" not in plain.stdout
    assert "0.5 MB, more than" in plain.stderr or "0.5 MB, the limit" in plain.stderr


def test_run_and_validate_refuse_more_steps_than_given(tmp_path: Path) -> None:
    path = write(tmp_path, "long.json", doc(*(["empty"] * 30)))
    checked = workscript("validate", path, "--max-steps", "20", "--json")
    assert checked.returncode == 2
    (issue,) = json.loads(checked.stdout)["errors"]
    assert issue["code"] == "TOO_MANY_STEPS" and "20 steps" in issue["message"]
    ran = workscript("run", path, "--max-steps", "20")
    assert ran.returncode == 2 and "TOO_MANY_STEPS" in ran.stderr + ran.stdout
    assert workscript("validate", path).returncode == 0  # the default: 10,000


def test_a_bad_limit_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, "one.json", doc("empty"))
    done = workscript("run", path, "--max-state-mb", "0")
    assert done.returncode == 2
    assert "max_state_mb must be greater than 0" in done.stderr
    assert "Traceback" not in done.stderr
