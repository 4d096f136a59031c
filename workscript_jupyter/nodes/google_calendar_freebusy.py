"""freeBusy: when Google calendars are busy in a window of time, as one of the run owner's
Google connections (scope calendar.readonly or calendar).

It answers with every calendar's busy intervals and ``isFree``; a workflow that branches on it
sets ``branch`` and gets the ``free`` or ``busy`` edge instead of ``success``. A calendar Google
could not read (one it does not know, too many asked for) is a failure, never "free": an
unknown one takes ``not_found``. Lives apart from the event nodes (google_calendar.py, which
re-exports it) since it shares only the parameter checks with them.
"""

from __future__ import annotations

from typing import Any

from ..engine import Edge, Node, NodeContext, ParamSpec
from ..errors import GoogleError
from .google_calendar_params import (
    MAX_CALENDARS,
    READ_SCOPES,
    calendar_ids,
    query_time,
    time_zone,
)
from .google_common import CALENDAR, call_google, failure_edge, google_metadata
from .google_params import flag, refused
from .google_requests import execute

__all__ = ["FreeBusyNode"]


def _query_free_busy(service: Any, body: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Each calendar's busy intervals; a calendar Google could not read is a GoogleError
    (not_found for an unknown one): its time must not pass for free."""
    answer = execute(service.freebusy().query(body=body))
    found: dict[str, list[dict[str, str]]] = {}
    for item in body["items"]:
        calendar = (answer.get("calendars") or {}).get(item["id"]) or {}
        errors = [e.get("reason") for e in calendar.get("errors") or [] if isinstance(e, dict)]
        if errors:
            raise GoogleError(
                f'Google could not read the free/busy times of calendar "{item["id"]}": '
                f"{', '.join(map(str, errors))}",
                code="NOT_FOUND" if "notFound" in errors else "GOOGLE_ERROR",
                reason=str(errors[0]),
            )
        found[item["id"]] = [
            {"start": str(b.get("start")), "end": str(b.get("end"))}
            for b in calendar.get("busy") or []
        ]
    return found


class FreeBusyNode(Node):
    metadata = google_metadata(
        id="freeBusy",
        name="Calendar Free/Busy",
        description=(
            "Asks Google Calendar (scope calendar.readonly or calendar) when calendars are "
            f"busy between timeMin and timeMax (ISO 8601; no offset means UTC), up to "
            f"{MAX_CALENDARS} calendars. Sets freeBusy ({{calendarId: [{{start, end}}]}}) and "
            "isFree (no busy interval at all). Takes success, or with branch true the free or "
            "busy edge; a calendar Google does not know takes not_found."
        ),
        inputs=(
            ParamSpec("timeMin", "string", "start of the window (ISO 8601)", True),
            ParamSpec("timeMax", "string", "end of the window (ISO 8601), after timeMin", True),
            ParamSpec(
                "calendars",
                "string[]|string",
                f"calendar ids (a list or comma string, up to {MAX_CALENDARS})",
                False,
                ["primary"],
            ),
            ParamSpec("timeZone", "string", "IANA time zone of the answer's times (default UTC)"),
            ParamSpec(
                "branch", "boolean", "take the free or busy edge instead of success", False, False
            ),
        ),
        outputs=("freeBusy", "isFree"),
        edges=("free", "busy"),
        example={
            "timeMin": "2025-03-03T09:00:00Z",
            "timeMax": "2025-03-03T10:00:00Z",
            "branch": True,
            "free?": "log",
            "busy?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            low = query_time(params, "timeMin", required=True)
            high = query_time(params, "timeMax", required=True)
            if low is None or high is None or high <= low:
                raise refused("timeMax", "must be after timeMin")
            branch = flag(params, "branch", False)
            body: dict[str, Any] = {
                "timeMin": low.isoformat(),
                "timeMax": high.isoformat(),
                "items": [{"id": c} for c in calendar_ids(params, "calendars", many=True)],
            }
            zone = time_zone(params)
            if zone is not None:
                body["timeZone"] = zone
            busy = await call_google(
                ctx, params, CALENDAR, lambda service: _query_free_busy(service, body), READ_SCOPES
            )
        except GoogleError as error:
            return failure_edge(error)
        is_free = not any(busy.values())
        ctx.state["freeBusy"] = busy
        ctx.state["isFree"] = is_free
        name = ("free" if is_free else "busy") if branch else "success"
        return Edge(name, {"freeBusy": busy, "isFree": is_free})
