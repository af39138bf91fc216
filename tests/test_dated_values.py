"""Dated values as analyse reads them: an ended parameter, reads no date condition keeps inside a parameter's periods, and date guards that matter."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from policy_rules import load_policy
from policy_rules.analysis.findings import analyse
from policy_rules.engine.compiler import EvaluationError


def _policy(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "p.rules"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_policy(path)


def _line(policy: Any, fragment: str) -> int:
    text = Path(next(iter(policy.model.sources))).read_text()
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


BASIC_INCOME = """
policy "Basic income"
  outcome income
  results income

fact age is whole number

parameter basic_income is money
  value £600 from 2016-12-01
  {end}

decision income is money
rule nothing
  by default income is £0
rule paid
  exception to nothing
  when {guard}age is at least 18
  then income is basic_income
"""


def test_a_date_guard_that_keeps_a_read_inside_its_parameter_s_periods_matters(tmp_path: Path) -> None:
    policy = _policy(tmp_path, BASIC_INCOME.format(end="", guard="today is at least 2016-12-01 and "))
    assert [f.kind for f in analyse(policy)] == []
    # without the guard, a decision dated before the parameter's first value fails: the guard changes what the rules do
    with pytest.raises(EvaluationError):
        unguarded = tmp_path / "unguarded"
        unguarded.mkdir()
        _policy(unguarded, BASIC_INCOME.format(end="", guard="")).evaluate({"age": 20}, date(2016, 11, 30), trace=False)


def test_a_date_guard_that_keeps_nothing_in_range_still_never_matters(tmp_path: Path) -> None:
    policy = _policy(tmp_path, BASIC_INCOME.format(end="", guard="today is at least 2000-01-01 and today is at least 2016-12-01 and "))
    findings = analyse(policy)
    assert [(f.kind, f.span.line, f.span.column) for f in findings] == [("part_never_matters", _line(policy, "when today"), 8)]
    assert "`today is at least 2000-01-01` never matters" in findings[0].message


def test_a_read_of_an_ended_parameter_that_no_date_condition_guards_is_named_with_a_date_it_fails(tmp_path: Path) -> None:
    policy = _policy(tmp_path, BASIC_INCOME.format(end="no value from 2030-01-01", guard="today is at least 2016-12-01 and "))
    (finding,) = analyse(policy)
    assert finding.kind == "parameter_read_outside" and finding.severity == "warning"
    assert (finding.span.line, finding.span.column) == (_line(policy, "then income is basic_income"), 18)
    assert finding.message.startswith("`basic_income` is read here on dates after its first value when it has none")
    assert "(it has one from 2016-12-01 until 2029-12-31)" in finding.message
    assert finding.witness is not None and finding.witness.as_of >= date(2030, 1, 1)
    with pytest.raises(EvaluationError) as raised:
        policy.evaluate(finding.witness.facts, finding.witness.as_of, trace=False)
    assert "parameter `basic_income` has no value on" in str(raised.value)


def test_a_read_kept_inside_the_periods_by_a_date_condition_is_not_named(tmp_path: Path) -> None:
    guard = "today is at least 2016-12-01 and today is before 2030-01-01 and "
    policy = _policy(tmp_path, BASIC_INCOME.format(end="no value from 2030-01-01", guard=guard))
    assert [f.kind for f in analyse(policy)] == []


def test_a_read_in_a_gap_between_periods_is_named(tmp_path: Path) -> None:
    text = BASIC_INCOME.format(end="value £650 from 2020-01-01 until 2020-12-31\n  value £700 from 2022-01-01", guard="today is at least 2016-12-01 and ")
    policy = _policy(tmp_path, text.replace("value £600 from 2016-12-01", "value £600 from 2016-12-01 until 2019-12-31"))
    kinds = sorted(f.kind for f in analyse(policy))
    assert kinds == ["parameter_gap", "parameter_read_outside"]
    read = next(f for f in analyse(policy) if f.kind == "parameter_read_outside")
    assert read.witness is not None and date(2021, 1, 1) <= read.witness.as_of <= date(2021, 12, 31)


SCALED = """
policy "Scaled"
  outcome level
  results paid

fact income is money

parameter reduction is a banded scale of percentage
  band
    threshold £0 from 2020-01-01
    rate 100% from 2020-01-01
  band
    threshold £100 from 2020-01-01
    rate 40% from 2020-01-01

parameter tax is a marginal scale
  bracket
    threshold £0 from 2020-01-01
    rate 0% from 2020-01-01
  bracket
    threshold £50 from 2020-01-01
    rate 20% from 2020-01-01

decision paid is money
rule paid_by_scale
  by default paid is tax applied to income

decision level
  outcomes nil, some, impossible
rule nil_by_default
  by default level is nil
rule some_when_taxed
  exception to nil_by_default
  when (tax applied to income) is above £10 and (reduction applied to income) is below 50%
  then level is some
rule never
  exception to nil_by_default
  when (reduction applied to income) is above 100%
  then level is impossible
"""


def test_analyse_reads_scales_as_the_evaluator_does(tmp_path: Path) -> None:
    """A scale is piecewise linear for the solver: a band no amount reaches is found, and so is a band every taxed amount reaches."""
    policy = _policy(tmp_path, SCALED)
    findings = analyse(policy)
    assert [(f.kind, f.span.line) for f in findings] == [("part_never_matters", _line(policy, "when (tax")), ("never_applies", _line(policy, "rule never"))]
    # more than £10 of tax needs an income above £100, which is in the 40% band
    assert findings[0].message.startswith("`(reduction applied to income) is below 50%` never matters")
    some = policy.evaluate({"income": "101"}, date(2024, 1, 1), trace=False)
    assert (some.outcome, some.to_dict()["results"]["paid"]) == ("some", "10.20")
