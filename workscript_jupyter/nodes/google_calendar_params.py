"""The Calendar nodes' scopes and call to Calendar v3, their parameters (read and checked
before anything is sent to Google), and Google's events simplified for the state.

Every refusal is a ``bad_parameter`` GoogleError naming the parameter (the node's ``error``
edge). Times:

- a query's bound (``timeMin``, ``timeMax``) is an ISO 8601 date-time; one without an offset is
  taken as UTC, a bare date ``YYYY-MM-DD`` as its midnight UTC. Google needs RFC 3339 with an
  offset, which is what is sent.
- an event's ``start`` / ``end`` is a date-time (an event at a time) or a date ``YYYY-MM-DD``
  (an all-day event, its end date exclusive, as Google counts it). A date-time without an
  offset is in ``timeZone`` when given, else UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .google_common import bad_parameter
from .google_params import is_email, listed, missing, one_of, optional_string, refused, required_id
from .google_requests import GOOGLE_SCOPES

__all__ = [
    "EVENT_FIELDS",
    "MAX_ATTENDEES",
    "MAX_CALENDARS",
    "MAX_RESULTS",
    "ORDER_BY",
    "READ_SCOPES",
    "SEND_UPDATES",
    "WRITE_SCOPES",
    "calendar_ids",
    "event_body",
    "event_id",
    "query_time",
    "send_updates",
    "simplify_event",
    "time_zone",
]

READ_SCOPES: Final = (GOOGLE_SCOPES["calendar.readonly"], GOOGLE_SCOPES["calendar"])
WRITE_SCOPES: Final = (GOOGLE_SCOPES["calendar"],)
MAX_RESULTS: Final = 500
MAX_ATTENDEES: Final = 100
MAX_CALENDARS: Final = 50  # Google's own limit for one freeBusy query
SEND_UPDATES: Final = ("all", "externalOnly", "none")
ORDER_BY: Final = ("startTime", "updated")
# the fields of an event a createEvent / updateEvent step may set, and their length limits
EVENT_FIELDS: Final = (
    "summary",
    "start",
    "end",
    "timeZone",
    "description",
    "location",
    "attendees",
)
_TEXT_LIMITS: Final = {"summary": 1024, "description": 8192, "location": 1024}
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# Google's event ids are base32hex; a recurring event's instances add "_20240101T100000Z"
MAX_EVENT_ID: Final = 1024


def _calendar_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise bad_parameter(
            f'Parameter "{name}" must be a calendar id ("primary", or the calendar\'s email-like '
            "id), up to 255 characters"
        )
    return value.strip()


def calendar_ids(params: Mapping[str, Any], name: str, *, many: bool = False) -> list[str]:
    """``calendarId`` (default "primary"), or with ``many`` a list (or comma string) of them."""
    value = params.get(name)
    if value is None or value == "" or value == []:
        return ["primary"]
    if not many:
        return [_calendar_id(value, name)]
    items = listed(params, name, "calendar ids", MAX_CALENDARS)
    return list(dict.fromkeys(_calendar_id(item, name) for item in items)) or ["primary"]


def event_id(params: Mapping[str, Any]) -> str:
    return required_id(params, "eventId", "Calendar event", MAX_EVENT_ID, "the event's id")


def send_updates(params: Mapping[str, Any]) -> dict[str, str]:
    """``{"sendUpdates": ...}`` for the request when given (Google's default: nobody told)."""
    value = one_of(params, "sendUpdates", SEND_UPDATES)
    return {} if value is None else {"sendUpdates": value}


def time_zone(params: Mapping[str, Any]) -> str | None:
    """An IANA time zone name (``Europe/Paris``), or None when not given."""
    value = params.get("timeZone")
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str) or len(value) > 64:
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_parameter(
            'Parameter "timeZone" must be an IANA time zone name, e.g. "Europe/Paris" or "UTC"'
        ) from None
    return value


def _parse_time(value: Any, name: str) -> date | datetime:
    """A date (``YYYY-MM-DD``) or a date-time (naive when it has no offset)."""
    if isinstance(value, str) and len(value) <= 64:
        try:
            if _DATE.fullmatch(value.strip()):
                return date.fromisoformat(value.strip())
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise bad_parameter(
        f'Parameter "{name}" must be an ISO 8601 date-time (2025-03-01T09:30:00+01:00) '
        "or a date (2025-03-01)"
    )


