"""``whatif`` (the fewest changes to known facts for a target outcome) and the symbolic diff (every outcome change two versions allow, one witness each).

Both are checked against brute force on random yes/no policies (the
generator of ``test_properties``): ``whatif`` finds a change set exactly when
some assignment gives the target, of the smallest size; the symbolic diff
lists exactly the (before, after) pairs some assignment shows, and each
witness is decided so by the two versions.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_rules import ConflictError, Policy, load_policy
from policy_rules.analysis.symbolic_diff import symbolic_diff
from policy_rules.analysis.whatif import whatif
from tests.engine.test_properties import yes_no_cases
from tests.support.symbolic_support import examples, policy_of

AS_OF = date(2020, 1, 1)
SETTINGS = examples(40)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("whatif")


def outcome(policy: Policy, facts: dict[str, Any]) -> str:
    try:
        return policy.evaluate(facts, AS_OF, trace=False).outcome
    except ConflictError:
        return "conflict"


@given(yes_no_cases(), st.data())
@SETTINGS
def test_whatif_finds_a_smallest_change_set_exactly_when_one_exists(folder: Path, case: tuple[str, dict, dict], data: st.DataObject) -> None:
    text, _known, domains = case
    policy = policy_of(folder, text)
    names = sorted(domains)
    service = {name: data.draw(st.booleans()) for name in names}
    target = data.draw(st.sampled_from(policy.model.name_types["d"].values))
    distances = [
        sum(service[n] != v for n, v in zip(names, values, strict=True))
        for values in itertools.product((True, False), repeat=len(names))
        if outcome(policy, dict(zip(names, values, strict=True))) == target
    ]
    answer = whatif(policy, service, target, AS_OF)
    assert answer.found == bool(distances)
    if distances:
        assert len(answer.changes) == min(distances)
        changed = dict(service, **{c.fact: c.after for c in answer.changes})
        assert all(service[c.fact] == c.before != c.after for c in answer.changes)
        assert outcome(policy, changed) == target


def test_whatif_on_a_service_with_a_list_and_amounts(tmp_path: Path) -> None:
    text = """
policy "works"
  outcome plan

record part
  field name is text
  field specialist is yes/no

fact parts is list of part
fact cost is money
fact budget is money

decision plan
  outcomes in_house, split, buy

rule in_house_by_default
  by default plan is in_house

rule split_when_a_part_is_specialist
  exception to in_house_by_default
  when any p in parts where p.specialist
  then plan is split

rule buy_when_unaffordable
  exception to split_when_a_part_is_specialist
  when cost is above budget * 110%
  then plan is buy
"""
    (tmp_path / "p.rules").write_text(text)
    policy = load_policy(tmp_path / "p.rules")
    service = {"parts": [{"name": "a", "specialist": False}, {"name": "b", "specialist": True}], "cost": 1000, "budget": 1000}
    answer = whatif(policy, service, "in_house", AS_OF)
    assert [(c.fact, c.before, c.after) for c in answer.changes] == [("parts[1].specialist", True, False)]
    bought = whatif(policy, service, "buy", AS_OF)
    assert [c.fact for c in bought.changes] in (["cost"], ["budget"])
    changed = dict(service, **{c.fact: c.after for c in bought.changes})
    assert policy.evaluate(changed, AS_OF, trace=False).outcome == "buy"
    assert "budget" in bought.text() or "cost" in bought.text()


def test_whatif_leaves_missing_facts_missing_and_says_when_they_decide(tmp_path: Path) -> None:
    text = 'policy "p"\n  outcome d\n\nfact a is yes/no\nfact b is yes/no\n\ndecision d\n  outcomes x, y\n\n'
    text += "rule x_default\n  by default d is x\n\nrule y_when_both\n  exception to x_default\n  when a and b\n  then d is y\n"
    (tmp_path / "p.rules").write_text(text)
    policy = load_policy(tmp_path / "p.rules")
    answer = whatif(policy, {"a": False}, "y", AS_OF)
    assert not answer.found
    assert "missing" in answer.reason
    assert whatif(policy, {"a": False, "b": True}, "y", AS_OF).changes[0].fact == "a"
    with pytest.raises(Exception, match="not an outcome"):
        whatif(policy, {"a": False}, "z", AS_OF)


@given(yes_no_cases(), yes_no_cases())
@SETTINGS
def test_symbolic_diff_lists_every_possible_outcome_change_with_a_witness(folder: Path, old_case: Any, new_case: Any) -> None:
    old, new = policy_of(folder, old_case[0]), policy_of(folder, new_case[0])
    names = sorted(set(old_case[2]) | set(new_case[2]))
    expected = set()
    for values in itertools.product((True, False), repeat=len(names)):
        service = dict(zip(names, values, strict=True))
        before = outcome(old, {k: v for k, v in service.items() if k in old.model.facts})
        after = outcome(new, {k: v for k, v in service.items() if k in new.model.facts})
        if before != after:
            expected.add((before, after))
    changes = symbolic_diff(old, new)
    assert {(c.before, c.after) for c in changes} == expected
    assert len(changes) == len(expected)
    for c in changes:
        assert outcome(old, {k: v for k, v in c.witness.items() if k in old.model.facts}) == c.before
        assert outcome(new, {k: v for k, v in c.witness.items() if k in new.model.facts}) == c.after


def test_a_policy_compared_with_itself_has_no_outcome_change() -> None:
    haringey = load_policy(Path(__file__).resolve().parents[2] / "rules" / "haringey")
    assert symbolic_diff(haringey, haringey) == []
