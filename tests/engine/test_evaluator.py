"""The evaluator: three-valued logic, default logic, conflicts, parameters, the worked examples.

Small policies are written inline, saved to ``tmp_path`` as ``.rules`` files
and loaded with ``load_policy``; the Haringey rules are a frozen copy, ``tests/policies/haringey-2019-07``.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from policy_rules import ConflictError, Decision, Policy, PolicyError, load_policy
from policy_rules.engine import evaluator as ev
from policy_rules.engine import trace as t
from policy_rules.engine.compiler import EvaluationError
from policy_rules.engine.decider import Decider

ROOT = Path(__file__).resolve().parents[2]
HARINGEY = ROOT / "tests" / "policies" / "haringey-2019-07"
"""The Haringey rules frozen for the engine's tests: a change of the bundled policy breaks only its scenarios and case files."""
AS_OF = date(2020, 1, 1)


def write_policy(tmp_path: Path, text: str, name: str = "p.rules") -> Policy:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return load_policy(path)


def worked_out(decision: Decision, name: str) -> t.ValueWorkedOut:
    """The trace event that worked out the defined value ``name``."""
    found = [e for e in decision.trace if isinstance(e, t.ValueWorkedOut) and e.name == name]
    assert len(found) == 1, f"{name} was worked out {len(found)} times"
    return found[0]


def made(decision: Decision, name: str, item: str | None = None) -> t.DecisionMade:
    found = [e for e in decision.trace if isinstance(e, t.DecisionMade) and e.decision == name and (item is None or (e.item or "").startswith(item))]
    assert len(found) == 1
    return found[0]


def rules_by_label(decision: Decision, name: str) -> dict[str, t.RuleConsidered]:
    event = made(decision, name)
    assert event.rule is not None
    return {r.label: r for r in event.rule.walk()}


# --- three-valued logic -----------------------------------------------------------------------

KLEENE_POLICY = """
    record item
      field name is text
      field ok is yes/no

    fact a is yes/no
    fact b is yes/no
    fact c is yes/no
    fact n is number
    fact k is whole number
    fact m is money
    fact rate is percentage
    fact day is date
    fact label is text
    fact size is one of low, mid, high
    fact items is list of item

    define v as {expr}

    decision d
      outcomes held, not_held

    rule base
      by default d is not_held

    rule holds
      exception to base
      when v
      then d is held
"""

UNKNOWN_VALUE = None  # a defined value that is unknown shows as null in the trace

