"""Dates and periods: `today`, periods, a date moved by a period, whole years, months and days between dates, `is within`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_rules import PolicyError
from policy_rules.api import policy_from_sources
from policy_rules.language.loader import analyse
from policy_rules.values import dates
from tests.engine.test_properties import check_against_brute_force
from tests.support import form_corpus

RULES = """\
policy "School transport"
  version "1"
  outcome transport

fact date_of_birth is date
  means "the child's date of birth"

fact applied_on is date
  means "the day the application arrived"

fact miles is number
  means "the walking distance to the nearest suitable school"

fact low_income is yes/no
  means "the family has a low income"

define age as years from date_of_birth to today
define recent as applied_on is within 3 months of today

decision transport
  outcomes free, refused

rule refused_by_default
  by default transport is refused

rule under_eight_two_miles
  exception to refused_by_default
  when age is below 8 and miles is at least 2 and recent
  then transport is free

rule eight_and_over_three_miles
  exception to refused_by_default
  when age is at least 8 and miles is at least 3 and recent
  then transport is free

rule low_income_within_the_year
  exception to refused_by_default
  when low_income and date_of_birth + 11 years is before today and applied_on is not within 1 year of 2024-09-01 and miles is at least 2
  then transport is free
"""

AS_OF = date(2025, 1, 15)


@pytest.fixture(scope="module")
def policy():
    return policy_from_sources({"transport.rules": RULES}, "transport")


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize(
    ("facts", "outcome", "decider"),
    [
        # Seven on the day before the eighth birthday: two miles is enough.
        ({"date_of_birth": "2017-01-16", "applied_on": "2025-01-02", "miles": 2, "low_income": False}, "free", "under_eight_two_miles"),
        # Eight on the birthday itself: two miles is no longer enough, three is.
        ({"date_of_birth": "2017-01-15", "applied_on": "2025-01-02", "miles": 2, "low_income": False}, "refused", "refused_by_default"),
        ({"date_of_birth": "2017-01-15", "applied_on": "2025-01-02", "miles": 3, "low_income": False}, "free", "eight_and_over_three_miles"),
        # Three months before today is the last day that is recent; one day more is not.
        ({"date_of_birth": "2019-05-01", "applied_on": "2024-10-15", "miles": 2, "low_income": False}, "free", "under_eight_two_miles"),
        ({"date_of_birth": "2019-05-01", "applied_on": "2024-10-14", "miles": 2, "low_income": False}, "refused", "refused_by_default"),
        # Eleventh birthday before today, applied more than a year from 2024-09-01.
        ({"date_of_birth": "2013-01-14", "applied_on": "2023-08-31", "miles": 2, "low_income": True}, "free", "low_income_within_the_year"),
        ({"date_of_birth": "2013-01-14", "applied_on": "2023-09-01", "miles": 2, "low_income": True}, "refused", "refused_by_default"),
    ],
)
def test_ages_and_windows_count_as_a_person_would(policy, facts: dict, outcome: str, decider: str, trace: bool) -> None:
    decision = policy.evaluate(facts, AS_OF, trace=trace)
    assert (decision.outcome, decision.decided_by) == (outcome, decider)


def test_today_is_the_date_of_the_decision(policy) -> None:
    facts = {"date_of_birth": "2017-06-01", "applied_on": "2025-04-01", "miles": 2, "low_income": False}
    assert policy.evaluate(facts, "2025-05-31").outcome == "free"
    assert policy.evaluate(facts, "2025-06-01").outcome == "refused"  # eight today, and two miles is not enough
    assert policy.evaluate(facts, "2025-06-01", trace=False).outcome == "refused"


@pytest.mark.parametrize(
    ("start", "end", "years", "months", "days"),
    [
        (date(2008, 2, 29), date(2025, 2, 28), 16, 203, 6209),
        (date(2008, 2, 29), date(2025, 3, 1), 17, 204, 6210),
        (date(2008, 2, 29), date(2024, 2, 29), 16, 192, 5844),
        (date(2024, 1, 31), date(2024, 2, 29), 0, 0, 29),
        (date(2024, 1, 31), date(2024, 3, 1), 0, 1, 30),
        (date(2010, 5, 1), date(2010, 5, 1), 0, 0, 0),
        (date(2018, 5, 1), date(2010, 5, 2), -7, -95, -2921),
    ],
)
def test_whole_years_months_and_days_count_anniversaries(start: date, end: date, years: int, months: int, days: int) -> None:
    assert (dates.whole_years(start, end), dates.whole_months(start, end), dates.days(start, end)) == (years, months, days)


@pytest.mark.parametrize(
    ("day", "length", "moved"),
    [
        (date(2024, 1, 31), dates.period(1, "month"), date(2024, 2, 29)),
        (date(2024, 2, 29), dates.period(1, "year"), date(2025, 2, 28)),
        (date(2024, 12, 31), dates.period(2, "months"), date(2025, 2, 28)),
        (date(2024, 3, 1), dates.period(2, "weeks"), date(2024, 3, 15)),
        (date(2024, 3, 31), dates.period(-1, "month"), date(2024, 2, 29)),
    ],
)
def test_a_period_moves_a_date_to_the_last_day_of_a_short_month(day: date, length: dates.Period, moved: date) -> None:
    assert dates.add(day, length) == moved


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_the_calendar_agrees_with_counting_one_anniversary_at_a_time(start: date, end: date) -> None:
    for unit, count in (("years", dates.whole_years), ("months", dates.whole_months), ("days", dates.days)):
        assert count(start, end) == form_corpus._oracle_count(unit, start, end), unit
    length = (14, 3)
    assert dates.add(start, dates.Period(*length)) == form_corpus._oracle_shift(start, length, 1)
    assert dates.subtract(start, dates.Period(*length)) == form_corpus._oracle_shift(start, length, -1)


def test_periods_equal_by_length_and_show_as_written() -> None:
    assert dates.period(1, "year") == dates.period(12, "months")
    assert hash(dates.period(1, "year")) == hash(dates.period(12, "months"))
    assert str(dates.period(1, "year")) == "1 year"
    assert dates.period(2, "weeks") == dates.period(14, "days")


def _errors(text: str) -> list[str]:
    _model, diagnostics = analyse({"p.rules": text}, "p")
    return [f"{d.span}: {d.message}" for d in diagnostics if d.severity == "error"]


POLICY_HEAD = """\
policy "p"
  outcome d
