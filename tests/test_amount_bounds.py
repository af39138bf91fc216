"""Amounts that cannot be negative: money facts and fields are at least £0 unless declared `may be negative`, and `at least` sets another bound.

The bound is part of the declaration, so it holds everywhere the fact is read:
a facts file giving less is a located error, and the solver of the symbolic
diff never finds a service that needs a negative amount to be decided
differently.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_rules import FactsError
from policy_rules.analysis.symbolic_diff import symbolic_diff
from policy_rules.api import analyse, load_policy, policy_from_sources
from tests.cli_helpers import HARINGEY, ROOT, run_cli

POLICY = """
policy "Bounds"
  outcome d

record part
  field name is text
  field cost is money
  field refund is money
    may be negative

fact spend is money
fact saving is money
  may be negative
fact budget is money
  at least £100
fact staff is whole number
  at least 1
fact parts is list of part
  default empty

decision d
  outcomes a

rule r
  by default d is a
"""


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return policy_from_sources({"bounds.rules": POLICY}, "bounds")


@pytest.mark.parametrize(
    ("facts", "fact", "message"),
    [
        ({"spend": Decimal("-0.01")}, "spend", "-0.01 is less than £0, the least `spend` can be; an amount here is never negative"),
        ({"spend": "-£5"}, "spend", '"-£5" is less than £0, the least `spend` can be; an amount here is never negative'),
        ({"spend": -1}, "spend", "-1 is less than £0, the least `spend` can be; an amount here is never negative"),
        ({"budget": "£99.99"}, "budget", '"£99.99" is less than £100, the least `budget` can be'),
        ({"staff": 0}, "staff", "0 is less than 1, the least `staff` can be"),
        ({"parts": [{"name": "x", "cost": "-£5"}]}, "parts[0].cost", '"-£5" is less than £0, the least `cost` can be; an amount here is never negative'),
    ],
)
def test_an_amount_below_its_bound_is_a_located_error(policy, facts: dict[str, object], fact: str, message: str) -> None:  # type: ignore[no-untyped-def]
    for trace in (True, False):  # the generated code, which reads plain amounts itself, refuses them as the full validation does
        with pytest.raises(FactsError) as caught:
            policy.evaluate(facts, "2025-01-01", path="facts.yaml", trace=trace)
        assert (caught.value.fact, caught.value.message) == (fact, message)
        assert str(caught.value).startswith(f"facts.yaml: service '#1': fact '{fact}': error: ")


def test_amounts_at_their_bound_and_declared_negative_ones_are_accepted(policy) -> None:  # type: ignore[no-untyped-def]
    facts = {"spend": "£0", "saving": "-£1,250.50", "budget": 100, "staff": 1, "parts": [{"name": "x", "cost": 0, "refund": "-£5"}]}
    typed, _ = policy.facts_of(facts)
    assert (typed["saving"], typed["parts"][0]["refund"], typed["spend"]) == (Decimal("-1250.50"), Decimal("-5"), Decimal(0))


@given(amount=st.decimals(min_value=-1000, max_value=1000, places=2), written=st.sampled_from(["{}", "£{}", "{:,}", "£{:,}"]), trace=st.booleans())
def test_a_money_fact_takes_an_amount_exactly_when_it_is_not_negative(policy, amount: Decimal, written: str, trace: bool) -> None:  # type: ignore[no-untyped-def]
    text = ("-" + written.format(-amount)) if amount < 0 else written.format(amount)
    try:
        decision = policy.evaluate({"spend": text, "saving": text}, "2025-01-01", trace=trace)
    except FactsError as error:
        assert amount < 0 and error.fact == "spend"
    else:
        assert amount >= 0 and decision.outcome == "a"


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("fact f is yes/no\n  at least £0\n", "`at least` bounds an amount, a number or a percentage; fact `f` is yes/no"),
        ("fact f is money\n  at least 5%\n", "the bound `5%` is not money, the type of fact `f`"),
        ("fact f is money\n  at least £10\n  default £5\n", "the default `£5` is less than £10, the least fact `f` can be"),
        ("fact f is money\n  default £5\n  may be negative\n  at least £1\n", "fact `f` says both `may be negative` and `at least`; keep one"),
        ("fact f is text\n  may be negative\n", "only an amount, a number or a percentage may be negative; fact `f` is text"),
        (
            "record r\n  field x is money\n    at least £2\n    default £1\nfact rs is list of r\n",
            "the default `£1` is less than £2, the least field `x` of record `r` can be",
        ),
    ],
)
def test_a_bound_that_cannot_hold_is_a_checker_error(declaration: str, message: str) -> None:
    text = 'policy "P"\n  outcome d\n' + declaration + "decision d\n  outcomes a\nrule r\n  by default d is a\n"
    _model, diagnostics = analyse({"p.rules": text}, "P")
    assert [d.message for d in diagnostics if d.severity == "error"] == [message]


def test_the_symbolic_diff_reports_no_change_only_a_negative_amount_reaches(tmp_path: Path) -> None:
    new = tmp_path / "haringey"
    shutil.copytree(HARINGEY, new)
    criteria = new / "20-commissioning-criteria.rules"
    criteria.write_text(criteria.read_text(encoding="utf-8").replace("is at most budget_available", "is at most budget_available * 105%"), encoding="utf-8")
    changes = symbolic_diff(load_policy(HARINGEY), load_policy(new))
    money = ("annual_spend", "in_house_annual_cost", "budget_available")
    assert changes and all(Decimal(str(c.witness.get(f, 0))) >= 0 for c in changes for f in money)
    # More becomes affordable: only services once sent elsewhere are now brought in-house, never the other way round (that takes a negative budget).
    assert {(c.before, c.after) for c in changes} == {(a, b) for a in _NOT_INSOURCED for b in ("in_house", "in_house_phased", "hybrid")}
    assert len(changes) == 9


_NOT_INSOURCED = ("partnership_public", "procure_local", "procure")


@pytest.mark.parametrize("name", ["haringey", "hillingdon-dfg", "small-example", "dorset-ctr"])
def test_the_bundled_policies_pass_their_cases_with_the_bounds(name: str) -> None:
    result = run_cli("test", str(ROOT / "rules" / name), str(ROOT / "cases" / name))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
