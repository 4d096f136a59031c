"""Cron schedules of automations: parse, validate, list fire times, describe.

The syntax is node-cron's (the original product): 5 fields ``min hour dom month dow`` or 6 with
seconds first, ``*``, ``*/n``, ``a-b``, ``a-b/n``, ``a/n``, lists, names, day-of-week 0-7 with
0 and 7 = Sunday, and the ``@daily``-style aliases. Unlike node-cron, a restricted day of month
and a restricted day of week (neither starting with ``*``) match when EITHER matches, as in
Vixie cron (``man 5 crontab``).

Why APScheduler only runs in UTC here: its ``CronTrigger`` fires a ``30 1 * * *`` job twice on
a fall-back day and loops on the repeated hour. So fields are matched against the *local wall
clock* (a CronTrigger fed naive wall times dressed as UTC, which has no DST), and this module
maps wall times to instants itself:

* a wall time inside a spring-forward gap fires once, at the first instant after the jump;
* a wall time repeated by a fall-back fires once (the first pass), unless the hour field starts
  with ``*`` (``*/15 * * * *`` keeps its real 15-minute rhythm through both passes).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from workscript_jupyter.errors import InvalidCronError

__all__ = ["CronSchedule"]

_TICK = timedelta(microseconds=1)
_MONTH_FULL = [calendar.month_name[i] for i in range(1, 13)]
_DAY_FULL = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_APS_DAYS = [d[:3].lower() for d in _DAY_FULL[1:] + _DAY_FULL[:1]]  # APScheduler: 0 = Monday
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class _Spec:
    name: str
    lo: int
    hi: int  # highest value accepted (7 for day_of_week)
    names: dict[str, int] = field(default_factory=dict)

    @property
    def top(self) -> int:  # highest real value: what ``*`` spans
        return 6 if self.name == "day_of_week" else self.hi


def _names(words: list[str], first: int) -> dict[str, int]:
    """ "jan"/"january" -> 1...: node-cron accepts short and full names, in any case."""
    return {k: i + first for i, w in enumerate(words) for k in (w[:3].lower(), w.lower())}


_SPECS = (
    _Spec("second", 0, 59),
    _Spec("minute", 0, 59),
    _Spec("hour", 0, 23),
    _Spec("day_of_month", 1, 31),
    _Spec("month", 1, 12, _names(_MONTH_FULL, 1)),
    _Spec("day_of_week", 0, 7, _names(_DAY_FULL, 0)),
)


@dataclass(frozen=True)
class _Field:
    spec: _Spec
    token: str
    values: tuple[int, ...]  # sorted; day_of_week already folded (7 -> 0)

    @property
    def star(self) -> bool:  # cron's test for "unrestricted" in the day-of-month/-week rule
        return self.token.startswith("*")

    @property
    def full(self) -> bool:
        return len(self.values) == self.spec.top - self.spec.lo + 1


@dataclass(frozen=True)
class _Plan:
    """What parse() computed once, so fire-time queries build nothing."""

    fields: dict[str, _Field]
    triggers: tuple[Any, ...]  # CronTriggers in UTC over wall-clock times; 2 = day OR weekday
    zone: tzinfo
    repeat_folds: bool  # fire in both passes of a repeated (fall-back) hour
    either_day: bool  # day of month OR day of week


def _error(message: str, fld: str, value: str, expression: str) -> InvalidCronError:
    details = {"field": fld, "value": value, "expression": expression}
    return InvalidCronError(message, details=details)


def _parse_field(spec: _Spec, token: str, expression: str) -> _Field:
    values: set[int] = set()
    for item in token.split(","):
        try:
            values.update(_parse_item(spec, item))
        except ValueError as exc:
            raise _error(f"{spec.name}: {exc}", spec.name, item, expression) from None
    if spec.name == "day_of_week" and 7 in values:
        values = (values - {7}) | {0}
    return _Field(spec, token, tuple(sorted(values)))


def _parse_item(spec: _Spec, item: str) -> range:
    """One list item: ``*``, ``a``, ``a-b``, each with an optional ``/step``."""
    base, slash, step_text = item.partition("/")
    size = spec.top - spec.lo + 1
    step = int(step_text) if step_text.isdigit() and step_text.isascii() else 0
    if slash and not 1 <= step <= size:
        raise ValueError(f"step {step_text!r} in {item!r} must be a number from 1 to {size}")
    if base == "*":
        first, last = spec.lo, spec.top
    elif "-" in base:
        a, _, b = base.partition("-")
        first, last = _value(spec, a, item), _value(spec, b, item)
        if spec.name == "day_of_week" and last == 0 < first:
            last = 7  # "fri-sun": Sunday as 7 closes the week
        if first > last:
            raise ValueError(f"range {item!r} goes backwards ({first} > {last})")
    else:
        first = _value(spec, base, item)
        last = spec.top if slash else first  # "a/n": from a to the end, every n
    return range(first, last + 1, step or 1)


def _value(spec: _Spec, text: str, item: str) -> int:
    if text.lower() in spec.names:
        return spec.names[text.lower()]
    where = "" if text == item else f" (in {item!r})"
    if not text.isdigit() or not text.isascii():
        kind = "a number or a name" if spec.names else "a number"
        raise ValueError(f"{text!r} is not {kind}{where}" if text else f"empty value in {item!r}")
    if not spec.lo <= int(text) <= spec.hi:
        raise ValueError(f"{int(text)} is out of range {spec.lo}-{spec.hi}{where}")
    return int(text)


def _aps(f: _Field) -> str:
    """One compact APScheduler expression (it scans every comma item on every step).

    Weekdays become names: APScheduler numbers them from 0 = Monday, cron from 0 = Sunday.
    """
    if f.full:
        return "*"
    if f.spec.name == "day_of_week":
        days = _runs(tuple(sorted((d - 1) % 7 for d in f.values)))
        return ",".join(_APS_DAYS[a] + (f"-{_APS_DAYS[b]}" if a != b else "") for a, b in days)
    v, steps = f.values, {b - a for a, b in pairwise(f.values)}
    if len(v) > 2 and len(steps) == 1 and steps != {1}:
        return f"{v[0]}-{v[-1]}/{steps.pop()}"
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in _runs(v))


def _runs(values: tuple[int, ...]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for v in values:
        if runs and runs[-1][1] == v - 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def _trigger(f: dict[str, _Field], *, day: bool, weekday: bool) -> Any:
    """A CronTrigger in UTC (no DST) over wall times; ``day``/``weekday``: apply that field."""
    hms = {name: _aps(f[name]) for name in ("second", "minute", "hour", "month")}
    day_of_week = _aps(f["day_of_week"]) if weekday else "*"
    dom = _aps(f["day_of_month"]) if day else "*"
    return CronTrigger(**hms, day=dom, day_of_week=day_of_week, timezone=UTC)


def _zone(name: str, expression: str) -> tzinfo:
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _error(f"unknown time zone {name!r}", "timezone", name, expression) from None


def _compile(expression: str, tz_name: str) -> tuple[bool, _Plan]:
    tokens = _ALIASES.get(expression.lower(), expression).split()
    problem = ""
    if expression.startswith("@") and expression.lower() not in _ALIASES:
        problem = f"unknown alias {expression!r} (known: {', '.join(_ALIASES)})"
    elif len(tokens) not in (5, 6):
        problem = f"expected 5 or 6 fields, got {len(tokens)}"
    if problem:
        raise _error(problem, "expression", expression, expression)
    has_seconds = len(tokens) == 6
    if not has_seconds:
        tokens = ["0", *tokens]
    f = {s.name: _parse_field(s, t, expression) for s, t in zip(_SPECS, tokens, strict=True)}
    zone = _zone(tz_name, expression)
    dom, dow = f["day_of_month"], f["day_of_week"]
    longest = max(calendar.monthrange(2000, m)[1] for m in f["month"].values)  # 2000: leap
    dom_possible = dom.values[0] <= longest
    either = not dom.star and not dow.star
    if not dom_possible and not either:
        why = f"never fires: day {dom.token} does not occur in month {f['month'].token}"
        raise _error(f"{expression!r} {why}", "expression", expression, expression)
    if either:  # Vixie cron: day of month OR day of week; APScheduler ANDs, so use two triggers
        by_day = [_trigger(f, day=True, weekday=False)] if dom_possible else []
        triggers = (*by_day, _trigger(f, day=False, weekday=True))
    else:
        triggers = (_trigger(f, day=True, weekday=True),)
    plan = _Plan(f, triggers, zone, f["hour"].star, either)
    return has_seconds, plan


def _offsets(wall: datetime, zone: tzinfo) -> tuple[timedelta, timedelta]:
    """UTC offsets of a wall time read with fold=0 and fold=1: differ in a gap or an overlap."""
    o0 = wall.replace(tzinfo=zone, fold=0).utcoffset()
    o1 = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert o0 is not None and o1 is not None
    return o0, o1


def _transition(before: datetime, after: datetime, zone: tzinfo) -> datetime:
    """The first whole second in (before, after] with the offset of ``after``."""
    target = after.astimezone(zone).utcoffset()
    lo, hi = int(before.timestamp() // 1), int(after.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


_ANSWERS_KEPT = 4096  # next_after answers kept per schedule before they are forgotten


@dataclass(frozen=True)
class CronSchedule:
    """A validated cron expression in an IANA zone; fire times come back as aware UTC."""

    expression: str
    timezone: str = "UTC"
    has_seconds: bool = False
    _plan: _Plan | None = field(default=None, compare=False, repr=False)
    # next_after's recent answers: a scheduler pass asks the same question for every automation
    # sharing this schedule and tick (1,000 of them cost 1,000 identical walks otherwise)
    _answers: dict[datetime, datetime | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if self._plan is None:  # built directly rather than by parse(): validate the same way
            parsed = CronSchedule.parse(self.expression, self.timezone)
            for name in ("expression", "timezone", "has_seconds", "_plan"):
                object.__setattr__(self, name, getattr(parsed, name))

    @property
    def _compiled(self) -> _Plan:
        assert self._plan is not None  # set by parse() or __post_init__
        return self._plan

    @classmethod
    def parse(cls, expression: str, timezone: str | None = "UTC") -> CronSchedule:
        """Validate ``expression`` in ``timezone`` (None or "" = UTC); InvalidCronError if bad."""
        if not isinstance(expression, str) or not expression.strip():
            shown = expression if isinstance(expression, str) else repr(expression)
            raise _error("the cron expression is empty or not a string", "expression", shown, shown)
        expression = expression.strip()
        if timezone is not None and not isinstance(timezone, str):
            why = f"time zone must be a string, not {type(timezone).__name__}"
            raise _error(why, "timezone", repr(timezone), expression)
        tz_name = (timezone or "").strip() or "UTC"
        has_seconds, plan = _compile(expression, tz_name)
        return cls(expression, tz_name, has_seconds, plan)

    # -- fire times ----------------------------------------------------------------------------

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (aware), as aware UTC; None past 9999."""
        if after.tzinfo is None or after.utcoffset() is None:
            raise ValueError("next_after needs a timezone-aware datetime")
        a = after.astimezone(UTC)
        if a in self._answers:
            return self._answers[a]
        answer = self._next_after(a)
        if len(self._answers) >= _ANSWERS_KEPT:
            self._answers.clear()
        self._answers[a] = answer
        return answer

    def _next_after(self, a: datetime) -> datetime | None:
        zone = self._compiled.zone
        try:
            if zone is UTC:
                wall = self._next_wall(a.replace(tzinfo=None), inclusive=False)
                return None if wall is None else wall.replace(tzinfo=UTC)
            return self._next_in_zone(a, zone)
        except OverflowError:  # the search ran past datetime.max
            return None

    def next_times(self, count: int, after: datetime) -> list[datetime]:
        """The next ``count`` fire times after ``after``, as aware UTC."""
        return self._walk(after, None, count)

    def ticks_between(self, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
        """Every fire time t with start < t <= end (the earliest ``limit``), as aware UTC."""
        return self._walk(start, end, limit)

    def _walk(self, after: datetime, end: datetime | None, limit: int) -> list[datetime]:
        out: list[datetime] = []
        t = self.next_after(after) if limit > 0 else None
        while t is not None and (end is None or t <= end):
            out.append(t)
            t = self.next_after(t) if len(out) < limit else None
        return out

    def _next_wall(self, wall: datetime, *, inclusive: bool) -> datetime | None:
        """The first matching wall time after (or at) ``wall``, naive."""
        now = wall.replace(tzinfo=UTC) + (timedelta(0) if inclusive else _TICK)
        best: datetime | None = None
        for trigger in self._compiled.triggers:
            t = cast("datetime | None", trigger.get_next_fire_time(None, now))
            if t is not None and (best is None or t < best):
                best = t
        return None if best is None else best.replace(tzinfo=None)

    def _next_in_zone(self, a: datetime, zone: tzinfo) -> datetime | None:
        local = a.astimezone(zone)
        wall = local.replace(tzinfo=None, fold=0)
        best: datetime | None = None
        o0, o1 = _offsets(wall, zone)
        if local.fold == 0 and o0 > o1 and self._compiled.repeat_folds:
            # `a` is in the first pass of a repeated hour: the second pass is still to come
            start = _transition(a, (wall - o1).replace(tzinfo=UTC), zone)
            again = self._next_wall((start + o1).replace(tzinfo=None), inclusive=True)
            if again is not None and (offs := _offsets(again, zone))[0] > offs[1]:
                best = (again - offs[1]).replace(tzinfo=UTC)  # its second pass
        inclusive = False
        for _ in range(8):  # at most one overlap to skip; the bound only guards the loop
            c = self._next_wall(wall, inclusive=inclusive)
            if c is None:
                break
            c0, c1 = _offsets(c, zone)
            first, second = (c - c0).replace(tzinfo=UTC), (c - c1).replace(tzinfo=UTC)
            if c0 == c1:
                found = first
            elif c0 < c1:  # in a spring-forward gap: fire once, when the clock jumps
                found = _transition(second, first, zone)
            elif first > a:  # a repeated wall time, first pass still ahead
                found = first
            elif self._compiled.repeat_folds:
                found = second
            else:  # first pass done, repeats not wanted: resume where the overlap ends
                wall = (_transition(first, second, zone) + c0).replace(tzinfo=None)
                inclusive = True
                continue
            return found if best is None or found < best else best
        return best

    # -- description ---------------------------------------------------------------------------

    def describe(self) -> str:
        """English for people, e.g. "at 09:00 on Monday to Friday (Europe/Paris)"."""
        try:
            text = _describe(self._compiled)
        except Exception:  # noqa: BLE001 - a description must never break a listing
            text = f"cron {self.expression}"
        return text if self.timezone == "UTC" else f"{text} ({self.timezone})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "timezone": self.timezone,
            "hasSeconds": self.has_seconds,
            "description": self.describe(),
        }


