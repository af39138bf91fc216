"""Amounts: valued decisions, results, and the forms that work out a value, in every mode, with exact needed facts."""

from __future__ import annotations

import itertools
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_rules import load_policy
from policy_rules.engine import amounts
from policy_rules.errors import ConflictError, RuleFileError
from policy_rules.testing.cases import read_cases, run_case
from tests.support.schema_check import validate_decision

AS_OF = date(2025, 1, 1)
ROOT = Path(__file__).resolve().parents[2]

GRANT = """
policy "Grant"
  version "1"
  service name service
  outcome eligibility
  results grant, contribution, works_total

fact service is text
fact income is money
fact passport_benefit is yes/no
fact maximum_grant is money
record work
  field cost is money
  field eligible is yes/no
fact works is list of work

decision eligibility
  outcomes eligible, not_eligible
rule eligible_by_default
  by default eligibility is eligible
rule nothing_to_pay_for
  exception to eligible_by_default
  when works_total is at most £0
  then eligibility is not_eligible

decision contribution is money
rule contribution_from_income
  by default contribution is (if income is above £20,000 then (income - £20,000) * 25% else £0) rounded down to the pound
rule no_contribution_on_benefit
  exception to contribution_from_income
  when passport_benefit
  then contribution is £0

define works_total as
  total of w.cost for each w in works where (w.eligible)

decision grant is money
rule grant_paid
  by default grant is the smaller of (the greater of (works_total - contribution) and £0) and maximum_grant
"""


def _policy(tmp_path: Path, text: str, name: str = "p.rules") -> Any:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_policy(path)


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RuleFileError) as raised:
        _policy(tmp_path, text)
    return [d.message for d in raised.value.diagnostics if d.severity == "error"]


