"""The fast path: the generated function agrees with the full path, and holds no rule-file text."""

from __future__ import annotations

import re

from benchmarks.haringey_services import generate
from policy_rules import load_policy
from policy_rules.fastpath import FastPath
from tests.cli_helpers import HARINGEY

AS_OF = "2024-04-01"


def _view(d):
    return (d.outcome, d.priority, d.reasons, d.elements, d.needed_facts, d.decided_by)


def test_fast_and_traced_paths_agree_on_10000_generated_services() -> None:
    policy = load_policy(HARINGEY)
    services = generate(8_000, seed=41) + generate(2_000, seed=42, missing=0.05)
    fast_taken = 0
    for facts in services:
        fast = policy.evaluate(facts, AS_OF, trace=False)
        full = policy.evaluate(facts, AS_OF, trace=True)
        assert _view(fast) == _view(full), facts["service"]
        fast_taken += policy._fast(policy.facts_of(facts)[0], full.as_of and __import__("datetime").date(2024, 4, 1)) is not None
    assert fast_taken >= 8_000


HOSTILE = '''
policy "__import__('os').system('touch /tmp/policy_rules_pwned')"
  outcome exec

fact __class__ is yes/no
fact eval is money
fact print is text

define __builtins__ as eval is at least £10 and __class__
  because "__import__('os').system('touch /tmp/policy_rules_pwned')"

decision exec
  outcomes __init__, __del__

rule os_system
  by default exec is __init__
  because "x"

rule subprocess
  exception to os_system
  when __builtins__ or print is "'); import os; os.system('touch /tmp/policy_rules_pwned'); ('"
  then exec is __del__
  because "y"
'''


def test_hostile_names_and_strings_stay_data(tmp_path) -> None:
    rules = tmp_path / "hostile.rules"
    rules.write_text(HOSTILE, encoding="utf-8")
    policy = load_policy(rules)
    source = FastPath(policy.model, policy._compiled.parameters).source
    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))
    assert identifiers <= {
        "def", "decide", "f", "as_of", "if", "elif", "else", "not", "and", "or", "in", "is", "None", "NONE", "K",
        "return", "tuple", "x", "for", "held", "any", "all", "len", "sum", "bool", "D", "param", "Conflict", "raise",
    } | {i for i in identifiers if re.fullmatch(r"[vrbhipel]\d+", i)}
    assert "import" not in source and "os" not in identifiers
    decision = policy.evaluate({"__class__": True, "eval": 20, "print": "'); import os; os.system('touch /tmp/policy_rules_pwned'); ('"}, AS_OF, trace=False)
    assert decision.outcome == "__del__"
    traced = policy.evaluate({"__class__": False, "eval": 5, "print": "x"}, AS_OF)
    assert traced.outcome == "__init__"
    assert not (tmp_path / "policy_rules_pwned").exists()
    import os

    assert not os.path.exists("/tmp/policy_rules_pwned")
