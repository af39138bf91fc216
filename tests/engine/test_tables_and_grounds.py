"""First-of tables (the chain of exceptions they mean, in one place) and agreeing grounds (not a conflict)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_rules import ConflictError
from policy_rules.api import policy_from_sources
from policy_rules.engine.trace import DecisionMade
from policy_rules.language.loader import analyse
from tests.engine.test_properties import check_against_brute_force

GROUNDS = """\
policy "Grounds"
  version "1"
  outcome eligible

fact carer is yes/no
fact veteran is yes/no
fact student is yes/no
fact banned is yes/no

decision eligible
  outcomes yes_e, no_e

rule not_by_default
  by default eligible is no_e

rule as_carer
  exception to not_by_default
  when carer
  then eligible is yes_e

rule as_veteran
  exception to not_by_default
  when veteran
  then eligible is yes_e

rule as_student
  exception to not_by_default
  when student
  then eligible is yes_e

rule refused_when_banned
  exception to not_by_default
  when banned
  then eligible is no_e
"""

AS_OF = date(2025, 1, 1)


@pytest.fixture(scope="module")
def grounds():  # type: ignore[no-untyped-def]
    return policy_from_sources({"grounds.rules": GROUNDS}, "grounds")


@pytest.mark.parametrize("trace", [False, True])
def test_two_grounds_that_agree_are_not_a_conflict(grounds, trace: bool) -> None:  # type: ignore[no-untyped-def]
    decision = grounds.evaluate({"carer": True, "veteran": True, "student": False, "banned": False}, AS_OF, trace=trace)
    assert (decision.outcome, decision.decided_by) == ("yes_e", "as_carer")


def test_every_ground_that_gave_the_outcome_is_named_in_the_explanation(grounds) -> None:  # type: ignore[no-untyped-def]
    decision = grounds.evaluate({"carer": True, "veteran": False, "student": True, "banned": False}, AS_OF)
    statuses = {rule.label: rule.status for made in decision.trace if isinstance(made, DecisionMade) and made.rule for rule in made.rule.walk()}
    assert statuses["as_carer"] == statuses["as_student"] == "decided"
    assert statuses["as_veteran"] == "does_not_apply"
    assert statuses["not_by_default"] == "overridden"


@pytest.mark.parametrize("trace", [False, True])
def test_grounds_that_disagree_are_a_conflict_naming_both(grounds, trace: bool) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConflictError) as caught:
        grounds.evaluate({"carer": True, "veteran": False, "student": False, "banned": True}, AS_OF, trace=trace)
    assert caught.value.labels == ("as_carer", "refused_when_banned")
    assert [str(s) for s in caught.value.spans] == ["grounds.rules:16:1", "grounds.rules:31:1"]
    assert "with different outcomes" in str(caught.value)


def test_a_ground_settles_the_outcome_when_the_others_are_unknown_but_agree(grounds) -> None:  # type: ignore[no-untyped-def]
    decision = grounds.evaluate({"carer": True, "banned": False}, AS_OF)
    assert decision.outcome == "yes_e"
    assert decision.needed_facts == ()


@given(st.fixed_dictionaries({}, optional={name: st.booleans() for name in ("carer", "veteran", "student", "banned")}))
@settings(max_examples=80, deadline=None, derandomize=True)
def test_needed_facts_with_agreeing_grounds_are_exact_against_brute_force(known: dict[str, bool]) -> None:
    policy = policy_from_sources({"grounds.rules": GROUNDS}, "grounds")
    missing = {name: (True, False) for name in ("carer", "veteran", "student", "banned") if name not in known}
    check_against_brute_force(policy, known, missing, lambda values: {**known, **values})


NESTED = """\
policy "Nested"
  version "1"
  outcome d

fact a is yes/no
fact b is yes/no
fact c is yes/no

decision d
  outcomes x, y, z

rule base
  by default d is x

rule first
  exception to base
  when a
  then d is y

rule first_unless
  exception to first
  when c
  then d is z

rule second
  exception to base
  when b
  then d is y
"""


def test_a_conflict_names_the_rules_whose_conclusions_apply() -> None:
    # `first` does not give the outcome here (its exception does): the conflict names `first_unless`.
    policy = policy_from_sources({"nested.rules": NESTED}, "nested")
    with pytest.raises(ConflictError) as caught:
        policy.evaluate({"a": False, "b": True, "c": True}, AS_OF)
    assert caught.value.labels == ("first_unless", "second")


TABLE = """\
policy "Routes"
  version "1"
  outcome route

