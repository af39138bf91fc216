"""The code generator: one visitor, with the modes seen through ``Policy.source(mode)`` and the three-valued one through ``CompiledPolicy.source``."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from benchmarks.haringey_services import generate
from policy_rules import PolicyError, cli, load_policy
from policy_rules.engine import codegen
from policy_rules.engine.codegen import MODES, ThreeValued, TwoValued
from policy_rules.engine.lowering import lower
from tests.engine.test_traced_function import CONFLICTING
from tests.support.cli_helpers import HARINGEY
from tests.support.complete_facts import completed
from tests.support.sample_policies import HOSTILE

AS_OF = date(2024, 4, 1)

#: Two sibling exceptions (``first``, ``second``) and an exception to one of them.
SIBLINGS = (
    CONFLICTING.replace("fact b is yes/no\n", "fact b is yes/no\nfact c is yes/no\n").replace("outcomes x, y, z", "outcomes x, y, z, w")
    + """
rule inner
  exception to second
  when c
  then d is w
"""
)


@pytest.fixture(scope="module")
def siblings(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("codegen") / "siblings.rules"
    path.write_text(SIBLINGS, encoding="utf-8")
    return load_policy(path)


def test_every_mode_shows_its_source() -> None:
    policy = load_policy(HARINGEY)
    assert MODES == ("two_valued", "traced", "columnar")
    assert policy.source() == policy.source("two_valued") == policy._function.source
    assert policy.source("traced") == policy._traced.source
    assert policy.source("two_valued").startswith("def make(K):\n")
    assert policy.source("traced").startswith("def traced(f, as_of):\n")
    assert policy.source("columnar") == policy._engine.columnar.source
    assert policy.source("columnar").startswith("def decide(R, F, G, P, AS_OF):\n")
    with pytest.raises(PolicyError) as raised:
        policy.source("three_valued")
    assert str(raised.value) == "error: there is no mode `three_valued`; the modes are two_valued, traced, columnar"


@pytest.mark.parametrize(
    ("facts", "outcome", "decided_by"),
    [
        ({"a": False, "b": False, "c": False}, "x", "base"),
        ({"a": True, "b": False, "c": False}, "y", "first"),
        ({"a": False, "b": True, "c": False}, "z", "second"),
        ({"a": False, "b": True, "c": True}, "w", "inner"),
        ({"a": False, "b": False, "c": True}, "w", "inner"),  # an exception applies whether or not the rule it overrides would
    ],
)
def test_default_logic_is_the_same_in_both_modes(siblings, facts: dict[str, bool], outcome: str, decided_by: str) -> None:  # type: ignore[no-untyped-def]
    fast = siblings.decide_fast(facts, AS_OF)
    assert (fast.outcome, fast.decided_by) == (outcome, decided_by)
    typed, service = siblings.facts_of(facts)
    traced = siblings.decide(typed, service, AS_OF, trace=True)
    assert traced.to_dict() == siblings.decide_in_full(typed, service, AS_OF, trace=True).to_dict()
    assert (traced.outcome, traced.decided_by) == (outcome, decided_by)


def test_two_exceptions_that_apply_at_once_are_left_to_the_reference_in_both_modes(siblings) -> None:  # type: ignore[no-untyped-def]
    for conflict in ({"a": True, "b": True, "c": False}, {"a": True, "b": False, "c": True}):
        assert siblings.decide_fast(conflict, AS_OF) is None
        assert siblings._traced(siblings.facts_of(conflict)[0], AS_OF) is None
    assert "raise CannotDecide" in siblings.source("two_valued") and "raise CannotDecide" in siblings.source("traced")


def test_a_chain_of_single_exceptions_is_one_ladder_when_nothing_is_recorded(siblings) -> None:  # type: ignore[no-untyped-def]
    generator = TwoValued(lower(siblings.model))
    second = generator.lowered.decisions["d"].root.exceptions[1]
    out = generator.rule(second, {}, 1)
    assert generator.lines == [
        "    if x0:",
        f"        {out.value}, {out.decider} = c0, c1",
        "    elif x1:",
        f"        {out.value}, {out.decider} = c2, c3",
        "    else:",
        f"        {out.value}, {out.decider} = NONE, None",
    ]
    assert generator.constants == ["w", "inner", "z", "second"]


def test_a_new_strict_operator_is_one_template(siblings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """What ``Apply`` means is the template table alone: changing one entry changes both modes, and nothing else is needed."""
    from policy_rules.engine import lowering as ir

    monkeypatch.setitem(codegen.APPLY, "both", "({0} and {1})")
    generator = TwoValued(lower(siblings.model))
    both = ir.Apply("both", (ir.Read(ir.Slot("fact", "a")), ir.Read(ir.Slot("fact", "b"))))
    assert generator.expr(both, {}) == "(x0 and x1)"


def test_a_condition_records_its_parts_in_the_traced_mode(tmp_path: Path) -> None:
    path = tmp_path / "parts.rules"
    path.write_text(SIBLINGS.replace("  when b\n", "  when b and not a\n"), encoding="utf-8")
    policy = load_policy(path)
    facts = {"a": False, "b": True, "c": False}
    typed, service = policy.facts_of(facts)
    traced = policy.decide(typed, service, AS_OF, trace=True)
    assert traced.to_dict() == policy.decide_in_full(typed, service, AS_OF, trace=True).to_dict()
    assert policy._traced(typed, AS_OF) is not None
    assert policy.source("traced").count("CONDITION(") == 4


# --- the three-valued mode -------------------------------------------------------------------


def test_the_three_valued_functions_are_generated_only_when_a_service_needs_them() -> None:
    policy = load_policy(HARINGEY)
    complete = completed(policy, generate(1, seed=9)[0])
    policy.evaluate(complete, AS_OF, trace=False)
    policy.evaluate(complete, AS_OF, trace=True)
    assert policy._compiled._functions == []
    missing = {key: value for key, value in complete.items() if key != "quality_concerns"}
    assert policy.evaluate(missing, AS_OF).to_dict() == policy.decide_in_full(*policy.facts_of(missing), AS_OF).to_dict()
    assert len(policy._compiled._functions) == 1
    source = policy._compiled.source
    assert source.startswith("def g") and source.count("\ndef g") + 1 == len(re.findall(r"^def g\d+\(env\):$", source, re.M))


def test_the_three_valued_source_holds_no_text_of_a_rule_file(tmp_path: Path) -> None:
    rules = tmp_path / "hostile.rules"
    rules.write_text(HOSTILE, encoding="utf-8")
    policy = load_policy(rules)
    decided = policy.evaluate({"__class__": True}, AS_OF)
    assert (decided.outcome, decided.needed_facts) == ("undetermined", ("eval", "print"))
    source = policy._compiled.source
    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))
    assert identifiers <= {
        "def", "env", "return", "if", "elif", "else", "is", "not", "and", "or", "in", "None", "True", "False", "UNKNOWN", "pass",
        "try", "finally", "for", "enumerate", "len", "break", "tuple", "append", "get", "pop", "items", "reads", "D", "DIVIDE",
        "fact", "field", "defined", "decision", "parameter", "atom", "mark",
    } | {i for i in identifiers if re.fullmatch(r"[a-z]{1,2}\d+", i)}  # fmt: skip
    assert "import" not in source and "'" not in source and '"' not in source


def test_a_new_strict_operator_is_one_template_in_the_three_valued_mode_too(siblings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Unknown when any operand is: written once for every ``Apply``, so the template is all a new strict form needs."""
    from policy_rules.engine import lowering as ir

    monkeypatch.setitem(codegen.APPLY, "both", "({0} and {1})")
    generator = ThreeValued(lower(siblings.model))
    both = ir.Apply("both", (ir.Read(ir.Slot("fact", "a")), ir.Read(ir.Slot("fact", "b"))))
    assert generator.expr(both, {}) == "v3"
    assert generator.lines == [
        "    v1 = env.fact(c0, True)",
        "    v2 = env.fact(c1, True)",
        "    if v1 is UNKNOWN or v2 is UNKNOWN:",
        "        v3 = UNKNOWN",
        "    else: v3 = (v1 and v2)",
    ]


def test_a_failure_inside_the_generated_three_valued_code_is_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    read = ThreeValued.read

    def broken(self: ThreeValued, *args: Any) -> str:
        v = read(self, *args)
        self.put(f"{v} = 1 / 0")
        return v

    monkeypatch.setattr(ThreeValued, "read", broken)
    facts = tmp_path / "service.yaml"
    facts.write_text("service: Parking\nannual_spend: 100\n", encoding="utf-8")
    assert cli.main(["evaluate", str(HARINGEY), str(facts), "--as-of", "2024-04-01"]) == 3
    assert capsys.readouterr().err == f"internal error (ZeroDivisionError): {cli.BUG_REPORT}\n"
