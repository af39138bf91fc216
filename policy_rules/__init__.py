"""policy_rules: readable policy rules, decided with a full explanation.

The one public facade::

    from policy_rules import load_policy

    policy = load_policy("rules/haringey")
    decision = policy.evaluate({"service": "Facilities management", "nhs_expertise": True})
    decision.outcome, decision.needed_facts, decision.to_dict()

Names are imported on first use, so that ``policy-rules check`` starts
without loading the evaluator.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Policy": "policy_rules.api",
    "load_policy": "policy_rules.api",
    "Decision": "policy_rules.api",
    "ElementOutcome": "policy_rules.engine.decision",
    "PolicyInfo": "policy_rules.engine.decision",
    "Question": "policy_rules.engine.decision",
    "ConflictError": "policy_rules.errors",
    "Diagnostic": "policy_rules.errors",
    "FactsError": "policy_rules.errors",
    "LimitError": "policy_rules.errors",
    "PolicyError": "policy_rules.errors",
    "RuleFileError": "policy_rules.errors",
    "UsageError": "policy_rules.errors",
    "Plan": "policy_rules.planner.plan",
    "PlanNames": "policy_rules.planner.plan",
    "plan": "policy_rules.api",
}

__all__ = [
    "ConflictError",
    "Decision",
    "Diagnostic",
    "ElementOutcome",
    "FactsError",
    "LimitError",
    "Plan",
    "PlanNames",
    "Policy",
    "PolicyError",
    "PolicyInfo",
    "Question",
    "RuleFileError",
    "UsageError",
    "__version__",
    "load_policy",
    "plan",
]

if TYPE_CHECKING:
    from policy_rules.api import Decision, Policy, load_policy, plan
    from policy_rules.engine.decision import ElementOutcome, PolicyInfo, Question
    from policy_rules.errors import ConflictError, Diagnostic, FactsError, LimitError, PolicyError, RuleFileError, UsageError
    from policy_rules.planner.plan import Plan, PlanNames


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'policy_rules' has no attribute {name!r}")
    return getattr(import_module(module), name)
