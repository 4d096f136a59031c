"""Automation request bodies → store fields, with one clear error per mistake.

Two shapes are accepted. Ours (flat camelCase): ``name``, ``workflowId`` or ``notebookPath`` +
``parameters``, ``triggerType`` (``cron`` | ``webhook`` | ``manual``), ``cron`` and ``timezone``,
``enabled``, ``misfirePolicy`` (+ ``misfireGraceSeconds``), ``overlapPolicy``, ``retries``
(``{count, delaySeconds, backoff}``), ``timeoutSeconds``. The original's: ``triggerType``
``immediate`` (= manual) and ``triggerConfig.{cronExpression, timezone, webhookUrl}`` (the URL is
ignored: the server makes its own). Every field is optional on update; ``details`` names each
field that is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import BadRequestError, InvalidCronError
from ..scheduler.cron import CronSchedule

__all__ = [
    "MISFIRE_POLICIES",
    "OVERLAP_POLICIES",
    "TRIGGER_TYPES",
    "automation_fields",
]

TRIGGER_TYPES: Final = ("cron", "webhook", "manual")
MISFIRE_POLICIES: Final = ("skip", "run_once", "run_all")
OVERLAP_POLICIES: Final = ("skip", "queue", "allow")
_TRIGGER_ALIASES: Final = {"immediate": "manual"}
NAME_MAX: Final = 200
PATH_MAX: Final = 1024
_KNOWN: Final = frozenset(
    {
        "name", "workflowId", "notebookPath", "parameters", "triggerType", "cron",
        "cronExpression", "timezone", "triggerConfig", "enabled", "misfirePolicy",
        "misfireGraceSeconds", "overlapPolicy", "retries", "retryCount", "retryDelaySeconds",
        "retryBackoff", "timeoutSeconds", "description",  # description: the original's, unused
    }
)  # fmt: skip


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            head = "; ".join(f"{p['field']}: {p['message']}" for p in self.items[:3])
            more = f" (and {len(self.items) - 3} more)" if len(self.items) > 3 else ""
            raise BadRequestError(f"invalid automation: {head}{more}", details=self.items)


def _number(
    problems: _Problems,
    field: str,
    value: Any,
    low: float,
    high: float,
    *,
    integer: bool = False,
) -> float | int | None:
    ok = not isinstance(value, bool) and isinstance(value, int | float)
    if ok and integer and not float(value).is_integer():
        ok = False
    if not ok or not math.isfinite(value) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        problems.add(field, f"must be {kind} from {low:g} to {high:g}, not {value!r}")
        return None
    return int(value) if integer else float(value)


def _choice(problems: _Problems, field: str, value: Any, choices: tuple[str, ...]) -> str | None:
    if value not in choices:
        problems.add(field, f"must be one of {', '.join(choices)}, not {value!r}")
        return None
    return str(value)


def _notebook_path(problems: _Problems, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > PATH_MAX:
        problems.add("notebookPath", f"must be a path of 1 to {PATH_MAX} characters")
        return None
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        problems.add("notebookPath", "must be relative to the server's root, without '..'")
        return None
    if path.suffix != ".ipynb":
        problems.add("notebookPath", "must name a .ipynb notebook")
        return None
    return path.as_posix()


def _trigger_config(body: Mapping[str, Any], problems: _Problems) -> Mapping[str, Any]:
    config = body.get("triggerConfig")
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        problems.add("triggerConfig", "must be an object")
        return {}
    return config


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def automation_fields(
    body: Any, *, creating: bool, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The store fields of a create (``creating``) or an update body.

    ``current``: on update, the automation's fields as they are (so that a cron change is checked
    with the zone it will have). Target and trigger consistency is checked on the result.
    """
    if not isinstance(body, Mapping):
        raise BadRequestError(
            "the body must be a JSON object", details=[{"field": "", "message": "an object"}]
        )
    problems = _Problems()
    for key in body:
        if key not in _KNOWN:
            problems.add(str(key), "is not a field of an automation")
    fields: dict[str, Any] = {}
    config = _trigger_config(body, problems)

    if "name" in body or creating:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
            problems.add("name", f"must be a non-empty string of at most {NAME_MAX} characters")
        else:
            fields["name"] = name.strip()
    if body.get("workflowId") is not None:
        workflow_id = body["workflowId"]
        if not isinstance(workflow_id, str) or not workflow_id:
            problems.add("workflowId", "must be a workflow id")
        else:
            fields["workflow_id"] = workflow_id
            fields["notebook_path"] = None
    if body.get("notebookPath") is not None:
        path = _notebook_path(problems, body["notebookPath"])
        if path is not None:
            fields["notebook_path"] = path
            fields.setdefault("workflow_id", None)
    if body.get("workflowId") is not None and body.get("notebookPath") is not None:
        problems.add("workflowId", "give a workflowId or a notebookPath, not both")
    if "parameters" in body:
        parameters = body["parameters"]
        if parameters is not None and not isinstance(parameters, Mapping):
            problems.add("parameters", "must be an object")
        else:
            fields["parameters"] = dict(parameters or {})

    trigger = body.get("triggerType")
    if trigger is not None or creating:
        trigger = _TRIGGER_ALIASES.get(trigger, trigger) if isinstance(trigger, str) else trigger
        chosen = _choice(problems, "triggerType", trigger, TRIGGER_TYPES)
        if chosen is not None:
            fields["trigger_type"] = chosen
    expression = _first(body.get("cron"), body.get("cronExpression"), config.get("cronExpression"))
    zone = _first(body.get("timezone"), config.get("timezone"))
    if expression is not None:
        if not isinstance(expression, str):
            problems.add("cron", "must be a cron expression (a string)")
        else:
            fields["cron_expression"] = expression.strip()
    if zone is not None:
        if not isinstance(zone, str) or not zone or not _known_zone(zone):
            problems.add(
                "timezone", f"must be an IANA time zone name such as Europe/Paris, not {zone!r}"
            )
        else:
            fields["timezone"] = zone

    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            problems.add("enabled", f"must be true or false, not {body['enabled']!r}")
        else:
            fields["enabled"] = body["enabled"]
    if "misfirePolicy" in body:
        policy = _choice(problems, "misfirePolicy", body["misfirePolicy"], MISFIRE_POLICIES)
        if policy is not None:
            fields["misfire_policy"] = policy
    if "misfireGraceSeconds" in body:
        grace = _number(
            problems, "misfireGraceSeconds", body["misfireGraceSeconds"], 0, 30 * 86400,
            integer=True,
        )  # fmt: skip
        if grace is not None:
            fields["misfire_grace_seconds"] = grace
    if "overlapPolicy" in body:
        overlap = _choice(problems, "overlapPolicy", body["overlapPolicy"], OVERLAP_POLICIES)
        if overlap is not None:
            fields["overlap_policy"] = overlap
    _retries(body, problems, fields)
    if "timeoutSeconds" in body:
        if body["timeoutSeconds"] is None:
            fields["timeout_seconds"] = None
        else:
            timeout = _number(problems, "timeoutSeconds", body["timeoutSeconds"], 0.001, 7 * 86400)
            if timeout is not None:
                fields["timeout_seconds"] = timeout

    merged = {**(current or {}), **fields}
    if creating and merged.get("workflow_id") is None and merged.get("notebook_path") is None:
        problems.add("workflowId", "an automation runs a workflowId or a notebookPath")
    if merged.get("trigger_type") == "cron":
        _check_cron(problems, merged)
    problems.raise_if_any()
    return fields


