"""The symbolic backend's needed facts: equal to a brute force over every completion, and to the search wherever the search is exact.

The random policies and facts are those of ``test_properties`` (yes/no and
listed-value facts, fields of list items, bounds on missing numbers and
dates); the brute force is its own. Here the symbolic answer is asked for
directly, whatever the size, and the evaluator is shown to use it when its
search would exceed its budget.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_rules import Policy
from policy_rules.analysis.needed import symbolic_search
from policy_rules.engine import evaluator
from policy_rules.engine.evaluator import evaluate_once, needed_fact_names, search
from policy_rules.values.types import UNKNOWN
from tests.engine.test_properties import CONFLICT, brute_force, enum_cases, expected_needed, list_cases, number_cases, yes_no_cases
from tests.support.symbolic_support import examples, policy_of

AS_OF = date(2020, 1, 1)
SETTINGS = examples(60)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("symbolic")


def check(policy: Policy, known: dict[str, Any], variables: dict[str, tuple[Any, ...]], complete: Any) -> None:
    """The symbolic answer is the brute force's; where the search is exact, it is the search's too."""
    results = brute_force(policy, variables, complete)
    possible = set(results.values())
    compiled = policy._compiled
    typed, service = policy.facts_of(known)
    found = symbolic_search(compiled, typed, AS_OF, service)
    assert found is not None and found.exact
    if possible == {CONFLICT}:
        assert all(r.conflict is not None for r in found.results)
        return
    assert sorted(needed_fact_names(compiled, found)) == sorted(expected_needed(variables, results))
    settled = [r for r in possible if r != CONFLICT]
    outcomes = {r[0] for r in settled}
    symbolic_outcomes = {UNKNOWN if r.conflict else r.outcome for r in found.results}
    if len(outcomes) == 1 and CONFLICT not in possible:
        assert symbolic_outcomes == outcomes
    else:
        assert len(symbolic_outcomes) > 1
    first, env = evaluate_once(compiled, typed, AS_OF, service=service)
    if first.conflict is None and evaluator.is_open(first):
        searched = search(compiled, typed, AS_OF, first, env, service)
        if searched.exact:
            assert needed_fact_names(compiled, searched) == needed_fact_names(compiled, found)


@given(st.one_of(yes_no_cases(), enum_cases(), number_cases()))
@SETTINGS
def test_symbolic_needed_facts_for_facts_of_every_kind(folder: Path, case: tuple[str, dict[str, Any], dict[str, tuple[Any, ...]]]) -> None:
    """Yes/no and listed-value facts, and bounds on missing numbers, whole numbers and dates."""
    text, known, domains = case
    missing = {name: domain for name, domain in domains.items() if name not in known}
    check(policy_of(folder, text), known, missing, lambda values: {**known, **values})


@given(list_cases())
@SETTINGS
def test_symbolic_needed_facts_for_fields_of_items(folder: Path, case: tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, tuple[Any, ...]]]) -> None:
    text, known, items, domains = case

    def complete(values: dict[str, Any]) -> dict[str, Any]:
        filled = [dict(item) for item in items]
        facts = dict(known)
        for name, value in values.items():
            if name.startswith("parts["):
                index, field = name[len("parts[") :].split("].")
                filled[int(index)][field] = value
            else:
                facts[name] = value
        return {**facts, "parts": filled}

    check(policy_of(folder, text), {**known, "parts": items}, domains, complete)