def _every_mode(policy: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """The JSON decision, the same by the generated code (trace off and on), in batches and by the three-valued reference."""
    off = policy.evaluate(facts, AS_OF, trace=False).to_dict()
    on = policy.evaluate(facts, AS_OF, trace=True).to_dict()
    typed, service = policy.facts_of(facts)
    assert policy.decide_in_full(typed, service, AS_OF, trace=False).to_dict() == off
    assert policy.decide_in_full(typed, service, AS_OF, trace=True).to_dict() == on
    assert [d.to_dict() for d in policy.evaluate_many([facts], AS_OF)] == [off]
    assert {k: v for k, v in on.items() if k != "trace"} == {k: v for k, v in off.items() if k != "trace"}
    validate_decision(on)
    validate_decision(off, trace=False)
    return on


FULL = {
    "service": "A",
    "income": 30000,
    "passport_benefit": False,
    "maximum_grant": 30000,
    "works": [{"cost": 12000, "eligible": True}, {"cost": 500, "eligible": False}],
}


def test_amount_results_in_every_mode(tmp_path: Path) -> None:
    policy = _policy(tmp_path, GRANT)
    decision = _every_mode(policy, FULL)
    assert decision["results"] == {"grant": "9500.00", "contribution": "2500.00", "works_total": "12000.00"}
    assert decision["needed_facts"] == []
    assert policy.evaluate(FULL, AS_OF, trace=False) is not None
    assert policy.decide_fast(FULL, AS_OF) is not None  # every fact known: the generated code decides alone


def test_the_greater_the_smaller_and_rounding(tmp_path: Path) -> None:
    policy = _policy(tmp_path, GRANT)
    # income 20,001.99: contribution (1.99 * 25% = 0.4975) rounded down to the pound is £0
    assert _every_mode(policy, {**FULL, "income": "20001.99"})["results"]["contribution"] == "0.00"
    # contribution above the works: the greater of (negative) and £0 is £0
    assert _every_mode(policy, {**FULL, "income": 100000})["results"]["grant"] == "0.00"
    # the maximum caps the grant
    assert _every_mode(policy, {**FULL, "maximum_grant": 9000})["results"]["grant"] == "9000.00"
    assert _every_mode(policy, {**FULL, "works": []})["outcome"] == "not_eligible"


def test_the_trace_explains_each_calculation_with_its_operands(tmp_path: Path) -> None:
    policy = _policy(tmp_path, GRANT)
    decision = policy.evaluate(FULL, AS_OF, trace=True)
    calculations = [e.calculation for e in decision.trace if getattr(e, "calculation", None)]
    assert calculations == [
        "works_total = total of w.cost for each w in works where (w.eligible) = £12,000",
        "contribution = (if income £30,000 is above £20,000 then (income £30,000 - £20,000) * 25% else £0) rounded down to the pound = £2,500",
        "grant = the smaller of (the greater of (works_total £12,000 - contribution £2,500) and £0) and maximum_grant £30,000 = £9,500",
    ]
    from policy_rules.renderers.reports import explain_text, html_report, markdown_report

    text = explain_text(decision)
    assert "  Results:\n    grant: £9,500\n    contribution: £2,500\n    works_total: £12,000\n" in text
    assert "  calculation: grant = the smaller of" in text
    assert "| `grant` | £9,500 |" in markdown_report(decision)
    assert "<td><code>grant</code></td><td>£9,500</td>" in html_report(decision)


def test_an_unknown_amount_is_null_and_needs_the_facts_it_is_worked_out_from(tmp_path: Path) -> None:
    policy = _policy(tmp_path, GRANT)
    missing = {k: v for k, v in FULL.items() if k != "income"}
    decision = _every_mode(policy, missing)
    assert decision["outcome"] == "eligible"
    assert decision["results"] == {"grant": None, "contribution": None, "works_total": "12000.00"}
    # the outcome is settled: the income is needed by the results alone
    assert decision["needed_facts"] == []
    assert decision["results_needed"] == ["income"]
    # on a passport benefit the income does not matter
    decision = _every_mode(policy, {**missing, "passport_benefit": True})
    assert decision["results"]["grant"] == "12000.00"
    assert decision["needed_facts"] == decision["results_needed"] == []
    # an item's missing cost leaves the total unknown and is needed; an ineligible item's cost is not
    works = [{"cost": 12000, "eligible": True}, {"eligible": False}, {"eligible": True}]
    decision = _every_mode(policy, {**FULL, "works": works})
    assert decision["results"]["works_total"] is None
    # the outcome asks whether the total is at most £0, which the engine leaves to the cost: the decision needs it
    assert decision["outcome"] == "undetermined"
    assert decision["needed_facts"] == ["works[2].cost"]
    assert decision["results_needed"] == []
    # once the outcome is settled by another fact, the cost is needed by the results alone
    policy = _policy(tmp_path, GRANT.replace("when works_total is at most £0", "when passport_benefit and income is above £1,000,000"))
    decision = _every_mode(policy, {**FULL, "works": works})
    assert decision["outcome"] == "eligible"
    assert (decision["needed_facts"], decision["results_needed"]) == ([], ["works[2].cost"])


BRUTE = """
policy "brute"
  outcome d
  results amount

fact a is yes/no
fact b is yes/no
fact x is money
fact y is money

decision d
  outcomes low, high
rule low_default
  by default d is low
rule high_when
  exception to low_default
  when (if a then x else y) is above £10
  then d is high

decision amount is money
rule base
  by default amount is if b then the greater of x and £5 else £3
rule on_a
  exception to base
  when a
  then amount is (y rounded up to the pound) + £0
"""

DOMAINS = {"a": (True, False), "b": (True, False), "x": (Decimal(2), Decimal(7), Decimal(20)), "y": (Decimal("2.5"), Decimal(11), Decimal(30))}


@pytest.mark.parametrize("known", [dict(zip(DOMAINS, values, strict=True)) for values in itertools.product(*((None, *d) for d in DOMAINS.values()))][::7])
def test_needed_facts_are_exact_against_brute_force(tmp_path: Path, known: dict[str, Any]) -> None:
    """Every completion of the missing facts decided: a fact is needed by the decision exactly when some change of it alone changes the outcome,
    and by the results when it changes the amount but never the outcome."""
    policy = _policy(tmp_path, BRUTE)
    given = {k: v for k, v in known.items() if v is not None}
    missing = [k for k in DOMAINS if k not in given]
    results = {}
    for values in itertools.product(*(DOMAINS[k] for k in missing)):
        d = policy.evaluate({**given, **dict(zip(missing, values, strict=True))}, AS_OF, trace=False)
        results[values] = (d.outcome, d.to_dict()["results"]["amount"])

    def changing(part: slice) -> list[str]:
        found = []
        for i, name in enumerate(missing):
            others = [DOMAINS[k] for j, k in enumerate(missing) if j != i]
            if any(len({results[(*rest[:i], v, *rest[i:])][part] for v in DOMAINS[name]}) > 1 for rest in itertools.product(*others)):
                found.append(name)
        return found

    needed = changing(slice(0, 1))
    decision = _every_mode(policy, given)
    assert decision["needed_facts"] == needed
    assert decision["results_needed"] == [name for name in changing(slice(0, 2)) if name not in needed]
    outcomes = {r[0] for r in results.values()}
    amounts = {r[1] for r in results.values()}
    assert decision["outcome"] == (outcomes.pop() if len(outcomes) == 1 else "undetermined")
    assert decision["results"]["amount"] == (amounts.pop() if len(amounts) == 1 else None)


VALUED_CONFLICT = """
policy "p"
  outcome d
  results amount
fact a is yes/no
fact b is yes/no
decision d
  outcomes x
rule dd
  by default d is x
decision amount is money
rule base
  by default amount is £1
rule from_a
  exception to base
  when a
  then amount is £5
rule from_b
  exception to base
  when b
  then amount is £5.00
rule from_both
  exception to base
  when a and b
  then amount is £6
"""


def test_valued_rules_agree_on_one_value_and_conflict_on_two(tmp_path: Path) -> None:
    text = VALUED_CONFLICT.replace("rule from_both", "rule unused_both").replace(
        "exception to base\n  when a and b", "exception to from_a\n  when a and b and no"
    )
    agreeing = _policy(tmp_path, text.replace("when a and b and no", "when no"), "agree.rules")
    decision = _every_mode(agreeing, {"a": True, "b": True})
    assert decision["results"] == {"amount": "5.00"}
    conflicting = _policy(tmp_path, VALUED_CONFLICT, "conflict.rules")
    for trace in (False, True):
        with pytest.raises(ConflictError) as raised:
            conflicting.evaluate({"a": True, "b": True}, AS_OF, trace=trace)
        message = str(raised.value)
        assert "from_a" in message and "from_both" in message
        for label in ("from_a", "from_both"):
            assert f"conflict.rules:{conflicting.model.rules[label].span.line}" in message


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("decision g is money outcomes a\nrule r by default g is £1", "decision `g` works out money, so it has no outcomes; remove `outcomes` or the type"),
        ('decision g is text\nrule r by default g is "x"', "a decision can work out money, number, whole number, percentage, date, yes/no, not text"),
        ("decision g is whole number\nrule r by default g is 1.5", "round it, like `1.5 rounded to the nearest whole number`"),
        ("decision g is money\nrule r by default g is 12", "decision `g` works out money, but `12` is a whole number; write an amount as money, like £1,000"),
        ("decision g is money\nrule r by default g is the greater of £1 and 2020-01-01", "`the greater of` compares two numbers, amounts of money or dates"),
        (
            "decision g is money\nrule r by default g is 5 rounded to the nearest penny",
            "`5` is a whole number, not money, so it has no pennies or pounds; round it to the nearest whole number instead",
        ),
        ("decision g is money\nrule r by default g is if yes then £1 else 2", "write an amount of money as money, like £0"),
        ("decision g is money\nrule r by default g is total of w for each w in wrks", "`wrks` is not declared"),
        ("decision g is money\nrule r by default g is £1\ndecision h outcomes a\nrule s by default h is a", None),
    ],
)
def test_the_checker_suggests_the_right_form(tmp_path: Path, rules: str, expected: str | None) -> None:
    text = f'policy "p"\n  outcome h2\n  results g\ndecision h2 outcomes a\nrule h2r by default h2 is a\n{rules}\n'
    if expected is None:
        assert _policy(tmp_path, text).model.results == ("g",)
        return
    assert any(expected in m for m in _errors(tmp_path, text)), _errors(tmp_path, text)


