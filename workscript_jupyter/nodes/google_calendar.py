"""listEvents, createEvent, updateEvent, deleteEvent, freeBusy: Google Calendar (v3) from a
workflow, as one of the run owner's Google connections (freeBusy lives in
google_calendar_freebusy.py and is re-exported here, where the catalogue looks for it).

The nodes reach Google only through the run's gateway (``google_common.call_google``): no
token is ever seen or stored. Parameters are checked before anything is sent
(``google_calendar_params``: times, attendees, limits), so a bad one is the ``error`` edge
naming it; Google's own refusals come back as the edges of ``failure_edge`` (``not_found``,
``permission_denied``, ``quota_exceeded``, else ``error``). Reading needs the
``calendar.readonly`` or ``calendar`` scope, writing ``calendar``.
"""

from __future__ import annotations

from typing import Any, Final

from ..engine import Edge, Node, NodeContext, ParamSpec
from ..errors import GoogleError
from .google_calendar_freebusy import FreeBusyNode
from .google_calendar_params import (
    MAX_ATTENDEES,
    MAX_RESULTS,
    ORDER_BY,
    READ_SCOPES,
    SEND_UPDATES,
    WRITE_SCOPES,
    calendar_ids,
    event_body,
    event_id,
    query_time,
    send_updates,
    simplify_event,
)
from .google_common import CALENDAR, call_google, failure_edge, google_metadata
from .google_params import flag, one_of, optional_string, refused, whole_number
from .google_requests import execute

__all__ = [
    "NODES",
    "CreateEventNode",
    "DeleteEventNode",
    "FreeBusyNode",
    "ListEventsNode",
    "UpdateEventNode",
]

DEFAULT_RESULTS: Final = 50

CALENDAR_PARAM: Final = ParamSpec(
    "calendarId", "string", 'the calendar: "primary" (yours) or a calendar\'s id', False, "primary"
)
SEND_UPDATES_PARAM: Final = ParamSpec(
    "sendUpdates",
    "string",
    "whom Google emails about the change (default: nobody)",
    False,
    None,
    SEND_UPDATES,
)
EVENT_ID_PARAM: Final = ParamSpec("eventId", "string", "the event's id (from listEvents)", True)


def _event_params(required: bool) -> tuple[ParamSpec, ...]:
    """The fields of an event, required for createEvent, all optional for updateEvent."""
    return (
        ParamSpec("summary", "string", "the event's title (up to 1024 characters)", required),
        ParamSpec(
            "start",
            "string",
            "ISO 8601 date-time (no offset: in timeZone, else UTC), or YYYY-MM-DD for an "
            "all-day event",
            required,
        ),
        ParamSpec(
            "end",
            "string",
            "after start, of the same kind (an all-day event's end date is exclusive)",
            required,
        ),
        ParamSpec("timeZone", "string", "IANA time zone of the event, e.g. Europe/Paris"),
        ParamSpec("description", "string", "the event's notes (up to 8192 characters)"),
        ParamSpec("location", "string", "where (up to 1024 characters)"),
        ParamSpec(
            "attendees",
            "string[]|string",
            f"guests' emails: a list or a comma-separated string (up to {MAX_ATTENDEES})",
        ),
    )


def _list_query(params: dict[str, Any]) -> dict[str, Any]:
    """The arguments of ``events.list``, checked."""
    low, high = query_time(params, "timeMin"), query_time(params, "timeMax")
    if low is not None and high is not None and high <= low:
        raise refused("timeMax", "must be after timeMin")
    single = flag(params, "singleEvents", True)
    order = one_of(params, "orderBy", ORDER_BY)
    if order == "startTime" and not single:
        raise refused("orderBy", 'can be "startTime" only with singleEvents true')
    query: dict[str, Any] = {
        "calendarId": _calendar_id(params),
        "maxResults": whole_number(params, "maxResults", DEFAULT_RESULTS, 1, MAX_RESULTS),
        "singleEvents": single,
    }
    optional = {
        "timeMin": low.isoformat() if low else None,
        "timeMax": high.isoformat() if high else None,
        "q": optional_string(params, "query", 1024),
        "pageToken": optional_string(params, "pageToken", 2048),
        "orderBy": order,
    }
    query.update({k: v for k, v in optional.items() if v is not None})
    return query


def _list_events(service: Any, query: dict[str, Any]) -> dict[str, Any]:
    answer = execute(service.events().list(**query))
    items = answer.get("items") or []
    return {
        "events": [simplify_event(item) for item in items],
        "nextPageToken": answer.get("nextPageToken"),
    }


