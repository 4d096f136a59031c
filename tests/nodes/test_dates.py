"""dateTime: every operation, every edge, time zones, format tokens and bad input."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, NodeContext
from workscript_jupyter.nodes.dates import DateTimeNode
from workscript_jupyter.nodes.dates_format import DateError, format_date, parse_with_format

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def execute(params: dict[str, Any], state: dict[str, Any] | None = None, **edge_data: Any):
    state = {} if state is None else state
    ctx = NodeContext(
        state,
        node_id="dt",
        node_type="dateTime",
        node_path="/workflow/0/dateTime",
        edge_data=edge_data or None,
    )
    edge = asyncio.run(DateTimeNode().execute(ctx, params))
    assert isinstance(edge, Edge)
    return edge.name, dict(edge.data or {}), state


def result_of(params: dict[str, Any], state: dict[str, Any] | None = None) -> Any:
    name, data, _ = execute(params, state)
    assert name == "success", data
    return data["result"]


# ---- now, format, parse, to_iso ----------------------------------------------------------


def test_now_writes_an_iso_timestamp_to_both_keys():
    before = datetime.now(UTC).replace(microsecond=0)
    name, data, state = execute({"operation": "now", "outputField": "startedAt"})
    assert name == "success"
    assert ISO.match(state["startedAt"])
    assert state["dateTimeResult"] == state["startedAt"] == data["result"]
    stamp = datetime.fromisoformat(state["startedAt"])
    assert before <= stamp <= datetime.now(UTC)
    assert data["operation"] == "now" and data["outputField"] == "startedAt"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("MM/DD/YYYY", "01/15/2025"),
        ("YYYY-MM-DD HH:mm:ss", "2025-01-15 14:30:45"),
        ("yyyy-MM-dd'T'HH:mm", "2025-01-15T14:30"),
        ("dddd, MMMM Do YYYY", "Wednesday, January 15th 2025"),
        ("EEE d MMM yy", "Wed 15 Jan 25"),
        ("h:mm A [at] SSS", "2:30 PM at 120"),
        ("hh a Z ZZ", "02 pm +00:00 +0000"),
        ("Q X x", "1 1736951445 1736951445120"),
        ("M/D H:m:s", "1/15 14:30:45"),
        ("'It''s' YYYY", "It's 2025"),
    ],
)
def test_format_tokens(pattern, expected):
    state = {"createdAt": "2025-01-15T14:30:45.120Z"}
    assert (
        result_of({"operation": "format", "field": "createdAt", "outputFormat": pattern}, state)
        == expected
    )


def test_format_without_pattern_gives_iso_and_reads_milliseconds():
    state = {"timestampMs": 1710513000000}
    assert result_of({"operation": "format", "field": "timestampMs"}, state) == (
        "2024-03-15T14:30:00.000Z"
    )


def test_format_in_a_time_zone():
    params = {
        "operation": "format",
        "field": "2025-07-01T12:00:00Z",
        "outputFormat": "YYYY-MM-DD HH:mm Z",
        "timezone": "Europe/Bucharest",
    }
    assert result_of(params) == "2025-07-01 15:00 +03:00"


def test_field_reads_a_nested_path_with_a_list_index():
    state = {"orders": [{"createdAt": "2025-03-10T08:15:00.000Z"}]}
    params = {"operation": "format", "field": "orders.0.createdAt", "outputFormat": "MM/DD/YYYY"}
    assert result_of(params, state) == "03/10/2025"


def test_field_reads_the_edge_data_first():
    _, data, _ = execute(
        {"operation": "to_iso", "field": "when"}, {"when": "2020-01-01"}, when="2021-06-01"
    )
    assert data["result"] == "2021-06-01T00:00:00.000Z"


def test_field_may_be_the_date_itself():
    assert result_of({"operation": "to_iso", "field": 0}) == "1970-01-01T00:00:00.000Z"
    assert result_of({"operation": "to_iso", "field": "2025-02-03"}) == "2025-02-03T00:00:00.000Z"


@pytest.mark.parametrize(
    ("text", "input_format", "expected"),
    [
        ("01/15/2025", "MM/DD/YYYY", "2025-01-15T00:00:00.000Z"),
        ("15/01/2025", "DD/MM/YYYY", "2025-01-15T00:00:00.000Z"),
        ("2025/01/15", "YYYY/MM/DD", "2025-01-15T00:00:00.000Z"),
        ("15 Jan 2025 7:05 pm", "D MMM YYYY h:mm a", "2025-01-15T19:05:00.000Z"),
        ("2025-01-15 10:00 +02:00", "YYYY-MM-DD HH:mm Z", "2025-01-15T08:00:00.000Z"),
        ("1736951445", "X", "2025-01-15T14:30:45.000Z"),
        ("2025-01-15T14:30:00Z", None, "2025-01-15T14:30:00.000Z"),
        ("2025-01-15T16:30:00+02:00", None, "2025-01-15T14:30:00.000Z"),
        ("Wed, 15 Jan 2025 14:30:00 GMT", None, "2025-01-15T14:30:00.000Z"),
        ("January 15, 2025", None, "2025-01-15T00:00:00.000Z"),
        ("1/15/2025", None, "2025-01-15T00:00:00.000Z"),
    ],
)
def test_parse(text, input_format, expected):
    params: dict[str, Any] = {"operation": "parse", "field": "raw", "outputField": "parsed"}
    if input_format:
        params["inputFormat"] = input_format
    name, _, state = execute(params, {"raw": text})
    assert name == "success"
    assert state["parsed"] == state["dateTimeResult"] == expected


def test_parse_naive_text_in_the_given_time_zone():
    params = {"operation": "parse", "field": "2025-01-15T09:00:00", "timezone": "America/New_York"}
    assert result_of(params) == "2025-01-15T14:00:00.000Z"


def test_text_that_does_not_match_the_format_is_an_error():
    name, data, _ = execute(
        {"operation": "parse", "field": "d", "inputFormat": "MM/DD/YYYY"}, {"d": "2025-01-15"}
    )
    assert name == "error"
    assert "doesn't match format MM/DD/YYYY" in data["error"]
    assert data["operation"] == "parse" and data["field"] == "d" and data["nodeId"] == "dt"


def test_to_iso_from_custom_format():
    params = {"operation": "to_iso", "field": "d", "inputFormat": "MM/DD/YYYY"}
    assert result_of(params, {"d": "04/30/2025"}) == "2025-04-30T00:00:00.000Z"


# ---- add, subtract, round ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "amount", "unit", "expected"),
    [
        ("add", 5, "days", "2025-01-20T10:00:00.000Z"),
        ("add", 2, "weeks", "2025-01-29T10:00:00.000Z"),
        ("add", 2, "months", "2025-03-15T10:00:00.000Z"),
        ("add", 1, "years", "2026-01-15T10:00:00.000Z"),
        ("add", 5, "hours", "2025-01-15T15:00:00.000Z"),
        ("add", 90, "minutes", "2025-01-15T11:30:00.000Z"),
        ("add", 30, "seconds", "2025-01-15T10:00:30.000Z"),
        ("add", 250, "milliseconds", "2025-01-15T10:00:00.250Z"),
        ("add", 1.5, "days", "2025-01-16T22:00:00.000Z"),
        ("subtract", 5, "days", "2025-01-10T10:00:00.000Z"),
        ("subtract", 2, "months", "2024-11-15T10:00:00.000Z"),
        ("subtract", 1, "hours", "2025-01-15T09:00:00.000Z"),
    ],
)
def test_add_and_subtract(operation, amount, unit, expected):
    params = {"operation": operation, "field": "d", "amount": amount, "unit": unit}
    assert result_of(params, {"d": "2025-01-15T10:00:00Z"}) == expected


def test_adding_months_clamps_to_the_last_day():
    params = {"operation": "add", "field": "2024-01-31T00:00:00Z", "amount": 1, "unit": "months"}
    assert result_of(params) == "2024-02-29T00:00:00.000Z"


def test_adding_days_keeps_the_wall_clock_across_a_dst_change():
    params = {
        "operation": "add",
        "field": "2025-03-29T09:00:00Z",  # 11:00 in Bucharest, winter time
        "amount": 1,
        "unit": "days",
        "timezone": "Europe/Bucharest",
    }
    assert result_of(params) == "2025-03-30T08:00:00.000Z"  # 11:00 summer time


@pytest.mark.parametrize(
    ("round_to", "expected"),
    [
        ("start_of_day", "2025-01-15T00:00:00.000Z"),
        ("end_of_day", "2025-01-15T23:59:59.999Z"),
        ("start_of_week", "2025-01-12T00:00:00.000Z"),
        ("end_of_week", "2025-01-18T23:59:59.999Z"),
        ("start_of_month", "2025-01-01T00:00:00.000Z"),
        ("end_of_month", "2025-01-31T23:59:59.999Z"),
        ("start_of_year", "2025-01-01T00:00:00.000Z"),
        ("end_of_year", "2025-12-31T23:59:59.999Z"),
    ],
)
def test_round(round_to, expected):
    params = {"operation": "round", "field": "d", "roundTo": round_to}
    assert result_of(params, {"d": "2025-01-15T14:30:45Z"}) == expected


def test_round_in_a_time_zone_is_that_zone_s_midnight():
    params = {
        "operation": "round",
        "field": "2025-01-15T14:30:45Z",
        "roundTo": "start_of_day",
        "timezone": "Europe/Bucharest",
    }
    assert result_of(params) == "2025-01-14T22:00:00.000Z"


# ---- extract, diff, convert_timezone -----------------------------------------------------


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        ("year", 2025),
        ("month", 6),
        ("day", 15),
        ("hour", 14),
        ("minute", 30),
        ("second", 45),
        ("millisecond", 123),
        ("dayOfWeek", 0),
        ("dayOfYear", 166),
        ("weekOfYear", 24),
        ("quarter", 2),
        ("timestamp", 1749997845123),
    ],
)
def test_extract(component, expected):
    name, data, state = execute(
        {"operation": "extract", "field": "d", "extract": component, "outputField": "part"},
        {"d": "2025-06-15T14:30:45.123Z"},
    )
    assert name == "success"
    assert data["result"] == state["part"] == state["dateTimeExtracted"] == expected


@pytest.mark.parametrize(
    ("other", "unit", "expected"),
    [
        ("2025-01-20T00:00:00Z", "days", 5),
        ("2025-01-10T00:00:00Z", "days", 5),
        ("2025-01-15T05:00:00Z", "hours", 5),
        ("2025-01-15T00:01:30Z", "minutes", 1),
        ("2025-01-15T00:01:30Z", "seconds", 90),
        ("2025-01-15T00:00:00.250Z", "milliseconds", 250),
        ("2025-02-05T00:00:00Z", "weeks", 3),
        ("2025-04-15T00:00:00Z", "months", 3),
        ("2027-03-01T00:00:00Z", "years", 2),
    ],
)
def test_diff(other, unit, expected):
    params = {"operation": "diff", "field": "d", "compareWith": other, "diffUnit": unit}
    assert result_of(params, {"d": "2025-01-15T00:00:00Z"}) == expected


def test_diff_defaults_to_days():
    params = {"operation": "diff", "field": "2025-01-01", "compareWith": "2025-01-31"}
    assert result_of(params) == 30


@pytest.mark.parametrize(
    ("to_zone", "expected"),
    [
        ("America/New_York", "2025-03-20T11:00:00.000-04:00"),
        ("EST", "2025-03-20T10:00:00.000-05:00"),
        ("PST", "2025-03-20T07:00:00.000-08:00"),
        ("+05:30", "2025-03-20T20:30:00.000+05:30"),
        ("UTC", "2025-03-20T15:00:00.000+00:00"),
    ],
)
def test_convert_timezone_writes_the_same_instant_in_the_target_zone(to_zone, expected):
    params = {"operation": "convert_timezone", "field": "d", "toTimezone": to_zone}
    assert result_of(params, {"d": "2025-03-20T15:00:00.000Z"}) == expected


def test_convert_timezone_reads_naive_text_in_from_timezone():
    params = {
        "operation": "convert_timezone",
        "field": "2025-01-15 09:00",
        "fromTimezone": "Asia/Tokyo",
        "toTimezone": "Europe/London",
    }
    assert result_of(params) == "2025-01-15T00:00:00.000+00:00"


# ---- compare and is_valid choose an edge -------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "other", "edge", "result"),
    [
        ("is_before", "2025-01-20T00:00:00Z", "is_before", True),
        ("is_before", "2025-01-10T00:00:00Z", "is_not_before", False),
        ("is_after", "2025-01-10T00:00:00Z", "is_after", True),
        ("is_after", "2025-01-20T00:00:00Z", "is_not_after", False),
        ("is_same", "2025-01-15T02:00:00+02:00", "is_same", True),
        ("is_same", "2025-01-15T00:00:01Z", "is_not_same", False),
    ],
)
def test_compare(operation, other, edge, result):
    name, data, state = execute(
        {"operation": "compare", "field": "d", "compareWith": other, "compareOperation": operation},
        {"d": "2025-01-15T00:00:00Z"},
    )
    assert name == edge
    assert data["result"] is result and data["operation"] == operation
    assert data["date1"] == "2025-01-15T00:00:00.000Z"
    assert state["dateTimeCompared"]["result"] is result
    assert state["dateTimeCompared"]["date2"] == data["date2"]
    assert "dateTimeResult" not in state


def test_compare_defaults_to_is_before():
    name, _, _ = execute(
        {"operation": "compare", "field": "2025-01-01", "compareWith": "2025-02-01"}
    )
    assert name == "is_before"


@pytest.mark.parametrize(
    ("date", "edge"),
    [
        ("2025-06-15T10:00:00Z", "is_between"),
        ("2025-06-01T00:00:00Z", "is_between"),  # the bounds are inclusive
        ("2025-06-30T23:59:59Z", "is_between"),
        ("2025-07-01T00:00:00Z", "is_not_between"),
        ("2025-05-31T23:59:59Z", "is_not_between"),
    ],
)
def test_is_between_works(date, edge):
    """(fix) the original ignored startDate/endDate and always took the error edge."""
    name, data, state = execute(
        {
            "operation": "compare",
            "field": "d",
            "compareOperation": "is_between",
            "startDate": "2025-06-01T00:00:00Z",
            "endDate": "2025-06-30T23:59:59Z",
        },
        {"d": date},
    )
    assert name == edge
    assert data["result"] is (edge == "is_between")
    assert state["dateTimeCompared"]["startDate"] == "2025-06-01T00:00:00.000Z"
    assert state["dateTimeCompared"]["endDate"] == "2025-06-30T23:59:59.000Z"


def test_is_between_without_end_date_is_an_error():
    name, data, _ = execute(
        {
            "operation": "compare",
            "field": "2025-01-01",
            "compareOperation": "is_between",
            "startDate": "2024-01-01",
        }
    )
    assert name == "error" and "endDate" in data["error"]


def test_is_valid_and_is_invalid():
    name, data, state = execute(
        {"operation": "is_valid", "field": "d"}, {"d": "2025-01-15T14:30:00Z"}
    )
    assert (name, data["result"], data["date"]) == ("is_valid", True, "2025-01-15T14:30:00.000Z")
    assert state["dateTimeValid"] is True
    name, data, state = execute({"operation": "is_valid", "field": "d"}, {"d": "not-a-date"})
    assert (name, data["result"], data["value"]) == ("is_invalid", False, "not-a-date")
    assert state["dateTimeValid"] is False
    name, data, _ = execute({"operation": "is_valid", "field": "missing"}, {})
    assert (name, data["value"]) == ("is_invalid", None)
    name, _, _ = execute({"operation": "is_valid", "field": "d"}, {"d": "2025-02-30"})
    assert name == "is_invalid"


# ---- onError -----------------------------------------------------------------------------


def test_on_error_use_default_writes_the_default():
    name, data, state = execute(
        {
            "operation": "parse",
            "field": "bad",
            "onError": "use_default",
            "defaultValue": "1970-01-01T00:00:00.000Z",
            "outputField": "parsed",
        },
        {"bad": "not-a-date"},
    )
    assert name == "success"
    assert data == {
        "result": "1970-01-01T00:00:00.000Z",
        "usedDefault": True,
        "error": "Invalid date string: not-a-date",
    }
    assert state["parsed"] == "1970-01-01T00:00:00.000Z"


def test_on_error_skip_takes_success_without_writing():
    name, data, state = execute(
        {
            "operation": "format",
            "field": "nonExistentField",
            "onError": "skip",
            "outputFormat": "YYYY",
        }
    )
    assert name == "success"
    assert data == {"skipped": True, "error": "Field not found: nonExistentField"}
    assert state == {}


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "operation"),
        ({"operation": "explode"}, "operation"),
        ({"operation": "format"}, "field"),
        ({"operation": "add", "field": "2025-01-01", "unit": "days"}, "amount"),
        ({"operation": "add", "field": "2025-01-01", "amount": "5", "unit": "days"}, "amount"),
        ({"operation": "add", "field": "2025-01-01", "amount": 1, "unit": "fortnights"}, "unit"),
        ({"operation": "add", "field": "2025-01-01", "amount": 1.5, "unit": "months"}, "amount"),
        ({"operation": "round", "field": "2025-01-01"}, "roundTo"),
        ({"operation": "extract", "field": "2025-01-01", "extract": "era"}, "extract"),
        ({"operation": "diff", "field": "2025-01-01"}, "compareWith"),
        (
            {
                "operation": "diff",
                "field": "2025-01-01",
                "compareWith": "2025-01-02",
                "diffUnit": "eons",
            },
            "diffUnit",
        ),
        ({"operation": "compare", "field": "2025-01-01"}, "compareWith"),
        (
            {
                "operation": "compare",
                "field": "2025-01-01",
                "compareWith": "2025-01-02",
                "compareOperation": "is_near",
            },
            "compareOperation",
        ),
        ({"operation": "convert_timezone", "field": "2025-01-01"}, "toTimezone"),
        (
            {"operation": "convert_timezone", "field": "2025-01-01", "toTimezone": "Mars/Base"},
            "toTimezone",
        ),
        ({"operation": "now", "timezone": "Nowhere/City"}, "timezone"),
        ({"operation": "format", "field": "2025-01-01", "outputFormat": 5}, "outputFormat"),
    ],
)
def test_bad_input_takes_the_error_edge_naming_the_parameter(params, named):
    name, data, state = execute({"onError": "skip", **params} if "operation" in params else params)
    assert name == "error", data
    assert named in data["error"]
    assert "dateTimeResult" not in state


def test_unparsable_compare_with_is_a_date_error():
    name, data, _ = execute({"operation": "diff", "field": "2025-01-01", "compareWith": "soon"})
    assert name == "error" and data["error"] == "Invalid date string: soon"


# ---- the format module on its own --------------------------------------------------------


def test_format_date_leaves_unknown_letters_alone():
    moment = datetime(2025, 1, 5, 7, 8, 9, tzinfo=UTC)
    assert format_date(moment, "YYYY-MM-DD T 'x' [Q]") == "2025-01-05 T x Q"


def test_parse_with_format_rejects_impossible_dates():
    with pytest.raises(DateError, match="not a valid date"):
        parse_with_format("31/02/2025", "DD/MM/YYYY", UTC)


def test_example_runs(run):
    result = run(
        {
            "id": "ex",
            "name": "ex",
            "version": "1.0.0",
            "workflow": [{"dateTime": dict(DateTimeNode.metadata.example)}],
        }
    )
    assert result.status == "completed"
    assert result.final_state["renewalDate"] == "2025-02-28T09:00:00.000Z"


def test_a_parse_format_with_too_many_tokens_is_refused_before_matching():
    """Adjacent variable-width tokens backtrack exponentially: 26 took seconds on plain re."""
    from zoneinfo import ZoneInfo

    from workscript_jupyter.nodes.dates_format import (
        MAX_FORMAT_TOKENS,
        DateError,
        parse_with_format,
    )

    with pytest.raises(DateError, match=f"26 date/time tokens; at most {MAX_FORMAT_TOKENS}"):
        parse_with_format("1" * 39 + "x", "DH" * 13, ZoneInfo("UTC"))
    # a real format of many tokens still parses
    parsed = parse_with_format("2024-03-05 10:11:12", "YYYY-MM-DD HH:mm:ss", ZoneInfo("UTC"))
    assert (parsed.year, parsed.minute, parsed.second) == (2024, 11, 12)
