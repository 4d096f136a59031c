"""Path confinement: notebooks and executed copies stay inside the run root; per-user roots.

On a shared server every user's runs get their own root, ``user_root_template`` filled in
(default ``{root}/{username}``) with the username made a safe folder name
(:func:`safe_dirname`); :func:`user_root` creates it (mode 0o700) on first use.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path, PurePath

from ..errors import ConfigurationError, NotebookPathError

__all__ = [
    "DEFAULT_OUTPUT_TEMPLATE",
    "DEFAULT_USER_ROOT_TEMPLATE",
    "resolve_inside",
    "resolve_output_path",
    "safe_dirname",
    "user_root",
]

DEFAULT_OUTPUT_TEMPLATE = ".workscript/runs/{stem}-{time}-{run_id}.ipynb"
DEFAULT_USER_ROOT_TEMPLATE = "{root}/{username}"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
_NAME_MAX = 64


def safe_dirname(name: str) -> str:
    """``name`` as one safe folder name: letters, digits and ``_.@-`` only, no leading dot.

    A name that had to change gets a short hash of the original, so ``a/b`` and ``a-b`` never
    share a folder; ``..``, ``/`` and NUL cannot survive.
    """
    cleaned = _UNSAFE.sub("-", name).lstrip(".-")[:_NAME_MAX]
    if cleaned == name and cleaned:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{cleaned or 'user'}-{digest}"


def user_root(root: Path, template: str, *, username: str, user_id: str) -> Path:
    """The user's run root: ``template`` filled in (``{root}``, ``{username}``, ``{user_id}``),
    relative to ``root`` unless absolute; created on first use. Raises ConfigurationError."""
    try:
        filled = template.format(
            root=str(root), username=safe_dirname(username), user_id=safe_dirname(user_id)
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigurationError(
            f"WorkscriptApp.user_root_template {template!r} is not valid: use {{root}}, "
            f"{{username}} and {{user_id}} ({exc})"
        ) from None
    path = Path(filled)
    if ".." in path.parts:
        raise ConfigurationError(
            f"WorkscriptApp.user_root_template {template!r} may not contain '..'"
        )
    path = (path if path.is_absolute() else root / path).resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


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