class ListEventsNode(Node):
    metadata = google_metadata(
        id="listEvents",
        name="List Calendar Events",
        description=(
            "Lists events of a Google Calendar (scope calendar.readonly or calendar), between "
            "timeMin and timeMax (ISO 8601; no offset means UTC), matching query, a page of up "
            f"to {MAX_RESULTS}. Sets events (id, summary, description, location, start, end, "
            "allDay, attendees' emails, htmlLink, status), eventsNextPageToken (null on the "
            "last page: pass it as pageToken for the next) and eventsCount."
        ),
        inputs=(
            CALENDAR_PARAM,
            ParamSpec("timeMin", "string", "only events ending after this ISO 8601 time"),
            ParamSpec("timeMax", "string", "only events starting before this ISO 8601 time"),
            ParamSpec("query", "string", "free text matched against the events' fields"),
            ParamSpec("maxResults", "number", f"events per page, 1 to {MAX_RESULTS}", False, 50),
            ParamSpec("pageToken", "string", "the eventsNextPageToken of the previous page"),
            ParamSpec(
                "singleEvents", "boolean", "recurring events as their instances", False, True
            ),
            ParamSpec(
                "orderBy",
                "string",
                "startTime (needs singleEvents) or updated",
                False,
                None,
                ORDER_BY,
            ),
        ),
        outputs=("events", "eventsNextPageToken", "eventsCount"),
        edges=("no_results",),
        example={
            "timeMin": "2025-03-01T00:00:00Z",
            "timeMax": "2025-03-08T00:00:00Z",
            "orderBy": "startTime",
            "success?": {"$.agenda": "$.events"},
            "no_results?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            query = _list_query(params)
            found = await call_google(
                ctx, params, CALENDAR, lambda service: _list_events(service, query), READ_SCOPES
            )
        except GoogleError as error:
            return failure_edge(error)
        events = found["events"]
        ctx.state["events"] = events
        ctx.state["eventsNextPageToken"] = found["nextPageToken"]
        ctx.state["eventsCount"] = len(events)
        data = {
            "events": events,
            "count": len(events),
            "nextPageToken": found["nextPageToken"],
            "calendarId": query["calendarId"],
        }
        return Edge("success" if events else "no_results", data)


def _calendar_id(params: dict[str, Any]) -> str:
    return calendar_ids(params, "calendarId")[0]


async def _write_event(
    ctx: NodeContext, params: dict[str, Any], method: str, **arguments: Any
) -> dict[str, Any] | None:
    """``events.<method>(**arguments)`` (insert, patch or delete) with the step's
    ``sendUpdates``, as a write; the event Google answers, simplified (None for a delete)."""
    notify = send_updates(params)

    def operation(service: Any) -> dict[str, Any] | None:
        answer = execute(getattr(service.events(), method)(**arguments, **notify))
        return simplify_event(answer) if method != "delete" else None

    result: dict[str, Any] | None = await call_google(
        ctx, params, CALENDAR, operation, WRITE_SCOPES
    )
    return result


class CreateEventNode(Node):
    metadata = google_metadata(
        id="createEvent",
        name="Create Calendar Event",
        description=(
            "Creates an event in a Google Calendar (scope calendar): summary, start and end "
            "(date-times, or dates YYYY-MM-DD for an all-day event), with an optional time "
            f"zone, description, location and up to {MAX_ATTENDEES} attendees; sendUpdates "
            "says whom Google emails. Sets createdEvent (id, htmlLink, start, end...)."
        ),
        inputs=(CALENDAR_PARAM, *_event_params(True), SEND_UPDATES_PARAM),
        outputs=("createdEvent",),
        example={
            "summary": "Team sync",
            "start": "2025-03-03T10:00:00",
            "end": "2025-03-03T10:30:00",
            "timeZone": "Europe/Paris",
            "attendees": ["bob@example.org"],
            "sendUpdates": "all",
            "success?": {"$.meetingLink": "$.createdEvent.htmlLink"},
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            calendar_id = _calendar_id(params)
            body = event_body(params, patch=False)
            event = await _write_event(ctx, params, "insert", calendarId=calendar_id, body=body)
        except GoogleError as error:
            return failure_edge(error)
        ctx.state["createdEvent"] = event
        return Edge("success", {"event": event, "calendarId": calendar_id})


class UpdateEventNode(Node):
    metadata = google_metadata(
        id="updateEvent",
        name="Update Calendar Event",
        description=(
            "Changes an event of a Google Calendar (scope calendar): only the fields given "
            "(summary, start, end, timeZone, description, location, attendees: the new list); "
            "a step giving none is refused. A missing event takes not_found. Sets "
            "updatedEvent."
        ),
        inputs=(
            CALENDAR_PARAM,
            EVENT_ID_PARAM,
            *_event_params(False),
            SEND_UPDATES_PARAM,
        ),
        outputs=("updatedEvent",),
        example={
            "eventId": "abc123def456",
            "location": "Room 4",
            "success?": "log",
            "not_found?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            calendar_id = _calendar_id(params)
            target = event_id(params)
            body = event_body(params, patch=True)
            event = await _write_event(
                ctx, params, "patch", calendarId=calendar_id, eventId=target, body=body
            )
        except GoogleError as error:
            return failure_edge(error)
        ctx.state["updatedEvent"] = event
        return Edge("success", {"event": event, "calendarId": calendar_id})


class DeleteEventNode(Node):
    metadata = google_metadata(
        id="deleteEvent",
        name="Delete Calendar Event",
        description=(
            "Deletes (cancels) an event of a Google Calendar (scope calendar); sendUpdates "
            "says whom Google emails. A missing or already deleted event takes not_found. "
            "Sets deletedEventId."
        ),
        inputs=(CALENDAR_PARAM, EVENT_ID_PARAM, SEND_UPDATES_PARAM),
        outputs=("deletedEventId",),
        example={
            "eventId": "abc123def456",
            "sendUpdates": "all",
            "success?": "log",
            "not_found?": "log",
            "error?": "log",
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        try:
            calendar_id = _calendar_id(params)
            target = event_id(params)
            await _write_event(ctx, params, "delete", calendarId=calendar_id, eventId=target)
        except GoogleError as error:
            return failure_edge(error)
        ctx.state["deletedEventId"] = target
        return Edge("success", {"eventId": target, "calendarId": calendar_id})


NODES = (ListEventsNode, CreateEventNode, UpdateEventNode, DeleteEventNode, FreeBusyNode)
