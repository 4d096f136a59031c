"""Per-user run roots of a shared server: safe folder names, the template, and the filesystem
node confined to the user's own folder (``..``, absolute paths and symlinks refused)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, NodeContext, Services
from workscript_jupyter.errors import ConfigurationError
from workscript_jupyter.nodes.files import FilesystemNode
from workscript_jupyter.runner.paths import safe_dirname, user_root
from workscript_jupyter.service.user_isolation import IsolationSettings, UserServices
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.records import User


def caller(username: str, *, admin: bool = False) -> Caller:
    roles = ("admin",) if admin else ("user",)
    return Caller.of(User.new(username, roles=roles, source="jupyter", external_id=username))


def fs(services: Services, **params: Any) -> Edge:
    ctx = NodeContext(
        {}, node_id="fs", node_type="filesystem", node_path="/workflow/0", services=services
    )
    edge = asyncio.run(FilesystemNode().execute(ctx, params))
    assert edge is not None
    return edge


@pytest.mark.parametrize(
    "name", ["..", ".", "../etc", "a/b", "a\\b", "/abs", ".hidden", "x\x00y", "", "ä ö", "a" * 300]
)
def test_unsafe_names_become_one_safe_folder_name(name):
    safe = safe_dirname(name)
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".")
    assert len(safe) <= 64 + 9
    assert safe not in ("..", ".")


def test_safe_names_are_kept_and_changed_ones_do_not_collide():
    assert safe_dirname("alice") == "alice"
    assert safe_dirname("carol@example.org") == "carol@example.org"
    assert safe_dirname("a/b") != safe_dirname("a-b")
    assert safe_dirname("a/b") == safe_dirname("a/b")


def test_user_root_is_created_inside_the_root(tmp_path):
    made = user_root(tmp_path, "{root}/{username}", username="../bob", user_id="u1")
    assert made.parent == tmp_path.resolve() and made.is_dir()
    assert (made.stat().st_mode & 0o777) == 0o700
    relative = user_root(tmp_path, "users/{user_id}", username="x", user_id="u2")
    assert relative == tmp_path.resolve() / "users" / "u2"


@pytest.mark.parametrize(
    "template", ["{root}/{nobody}", "{root}/{username", "{root}/../{username}"]
)
def test_a_bad_template_is_a_configuration_error(tmp_path, template):
    with pytest.raises(ConfigurationError, match="user_root_template"):
        user_root(tmp_path, template, username="alice", user_id="u1")


def test_shared_server_gives_each_user_their_own_root(tmp_path):
    services = UserServices(IsolationSettings(shared=True, root=tmp_path))
    alice, bob = caller("alice"), caller("bob")
    assert services(alice).root_dir == tmp_path.resolve() / "alice"
    assert services(bob).root_dir == tmp_path.resolve() / "bob"
    single = UserServices(IsolationSettings(shared=False, root=tmp_path))
    assert single(alice).root_dir == tmp_path


def test_filesystem_stays_in_the_users_root_symlinks_included(tmp_path):
    factory = UserServices(IsolationSettings(shared=True, root=tmp_path))
    alice, bob = factory(caller("alice")), factory(caller("bob"))
    assert fs(alice, operation="write", path="secret.txt", content="alice's").name == "success"
    secret = tmp_path / "alice" / "secret.txt"
    assert secret.read_text() == "alice's"

    assert fs(bob, operation="exists", path="secret.txt").name == "not_exists"
    for path in ("../alice/secret.txt", str(secret), "../../etc/passwd"):
        edge = fs(bob, operation="read", path=path)
        assert edge.name == "error", path
        assert edge.data["error"] == f'Parameter "path" is outside the root directory: {path}'

    os.symlink(secret, tmp_path / "bob" / "link.txt")
    os.symlink(tmp_path / "alice", tmp_path / "bob" / "alice-dir")
    for path in ("link.txt", "alice-dir/secret.txt", "alice-dir"):
        edge = fs(bob, operation="read", path=path)
        assert edge.name == "error", path
        assert "outside the root directory" in edge.data["error"], path
    edge = fs(bob, operation="write", path="alice-dir/evil.txt", content="x")
    assert edge.name == "error"
    assert not (tmp_path / "alice" / "evil.txt").exists()
    assert secret.read_text() == "alice's"


def test_code_nodes_are_refused_to_non_admins_unless_allowed(tmp_path):
    settings = IsolationSettings(
        shared=True, root=tmp_path, code_users=frozenset({"carol"}), code_groups={"analysts"}
    )
    groups = {"dave-id": ("analysts",)}
    factory = UserServices(settings, groups_of=lambda uid: groups.get(uid, ()))
    alice = factory(caller("alice"))
    assert alice.notebooks is None
    assert alice.notebooks_refusal == (
        "python/notebook nodes are disabled for user 'alice' on this shared server; an admin "
        "can allow them with c.WorkscriptApp.code_users / code_groups"
    )
    assert factory(caller("root", admin=True)).notebooks is not None
    assert factory(caller("carol")).notebooks is not None
    dave = caller("dave")
    groups["dave-id"] = ()
    assert factory(dave).notebooks is None
    groups[dave.user_id] = ("analysts",)
    assert factory(dave).notebooks is not None
    assert UserServices(IsolationSettings(root=tmp_path))(caller("x")).notebooks is not None


def test_notebook_paths_stay_in_the_users_root(tmp_path):
    from workscript_jupyter.errors import NotebookPathError
    from workscript_jupyter.runner.paths import resolve_inside

    factory = UserServices(IsolationSettings(shared=True, root=tmp_path))
    bob_root = factory.root_for(caller("bob"))
    assert bob_root is not None
    (tmp_path / "alice").mkdir(exist_ok=True)
    (tmp_path / "alice" / "nb.ipynb").write_text("{}")
    os.symlink(tmp_path / "alice" / "nb.ipynb", bob_root / "nb.ipynb")
    for path in ("../alice/nb.ipynb", "nb.ipynb", str(tmp_path / "alice" / "nb.ipynb")):
        with pytest.raises(NotebookPathError):
            resolve_inside(bob_root, path)
    assert isinstance(Path(bob_root), Path)
