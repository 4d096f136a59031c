"""``Workflows``: saved workflows (create, read, update, delete), validation and the node
catalogue, scoped to the caller. Needs the store, the node registry and the engine's limits;
reads go through a short-lived ``ReadCache`` that this server's own writes keep exact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..engine import EngineLimits, NodeRegistry, validate_workflow
from ..errors import BadRequestError, ConflictError, ValidationIssue, WorkflowValidationError
from ..store.base import WORKFLOW_FIELDS, Store
from ..store.definition_ids import DEFINITION_ID_MAX
from ..store.records import Page, WorkflowRecord
from .cache import ReadCache
from .common import VERSION, check_limit, optional_str, store_call
from .definition_limits import validate_definition
from .values import Caller

__all__ = ["Workflows"]

NAME_MAX: Final = 200


class Workflows:
    """The workflow use cases."""

    def __init__(
        self,
        store: Store,
        registry: NodeRegistry,
        engine_limits: EngineLimits,
        cache: ReadCache[WorkflowRecord],
    ) -> None:
        self.store = store
        self.registry = registry
        self.engine_limits = engine_limits  # a workflow's step count
        self._workflow_cache = cache  # shared with Automations, which reads their definitions

    def catalogue(self) -> list[dict[str, Any]]:
        """The metadata of every registered node, as dicts."""
        return [meta.to_dict() for meta in self.registry.metadata()]

    def validate(self, definition: Any) -> list[ValidationIssue]:
        """Every problem of ``definition``; empty when it can run. No store involved."""
        return validate_workflow(definition, self.registry, limits=self.engine_limits)

    async def validate_async(self, definition: Any) -> list[ValidationIssue]:
        """``validate``, in a thread when the definition is big (definition_limits.py)."""
        return await validate_definition(definition, self.registry, self.engine_limits)

    async def _checked_definition(self, definition: Any) -> dict[str, Any]:
        issues = await self.validate_async(definition)
        if issues:
            raise WorkflowValidationError(issues)
        assert isinstance(definition, dict)  # a valid document is an object
        if len(str(definition["id"])) > DEFINITION_ID_MAX:
            raise BadRequestError(
                f"definition.id is longer than {DEFINITION_ID_MAX} characters",
                details=[{"field": "definition.id", "message": f"at most {DEFINITION_ID_MAX}"}],
            )
        return definition

    async def list_workflows(
        self,
        caller: Caller,
        *,
        limit: int = 50,
        cursor: str | None = None,
        name_contains: str | None = None,
    ) -> Page:
        return await store_call(
            self.store.workflows.list,
            caller.scope,
            limit=check_limit(limit),
            cursor=optional_str("cursor", cursor),
            name_contains=optional_str("name", name_contains) or None,
        )

    async def create_workflow(
        self,
        caller: Caller,
        definition: dict[str, Any],
        *,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
    ) -> WorkflowRecord:
        """Validated; name, description and version default to the definition's own. The
        definition's ``id`` is unique per owner: a second one is a ConflictError (update it)."""
        fields = _fields({"name": name, "description": description, "version": version})
        document = await self._checked_definition(definition)
        try:
            record = await store_call(
                self.store.workflows.create,
                caller.scope,
                name=fields.get("name") or str(document["name"])[:NAME_MAX],
                description=fields.get("description", str(document.get("description", ""))),
                version=fields.get("version") or str(document["version"]),
                definition=document,
            )
        except ConflictError as exc:
            raise _definition_id_taken(document, exc, "update it with PUT") from None
        self._workflow_cache.put(record.id, record.owner_id, record)
        return record

    async def get_workflow(self, caller: Caller, workflow_id: str) -> WorkflowRecord:
        cached = self._workflow_cache.get(_id(workflow_id), caller.scope)
        if cached is not None:
            return cached
        record = await store_call(self.store.workflows.get, caller.scope, workflow_id)
        self._workflow_cache.put(record.id, record.owner_id, record)
        return record

    async def update_workflow(
        self, caller: Caller, workflow_id: str, changes: Mapping[str, Any]
    ) -> WorkflowRecord:
        """``changes`` among name, description, version, definition; a definition is
        re-validated. An unknown field is a BadRequestError and nothing is written."""
        if not isinstance(changes, Mapping):
            raise BadRequestError("the changes must be a JSON object")
        unknown = sorted(set(changes) - WORKFLOW_FIELDS)
        if unknown:
            raise BadRequestError(
                f"cannot change {', '.join(unknown)} of a workflow "
                f"(only {', '.join(sorted(WORKFLOW_FIELDS))})",
                details=[{"field": f, "message": "unknown field"} for f in unknown],
            )
        values: dict[str, Any] = _fields({k: v for k, v in changes.items() if k != "definition"})
        for key in ("name", "version"):
            if key in changes and changes[key] is None:
                raise BadRequestError(
                    f"{key} cannot be null", details=[{"field": key, "message": "cannot be null"}]
                )
        if "description" in changes and changes["description"] is None:
            values["description"] = ""
        if "definition" in changes:
            values["definition"] = await self._checked_definition(changes["definition"])
        if not values:
            return await self.get_workflow(caller, workflow_id)
        self._workflow_cache.drop(_id(workflow_id))
        try:
            record = await store_call(
                self.store.workflows.update, caller.scope, workflow_id, **values
            )
        except ConflictError as exc:
            advice = "change that one with PUT"
            raise _definition_id_taken(values.get("definition"), exc, advice) from None
        self._workflow_cache.put(record.id, record.owner_id, record)
        return record

    async def delete_workflow(self, caller: Caller, workflow_id: str) -> None:
        """Its runs keep their records (and their definition snapshot)."""
        record = await self.get_workflow(caller, workflow_id)  # a definition id: its record's
        self._workflow_cache.drop(record.id)
        await store_call(self.store.workflows.delete, caller.scope, record.id)


def _definition_id_taken(definition: Any, exc: ConflictError, advice: str) -> ConflictError:
    """The store's conflict on a definition id, saying which record has it and what to do."""
    details = exc.details if isinstance(exc.details, dict) else {}
    taken = details.get("workflowId")
    if "definitionId" not in details or not isinstance(taken, str):
        return exc  # another conflict (or a concurrent write the store could not name)
    return ConflictError(
        f"a workflow with id {details['definitionId']!r} already exists (record {taken}): "
        f"{advice} /workscript/workflows/{taken}",
        details={"field": "definition.id", **details},
    )


def _id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"an id must be a non-empty string, not {value!r}")
    return value


def _fields(given: Mapping[str, Any]) -> dict[str, str]:
    """The record fields given (not None), type-checked."""
    out: dict[str, str] = {}
    for key, value in given.items():
        text = optional_str(key, value, max_length=NAME_MAX if key == "name" else None)
        if text is None:
            continue
        if key == "name" and not text.strip():
            raise BadRequestError(
                "name cannot be empty", details=[{"field": "name", "message": "cannot be empty"}]
            )
        if key == "version" and not VERSION.match(text):
            raise BadRequestError(
                f"version must look like 1.0.0 (major.minor.patch), not {text!r}",
                details=[{"field": "version", "message": "major.minor.patch"}],
            )
        out[key] = text
    return out
