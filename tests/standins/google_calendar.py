"""Calendar v3 of the Google API stand-in: events list / get / insert / patch / delete and
freebusy, answering as Google does.

- Events are kept per calendar id ("primary" included), as Google returns them (``id``,
  ``status``, ``htmlLink``, ``created``, ``updated``, ``organizer``, attendees with their
  ``responseStatus``...). The stand-in's calendars are in UTC: an all-day event (``date``)
  lasts from midnight to midnight UTC, its end date exclusive.
- ``events.list``: ``timeMin`` (an event's end after it) and ``timeMax`` (its start before it)
  must carry an offset (400 otherwise); ``q`` matches summary, description, location and the
  attendees' and organizer's emails and names; ``orderBy=startTime`` needs ``singleEvents``;
  ``maxResults`` / ``pageToken`` / ``nextPageToken`` page; cancelled events only with
  ``showDeleted``.
- ``insert`` / ``patch`` check the times as Google does (both ``date`` or both ``dateTime``, a
  ``dateTime`` without an offset needs ``timeZone``, the range not empty); ``patch`` merges
  objects and replaces arrays, a ``null`` clearing a field. ``delete`` cancels the event: a
  second delete answers 410 ``deleted``.
- Writing needs the ``calendar`` (or ``calendar.events``) scope: ``calendar.readonly`` gets
  Google's 403 ``insufficientPermissions``.
- ``freeBusy``: the busy intervals of opaque events (all-day ones too) overlapping the window,
  merged, in UTC; an unknown calendar gets its ``errors: [{reason: notFound}]``.
- ``updates_sent(stand_in)``: the guest notifications Google would have sent
  (``(method, eventId, sendUpdates)`` for each write that asked for any).
"""

from __future__ import annotations

import weakref
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .google_apis import ApiHandler, GoogleApisStandIn

__all__ = ["calendar_routes", "updates_sent"]

CALENDAR_SCOPES = ("https://www.googleapis.com/auth/calendar",)
WRITE_SCOPES = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.events",
)
EVENTS = r"/calendar/v3/calendars/([^/]+)/events"
MAX_FREEBUSY_CALENDARS = 50

_UPDATES: weakref.WeakKeyDictionary[GoogleApisStandIn, list[tuple[str, str, str]]] = (
    weakref.WeakKeyDictionary()
)


def updates_sent(stand_in: GoogleApisStandIn) -> list[tuple[str, str, str]]:
    """``(method, eventId, sendUpdates)`` of each write that asked Google to notify guests."""
    return _UPDATES.setdefault(stand_in, [])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rfc3339(value: str) -> datetime | None:
    """A query's time: RFC 3339 with its offset (Google refuses one without)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _instant(when: Any) -> datetime | None:
    """An event's start or end as an aware instant (``date``: midnight UTC)."""
    if not isinstance(when, dict):
        return None
    if when.get("date"):
        try:
            return datetime.combine(date.fromisoformat(str(when["date"])), time(), UTC)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(str(when.get("dateTime", "")))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        try:
            parsed = parsed.replace(tzinfo=ZoneInfo(str(when.get("timeZone", ""))))
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return parsed


def _span(event: dict[str, Any]) -> tuple[datetime, datetime] | None:
    start, end = _instant(event.get("start")), _instant(event.get("end"))
    return (start, end) if start and end else None


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Google's patch: objects merged, arrays and scalars replaced, ``null`` clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _matches(event: dict[str, Any], terms: list[str]) -> bool:
    people = [*event.get("attendees", []), event.get("organizer", {})]
    haystack = " ".join(
        [str(event.get(k, "")) for k in ("summary", "description", "location")]
        + [f"{p.get('email', '')} {p.get('displayName', '')}" for p in people]
    ).lower()
    return all(term in haystack for term in terms)