KLEENE_CASES = [
    # and: false wins over unknown, in either order
    ("a and b", {"a": False}, False),
    ("a and b", {"b": False}, False),
    ("a and b", {"a": True}, UNKNOWN_VALUE),
    ("a and b", {}, UNKNOWN_VALUE),
    ("a and b", {"a": True, "b": True}, True),
    ("a and b and c", {"a": True, "c": False}, False),
    # or: true wins over unknown, in either order
    ("a or b", {"a": True}, True),
    ("a or b", {"b": True}, True),
    ("a or b", {"a": False}, UNKNOWN_VALUE),
    ("a or b", {"a": False, "b": False}, False),
    # not
    ("not a", {}, UNKNOWN_VALUE),
    ("not a", {"a": True}, False),
    ("not (a and b)", {"a": False}, True),
    # Kleene, not classical: a or not a is unknown rule by rule
    ("a or not a", {}, UNKNOWN_VALUE),
    # comparisons and arithmetic with an unknown operand are unknown
    ("n > 3", {}, UNKNOWN_VALUE),
    ("n > 3", {"n": 5}, True),
    ("n = n", {}, UNKNOWN_VALUE),
    ("n + 1 > 3", {}, UNKNOWN_VALUE),
    ("n * 0 = 0", {}, UNKNOWN_VALUE),
    ("-n < 0", {}, UNKNOWN_VALUE),
    ("k / 2 is at least 1", {"k": 4}, True),
    ("m * 2 is at least £10", {}, UNKNOWN_VALUE),
    ("m - £5 is below £10", {"m": "£12"}, True),
    ("rate is above 5%", {"rate": "7.5%"}, True),
    ("rate is above 5%", {}, UNKNOWN_VALUE),
    ("day is before 2020-01-01", {}, UNKNOWN_VALUE),
    ("day is before 2020-01-01", {"day": "2019-12-31"}, True),
    ('label is "x"', {}, UNKNOWN_VALUE),
    ('label is not "x"', {"label": "y"}, True),
    ("a = b", {"a": True}, UNKNOWN_VALUE),
    ("size is one of (low, high)", {}, UNKNOWN_VALUE),
    ("size is one of (low, high)", {"size": "mid"}, False),
    ("size is not one of (low, high)", {"size": "mid"}, True),
    # is known: never unknown
    ("a is known", {}, False),
    ("a is not known", {}, True),
    ("n is known", {"n": 1}, True),
    # any of / all of / none of / at least N of
    ("any of (a, b, c)", {"b": True}, True),
    ("any of (a, b, c)", {"a": False, "b": False}, UNKNOWN_VALUE),
    ("any of (a, b, c)", {"a": False, "b": False, "c": False}, False),
    ("all of (a, b, c)", {"c": False}, False),
    ("all of (a, b, c)", {"a": True, "b": True}, UNKNOWN_VALUE),
    ("all of (a, b, c)", {"a": True, "b": True, "c": True}, True),
    ("none of (a, b)", {"b": True}, False),
    ("none of (a, b)", {"a": False}, UNKNOWN_VALUE),
    ("none of (a, b)", {"a": False, "b": False}, True),
    ("at least 2 of (a, b, c)", {"a": True, "c": True}, True),
    ("at least 2 of (a, b, c)", {"a": False, "b": False}, False),
    ("at least 2 of (a, b, c)", {"a": True, "b": False}, UNKNOWN_VALUE),
    ("at least 2 of (a, b, c)", {"a": True}, UNKNOWN_VALUE),
    # quantifiers over list items with unknown fields
    ("any x in items where x.ok", {"items": [{"ok": False}, {"ok": True}]}, True),
    ("any x in items where x.ok", {"items": [{"ok": False}, {}]}, UNKNOWN_VALUE),
    ("any x in items where x.ok", {"items": [{}, {"ok": True}]}, True),
    ("any x in items where x.ok", {"items": []}, False),
    ("every x in items where x.ok", {"items": [{}, {"ok": False}]}, False),
    ("every x in items where x.ok", {"items": [{"ok": True}, {}]}, UNKNOWN_VALUE),
    ("every x in items where x.ok", {"items": []}, True),
    ("no x in items where x.ok", {"items": [{}, {"ok": True}]}, False),
    ("no x in items where x.ok", {"items": [{"ok": False}, {}]}, UNKNOWN_VALUE),
    ("no x in items where x.ok", {"items": [{"ok": False}]}, True),
    ("(number of x in items where x.ok) is at least 1", {"items": [{"ok": True}, {}]}, UNKNOWN_VALUE),
    ("(number of x in items where x.ok) is at least 1", {"items": [{"ok": True}, {"ok": False}]}, True),
    # a whole list that is missing
    ("items is empty", {}, UNKNOWN_VALUE),
    ("any x in items where x.ok", {}, UNKNOWN_VALUE),
    ("number of items > 1", {}, UNKNOWN_VALUE),
    ("number of items > 1", {"items": [{}, {}]}, True),
]


@pytest.fixture(scope="module")
def kleene_policies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Policy]:
    folder = tmp_path_factory.mktemp("kleene")
    policies = {}
    for i, expr in enumerate(dict.fromkeys(case[0] for case in KLEENE_CASES)):
        policies[expr] = write_policy(folder, KLEENE_POLICY.format(expr=expr), f"k{i}.rules")
    return policies


@pytest.mark.parametrize(("expr", "facts", "expected"), KLEENE_CASES, ids=[f"{c[0]} {c[1]}" for c in KLEENE_CASES])
def test_three_valued_logic(kleene_policies: dict[str, Policy], expr: str, facts: dict[str, Any], expected: bool | None) -> None:
    decision = kleene_policies[expr].evaluate(facts, AS_OF)
    event = worked_out(decision, "v")
    assert event.value is expected
    assert event.condition.value == {True: "true", False: "false", None: "unknown"}[expected]
    rules = rules_by_label(decision, "d")
    assert rules["holds"].status == {True: "decided", False: "does_not_apply", None: "unknown"}[expected]


def test_a_condition_unknown_rule_by_rule_is_settled_when_every_completion_agrees(kleene_policies: dict[str, Policy]) -> None:
    decision = kleene_policies["a or not a"].evaluate({}, AS_OF)
    assert worked_out(decision, "v").value is None
    assert decision.outcome == "held"
    assert decision.needed_facts == ()
    event = made(decision, "d")
    assert event.value == "held"
    assert event.decided_by is None  # no single rule decided it: the search did


def test_a_count_unknown_rule_by_rule_is_settled_by_the_search(kleene_policies: dict[str, Policy]) -> None:
    policy = kleene_policies["(number of x in items where x.ok) is at least 1"]
    decision = policy.evaluate({"items": [{"ok": True}, {}]}, AS_OF)
    assert decision.outcome == "held"
    assert decision.needed_facts == ()
    decision = policy.evaluate({"items": [{"ok": False}, {}]}, AS_OF)
    assert decision.outcome == "undetermined"
    assert decision.needed_facts == ("items[1].ok",)