def query_time(params: Mapping[str, Any], name: str, *, required: bool = False) -> datetime | None:
    """A query's bound as an aware date-time: no offset means UTC, a date its midnight UTC."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(name, "an ISO 8601 date-time")
        return None
    parsed = _parse_time(value, name)
    if not isinstance(parsed, datetime):
        return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _event_time(value: Any, name: str, zone: str | None) -> tuple[dict[str, Any], date | datetime]:
    """Google's ``start`` / ``end`` object for ``value``, and what to compare it by. The other
    kind's field is cleared (``None``): a patch turning an all-day event into a timed one."""
    parsed = _parse_time(value, name)
    if not isinstance(parsed, datetime):
        return {"date": parsed.isoformat(), "dateTime": None}, parsed
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone) if zone else UTC)
    when: dict[str, Any] = {"dateTime": parsed.isoformat(), "date": None}
    if zone:
        when["timeZone"] = zone
    return when, parsed


def _attendees(params: Mapping[str, Any]) -> list[dict[str, str]]:
    """A list (or comma-separated string) of emails, or of ``{"email": ...}`` objects."""
    emails: dict[str, str] = {}
    for item in listed(params, "attendees", "emails", MAX_ATTENDEES, separators=",;"):
        email = item.get("email") if isinstance(item, Mapping) else item
        if not isinstance(email, str) or not is_email(email.strip()):
            shown = email[:80] if isinstance(email, str) else type(email).__name__
            raise bad_parameter(f'Parameter "attendees": {shown!r} is not an email address')
        emails.setdefault(email.strip().lower(), email.strip())
    return [{"email": email} for email in emails.values()]


def event_body(params: Mapping[str, Any], *, patch: bool) -> dict[str, Any]:
    """The event resource to send: every field for ``events.insert`` (summary, start and end
    required), or only the fields given for ``events.patch`` (none given is refused)."""
    body: dict[str, Any] = {}
    for name, limit in _TEXT_LIMITS.items():
        text = optional_string(params, name, limit, keep_empty=True)
        if text is not None:
            body[name] = text
    if not patch and "summary" not in body:
        raise missing("summary", "the event's title")
    if not patch and not body["summary"].strip():
        raise refused("summary", "must not be blank: it is the event's title")
    zone = time_zone(params)
    times: dict[str, date | datetime] = {}
    for name in ("start", "end"):
        value = params.get(name)
        if value is None or value == "":
            if not patch:
                raise missing(name, "a date-time, or a date for an all-day event")
            continue
        body[name], times[name] = _event_time(value, name, zone)
    if len(times) == 2:
        _check_order(times["start"], times["end"])
    if zone is not None and patch:  # a new zone for an end not given: merged into it
        for name in ("start", "end"):
            if name not in times:
                body[name] = {"timeZone": zone}
    if params.get("attendees") is not None:
        body["attendees"] = _attendees(params)
    if patch and not body:
        raise bad_parameter(
            "Nothing to update: give at least one of the parameters " + ", ".join(EVENT_FIELDS)
        )
    if not patch:  # a new event: no other kind's field to clear
        for name in ("start", "end"):
            body[name] = {k: v for k, v in body[name].items() if v is not None}
    return body


def _check_order(start: date | datetime, end: date | datetime) -> None:
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise bad_parameter(
            'Parameters "start" and "end" must both be dates (an all-day event) or both date-times'
        )
    if end <= start:
        all_day = not isinstance(end, datetime)
        hint = " (an all-day event's end date is exclusive: the day after)" if all_day else ""
        raise bad_parameter(f'Parameter "end" must be after "start"{hint}')


def _when(value: Any) -> tuple[str | None, bool]:
    """An event's start or end as one string, and whether it is a date (all day)."""
    if not isinstance(value, Mapping):
        return None, False
    if value.get("date"):
        return str(value["date"]), True
    return (str(value["dateTime"]) if value.get("dateTime") else None), False


def simplify_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """What the state gets of one of Google's events."""
    start, all_day = _when(event.get("start"))
    end, _ = _when(event.get("end"))
    attendees = event.get("attendees")
    return {
        "id": event.get("id"),
        "summary": event.get("summary", ""),
        "description": event.get("description", ""),
        "location": event.get("location", ""),
        "start": start,
        "end": end,
        "allDay": all_day,
        "attendees": [a["email"] for a in attendees if isinstance(a, Mapping) and a.get("email")]
        if isinstance(attendees, list)
        else [],
        "htmlLink": event.get("htmlLink"),
        "status": event.get("status"),
    }