class _CalendarHandler(ApiHandler):
    scope_prefixes = CALENDAR_SCOPES
    writes = True  # a POST here changes the calendar (freeBusy's POST does not)

    def prepare(self) -> None:
        super().prepare()
        if self._finished or self.request.method == "GET" or not self.writes:
            return
        header = self.request.headers.get("Authorization", "")
        scopes = self.stand_in.scopes_of(header.removeprefix("Bearer ")) or ()
        if not set(scopes) & set(WRITE_SCOPES):
            self.fail(
                403, "insufficientPermissions", "Request had insufficient authentication scopes."
            )

    def calendar(self, calendar_id: str) -> dict[str, dict[str, Any]]:
        return self.stand_in.events.setdefault(calendar_id, {})

    def event(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        found = self.calendar(calendar_id).get(event_id)
        if found is None:
            self.fail(404, "notFound", "Not Found")
        return found

    def times_ok(self, event: dict[str, Any]) -> bool:
        if "start" not in event or "end" not in event:
            self.fail(
                400, "required", "Missing end time." if "start" in event else "Missing start time."
            )
            return False
        for side in ("start", "end"):
            when = event[side]
            if not isinstance(when, dict) or not (when.get("date") or when.get("dateTime")):
                self.fail(400, "required", f"Missing {side} time.")
                return False
            if _instant(when) is None:
                missing_zone = when.get("dateTime") and not when.get("timeZone")
                self.fail(
                    400,
                    "required" if missing_zone else "invalid",
                    f"Missing time zone definition for {side} time."
                    if missing_zone
                    else f"Invalid {side} time.",
                )
                return False
        if bool(event["start"].get("date")) != bool(event["end"].get("date")):
            self.fail(
                400, "invalid", "Start and end times must either both be date or both be dateTime."
            )
            return False
        span = _span(event)
        if span is not None and span[1] <= span[0]:
            self.fail(400, "timeRangeEmpty", "The specified time range is empty.")
            return False
        return True

    def note_updates(self, event_id: str) -> None:
        wanted = self.get_argument("sendUpdates", "")
        if wanted and wanted != "none":
            updates_sent(self.stand_in).append((self.request.method or "", event_id, wanted))


class _Events(_CalendarHandler):
    def get(self, calendar_id: str) -> None:
        bounds = []
        for name in ("timeMin", "timeMax"):
            raw = self.get_argument(name, "")
            bound = _rfc3339(raw) if raw else None
            if raw and bound is None:
                self.fail(400, "badRequest", "Bad Request")
                return
            bounds.append(bound)
        low, high = bounds
        if low and high and high <= low:
            self.fail(400, "timeRangeEmpty", "The specified time range is empty.")
            return
        order = self.get_argument("orderBy", "")
        single = self.get_argument("singleEvents", "false") == "true"
        if order == "startTime" and not single:
            message = "The requested ordering is not available for the particular query."
            self.fail(400, "badRequest", message)
            return
        if not self.get_argument("pageToken", "0").isdigit():
            self.fail(400, "invalid", "Invalid Value")
            return
        terms = self.get_argument("q", "").lower().split()
        deleted = self.get_argument("showDeleted", "false") == "true"
        items = []
        for event in self.calendar(calendar_id).values():
            span = _span(event)
            if span and ((low and span[1] <= low) or (high and span[0] >= high)):
                continue
            if (event.get("status") == "cancelled" and not deleted) or not _matches(event, terms):
                continue
            items.append(event)
        if order == "updated":
            items.sort(key=lambda e: str(e.get("updated", "")))
        else:
            items.sort(key=lambda e: (_span(e) or (datetime.max.replace(tzinfo=UTC),))[0])
        chunk, next_token = self.page(items, "maxResults", 250)
        answer: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": calendar_id,
            "updated": _now(),
            "timeZone": "UTC",
            "accessRole": "owner",
            "defaultReminders": [],
            "items": chunk,
        }
        if next_token:
            answer["nextPageToken"] = next_token
        self.finish(answer)

    def post(self, calendar_id: str) -> None:
        if (body := self.json_body()) is None or not self.times_ok(body):
            return
        event_id = self.stand_in.new_id()
        stamp = _now()
        event = {
            **body,
            "kind": "calendar#event",
            "etag": f'"{event_id}0"',
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": stamp,
            "updated": stamp,
            "creator": {"email": self.stand_in.email, "self": True},
            "organizer": {"email": self.stand_in.email, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        if isinstance(body.get("attendees"), list):
            event["attendees"] = [{**a, "responseStatus": "needsAction"} for a in body["attendees"]]
        self.calendar(calendar_id)[event_id] = event
        self.note_updates(event_id)
        self.finish(event)


class _Event(_CalendarHandler):
    def get(self, calendar_id: str, event_id: str) -> None:
        if (found := self.event(calendar_id, event_id)) is not None:
            self.finish(found)

    def patch(self, calendar_id: str, event_id: str) -> None:
        if (body := self.json_body()) is None or (
            found := self.event(calendar_id, event_id)
        ) is None:
            return
        merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in found.items()}
        _merge(merged, {k: v for k, v in body.items() if k not in ("id", "kind")})
        if not self.times_ok(merged):
            return
        merged["updated"] = _now()
        merged["sequence"] = int(found.get("sequence", 0)) + 1
        found.clear()
        found.update(merged)
        self.note_updates(event_id)
        self.finish(found)

    def delete(self, calendar_id: str, event_id: str) -> None:
        if (found := self.event(calendar_id, event_id)) is None:
            return
        if found.get("status") == "cancelled":
            self.fail(410, "deleted", "Resource has been deleted")
            return
        found.update(status="cancelled", updated=_now())
        self.note_updates(event_id)
        self.set_status(204)
        self.finish()


class _FreeBusy(_CalendarHandler):
    writes = False

    def post(self) -> None:
        if (body := self.json_body()) is None:
            return
        low, high = _rfc3339(str(body.get("timeMin", ""))), _rfc3339(str(body.get("timeMax", "")))
        if low is None or high is None:
            self.fail(
                400,
                "required",
                "Missing timeMin or timeMax."
                if not (body.get("timeMin") and body.get("timeMax"))
                else "Bad Request",
            )
            return
        if high <= low:
            self.fail(400, "timeRangeEmpty", "The specified time range is empty.")
            return
        items = body.get("items", [])
        calendars: dict[str, Any] = {}
        for item in items if isinstance(items, list) else []:
            calendar_id = str(item.get("id", "")) if isinstance(item, dict) else ""
            calendars[calendar_id] = self.busy(calendar_id, low, high, len(items))
        self.finish(
            {
                "kind": "calendar#freeBusy",
                "timeMin": body["timeMin"],
                "timeMax": body["timeMax"],
                "calendars": calendars,
            }
        )

    def busy(self, calendar_id: str, low: datetime, high: datetime, count: int) -> dict[str, Any]:
        """One calendar's answer: its merged busy intervals, or its errors."""
        if count > MAX_FREEBUSY_CALENDARS:
            return {
                "busy": [],
                "errors": [{"domain": "global", "reason": "tooManyCalendarsRequested"}],
            }
        if calendar_id not in self.stand_in.events and calendar_id not in (
            "primary",
            self.stand_in.email,
        ):
            return {"busy": [], "errors": [{"domain": "global", "reason": "notFound"}]}
        spans = sorted(
            span
            for event in self.stand_in.events.get(calendar_id, {}).values()
            if (span := _span(event))
            and span[0] < high
            and span[1] > low
            and event.get("status") != "cancelled"
            and event.get("transparency", "opaque") != "transparent"
        )
        merged: list[list[datetime]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        utc = [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in merged]
        return {
            "busy": [
                {
                    "start": s.isoformat().replace("+00:00", "Z"),
                    "end": e.isoformat().replace("+00:00", "Z"),
                }
                for s, e in utc
            ]
        }


calendar_routes: list[tuple[str, type[ApiHandler]]] = [
    (EVENTS, _Events),
    (EVENTS + r"/([^/]+)", _Event),
    (r"/calendar/v3/freeBusy", _FreeBusy),
]