def test_an_unknown_condition_makes_the_outcome_undetermined_and_names_the_facts(kleene_policies: dict[str, Policy]) -> None:
    decision = kleene_policies["a and b"].evaluate({"a": True}, AS_OF)
    assert decision.outcome == "undetermined"
    assert decision.undetermined
    assert decision.needed_facts == ("b",)
    assert [q.to_dict() for q in decision.questions] == [{"fact": "b", "question": "What is b?"}]
    needed = [e for e in decision.trace if isinstance(e, t.NeededFacts)]
    assert [n.to_dict() for n in needed] == [{"type": "needed_facts", "facts": ["b"], "questions": ["What is b?"], "exact": True}]
    decision = kleene_policies["a and b"].evaluate({}, AS_OF)
    assert decision.needed_facts == ("a", "b")


def test_missing_numbers_are_needed_through_their_comparisons(kleene_policies: dict[str, Policy]) -> None:
    decision = kleene_policies["m * 2 is at least £10"].evaluate({}, AS_OF)
    assert decision.outcome == "undetermined"
    assert decision.needed_facts == ("m",)
    decision = kleene_policies["day is before 2020-01-01"].evaluate({}, AS_OF)
    assert decision.needed_facts == ("day",)
    decision = kleene_policies["number of items > 1"].evaluate({}, AS_OF)
    assert decision.needed_facts == ("items",)


@pytest.mark.parametrize(
    ("expr", "facts", "outcome", "needed"),
    [
        # two bounds on one missing fact that cannot both hold
        ("n > 5 and n < 3", {}, "not_held", ()),
        ("n is at least 5 or n is below 5", {}, "held", ()),
        ("k > 2 and k < 3", {}, "not_held", ()),  # no whole number lies between 2 and 3
        ("k > 2 and k < 4", {}, "undetermined", ("k",)),
        ("day is after 2020-01-01 and day is before 2020-01-02", {}, "not_held", ()),
        ("day is after 2020-01-01 and day is before 2020-01-03", {}, "undetermined", ("day",)),
        ('label is "a" and label is "b"', {}, "not_held", ()),
        ('label is "a" or label is not "a"', {}, "held", ()),
        ("m is at most £900 and not (m is below £1,000)", {}, "not_held", ()),
        # a bound against another known fact is a bound all the same
        ("n > k and n < 2", {"k": 3}, "not_held", ()),
    ],
)
def test_bounds_on_the_same_missing_fact_constrain_each_other(tmp_path: Path, expr: str, facts: dict[str, Any], outcome: str, needed: tuple[str, ...]) -> None:
    decision = write_policy(tmp_path, KLEENE_POLICY.format(expr=expr)).evaluate(facts, AS_OF)
    assert worked_out(decision, "v").value is None  # unknown rule by rule
    assert (decision.outcome, decision.needed_facts) == (outcome, needed)


def test_a_bound_whose_value_is_found_deeper_in_the_search(tmp_path: Path) -> None:
    """``n > count``: the value n is compared with is only known once the items are assumed."""
    policy = write_policy(tmp_path, KLEENE_POLICY.format(expr="n > (number of x in items where x.ok) and n < 1"))
    decision = policy.evaluate({"items": [{}]}, AS_OF)
    # n < 1 and n > count: only possible with no item ok (count 0) and n between 0 and 1
    assert (decision.outcome, decision.needed_facts) == ("undetermined", ("n", "items[0].ok"))
    assert decision.needed_facts_exact
    decision = policy.evaluate({"items": [{"ok": True}]}, AS_OF)
    assert (decision.outcome, decision.needed_facts) == ("not_held", ())
    decision = policy.evaluate({"items": [{}], "n": "0.5"}, AS_OF)
    assert (decision.outcome, decision.needed_facts) == ("undetermined", ("items[0].ok",))


def test_comparisons_that_are_not_bounds_on_one_fact_are_independent_questions(tmp_path: Path) -> None:
    """The documented limit: arithmetic on a missing number, or two missing numbers, make independent questions."""
    for expr in ("n + 0 > 5 and n < 3", "n > k and n < k", "n * 2 > 10 and n * 2 < 6"):
        policy = write_policy(tmp_path, KLEENE_POLICY.format(expr=expr))
        decision = policy.evaluate({}, AS_OF)
        assert decision.outcome == "undetermined"  # though no value of n makes it hold
        assert decision.needed_facts_exact  # exact in the sense of docs/unknown-facts.md: such questions are independent


