"""Optional fields of a record: `field X is yes/no default no` reads as its default when an item does not give it."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_rules.api import policy_from_sources
from policy_rules.language.loader import analyse
from tests.engine.test_properties import brute_force, expected_needed

RULES = """\
policy "Parts"
  version "1"
  service name service
  outcome delivery
  element outcomes part_delivery

record part
  field name is text
  field specialist is yes/no
  field better_placed_elsewhere is yes/no
    default no
    means "another provider has been assessed as better placed to deliver this part"

fact service is text
fact parts is list of part

define external_part_exists as any p in parts where (p.specialist or p.better_placed_elsewhere)

decision delivery
  outcomes in_house, hybrid

rule in_house_by_default
  by default delivery is in_house

rule hybrid_when_a_part_is_external
  exception to in_house_by_default
  when external_part_exists
  then delivery is hybrid

decision part_delivery for each part in parts
  outcomes inside, outside

rule part_inside
  by default part_delivery is inside

rule part_outside
  exception to part_inside
  when part.specialist or part.better_placed_elsewhere
  then part_delivery is outside
"""

AS_OF = date(2025, 1, 1)


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return policy_from_sources({"parts.rules": RULES}, "parts")


def _view(decision) -> tuple:  # type: ignore[no-untyped-def]
    return decision.outcome, tuple(e.outcome for e in decision.elements), decision.needed_facts


PARTS = [{"name": "Enforcement", "specialist": False, "better_placed_elsewhere": True}, {"name": "Permits", "specialist": False}]


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize(
    "shape",
    [lambda parts: parts, json.dumps],
    ids=["records", "json text of a register cell"],
)
def test_a_field_not_given_reads_as_its_default(policy, trace: bool, shape) -> None:  # type: ignore[no-untyped-def]
    decision = policy.evaluate({"service": "Parking", "parts": shape(PARTS)}, AS_OF, trace=trace)
    assert _view(decision) == ("hybrid", ("outside", "inside"), ())


def test_an_item_better_placed_elsewhere_needs_no_specialist(policy) -> None:  # type: ignore[no-untyped-def]
    decision = policy.evaluate({"service": "S", "parts": [{"name": "Lifts", "better_placed_elsewhere": True}]}, AS_OF)
    assert _view(decision) == ("hybrid", ("outside",), ())
    decision = policy.evaluate({"service": "S", "parts": [{"name": "Lifts"}]}, AS_OF)
    assert _view(decision) == ("undetermined", ("undetermined",), ("parts[0].specialist",))


def test_unknown_given_for_a_field_with_a_default_reads_as_the_default(policy) -> None:  # type: ignore[no-untyped-def]
    decision = policy.evaluate({"service": "S", "parts": [{"name": "A", "specialist": False, "better_placed_elsewhere": "unknown"}]}, AS_OF)
    assert _view(decision) == ("in_house", ("inside",), ())


@given(
    st.lists(
        st.fixed_dictionaries({}, optional={"specialist": st.booleans(), "better_placed_elsewhere": st.booleans()}),
        min_size=1,
        max_size=3,
    )
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_needed_facts_with_optional_fields_are_exact_against_brute_force(parts: list[dict]) -> None:
    policy = policy_from_sources({"parts.rules": RULES}, "parts")
    known = {"service": "S", "parts": [{"name": f"p{i}", **p} for i, p in enumerate(parts)]}
    # Only `specialist` can be missing: an absent `better_placed_elsewhere` is "no", not unknown.
    missing = {f"parts[{i}].specialist": (True, False) for i, p in enumerate(parts) if "specialist" not in p}

    def complete(values: dict) -> dict:
        items = [dict(p) for p in known["parts"]]
        for key, value in values.items():
            items[int(key[len("parts[") : key.index("]")])]["specialist"] = value
        return {"service": "S", "parts": items}

    results = brute_force(policy, missing, complete)
    decision = policy.evaluate(known, AS_OF, trace=False)
    assert sorted(decision.needed_facts) == sorted(expected_needed(missing, results))
    assert decision.needed_facts_exact
    assert (decision.outcome == "undetermined") == (len({r[0] for r in results.values()}) > 1)


def test_a_default_of_the_wrong_type_is_a_located_error() -> None:
    text = RULES.replace("    default no\n", "    default £5\n")
    _model, diagnostics = analyse({"parts.rules": text}, "parts")
    errors = [f"{d.span}: {d.message}" for d in diagnostics if d.severity == "error"]
    assert errors == ["parts.rules:11:13: the default `£5` is not yes/no, the type of field `better_placed_elsewhere` of record `part`"]
