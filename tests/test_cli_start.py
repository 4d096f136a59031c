"""The CLI's start: no optional import that costs seconds (issue: 2.5 s for a small validate)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None,
    reason="ci-ok: rfc3987_syntax is not installed, so nothing can import it",
)
def test_validate_does_not_build_the_rfc3987_grammar() -> None:
    """jsonschema imports rfc3987_syntax (a Lark grammar built on import, ~1.4 s) only for the
    iri formats; the CLI keeps it out."""
    probe = (
        "import sys\n"
        "from workscript_jupyter.cli import main\n"
        f"code = main(['validate', {str(ROOT / 'examples' / 'hello.json')!r}])\n"
        "print('loaded:', sorted(m for m in ('jsonschema', 'rfc3987_syntax')"
        " if sys.modules.get(m) is not None))\n"
        "raise SystemExit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # the workflow schema is still checked with jsonschema; the grammar is never built
    assert "loaded: ['jsonschema']" in done.stdout, done.stdout
