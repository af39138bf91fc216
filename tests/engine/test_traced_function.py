"""The traced fast path: generated code explains every decision exactly as the full path does."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.haringey_services import generate
from policy_rules import ConflictError, Policy, load_policy
from policy_rules.engine import traced_function as tp
from tests.engine.test_properties import enum_cases, list_cases, number_cases, yes_no_cases
from tests.support.cli_helpers import HARINGEY
from tests.support.complete_facts import completed
from tests.support.sample_policies import EVERY_FORM, HOSTILE, every_form_facts

AS_OF = date(2024, 4, 1)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_policies: dict[str, Policy] = {}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("traced")


def policy_of(folder: Path, text: str) -> Policy:
    if text not in _policies:
        path = folder / f"p{len(_policies)}.rules"
        path.write_text(text, encoding="utf-8")
        _policies[text] = load_policy(path)
    return _policies[text]


def both_ways(policy: Policy, raw: dict[str, Any], as_of: date = AS_OF) -> tuple[Any, Any]:
    """The decision (or the error) by the generated traced path and by the full path alone."""
    facts, service = policy.facts_of(raw)
    results = []
    for decide in (policy.decide, policy.decide_in_full):
        try:
            results.append(decide(facts, service, as_of, trace=True).to_dict())
        except ConflictError as error:
            results.append(("conflict", str(error)))
    return results[0], results[1]


def test_the_haringey_rules_are_explained_alike_on_6000_generated_services() -> None:
    policy = load_policy(HARINGEY)
    # The first 5,000 are given every fact the policy declares: the generated traced code must explain each of them.
    services = [completed(policy, facts) for facts in generate(5_000, seed=7)] + generate(1_000, seed=8, missing=0.05)
    taken = 0
    for raw in services:
        generated, full = both_ways(policy, raw)
        assert generated == full, raw["service"]
        taken += policy._traced(policy.facts_of(raw)[0], AS_OF) is not None
    assert taken >= 5_000


def test_the_generated_path_gives_way_when_a_fact_it_reads_is_missing() -> None:
    policy = load_policy(HARINGEY)
    raw = generate(1, seed=3)[0]
    del raw["nhs_expertise"]
    facts, _ = policy.facts_of(raw)
    assert policy._traced(facts, AS_OF) is None
    decision = policy.evaluate(raw, AS_OF)
    assert decision.outcome == "undetermined"
    assert decision.needed_facts == ("nhs_expertise",)


def test_shared_events_stay_right_when_the_tables_are_emptied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tp, "CACHE_LIMIT", 3)
    policy = load_policy(HARINGEY)
    for raw in generate(300, seed=11):
        generated, full = both_ways(policy, raw)
        assert generated == full


def test_hostile_names_and_strings_stay_data(tmp_path: Path) -> None:
    rules = tmp_path / "hostile.rules"
    rules.write_text(HOSTILE, encoding="utf-8")
    policy = load_policy(rules)
    source = policy.source("traced")
    assert source
    helpers = {
        "READ",
        "FD",
        "PA",
        "PV",
        "CONDITION",
        "WORKED_OUT",
        "RULE",
        "MADE",
        "ITEM",
        "MEMBER",
        "AT_LEAST",
        "REASONS",
        "SHOWN",
        "GIVE_UP",
        "DECIDED",
        "OVERRIDDEN",
        "NOT_APPLYING",
        "NONE",
        "CannotDecide",
        "K",
        "D",
    }
    keywords = {"def", "traced", "f", "as_of", "if", "elif", "else", "not", "and", "or", "in", "is", "None", "True", "False", "nonlocal",
                "return", "raise", "for", "any", "all", "len", "sum", "tuple", "enumerate", "lambda", "get", "append", "w", "v", "A", "W", "M",
                "FR", "o", "p", "l", "s", "i", "r", "g"}  # fmt: skip
    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))
    numbered = {i for i in identifiers if re.fullmatch(r"[mr]?[CDE]\d+|[rhvebkoxcinF]\d+", i)}
    assert identifiers <= helpers | keywords | numbered
    assert "import" not in source
    injected = "'); import os; os.system('touch /tmp/policy_rules_pwned'); ('"
    for raw in ({"__class__": True, "eval": 20, "print": injected}, {"__class__": False, "eval": 5, "print": "x"}):
        generated, full = both_ways(policy, raw)
        assert generated == full
    assert not (tmp_path / "policy_rules_pwned").exists()


def _complete(draw: st.DrawFn, known: dict[str, Any], domains: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    return {**known, **{name: draw(st.sampled_from(domain)) for name, domain in domains.items() if name not in known}}


@st.composite
def complete_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    text, known, domains = draw(st.one_of(yes_no_cases(), enum_cases(), number_cases()))
    return text, _complete(draw, known, domains)


@given(complete_cases())
@SETTINGS
def test_random_policies_are_explained_alike(folder: Path, case: tuple[str, dict[str, Any]]) -> None:
    text, facts = case
    generated, full = both_ways(policy_of(folder, text), facts, date(2020, 1, 1))
    assert generated == full


@given(list_cases(), st.data())
@SETTINGS
def test_random_policies_over_list_items_are_explained_alike(folder: Path, case: Any, data: st.DataObject) -> None:
    text, known, items, domains = case
    filled = [dict(item) for item in items]
    facts = dict(known)
    for name in domains:
        value = data.draw(st.booleans())
        if name.startswith("parts["):
            index, field = name[len("parts[") :].split("].")
            filled[int(index)][field] = value
        else:
            facts[name] = value
    generated, full = both_ways(policy_of(folder, text), {**facts, "parts": filled}, date(2020, 1, 1))
    assert generated == full


@given(every_form_facts(), st.sampled_from([date(2021, 6, 1), date(2024, 4, 1)]))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_every_form_of_the_language_is_explained_alike(folder: Path, facts: dict[str, Any], as_of: date) -> None:
    policy = policy_of(folder, EVERY_FORM)
    assert policy._traced.source, "the generated path covers every form of condition"
    generated, full = both_ways(policy, facts, as_of)
    assert generated == full


CONFLICTING = """
policy "conflict"
  outcome d

fact a is yes/no
fact b is yes/no

decision d
  outcomes x, y, z

rule base
  by default d is x

rule first
  exception to base
  when a
  then d is y

rule second
  exception to base
  when b
  then d is z
"""


def test_a_conflict_is_left_to_the_full_path(folder: Path) -> None:
    policy = policy_of(folder, CONFLICTING)
    typed, _ = policy.facts_of({"a": True, "b": True})
    assert policy._traced(typed, AS_OF) is None
    with pytest.raises(ConflictError) as raised:
        policy.evaluate({"a": True, "b": True}, AS_OF)
    assert "first" in str(raised.value) and "second" in str(raised.value)
    assert policy.evaluate({"a": True, "b": False}, AS_OF).decided_by == "first"
