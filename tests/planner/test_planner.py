"""The planner's placements and their reasons, one register per reason a service can wait or be left out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import policy_rules
from policy_rules.errors import FactsError, UsageError
from policy_rules.planner import quarters as qt
from policy_rules.planner.plan import Plan, PlanNames, plan, read_money
from policy_rules.planner.solver import Candidate, Capacity
from tests.support.plan_policy import NAMES, RULES, plan_policy, service

# The planner is the optional extra `plan` (which the `test` extra includes).
pytest.importorskip("ortools")


def planned(rows: list[dict[str, Any]], **capacity: Any) -> Plan:
    settings: dict[str, Any] = {"start": "2027-01", "quarters": 8, "as_of": "2027-01-01", "names": NAMES, "workers": 1, **capacity}
    return plan(plan_policy(), rows, **settings)


def by_name(result: Plan) -> dict[str, Any]:
    return {s.service: s for s in result.services}


def test_waits_for_its_contract() -> None:
    s = by_name(planned([service("Parks", ends="2027-08-31")]))["Parks"]
    assert (s.quarter, s.earliest_quarter, s.waits_for) == ("2027-Q3", "2027-Q3", ("contract",))
    assert s.reason == "waits for its contract, which ends on 2027-08-31 (2027-Q3)"
    assert s.extension_quarters is None


def test_a_contract_ended_before_the_start_moves_first_and_runs_past_its_end() -> None:
    result = planned([service("Old", ends="2026-05-31")])
    s = by_name(result)["Old"]
    assert (s.quarter, s.waits_for, s.extension_quarters) == ("2027-Q1", (), 3)
    assert s.reason.startswith("moves in the programme's first quarter; its contract ended on 2026-05-31, before the programme starts")
    assert [(e.service, e.ends_in, e.moves_in, e.quarters) for e in result.extensions] == [("Old", "2026-Q2", "2027-Q1", 3)]


def test_a_phased_service_waits_for_its_preparation() -> None:
    s = by_name(planned([service("Care", skills=False)], preparation_quarters=3))["Care"]
    assert (s.outcome, s.quarter, s.preparation_from, s.waits_for) == ("in_house_phased", "2027-Q4", "2027-Q1", ("preparation",))
    assert (
        s.reason == "preparation for phasing: skills are built for 3 quarters first; its contract must be extended by 3 quarters, from 2027-01-15 into 2027-Q4"
    )
    assert s.extension_quarters == 3


def test_a_full_quarter_makes_the_standard_service_wait_for_the_high_one() -> None:
    rows = [service("Standard", heads=5), service("Urgent", heads=5, urgent=True)]
    found = by_name(planned(rows, staff_per_quarter=6))
    assert (found["Urgent"].quarter, found["Urgent"].priority, found["Urgent"].waits_for) == ("2027-Q1", "high", ())
    assert (found["Standard"].quarter, found["Standard"].waits_for, found["Standard"].extension_quarters) == ("2027-Q2", ("staff_capacity",), 1)
    assert "staff capacity full for its 5 staff in 2027-Q1 (5 of 6 staff taken)" in found["Standard"].reason


def test_a_spent_yearly_budget_moves_a_service_into_the_next_programme_year() -> None:
    rows = [service("First", cost=900, spend=100, urgent=True), service("Second", cost=700, spend=100)]
    result = planned(rows, budget_per_year=1000)
    found = by_name(result)
    assert (found["First"].quarter, found["First"].added_cost) == ("2027-Q1", 800)
    assert (found["Second"].quarter, found["Second"].waits_for) == ("2028-Q1", ("budget",))
    assert "budget: no room for its £600 a year in year 1 (2027-Q1 to 2027-Q4: £800 of £1,000 committed)" in found["Second"].reason
    assert [(q.quarter, q.year, q.year_added_cost) for q in result.quarters if q.added_cost] == [("2027-Q1", 1, 800), ("2028-Q1", 2, 600)]


def test_savings_do_not_pay_for_another_service() -> None:
    rows = [service("Saving", cost=100, spend=900), service("Costly", cost=900, spend=100)]
    found = by_name(planned(rows, budget_per_year=500))
    assert (found["Saving"].quarter, found["Saving"].added_cost) == ("2027-Q1", 0)
    assert found["Costly"].quarter is None
    assert found["Costly"].waits_for == ("budget",)
    assert found["Costly"].reason.startswith("not scheduled: it adds £800 a year, more than the £500 budget for a year")


def test_too_many_staff_for_any_quarter_is_not_scheduled() -> None:
    s = by_name(planned([service("Waste", heads=12, ends="2027-05-01")], staff_per_quarter=10))["Waste"]
    assert (s.quarter, s.waits_for) == (None, ("staff_capacity",))
    assert s.reason == (
        "not scheduled: 12 staff would move at once, more than the 10 the council can take on in a quarter; "
        "its contract, ending on 2027-05-01, must run past the programme's last quarter (2028-Q4)"
    )


def test_a_contract_ending_after_the_programme_is_not_scheduled_and_needs_no_extension() -> None:
    result = planned([service("Late", ends="2030-02-01")])
    s = by_name(result)["Late"]
    assert (s.quarter, s.waits_for) == (None, ("contract",))
    assert s.reason == "not scheduled: its contract ends on 2030-02-01 (2030-Q1), after the programme's last quarter (2028-Q4)"
    assert result.extensions == ()


def test_a_preparation_longer_than_the_programme_is_not_scheduled() -> None:
    s = by_name(planned([service("Slow", skills=False)], quarters=2, preparation_quarters=2))["Slow"]
    assert (s.quarter, s.waits_for) == (None, ("preparation",))
    assert s.reason.startswith(
        "not scheduled: after 2 quarters of preparation it cannot move before 2027-Q3, after 2027-Q2; its contract, ending on 2027-01-15"
    )


def test_every_quarter_full_leaves_the_standard_service_out() -> None:
    rows = [service("A", heads=4, urgent=True), service("B", heads=4, urgent=True), service("C", heads=4)]
    found = by_name(planned(rows, staff_per_quarter=4, quarters=2))
    assert {found["A"].quarter, found["B"].quarter} == {"2027-Q1", "2027-Q2"}
    assert (found["C"].quarter, found["C"].waits_for) == (None, ("staff_capacity",))
    assert found["C"].reason.startswith(
        "not scheduled from 2027-Q1 to 2027-Q2: no quarter has room; staff capacity full for its 4 staff in 2027-Q1 (4 of 4 staff taken)"
    )


def test_fewer_contracts_past_their_end_breaks_a_tie() -> None:
    """Two standard services, one slot each quarter: the one whose contract ends first goes first, so neither runs past its end."""
    rows = [service("Ends later", heads=3, ends="2027-05-01"), service("Ends first", heads=3, ends="2027-02-01")]
    result = planned(rows, staff_per_quarter=3)
    assert [(s.service, s.quarter) for s in result.services] == [("Ends later", "2027-Q2"), ("Ends first", "2027-Q1")]
    assert result.extensions == ()


def test_a_hybrid_service_moves_its_in_house_parts() -> None:
    parts = [{"name": "Cleaning", "specialist": False}, {"name": "Lifts", "specialist": True}]
    s = by_name(planned([service("Facilities", parts=parts, heads=7)]))["Facilities"]
    assert (s.outcome, s.quarter, s.in_house_parts, s.external_parts, s.staff) == ("hybrid", "2027-Q1", ("Cleaning",), ("Lifts",), 7)


def test_services_not_brought_in_house_and_undetermined_ones_are_listed() -> None:
    rows = [service("Bought", keep_out=True), service("Unsure", skills=None), service("No date", ends=None)]
    result = planned(rows, staff_per_quarter=5)
    found = by_name(result)
    assert (found["Bought"].quarter, found["Bought"].waits_for) == (None, ("not_in_house",))
    assert found["Bought"].reason == "not brought in-house: the rules decide procure (rule procure_when_kept_out)"
    assert (found["Unsure"].outcome, found["Unsure"].needed_facts, found["Unsure"].waits_for) == ("undetermined", ("skills",), ("needs_facts",))
    assert found["No date"].needed_facts == ("ends",)
    assert found["No date"].reason == "brought in-house, but it cannot be placed in a quarter yet: needs ends"
    assert result.scheduled == ()


def test_staff_are_needed_only_when_staff_are_limited() -> None:
    rows = [service("Headless", heads=None)]
    assert by_name(planned(rows))["Headless"].quarter == "2027-Q1"
    assert by_name(planned(rows, staff_per_quarter=3))["Headless"].needed_facts == ("heads",)


def test_negative_staff_is_a_facts_error_naming_the_service() -> None:
    with pytest.raises(FactsError, match="-2 staff cannot transfer") as caught:
        planned([service("Odd", heads=-2)])
    assert caught.value.fact == "heads"


def test_a_fact_the_policy_does_not_declare_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"declares no fact `contract_end_date`.*--fact contract_end=NAME"):
        plan(plan_policy(), [service("A")], start="2027-01", as_of="2027-01-01")
    with pytest.raises(UsageError, match="`service` is a text"):
        plan(plan_policy(), [service("A")], names=PlanNames(contract_end="ends", staff="service"), as_of="2027-01-01")


def test_the_plan_json_has_the_contract_keys() -> None:
    data = planned([service("A"), service("B", keep_out=True)]).to_dict()
    assert data["optimal"] is True
    assert data["quarters"][0] == {
        "quarter": "2027-Q1",
        "staff": 1,
        "added_cost": 0,
        "services": 1,
        "staff_capacity": None,
        "year": 1,
        "year_added_cost": 0,
        "budget_per_year": None,
    }
    assert [(s["service"], s["quarter"], s["outcome"], s["priority"]) for s in data["services"]] == [
        ("A", "2027-Q1", "in_house", "standard"),
        ("B", None, "procure", "not_applicable"),
    ]
    assert all(isinstance(s["reason"], str) and s["reason"] for s in data["services"])


def test_the_facade_exports_plan(tmp_path: Path) -> None:
    """``policy_rules.plan`` is the planner's ``plan``, given a loaded policy or a rule folder to load."""
    (tmp_path / "programme.rules").write_text(RULES, encoding="utf-8")
    rows = [service("A"), service("B")]
    settings: dict[str, Any] = {"start": "2027-01", "quarters": 8, "as_of": "2027-01-01", "names": NAMES, "workers": 1}

    def planned(policy: Any) -> dict[str, Any]:
        found = policy_rules.plan(policy, rows, **settings).to_dict()
        return {**{k: v for k, v in found.items() if k not in ("seconds", "policy")}, "name": found["policy"]["name"]}

    found = plan(plan_policy(), rows, **settings).to_dict()
    expected = {**{k: v for k, v in found.items() if k not in ("seconds", "policy")}, "name": found["policy"]["name"]}
    assert planned(plan_policy()) == expected
    assert planned(tmp_path) == expected
    assert policy_rules.PlanNames is PlanNames