def test_a_result_must_be_a_value(tmp_path: Path) -> None:
    text = (
        'policy "p"\n  outcome d\n  results d, grnt\ndecision d outcomes a\nrule r by default d is a\ndecision grant is money\nrule g by default grant is £1\n'
    )
    errors = _errors(tmp_path, text)
    assert "decision `d` gives an outcome, not an amount; a result is a defined value or a decision with a type (`decision d is money`)" in errors
    assert any(m.startswith("there is no defined value or valued decision called `grnt`") and "grant" in m for m in errors)


def test_a_value_may_still_be_called_total(tmp_path: Path) -> None:
    text = (
        'policy "p"\n  outcome d\n  results total\nfact a is money\ndefine total as a + £1\n'
        "decision d outcomes x, y\nrule r by default d is x\nrule s exception to r when total is above £5 then d is y\n"
    )
    assert _every_mode(_policy(tmp_path, text), {"a": 10})["results"] == {"total": "11.00"}


def test_case_files_assert_results_within_a_tolerance(tmp_path: Path) -> None:
    policy = _policy(tmp_path, GRANT)
    case_file = tmp_path / "cases.yaml"
    facts = "{income: 30000, passport_benefit: no, maximum_grant: 30000, works: [{cost: 12000, eligible: yes}]}"
    case_file.write_text(
        "cases:\n"
        f"  - name: exact\n    facts: {facts}\n    expect: {{results: {{grant: '£9,500', contribution: 2500}}}}\n"
        f"  - name: within a penny\n    facts: {facts}\n    expect: {{results: {{grant: '£9,500.01'}}, tolerance: '£0.01'}}\n"
        f"  - name: wrong\n    facts: {facts}\n    expect: {{results: {{grant: '£9,000'}}}}\n",
        encoding="utf-8",
    )
    results = [run_case(policy, case, AS_OF) for case in read_cases(str(case_file))]
    assert [r.status for r in results] == ["passed", "passed", "failed"]
    from policy_rules.testing.cases import failure_text

    assert "  results.grant: expected £9,000, got £9,500" in failure_text(policy, results[2])


