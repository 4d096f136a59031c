"""filesystem: every operation inside the root, and every way out of it refused."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, NodeContext, Services
from workscript_jupyter.nodes.files import FilesystemNode


def call(
    params: dict[str, Any], root: Path | None, state: dict[str, Any] | None = None
) -> tuple[Edge, dict[str, Any]]:
    state = {} if state is None else state
    ctx = NodeContext(
        state,
        node_id="filesystem",
        node_type="filesystem",
        node_path="/workflow/0/filesystem",
        services=Services(root_dir=root),
    )
    edge = asyncio.run(FilesystemNode().execute(ctx, params))
    assert edge is not None
    return edge, state


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A secret file next to the root, which no path may reach."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("top secret")
    return folder


# -- happy paths --------------------------------------------------------------------------------


def test_write_then_read(root):
    edge, state = call({"operation": "write", "path": "notes.txt", "content": "héllo"}, root)
    assert (edge.name, edge.data) == ("success", {"path": "notes.txt"})
    assert state == {"fileWritten": "notes.txt"}
    assert (root / "notes.txt").read_text(encoding="utf-8") == "héllo"

    edge, state = call({"operation": "read", "path": "notes.txt"}, root)
    assert edge.name == "success"
    assert edge.data == {"content": "héllo", "path": "notes.txt"}
    assert state == {"fileContent": "héllo"}


def test_write_replaces_an_existing_file_and_keeps_its_mode(root):
    target = root / "data.txt"
    target.write_text("old")
    target.chmod(0o600)
    edge, _ = call({"operation": "write", "path": "data.txt", "content": "new"}, root)
    assert edge.name == "success"
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in root.iterdir()) == ["data.txt"], "no temporary file left"


def test_write_objects_as_json_and_numbers_as_text(root):
    call({"operation": "write", "path": "a.json", "content": {"n": [1, 2]}}, root)
    assert json.loads((root / "a.json").read_text()) == {"n": [1, 2]}
    call({"operation": "write", "path": "n.txt", "content": 42}, root)
    assert (root / "n.txt").read_text() == "42"


def test_a_failed_write_leaves_the_old_file_whole(root):
    target = root / "keep.txt"
    target.write_text("original")
    edge, state = call({"operation": "write", "path": "keep.txt", "content": "bad \ud800"}, root)
    assert edge.name == "error"
    assert "content" in edge.data["error"]
    assert target.read_text() == "original"
    assert [p.name for p in root.iterdir()] == ["keep.txt"], "the temporary file is removed"
    assert state == {}


def test_write_needs_an_existing_parent_folder(root):
    edge, _ = call({"operation": "write", "path": "no/such/dir.txt", "content": "x"}, root)
    assert edge.name == "error"
    assert "parent folder does not exist" in edge.data["error"]
    assert not (root / "no").exists()


def test_write_onto_a_folder_is_an_error(root):
    (root / "sub").mkdir()
    edge, _ = call({"operation": "write", "path": "sub", "content": "x"}, root)
    assert edge.name == "error"
    assert "is a directory" in edge.data["error"]


def test_exists_and_not_exists(root):
    (root / "here.txt").write_text("x")
    edge, state = call({"operation": "exists", "path": "here.txt"}, root)
    assert (edge.name, edge.data, state) == (
        "exists",
        {"exists": True, "path": "here.txt"},
        {"fileExists": True},
    )
    edge, state = call({"operation": "exists", "path": "gone.txt"}, root)
    assert (edge.name, edge.data, state) == (
        "not_exists",
        {"exists": False, "path": "gone.txt"},
        {"fileExists": False},
    )


def test_mkdir_creates_parents_and_is_idempotent(root):
    for _ in range(2):
        edge, state = call({"operation": "mkdir", "path": "a/b/c"}, root)
        assert (edge.name, edge.data) == ("success", {"path": "a/b/c"})
        assert state == {"dirCreated": "a/b/c"}
    assert (root / "a" / "b" / "c").is_dir()


def test_list_describes_entries_sorted_by_name(root):
    (root / "b.txt").write_text("12345")
    (root / "a").mkdir()
    (root / "link").symlink_to(root / "b.txt")
    edge, state = call({"operation": "list", "path": "."}, root)
    entries = [
        {"name": "a", "type": "directory"},
        {"name": "b.txt", "type": "file", "size": 5},
        {"name": "link", "type": "symlink"},
    ]
    assert edge.name == "success"
    assert edge.data == {"path": ".", "entries": entries, "count": 3}
    assert state == {"fileList": entries}


def test_list_of_a_file_is_an_error(root):
    (root / "f.txt").write_text("x")
    edge, _ = call({"operation": "list", "path": "f.txt"}, root)
    assert edge.name == "error"
    assert "not a directory" in edge.data["error"]


def test_delete_file_and_empty_folder(root):
    (root / "f.txt").write_text("x")
    (root / "empty").mkdir()
    edge, state = call({"operation": "delete", "path": "f.txt"}, root)
    assert (edge.name, edge.data, state) == ("success", {"path": "f.txt"}, {"fileDeleted": "f.txt"})
    edge, _ = call({"operation": "delete", "path": "empty"}, root)
    assert edge.name == "success"
    assert list(root.iterdir()) == []


def test_delete_refuses_a_full_folder_and_a_missing_file(root):
    (root / "full").mkdir()
    (root / "full" / "x").write_text("x")
    edge, _ = call({"operation": "delete", "path": "full"}, root)
    assert edge.name == "error"
    assert 'delete failed for path "full"' in edge.data["error"]
    assert (root / "full" / "x").exists()
    edge, _ = call({"operation": "delete", "path": "missing.txt"}, root)
    assert edge.name == "error"
    assert "No such file" in edge.data["error"]
    assert str(root) not in edge.data["error"], "the server's absolute path is not shown"


def test_delete_of_a_symlink_removes_the_link_not_its_target(root):
    (root / "target.txt").write_text("keep me")
    (root / "link.txt").symlink_to(root / "target.txt")
    edge, _ = call({"operation": "delete", "path": "link.txt"}, root)
    assert edge.name == "success"
    assert not (root / "link.txt").exists()
    assert (root / "target.txt").read_text() == "keep me"


def test_delete_of_the_root_itself_is_refused(root):
    edge, _ = call({"operation": "delete", "path": "."}, root)
    assert edge.name == "error"
    assert root.is_dir()


def test_absolute_path_inside_the_root_and_dotdot_that_stays_inside_are_allowed(root):
    (root / "sub").mkdir()
    (root / "f.txt").write_text("inside")
    edge, state = call({"operation": "read", "path": str(root / "f.txt")}, root)
    assert (edge.name, state["fileContent"]) == ("success", "inside")
    edge, state = call({"operation": "read", "path": "sub/../f.txt"}, root)
    assert (edge.name, state["fileContent"]) == ("success", "inside")


def test_symlink_inside_the_root_is_followed(root):
    (root / "real.txt").write_text("real")
    (root / "alias.txt").symlink_to("real.txt")
    edge, state = call({"operation": "read", "path": "alias.txt"}, root)
    assert (edge.name, state["fileContent"]) == ("success", "real")


# -- escapes ------------------------------------------------------------------------------------

OPERATIONS = ("read", "write", "exists", "delete", "mkdir", "list")


def _escape_paths(root: Path, outside: Path) -> dict[str, str]:
    (root / "secret-link.txt").symlink_to(outside / "secret.txt")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    (root / "dangling").symlink_to(outside / "not-yet.txt")
    return {
        "dotdot": "../outside/secret.txt",
        "deep dotdot": "a/../../outside/secret.txt",
        "etc passwd": "/etc/passwd",
        "absolute outside": str(outside / "secret.txt"),
        "symlink to a file outside": "secret-link.txt",
        "through a symlinked folder": "linked-dir/secret.txt",
        "the symlinked folder itself": "linked-dir",
        "dangling symlink outside": "dangling",
    }


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_escape_is_refused_naming_path(root, outside, operation):
    for label, path in _escape_paths(root, outside).items():
        params = {"operation": operation, "path": path, "content": "pwned"}
        edge, state = call(params, root)
        assert edge.name == "error", label
        assert 'Parameter "path" is outside the root directory' in edge.data["error"], label
        assert edge.data["path"] == path
        assert state == {}, label
        for link in ("secret-link.txt", "linked-dir", "dangling"):
            assert (root / link).is_symlink(), f"{label}: the link itself is left alone"
    assert (outside / "secret.txt").read_text() == "top secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_without_a_root_every_path_is_refused(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    for services in (None, Services()):
        ctx = NodeContext(
            {}, node_id="f", node_type="filesystem", node_path="/f", services=services
        )
        params = {"operation": "read", "path": str(tmp_path / "f.txt")}
        edge = asyncio.run(FilesystemNode().execute(ctx, params))
        assert edge is not None and edge.name == "error"
        assert "no root directory" in edge.data["error"]
        assert 'Parameter "path"' in edge.data["error"]


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"path": "x"}, "Missing required parameter: operation"),
        ({"operation": "chmod", "path": "x"}, 'Parameter "operation" must be one of'),
        ({"operation": "read"}, "Missing required parameter: path"),
        ({"operation": "read", "path": ""}, "Missing required parameter: path"),
        ({"operation": "read", "path": 5}, "Missing required parameter: path"),
        ({"operation": "read", "path": "a\x00b"}, 'Parameter "path" must not contain NUL'),
        ({"operation": "write", "path": "x.txt"}, "Missing required parameter: content"),
        ({"operation": "read", "path": "missing.txt"}, 'read failed for path "missing.txt"'),
        ({"operation": "read", "path": "."}, "read failed for path"),
    ],
)
def test_bad_input_takes_the_error_edge(root, params, fragment):
    edge, state = call(params, root)
    assert edge.name == "error"
    assert fragment in edge.data["error"]
    assert state == {}


def test_binary_file_is_not_read_as_text(root):
    (root / "b.bin").write_bytes(b"\xff\xfe\x00")
    edge, _ = call({"operation": "read", "path": "b.bin"}, root)
    assert edge.name == "error"
    assert "not UTF-8 text" in edge.data["error"]


# -- through the engine -------------------------------------------------------------------------


def test_example_and_edges_in_a_workflow(run, root):
    example = dict(FilesystemNode.metadata.example)
    document = {
        "id": "files",
        "name": "files",
        "version": "1.0.0",
        "initialState": {"total": 7},
        "workflow": [
            {"filesystem": example},
            {
                "filesystem": {
                    "operation": "exists",
                    "path": "$.fileWritten",
                    "exists?": {"$.seen": True},
                    "not_exists?": {"$.seen": False},
                }
            },
            {
                "filesystem": {
                    "operation": "read",
                    "path": "../escape.txt",
                    "error?": {"$.refused": True},
                }
            },
        ],
    }
    result = run(document, services=Services(root_dir=root))
    assert result.status == "completed", result.error
    assert (root / "report.txt").read_text() == "total: 7"
    state = result.final_state
    assert state["lastLoggedMessage"] == "wrote report.txt"
    assert state["seen"] is True
    assert state["refused"] is True
    assert "fileContent" not in state
    assert os.listdir(root) == ["report.txt"]
