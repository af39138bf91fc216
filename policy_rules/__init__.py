"""policy_rules: readable policy rules, decided with a full explanation.

The one public facade::

    from policy_rules import load_policy

    policy = load_policy("rules/haringey")
    decision = policy.evaluate({"service": "Facilities management", "nhs_expertise": True})
    decision.outcome, decision.needed_facts, decision.to_dict()
"""

from policy_rules.api import Policy, load_policy
from policy_rules.decision import Decision, ElementOutcome, PolicyInfo, Question
from policy_rules.errors import ConflictError, Diagnostic, FactsError, LimitError, PolicyError, RuleFileError, UsageError

__version__ = "0.1.0"

__all__ = [
    "ConflictError",
    "Decision",
    "Diagnostic",
    "ElementOutcome",
    "FactsError",
    "LimitError",
    "Policy",
    "PolicyError",
    "PolicyInfo",
    "Question",
    "RuleFileError",
    "UsageError",
    "__version__",
    "load_policy",
]
