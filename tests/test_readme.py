"""The README's promises: its two commands, and its tour."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.+?)\n```", README, flags=re.S)
    start, tests = blocks[0], blocks[1]
    assert "jupyter lab" in start and 'pip install -e ".[lab]"' in start
    assert tests.endswith("python -m pytest") and 'pip install -e ".[test]"' in tests


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci
    extracted = subprocess.run(
        [
            "awk",
            r"/^\*\*Run the tests:\*\*/{found=1} found && /^python3 /{print; exit}",
            "README.md",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert extracted == re.findall(r"```bash\n(.+?)\n```", README, flags=re.S)[1]


def test_the_tour_example_matches_the_file():
    shown = re.search(r"`examples/hello.json`:\n\n```json\n(.+?)\n```", README, flags=re.S)
    assert shown is not None
    import json

    assert json.loads(shown.group(1)) == json.loads((ROOT / "examples/hello.json").read_text())
