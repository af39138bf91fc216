"""Scales: marginal-rate and banded scales with dated brackets, applied to an amount, in every mode, explained bracket by bracket, with exact needed facts."""

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
from policy_rules.engine.scales import applied, steps
from policy_rules.errors import RuleFileError
from policy_rules.language import nodes as n
from policy_rules.language.checker import parameter_periods
from policy_rules.language.format import format_text
from policy_rules.language.loader import parse_file
from tests.test_amounts import _every_mode

SCALES = """
policy "Contributions"
  service name person
  outcome level
  results contribution_due, reduction_rate, allowance_due

fact person is text
fact salary is money
fact income is money
fact exempt is yes/no

parameter contribution is a marginal scale
  means "the contribution on a salary, bracket by bracket"
  bracket
    threshold £0 from 2015-01-01
    rate 2% from 2015-01-01
    rate 2.5% from 2018-01-01
  bracket
    threshold £6,000 from 2015-01-01
    threshold £6,500 from 2018-01-01
    rate 6% from 2015-01-01
  bracket
    threshold £30,000 from 2018-01-01
    rate 10% from 2018-01-01

parameter reduction is a banded scale of percentage
  band
    threshold £0 from 2015-01-01
    rate 100% from 2015-01-01
  band
    threshold £100 from 2015-01-01
    threshold £110 from 2025-04-01
    rate 75% from 2015-01-01
  band
    threshold £200 from 2015-01-01
    rate 50% from 2015-01-01
  band
    threshold £300 from 2015-01-01
    rate 0% from 2015-01-01

parameter allowance is a banded scale of money
  band
    threshold £0 from 2015-01-01
    amount £40 from 2015-01-01
  band
    threshold £250 from 2015-01-01
    amount £15.50 from 2015-01-01
  no value from 2040-01-01

decision contribution_due is money
rule contribution_on_salary
  by default contribution_due is contribution applied to salary

decision reduction_rate is percentage
rule reduction_by_income
  by default reduction_rate is reduction applied to income
rule no_reduction_when_exempt
  exception to reduction_by_income
  when exempt
  then reduction_rate is 0%

decision allowance_due is money
rule allowance_by_income
  by default allowance_due is allowance applied to income

decision level
  outcomes low, high
rule low_by_default
  by default level is low
rule high_contribution
  exception to low_by_default
  when (contribution applied to salary) is above £500
  then level is high
"""

BEFORE, AFTER, LATER = date(2016, 6, 1), date(2019, 6, 1), date(2025, 6, 1)


def _policy(tmp_path: Path, text: str, name: str = "p.rules") -> Any:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_policy(path)


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RuleFileError) as raised:
        _policy(tmp_path, text)
    return [d.message for d in raised.value.diagnostics if d.severity == "error"]


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _policy(tmp_path_factory.mktemp("scales"), SCALES)


# --- parsing -------------------------------------------------------------------------------


def _value(kind: str, value: Any, text: str, start: date, until: date | None = None) -> n.ParameterValue:
    return n.ParameterValue(n.Literal(kind, value, text), start, until)


def test_a_scale_is_read_as_its_brackets_each_threshold_and_rate_with_its_dates() -> None:
    ast, diagnostics = parse_file("p.rules", textwrap.dedent(SCALES))
    assert ast is not None and diagnostics == []
    decl = next(d for d in ast.declarations if isinstance(d, n.ParameterDecl) and d.name == "contribution")
    on = date(2015, 1, 1)
    assert decl.type == n.ScaleType("marginal", None)
    assert decl.steps[0] == n.ScaleStep(
        "bracket",
        (_value("money", Decimal(0), "£0", on),),
        (_value("percentage", Decimal("0.02"), "2%", on), _value("percentage", Decimal("0.025"), "2.5%", date(2018, 1, 1))),
        (),
    )
    banded = next(d for d in ast.declarations if isinstance(d, n.ParameterDecl) and d.name == "allowance")
    assert banded.type == n.ScaleType("banded", n.TypeRef("money"))
    assert banded.ends == (n.NoValue(date(2040, 1, 1)),)
    assert banded.steps[1].amounts == (_value("money", Decimal("15.50"), "£15.50", on),)
    applied_node = next(d for d in ast.declarations if isinstance(d, n.RuleDecl) and d.label == "contribution_on_salary").conclusion
    assert applied_node == n.ScaleApplied(n.Name("contribution"), n.Name("salary"))


