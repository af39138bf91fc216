"""Facts in every shape a user gives them: decided as the same facts with plain typed values, on the generated route.

A service written with float, ``Decimal`` or ``£1,234,000`` amounts, yes/no
words, ISO dates, a list as JSON text, in any ``Mapping``, is the same service
as the one written with ``int`` amounts and ``True``/``False``: the decision is
the same, and the generated policy function takes it without the full
validation. A value the full validation refuses is refused with its message.
And a failure inside generated code is never taken for "cannot decide here":
it is an internal error (exit 3, the bug-report line).
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.haringey_services import YES_NO, generate
from policy_rules import PolicyError, cli, load_policy
from policy_rules.engine import policy_function as fp
from policy_rules.engine import traced_function as tp
from policy_rules.engine.facts import validate
from tests.support.cli_helpers import HARINGEY
from tests.support.complete_facts import completed

AS_OF = date(2024, 4, 1)
POLICY = load_policy(HARINGEY)
AMOUNTS = ("annual_spend", "in_house_annual_cost", "budget_available")
UNREAD = [name for name, decl in POLICY.model.facts.items() if decl.reference]
"""Facts kept for reference, which no rule reads: a service that leaves one out is still decided on the generated route."""
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


class Facts(dict):  # type: ignore[type-arg]
    """A dict subclass, as a caller's own facts class may be."""


