"""Reading and writing dates for ``dateTime``: values, time zones and format tokens.

The original parsed with JavaScript's ``new Date(...)`` and formatted with a handful of
moment-style tokens replaced one occurrence each. Here a format is tokenised properly; moment
spellings (``YYYY-MM-DD``) and date-fns spellings (``yyyy-MM-dd``) both work:

===========================  ==============================================
token                        meaning
===========================  ==============================================
``YYYY`` ``yyyy``            4-digit year
``YY`` ``yy``                2-digit year (parsing: 00-68 → 20xx, 69-99 → 19xx)
``MMMM`` ``MMM``             month name, ``January`` / ``Jan``
``MM`` ``M``                 month, ``01`` / ``1``
``DD`` ``dd`` / ``D`` ``d``  day of the month, ``05`` / ``5``
``Do``                       day with ordinal, ``5th``
``dddd`` ``EEEE``            weekday name, ``Monday``; ``ddd`` ``EEE``: ``Mon``
``HH`` ``H``                 hour 0-23; ``hh`` ``h``: hour 1-12
``mm`` ``m`` / ``ss`` ``s``  minutes / seconds
``SSS``                      milliseconds
``A`` / ``a``                ``AM``/``PM``, ``am``/``pm``
``Z`` / ``ZZ``               UTC offset ``+02:00`` / ``+0200``
``X`` / ``x``                Unix time in seconds / milliseconds
``Q``                        quarter 1-4
``[text]`` ``'text'``        literal text (``''`` is a single quote)
===========================  ==============================================
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DateError",
    "format_date",
    "parse_date_text",
    "parse_with_format",
    "resolve_zone",
    "to_datetime",
    "to_iso",
    "to_iso_with_offset",
]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The original's fixed abbreviations (hours from UTC); anything else is an IANA zone name.
_ABBREVIATIONS: Final = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")


class DateError(ValueError):
    """A value that is not a date, or a date that cannot be computed."""


def resolve_zone(name: str) -> tzinfo:
    """An IANA zone (``Europe/Bucharest``), an abbreviation (``EST``) or an offset (``+05:30``)."""
    text = name.strip()
    if text.upper() in _ABBREVIATIONS:
        return timezone(timedelta(hours=_ABBREVIATIONS[text.upper()]))
    offset = _OFFSET.match(text)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta >= timedelta(hours=24):
            raise DateError(f"unknown time zone {name!r}")
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise DateError(f"unknown time zone {name!r}") from None


def to_iso(moment: datetime) -> str:
    """JavaScript's ``Date.toISOString()``: UTC, milliseconds, a ``Z``."""
    return _iso_body(moment.astimezone(UTC)) + "Z"


def to_iso_with_offset(moment: datetime) -> str:
    """ISO 8601 in the moment's own zone, e.g. ``2025-03-20T11:00:00.000-04:00``."""
    return _iso_body(moment) + _offset_text(moment, ":")


def _iso_body(moment: datetime) -> str:
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}"
    )


def _offset_text(moment: datetime, separator: str) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}{separator}{minutes % 60:02d}"


def to_datetime(value: Any, input_format: str | None, zone: tzinfo) -> datetime:
    """A date from a value as JavaScript's ``new Date(value)`` read it; naive text is in zone."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_milliseconds(value)
    if isinstance(value, str):
        if input_format:
            return parse_with_format(value, input_format, zone)
        return parse_date_text(value, zone)
    raise DateError(f"Cannot parse date from value: {value!r}")


def from_milliseconds(value: float) -> datetime:
    if isinstance(value, float) and not math.isfinite(value):
        raise DateError(f"Invalid date: {value}")
    try:
        return EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        raise DateError(f"Invalid date: {value} milliseconds is out of range") from None


def milliseconds(moment: datetime) -> int:
    """Milliseconds since 1970-01-01 UTC, as ``Date.getTime()``."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


# Besides ISO 8601 and RFC 2822, the forms JavaScript's Date parser also understood.
_FALLBACK_FORMATS: Final = (
    "YYYY/M/D",
    "YYYY/M/D H:m",
    "YYYY/M/D H:m:s",
    "M/D/YYYY",
    "M/D/YYYY H:m",
    "M/D/YYYY H:m:s",
    "MMMM D, YYYY",
    "MMMM D YYYY",
    "D MMMM YYYY",
    "MMMM D, YYYY H:m:s",
)


