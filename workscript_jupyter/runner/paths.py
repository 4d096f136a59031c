"""Path confinement: notebooks and executed copies stay inside the run root."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path, PurePath

from ..errors import NotebookPathError

__all__ = ["DEFAULT_OUTPUT_TEMPLATE", "resolve_inside", "resolve_output_path"]

DEFAULT_OUTPUT_TEMPLATE = ".workscript/runs/{stem}-{time}-{run_id}.ipynb"


def _confine(root: Path, raw: str | PurePath, what: str) -> Path:
    candidate = Path(raw)
    if ".." in candidate.parts:
        raise NotebookPathError(f"{what} {str(raw)!r} may not contain '..'")
    full = candidate if candidate.is_absolute() else root / candidate
    resolved = full.resolve()  # follows symlinks: a link pointing outside is caught below
    if not resolved.is_relative_to(root):
        raise NotebookPathError(f"{what} {str(raw)!r} is outside the run root")
    return resolved


def resolve_inside(root_dir: str | Path, path: str | Path) -> tuple[Path, Path]:
    """``(root, notebook)`` both resolved; raises NotebookPathError when it escapes the root."""
    root = Path(root_dir).resolve()
    if not root.is_dir():
        raise NotebookPathError(f"the run root {str(root_dir)!r} is not a directory")
    return root, _confine(root, path, "notebook path")


def resolve_output_path(
    root: Path, notebook: Path, template: str | None, run_id: str, started: datetime
) -> Path:
    """Where the executed copy goes: ``template`` filled in, confined to ``root``."""
    rel_dir = notebook.parent.relative_to(root)
    try:
        filled = (template or DEFAULT_OUTPUT_TEMPLATE).format(
            run_id=run_id,
            time=started.strftime("%Y%m%dT%H%M%SZ"),
            stem=notebook.stem,
            name=notebook.name,
            dir=rel_dir.as_posix(),
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise NotebookPathError(f"bad output path template {template!r}: {exc}") from None
    target = _confine(root, filled, "output path")
    if target == notebook:
        raise NotebookPathError("the output path may not be the notebook itself")
    return target
