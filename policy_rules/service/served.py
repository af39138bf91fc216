"""``ServedPolicy``: the policy a running service decides with, which saved rules can replace.

Its place: ``create_app`` reads ``served.current`` once per request, so every
answer comes from one whole policy (its compiled rules, the key its rule
files are kept under in the register, and its description), and rules saved
from the workbench (``workbench.saving``) take effect from the next request
while requests already running finish with the rules they began with. The
three are replaced together by one assignment, never one by one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import attrs

from policy_rules.service.policy_view import describe

if TYPE_CHECKING:
    from policy_rules.api import Policy
    from policy_rules.store import DecisionRegister


@attrs.frozen
class Current:
    """One policy as served: its rules, the register's key for their files, and ``GET /v1/policy``'s answer."""

    policy: Policy
    rule_set: str
    described: dict[str, Any]


class ServedPolicy:
    """The current policy of a service; ``replace`` swaps in another (the register keeps its files first)."""

    def __init__(self, policy: Policy, register: DecisionRegister) -> None:
        self.register = register
        #: Held while rule files are saved, so two saves cannot interleave their checks and writes.
        self.saving = threading.Lock()
        self.current = self._serve(policy)

    def _serve(self, policy: Policy) -> Current:
        return Current(policy, self.register.keep_rules(policy), describe(policy))

    def replace(self, policy: Policy) -> None:
        """Serve ``policy`` from now on."""
        self.current = self._serve(policy)


__all__ = ["Current", "ServedPolicy"]