def test_a_scale_changes_whenever_one_of_its_thresholds_or_rates_does(policy: Any) -> None:
    periods = parameter_periods(policy.model.parameters["contribution"])
    assert [(start, until) for start, until, _v in periods] == [(date(2015, 1, 1), date(2017, 12, 31)), (date(2018, 1, 1), None)]
    first, second = (v for _s, _u, v in periods)
    assert (first.thresholds, first.values) == ((Decimal(0), Decimal(6000)), (Decimal("0.02"), Decimal("0.06")))
    assert (second.thresholds, second.values) == ((Decimal(0), Decimal(6500), Decimal(30000)), (Decimal("0.025"), Decimal("0.06"), Decimal("0.1")))
    ended = parameter_periods(policy.model.parameters["allowance"])
    assert [(start, until) for start, until, _v in ended] == [(date(2015, 1, 1), date(2039, 12, 31))]


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("salary", "as_of", "expected"),
    [
        ("0", BEFORE, "0"),
        ("5000", BEFORE, "100"),
        ("6000", BEFORE, "120"),
        ("10000", BEFORE, "360"),
        ("40000", BEFORE, "2160"),
        ("5000", AFTER, "125"),
        ("6500", AFTER, "162.5"),
        ("6500.01", AFTER, "162.5006"),
        ("10000", AFTER, "372.5"),
        ("12345.67", AFTER, "513.2402"),
        ("30000", AFTER, "1572.5"),
        ("40000", AFTER, "2572.5"),
    ],
)
def test_a_marginal_scale_adds_the_part_of_the_amount_in_each_bracket_at_its_rate_exactly(policy: Any, salary: str, as_of: date, expected: str) -> None:
    scale = next(v for start, until, v in parameter_periods(policy.model.parameters["contribution"]) if start <= as_of and (until is None or as_of <= until))
    assert applied(scale, Decimal(salary)) == Decimal(expected)
    assert sum((s.gives for s in steps(scale, Decimal(salary))), Decimal(0)) == Decimal(expected)
    found = policy.evaluate({"person": "A", "salary": salary, "income": "0", "exempt": False}, as_of, trace=False).to_dict()
    assert found["results"]["contribution_due"] == format(Decimal(expected).quantize(Decimal("0.01")), "f")


@pytest.mark.parametrize(
    ("income", "as_of", "rate", "allowance"),
    [
        ("0", AFTER, "1", "40.00"),
        ("99.99", AFTER, "1", "40.00"),
        ("100", AFTER, "0.75", "40.00"),
        ("105", AFTER, "0.75", "40.00"),
        ("105", LATER, "1", "40.00"),
        ("110", LATER, "0.75", "40.00"),
        ("199.99", AFTER, "0.75", "40.00"),
        ("200", AFTER, "0.5", "40.00"),
        ("250", AFTER, "0.5", "15.50"),
        ("1000", AFTER, "0", "15.50"),
    ],
)
def test_a_banded_scale_gives_what_the_band_the_amount_reaches_gives(policy: Any, income: str, as_of: date, rate: str, allowance: str) -> None:
    facts = {"person": "A", "salary": "1000", "income": income, "exempt": False}
    decision = policy.evaluate(facts, as_of, trace=True).to_dict()
    assert decision["results"]["reduction_rate"] == rate
    assert decision["results"]["allowance_due"] == allowance


def test_every_mode_gives_the_same_values_and_outcome(policy: Any) -> None:
    decision = _every_mode(policy, {"person": "A", "salary": "40000", "income": "150", "exempt": False})
    assert decision["outcome"] == "high"
    assert decision["results"] == {"contribution_due": "2572.50", "reduction_rate": "0.75", "allowance_due": "40.00"}


def test_an_unknown_amount_leaves_the_scale_unknown_and_is_needed(policy: Any) -> None:
    decision = _every_mode(policy, {"person": "A", "exempt": True, "salary": "1000"})
    assert decision["results"] == {"contribution_due": "25.00", "reduction_rate": "0", "allowance_due": None}
    assert decision["needed_facts"] == ["income"]
    decision = _every_mode(policy, {"person": "A", "exempt": True, "income": "10"})
    assert decision["outcome"] == "undetermined"
    assert decision["results"]["contribution_due"] is None
    assert decision["needed_facts"] == ["salary"]


