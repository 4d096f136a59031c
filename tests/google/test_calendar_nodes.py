"""The Calendar nodes (listEvents, createEvent, updateEvent, deleteEvent, freeBusy) run through
the engine with the real gateway and google-api-python-client, against the Calendar v3
stand-in (tests/standins/google_calendar.py) and the OAuth stand-in's consent flow.

The stand-ins are module-scoped: each test writes to a calendar of its own (``calendar`` fixture,
a fresh id) so tests never see each other's events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.google.steps import step, taken
from tests.standins.google_apis import GoogleApisStandIn
from tests.standins.google_calendar import updates_sent
from workscript_jupyter.engine import RunResult

EDGES = ("success", "no_results", "free", "busy", "not_found", "permission_denied")
EDGES_AND_QUOTA = (*EDGES, "quota_exceeded")


@pytest.fixture
def run_node(
    run_google: Callable[..., RunResult], alice: Any
) -> Callable[..., tuple[str, Any, dict[str, Any]]]:
    """``run_node(node, params, edges=...)`` → (edge taken, its data, final state): each edge
    of ``edges`` (and ``error``) configured to record itself (``steps.step``)."""

    def _run(
        node: str, params: dict[str, Any], edges: tuple[str, ...] = EDGES_AND_QUOTA
    ) -> tuple[str, Any, dict[str, Any]]:
        result = run_google(alice, step(node, edges=(*edges, "error"), **params))
        assert result.status == "completed", result.error
        state = result.final_state
        assert "ya29." not in json.dumps(state, default=str), "a token reached the state"
        return (*taken(state), state)

    return _run


@pytest.fixture
def calendar() -> str:
    return f"team-{uuid.uuid4().hex[:12]}@group.calendar.google.com"


@pytest.fixture
def connected(connect: Callable[..., Any], alice: Any) -> Any:
    return connect(alice)


def seed(apis: GoogleApisStandIn, calendar: str, **events: dict[str, Any]) -> None:
    """Events straight into the stand-in's calendar, as Google keeps them."""
    stored = apis.events.setdefault(calendar, {})
    for event_id, fields in events.items():
        stored[event_id] = {"id": event_id, "status": "confirmed", **fields}


def timed(start: str, end: str, **more: Any) -> dict[str, Any]:
    return {"start": {"dateTime": start}, "end": {"dateTime": end}, **more}


# -- createEvent, updateEvent, deleteEvent ------------------------------------------------------


def test_create_update_delete_an_event(run_node, connected, calendar, google_apis):
    edge, data, state = run_node(
        "createEvent",
        {
            "calendarId": calendar,
            "summary": "Team sync",
            "start": "2025-03-03T10:00:00",
            "end": "2025-03-03T10:30:00",
            "timeZone": "Europe/Paris",
            "location": "Room 1",
            "attendees": "bob@example.org, Carol@Example.org,bob@example.org",
            "sendUpdates": "all",
        },
    )
    assert edge == "success", data
    created = state["createdEvent"]
    assert created["summary"] == "Team sync" and created["htmlLink"].startswith("https://")
    assert created["start"] == "2025-03-03T10:00:00+01:00" and not created["allDay"]
    assert created["attendees"] == ["bob@example.org", "Carol@Example.org"]  # deduplicated
    stored = google_apis.events[calendar][created["id"]]
    assert stored["start"] == {"dateTime": "2025-03-03T10:00:00+01:00", "timeZone": "Europe/Paris"}
    assert ("POST", created["id"], "all") in updates_sent(google_apis)

    edge, data, state = run_node(
        "updateEvent",
        {"calendarId": calendar, "eventId": created["id"], "location": "Room 4"},
    )
    assert edge == "success", data
    updated = state["updatedEvent"]
    assert updated["location"] == "Room 4"
    assert updated["summary"] == "Team sync" and updated["attendees"] == created["attendees"]

    edge, data, state = run_node(
        "deleteEvent",
        {"calendarId": calendar, "eventId": created["id"], "sendUpdates": "externalOnly"},
    )
    assert (edge, state["deletedEventId"]) == ("success", created["id"])
    assert google_apis.events[calendar][created["id"]]["status"] == "cancelled"
    assert ("DELETE", created["id"], "externalOnly") in updates_sent(google_apis)
    edge, data, _ = run_node("listEvents", {"calendarId": calendar})
    assert edge == "no_results", "a deleted event is not listed"


