"""`X is between A and B`: the form added to show that a strict form is its grammar rule, node, type rule and one generator template."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from policy_rules.api import policy_from_sources

RULES = """\
policy "Between"
  version "1"
  outcome eligible

fact age is whole number
  means "the child's age in years"

fact income is money
  means "the family's yearly income"

fact start is date
  means "when the application started"

decision eligible
  outcomes granted, refused

rule refused_by_default
  by default eligible is refused

rule young_child_low_income
  exception to refused_by_default
  when age is between 2 and 6 and income is between £0 and £20,000 and start is between 2024-04-01 and 2025-03-31
  then eligible is granted
"""

AS_OF = date(2025, 1, 1)


@pytest.fixture(scope="module")
def decide() -> Callable[..., tuple[str, tuple[str, ...]]]:
    policy = policy_from_sources({"between.rules": RULES}, "between")

    def run(facts: dict[str, object], trace: bool) -> tuple[str, tuple[str, ...]]:
        decision = policy.evaluate(facts, AS_OF, trace=trace)
        return decision.outcome, tuple(decision.needed_facts)

    return run


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"age": 2, "income": 0, "start": "2024-04-01"}, ("granted", ())),
        ({"age": 6, "income": 20000, "start": "2025-03-31"}, ("granted", ())),
        ({"age": 1, "income": 0, "start": "2024-04-01"}, ("refused", ())),
        ({"age": 7, "income": 0, "start": "2024-04-01"}, ("refused", ())),
        ({"age": 4, "income": 20001, "start": "2024-04-01"}, ("refused", ())),
        ({"age": 4, "income": 100, "start": "2025-04-01"}, ("refused", ())),
        ({"income": 100, "start": "2024-05-01"}, ("undetermined", ("age",))),
        ({"age": 9, "start": "2024-05-01"}, ("refused", ())),
    ],
)
def test_both_ends_are_included_and_unknown_is_asked(
    decide: Callable[..., tuple[str, tuple[str, ...]]], facts: dict[str, object], expected: tuple[str, tuple[str, ...]], trace: bool
) -> None:
    assert decide(facts, trace) == expected


def test_ends_of_another_kind_are_a_located_type_error() -> None:
    from policy_rules.language.loader import analyse

    text = RULES.replace("income is between £0 and £20,000", "income is between 0 and 2024-01-01")
    _model, diagnostics = analyse({"between.rules": text}, "between")
    messages = [f"{d.span}: {d.message}" for d in diagnostics if d.severity == "error"]
    assert messages == [
        "between.rules:22:35: `is between` compares numbers, money or dates of the same kind, but `income` is money and `0` is a whole number",
        "between.rules:22:35: `is between` compares numbers, money or dates of the same kind, but `income` is money and `2024-01-01` is a date",
    ]