def test_the_cost_within_budget_and_below_spend_are_asked_about_once(haringey: Policy) -> None:
    """Any cost within a £900,000 budget is below the £1,000,000 spent today: personal contact cannot matter."""
    facts = {k: v for k, v in ALL_CLEAR.items() if k not in ("in_house_annual_cost", "personal_contact")}
    decision = haringey.evaluate({**facts, "budget_available": 900_000}, AS_OF)
    assert (decision.outcome, decision.priority, decision.needed_facts) == ("undetermined", "undetermined", ("in_house_annual_cost",))
    decision = haringey.evaluate(facts, AS_OF)  # a cost between £1,000,000 and £1,200,000 brings no saving
    assert decision.needed_facts == ("in_house_annual_cost", "personal_contact")


def test_a_count_compared_with_a_missing_number_needs_both(tmp_path: Path) -> None:
    """The same comparison with one item counted and with none are two questions, not one."""
    policy = write_policy(tmp_path, KLEENE_POLICY.format(expr="(number of x in items where x.ok) is above k"))
    decision = policy.evaluate({"items": [{}]}, AS_OF)
    assert decision.outcome == "undetermined"
    assert decision.needed_facts == ("k", "items[0].ok")
    decision = policy.evaluate({"items": [{}], "k": 1}, AS_OF)
    assert decision.outcome == "not_held"
    assert decision.needed_facts == ()


def test_division_by_zero_is_an_error_with_its_location(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, KLEENE_POLICY.format(expr="n / k > 1"))
    with pytest.raises(EvaluationError) as error:
        policy.evaluate({"n": 1, "k": 0}, AS_OF)
    assert str(error.value) == f"{tmp_path / 'p.rules'}:17:13: error: this calculation divides by zero for service '#1'"
    assert isinstance(error.value, PolicyError)


# --- default logic: exceptions ----------------------------------------------------------------

NESTED = """
    fact a is yes/no
    fact b is yes/no
    fact c is yes/no

    decision d
      outcomes level0, level1, level2, level3

    rule base
      by default d is level0

    rule first
      exception to base
      when a
      then d is level1

    rule second
      exception to first
      when b
      then d is level2

    rule third
      exception to second
      when c
      then d is level3
"""


@pytest.mark.parametrize(
    ("facts", "outcome", "decided_by"),
    [
        ({"a": False, "b": False, "c": False}, "level0", "base"),
        ({"a": True, "b": False, "c": False}, "level1", "first"),
        ({"a": True, "b": True, "c": False}, "level2", "second"),
        ({"a": True, "b": True, "c": True}, "level3", "third"),
        # an exception is tried whether or not the rule it is an exception to holds
        ({"a": False, "b": True, "c": False}, "level2", "second"),
        ({"a": False, "b": False, "c": True}, "level3", "third"),
        # the deepest exception that applies settles it, whatever is missing above it
        ({"c": True}, "level3", "third"),
        ({"b": True, "c": False}, "level2", "second"),
    ],
)
def test_nested_exceptions_three_levels(tmp_path: Path, facts: dict[str, bool], outcome: str, decided_by: str) -> None:
    decision = write_policy(tmp_path, NESTED).evaluate(facts, AS_OF)
    assert decision.outcome == outcome
    assert decision.decided_by == decided_by
    assert decision.needed_facts == ()
    rules = rules_by_label(decision, "d")
    assert rules[decided_by].status == "decided"
    chain = ["base", "first", "second", "third"]
    holds = {"base": True, "first": facts.get("a"), "second": facts.get("b"), "third": facts.get("c")}
    shown = {True: "overridden", False: "does_not_apply", None: "unknown"}
    for above, below in itertools.pairwise(chain):
        if chain.index(below) <= chain.index(decided_by):
            # the rule an exception takes precedence over is said to be overridden only if it would have applied
            assert rules[above].status == shown[holds[above]]
            assert rules[above].overridden_by == below


def test_nested_exceptions_with_unknown_facts(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, NESTED)
    decision = policy.evaluate({"a": True, "b": False}, AS_OF)
    assert (decision.outcome, decision.needed_facts) == ("undetermined", ("c",))
    decision = policy.evaluate({"b": False, "c": False}, AS_OF)
    assert (decision.outcome, decision.needed_facts) == ("undetermined", ("a",))
    decision = policy.evaluate({}, AS_OF)
    assert (decision.outcome, decision.needed_facts) == ("undetermined", ("a", "b", "c"))
    rules = rules_by_label(decision, "d")
    assert {label: r.status for label, r in rules.items()} == {"base": "applies", "first": "unknown", "second": "unknown", "third": "unknown"}


SAME_OUTCOME = """
    fact a is yes/no
    fact b is yes/no

    decision d
      outcomes x, y

    rule base
      by default d is x

    rule same
      exception to base
      when a
      then d is x

    rule other
      exception to same
      when a and b
      then d is y
"""


