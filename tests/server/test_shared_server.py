"""A shared server (``single_user = False``) keeps its users apart: per-user run roots, code
nodes only for admins and allowed users (kernels without the server's secrets, in the user's
root), no outbound request to loopback, anonymous token identities refused, and the scheduler
status scoped to the caller."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import Api, document, server_config
from .identity import TwoUsersIdentityProvider, auth

CAROL = {"Authorization": "token hub-carol-token"}  # hub user carol, group "analysts"
CATCH = {"$.caught": "$._edgeContext"}
ENV_CODE = "import os\nstate['names'] = sorted(os.environ)\nstate['cwd'] = os.getcwd()"


async def run_steps(api: Api, *steps: Any, timeout: float = 60.0) -> dict[str, Any]:
    definition = document(*steps, id=f"flow-{uuid.uuid4().hex[:8]}")
    created = await api.post("workflows", json_body={"definition": definition})
    assert created.code == 201, created.raw
    started = await api.post("workflows", created.body["id"], "run")
    assert started.code in (200, 202), started.raw
    return await api.wait_for_status(
        started.body["id"], {"completed", "failed", "cancelled", "timed_out"}, timeout=timeout
    )


class TestSharedServer:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url, monkeypatch):
        monkeypatch.setenv("JWT_SECRET", "server-jwt-" + "x" * 32)
        monkeypatch.setenv("WORKSCRIPT_DB_URL", workscript_db_url)
        return server_config(
            workscript_db_url,
            server={"identity_provider_class": TwoUsersIdentityProvider},
            single_user=False,
            admin_users=["bob"],
            code_groups=["analysts"],
            kernel_env_extra={"FROM_ADMIN": "yes"},
        )

    @pytest.fixture
    def root(self, workscript) -> Path:
        return Path(workscript["service"].services_factory.settings.root)

    @pytest.fixture
    def alice(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, auth("alice"))

    @pytest.fixture
    def bob(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, auth("bob"))

    @pytest.fixture
    def carol(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, CAROL)

    async def test_each_user_has_their_own_root(self, alice, bob, root):
        write = {"filesystem": {"operation": "write", "path": "note.txt", "content": "mine"}}
        done = await run_steps(alice, write)
        assert done["status"] == "completed", done
        assert (root / "alice" / "note.txt").read_text() == "mine"
        assert not (root / "note.txt").exists()

        (root / "bob").mkdir(exist_ok=True)
        (root / "bob" / "link.txt").symlink_to(root / "alice" / "note.txt")
        for path in ("note.txt", "../alice/note.txt", str(root / "alice" / "note.txt"), "link.txt"):
            read = {"filesystem": {"operation": "read", "path": path, "error?": CATCH}}
            done = await run_steps(bob, read)
            assert done["status"] == "completed", done
            assert "fileContent" not in done["finalState"], path
            message = done["finalState"]["caught"]["error"]
            assert "outside the root" in message or "No such file" in message, (path, message)

    async def test_code_nodes_are_off_for_a_user_who_is_not_allowed(self, alice):
        done = await run_steps(alice, {"python": {"code": "state['x'] = 1", "error?": CATCH}})
        caught = done["finalState"]["caught"]
        assert caught["code"] == "CODE_NODES_DISABLED"
        assert caught["error"] == (
            "python/notebook nodes are disabled for user 'alice' on this shared server; an "
            "admin can allow them with c.WorkscriptApp.code_users / code_groups"
        )
        assert "x" not in done["finalState"]

    async def test_an_allowed_users_kernel_has_no_secret_and_runs_in_their_root(self, carol, root):
        done = await run_steps(carol, {"python": {"code": ENV_CODE}})
        assert done["status"] == "completed", done
        names = set(done["finalState"]["names"])
        assert "JWT_SECRET" not in names and "WORKSCRIPT_DB_URL" not in names
        assert "FROM_ADMIN" in names and "PATH" in names
        assert Path(done["finalState"]["cwd"]) == (root / "carol").resolve()

    async def test_fetch_to_loopback_is_refused(self, bob, jp_http_port):
        url = f"http://127.0.0.1:{jp_http_port}/api/status"
        done = await run_steps(bob, {"fetchApi": {"url": url, "error?": CATCH}})
        caught = done["finalState"]["caught"]
        assert caught["errorType"] == "HostNotAllowed"
        assert "127.0.0.1 is loopback" in caught["error"]
        assert "http_allow_private" in caught["error"]

    async def test_scheduler_status_is_scoped_to_the_caller(self, alice, bob, carol):
        created = await alice.post("workflows", json_body={"definition": document()})
        assert created.code == 201, created.raw
        body = {
            "name": "tick",
            "workflowId": created.body["id"],
            "triggerType": "cron",
            "cron": "*/1 * * * * *",
            "overlapPolicy": "allow",
        }
        automation = await alice.post("automations", json_body=body)
        assert automation.code == 201, automation.raw
        deadline = time.monotonic() + 30
        whole: dict[str, Any] = {}
        while time.monotonic() < deadline:
            whole = (await bob.get("scheduler", "status")).body
            if whole.get("fired", 0) >= 1:
                break
            await asyncio.sleep(0.2)
        toggled = await alice.call(
            "PATCH", "automations", automation.body["id"], "toggle", json_body={"enabled": False}
        )
        assert toggled.code == 200, toggled.raw
        assert whole["fired"] >= 1, whole  # the admin sees every user's fires

        own = (await alice.get("scheduler", "status")).body
        other = (await carol.get("scheduler", "status")).body
        assert own["fired"] >= 1
        assert other["fired"] == 0 and other["skipped"] == 0 and other["failed"] == 0
        assert other["recentErrors"] == []
        assert other["leader"] == whole["leader"]  # the server's own figures stay visible
        assert set(other["lock"]) <= {"backend", "name", "held"}


class TestPlainTokenOnASharedServer:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(workscript_db_url, single_user=False)

    async def test_a_plain_token_names_no_user_and_is_refused(self, api, workscript):
        users_before = len(workscript["store"].users.list(limit=1000).items)
        for _ in range(3):
            reply = await api.get("workflows")
            assert reply.code == 403, reply.raw
            assert reply.error["code"] == "FORBIDDEN"
            assert "names no user" in reply.error["message"]
            assert "single_user = True" in reply.error["message"]
        assert len(workscript["store"].users.list(limit=1000).items) == users_before
