"""Dates and periods: the calendar arithmetic the language's date forms mean, written once.

Every mode of the code generator, and the reference evaluator, call these
functions (through ``HELPERS``), so that "a date plus 12 months", "age at a
date" and "within 3 months of" mean the same wherever a decision is worked out.

Two readings of the calendar are fixed here, as officers apply them:

* **Adding a period** moves by whole months first, then by days; when the day
  does not exist in the month reached (31 January plus 1 month, 29 February
  plus 1 year) the result is the last day of that month, as a deadline
  "12 months from 29 February 2024" falls on 28 February 2025.
* **Counting whole years or months** from one date to another counts
  anniversaries, as a person counts birthdays: the Nth anniversary is the same
  day of the month N months (or 12 N months) later, and when that month is too
  short, the first day of the next month. Someone born on 29 February 2008 is
  therefore 17 on 1 March 2025 and still 16 on 28 February 2025, the reading
  of UK law that a person attains an age at the start of the anniversary.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

import attrs

from policy_rules.errors import PolicyError

#: The words a period is written with, and how many months or days one of each is.
UNITS: dict[str, tuple[int, int]] = {
    "day": (0, 1),
    "days": (0, 1),
    "week": (0, 7),
    "weeks": (0, 7),
    "month": (1, 0),
    "months": (1, 0),
    "year": (12, 0),
    "years": (12, 0),
}


class OutsideCalendar(ValueError):
    """A date worked out beyond the calendar Python knows (years 1 to 9999): the rule's arithmetic, not the engine, is at fault."""


@attrs.frozen
class Period:
    """A length of time as written in a rule: whole months (a year is 12) and days (a week is 7).

    ``text`` is how the rule wrote it (``12 months``, ``1 year``); it is how the
    period is shown, and left out of equality so that ``1 year`` equals ``12 months``.
    """

    months: int
    days: int
    text: str = attrs.field(default="", eq=False)

    def __str__(self) -> str:
        return self.text or (f"{self.months} months" if self.months else f"{self.days} days")


def period(count: int, unit: str, text: str = "") -> Period:
    """The period ``count unit`` (``unit`` one of ``UNITS``)."""
    months, days = UNITS[unit]
    return Period(count * months, count * days, text or f"{count} {unit}")


def _shift_months(day: date, months: int) -> tuple[int, int, int]:
    """Year, month and the day of the month asked for, ``months`` after ``day`` (the day may not exist)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return year, month + 1, day.day


def add(day: date, length: Period) -> date:
    """``day + length``: whole months first (to the last day of a short month), then days."""
    year, month, wanted = _shift_months(day, length.months)
    try:
        moved = date(year, month, min(wanted, calendar.monthrange(year, month)[1]))
        return moved + timedelta(days=length.days)
    except (ValueError, OverflowError):
        raise OutsideCalendar(f"{day.isoformat()} moved by {length} would fall outside the years 1 to 9999") from None


def subtract(day: date, length: Period) -> date:
    """``day - length``: the same steps backwards."""
    return add(day, Period(-length.months, -length.days, length.text))


def anniversary(start: date, months: int) -> date:
    """The ``months``-th monthly anniversary of ``start``; the first of the next month when the day does not exist."""
    year, month, wanted = _shift_months(start, months)
    last = calendar.monthrange(year, month)[1]
    if wanted <= last:
        return date(year, month, wanted)
    return date(year, month, last) + timedelta(days=1)


def whole_months(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``, counted by anniversaries; negative when ``end`` is earlier."""
    if end < start:
        return -whole_months(end, start)
    months = (end.year - start.year) * 12 + end.month - start.month
    while months > 0 and anniversary(start, months) > end:
        months -= 1
    return months


def whole_years(start: date, end: date) -> int:
    """Whole years from ``start`` to ``end``: an age at ``end`` for a birth date ``start``."""
    if start <= end:
        # Yearly anniversaries counted directly: 29 February's falls on 1 March, which the tuples order after 28 February.
        return end.year - start.year - ((end.month, end.day) < (start.month, start.day))
    months = whole_months(start, end)
    return int(months / 12)  # towards zero, so that a negative count is the earlier date's age at the later one, negated


def days(start: date, end: date) -> int:
    """Days from ``start`` to ``end``."""
    return (end - start).days


def within(day: date, length: Period, centre: date) -> bool:
    """``day is within length of centre``: from ``centre - length`` to ``centre + length``, both ends included.

    An end beyond the calendar leaves that side open: every date is before it.
    """
    try:
        low = subtract(centre, length)
    except OutsideCalendar:
        low = date.min
    try:
        high = add(centre, length)
    except OutsideCalendar:
        high = date.max
    return low <= day <= high


def refusing(refuse: Any) -> dict[str, Any]:
    """``HELPERS`` for a mode that hands a date outside the calendar to ``refuse`` (which raises) instead of failing."""

    def guarded(helper: Any) -> Any:
        def call(*operands: Any) -> Any:
            try:
                return helper(*operands)
            except OutsideCalendar as error:
                return refuse(error)

        return call

    return {name: guarded(helper) for name, helper in HELPERS.items()}


#: The names generated code calls these by, in every mode.
HELPERS: dict[str, Any] = {
    "DATE_ADD": add,
    "DATE_SUB": subtract,
    "YEARS_FROM": whole_years,
    "MONTHS_FROM": whole_months,
    "DAYS_FROM": days,
    "WITHIN": within,
}


def parse_as_of(value: date | str | None) -> date:
    """The date a decision is made on, from ``--as-of``, a facts file or a request: today when none is given."""
    if value is None:
        return date.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PolicyError(f"`{value}` is not a date; write it as YYYY-MM-DD", "--as-of") from None
