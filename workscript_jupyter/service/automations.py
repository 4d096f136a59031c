"""``Automations``: CRUD, manual and webhook runs, and the scheduler's fires.

A run of an automation is an ordinary run (the ``workflow_executions`` table) with its
``automation_id``, a trigger (``cron``, ``webhook``, ``manual``) and the trigger's data merged
into the workflow's ``initialState`` under ``trigger`` (and ``webhook`` for a webhook). A
notebook automation runs a one-step workflow with the ``notebook`` node.

A fire (one cron tick) is written in one transaction with its run (``FireStore.claim``): the
server that wins the tick's unique insert runs it, every other server does nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, Final

from ..engine import EngineLimits, Event, EventBus, NodeRegistry, Workflow, copy_json
from ..errors import (
    BadRequestError,
    RecordNotFoundError,
    UnknownWebhookError,
    WorkflowValidationError,
)
from ..scheduler.core import Tick
from ..scheduler.cron import CronSchedule
from ..store.base import Store
from ..store.records import (
    Automation,
    ExecutionRecord,
    FireClaim,
    Page,
    ScheduleFire,
    Scope,
    WorkflowRecord,
    new_ordered_id,
    utcnow,
)
from .automation_input import automation_fields
from .cache import ReadCache
from .common import check_limit, optional_str, store_call
from .owners import OwnerCallers
from .parsed_workflows import ParsedWorkflows
from .run_queue import RunQueue
from .run_writes import RunWrites
from .values import Caller

__all__ = ["Automations", "hash_webhook_token", "next_run_for", "retry_delay"]

_WEBHOOK_HEADERS: Final = ("content-type", "user-agent", "x-request-id", "x-github-event")
WEBHOOK_PREFIX: Final = "/workscript/hooks/"


def hash_webhook_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_webhook_token() -> tuple[str, str]:
    token = "wkh_" + secrets.token_urlsafe(32)
    return token, hash_webhook_token(token)


def next_run_for(fields: Mapping[str, Any], after: datetime) -> datetime | None:
    """When an enabled cron automation (its store fields) fires next after ``after``."""
    expression = fields.get("cron_expression")
    if fields.get("trigger_type") != "cron" or not expression or not fields.get("enabled", True):
        return None
    return CronSchedule.parse(expression, fields.get("timezone") or "UTC").next_after(after)


class Automations:
    """The automation use cases: CRUD, manual and webhook runs, and the scheduler's fires."""

    def __init__(
        self,
        store: Store,
        registry: NodeRegistry,
        *,
        engine_limits: EngineLimits,
        bus: EventBus,
        queue: RunQueue,
        owners: OwnerCallers,
        workflow_cache: ReadCache[WorkflowRecord],
        writes: RunWrites,
        parsed: ParsedWorkflows | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.engine_limits = engine_limits
        self.bus = bus
        self._queue = queue
        self._owners = owners
        self._writes = writes  # a manual or webhook run's insert, grouped with others
        # a webhook called a hundred times a second parses its workflow once per version
        self._parsed = parsed or ParsedWorkflows(registry, engine_limits)
        self._workflow_cache = workflow_cache  # shared with Workflows, which keeps it exact
        # the scheduler's reload, called after every change (set by the composition root)
        self.on_changed: Callable[[], None] | None = None

    # -- CRUD ---------------------------------------------------------------------------------

    async def create_automation(self, caller: Caller, body: Any) -> tuple[Automation, str | None]:
        """The new automation and, for a webhook, its token (shown this once, stored hashed)."""
        fields = automation_fields(body, creating=True)
        await self._check_target(caller, fields)
        token: str | None = None
        if fields["trigger_type"] == "webhook":
            token, fields["webhook_token_hash"] = _new_webhook_token()
        fields["next_run_at"] = next_run_for(fields, utcnow())
        name, trigger_type = fields.pop("name"), fields.pop("trigger_type")
        record = await store_call(
            self.store.automations.create,
            caller.scope,
            name=name,
            trigger_type=trigger_type,
            **fields,
        )
        self._changed()
        return record, token

    async def get_automation(self, caller: Caller, automation_id: str) -> Automation:
        return await store_call(self.store.automations.get, caller.scope, _id(automation_id))

    async def list_automations(
        self,
        caller: Caller,
        *,
        enabled: bool | None = None,
        trigger_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        return await store_call(
            self.store.automations.list,
            caller.scope,
            enabled=enabled,
            trigger_type=optional_str("triggerType", trigger_type),
            limit=check_limit(limit),
            cursor=optional_str("cursor", cursor),
        )

    async def update_automation(
        self, caller: Caller, automation_id: str, body: Any
    ) -> tuple[Automation, str | None]:
        """Only the fields given change; the next run is recomputed from now."""
        current = await self.get_automation(caller, automation_id)
        fields = automation_fields(body, creating=False, current=_fields_of(current))
        await self._check_target(caller, fields)
        token: str | None = None
        trigger_type = fields.get("trigger_type", current.trigger_type)
        if trigger_type == "webhook" and current.webhook_token_hash is None:
            token, fields["webhook_token_hash"] = _new_webhook_token()
        elif trigger_type != "webhook":
            fields["webhook_token_hash"] = None
        fields["next_run_at"] = next_run_for({**_fields_of(current), **fields}, utcnow())
        record = await store_call(self.store.automations.update, caller.scope, current.id, **fields)
        self._changed()
        return record, token

    async def toggle_automation(
        self, caller: Caller, automation_id: str, enabled: bool | None = None
    ) -> Automation:
        """``enabled`` given: set it; else flip it. Enabling schedules from now on."""
        current = await self.get_automation(caller, automation_id)
        if enabled is not None and not isinstance(enabled, bool):
            raise BadRequestError(
                f"enabled must be true or false, not {enabled!r}",
                details=[{"field": "enabled", "message": "a boolean"}],
            )
        value = (not current.enabled) if enabled is None else enabled
        nxt = next_run_for({**_fields_of(current), "enabled": value}, utcnow())
        record = await store_call(
            self.store.automations.update, caller.scope, current.id, enabled=value, next_run_at=nxt
        )
        self._changed()
        return record

    async def delete_automation(self, caller: Caller, automation_id: str) -> None:
        await store_call(self.store.automations.delete, caller.scope, _id(automation_id))
        self._changed()

    async def rotate_webhook_token(
        self, caller: Caller, automation_id: str
    ) -> tuple[Automation, str]:
        current = await self.get_automation(caller, automation_id)
        if current.trigger_type != "webhook":
            raise BadRequestError(
                "only a webhook automation has a token",
                details=[{"field": "triggerType", "message": f"is {current.trigger_type}"}],
            )
        token, token_hash = _new_webhook_token()
        record = await store_call(
            self.store.automations.update, caller.scope, current.id, webhook_token_hash=token_hash
        )
        return record, token

    # -- runs ---------------------------------------------------------------------------------

    async def execute_automation(self, caller: Caller, automation_id: str) -> ExecutionRecord:
        """A manual run now, whatever the trigger and even if disabled."""
        automation = await self.get_automation(caller, automation_id)
        trigger = {"type": "manual", "by": caller.user.username}
        record, workflow = await self._build_run(automation, "manual", trigger, {})
        await self._store_run(automation, record)
        self._queue.submit_automation_run(caller, automation, record, workflow=workflow)
        return record

    async def trigger_webhook(
        self, token: str, body: Any, headers: Mapping[str, str]
    ) -> ExecutionRecord:
        """A run of the webhook automation whose token this is. Unknown, disabled or not a
        webhook: RecordNotFoundError, whichever it was (nothing is revealed)."""
        token_hash = hash_webhook_token(token)
        automation = await store_call(self.store.automations.find_by_webhook_hash, token_hash)
        stored = automation.webhook_token_hash if automation is not None else None
        if (
            automation is None
            or stored is None
            or not hmac.compare_digest(stored, token_hash)
            or not automation.enabled
            or automation.trigger_type != "webhook"
        ):
            raise UnknownWebhookError
        received = utcnow()
        selected = {k.lower(): v for k, v in headers.items() if k.lower() in _WEBHOOK_HEADERS}
        trigger = {"type": "webhook", "receivedAt": received.isoformat()}
        extra = {"webhook": {"body": body, "headers": selected}}
        record, workflow = await self._build_run(automation, "webhook", trigger, extra)
        await self._store_run(automation, record)
        caller = await self._owners.caller(automation.owner_id)
        self._queue.submit_automation_run(caller, automation, record, workflow=workflow)
        return record

    async def fire(self, ticks: Sequence[Tick]) -> list[ScheduleFire | None]:
        """Claim these ticks (a scheduler pass) with their runs, in one batch, and queue the
        runs won; for each tick its fire, or None when another server claimed it first.

        The overlap policy ``skip`` records a tick skipped while a run of its automation is
        queued or running. A tick ``catching_up`` (a further tick of the same pass, missed
        ticks run by ``run_all``) is not judged again, and unless the policy is ``allow`` its
        run waits for the one before."""
        judged = [t.automation.id for t in ticks if _judge_overlap(t)]
        busy = await store_call(self.store.executions.active_for_automations, judged)
        claims: list[FireClaim] = []
        parsed: dict[str, Workflow] = {}  # run id -> its workflow, for the executor
        for tick in ticks:
            automation, when = tick.automation, tick.scheduled_for
            if _judge_overlap(tick) and automation.id in busy:
                reason = f"overlap: run {busy[automation.id]} has not ended"
                claims.append(FireClaim(automation.id, when, outcome="skipped", reason=reason))
                continue
            trigger = {"type": "cron", "scheduledFor": when.isoformat()}
            try:
                record, parsed_workflow = await self._build_run(automation, "cron", trigger, {})
            except (RecordNotFoundError, WorkflowValidationError) as error:
                claims.append(FireClaim(automation.id, when, outcome="failed", reason=str(error)))
                continue
            parsed[record.id] = parsed_workflow
            claims.append(FireClaim(automation.id, when, outcome="fired", run=record))
        fires = await store_call(self.store.fires.claim_many, claims, self._queue.server_id)
        for tick, claim, fire in zip(ticks, claims, fires, strict=True):
            if fire is None:
                continue
            self._announce(tick.automation, fire)
            if claim.run is not None:
                owner = await self._owners.caller(tick.automation.owner_id)
                self._queue.submit_automation_run(
                    owner,
                    tick.automation,
                    claim.run,
                    serial=tick.catching_up,
                    workflow=parsed.get(claim.run.id),
                )
        return fires

    def _announce(self, automation: Automation, fire: ScheduleFire) -> None:
        """``automation:fired`` on the bus (built only when somebody listens)."""
        if not self.bus:
            return
        payload = {
            "automationId": automation.id,
            "automationName": automation.name,
            "scheduledFor": fire.scheduled_for.isoformat(),
            "outcome": fire.outcome,
            "reason": fire.reason,
            "ownerId": automation.owner_id,
        }
        workflow_id = automation.workflow_id or f"automation-{automation.id}"
        execution_id = fire.execution_id or ""
        self.bus.publish(Event("automation:fired", execution_id, workflow_id, payload))

    async def _store_run(self, automation: Automation, record: ExecutionRecord) -> None:
        """A manual or webhook run: stored, and it is the automation's last run."""
        # with the other runs of this moment, and the automation's last_run_at (run_writes.py)
        await self._writes.insert(record, automation_id=automation.id)

    async def _build_run(
        self,
        automation: Automation,
        trigger_type: str,
        trigger: dict[str, Any],
        extra_state: dict[str, Any],
    ) -> tuple[ExecutionRecord, Workflow]:
        """The queued run of ``automation`` (not stored yet), claimed by this server, and its
        parsed workflow (handed to the executor: parsed once)."""
        definition, version = await self._definition_of(automation)
        workflow = await self._parsed.parse(definition, version)
        state = copy_json(dict(workflow.initial_state))
        trigger = {**trigger, "automationId": automation.id, "automationName": automation.name}
        state["trigger"] = trigger
        state.update(copy_json(extra_state))
        data: dict[str, Any] = {"definition": definition, "automationId": automation.id}
        if "scheduledFor" in trigger:
            data["scheduledFor"] = trigger["scheduledFor"]
        record = ExecutionRecord(
            id=new_ordered_id(),  # time-ordered: appended at the index's edge
            owner_id=automation.owner_id,
            status="queued",
            trigger=trigger_type,
            workflow_id=automation.workflow_id,
            automation_id=automation.id,
            initial_state=state,
            trigger_data=data,
            claimed_by=self._queue.claimed_by,
            created_at=utcnow(),
        )
        return record, workflow

    async def _definition_of(
        self, automation: Automation
    ) -> tuple[dict[str, Any], tuple[str, datetime, float | None] | None]:
        """The definition a run of ``automation`` runs, and what identifies its version (the
        saved workflow's id and update time, the automation's timeout), None for a notebook."""
        version: tuple[str, datetime, float | None] | None = None
        if automation.workflow_id is not None:
            owner = Scope(automation.owner_id, is_admin=False)
            cached = self._workflow_cache.get(automation.workflow_id, owner)
            if cached is None:
                cached = await store_call(self.store.workflows.get, owner, automation.workflow_id)
                self._workflow_cache.put(cached.id, cached.owner_id, cached)
            definition: dict[str, Any] = dict(cached.definition)
            version = (cached.id, cached.updated_at, automation.timeout_seconds)
        else:
            notebook = {"path": automation.notebook_path, "parameters": automation.parameters}
            step = {"notebook": notebook}
            definition = {
                "id": f"automation-{automation.id}",
                "name": automation.name,
                "version": "1.0.0",
                "workflow": [step],
                "onUnhandledError": "fail",  # a missing or failing notebook fails the run
            }
        if automation.timeout_seconds:
            definition["timeoutSeconds"] = automation.timeout_seconds
        return definition, version

    async def _check_target(self, caller: Caller, fields: dict[str, Any]) -> None:
        """The workflow exists; a definition id given is bound to its record id."""
        workflow_id = fields.get("workflow_id")
        if workflow_id is None:
            return
        try:
            saved = await store_call(self.store.workflows.get, caller.scope, workflow_id)
            fields["workflow_id"] = saved.id
        except RecordNotFoundError:
            raise BadRequestError(
                f"invalid automation: workflowId: no workflow {workflow_id!r}",
                details=[{"field": "workflowId", "message": "no such workflow"}],
            ) from None

    def _changed(self) -> None:
        if self.on_changed is not None:
            self.on_changed()


def _judge_overlap(tick: Tick) -> bool:
    return tick.automation.overlap_policy == "skip" and not tick.catching_up


def _id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"an id must be a non-empty string, not {value!r}")
    return value


def _fields_of(automation: Automation) -> dict[str, Any]:
    return asdict(automation)


def retry_delay(automation: Automation, attempt: int) -> timedelta:
    """The pause before retry number ``attempt`` (1, 2, ...): delay * backoff^(attempt-1)."""
    seconds = automation.retry_delay_seconds * automation.retry_backoff ** max(attempt - 1, 0)
    return timedelta(seconds=min(seconds, 7 * 86400))