fact born is date
fact count is whole number
decision d
  outcomes a, b
rule base
  by default d is a
rule other
  exception to base
"""


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "born + 8 is before today",
            "cannot add `born` (a date) and `8` (a whole number); a date moves by a period, like `born + 8 months` (or days, weeks, years)",
        ),
        (
            "today - born is above 3",
            "cannot subtract `today` (a date) and `born` (a date); count between two dates with `days from born to today` (or months, years)",
        ),
        (
            "count + 3 months is above 2",
            "cannot add `count` (a whole number) and `3 months` (a period); a period is a length of time, not a number: add it to a date",
        ),
        ("years from count to today is above 2", "`years from ... to ...` counts between two dates, but `count` is a whole number"),
        ("born is within 3 of today", "`is within` reads `DATE is within PERIOD of DATE`, but `3` is a whole number; write 12 months there"),
        (
            "count is not within 3 months of today",
            "`is not within` reads `DATE is not within PERIOD of DATE`, but `count` is a whole number; write a date there",
        ),
    ],
)
def test_dates_and_periods_are_typed_and_messages_say_which_form_to_use(condition: str, message: str) -> None:
    found = _errors(POLICY_HEAD + f"  when {condition}\n  then d is b\n")
    assert [m.split(": ", 1)[1] for m in found] == [message]
    assert found[0].startswith("p.rules:11:")


def test_a_period_is_a_whole_number_of_units() -> None:
    found = _errors(POLICY_HEAD + "  when born + 1.5 years is before today\n  then d is b\n")
    assert found == ["p.rules:11:15: `1.5 years` is not a period; write a whole number of years, like `3 years`"]


def test_the_guide_says_what_follows_when_a_date_form_is_cut_short() -> None:
    found = _errors(POLICY_HEAD + "  when years from born\n  then d is b\n")
    assert len(found) == 1 and "expected `to`" in found[0]


# --- unknown operands: needed facts exact against brute force ---------------------------------

UNKNOWN_RULES = """\
policy "Dates unknown"
  version "1"
  outcome result

