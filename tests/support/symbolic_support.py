"""Shared by the tests of the symbolic backend: random policies written to files and loaded once each, and the Hypothesis settings they run with."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, settings

from policy_rules import Policy, load_policy

_policies: dict[str, Policy] = {}


def examples(n: int) -> settings:
    """Deterministic runs of ``n`` examples, without deadlines: each example loads a policy and calls the solver."""
    return settings(max_examples=n, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def policy_of(folder: Path, text: str) -> Policy:
    """The policy of a rule text, written to a file in ``folder`` and loaded the first time it is asked for."""
    if text not in _policies:
        path = folder / f"p{len(_policies)}.rules"
        path.write_text(text)
        _policies[text] = load_policy(path)
    return _policies[text]
