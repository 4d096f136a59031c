"""A run started with an API key acts as that key wherever it runs later — a worker process, a
retry, a takeover — never as its owner with every permission."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import document
from workscript_jupyter.errors import PermissionDeniedError
from workscript_jupyter.service import WorkscriptService
from workscript_jupyter.service.owners import ACTING_KEY, OwnerCallers
from workscript_jupyter.service.values import Caller

KEY_PERMISSIONS = ["workflow:execute", "workflow:read"]


def test_a_key_started_run_keeps_the_keys_permissions_when_a_worker_takes_it(serve) -> None:
    async def body(service: WorkscriptService) -> Any:
        owner = await service.identities.caller_for("me")  # an admin, with ai:use
        key = Caller.of_key(owner.user, "key-1", KEY_PERMISSIONS)
        queued = await service.runs.start_run(key, definition=document({"$.x": 1}))
        record = await service.runs.get_execution(owner, queued.id)
        as_run = await OwnerCallers(service.store).caller_for_run(record)
        by_hand = await service.runs.start_run(
            owner,
            definition=document({"$.x": 1}),
            trigger_data={ACTING_KEY: {"id": "forged", "permissions": ["user:manage"]}},
        )
        return record, as_run, by_hand, owner

    record, as_run, by_hand, owner = serve(body, run_workers=False)
    assert record.trigger_data[ACTING_KEY] == {"id": "key-1", "permissions": KEY_PERMISSIONS}
    assert as_run.via == "api_key" and as_run.key_id == "key-1"
    assert as_run.permissions == frozenset(KEY_PERMISSIONS)
    assert not as_run.is_admin
    with pytest.raises(PermissionDeniedError):
        as_run.require("ai:use")
    assert "ai:use" in owner.permissions  # the owner could: the key cannot
    assert ACTING_KEY not in by_hand.trigger_data  # a client cannot write it


def test_a_run_of_the_owner_acts_as_the_owner(serve) -> None:
    async def body(service: WorkscriptService) -> Any:
        owner = await service.identities.caller_for("me")
        queued = await service.runs.start_run(owner, definition=document({"$.x": 1}))
        record = await service.runs.get_execution(owner, queued.id)
        return owner, await OwnerCallers(service.store).caller_for_run(record)

    owner, as_run = serve(body, run_workers=False)
    assert as_run.permissions == owner.permissions and as_run.via == "jupyter"