fact born is date
fact applied is date
fact urgent is yes/no

decision result
  outcomes yes_r, no_r

rule no_by_default
  by default result is no_r

rule young
  exception to no_by_default
  when years from born to today is below 5 and urgent
  then result is yes_r

rule recent
  exception to no_by_default
  when applied is within 30 days of today and not urgent
  then result is yes_r
"""


# ``check_against_brute_force`` decides on 2020-01-01: the dates sit on both sides of each boundary from there.
@given(
    born=st.sampled_from([None, "2016-06-01", "2015-01-02", "2015-01-01"]),
    applied=st.sampled_from([None, "2019-12-02", "2019-12-01", "2020-01-31", "2020-02-01"]),
    urgent=st.sampled_from([None, True, False]),
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_needed_facts_with_unknown_dates_are_exact_against_brute_force(born: str | None, applied: str | None, urgent: bool | None) -> None:
    policy = policy_from_sources({"u.rules": UNKNOWN_RULES}, "u")
    known = {k: v for k, v in {"born": born, "applied": applied, "urgent": urgent}.items() if v is not None}
    # Each missing date ranges over values on both sides of every boundary the rules draw.
    domains = {
        "born": ("2016-06-01", "2015-01-02", "2015-01-01"),
        "applied": ("2019-12-02", "2019-12-01", "2020-01-31", "2020-02-01"),
        "urgent": (True, False),
    }
    missing = {k: v for k, v in domains.items() if k not in known}
    check_against_brute_force(policy, known, missing, lambda values: {**known, **values})


def test_a_recent_application_is_judged_on_the_decision_date() -> None:
    policy = policy_from_sources({"u.rules": UNKNOWN_RULES}, "u")
    facts = {"born": "2010-01-01", "applied": str(date(2025, 1, 15) - timedelta(days=30)), "urgent": False}
    assert policy.evaluate(facts, "2025-01-15").outcome == "yes_r"
    assert policy.evaluate(facts, "2025-01-16").outcome == "no_r"


@pytest.mark.parametrize("trace", [False, True])
def test_a_date_moved_beyond_the_calendar_is_an_error_that_says_where(policy, trace: bool) -> None:  # type: ignore[no-untyped-def]
    facts = {"date_of_birth": "9999-06-01", "applied_on": "2025-01-01", "miles": 2, "low_income": True}
    with pytest.raises(PolicyError) as caught:
        policy.evaluate(facts, AS_OF, trace=trace)
    assert str(caught.value) == (
        "transport.rules:38:23: error: this date calculation cannot be made for service '#1': "
        "9999-06-01 moved by 11 years would fall outside the years 1 to 9999"
    )


def test_a_window_reaching_beyond_the_calendar_is_open_on_that_side() -> None:
    assert dates.within(date(1, 1, 1), dates.period(12, "months"), date(1, 6, 1))
    assert dates.within(date(9999, 12, 31), dates.period(1, "year"), date(9999, 6, 1))
    assert not dates.within(date(9998, 1, 1), dates.period(1, "month"), date(9999, 12, 31))
    with pytest.raises(dates.OutsideCalendar):
        dates.subtract(date(1, 1, 1), dates.period(1, "day"))


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(min_value=0, max_value=40_000), st.booleans())
@settings(max_examples=500, deadline=None, derandomize=True)
def test_whole_years_counted_directly_agree_with_whole_months(start: date, later: int, leap_day: bool) -> None:
    """``whole_years`` counts yearly anniversaries without counting months; it must agree with twelve whole months a year, 29 February included."""
    if leap_day:
        start = date(2000 + 4 * (start.year % 25), 2, 29)
    end = start + timedelta(days=later)
    assert dates.whole_years(start, end) == dates.whole_months(start, end) // 12
    assert dates.whole_years(end, start) == -(dates.whole_months(start, end) // 12)
