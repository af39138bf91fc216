"""The calendar in the symbolic backend means what ``policy_rules.values.dates`` means.

A date moved by a period, whole months and years between two dates, and the
order of dates, on dates made from their parts and on bare day numbers alike.
"""

from __future__ import annotations

from datetime import date

import z3
from hypothesis import given
from hypothesis import strategies as st

from policy_rules.analysis import symbolic as s
from policy_rules.values import dates
from policy_rules.values.dates import Period
from tests.support.symbolic_support import examples

DATES = st.dates(date(1900, 1, 1), date(2100, 12, 31))
PERIODS = st.builds(Period, st.integers(-40, 40), st.integers(-400, 400))


def value(term: object) -> int:
    return z3.simplify(term).as_long()  # type: ignore[arg-type, union-attr]


def numbered(day: date) -> s.Day:
    """The same date as a bare day number, whose parts the solver must work out."""
    return s.Day(z3.IntVal(day.toordinal()))


@given(DATES, PERIODS)
@examples(300)
def test_a_date_moved_by_a_period(day: date, length: Period) -> None:
    expected = dates.add(day, length).toordinal()
    assert value(s._add(s.day_of(day), length).number) == expected
    assert value(s._add(numbered(day), length).number) == expected


@given(DATES, DATES)
@examples(300)
def test_whole_months_and_years_between_two_dates(start: date, end: date) -> None:
    assert value(s._months_between(s.day_of(start), s.day_of(end))) == dates.whole_months(start, end)
    assert value(s._years_between(s.day_of(start), numbered(end))) == dates.whole_years(start, end)


@given(DATES, DATES, DATES)
@examples(200)
def test_dates_compare_by_parts_as_by_day_numbers(a: date, b: date, c: date) -> None:
    for op, expected in (("<", a < b), ("<=", a <= b), (">", a > b), (">=", a >= b), ("=", a == b), ("<>", a != b)):
        assert z3.is_true(z3.simplify(s._calendar_order(op, [s.day_of(a), s.day_of(b)]))) == expected
        assert z3.is_true(z3.simplify(s._calendar_order(op, [s.day_of(a), numbered(b)]))) == expected
    assert z3.is_true(z3.simplify(s._calendar_order("between", [s.day_of(a), s.day_of(b), s.day_of(c)]))) == (b <= a <= c)


def test_29_february_birthdays_count_on_1_march() -> None:
    born = s.day_of(date(2008, 2, 29))
    assert value(s._years_between(born, s.day_of(date(2025, 2, 28)))) == 16
    assert value(s._years_between(born, s.day_of(date(2025, 3, 1)))) == 17