def test_a_scale_read_after_it_ends_is_a_located_error(policy: Any) -> None:
    from policy_rules.engine.compiler import EvaluationError

    for trace in (True, False):
        with pytest.raises(EvaluationError) as raised:
            policy.evaluate({"person": "A", "salary": "1", "income": "1", "exempt": False}, date(2040, 1, 1), trace=trace)
        assert "parameter `allowance` has no value on 2040-01-01" in str(raised.value)


# --- the explanation -----------------------------------------------------------------------


def test_the_explanation_shows_the_part_in_each_bracket_with_its_rate_and_the_band_reached(policy: Any) -> None:
    decision = policy.evaluate({"person": "A", "salary": "10000", "income": "150", "exempt": False}, AFTER, trace=True)
    text = decision.explain()
    assert (
        "calculation: contribution_due = contribution applied to salary £10,000 = £372.50; contribution on £10,000: "
        "£6,500 in the bracket above £0 at 2.5% = £162.50, £3,500 in the bracket above £6,500 at 6% = £210"
    ) in text
    assert "calculation: reduction_rate = reduction applied to income £150 = 75%; reduction on £150: the band from £100 gives 75%" in text
    made = {e["decision"]: e for e in decision.to_dict()["trace"] if e["type"] == "decision"}
    assert made["allowance_due"]["calculation"] == "allowance_due = allowance applied to income £150 = £40; allowance on £150: the band from £0 gives £40"
    low = policy.evaluate({"person": "A", "salary": "0", "income": "0", "exempt": False}, AFTER, trace=True).explain()
    assert "contribution on £0: no part is above the first threshold, £0" in low


# --- needed facts, against brute force ------------------------------------------------------

BRUTE = """
policy "brute"
  outcome d
  results amount

fact a is yes/no
fact x is money
fact y is money

parameter tax is a marginal scale
  bracket
    threshold £0 from 2020-01-01
    rate 0% from 2020-01-01
  bracket
    threshold £10 from 2020-01-01
    rate 50% from 2020-01-01

parameter bands is a banded scale of money
  band
    threshold £0 from 2020-01-01
    amount £1 from 2020-01-01
  band
    threshold £15 from 2020-01-01
    amount £2 from 2020-01-01

decision d
  outcomes low, high
rule low_default
  by default d is low
rule high_when
  exception to low_default
  when (tax applied to (if a then x else y)) is above £2
  then d is high

decision amount is money
rule base
  by default amount is bands applied to x
rule on_a
  exception to base
  when a
  then amount is (tax applied to y) + £0
"""

DOMAINS = {"a": (True, False), "x": (Decimal(2), Decimal(15), Decimal(20)), "y": (Decimal(9), Decimal(13), Decimal(30))}


@pytest.mark.parametrize("known", [dict(zip(DOMAINS, values, strict=True)) for values in itertools.product(*((None, *d) for d in DOMAINS.values()))])
def test_needed_facts_are_exact_against_brute_force(tmp_path: Path, known: dict[str, Any]) -> None:
    """Every completion decided: a fact is needed exactly when some change of it alone changes the outcome or the amount."""
    policy = _policy(tmp_path, BRUTE)
    given = {k: v for k, v in known.items() if v is not None}
    missing = [k for k in DOMAINS if k not in given]
    results = {}
    for values in itertools.product(*(DOMAINS[k] for k in missing)):
        d = policy.evaluate({**given, **dict(zip(missing, values, strict=True))}, date(2025, 1, 1), trace=False)
        results[values] = (d.outcome, d.to_dict()["results"]["amount"])
    needed = []
    for i, name in enumerate(missing):
        others = [DOMAINS[k] for j, k in enumerate(missing) if j != i]
        if any(len({results[(*rest[:i], v, *rest[i:])] for v in DOMAINS[name]}) > 1 for rest in itertools.product(*others)):
            needed.append(name)
    decision = policy.evaluate(given, date(2025, 1, 1), trace=True).to_dict()
    assert decision["needed_facts"] == needed
    outcomes = {r[0] for r in results.values()}
    amounts = {r[1] for r in results.values()}
    assert decision["outcome"] == (outcomes.pop() if len(outcomes) == 1 else "undetermined")
    assert decision["results"]["amount"] == (amounts.pop() if len(amounts) == 1 else None)


