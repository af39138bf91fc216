"""Every decision follows ``schema/decision.schema.json``: worked examples, example files, generated cases."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_rules import ConflictError, Policy, load_policy
from policy_rules.engine.decision import DECISION_SCHEMA_VERSION
from policy_rules.registers.facts import read_facts_file
from policy_rules.renderers.reports import to_json
from tests.engine.test_evaluator import ALL_CLEAR, HARINGEY, WORKED_EXAMPLES
from tests.engine.test_properties import enum_cases, haringey_facts, list_cases, yes_no_cases
from tests.support.schema_check import decision_schema, schema_errors, validate_decision

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2020, 1, 1)


@pytest.fixture(scope="module")
def haringey() -> Policy:
    return load_policy(HARINGEY)


def test_the_schema_is_a_draft_2020_12_schema_with_an_id_and_a_version() -> None:
    schema = decision_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:policy-rules:schema:decision:{DECISION_SCHEMA_VERSION}"
    assert schema["properties"]["schema_version"] == {"description": "The version of this schema the object follows.", "const": DECISION_SCHEMA_VERSION}
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"]) - {"results", "results_needed"}  # present when the policy names results


@pytest.mark.parametrize(("facts",), [(c[1],) for c in WORKED_EXAMPLES], ids=[c[0] for c in WORKED_EXAMPLES])
def test_worked_examples_follow_the_schema(haringey: Policy, facts: dict[str, Any]) -> None:
    decision = haringey.evaluate(facts, AS_OF)
    validate_decision(decision)
    validate_decision(haringey.evaluate(facts, AS_OF, trace=False), trace=False)


def _example_files() -> list[Path]:
    return sorted(p for p in (ROOT / "examples").glob("*") if p.suffix in (".yaml", ".yml", ".json", ".csv"))


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_example_files_follow_the_schema_as_the_command_line_prints_them(haringey: Policy, path: Path) -> None:
    found = read_facts_file(str(path))
    policy = load_policy(ROOT / "rules" / "hillingdon-dfg") if path.name.startswith("hillingdon") else haringey
    try:
        decisions = [policy.evaluate(s.raw, AS_OF, path=s.path, index=s.index) for s in found.services]
    except ConflictError:  # pragma: no cover - the Haringey rules have no conflicts
        pytest.fail("a conflict in the Haringey rules")
    printed = json.loads(to_json(decisions, single=found.single))
    for data in [printed] if isinstance(printed, dict) else printed:
        validate_decision(data)


def test_a_decision_with_every_kind_of_trace_event(haringey: Policy) -> None:
    facts = {k: v for k, v in ALL_CLEAR.items() if k != "budget_available"}
    facts["elements"] = [{"name": "Cleaning", "specialist": False}, {"name": "Lifts"}]
    data = haringey.evaluate(facts, AS_OF).to_dict()
    assert {e["type"] for e in data["trace"]} == {"facts", "defined_value", "decision", "needed_facts"}
    assert data["needed_facts"] == ["budget_available", "elements[1].specialist"]
    validate_decision(data)


# --- strictness: what the schema refuses -----------------------------------------------------------


@pytest.fixture(scope="module")
def sample(haringey: Policy) -> dict[str, Any]:
    return haringey.evaluate({**ALL_CLEAR, "quality_concerns": True}, AS_OF).to_dict()


def _rule(data: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in data["trace"] if e["type"] == "decision")["rules"]


BREAKAGES = [
    ("an unknown key", lambda d: d.update(extra=1), "(top): Additional properties are not allowed ('extra' was unexpected)"),
    ("a missing key", lambda d: d.pop("needed_facts"), "(top): 'needed_facts' is a required property"),
    ("another schema version", lambda d: d.update(schema_version="2.0"), "schema_version: '1.0' was expected"),
    ("a bad digest", lambda d: d["policy"].update(digest="md5:x"), "policy.digest: 'md5:x' does not match '^sha256:[0-9a-f]{64}$'"),
    ("an empty trace", lambda d: d.update(trace=[]), "trace: [] should be non-empty"),
    ("an unknown event", lambda d: d["trace"].append({"type": "other"}), None),
    ("a trace not opening with the facts", lambda d: d["trace"].reverse(), None),
    ("an unknown rule status", lambda d: _rule(d).update(status="maybe"), None),
    ("a rule without its location", lambda d: _rule(d).pop("location"), None),
    ("a location without a line", lambda d: _rule(d).update(location="rules/x.rules"), None),
    ("an extra key in a nested exception", lambda d: _rule(d)["exceptions"][0].update(note="x"), None),
    ("a needed fact that is not a fact name", lambda d: d.update(needed_facts=["two words"]), None),
    ("a date that is not ISO", lambda d: d.update(as_of="01/01/2020"), "as_of: '01/01/2020' does not match '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'"),
    ("an element without an outcome", lambda d: d.update(elements=[{"name": "x"}]), "elements.0: 'outcome' is a required property"),
]


@pytest.mark.parametrize(("change", "message"), [b[1:] for b in BREAKAGES], ids=[b[0] for b in BREAKAGES])
def test_the_schema_is_strict(sample: dict[str, Any], change: Any, message: str | None) -> None:
    validate_decision(sample)
    broken = copy.deepcopy(sample)
    change(broken)
    errors = schema_errors(broken)
    assert errors
    if message is not None:
        assert message in errors
    with pytest.raises(AssertionError, match=r"does not follow schema/decision\.schema\.json"):
        validate_decision(broken)


# --- generated cases ----------------------------------------------------------------------------

_policies: dict[str, Policy] = {}
_folder: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _rules_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    _folder.append(tmp_path_factory.mktemp("schema"))
    yield
    _folder.clear()


def _policy(text: str) -> Policy:
    if text not in _policies:
        path = _folder[0] / f"s{len(_policies)}.rules"
        path.write_text(text)
        _policies[text] = load_policy(path)
    return _policies[text]


GENERATED = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _decide(policy: Policy, facts: dict[str, Any]) -> None:
    try:
        decision = policy.evaluate(facts, AS_OF)
    except ConflictError:
        return
    validate_decision(decision)


@given(st.one_of(yes_no_cases(), enum_cases()))
@GENERATED
def test_generated_decisions_follow_the_schema(case: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
    text, known, _domains = case
    _decide(_policy(text), known)


@given(list_cases())
@GENERATED
def test_generated_element_decisions_follow_the_schema(case: tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, Any]]) -> None:
    text, known, items, _domains = case
    _decide(_policy(text), {**known, "parts": items})


@given(haringey_facts())
@GENERATED
def test_generated_haringey_decisions_follow_the_schema(raw: dict[str, Any]) -> None:
    _decide(load_policy_once(), raw)


_HARINGEY: list[Policy] = []


def load_policy_once() -> Policy:
    if not _HARINGEY:
        _HARINGEY.append(load_policy(HARINGEY))
    return _HARINGEY[0]