document guide "The guide"
  sections "Who can apply", "Routes"

fact resident is yes/no
fact care_leaver is yes/no
fact born is date

decision route
  outcomes refused, fast_track, standard

table routes for route, first that applies
  row refuse_when_not_resident
    when not resident
    then refused
    because "the scheme is only for residents"
    cites guide section "Who can apply"
  row fast_track_for_care_leavers
    when care_leaver and years from born to today is below 25
    then fast_track
    because "care leavers under 25 are fast-tracked"
    cites guide section "Routes"
  otherwise standard_route
    then standard
    because "every other application follows the standard route"
    cites guide section "Routes"
"""

CHAIN = """\
policy "Routes"
  version "1"
  outcome route

document guide "The guide"
  sections "Who can apply", "Routes"

fact resident is yes/no
fact care_leaver is yes/no
fact born is date

decision route
  outcomes refused, fast_track, standard

rule standard_route
  by default route is standard
  because "every other application follows the standard route"
  cites guide section "Routes"

rule fast_track_for_care_leavers
  exception to standard_route
  when care_leaver and years from born to today is below 25
  then route is fast_track
  because "care leavers under 25 are fast-tracked"
  cites guide section "Routes"

rule refuse_when_not_resident
  exception to fast_track_for_care_leavers
  when not resident
  then route is refused
  because "the scheme is only for residents"
  cites guide section "Who can apply"
"""


@given(
    st.fixed_dictionaries(
        {},
        optional={"resident": st.booleans(), "care_leaver": st.booleans(), "born": st.sampled_from(["2000-01-02", "2000-01-01", "1999-06-30"])},
    )
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_a_table_means_exactly_the_chain_of_exceptions_it_replaces(facts: dict) -> None:
    table = policy_from_sources({"routes.rules": TABLE}, "routes")
    chain = policy_from_sources({"routes.rules": CHAIN}, "routes")
    for trace in (False, True):
        a, b = table.evaluate(facts, AS_OF, trace=trace), chain.evaluate(facts, AS_OF, trace=trace)
        assert (a.outcome, a.decided_by, a.needed_facts) == (b.outcome, b.decided_by, b.needed_facts)


def test_the_first_row_that_applies_decides_and_each_row_is_a_rule() -> None:
    policy = policy_from_sources({"routes.rules": TABLE}, "routes")
    assert policy.evaluate({"resident": False, "care_leaver": True, "born": "2001-01-01"}, AS_OF).decided_by == "refuse_when_not_resident"
    assert policy.evaluate({"resident": True, "care_leaver": True, "born": "2001-01-01"}, AS_OF).decided_by == "fast_track_for_care_leavers"
    assert policy.evaluate({"resident": True, "care_leaver": True, "born": "2000-01-01"}, AS_OF).decided_by == "standard_route"
    rules = policy.model.rules
    assert [label for label, rule in rules.items() if rule.table == "routes"] == ["refuse_when_not_resident", "fast_track_for_care_leavers", "standard_route"]
    assert rules["standard_route"].is_default and rules["refuse_when_not_resident"].because == "the scheme is only for residents"


def _errors(text: str) -> list[str]:
    _model, diagnostics = analyse({"t.rules": text}, "t")
    return [f"{d.span}: {d.message}" for d in diagnostics if d.severity == "error"]


def test_a_table_row_is_checked_as_a_rule_is() -> None:
    found = _errors(TABLE.replace("row fast_track_for_care_leavers", "row refuse_when_not_resident"))
    assert "t.rules:21:3: the rule label `refuse_when_not_resident` is already used at t.rules:16:3; every rule needs its own label" in found
    found = _errors(TABLE.replace("then fast_track", "then fast_trak"))
    assert len(found) == 1 and found[0].startswith("t.rules:23:10: ") and "fast_trak" in found[0] and "fast_track" in found[0]


def test_a_table_without_otherwise_is_a_located_syntax_error() -> None:
    text = TABLE[: TABLE.index("  otherwise")]
    found = _errors(text)
    assert len(found) == 1 and "otherwise" in found[0]