def parse_date_text(text: str, zone: tzinfo) -> datetime:
    """ISO 8601, RFC 2822 or a common written form; naive values are read in ``zone``."""
    cleaned = text.strip()
    if cleaned:
        try:
            moment = datetime.fromisoformat(cleaned)
            return moment if moment.tzinfo else moment.replace(tzinfo=zone)
        except ValueError:
            pass
        try:
            moment = email.utils.parsedate_to_datetime(cleaned)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            pass
        for pattern in _FALLBACK_FORMATS:
            try:
                return parse_with_format(cleaned, pattern, zone)
            except DateError:
                continue
    raise DateError(f"Invalid date string: {text}")


# ---- format tokens ------------------------------------------------------------------------

Formatter = Callable[[datetime], str]


def _hour12(moment: datetime) -> int:
    return moment.hour % 12 or 12


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


_FORMATTERS: Final[dict[str, Formatter]] = {
    "YYYY": lambda d: f"{d.year:04d}",
    "YY": lambda d: f"{d.year % 100:02d}",
    "MMMM": lambda d: MONTHS[d.month - 1],
    "MMM": lambda d: MONTHS[d.month - 1][:3],
    "MM": lambda d: f"{d.month:02d}",
    "M": lambda d: str(d.month),
    "Do": lambda d: _ordinal(d.day),
    "DD": lambda d: f"{d.day:02d}",
    "D": lambda d: str(d.day),
    "dddd": lambda d: WEEKDAYS[d.weekday()],
    "ddd": lambda d: WEEKDAYS[d.weekday()][:3],
    "HH": lambda d: f"{d.hour:02d}",
    "H": lambda d: str(d.hour),
    "hh": lambda d: f"{_hour12(d):02d}",
    "h": lambda d: str(_hour12(d)),
    "mm": lambda d: f"{d.minute:02d}",
    "m": lambda d: str(d.minute),
    "ss": lambda d: f"{d.second:02d}",
    "s": lambda d: str(d.second),
    "SSS": lambda d: f"{d.microsecond // 1000:03d}",
    "A": lambda d: "AM" if d.hour < 12 else "PM",
    "a": lambda d: "am" if d.hour < 12 else "pm",
    "ZZ": lambda d: _offset_text(d, ""),
    "Z": lambda d: _offset_text(d, ":"),
    "X": lambda d: str(milliseconds(d) // 1000),
    "x": lambda d: str(milliseconds(d)),
    "Q": lambda d: str((d.month - 1) // 3 + 1),
}
# date-fns spellings of the same fields
_ALIASES: Final = {"yyyy": "YYYY", "yy": "YY", "dd": "DD", "d": "D", "EEEE": "dddd", "EEE": "ddd"}
_TOKENS: Final = sorted([*_FORMATTERS, *_ALIASES], key=len, reverse=True)
_TOKEN_RE: Final = re.compile(r"\[([^\]]*)\]|'((?:[^']|'')*)'|" + "|".join(_TOKENS))


def _literal(match: re.Match[str]) -> str | None:
    if match.group(1) is not None:
        return match.group(1)
    if match.group(2) is not None:
        return match.group(2).replace("''", "'") or "'"
    return None


def format_date(moment: datetime, pattern: str) -> str:
    """``moment`` written with the tokens of the module docstring."""

    def replace(match: re.Match[str]) -> str:
        literal = _literal(match)
        if literal is not None:
            return literal
        token = _ALIASES.get(match.group(0), match.group(0))
        return _FORMATTERS[token](moment)

    return _TOKEN_RE.sub(replace, pattern)


# ---- parsing with a format ----------------------------------------------------------------

_MONTH_NAMES: Final = "|".join([*MONTHS, *(m[:3] for m in MONTHS)])
_WEEKDAY_NAMES: Final = "|".join([*WEEKDAYS, *(w[:3] for w in WEEKDAYS)])
# token -> (regex, field it sets or None when only matched)
_PARSERS: Final[dict[str, tuple[str, str | None]]] = {
    "YYYY": (r"[+-]?\d{4,6}", "year"),
    "YY": (r"\d{2}", "year2"),
    "MMMM": (_MONTH_NAMES, "month_name"),
    "MMM": (_MONTH_NAMES, "month_name"),
    "MM": (r"\d{2}", "month"),
    "M": (r"\d{1,2}", "month"),
    "Do": (r"\d{1,2}(?:st|nd|rd|th)", "day"),
    "DD": (r"\d{2}", "day"),
    "D": (r"\d{1,2}", "day"),
    "dddd": (_WEEKDAY_NAMES, None),
    "ddd": (_WEEKDAY_NAMES, None),
    "HH": (r"\d{2}", "hour"),
    "H": (r"\d{1,2}", "hour"),
    "hh": (r"\d{2}", "hour"),
    "h": (r"\d{1,2}", "hour"),
    "mm": (r"\d{2}", "minute"),
    "m": (r"\d{1,2}", "minute"),
    "ss": (r"\d{2}", "second"),
    "s": (r"\d{1,2}", "second"),
    "SSS": (r"\d{1,3}", "millisecond"),
    "A": (r"AM|PM|am|pm", "meridiem"),
    "a": (r"AM|PM|am|pm", "meridiem"),
    "ZZ": (r"Z|[+-]\d{2}:?\d{2}", "offset"),
    "Z": (r"Z|[+-]\d{2}:?\d{2}", "offset"),
    "X": (r"-?\d+(?:\.\d+)?", "seconds"),
    "x": (r"-?\d+", "milliseconds"),
    "Q": (r"[1-4]", None),
}


MAX_FORMAT_TOKENS = 16  # a user's parse format: enough for any real date, bounded backtracking


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    fields: tuple[str | None, ...]


@lru_cache(maxsize=128)
def _compile_format(pattern: str) -> _Pattern:
    parts: list[str] = []
    fields: list[str | None] = []
    position = 0
    for match in _TOKEN_RE.finditer(pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        position = match.end()
        literal = _literal(match)
        if literal is not None:
            parts.append(re.escape(literal))
            continue
        regex, field = _PARSERS[_ALIASES.get(match.group(0), match.group(0))]
        parts.append(f"({regex})")
        fields.append(field)
    parts.append(re.escape(pattern[position:]))
    if len(fields) > MAX_FORMAT_TOKENS:
        # adjacent variable-width tokens ("DHDHDH…") backtrack exponentially in their count on
        # a text that does not match: 26 of them take seconds, 16 a few milliseconds
        raise DateError(
            f"format {pattern!r} has {len(fields)} date/time tokens; at most "
            f"{MAX_FORMAT_TOKENS} are allowed"
        )
    return _Pattern(re.compile("".join(parts), re.IGNORECASE), tuple(fields))


def parse_with_format(text: str, pattern: str, zone: tzinfo) -> datetime:
    """Read ``text`` written in ``pattern``; missing parts default to 1970-01-01 00:00 in zone."""
    compiled = _compile_format(pattern)
    match = compiled.regex.fullmatch(text.strip())
    if match is None:
        raise DateError(f"Date string {text!r} doesn't match format {pattern}")
    found = {
        field: value
        for field, value in zip(compiled.fields, match.groups(), strict=True)
        if field is not None
    }
    if "milliseconds" in found:
        return from_milliseconds(int(found["milliseconds"]))
    if "seconds" in found:
        return from_milliseconds(float(found["seconds"]) * 1000)
    try:
        return _assemble(found, zone)
    except (ValueError, OverflowError):
        raise DateError(f"{text!r} is not a valid date for format {pattern}") from None


def _assemble(found: dict[str, str], zone: tzinfo) -> datetime:
    year = int(found.get("year", 1970))
    if "year2" in found:
        short = int(found["year2"])
        year = 2000 + short if short < 69 else 1900 + short
    month = int(found.get("month", 1))
    if "month_name" in found:
        month = [m[:3].lower() for m in MONTHS].index(found["month_name"][:3].lower()) + 1
    hour = int(found.get("hour", 0))
    meridiem = found.get("meridiem", "").lower()
    if meridiem:
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    moment = datetime(
        year,
        month,
        int(re.sub(r"\D", "", found.get("day", "1"))),
        hour,
        int(found.get("minute", 0)),
        int(found.get("second", 0)),
        int(found.get("millisecond", "0").ljust(3, "0")) * 1000,
        tzinfo=zone,
    )
    if "offset" in found:
        moment = moment.replace(tzinfo=_parse_offset(found["offset"]))
    return moment


def _parse_offset(text: str) -> tzinfo:
    if text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-delta if text[0] == "-" else delta)