def test_an_unknown_exception_with_the_parents_outcome_leaves_the_outcome_settled(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, SAME_OUTCOME)
    decision = policy.evaluate({"b": False}, AS_OF)
    assert decision.outcome == "x"
    assert not decision.undetermined
    assert decision.needed_facts == ()
    assert decision.decided_by == "base"
    assert rules_by_label(decision, "d")["same"].status == "unknown"
    # it is settled rule by rule, not only by the search
    assert made(decision, "d").value == "x"
    # an unknown exception with another outcome is a different matter
    decision = policy.evaluate({"b": True}, AS_OF)
    assert (decision.outcome, decision.needed_facts) == ("undetermined", ("a",))


CONFLICT = """
    fact a is yes/no
    fact b is yes/no
    fact c is yes/no

    decision d
      outcomes x, y, z

    rule base
      by default d is x

    rule via_a
      exception to base
      when a
      then d is y

    rule via_b
      exception to base
      when b
      then d is z

    rule under_a
      exception to via_a
      when c
      then d is z

    rule also_under_a
      exception to via_a
      when c and b
      then d is y
"""


def test_two_exceptions_that_apply_at_the_same_level_are_a_conflict(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, CONFLICT)
    path = tmp_path / "p.rules"
    with pytest.raises(ConflictError) as error:
        policy.evaluate({"a": True, "b": True, "c": False}, AS_OF)
    e = error.value
    assert e.decision == "d"
    assert e.labels == ("via_a", "via_b")
    assert [str(s) for s in e.spans] == [f"{path}:11:1", f"{path}:16:1"]
    assert str(e) == (
        f"{path}:11:1: error: conflict in decision d for service '#1': rule via_a ({path}:11:1) and rule via_b ({path}:16:1) both apply "
        "with different outcomes and neither is an exception to the other; make one of them an exception to the other"
    )


def test_a_conflict_between_nested_exceptions(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, CONFLICT)
    with pytest.raises(ConflictError) as error:
        policy.evaluate({"a": False, "b": True, "c": True}, AS_OF)
    assert error.value.labels == ("under_a", "also_under_a")
    assert [s.line for s in error.value.spans] == [21, 26]


def test_a_conflict_only_possible_under_unknown_facts_is_undetermined(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, CONFLICT)
    decision = policy.evaluate({"a": True, "c": False}, AS_OF)  # b true would be a conflict, b false gives y
    assert decision.outcome == "undetermined"
    assert decision.needed_facts == ("b",)
    decision = policy.evaluate({"a": False, "c": False}, AS_OF)  # no conflict possible
    assert (decision.outcome, decision.needed_facts) == ("undetermined", ("b",))
    decision = policy.evaluate({"a": False, "b": False, "c": False}, AS_OF)
    assert decision.outcome == "x"


def test_a_conflict_in_every_completion_is_an_error_even_when_found_by_the_search(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        """
        fact a is yes/no
        fact b is yes/no

        decision d
          outcomes x, y

        rule base
          by default d is x

        rule one
          exception to base
          when a or not a
          then d is y

        rule two
          exception to base
          when b or not b
          then d is x
        """,
    )
    with pytest.raises(ConflictError) as error:
        policy.evaluate({}, AS_OF)
    assert error.value.labels == ("one", "two")


# --- decisions for each item of a list ----------------------------------------------------------

ELEMENTS = """
    policy "parts"
      service name service
      outcome d
      element outcomes e

    record part
      field name is text
      field specialist is yes/no
      field urgent is yes/no

    fact service is text
    fact mixed is yes/no
    fact parts is list of part
      default empty

    decision d
      outcomes whole, split

    rule d_base
      by default d is whole

    rule d_split
      exception to d_base
      when mixed
      then d is split

    decision e for each p in parts
      outcomes follow, inside, outside

    rule e_base
      by default e is follow

    rule e_inside
      exception to e_base
      when d is split
      then e is inside

    rule e_outside
      exception to e_inside
      when d is split and p.specialist
      then e is outside

    rule e_urgent
      exception to e_inside
      when p.urgent
      then e is inside
"""


def test_element_outcomes(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, ELEMENTS)
    parts = [{"name": "Cleaning", "specialist": False}, {"name": "Lifts", "specialist": True}, {"specialist": False}]
    decision = policy.evaluate({"service": "S", "mixed": True, "parts": [{**p, "urgent": False} for p in parts]}, AS_OF)
    assert decision.outcome == "split"
    assert [e.to_dict() for e in decision.elements] == [
        {"name": "Cleaning", "outcome": "inside"},
        {"name": "Lifts", "outcome": "outside"},
        {"name": "parts[2]", "outcome": "inside"},
    ]
    items = [e.item for e in decision.trace if isinstance(e, t.DecisionMade) and e.decision == "e"]
    assert items == ["parts[0] (Cleaning)", "parts[1] (Lifts)", "parts[2]"]
    assert policy.evaluate({"service": "S", "mixed": False}, AS_OF).elements == ()