def test_an_all_day_event(run_node, connected, calendar, google_apis):
    edge, data, state = run_node(
        "createEvent",
        {"calendarId": calendar, "summary": "Offsite", "start": "2025-04-01", "end": "2025-04-03"},
    )
    assert edge == "success", data
    event = state["createdEvent"]
    assert (event["start"], event["end"], event["allDay"]) == ("2025-04-01", "2025-04-03", True)
    assert google_apis.events[calendar][event["id"]]["start"] == {"date": "2025-04-01"}

    edge, _, state = run_node("listEvents", {"calendarId": calendar, "timeMin": "2025-04-02"})
    assert edge == "success" and [e["id"] for e in state["events"]] == [event["id"]]
    edge, _, state = run_node(
        "freeBusy",
        {
            "calendars": [calendar],
            "timeMin": "2025-04-02T09:00:00Z",
            "timeMax": "2025-04-02T10:00Z",
        },
    )
    assert (edge, state["isFree"]) == ("success", False)
    assert state["freeBusy"][calendar] == [
        {"start": "2025-04-01T00:00:00Z", "end": "2025-04-03T00:00:00Z"}
    ]

    # an all-day event turned into a timed one: the patch clears its date
    edge, data, state = run_node(
        "updateEvent",
        {
            "calendarId": calendar,
            "eventId": event["id"],
            "start": "2025-04-01T09:00:00Z",
            "end": "2025-04-01T17:00:00Z",
        },
    )
    assert edge == "success", data
    assert not state["updatedEvent"]["allDay"]
    assert google_apis.events[calendar][event["id"]]["start"] == {
        "dateTime": "2025-04-01T09:00:00+00:00"
    }


def test_update_and_delete_of_a_missing_event_take_not_found(run_node, connected, calendar):
    for node, params in (
        ("updateEvent", {"summary": "x"}),
        ("deleteEvent", {}),
    ):
        edge, data, _ = run_node(node, {"calendarId": calendar, "eventId": "nosuchevent", **params})
        assert (edge, data["code"], data["status"]) == ("not_found", "NOT_FOUND", 404), data


def test_deleting_twice_takes_not_found_and_without_the_edge_error(
    run_node, connected, calendar, google_apis
):
    seed(google_apis, calendar, gone=timed("2025-01-01T10:00:00Z", "2025-01-01T11:00:00Z"))
    assert run_node("deleteEvent", {"calendarId": calendar, "eventId": "gone"})[0] == "success"
    edge, data, _ = run_node("deleteEvent", {"calendarId": calendar, "eventId": "gone"})
    assert (edge, data["status"], data["reason"]) == ("not_found", 410, "deleted")
    # a step without not_found? gets error, never a silent next step
    edge, data, _ = run_node(
        "deleteEvent", {"calendarId": calendar, "eventId": "gone"}, edges=("success",)
    )
    assert (edge, data["code"]) == ("error", "NOT_FOUND")


# -- listEvents ---------------------------------------------------------------------------------


def test_list_events_pages_through_the_calendar(run_node, connected, calendar, google_apis):
    seed(
        google_apis,
        calendar,
        **{
            f"ev{day}": timed(f"2025-05-0{day}T09:00:00Z", f"2025-05-0{day}T10:00:00Z")
            for day in range(1, 6)
        },
    )
    seen, token, pages = [], None, 0
    while True:
        params = {"calendarId": calendar, "maxResults": 2, "orderBy": "startTime"}
        if token:
            params["pageToken"] = token
        edge, data, state = run_node("listEvents", params)
        assert edge == "success" and state["eventsCount"] == len(state["events"]) <= 2
        seen += [e["id"] for e in state["events"]]
        token, pages = state["eventsNextPageToken"], pages + 1
        assert data["nextPageToken"] == token
        if token is None:
            break
    assert (seen, pages) == ([f"ev{day}" for day in range(1, 6)], 3)


def test_list_events_filters_by_time_and_query(run_node, connected, calendar, google_apis):
    seed(
        google_apis,
        calendar,
        early=timed("2025-06-01T08:00:00Z", "2025-06-01T09:00:00Z", summary="Standup"),
        late=timed(
            "2025-06-01T15:00:00+02:00",
            "2025-06-01T16:00:00+02:00",
            summary="Review",
            description="quarterly numbers",
            attendees=[{"email": "dana@example.org"}],
        ),
    )
    window = {"calendarId": calendar, "timeMin": "2025-06-01T10:00:00"}  # no offset: UTC
    edge, _, state = run_node("listEvents", window)
    assert edge == "success" and [e["id"] for e in state["events"]] == ["late"]
    assert state["events"][0]["attendees"] == ["dana@example.org"]
    edge, _, state = run_node("listEvents", {"calendarId": calendar, "query": "QUARTERLY"})
    assert [e["id"] for e in state["events"]] == ["late"]
    edge, _, state = run_node(
        "listEvents", {"calendarId": calendar, "timeMax": "2025-06-01T08:00:00Z"}
    )
    assert (edge, state["events"], state["eventsCount"]) == ("no_results", [], 0)
    assert state["eventsNextPageToken"] is None


