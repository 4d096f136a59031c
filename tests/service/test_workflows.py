"""Saved workflows: validation, defaults, updates, paging and owner scoping."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import document
from workscript_jupyter.errors import (
    BadRequestError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RecordNotFoundError,
    TooManyRunsError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    WorkflowValidationError,
    WorkscriptError,
)
from workscript_jupyter.service import WorkscriptService

INVALID = {"id": "bad id", "name": "", "version": "1", "workflow": [{"nope": {}}]}


def test_create_defaults_come_from_the_definition(serve):
    async def body(service: WorkscriptService) -> Any:
        caller = await service.identities.caller_for("me")
        plain = await service.workflows.create_workflow(
            caller, document({"$.a": 1}, id="doc-id", description="from the doc")
        )
        named = await service.workflows.create_workflow(
            caller, document({"$.a": 1}), name="Mine", description="", version="2.1.0"
        )
        return caller, plain, named, await service.workflows.get_workflow(caller, plain.id)

    caller, plain, named, fetched = serve(body)
    assert plain.id != "doc-id" and len(plain.id) == 32
    assert plain.definition["id"] == "doc-id"
    assert (plain.name, plain.description, plain.version) == (
        "workflow doc-id",
        "from the doc",
        "1.0.0",
    )
    assert plain.owner_id == caller.user.id
    assert (named.name, named.description, named.version) == ("Mine", "", "2.1.0")
    assert fetched == plain


def test_create_rejects_invalid_definitions_and_fields(serve):
    async def body(service: WorkscriptService) -> list[Exception]:
        caller = await service.identities.caller_for("me")
        errors: list[Exception] = []
        attempts: list[tuple[Any, dict[str, Any]]] = [
            (INVALID, {}),
            ("not a dict", {}),
            (document("empty"), {"name": 3}),
            (document("empty"), {"name": "  "}),
            (document("empty"), {"version": "one"}),
            (document("empty"), {"name": "x" * 201}),
        ]
        for definition, fields in attempts:
            try:
                await service.workflows.create_workflow(caller, definition, **fields)
            except WorkscriptError as exc:
                errors.append(exc)
        page = await service.workflows.list_workflows(caller)
        assert page.items == ()  # nothing was written
        return errors

    invalid, not_dict, bad_name, blank, bad_version, long_name = serve(body)
    assert isinstance(invalid, WorkflowValidationError)
    paths = {issue["path"] for issue in invalid.details}
    assert {"/id", "/name", "/version"} <= paths
    assert invalid.details == invalid.to_list()
    assert all(set(i) == {"path", "message", "code"} for i in invalid.details)
    assert isinstance(not_dict, WorkflowValidationError)
    for exc in (bad_name, blank, bad_version, long_name):
        assert isinstance(exc, BadRequestError) and exc.code == "BAD_REQUEST"
        assert exc.details


def test_update_revalidates_and_checks_fields(serve):
    async def body(service: WorkscriptService) -> None:
        caller = await service.identities.caller_for("me")
        record = await service.workflows.create_workflow(caller, document({"$.a": 1}))
        renamed = await service.workflows.update_workflow(
            caller, record.id, {"name": "New", "description": None}
        )
        assert (renamed.name, renamed.description) == ("New", "")
        assert renamed.updated_at >= record.updated_at
        with pytest.raises(WorkflowValidationError) as caught:
            await service.workflows.update_workflow(
                caller, record.id, {"definition": INVALID, "name": "Z"}
            )
        assert caught.value.details
        with pytest.raises(BadRequestError) as unknown:
            await service.workflows.update_workflow(caller, record.id, {"owner_id": "x", "id": "y"})
        assert {d["field"] for d in unknown.value.details} == {"id", "owner_id"}
        with pytest.raises(BadRequestError):
            await service.workflows.update_workflow(caller, record.id, {"name": None})
        with pytest.raises(BadRequestError):
            await service.workflows.update_workflow(caller, record.id, {"version": 2})
        unchanged = await service.workflows.get_workflow(caller, record.id)
        assert unchanged.name == "New" and unchanged.definition == record.definition
        new_doc = document({"$.b": 2}, id="other")
        changed = await service.workflows.update_workflow(
            caller, record.id, {"definition": new_doc, "version": "1.1.0"}
        )
        assert changed.definition == new_doc and changed.version == "1.1.0"
        assert await service.workflows.update_workflow(caller, record.id, {}) == changed

    serve(body)


def test_list_paging_filter_and_bad_arguments(serve):
    async def body(service: WorkscriptService) -> None:
        caller = await service.identities.caller_for("me")
        for name in ("alpha", "beta", "alphabet"):
            await service.workflows.create_workflow(caller, document("empty", id=name), name=name)
        first = await service.workflows.list_workflows(caller, limit=2)
        assert len(first.items) == 2 and first.next_cursor
        rest = await service.workflows.list_workflows(caller, limit=2, cursor=first.next_cursor)
        assert [w.name for w in first.items + rest.items] == ["alphabet", "beta", "alpha"]
        assert rest.next_cursor is None
        found = await service.workflows.list_workflows(caller, name_contains="ALPHA")
        assert {w.name for w in found.items} == {"alpha", "alphabet"}
        for bad in ({"limit": 0}, {"limit": 201}, {"limit": "5"}, {"cursor": "garbage!"}):
            with pytest.raises(BadRequestError):
                await service.workflows.list_workflows(caller, **bad)

    serve(body)


def test_owner_scoping(serve):
    async def body(service: WorkscriptService) -> None:
        alice = await service.identities.caller_for("alice")
        bob = await service.identities.caller_for("bob")
        root = await service.identities.caller_for("root")
        mine = await service.workflows.create_workflow(alice, document("empty"))
        for call in (
            service.workflows.get_workflow(bob, mine.id),
            service.workflows.update_workflow(bob, mine.id, {"name": "stolen"}),
            service.workflows.delete_workflow(bob, mine.id),
            service.runs.start_run(bob, workflow_id=mine.id),
        ):
            with pytest.raises(RecordNotFoundError):
                await call
        assert (await service.workflows.list_workflows(bob)).items == ()
        assert (await service.workflows.get_workflow(root, mine.id)).id == mine.id  # admin sees all
        assert len((await service.workflows.list_workflows(root)).items) == 1
        await service.workflows.delete_workflow(alice, mine.id)
        with pytest.raises(RecordNotFoundError):
            await service.workflows.get_workflow(alice, mine.id)

    serve(body, single_user=False, admin_users={"root"})


def test_validate_and_catalogue(make_service):
    service = make_service()
    assert service.workflows.validate(document({"$.a": 1})) == []
    issues = service.workflows.validate(INVALID)
    assert issues and {i.path for i in issues} >= {"/id", "/name"}
    assert service.workflows.validate(42)
    catalogue = service.workflows.catalogue()
    ids = {node["id"] for node in catalogue}
    assert {"wait", "math", "log"} <= ids
    assert all(isinstance(node, dict) for node in catalogue)


def test_new_errors_carry_code_message_and_details():
    cases = [
        (BadRequestError("b"), "BAD_REQUEST", ValueError),
        (PermissionDeniedError("p"), "FORBIDDEN", PermissionError),
        (PayloadTooLargeError("l"), "PAYLOAD_TOO_LARGE", WorkscriptError),
        (UnsupportedMediaTypeError("u"), "UNSUPPORTED_MEDIA_TYPE", WorkscriptError),
        (UnprocessableError("x", details={"a": 1}), "UNPROCESSABLE", ValueError),
        (TooManyRunsError("t", retry_after=7), "TOO_MANY_RUNS", WorkscriptError),
    ]
    for error, code, base in cases:
        assert error.code == code and isinstance(error, base)
        assert isinstance(error, WorkscriptError) and error.message == str(error)
    assert cases[0][0].details is None
    assert cases[4][0].details == {"a": 1}
    assert cases[5][0].retry_after == 7  # type: ignore[attr-defined]
    assert WorkscriptError("plain").details is None