def test_an_undetermined_element_names_the_field_it_needs(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, ELEMENTS)
    decision = policy.evaluate(
        {"service": "S", "mixed": True, "parts": [{"name": "A", "specialist": False, "urgent": False}, {"name": "B", "urgent": False}]}, AS_OF
    )
    assert decision.outcome == "split"
    assert [e.outcome for e in decision.elements] == ["inside", "undetermined"]
    assert decision.undetermined
    assert decision.needed_facts == ("parts[1].specialist",)
    assert decision.questions[0].question == "For parts[1] (B): what is its specialist?"
    unnamed = policy.evaluate({"service": "S", "mixed": True, "parts": [{"name": "A", "specialist": False, "urgent": False}, {"urgent": False}]}, AS_OF)
    assert unnamed.questions[0].question == "For item 1 of parts: what is its specialist?"
    # when the service is not split, the part's field does not matter
    decision = policy.evaluate({"service": "S", "mixed": False, "parts": [{"name": "B", "urgent": False}]}, AS_OF)
    assert [e.outcome for e in decision.elements] == ["follow"]
    assert decision.needed_facts == ()
    # the service's own missing fact is needed by every element
    decision = policy.evaluate({"service": "S", "parts": [{"name": "B", "specialist": True, "urgent": False}]}, AS_OF)
    assert decision.outcome == "undetermined"
    assert [e.outcome for e in decision.elements] == ["undetermined"]
    assert decision.needed_facts == ("mixed",)


def test_a_conflict_in_an_element_decision_names_the_item(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, ELEMENTS)
    with pytest.raises(ConflictError) as error:
        policy.evaluate({"service": "S", "mixed": True, "parts": [{"name": "A", "specialist": True, "urgent": True}]}, AS_OF)
    assert error.value.labels == ("e_outside", "e_urgent")
    assert "for service 'S (parts[0])'" in str(error.value)
    # a conflict that only an unknown field makes possible leaves everything undetermined
    decision = policy.evaluate({"service": "S", "mixed": True, "parts": [{"name": "A", "specialist": True}]}, AS_OF)
    assert (decision.outcome, decision.elements[0].outcome, decision.needed_facts) == ("undetermined", "undetermined", ("parts[0].urgent",))


# --- parameters as at a date ----------------------------------------------------------------------

PARAMETERS = """
    fact spend is money

    parameter threshold is money
      value £100 from 2019-01-01 until 2019-12-31
      value £200 from 2020-01-01

    decision d
      outcomes small, large

    rule base
      by default d is small

    rule large_spend
      exception to base
      when spend is above threshold
      then d is large
"""


def test_a_parameter_takes_the_value_in_force_on_the_date(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, PARAMETERS)
    assert policy.evaluate({"spend": 150}, "2019-06-30").outcome == "large"
    assert policy.evaluate({"spend": 150}, date(2019, 12, 31)).outcome == "large"
    assert policy.evaluate({"spend": 150}, date(2020, 1, 1)).outcome == "small"
    decision = policy.evaluate({"spend": 250}, "2031-01-01")
    assert decision.outcome == "large"
    assert decision.as_of == "2031-01-01"
    reads = rules_by_label(decision, "d")["large_spend"].condition.reads  # type: ignore[union-attr]
    assert [(r.kind, r.name, r.value, r.shown) for r in reads] == [("fact", "spend", 250, "£250"), ("parameter", "threshold", 200, "£200")]


def test_a_date_with_no_value_of_a_parameter_is_an_error_with_its_location(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, PARAMETERS)
    with pytest.raises(EvaluationError) as error:
        policy.evaluate({"spend": 150}, "2018-12-31")
    assert (
        str(error.value) == f"{tmp_path / 'p.rules'}:3:1: error: parameter `threshold` has no value on 2018-12-31; add a `value ... from` that covers that date"
    )


def test_a_date_that_is_not_a_date(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, PARAMETERS)
    with pytest.raises(PolicyError) as error:
        policy.evaluate({}, "2020-13-01")
    assert str(error.value) == "--as-of: error: `2020-13-01` is not a date; write it as YYYY-MM-DD"


# --- the worked examples of the reading -----------------------------------------------------------

