"""filesystem: read, write, exists, delete, mkdir, list, confined to the run's root folder.

The root is ``ctx.services.root_dir``; without one every path is refused. A path is resolved
(symlinks followed, ``..`` collapsed) before it is used, and refused unless the result is the
root or lies inside it, so ``../x``, ``/etc/passwd`` and a symlink pointing out of the root are
all refused alike. Writes go to a temporary file in the same folder that replaces the target in
one step (``os.replace``): a failed write leaves the old file, or nothing, never half a file.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.state import to_text

__all__ = ["MAX_READ_BYTES", "NODES", "FilesystemNode", "PathRefused", "resolve_in_root"]

MAX_READ_BYTES = 20 * 1024 * 1024
_OPERATIONS = ("read", "write", "exists", "delete", "mkdir", "list")
_NEW_FILE_MODE = 0o644

# (edge, edge data, state updates) computed in a worker thread, applied on the loop
_Outcome = tuple[str, dict[str, Any], dict[str, Any]]


class _Refused(Exception):
    """The request cannot be served; the message names the parameter."""


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _resolve(root_dir: Any, raw: Any, param: str = "path") -> tuple[Path, Path]:
    """(resolved target, resolved root); refuses anything that does not stay in the root."""
    if root_dir is None:
        raise _Refused(
            f'Parameter "{param}" refused: file access is disabled (no root directory is '
            f"configured in services.root_dir): {raw}"
        )
    if not isinstance(raw, str) or not raw:
        raise _Refused(f"Missing required parameter: {param} (a path relative to the root)")
    if "\x00" in raw:
        raise _Refused(f'Parameter "{param}" must not contain NUL characters')
    root = Path(os.path.realpath(root_dir))
    target = Path(os.path.realpath(Path(root, raw)))  # an absolute raw path replaces root here
    if not _inside(target, root):
        raise _Refused(f'Parameter "{param}" is outside the root directory: {raw}')
    return target, root


# for the other nodes that read or write the run root (the Google nodes' attachments)
PathRefused = _Refused
resolve_in_root = _resolve


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, (dict, list)):
        return json.dumps(content, ensure_ascii=False, indent=2)
    return to_text(content)


def _read(target: Path, root: Path, raw: str, content: Any) -> _Outcome:
    # O_NOFOLLOW: the checked path has no symlink left; refuse one swapped in since
    descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise _Refused(f'Parameter "path" is not a file: {raw}')
        data = handle.read(MAX_READ_BYTES + 1)
    if len(data) > MAX_READ_BYTES:
        raise _Refused(f'Parameter "path": file is larger than {MAX_READ_BYTES} bytes: {raw}')
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(f'Parameter "path": file is not UTF-8 text: {raw}') from None
    return "success", {"content": text, "path": raw}, {"fileContent": text}


def _write(target: Path, root: Path, raw: str, content: Any) -> _Outcome:
    if content is None:
        raise _Refused("Missing required parameter: content (for the write operation)")
    if target == root or target.is_dir():
        raise _Refused(f'Parameter "path" is a directory: {raw}')
    if not target.parent.is_dir():
        raise _Refused(f'Parameter "path": the parent folder does not exist: {raw}')
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _NEW_FILE_MODE
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(_text_of(content))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return "success", {"path": raw}, {"fileWritten": raw}


def _exists(target: Path, root: Path, raw: str, content: Any) -> _Outcome:
    found = target.exists()
    return (
        "exists" if found else "not_exists",
        {"exists": found, "path": raw},
        {"fileExists": found},
    )


def _delete(target: Path, root: Path, raw: str, content: Any) -> _Outcome:
    if target == root:
        raise _Refused(f'Parameter "path" is the root directory itself: {raw}')
    # a symlink inside the root is removed itself, not the file it points to
    entry = Path(os.path.realpath(Path(root, raw).parent), Path(raw).name)
    if entry.is_symlink() and _inside(entry.parent, root):
        entry.unlink()
    elif target.is_dir():
        target.rmdir()  # only an empty folder: no recursive delete from a workflow
    else:
        target.unlink()
    return "success", {"path": raw}, {"fileDeleted": raw}


def _mkdir(target: Path, root: Path, raw: str, content: Any) -> _Outcome:
    target.mkdir(parents=True, exist_ok=True)
    return "success", {"path": raw}, {"dirCreated": raw}


def _describe(entry: os.DirEntry[str]) -> dict[str, Any]:
    if entry.is_symlink():
        return {"name": entry.name, "type": "symlink"}
    if entry.is_dir(follow_symlinks=False):
        return {"name": entry.name, "type": "directory"}
    if entry.is_file(follow_symlinks=False):
        size = entry.stat(follow_symlinks=False).st_size
        return {"name": entry.name, "type": "file", "size": size}
    return {"name": entry.name, "type": "other"}


def _list(target: Path, root: Path, raw: str, content: Any) -> _Outcome:
    if not target.is_dir():
        raise _Refused(f'Parameter "path" is not a directory: {raw}')
    with os.scandir(target) as scan:
        entries = sorted((_describe(e) for e in scan), key=lambda e: e["name"])
    data = {"path": raw, "entries": entries, "count": len(entries)}
    return "success", data, {"fileList": entries}


_HANDLERS: dict[str, Callable[[Path, Path, str, Any], _Outcome]] = {
    "read": _read,
    "write": _write,
    "exists": _exists,
    "delete": _delete,
    "mkdir": _mkdir,
    "list": _list,
}


def _perform(operation: str, root_dir: Any, raw: Any, content: Any) -> _Outcome:
    target, root = _resolve(root_dir, raw)
    try:
        return _HANDLERS[operation](target, root, raw, content)
    except OSError as failure:  # the user's path in the message, not the server's absolute one
        reason = failure.strerror or type(failure).__name__
        raise _Refused(f'{operation} failed for path "{raw}": {reason}') from None
    except UnicodeEncodeError as failure:  # a lone surrogate from JSON cannot be UTF-8
        raise _Refused(
            f'Parameter "content" cannot be written as UTF-8: {failure.reason}'
        ) from None


class FilesystemNode(Node):
    metadata = NodeMetadata(
        id="filesystem",
        name="File System Operations",
        category="data",
        description=(
            "Reads, writes (atomically), checks, deletes, creates or lists files and folders "
            "inside the run's root directory (services.root_dir); paths that leave it, by .., "
            "an absolute path or a symlink, are refused."
        ),
        inputs=(
            ParamSpec("operation", "string", "what to do", True, choices=_OPERATIONS),
            ParamSpec("path", "string", "path relative to the root directory", True),
            ParamSpec("content", "any", "write: the text (objects are written as JSON)"),
        ),
        outputs=(
            "fileContent",
            "fileWritten",
            "fileExists",
            "fileDeleted",
            "dirCreated",
            "fileList",
        ),
        edges=("success", "exists", "not_exists", "error"),
        example={
            "operation": "write",
            "path": "report.txt",
            "content": "total: {{$.total}}",
            "success?": {"log": {"message": "wrote {{$.fileWritten}}"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation, raw = params.get("operation"), params.get("path")
        if not operation:
            return self._error("Missing required parameter: operation", operation, raw)
        if operation not in _HANDLERS:
            return self._error(
                f'Parameter "operation" must be one of {", ".join(_OPERATIONS)}, got {operation!r}',
                operation,
                raw,
            )
        root_dir = getattr(ctx.services, "root_dir", None)
        try:
            edge, data, updates = await asyncio.to_thread(
                _perform, operation, root_dir, raw, params.get("content")
            )
        except _Refused as refused:
            return self._error(str(refused), operation, raw)
        ctx.state.update(updates)
        return Edge(edge, data)

    @staticmethod
    def _error(message: str, operation: Any, path: Any) -> Edge:
        return Edge("error", {"error": message, "operation": operation, "path": path})


NODES: tuple[type[Node], ...] = (FilesystemNode,)