# -- scopes, quota ------------------------------------------------------------------------------


def test_a_read_only_connection_reads_but_may_not_write(
    run_node, connect, alice, calendar, google_apis
):
    connect(alice, ["calendar.readonly"])
    assert run_node("listEvents", {"calendarId": calendar})[0] == "no_results"
    before = len(google_apis.requests)
    edge, data, _ = run_node(
        "createEvent",
        {"calendarId": calendar, "summary": "x", "start": "2025-01-01", "end": "2025-01-02"},
    )
    assert (edge, data["code"]) == ("permission_denied", "MISSING_SCOPE")
    assert "calendar" in data["error"]
    assert len(google_apis.requests) == before, "refused before any request"


def test_a_connection_without_calendar_takes_permission_denied(run_node, connect, alice):
    connect(alice, ["gmail.readonly"])
    edge, data, _ = run_node(
        "freeBusy", {"timeMin": "2025-01-01T00:00:00Z", "timeMax": "2025-01-02T00:00:00Z"}
    )
    assert (edge, data["code"]) == ("permission_denied", "MISSING_SCOPE")


def test_quota_errors_are_retried_then_reported(run_node, connected, calendar, google_apis):
    google_apis.fail_next(429, "rateLimitExceeded")
    google_apis.fail_next(403, "userRateLimitExceeded")
    assert run_node("listEvents", {"calendarId": calendar})[0] == "no_results"

    for _ in range(5):  # the first try and the 4 retries of the settings
        google_apis.fail_next(429, "rateLimitExceeded")
    edge, data, _ = run_node(
        "createEvent",
        {"calendarId": calendar, "summary": "x", "start": "2025-01-01", "end": "2025-01-02"},
    )
    assert (edge, data["code"], data["reason"]) == (
        "quota_exceeded",
        "QUOTA_EXCEEDED",
        "rateLimitExceeded",
    )
    assert google_apis.take_failure() is None, "every scripted failure was met"
    assert calendar not in google_apis.events or not google_apis.events[calendar]


# -- freeBusy -----------------------------------------------------------------------------------


def test_free_busy_free_and_busy(run_node, connected, calendar, google_apis):
    seed(
        google_apis,
        calendar,
        a=timed("2025-07-01T09:00:00Z", "2025-07-01T10:00:00Z"),
        b=timed("2025-07-01T09:30:00Z", "2025-07-01T11:00:00Z"),
        free=timed("2025-07-01T13:00:00Z", "2025-07-01T14:00:00Z", transparency="transparent"),
    )
    morning = {"calendars": [calendar, "primary"], "timeMin": "2025-07-01T08:00:00Z"}
    edge, data, state = run_node("freeBusy", {**morning, "timeMax": "2025-07-01T12:00:00Z"})
    assert (edge, state["isFree"], data["isFree"]) == ("success", False, False)
    assert state["freeBusy"] == {
        calendar: [{"start": "2025-07-01T09:00:00Z", "end": "2025-07-01T11:00:00Z"}],
        "primary": [],
    }
    afternoon = {
        "calendars": calendar,
        "timeMin": "2025-07-01T12:00:00Z",
        "timeMax": "2025-07-01T18:00:00Z",
        "branch": True,
    }
    edge, _, state = run_node("freeBusy", afternoon)
    assert (edge, state["isFree"], state["freeBusy"]) == ("free", True, {calendar: []})
    edge, _, _ = run_node("freeBusy", {**afternoon, "timeMin": "2025-07-01T10:00:00Z"})
    assert edge == "busy"


def test_free_busy_of_an_unknown_calendar_is_not_free(run_node, connected, calendar):
    edge, data, state = run_node(
        "freeBusy",
        {"calendars": [calendar], "timeMin": "2025-01-01T00:00Z", "timeMax": "2025-01-02T00:00Z"},
    )
    assert (edge, data["code"], data["reason"]) == ("not_found", "NOT_FOUND", "notFound")
    assert calendar in data["error"] and "isFree" not in state