def _retries(body: Mapping[str, Any], problems: _Problems, fields: dict[str, Any]) -> None:
    retries = body.get("retries")
    if retries is not None and not isinstance(retries, Mapping):
        problems.add("retries", "must be an object {count, delaySeconds, backoff}")
        retries = None
    retries = retries or {}
    for field, nested, column, low, high, integer in (
        ("retryCount", "count", "retry_count", 0, 10, True),
        ("retryDelaySeconds", "delaySeconds", "retry_delay_seconds", 0, 86400, False),
        ("retryBackoff", "backoff", "retry_backoff", 1, 10, False),
    ):
        value = _first(body.get(field), retries.get(nested))
        if value is None:
            continue
        name = f"retries.{nested}" if nested in retries else field
        checked = _number(problems, name, value, low, high, integer=integer)
        if checked is not None:
            fields[column] = checked


def _check_cron(problems: _Problems, merged: Mapping[str, Any]) -> None:
    expression = merged.get("cron_expression")
    if not expression:
        problems.add("cron", "a cron automation needs a cron expression, e.g. '0 30 2 * * *'")
        return
    try:
        CronSchedule.parse(expression, merged.get("timezone") or "UTC")
    except InvalidCronError as error:
        part = error.details.get("field") if isinstance(error.details, dict) else None
        field = "timezone" if part == "timezone" else "cron"
        problems.add(field, error.message)