class Record(Mapping[str, Any]):
    """A mapping that is not a dict at all."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _money(draw: st.DrawFn, value: int) -> Any:
    return draw(st.sampled_from([value, float(value), Decimal(value), str(value), f"£{value:,}", f"{value:,}", f" £{value:,} "]))


def _yes_no(draw: st.DrawFn, value: bool) -> Any:
    words = ("yes", "Yes", "YES", "true", "True", "y", " yes ", "yEs") if value else ("no", "No", "NO", "false", "FALSE", "n", "N ", "nO")
    return draw(st.one_of(st.just(value), st.sampled_from(words)))


@st.composite
def shaped_services(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """A generated service with plain typed values, and the same service written in random shapes."""
    plain = completed(POLICY, generate(1, seed=draw(st.integers(0, 10_000)))[0])
    shaped: dict[str, Any] = {}
    for name, value in plain.items():
        if name in AMOUNTS:
            shaped[name] = _money(draw, value)
        elif name == "staff":  # a whole number: no £, no commas
            shaped[name] = draw(st.sampled_from([value, float(value), Decimal(value), str(value), f" {value}"]))
        elif name in YES_NO:
            shaped[name] = _yes_no(draw, value)
        elif name == "contract_end_date":
            shaped[name] = draw(st.sampled_from([value, date.fromisoformat(value)]))
        elif name == "elements":
            items = [{**e, "specialist": _yes_no(draw, e["specialist"])} for e in value]
            for item in items:
                if "other_provider_better_placed" in item:  # optional: some generated parts carry it
                    item["other_provider_better_placed"] = _yes_no(draw, item["other_provider_better_placed"])
            items = [draw(st.sampled_from([dict, Facts, Record]))(item) for item in items]
            if all(type(item) is dict for item in items) and draw(st.booleans()):
                shaped[name] = json.dumps(items)
            else:
                shaped[name] = items
        else:
            shaped[name] = value
    if UNREAD and draw(st.booleans()):
        shaped[draw(st.sampled_from(UNREAD))] = draw(st.sampled_from(["", "unknown", "N/A", None]))
    container = draw(st.sampled_from([dict, Facts, Record, types.MappingProxyType]))
    return plain, container(shaped)


@given(shaped_services())
@SETTINGS
def test_a_service_in_any_shape_is_decided_as_with_plain_values_on_the_generated_route(case: tuple[dict[str, Any], Any]) -> None:
    plain, shaped = case
    expected = POLICY.evaluate(plain, AS_OF, trace=False)
    assert POLICY.decide_fast(shaped, AS_OF) == expected
    assert POLICY.evaluate(shaped, AS_OF, trace=False) == expected
    assert list(POLICY.evaluate_many([shaped], AS_OF)) == [expected]


@given(shaped_services())
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_a_service_in_any_shape_is_explained_as_with_plain_values(case: tuple[dict[str, Any], Any]) -> None:
    plain, shaped = case
    explained = POLICY.evaluate(shaped, AS_OF)
    # The trace shows each value as it was read (4800000.0 from a float): only the decision is compared with the plain service's.
    assert explained._replace(trace=()) == POLICY.evaluate(plain, AS_OF)._replace(trace=())
    assert explained.to_dict() == POLICY.decide_in_full(*validate(POLICY.model, shaped), AS_OF).to_dict()


WRONG = {
    "annual_spend": [True, "£1,23,000", "1.2.3", "12 pounds", float("nan"), float("inf"), Decimal("NaN"), [], {}, date(2020, 1, 1), "1e5", 10**101],
    "has_capacity": [1, 0, "maybe", "ja", 1.0, Decimal(1), "yes please", []],
    "contract_end_date": ["2020-02-30", "2020-W01-1", "31/03/2025", 20200101, True],
    "elements": ["[1]", "nope", "{}", [1], [{"name": "Lift", "colour": "red"}], [{"name": "Lift", "specialist": "maybe"}], '[{"specialist": 2}]'],
    "service": [[1], {"a": 1}, True],
}


@given(st.sampled_from([(name, value) for name, values in WRONG.items() for value in values]), st.integers(0, 1000))
@SETTINGS
def test_a_wrong_value_is_refused_with_the_full_validations_message(wrong: tuple[str, Any], seed: int) -> None:
    name, value = wrong
    raw = {**generate(1, seed=seed)[0], name: value}
    with pytest.raises(PolicyError) as expected:
        validate(POLICY.model, raw, index=3)
    assert POLICY.decide_fast(raw, AS_OF, index=3) is None
    for trace in (False, True):
        with pytest.raises(PolicyError) as found:
            POLICY.evaluate(raw, AS_OF, trace=trace, index=3)
        assert str(found.value) == str(expected.value)


def test_an_undeclared_name_in_a_mapping_that_is_not_a_dict_is_refused_as_in_a_dict() -> None:
    raw = {**generate(1, seed=5)[0], "colur": "red"}
    messages = set()
    for container in (dict, Facts, Record, types.MappingProxyType):
        with pytest.raises(PolicyError) as found:
            POLICY.evaluate(container(raw), AS_OF, trace=False)
        messages.add(str(found.value))
    assert len(messages) == 1
    assert "there is no fact called `colur` in this policy" in messages.pop()


def _one_service(tmp_path: Path) -> Path:
    path = tmp_path / "service.json"
    path.write_text(json.dumps(generate(1, seed=9)[0]), encoding="utf-8")
    return path


def test_a_failure_inside_the_generated_policy_function_is_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    facts = _one_service(tmp_path)
    namespace = fp._namespace

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        found = namespace(*args, **kwargs)

        def build(values: tuple[Any, ...]) -> Any:
            raise RuntimeError("a bug in the generated code")

        found["BUILD"] = build
        return found

    monkeypatch.setattr(fp, "_namespace", broken)
    out = tmp_path / "decisions.csv"
    assert cli.main(["evaluate", str(HARINGEY), str(facts), "--as-of", "2024-04-01", "--output", str(out)]) == 3
    captured = capsys.readouterr()
    assert not out.exists()
    assert captured.err == f"internal error (RuntimeError): {cli.BUG_REPORT}\n"


def test_a_failure_inside_the_generated_traced_code_is_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    facts = _one_service(tmp_path)
    runtime = tp._runtime

    def broken(compiled: Any) -> dict[str, Any]:
        found = runtime(compiled)

        def rule(*args: Any) -> Any:
            raise ZeroDivisionError("a bug in the generated traced code")

        found["RULE"] = rule
        return found

    monkeypatch.setattr(tp, "_runtime", broken)
    assert cli.main(["explain", str(HARINGEY), str(facts), "--as-of", "2024-04-01"]) == 3
    captured = capsys.readouterr()
    assert captured.err == f"internal error (ZeroDivisionError): {cli.BUG_REPORT}\n"


def test_what_only_the_full_path_handles_is_left_to_it(tmp_path: Path) -> None:
    rules = tmp_path / "divide.rules"
    rules.write_text(DIVIDE, encoding="utf-8")
    policy = load_policy(rules)
    assert policy.decide_fast({"spend": 10, "staff": 2}, AS_OF) is not None
    assert policy.decide_fast({"spend": 10, "staff": 0}, AS_OF) is None  # the full path reports the division, located
    with pytest.raises(PolicyError, match="divides by zero"):
        policy.evaluate({"spend": 10, "staff": 0}, AS_OF, trace=False)
    with pytest.raises(PolicyError, match="divides by zero"):
        policy.evaluate({"spend": 10, "staff": 0}, AS_OF, trace=True)
    assert policy.decide_fast({"spend": 10, "staff": 2}, date(2019, 1, 1)) is None  # the parameter has no value then
    with pytest.raises(PolicyError, match="has no value on 2019-01-01"):
        policy.evaluate({"spend": 10, "staff": 2}, date(2019, 1, 1), trace=False)


DIVIDE = """
policy "divide"
  outcome d

fact spend is money
fact staff is whole number

parameter limit is money
  value £3 from 2020-01-01

define per_head as spend / staff

decision d
  outcomes high, low

rule base
  by default d is low

rule costly
  exception to base
  when per_head > limit
  then d is high
"""
