"""Calendar v3 of the Google API stand-in: events list / insert / patch / delete and freebusy.

Events are kept per calendar id ("primary" included); times are RFC 3339 ``dateTime`` (all-day
``date`` events are kept but not counted as busy)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .google_apis import ApiHandler

CALENDAR_SCOPES = ("https://www.googleapis.com/auth/calendar",)
EVENTS = r"/calendar/v3/calendars/([^/]+)/events"


def _when(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _span(event: dict[str, Any]) -> tuple[datetime, datetime] | None:
    start = _when(str(event.get("start", {}).get("dateTime", "")))
    end = _when(str(event.get("end", {}).get("dateTime", "")))
    return (start, end) if start and end else None


class _CalendarHandler(ApiHandler):
    scope_prefixes = CALENDAR_SCOPES

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
        span = _span(event)
        if span is not None and span[1] < span[0]:
            self.fail(400, "timeRangeEmpty", "The specified time range is empty.")
            return False
        return True


class _Events(_CalendarHandler):
    def get(self, calendar_id: str) -> None:
        low = _when(self.get_argument("timeMin", ""))
        high = _when(self.get_argument("timeMax", ""))
        items = []
        for event in self.calendar(calendar_id).values():
            span = _span(event)
            if span and ((low and span[1] <= low) or (high and span[0] >= high)):
                continue
            items.append(event)
        items.sort(
            key=lambda e: str(e.get("start", {}).get("dateTime") or e.get("start", {}).get("date"))
        )
        chunk, next_token = self.page(items, "maxResults", 250)
        answer: dict[str, Any] = {"kind": "calendar#events", "summary": calendar_id, "items": chunk}
        if next_token:
            answer["nextPageToken"] = next_token
        self.finish(answer)

    def post(self, calendar_id: str) -> None:
        if (body := self.json_body()) is None or not self.times_ok(body):
            return
        event_id = self.stand_in.new_id()
        event = {
            **body,
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "organizer": {"email": self.stand_in.email, "self": True},
        }
        self.calendar(calendar_id)[event_id] = event
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
        merged = {**found, **{k: v for k, v in body.items() if k not in ("id", "kind")}}
        if not self.times_ok(merged):
            return
        found.update(merged)
        self.finish(found)

    def delete(self, calendar_id: str, event_id: str) -> None:
        if self.event(calendar_id, event_id) is not None:
            del self.calendar(calendar_id)[event_id]
            self.set_status(204)
            self.finish()


class _FreeBusy(_CalendarHandler):
    def post(self) -> None:
        if (body := self.json_body()) is None:
            return
        low, high = _when(str(body.get("timeMin", ""))), _when(str(body.get("timeMax", "")))
        if low is None or high is None:
            self.fail(400, "required", "Missing timeMin or timeMax.")
            return
        calendars: dict[str, Any] = {}
        for item in body.get("items", []):
            calendar_id = str(item.get("id", ""))
            busy = []
            for event in self.stand_in.events.get(calendar_id, {}).values():
                span = _span(event)
                if (
                    span
                    and span[0] < high
                    and span[1] > low
                    and event.get("transparency") != "transparent"
                ):
                    busy.append(
                        {"start": event["start"]["dateTime"], "end": event["end"]["dateTime"]}
                    )
            calendars[calendar_id] = {"busy": sorted(busy, key=lambda b: b["start"])}
        self.finish(
            {
                "kind": "calendar#freeBusy",
                "timeMin": body["timeMin"],
                "timeMax": body["timeMax"],
                "calendars": calendars,
            }
        )


calendar_routes: list[tuple[str, type[ApiHandler]]] = [
    (EVENTS, _Events),
    (EVENTS + r"/([^/]+)", _Event),
    (r"/calendar/v3/freeBusy", _FreeBusy),
]
