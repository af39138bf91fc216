"""The symbolic diff: every way two versions of a policy can decide a service differently, each with one witness service.

Its place: ``policy-rules diff OLD NEW`` without a facts file calls
``symbolic_diff(old_policy, new_policy)`` and prints what it returns; with a
facts file or register, the decision diff (``policy_rules.analysis.diff``)
compares the register's rows instead. The two versions are read by the
symbolic backend (``policy_rules.analysis.symbolic``) over one free world: a
fact both versions declare with the same type is the same variable, so a
witness is one service decided by both. Each possible change of outcome
(from, to), a conflict counting as an outcome, is found once, then ruled out,
until no other is possible: the list is complete for services with lists of
up to ``FREE_ITEMS`` items and amounts to the penny.

Note for the ``diff`` command: call ``symbolic_diff(old, new)`` with two
loaded ``Policy`` objects; each ``OutcomeChange`` has ``to_dict()`` for
``--format json`` and ``text()`` for the text output, and its ``witness`` is
a case file's facts (``case()`` gives the whole case).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import attrs
import z3

from policy_rules.analysis.findings import jsonable, shown_value, written_service
from policy_rules.analysis.symbolic import Encoder, Names, World, free_world, preferences, service_of
from policy_rules.errors import ConflictError

if TYPE_CHECKING:
    from policy_rules.api import Policy

CONFLICT = "conflict"

#: At most this many outcome changes are listed (two versions with many outcomes could have dozens).
LIMIT = 200


@attrs.frozen
class OutcomeChange:
    """One way the versions differ: the outcome before and after (``conflict`` for a policy that fails), and a service that shows it."""

    before: str
    after: str
    witness: dict[str, Any]
    as_of: date
    decided_by_before: str | None
    decided_by_after: str | None

    def text(self) -> str:
        facts = ", ".join(f"{k}: {shown_value(v)}" for k, v in self.witness.items())
        rules = f" (rule {self.decided_by_before or '-'} before, {self.decided_by_after or '-'} after)"
        return f"{self.before} -> {self.after}{rules}\n  for example, as of {self.as_of}: {facts}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "decided_by_before": self.decided_by_before,
            "decided_by_after": self.decided_by_after,
            "as_of": self.as_of.isoformat(),
            "witness": jsonable(self.witness),
        }

    def case(self, name: str | None = None) -> dict[str, Any]:
        """The witness as a case file's case, expecting the new version's outcome."""
        return {"name": name or f"{self.before} becomes {self.after}", "as_of": self.as_of, "facts": self.witness, "expect": {"outcome": self.after}}


def _shared_world(old: Policy, new: Policy, names: Names) -> tuple[World, World]:
    """The old version's free world, and the new one's sharing each fact declared alike in both."""
    before = free_world(old.model, names, "old!", decimals=True)
    fresh = free_world(new.model, names, "new!", decimals=True, today=None)
    after = World({}, before.today, dict(before.variables), [*before.valid], [*before.plausible])
    for name, entry in fresh.facts.items():
        if name in old.model.facts and _alike(old, new, name):
            after.facts[name] = before.facts[name]
        else:
            after.facts[name] = entry
            after.variables.update({k: v for k, v in fresh.variables.items() if k == name or k.startswith((f"{name}[", f"{name}#"))})
    after.valid.extend(fresh.valid)
    after.plausible.extend(fresh.plausible)
    return before, after


def _alike(old: Policy, new: Policy, name: str) -> bool:
    a, b = old.model.fact_types[name], new.model.fact_types[name]
    if a != b or (old.model.facts[name].default is None) != (new.model.facts[name].default is None):
        return False
    if a.kind == "list":
        fields = [{f.name: f.type for f in m.records[a.record or ""].fields} if a.record in m.records else {} for m in (old.model, new.model)]
        return fields[0] == fields[1]
    return True


def symbolic_diff(old_policy: Policy, new_policy: Policy, *, limit: int = LIMIT) -> list[OutcomeChange]:
    """Each change of outcome some service can see from ``old_policy`` to ``new_policy``, with one witness service each."""
    names = Names()
    conflict_code = names.code("#conflict")
    before_world, after_world = _shared_world(old_policy, new_policy, names)
    old_encoder, new_encoder = Encoder(old_policy._lowered, before_world, names), Encoder(new_policy._lowered, after_world, names)
    old_result, new_result = old_encoder.result(), new_encoder.result()
    old_key = z3.If(_b(old_result.conflict), conflict_code, _int(old_result.outcome))
    new_key = z3.If(_b(new_result.conflict), conflict_code, _int(new_result.outcome))
    solver = z3.Solver()
    solver.add(*after_world.valid, *old_encoder.valid, *new_encoder.valid, old_key != new_key)
    preferred, implied = preferences(after_world, "diff")
    solver.add(*implied)
    changes: list[OutcomeChange] = []
    while len(changes) < limit:
        if solver.check(preferred) == z3.sat or solver.check() == z3.sat:
            m = solver.model()
        else:
            break
        was, now = m.eval(old_key, model_completion=True).as_long(), m.eval(new_key, model_completion=True).as_long()
        changes.append(_witness(old_policy, new_policy, before_world, after_world, names, m, was, now))
        solver.add(z3.Not(z3.And(old_key == was, new_key == now)))
    return sorted(changes, key=lambda c: (c.before, c.after))


def _witness(old: Policy, new: Policy, before: World, after: World, names: Names, m: z3.ModelRef, was: int, now: int) -> OutcomeChange:
    old_facts, today = service_of(m, before, old.model, names)
    new_facts, _today = service_of(m, after, new.model, names)
    written = written_service(old_facts, old)
    written.update(written_service(new_facts, new))
    return OutcomeChange(_name(names, was), _name(names, now), written, today, _decider(old, old_facts, today), _decider(new, new_facts, today))


def _name(names: Names, code: int) -> str:
    name = names.names[code]
    return CONFLICT if name == "#conflict" else name


def _decider(policy: Policy, facts: dict[str, Any], today: date) -> str | None:
    try:
        return policy.decide_in_full(facts, facts.get(policy.model.service_name or ""), today, trace=False).decided_by
    except ConflictError:
        return None


def _b(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x


def _int(x: Any) -> Any:
    return z3.IntVal(x) if isinstance(x, int) else x


__all__ = ["OutcomeChange", "symbolic_diff"]