@pytest.mark.parametrize("name", ["hillingdon-dfg", "haringey", "small-example", "dorset-ctr"])
def test_every_bundled_policys_cases_follow_the_schema(name: str) -> None:
    policy = load_policy(ROOT / "rules" / name)
    folder = ROOT / "cases" / name
    count = 0
    for path in sorted(folder.glob("*.yaml")):
        for case in read_cases(str(path)):
            for trace in (False, True):
                try:
                    decision = policy.evaluate(case.facts, case.as_of or AS_OF, trace=trace)
                except ConflictError:
                    continue
                validate_decision(decision.to_dict(), trace=trace)
                count += 1
    assert count > 10


def test_analyse_finds_the_conflict_between_valued_rules_and_their_amounts(tmp_path: Path) -> None:
    """The solver reads valued rules too: the greater/smaller of, rounding, if/then/else and totals are terms of linear arithmetic."""
    from policy_rules.analysis.findings import analyse

    found = analyse(_policy(tmp_path, VALUED_CONFLICT, "conflict.rules"))
    errors = [f for f in found if f.severity == "error"]
    assert errors and all("from_both" in f.message for f in errors)
    assert {f.span.line for f in errors} <= {
        _policy(tmp_path, VALUED_CONFLICT, "again.rules").model.rules[x].span.line for x in ("from_a", "from_b", "from_both")
    }
    assert [f for f in analyse(_policy(tmp_path, GRANT, "grant.rules")) if f.severity == "error"] == []


KINDS = """
policy "kinds"
  outcome d
  results share, due, late, people, ratio
fact start is date
fact staff is whole number
fact income is money
decision d
  outcomes x
rule dd
  by default d is x
decision share is percentage
rule share_rule
  by default share is if income is above £20,000 then 25% else 0%
decision due is date
rule due_rule
  by default due is start + 6 months
decision late is yes/no
rule late_rule
  by default late is due is before 2025-01-01
decision people is whole number
rule people_rule
  by default people is staff / 3 rounded up to the whole number
decision ratio is number
rule ratio_rule
  by default ratio is staff / 8
"""