ALL_CLEAR: dict[str, Any] = {
    "service": "Example service",
    "annual_spend": 1_000_000,
    "in_house_annual_cost": 1_100_000,
    "budget_available": 1_200_000,
    "quality_concerns": False,
    "personal_contact": False,
    "at_risk_groups": False,
    "affects_rights": False,
    "exceptional_worker_demands": False,
    "build_capacity": False,
    "has_capacity": True,
    "has_capability": True,
    "safeguarding_concern": False,
    "delivery_risk": False,
    "environmentally_sustainable": True,
    "other_provider_better_placed": False,
    "nhs_expertise": False,
    "vcs_reach": False,
    "public_partner_available": False,
    "local_provider_available": False,
}


def _without(facts: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if k != name}


#: (name, facts, outcome, priority, elements, needed facts, reasons, decided by)
WORKED_EXAMPLES: list[tuple[str, dict[str, Any], str, str, list[tuple[str, str]], tuple[str, ...], tuple[str, ...], str | None]] = [
    ("all clear", ALL_CLEAR, "in_house", "standard", [], (), (), "insource_by_default"),
    ("quality concerns", {**ALL_CLEAR, "quality_concerns": True}, "in_house", "high", [], (), ("quality_concerns",), "insource_by_default"),
    (
        "unaffordable, local provider",
        {**ALL_CLEAR, "in_house_annual_cost": 1_300_000, "local_provider_available": True},
        "procure_local",
        "not_applicable",
        [],
        (),
        (),
        "procure_from_local_provider",
    ),
    (
        "specialist element",
        {**ALL_CLEAR, "elements": [{"name": "cleaning", "specialist": False}, {"name": "lift maintenance", "specialist": True}]},
        "hybrid",
        "standard",
        [("cleaning", "in_house"), ("lift maintenance", "external")],
        (),
        (),
        "hybrid_for_specialist_elements",
    ),
    ("no capability", {**ALL_CLEAR, "has_capability": False}, "in_house_phased", "standard", [], (), (), "insource_by_default"),
    ("only nhs expertise", {"nhs_expertise": True}, "partnership_nhs", "not_applicable", [], (), (), "partner_with_nhs"),
    ("safeguarding missing", _without(ALL_CLEAR, "safeguarding_concern"), "undetermined", "undetermined", [], ("safeguarding_concern",), (), None),
]


@pytest.fixture(scope="module")
def haringey() -> Policy:
    return load_policy(HARINGEY)


@pytest.mark.parametrize(
    ("facts", "outcome", "priority", "elements", "needed", "reasons", "decided_by"), [c[1:] for c in WORKED_EXAMPLES], ids=[c[0] for c in WORKED_EXAMPLES]
)
def test_worked_examples(
    haringey: Policy,
    facts: dict[str, Any],
    outcome: str,
    priority: str,
    elements: list[tuple[str, str]],
    needed: tuple[str, ...],
    reasons: tuple[str, ...],
    decided_by: str | None,
) -> None:
    decision = haringey.evaluate(facts, AS_OF)
    assert decision.outcome == outcome
    assert decision.priority == priority
    assert [(e.name, e.outcome) for e in decision.elements] == elements
    assert decision.needed_facts == needed
    assert decision.needed_facts_exact
    assert decision.reasons == reasons
    assert decision.decided_by == decided_by
    assert decision.trace and isinstance(decision.trace[0], t.FactsGiven)
    assert decision.policy.name == "Haringey insourcing policy"
    assert decision.policy.version == "2019-07"


def test_worked_example_questions(haringey: Policy) -> None:
    decision = haringey.evaluate(_without(ALL_CLEAR, "safeguarding_concern"), AS_OF)
    assert [q.to_dict() for q in decision.questions] == [{"fact": "safeguarding_concern", "question": "Would in-house delivery raise a safeguarding concern?"}]


def test_worked_example_trace_cites_the_policy(haringey: Policy) -> None:
    decision = haringey.evaluate({"nhs_expertise": True}, AS_OF)
    rule = rules_by_label(decision, "delivery")["partner_with_nhs"]
    assert rule.status == "decided"
    assert rule.location == f"{HARINGEY}/40-partnerships.rules:12"
    assert [c.to_dict() for c in rule.citations] == [
        {"document": "haringey", "title": "Haringey Council insourcing policy (Appendix 1)", "section": "Relationship to existing council policy"}
    ]
    assert rule.condition is not None
    assert [(r.name, r.value) for r in rule.condition.reads] == [("nhs_expertise", True)]


