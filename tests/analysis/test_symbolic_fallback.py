"""The evaluator hands a service beyond its search's budget to the symbolic backend, and the answer is exact.

``policy_rules.engine.evaluator.search`` gives up past ``MAX_SEARCH_VARIABLES``
missing facts read at once, or after ``SEARCH_LIMIT`` evaluations; then
``policy_rules.analysis.needed`` answers (see ``test_symbolic_needed`` for the
property that it equals a brute force).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from policy_rules import ConflictError, load_policy

AS_OF = date(2020, 1, 1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fallback")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.rules"
    path.write_text(text)
    return path


MANY_PARTS = """
policy "many parts"
  outcome plan
  element outcomes part_plan

record part
  field name is text
  field specialist is yes/no

fact parts is list of part
fact urgent is yes/no

decision plan
  outcomes whole, split

rule whole_by_default
  by default plan is whole

rule split_when_some_specialist
  exception to whole_by_default
  when any p in parts where p.specialist
  then plan is split

decision part_plan for each p in parts
  outcomes inside, outside

rule inside_by_default
  by default part_plan is inside

rule outside_when_specialist
  exception to inside_by_default
  when p.specialist and urgent
  then part_plan is outside
"""


def test_a_service_beyond_the_search_budget_gets_exact_needed_facts(folder: Path) -> None:
    """30 unknown fields are beyond the search (more than MAX_SEARCH_VARIABLES): the symbolic backend answers, exactly."""
    policy = load_policy(write(folder, "many", MANY_PARTS))
    parts = [{"name": f"part {i}"} for i in range(30)]
    decision = policy.evaluate({"parts": parts, "urgent": False}, AS_OF, trace=False)
    assert decision.needed_facts_exact
    assert decision.outcome == "undetermined"
    assert list(decision.needed_facts) == [f"parts[{i}].specialist" for i in range(30)]
    assert {e.outcome for e in decision.elements} == {"inside"}  # not urgent: no part goes outside, whatever it is
    known = [{"name": f"part {i}", "specialist": i == 29} for i in range(30)]
    assert policy.evaluate({"parts": [*known[:29], {"name": "last"}], "urgent": True}, AS_OF, trace=False).needed_facts == ("parts[29].specialist",)


ALWAYS_CLASHING = """
policy "always clashing"
  outcome plan

record part
  field name is text
  field specialist is yes/no

fact parts is list of part
fact urgent is yes/no

decision plan
  outcomes whole, split, pause

rule whole_by_default
  by default plan is whole

rule split_when_any_part_is_either
  exception to whole_by_default
  when any p in parts where (p.specialist or not p.specialist)
  then plan is split

rule pause_when_urgent
  exception to whole_by_default
  when urgent
  then plan is pause
"""


def test_every_completion_conflicting_is_a_conflict_error_beyond_the_budget(folder: Path) -> None:
    """Three-valued logic cannot see that every part is specialist or not; the symbolic answer can, and the conflict is raised."""
    policy = load_policy(write(folder, "clash", ALWAYS_CLASHING))
    with pytest.raises(ConflictError) as raised:
        policy.evaluate({"parts": [{"name": f"part {i}"} for i in range(30)], "urgent": True}, AS_OF, trace=False)
    assert set(raised.value.labels) == {"split_when_any_part_is_either", "pause_when_urgent"}


def test_past_its_budget_the_symbolic_backend_leaves_the_search_s_inexact_answer(folder: Path) -> None:
    """More missing fields than ``needed.MAX_VARIABLES``: no solver calls, and the decision says its needed facts may be more than needed."""
    policy = load_policy(write(folder, "many", MANY_PARTS))
    decision = policy.evaluate({"parts": [{"name": f"part {i}"} for i in range(450)], "urgent": True}, AS_OF, trace=False)
    assert decision.outcome == "undetermined"
    assert not decision.needed_facts_exact
    assert len(decision.needed_facts) == 450