# --- what check says -----------------------------------------------------------------------

HEAD = """
policy "p"
  outcome d
  results v
fact salary is money
fact flag is yes/no
decision d
  outcomes x
rule dd
  by default d is x
decision v is money
"""


def _scale(*steps: str, kind: str = "a marginal scale") -> str:
    return f"parameter s is {kind}\n" + "".join(step.lstrip("\n") for step in steps)


BRACKET_0 = """
  bracket
    threshold £0 from 2020-01-01
    rate 10% from 2020-01-01
"""
BRACKET_6000 = "  bracket\n    threshold £6,000 from 2020-01-01\n    rate 20% from 2020-01-01\n"
BRACKET_5000 = "  bracket\n    threshold £5,000 from 2020-01-01\n    rate 40% from 2020-01-01\n"
BRACKET_10 = "  bracket\n    threshold £10 from 2020-01-01\n    rate 10% from 2020-01-01\n"


@pytest.mark.parametrize(
    ("declaration", "rule", "message"),
    [
        (
            _scale(BRACKET_0, BRACKET_6000, BRACKET_5000),
            "s applied to salary",
            "on 2020-01-01 the threshold of this bracket, £5,000, is not above the one before it, £6,000 (line 16); "
            "write the brackets from the lowest threshold up",
        ),
        (_scale(BRACKET_0, "  bracket\n    threshold £6,000 from 2020-01-01\n"), "s applied to salary", "this bracket has no rate; add `rate 20% from DATE`"),
        (
            _scale(BRACKET_0, "  bracket\n    rate 20% from 2020-01-01\n"),
            "s applied to salary",
            "this bracket has no threshold; add `threshold £0 from DATE`, the amount the bracket starts at",
        ),
        (
            _scale("  bracket\n    threshold £0 from 2020-01-01\n    rate 20 from 2020-01-01\n"),
            "s applied to salary",
            "the rate `20` is not a percentage, what `s` gives; write `20%`",
        ),
        (
            _scale("  bracket\n    threshold £0 from 2020-01-01\n    amount £5 from 2020-01-01\n"),
            "s applied to salary",
            "this bracket gives a percentage, so it has a rate; write `rate 20% from 2020-01-01`",
        ),
        (
            _scale("  band\n    threshold £0 from 2020-01-01\n    rate 5% from 2020-01-01\n", kind="a banded scale of money"),
            "s applied to salary",
            "this band gives money, so it has an amount; write `amount £25 from 2020-01-01`",
        ),
        (_scale(BRACKET_0, kind="a banded scale of percentage"), "s applied to salary", "a banded scale has bands, not brackets; write `band`"),
        (
            _scale("  bracket\n    threshold £0 from 2020-01-01\n    rate 10% from 2021-01-01\n"),
            "s applied to salary",
            "on 2020-01-01 this bracket has a threshold but no rate or amount; give both the same dates, or end both",
        ),
        (
            _scale("  bracket\n    threshold 0 from 2020-01-01\n    rate 10% from 2020-01-01\n", BRACKET_10),
            "s applied to salary",
            "the threshold `0` is a whole number, but other thresholds of `s` are money; write `£0`",
        ),
        (_scale(BRACKET_0), "s applied to flag", "`s` is applied to an amount of money, as its thresholds are, and `flag` is yes/no"),
        (_scale(BRACKET_0), "salary applied to salary", "`salary` is money, not a scale, so it cannot be applied to an amount; the scales are `s`"),
        (_scale(BRACKET_0), "s + £1", "`s` is a scale, which gives a value only applied to an amount: write `s applied to AMOUNT`"),
        (
            "parameter s is money\n  value £1 from 2020-01-01\n" + BRACKET_0,
            "s",
            "parameter `s` is money, not a scale; declare it `parameter s is a marginal scale` (or `is a banded scale of percentage`) to give it brackets",
        ),
        (
            _scale("  value £1 from 2020-01-01\n" + BRACKET_0),
            "s applied to salary",
            "a scale has brackets, not values; write `bracket` followed by `threshold ... from DATE` and `rate ... from DATE`",
        ),
        (
            "parameter s is money\n  value £1 from 2020-01-01\n  no value from 2020-01-01\n",
            "s",
            "a value of `s` starts on 2020-01-01, the day it has no value from; move one of the two dates",
        ),
        (
            "parameter s is money\n  no value from 2019-01-01\n  value £1 from 2020-01-01\n",
            "s",
            "`s` has no value before 2019-01-01 to end; put `no value from` after the value it ends",
        ),
    ],
)
def test_check_says_what_is_wrong_with_a_scale_and_the_form_meant(tmp_path: Path, declaration: str, rule: str, message: str) -> None:
    text = HEAD + declaration + f"rule vv\n  by default v is {rule}\n"
    assert message in _errors(tmp_path, text)