@pytest.mark.parametrize(
    ("text", "quarter"),
    [("2027-01", "2027-Q1"), ("2027-04", "2027-Q2"), ("2027-12", "2027-Q4"), ("2028-q3", "2028-Q3")],
)
def test_start_months_and_quarters(text: str, quarter: str) -> None:
    assert qt.label(qt.parse_start(text)) == quarter


@pytest.mark.parametrize("text", ["2027-13", "2027", "April 2027", "2027-Q5", "27-01"])
def test_a_start_that_is_not_a_month_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="is not a month"):
        qt.parse_start(text)


@pytest.mark.parametrize(("text", "pounds"), [("1500000", 1_500_000), ("£1,500,000", 1_500_000), ("2500.75", 2500), (300, 300)])
def test_money_for_the_budget(text: object, pounds: int) -> None:
    assert read_money(text) == pounds


@pytest.mark.parametrize("text", ["-5", "lots", "1.5m", True])
def test_a_budget_that_is_not_money_is_refused(text: object) -> None:
    with pytest.raises(UsageError, match="not an amount of money"):
        read_money(text)


def test_a_wait_with_room_earlier_is_put_down_to_the_time_limit() -> None:
    """A plan cut short by the time limit can leave room unused; the reason says so rather than blame capacity."""
    from policy_rules.planner.plan import _Explainer

    explainer = _Explainer(Capacity(4, 10, None), qt.parse_start("2027-01"), 0, [0, 0, 5, 0], [0])
    reason, waits, _extension = explainer.why(Candidate(5, 0, 0, -1, False), 2, False, qt.first_day(qt.parse_start("2026-10")))
    assert waits == ("time_limit",)
    assert "2027-Q1, 2027-Q2 had room: the solver stopped at its time limit" in reason


def test_without_or_tools_the_plan_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ortools.sat.python", None)
    with pytest.raises(UsageError, match=r"planning needs OR-Tools, which is not installed; install it with `pip install 'policy-rules\[plan\]'`"):
        planned([service("A")])


def test_without_jinja2_the_page_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_rules.planner import report as render

    made = planned([service("A")])
    monkeypatch.setitem(sys.modules, "jinja2", None)
    with pytest.raises(UsageError, match=r"the HTML plan needs matplotlib and Jinja2"):
        render.to_html(made)