def test_every_kind_of_result_is_encoded_as_the_json_decision_says(tmp_path: Path) -> None:
    policy = _policy(tmp_path, KINDS)
    decision = _every_mode(policy, {"start": "2024-05-31", "staff": 10, "income": 30000})
    assert decision["results"] == {"share": "0.25", "due": "2024-11-30", "late": True, "people": 4, "ratio": "1.25"}
    text = policy.evaluate({"start": "2024-05-31", "staff": 10, "income": 30000}, AS_OF)
    assert dict((name, shown) for name, _value, shown in text.results) == {"share": "25%", "due": "2024-11-30", "late": "yes", "people": "4", "ratio": "1.25"}
    assert _every_mode(policy, {"staff": 10, "income": 30000})["results"] == {"share": "0.25", "due": None, "late": None, "people": 4, "ratio": "1.25"}


def test_diff_reports_each_money_results_total_before_and_after(tmp_path: Path) -> None:
    """A change that raises the income threshold of the contribution costs the difference in grants over the register."""
    from policy_rules.analysis.diff import DiffSummary, _summary_text, compare
    from policy_rules.registers.facts import ServiceFacts

    old = _policy(tmp_path, GRANT, "old.rules")
    new = _policy(tmp_path, GRANT.replace("above £20,000 then (income - £20,000)", "above £24,000 then (income - £24,000)"), "new.rules")
    rows = [{**FULL, "service": "A"}, {**FULL, "service": "B", "income": 22000}, {**FULL, "service": "C", "passport_benefit": True}]
    found = list(compare(old, new, [ServiceFacts(row, "<facts>", i) for i, row in enumerate(rows)], AS_OF))
    summary = found[-1]
    assert isinstance(summary, DiffSummary)
    # A: contribution 2,500 -> 1,500 (grant +1,000); B: 500 -> 0 (grant +500); C: no contribution either way
    assert summary.to_dict()["totals"]["grant"] == {"before": "33000.00", "after": "34500.00", "change": "1500.00"}
    assert summary.to_dict()["totals"]["contribution"] == {"before": "3000.00", "after": "1500.00", "change": "-1500.00"}
    assert [c.changed for c in found[:-1]] == [("results",), ("results",)]
    text = _summary_text(summary, old, new, AS_OF)
    assert "  grant: total £33,000 before, £34,500 after, change +£1,500\n" in text
    assert "  contribution: total £3,000 before, £1,500 after, change -£1,500\n" in text


def test_the_register_summary_totals_money_results_per_outcome(tmp_path: Path) -> None:
    from tests.support.cli_helpers import run_cli

    (tmp_path / "grant.rules").write_text(textwrap.dedent(GRANT), encoding="utf-8")
    (tmp_path / "reg.yaml").write_text(
        "- {service: A, income: 30000, passport_benefit: no, maximum_grant: 30000, works: [{cost: 12000, eligible: yes}]}\n"
        "- {service: B, income: 22000, passport_benefit: no, maximum_grant: 30000, works: [{cost: 1000, eligible: yes}]}\n"
        "- {service: C, passport_benefit: no, maximum_grant: 30000, works: [{cost: 1000, eligible: no}]}\n",
        encoding="utf-8",
    )
    result = run_cli("evaluate", "grant.rules", "reg.yaml", "--output", "out.csv", "--as-of", "2025-01-01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "money results by outcome:\n  eligible: contribution £3,000, grant £10,000, works_total £13,000\n  not_eligible: works_total £0\n" in result.stdout
    from policy_rules.registers.register import Summary

    policy = load_policy(tmp_path / "grant.rules")
    summary = Summary("Grant", "1", "", "2025-01-01", None)
    for row in ({**FULL, "service": "A"}, {**FULL, "service": "B", "income": 22000, "works": [{"cost": 1000, "eligible": True}]}):
        summary.add(policy.evaluate(row, AS_OF, trace=False), None)
    assert summary.to_dict()["by_outcome"]["eligible"]["results"] == {"grant": "10000.00", "contribution": "3000.00", "works_total": "13000.00"}


def test_a_dated_value_runs_until_the_next_one_starts(tmp_path: Path) -> None:
    text = (
        'policy "p"\n  outcome d\n  results cap\nparameter limit is money\n  value £100 from 2020-01-01\n  value £200 from 2023-04-01\n'
        "  value £300 from 2024-04-01 until 2024-12-31\ndefine cap as limit\ndecision d outcomes x\nrule r by default d is x\n"
    )
    policy = _policy(tmp_path, text)
    for day, expected in ((date(2023, 3, 31), "100.00"), (date(2023, 4, 1), "200.00"), (date(2024, 3, 31), "200.00"), (date(2024, 12, 31), "300.00")):
        off = policy.evaluate({}, day, trace=False).to_dict()
        assert off["results"] == {"cap": expected}
        assert policy.evaluate({}, day, trace=True).to_dict()["results"] == {"cap": expected}
        assert policy.decide_in_full({}, "#1", day, trace=False).to_dict() == off
    from policy_rules.errors import PolicyError

    with pytest.raises(PolicyError, match="has no value on 2025-01-01"):
        policy.evaluate({}, date(2025, 1, 1))


@given(
    st.one_of(
        st.integers(min_value=-(10**15), max_value=10**15),
        st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False),
        st.sampled_from([Decimal("-0"), Decimal("-0.00"), Decimal("7000.0"), Decimal("1E+3"), Decimal("0.005")]),
    )
)
@settings(max_examples=400, deadline=None, derandomize=True)
def test_money_results_written_per_result_agree_with_the_full_path(value: int | Decimal) -> None:
    """``result_for`` (the generated function's money results, some kept from case to case) gives what ``result`` gives for the amount in Decimal."""
    write = amounts.result_for("grant", "money")
    for number in (value, value):  # the second call may come from what the first kept
        assert write(number) == amounts.result("grant", Decimal(number), "money")