def test_a_scale_and_an_ended_parameter_are_laid_out_by_fmt_and_read_alike() -> None:
    flat = "\n".join(line.strip() for line in textwrap.dedent(SCALES).splitlines()) + "\n"
    laid_out = format_text(flat, "p.rules")
    assert "\n  bracket\n    threshold £0 from 2015-01-01\n    rate 2% from 2015-01-01\n" in laid_out
    assert "\n  no value from 2040-01-01\n" in laid_out
    assert format_text(laid_out, "p.rules") == laid_out
    assert parse_file("p.rules", laid_out)[0] == parse_file("p.rules", textwrap.dedent(SCALES))[0]


# --- random scales, against the scale read by hand ---------------------------------------------


@st.composite
def _scales(draw: st.DrawFn) -> tuple[str, list[Decimal], list[Decimal], Decimal | None]:
    """A marginal or banded scale of up to four steps (thresholds rising, to the penny), and an amount to apply it to (None: unknown)."""
    kind = draw(st.sampled_from(("marginal", "banded")))
    gaps = draw(st.lists(st.integers(1, 50_000), min_size=1, max_size=4))
    thresholds = [Decimal(sum(gaps[:i])) / 100 for i in range(len(gaps))]
    rates = [Decimal(draw(st.integers(0, 10_000))) / 10_000 for _ in gaps]
    amount = draw(st.one_of(st.none(), st.integers(0, 300_000).map(lambda p: Decimal(p) / 100), st.sampled_from(thresholds)))
    return kind, thresholds, rates, amount


def _by_hand(kind: str, thresholds: list[Decimal], rates: list[Decimal], x: Decimal) -> Decimal:
    if kind == "banded":
        return [r for t, r in zip(thresholds, rates, strict=True) if x >= t][-1] if x >= thresholds[0] else rates[0]
    tops: list[Decimal | None] = [*thresholds[1:], None]
    return sum((r * max(Decimal(0), min(x, top if top is not None else x) - t) for t, top, r in zip(thresholds, tops, rates, strict=True)), Decimal(0))


@given(_scales())
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_a_random_scale_gives_what_reading_it_by_hand_gives_in_every_mode(
    tmp_path: Path, case: tuple[str, list[Decimal], list[Decimal], Decimal | None]
) -> None:  # noqa: E501
    kind, thresholds, rates, amount = case
    declared = "a marginal scale" if kind == "marginal" else "a banded scale of percentage"
    word = "bracket" if kind == "marginal" else "band"
    steps_text = "".join(f"  {word}\n    threshold £{t} from 2020-01-01\n    rate {r * 100}% from 2020-01-01\n" for t, r in zip(thresholds, rates, strict=True))
    result = "money" if kind == "marginal" else "percentage"
    text = f'policy "r"\n  outcome v\n  results v\nfact x is money\nparameter s is {declared}\n{steps_text}'
    text += f"decision v is {result}\nrule vv\n  by default v is s applied to x\n"
    folder = tmp_path / f"r{abs(hash(text))}"
    folder.mkdir(exist_ok=True)
    policy = _policy(folder, text)
    facts = {} if amount is None else {"x": str(amount)}
    decision = _every_mode(policy, facts)
    if amount is None:
        assert (decision["results"]["v"], decision["needed_facts"]) == (None, ["x"])
        return
    expected = _by_hand(kind, thresholds, rates, amount)
    scale = parameter_periods(policy.model.parameters["s"])[0][2]
    assert applied(scale, amount) == expected
    if kind == "marginal":
        assert decision["results"]["v"] == format(expected.quantize(Decimal("0.01")), "f")
    else:
        assert Decimal(decision["results"]["v"]) == expected