def test_the_facilities_management_example(haringey: Policy) -> None:
    import yaml

    raw = yaml.safe_load((ROOT / "examples" / "facilities-management.yaml").read_text())
    decision = haringey.evaluate(raw, AS_OF)
    assert (decision.outcome, decision.priority) == ("hybrid", "high")
    assert decision.reasons == ("quality_concerns", "value_for_money_gain", "build_capacity")
    assert [(e.name, e.outcome) for e in decision.elements] == [
        ("Cleaning", "in_house"),
        ("Security and reception", "in_house"),
        ("Lift maintenance and repair", "external"),
    ]


def test_with_no_facts_every_fact_that_matters_is_needed_exactly(haringey: Policy) -> None:
    decision = haringey.evaluate({}, AS_OF)
    assert decision.outcome == "undetermined"
    assert decision.needed_facts_exact
    model = haringey.model
    assert decision.needed_facts == tuple(n for n in model.facts if n not in ("service", "elements", "contract_end_date", "staff"))


def test_beyond_the_search_limit_the_symbolic_backend_answers_exactly(haringey: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    searched = haringey.evaluate({}, AS_OF)
    monkeypatch.setattr(ev, "SEARCH_LIMIT", 3)
    decision = haringey.evaluate({}, AS_OF)
    assert decision.needed_facts_exact
    assert (decision.outcome, decision.priority, decision.needed_facts) == (searched.outcome, searched.priority, searched.needed_facts)


def test_the_search_limit_gives_up_honestly(haringey: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an exact answer given to the engine (the facade gives the symbolic backend's), the search says it is not exact."""
    monkeypatch.setattr(ev, "SEARCH_LIMIT", 3)
    engine = Decider(haringey._compiled, haringey.info)
    decision = engine.evaluate({}, AS_OF, AS_OF.isoformat(), trace=True, path="<facts>", index=0)
    assert decision.outcome == "undetermined"
    assert not decision.needed_facts_exact
    assert "nhs_expertise" in decision.needed_facts
    last = decision.trace[-1]
    assert isinstance(last, t.NeededFacts)
    assert last.exact is False
    assert decision.to_dict()["needed_facts_exact"] is False


# --- determinism and threads --------------------------------------------------------------------

DETERMINISM_CASES = [facts for _name, facts, *_ in WORKED_EXAMPLES] + [
    {},
    {"service": "Parts", "elements": [{"name": "a"}, {"name": "b", "specialist": True}]},
    {"nhs_expertise": False, "vcs_reach": False, "safeguarding_concern": True},
]


def _dumps(decision: Decision) -> str:
    return json.dumps(decision.to_dict(), sort_keys=False)


def test_two_runs_give_byte_identical_json(haringey: Policy) -> None:
    for facts in DETERMINISM_CASES:
        first = _dumps(haringey.evaluate(facts, AS_OF))
        again = _dumps(load_policy(HARINGEY).evaluate(dict(facts), AS_OF))
        assert first == again


def test_runs_with_different_hash_seeds_give_byte_identical_json(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json, sys
            from policy_rules import load_policy
            policy = load_policy({str(HARINGEY)!r})
            cases = json.loads(sys.stdin.read())
            print(json.dumps([policy.evaluate(c, "2020-01-01").to_dict() for c in cases]))
            """
        )
    )
    cases = json.dumps(DETERMINISM_CASES)
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, str(script)], input=cases, capture_output=True, text=True, env=env, check=True, cwd=ROOT)
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_evaluating_one_policy_from_eight_threads(haringey: Policy) -> None:
    cases = DETERMINISM_CASES
    expected = [_dumps(haringey.evaluate(c, AS_OF)) for c in cases]
    barrier = threading.Barrier(8)

    def run(offset: int) -> list[str]:
        barrier.wait()
        order = cases[offset:] + cases[:offset]
        return [_dumps(haringey.evaluate(c, AS_OF)) for c in order]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(8)))
    for offset, got in enumerate(results):
        assert got == expected[offset:] + expected[:offset]


def test_the_trace_is_optional_and_changes_nothing_else(haringey: Policy) -> None:
    for facts in DETERMINISM_CASES:
        with_trace = haringey.evaluate(facts, AS_OF).to_dict()
        without = haringey.evaluate(facts, AS_OF, trace=False).to_dict()
        assert without["trace"] == []
        assert {k: v for k, v in with_trace.items() if k not in ("trace", "decided_by")} == {
            k: v for k, v in without.items() if k not in ("trace", "decided_by")
        }


def test_evaluate_many_keeps_the_order(haringey: Policy) -> None:
    rows = [{**facts, "service": f"S{i}"} for i, facts in enumerate(DETERMINISM_CASES)]
    decisions = list(haringey.evaluate_many(rows, AS_OF))
    assert [d.service for d in decisions] == [f"S{i}" for i in range(len(rows))]
    assert [d.outcome for d in decisions] == [haringey.evaluate(r, AS_OF).outcome for r in rows]