# -- parameters refused before anything is sent -------------------------------------------------

CREATE = {"summary": "x", "start": "2025-01-01T10:00:00Z", "end": "2025-01-01T11:00:00Z"}
TOO_MANY = [f"guest{n}@example.org" for n in range(101)]


@pytest.mark.parametrize(
    ("node", "params", "named"),
    [
        ("createEvent", {**CREATE, "start": "tomorrow"}, '"start"'),
        ("createEvent", {**CREATE, "end": "2025-02-30"}, '"end"'),
        ("createEvent", {**CREATE, "end": "2025-01-01T09:00:00Z"}, '"end" must be after'),
        ("createEvent", {**CREATE, "end": CREATE["start"]}, '"end" must be after'),
        ("createEvent", {**CREATE, "start": "2025-01-02", "end": "2025-01-02"}, "exclusive"),
        ("createEvent", {**CREATE, "end": "2025-01-02"}, '"start" and "end"'),
        ("createEvent", {**CREATE, "summary": "  "}, '"summary"'),
        (
            "createEvent",
            {"summary": "x", "end": CREATE["end"]},
            'Missing required parameter: "start"',
        ),
        ("createEvent", {**CREATE, "attendees": TOO_MANY}, '"attendees" may list at most 100'),
        ("createEvent", {**CREATE, "attendees": ["bob@example.org", "bob"]}, '"attendees"'),
        ("createEvent", {**CREATE, "attendees": 7}, '"attendees"'),
        ("createEvent", {**CREATE, "timeZone": "Mars/Olympus"}, '"timeZone"'),
        ("createEvent", {**CREATE, "sendUpdates": "everyone"}, '"sendUpdates"'),
        ("createEvent", {**CREATE, "description": "x" * 8193}, '"description"'),
        ("createEvent", {**CREATE, "calendarId": ""}, None),  # "" is primary: not refused
        ("createEvent", {**CREATE, "calendarId": "x" * 256}, '"calendarId"'),
        ("updateEvent", {"eventId": "abc"}, "Nothing to update"),
        ("updateEvent", {"eventId": "abc", "sendUpdates": "all"}, "Nothing to update"),
        ("updateEvent", {"summary": "x"}, 'Missing required parameter: "eventId"'),
        ("updateEvent", {"eventId": "a/b", "summary": "x"}, '"eventId"'),
        ("deleteEvent", {"eventId": 12}, '"eventId"'),
        ("listEvents", {"maxResults": 0}, '"maxResults"'),
        ("listEvents", {"maxResults": 501}, '"maxResults"'),
        ("listEvents", {"maxResults": True}, '"maxResults"'),
        ("listEvents", {"timeMin": "2025-13-01T00:00:00Z"}, '"timeMin"'),
        ("listEvents", {"timeMin": "2025-01-02", "timeMax": "2025-01-01"}, '"timeMax"'),
        ("listEvents", {"orderBy": "startTime", "singleEvents": False}, '"orderBy"'),
        ("listEvents", {"orderBy": "title"}, '"orderBy"'),
        ("listEvents", {"singleEvents": "yes"}, '"singleEvents"'),
        ("listEvents", {"query": "q" * 1025}, '"query"'),
        ("listEvents", {"query": "a\x00b"}, '"query" must not contain NUL'),
        ("freeBusy", {"timeMax": "2025-01-01T00:00:00Z"}, 'Missing required parameter: "timeMin"'),
        ("freeBusy", {"timeMin": "2025-01-02", "timeMax": "2025-01-01"}, '"timeMax"'),
        (
            "freeBusy",
            {"timeMin": "2025-01-01", "timeMax": "2025-01-02", "calendars": ["c"] * 51},
            '"calendars" may list at most 50',
        ),
        ("freeBusy", {"timeMin": "2025-01-01", "timeMax": "2025-01-02", "branch": 1}, '"branch"'),
    ],
)
def test_bad_parameters_take_error_naming_them(
    run_node, connected, google_apis, node, params, named
):
    before = len(google_apis.requests)
    edge, data, _ = run_node(node, params)
    if named is None:
        assert edge == "success", data
        del google_apis.events["primary"][data["event"]["id"]]
        return
    assert (edge, data["code"]) == ("error", "INVALID_PARAMETER"), data
    assert named in data["error"]
    assert len(google_apis.requests) == before, "refused before any request"
