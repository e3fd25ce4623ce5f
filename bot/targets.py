"""Response targets: when a case is due an answer, from its priority and the office hours.

`INTAKE_TARGET_MINUTES` sets how long each priority may wait (default urgent 15 minutes,
high 2 hours, normal 24 hours). `INTAKE_OFFICE_HOURS` ("Mon-Fri 09:00-17:00
America/Chicago") says when caseworkers are in; without it the program answers around
the clock. Urgent targets run on the clock at any hour, since an urgent case must reach
someone on call; high and normal targets count only office minutes, so a case sent on
Friday night is due on Monday morning, and the witness is told so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.intake.model import Priority

DEFAULT_TARGET_MINUTES: Mapping[Priority, int] = {
    Priority.URGENT: 15,
    Priority.HIGH: 120,
    Priority.NORMAL: 1440,
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(
    r"^\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})\s+(?P<zone>\S+)\s*$",
    re.IGNORECASE,
)
# A target is never searched for further ahead than this (a closed office for weeks).
_HORIZON_DAYS = 60


class BadTargets(ValueError):
    """INTAKE_TARGET_MINUTES or INTAKE_OFFICE_HOURS cannot be read."""


@dataclass(frozen=True)
class OfficeHours:
    days: frozenset[int]  # 0 is Monday
    opens: time
    closes: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """ "Mon-Fri 09:00-17:00 America/Chicago"; a single day ("Sat 10:00-14:00") too."""
        found = _HOURS.match(text)
        if found is None:
            raise BadTargets("INTAKE_OFFICE_HOURS must look like: Mon-Fri 09:00-17:00 Zone/City")
        first = _day(found["first"])
        last = _day(found["last"] or found["first"])
        days = {(first + n) % 7 for n in range((last - first) % 7 + 1)}
        opens, closes = _clock(found["open"]), _clock(found["close"])
        if closes <= opens:
            raise BadTargets("INTAKE_OFFICE_HOURS: the office must close after it opens")
        try:
            zone = ZoneInfo(found["zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise BadTargets(f"INTAKE_OFFICE_HOURS: unknown time zone {found['zone']!r}") from None
        return cls(days=frozenset(days), opens=opens, closes=closes, zone=zone)

    def windows(self, since: datetime) -> list[tuple[datetime, datetime]]:
        """The open periods from the day of `since` on, in UTC, for the search horizon."""
        local = since.astimezone(self.zone)
        found = []
        for offset in range(_HORIZON_DAYS):
            day = (local + timedelta(days=offset)).date()
            if day.weekday() not in self.days:
                continue
            start = datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
            end = datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
            if end > since:
                found.append((max(start, since), end))
        return found


def _day(name: str) -> int:
    try:
        return DAYS.index(name.lower())
    except ValueError:
        raise BadTargets(f"INTAKE_OFFICE_HOURS: unknown day {name!r}") from None


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise BadTargets(f"INTAKE_OFFICE_HOURS: {text!r} is not a time of day")
    return time.max if hours == 24 else time(hours, minutes)


def parse_minutes(text: str | None) -> dict[Priority, int]:
    """ "urgent=15,high=120,normal=1440"; priorities left out keep their default."""
    minutes = dict(DEFAULT_TARGET_MINUTES)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        try:
            priority = Priority(name.strip().lower())
            minutes[priority] = int(value)
        except ValueError:
            raise BadTargets(
                "INTAKE_TARGET_MINUTES must look like: urgent=15,high=120,normal=1440"
            ) from None
        if minutes[priority] <= 0:
            raise BadTargets("INTAKE_TARGET_MINUTES: every target must be above zero")
    return minutes


@dataclass(frozen=True)
class ResponseTargets:
    minutes: Mapping[Priority, int]
    hours: OfficeHours | None = None

    @classmethod
    def parse(cls, *, minutes: str | None, office_hours: str | None) -> ResponseTargets:
        hours = OfficeHours.parse(office_hours) if office_hours else None
        return cls(minutes=parse_minutes(minutes), hours=hours)

    def due(self, priority: Priority, since: datetime) -> datetime:
        """When a case of this priority, waiting since `since`, is due an answer."""
        wait = timedelta(minutes=self.minutes[priority])
        if self.hours is None or priority is Priority.URGENT:
            return since + wait
        for start, end in self.hours.windows(since):
            if start + wait <= end:
                return start + wait
            wait -= end - start
        # An office that never opens in the horizon: hold the case to the plain clock.
        return since + timedelta(minutes=self.minutes[priority])

    def is_open(self, moment: datetime) -> bool:
        if self.hours is None:
            return True
        return any(start <= moment < end for start, end in self.hours.windows(moment)[:1])