def _step(f: _Field) -> int | None:
    """n when the field is exactly every n-th value of its range, evenly (1 when all)."""
    v, lo, top = f.values, f.spec.lo, f.spec.top
    if len(v) < 2:
        return None
    n = v[1] - v[0]
    regular = (top - lo + 1) % n == 0 and v == tuple(range(lo, top + 1, n))
    return n if v[0] == lo and regular else None


def _join(words: list[str], last: str = "and") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _listing(values: tuple[int, ...], name: Callable[[int], str] = str) -> str:
    words: list[str] = []
    for a, b in _runs(values):  # "1 to 5", but "Saturday and Sunday"
        if b > a + 1:
            words.append(f"{name(a)} to {name(b)}")
        else:
            words += [name(a)] if a == b else [name(a), name(b)]
    return _join(words)


def _plural(word: str, f: _Field) -> str:
    listed = _listing(f.values)
    listed = f.token if listed.count(",") > 6 else listed  # "days */2", not 16 numbers
    return f"{word}{'s' if len(f.values) > 1 else ''} {listed}"


def _every(f: _Field, unit: str) -> str | None:
    n = _step(f)
    return None if n is None else (f"every {unit}" if n == 1 else f"every {n} {unit}s")


def _describe_time(s: _Field, m: _Field, h: _Field) -> tuple[str, bool]:
    """The time of day; True when it is one fixed time (then "every day" reads well)."""
    one = [len(x.values) == 1 for x in (s, m, h)]
    zero_s = s.values == (0,)
    if all(one):
        clock = f"{h.values[0]:02d}:{m.values[0]:02d}"
        return f"at {clock}" + ("" if zero_s else f":{s.values[0]:02d}"), True
    if h.full and m.full and not zero_s and (sec := _every(s, "second")):
        return sec, False
    if h.full and zero_s and (mins := _every(m, "minute")):
        return mins, False
    if h.full and zero_s and one[1]:
        return f"at minute {m.values[0]} of every hour", False
    if zero_s and one[1] and (hours := _every(h, "hour")):
        return f"at minute {m.values[0]} of {hours}", False
    if zero_s and one[1] and len(h.values) <= 4:
        return "at " + _join([f"{x:02d}:{m.values[0]:02d}" for x in h.values]), False
    parts = [] if zero_s else [_every(s, "second") or f"at {_plural('second', s)}"]
    parts.append(_every(m, "minute") or f"at {_plural('minute', m)}")
    if not h.full:
        parts.append(_every(h, "hour") or f"during {_plural('hour', h)}")
    return " ".join(parts), False


def _describe(plan: _Plan) -> str:
    f = plan.fields
    time, daily = _describe_time(f["second"], f["minute"], f["hour"])
    dom, dow, month = f["day_of_month"], f["day_of_week"], f["month"]
    iso = tuple(sorted((d - 1) % 7 for d in dow.values))  # Monday first, for reading

    def weekday(i: int) -> str:
        return _DAY_FULL[(i + 1) % 7]

    days = "" if dom.full else f"on {_plural('day', dom)} of the month"
    weekdays = "" if dow.full else f"on {_listing(iso, weekday)}"
    if plan.either_day and (dom.full or dow.full):
        days = weekdays = ""
    if days and weekdays:
        if plan.either_day:
            day = f"{days} or {weekdays}"
        else:
            day = f"{days} if it is a {_join([weekday(i) for i in iso], 'or')}"
    else:
        day = days or weekdays or ("every day" if daily else "")
    months = "" if month.full else f"in {_listing(month.values, lambda i: _MONTH_FULL[i - 1])}"
    return " ".join(p for p in (time, day, months) if p)
