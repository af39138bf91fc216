"""The planner against brute force: on small registers, every schedule is tried and the best one's objective must be the plan's.

The constraints and the objective are written here again from the issue's
words, not taken from the planner: a service moves in its contract's quarter
or later, a phased one after its preparation, staff per quarter and added
yearly cost per programme year within the capacity; high-priority services
first (fewest left out, then earliest), then standard ones, then fewest
contracts run past their end.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_rules.planner.plan import Plan, plan
from tests.support.plan_policy import NAMES, plan_policy, service

# The planner is the optional extra `plan` (which the `test` extra includes).
pytest.importorskip("ortools")

START = date(2027, 1, 1)  # 2027-Q1, the programme's first quarter in every test here
KINDS = ("in_house", "phased", "hybrid", "procure")


def quarter_date(offset: int, day: int) -> str:
    """A date ``day`` days into the quarter ``offset`` quarters from the start (negative: before it)."""
    year, quarter = divmod(2027 * 4 + offset, 4)
    return (date(year, quarter * 3 + 1, 1) + timedelta(days=day)).isoformat()


@st.composite
def registers(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, int | None, int | None, int]:
    horizon = draw(st.integers(1, 5))
    rows = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(KINDS))
        facts = service(
            f"service {i}",
            ends=quarter_date(draw(st.integers(-2, horizon + 1)), draw(st.integers(0, 89))),
            heads=draw(st.integers(0, 6)),
            spend=1000 * draw(st.integers(0, 5)),
            cost=1000 * draw(st.integers(0, 5)),
            urgent=draw(st.booleans()),
            skills=kind != "phased" and draw(st.booleans()) if kind == "hybrid" else kind != "phased",
            keep_out=kind == "procure",
        )
        if kind == "hybrid":
            facts["parts"] = [{"name": "ordinary", "specialist": False}, {"name": "specialist", "specialist": True}]
        rows.append(facts)
    staff = draw(st.one_of(st.none(), st.integers(2, 8)))
    budget = draw(st.one_of(st.none(), st.integers(0, 10).map(lambda n: n * 1000)))
    return rows, horizon, staff, budget, draw(st.integers(0, 2))


def quarter_offset(label: str) -> int:
    year, q = label.split("-Q")
    return int(year) * 4 + int(q) - 1 - 2027 * 4


def end_offset(ends: str) -> int:
    day = date.fromisoformat(ends)
    return day.year * 4 + (day.month - 1) // 3 - 2027 * 4


def feasible(rows: list[dict[str, Any]], quarters: tuple[int | None, ...], horizon: int, staff: int | None, budget: int | None, prep: int) -> bool:
    per_quarter = [0] * horizon
    per_year: dict[int, int] = {}
    for facts, q in zip(rows, quarters, strict=True):
        if q is None:
            continue
        if q < end_offset(facts["ends"]) or (not facts["skills"] and q < prep) or not 0 <= q < horizon:
            return False
        per_quarter[q] += facts["heads"]
        per_year[q // 4] = per_year.get(q // 4, 0) + max(0, facts["cost"] - facts["spend"])
    return (staff is None or max(per_quarter) <= staff) and (budget is None or all(v <= budget for v in per_year.values()))


def objective(rows: list[dict[str, Any]], quarters: tuple[int | None, ...], horizon: int) -> tuple[int, ...]:
    key = [0, 0, 0, 0, 0]
    for facts, q in zip(rows, quarters, strict=True):
        tier = 0 if facts["urgent"] else 2
        end = end_offset(facts["ends"])
        if q is None:
            key[tier] += 1
            key[4] += end < horizon
        else:
            key[tier + 1] += q
            key[4] += q > end
    return tuple(key)


def best_by_brute_force(rows: list[dict[str, Any]], horizon: int, staff: int | None, budget: int | None, prep: int) -> tuple[int, ...]:
    options = [None, *range(horizon)]
    return min(
        objective(rows, quarters, horizon)
        for quarters in itertools.product(options, repeat=len(rows))
        if feasible(rows, quarters, horizon, staff, budget, prep)
    )


def planned(rows: list[dict[str, Any]], horizon: int, staff: int | None, budget: int | None, prep: int) -> Plan:
    return plan(
        plan_policy(),
        rows,
        start="2027-01",
        quarters=horizon,
        staff_per_quarter=staff,
        budget_per_year=budget,
        preparation_quarters=prep,
        as_of="2027-01-01",
        names=NAMES,
        workers=1,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registers())
def test_plan_is_optimal_by_brute_force_and_holds_every_constraint(case: tuple[list[dict[str, Any]], int, int | None, int | None, int]) -> None:
    rows, horizon, staff, budget, prep = case
    result = planned(rows, horizon, staff, budget, prep)
    assert [s.service for s in result.services] == [r["service"] for r in rows]
    in_house = [(facts, s) for facts, s in zip(rows, result.services, strict=True) if not facts["keep_out"]]
    for facts, s in zip(rows, result.services, strict=True):
        if facts["keep_out"]:
            assert (s.outcome, s.quarter, s.waits_for) == ("procure", None, ("not_in_house",))
    schedule = tuple(quarter_offset(s.quarter) if s.quarter else None for _facts, s in in_house)
    considered = [facts for facts, _s in in_house]
    assert feasible(considered, schedule, horizon, staff, budget, prep)
    assert result.optimal
    assert objective(considered, schedule, horizon) == best_by_brute_force(considered, horizon, staff, budget, prep)
    for use in result.quarters:
        moving = [facts for facts, s in in_house if s.quarter == use.quarter]
        assert use.staff == sum(f["heads"] for f in moving)
        assert use.added_cost == sum(max(0, f["cost"] - f["spend"]) for f in moving)
        assert use.services == len(moving)
    past_end = {
        s.service
        for (facts, s), q in zip(in_house, schedule, strict=True)
        if (q is None and end_offset(facts["ends"]) < horizon) or (q is not None and q > end_offset(facts["ends"]))
    }
    assert {e.service for e in result.extensions} == past_end


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registers())
def test_every_wait_has_a_reason_that_holds(case: tuple[list[dict[str, Any]], int, int | None, int | None, int]) -> None:
    """In an optimal plan, a service later than its first possible quarter is kept from each earlier one by staff or budget, as its reason says."""
    rows, horizon, staff, budget, prep = case
    result = planned(rows, horizon, staff, budget, prep)
    by_quarter: dict[str, list[dict[str, Any]]] = {}
    for facts, s in zip(rows, result.services, strict=True):
        if s.quarter is not None:
            by_quarter.setdefault(s.quarter, []).append(facts)
    for facts, s in zip(rows, result.services, strict=True):
        if s.quarter is None or s.earliest_quarter is None:
            continue
        first, at = quarter_offset(s.earliest_quarter), quarter_offset(s.quarter)
        assert first == max(0, end_offset(facts["ends"]), 0 if facts["skills"] else prep)
        assert "time_limit" not in s.waits_for
        if at > first:
            assert {"staff_capacity", "budget"} & set(s.waits_for)
        if at == first == end_offset(facts["ends"]) > 0:
            assert "contract" in s.waits_for
