"""Calendar quarters, the planner's unit of time: numbered, labelled `2027-Q1`, read from dates and from `--start`.

A quarter is one integer (``year * 4 + quarter - 1``), so the schedule's
arithmetic (the quarter a contract ends in, how many quarters it runs past
its end) is arithmetic on integers, and only the edges of the planner turn
dates and text into quarters and back.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from policy_rules.errors import UsageError

_START = re.compile(r"^\s*(\d{4})-(?:(\d{1,2})|[Qq]([1-4]))\s*$")


def of_date(day: date) -> int:
    """The quarter a date falls in."""
    return day.year * 4 + (day.month - 1) // 3


def label(quarter: int) -> str:
    """``2027-Q1``: the form the plan's JSON and tables use."""
    return f"{quarter // 4}-Q{quarter % 4 + 1}"


def first_day(quarter: int) -> date:
    return date(quarter // 4, (quarter % 4) * 3 + 1, 1)


def last_day(quarter: int) -> date:
    return first_day(quarter + 1) - timedelta(days=1)


def parse_start(text: str, option: str = "--start") -> int:
    """The quarter that holds the month ``YYYY-MM`` (or the quarter ``YYYY-Q1``), or a ``UsageError`` saying the form."""
    found = _START.match(text)
    month = int(found.group(2)) if found and found.group(2) else None
    if found is None or (month is not None and not 1 <= month <= 12) or not 1900 <= int(found.group(1)) <= 9000:
        raise UsageError(f"`{text}` is not a month; write the month the programme starts as YYYY-MM (for example 2027-04) or a quarter as YYYY-Q2", option)
    year = int(found.group(1))
    return year * 4 + ((month - 1) // 3 if month is not None else int(found.group(3)) - 1)
