"""Services with every fact a policy declares given, whatever its rules read.

Tests that the generated code decides every service whose facts are all known
used to count on the generated Haringey services being complete. An officer
who adds a rule reading a fact the generator leaves out (``contract_end_date``,
or a new fact) would then break them without any fault in the engine; a
service completed from the policy's own declarations stays complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy_rules import Policy
from policy_rules.language.checker import type_from_ref
from policy_rules.values.types import Type

FILLERS: dict[str, Any] = {
    "yes/no": False,
    "money": 0,
    "number": 0,
    "whole number": 0,
    "percentage": 0,
    "date": "2024-01-01",
    "text": "given",
}
"""A value of each kind of fact, as a facts file would give it."""


def filler(typ: Type) -> Any:
    if typ.kind == "one of":
        return typ.values[0]
    if typ.kind == "list":
        return []
    return FILLERS[typ.kind]


def completed(policy: Policy, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The service with each declared fact it lacks given a value, and each field its list items lack."""
    model = policy.model
    done = {name: filler(typ) for name, typ in model.fact_types.items() if name not in facts} | dict(facts)
    for name, typ in model.fact_types.items():
        if typ.kind == "list":
            fields = {f.name: type_from_ref(f.type) for f in model.records[typ.record or ""].fields}
            done[name] = [{field: filler(t) for field, t in fields.items()} | dict(item) for item in done[name]]
    return done