NEGATED = """
policy "negated"
  outcome d
  results owed, back
fact x is money
decision d
  outcomes done
rule done_default
  by default d is done
decision owed is money
rule owed_is_x
  by default owed is x
decision back is money
rule back_is_minus_x
  by default back is -x
"""


@given(st.lists(st.one_of(st.integers(min_value=0, max_value=40_000), st.sampled_from(["0", "0.00", "1000.50", "£30,000"])), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_results_found_among_those_already_written_are_what_the_full_path_writes(tmp_path: Path, amounts_given: list[Any]) -> None:
    """The generated function looks an amount up among the results it kept before writing it: the same results as the full path writes."""
    policy = _policy(tmp_path, NEGATED)
    batch = [{"x": x} for x in amounts_given * 2]  # each amount again, once the first has been kept
    found = [d.to_dict()["results"] for d in policy.evaluate_many(batch, AS_OF)]
    expected = []
    for facts in batch:
        typed, service = policy.facts_of(facts)
        expected.append(policy.decide_in_full(typed, service, AS_OF, trace=False).to_dict()["results"])
    assert found == expected
    assert [d.results for d in policy.evaluate_many(batch, AS_OF)] == [policy.decide_in_full(*policy.facts_of(f), AS_OF, trace=False).results for f in batch]


@pytest.mark.parametrize(
    ("value", "kind", "encoded", "shown"),
    [
        (Decimal("-0.00"), "money", "0.00", "£0"),
        (Decimal("-0.004"), "money", "0.00", "£0.00"),
        (Decimal("-0.005"), "money", "-0.01", "-£0.01"),
        (Decimal("-5"), "money", "-5.00", "-£5"),
        (Decimal("-1200000.50"), "money", "-1200000.50", "-£1,200,000.50"),
        (Decimal("0"), "money", "0.00", "£0"),
        (Decimal("-0"), "number", "0", "0"),
        (Decimal("-0.25"), "number", "-0.25", "-0.25"),
    ],
)
def test_an_amount_that_shows_as_zero_has_no_sign(value: Decimal, kind: str, encoded: str, shown: str) -> None:
    """A negative zero (or an amount that rounds to zero pennies) is written 0.00 and shown £0, never -0.00 or £-0; other negative
    amounts keep their sign, before the £."""
    assert amounts.result("r", value, kind) == ("r", encoded, shown)


def test_register_summary_money_puts_the_sign_before_the_pound() -> None:
    """The register summary's whole-pound amounts, negative ones as a decision shows them (-£5), never £-5."""
    from policy_rules.renderers.reports import money

    assert [money(Decimal(v)) for v in ("-5", "-0.4", "1234567.5", "-1234567.5")] == ["-£5", "£0", "£1,234,568", "-£1,234,568"]
